/*
 * omr_webhook: see omr_webhook.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_channels.h"
#include "omr_http.h"
#include "omr_ingest.h"
#include "omr_log.h"
#include "omr_media.h"
#include "omr_model.h"
#include "omr_plugin.h"
#include "omr_util.h"
#include "omr_webhook.h"

#define OMR_WEBHOOKS_MAX 16

struct omr_webhook {
	struct omr_webhooks *owner;
	struct omr_plugin *plugin;
	char *path;
	char *signature_header;
	int encoding;
	char *secret;
	char *verify_token;
	int crc;
	size_t max_body;
	int (*parse)(void *arg, const char *body, size_t len, omr_webhook_batch *batch,
		     char **err_r);
	void *arg;
};

struct omr_webhooks {
	struct omr_http_server *http;    /* borrowed: the webhook listener */
	struct omr_ingest *ingest;
	struct omr_channels *channels;
	struct omr_media *media;         /* borrowed; NULL: no media fetched */
	int running;
	struct omr_webhook *list[OMR_WEBHOOKS_MAX];
	size_t n;
	struct omr_webhook_stats stats;
};

/* One request: what it carried, and how much of it is still being stored. */
struct omr_webhook_batch {
	struct omr_webhook *wh;
	omr_http_reply *reply;
	int pending;     /* submits and status writes under way */
	int parsing;     /* 1 while the plugin maps the body */
	int again;       /* something could not be stored now: 503 */
	int messages, duplicates, rejected, statuses;
};

struct omr_webhooks *omr_webhooks_new(struct omr_http_server *http, struct omr_ingest *ingest,
				      struct omr_channels *channels)
{
	struct omr_webhooks *w = omr_calloc(1, sizeof(*w));
	w->http = http;
	w->ingest = ingest;
	w->channels = channels;
	return w;
}

void omr_webhooks_set_media(struct omr_webhooks *w, struct omr_media *media)
{
	w->media = media;
}

void omr_webhooks_start(struct omr_webhooks *w)
{
	w->running = 1;
}

void omr_webhooks_stop(struct omr_webhooks *w)
{
	w->running = 0;
}

static void omr_webhook_free(struct omr_webhook *wh)
{
	free(wh->path);
	free(wh->signature_header);
	free(wh->secret);
	free(wh->verify_token);
	free(wh);
}

void omr_webhooks_free(struct omr_webhooks *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		omr_webhook_free(w->list[i]);
	free(w);
}

void omr_webhooks_metrics(const struct omr_webhooks *w, struct omr_buf *b)
{
	const struct omr_webhook_stats *ws = &w->stats;
	omr_metric(b, "provider_webhooks_total", "counter",
		   "provider webhook requests (WhatsApp, Messenger, Instagram, X)", ws->requests);
	omr_metric(b, "provider_webhooks_refused_total", "counter",
		   "provider webhooks refused for a missing or wrong signature, or an X CRC token X "
		   "would not send", ws->refused);
	omr_metric(b, "provider_webhooks_malformed_total", "counter",
		   "provider webhooks with a payload that could not be read", ws->malformed);
	omr_metric(b, "provider_webhooks_retry_later_total", "counter",
		   "provider webhooks answered 503 (not stored now; the provider retries)",
		   ws->retry_later);
	omr_metric(b, "provider_messages_total", "counter", "messages stored from provider webhooks",
		   ws->messages);
	omr_metric(b, "provider_duplicates_total", "counter",
		   "provider messages delivered again and recognised", ws->duplicates);
	omr_metric(b, "provider_statuses_total", "counter", "delivery statuses from provider webhooks",
		   ws->statuses);
}

const char *omr_webhook_meta_challenge(const char *mode, const char *token, const char *challenge,
				       const char *verify_token)
{
	if (!mode || !token || !challenge || !verify_token || strcmp(mode, "subscribe") != 0)
		return NULL;
	if (!omr_ct_equal(token, strlen(token), verify_token, strlen(verify_token)))
		return NULL;
	/* echoed as text/plain: keep it to what Meta sends (digits) and short */
	size_t n = strlen(challenge);
	if (n == 0 || n > 128)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)challenge[i] < 0x21 || (unsigned char)challenge[i] > 0x7e)
			return NULL;
	return challenge;
}

/*
 * X's CRC answer is base64(HMAC-SHA256(consumer_secret, crc_token)), which
 * is exactly the x-twitter-webhooks-signature of a POST whose body is
 * crc_token: signing whatever token is asked for would hand anyone who can
 * reach the webhook a valid signature for a forged delivery. X sends a
 * short random token of base64/base64url characters (about 48 of them), so
 * only such a token is answered: no body made of [A-Za-z0-9+/=_-] is a
 * JSON object, so its signature is of no use on a POST (the payload is
 * refused as malformed, nothing is stored). The length bound leaves X
 * room to grow its tokens while keeping the answer small.
 */
int omr_webhook_crc_token_ok(const char *token)
{
	size_t n = token ? strlen(token) : 0;
	if (n == 0 || n > OMR_WEBHOOK_CRC_TOKEN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)token[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '=' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* ---- answering ---- */

static void omr_webhook_finish(omr_webhook_batch *b)
{
	struct omr_webhooks *w = b->wh->owner;
	if (b->pending > 0 || b->parsing)
		return;
	if (b->again) {
		w->stats.retry_later++;
		omr_http_reply_error(b->reply, 503, "retry_later",
				     "not everything could be stored now; send it again");
	} else {
		json_t *j = json_pack("{s:b,s:i,s:i,s:i,s:i}", "ok", 1, "messages", b->messages,
				      "duplicates", b->duplicates, "rejected", b->rejected, "statuses",
				      b->statuses);
		omr_http_reply_json(b->reply, 200, j);
		json_decref(j);
	}
	free(b);
}

static void omr_webhook_submitted(void *arg, const struct omr_submit_result *res)
{
	omr_webhook_batch *b = arg;
	struct omr_webhooks *w = b->wh->owner;
	b->pending--;
	if (res->status == OMR_OK) {
		b->messages++;
		w->stats.messages++;
		if (res->duplicate) {
			b->duplicates++;
			w->stats.duplicates++;
		}
	} else if (res->status == OMR_AGAIN) {
		b->again = 1;
	} else {
		/* invalid as a message (the provider sending it again will not
		 * help): counted and logged by ingest, the rest goes on */
		b->rejected++;
	}
	omr_webhook_finish(b);
}

/* A message whose media are being fetched (omr_media): its own copy. */
struct omr_webhook_held {
	omr_webhook_batch *b;
	struct omr_inbound ev;
	char *s[6]; /* the strings of ev, owned */
};

static void omr_webhook_fetched(void *arg, int status)
{
	struct omr_webhook_held *h = arg;
	omr_webhook_batch *b = h->b;
	if (status == OMR_OK) {
		omr_ingest_submit(b->wh->owner->ingest, b->wh->plugin->name, &h->ev,
				  omr_webhook_submitted, b);
	} else {
		/* the daemon stopped under it: the provider sends it again */
		b->pending--;
		b->again = 1;
		omr_webhook_finish(b);
	}
	for (size_t i = 0; i < OMR_ARRAY_LEN(h->s); i++)
		free(h->s[i]);
	json_decref(h->ev.attachments);
	json_decref(h->ev.attrs);
	json_decref(h->ev.meta);
	free(h);
}

/* Fetch the media of ev first (the request is answered when the message
 * is stored, with its files or with markers where they failed). */
static void omr_webhook_fetch(omr_webhook_batch *b, const struct omr_inbound *ev)
{
	struct omr_webhook_held *h = omr_calloc(1, sizeof(*h));
	const char *const *in[] = { &ev->channel_msg_id, &ev->address, &ev->thread,
				    &ev->name, &ev->email, &ev->text };
	const char **out[] = { &h->ev.channel_msg_id, &h->ev.address, &h->ev.thread,
			       &h->ev.name, &h->ev.email, &h->ev.text };
	h->b = b;
	h->ev = *ev;
	for (size_t i = 0; i < OMR_ARRAY_LEN(h->s); i++)
		*out[i] = h->s[i] = omr_strdup(*in[i]);
	h->ev.kind = ev->kind && strcmp(ev->kind, "auto") == 0 ? "auto" : NULL;
	h->ev.attachments = json_deep_copy(ev->attachments);
	h->ev.attrs = ev->attrs ? json_deep_copy(ev->attrs) : NULL;
	h->ev.meta = ev->meta ? json_deep_copy(ev->meta) : NULL;
	omr_media_fetch(b->wh->owner->media, b->wh->plugin->name, h->ev.attachments,
			omr_webhook_fetched, h);
}

void omr_webhook_message(omr_webhook_batch *b, const struct omr_inbound *ev)
{
	if (!b || !ev)
		return;
	b->pending++;
	if (omr_media_wanted(ev->attachments)) {
		omr_webhook_fetch(b, ev);
		return;
	}
	omr_ingest_submit(b->wh->owner->ingest, b->wh->plugin->name, ev, omr_webhook_submitted,
			  b);
}

static void omr_webhook_status_done(void *arg, int ok)
{
	omr_webhook_batch *b = arg;
	b->pending--;
	if (!ok)
		b->again = 1;
	omr_webhook_finish(b);
}

void omr_webhook_status(omr_webhook_batch *b, const char *channel_msg_id, const char *status,
			const char *error)
{
	static const char *const known[] = { "sent", "delivered", "read", "failed", NULL };
	int ok = 0;
	if (!b || !channel_msg_id || !status || !omr_model_key_ok(channel_msg_id, 256))
		return;
	for (size_t i = 0; known[i]; i++)
		ok |= strcmp(status, known[i]) == 0;
	if (!ok)
		return;
	b->pending++;
	b->statuses++;
	b->wh->owner->stats.statuses++;
	omr_channels_status(b->wh->owner->channels, b->wh->plugin->name, NULL, channel_msg_id,
			    status, error, omr_webhook_status_done, b);
}

void omr_webhook_read_until(omr_webhook_batch *b, const char *address, const char *thread,
			    long long watermark_ms)
{
	const char *t = thread ? thread : address;
	if (!b || !t || !omr_model_key_ok(t, 256) || watermark_ms <= 0)
		return;
	b->pending++;
	b->statuses++;
	b->wh->owner->stats.statuses++;
	omr_channels_read_until(b->wh->owner->channels, b->wh->plugin->name, t, watermark_ms,
			    omr_webhook_status_done, b);
}

/* ---- the request ---- */

static void omr_webhook_get(struct omr_webhook *wh, const struct omr_http_request *req,
			    omr_http_reply *reply)
{
	if (wh->verify_token && omr_http_query_param(req, "hub.mode")) {
		const char *c = omr_webhook_meta_challenge(omr_http_query_param(req, "hub.mode"),
							  omr_http_query_param(req, "hub.verify_token"),
							  omr_http_query_param(req, "hub.challenge"),
							  wh->verify_token);
		if (!c) {
			omr_log_warn("%s: webhook verification refused (wrong verify token or mode)",
				     wh->plugin->name);
			omr_http_reply_error(reply, 403, "forbidden", "verification refused");
			return;
		}
		omr_log_info("%s: webhook verified by the provider", wh->plugin->name);
		omr_http_reply_send(reply, 200, "text/plain", c, strlen(c));
		return;
	}
	if (wh->crc && omr_http_query_param(req, "crc_token")) {
		const char *t = omr_http_query_param(req, "crc_token");
		char sig[45];
		if (!omr_webhook_crc_token_ok(t)) {
			/* counted with the bad signatures: a refused CRC is
			 * someone trying to have a body signed */
			wh->owner->stats.refused++;
			omr_log_warn("%s: CRC check with a token X would not send refused",
				     wh->plugin->name);
			omr_http_reply_error(reply, 400, "bad_request",
					     "crc_token: 1 to %d of A-Z a-z 0-9 + / = _ -",
					     OMR_WEBHOOK_CRC_TOKEN_MAX);
			return;
		}
		omr_hmac_sha256_base64(wh->secret, strlen(wh->secret), t, strlen(t), sig);
		char *body = omr_asprintf("{\"response_token\":\"sha256=%s\"}", sig);
		omr_http_reply_send(reply, 200, "application/json", body, strlen(body));
		free(body);
		return;
	}
	omr_http_reply_error(reply, 400, "bad_request", "%s",
			     wh->crc ? "expected ?crc_token=" : "expected hub.mode, hub.verify_token, hub.challenge");
}

static int omr_webhook_signed(const struct omr_webhook *wh, const char *sig,
			      const struct omr_http_request *req)
{
	size_t klen = strlen(wh->secret);
	if (wh->encoding == OMR_SIGNATURE_BASE64)
		return omr_signature_b64_ok(sig, wh->secret, klen, req->body, req->body_len);
	return omr_signature_ok(sig, wh->secret, klen, req->body, req->body_len);
}

static void omr_webhook_handle(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_webhook *wh = arg;
	struct omr_webhooks *w = wh->owner;
	char *err = NULL;

	w->stats.requests++;
	if (strcmp(req->method, "GET") == 0) {
		omr_webhook_get(wh, req, reply);
		return;
	}
	if (strcmp(req->method, "POST") != 0) {
		omr_http_reply_error(reply, 405, "method_not_allowed", "GET or POST");
		return;
	}
	if (wh->max_body && req->body_len > wh->max_body) {
		omr_http_reply_error(reply, 413, "too_large", "the body is over %zu bytes", wh->max_body);
		return;
	}
	const char *sig = req->header(req, wh->signature_header);
	if (!sig || !*sig) {
		w->stats.refused++;
		omr_log_warn("%s: webhook without %s refused", wh->plugin->name, wh->signature_header);
		omr_http_reply_error(reply, 401, "unauthorized", "%s is missing", wh->signature_header);
		return;
	}
	if (!omr_webhook_signed(wh, sig, req)) {
		w->stats.refused++;
		omr_log_warn("%s: webhook with a wrong signature refused", wh->plugin->name);
		omr_http_reply_error(reply, 403, "forbidden", "the signature does not match");
		return;
	}
	if (!w->running) {
		w->stats.retry_later++;
		omr_http_reply_error(reply, 503, "retry_later", "the server is starting or stopping");
		return;
	}
	omr_webhook_batch *b = omr_calloc(1, sizeof(*b));
	b->wh = wh;
	b->reply = reply;
	b->parsing = 1;
	int rc = wh->parse(wh->arg, (const char *)req->body, req->body_len, b, &err);
	b->parsing = 0;
	if (rc != OMR_OK && b->pending == 0) {
		w->stats.malformed++;
		omr_log_info("%s: malformed webhook payload: %s", wh->plugin->name,
			     err ? err : "no reason given");
		omr_http_reply_error(reply, 400, "bad_request", "%s", err ? err : "malformed payload");
		free(err);
		free(b);
		return;
	}
	if (rc != OMR_OK) {
		/* part of it was mapped before the plugin gave up: store that
		 * part, and say the rest was not understood */
		w->stats.malformed++;
		omr_log_info("%s: webhook payload partly malformed: %s", wh->plugin->name,
			     err ? err : "no reason given");
	}
	free(err);
	omr_webhook_finish(b);
}

int omr_webhooks_add(struct omr_webhooks *w, struct omr_plugin *p,
		     const struct omr_webhook_spec *spec, char **err_r)
{
	if (!spec || !spec->path || spec->path[0] != '/' || !spec->parse)
		return omr_err(err_r, "webhook: a path starting with / and a parse function");
	if (!spec->signature_header || !*spec->signature_header || !spec->secret ||
	    strlen(spec->secret) < 8)
		return omr_err(err_r, "webhook %s: a signature header and a secret (8+ characters)",
			       spec->path);
	if (spec->signature_encoding != OMR_SIGNATURE_HEX &&
	    spec->signature_encoding != OMR_SIGNATURE_BASE64)
		return omr_err(err_r, "webhook %s: unknown signature encoding", spec->path);
	if (w->n >= OMR_WEBHOOKS_MAX)
		return omr_err(err_r, "webhook %s: too many webhooks (%d)", spec->path,
			       OMR_WEBHOOKS_MAX);
	struct omr_webhook *wh = omr_calloc(1, sizeof(*wh));
	wh->owner = w;
	wh->plugin = p;
	wh->path = omr_strdup(spec->path);
	wh->signature_header = omr_strdup(spec->signature_header);
	wh->encoding = spec->signature_encoding;
	wh->secret = omr_strdup(spec->secret);
	wh->verify_token = spec->verify_token ? omr_strdup(spec->verify_token) : NULL;
	wh->crc = spec->crc;
	wh->max_body = spec->max_body;
	wh->parse = spec->parse;
	wh->arg = spec->arg;
	if (omr_http_route(w->http, wh->path, 0, omr_webhook_handle, wh, err_r) != 0) {
		omr_webhook_free(wh);
		return OMR_ERROR;
	}
	w->list[w->n++] = wh;
	return OMR_OK;
}
