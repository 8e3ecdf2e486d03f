/*
 * omr_store: see omr_store.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_log.h"
#include "omr_scripts.h"
#include "omr_search.h"
#include "omr_store.h"
#include "omr_panel.h"
#include "omr_util.h"

struct omr_ingest_call;

struct omr_store_wait {
	struct omr_redis *r;      /* borrowed: ingest only */
	struct omr_store_durability d;
	int running;              /* a WAIT (or INFO) is out */
	/* INFO replication showed fewer replicas than `replicas` connected,
	 * in any state: one still syncing gets every write after its
	 * snapshot from the stream, and might be promoted before it has them */
	int short_of_replicas;
	int rechecking;           /* the INFO out is a short batch's check */
	int64_t vouched_at;       /* when the sentinels last vouched (mono ms) */
	uint64_t info_gen;        /* the connection INFO was last answered on */
	struct omr_ingest_call *next, **next_tail; /* stored, for the next WAIT */
	unsigned long long waits, unconfirmed, short_acked;
};

struct omr_store {
	struct omr_redis *r;      /* borrowed */
	struct omr_store_wait *wait; /* redis.durability, or NULL */
	char *prefix;             /* "omr:{main}:" */
	long long dedup_ttl;
	long long clock;          /* ms added to Redis' clock in the scripts (tests) */
	struct omr_redis_script scripts[OMR_LUA_NSCRIPTS];
	struct omr_redis_library lib;  /* the scripts as Redis Functions */
	uint64_t calls[OMR_LUA_NSCRIPTS];  /* per script, for /metrics */
};

struct omr_store *omr_store_new(struct omr_redis *r, const struct omr_store_opts *o)
{
	struct omr_store *s = omr_calloc(1, sizeof(*s));
	s->r = r;
	s->prefix = omr_asprintf("%s:{%s}:", o->prefix, o->site);
	s->dedup_ttl = o->dedup_ttl;
	for (int i = 0; i < OMR_LUA_NSCRIPTS; i++) {
		omr_redis_script_init(&s->scripts[i], omr_lua_names[i], omr_lua_sources[i]);
		s->scripts[i].readonly = omr_lua_readonly[i];
	}
	omr_redis_library_init(&s->lib, s->scripts, OMR_LUA_NSCRIPTS);
	return s;
}

long long omr_store_clock(const struct omr_store *s)
{
	return s->clock;
}

void omr_store_set_clock(struct omr_store *s, long long offset_ms)
{
	s->clock = offset_ms;
}

long long omr_store_now_ms(const struct omr_store *s)
{
	return omr_now_ms() + s->clock;
}

void omr_store_durable(struct omr_store *s, struct omr_redis *r,
		       const struct omr_store_durability *d)
{
	struct omr_store_wait *w = s->wait ? s->wait : omr_calloc(1, sizeof(*w));
	w->r = r;
	w->d = *d;
	if (!w->next_tail)
		w->next_tail = &w->next;
	s->wait = w;
}

void omr_store_durable_new_primary(struct omr_store *s)
{
	if (!s->wait)
		return;
	s->wait->short_of_replicas = 0;
	s->wait->vouched_at = 0;
}

struct omr_redis *omr_store_ingest_redis(const struct omr_store *s)
{
	return s->wait ? s->wait->r : s->r;
}

void omr_store_free(struct omr_store *s)
{
	if (!s)
		return;
	free(s->wait); /* its connection was closed first: every call answered */
	omr_redis_library_free(&s->lib, s->scripts, OMR_LUA_NSCRIPTS);
	free(s->prefix);
	free(s);
}

struct omr_redis *omr_store_redis(const struct omr_store *s)
{
	return s->r;
}

const char *omr_store_prefix(const struct omr_store *s)
{
	return s->prefix;
}

char *omr_store_key(const struct omr_store *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *rest = omr_vasprintf(fmt, ap);
	va_end(ap);
	char *k = omr_asprintf("%s%s", s->prefix, rest);
	free(rest);
	return k;
}

/* KEYS (every key a script is given has the site's hash tag, so that
 * Redis Cluster sends it to the site's slot), then the prefix (ARGV[1],
 * for the keys a script finds from data), the arguments and the rest. */
void omr_store_script(struct omr_store *s, enum omr_lua_script id, const char *const *keys,
		      int nkeys, const char *const *argv, int argc, const char *const *rest,
		      size_t nrest, omr_redis_cb cb, void *arg)
{
	size_t total = (size_t)nkeys + 1 + (size_t)argc + nrest;
	const char **full = omr_malloc(total * sizeof(*full));
	size_t n = 0;
	for (int i = 0; i < nkeys; i++)
		full[n++] = keys[i];
	full[n++] = s->prefix;
	for (int i = 0; i < argc; i++)
		full[n++] = argv[i];
	for (size_t i = 0; i < nrest; i++)
		full[n++] = rest[i] ? rest[i] : "";
	s->calls[id]++;
	omr_redis_eval(id == OMR_LUA_INGEST ? omr_store_ingest_redis(s) : s->r, &s->scripts[id], cb,
		       arg, nkeys, (int)total, full, NULL);
	free(full);
}

void omr_store_metrics(const struct omr_store *s, struct omr_buf *b)
{
	if (s->wait) {
		omr_metric(b, "durability_waits_total", "counter",
			   "WAITs for replicas after storing inbound messages", s->wait->waits);
		omr_metric(b, "durability_unconfirmed_total", "counter",
			   "inbound messages stored but not confirmed by enough replicas in time: "
			   "the sender was told to retry", s->wait->unconfirmed);
		omr_metric(b, "durability_short_total", "counter",
			   "inbound messages acknowledged without replicas: the primary had fewer "
			   "connected than durability.replicas (when_short: accept)",
			   s->wait->short_acked);
		omr_metric(b, "durability_short", "gauge",
			   "1 while the primary has fewer replicas connected than "
			   "durability.replicas", (unsigned long long)s->wait->short_of_replicas);
	}
	omr_buf_printf(b, "# HELP omniroute_script_calls_total calls of each Redis script\n"
			  "# TYPE omniroute_script_calls_total counter\n");
	for (int i = 0; i < OMR_LUA_NSCRIPTS; i++)
		if (s->calls[i])
			omr_buf_printf(b, "omniroute_script_calls_total{script=\"%s\"} %llu\n",
				       omr_lua_names[i], (unsigned long long)s->calls[i]);
}

/* ---- ingest ---- */

struct omr_ingest_call {
	struct omr_store *s;
	omr_store_ingest_cb cb;
	void *arg;
	/* with durability: the stored result, kept until WAIT answers */
	struct omr_ingest_call *next;
	uint64_t gen;             /* the connection it was stored on */
	struct omr_ingest_result res;
	char *conversation, *message, *customer;
};

static void omr_ingest_call_answer(struct omr_ingest_call *c, const struct omr_ingest_result *res)
{
	c->cb(c->arg, res);
	free(c->conversation);
	free(c->message);
	free(c->customer);
	free(c);
}

static void omr_store_wait_send(struct omr_store *s);
static void omr_store_wait_batch(struct omr_store *s, struct omr_ingest_call *batch);

/* answer a batch: confirmed (status as stored), or told to retry. gen is
 * the connection the confirmation (WAIT, or INFO and the sentinels) was
 * about: a message stored on another one (before a reconnection, perhaps
 * on the primary that was just replaced) is not covered by it and is told
 * to retry. */
static void omr_store_wait_answer(struct omr_ingest_call *batch, int ok, int short_acked,
				  uint64_t gen)
{
	struct omr_store_wait *w = batch->s->wait;
	for (struct omr_ingest_call *c = batch, *next; c; c = next) {
		next = c->next;
		if (!ok || c->gen != gen) {
			w->unconfirmed++;
			c->res.status = OMR_AGAIN;
			c->res.error = ok ? "stored on a Redis connection since replaced (a failover?)"
					  : "not confirmed by the Redis replicas in time";
		} else if (short_acked) {
			w->short_acked++;
		}
		omr_ingest_call_answer(c, &c->res);
	}
}

/* the sentinels said whether the server short of replicas is still the
 * primary: only then are the messages accepted without replicas */
static void omr_store_short_confirmed(void *ctx, int confirmed)
{
	struct omr_ingest_call *batch = ctx;
	struct omr_store *s = batch->s;
	struct omr_store_wait *w = s->wait;
	w->running = 0;
	w->vouched_at = confirmed ? omr_mono_ms() : 0; /* 0: asked again with the next batch */
	if (!confirmed)
		omr_log_warn("redis: the primary is short of replicas and the sentinels do not "
			     "confirm it (a failover may be under way): the senders retry");
	omr_store_wait_answer(batch, confirmed, 1, w->info_gen);
	omr_store_wait_send(s);
}

/* INFO replication answered after a WAIT fell short, or for a batch
 * stored while the primary was short: how many replicas it has connected,
 * syncing or not, decides (see omr_store_durable) */
static void omr_store_info_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_ingest_call *batch = arg;
	struct omr_store *s = batch->s;
	struct omr_store_wait *w = s->wait;
	const char *info = !err && reply && reply->type == REDIS_REPLY_STRING ? reply->str : NULL;
	long long replicas = omr_info_replicas(info);
	int was_short = w->short_of_replicas;
	uint64_t gen = omr_redis_generation(w->r);

	w->running = 0;
	if (gen != w->info_gen)
		w->vouched_at = 0; /* what the sentinels said was of another connection */
	w->info_gen = gen;
	w->short_of_replicas = replicas >= 0 && replicas < w->d.replicas;
	if (w->short_of_replicas && !was_short)
		omr_log_warn("redis: the primary has %lld replica(s) connected, fewer than "
			     "durability.replicas (%d): messages are %s until enough are back",
			     replicas, w->d.replicas,
			     w->d.refuse_short ? "refused (senders retry)" :
					       "acknowledged once the primary has them");
	else if (!w->short_of_replicas && was_short)
		omr_log_info("redis: the primary has enough replicas again: messages are "
			     "acknowledged once %d have them", w->d.replicas);
	if (!w->short_of_replicas && w->rechecking) {
		/* enough replicas again: this batch gets its WAIT */
		w->rechecking = 0;
		omr_store_wait_batch(s, batch);
		return;
	}
	w->rechecking = 0;
	if (!w->short_of_replicas)
		omr_log_warn("redis: stored messages not confirmed by %d replica(s) within %lld ms; "
			     "the senders retry", w->d.replicas, w->d.timeout);
	/* the sentinels are asked unless they vouched for this server less
	 * than a second ago */
	if (w->short_of_replicas && !w->d.refuse_short && w->d.confirm &&
	    omr_mono_ms() - w->vouched_at >= 1000) {
		w->running = 1; /* until the sentinels have said */
		w->d.confirm(w->d.confirm_arg, omr_store_short_confirmed, batch);
		return;
	}
	omr_store_wait_answer(batch, w->short_of_replicas && !w->d.refuse_short, 1, w->info_gen);
	omr_store_wait_send(s);
}

/* WAIT answered: every message of its batch is confirmed, or not */
static void omr_store_wait_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_ingest_call *batch = arg;
	struct omr_store *s = batch->s;
	struct omr_store_wait *w = s->wait;
	long long acked = err ? -1 : omr_reply_int(reply, -1);

	if (acked >= w->d.replicas || err) {
		w->running = 0;
		if (err)
			omr_log_warn("redis: WAIT failed: %s; the senders retry", err);
		omr_store_wait_answer(batch, !err, 0, omr_redis_generation(w->r));
		omr_store_wait_send(s);
		return;
	}
	/* short: too slow, or too few replicas to ever confirm? */
	omr_redis_cmd(w->r, omr_store_info_done, batch, "INFO replication");
}

/* the messages stored since the last WAIT get one now, unless one is out;
 * while the primary is short of replicas (and that is accepted), each
 * batch asks INFO replication, after its messages were stored: no replica
 * connected then means any that connects later has them in its snapshot
 * (the sentinels are asked at most once a second whether it is still the
 * primary) */
static void omr_store_wait_send(struct omr_store *s)
{
	struct omr_store_wait *w = s->wait;
	struct omr_ingest_call *batch = w->next;
	if (w->running || !batch)
		return;
	w->next = NULL;
	w->next_tail = &w->next;
	if (w->short_of_replicas) {
		w->running = 1;
		w->rechecking = 1;
		omr_redis_cmd(w->r, omr_store_info_done, batch, "INFO replication");
		return;
	}
	omr_store_wait_batch(s, batch);
}

static void omr_store_wait_batch(struct omr_store *s, struct omr_ingest_call *batch)
{
	struct omr_store_wait *w = s->wait;
	char n[16], ms[24];
	w->running = 1;
	w->waits++;
	snprintf(n, sizeof(n), "%d", w->d.replicas);
	snprintf(ms, sizeof(ms), "%lld", w->d.timeout);
	const char *argv[] = { "WAIT", n, ms };
	omr_redis_argv(w->r, omr_store_wait_done, batch, 3, argv, NULL, w->d.timeout);
}

static void omr_store_ingest_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_ingest_call *c = arg;
	struct omr_store *s = c->s;
	struct omr_ingest_result res = { 0 };
	struct omr_lua_ingest_reply r;

	if (err || omr_lua_ingest_reply(reply, &r) < 5 || !r.tag) {
		res.status = OMR_AGAIN;
		res.error = err ? err : "unexpected reply from the ingest script";
	} else {
		res.status = OMR_OK;
		res.duplicate = strcmp(r.tag, "dup") == 0;
		res.conversation = r.conversation;
		res.message = r.message;
		res.customer = r.customer;
		res.is_new = r.new == 1;
		res.csat = strcmp(r.tag, "csat") == 0;
	}
	if (!s->wait || res.status != OMR_OK) {
		omr_ingest_call_answer(c, &res);
		return;
	}
	/* durability: answered when WAIT confirms it (the reply is gone by
	 * then: keep copies) */
	c->res = res;
	c->res.conversation = c->conversation = omr_strdup(res.conversation);
	c->res.message = c->message = omr_strdup(res.message);
	c->res.customer = c->customer = omr_strdup(res.customer);
	c->next = NULL;
	c->gen = omr_redis_generation(s->wait->r);
	*s->wait->next_tail = c;
	s->wait->next_tail = &c->next;
	omr_store_wait_send(s);
}

void omr_store_ingest(struct omr_store *s, const char *channel, const struct omr_inbound *ev,
		      const struct omr_inbound_norm *n, omr_store_ingest_cb cb, void *arg)
{
	struct omr_ingest_call *c = omr_calloc(1, sizeof(*c));
	char cust_id[OMR_ID_MAX], conv_id[OMR_ID_MAX], msg_id[OMR_ID_MAX];

	c->s = s;
	c->cb = cb;
	c->arg = arg;
	struct omr_lua_ingest_args a = {
		.channel = channel,
		.channel_msg_id = ev->channel_msg_id,
		.address = ev->address,
		.thread = n->thread,
		.name = ev->name,
		.email = ev->email,
		.text = ev->text,
		.attachments = n->attachments,
		.attrs = n->attrs,
		.meta = n->meta,
		.public = ev->is_public,
		.ts = n->ts_ms,
		.customer = omr_id_new(cust_id, "u_"),
		.conversation = omr_id_new(conv_id, "c_"),
		.message = omr_id_new(msg_id, "m_"),
		.dedup_ttl = s->dedup_ttl,
		.kind = n->kind,
		.verified = ev->email_verified,
		.reopen = n->reopen_ms,
		.ended = n->ended,
		.rating = n->rating,
		.engage = n->engage ? n->engage : "",
		.optout = n->optout,
		.optout_addr = n->optout_address,
		.optout_via = n->optout_via,
	};
	/* the search index's terms (docs/search.md); an automatic message
	 * (out of office) is not worth finding */
	char *nt = ev->name ? omr_search_terms(ev->name, strlen(ev->name), 0, OMR_SEARCH_NAME_TERMS)
			    : omr_strdup("");
	char *wt = ev->text && !(n->kind && strcmp(n->kind, "auto") == 0)
			   ? omr_search_terms(ev->text, strlen(ev->text), 1, OMR_SEARCH_TERMS_MAX)
			   : omr_strdup("");
	a.name_terms = nt;
	a.words = wt;
	omr_lua_ingest(s, &a, omr_store_ingest_done, c);
	free(nt);
	free(wt);
}

/* ---- reads ---- */

struct omr_json_call {
	omr_store_json_cb cb;
	void *arg;
};

static struct omr_json_call *omr_json_call_new(omr_store_json_cb cb, void *arg)
{
	struct omr_json_call *c = omr_malloc(sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	return c;
}

static void omr_json_call_finish(struct omr_json_call *c, int status, json_t *j, const char *err)
{
	c->cb(c->arg, status, j, err);
	json_decref(j);
	free(c);
}

static json_t *omr_store_messages(const redisReply *list)
{
	json_t *arr = json_array();
	for (size_t i = 0; list && list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
		json_t *m = omr_model_from_hash(OMR_MODEL_MESSAGE, list->element[i]);
		if (m && json_object_size(m))
			json_array_append_new(arr, m);
		else
			json_decref(m);
	}
	return arr;
}

static void omr_store_conv_get_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_json_call *c = arg;
	json_t *out, *cust;

	if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
		omr_json_call_finish(c, OMR_AGAIN, NULL, err ? err : "unexpected reply");
		return;
	}
	if (reply->elements < 4) {
		omr_json_call_finish(c, OMR_OK, NULL, NULL); /* not found */
		return;
	}
	out = omr_model_from_hash(OMR_MODEL_CONVERSATION, reply->element[0]);
	json_object_set_new(out, "messages", omr_store_messages(reply->element[1]));
	cust = omr_model_from_hash(OMR_MODEL_CUSTOMER, reply->element[2]);
	if (cust) {
		json_t *addrs = json_array();
		const redisReply *a = reply->element[3];
		for (size_t i = 0; a->type == REDIS_REPLY_ARRAY && i < a->elements; i++)
			if (a->element[i]->type == REDIS_REPLY_STRING)
				json_array_append_new(addrs, json_stringn(a->element[i]->str,
									  a->element[i]->len));
		json_object_set_new(cust, "addresses", addrs);
		json_t *eng = json_array();
		const redisReply *e = omr_reply_elem(reply, 4);
		for (size_t i = 0; e && e->type == REDIS_REPLY_ARRAY && i < e->elements; i++) {
			json_t *j = e->element[i]->type == REDIS_REPLY_STRING
					    ? json_loadb(e->element[i]->str, e->element[i]->len, 0, NULL)
					    : NULL;
			if (j)
				json_array_append_new(eng, j);
		}
		json_object_set_new(cust, "engagement", eng);
		json_object_set_new(out, "customer_profile", cust);
	}
	omr_json_call_finish(c, OMR_OK, out, NULL);
}

void omr_store_conv_get(struct omr_store *s, const char *id, int max_msgs, int history,
			omr_store_json_cb cb, void *arg)
{
	struct omr_lua_conv_get_args a = { .conversation = id, .max = max_msgs, .history = history };
	omr_lua_conv_get(s, &a, omr_store_conv_get_done, omr_json_call_new(cb, arg));
}

static void omr_store_conv_list_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_json_call *c = arg;
	json_t *arr, *out;

	if (err || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
	    reply->element[0]->type != REDIS_REPLY_STRING) {
		omr_json_call_finish(c, OMR_AGAIN, NULL, err ? err : "unexpected reply");
		return;
	}
	if (strcmp(reply->element[0]->str, "nocursor") == 0) {
		omr_json_call_finish(c, OMR_ERROR, NULL, "no such conversation in this list");
		return;
	}
	if (reply->elements < 2 || reply->element[1]->type != REDIS_REPLY_STRING) {
		omr_json_call_finish(c, OMR_AGAIN, NULL, "unexpected reply");
		return;
	}
	arr = json_array();
	for (size_t i = 2; i < reply->elements; i++) {
		json_t *conv = omr_model_from_hash(OMR_MODEL_CONVERSATION, reply->element[i]);
		if (conv)
			json_array_append_new(arr, conv);
	}
	out = json_pack("{s:o,s:o}", "conversations", arr, "next",
			reply->element[1]->len ? json_string(reply->element[1]->str) : json_null());
	omr_json_call_finish(c, OMR_OK, out, NULL);
}

void omr_store_conv_list(struct omr_store *s, const char *channel, const char *status,
			 int limit, const char *cursor, omr_store_json_cb cb, void *arg)
{
	struct omr_lua_conv_list_args a = {
		.channel = channel, .status = status, .limit = limit, .cap = 10000, .cursor = cursor,
	};
	omr_lua_conv_list(s, &a, omr_store_conv_list_done, omr_json_call_new(cb, arg));
}

static void omr_store_history_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_json_call *c = arg;
	json_t *out;

	if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
		omr_json_call_finish(c, OMR_AGAIN, NULL, err ? err : "unexpected reply");
		return;
	}
	if (reply->elements < 2) {
		omr_json_call_finish(c, OMR_OK, NULL, NULL);
		return;
	}
	out = json_object();
	json_object_set_new(out, "conversation",
			    omr_model_from_hash(OMR_MODEL_CONVERSATION, reply->element[0]));
	json_object_set_new(out, "messages", omr_store_messages(reply->element[1]));
	omr_json_call_finish(c, OMR_OK, out, NULL);
}

void omr_store_history(struct omr_store *s, const char *channel, const char *thread,
		       int max_msgs, omr_store_json_cb cb, void *arg)
{
	struct omr_lua_history_args a = { .channel = channel, .thread = thread, .max = max_msgs };
	omr_lua_history(s, &a, omr_store_history_done, omr_json_call_new(cb, arg));
}

void omr_store_conv_history(struct omr_store *s, const char *conversation, int max_msgs,
			    omr_store_json_cb cb, void *arg)
{
	/* conv_get.lua answers the conversation's hash and its messages
	 * first, as history.lua does; {} when there is none */
	struct omr_lua_conv_get_args a = { .conversation = conversation, .max = max_msgs };
	omr_lua_conv_get(s, &a, omr_store_history_done, omr_json_call_new(cb, arg));
}

void omr_store_msg_status(struct omr_store *s, const char *msg, const char *status,
			  const char *channel, const char *channel_msg_id, const char *error,
			  omr_redis_cb cb, void *arg)
{
	struct omr_lua_msg_status_args a = {
		.message = msg, .status = status, .channel = channel,
		.channel_msg_id = channel_msg_id, .error = error,
	};
	omr_lua_msg_status(s, &a, cb, arg);
}

/* earlier conversations: agent_view.lua sends what the customer panel
 * lists of each, as a JSON object (text); one that is not is left out */
static int omr_store_earlier_ok(const redisReply *e)
{
	return e->type == REDIS_REPLY_STRING && e->len >= 2 && e->str[0] == '{' &&
	       e->str[e->len - 1] == '}';
}

static json_t *omr_store_earlier(const redisReply *list)
{
	json_t *arr = json_array();
	for (size_t i = 0; list && list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
		const redisReply *e = list->element[i];
		json_t *c = omr_store_earlier_ok(e) ? json_loadb(e->str, e->len, 0, NULL) : NULL;
		if (json_is_object(c) && json_object_size(c))
			json_array_append_new(arr, c);
		else
			json_decref(c);
	}
	return arr;
}

/* the same, as the text of a JSON array: passed on without a parse */
static char *omr_store_earlier_text(const redisReply *list)
{
	struct omr_buf b;
	omr_buf_init(&b);
	omr_buf_append(&b, "[", 1);
	for (size_t i = 0, n = 0; list && list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
		const redisReply *e = list->element[i];
		if (!omr_store_earlier_ok(e))
			continue;
		if (n++)
			omr_buf_append(&b, ",", 1);
		omr_buf_append(&b, e->str, e->len);
	}
	omr_buf_append(&b, "]", 1);
	return omr_buf_steal(&b, NULL);
}

json_t *omr_store_offer_summary(const redisReply *view, const char *preview,
				const char *customer_name)
{
	json_t *conv = omr_model_from_hash(OMR_MODEL_CONVERSATION, view);
	if (!conv)
		return NULL;
	json_object_set_new(conv, "messages",
			    json_pack("[{s:s,s:s}]", "direction", "in", "text", preview ? preview : ""));
	json_t *cust = json_pack("{s:O?}", "id", json_object_get(conv, "customer"));
	if (cust && customer_name && *customer_name)
		json_object_set_new(cust, "name", json_string(customer_name));
	json_object_set_new(conv, "customer", cust ? cust : json_object());
	return conv;
}

/* the customer panel's summary (omr_panel.c), with the identities linked
 * with the customer (view.lib: JSON text); {} without a customer */
static json_t *omr_store_panel(const struct omr_lua_agent_view_reply *v, long long low)
{
	if (!v->changes || v->changes->type != REDIS_REPLY_ARRAY)
		return json_object();
	json_t *panel = omr_panel_new(omr_reply_field(v->customer, "balance"), v->changes,
				      v->previous, low);
	json_t *linked = v->linked && *v->linked ? json_loads(v->linked, 0, NULL) : NULL;
	if (json_is_array(linked))
		json_object_set_new(panel, "linked", linked);
	else
		json_decref(linked);
	return panel;
}

static int omr_store_view_parse_ex(const redisReply *reply, long long low, json_t **conv_r,
				   json_t **offer_r, const char *mark, char **earlier_r)
{
	struct omr_lua_agent_view_reply v;
	int n = omr_lua_agent_view_reply(reply, &v);
	json_t *conv, *cust, *addrs;

	*conv_r = NULL;
	if (offer_r)
		*offer_r = NULL;
	if (n < 0)
		return -2;
	if (n == 0)
		return 0;
	if (v.tag && strcmp(v.tag, "not_yours") == 0)
		return -1;
	if (!v.tag || strcmp(v.tag, "ok") != 0 || n < 7)
		return -2;
	conv = omr_model_from_hash(OMR_MODEL_CONVERSATION, v.conv);
	if (!conv)
		return -2;
	json_object_set_new(conv, "messages", omr_store_messages(v.messages));
	cust = omr_model_from_hash(OMR_MODEL_CUSTOMER, v.customer);
	if (!cust)
		cust = json_object();
	addrs = json_array();
	for (size_t i = 0; v.addresses->type == REDIS_REPLY_ARRAY && i < v.addresses->elements; i++) {
		const redisReply *a = v.addresses->element[i];
		if (a->type == REDIS_REPLY_STRING)
			json_array_append_new(addrs, json_stringn(a->str, a->len));
	}
	json_object_set_new(cust, "addresses", addrs);
	if (earlier_r) {
		*earlier_r = omr_store_earlier_text(v.previous);
		json_object_set_new(cust, "previous", json_string(mark));
	} else {
		json_object_set_new(cust, "previous", omr_store_earlier(v.previous));
	}
	json_object_set_new(cust, "panel", omr_store_panel(&v, low));
	json_object_set_new(conv, "customer", cust);
	if (offer_r && v.offer->type == REDIS_REPLY_ARRAY && v.offer->elements) {
		*offer_r = omr_model_from_hash(OMR_MODEL_OFFER, v.offer);
		/* what is left of it, on Redis' clock: nodes' clocks may differ */
		long long expires = json_integer_value(json_object_get(*offer_r, "expires_at"));
		if (*offer_r && v.now > 0)
			json_object_set_new(*offer_r, "remaining_ms",
					    json_integer(expires > v.now ? expires - v.now : 0));
	}
	*conv_r = conv;
	return 1;
}

int omr_store_view_parse(const redisReply *reply, long long low, json_t **conv_r,
			 json_t **offer_r)
{
	return omr_store_view_parse_ex(reply, low, conv_r, offer_r, NULL, NULL);
}

int omr_store_view_parse_text(const redisReply *reply, long long low, const char *mark,
			      json_t **conv_r, char **earlier_r)
{
	*earlier_r = NULL;
	return omr_store_view_parse_ex(reply, low, conv_r, NULL, mark, earlier_r);
}
