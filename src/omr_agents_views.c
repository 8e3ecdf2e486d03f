/*
 * omr_agents_views: what a console is shown (omr_agents_int.h): the
 * welcome after a log-in (the agent, the directory, their conversations
 * and offers), a conversation with its reply window, and offer frames.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_channels.h"
#include "omr_config.h"
#include "omr_plugin.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

const char *omr_conf_reason_ok(char *const *list, const char *v)
{
	for (size_t i = 0; list && v && list[i]; i++)
		if (strcmp(list[i], v) == 0)
			return list[i];
	return NULL;
}

/* OFFER of the protocol from a conversation view and its offer hash. */
json_t *omr_agents_offer_frame(const json_t *conv, const json_t *offer)
{
	json_t *msgs = json_object_get(conv, "messages"), *m, *cust = json_object_get(conv, "customer");
	const char *preview = "";
	size_t i;
	/* measured on Redis' clock (omr_store_view_parse): nodes' clocks may differ */
	json_t *rem = json_object_get(offer, "remaining_ms");
	long long left = rem ? json_integer_value(rem) :
			       json_integer_value(json_object_get(offer, "expires_at")) - omr_now_ms();

	json_array_foreach(msgs, i, m) {
		const char *dir = json_string_value(json_object_get(m, "direction"));
		if (dir && strcmp(dir, "in") == 0) {
			preview = json_string_value(json_object_get(m, "text"));
			break;
		}
	}
	char *cut = omr_strndup(preview ? preview : "", 0);
	if (preview) {
		/* at most 200 bytes, cut at a character boundary */
		size_t n = strlen(preview);
		if (n > 200) {
			n = 200;
			while (n > 0 && ((unsigned char)preview[n] & 0xc0) == 0x80)
				n--;
		}
		free(cut);
		cut = omr_strndup(preview, n);
	}
	json_t *zero = json_integer(0);
	json_t *summary = json_pack(
		"{s:O,s:O,s:O,s:O,s:O,s:O,s:s,s:{s:O,s:O}}", "id", json_object_get(conv, "id"),
		"channel", json_object_get(conv, "channel"), "queue",
		json_object_get(conv, "queue") ? json_object_get(conv, "queue") : json_null(),
		"language", json_object_get(conv, "language") ? json_object_get(conv, "language") : json_null(),
		"priority", json_object_get(conv, "priority") ? json_object_get(conv, "priority") : zero,
		"waiting_since", json_object_get(conv, "queued_at") ? json_object_get(conv, "queued_at") : json_null(),
		"preview", cut, "customer", "id",
		json_object_get(cust, "id") ? json_object_get(cust, "id") : json_null(), "name",
		json_object_get(cust, "name") ? json_object_get(cust, "name") : json_null());
	free(cut);
	json_decref(zero);
	if (!summary)
		return NULL;
	/* handed over by the bot: why, and what the customer wants */
	json_t *handoff = json_object_get(json_object_get(conv, "routing"), "handoff");
	if (json_is_object(handoff))
		json_object_set_new(summary, "routing", json_pack("{s:O}", "handoff", handoff));
	if (json_is_string(json_object_get(conv, "intent")))
		json_object_set(summary, "intent", json_object_get(conv, "intent"));
	/* a public post: the answer is public (the console marks it) */
	const json_t *pub = json_object_get(conv, "public");
	json_object_set_new(summary, "public",
			    json_boolean(json_is_true(pub) || (json_is_string(pub) &&
						strcmp(json_string_value(pub), "1") == 0)));
	/* transferred: from whom, and the start of the note */
	if (json_is_object(json_object_get(conv, "transfer")))
		json_object_set(summary, "transfer", json_object_get(conv, "transfer"));
	/* a callback come due (docs/routing.md#callbacks): the promise */
	const json_t *cb = json_object_get(conv, "callback");
	if (json_is_object(cb) && json_object_get(cb, "due_at"))
		json_object_set_new(summary, "callback",
				    json_pack("{s:O?,s:O?,s:O?}", "at", json_object_get(cb, "at"),
					      "why", json_object_get(cb, "why"), "picked",
					      json_object_get(cb, "picked")));
	if (json_is_object(handoff) && json_object_size(json_object_get(conv, "bot_slots")))
		json_object_set(summary, "bot_slots", json_object_get(conv, "bot_slots"));
	return json_pack("{s:s,s:O,s:I,s:o}", "type", "offer", "offer", json_object_get(offer, "id"),
			 "expires_in_ms", (json_int_t)(left > 0 ? left : 0), "conversation", summary);
}

long long omr_agents_low(const struct omr_agents *a)
{
	return omr_env_cfg(&a->env)->routing->engagement.low;
}

/* What the agent may send on the conversation's channel: the end of its
 * reply window and the templates for after it (WhatsApp). */
json_t *omr_agents_decorate(struct omr_agents *a, json_t *conv)
{
	const char *ch = json_string_value(json_object_get(conv, "channel"));
	const struct omr_plugin *p = ch ? omr_channels_get(a->channels, ch) : NULL;
	if (!conv || !p || !p->reply_window_ms || json_is_true(json_object_get(conv, "public")))
		return conv; /* no window, or a public thread (answered any time) */
	long long last = json_integer_value(json_object_get(conv, "last_inbound_at"));
	json_object_set_new(conv, "reply_window",
			    json_pack("{s:I,s:I,s:o}", "closes_at", (json_int_t)(last + p->reply_window_ms),
				      "window_ms", (json_int_t)p->reply_window_ms, "templates",
				      p->templates ? json_incref(p->templates) : json_array()));
	return conv;
}

void omr_agents_view(struct omr_agents *a, struct omr_areq *q, const char *conv,
			    const char *agent, omr_redis_cb cb)
{
	struct omr_lua_agent_view_args v = {
		.conversation = conv, .agent = agent, .max = OMR_AGENT_HISTORY,
		.earlier = OMR_AGENT_EARLIER,
	};
	omr_lua_agent_view(a->env.store, &v, cb, q);
}

/* ---- welcome: gathers conversations and offers, then sends ---- */

struct omr_welcome {
	struct omr_agents *a;
	uint64_t conn;
	char *agent;
	json_t *frame;
	int pending;
};

static void omr_welcome_finish(struct omr_welcome *w)
{
	if (--w->pending > 0)
		return;
	if (omr_agents_sess(w->a, w->conn))
		omr_agents_send(w->a, w->conn, w->frame);
	json_decref(w->frame);
	free(w->agent);
	free(w);
}

static void omr_welcome_conv_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_welcome *w = arg;
	json_t *conv, *offer;
	if (!err && omr_store_view_parse(reply, omr_agents_low(w->a), &conv, &offer) == 1) {
		const char *st = json_string_value(json_object_get(conv, "status"));
		if (offer) {
			json_t *f = omr_agents_offer_frame(conv, offer);
			if (f) {
				json_object_del(f, "type");
				json_array_append_new(json_object_get(w->frame, "offers"), f);
			}
			json_decref(offer);
			json_decref(conv);
		} else if (st && (strcmp(st, "assigned") == 0 || strcmp(st, "wrapup") == 0)) {
			json_array_append_new(json_object_get(w->frame, "conversations"),
					      omr_agents_decorate(w->a, conv));
		} else {
			json_decref(conv);
		}
	}
	omr_welcome_finish(w);
}

static void omr_welcome_view(struct omr_welcome *w, const char *conv)
{
	struct omr_lua_agent_view_args v = {
		.conversation = conv, .agent = w->agent, .max = OMR_AGENT_HISTORY,
		.earlier = OMR_AGENT_EARLIER,
	};
	w->pending++;
	omr_lua_agent_view(w->a->env.store, &v, omr_welcome_conv_cb, w);
}

static void omr_welcome_offer_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_welcome *w = arg;
	const char *conv = omr_reply_str(reply);
	if (!err && conv)
		omr_welcome_view(w, conv);
	omr_welcome_finish(w);
}

static json_t *omr_agents_agent_info(const struct omr_agent_conf *ac)
{
	json_t *skills = json_object(), *cap = json_object(), *langs = json_array();
	for (size_t i = 0; i < ac->nskills; i++)
		json_object_set_new(skills, ac->skills[i].skill, json_integer(ac->skills[i].level));
	for (size_t i = 0; i < ac->ncapacity; i++)
		json_object_set_new(cap, ac->capacity[i].channel, json_integer(ac->capacity[i].max));
	for (size_t i = 0; ac->languages && ac->languages[i]; i++)
		json_array_append_new(langs, json_string(ac->languages[i]));
	return json_pack("{s:s,s:s,s:s?,s:o,s:o,s:o}", "id", ac->id, "name",
			 ac->name ? ac->name : ac->id, "team", ac->team, "skills", skills,
			 "languages", langs, "capacity", cap);
}

/* A page of the agent directory (colleagues: everyone but `except`), in
 * the file's order, from after the agent `after` (NULL: the start): at most
 * `limit`; *next_r: the last one's id when there are more, else NULL. */
static json_t *omr_agents_directory(const struct omr_config *cfg, const char *except,
				    const char *after, size_t limit, const char **next_r)
{
	json_t *arr = json_array();
	size_t i = 0, n = omr_agents_count(cfg->agents);
	*next_r = NULL;
	if (after) {
		while (i < n && strcmp(omr_agents_at(cfg->agents, i)->id, after) != 0)
			i++;
		i++; /* an unknown `after` (a reload removed them): nothing */
	}
	for (; i < n; i++) {
		const struct omr_agent_conf *ac = omr_agents_at(cfg->agents, i);
		if ((except && strcmp(ac->id, except) == 0) || !(ac->roles & OMR_ROLE_AGENT))
			continue; /* colleagues to transfer to: agents */
		if (json_array_size(arr) == limit) {
			*next_r = json_string_value(json_object_get(json_array_get(arr, limit - 1), "id"));
			break;
		}
		json_array_append_new(arr, json_pack("{s:s,s:s}", "id", ac->id, "name",
						     ac->name ? ac->name : ac->id));
	}
	return arr;
}

void omr_agents_directory_page(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *after = json_string_value(json_object_get(msg, "after"));
	const char *next;
	json_t *page = omr_agents_directory(omr_env_cfg(&a->env), s->agent, after,
					    OMR_AGENT_DIRECTORY_PAGE, &next);
	omr_agents_send_new(a, s->conn, json_pack("{s:s,s:o,s:s?}", "type", "agents", "agents",
						   page, "next", next));
}

static json_t *omr_strlist_json(char *const *list)
{
	json_t *arr = json_array();
	for (size_t i = 0; list && list[i]; i++)
		json_array_append_new(arr, json_string(list[i]));
	return arr;
}

void omr_agents_welcome(struct omr_agents *a, struct omr_asess *s,
			const struct omr_lua_agent_session_reply *r)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const struct omr_agent_conf *ac = omr_agents_find(cfg->agents, s->agent);
	const redisReply *convs = r->convs, *offers = r->offers;
	struct omr_welcome *w;
	json_t *queues = json_array();

	if (!ac)
		return;
	omr_agents_queue_info_watch(a, s);
	for (size_t i = 0; i < cfg->routing->nqueues; i++) {
		const struct omr_queue_conf *q = &cfg->routing->queues[i];
		json_t *qj = json_pack("{s:s,s:s?,s:s?}", "name", q->name, "description",
				       q->description, "signature", q->signature);
		if (q->sla.target > 0)
			json_object_set_new(qj, "sla_within_ms", json_integer(q->sla.within));
		json_array_append_new(queues, qj);
	}
	w = omr_calloc(1, sizeof(*w));
	w->a = a;
	w->conn = s->conn;
	w->agent = omr_strdup(s->agent);
	/* the welcome's size does not grow with the number of agents: the
	 * first page of the directory, the rest on request */
	const char *next;
	json_t *dir = omr_agents_directory(cfg, s->agent, NULL, OMR_AGENT_DIRECTORY_PAGE, &next);
	w->frame = json_pack("{s:s,s:o,s:o,s:{s:s,s:s},s:o,s:o,s:o,s:o,s:s?,s:[],s:[]}", "type",
			     "welcome", "agent", omr_agents_agent_info(ac), "roles",
			     omr_roles_json(ac->roles), "presence", "status",
			     r->presence ? r->presence : "away", "reason", r->reason ? r->reason : "",
			     "reasons", omr_strlist_json(cfg->routing->reasons), "outcomes",
			     omr_strlist_json(cfg->routing->outcomes), "queues", queues, "agents",
			     dir, "agents_next", next, "conversations", "offers");
	w->pending = 1;
	for (size_t i = 0; convs && convs->type == REDIS_REPLY_ARRAY && i < convs->elements; i++)
		if (omr_reply_str(convs->element[i]))
			omr_welcome_view(w, convs->element[i]->str);
	for (size_t i = 0; offers && offers->type == REDIS_REPLY_ARRAY && i < offers->elements; i++) {
		/* the offer's conversation, then its view (which carries the offer) */
		const char *oid = omr_reply_str(offers->element[i]);
		char *key;
		if (!oid)
			continue;
		key = omr_store_key(a->env.store, "offer:%s", oid);
		w->pending++;
		omr_redis_cmd(omr_store_redis(a->env.store), omr_welcome_offer_cb, w,
			      "HGET %s conversation", key);
		free(key);
	}
	omr_welcome_finish(w);
}

