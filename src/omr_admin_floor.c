/*
 * omr_admin_floor: the admin API's view of the floor and what a supervisor
 * or admin does on it (docs/admin-api.md): conversations (list, read,
 * close, transfer), agents (list, presence), queues. A supervisor limited
 * to queues sees and acts on those only.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omr_admin_int.h"
#include "omr_agents_conf.h"
#include "omr_config.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_redis.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_ADMIN_MAX_MESSAGES 1000

/* ---- /api/v1/conversations ---- */

static void omr_admin_conv_done(void *arg, int status, json_t *json, const char *err)
{
	struct omr_admin_call *c = arg;
	omr_http_reply *reply = c->reply;
	const char *queue = json_string_value(json_object_get(json, "queue"));

	if (status != OMR_OK)
		omr_http_reply_error(reply, 503, "unavailable", "storage unavailable: %s", err);
	else if (!json)
		omr_http_reply_error(reply, 404, "not_found", "no such conversation");
	else if (c->queues && !omr_strv_has(c->queues, queue)) {
		omr_admin_audit_refusal(c->a, c->who, "conversation.read",
					json_string_value(json_object_get(json, "id")));
		omr_http_reply_error(reply, 403, "forbidden",
				     "the conversation is %s%s, outside your queues",
				     queue ? "in queue " : "not in a queue", queue ? queue : "");
	}
	else
		omr_http_reply_json(reply, 200, json);
	omr_admin_call_free(c);
}

/* A supervisor limited to queues sees the conversations in them. */
static void omr_admin_list_filter(json_t *list, char *const *queues)
{
	for (size_t i = json_array_size(list); queues && i > 0; i--) {
		const char *q = json_string_value(json_object_get(json_array_get(list, i - 1), "queue"));
		if (!omr_strv_has(queues, q))
			json_array_remove(list, i - 1);
	}
}

static void omr_admin_list_done(void *arg, int status, json_t *json, const char *err)
{
	struct omr_admin_call *c = arg;
	omr_http_reply *reply = c->reply;
	if (status == OMR_ERROR) {
		omr_http_reply_error(reply, 400, "bad_parameter", "before: %s", err);
		omr_admin_call_free(c);
		return;
	}
	if (status != OMR_OK) {
		omr_http_reply_error(reply, 503, "unavailable", "storage unavailable: %s", err);
		omr_admin_call_free(c);
		return;
	}
	omr_admin_list_filter(json_object_get(json, "conversations"), c->queues);
	omr_admin_call_free(c);
	json_object_set_new(json, "count",
			    json_integer((json_int_t)json_array_size(
				    json_object_get(json, "conversations"))));
	omr_http_reply_json(reply, 200, json);
}

static void omr_admin_conv_list(struct omr_admin *a, const struct omr_http_request *req,
				omr_http_reply *reply, const struct omr_admin_who *who)
{
	const char *channel, *status, *before;
	long long limit = 50;

	if (omr_admin_param_word(req, reply, "channel", &channel) < 0 ||
	    omr_admin_param_word(req, reply, "status", &status) < 0 ||
	    omr_admin_param_int(req, reply, "limit", 1, 500, &limit) < 0 ||
	    omr_admin_param_cursor(req, reply, &before) < 0)
		return;
	omr_store_conv_list(a->env.store, channel, status, (int)limit, before,
			    omr_admin_list_done, omr_admin_call_new(a, reply, who));
}

/* ---- actions: on behalf of a supervisor or admin, audited ---- */

static void omr_admin_supervised(void *arg, int status, const char *code, const char *message,
				 const char *queue)
{
	struct omr_admin_call *c = arg;
	struct omr_admin *a = c->a;
	json_t *out;

	if (queue && *queue)
		json_object_set_new(c->detail, "queue_was", json_string(queue));
	if (status == 403)
		omr_admin_audit_refusal(a, c->who, c->action, c->target);
	else
		omr_admin_audit(a, c->who, c->action, c->target, status == 200 ? "ok" : code,
				c->detail);
	if (status != 200) {
		omr_http_reply_error(c->reply, status, code, "%s", message);
		omr_admin_call_free(c);
		return;
	}
	if (strcmp(c->action, "agent.presence") == 0)
		out = json_pack("{s:s,s:O}", "agent", c->target, "presence",
				json_object_get(c->detail, "presence"));
	else if (strcmp(c->action, "agent.logout") == 0)
		out = json_pack("{s:s,s:b}", "agent", c->target, "signed_out", 1);
	else if (strcmp(c->action, "conversation.close") == 0)
		out = json_pack("{s:b,s:s}", "closed", 1, "conversation", c->target);
	else
		out = json_pack("{s:b,s:s}", "transferred", 1, "conversation", c->target);
	omr_http_reply_json(c->reply, 200, out);
	json_decref(out);
	omr_admin_call_free(c);
}

static void omr_admin_conv_action(struct omr_admin *a, const struct omr_http_request *req,
				  omr_http_reply *reply, const struct omr_admin_who *who,
				  const char *id, const char *verb)
{
	struct omr_supervise s = { .action = verb, .conversation = id, .by = who->who,
				   .queues = who->queues };
	struct omr_admin_call *c;
	json_t *body = omr_admin_body(req, reply);

	if (!body)
		return;
	if (omr_admin_body_str(body, reply, "queue", &s.queue) < 0 ||
	    omr_admin_body_str(body, reply, "agent", &s.agent) < 0 ||
	    omr_admin_body_str(body, reply, "note", &s.note) < 0) {
		json_decref(body);
		return;
	}
	c = omr_admin_call_new(a, reply, who);
	c->action = omr_asprintf("conversation.%s", verb);
	c->target = omr_strdup(id);
	c->detail = json_object();
	if (s.queue)
		json_object_set_new(c->detail, "queue", json_string(s.queue));
	if (s.agent)
		json_object_set_new(c->detail, "agent", json_string(s.agent));
	if (s.note)
		json_object_set_new(c->detail, "note", json_true()); /* that one was left, not what */
	a->ops.supervise(a->ops.arg, &s, omr_admin_supervised, c);
	json_decref(body);
}

void omr_admin_conversations(void *arg, const struct omr_http_request *req,
				    omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	static const char base[] = "/api/v1/conversations";
	int post = strcmp(req->method, "POST") == 0;
	struct omr_admin_who who;
	const char *id, *verb;
	char cid[OMR_ID_MAX + 1];

	if (!omr_admin_authorised(a, req, reply, post ? OMR_SCOPE_ACT : OMR_SCOPE_READ, &who) ||
	    !omr_admin_running(a, reply))
		return;
	if (strcmp(req->path, base) == 0) {
		if (post) /* a conversation started by us: omr_admin_outreach.c */
			omr_admin_outreach(a, req, reply, &who);
		else if (omr_admin_method(req, reply, "GET"))
			omr_admin_conv_list(a, req, reply, &who);
		return;
	}
	id = req->path + sizeof(base); /* after "/api/v1/conversations/" */
	verb = strchr(id, '/');
	if (verb) {
		/* /api/v1/conversations/{id}/close|transfer */
		size_t n = (size_t)(verb - id);
		verb++;
		if (strcmp(verb, "close") != 0 && strcmp(verb, "transfer") != 0) {
			omr_http_reply_error(reply, 404, "not_found", "no such endpoint");
			return;
		}
		if (!omr_admin_method(req, reply, "POST"))
			return;
		if (n >= sizeof(cid) || (memcpy(cid, id, n), cid[n] = '\0', !omr_model_id_ok(cid, "c_"))) {
			omr_http_reply_error(reply, 404, "not_found", "no such conversation");
			return;
		}
		omr_admin_conv_action(a, req, reply, &who, cid, verb);
		return;
	}
	if (!omr_admin_method(req, reply, "GET"))
		return;
	if (!omr_model_id_ok(id, "c_")) {
		omr_http_reply_error(reply, 404, "not_found", "no such conversation");
		return;
	}
	omr_store_conv_get(a->env.store, id, OMR_ADMIN_MAX_MESSAGES, 1, omr_admin_conv_done,
			   omr_admin_call_new(a, reply, &who));
}

/* ---- /api/v1/agents ---- */

static void omr_admin_agents_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_admin_call *call = arg;
	omr_http_reply *reply_h = call->reply;
	struct omr_admin *a = call->a;
	const struct omr_agents_conf *dir = omr_env_cfg(&a->env)->agents;
	const struct omr_routing_conf *rc = omr_env_cfg(&a->env)->routing;
	char **queues = call->queues;
	json_t *ids = json_incref(call->detail), *out, *list;

	call->queues = NULL;
	omr_admin_call_free(call);
	if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
		omr_http_reply_error(reply_h, 503, "unavailable", "storage unavailable: %s",
				     err ? err : "bad reply");
		omr_strv_free(queues);
		json_decref(ids);
		return;
	}
	list = json_array();
	/* the rows are in the order of the ids asked for; a reload since
	 * may have changed the directory: matched by id */
	for (size_t i = 0; i < json_array_size(ids); i++) {
		const struct omr_agent_conf *ac =
			omr_agents_find(dir, json_string_value(json_array_get(ids, i)));
		const redisReply *row = omr_reply_elem(reply, i);
		if (!ac || !omr_route_oversees(queues, rc, ac))
			continue;
		json_t *st = omr_model_from_hash(OMR_MODEL_AGENT, omr_reply_elem(row, 0));
		json_t *loads = json_object(), *skills = json_object();
		const char *k;
		json_t *v;
		void *tmp;
		if (!st)
			st = json_object();
		json_object_foreach_safe(st, tmp, k, v) {
			if (strncmp(k, "load:", 5) == 0) {
				json_object_set(loads, k + 5, v);
				json_object_del(st, k);
			}
		}
		for (size_t s = 0; s < ac->nskills; s++)
			json_object_set_new(skills, ac->skills[s].skill, json_integer(ac->skills[s].level));
		json_t *ag = json_pack("{s:s,s:s,s:s?,s:o,s:s,s:s,s:I,s:I,s:b,s:o,s:O?,s:O?}", "id", ac->id,
				       "name", ac->name ? ac->name : ac->id, "team", ac->team, "skills",
				       skills, "presence",
				       json_string_value(json_object_get(st, "presence")) ?
					       json_string_value(json_object_get(st, "presence")) : "offline",
				       "presence_reason",
				       json_string_value(json_object_get(st, "presence_reason")) ?
					       json_string_value(json_object_get(st, "presence_reason")) : "",
				       "sessions", json_integer_value(json_object_get(st, "sessions")),
				       "conversations", (json_int_t)omr_reply_int(omr_reply_elem(row, 1), 0),
				       "node_alive", omr_reply_int(omr_reply_elem(row, 2), 0) == 1, "load",
				       loads, "node", json_object_get(st, "node"), "last_assigned_at",
				       json_object_get(st, "last_assigned_at"));
		if (ag) {
			json_object_set_new(ag, "roles", omr_roles_json(ac->roles));
			json_array_append_new(list, ag);
		}
		json_decref(st);
	}
	omr_strv_free(queues);
	json_decref(ids);
	out = json_pack("{s:o}", "agents", list);
	omr_http_reply_json(reply_h, 200, out);
	json_decref(out);
}

static void omr_admin_agents_list(struct omr_admin *a, omr_http_reply *reply,
				  const struct omr_admin_who *who)
{
	const struct omr_agents_conf *dir = omr_env_cfg(&a->env)->agents;
	size_t n = omr_agents_count(dir);
	const char **argv = omr_calloc(n + 1, sizeof(*argv));

	struct omr_admin_call *c = omr_admin_call_new(a, reply, who);
	c->detail = json_array(); /* the ids asked for, in order */
	for (size_t i = 0; i < n; i++) {
		argv[i] = omr_agents_at(dir, i)->id;
		json_array_append_new(c->detail, json_string(argv[i]));
	}
	struct omr_lua_agents_state_args st = { .agents = argv, .nagents = n };
	omr_lua_agents_state(a->env.store, &st, omr_admin_agents_done, c);
	free(argv);
}

/* POST /api/v1/agents/{id}/presence {"presence": "away", "reason": "..."} */
static void omr_admin_agent_presence(struct omr_admin *a, const struct omr_http_request *req,
				     omr_http_reply *reply, const struct omr_admin_who *who,
				     const char *agent)
{
	struct omr_supervise s = { .action = "presence", .agent = agent, .by = who->who,
				   .queues = who->queues };
	struct omr_admin_call *c;
	json_t *body = omr_admin_body(req, reply);

	if (!body)
		return;
	if (omr_admin_body_str(body, reply, "presence", &s.presence) < 0 ||
	    omr_admin_body_str(body, reply, "reason", &s.reason) < 0) {
		json_decref(body);
		return;
	}
	c = omr_admin_call_new(a, reply, who);
	c->action = omr_strdup("agent.presence");
	c->target = omr_strdup(agent);
	c->detail = json_pack("{s:s?,s:s?}", "presence", s.presence, "reason", s.reason);
	a->ops.supervise(a->ops.arg, &s, omr_admin_supervised, c);
	json_decref(body);
}

/* DELETE /api/v1/agents/{id}/sessions: every console session of the agent
 * ends, their consoles close on every node (admin scope) */
static void omr_admin_agent_logout(struct omr_admin *a, omr_http_reply *reply,
				   const struct omr_admin_who *who, const char *agent)
{
	struct omr_supervise s = { .action = "logout", .agent = agent, .by = who->who };
	struct omr_admin_call *c = omr_admin_call_new(a, reply, who);
	c->action = omr_strdup("agent.logout");
	c->target = omr_strdup(agent);
	c->detail = json_object();
	a->ops.supervise(a->ops.arg, &s, omr_admin_supervised, c);
}

void omr_admin_agents(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	static const char base[] = "/api/v1/agents";
	int post = strcmp(req->method, "POST") == 0, del = strcmp(req->method, "DELETE") == 0;
	unsigned scope = del ? OMR_SCOPE_ADMIN : post ? OMR_SCOPE_ACT : OMR_SCOPE_READ;
	struct omr_admin_who who;
	char id[72];

	if (!omr_admin_authorised(a, req, reply, scope, &who) || !omr_admin_running(a, reply))
		return;
	if (strcmp(req->path, base) == 0) {
		if (post) /* a conversation started by us: omr_admin_outreach.c */
			omr_admin_outreach(a, req, reply, &who);
		else if (omr_admin_method(req, reply, "GET"))
			omr_admin_agents_list(a, reply, &who);
		return;
	}
	/* /api/v1/agents/{id}/presence, /api/v1/agents/{id}/sessions */
	const char *p = req->path + sizeof(base), *slash = strchr(p, '/');
	int sessions = slash && strcmp(slash, "/sessions") == 0;
	if (!slash || (strcmp(slash, "/presence") != 0 && !sessions) || slash == p ||
	    (size_t)(slash - p) >= sizeof(id)) {
		omr_http_reply_error(reply, 404, "not_found", "no such endpoint or agent");
		return;
	}
	if (!omr_admin_method(req, reply, sessions ? "DELETE" : "POST"))
		return;
	memcpy(id, p, (size_t)(slash - p));
	id[slash - p] = '\0';
	if (sessions)
		omr_admin_agent_logout(a, reply, &who, id);
	else
		omr_admin_agent_presence(a, req, reply, &who, id);
}

/* ---- /api/v1/queues ---- */

static void omr_admin_queues_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_admin_call *call = arg;
	const struct omr_routing_conf *rc = omr_env_cfg(&call->a->env)->routing;
	struct omr_lua_queues_state_reply st;
	json_t *list, *out;

	if (err || omr_lua_queues_state_reply(reply, &st) < 2 || st.queues->type != REDIS_REPLY_ARRAY) {
		omr_http_reply_error(call->reply, 503, "unavailable", "storage unavailable: %s",
				     err ? err : "bad reply");
		omr_admin_call_free(call);
		return;
	}
	/* the oldest wait on Redis' clock (nodes' clocks may differ) */
	long long now = st.now;
	list = json_array();
	for (size_t i = 0; i < st.queues->elements; i++) {
		const redisReply *row = st.queues->element[i];
		const char *name = omr_reply_str(omr_reply_elem(row, 0));
		const struct omr_queue_conf *q = omr_routing_queue(rc, name);
		long long oldest = omr_reply_int(omr_reply_elem(row, 2), 0);
		long long answered = omr_reply_int(omr_reply_elem(row, 3), 0);
		long long in_sla = omr_reply_int(omr_reply_elem(row, 4), 0);
		long long aht = omr_reply_int(omr_reply_elem(row, 5), 0);
		if (!q || (call->queues && !omr_strv_has(call->queues, q->name)))
			continue;
		json_t *sla = json_null();
		if (q->sla.target) {
			sla = json_pack("{s:I,s:I,s:I,s:I,s:o}", "target", (json_int_t)q->sla.target,
					"within_s", (json_int_t)(q->sla.within / 1000), "answered",
					(json_int_t)answered, "within", (json_int_t)in_sla, "attainment",
					answered ? json_real(100.0 * (double)in_sla / (double)answered)
						 : json_null());
		}
		json_t *qj = json_pack("{s:s,s:s?,s:I,s:I,s:o,s:I,s:I,s:I,s:o,s:s?,s:b}", "name", q->name,
				       "description", q->description, "priority", (json_int_t)q->priority,
				       "waiting", (json_int_t)omr_reply_int(omr_reply_elem(row, 1), 0),
				       "oldest_wait_s",
				       oldest ? json_integer((now - oldest) / 1000) : json_integer(0),
				       "agents_available",
				       (json_int_t)omr_reply_int(omr_reply_elem(row, 6), 0),
				       "answered_today", (json_int_t)answered, "avg_handle_s",
				       (json_int_t)(aht / 1000), "sla", sla, "calendar", q->calendar, "open",
				       q->cal ? omr_calendar_open(q->cal, omr_now_ms()) : 1);
		if (qj)
			json_array_append_new(list, qj);
	}
	out = json_pack("{s:o}", "queues", list);
	omr_http_reply_json(call->reply, 200, out);
	json_decref(out);
	omr_admin_call_free(call);
}

void omr_admin_queues(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const struct omr_routing_conf *rc = cfg->routing;
	struct omr_cands *cands;
	char day[16];
	time_t t = time(NULL);
	struct tm tm;
	struct omr_admin_who who;

	if (!omr_admin_method(req, reply, "GET") ||
	    !omr_admin_authorised(a, req, reply, OMR_SCOPE_READ, &who) ||
	    !omr_admin_running(a, reply))
		return;
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	cands = omr_calloc(rc->nqueues + 1, sizeof(*cands));
	size_t n = 0;
	for (size_t i = 0; i < rc->nqueues; i++) {
		const struct omr_queue_conf *q = &rc->queues[i];
		json_t *skills = json_object();
		for (size_t k = 0; k < q->nskills; k++)
			json_object_set_new(skills, q->skills[k].skill, json_integer(q->skills[k].min));
		/* agents who could take the queue's conversations on any channel */
		omr_route_candidates(cfg->agents, NULL, skills, NULL, NULL, NULL, NULL, 0, &cands[i]);
		json_decref(skills);
		n += 2 + (size_t)cands[i].n;
	}
	const char **argv = omr_calloc(n + 1, sizeof(*argv));
	char (*counts)[16] = omr_calloc(rc->nqueues + 1, sizeof(*counts));
	size_t k = 0;
	for (size_t i = 0; i < rc->nqueues; i++) {
		argv[k++] = rc->queues[i].name;
		snprintf(counts[i], sizeof(counts[i]), "%d", cands[i].n);
		argv[k++] = counts[i];
		for (int c = 0; c < cands[i].n; c++)
			argv[k++] = cands[i].argv[c * 3];
	}
	struct omr_admin_call *call = omr_admin_call_new(a, reply, &who);
	struct omr_lua_queues_state_args st = { .day = day, .queues = argv, .nqueues = k };
	omr_lua_queues_state(a->env.store, &st, omr_admin_queues_done, call);
	for (size_t i = 0; i < rc->nqueues; i++)
		omr_cands_free(&cands[i]);
	free(cands);
	free(counts);
	free(argv);
}

