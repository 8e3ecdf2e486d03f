/*
 * omr_router_dispatch: dispatch passes (omr_router_int.h). A pass walks the
 * queues by priority and, in each, the waiting conversations in order: the
 * front of the queue and the best few of every class of conversations that
 * need the same (queue.lib), so that however many wait for a busy agent,
 * one that a free agent can take is seen. What is read is offered in one
 * script call (offer.lua: atomic, so that nodes never collide; one round
 * trip however many agents are free). When nobody could take any
 * conversation of a class (everyone fitting is busy), the rest of the class
 * is skipped for the pass. Escalation steps and max-wait actions apply on
 * the way. Once a conversation of the pass found nobody, an agent who frees
 * up starts the pass again from the best waiting conversation (the one that
 * found nobody may deserve them). Every time compared is Redis' clock.
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

/* Read from the front of each queue: as many as were offered lately (every
 * one read offered: twice as many next time; fewer than half: half as
 * many), within these bounds: when agents are free, few round trips; when
 * all are busy, little read in vain. */
#define OMR_ROUTER_FRONT_MIN 4
#define OMR_ROUTER_FRONT_MAX 128
#define OMR_ROUTER_BUILD_TRIES 3   /* 'build' answers in a row that read the queue again */
#define OMR_ROUTER_CLASSES 64       /* classes looked at per queue and pass */
#define OMR_ROUTER_PER_CLASS 3      /* the best of each class */

/* the fields of a queue_peek item */
enum { OMR_PK_ID, OMR_PK_CHANNEL, OMR_PK_SKILLS, OMR_PK_LANGUAGE, OMR_PK_PREFER,
       OMR_PK_PREFER_UNTIL, OMR_PK_QUEUED_AT, OMR_PK_SCORE, OMR_PK_MAX_WAIT_DONE,
       OMR_PK_ESC_STEP, OMR_PK_STRATEGY, OMR_PK_CLASS, OMR_PK_TEAM, OMR_PK_TEAM_UNTIL };

static void omr_router_next(struct omr_router *r);
static void omr_router_peek(struct omr_router *r);
static void omr_router_tries_free(struct omr_router *r);

void omr_router_pass_free(struct omr_router *r)
{
	json_decref(r->batch);
	r->batch = NULL;
	json_decref(r->skip);
	r->skip = NULL;
	omr_router_tries_free(r);
	r->miss_at = 0;
	r->restart = 0;
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
		} else if (a->kind == OMR_ACTION_CALLBACK) {
			omr_log_info("conversation %s waited longer than %s's max wait: callback",
				     conv, q->name);
			omr_router_callback(r, conv, omr_item_str(item, OMR_PK_CHANNEL),
					    omr_item_str(item, OMR_PK_LANGUAGE), q->name, 0);
			return 1;
		} else if (a->kind != OMR_ACTION_NONE) {
			char *text = omr_route_text(a->text, q->cal, omr_store_now_ms(r->env.store), 0, 0);
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

/* The batch being built: per conversation, what offer.lua is sent */
struct omr_router_batch {
	const char **rest;       /* offer.lua's @rest */
	size_t nrest, cap;
	struct omr_cands *lists; /* the lists of pools to build (freed after the call) */
	size_t nlists;
	char (*oids)[OMR_ID_MAX];
	char (*ns)[16];          /* the "n" of each conversation, as text */
};

static void omr_batch_push(struct omr_router_batch *b, const char *s)
{
	if (b->nrest == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->rest = omr_realloc(b->rest, b->cap * sizeof(*b->rest));
	}
	b->rest[b->nrest++] = s;
}

/* Add item to the batch (r->tries gets its entry), unless it is not
 * offered in this pass (moved on, nobody fits, its class is known to be
 * busy). */
static void omr_router_try(struct omr_router *r, struct omr_router_batch *b, size_t idx,
			  const struct omr_queue_conf *qc)
{
	json_t *item = json_array_get(r->batch, idx);
	const char *conv = omr_item_str(item, OMR_PK_ID);
	const char *channel = omr_item_str(item, OMR_PK_CHANNEL);
	const char *language = omr_item_str(item, OMR_PK_LANGUAGE);
	const char *prefer = omr_item_str(item, OMR_PK_PREFER);
	long long now = r->peek_now;
	long long waited = now - omr_item_ll(item, OMR_PK_QUEUED_AT);
	struct omr_escalation esc;
	struct omr_cands cands;
	const char *strategy = omr_strategy_names[qc->strategy];
	char *skip;

	/* a moment of truth carries its own strategy (decided at classify) */
	for (int i = 0; omr_strategy_names[i]; i++)
		if (strcmp(omr_item_str(item, OMR_PK_STRATEGY), omr_strategy_names[i]) == 0)
			strategy = omr_strategy_names[i];

	if (!*conv || !*channel)
		return;
	if (omr_router_escalate(r, item, qc, waited, &esc))
		return;
	if (!*prefer || omr_item_ll(item, OMR_PK_PREFER_UNTIL) <= now)
		prefer = NULL;
	/* after the contact person, their team for a while (not a class of
	 * its own: who is busy for it says nothing of the others) */
	const char *team = omr_item_str(item, OMR_PK_TEAM);
	if (prefer || !*team || omr_item_ll(item, OMR_PK_TEAM_UNTIL) <= now)
		team = NULL;
	skip = prefer || team || !*omr_item_str(item, OMR_PK_CLASS) ? NULL
								  : omr_router_skip_key(item, &esc);
	if (skip && json_object_get(r->skip, skip)) {
		free(skip);
		return;
	}
	struct omr_pool_kind kind = {
		.queue = qc, .channel = channel, .skills = omr_item_str(item, OMR_PK_SKILLS),
		.language = language, .prefer = prefer, .team = team, .strategy = strategy,
		.esc = &esc,
	};
	/* the list only with the first conversation of the batch from a pool
	 * not known to be built */
	struct omr_pool *pool = omr_router_pool(r, &kind, r->batch_no, &cands);
	if (pool->n == 0 && team) { /* nobody of the team fits: anyone */
		omr_cands_free(&cands);
		kind.team = NULL;
		pool = omr_router_pool(r, &kind, r->batch_no, &cands);
	}
	if (pool->n == 0) {
		omr_cands_free(&cands);
		free(skip);
		return;
	}
	struct omr_router_try *t = &r->tries[r->ntries];
	t->item = idx;
	t->skip = skip;
	t->pool = pool;
	omr_batch_push(b, conv);
	omr_batch_push(b, omr_id_new(b->oids[r->ntries], "o_"));
	omr_batch_push(b, strategy);
	omr_batch_push(b, pool->id);
	snprintf(b->ns[r->ntries], sizeof(b->ns[r->ntries]), "%d", cands.n * 3);
	omr_batch_push(b, b->ns[r->ntries]);
	for (int i = 0; i < cands.n * 3; i++)
		omr_batch_push(b, cands.argv[i]);
	b->lists[b->nlists++] = cands;
	r->ntries++;
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
		.queue = q->name, .n = r->front, .classes = OMR_ROUTER_CLASSES,
		.per_class = OMR_ROUTER_PER_CLASS,
	};
	omr_lua_queue_peek(r->env.store, &a, omr_router_peek_cb, r);
}

static void omr_router_tries_free(struct omr_router *r)
{
	for (size_t i = 0; i < r->ntries; i++)
		free(r->tries[i].skip);
	free(r->tries);
	r->tries = NULL;
	r->ntries = 0;
}

/* Done with the batch read from the current queue: read it again when
 * every conversation read was offered (there may be agents free for the
 * ones behind; what was offered has left it), else the next queue. */
static void omr_router_batch_done(struct omr_router *r, int again)
{
	omr_router_tries_free(r);
	json_decref(r->batch);
	r->batch = NULL;
	if (!again)
		r->qidx++;
	omr_router_peek(r);
}

/* a conversation of the pass found nobody: an agent who changes after
 * this (Redis' clock; one millisecond back, for a change in the same
 * millisecond) may deserve it */
static void omr_router_missed(struct omr_router *r, long long now)
{
	if (!r->miss_at)
		r->miss_at = now - 1;
}

static void omr_router_offered(struct omr_router *r, json_t *item, const redisReply *res)
{
	const char *conv = omr_item_str(item, OMR_PK_ID);
	const char *agent = omr_reply_str(res->element[1]), *offer = omr_reply_str(res->element[2]);
	json_t *summary;

	if (!agent || !offer)
		return;
	summary = omr_store_offer_summary(res->element[5], omr_reply_str(res->element[6]),
					  omr_reply_str(res->element[7]));
	struct omr_hub_event ev = {
		.type = OMR_HUB_OFFERED, .agent = agent, .offer = offer,
		.conversation = conv, .frame = summary,
		.at = omr_env_cfg(&r->env)->routing->offers.timeout,
	};
	omr_log_info("conversation %s offered to %s (%s)", conv, agent, offer);
	r->offers++;
	omr_hub_emit(r->env.hub, &ev);
	/* the customer's queue position is over: somebody has it in front of them */
	json_t *said = json_pack("{s:s}", "event", "offered");
	omr_channels_notice(r->channels, conv, json_string_value(json_object_get(summary, "channel")),
			    res->elements > 9 ? omr_reply_str(res->element[8]) : NULL,
			    res->elements > 9 ? omr_reply_str(res->element[9]) : NULL, said);
	json_decref(said);
	json_decref(summary);
}

static void omr_router_offer_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_router *r = arg;
	struct omr_lua_offer_reply o;
	size_t n = json_array_size(r->batch), offered = 0;
	int reread = 0;

	if (!r->running) {
		omr_router_pass_done(r);
		return;
	}
	if (err || omr_lua_offer_reply(reply, &o) < 2 || !o.results ||
	    o.results->type != REDIS_REPLY_ARRAY) {
		omr_log_warn("router: offer failed: %s", err ? err : "bad reply");
		omr_router_pass_done(r);
		return;
	}
	for (size_t i = 0; i < r->ntries && i < o.results->elements; i++) {
		struct omr_router_try *t = &r->tries[i];
		const redisReply *res = o.results->element[i];
		const char *tag = omr_reply_str(omr_reply_elem(res, 0));
		if (!tag)
			tag = "";
		if (strcmp(tag, "build") == 0) {
			/* the pool is not in Redis (first use, expired, a new
			 * Redis): the queue again, the list with the next offer
			 * from it (the rest of the call was left untried) */
			t->pool->built = 0;
			if (t->pool->retried++ < OMR_ROUTER_BUILD_TRIES)
				reread = 1;
			omr_router_missed(r, o.now);
			continue;
		}
		if (strcmp(tag, "gone") == 0 || strcmp(tag, "skipped") == 0)
			continue;
		if (strcmp(tag, "error") == 0) {
			const char *why = omr_reply_str(omr_reply_elem(res, 1));
			omr_log_warn("router: cannot offer conversation %s: %s",
				     omr_item_str(json_array_get(r->batch, t->item), OMR_PK_ID),
				     why ? why : "");
			omr_router_missed(r, o.now);
			continue;
		}
		t->pool->built = 1;
		t->pool->retried = 0;
		if (strcmp(tag, "ok") == 0 && res->elements >= 8) {
			omr_router_offered(r, json_array_get(r->batch, t->item), res);
			offered++;
		} else if (strcmp(tag, "restart") == 0) {
			r->restart = 1;
		} else if (strcmp(tag, "wait") == 0) {
			omr_router_missed(r, o.now);
		} else if (strcmp(tag, "none") == 0) {
			omr_router_missed(r, o.now);
			/* nobody who fits is free: neither is anyone for the rest
			 * of the class at this escalation step */
			const char *scope = omr_reply_str(omr_reply_elem(res, 4));
			if (t->skip && scope && strcmp(scope, "class") == 0)
				json_object_set_new(r->skip, t->skip, json_true());
		}
	}
	/* An agent changed after a conversation of this pass found nobody:
	 * start again from the best waiting conversation rather than let a
	 * later one take what an earlier one could not get. (A kick alone
	 * does not: offer.lua sees such an agent itself.) */
	if (r->restart) {
		r->again = 1;
		omr_router_pass_done(r);
		return;
	}
	if (n > 0 && offered == n)
		r->front = r->front * 2 > OMR_ROUTER_FRONT_MAX ? OMR_ROUTER_FRONT_MAX : r->front * 2;
	else if (offered * 2 < n)
		r->front = r->front / 2 < OMR_ROUTER_FRONT_MIN ? OMR_ROUTER_FRONT_MIN : r->front / 2;
	omr_router_batch_done(r, reread || (n > 0 && offered == n));
}

/* Offer what was read from the current queue, in one call. */
static void omr_router_next(struct omr_router *r)
{
	const struct omr_queue_conf *q = omr_router_current(r);
	size_t n = r->batch ? json_array_size(r->batch) : 0;
	struct omr_router_batch b = { 0 };

	if (!q || n == 0) {
		omr_router_batch_done(r, 0);
		return;
	}
	r->batch_no++;
	r->tries = omr_calloc(n, sizeof(*r->tries));
	b.oids = omr_calloc(n, sizeof(*b.oids));
	b.ns = omr_calloc(n, sizeof(*b.ns));
	b.lists = omr_calloc(n, sizeof(*b.lists));
	for (size_t i = 0; i < n; i++)
		omr_router_try(r, &b, i, q);
	if (r->ntries > 0) {
		struct omr_lua_offer_args a = {
			.queue = q->name, .timeout = omr_env_cfg(&r->env)->routing->offers.timeout,
			.pass = r->miss_at ? r->miss_at : OMR_ROUTER_NO_MISS,
			.offers = b.rest, .noffers = b.nrest,
		};
		omr_lua_offer(r->env.store, &a, omr_router_offer_cb, r);
	}
	for (size_t i = 0; i < b.nlists; i++)
		omr_cands_free(&b.lists[i]);
	free(b.lists);
	free(b.ns);
	free(b.oids);
	free(b.rest);
	if (r->ntries == 0)
		omr_router_batch_done(r, 0);
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
	r->batch = json_array();
	for (size_t i = 0; i < p.items->elements; i++) {
		const redisReply *it = p.items->element[i];
		json_t *row = json_array();
		for (size_t k = 0; it->type == REDIS_REPLY_ARRAY && k < it->elements; k++)
			json_array_append_new(row, omr_reply_str(it->element[k]) ?
							   json_string(it->element[k]->str) : json_null());
		json_array_append_new(r->batch, row);
	}
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
	r->miss_at = 0;
	r->restart = 0;
	if (r->front < OMR_ROUTER_FRONT_MIN)
		r->front = OMR_ROUTER_FRONT_MIN;
	omr_router_pools_check(r);
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
