/*
 * omr_router_status: waiting customers are told their place in the queue
 * and the expected wait (omr_router_int.h), on channels that can show it
 * (OMR_PLUGIN_STATUS). One pass a second, and one soon after new customers
 * queue (OMR_ROUTER_STATUS_SOON_MS, however many queue meanwhile), so that
 * they hear their place at once: queue_status.lua picks those whose band
 * of positions or estimate changed, or who have not heard for the queue's
 * status_interval. The cost of a pass does not grow with the rate of
 * routing, only with the customers looked at (200 per queue).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_channels.h"
#include "omr_config.h"
#include "omr_plugin.h"
#include "omr_route.h"
#include "omr_router_int.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

struct omr_status_call {
	struct omr_router *r;
	char *queue;
	int pending_flag;
};

static void omr_router_status_queue(struct omr_router *r, const struct omr_queue_conf *q,
				    int with_agents);

static void omr_router_status_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_status_call *sc = arg;
	struct omr_router *r = sc->r;
	struct omr_lua_queue_status_reply st;
	int ok = !err && omr_lua_queue_status_reply(reply, &st) >= 4;
	const redisReply *due = ok ? st.due : NULL;
	long long aht = ok ? st.aht : 0, avail = ok ? st.available : 0;
	const struct omr_queue_conf *q = omr_routing_queue(omr_env_cfg(&r->env)->routing, sc->queue);

	/* remembered per queue: send the agents next time only if somebody
	 * waits (10,000 agents are not sent every second to an empty queue) */
	if (ok && st.waiting > 0)
		omr_map_puts(r->status_waiting, sc->queue, (void *)(intptr_t)1);
	else if (ok)
		omr_map_dels(r->status_waiting, sc->queue);
	if (ok && avail < 0 && q && r->running) {
		omr_router_status_queue(r, q, 1); /* somebody waits now */
		due = NULL;
	}

	if (due && due->type == REDIS_REPLY_ARRAY) {
		if (!aht)
			aht = omr_env_cfg(&r->env)->routing->handle_time_default;
		for (size_t i = 0; i < due->elements; i++) {
			const redisReply *it = due->element[i];
			const char *channel = omr_reply_str(omr_reply_elem(it, 1));
			struct omr_plugin *p = omr_channels_get(r->channels, channel);
			long long pos = omr_reply_int(omr_reply_elem(it, 4), 1);
			long long eta = omr_route_eta(pos, aht, avail);
			if (!p || !(p->desc->flags & OMR_PLUGIN_STATUS))
				continue;
			json_t *data = json_pack("{s:I,s:I,s:s}", "position", (json_int_t)pos, "eta_s",
						 (json_int_t)eta, "queue", sc->queue);
			struct omr_outbound out = {
				.conversation = omr_reply_str(omr_reply_elem(it, 0)),
				.kind = "status",
				.address = omr_reply_str(omr_reply_elem(it, 2)),
				.thread = omr_reply_str(omr_reply_elem(it, 3)),
				.author = "system",
				.data = data,
			};
			if (out.conversation && out.address)
				omr_channels_deliver(r->channels, channel, &out);
			json_decref(data);
		}
	}
	free(sc->queue);
	free(sc);
	if (--r->statusing == 0 && r->status_again) {
		r->status_again = 0;
		omr_router_status_soon(r);
	}
}

static void omr_router_status_queue(struct omr_router *r, const struct omr_queue_conf *q,
				    int with_agents)
{
	const struct omr_config *cfg = omr_env_cfg(&r->env);
	struct omr_cands cands = { 0 };
	const char **ids = NULL;
	if (with_agents) {
		json_t *skills, *none;
		omr_route_needs(q, NULL, 0, &skills, &none);
		/* agents who could take the queue's conversations: any channel */
		omr_route_candidates(cfg->agents, NULL, skills, NULL, NULL, NULL, NULL, 0, &cands);
		json_decref(skills);
		ids = omr_calloc((size_t)cands.n + 1, sizeof(*ids));
		for (int k = 0; k < cands.n; k++)
			ids[k] = cands.argv[k * 3];
	}
	struct omr_lua_queue_status_args a = {
		.queue = q->name, .interval = q->status_interval, .max = 200,
		.default_aht = cfg->routing->handle_time_default, .counted = !with_agents,
		.agents = ids, .nagents = (size_t)cands.n,
	};
	struct omr_status_call *sc = omr_calloc(1, sizeof(*sc));
	sc->r = r;
	sc->queue = omr_strdup(q->name);
	r->statusing++;
	omr_lua_queue_status(r->env.store, &a, omr_router_status_cb, sc);
	free(ids);
	omr_cands_free(&cands);
}

void omr_router_status(evutil_socket_t fd, short what, void *arg)
{
	struct omr_router *r = arg;
	const struct omr_config *cfg = omr_env_cfg(&r->env);
	if (r->statusing)
		r->status_again = 1; /* once this pass is answered */
	if (r->statusing || !r->running || !omr_redis_ready(omr_store_redis(r->env.store)))
		return;
	for (size_t i = 0; i < cfg->routing->nqueues; i++) {
		const struct omr_queue_conf *q = &cfg->routing->queues[i];
		if (q->status_interval)
			omr_router_status_queue(r, q,
						omr_map_gets(r->status_waiting, q->name) != NULL);
	}
}

void omr_router_status_soon(struct omr_router *r)
{
	struct timeval soon = { 0, OMR_ROUTER_STATUS_SOON_MS * 1000 };
	if (r->running && !evtimer_pending(r->status_soon_ev, NULL))
		evtimer_add(r->status_soon_ev, &soon);
}
