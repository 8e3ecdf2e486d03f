/*
 * omr_agents_queueinfo: what waits in the queues an agent serves, for the
 * agent's console (docs/agent-protocol.md, `queue_info`). While agents
 * are logged in on this node, wallboard.lua runs every
 * OMR_QUEUE_INFO_MS (one call for the node, queues only: no lists, no
 * agents, no day totals) and each agent console gets a `queue_info` frame
 * with the queues its agent serves, only when it differs from the last
 * one it got. Times are absolute (queued_at, on Redis' clock, and the
 * frame's `now`): the page counts the seconds itself.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_config.h"
#include "omr_log.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_QUEUE_INFO_MS 3000

/* the frame of one console, cut to its agent's queues; sent if new */
static void omr_qi_send_one(struct omr_agents *a, struct omr_asess *s, const json_t *queues,
			    long long now)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const struct omr_agent_conf *ac = omr_agents_find(cfg->agents, s->agent);
	json_t *mine = json_array(), *v;
	size_t i;

	if (!ac || !(ac->roles & OMR_ROLE_AGENT)) {
		json_decref(mine);
		return;
	}
	json_array_foreach(queues, i, v) {
		const struct omr_queue_conf *q =
			omr_routing_queue(cfg->routing, json_string_value(json_object_get(v, "name")));
		if (q && omr_route_agent_serves(ac, q))
			json_array_append(mine, v);
	}
	json_t *frame = json_pack("{s:s,s:o}", "type", "queue_info", "queues", mine);
	char *text = json_dumps(frame, JSON_COMPACT);
	if (text && (!s->qi_last || strcmp(text, s->qi_last) != 0)) {
		free(s->qi_last);
		s->qi_last = text; /* owned by the session now */
		text = NULL;
		json_object_set_new(frame, "now", json_integer(now));
		omr_agents_send(a, s->conn, frame);
	}
	free(text);
	json_decref(frame);
}

struct omr_qi_each {
	struct omr_agents *a;
	const json_t *queues;
	long long now;
};

static int omr_qi_send_each(void *arg, const void *key, size_t klen, void *value)
{
	struct omr_qi_each *e = arg;
	struct omr_asess *s = value;
	(void)key, (void)klen;
	if (s->agent && !s->auth_pending)
		omr_qi_send_one(e->a, s, e->queues, e->now);
	return 0;
}

/* {name, waiting, oldest_queued_at (0: nobody), sla_within_ms (with an SLA)} */
static json_t *omr_qi_queue(const struct omr_queue_conf *q, const redisReply *row)
{
	json_t *j = json_pack("{s:s,s:I,s:I}", "name", q->name, "waiting",
			      (json_int_t)omr_reply_int(omr_reply_elem(row, 1), 0), "oldest_queued_at",
			      (json_int_t)omr_reply_int(omr_reply_elem(row, 2), 0));
	if (j && q->sla.target > 0)
		json_object_set_new(j, "sla_within_ms", json_integer(q->sla.within));
	return j;
}

static void omr_qi_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_agents *a = arg;
	const struct omr_routing_conf *rc = omr_env_cfg(&a->env)->routing;
	struct omr_lua_wallboard_reply r;

	a->qi_pending = 0;
	if (err || omr_lua_wallboard_reply(reply, &r) < 2 || !r.queues ||
	    r.queues->type != REDIS_REPLY_ARRAY) {
		if (!a->qi_failing)
			omr_log_warn("queue information for agents not refreshed: %s",
				     err ? err : "bad reply");
		a->qi_failing = 1;
		return;
	}
	a->qi_failing = 0;
	json_t *queues = json_array();
	/* matched by name: a queue a reload removed meanwhile is left out */
	for (size_t i = 0; i < r.queues->elements; i++) {
		const redisReply *row = r.queues->element[i];
		const struct omr_queue_conf *q = omr_routing_queue(rc, omr_reply_str(omr_reply_elem(row, 0)));
		json_t *j = q ? omr_qi_queue(q, row) : NULL;
		if (j)
			json_array_append_new(queues, j);
	}
	/* nothing changed for anyone: no pass over every console (10,000
	 * consoles idle cost a core's 10 % otherwise) */
	char *all = json_dumps(queues, JSON_COMPACT);
	/* a directory user described anew may serve other queues */
	unsigned long gen = omr_agents_generation(omr_env_cfg(&a->env)->agents);
	if (gen != a->qi_gen) {
		a->qi_gen = gen;
		a->qi_new = 1;
	}
	if (all && a->qi_all && !a->qi_new && strcmp(all, a->qi_all) == 0) {
		free(all);
		json_decref(queues);
		return;
	}
	free(a->qi_all);
	a->qi_all = all;
	a->qi_new = 0;
	struct omr_qi_each e = { a, queues, r.now };
	omr_map_foreach(a->sessions, omr_qi_send_each, &e);
	json_decref(queues);
}

static void omr_qi_refresh(struct omr_agents *a)
{
	const struct omr_routing_conf *rc = omr_env_cfg(&a->env)->routing;
	if (a->qi_pending || !rc->nqueues)
		return;
	const char **names = omr_calloc(rc->nqueues + 1, sizeof(*names));
	for (size_t i = 0; i < rc->nqueues; i++)
		names[i] = rc->queues[i].name;
	struct omr_lua_wallboard_args w = {
		.nqueues = (long long)rc->nqueues, .list = 0, .channels = "", .totals = 0,
		.names = names, .nnames = rc->nqueues,
	};
	a->qi_pending = 1;
	omr_lua_wallboard(a->env.store, &w, omr_qi_cb, a);
	free(names);
}

static int omr_qi_any(void *arg, const void *key, size_t klen, void *value)
{
	int *found = arg;
	(void)key, (void)klen;
	*found = ((const struct omr_asess *)value)->agent != NULL;
	return *found;
}

static void omr_qi_tick(evutil_socket_t fd, short what, void *arg)
{
	struct omr_agents *a = arg;
	struct timeval tv = { OMR_QUEUE_INFO_MS / 1000, (OMR_QUEUE_INFO_MS % 1000) * 1000 };
	int found = 0;
	(void)fd, (void)what;
	omr_map_foreach(a->sessions, omr_qi_any, &found);
	if (!found || a->stopping)
		return; /* nobody logged in: the timer rests until somebody is */
	omr_qi_refresh(a);
	evtimer_add(a->qi_ev, &tv);
}

void omr_agents_queue_info_watch(struct omr_agents *a, struct omr_asess *s)
{
	free(s->qi_last);
	s->qi_last = NULL; /* this console gets the next frame whole */
	a->qi_new = 1;
	if (a->stopping)
		return;
	if (!a->qi_ev)
		a->qi_ev = evtimer_new(a->env.base, omr_qi_tick, a);
	if (!evtimer_pending(a->qi_ev, NULL)) {
		/* soon, not now: after the welcome */
		struct timeval soon = { 0, 200 * 1000 };
		evtimer_add(a->qi_ev, &soon);
	}
}

void omr_agents_queue_info_reload(struct omr_agents *a)
{
	a->qi_new = 1; /* who serves which queue may have changed */
}

void omr_agents_queue_info_free(struct omr_agents *a)
{
	free(a->qi_all);
	a->qi_all = NULL;
	if (a->qi_ev)
		event_free(a->qi_ev);
	a->qi_ev = NULL;
}
