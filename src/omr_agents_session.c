/*
 * omr_agents_session: an agent's sessions on this node (omr_agents_int.h),
 * the grace period after the last one closed, presence, going offline.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_config.h"
#include "omr_edge.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

/* the agent's consoles on this node */
static long long omr_alocal_count(const struct omr_alocal *l)
{
	long long n = 0;
	for (const struct omr_asess *s = l->sessions; s; s = s->next)
		n++;
	return n;
}

static void omr_agents_grace_fired(evutil_socket_t fd, short what, void *arg)
{
	struct omr_alocal *l = arg;
	omr_log_info("agent %s: no connection for the grace period; going offline", l->id);
	omr_agents_offline(l->owner, l->id, "disconnected", 1);
}

struct omr_alocal *omr_agents_local(struct omr_agents *a, const char *agent, int create)
{
	struct omr_alocal *l = omr_map_gets(a->locals, agent);
	if (l || !create)
		return l;
	l = omr_calloc(1, sizeof(*l));
	l->owner = a;
	l->id = omr_strdup(agent);
	l->grace = evtimer_new(a->env.base, omr_agents_grace_fired, l);
	omr_map_puts(a->locals, agent, l);
	return l;
}

void omr_alocal_free(void *p)
{
	struct omr_alocal *l = p;
	event_free(l->grace);
	free(l->id);
	free(l);
}

void omr_agents_start_grace(struct omr_agents *a, const char *agent)
{
	struct omr_alocal *l = omr_agents_local(a, agent, 1);
	long long ms = omr_env_cfg(&a->env)->routing->sessions.grace;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	if (!l->sessions)
		evtimer_add(l->grace, &tv);
}

static void omr_agents_session_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	struct omr_asess *s = omr_agents_sess(a, q->conn);

	struct omr_lua_agent_session_reply r;

	if (err || omr_lua_agent_session_reply(reply, &r) < 4) {
		omr_log_warn("agent %s: cannot record the login: %s", q->agent, err ? err : "bad reply");
		if (s) {
			s->not_counted = 1;
			omr_agents_error(a, q->conn, "unavailable", "storage unavailable, log in again",
					 NULL, NULL);
			omr_edge_close(a->edge, q->conn, 1011, "storage unavailable");
		}
		omr_areq_free(q);
		if (!a->stopping)
			omr_agents_auth_stored(a);
		return;
	}
	if (s && s->agent)
		omr_agents_welcome(a, s, &r);
	omr_areq_free(q);
	if (!a->stopping)
		omr_agents_auth_stored(a);
	omr_hub_route(a->env.hub);
}

void omr_agents_login(struct omr_agents *a, struct omr_asess *s, const char *agent)
{
	const struct omr_agent_conf *ac = omr_agents_find(omr_env_cfg(&a->env)->agents, agent);
	struct omr_alocal *l = omr_agents_local(a, agent, 1);
	struct omr_areq *q;

	s->agent = omr_strdup(agent);
	s->next = l->sessions;
	l->sessions = s;
	evtimer_del(l->grace);
	omr_log_info("agent %s logged in from %s (connection %llu)", agent, s->ip,
		     (unsigned long long)s->conn);
	q = omr_areq_new(a, s);
	struct omr_lua_agent_session_args as = {
		.agent = agent, .node = a->env.node_id, .delta = 1,
		.name = ac && ac->name ? ac->name : agent,
	};
	omr_lua_agent_session(a->env.store, &as, omr_agents_session_cb, q);
}

static void omr_agents_gone_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_lua_agent_session_reply r;
	if (err || omr_lua_agent_session_reply(reply, &r) < 5) {
		/* the grace timer runs anyway: when it fires, the agent goes
		 * offline only if Redis counts no session (node_sync.lua sets
		 * the counts right when Redis is back) */
		omr_log_warn("agent %s: disconnect not recorded: %s", q->agent,
			     err ? err : "bad reply");
		if (!q->a->stopping)
			omr_agents_start_grace(q->a, q->agent);
	} else if (r.sessions == 0 && !q->a->stopping) {
		omr_agents_start_grace(q->a, q->agent);
	}
	omr_areq_free(q);
}

void omr_agents_session_closed(struct omr_agents *a, struct omr_asess *s)
{
	struct omr_alocal *l = omr_agents_local(a, s->agent, 0);
	for (struct omr_asess **ps = l ? &l->sessions : NULL; ps && *ps; ps = &(*ps)->next) {
		if (*ps == s) {
			*ps = s->next;
			break;
		}
	}
	omr_log_info("agent %s disconnected (connection %llu)", s->agent, (unsigned long long)s->conn);
	if (!l || !l->sessions)
		omr_agents_monitor_gone(a, s->agent); /* a supervisor's monitors end with them */
	if (a->stopping)
		return; /* the node's agents get their grace from its next start */
	if (s->not_counted) {
		/* its log-in was not recorded (or its answer was lost: the
		 * next node_sync.lua sets that right): a -1 would take away
		 * another console's session. A log-in still being recorded
		 * gets its -1, on the same connection, after it. */
		if (!l || !l->sessions)
			omr_agents_start_grace(a, s->agent);
		return;
	}
	struct omr_areq *q = omr_areq_new(a, s);
	struct omr_lua_agent_session_args as = {
		.agent = s->agent, .node = a->env.node_id, .delta = -1,
	};
	omr_lua_agent_session(a->env.store, &as, omr_agents_gone_cb, q);
}

/* ---- this node was taken for dead and beats again ---- */

static void omr_agents_recount_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_lua_agent_session_reply r;
	struct omr_alocal *l = omr_agents_local(q->a, q->agent, 0);

	if (err || omr_lua_agent_session_reply(reply, &r) < 5) {
		omr_log_warn("agent %s: sessions not counted again: %s", q->agent,
			     err ? err : "bad reply");
	} else {
		/* what happened meanwhile (offline by another node's grace timer,
		 * conversations requeued) was sent while this node was cut off:
		 * every console starts again from the stored state */
		for (struct omr_asess *s = l ? l->sessions : NULL; s; s = s->next)
			omr_agents_welcome(q->a, s, &r);
	}
	omr_areq_free(q);
}

static int omr_agents_recount_one(void *arg, const void *key, size_t klen, void *value)
{
	struct omr_alocal *l = value;
	struct omr_agents *a = arg;
	const struct omr_agent_conf *ac = omr_agents_find(omr_env_cfg(&a->env)->agents, l->id);
	long long n = omr_alocal_count(l);

	if (!n)
		return 0;
	struct omr_areq *q = omr_areq_new(a, NULL);
	q->agent = omr_strdup(l->id);
	struct omr_lua_agent_session_args as = {
		.agent = l->id, .node = a->env.node_id, .delta = n, .set = 1,
		.name = ac && ac->name ? ac->name : l->id,
	};
	omr_lua_agent_session(a->env.store, &as, omr_agents_recount_cb, q);
	return 0;
}

/* ---- Redis is back ---- */

struct omr_agents_counts {
	const char **argv;
	char (*num)[24];
	size_t n;
};

static int omr_agents_count_one(void *arg, const void *key, size_t klen, void *value)
{
	struct omr_agents_counts *c = arg;
	struct omr_alocal *l = value;
	long long n = omr_alocal_count(l);
	if (n) {
		size_t k = c->n / 2;   /* pairs so far */
		snprintf(c->num[k], sizeof(c->num[k]), "%lld", n);
		c->argv[c->n] = l->id;
		c->argv[c->n + 1] = c->num[k];
		c->n += 2;
	}
	return 0;
}

static void omr_agents_synced(void *arg, const redisReply *reply, const char *err)
{
	struct omr_agents *a = arg;
	struct omr_lua_node_sync_reply r;
	struct timeval again = { 1, 0 };
	if (err || omr_lua_node_sync_reply(reply, &r) < 1) {
		omr_log_warn("this node's session counts not set right: %s; again in a second",
			     err ? err : "bad reply");
		if (!a->stopping)
			evtimer_add(a->sync_ev, &again);
		return;
	}
	for (size_t i = 0; r.graced->type == REDIS_REPLY_ARRAY && i < r.graced->elements; i++)
		if (omr_reply_str(r.graced->element[i]) && !a->stopping)
			omr_agents_start_grace(a, r.graced->element[i]->str);
	omr_hub_route(a->env.hub);
}

void omr_agents_sync(struct omr_agents *a)
{
	size_t locals = omr_map_count(a->locals);
	struct omr_agents_counts c = {
		.argv = omr_calloc(2 * locals + 1, sizeof(*c.argv)),
		.num = omr_calloc(locals + 1, sizeof(*c.num)),
	};
	omr_map_foreach(a->locals, omr_agents_count_one, &c);
	struct omr_lua_node_sync_args s = {
		.node = a->env.node_id, .counts = c.argv, .ncounts = c.n,
	};
	omr_lua_node_sync(a->env.store, &s, omr_agents_synced, a);
	free(c.argv);
	free(c.num);
}

void omr_agents_recount(struct omr_agents *a)
{
	omr_map_foreach(a->locals, omr_agents_recount_one, a);
	omr_hub_route(a->env.hub);
}

/* ---- presence ---- */

static void omr_agents_offline_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	struct omr_lua_agent_presence_reply r = { 0 };
	int n = err ? -1 : omr_lua_agent_presence_reply(reply, &r);
	const redisReply *withdrawn = r.withdrawn, *requeued = r.requeued;

	if (n < 1 || !r.tag) {
		omr_log_warn("agent %s: presence not stored: %s", q->agent, err ? err : "bad reply");
		if (q->conn)
			omr_agents_error(a, q->conn, "unavailable", "storage unavailable, try again",
					 NULL, NULL);
		if (q->done)
			q->done(q->done_arg, 503, "unavailable", "storage unavailable, try again", NULL);
		omr_areq_free(q);
		return;
	}
	if (strcmp(r.tag, "ok") == 0) {
		omr_log_info("agent %s is %s%s%s%s%s%s", q->agent, q->text, q->extra[0] ? ": " : "",
			     q->extra, q->by ? " (set by " : "", q->by ? q->by : "", q->by ? ")" : "");
		omr_agents_push_new(a, q->agent, json_pack("{s:s,s:s,s:s,s:s?}", "type", "presence",
							   "status", q->text, "reason", q->extra,
							   "by", q->by));
		for (size_t i = 0; withdrawn && i < withdrawn->elements; i++)
			if (omr_reply_str(withdrawn->element[i]))
				omr_agents_withdrawn(a, q->agent, withdrawn->element[i]->str);
		for (size_t i = 0; requeued && i < requeued->elements; i++)
			if (omr_reply_str(requeued->element[i]))
				omr_agents_push_new(a, q->agent,
						    json_pack("{s:s,s:s,s:s}", "type", "unassigned",
							      "conversation", requeued->element[i]->str,
							      "reason", "requeued"));
		omr_hub_route(a->env.hub);
	}
	if (q->done)
		q->done(q->done_arg, 200, NULL, NULL, NULL);
	omr_areq_free(q);
}

static void omr_agents_presence_run(struct omr_agents *a, struct omr_areq *q, const char *status,
				    const char *reason, const char *by, int only_if_gone)
{
	free(q->text);
	free(q->extra);
	q->text = omr_strdup(status);
	q->extra = omr_strdup(reason ? reason : "");
	struct omr_lua_agent_presence_args p = {
		.agent = q->agent, .status = status, .reason = q->extra, .by = by,
		.only_if_gone = only_if_gone,
		/* a requeued conversation waits for its agent for one more grace period */
		.prefer = omr_env_cfg(&a->env)->routing->sessions.grace,
	};
	omr_lua_agent_presence(a->env.store, &p, omr_agents_offline_cb, q);
}

void omr_agents_presence_for(struct omr_agents *a, struct omr_areq *q, const char *status,
			     const char *reason, const char *by)
{
	omr_agents_presence_run(a, q, status, reason, by, 0);
}

static void omr_agents_set_presence(struct omr_agents *a, const char *agent, uint64_t conn,
				    const char *status, const char *reason, const char *by,
				    int only_if_gone)
{
	struct omr_areq *q = omr_areq_new(a, NULL);
	q->conn = conn;
	q->agent = omr_strdup(agent);
	omr_agents_presence_run(a, q, status, reason, by, only_if_gone);
}

void omr_agents_offline(struct omr_agents *a, const char *agent, const char *reason,
			int only_if_disconnected)
{
	omr_agents_set_presence(a, agent, 0, "offline", reason, "system", only_if_disconnected);
}

void omr_agents_presence(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *status = json_string_value(json_object_get(msg, "status"));
	const char *reason = json_string_value(json_object_get(msg, "reason"));
	if (!status || (strcmp(status, "available") && strcmp(status, "away") &&
			strcmp(status, "offline"))) {
		omr_agents_error(a, s->conn, "bad_request", "status: available, away or offline", NULL,
				 NULL);
		return;
	}
	if (reason && strlen(reason) > 200) {
		omr_agents_error(a, s->conn, "bad_request", "reason: at most 200 bytes", NULL, NULL);
		return;
	}
	omr_agents_set_presence(a, s->agent, s->conn, status, reason, "agent", 0);
}

