/*
 * omr_router: see omr_router.h.
 *
 * Three jobs:
 * - classify: a new conversation goes through the rules of routing.yaml
 *   (queue, language, skills, priority, tags) and into its queue, with the
 *   reasons recorded on the conversation;
 * - dispatch: waiting conversations are offered to eligible agents, one
 *   Redis script per offer (offer.lua) so that nodes never collide;
 * - keep time: expire offers, beat, and take agents of dead nodes offline.
 * A dispatch pass runs when something changed (a kick) and every few
 * seconds anyway; passes never overlap.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_agents.h"
#include "omr_agents_conf.h"
#include "omr_core.h"
#include "omr_events.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_router.h"
#include "omr_routing_conf.h"
#include "omr_rules.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_ROUTER_PEEK 20          /* conversations looked at per queue and pass */
#define OMR_ROUTER_TICK_MS 500      /* offer expiry */
#define OMR_ROUTER_PASS_MS 2000     /* dispatch even without a kick */
#define OMR_ROUTER_REAP_MS 10000
#define OMR_ROUTER_AGING_MS 60000   /* one priority point is worth a minute of waiting */

struct omr_router {
	struct omr_core *core;
	struct event *kick_ev;
	struct event *tick_ev;
	struct event *pass_ev;
	struct event *reap_ev;
	int running;       /* a dispatch pass is under way */
	int again;         /* a kick arrived during the pass */
	int expiring;
	int reaping;
	/* the pass in progress */
	size_t qidx;       /* index into order[] */
	size_t *order;     /* queues by priority */
	size_t norder;
	json_t *batch;     /* queue_peek result being worked through */
	size_t bidx;
};

/* ---- classify ---- */

struct omr_classify {
	struct omr_router *r;
	struct omr_event *e;
};

static json_t *omr_router_facts(const json_t *conv)
{
	json_t *attrs = json_object_get(conv, "attrs"), *msgs = json_object_get(conv, "messages");
	json_t *cust = json_object_get(conv, "customer_profile"), *m;
	const char *text = "";
	size_t i;

	json_array_foreach(msgs, i, m) {
		const char *dir = json_string_value(json_object_get(m, "direction"));
		if (dir && strcmp(dir, "in") == 0) {
			text = json_string_value(json_object_get(m, "text"));
			break;
		}
	}
	json_t *f = json_pack("{s:O,s:s,s:O,s:b,s:O}", "channel", json_object_get(conv, "channel"),
			      "text", text ? text : "", "address",
			      json_object_get(conv, "address") ? json_object_get(conv, "address") : json_string(""),
			      "public", json_is_true(json_object_get(conv, "public")), "attrs",
			      json_is_object(attrs) ? attrs : json_object());
	if (!f)
		return json_object();
	static const char *const from_attrs[] = { "language", "intent", "subject", NULL };
	for (int k = 0; from_attrs[k]; k++) {
		json_t *v = json_object_get(attrs, from_attrs[k]);
		json_object_set_new(f, from_attrs[k], json_is_string(v) ? json_copy(v) : json_string(""));
	}
	json_t *c = json_object();
	static const char *const from_cust[] = { "id", "name", "email", "claimed_email", NULL };
	for (int k = 0; from_cust[k]; k++) {
		json_t *v = json_object_get(cust, from_cust[k]);
		json_object_set_new(c, from_cust[k], json_is_string(v) ? json_copy(v) : json_string(""));
	}
	json_object_set_new(f, "customer", c);
	return f;
}

/* Apply the rules to a conversation; fills the decision (new references). */
static void omr_router_decide(struct omr_router *r, const json_t *conv, const char **queue_r,
			      long long *priority_r, char **language_r, json_t **skills_r,
			      json_t **tags_r, json_t **explain_r)
{
	const struct omr_routing_conf *rc = r->core->cfg->routing;
	json_t *facts = omr_router_facts(conv);
	json_t *skills = json_object(), *tags = json_array(), *matched = json_array();
	const char *queue = rc->default_queue;
	long long priority = -1;
	char *language = omr_strdup(json_string_value(json_object_get(facts, "language")));

	for (size_t i = 0; i < rc->nrules; i++) {
		const struct omr_rule *rule = &rc->rules[i];
		char *err = NULL;
		int hit = rule->cond < 0 ? 1 : omr_rules_eval(rc->engine, rule->cond, facts, &err);
		if (hit < 0) {
			omr_log_warn("conversation %s: rule '%s' failed (taken as false): %s",
				     json_string_value(json_object_get(conv, "id")), rule->name, err);
			free(err);
			continue;
		}
		if (!hit)
			continue;
		json_array_append_new(matched, json_string(rule->name));
		if (rule->queue)
			queue = rule->queue;
		if (rule->language) {
			free(language);
			language = omr_strdup(rule->language);
			/* later rules (continue: true) see the new value */
			json_object_set_new(facts, "language", json_string(language));
		}
		if (rule->priority >= 0)
			priority = rule->priority;
		for (size_t k = 0; k < rule->nskills; k++) {
			json_int_t have = json_integer_value(json_object_get(skills, rule->skills[k].skill));
			if (rule->skills[k].min > have)
				json_object_set_new(skills, rule->skills[k].skill,
						    json_integer(rule->skills[k].min));
		}
		for (size_t k = 0; rule->tags && rule->tags[k]; k++)
			json_array_append_new(tags, json_string(rule->tags[k]));
		if (!rule->cont)
			break;
	}
	const struct omr_queue_conf *q = omr_routing_queue(rc, queue);
	for (size_t k = 0; q && k < q->nskills; k++) {
		json_int_t have = json_integer_value(json_object_get(skills, q->skills[k].skill));
		if (q->skills[k].min > have)
			json_object_set_new(skills, q->skills[k].skill, json_integer(q->skills[k].min));
	}
	if (priority < 0)
		priority = q ? q->priority : 50;
	*queue_r = queue;
	*priority_r = priority;
	*language_r = language;
	*skills_r = skills;
	*tags_r = tags;
	*explain_r = json_pack("{s:o,s:s,s:I,s:O,s:s?,s:I}", "rules", matched, "queue", queue,
			       "priority", (json_int_t)priority, "skills", skills, "language",
			       language && *language ? language : NULL, "decided_at",
			       (json_int_t)omr_now_ms());
	json_decref(facts);
}

static void omr_router_enqueued(void *arg, const redisReply *reply, const char *err)
{
	struct omr_classify *c = arg;
	struct omr_event *e = c->e;
	if (err) {
		/* Not acknowledged: the entry is read again after a reconnect
		 * or claimed later, and enqueue is idempotent. */
		omr_log_warn("router: cannot queue conversation %s: %s",
			     omr_event_get(e, "conversation"), err);
		omr_event_done(e, OMR_EVENT_RETRY);
	} else {
		if (omr_reply_int(reply, 0) == 1)
			omr_log_info("conversation %s (%s) queued", omr_event_get(e, "conversation"),
				     omr_event_get(e, "channel"));
		omr_event_done(e, OMR_EVENT_ACKED);
		omr_router_kick(c->r);
	}
	free(c);
}

static void omr_router_classify_cb(void *arg, int status, json_t *conv, const char *err)
{
	struct omr_classify *c = arg;
	struct omr_router *r = c->r;
	struct omr_event *e = c->e;
	const char *queue;
	long long priority;
	char *language;
	json_t *skills, *tags, *explain;

	if (status != OMR_OK) {
		omr_log_warn("router: cannot load conversation %s: %s",
			     omr_event_get(e, "conversation"), err);
		omr_event_done(e, OMR_EVENT_RETRY);
		free(c);
		return;
	}
	if (!conv) { /* gone (trimmed by an admin?): nothing to route */
		omr_event_done(e, OMR_EVENT_ACK);
		free(c);
		return;
	}
	omr_router_decide(r, conv, &queue, &priority, &language, &skills, &tags, &explain);
	char now[24], score[24], prio[16];
	long long t = omr_now_ms();
	snprintf(now, sizeof(now), "%lld", t);
	snprintf(score, sizeof(score), "%lld", t - priority * OMR_ROUTER_AGING_MS);
	snprintf(prio, sizeof(prio), "%lld", priority);
	char *sk = json_dumps(skills, JSON_COMPACT), *tg = json_dumps(tags, JSON_COMPACT);
	char *ex = json_dumps(explain, JSON_COMPACT);
	const char *argv[] = { e->id, omr_event_get(e, "conversation"), queue, now, OMR_EVENTS_GROUP,
			       score, prio, sk, language ? language : "", tg, ex };
	omr_store_run(r->core->store, OMR_SCRIPT_ENQUEUE, omr_router_enqueued, c, 11, argv);
	free(sk);
	free(tg);
	free(ex);
	free(language);
	json_decref(skills);
	json_decref(tags);
	json_decref(explain);
}

/* ---- a customer message in a conversation an agent has ---- */

static void omr_router_msg_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_classify *c = arg;
	struct omr_event *e = c->e;
	const char *status = omr_reply_str(omr_reply_elem(reply, 0));
	const char *agent = omr_reply_str(omr_reply_elem(reply, 1));

	if (err) {
		omr_event_done(e, OMR_EVENT_RETRY);
		free(c);
		return;
	}
	if (status && agent && *agent &&
	    (strcmp(status, "assigned") == 0 || strcmp(status, "wrapup") == 0)) {
		json_t *m = omr_model_from_hash(OMR_MODEL_MESSAGE, omr_reply_elem(reply, 2));
		if (m) {
			json_t *f = json_pack("{s:s,s:s,s:o}", "type", "message", "conversation",
					      omr_event_get(e, "conversation"), "message", m);
			omr_agents_push(c->r->core->agents, agent, f);
			json_decref(f);
		}
	}
	omr_event_done(e, OMR_EVENT_ACK);
	free(c);
}

void omr_router_on_event(void *arg, struct omr_event *e)
{
	struct omr_router *r = arg;
	struct omr_core *core = r->core;
	const char *type = omr_event_get(e, "type");
	const char *conv = omr_event_get(e, "conversation");
	const char *kind = omr_event_get(e, "kind");
	const char *isnew = omr_event_get(e, "new");
	struct omr_classify *c;

	core->stats.events_processed++;
	if (!type || strcmp(type, "message.in") != 0 || !conv) {
		omr_event_done(e, OMR_EVENT_ACK);
		return;
	}
	c = omr_calloc(1, sizeof(*c));
	c->r = r;
	c->e = e;
	if (isnew && strcmp(isnew, "1") == 0) {
		/* Auto-replies (out-of-office mail) are stored but never
		 * routed as new contacts. */
		if (kind && strcmp(kind, "auto") == 0) {
			omr_event_done(e, OMR_EVENT_ACK);
			free(c);
			return;
		}
		omr_store_conv_get(core->store, conv, 20, omr_router_classify_cb, c);
		return;
	}
	const char *argv[] = { conv, omr_event_get(e, "message") ? omr_event_get(e, "message") : "" };
	omr_store_run(core->store, OMR_SCRIPT_MSG_INFO, omr_router_msg_cb, c, 2, argv);
}

/* ---- dispatch ---- */

static int omr_router_has_language(const struct omr_agent_conf *a, const char *lang)
{
	if (!lang || !*lang || !a->languages || !a->languages[0])
		return 1; /* no language asked, or the agent serves any */
	for (size_t i = 0; a->languages[i]; i++)
		if (strcmp(a->languages[i], lang) == 0)
			return 1;
	return 0;
}

/* Agents whose skills, languages and channel fit, as offer.lua wants them:
 * (id, capacity, skill score) triples in argv; the numbers live in nums. */
struct omr_cands {
	const char **argv;
	char (*nums)[2][24];
	int n;
};

static void omr_router_candidates(struct omr_router *r, const char *channel, const json_t *skills,
				  const char *language, const char *only, struct omr_cands *c)
{
	const struct omr_agents_conf *dir = r->core->cfg->agents;
	size_t max = dir ? dir->nagents : 0;

	c->argv = omr_calloc(max * 3 + 1, sizeof(*c->argv));
	c->nums = omr_calloc(max + 1, sizeof(*c->nums));
	c->n = 0;
	for (size_t i = 0; i < max; i++) {
		const struct omr_agent_conf *a = &dir->agents[i];
		long long cap = omr_agent_capacity(a, channel), score = 0;
		const char *skill;
		json_t *min;
		int ok = cap > 0 && (only || omr_router_has_language(a, language));
		/* a conversation waiting for one agent (transferred to them by
		 * name, or requeued for them) goes to that agent, skills or not:
		 * a colleague chose them */
		if (only && strcmp(a->id, only) != 0)
			continue;
		json_object_foreach((json_t *)skills, skill, min) {
			long long lvl = omr_agent_skill_level(a, skill);
			if (lvl < json_integer_value(min) && !only)
				ok = 0;
			score += lvl;
		}
		if (!ok)
			continue;
		snprintf(c->nums[c->n][0], sizeof(c->nums[c->n][0]), "%lld", cap);
		snprintf(c->nums[c->n][1], sizeof(c->nums[c->n][1]), "%lld", score);
		c->argv[c->n * 3] = a->id;
		c->argv[c->n * 3 + 1] = c->nums[c->n][0];
		c->argv[c->n * 3 + 2] = c->nums[c->n][1];
		c->n++;
	}
}

static void omr_cands_free(struct omr_cands *c)
{
	free(c->argv);
	free(c->nums);
}

static void omr_router_next(struct omr_router *r);

static void omr_router_pass_done(struct omr_router *r)
{
	json_decref(r->batch);
	r->batch = NULL;
	free(r->order);
	r->order = NULL;
	r->running = 0;
	if (r->again) {
		r->again = 0;
		omr_router_kick(r);
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
		omr_log_info("conversation %s offered to %s (%s)", conv, agent, offer);
		omr_agents_send_offer(r->core->agents, agent, offer, conv);
	}
	omr_router_next(r);
}

static int omr_router_try(struct omr_router *r, json_t *item, const char *queue)
{
	const struct omr_queue_conf *qc = omr_routing_queue(r->core->cfg->routing, queue);
	const char *conv = json_string_value(json_array_get(item, 0));
	const char *channel = json_string_value(json_array_get(item, 1));
	const char *skills_s = json_string_value(json_array_get(item, 2));
	const char *language = json_string_value(json_array_get(item, 3));
	const char *prefer = json_string_value(json_array_get(item, 4));
	const char *until = json_string_value(json_array_get(item, 5));
	long long until_ms = 0;
	json_t *skills = skills_s ? json_loads(skills_s, 0, NULL) : NULL;
	struct omr_cands cands;
	char oid[OMR_ID_MAX], now[24], timeout[24], ncand[16];
	int n;

	if (!conv || !channel || !qc) {
		json_decref(skills);
		return 0;
	}
	if (!prefer || !*prefer || !until || omr_parse_ll(until, &until_ms) < 0 ||
	    until_ms <= omr_now_ms())
		prefer = NULL;
	omr_router_candidates(r, channel, json_is_object(skills) ? skills : NULL, language, prefer,
			      &cands);
	json_decref(skills);
	n = cands.n;
	if (n == 0) {
		omr_cands_free(&cands);
		return 0;
	}
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	snprintf(timeout, sizeof(timeout), "%lld", r->core->cfg->routing->offers.timeout);
	snprintf(ncand, sizeof(ncand), "%d", n);
	size_t argc = 7 + (size_t)n * 3;
	const char **argv = omr_calloc(argc, sizeof(*argv));
	argv[0] = conv;
	argv[1] = queue;
	argv[2] = omr_id_new(oid, "o_");
	argv[3] = now;
	argv[4] = timeout;
	argv[5] = omr_strategy_names[qc->strategy];
	argv[6] = ncand;
	memcpy(argv + 7, cands.argv, (size_t)n * 3 * sizeof(*argv));
	omr_store_run(r->core->store, OMR_SCRIPT_OFFER, omr_router_offer_cb, r, (int)argc, argv);
	free(argv);
	omr_cands_free(&cands);
	return 1;
}

static void omr_router_peek_cb(void *arg, const redisReply *reply, const char *err);

static void omr_router_peek(struct omr_router *r)
{
	const struct omr_routing_conf *rc = r->core->cfg->routing;
	char n[16];
	if (r->qidx >= r->norder || r->order[r->qidx] >= rc->nqueues) {
		omr_router_pass_done(r);
		return;
	}
	snprintf(n, sizeof(n), "%d", OMR_ROUTER_PEEK);
	const char *argv[] = { rc->queues[r->order[r->qidx]].name, n };
	omr_store_run(r->core->store, OMR_SCRIPT_QUEUE_PEEK, omr_router_peek_cb, r, 2, argv);
}

/* Work through the current batch; when it is done, the next queue. */
static void omr_router_next(struct omr_router *r)
{
	const struct omr_routing_conf *rc = r->core->cfg->routing;
	while (r->batch && r->bidx < json_array_size(r->batch)) {
		json_t *item = json_array_get(r->batch, r->bidx++);
		if (r->order[r->qidx] < rc->nqueues &&
		    omr_router_try(r, item, rc->queues[r->order[r->qidx]].name))
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

static void omr_router_dispatch(evutil_socket_t fd, short what, void *arg)
{
	struct omr_router *r = arg;
	const struct omr_routing_conf *rc = r->core->cfg->routing;

	if (r->core->state != OMR_CORE_RUNNING || !omr_redis_ready(r->core->redis))
		return;
	if (r->running) {
		r->again = 1;
		return;
	}
	r->running = 1;
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

void omr_router_kick(struct omr_router *r)
{
	if (r && r->kick_ev)
		event_active(r->kick_ev, EV_TIMEOUT, 0);
}

/* ---- time ---- */

struct omr_expiry {
	struct omr_router *r;
	int pending;
};

static void omr_router_expired_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_expiry *x = arg;
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));
	if (!err && tag && strcmp(tag, "ok") == 0 && reply->elements >= 4) {
		const char *conv = omr_reply_str(reply->element[1]);
		const char *agent = omr_reply_str(reply->element[2]);
		const char *away = omr_reply_str(reply->element[3]);
		if (agent) {
			omr_log_info("offer of conversation %s to %s expired", conv, agent);
			/* the offer id is gone from Redis; the console matches
			 * revoked offers by id, which it has */
			omr_agents_revoked(x->r->core->agents, agent,
					   omr_reply_str(omr_reply_elem(reply, 4)) ?
						   omr_reply_str(omr_reply_elem(reply, 4)) : "",
					   "expired");
			if (away && strcmp(away, "1") == 0) {
				omr_log_info("agent %s set away after missed offers", agent);
				omr_agents_presence_changed(x->r->core->agents, agent, "away",
							    "missed offers");
			}
		}
	}
	if (--x->pending == 0) {
		x->r->expiring = 0;
		omr_router_kick(x->r);
		free(x);
	}
}

static void omr_router_due_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_router *r = arg;
	const struct omr_routing_conf *rc = r->core->cfg->routing;
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
		omr_store_run(r->core->store, OMR_SCRIPT_OFFER_END, omr_router_expired_cb, x, 6, argv);
	}
}

static void omr_router_tick(evutil_socket_t fd, short what, void *arg)
{
	struct omr_router *r = arg;
	char now[24];
	if (r->expiring || r->core->state != OMR_CORE_RUNNING || !omr_redis_ready(r->core->redis))
		return;
	r->expiring = 1;
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	const char *argv[] = { now, "50" };
	omr_store_run(r->core->store, OMR_SCRIPT_OFFERS_DUE, omr_router_due_cb, r, 2, argv);
}

static void omr_router_reap_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_router *r = arg;
	r->reaping = 0;
	for (size_t i = 0; !err && reply && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
		const char *agent = omr_reply_str(reply->element[i]);
		if (agent) {
			omr_log_warn("agent %s: their node stopped; taking them offline", agent);
			omr_agents_offline(r->core->agents, agent, "node stopped", 0);
		}
	}
}

static void omr_router_reap(evutil_socket_t fd, short what, void *arg)
{
	struct omr_router *r = arg;
	char now[24];
	if (r->reaping || r->core->state != OMR_CORE_RUNNING || !omr_redis_ready(r->core->redis))
		return;
	r->reaping = 1;
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	const char *argv[] = { now };
	omr_store_run(r->core->store, OMR_SCRIPT_REAP, omr_router_reap_cb, r, 1, argv);
}

/* ---- lifecycle ---- */

struct omr_router *omr_router_new(struct omr_core *core)
{
	struct omr_router *r = omr_calloc(1, sizeof(*r));
	r->core = core;
	r->kick_ev = event_new(core->base, -1, 0, omr_router_dispatch, r);
	r->tick_ev = event_new(core->base, -1, EV_PERSIST, omr_router_tick, r);
	r->pass_ev = event_new(core->base, -1, EV_PERSIST, omr_router_dispatch, r);
	r->reap_ev = event_new(core->base, -1, EV_PERSIST, omr_router_reap, r);
	return r;
}

void omr_router_start(struct omr_router *r)
{
	struct timeval tick = { 0, OMR_ROUTER_TICK_MS * 1000 };
	struct timeval pass = { OMR_ROUTER_PASS_MS / 1000, (OMR_ROUTER_PASS_MS % 1000) * 1000 };
	struct timeval reap = { OMR_ROUTER_REAP_MS / 1000, 0 };
	event_add(r->tick_ev, &tick);
	event_add(r->pass_ev, &pass);
	event_add(r->reap_ev, &reap);
	omr_router_kick(r);
}

void omr_router_stop(struct omr_router *r)
{
	event_del(r->tick_ev);
	event_del(r->pass_ev);
	event_del(r->reap_ev);
	event_del(r->kick_ev);
}

void omr_router_free(struct omr_router *r)
{
	if (!r)
		return;
	event_free(r->kick_ev);
	event_free(r->tick_ev);
	event_free(r->pass_ev);
	event_free(r->reap_ev);
	json_decref(r->batch);
	free(r->order);
	free(r);
}
