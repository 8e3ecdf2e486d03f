/*
 * omr_webhook: the providers' webhooks (WhatsApp, Messenger, Instagram,
 * X), run by the core so that no plugin repeats it: the GET handshakes
 * (Meta's hub.challenge, X's CRC), the size limit, the HMAC-SHA256 of the
 * raw body checked in constant time, then the plugin's mapping of the
 * payload; the request is answered only once everything it carried is
 * durable in Redis (200), or when something could not be stored now
 * (503: the provider retries, and ingest recognises what it already has).
 *
 * Ownership: the registry is the core's; a webhook is registered by a
 * plugin during init and lives until the registry is freed. A batch lives
 * for one request.
 */
#ifndef OMR_WEBHOOK_H
#define OMR_WEBHOOK_H

#include <omniroute/plugin.h>

struct omr_channels;
struct omr_http_server;
struct omr_ingest;
struct omr_media;
struct omr_plugin;
struct omr_webhooks;

struct omr_webhooks *omr_webhooks_new(struct omr_http_server *http, struct omr_ingest *ingest,
				      struct omr_channels *channels);
void omr_webhooks_free(struct omr_webhooks *w);
/* Where attachments with a "fetch" are fetched (omr_media.h) before their
 * message is stored (borrowed; set before start). */
void omr_webhooks_set_media(struct omr_webhooks *w, struct omr_media *media);
/* Requests are answered 503 before start (Redis reachable) and after stop. */
void omr_webhooks_start(struct omr_webhooks *w);
void omr_webhooks_stop(struct omr_webhooks *w);
/* Register spec (copied) for plugin p on the webhook listener. */
int omr_webhooks_add(struct omr_webhooks *w, struct omr_plugin *p,
		     const struct omr_webhook_spec *spec, char **err_r);
/* Host API: items of the batch under way. */
void omr_webhook_message(omr_webhook_batch *b, const struct omr_inbound *ev);
void omr_webhook_status(omr_webhook_batch *b, const char *channel_msg_id, const char *status,
			const char *error);
void omr_webhook_read_until(omr_webhook_batch *b, const char *address, const char *thread,
			    long long watermark_ms);
/* Counters for /metrics: requests, refused (signature), malformed,
 * messages stored, duplicates, statuses. */
struct omr_webhook_stats {
	unsigned long long requests, refused, malformed, messages, duplicates, statuses, retry_later;
};
struct omr_buf;
void omr_webhooks_metrics(const struct omr_webhooks *w, struct omr_buf *b);

/* The answer to Meta's verification GET: the challenge when mode is
 * "subscribe" and the token matches (constant time), else NULL. Pure, for
 * tests and fuzzing. */
const char *omr_webhook_meta_challenge(const char *mode, const char *token, const char *challenge,
				       const char *verify_token);

/* 1 if X's CRC token may be answered: 1 to OMR_WEBHOOK_CRC_TOKEN_MAX
 * characters of [A-Za-z0-9+/=_-], so that its answer cannot serve as the
 * signature of a JSON body (see omr_webhook.c). Pure, for tests. */
#define OMR_WEBHOOK_CRC_TOKEN_MAX 256
int omr_webhook_crc_token_ok(const char *token);

#endif
