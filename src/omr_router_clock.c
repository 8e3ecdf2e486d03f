/*
 * omr_router_clock: offers that expire (omr_router_int.h). Twice a second
 * the offers past their time are ended (offer_end.lua "expire"); the agent
 * hears it (OMR_HUB_REVOKED), and one who missed too many in a row is set
 * away (OMR_HUB_PRESENCE). The conversation waits again and a pass runs.
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
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));
	if (!err && tag && strcmp(tag, "ok") == 0 && reply->elements >= 5) {
		const char *conv = omr_reply_str(reply->element[1]);
		const char *agent = omr_reply_str(reply->element[2]);
		const char *away = omr_reply_str(reply->element[3]);
		const char *offer = omr_reply_str(reply->element[4]);
		if (agent) {
			struct omr_hub_event ev = {
				.type = OMR_HUB_REVOKED, .agent = agent, .offer = offer ? offer : "",
				.conversation = conv, .reason = "expired",
			};
			omr_log_info("offer of conversation %s to %s expired", conv, agent);
			x->r->expired++;
			omr_hub_emit(x->r->env.hub, &ev);
			if (away && strcmp(away, "1") == 0) {
				struct omr_hub_event pv = {
					.type = OMR_HUB_PRESENCE, .agent = agent, .status = "away",
					.reason = "missed offers",
				};
				omr_log_info("agent %s set away after missed offers", agent);
				omr_hub_emit(x->r->env.hub, &pv);
			}
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
	char now[24], cooldown[24], missed[24];

	if (err || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
		r->expiring = 0;
		return;
	}
	x = omr_calloc(1, sizeof(*x));
	x->r = r;
	x->pending = (int)reply->elements;
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	snprintf(cooldown, sizeof(cooldown), "%lld", rc->offers.reject_cooldown);
	snprintf(missed, sizeof(missed), "%lld", rc->offers.max_missed);
	for (size_t i = 0; i < reply->elements; i++) {
		const char *oid = omr_reply_str(reply->element[i]);
		const char *argv[] = { "expire", oid ? oid : "", "", now, cooldown, missed };
		omr_store_run(r->env.store, OMR_SCRIPT_OFFER_END, omr_router_expired_cb, x, 6, argv);
	}
}

void omr_router_tick(evutil_socket_t fd, short what, void *arg)
{
	struct omr_router *r = arg;
	char now[24];
	if (r->expiring || !r->running || !omr_redis_ready(omr_store_redis(r->env.store)))
		return;
	r->expiring = 1;
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	const char *argv[] = { now, "50" };
	omr_store_run(r->env.store, OMR_SCRIPT_OFFERS_DUE, omr_router_due_cb, r, 2, argv);
}
