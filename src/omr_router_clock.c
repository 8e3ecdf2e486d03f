/*
 * omr_router_clock: offers that expire (omr_router_int.h). Twice a second
 * the offers past their time are ended (offer_end.lua "expire"); the agent
 * hears it (OMR_HUB_REVOKED), and one who missed too many in a row is set
 * away (OMR_HUB_PRESENCE). The conversation waits again and a pass runs.
 * Every other second, resolved complaints that stayed quiet are recovered;
 * about every second, callbacks that came due are offered
 * (omr_router_callback.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_config.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_router_int.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

struct omr_expiry {
	struct omr_router *r;
	int pending;
};

static void omr_router_expired_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_expiry *x = arg;
	struct omr_lua_offer_end_reply o;
	if (!err && omr_lua_offer_end_reply(reply, &o) > 0 && o.tag && strcmp(o.tag, "ok") == 0 &&
	    o.conversation && o.agent) {
		struct omr_hub_event ev = {
			.type = OMR_HUB_REVOKED, .agent = o.agent, .offer = o.offer ? o.offer : "",
			.conversation = o.conversation, .reason = "expired",
		};
		omr_log_info("offer of conversation %s to %s expired", o.conversation, o.agent);
		x->r->expired++;
		omr_hub_emit(x->r->env.hub, &ev);
		omr_hub_ended(x->r->env.hub, OMR_HUB_OFFER_ENDED, o.agent, o.conversation, NULL,
			      "missed");
		if (o.away) {
			struct omr_hub_event pv = {
				.type = OMR_HUB_PRESENCE, .agent = o.agent, .status = "away",
				.reason = "missed offers",
			};
			omr_log_info("agent %s set away after missed offers", o.agent);
			omr_hub_emit(x->r->env.hub, &pv);
		}
	}
	if (--x->pending == 0) {
		x->r->expiring = 0;
		omr_hub_route(x->r->env.hub);
		free(x);
	}
}

static void omr_router_due_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_router *r = arg;
	const struct omr_routing_conf *rc = omr_env_cfg(&r->env)->routing;
	struct omr_expiry *x;

	if (err || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
		r->expiring = 0;
		return;
	}
	x = omr_calloc(1, sizeof(*x));
	x->r = r;
	x->pending = (int)reply->elements;
	for (size_t i = 0; i < reply->elements; i++) {
		struct omr_lua_offer_end_args a = {
			.how = "expire", .offer = omr_reply_str(reply->element[i]),
			.cooldown = rc->offers.reject_cooldown, .missed = rc->offers.max_missed,
		};
		omr_lua_offer_end(r->env.store, &a, omr_router_expired_cb, x);
	}
}

static void omr_router_recovered_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_router *r = arg;
	struct omr_lua_complaints_due_reply out;
	long long n = !err && omr_lua_complaints_due_reply(reply, &out) >= 1 ? out.recovered : 0;
	r->recovering = 0;
	if (err)
		omr_log_warn("router: resolved complaints not looked at: %s", err);
	else if (n > 0)
		omr_log_info("%lld resolved complaint(s) recovered (no new contact in the window)", n);
}

/* Resolved complaints whose window passed without a new contact deposit
 * (complaints_due.lua), every other second; any node may, each is taken
 * once. */
static void omr_router_recover(struct omr_router *r)
{
	const struct omr_routing_conf *rc = omr_env_cfg(&r->env)->routing;
	if (r->recovering || r->ticks++ % 4 != 0)
		return;
	struct omr_lua_complaints_due_args a = {
		.limit = 100, .points = omr_engagement_points(rc, "complaint_recovered"),
		.min = rc->engagement.min, .max = rc->engagement.max,
	};
	r->recovering = 1;
	omr_lua_complaints_due(r->env.store, &a, omr_router_recovered_cb, r);
}

void omr_router_tick(evutil_socket_t fd, short what, void *arg)
{
	struct omr_router *r = arg;
	struct omr_lua_offers_due_args a = { .max = 50 };
	if (!r->running || !omr_redis_ready(omr_store_redis(r->env.store)))
		return;
	omr_router_park_tick(r);
	if (r->ticks % 2 == 1)
		omr_router_callbacks_due(r);
	omr_router_recover(r);
	if (r->expiring)
		return;
	r->expiring = 1;
	omr_lua_offers_due(r->env.store, &a, omr_router_due_cb, r);
}
