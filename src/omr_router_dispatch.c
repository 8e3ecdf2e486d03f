/*
 * omr_router_dispatch: dispatch passes (omr_router_int.h). A pass walks the
 * queues by priority and, in each, the waiting conversations in order; each
 * one an eligible agent can take is offered by one script (offer.lua), so
 * that nodes never collide. Escalation steps and max-wait actions apply on
 * the way. A change during a pass (an agent freed up) starts it again from
 * the best waiting conversation.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_agents_conf.h"
#include "omr_channels.h"
#include "omr_config.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_route.h"
#include "omr_router.h"
#include "omr_router_int.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_ROUTER_PEEK 20          /* conversations looked at per queue and pass */

static void omr_router_next(struct omr_router *r);

void omr_router_pass_free(struct omr_router *r)
{
	json_decref(r->batch);
	r->batch = NULL;
	free(r->order);
	r->order = NULL;
}

static void omr_router_pass_done(struct omr_router *r)
{
	omr_router_pass_free(r);
	r->passing = 0;
	if (r->again) {
		r->again = 0;
		event_active(r->kick_ev, EV_TIMEOUT, 0);
	}
}

static void omr_router_offer_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_router *r = arg;
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));
	json_t *item = json_array_get(r->batch, r->bidx - 1);
	const char *conv = json_string_value(json_array_get(item, 0));

	if (err) {
		omr_log_warn("router: offer failed: %s", err);
		omr_router_pass_done(r);
		return;
	}
	if (tag && strcmp(tag, "ok") == 0 && reply->elements >= 4) {
		const char *agent = omr_reply_str(reply->element[1]);
		const char *offer = omr_reply_str(reply->element[2]);
		struct omr_hub_event ev = {
			.type = OMR_HUB_OFFERED, .agent = agent, .offer = offer, .conversation = conv,
		};
		omr_log_info("conversation %s offered to %s (%s)", conv, agent, offer);
		r->offers++;
		omr_hub_emit(r->env.hub, &ev);
	} else if (tag && strcmp(tag, "restart") == 0) {
		r->again = 1;
	}
	omr_router_next(r);
}

static const char *omr_item_str(json_t *item, size_t i)
{
	const char *s = json_string_value(json_array_get(item, i));
	return s ? s : "";
}

static long long omr_item_ll(json_t *item, size_t i)
{
	long long v = 0;
	omr_parse_ll(omr_item_str(item, i), &v);
	return v;
}

/* Escalation and max wait: returns 1 if the conversation left the queue
 * (moved), so it is not offered from here in this pass. */
static int omr_router_escalate(struct omr_router *r, json_t *item,
			       const struct omr_queue_conf *q, long long waited,
			       struct omr_escalation *esc)
{
	const struct omr_routing_conf *rc = omr_env_cfg(&r->env)->routing;
	const char *conv = omr_item_str(item, 0);
	long long now = omr_now_ms();
	char snow[24], score[24];
	const char *to = NULL;
	const char *why = NULL;

	omr_route_escalation(q, waited, esc);
	if (esc->step >= 0 && esc->step != omr_item_ll(item, 9) && !esc->overflow) {
		char step[16];
		snprintf(step, sizeof(step), "%d", esc->step);
		char *note = omr_asprintf("{\"at\":%lld,\"step\":%d,\"relax\":%lld,\"drop_optional\":%s}",
					  now, esc->step, esc->relax, esc->drop_optional ? "true" : "false");
		const char *argv[] = { conv, "esc_step", step, note, "" };
		omr_store_run(r->env.store, OMR_SCRIPT_CONV_MARK, omr_router_noop_cb, "escalation", 5,
			      argv);
		free(note);
	}
	if (esc->overflow && strcmp(esc->overflow, q->name) != 0) {
		to = esc->overflow;
		why = "escalation";
	}
	if (!to && q->max_wait && waited >= q->max_wait && !omr_item_ll(item, 8)) {
		const struct omr_action *a = &q->on_max_wait;
		char *note = omr_asprintf("{\"at\":%lld,\"max_wait\":\"%s\"}", now,
					  a->action ? a->action : "none");
		const char *argv[] = { conv, "max_wait_done", "1", note,
				       a->kind == OMR_ACTION_CALLBACK ? "callback" : "" };
		omr_store_run(r->env.store, OMR_SCRIPT_CONV_MARK, omr_router_noop_cb, "max wait", 5,
			      argv);
		free(note);
		if (a->kind == OMR_ACTION_OVERFLOW) {
			to = a->queue ? a->queue : q->overflow;
			why = "max wait";
		} else if (a->kind != OMR_ACTION_NONE) {
			char *text = omr_route_text(a->text, q->cal, now, 0, 0);
			omr_channels_tell(r->channels, conv, text);
			free(text);
		}
		omr_log_info("conversation %s waited longer than %s's max wait", conv, q->name);
	}
	if (!to || !omr_routing_queue(rc, to))
		return 0;
	/* keep its age: the score from queued_at and its priority */
	snprintf(snow, sizeof(snow), "%lld", now);
	snprintf(score, sizeof(score), "%s", omr_item_str(item, 7));
	char *note = omr_asprintf("{\"at\":%lld,\"overflow\":\"%s\",\"from\":\"%s\",\"why\":\"%s\"}", now,
				  to, q->name, why);
	const char *argv[] = { conv, q->name, to, score, snow, note, "{}" };
	omr_store_run(r->env.store, OMR_SCRIPT_MOVE, omr_router_noop_cb, "overflow", 7, argv);
	free(note);
	omr_log_info("conversation %s moves from %s to %s (%s)", conv, q->name, to, why);
	return 1;
}

static int omr_router_try(struct omr_router *r, json_t *item, const struct omr_queue_conf *qc)
{
	const char *conv = omr_item_str(item, 0);
	const char *channel = omr_item_str(item, 1);
	const char *language = omr_item_str(item, 3);
	const char *prefer = omr_item_str(item, 4);
	long long until_ms = omr_item_ll(item, 5), now = omr_now_ms();
	long long waited = now - omr_item_ll(item, 6);
	json_t *skills = json_loads(omr_item_str(item, 2), 0, NULL);
	json_t *optional = NULL;
	struct omr_escalation esc;
	struct omr_cands cands;
	char oid[OMR_ID_MAX], snow[24], timeout[24], ncand[16], pass[24];
	const char *strategy = omr_strategy_names[qc->strategy];

	/* a moment of truth carries its own strategy (decided at classify) */
	for (int i = 0; omr_strategy_names[i]; i++)
		if (strcmp(omr_item_str(item, 10), omr_strategy_names[i]) == 0)
			strategy = omr_strategy_names[i];

	if (!*conv || !*channel) {
		json_decref(skills);
		return 0;
	}
	if (omr_router_escalate(r, item, qc, waited, &esc)) {
		json_decref(skills);
		return 0;
	}
	if (!*prefer || until_ms <= now)
		prefer = NULL;
	json_t *needs;
	omr_route_needs(qc, skills, !esc.drop_optional, &needs, &optional);
	omr_route_candidates(omr_env_cfg(&r->env)->agents, channel, needs, optional, language, prefer,
			     esc.relax, &cands);
	json_decref(needs);
	json_decref(skills);
	json_decref(optional);
	if (cands.n == 0) {
		omr_cands_free(&cands);
		return 0;
	}
	snprintf(snow, sizeof(snow), "%lld", now);
	snprintf(timeout, sizeof(timeout), "%lld", omr_env_cfg(&r->env)->routing->offers.timeout);
	snprintf(ncand, sizeof(ncand), "%d", cands.n);
	snprintf(pass, sizeof(pass), "%lld", r->pass_started);
	size_t argc = 8 + (size_t)cands.n * 3;
	const char **argv = omr_calloc(argc, sizeof(*argv));
	argv[0] = conv;
	argv[1] = qc->name;
	argv[2] = omr_id_new(oid, "o_");
	argv[3] = snow;
	argv[4] = timeout;
	argv[5] = strategy;
	argv[6] = pass;
	argv[7] = ncand;
	memcpy(argv + 8, cands.argv, (size_t)cands.n * 3 * sizeof(*argv));
	omr_store_run(r->env.store, OMR_SCRIPT_OFFER, omr_router_offer_cb, r, (int)argc, argv);
	free(argv);
	omr_cands_free(&cands);
	return 1;
}

static void omr_router_peek_cb(void *arg, const redisReply *reply, const char *err);

static const struct omr_queue_conf *omr_router_current(struct omr_router *r)
{
	const struct omr_routing_conf *rc = omr_env_cfg(&r->env)->routing;
	if (r->qidx >= r->norder || r->order[r->qidx] >= rc->nqueues)
		return NULL;
	return &rc->queues[r->order[r->qidx]];
}

static void omr_router_peek(struct omr_router *r)
{
	const struct omr_queue_conf *q = omr_router_current(r);
	char n[16];
	if (!q) {
		omr_router_pass_done(r);
		return;
	}
	snprintf(n, sizeof(n), "%d", OMR_ROUTER_PEEK);
	const char *argv[] = { q->name, n };
	omr_store_run(r->env.store, OMR_SCRIPT_QUEUE_PEEK, omr_router_peek_cb, r, 2, argv);
}

/* Work through the current batch; when it is done, the next queue. */
static void omr_router_next(struct omr_router *r)
{
	/* Something changed since the pass began (an agent became free or
	 * available): start again from the best waiting conversation rather
	 * than let a later one take what an earlier one could not get. */
	if (r->again) {
		omr_router_pass_done(r);
		return;
	}
	while (r->batch && r->bidx < json_array_size(r->batch)) {
		json_t *item = json_array_get(r->batch, r->bidx++);
		const struct omr_queue_conf *q = omr_router_current(r);
		if (q && omr_router_try(r, item, q))
			return; /* continues in omr_router_offer_cb */
	}
	json_decref(r->batch);
	r->batch = NULL;
	r->qidx++;
	omr_router_peek(r);
}

static void omr_router_peek_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_router *r = arg;
	if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
		omr_log_warn("router: cannot read a queue: %s", err ? err : "bad reply");
		omr_router_pass_done(r);
		return;
	}
	r->batch = json_array();
	for (size_t i = 0; i < reply->elements; i++) {
		const redisReply *it = reply->element[i];
		json_t *row = json_array();
		for (size_t k = 0; it->type == REDIS_REPLY_ARRAY && k < it->elements; k++)
			json_array_append_new(row, omr_reply_str(it->element[k]) ?
							   json_string(it->element[k]->str) : json_null());
		json_array_append_new(r->batch, row);
	}
	r->bidx = 0;
	omr_router_next(r);
}

void omr_router_dispatch(evutil_socket_t fd, short what, void *arg)
{
	struct omr_router *r = arg;
	const struct omr_routing_conf *rc = omr_env_cfg(&r->env)->routing;

	if (!r->running || !omr_redis_ready(omr_store_redis(r->env.store)))
		return;
	if (r->passing) {
		r->again = 1;
		return;
	}
	r->passing = 1;
	/* one millisecond back: a change in the same millisecond as the start
	 * of the pass may not have been seen by it */
	r->pass_started = omr_now_ms() - 1;
	/* queues by priority, highest first (stable: file order breaks ties) */
	r->norder = rc->nqueues;
	r->order = omr_calloc(r->norder + 1, sizeof(*r->order));
	for (size_t i = 0; i < r->norder; i++)
		r->order[i] = i;
	for (size_t i = 1; i < r->norder; i++)
		for (size_t k = i; k > 0 && rc->queues[r->order[k]].priority >
					       rc->queues[r->order[k - 1]].priority; k--) {
			size_t t = r->order[k];
			r->order[k] = r->order[k - 1];
			r->order[k - 1] = t;
		}
	r->qidx = 0;
	omr_router_peek(r);
}
