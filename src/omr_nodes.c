/*
 * omr_nodes: see omr_nodes.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "omr_config.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_nodes.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

struct omr_nodes {
	struct omr_env env;
	struct event *beat_ev;
	struct event *reap_ev;
	int running;
	int started;     /* the first beat has been sent */
	int start_done;  /* a start beat (one that is not a return from the
	                    dead) was stored */
	int start_sent;  /* a start beat is out */
	int reaping;
	/* when the beats began to be stored without a gap (mono ms, 0: the
	 * last one failed): a node reaps others only after its own beats have
	 * held a whole ttl, so that after an outage of Redis, a node that
	 * comes back first does not find every other node dead because their
	 * beats have not yet been stored again */
	int64_t beating_since;
	unsigned long long reaped;  /* dead nodes this node took over */
	unsigned looks;             /* reap passes */
	int left;                   /* node_leave.lua sent */
};

/* a beat's answer: 0 when it was stored */
static int omr_nodes_beat_done(struct omr_nodes *n, const redisReply *reply, const char *err)
{
	struct omr_lua_node_alive_reply r;
	if (err || omr_lua_node_alive_reply(reply, &r) < 2) {
		omr_log_warn("node heartbeat not stored: %s", err ? err : "malformed reply");
		n->beating_since = 0;
		return -1;
	}
	if (!n->beating_since)
		n->beating_since = omr_mono_ms();
	struct omr_hub_event peers = { .type = OMR_HUB_PEERS, .at = r.others };
	if (n->running)
		omr_hub_emit(n->env.hub, &peers);
	if (r.rejoined && n->running) {
		struct omr_hub_event ev = { .type = OMR_HUB_NODE_REJOINED };
		omr_log_warn("this node was taken for dead (no heartbeat stored for %d s): "
			     "counting its agents' sessions again", OMR_NODE_TTL_MS / 1000);
		omr_hub_emit(n->env.hub, &ev);
	}
	return 0;
}

static void omr_nodes_beat_cb(void *arg, const redisReply *reply, const char *err)
{
	omr_nodes_beat_done(arg, reply, err);
}

/* the first beat after a start (it does not count as a return from the
 * dead): until one is stored, every beat is one */
static void omr_nodes_start_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_nodes *n = arg;
	if (omr_nodes_beat_done(n, reply, err) == 0)
		n->start_done = 1;
	n->start_sent = 0;
}

static void omr_nodes_beat(struct omr_nodes *n)
{
	int start = !n->start_done;
	struct omr_lua_node_alive_args a = { .node = n->env.node_id, .ttl = OMR_NODE_TTL_MS,
					     .start = start };
	if (start && n->start_sent)
		return; /* one start beat at a time */
	n->start_sent = start;
	omr_lua_node_alive(n->env.store, &a, start ? omr_nodes_start_cb : omr_nodes_beat_cb, n);
}

static void omr_nodes_beat_timer(evutil_socket_t fd, short what, void *arg)
{
	omr_nodes_beat(arg);
}

static void omr_nodes_reap_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_nodes *n = arg;
	struct omr_lua_reap_reply r;
	n->reaping = 0;
	if (err || omr_lua_reap_reply(reply, &r) < 2) {
		omr_log_warn("dead nodes not looked for: %s", err ? err : "malformed reply");
		return;
	}
	for (size_t i = 0; r.dead->type == REDIS_REPLY_ARRAY && i < r.dead->elements; i++) {
		const char *node = omr_reply_str(r.dead->element[i]);
		struct omr_hub_event ev = { .type = OMR_HUB_NODE_DEAD, .node = node };
		if (node) {
			omr_log_warn("node %s stopped beating: this node takes over its agents and "
				     "events", node);
			n->reaped++;
			if (n->running)
				omr_hub_emit(n->env.hub, &ev);
		}
	}
	/* agents left with no session: their grace period runs here */
	for (size_t i = 0; r.agents->type == REDIS_REPLY_ARRAY && i < r.agents->elements; i++) {
		const char *agent = omr_reply_str(r.agents->element[i]);
		struct omr_hub_event ev = { .type = OMR_HUB_AGENT_RESUME, .agent = agent };
		if (!agent || !n->running)
			continue;
		omr_log_info("agent %s: their node stopped; offline unless they reconnect within "
			     "the grace period", agent);
		omr_hub_emit(n->env.hub, &ev);
	}
}

static void omr_nodes_reap(evutil_socket_t fd, short what, void *arg)
{
	struct omr_nodes *n = arg;
	/* every 30 looks (a minute), forgotten agents too */
	struct omr_lua_reap_args a = {
		.node = n->env.node_id, .sweep = ++n->looks % 30 == 0,
		.grace = omr_env_cfg(&n->env)->routing->sessions.grace + OMR_NODE_TTL_MS,
	};
	if (n->reaping || !n->running || !omr_redis_ready(omr_store_redis(n->env.store)) ||
	    !n->beating_since || omr_mono_ms() - n->beating_since < OMR_NODE_TTL_MS)
		return;
	n->reaping = 1;
	omr_lua_reap(n->env.store, &a, omr_nodes_reap_cb, n);
}

struct omr_nodes *omr_nodes_new(const struct omr_env *env)
{
	struct omr_nodes *n = omr_calloc(1, sizeof(*n));
	n->env = *env;
	n->beat_ev = event_new(env->base, -1, EV_PERSIST, omr_nodes_beat_timer, n);
	n->reap_ev = event_new(env->base, -1, EV_PERSIST, omr_nodes_reap, n);
	return n;
}

void omr_nodes_start(struct omr_nodes *n)
{
	struct timeval beat = { OMR_NODE_BEAT_MS / 1000, 0 };
	struct timeval reap = { OMR_NODE_REAP_MS / 1000, 0 };
	n->running = 1;
	if (!n->started) {
		n->started = 1;
		omr_nodes_beat(n);
	}
	event_add(n->beat_ev, &beat);
	event_add(n->reap_ev, &reap);
}

static void omr_nodes_left(void *arg, const redisReply *reply, const char *err)
{
	if (err)
		omr_log_warn("leaving: not marked as stopped (%s); the others notice when its "
			     "heartbeat runs out", err);
}

void omr_nodes_leave(struct omr_nodes *n)
{
	struct omr_lua_node_leave_args a = { .node = n->env.node_id };
	if (n->started && !n->left) {
		n->left = 1;
		omr_lua_node_leave(n->env.store, &a, omr_nodes_left, n);
	}
}

void omr_nodes_stop(struct omr_nodes *n)
{
	n->running = 0;
	event_del(n->beat_ev);
	event_del(n->reap_ev);
}

void omr_nodes_metrics(const struct omr_nodes *n, struct omr_buf *b)
{
	omr_metric(b, "nodes_reaped_total", "counter",
		   "dead nodes whose agents this node took over", n->reaped);
}

void omr_nodes_free(struct omr_nodes *n)
{
	if (!n)
		return;
	event_free(n->beat_ev);
	event_free(n->reap_ev);
	free(n);
}
