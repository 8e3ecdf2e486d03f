/*
 * omr_router_park: parked (snoozed) conversations come back
 * (docs/agent-protocol.md#park-and-snooze): every second the ones whose
 * time came (parked_due.lua), and one whose customer wrote (the router's
 * message handler). unpark.lua brings each back once, whichever node asks
 * first: to its agent (OMR_HUB_UNPARKED: their consoles get `assigned`),
 * or to its queue when the agent is not logged in. Time is Redis' clock
 * (with the test clock's offset), so a restart or another node changes
 * nothing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_config.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_router_int.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_UNPARK_BATCH 50

struct omr_unpark {
	struct omr_router *r;
	char *conversation;
	char *why;
};

static void omr_router_unparked_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_unpark *u = arg;
	struct omr_lua_unpark_reply o;
	if (err) {
		omr_log_warn("conversation %s: not brought back from parking: %s (tried again)",
			     u->conversation, err);
	} else if (omr_lua_unpark_reply(reply, &o) >= 2 && o.tag && o.agent) {
		if (strcmp(o.tag, "assigned") == 0) {
			struct omr_hub_event ev = {
				.type = OMR_HUB_UNPARKED, .agent = o.agent,
				.conversation = u->conversation, .reason = u->why,
			};
			omr_log_info("conversation %s: back from parking to %s (%s)",
				     u->conversation, o.agent, u->why);
			omr_hub_emit(u->r->env.hub, &ev);
		} else if (strcmp(o.tag, "queued") == 0) {
			omr_log_info("conversation %s: back from parking to queue %s (%s; %s is not "
				     "logged in)", u->conversation, o.queue ? o.queue : "?", u->why,
				     o.agent);
			omr_hub_route(u->r->env.hub);
		}
	}
	free(u->conversation);
	free(u->why);
	free(u);
}

void omr_router_unpark(struct omr_router *r, const char *conversation, const char *why)
{
	const struct omr_routing_conf *rc = omr_env_cfg(&r->env)->routing;
	struct omr_unpark *u = omr_calloc(1, sizeof(*u));
	u->r = r;
	u->conversation = omr_strdup(conversation);
	u->why = omr_strdup(why);
	struct omr_lua_unpark_args a = {
		.conversation = conversation, .why = why, .agent = "",
		.prefer = rc->offers.timeout * 6,
	};
	omr_lua_unpark(r->env.store, &a, omr_router_unparked_cb, u);
}

static void omr_router_parked_due_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_router *r = arg;
	struct omr_lua_parked_due_reply d;
	r->unparking = 0;
	if (err || omr_lua_parked_due_reply(reply, &d) < 1 || !d.due ||
	    d.due->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i < d.due->elements; i++)
		if (omr_reply_str(d.due->element[i]))
			omr_router_unpark(r, d.due->element[i]->str, "time");
}

void omr_router_park_tick(struct omr_router *r)
{
	struct omr_lua_parked_due_args a = { .limit = OMR_UNPARK_BATCH };
	if (r->unparking || r->ticks % 2 != 0)
		return;
	r->unparking = 1;
	omr_lua_parked_due(r->env.store, &a, omr_router_parked_due_cb, r);
}
