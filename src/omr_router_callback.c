/*
 * omr_router_callback: the `callback` action of on_max_wait and
 * out_of_hours (docs/routing.md#callbacks).
 *
 * When it fires, the next slots inside the queue's business hours are
 * worked out here (the calendar is this node's, like every business-hours
 * question), the conversation leaves its queue and is parked in Redis by
 * its due time (callback_set.lua), and the customer is told, in their
 * language: on a chat channel the slots to pick from by answering with a
 * number (or the first one, `pick: false`), by e-mail the first one. An
 * answer with a number moves it to that slot; any other message cancels it
 * and the conversation is routed as a new contact (callback_answer.lua).
 * The router's tick (every other second, any node, each one taken once:
 * callbacks_due.lua) queues due callbacks again as outbound tasks, with
 * raised priority and the tag "callback"; the offer shows the promise.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_channels.h"
#include "omr_config.h"
#include "omr_events.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_route.h"
#include "omr_router_int.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_CB_MAX_SLOTS 9

/* What the customer is told around the configured text (en, nl). */
struct omr_cb_words {
	const char *lang, *pick, *pick_end, *given, *picked;
};
static const struct omr_cb_words omr_cb_words[] = {
	{ "nl", "Wanneer komt het u uit? Antwoord met het nummer van een tijdstip:",
	  "Zonder antwoord nemen we op het eerste tijdstip contact met u op.",
	  "We nemen {when} contact met u op.", "Dank u: we nemen {when} contact met u op." },
	{ "en", "When suits you? Reply with the number of a time:",
	  "Without an answer we will get back to you at the first one.",
	  "We will get back to you {when}.", "Thank you: we will get back to you {when}." },
};

static const struct omr_cb_words *omr_cb_lang(const char *language)
{
	for (size_t i = 0; i < sizeof(omr_cb_words) / sizeof(omr_cb_words[0]); i++)
		if (language && strncmp(language, omr_cb_words[i].lang, 2) == 0)
			return &omr_cb_words[i];
	return &omr_cb_words[1];
}

/* words with "{when}" in it replaced by when, appended to b */
static void omr_cb_fill(struct omr_buf *b, const char *words, const char *when)
{
	const char *at = strstr(words, "{when}");
	if (!at) {
		omr_buf_puts(b, words);
		return;
	}
	omr_buf_append(b, words, (size_t)(at - words));
	omr_buf_puts(b, when);
	omr_buf_puts(b, at + 6);
}

/* ---- a callback promised ---- */

struct omr_cb_set {
	struct omr_router *r;
	char *conversation;
	char *tell;
};

static void omr_cb_set_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_cb_set *x = arg;
	struct omr_lua_callback_set_reply o;
	if (err)
		omr_log_warn("router: callback for conversation %s not set: %s", x->conversation, err);
	else if (omr_lua_callback_set_reply(reply, &o) >= 1 && o.tag && strcmp(o.tag, "ok") == 0) {
		omr_log_info("conversation %s: callback promised", x->conversation);
		omr_channels_tell(x->r->channels, x->conversation, x->tell);
	}
	free(x->conversation);
	free(x->tell);
	free(x);
}

/* The customer's message: the configured text, then the times. */
static char *omr_cb_text(const struct omr_action *a, const struct omr_calendar *cal,
			 int64_t now, const char *language, const int64_t *slots, int n)
{
	const struct omr_cb_words *w = omr_cb_lang(language);
	const char *intro = a->text;
	char when[64];
	struct omr_buf b;
	if (language && *language && json_is_string(json_object_get(a->texts, language)))
		intro = json_string_value(json_object_get(a->texts, language));
	char *head = omr_route_text(intro, cal, now, 0, 0);
	omr_buf_init(&b);
	omr_buf_printf(&b, "%s\n\n", head);
	free(head);
	if (n > 1) {
		omr_buf_printf(&b, "%s\n", w->pick);
		for (int i = 0; i < n; i++) {
			omr_route_at(cal, now, slots[i], w->lang, when, sizeof(when));
			omr_buf_printf(&b, "%d) %s\n", i + 1, when);
		}
		omr_buf_puts(&b, w->pick_end);
	} else {
		omr_route_at(cal, now, slots[0], w->lang, when, sizeof(when));
		omr_cb_fill(&b, w->given, when);
	}
	return omr_buf_steal(&b, NULL);
}

void omr_router_callback(struct omr_router *r, const char *conv, const char *channel,
			 const char *language, const char *queue, int out_of_hours)
{
	const struct omr_routing_conf *rc = omr_env_cfg(&r->env)->routing;
	const struct omr_queue_conf *q = omr_routing_queue(rc, queue);
	const struct omr_action *a = q ? out_of_hours ? &q->out_of_hours : &q->on_max_wait : NULL;
	int64_t slots[OMR_CB_MAX_SLOTS];
	long long now = omr_store_now_ms(r->env.store);

	if (!a || a->kind != OMR_ACTION_CALLBACK)
		return; /* the configuration changed meanwhile */
	/* e-mail (or pick: false) is given the first time, a chat may pick */
	int choose = a->pick && channel && strcmp(channel, "email") != 0;
	int n = omr_calendar_slots(q->cal, now, choose ? (int)a->slots : 1, a->slot_length, slots);
	if (n < 1) {
		omr_log_warn("conversation %s: no callback time within two weeks of queue %s's "
			     "calendar; it keeps waiting", conv, queue);
		return;
	}
	if (n == 1)
		choose = 0;
	json_t *sj = json_array();
	for (int i = 0; choose && i < n; i++)
		json_array_append_new(sj, json_integer(slots[i]));
	char *sl = json_dumps(sj, JSON_COMPACT);
	json_decref(sj);
	struct omr_cb_set *x = omr_calloc(1, sizeof(*x));
	x->r = r;
	x->conversation = omr_strdup(conv);
	x->tell = omr_cb_text(a, q->cal, now, language, slots, choose ? n : 1);
	struct omr_lua_callback_set_args args = {
		.conversation = conv, .queue = queue, .to = a->queue ? a->queue : queue,
		.boost = a->priority_boost, .at = slots[0], .slots = sl,
		.length = a->slot_length, .why = out_of_hours ? "out_of_hours" : "on_max_wait",
	};
	omr_lua_callback_set(r->env.store, &args, omr_cb_set_cb, x);
	free(sl);
}

/* ---- the customer writes meanwhile ---- */

struct omr_cb_answer {
	struct omr_router *r;
	struct omr_event *e;
	char *conversation;
	char *language;
};

/* "2", " 2.", "2)": 2; anything else 0 */
static int omr_cb_number(const char *text)
{
	const char *p = text;
	int n;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p < '1' || *p > '9')
		return 0;
	n = *p++ - '0';
	if (*p == '.' || *p == ')')
		p++;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return *p ? 0 : n;
}

static void omr_cb_answer_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_cb_answer *x = arg;
	struct omr_router *r = x->r;
	struct omr_lua_callback_answer_reply o;
	if (err || omr_lua_callback_answer_reply(reply, &o) < 1 || !o.tag) {
		omr_event_done(x->e, OMR_EVENT_RETRY);
	} else if (strcmp(o.tag, "picked") == 0) {
		const struct omr_routing_conf *rc = omr_env_cfg(&r->env)->routing;
		const struct omr_cb_words *w = omr_cb_lang(x->language);
		/* the time in the calendar the slots came from: the queue it waited in */
		const struct omr_queue_conf *q = omr_routing_queue(rc, o.queue ? o.queue : "");
		const struct omr_calendar *cal = q ? q->cal : NULL;
		char when[64];
		omr_route_at(cal, omr_store_now_ms(r->env.store), o.at, w->lang, when, sizeof(when));
		struct omr_buf t;
		omr_buf_init(&t);
		omr_cb_fill(&t, w->picked, when);
		omr_channels_tell(r->channels, x->conversation, t.data);
		omr_buf_free(&t);
		omr_log_info("conversation %s: the customer picked a callback time", x->conversation);
		omr_event_done(x->e, OMR_EVENT_ACK);
	} else if (strcmp(o.tag, "cancelled") == 0) {
		omr_log_info("conversation %s: the customer wrote first; callback cancelled, "
			     "routed again", x->conversation);
		omr_router_classify(r, x->e, x->conversation);
	} else {
		omr_event_done(x->e, OMR_EVENT_ACK); /* came due meanwhile: it waits */
	}
	free(x->conversation);
	free(x->language);
	free(x);
}

void omr_router_callback_answer(struct omr_router *r, struct omr_event *e, const char *conv,
				const char *text, const char *language)
{
	struct omr_cb_answer *x = omr_calloc(1, sizeof(*x));
	x->r = r;
	x->e = e;
	x->conversation = omr_strdup(conv);
	x->language = omr_strdup(language ? language : "");
	struct omr_lua_callback_answer_args a = {
		.conversation = conv, .pick = omr_cb_number(text ? text : ""),
	};
	omr_lua_callback_answer(r->env.store, &a, omr_cb_answer_cb, x);
}

/* ---- due ---- */

static void omr_cb_due_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_router *r = arg;
	struct omr_lua_callbacks_due_reply o;
	r->calling_back = 0;
	if (err || omr_lua_callbacks_due_reply(reply, &o) < 3) {
		if (err)
			omr_log_warn("router: due callbacks not looked at: %s", err);
		return;
	}
	for (size_t i = 0; o.counts && o.counts->type == REDIS_REPLY_ARRAY && i < 5 &&
			   i < o.counts->elements; i++)
		r->callback_counts[i] = omr_reply_int(o.counts->element[i], 0);
	if (o.due > 0) {
		omr_log_info("%lld callback(s) due: offered to agents", o.due);
		omr_hub_route(r->env.hub);
	}
	if (o.missed > 0)
		omr_log_warn("%lld callback(s) missed: no agent took them in their slot", o.missed);
}

void omr_router_callbacks_due(struct omr_router *r)
{
	const struct omr_routing_conf *rc = omr_env_cfg(&r->env)->routing;
	if (r->calling_back)
		return;
	struct omr_lua_callbacks_due_args a = { .limit = 100, .aging = rc->aging };
	r->calling_back = 1;
	omr_lua_callbacks_due(r->env.store, &a, omr_cb_due_cb, r);
}

void omr_router_callback_metrics(const struct omr_router *r, struct omr_buf *b)
{
	static const char *const names[] = { "scheduled", "due", "done", "missed", "cancelled" };
	for (int i = 0; i < 5; i++) {
		char name[64], help[96];
		snprintf(name, sizeof(name), "callbacks_%s_total", names[i]);
		snprintf(help, sizeof(help), "callbacks %s (every node, from Redis)", names[i]);
		omr_metric(b, name, "counter", help, (unsigned long long)r->callback_counts[i]);
	}
}
