/*
 * omr_router: see omr_router.h; the decisions themselves are in omr_route.c.
 *
 * Four jobs, all driven by events and timers on the main loop:
 * - classify: a new conversation goes through the rules and the value
 *   matrix (omr_route_decide): answered automatically, or put in its queue
 *   (out-of-hours actions applied), with the reasons recorded;
 * - dispatch: waiting conversations are offered to eligible agents, one
 *   Redis script per offer (offer.lua) so that nodes never collide;
 *   escalation steps and max-wait actions apply on the way;
 * - tell waiting customers their position and the expected wait;
 * - keep time: expire offers, take agents of dead nodes offline.
 * A dispatch pass runs when something changed (a kick) and every few
 * seconds anyway; passes never overlap.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omr_agents.h"
#include "omr_agents_conf.h"
#include "omr_bots.h"
#include "omr_core.h"
#include "omr_events.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_plugin.h"
#include "omr_route.h"
#include "omr_router.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_ROUTER_PEEK 20          /* conversations looked at per queue and pass */
#define OMR_ROUTER_TICK_MS 500      /* offer expiry */
#define OMR_ROUTER_PASS_MS 2000     /* dispatch even without a kick */
#define OMR_ROUTER_STATUS_MS 1000   /* position updates */
#define OMR_ROUTER_REAP_MS 10000

struct omr_router {
	struct omr_core *core;
	struct event *kick_ev;
	struct event *tick_ev;
	struct event *pass_ev;
	struct event *status_ev;
	struct event *reap_ev;
	int running;       /* a dispatch pass is under way */
	int again;         /* a kick arrived during the pass */
	int expiring;
	int reaping;
	int statusing;
	/* the pass in progress */
	size_t qidx;
	size_t *order;     /* queues by priority */
	size_t norder;
	json_t *batch;     /* queue_peek result being worked through */
	size_t bidx;
	long long pass_started;
};

static void omr_router_noop_cb(void *arg, const redisReply *reply, const char *err)
{
	if (err)
		omr_log_warn("router: %s: %s", arg ? (const char *)arg : "update", err);
}

/* ---- engagement ---- */

void omr_router_engage(struct omr_router *r, const char *customer, const char *event,
		       const char *conversation)
{
	const struct omr_routing_conf *rc = r->core->cfg->routing;
	long long pts = omr_engagement_points(rc, event);
	char p[24], now[24], mn[24], mx[24];
	if (!pts || !customer || !*customer)
		return;
	snprintf(p, sizeof(p), "%lld", pts);
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	snprintf(mn, sizeof(mn), "%lld", rc->engagement.min);
	snprintf(mx, sizeof(mx), "%lld", rc->engagement.max);
	const char *argv[] = { customer, p, event, conversation ? conversation : "", now, mn, mx };
	omr_store_run(r->core->store, OMR_SCRIPT_ENGAGE, omr_router_noop_cb, "engagement", 7, argv);
	omr_log_debug("customer %s: engagement %+lld (%s)", customer, pts, event);
}

/* ---- telling the customer ---- */

/* A system message to the customer: stored, then delivered. */
struct omr_sysmsg {
	struct omr_router *r;
	char *conversation;
	char *text;
};

static void omr_router_sysmsg_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_sysmsg *m = arg;
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));
	if (!err && tag && (strcmp(tag, "ok") == 0) && reply->elements >= 5) {
		struct omr_outbound out = {
			.conversation = m->conversation,
			.message = omr_reply_str(reply->element[1]),
			.kind = "message",
			.address = omr_reply_str(reply->element[3]),
			.thread = omr_reply_str(reply->element[4]),
			.author = "system",
			.text = m->text,
		};
		omr_core_deliver(m->r->core, omr_reply_str(reply->element[2]), &out);
	} else if (err) {
		omr_log_warn("conversation %s: message to the customer not stored: %s",
			     m->conversation, err);
	}
	free(m->conversation);
	free(m->text);
	free(m);
}

void omr_router_tell(struct omr_router *r, const char *conv, const char *text)
{
	struct omr_sysmsg *m = omr_calloc(1, sizeof(*m));
	char mid[OMR_ID_MAX], now[24], ttl[24], cmid[OMR_ID_MAX + 8];
	m->r = r;
	m->conversation = omr_strdup(conv);
	m->text = omr_strdup(text);
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	snprintf(ttl, sizeof(ttl), "%lld", r->core->cfg->limits.dedup_ttl);
	omr_id_new(mid, "m_");
	snprintf(cmid, sizeof(cmid), "sys-%s", mid);
	const char *argv[] = { conv, "omniroute", "", text, cmid, mid, now, ttl, "system" };
	omr_store_run(r->core->store, OMR_SCRIPT_REPLY, omr_router_sysmsg_cb, m, 9, argv);
}

/* ---- classify ---- */

struct omr_classify {
	struct omr_router *r;
	struct omr_event *e;
	char *customer;
	char *conversation;
	char *tell;          /* a message for the customer once queued */
	int complaint, repeat;
	int automatic;       /* an auto-reply: shown, never a reason to act */
};

static void omr_classify_free(struct omr_classify *c)
{
	free(c->customer);
	free(c->conversation);
	free(c->tell);
	free(c);
}

static json_t *omr_router_facts(const struct omr_routing_conf *rc, const json_t *conv,
				int *repeat_r)
{
	json_t *attrs = json_object_get(conv, "attrs"), *msgs = json_object_get(conv, "messages");
	json_t *cust = json_object_get(conv, "customer_profile"), *m;
	const char *text = "";
	size_t i;
	long long now = omr_now_ms();

	json_array_foreach(msgs, i, m) {
		const char *dir = json_string_value(json_object_get(m, "direction"));
		if (dir && strcmp(dir, "in") == 0) {
			text = json_string_value(json_object_get(m, "text"));
			break;
		}
	}
	json_t *f = json_pack("{s:O,s:s,s:O,s:b,s:O,s:O}", "channel", json_object_get(conv, "channel"),
			      "text", text ? text : "", "address",
			      json_object_get(conv, "address") ? json_object_get(conv, "address") : json_string(""),
			      "public", json_is_true(json_object_get(conv, "public")), "attrs",
			      json_is_object(attrs) ? attrs : json_object(), "conversation",
			      json_object_get(conv, "id"));
	if (!f)
		return json_object();
	static const char *const from_attrs[] = { "language", "intent", "subject", NULL };
	for (int k = 0; from_attrs[k]; k++) {
		json_t *v = json_object_get(attrs, from_attrs[k]);
		json_object_set_new(f, from_attrs[k], json_is_string(v) ? json_copy(v) : json_string(""));
	}
	json_t *c = json_object();
	static const char *const from_cust[] = { "id", "name", "email", "claimed_email", "last_agent",
						 NULL };
	for (int k = 0; from_cust[k]; k++) {
		json_t *v = json_object_get(cust, from_cust[k]);
		json_object_set_new(c, from_cust[k], json_is_string(v) ? json_copy(v) : json_string(""));
	}
	long long balance = json_integer_value(json_object_get(cust, "balance"));
	long long last = json_integer_value(json_object_get(cust, "last_closed_at"));
	*repeat_r = last > 0 && now - last < rc->engagement.repeat_days * 86400000LL;
	json_object_set_new(c, "balance", json_integer(balance));
	json_object_set_new(c, "at_risk", json_boolean(balance < rc->engagement.low));
	json_object_set_new(c, "repeat", json_boolean(*repeat_r));
	json_object_set_new(f, "customer", c);
	time_t t = time(NULL);
	struct tm tm;
	static const char *const wd[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
	gmtime_r(&t, &tm);
	json_object_set_new(f, "hour", json_integer(tm.tm_hour));
	json_object_set_new(f, "weekday", json_string(wd[tm.tm_wday]));
	return f;
}

/* Whether the bot tier can take conversations (routing.yaml `bot:`). */
static int omr_router_bots(struct omr_core *core)
{
	return omr_bots_plugin(core) != NULL;
}

static void omr_router_classified(struct omr_classify *c)
{
	if (c->complaint)
		omr_router_engage(c->r, c->customer, "complaint", c->conversation);
	if (c->repeat)
		omr_router_engage(c->r, c->customer, "repeat_contact", c->conversation);
}

static void omr_router_enqueued(void *arg, const redisReply *reply, const char *err)
{
	struct omr_classify *c = arg;
	struct omr_event *e = c->e;
	if (err) {
		/* Not acknowledged: the entry is read again after a reconnect
		 * or claimed later, and enqueue is idempotent. */
		omr_log_warn("router: cannot queue conversation %s: %s", c->conversation, err);
		omr_event_done(e, OMR_EVENT_RETRY);
	} else {
		if (omr_reply_int(reply, 0) == 1) {
			omr_log_info("conversation %s (%s) queued", c->conversation,
				     omr_event_get(e, "channel"));
			omr_router_classified(c);
			if (c->tell)
				omr_router_tell(c->r, c->conversation, c->tell);
		}
		omr_event_done(e, OMR_EVENT_ACKED);
		omr_router_kick(c->r);
		event_active(c->r->status_ev, EV_TIMEOUT, 0);
	}
	omr_classify_free(c);
}

static void omr_router_closed_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_classify *c = arg;
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));
	if (err) {
		omr_log_warn("router: cannot answer conversation %s: %s", c->conversation, err);
		omr_event_done(c->e, OMR_EVENT_RETRY);
		omr_classify_free(c);
		return;
	}
	if (tag && strcmp(tag, "ok") == 0 && reply->elements >= 4) {
		omr_log_info("conversation %s answered automatically and closed", c->conversation);
		omr_router_classified(c);
		struct omr_outbound out = {
			.conversation = c->conversation,
			.message = json_string_value(json_object_get(c->e->fields, "_answer")),
			.kind = "message",
			.address = omr_reply_str(reply->element[2]),
			.thread = omr_reply_str(reply->element[3]),
			.author = "system",
			.text = c->tell,
		};
		omr_core_deliver(c->r->core, omr_reply_str(reply->element[1]), &out);
	}
	omr_event_done(c->e, OMR_EVENT_ACKED);
	omr_classify_free(c);
}

/* Eliminate: the automatic answer, closed (or parked), the trigger counted. */
static void omr_router_eliminate(struct omr_classify *c, const struct omr_decision *d)
{
	char now[24], day[16], mid[OMR_ID_MAX];
	char *ex = json_dumps(d->explain, JSON_COMPACT), *tags;
	json_t *t = json_deep_copy(d->tags);
	json_array_append_new(t, json_string(d->elim_reason));
	tags = json_dumps(t, JSON_COMPACT);
	json_decref(t);
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	omr_day(day, sizeof(day));
	omr_id_new(mid, "m_");
	json_object_set_new(c->e->fields, "_answer", json_string(mid));
	c->tell = omr_strdup(d->elim_text);
	char prio[24], *sk = json_dumps(d->skills, JSON_COMPACT);
	snprintf(prio, sizeof(prio), "%lld", d->priority);
	const char *argv[] = { c->e->id, OMR_EVENTS_GROUP, c->conversation, now, day, mid,
			       d->elim_text, d->elim_reason, ex, tags,
			       d->elim_park ? "park" : "close", d->queue, prio, sk,
			       d->language ? d->language : "" };
	if (d->elim_park) /* parked: closed later if the customer says nothing more */
		omr_bots_active(c->r->core->bots, c->conversation);
	omr_store_run(c->r->core->store, OMR_SCRIPT_AUTO_CLOSE, omr_router_closed_cb, c, 15, argv);
	free(sk);
	free(ex);
	free(tags);
}

static void omr_router_botted(void *arg, const redisReply *reply, const char *err)
{
	struct omr_classify *c = arg;
	if (err) {
		omr_log_warn("router: cannot hand conversation %s to the bot: %s", c->conversation, err);
		omr_event_done(c->e, OMR_EVENT_RETRY);
	} else {
		if (omr_reply_int(reply, 0) == 1) {
			omr_log_info("conversation %s (%s) goes to the bot tier", c->conversation,
				     omr_event_get(c->e, "channel"));
			omr_router_classified(c);
			omr_bots_turn(c->r->core->bots, c->conversation);
		}
		omr_event_done(c->e, OMR_EVENT_ACKED);
	}
	omr_classify_free(c);
}

/* The bot tier: the queue routing chose is kept for a later hand-off. */
static void omr_router_to_bot(struct omr_classify *c, const struct omr_decision *d)
{
	struct omr_plugin *p = omr_bots_plugin(c->r->core);
	char now[24], prio[16];
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	snprintf(prio, sizeof(prio), "%lld", d->priority);
	char *sk = json_dumps(d->skills, JSON_COMPACT), *tg = json_dumps(d->tags, JSON_COMPACT);
	char *ex = json_dumps(d->explain, JSON_COMPACT);
	const char *argv[] = { c->e->id, OMR_EVENTS_GROUP, c->conversation, p->name, d->queue, now,
			       prio, sk, d->language ? d->language : "", tg, ex };
	omr_store_run(c->r->core->store, OMR_SCRIPT_TO_BOT, omr_router_botted, c, 11, argv);
	free(sk);
	free(tg);
	free(ex);
}

static void omr_router_classify_cb(void *arg, int status, json_t *conv, const char *err)
{
	struct omr_classify *c = arg;
	struct omr_router *r = c->r;
	const struct omr_routing_conf *rc = r->core->cfg->routing;
	struct omr_event *e = c->e;
	struct omr_decision d;
	const char *last_agent;
	json_t *facts;
	size_t i;
	json_t *tag;

	if (status != OMR_OK) {
		omr_log_warn("router: cannot load conversation %s: %s", c->conversation, err);
		omr_event_done(e, OMR_EVENT_RETRY);
		omr_classify_free(c);
		return;
	}
	if (!conv) { /* gone: nothing to route */
		omr_event_done(e, OMR_EVENT_ACK);
		omr_classify_free(c);
		return;
	}
	c->customer = omr_strdup(json_string_value(json_object_get(conv, "customer")));
	facts = omr_router_facts(rc, conv, &c->repeat);
	omr_route_decide(rc, facts, omr_router_bots(r->core), &d);
	json_array_foreach(d.tags, i, tag)
		if (json_is_string(tag) && strcmp(json_string_value(tag), "complaint") == 0)
			c->complaint = 1;
	if (d.elim_text) {
		omr_router_eliminate(c, &d);
		omr_decision_release(&d);
		json_decref(facts);
		return;
	}
	if (d.tier == OMR_TIER_BOT) {
		omr_router_to_bot(c, &d);
		omr_decision_release(&d);
		json_decref(facts);
		return;
	}

	/* out of hours */
	const struct omr_queue_conf *q = omr_routing_queue(rc, d.queue);
	long long now = omr_now_ms();
	if (q && q->cal && !omr_calendar_open(q->cal, now) && q->out_of_hours.kind != OMR_ACTION_NONE) {
		const struct omr_action *a = &q->out_of_hours;
		json_object_set_new(d.explain, "out_of_hours", json_string(a->action));
		if (a->kind == OMR_ACTION_OVERFLOW) {
			d.queue = a->queue ? a->queue : q->overflow;
			json_object_set_new(d.explain, "queue", json_string(d.queue));
		} else {
			c->tell = omr_route_text(a->text, q->cal, now, 0, 0);
			if (a->kind == OMR_ACTION_CALLBACK)
				json_array_append_new(d.tags, json_string("callback"));
		}
	}

	/* the customer's last agent first, for a while */
	last_agent = json_string_value(json_object_get(json_object_get(facts, "customer"), "last_agent"));
	char until[24] = "0";
	if (d.prefer_ms && last_agent && *last_agent && omr_agents_find(r->core->cfg->agents, last_agent)) {
		snprintf(until, sizeof(until), "%lld", now + d.prefer_ms);
		json_object_set_new(d.explain, "preferred_agent", json_string(last_agent));
	} else {
		last_agent = "";
	}
	char snow[24], score[24], prio[16];
	snprintf(snow, sizeof(snow), "%lld", now);
	snprintf(score, sizeof(score), "%lld", omr_route_score(rc, now, d.priority));
	snprintf(prio, sizeof(prio), "%lld", d.priority);
	char *sk = json_dumps(d.skills, JSON_COMPACT), *tg = json_dumps(d.tags, JSON_COMPACT);
	char *ex = json_dumps(d.explain, JSON_COMPACT);
	const char *argv[] = { e->id, c->conversation, d.queue, snow, OMR_EVENTS_GROUP, score, prio,
			       sk, d.language ? d.language : "", tg, ex, last_agent, until,
			       d.strategy >= 0 ? omr_strategy_names[d.strategy] : "" };
	omr_store_run(r->core->store, OMR_SCRIPT_ENQUEUE, omr_router_enqueued, c, 14, argv);
	free(sk);
	free(tg);
	free(ex);
	omr_decision_release(&d);
	json_decref(facts);
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
		omr_classify_free(c);
		return;
	}
	if (c->automatic && status && (strcmp(status, "bot") == 0 || strcmp(status, "parked") == 0)) {
		/* an out-of-office answer to the bot is no turn, nor a reason
		 * to bring in a person */
	} else if (status && strcmp(status, "bot") == 0) {
		omr_bots_turn(c->r->core->bots, omr_event_get(e, "conversation"));
	} else if (status && strcmp(status, "parked") == 0) {
		/* the automatic answer was not enough: a person */
		omr_bots_takeover(c->r->core->bots, omr_event_get(e, "conversation"),
				  "the customer wrote again after the automatic answer");
	} else if (status && agent && *agent &&
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
	omr_classify_free(c);
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
	c->conversation = omr_strdup(conv);
	c->automatic = kind && strcmp(kind, "auto") == 0;
	if (isnew && strcmp(isnew, "1") == 0) {
		/* Auto-replies (out-of-office mail) are stored but never
		 * routed as new contacts. */
		if (kind && strcmp(kind, "auto") == 0) {
			omr_event_done(e, OMR_EVENT_ACK);
			omr_classify_free(c);
			return;
		}
		omr_store_conv_get(core->store, conv, 20, omr_router_classify_cb, c);
		return;
	}
	const char *argv[] = { conv, omr_event_get(e, "message") ? omr_event_get(e, "message") : "" };
	omr_store_run(core->store, OMR_SCRIPT_MSG_INFO, omr_router_msg_cb, c, 2, argv);
}

/* ---- dispatch ---- */

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
	const struct omr_routing_conf *rc = r->core->cfg->routing;
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
		omr_store_run(r->core->store, OMR_SCRIPT_CONV_MARK, omr_router_noop_cb, "escalation", 5,
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
		omr_store_run(r->core->store, OMR_SCRIPT_CONV_MARK, omr_router_noop_cb, "max wait", 5,
			      argv);
		free(note);
		if (a->kind == OMR_ACTION_OVERFLOW) {
			to = a->queue ? a->queue : q->overflow;
			why = "max wait";
		} else if (a->kind != OMR_ACTION_NONE) {
			char *text = omr_route_text(a->text, q->cal, now, 0, 0);
			omr_router_tell(r, conv, text);
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
	omr_store_run(r->core->store, OMR_SCRIPT_MOVE, omr_router_noop_cb, "overflow", 7, argv);
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
	omr_route_candidates(r->core->cfg->agents, channel, needs, optional, language, prefer,
			     esc.relax, &cands);
	json_decref(needs);
	json_decref(skills);
	json_decref(optional);
	if (cands.n == 0) {
		omr_cands_free(&cands);
		return 0;
	}
	snprintf(snow, sizeof(snow), "%lld", now);
	snprintf(timeout, sizeof(timeout), "%lld", r->core->cfg->routing->offers.timeout);
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
	omr_store_run(r->core->store, OMR_SCRIPT_OFFER, omr_router_offer_cb, r, (int)argc, argv);
	free(argv);
	omr_cands_free(&cands);
	return 1;
}

static void omr_router_peek_cb(void *arg, const redisReply *reply, const char *err);

static const struct omr_queue_conf *omr_router_current(struct omr_router *r)
{
	const struct omr_routing_conf *rc = r->core->cfg->routing;
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
	omr_store_run(r->core->store, OMR_SCRIPT_QUEUE_PEEK, omr_router_peek_cb, r, 2, argv);
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

void omr_router_kick(struct omr_router *r)
{
	if (r && r->kick_ev)
		event_active(r->kick_ev, EV_TIMEOUT, 0);
}

/* ---- after an offer is accepted: the service level ---- */

void omr_router_answered(struct omr_router *r, const char *queue, long long queued_at,
			 const char *customer, const char *conversation)
{
	const struct omr_queue_conf *q = omr_routing_queue(r->core->cfg->routing, queue);
	long long waited = omr_now_ms() - queued_at;
	char day[16];
	char *key;
	if (!q || queued_at <= 0)
		return;
	omr_day(day, sizeof(day));
	key = omr_store_key(r->core->store, "stats:%s:%s", queue, day);
	omr_redis_cmd(omr_store_redis(r->core->store), omr_router_noop_cb, "stats",
		      "HINCRBY %s answered 1", key);
	if (!q->sla.target || waited <= q->sla.within)
		omr_redis_cmd(omr_store_redis(r->core->store), omr_router_noop_cb, "stats",
			      "HINCRBY %s in_sla 1", key);
	else
		omr_router_engage(r, customer, "sla_breach", conversation);
	omr_redis_cmd(omr_store_redis(r->core->store), omr_router_noop_cb, "stats",
		      "EXPIRE %s 3024000", key);
	free(key);
}

/* ---- position updates for waiting customers ---- */

struct omr_status_call {
	struct omr_router *r;
	char *queue;
	int pending_flag;
};

static void omr_router_status_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_status_call *sc = arg;
	struct omr_router *r = sc->r;
	const redisReply *due = omr_reply_elem(reply, 0);
	long long aht = omr_reply_int(omr_reply_elem(reply, 1), 0);
	long long avail = omr_reply_int(omr_reply_elem(reply, 2), 0);

	if (!err && due && due->type == REDIS_REPLY_ARRAY) {
		if (!aht)
			aht = r->core->cfg->routing->handle_time_default;
		for (size_t i = 0; i < due->elements; i++) {
			const redisReply *it = due->element[i];
			const char *channel = omr_reply_str(omr_reply_elem(it, 1));
			struct omr_plugin *p = omr_core_channel(r->core, channel);
			long long pos = omr_reply_int(omr_reply_elem(it, 4), 1);
			long long eta = omr_route_eta(pos, aht, avail);
			if (!p || !(p->desc->flags & OMR_PLUGIN_STATUS))
				continue;
			json_t *data = json_pack("{s:I,s:I,s:s}", "position", (json_int_t)pos, "eta_s",
						 (json_int_t)eta, "queue", sc->queue);
			struct omr_outbound out = {
				.conversation = omr_reply_str(omr_reply_elem(it, 0)),
				.kind = "status",
				.address = omr_reply_str(omr_reply_elem(it, 2)),
				.thread = omr_reply_str(omr_reply_elem(it, 3)),
				.author = "system",
				.data = data,
			};
			if (out.conversation && out.address)
				omr_core_deliver(r->core, channel, &out);
			json_decref(data);
		}
	}
	r->statusing--;
	free(sc->queue);
	free(sc);
}

static void omr_router_status(evutil_socket_t fd, short what, void *arg)
{
	struct omr_router *r = arg;
	const struct omr_config *cfg = r->core->cfg;
	char now[24];

	if (r->statusing || r->core->state != OMR_CORE_RUNNING || !omr_redis_ready(r->core->redis))
		return;
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	for (size_t i = 0; i < cfg->routing->nqueues; i++) {
		const struct omr_queue_conf *q = &cfg->routing->queues[i];
		struct omr_cands cands;
		char interval[24];
		json_t *skills;
		if (!q->status_interval)
			continue;
		json_t *none;
		omr_route_needs(q, NULL, 0, &skills, &none);
		/* agents who could take the queue's conversations: any channel */
		omr_route_candidates(cfg->agents, NULL, skills, NULL, NULL, NULL, 0, &cands);
		json_decref(skills);
		snprintf(interval, sizeof(interval), "%lld", q->status_interval);
		const char **argv = omr_calloc(5 + (size_t)cands.n, sizeof(*argv));
		argv[0] = q->name;
		argv[1] = now;
		argv[2] = interval;
		argv[3] = "200";
		for (int k = 0; k < cands.n; k++)
			argv[4 + k] = cands.argv[k * 3];
		struct omr_status_call *sc = omr_calloc(1, sizeof(*sc));
		sc->r = r;
		sc->queue = omr_strdup(q->name);
		r->statusing++;
		omr_store_run(r->core->store, OMR_SCRIPT_QUEUE_STATUS, omr_router_status_cb, sc,
			      4 + cands.n, argv);
		free(argv);
		omr_cands_free(&cands);
	}
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
	if (!err && tag && strcmp(tag, "ok") == 0 && reply->elements >= 5) {
		const char *conv = omr_reply_str(reply->element[1]);
		const char *agent = omr_reply_str(reply->element[2]);
		const char *away = omr_reply_str(reply->element[3]);
		const char *offer = omr_reply_str(reply->element[4]);
		if (agent) {
			omr_log_info("offer of conversation %s to %s expired", conv, agent);
			omr_agents_revoked(x->r->core->agents, agent, offer ? offer : "", "expired");
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

/* ---- after a reload: waiting conversations are decided again ---- */

struct omr_redecide {
	struct omr_router *r;
	char *conversation;
	char *queue;          /* where it waits now */
	long long queued_at;
};

static void omr_router_redecide_cb(void *arg, int status, json_t *conv, const char *err)
{
	struct omr_redecide *x = arg;
	struct omr_router *r = x->r;
	const struct omr_routing_conf *rc = r->core->cfg->routing;
	struct omr_decision d;
	int repeat;

	if (status == OMR_OK && conv &&
	    strcmp(json_string_value(json_object_get(conv, "status")) ?
			   json_string_value(json_object_get(conv, "status")) : "", "queued") == 0) {
		json_t *facts = omr_router_facts(rc, conv, &repeat);
		omr_route_decide(rc, facts, omr_router_bots(r->core), &d);
		json_t *old_skills = json_object_get(conv, "skills");
		long long old_prio = json_integer_value(json_object_get(conv, "priority"));
		if (strcmp(d.queue, x->queue) != 0 || !json_equal(old_skills, d.skills) ||
		    old_prio != d.priority || !omr_routing_queue(rc, x->queue)) {
			char score[24], now[24];
			snprintf(score, sizeof(score), "%lld", omr_route_score(rc, x->queued_at, d.priority));
			snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
			json_object_set_new(d.explain, "reevaluated_at", json_integer(omr_now_ms()));
			json_t *fields = json_pack("{s:O,s:O,s:I,s:s}", "routing", d.explain, "skills",
						   d.skills, "priority", (json_int_t)d.priority,
						   "language", d.language ? d.language : "");
			char *fj = json_dumps(fields, JSON_COMPACT);
			char *note = omr_asprintf("{\"at\":%s,\"reload\":true,\"from\":\"%s\",\"to\":\"%s\"}",
						  now, x->queue, d.queue);
			const char *argv[] = { x->conversation, x->queue, d.queue, score, now, note, fj };
			omr_store_run(r->core->store, OMR_SCRIPT_MOVE, omr_router_noop_cb, "re-decide",
				      7, argv);
			omr_log_info("conversation %s decided again after the reload: %s -> %s",
				     x->conversation, x->queue, d.queue);
			free(fj);
			free(note);
			json_decref(fields);
		}
		omr_decision_release(&d);
		json_decref(facts);
	}
	free(x->conversation);
	free(x->queue);
	free(x);
}

static void omr_router_waiting_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_router *r = arg;
	/* [queue, [conv, score, ...]] pairs from queues_waiting */
	for (size_t i = 0; !err && reply && reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements; i += 2) {
		const char *queue = omr_reply_str(reply->element[i]);
		const redisReply *list = reply->element[i + 1];
		for (size_t k = 0; queue && list->type == REDIS_REPLY_ARRAY && k + 1 < list->elements; k += 2) {
			struct omr_redecide *x = omr_calloc(1, sizeof(*x));
			x->r = r;
			x->conversation = omr_strdup(omr_reply_str(list->element[k]));
			x->queue = omr_strdup(queue);
			x->queued_at = omr_reply_int(list->element[k + 1], 0);
			omr_store_conv_get(r->core->store, x->conversation, 20, omr_router_redecide_cb, x);
		}
	}
	omr_router_kick(r);
}

void omr_router_reloaded(struct omr_router *r)
{
	if (r->core->state != OMR_CORE_RUNNING)
		return;
	const char *argv[] = { "1000" };
	omr_store_run(r->core->store, OMR_SCRIPT_QUEUES_WAITING, omr_router_waiting_cb, r, 1, argv);
}

/* ---- lifecycle ---- */

struct omr_router *omr_router_new(struct omr_core *core)
{
	struct omr_router *r = omr_calloc(1, sizeof(*r));
	r->core = core;
	r->kick_ev = event_new(core->base, -1, 0, omr_router_dispatch, r);
	r->tick_ev = event_new(core->base, -1, EV_PERSIST, omr_router_tick, r);
	r->pass_ev = event_new(core->base, -1, EV_PERSIST, omr_router_dispatch, r);
	r->status_ev = event_new(core->base, -1, EV_PERSIST, omr_router_status, r);
	r->reap_ev = event_new(core->base, -1, EV_PERSIST, omr_router_reap, r);
	return r;
}

void omr_router_start(struct omr_router *r)
{
	struct timeval tick = { 0, OMR_ROUTER_TICK_MS * 1000 };
	struct timeval pass = { OMR_ROUTER_PASS_MS / 1000, (OMR_ROUTER_PASS_MS % 1000) * 1000 };
	struct timeval status = { OMR_ROUTER_STATUS_MS / 1000, 0 };
	struct timeval reap = { OMR_ROUTER_REAP_MS / 1000, 0 };
	event_add(r->tick_ev, &tick);
	event_add(r->pass_ev, &pass);
	event_add(r->status_ev, &status);
	event_add(r->reap_ev, &reap);
	omr_router_kick(r);
}

void omr_router_stop(struct omr_router *r)
{
	event_del(r->tick_ev);
	event_del(r->pass_ev);
	event_del(r->status_ev);
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
	event_free(r->status_ev);
	event_free(r->reap_ev);
	json_decref(r->batch);
	free(r->order);
	free(r);
}
