/*
 * omr_router: see omr_router.h; the router's files are listed in
 * omr_router_int.h, the decisions themselves are in omr_route.c.
 *
 * Events from the stream arrive here: a message that opened a conversation
 * is classified (omr_router_classify.c); a message in a conversation that
 * has somebody already goes to them (the bot, the agent). Dispatch passes
 * run when something changed (OMR_HUB_ROUTE) and every few seconds anyway;
 * passes never overlap.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_bots.h"
#include "omr_config.h"
#include "omr_events.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_router.h"
#include "omr_router_int.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_ROUTER_TICK_MS 500      /* offer expiry */
#define OMR_ROUTER_PASS_MS 2000     /* dispatch even without a kick */
#define OMR_ROUTER_STATUS_MS 1000   /* position updates */

void omr_router_noop_cb(void *arg, const redisReply *reply, const char *err)
{
	if (err)
		omr_log_warn("router: %s: %s", arg ? (const char *)arg : "update", err);
}

/* ---- engagement and service level ---- */

void omr_router_engage(struct omr_router *r, const char *customer, const char *event,
		       const char *conversation)
{
	const struct omr_routing_conf *rc = omr_env_cfg(&r->env)->routing;
	long long pts = omr_engagement_points(rc, event);
	if (!pts || !customer || !*customer)
		return;
	struct omr_lua_engage_args a = {
		.customer = customer, .points = pts, .event = event, .conversation = conversation,
		.min = rc->engagement.min, .max = rc->engagement.max,
	};
	omr_lua_engage(r->env.store, &a, omr_router_noop_cb, "engagement");
	omr_log_debug("customer %s: engagement %+lld (%s)", customer, pts, event);
}

/* ---- a customer message in a conversation somebody has ---- */

struct omr_router_msg {
	struct omr_router *r;
	struct omr_event *e;
	int automatic;       /* an auto-reply: shown, never a reason to act */
};

static void omr_router_msg_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_router_msg *m = arg;
	struct omr_event *e = m->e;
	const char *conv = omr_event_get(e, "conversation");
	struct omr_lua_msg_info_reply r;
	int n = err ? -1 : omr_lua_msg_info_reply(reply, &r);
	const char *status = n >= 1 ? r.status : NULL;
	const char *agent = n >= 2 ? r.agent : NULL;

	if (err) {
		omr_event_done(e, OMR_EVENT_RETRY);
		free(m);
		return;
	}
	if (m->automatic && status && (strcmp(status, "bot") == 0 || strcmp(status, "parked") == 0)) {
		/* an out-of-office answer to the bot is no turn, nor a reason
		 * to bring in a person */
	} else if (status && strcmp(status, "bot") == 0) {
		omr_bots_turn(m->r->bots, conv);
	} else if (status && strcmp(status, "snoozed") == 0) {
		/* an agent parked it until the customer writes (or a time):
		 * it comes back (an auto-reply is no answer) */
		if (!m->automatic)
			omr_router_unpark(m->r, conv, "answer");
	} else if (status && strcmp(status, "callback") == 0) {
		/* a slot picked, or the customer wrote first: routed again */
		omr_router_callback_answer(m->r, e, conv, omr_reply_field(r.message, "text"),
					   n >= 5 ? r.language : NULL);
		free(m);
		return;
	} else if (status && strcmp(status, "parked") == 0) {
		/* the automatic answer was not enough: a person */
		omr_bots_takeover(m->r->bots, conv,
				  "the customer wrote again after the automatic answer");
	} else if (status && agent && *agent &&
		   (strcmp(status, "assigned") == 0 || strcmp(status, "wrapup") == 0)) {
		json_t *msg = omr_model_from_hash(OMR_MODEL_MESSAGE, r.message);
		if (msg) {
			json_t *f = json_pack("{s:s,s:s,s:o}", "type", "message", "conversation", conv,
					      "message", msg);
			omr_hub_to_agent(m->r->env.hub, agent, f);
			json_decref(f);
		}
	}
	omr_event_done(e, OMR_EVENT_ACK);
	free(m);
}

void omr_router_on_event(void *arg, struct omr_event *e)
{
	struct omr_router *r = arg;
	const char *type = omr_event_get(e, "type");
	const char *conv = omr_event_get(e, "conversation");
	const char *kind = omr_event_get(e, "kind");
	const char *isnew = omr_event_get(e, "new");
	const char *msg = omr_event_get(e, "message");
	int automatic = kind && strcmp(kind, "auto") == 0;

	r->events++;
	if (!type || strcmp(type, "message.in") != 0 || !conv) {
		omr_event_done(e, OMR_EVENT_ACK);
		return;
	}
	if (isnew && strcmp(isnew, "1") == 0) {
		/* Auto-replies (out-of-office mail) are stored but never
		 * routed as new contacts. */
		if (automatic)
			omr_event_done(e, OMR_EVENT_ACK);
		else
			omr_router_classify(r, e, conv);
		return;
	}
	struct omr_router_msg *m = omr_calloc(1, sizeof(*m));
	m->r = r;
	m->e = e;
	m->automatic = automatic;
	struct omr_lua_msg_info_args a = { .conversation = conv, .message = msg };
	omr_lua_msg_info(r->env.store, &a, omr_router_msg_cb, m);
}

/* ---- what the hub brings ---- */

static void omr_router_hub(void *arg, const struct omr_hub_event *ev)
{
	struct omr_router *r = arg;
	switch (ev->type) {
	case OMR_HUB_ROUTE:
		if (r->kick_ev)
			event_active(r->kick_ev, EV_TIMEOUT, 0);
		break;
	default:
		break;
	}
}

void omr_router_reload(struct omr_router *r)
{
	if (r->running)
		omr_router_redecide(r);
}

void omr_router_metrics(const struct omr_router *r, struct omr_buf *b)
{
	omr_metric(b, "events_processed_total", "counter", "stream events handled", r->events);
	omr_metric(b, "offers_made_total", "counter", "offers made by this node", r->offers);
	omr_metric(b, "offers_expired_total", "counter", "offers that expired unanswered",
		   r->expired);
	omr_router_callback_metrics(r, b);
}

/* ---- lifecycle ---- */

struct omr_router *omr_router_new(const struct omr_env *env, struct omr_channels *channels,
				  struct omr_bots *bots)
{
	struct omr_router *r = omr_calloc(1, sizeof(*r));
	r->env = *env;
	r->channels = channels;
	r->bots = bots;
	r->kick_ev = event_new(env->base, -1, 0, omr_router_dispatch, r);
	r->tick_ev = event_new(env->base, -1, EV_PERSIST, omr_router_tick, r);
	r->pass_ev = event_new(env->base, -1, EV_PERSIST, omr_router_dispatch, r);
	r->status_ev = event_new(env->base, -1, EV_PERSIST, omr_router_status, r);
	r->status_soon_ev = evtimer_new(env->base, omr_router_status, r);
	r->status_waiting = omr_map_new();
	omr_hub_on(env->hub, OMR_HUB_ROUTE, omr_router_hub, r);
	return r;
}

void omr_router_start(struct omr_router *r)
{
	struct timeval tick = { 0, OMR_ROUTER_TICK_MS * 1000 };
	struct timeval pass = { OMR_ROUTER_PASS_MS / 1000, (OMR_ROUTER_PASS_MS % 1000) * 1000 };
	struct timeval status = { OMR_ROUTER_STATUS_MS / 1000, 0 };
	r->running = 1;
	event_add(r->tick_ev, &tick);
	event_add(r->pass_ev, &pass);
	event_add(r->status_ev, &status);
	event_active(r->kick_ev, EV_TIMEOUT, 0);
}

void omr_router_stop(struct omr_router *r)
{
	r->running = 0;
	event_del(r->tick_ev);
	event_del(r->pass_ev);
	event_del(r->status_ev);
	event_del(r->status_soon_ev);
	event_del(r->kick_ev);
}

void omr_router_free(struct omr_router *r)
{
	if (!r)
		return;
	omr_hub_off(r->env.hub, r);
	event_free(r->kick_ev);
	event_free(r->tick_ev);
	event_free(r->pass_ev);
	event_free(r->status_ev);
	event_free(r->status_soon_ev);
	omr_router_pass_free(r);
	omr_router_pools_free(r);
	omr_map_free(r->status_waiting, NULL);
	free(r);
}
