/*
 * omr_model: the normalised model (customer, conversation, message) as
 * stored in Redis hashes and as shown in JSON (admin API, agents, plugins).
 * docs/model.md is the reference; this file is the one place that knows
 * which hash fields are numbers, booleans or embedded JSON.
 */
#ifndef OMR_MODEL_H
#define OMR_MODEL_H

#include <stddef.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include <omniroute/plugin.h>

enum omr_model_kind {
	OMR_MODEL_CUSTOMER,
	OMR_MODEL_CONVERSATION,
	OMR_MODEL_MESSAGE,
	OMR_MODEL_OFFER,
	OMR_MODEL_AGENT,
};

/* HGETALL reply (flat array) -> JSON object with typed fields. Returns a
 * new reference, or NULL if the reply is not an even array. */
json_t *omr_model_from_hash(enum omr_model_kind kind, const redisReply *hash);

/* A frame as compact JSON text, with the one string value mark (which no
 * client can know: random per process) replaced by text, a JSON value
 * kept as text (omr_store_view_parse_text). NULL when mark is not found
 * exactly once; malloc'ed. */
char *omr_model_dumps_splice(const json_t *frame, const char *mark, const char *text);

/* Validate and normalise an inbound event from a plugin. On success fills
 * the JSON strings (owned by the caller: free with omr_inbound_norm_free). */
struct omr_inbound_norm {
	char *attachments; /* JSON array */
	char *attrs;       /* JSON object */
	char *meta;        /* JSON object */
	const char *thread;
	const char *kind;
	long long ts_ms;
	long long reopen_ms;  /* the channel's policy: a conversation of the thread closed
	                         this recently is reopened (0: never) */
	int ended;            /* the channel tells the customer the conversation ended
	                         (OMR_PLUGIN_STATUS): after the close, a new one */
	int rating;           /* 1..5: the text is only that digit (an answer to a
	                         satisfaction question, if one is pending); 0: not */
	const char *engage;   /* with a rating: what it moves in the customer's balance
	                         (borrowed: the routing configuration's rating_json) */
	const char *optout;   /* "stop", "start": the message is an opt-out keyword; NULL */
	const char *optout_address; /* with "stop": the address that leaves (an unsubscribe
	                               token's); NULL: the sender's */
	const char *optout_via;     /* "keyword" (NULL) or "unsubscribe" */
};
struct omr_model_limits {
	size_t text_max;
	size_t attachments_max;
};
int omr_inbound_normalise(const struct omr_inbound *ev, const struct omr_model_limits *lim,
			  struct omr_inbound_norm *out, char **err_r);
void omr_inbound_norm_free(struct omr_inbound_norm *n);

/* 1 if s is a plausible identifier for Redis keys: 1..max bytes of
 * printable ASCII without spaces (channel ids are chosen by outsiders). */
int omr_model_key_ok(const char *s, size_t max);
/* An id omniroute made (omr_id_new): the prefix ("c_", "o_", ...), then 12
 * to 40 of 0-9 a-z. Ids from clients are checked with this before they are
 * part of a key name, so that "c_x:msgs" never names another key. */
int omr_model_id_ok(const char *s, const char *prefix);

#endif
