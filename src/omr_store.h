/*
 * omr_store: the Redis data model (docs/model.md): key names and the
 * server-side scripts that read and change conversations atomically.
 *
 * All keys of a site share one hash tag ("omr:{main}:conv:...") so that
 * every script touches a single Redis Cluster slot.
 */
#ifndef OMR_STORE_H
#define OMR_STORE_H

#include <jansson.h>

#include "omr_model.h"
#include "omr_redis.h"

struct omr_store_opts {
	const char *prefix;       /* "omr" */
	const char *site;         /* "main" */
	long long dedup_ttl;      /* ms */
	long long stream_maxlen;
};

struct omr_store;

struct omr_store *omr_store_new(struct omr_redis *r, const struct omr_store_opts *o);
void omr_store_free(struct omr_store *s);
struct omr_redis *omr_store_redis(const struct omr_store *s);
/* "omr:{main}:" */
const char *omr_store_prefix(const struct omr_store *s);
/* Full key name, malloc'ed: omr_store_key(s, "conv:%s", id). */
char *omr_store_key(const struct omr_store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Borrowed JSON (NULL when not found); status OMR_OK or OMR_ERROR/AGAIN. */
typedef void (*omr_store_json_cb)(void *arg, int status, json_t *json, const char *err);

struct omr_ingest_result {
	int status;
	int duplicate;
	int is_new;            /* a new conversation was opened */
	const char *conversation;
	const char *message;
	const char *customer;
	const char *error;
};
typedef void (*omr_store_ingest_cb)(void *arg, const struct omr_ingest_result *res);

void omr_store_ingest(struct omr_store *s, const char *channel, const struct omr_inbound *ev,
		      const struct omr_inbound_norm *n, omr_store_ingest_cb cb, void *arg);
/* {conversation, messages: [...], customer: {..., addresses: [...]}} */
void omr_store_conv_get(struct omr_store *s, const char *id, int max_msgs,
			omr_store_json_cb cb, void *arg);
/* {conversations: [conversation, ...] newest first, next: cursor or null}.
 * cursor: NULL or "" (the newest), digits (ms: created before that time) or
 * a conversation id (those after it); an id not in the list answers
 * OMR_ERROR. */
void omr_store_conv_list(struct omr_store *s, const char *channel, const char *status,
			 int limit, const char *cursor, omr_store_json_cb cb, void *arg);
/* {conversation, messages} of the open conversation of a thread, or NULL */
void omr_store_history(struct omr_store *s, const char *channel, const char *thread,
		       int max_msgs, omr_store_json_cb cb, void *arg);

/* The other scripts, run through omr_store_run(): argv is the script's
 * ARGV after the prefix (which is added), see src/lua/NAME.lua. */
enum omr_script {
	OMR_SCRIPT_QUEUE_PEEK,
	OMR_SCRIPT_OFFER,
	OMR_SCRIPT_OFFER_END,
	OMR_SCRIPT_OFFERS_DUE,
	OMR_SCRIPT_AGENT_SESSION,
	OMR_SCRIPT_AGENT_PRESENCE,
	OMR_SCRIPT_NODE_ALIVE,
	OMR_SCRIPT_REAP,
	OMR_SCRIPT_REPLY,
	OMR_SCRIPT_CONV_ACT,
	OMR_SCRIPT_AGENT_VIEW,
	OMR_SCRIPT_ENQUEUE,
	OMR_SCRIPT_MSG_INFO,
	OMR_SCRIPT_AGENTS_STATE,
	OMR_SCRIPT_REPORT_REASONS,
	OMR_SCRIPT_ENGAGE,
	OMR_SCRIPT_MOVE,
	OMR_SCRIPT_CONV_MARK,
	OMR_SCRIPT_QUEUE_STATUS,
	OMR_SCRIPT_QUEUES_STATE,
	OMR_SCRIPT_AUTO_CLOSE,
	OMR_SCRIPT_QUEUES_WAITING,
	OMR_SCRIPT_TO_BOT,
	OMR_SCRIPT_BOT_UPDATE,
	OMR_SCRIPT_BOT_END,
	OMR_SCRIPT_BOT_IDLE,
	OMR_SCRIPT_MSG_READ_UNTIL,
	OMR_SCRIPT_OUTBOX_CLAIM,
	OMR_SCRIPT_LOGIN_GUARD,
	OMR_SCRIPT_EVENTS_CLAIM,
	OMR_SCRIPT_EVENTS_TRIM,
	OMR_SCRIPT_NEW_SWEEP,
	OMR_SCRIPT_COUNT
};
void omr_store_run(struct omr_store *s, enum omr_script script, omr_redis_cb cb, void *arg,
		   int argc, const char **argv);

/* Parse an agent_view.lua reply: 1 with *conv_r (CONVERSATION of
 * docs/agent-protocol.md, new reference) and *offer_r (the offer hash as
 * JSON, or NULL); 0 when the conversation does not exist; -1 when it is not
 * the agent's; -2 on a malformed reply. */
int omr_store_view_parse(const redisReply *reply, json_t **conv_r, json_t **offer_r);

/* Delivery outcome of an outbound message, by our id or (msg NULL) by the
 * channel's id; statuses only move forward (see msg_status.lua). */
void omr_store_msg_status(struct omr_store *s, const char *msg, const char *status,
			  const char *channel, const char *channel_msg_id, const char *error,
			  omr_redis_cb cb, void *arg);

#endif
