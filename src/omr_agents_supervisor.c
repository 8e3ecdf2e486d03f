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
 * Monitoring: every node keeps which supervisors follow which
 * conversation (a->monitors), told through the bus; the node that pushes a
 * frame about a conversation to its agent (omr_agents_push) also pushes it,
 * wrapped as monitor_frame, to the supervisors who follow it, so each gets
 * it once, whichever node they are on. A node that starts later does not
 * know the monitors of the others: the supervisor's console asks again
 * after a reconnect.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_agents.h"
#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_audit.h"
#include "omr_bus.h"
#include "omr_channels.h"
#include "omr_config.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_WHISPER_MAX 4000

/* The user behind s if they may supervise; else NULL, with the error sent. */
static const struct omr_agent_conf *omr_sup_user(struct omr_agents *a, struct omr_asess *s)
{
	const struct omr_agent_conf *ac = omr_agents_find(omr_env_cfg(&a->env)->agents, s->agent);
	if (ac && (ac->roles & (OMR_ROLE_SUPERVISOR | OMR_ROLE_ADMIN)))
		return ac;
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

/* ---- the monitors of this node's view of the site ---- */

static void omr_sup_monitor_set(struct omr_agents *a, const char *conv, const char *sup, int on)
{
	json_t *list = omr_map_gets(a->monitors, conv);
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
		if (strcmp(json_string_value(v), sup) == 0)
			break;
	if (on && (!list || i == json_array_size(list))) {
		if (!list) {
			list = json_array();
			omr_map_puts(a->monitors, conv, list);
		}
		json_array_append_new(list, json_string(sup));
	} else if (!on && list && i < json_array_size(list)) {
		json_array_remove(list, i);
		if (json_array_size(list) == 0)
			json_decref(omr_map_dels(a->monitors, conv));
	}
}

struct omr_sup_drop {
	const char *sup;
	json_t *empty; /* conversations left without a monitor */
};

static int omr_sup_drop_one(void *arg, const void *key, size_t klen, void *value)
{
	struct omr_sup_drop *d = arg;
	size_t i;
	json_t *v;
	json_array_foreach((json_t *)value, i, v)
		if (strcmp(json_string_value(v), d->sup) == 0) {
			json_array_remove(value, i);
			break;
		}
	if (json_array_size(value) == 0)
		json_array_append_new(d->empty, json_stringn(key, klen));
	return 0;
}

/* sup follows nothing any more (on this node's map) */
static void omr_sup_monitor_drop(struct omr_agents *a, const char *sup)
{
	struct omr_sup_drop d = { .sup = sup, .empty = json_array() };
	size_t i;
	json_t *v;
	omr_map_foreach(a->monitors, omr_sup_drop_one, &d);
	json_array_foreach(d.empty, i, v)
		json_decref(omr_map_dels(a->monitors, json_string_value(v)));
	json_decref(d.empty);
}

static void omr_sup_monitor_tell(struct omr_agents *a, const char *conv, const char *sup, int on)
{
	if (!omr_bus_needed(a->bus))
		return;
	json_t *m = json_pack("{s:s,s:s?,s:s,s:b}", "t", "mon", "c", conv, "s", sup, "on", on);
	omr_bus_publish(a->bus, m);
	json_decref(m);
}

void omr_agents_monitor_bus(struct omr_agents *a, const json_t *msg)
{
	const char *conv = json_string_value(json_object_get(msg, "c"));
	const char *sup = json_string_value(json_object_get(msg, "s"));
	int on = json_is_true(json_object_get(msg, "on"));
	if (!sup)
		return;
	if (conv)
		omr_sup_monitor_set(a, conv, sup, on);
	else if (!on)
		omr_sup_monitor_drop(a, sup);
}

void omr_agents_monitor_gone(struct omr_agents *a, const char *sup)
{
	if (!omr_map_count(a->monitors))
		return;
	omr_sup_monitor_drop(a, sup);
	omr_sup_monitor_tell(a, NULL, sup, 0);
}

void omr_agents_monitor_frame(struct omr_agents *a, const char *agent, const json_t *frame)
{
	const json_t *c = json_object_get(frame, "conversation");
	const char *conv = json_is_object(c) ? json_string_value(json_object_get(c, "id"))
					     : json_string_value(c);
	json_t *list = conv && omr_map_count(a->monitors) ? omr_map_gets(a->monitors, conv) : NULL;
	size_t i;
	json_t *v;

	if (!list)
		return;
	json_t *wrap = json_pack("{s:s,s:s,s:s,s:O}", "type", "monitor_frame", "conversation", conv,
				 "agent", agent, "frame", frame);
	json_array_foreach(list, i, v)
		if (strcmp(json_string_value(v), agent) != 0)
			omr_agents_push(a, json_string_value(v), wrap);
	json_decref(wrap);
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
		omr_sup_audit(a, q->agent, "conversation.monitor", q->conversation, "forbidden", NULL);
		omr_agents_error_q(q, "forbidden", "the conversation is outside your queues");
	} else if (omr_agents_sess(a, q->conn)) {
		omr_sup_monitor_set(a, q->conversation, q->agent, 1);
		omr_sup_monitor_tell(a, q->conversation, q->agent, 1);
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
	const struct omr_agent_conf *ac = omr_sup_user(a, s);
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
	const char *conv = omr_sup_user(a, s) ? omr_sup_conv(a, s, msg) : NULL;
	if (!conv)
		return;
	omr_sup_monitor_set(a, conv, s->agent, 0);
	omr_sup_monitor_tell(a, conv, s->agent, 0);
	omr_agents_send_new(a, s->conn, json_pack("{s:s,s:s}", "type", "monitor_end",
						  "conversation", conv));
	if (omr_env_cfg(&a->env)->routing->supervision.announce_monitoring) {
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
		omr_sup_audit(a, q->agent, action, q->conversation, "forbidden", NULL);
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

static void omr_sup_say(struct omr_agents *a, struct omr_asess *s, const json_t *msg,
			const char *how)
{
	const struct omr_agent_conf *ac = omr_sup_user(a, s);
	const char *conv = ac ? omr_sup_conv(a, s, msg) : NULL;
	const char *text = json_string_value(json_object_get(msg, "text"));
	const char *cmid = json_string_value(json_object_get(msg, "client_msg_id"));
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	size_t max = strcmp(how, "barge") == 0 ? (size_t)cfg->limits.text_max : OMR_WHISPER_MAX;
	char mid[OMR_ID_MAX];

	if (!conv)
		return;
	if (!cmid || !omr_model_key_ok(cmid, 64)) {
		omr_agents_error(a, s->conn, "bad_request", "client_msg_id: 1-64 characters",
				 "conversation", conv);
		return;
	}
	if (!text || !*text || json_string_length(json_object_get(msg, "text")) != strlen(text) ||
	    strlen(text) > max) {
		omr_agents_error(a, s->conn, "bad_request", "text: 1 to the channel's limit of bytes",
				 "conversation", conv);
		return;
	}
	struct omr_areq *q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	q->client_msg_id = omr_strdup(cmid);
	q->text = omr_strdup(text);
	q->extra = omr_strdup(how);
	q->by = omr_strdup(ac->name ? ac->name : ac->id);
	char *queues = omr_sup_queues_csv(ac);
	struct omr_lua_reply_args r = {
		.conversation = conv, .agent = s->agent, .name = q->by, .text = text,
		.client_msg_id = cmid, .message = omr_id_new(mid, "m_"),
		.dedup_ttl = cfg->limits.dedup_ttl,
		.author = strcmp(how, "barge") == 0 ? "supervisor" : "whisper", .queues = queues,
	};
	omr_lua_reply(a->env.store, &r, omr_sup_said_cb, q);
	free(queues);
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
	const struct omr_agent_conf *ac = omr_sup_user(a, s);
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
	const struct omr_agent_conf *ac = omr_sup_user(a, s);
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
	} else {
		char *m = omr_asprintf("only a waiting conversation can be pulled (it is %s)",
				       r.status ? r.status : "gone");
		result = strcmp(r.status ? r.status : "", "unknown") == 0 ? "not_found" : "conflict";
		omr_agents_error_q(q, result, m);
		free(m);
	}
	omr_sup_audit(a, q->agent, "conversation.pull", q->conversation, result, detail);
	json_decref(detail);
	omr_areq_free(q);
}

void omr_agents_sup_pull(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const struct omr_agent_conf *ac = omr_sup_user(a, s);
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
		omr_agents_error(a, s->conn, "forbidden", "agent: serves none of your queues",
				 "conversation", conv);
		return;
	}
	struct omr_areq *q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	q->text = omr_strdup(agent);
	char *queues = omr_sup_queues_csv(ac);
	struct omr_lua_conv_pull_args p = { .conversation = conv, .agent = agent,
					    .prefer = cfg->routing->supervision.pull_wait,
					    .queues = queues };
	omr_lua_conv_pull(a->env.store, &p, omr_sup_pulled_cb, q);
	free(queues);
}
