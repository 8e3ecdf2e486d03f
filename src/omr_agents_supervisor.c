/*
 * omr_agents_supervisor: what a supervisor (or admin) does from the
 * console, over the same /agent websocket (docs/agent-protocol.md,
 * "Supervisors"):
 *
 *   monitor / unmonitor   follow a conversation live, read-only
 *   whisper               a note only the conversation's agent sees
 *   barge                 write to the customer, beside the agent
 *   reassign              move an assigned conversation (omr_agents_supervise)
 *   pull                  a waiting conversation to a chosen agent
 *   agent_presence        set an agent away / offline (omr_agents_supervise)
 *
 * Every one of them is checked against the user's roles and queues and
 * written to the audit trail (via "console").
 *
 * Monitoring itself (who follows what, the copies of frames) is
 * omr_agents_monitor.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_agents.h"
#include "omr_agents_conf.h"
#include "omr_admission.h"
#include "omr_agents_int.h"
#include "omr_audit.h"
#include "omr_bus.h"
#include "omr_channels.h"
#include "omr_config.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_reports.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_WHISPER_MAX 4000

static void omr_sup_refused(struct omr_agents *a, const char *who, const char *action,
			    const char *target);

/* The user behind s if they may supervise; else NULL, with the error sent
 * and the refusal audited (what: the frame's type). */
static const struct omr_agent_conf *omr_sup_user(struct omr_agents *a, struct omr_asess *s,
						 const char *what)
{
	const struct omr_agent_conf *ac = omr_agents_find(omr_env_cfg(&a->env)->agents, s->agent);
	if (omr_agent_supervises(ac))
		return ac;
	omr_sup_refused(a, s->agent, what, NULL);
	omr_agents_error(a, s->conn, "forbidden", "only a supervisor or admin may do this", NULL, NULL);
	return NULL;
}

static const char *omr_sup_conv(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *conv = json_string_value(json_object_get(msg, "conversation"));
	if (conv && omr_model_id_ok(conv, "c_"))
		return conv;
	omr_agents_error(a, s->conn, "bad_request", "conversation: a conversation id", NULL, NULL);
	return NULL;
}

/* "billing,tech" for the scripts; "" when the user oversees every queue */
static char *omr_sup_queues_csv(const struct omr_agent_conf *ac)
{
	struct omr_buf b;
	omr_buf_init(&b);
	for (size_t i = 0; ac->queues && ac->queues[i]; i++) {
		if (i)
			omr_buf_puts(&b, ",");
		omr_buf_puts(&b, ac->queues[i]);
	}
	return omr_buf_steal(&b, NULL);
}

static void omr_sup_audit(struct omr_agents *a, const char *who, const char *action,
			  const char *target, const char *result, const json_t *detail)
{
	struct omr_audit_entry e = { .who = who, .via = "console", .action = action,
				     .target = target, .result = result, .detail = detail };
	omr_audit_write(a->env.store, a->env.node_id, &e);
}

/* a refusal: audited within the gate's limits (omr_audit_refusal_gate) */
static void omr_sup_refused(struct omr_agents *a, const char *who, const char *action,
			    const char *target)
{
	if (omr_gate_take(a->sup_refusals, who, omr_mono_ms()) == OMR_GATE_OK)
		omr_sup_audit(a, who, action, target, "forbidden", NULL);
}

/* ---- monitor ---- */

/* the frame that tells an agent that q->agent (a supervisor) monitors
 * q->conversation, or no longer does */
static json_t *omr_sup_monitored(struct omr_agents *a, const struct omr_areq *q, int active)
{
	const struct omr_agent_conf *ac = omr_agents_find(omr_env_cfg(&a->env)->agents, q->agent);
	return json_pack("{s:s,s:s,s:s,s:s,s:b}", "type", "monitored", "conversation",
			 q->conversation, "by", q->agent, "by_name",
			 ac && ac->name ? ac->name : q->agent, "active", active);
}

static void omr_sup_monitor_cb(void *arg, int status, json_t *conv, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	const char *queue = json_string_value(json_object_get(conv, "queue"));
	const char *agent = json_string_value(json_object_get(conv, "agent"));

	if (status != OMR_OK) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
	} else if (!conv) {
		omr_agents_error_q(q, "not_found", "no such conversation");
	} else if (q->queues && !omr_strv_has(q->queues, queue)) {
		omr_sup_refused(a, q->agent, "conversation.monitor", q->conversation);
		omr_agents_error_q(q, "forbidden", "the conversation is outside your queues");
	} else if (omr_agents_sess(a, q->conn)) {
		omr_agents_mon_set(a, q->conversation, q->agent, a->env.node_id, queue);
		omr_agents_mon_tell(a, q->conversation, q->agent, a->env.node_id, queue, 1);
		omr_sup_audit(a, q->agent, "conversation.monitor", q->conversation, "ok", NULL);
		omr_agents_send_new(a, q->conn, json_pack("{s:s,s:O}", "type", "monitor_start",
							  "conversation", conv));
		if (agent && *agent && omr_env_cfg(&a->env)->routing->supervision.announce_monitoring)
			omr_agents_push_new(a, agent, omr_sup_monitored(a, q, 1));
	}
	omr_areq_free(q);
}

void omr_agents_sup_monitor(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const struct omr_agent_conf *ac = omr_sup_user(a, s, "conversation.monitor");
	const char *conv = ac ? omr_sup_conv(a, s, msg) : NULL;
	struct omr_areq *q;
	if (!conv)
		return;
	q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	q->queues = omr_strv_dup(ac->queues);
	omr_store_conv_get(a->env.store, conv, 1000, 1, omr_sup_monitor_cb, q);
}

static void omr_sup_unmonitored_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	const char *agent = err ? NULL : omr_reply_str(reply);
	if (agent && *agent)
		omr_agents_push_new(q->a, agent, omr_sup_monitored(q->a, q, 0));
	omr_areq_free(q);
}

void omr_agents_sup_unmonitor(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *conv = omr_sup_user(a, s, "conversation.unmonitor") ? omr_sup_conv(a, s, msg) : NULL;
	if (!conv)
		return;
	int was = omr_agents_mon_unset(a, conv, s->agent, a->env.node_id);
	if (was)
		omr_agents_mon_tell(a, conv, s->agent, a->env.node_id, NULL, 0);
	omr_agents_send_new(a, s->conn, json_pack("{s:s,s:s,s:s}", "type", "monitor_end",
						  "conversation", conv, "reason", "unmonitor"));
	/* the agent hears of it only from one who did monitor it */
	if (was && omr_env_cfg(&a->env)->routing->supervision.announce_monitoring) {
		/* tell the agent who has it now */
		struct omr_areq *q = omr_areq_new(a, s);
		char *key = omr_store_key(a->env.store, "conv:%s", conv);
		q->conversation = omr_strdup(conv);
		omr_redis_cmd(omr_store_redis(a->env.store), omr_sup_unmonitored_cb, q,
			      "HGET %s agent", key);
		free(key);
	}
}

/* ---- whisper and barge: reply.lua as the supervisor ---- */

static void omr_sup_said_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	struct omr_lua_reply_reply r;
	int barge = strcmp(q->extra, "barge") == 0;
	const char *action = barge ? "conversation.barge" : "conversation.whisper";

	if (err || omr_lua_reply_reply(reply, &r) < 1 || !r.tag) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
	} else if (strcmp(r.tag, "not_yours") == 0) {
		omr_sup_refused(a, q->agent, action, q->conversation);
		omr_agents_error_q(q, "forbidden", "the conversation is outside your queues");
	} else if (strcmp(r.tag, "bad_state") == 0) {
		char *m = omr_asprintf("only while the conversation is with an agent (it is %s)",
				       r.message ? r.message : "gone");
		omr_agents_error_q(q, "bad_state", m);
		free(m);
	} else {
		json_t *m = omr_model_from_hash(OMR_MODEL_MESSAGE, r.hash);
		if (!m)
			m = json_object();
		int fresh = strcmp(r.tag, "dup") != 0;
		/* the agent's transcript shows it (and so do the monitors') */
		if (fresh && r.agent && *r.agent)
			omr_agents_push_new(a, r.agent, json_pack("{s:s,s:s,s:O}", "type", "message",
								  "conversation", q->conversation,
								  "message", m));
		omr_agents_push_new(a, q->agent, json_pack("{s:s,s:s,s:s,s:o}", "type", "ack",
							   "client_msg_id", q->client_msg_id,
							   "conversation", q->conversation, "message", m));
		if (fresh)
			omr_sup_audit(a, q->agent, action, q->conversation, "ok", NULL);
		if (fresh && barge && strcmp(r.tag, "ok") == 0 && r.channel && r.address) {
			struct omr_outbound out = {
				.conversation = q->conversation, .message = r.message,
				.kind = "message", .address = r.address, .thread = r.thread,
				.author = "agent", .author_name = q->by, .text = q->text,
			};
			omr_channels_deliver(a->channels, r.channel, &out);
		}
	}
	omr_areq_free(q);
}

static void omr_sup_store(struct omr_areq *q)
{
	struct omr_agents *a = q->a;
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	int barge = strcmp(q->extra, "barge") == 0;
	char mid[OMR_ID_MAX];
	struct omr_lua_reply_args r = {
		.conversation = q->conversation, .agent = q->agent, .name = q->by, .text = q->text,
		.client_msg_id = q->client_msg_id, .message = omr_id_new(mid, "m_"),
		.dedup_ttl = cfg->limits.dedup_ttl,
		.author = barge ? "supervisor" : "whisper",
		.queues = json_string_value(json_object_get(q->data, "queues")),
	};
	omr_lua_reply(a->env.store, &r, omr_sup_said_cb, q);
}

/* a barge goes out on the channel: its rules first, as for the agent's
 * own reply (the reply window, the length) */
static void omr_sup_barge_checked(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
		omr_areq_free(q);
		return;
	}
	if (!omr_agents_text_ok(q->a, q, omr_reply_str(omr_reply_elem(reply, 0)),
				omr_reply_int(omr_reply_elem(reply, 1), 0),
				omr_reply_str(omr_reply_elem(reply, 2)))) {
		omr_areq_free(q);
		return;
	}
	omr_sup_store(q);
}

static void omr_sup_say(struct omr_agents *a, struct omr_asess *s, const json_t *msg,
			const char *how)
{
	const struct omr_agent_conf *ac = omr_sup_user(a, s, how);
	const char *conv = ac ? omr_sup_conv(a, s, msg) : NULL;
	const char *text, *cmid;
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	int barge = strcmp(how, "barge") == 0;
	size_t max = barge ? (size_t)cfg->limits.text_max : OMR_WHISPER_MAX;

	if (!conv || omr_agents_text_args(a, s, msg, conv, max, &text, &cmid) < 0)
		return;
	struct omr_areq *q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	q->client_msg_id = omr_strdup(cmid);
	q->text = omr_strdup(text);
	q->extra = omr_strdup(how);
	q->by = omr_strdup(ac->name ? ac->name : ac->id);
	char *queues = omr_sup_queues_csv(ac);
	q->data = json_pack("{s:s}", "queues", queues);
	free(queues);
	if (!barge) {
		omr_sup_store(q);
		return;
	}
	char *key = omr_store_key(a->env.store, "conv:%s", conv);
	omr_redis_cmd(omr_store_redis(a->env.store), omr_sup_barge_checked, q,
		      "HMGET %s channel last_inbound_at public", key);
	free(key);
}

void omr_agents_sup_whisper(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	omr_sup_say(a, s, msg, "whisper");
}

void omr_agents_sup_barge(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	omr_sup_say(a, s, msg, "barge");
}

/* ---- reassign, agent presence: omr_agents_supervise ---- */

struct omr_sup_act {
	struct omr_agents *a;
	uint64_t conn;
	char *who, *action, *target;
	json_t *detail;
};

static void omr_sup_acted(void *arg, int status, const char *code, const char *message,
			  const char *queue)
{
	struct omr_sup_act *c = arg;
	struct omr_agents *a = c->a;
	if (queue && *queue)
		json_object_set_new(c->detail, "queue_was", json_string(queue));
	if (status == 403)
		omr_sup_refused(a, c->who, c->action, c->target);
	else
		omr_sup_audit(a, c->who, c->action, c->target, status == 200 ? "ok" : code, c->detail);
	if (omr_agents_sess(a, c->conn)) {
		if (status == 200)
			omr_agents_send_new(a, c->conn, json_pack("{s:s,s:s,s:s,s:O}", "type", "done",
								  "action", c->action, "target",
								  c->target, "detail", c->detail));
		else
			omr_agents_error(a, c->conn, code, message,
					 strncmp(c->action, "agent.", 6) ? "conversation" : "agent",
					 c->target);
	}
	free(c->who);
	free(c->action);
	free(c->target);
	json_decref(c->detail);
	free(c);
}

static void omr_sup_act(struct omr_agents *a, struct omr_asess *s, struct omr_supervise *sv,
			const char *action, const char *target, json_t *detail)
{
	struct omr_sup_act *c = omr_calloc(1, sizeof(*c));
	c->a = a;
	c->conn = s->conn;
	c->who = omr_strdup(s->agent);
	c->action = omr_strdup(action);
	c->target = omr_strdup(target);
	c->detail = detail;
	sv->by = s->agent;
	omr_agents_supervise(a, sv, omr_sup_acted, c);
}

void omr_agents_sup_reassign(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const struct omr_agent_conf *ac = omr_sup_user(a, s, "conversation.transfer");
	const char *conv = ac ? omr_sup_conv(a, s, msg) : NULL;
	if (!conv)
		return;
	struct omr_supervise sv = {
		.action = "transfer", .conversation = conv,
		.queue = json_string_value(json_object_get(msg, "queue")),
		.agent = json_string_value(json_object_get(msg, "agent")),
		.note = json_string_value(json_object_get(msg, "note")),
		.queues = ac->queues,
	};
	json_t *detail = json_pack("{s:s?,s:s?}", "queue", sv.queue, "agent", sv.agent);
	omr_sup_act(a, s, &sv, "conversation.transfer", conv, detail);
}

void omr_agents_sup_presence(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const struct omr_agent_conf *ac = omr_sup_user(a, s, "agent.presence");
	const char *agent = json_string_value(json_object_get(msg, "agent"));
	if (!ac)
		return;
	if (!agent || !omr_model_key_ok(agent, 64)) {
		omr_agents_error(a, s->conn, "bad_request", "agent: an agent id", NULL, NULL);
		return;
	}
	struct omr_supervise sv = {
		.action = "presence", .agent = agent,
		.presence = json_string_value(json_object_get(msg, "status")),
		.reason = json_string_value(json_object_get(msg, "reason")),
		.queues = ac->queues,
	};
	json_t *detail = json_pack("{s:s?,s:s?}", "presence", sv.presence, "reason", sv.reason);
	omr_sup_act(a, s, &sv, "agent.presence", agent, detail);
}

/* ---- pull: a waiting conversation to a chosen agent ---- */

static void omr_sup_pulled_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	struct omr_lua_conv_pull_reply r;
	const char *result;

	if (err || omr_lua_conv_pull_reply(reply, &r) < 1 || !r.tag) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
		omr_areq_free(q);
		return;
	}
	json_t *detail = json_pack("{s:s,s:s?}", "agent", q->text, "queue_was",
				   r.queue && *r.queue ? r.queue : NULL);
	if (strcmp(r.tag, "ok") == 0) {
		result = "ok";
		omr_agents_send_new(a, q->conn, json_pack("{s:s,s:s,s:s,s:O}", "type", "done", "action",
							  "conversation.pull", "target",
							  q->conversation, "detail", detail));
		omr_hub_route(a->env.hub);
	} else if (strcmp(r.tag, "not_yours") == 0) {
		result = "forbidden";
		omr_agents_error_q(q, "forbidden", "the conversation is outside your queues");
	} else if (strcmp(r.tag, "channel") == 0) {
		result = "bad_parameter";
		omr_agents_error_q(q, "bad_parameter",
				   "agent: takes no conversation of this channel (capacity 0)");
	} else {
		char *m = omr_asprintf("only a waiting conversation can be pulled (it is %s)",
				       r.status ? r.status : "gone");
		result = strcmp(r.status ? r.status : "", "unknown") == 0 ? "not_found" : "conflict";
		omr_agents_error_q(q, result, m);
		free(m);
	}
	if (strcmp(result, "forbidden") == 0)
		omr_sup_refused(a, q->agent, "conversation.pull", q->conversation);
	else
		omr_sup_audit(a, q->agent, "conversation.pull", q->conversation, result, detail);
	json_decref(detail);
	omr_areq_free(q);
}

void omr_agents_sup_pull(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const struct omr_agent_conf *ac = omr_sup_user(a, s, "conversation.pull");
	const char *conv = ac ? omr_sup_conv(a, s, msg) : NULL;
	const char *agent = json_string_value(json_object_get(msg, "agent"));
	const struct omr_agent_conf *to = agent ? omr_agents_find(cfg->agents, agent) : NULL;

	if (!conv)
		return;
	if (!to || !(to->roles & OMR_ROLE_AGENT)) {
		omr_agents_error(a, s->conn, "unknown_agent", "agent: no such agent", "conversation",
				 conv);
		return;
	}
	if (!omr_route_oversees(ac->queues, cfg->routing, to)) {
		omr_sup_refused(a, s->agent, "conversation.pull", conv);
		omr_agents_error(a, s->conn, "forbidden", "agent: serves none of your queues",
				 "conversation", conv);
		return;
	}
	struct omr_areq *q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	q->text = omr_strdup(agent);
	char *chans = omr_agents_channels_csv(to);
	char *queues = omr_sup_queues_csv(ac);
	struct omr_lua_conv_pull_args p = { .conversation = conv, .agent = agent,
					    .prefer = cfg->routing->supervision.pull_wait,
					    .queues = queues, .channels = chans };
	omr_lua_conv_pull(a->env.store, &p, omr_sup_pulled_cb, q);
	free(queues);
	free(chans);
}

/* ---- reports: the admin API's, for the console's reports screen ---- */

struct omr_sup_report {
	struct omr_agents *a;
	uint64_t conn;
	char *id;      /* the client's, echoed */
	char *kind;
};

static void omr_sup_reported(void *arg, int status, const char *type_or_code, const char *body,
			     size_t len)
{
	struct omr_sup_report *c = arg;
	json_t *f;
	if (status != 200) {
		f = json_pack("{s:s,s:s,s:s%,s:s?}", "type", "error", "code", type_or_code, "message",
			      body, len, "id", c->id);
	} else if (strncmp(type_or_code, "text/csv", 8) == 0) {
		f = json_pack("{s:s,s:s?,s:s,s:s,s:s%}", "type", "report", "id", c->id, "report",
			      c->kind, "format", "csv", "csv", body, len);
	} else {
		json_t *data = json_loadb(body, len, 0, NULL);
		f = json_pack("{s:s,s:s?,s:s,s:s,s:o}", "type", "report", "id", c->id, "report",
			      c->kind, "format", "json", "data", data ? data : json_null());
	}
	if (f && omr_agents_sess(c->a, c->conn))
		omr_agents_send(c->a, c->conn, f);
	json_decref(f);
	free(c->id);
	free(c->kind);
	free(c);
}

/* a query parameter's value: digits, letters and - only (dates, csv, 15m) */
static int omr_sup_query_word(const char *v)
{
	if (!v || !*v || strlen(v) > 16)
		return 0;
	for (; *v; v++)
		if (!((*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'z') || *v == '-'))
			return 0;
	return 1;
}

void omr_agents_sup_report(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	static const char *const params[] = { "from", "to", "format", "interval", NULL };
	const struct omr_agent_conf *ac = omr_sup_user(a, s, "report");
	const char *kind = json_string_value(json_object_get(msg, "report"));
	const char *id = json_string_value(json_object_get(msg, "id"));
	struct omr_buf q;

	if (!ac)
		return;
	if (id && !omr_model_key_ok(id, 64)) {
		omr_agents_error(a, s->conn, "bad_request", "id: 1-64 characters", NULL, NULL);
		return;
	}
	omr_buf_init(&q);
	for (size_t i = 0; params[i]; i++) {
		const json_t *v = json_object_get(msg, params[i]);
		if (!v || json_is_null(v))
			continue;
		if (!omr_sup_query_word(json_string_value(v))) {
			char *m = omr_asprintf("%s: not a valid value", params[i]);
			omr_agents_error(a, s->conn, "bad_parameter", m, "id", id);
			free(m);
			omr_buf_free(&q);
			return;
		}
		omr_buf_printf(&q, "%s%s=%s", q.len ? "&" : "", params[i], json_string_value(v));
	}
	struct omr_sup_report *c = omr_calloc(1, sizeof(*c));
	c->a = a;
	c->conn = s->conn;
	c->id = id ? omr_strdup(id) : NULL;
	c->kind = omr_strdup(kind ? kind : "");
	omr_reports_run(&a->env, ac->queues, kind, q.data ? q.data : "", omr_sup_reported, c);
	omr_buf_free(&q);
}
