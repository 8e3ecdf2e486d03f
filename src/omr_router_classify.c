/*
 * omr_router_classify: what happens to a new conversation (omr_router_int.h):
 * the rules and the value matrix decide (omr_route_decide), then it is
 * answered automatically (eliminate), given to the bot tier, or put in its
 * queue (out-of-hours actions applied, the customer's last agent preferred
 * for a while), with the reasons recorded. After a reload, conversations
 * still waiting are decided again.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omr_agents_conf.h"
#include "omr_bots.h"
#include "omr_channels.h"
#include "omr_config.h"
#include "omr_events.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_plugin.h"
#include "omr_route.h"
#include "omr_router.h"
#include "omr_router_int.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

struct omr_classify {
	struct omr_router *r;
	struct omr_event *e;
	char *customer;
	char *conversation;
	char *tell;          /* a message for the customer once queued */
	char *callback;      /* out of hours, a callback: the queue (docs/routing.md#callbacks) */
	char *language;
	int complaint, repeat;
};

static void omr_classify_free(struct omr_classify *c)
{
	free(c->customer);
	free(c->conversation);
	free(c->tell);
	free(c->callback);
	free(c->language);
	free(c);
}

/* Whether the bot tier can take conversations (routing.yaml `bot:`). */
int omr_router_bots(struct omr_router *r)
{
	return omr_channels_bot(r->channels) != NULL;
}

static void omr_router_classified(struct omr_classify *c)
{
	if (c->complaint)
		omr_router_engage(c->r, c->customer, "complaint", c->conversation);
	if (c->repeat)
		omr_router_engage(c->r, c->customer, "repeat_contact", c->conversation);
}

/* The same changes of the balance, for enqueue.lua to make once queued:
 * [[event, points], ...] (malloc'ed JSON). */
static char *omr_router_engage_list(const struct omr_classify *c)
{
	const struct omr_routing_conf *rc = omr_env_cfg(&c->r->env)->routing;
	json_t *l = json_array();
	if (c->complaint)
		json_array_append_new(l, json_pack("[s,I]", "complaint",
						   (json_int_t)omr_engagement_points(rc, "complaint")));
	if (c->repeat)
		json_array_append_new(l, json_pack("[s,I]", "repeat_contact",
						   (json_int_t)omr_engagement_points(rc, "repeat_contact")));
	char *s = json_dumps(l, JSON_COMPACT);
	json_decref(l);
	return s;
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
			/* the balance moved in the same step (omr_router_engage_list) */
			omr_log_info("conversation %s (%s) queued", c->conversation,
				     omr_event_get(e, "channel"));
			if (c->tell)
				omr_channels_tell(c->r->channels, c->conversation, c->tell);
			if (c->callback)
				omr_router_callback(c->r, c->conversation, omr_event_get(e, "channel"),
						    c->language, c->callback, 1);
		}
		omr_event_done(e, OMR_EVENT_ACKED);
		omr_hub_route(c->r->env.hub);
		omr_router_status_soon(c->r);
	}
	omr_classify_free(c);
}

static void omr_router_closed_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_classify *c = arg;
	struct omr_lua_auto_close_reply out;
	if (err || omr_lua_auto_close_reply(reply, &out) < 0) {
		omr_log_warn("router: cannot answer conversation %s: %s", c->conversation,
			     err ? err : "bad reply");
		omr_event_done(c->e, OMR_EVENT_RETRY);
		omr_classify_free(c);
		return;
	}
	if (out.tag && strcmp(out.tag, "ok") == 0) {
		omr_log_info("conversation %s answered automatically and closed", c->conversation);
		omr_router_classified(c);
		struct omr_outbound msg = {
			.conversation = c->conversation,
			.message = json_string_value(json_object_get(c->e->fields, "_answer")),
			.kind = "message",
			.address = out.address,
			.thread = out.thread,
			.author = "system",
			.text = c->tell,
		};
		omr_channels_deliver(c->r->channels, out.channel, &msg);
	}
	omr_event_done(c->e, OMR_EVENT_ACKED);
	omr_classify_free(c);
}

/* Eliminate: the automatic answer, closed (or parked), the trigger counted. */
static void omr_router_eliminate(struct omr_classify *c, const struct omr_decision *d)
{
	char day[16], mid[OMR_ID_MAX];
	char *ex = json_dumps(d->explain, JSON_COMPACT), *tags;
	json_t *t = json_deep_copy(d->tags);
	json_array_append_new(t, json_string(d->elim_reason));
	tags = json_dumps(t, JSON_COMPACT);
	json_decref(t);
	omr_day(day, sizeof(day));
	omr_id_new(mid, "m_");
	json_object_set_new(c->e->fields, "_answer", json_string(mid));
	c->tell = omr_strdup(d->elim_text);
	char *sk = json_dumps(d->skills, JSON_COMPACT);
	struct omr_lua_auto_close_args a = {
		.entry = c->e->id, .group = OMR_EVENTS_GROUP, .conversation = c->conversation,
		.day = day, .message = mid, .text = d->elim_text, .reason = d->elim_reason,
		.routing = ex, .tags = tags, .park = d->elim_park, .queue = d->queue,
		.priority = d->priority, .skills = sk, .language = d->language,
	};
	if (d->elim_park) /* parked: closed later if the customer says nothing more */
		omr_bots_active(c->r->bots, c->conversation);
	omr_lua_auto_close(c->r->env.store, &a, omr_router_closed_cb, c);
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
			omr_bots_turn(c->r->bots, c->conversation);
		}
		omr_event_done(c->e, OMR_EVENT_ACKED);
	}
	omr_classify_free(c);
}

/* The bot tier: the queue routing chose is kept for a later hand-off. */
static void omr_router_to_bot(struct omr_classify *c, const struct omr_decision *d)
{
	struct omr_plugin *p = omr_channels_bot(c->r->channels);
	char *sk = json_dumps(d->skills, JSON_COMPACT), *tg = json_dumps(d->tags, JSON_COMPACT);
	char *ex = json_dumps(d->explain, JSON_COMPACT);
	struct omr_lua_to_bot_args a = {
		.entry = c->e->id, .group = OMR_EVENTS_GROUP, .conversation = c->conversation,
		.bot = p->name, .queue = d->queue, .priority = d->priority, .skills = sk,
		.language = d->language, .tags = tg, .routing = ex,
	};
	omr_lua_to_bot(c->r->env.store, &a, omr_router_botted, c);
	free(sk);
	free(tg);
	free(ex);
}

/* What routing does for the customer's contact person (docs/routing.md
 * #contact-person). Borrowed strings: from the configuration or from
 * profile. */
struct omr_owner_route {
	const char *owner;   /* wait for them (or their deputy), or NULL */
	const char *deputy;  /* or NULL */
	const char *team;    /* then their team, or NULL */
};

/* An agent of the directory who takes conversations, or NULL. */
static const struct omr_agent_conf *omr_router_agent(struct omr_router *r, const char *id)
{
	const struct omr_agent_conf *a = id && *id ? omr_agents_find(omr_env_cfg(&r->env)->agents, id)
						   : NULL;
	return a && (a->roles & OMR_ROLE_AGENT) ? a : NULL;
}

static void omr_router_owner(struct omr_router *r, const json_t *profile, struct omr_decision *d,
			     struct omr_owner_route *o)
{
	const struct omr_owner_conf *oc = &omr_env_cfg(&r->env)->routing->owner;
	const char *owner = json_string_value(json_object_get(profile, "owner"));
	const char *deputy = json_string_value(json_object_get(profile, "deputy"));
	const struct omr_agent_conf *a;

	memset(o, 0, sizeof(*o));
	if (owner && *owner) {
		d->owner = d->deputy = NULL; /* a rule does not replace a contact person */
	} else if (d->owner) {
		owner = d->owner; /* the rule's: set on the customer when queued */
		deputy = d->deputy;
	}
	a = omr_router_agent(r, owner);
	if (!a || !oc->prefer_owner)
		return;
	o->owner = a->id;
	o->deputy = omr_router_agent(r, deputy) ? deputy : NULL;
	o->team = oc->prefer_team && a->team && *a->team ? a->team : NULL;
	json_object_set_new(d->explain, "owner", json_pack("{s:s,s:s?,s:s?,s:I,s:I}", "agent", o->owner,
							   "deputy", o->deputy, "team", o->team,
							   "prefer_owner_ms",
							   (json_int_t)oc->prefer_owner,
							   "prefer_team_ms",
							   (json_int_t)(o->team ? oc->prefer_team : 0)));
}

static void omr_router_classify_cb(void *arg, int status, json_t *conv, const char *err)
{
	struct omr_classify *c = arg;
	struct omr_router *r = c->r;
	const struct omr_routing_conf *rc = omr_env_cfg(&r->env)->routing;
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
	facts = omr_route_facts(rc, conv, omr_store_now_ms(r->env.store), &c->repeat);
	/* a customer who restricted the processing of their data
	 * (POST /api/v1/customers/{id}/restrict) is never given to a bot */
	int restricted = json_is_true(json_object_get(json_object_get(conv, "customer_profile"),
						      "restricted"));
	omr_route_decide(rc, facts, omr_router_bots(r) && !restricted, &d);
	if (restricted) {
		json_object_set_new(d.explain, "restricted", json_true());
		if (omr_router_bots(r) && json_is_string(json_object_get(d.explain, "treatment")) &&
		    strstr(json_string_value(json_object_get(d.explain, "treatment")), "no bot"))
			json_object_set_new(d.explain, "treatment",
					    json_string("bot tier asked, but the customer restricted "
							"processing: a person"));
	}
	/* a complaint: said so (phrases: complaint), the channel's intent, or
	 * a rule's tag */
	c->complaint = json_is_true(json_object_get(facts, "complaint"));
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
	long long now = omr_store_now_ms(r->env.store);
	if (q && q->cal && !omr_calendar_open(q->cal, now) && q->out_of_hours.kind != OMR_ACTION_NONE) {
		const struct omr_action *a = &q->out_of_hours;
		json_object_set_new(d.explain, "out_of_hours", json_string(a->action));
		if (a->kind == OMR_ACTION_OVERFLOW) {
			d.queue = a->queue ? a->queue : q->overflow;
			json_object_set_new(d.explain, "queue", json_string(d.queue));
		} else if (a->kind == OMR_ACTION_CALLBACK) {
			/* told with the times once queued (omr_router_callback.c) */
			c->callback = omr_strdup(q->name);
			c->language = omr_strdup(d.language);
		} else {
			c->tell = omr_route_text(a->text, q->cal, now, 0, 0);
		}
	}

	/* the customer's contact person first (enqueue.lua decides between
	 * them and their deputy), else their last agent, for a while */
	struct omr_owner_route own;
	omr_router_owner(r, json_object_get(conv, "customer_profile"), &d, &own);
	last_agent = json_string_value(json_object_get(json_object_get(facts, "customer"), "last_agent"));
	long long prefer_ms = 0;
	if (d.prefer_ms && last_agent && *last_agent && omr_agents_find(omr_env_cfg(&r->env)->agents, last_agent)) {
		prefer_ms = d.prefer_ms;
		json_object_set_new(d.explain, "preferred_agent", json_string(last_agent));
	} else {
		last_agent = NULL;
	}
	char *sk = json_dumps(d.skills, JSON_COMPACT), *tg = json_dumps(d.tags, JSON_COMPACT);
	char *ex = json_dumps(d.explain, JSON_COMPACT), *eng = omr_router_engage_list(c);
	struct omr_lua_enqueue_args a = {
		.entry = e->id, .group = OMR_EVENTS_GROUP, .conversation = c->conversation,
		.queue = d.queue, .priority = d.priority, .aging = rc->aging, .skills = sk,
		.language = d.language, .tags = tg, .routing = ex, .prefer = last_agent,
		.prefer_ms = prefer_ms,
		.strategy = d.strategy >= 0 ? omr_strategy_names[d.strategy] : NULL,
		.engage = eng, .min = rc->engagement.min, .max = rc->engagement.max,
		.owner = own.owner, .deputy = own.deputy, .team = own.team,
		.owner_ms = own.owner ? rc->owner.prefer_owner : 0,
		.team_ms = own.team ? rc->owner.prefer_team : 0, .away_ms = rc->owner.away_after,
		.set_owner = d.owner, .set_deputy = d.deputy,
	};
	omr_lua_enqueue(r->env.store, &a, omr_router_enqueued, c);
	free(eng);
	free(sk);
	free(tg);
	free(ex);
	omr_decision_release(&d);
	json_decref(facts);
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
	const struct omr_routing_conf *rc = omr_env_cfg(&r->env)->routing;
	struct omr_decision d;
	int repeat;

	if (status == OMR_OK && conv &&
	    strcmp(json_string_value(json_object_get(conv, "status")) ?
			   json_string_value(json_object_get(conv, "status")) : "", "queued") == 0) {
		json_t *facts = omr_route_facts(rc, conv, omr_store_now_ms(r->env.store), &repeat);
		omr_route_decide(rc, facts, omr_router_bots(r), &d);
		json_t *old_skills = json_object_get(conv, "skills");
		long long old_prio = json_integer_value(json_object_get(conv, "priority"));
		if (strcmp(d.queue, x->queue) != 0 || !json_equal(old_skills, d.skills) ||
		    old_prio != d.priority || !omr_routing_queue(rc, x->queue)) {
			json_t *fields = json_pack("{s:O,s:O,s:I,s:s}", "routing", d.explain, "skills",
						   d.skills, "priority", (json_int_t)d.priority,
						   "language", d.language ? d.language : "");
			char *fj = json_dumps(fields, JSON_COMPACT);
			json_t *nj = json_pack("{s:b,s:s,s:s}", "reload", 1, "from", x->queue, "to", d.queue);
			char *note = json_dumps(nj, JSON_COMPACT);
			struct omr_lua_move_args a = {
				.conversation = x->conversation, .from = x->queue, .to = d.queue,
				.score = omr_route_score(rc, x->queued_at, d.priority),
				.note = note, .fields = fj,
			};
			omr_lua_move(r->env.store, &a, omr_router_noop_cb, "re-decide");
			json_decref(nj);
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
			omr_store_conv_get(r->env.store, x->conversation, 20, 0, omr_router_redecide_cb, x);
		}
	}
	omr_hub_route(r->env.hub);
}

void omr_router_redecide(struct omr_router *r)
{
	struct omr_lua_queues_waiting_args a = { .max = 1000 };
	omr_lua_queues_waiting(r->env.store, &a, omr_router_waiting_cb, r);
}


void omr_router_classify(struct omr_router *r, struct omr_event *e, const char *conversation)
{
	struct omr_classify *c = omr_calloc(1, sizeof(*c));
	c->r = r;
	c->e = e;
	c->conversation = omr_strdup(conversation);
	omr_store_conv_get(r->env.store, conversation, 20, 0, omr_router_classify_cb, c);
}
