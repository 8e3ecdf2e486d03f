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
#include "omr_scripts.h"

struct omr_store_opts {
	const char *prefix;       /* "omr" */
	const char *site;         /* "main" */
	long long dedup_ttl;      /* ms */
};

struct omr_store;

struct omr_store *omr_store_new(struct omr_redis *r, const struct omr_store_opts *o);
void omr_store_free(struct omr_store *s);
struct omr_redis *omr_store_redis(const struct omr_store *s);
/* "omr:{main}:" */
const char *omr_store_prefix(const struct omr_store *s);
/* The clock the scripts see (NOW: Redis' TIME plus this offset, ms) and
 * the router decides by: 0, but moved forward by tests (debug.clock, the
 * admin API's /api/v1/debug/clock). omr_store_now_ms: this node's clock
 * with the offset. */
long long omr_store_clock(const struct omr_store *s);
void omr_store_set_clock(struct omr_store *s, long long offset_ms);
long long omr_store_now_ms(const struct omr_store *s);
/* Full key name, malloc'ed: omr_store_key(s, "conv:%s", id). */
char *omr_store_key(const struct omr_store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Durability across a failover (redis.durability): inbound messages are
 * stored over connection r (borrowed, used for nothing else), and a
 * sender is answered only once `WAIT replicas timeout` confirms that the
 * write reached that many replicas; when it does not, the sender is told
 * to retry (the retry is recognised as a duplicate). One WAIT covers every
 * message stored while the previous one ran (group commit).
 *
 * When WAIT falls short because the primary has fewer replicas connected
 * than that, in any state (INFO replication says so: after a failover,
 * before the old primary is back as a replica), no replica can be
 * promoted without the write: unless refuse_short, messages are then
 * answered once the primary has them and INFO replication, asked after
 * them, still says so (and confirm, if given, agrees; what it said holds
 * a second). A replica still synchronising counts: it is waited for. */
typedef void (*omr_store_confirm_done)(void *ctx, int confirmed);
struct omr_store_durability {
	int replicas;
	long long timeout;         /* ms */
	int refuse_short;
	/* With Sentinel: is the server still the primary, with no failover
	 * under way (omr_primary_confirm)? Asked before messages are
	 * accepted short of replicas: a primary that lost its replica because
	 * that replica is being promoted must not take them. NULL: accepted. */
	void (*confirm)(void *arg, omr_store_confirm_done done, void *ctx);
	void *confirm_arg;
};
void omr_store_durable(struct omr_store *s, struct omr_redis *r,
		       const struct omr_store_durability *d);
/* Another primary (a failover, a move): what was known of the old one's
 * replicas no longer holds; the next batch is WAITed for again. */
void omr_store_durable_new_primary(struct omr_store *s);
/* The connection inbound messages are stored over. */
struct omr_redis *omr_store_ingest_redis(const struct omr_store *s);

/* Borrowed JSON (NULL when not found); status OMR_OK or OMR_ERROR/AGAIN. */
typedef void (*omr_store_json_cb)(void *arg, int status, json_t *json, const char *err);

struct omr_ingest_result {
	int status;
	int duplicate;
	int is_new;            /* a new conversation was opened */
	int csat;              /* it answered a satisfaction question: recorded on
	                          `conversation`, nothing to route */
	const char *conversation;
	const char *message;
	const char *customer;
	const char *error;
};
typedef void (*omr_store_ingest_cb)(void *arg, const struct omr_ingest_result *res);

void omr_store_ingest(struct omr_store *s, const char *channel, const struct omr_inbound *ev,
		      const struct omr_inbound_norm *n, omr_store_ingest_cb cb, void *arg);
/* {conversation, messages: [...], customer_profile: {..., addresses: [...],
 * engagement: [...]}}; the engagement changes only with history (else
 * empty: routing and bots do not read them) */
void omr_store_conv_get(struct omr_store *s, const char *id, int max_msgs, int history,
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
/* the same of one conversation, whatever its status, or NULL */
void omr_store_conv_history(struct omr_store *s, const char *conversation, int max_msgs,
			    omr_store_json_cb cb, void *arg);

/* A script (src/lua/NAME.lua) with its keys (full names), arguments (the
 * prefix is added as ARGV[1]) and the rest; use the typed wrappers of
 * omr_scripts.h (omr_lua_NAME), which call this. */
void omr_store_script(struct omr_store *s, enum omr_lua_script id, const char *const *keys,
		      int nkeys, const char *const *argv, int argc, const char *const *rest,
		      size_t nrest, omr_redis_cb cb, void *arg);

/* Calls of each script so far, as the metric family
 * omniroute_script_calls_total{script="NAME"}. */
struct omr_buf;
void omr_store_metrics(const struct omr_store *s, struct omr_buf *b);

/* What an offer frame shows, from offer.lua's reply (view, preview,
 * customer_name): a conversation as omr_store_view_parse makes it, with
 * only those fields, the first customer message and the customer's id and
 * name. New reference; NULL when view is not a field list. */
json_t *omr_store_offer_summary(const redisReply *view, const char *preview,
				const char *customer_name);

/* Parse an agent_view.lua reply: 1 with *conv_r (CONVERSATION of
 * docs/agent-protocol.md, new reference; its customer's panel worked out
 * here, omr_panel.h, low: engagement.low) and *offer_r (the offer hash as
 * JSON with remaining_ms, on Redis' clock, or NULL); 0 when the
 * conversation does not exist; -1 when it is not the agent's; -2 on a
 * malformed reply. */
int omr_store_view_parse(const redisReply *reply, long long low, json_t **conv_r,
			 json_t **offer_r);
/* The same without the offer, and with the customer's earlier
 * conversations left as the text of their JSON array, *earlier_r
 * (malloc'ed, set when it returns 1): the customer's "previous" is then
 * the string mark, to be replaced by that text when the frame is written
 * (omr_model_dumps_splice). For the frames that list them on the hot path:
 * no parse, no second serialisation. */
int omr_store_view_parse_text(const redisReply *reply, long long low, const char *mark,
			      json_t **conv_r, char **earlier_r);

/* Delivery outcome of an outbound message, by our id or (msg NULL) by the
 * channel's id; statuses only move forward (see msg_status.lua). */
void omr_store_msg_status(struct omr_store *s, const char *msg, const char *status,
			  const char *channel, const char *channel_msg_id, const char *error,
			  omr_redis_cb cb, void *arg);

#endif
