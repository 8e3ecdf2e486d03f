/* omr_unsub: e-mail unsubscribe (docs/proactive.md#e-mail-unsubscribe).
 *
 * Mails to customers carry List-Unsubscribe (RFC 2369) with an HTTPS link
 * and a mailto: address, and List-Unsubscribe-Post (RFC 8058) for the
 * one-click. Both hold a token that names the channel, the customer's
 * address and when it was made, signed with HMAC-SHA256 under
 * unsubscribe.secret: nothing is stored per mail, nobody can make one for
 * another address, and every node (and every restart) reads the others'.
 *
 * Token: hex(payload) "." hex(signature), payload "1\n<channel>\n<address>\n
 * <made, unix seconds>", signed with a fixed label before it. The parser
 * takes any bytes (fuzzed: tests/fuzz/fuzz_unsub.c).
 *
 * The endpoint (POST/GET /unsubscribe on the webhook listener) lives in
 * omr_unsub.c; the token and links are pure functions of the
 * configuration (omr_unsub_token.c). Main thread. */
#ifndef OMR_UNSUB_H
#define OMR_UNSUB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "omr_env.h"

#define OMR_UNSUB_PATH "/unsubscribe"
#define OMR_UNSUB_SUBJECT "unsubscribe-"  /* the mailto's subject: this, then the token */
#define OMR_UNSUB_TOKEN_MAX 1024          /* longer: refused before it is read */

struct omr_config;
struct omr_http_server;
struct omr_buf;

/* What a token names. */
struct omr_unsub_ref {
	char channel[65];
	char address[321];
	int64_t made;      /* unix seconds */
};

enum omr_unsub_check {
	OMR_UNSUB_OK = 0,
	OMR_UNSUB_BAD = -1,      /* not a token of ours: malformed, or another key */
	OMR_UNSUB_EXPIRED = -2,  /* ours, older than unsubscribe.valid_for */
	OMR_UNSUB_TOO_LONG = -3, /* over OMR_UNSUB_TOKEN_MAX */
};

/* A token, or NULL when channel or address cannot be in one. Caller frees. */
char *omr_unsub_token(const void *key, size_t key_len, const char *channel, const char *address,
		      int64_t made_s);
/* Check len bytes of token (any bytes) at now_s: a token older than
 * valid_s seconds (or made more than a day ahead) is EXPIRED. *r is
 * filled on OMR_UNSUB_OK (and EXPIRED), zeroed otherwise. */
enum omr_unsub_check omr_unsub_check(const void *key, size_t key_len, const char *token, size_t len,
				     int64_t now_s, int64_t valid_s, struct omr_unsub_ref *r);
/* For people: "malformed or forged", "expired", "too long" */
const char *omr_unsub_why(enum omr_unsub_check c);

/* With the configuration: 1 when mails of this channel carry the links. */
int omr_unsub_enabled(const struct omr_config *cfg, const char *channel);
/* {url?, mailto?} for an outbound message to address on channel (a new
 * reference), or NULL when the channel's mails carry none. */
json_t *omr_unsub_links(const struct omr_config *cfg, const char *channel, const char *address,
			int64_t now_s);
/* Check a token against the configuration: the secret, valid_for, and the
 * channel it names must be the configured one (else OMR_UNSUB_BAD). */
enum omr_unsub_check omr_unsub_verify(const struct omr_config *cfg, const char *token, size_t len,
				      int64_t now_s, struct omr_unsub_ref *r);
/* An inbound message's subject holding "unsubscribe-TOKEN" (the mailto
 * link's): 1 with *r when the token is good for channel, else 0. */
int omr_unsub_subject(const struct omr_config *cfg, const char *channel, const char *subject,
		      int64_t now_s, struct omr_unsub_ref *r);

/* The endpoint on the webhook listener. */
struct omr_unsub;
struct omr_unsub *omr_unsub_new(const struct omr_env *env, struct omr_http_server *http,
				char **err_r);
void omr_unsub_free(struct omr_unsub *u);
void omr_unsub_metrics(const struct omr_unsub *u, struct omr_buf *b);

#endif
