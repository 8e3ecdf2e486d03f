/*
 * omr_agents_offers: offers on an agent's console (omr_agents_int.h): the
 * offer frame when routing made one, accept and reject, and offers that
 * ended without the agent (revoked).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_agents_int.h"
#include "omr_agents_conf.h"
#include "omr_channels.h"
#include "omr_config.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

/* {queue: ms an answer may take to count in the service level, -1: none}
 * for offer_end.lua (malloc'ed) */
static char *omr_agents_sla_json(const struct omr_routing_conf *r)
{
	json_t *m = json_object();
	for (size_t i = 0; i < r->nqueues; i++) {
		const struct omr_queue_conf *q = &r->queues[i];
		json_object_set_new(m, q->name,
				    json_integer(q->sla.target ? (json_int_t)q->sla.within : -1));
	}
	char *s = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	return s;
}

void omr_agents_revoked(struct omr_agents *a, const char *agent, const char *offer,
			const char *reason)
{
	omr_agents_push_new(a, agent, json_pack("{s:s,s:s,s:s}", "type", "revoked", "offer", offer,
						"reason", reason));
}

void omr_agents_withdrawn(struct omr_agents *a, const char *agent, const char *offer)
{
	omr_agents_revoked(a, agent, offer, "withdrawn");
	omr_hub_ended(a->env.hub, OMR_HUB_OFFER_ENDED, agent, NULL, NULL, "withdrawn");
}

static void omr_agents_offer_view_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	json_t *conv, *offer;
	if (!err && omr_store_view_parse(reply, omr_agents_low(q->a), &conv, &offer) == 1) {
		if (offer) {
			json_t *f = omr_agents_offer_frame(conv, offer);
			if (f)
				omr_agents_push_new(q->a, q->agent, f);
			json_decref(offer);
		}
		json_decref(conv);
	}
	omr_areq_free(q);
}

void omr_agents_send_offer(struct omr_agents *a, const char *agent, const char *offer,
			   const char *conversation, const json_t *summary, long long remaining_ms)
{
	if (summary) {
		/* routing sent what the frame shows: no second call */
		json_t *o = json_pack("{s:s,s:I}", "id", offer, "remaining_ms",
				      (json_int_t)remaining_ms);
		json_t *f = o ? omr_agents_offer_frame(summary, o) : NULL;
		if (f)
			omr_agents_push_new(a, agent, f);
		json_decref(o);
		return;
	}
	struct omr_areq *q = omr_areq_new(a, NULL);
	q->agent = omr_strdup(agent);
	q->offer = omr_strdup(offer);
	omr_agents_view(a, q, conversation, agent, omr_agents_offer_view_cb);
}

/* the customer hears who joined (web chat: "Alice joined"); c: the
 * conversation when known (its channel and address: nothing to read) */
static void omr_agents_tell_joined(struct omr_agents *a, const char *agent, const char *conv,
				   const json_t *c)
{
	const struct omr_agent_conf *ac = omr_agents_find(omr_env_cfg(&a->env)->agents, agent);
	json_t *said = json_pack("{s:s,s:s}", "event", "joined", "name",
				 ac && ac->name && *ac->name ? ac->name : agent);
	omr_channels_notice(a->channels, conv, json_string_value(json_object_get(c, "channel")),
			    json_string_value(json_object_get(c, "address")),
			    json_string_value(json_object_get(c, "thread")), said);
	json_decref(said);
}

/* The accepted conversation to the agent's consoles: view is what
 * agent_view.lua answers (offer_end.lua's accept carries it); then the
 * customer hears who joined. */
static void omr_agents_assigned(struct omr_areq *q, const redisReply *view)
{
	json_t *conv;
	char *earlier;
	if (omr_store_view_parse_text(view, omr_agents_low(q->a), q->a->mark, &conv, &earlier) == 1) {
		omr_agents_tell_joined(q->a, q->agent, q->conversation, conv);
		json_t *f = json_pack("{s:s,s:o}", "type", "assigned", "conversation",
				      omr_agents_decorate(q->a, conv));
		omr_agents_push_text(q->a, q->agent, f, earlier);
		json_decref(f);
		free(earlier);
	} else {
		omr_log_warn("agent %s: conversation %s accepted but not loaded", q->agent,
			     q->conversation);
		omr_agents_tell_joined(q->a, q->agent, q->conversation, NULL);
	}
}

static void omr_agents_offer_end_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	struct omr_lua_offer_end_reply o;

	if (err || omr_lua_offer_end_reply(reply, &o) < 1 || !o.tag) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
	} else if (strcmp(o.tag, "gone") == 0) {
		omr_agents_error_q(q, "gone", "the offer expired or was withdrawn");
		omr_agents_revoked(a, q->agent, q->offer, "expired");
	} else if (strcmp(o.tag, "not_yours") == 0) {
		omr_agents_error_q(q, "not_yours", "this offer is not yours");
	} else if (o.outcome && strcmp(o.outcome, "accept") == 0 && o.conversation) {
		/* counted for the service level by offer_end.lua itself */
		q->conversation = omr_strdup(o.conversation);
		omr_log_info("agent %s accepted conversation %s", q->agent, q->conversation);
		omr_hub_ended(a->env.hub, OMR_HUB_OFFER_ENDED, q->agent, q->conversation, o.queue,
			      "accepted");
		omr_agents_assigned(q, o.view);
		omr_hub_route(a->env.hub);
	} else if (o.outcome && strcmp(o.outcome, "expire") == 0) {
		/* it expired just before the accept arrived */
		omr_agents_error_q(q, "gone", "the offer expired");
		omr_agents_revoked(a, q->agent, q->offer, "expired");
		omr_hub_ended(a->env.hub, OMR_HUB_OFFER_ENDED, q->agent, o.conversation, NULL,
			      "missed");
		if (o.away) {
			struct omr_hub_event pv = {
				.type = OMR_HUB_PRESENCE, .agent = q->agent, .status = "away",
				.reason = "missed offers",
			};
			omr_hub_emit(a->env.hub, &pv);
		}
		omr_hub_route(a->env.hub);
	} else {
		omr_log_info("agent %s declined offer %s", q->agent, q->offer);
		omr_agents_revoked(a, q->agent, q->offer, "rejected");
		omr_hub_ended(a->env.hub, OMR_HUB_OFFER_ENDED, q->agent, o.conversation, NULL,
			      "rejected");
		omr_hub_route(a->env.hub);
	}
	omr_areq_free(q);
}

void omr_agents_offer_end(struct omr_agents *a, struct omr_asess *s, const json_t *msg,
				 const char *how)
{
	const char *offer = json_string_value(json_object_get(msg, "offer"));
	const struct omr_routing_conf *r = omr_env_cfg(&a->env)->routing;
	struct omr_areq *q;

	if (!offer || !omr_model_id_ok(offer, "o_")) {
		omr_agents_error(a, s->conn, "bad_request", "offer: an offer id", NULL, NULL);
		return;
	}
	q = omr_areq_new(a, s);
	q->offer = omr_strdup(offer);
	q->text = omr_strdup(how);
	char day[16];
	omr_day(day, sizeof(day));
	char *sla = strcmp(how, "accept") == 0 ? omr_agents_sla_json(r) : NULL;
	struct omr_lua_offer_end_args args = {
		.how = how, .offer = offer, .agent = s->agent,
		.cooldown = r->offers.reject_cooldown, .missed = r->offers.max_missed,
		.day = day, .sla = sla, .late = omr_engagement_points(r, "sla_breach"),
		.min = r->engagement.min, .max = r->engagement.max,
		/* the accepted conversation comes with the answer */
		.view_max = strcmp(how, "accept") == 0 ? OMR_AGENT_HISTORY : 0,
		.view_earlier = OMR_AGENT_EARLIER,
	};
	omr_lua_offer_end(a->env.store, &args, omr_agents_offer_end_cb, q);
	free(sla);
}


/* "webchat,email" of the channels an agent takes (capacity above 0), for
 * conv_pull.lua (malloc'ed) */
char *omr_agents_channels_csv(const struct omr_agent_conf *ac)
{
	struct omr_buf b;
	omr_buf_init(&b);
	for (size_t i = 0; i < ac->ncapacity; i++)
		if (ac->capacity[i].max > 0)
			omr_buf_printf(&b, "%s%s", b.len ? "," : "", ac->capacity[i].channel);
	return omr_buf_steal(&b, NULL);
}

/* ---- take: a missed or declined offer back ---- */

static void omr_agents_taken_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_lua_conv_pull_reply r;

	if (err || omr_lua_conv_pull_reply(reply, &r) < 1 || !r.tag) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
	} else if (strcmp(r.tag, "ok") == 0) {
		omr_log_info("agent %s took back conversation %s", q->agent, q->conversation);
		omr_agents_send_new(q->a, q->conn,
				    json_pack("{s:s,s:s,s:s}", "type", "done", "action",
					      "conversation.take", "target", q->conversation));
		omr_hub_route(q->a->env.hub);
	} else if (strcmp(r.tag, "not_missed") == 0) {
		omr_agents_error_q(q, "forbidden",
				   "only a conversation whose offer you missed or declined lately");
	} else if (strcmp(r.tag, "channel") == 0) {
		omr_agents_error_q(q, "forbidden", "you take no conversation of its channel");
	} else if (strcmp(r.tag, "reserved") == 0) {
		omr_agents_error_q(q, "conflict", "it waits for another agent first");
	} else {
		char *m = omr_asprintf("only a waiting conversation can be taken back (it is %s)",
				       r.status ? r.status : "gone");
		omr_agents_error_q(q, strcmp(r.status ? r.status : "", "unknown") == 0 ? "not_found"
											  : "conflict",
				   m);
		free(m);
	}
	omr_areq_free(q);
}

void omr_agents_take(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const char *conv = json_string_value(json_object_get(msg, "conversation"));
	const struct omr_agent_conf *ac = omr_agents_find(cfg->agents, s->agent);

	if (!conv || !omr_model_id_ok(conv, "c_")) {
		omr_agents_error(a, s->conn, "bad_request", "conversation: a conversation id", NULL,
				 NULL);
		return;
	}
	if (!ac || !(ac->roles & OMR_ROLE_AGENT)) {
		omr_agents_error(a, s->conn, "forbidden", "only agents take conversations",
				 "conversation", conv);
		return;
	}
	struct omr_areq *q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	char *chans = omr_agents_channels_csv(ac);
	struct omr_lua_conv_pull_args p = { .conversation = conv, .agent = s->agent,
					    .prefer = cfg->routing->offers.timeout,
					    .queues = "", .channels = chans, .missed = 1 };
	omr_lua_conv_pull(a->env.store, &p, omr_agents_taken_cb, q);
	free(chans);
}
