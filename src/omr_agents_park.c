/*
 * omr_agents_park: park and snooze (docs/agent-protocol.md#park-and-snooze).
 * An agent parks a conversation of theirs (not a live chat) until a time,
 * or until the customer writes: it leaves their conversations and frees
 * its capacity (park.lua). It comes back (omr_router_park.c, unpark.lua)
 * at its time or on the customer's answer, or when the agent takes it back
 * early (`unpark`); back with its agent, their consoles get `assigned`
 * (OMR_HUB_UNPARKED, on the node that brought it back; the frame reaches
 * the other nodes through the bus).
 *
 * Main thread only; the pending request is a struct omr_areq.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_agents_int.h"
#include "omr_config.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_PARK_MIN_MS 60000LL                   /* a minute ahead at least */
#define OMR_PARK_MAX_MS (30LL * 24 * 3600 * 1000) /* 30 days at most */

/* ---- back: `assigned` with the conversation's view ---- */

static void omr_park_view_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	json_t *conv;
	char *earlier;
	if (!err && omr_store_view_parse_text(reply, omr_agents_low(q->a), q->a->mark, &conv, &earlier) == 1) {
		json_t *c = omr_agents_decorate(q->a, conv);
		json_object_set_new(c, "unparked", json_string(q->extra ? q->extra : "time"));
		json_t *f = json_pack("{s:s,s:o}", "type", "assigned", "conversation", c);
		omr_agents_push_text(q->a, q->agent, f, earlier);
		json_decref(f);
		free(earlier);
	} else {
		omr_log_warn("agent %s: conversation %s back from parking but not loaded",
			     q->agent, q->conversation);
	}
	omr_areq_free(q);
}

void omr_agents_unparked(struct omr_agents *a, const char *agent, const char *conversation,
			 const char *why)
{
	struct omr_areq *q = omr_areq_new(a, NULL);
	q->agent = omr_strdup(agent);
	q->conversation = omr_strdup(conversation);
	q->extra = why ? omr_strdup(why) : NULL;
	omr_agents_view(a, q, conversation, agent, omr_park_view_cb);
}

/* ---- park ---- */

static void omr_park_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_lua_park_reply r;
	if (err || omr_lua_park_reply(reply, &r) < 3 || !r.tag) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
	} else if (strcmp(r.tag, "not_yours") == 0) {
		omr_agents_error_q(q, "not_yours", "this conversation is not assigned to you");
	} else if (strcmp(r.tag, "bad_state") == 0) {
		omr_agents_error_q(q, "bad_state", "only a conversation you have (not in wrap-up) "
				   "can be parked");
	} else if (strcmp(r.tag, "live") == 0) {
		omr_agents_error_q(q, "bad_request", "a live chat cannot be parked: the customer "
				   "is waiting on the page");
	} else if (strcmp(r.tag, "bad_time") == 0) {
		omr_agents_error_q(q, "bad_request", "until: from a minute to 30 days ahead");
	} else {
		omr_log_info("conversation %s parked by %s until %lld", q->conversation, q->agent,
			     r.due);
		omr_agents_push_new(q->a, q->agent,
				    json_pack("{s:s,s:s,s:s,s:I,s:b}", "type", "unassigned",
					      "conversation", q->conversation, "reason", "parked",
					      "until", (json_int_t)r.due, "on_reply",
					      json_is_true(json_object_get(q->data, "on_reply"))));
		omr_hub_route(q->a->env.hub); /* the agent has room again */
	}
	omr_areq_free(q);
}

static int omr_park_ms(const json_t *v, long long *out_r)
{
	if (!v || json_is_null(v)) {
		*out_r = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return -1;
	*out_r = (long long)json_integer_value(v);
	return 0;
}

/* {"type": "park", conversation, until (ms since the epoch) | in_ms | neither:
 * until the customer writes} */
void omr_agents_park(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *conv = omr_agents_conv_arg(a, s, msg);
	long long due = 0, in_ms = 0;
	if (!conv)
		return;
	if (omr_park_ms(json_object_get(msg, "until"), &due) < 0 ||
	    omr_park_ms(json_object_get(msg, "in_ms"), &in_ms) < 0 || (due && in_ms) ||
	    in_ms > OMR_PARK_MAX_MS) {
		omr_agents_error(a, s->conn, "bad_request", "until (ms since the epoch) or in_ms "
				 "(from a minute to 30 days), not both; neither: until the customer "
				 "writes", "conversation", conv);
		return;
	}
	struct omr_areq *q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	q->data = json_pack("{s:b}", "on_reply", !due && !in_ms);
	struct omr_lua_park_args pa = {
		.conversation = conv, .agent = s->agent, .due_at = due, .in_ms = in_ms,
		.max = OMR_PARK_MAX_MS, .min = OMR_PARK_MIN_MS,
	};
	omr_lua_park(a->env.store, &pa, omr_park_cb, q);
}

/* ---- unpark: the agent takes it back early ---- */

static void omr_unpark_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_lua_unpark_reply r;
	if (err || omr_lua_unpark_reply(reply, &r) < 1 || !r.tag) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
	} else if (strcmp(r.tag, "assigned") == 0) {
		omr_log_info("conversation %s: back from parking to %s (agent)", q->conversation,
			     q->agent);
		omr_agents_unparked(q->a, q->agent, q->conversation, "agent");
	} else if (strcmp(r.tag, "queued") == 0) {
		omr_hub_route(q->a->env.hub); /* not logged in any more: its queue */
	} else {
		omr_agents_error_q(q, strcmp(r.tag, "not_yours") == 0 ? "not_yours" : "gone",
				   "not a conversation you parked (or it is back already)");
	}
	omr_areq_free(q);
}

void omr_agents_unpark(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *conv = omr_agents_conv_arg(a, s, msg);
	if (!conv)
		return;
	struct omr_areq *q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	struct omr_lua_unpark_args ua = {
		.conversation = conv, .why = "agent", .agent = s->agent,
		.prefer = omr_env_cfg(&a->env)->routing->offers.timeout * 6,
	};
	omr_lua_unpark(a->env.store, &ua, omr_unpark_cb, q);
}

/* ---- the list ---- */

static void omr_parked_list_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_lua_parked_list_reply r;
	if (err || omr_lua_parked_list_reply(reply, &r) < 1 || !r.items ||
	    r.items->type != REDIS_REPLY_ARRAY) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
		omr_areq_free(q);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < r.items->elements; i++) {
		const redisReply *it = r.items->element[i];
		const char *id = omr_reply_str(omr_reply_elem(it, 0));
		const char *due = omr_reply_str(omr_reply_elem(it, 1));
		const char *only = omr_reply_str(omr_reply_elem(it, 2));
		if (!id || !due)
			continue;
		json_array_append_new(list, json_pack(
			"{s:s,s:I,s:b,s:s?,s:s?,s:s?}", "conversation", id, "until",
			(json_int_t)strtoll(due, NULL, 10), "on_reply", only && strcmp(only, "1") == 0,
			"channel", omr_reply_str(omr_reply_elem(it, 3)), "customer",
			omr_reply_str(omr_reply_elem(it, 4)), "subject",
			omr_reply_str(omr_reply_elem(it, 5))));
	}
	omr_agents_send_new(q->a, q->conn, json_pack("{s:s,s:o}", "type", "parked",
						     "conversations", list));
	omr_areq_free(q);
}

/* {"type": "parked"}: the agent's parked conversations */
void omr_agents_parked(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	(void)msg;
	struct omr_lua_parked_list_args la = { .agent = s->agent };
	omr_lua_parked_list(a->env.store, &la, omr_parked_list_cb, omr_areq_new(a, s));
}
