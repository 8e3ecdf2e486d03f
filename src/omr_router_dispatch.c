/*
 * omr_router_dispatch: dispatch passes (omr_router_int.h). A pass walks the
 * queues by priority and, in each, the waiting conversations in order: the
 * front of the queue and the best few of every class of conversations that
 * need the same (queue.lib), so that however many wait for a busy agent,
 * one that a free agent can take is seen. Each is offered by one script
 * (offer.lua), so that nodes never collide. When nobody could take any
 * conversation of a class (everyone fitting is busy), the rest of the class
 * is skipped for the pass. Escalation steps and max-wait actions apply on
 * the way. A change during a pass (an agent freed up) starts it again from
 * the best waiting conversation. Every time compared is Redis' clock.
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

#define OMR_ROUTER_FRONT 4          /* from the front of each queue, per read */
#define OMR_ROUTER_CLASSES 64       /* classes looked at per queue and pass */
#define OMR_ROUTER_PER_CLASS 3      /* the best of each class */

/* the fields of a queue_peek item */
enum { OMR_PK_ID, OMR_PK_CHANNEL, OMR_PK_SKILLS, OMR_PK_LANGUAGE, OMR_PK_PREFER,
       OMR_PK_PREFER_UNTIL, OMR_PK_QUEUED_AT, OMR_PK_SCORE, OMR_PK_MAX_WAIT_DONE,
       OMR_PK_ESC_STEP, OMR_PK_STRATEGY, OMR_PK_CLASS };

static void omr_router_next(struct omr_router *r);

void omr_router_pass_free(struct omr_router *r)
{
	json_decref(r->batch);
	r->batch = NULL;
	json_decref(r->skip);
	r->skip = NULL;
	free(r->try_skip);
	r->try_skip = NULL;
	r->pass_started = 0;
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

/* the key under which a conversation's class is skipped for the pass */
static char *omr_router_skip_key(json_t *item, const struct omr_escalation *esc);

static void omr_router_offer_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_router *r = arg;
	struct omr_lua_offer_reply o;
	json_t *item = json_array_get(r->batch, r->bidx - 1);
	const char *conv = json_string_value(json_array_get(item, OMR_PK_ID));

	if (err || omr_lua_offer_reply(reply, &o) < 1 || !o.tag) {
		omr_log_warn("router: offer failed: %s", err ? err : "bad reply");
		omr_router_pass_done(r);
		return;
	}
	if (strcmp(o.tag, "build") == 0) {
		/* the pool is not in Redis (first use, expired, a new Redis):
		 * the same conversation again, with the list */
		r->try_pool->built = 0;
		if (r->try_pool->retried++ == 0)
			r->bidx--;
		free(r->try_skip);
		r->try_skip = NULL;
		omr_router_next(r);
		return;
	}
	r->try_pool->built = 1;
	r->try_pool->retried = 0;
	if (strcmp(o.tag, "ok") == 0 && o.agent && o.offer) {
		json_t *summary = omr_store_offer_summary(o.view, o.preview, o.customer_name);
		struct omr_hub_event ev = {
			.type = OMR_HUB_OFFERED, .agent = o.agent, .offer = o.offer,
			.conversation = conv, .frame = summary,
			.at = omr_env_cfg(&r->env)->routing->offers.timeout,
		};
		omr_log_info("conversation %s offered to %s (%s)", conv, o.agent, o.offer);
		r->offers++;
		r->batch_offered++;
		omr_hub_emit(r->env.hub, &ev);
		json_decref(summary);
	} else if (strcmp(o.tag, "restart") == 0) {
		r->again = 1;
	} else if (strcmp(o.tag, "none") == 0 && o.scope && strcmp(o.scope, "class") == 0 &&
		   r->try_skip) {
		/* nobody who fits is free: neither is anyone for the rest of
		 * the class at this escalation step */
		json_object_set_new(r->skip, r->try_skip, json_true());
	}
	free(r->try_skip);
	r->try_skip = NULL;
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

static char *omr_router_skip_key(json_t *item, const struct omr_escalation *esc)
{
	return omr_asprintf("%s/%lld/%d", omr_item_str(item, OMR_PK_CLASS), esc->relax,
			    esc->drop_optional);
}

static void omr_router_mark(struct omr_router *r, const char *conv, const char *field,
			    const char *value, json_t *note, const char *tag, const char *what)
{
	char *nj = json_dumps(note, JSON_COMPACT);
	struct omr_lua_conv_mark_args a = {
		.conversation = conv, .field = field, .value = value, .note = nj, .tag = tag,
	};
	omr_lua_conv_mark(r->env.store, &a, omr_router_noop_cb, (void *)what);
	free(nj);
	json_decref(note);
}

/* Escalation and max wait: returns 1 if the conversation left the queue
 * (moved), so it is not offered from here in this pass. */
static int omr_router_escalate(struct omr_router *r, json_t *item,
			       const struct omr_queue_conf *q, long long waited,
			       struct omr_escalation *esc)
{
	const struct omr_routing_conf *rc = omr_env_cfg(&r->env)->routing;
	const char *conv = omr_item_str(item, OMR_PK_ID);
	const char *to = NULL;
	const char *why = NULL;

	omr_route_escalation(q, waited, esc);
	if (esc->step >= 0 && esc->step != omr_item_ll(item, OMR_PK_ESC_STEP) && !esc->overflow) {
		char step[16];
		snprintf(step, sizeof(step), "%d", esc->step);
		omr_router_mark(r, conv, "esc_step", step,
				json_pack("{s:i,s:I,s:b}", "step", esc->step, "relax",
					  (json_int_t)esc->relax, "drop_optional", esc->drop_optional),
				NULL, "escalation");
	}
	if (esc->overflow && strcmp(esc->overflow, q->name) != 0) {
		to = esc->overflow;
		why = "escalation";
	}
	if (!to && q->max_wait && waited >= q->max_wait && !omr_item_ll(item, OMR_PK_MAX_WAIT_DONE)) {
		const struct omr_action *a = &q->on_max_wait;
		omr_router_mark(r, conv, "max_wait_done", "1",
				json_pack("{s:s}", "max_wait", a->action ? a->action : "none"),
				a->kind == OMR_ACTION_CALLBACK ? "callback" : NULL, "max wait");
		if (a->kind == OMR_ACTION_OVERFLOW) {
			to = a->queue ? a->queue : q->overflow;
			why = "max wait";
		} else if (a->kind != OMR_ACTION_NONE) {
			char *text = omr_route_text(a->text, q->cal, omr_now_ms(), 0, 0);
			omr_channels_tell(r->channels, conv, text);
			free(text);
		}
		omr_log_info("conversation %s waited longer than %s's max wait", conv, q->name);
	}
	if (!to || !omr_routing_queue(rc, to))
		return 0;
	/* keep its age: the score from queued_at and its priority */
	json_t *nj = json_pack("{s:s,s:s,s:s}", "overflow", to, "from", q->name, "why", why);
	char *note = json_dumps(nj, JSON_COMPACT);
	struct omr_lua_move_args a = {
		.conversation = conv, .from = q->name, .to = to,
		.score = omr_item_ll(item, OMR_PK_SCORE), .note = note, .fields = "{}",
	};
	omr_lua_move(r->env.store, &a, omr_router_noop_cb, "overflow");
	free(note);
	json_decref(nj);
	omr_log_info("conversation %s moves from %s to %s (%s)", conv, q->name, to, why);
	return 1;
}

static int omr_router_try(struct omr_router *r, json_t *item, const struct omr_queue_conf *qc)
{
	const char *conv = omr_item_str(item, OMR_PK_ID);
	const char *channel = omr_item_str(item, OMR_PK_CHANNEL);
	const char *language = omr_item_str(item, OMR_PK_LANGUAGE);
	const char *prefer = omr_item_str(item, OMR_PK_PREFER);
	long long now = r->peek_now;
	long long waited = now - omr_item_ll(item, OMR_PK_QUEUED_AT);
	struct omr_escalation esc;
	struct omr_cands cands;
	char oid[OMR_ID_MAX];
	const char *strategy = omr_strategy_names[qc->strategy];
	char *skip;

	/* a moment of truth carries its own strategy (decided at classify) */
	for (int i = 0; omr_strategy_names[i]; i++)
		if (strcmp(omr_item_str(item, OMR_PK_STRATEGY), omr_strategy_names[i]) == 0)
			strategy = omr_strategy_names[i];

	if (!*conv || !*channel)
		return 0;
	if (omr_router_escalate(r, item, qc, waited, &esc))
		return 0;
	if (!*prefer || omr_item_ll(item, OMR_PK_PREFER_UNTIL) <= now)
		prefer = NULL;
	skip = prefer || !*omr_item_str(item, OMR_PK_CLASS) ? NULL : omr_router_skip_key(item, &esc);
	if (skip && json_object_get(r->skip, skip)) {
		free(skip);
		return 0;
	}
	struct omr_pool_kind kind = {
		.queue = qc, .channel = channel, .skills = omr_item_str(item, OMR_PK_SKILLS),
		.language = language, .prefer = prefer, .strategy = strategy, .esc = &esc,
	};
	struct omr_pool *pool = omr_router_pool(r, &kind, &cands);
	if (pool->n == 0) {
		omr_cands_free(&cands);
		free(skip);
		return 0;
	}
	struct omr_lua_offer_args a = {
		.conversation = conv, .queue = qc->name, .offer = omr_id_new(oid, "o_"),
		.timeout = omr_env_cfg(&r->env)->routing->offers.timeout, .strategy = strategy,
		.pass = r->pass_started, .pool = pool->id, .candidates = cands.argv,
		.ncandidates = (size_t)cands.n * 3,
	};
	r->try_skip = skip;
	r->try_pool = pool;
	omr_lua_offer(r->env.store, &a, omr_router_offer_cb, r);
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
	if (!q) {
		omr_router_pass_done(r);
		return;
	}
	struct omr_lua_queue_peek_args a = {
		.queue = q->name, .n = OMR_ROUTER_FRONT, .classes = OMR_ROUTER_CLASSES,
		.per_class = OMR_ROUTER_PER_CLASS,
	};
	omr_lua_queue_peek(r->env.store, &a, omr_router_peek_cb, r);
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
	/* Every conversation read was offered: there may be more agents
	 * free for the ones behind; read the same queue again (what was
	 * offered has left it). Else the next queue. */
	size_t n = r->batch ? json_array_size(r->batch) : 0;
	json_decref(r->batch);
	r->batch = NULL;
	if (!(n > 0 && r->batch_offered == n))
		r->qidx++;
	omr_router_peek(r);
}

static void omr_router_peek_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_router *r = arg;
	struct omr_lua_queue_peek_reply p;
	if (err || omr_lua_queue_peek_reply(reply, &p) < 2 || !p.items ||
	    p.items->type != REDIS_REPLY_ARRAY) {
		omr_log_warn("router: cannot read a queue: %s", err ? err : "bad reply");
		omr_router_pass_done(r);
		return;
	}
	r->peek_now = p.now;
	/* one millisecond back: a change in the same millisecond as the start
	 * of the pass may not have been seen by it */
	if (!r->pass_started)
		r->pass_started = p.now - 1;
	r->batch = json_array();
	for (size_t i = 0; i < p.items->elements; i++) {
		const redisReply *it = p.items->element[i];
		json_t *row = json_array();
		for (size_t k = 0; it->type == REDIS_REPLY_ARRAY && k < it->elements; k++)
			json_array_append_new(row, omr_reply_str(it->element[k]) ?
							   json_string(it->element[k]->str) : json_null());
		json_array_append_new(r->batch, row);
	}
	r->bidx = 0;
	r->batch_offered = 0;
	omr_router_next(r);
}

/* Once per start: queues stored by a version without the class index get
 * it (queue_index.lua; nothing to do after the first time). Passes wait. */
static void omr_router_indexed(void *arg, const redisReply *reply, const char *err)
{
	struct omr_router *r = arg;
	r->passing = 0;
	r->again = 0;
	if (err || !reply || reply->type != REDIS_REPLY_INTEGER) {
		omr_log_warn("router: cannot index the queues: %s", err ? err : "bad reply");
		return; /* the next pass tries again */
	}
	if (reply->integer > 0) {
		omr_log_info("router: %lld waiting conversations indexed by class", reply->integer);
	} else {
		r->indexed = 1;
	}
	event_active(r->kick_ev, EV_TIMEOUT, 0);
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
	if (!r->indexed) {
		struct omr_lua_queue_index_args a = { .max = 1000 };
		omr_lua_queue_index(r->env.store, &a, omr_router_indexed, r);
		return;
	}
	r->pass_started = 0;
	r->skip = json_object();
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
