/*
 * omr_store: see omr_store.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_log.h"
#include "omr_scripts.h"
#include "omr_store.h"
#include "omr_util.h"

struct omr_store {
	struct omr_redis *r;      /* borrowed */
	char *prefix;             /* "omr:{main}:" */
	char *anchor;             /* the event stream: KEYS[1] of every script */
	long long dedup_ttl;
	long long stream_maxlen;
	struct omr_redis_script ingest, conv_get, conv_list, history, msg_status;
	struct omr_redis_script scripts[OMR_SCRIPT_COUNT];
};

struct omr_store *omr_store_new(struct omr_redis *r, const struct omr_store_opts *o)
{
	struct omr_store *s = omr_calloc(1, sizeof(*s));
	s->r = r;
	s->prefix = omr_asprintf("%s:{%s}:", o->prefix, o->site);
	s->anchor = omr_asprintf("%sevents", s->prefix);
	s->dedup_ttl = o->dedup_ttl;
	s->stream_maxlen = o->stream_maxlen;
	omr_redis_script_init(&s->ingest, "ingest", omr_lua_ingest);
	omr_redis_script_init(&s->conv_get, "conv_get", omr_lua_conv_get);
	omr_redis_script_init(&s->conv_list, "conv_list", omr_lua_conv_list);
	omr_redis_script_init(&s->history, "history", omr_lua_history);
	omr_redis_script_init(&s->msg_status, "msg_status", omr_lua_msg_status);
	static const struct {
		enum omr_script id;
		const char *name;
		const char *src;
	} table[] = {
		{ OMR_SCRIPT_QUEUE_PEEK, "queue_peek", omr_lua_queue_peek },
		{ OMR_SCRIPT_OFFER, "offer", omr_lua_offer },
		{ OMR_SCRIPT_OFFER_END, "offer_end", omr_lua_offer_end },
		{ OMR_SCRIPT_OFFERS_DUE, "offers_due", omr_lua_offers_due },
		{ OMR_SCRIPT_AGENT_SESSION, "agent_session", omr_lua_agent_session },
		{ OMR_SCRIPT_AGENT_PRESENCE, "agent_presence", omr_lua_agent_presence },
		{ OMR_SCRIPT_NODE_ALIVE, "node_alive", omr_lua_node_alive },
		{ OMR_SCRIPT_REAP, "reap", omr_lua_reap },
		{ OMR_SCRIPT_REPLY, "reply", omr_lua_reply },
		{ OMR_SCRIPT_CONV_ACT, "conv_act", omr_lua_conv_act },
		{ OMR_SCRIPT_AGENT_VIEW, "agent_view", omr_lua_agent_view },
		{ OMR_SCRIPT_ENQUEUE, "enqueue", omr_lua_enqueue },
		{ OMR_SCRIPT_MSG_INFO, "msg_info", omr_lua_msg_info },
		{ OMR_SCRIPT_AGENTS_STATE, "agents_state", omr_lua_agents_state },
		{ OMR_SCRIPT_REPORT_REASONS, "report_reasons", omr_lua_report_reasons },
		{ OMR_SCRIPT_ENGAGE, "engage", omr_lua_engage },
		{ OMR_SCRIPT_MOVE, "move", omr_lua_move },
		{ OMR_SCRIPT_CONV_MARK, "conv_mark", omr_lua_conv_mark },
		{ OMR_SCRIPT_QUEUE_STATUS, "queue_status", omr_lua_queue_status },
		{ OMR_SCRIPT_QUEUES_STATE, "queues_state", omr_lua_queues_state },
		{ OMR_SCRIPT_AUTO_CLOSE, "auto_close", omr_lua_auto_close },
		{ OMR_SCRIPT_QUEUES_WAITING, "queues_waiting", omr_lua_queues_waiting },
		{ OMR_SCRIPT_TO_BOT, "to_bot", omr_lua_to_bot },
		{ OMR_SCRIPT_BOT_UPDATE, "bot_update", omr_lua_bot_update },
		{ OMR_SCRIPT_BOT_END, "bot_end", omr_lua_bot_end },
		{ OMR_SCRIPT_BOT_IDLE, "bot_idle", omr_lua_bot_idle },
		{ OMR_SCRIPT_MSG_READ_UNTIL, "msg_read_until", omr_lua_msg_read_until },
		{ OMR_SCRIPT_OUTBOX_CLAIM, "outbox_claim", omr_lua_outbox_claim },
		{ OMR_SCRIPT_LOGIN_GUARD, "login_guard", omr_lua_login_guard },
		{ OMR_SCRIPT_EVENTS_CLAIM, "events_claim", omr_lua_events_claim },
		{ OMR_SCRIPT_EVENTS_TRIM, "events_trim", omr_lua_events_trim },
		{ OMR_SCRIPT_NEW_SWEEP, "new_sweep", omr_lua_new_sweep },
	};
	for (size_t i = 0; i < OMR_ARRAY_LEN(table); i++)
		omr_redis_script_init(&s->scripts[table[i].id], table[i].name, table[i].src);
	return s;
}

void omr_store_free(struct omr_store *s)
{
	if (!s)
		return;
	free(s->prefix);
	free(s->anchor);
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

/* Every script declares one key, the site's event stream, so that Redis
 * Cluster sends it to the node owning the site's slot; the other keys are
 * named from the prefix and share its hash tag. */
static void omr_store_eval(struct omr_store *s, const struct omr_redis_script *script,
			   omr_redis_cb cb, void *arg, int argc, const char **argv)
{
	const char **full = omr_malloc((size_t)(argc + 1) * sizeof(*full));
	full[0] = s->anchor;
	memcpy(full + 1, argv, (size_t)argc * sizeof(*argv));
	omr_redis_eval(s->r, script, cb, arg, 1, argc + 1, full, NULL);
	free(full);
}

/* ---- ingest ---- */

struct omr_ingest_call {
	omr_store_ingest_cb cb;
	void *arg;
};

static void omr_store_ingest_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_ingest_call *c = arg;
	struct omr_ingest_result res = { 0 };
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));

	if (err || !tag || reply->elements < 5) {
		res.status = OMR_AGAIN;
		res.error = err ? err : "unexpected reply from the ingest script";
	} else {
		res.status = OMR_OK;
		res.duplicate = strcmp(tag, "dup") == 0;
		res.conversation = omr_reply_str(reply->element[1]);
		res.message = omr_reply_str(reply->element[2]);
		res.customer = omr_reply_str(reply->element[3]);
		res.is_new = omr_reply_int(reply->element[4], 0) == 1;
	}
	c->cb(c->arg, &res);
	free(c);
}

void omr_store_ingest(struct omr_store *s, const char *channel, const struct omr_inbound *ev,
		      const struct omr_inbound_norm *n, omr_store_ingest_cb cb, void *arg)
{
	struct omr_ingest_call *c = omr_malloc(sizeof(*c));
	char ts[24], now[24], ttl[24], maxlen[24], reopen[24];
	char cust_id[OMR_ID_MAX], conv_id[OMR_ID_MAX], msg_id[OMR_ID_MAX];

	c->cb = cb;
	c->arg = arg;
	snprintf(ts, sizeof(ts), "%lld", n->ts_ms);
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	snprintf(ttl, sizeof(ttl), "%lld", s->dedup_ttl);
	snprintf(maxlen, sizeof(maxlen), "%lld", s->stream_maxlen);
	snprintf(reopen, sizeof(reopen), "%lld", n->reopen_ms);
	const char *argv[] = {
		s->prefix, channel, ev->channel_msg_id, ev->address, n->thread,
		ev->name ? ev->name : "", ev->email ? ev->email : "", ev->text ? ev->text : "",
		n->attachments, n->attrs, n->meta, ev->is_public ? "1" : "0", ts, now,
		omr_id_new(cust_id, "u_"), omr_id_new(conv_id, "c_"), omr_id_new(msg_id, "m_"),
		ttl, maxlen, n->kind, ev->email_verified ? "1" : "0", reopen,
	};
	omr_store_eval(s, &s->ingest, omr_store_ingest_done, c, (int)OMR_ARRAY_LEN(argv), argv);
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

void omr_store_conv_get(struct omr_store *s, const char *id, int max_msgs,
			omr_store_json_cb cb, void *arg)
{
	char max[16];
	snprintf(max, sizeof(max), "%d", max_msgs);
	const char *argv[] = { s->prefix, id, max };
	omr_store_eval(s, &s->conv_get, omr_store_conv_get_done, omr_json_call_new(cb, arg), 3, argv);
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
	char lim[16];
	snprintf(lim, sizeof(lim), "%d", limit);
	const char *argv[] = { s->prefix, channel ? channel : "", status ? status : "", lim,
			       "10000", cursor ? cursor : "" };
	omr_store_eval(s, &s->conv_list, omr_store_conv_list_done, omr_json_call_new(cb, arg), 6, argv);
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
	char max[16];
	snprintf(max, sizeof(max), "%d", max_msgs);
	const char *argv[] = { s->prefix, channel, thread, max };
	omr_store_eval(s, &s->history, omr_store_history_done, omr_json_call_new(cb, arg), 4, argv);
}

void omr_store_run(struct omr_store *s, enum omr_script script, omr_redis_cb cb, void *arg,
		   int argc, const char **argv)
{
	const char **full = omr_malloc((size_t)(argc + 1) * sizeof(*full));
	full[0] = s->prefix;
	memcpy(full + 1, argv, (size_t)argc * sizeof(*argv));
	omr_store_eval(s, &s->scripts[script], cb, arg, argc + 1, full);
	free(full);
}

void omr_store_msg_status(struct omr_store *s, const char *msg, const char *status,
			  const char *channel, const char *channel_msg_id, const char *error,
			  omr_redis_cb cb, void *arg)
{
	char now[24];
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	const char *argv[] = { s->prefix, msg ? msg : "", status, channel,
			       channel_msg_id ? channel_msg_id : "", error ? error : "", now };
	omr_store_eval(s, &s->msg_status, cb, arg, 7, argv);
}

static json_t *omr_store_earlier(const redisReply *list)
{
	static const char *const keep[] = { "id", "channel", "status", "created_at", "closed_at",
					    "wrapup", "queue", NULL };
	json_t *arr = json_array();
	for (size_t i = 0; list && list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
		json_t *c = omr_model_from_hash(OMR_MODEL_CONVERSATION, list->element[i]);
		json_t *o;
		if (!c || !json_object_size(c)) {
			json_decref(c);
			continue;
		}
		o = json_object();
		for (int k = 0; keep[k]; k++)
			if (json_object_get(c, keep[k]))
				json_object_set(o, keep[k], json_object_get(c, keep[k]));
		json_array_append_new(arr, o);
		json_decref(c);
	}
	return arr;
}

int omr_store_view_parse(const redisReply *reply, json_t **conv_r, json_t **offer_r)
{
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));
	json_t *conv, *cust, *addrs;

	*conv_r = NULL;
	if (offer_r)
		*offer_r = NULL;
	if (!reply || reply->type != REDIS_REPLY_ARRAY)
		return -2;
	if (reply->elements == 0)
		return 0;
	if (tag && strcmp(tag, "not_yours") == 0)
		return -1;
	if (!tag || strcmp(tag, "ok") != 0 || reply->elements < 7)
		return -2;
	conv = omr_model_from_hash(OMR_MODEL_CONVERSATION, reply->element[1]);
	if (!conv)
		return -2;
	json_object_set_new(conv, "messages", omr_store_messages(reply->element[2]));
	cust = omr_model_from_hash(OMR_MODEL_CUSTOMER, reply->element[3]);
	if (!cust)
		cust = json_object();
	addrs = json_array();
	for (size_t i = 0; reply->element[4]->type == REDIS_REPLY_ARRAY && i < reply->element[4]->elements; i++) {
		const redisReply *a = reply->element[4]->element[i];
		if (a->type == REDIS_REPLY_STRING)
			json_array_append_new(addrs, json_stringn(a->str, a->len));
	}
	json_object_set_new(cust, "addresses", addrs);
	json_object_set_new(cust, "previous", omr_store_earlier(reply->element[5]));
	json_object_set_new(conv, "customer", cust);
	if (offer_r && reply->element[6]->type == REDIS_REPLY_ARRAY && reply->element[6]->elements) {
		*offer_r = omr_model_from_hash(OMR_MODEL_OFFER, reply->element[6]);
	}
	*conv_r = conv;
	return 1;
}
