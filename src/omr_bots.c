/*
 * omr_bots: see omr_bots.h.
 *
 * State: `turns` maps a turn id to the pending turn (which conversation,
 * which plugin); `convs` maps a conversation to whether a turn is under way
 * and whether more customer messages came meanwhile (turns of one
 * conversation never overlap: the next starts after the answer). Both are
 * this node's; the deadline of every pending turn is also in Redis
 * (`bot:waiting`), so a turn lost with a node is handed to a person by
 * whichever node notices.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omr_bots.h"
#include "omr_channels.h"
#include "omr_config.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_plugin.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_BOTS_SWEEP_MS 1000
#define OMR_BOTS_HISTORY 20
#define OMR_BOTS_MESSAGES_MAX 10   /* messages of one answer */
#define OMR_BOTS_BUTTONS_MAX 10    /* quick replies of one message */
#define OMR_BOTS_BUTTON_MAX 100    /* bytes of one quick reply */
#define OMR_BOTS_SLOTS_MAX 16384   /* what a bot may keep on a conversation */

struct omr_bot_conv {
	char *turn;        /* the turn under way, or NULL */
	int more;          /* customer messages arrived during the turn */
};

struct omr_bot_pending {
	char *conversation;
	char *plugin;
};

struct omr_bots {
	struct omr_env env;
	struct omr_channels *channels;
	int running;
	struct omr_map *turns;   /* turn id -> omr_bot_pending */
	struct omr_map *convs;   /* conversation -> omr_bot_conv */
	struct event *sweep;
	int sweeping;
	int sweeping_idle;
};

static void omr_bots_noop_cb(void *arg, const redisReply *reply, const char *err)
{
	if (err)
		omr_log_warn("bots: %s: %s", (const char *)arg, err);
}

static struct omr_bot_conv *omr_bots_conv(struct omr_bots *b, const char *conv, int create)
{
	struct omr_bot_conv *c = omr_map_gets(b->convs, conv);
	if (!c && create) {
		c = omr_calloc(1, sizeof(*c));
		omr_map_puts(b->convs, conv, c);
	}
	return c;
}

static void omr_bot_conv_free(void *p)
{
	struct omr_bot_conv *c = p;
	free(c->turn);
	free(c);
}

static void omr_bot_pending_free(void *p)
{
	struct omr_bot_pending *t = p;
	if (!t)
		return;
	free(t->conversation);
	free(t->plugin);
	free(t);
}

static void omr_bots_deadline(struct omr_bots *b, const char *conv, int set)
{
	struct omr_lua_bot_deadline_args a = {
		.conversation = conv,
		.timeout = set ? omr_env_cfg(&b->env)->routing->bot_timeout : 0,
	};
	omr_lua_bot_deadline(b->env.store, &a, omr_bots_noop_cb, "deadline");
}

/* ---- the end of the bot's part ---- */

static void omr_bots_forget(struct omr_bots *b, const char *conv)
{
	struct omr_bot_conv *c = omr_map_dels(b->convs, conv);
	if (c) {
		if (c->turn)
			omr_bot_pending_free(omr_map_dels(b->turns, c->turn));
		omr_bot_conv_free(c);
	}
	omr_bots_deadline(b, conv, 0);
}

struct omr_bot_handoff {
	struct omr_bots *b;
	char *conversation;
	int bot;           /* the bot's hand-off (not a parked automatic answer's) */
};

/* The bot tier is done with a conversation (for the containment figures). */
static void omr_bots_ended(struct omr_bots *b, const char *conv, const char *result)
{
	omr_hub_ended(b->env.hub, OMR_HUB_BOT_ENDED, NULL, conv, NULL, result);
}

static void omr_bots_handed_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_bot_handoff *h = arg;
	struct omr_bots *b = h->b;
	struct omr_lua_bot_end_reply r;
	int n = err ? -1 : omr_lua_bot_end_reply(reply, &r);
	if (err) {
		omr_log_warn("conversation %s: hand-off not stored: %s", h->conversation, err);
	} else if (n >= 1 && r.tag && strcmp(r.tag, "ok") == 0) {
		long long pos = r.position ? r.position : 1;
		long long aht = r.aht;
		const struct omr_routing_conf *rc = omr_env_cfg(&b->env)->routing;
		if (!aht)
			aht = rc->handle_time_default;
		omr_log_info("conversation %s handed from the bot to people", h->conversation);
		if (h->bot)
			omr_bots_ended(b, h->conversation, "handoff");
		if (rc->handoff_text) {
			char *text = omr_route_text(rc->handoff_text, NULL, omr_now_ms(), pos,
						    omr_route_eta(pos, aht, 1));
			omr_channels_tell(b->channels, h->conversation, text);
			free(text);
		}
		omr_hub_route(b->env.hub);
	}
	free(h->conversation);
	free(h);
}

/* Hand a conversation to people: the bot's suggested queue, else the one
 * routing chose, with what the bot learnt recorded for the agent. */
static void omr_bots_handoff_tagged(struct omr_bots *b, const char *conv, const char *queue,
				    const char *reason, const json_t *skills, const char *tag)
{
	const struct omr_routing_conf *rc = omr_env_cfg(&b->env)->routing;
	struct omr_bot_handoff *h = omr_calloc(1, sizeof(*h));
	char day[16];
	omr_day(day, sizeof(day));
	json_t *note = json_pack("{s:s,s:I}", "reason", reason ? reason : "", "at",
				 (json_int_t)omr_now_ms());
	char *nj = json_dumps(note, JSON_COMPACT);
	char *sk = json_is_object(skills) ? json_dumps(skills, JSON_COMPACT) : omr_strdup("{}");
	h->b = b;
	h->conversation = omr_strdup(conv);
	h->bot = strcmp(tag, "bot_handoff") == 0;
	omr_bots_forget(b, conv);
	struct omr_lua_bot_end_args a = {
		.how = "handoff",
		.conversation = conv,
		.day = day,
		.queue = queue && omr_routing_queue(rc, queue) ? queue : "",
		.aging = rc->aging,
		.skills = sk,
		.note = nj,
		.fallback = rc->default_queue,
		.tag = tag,
	};
	omr_lua_bot_end(b->env.store, &a, omr_bots_handed_cb, h);
	free(nj);
	free(sk);
	json_decref(note);
}

static void omr_bots_handoff(struct omr_bots *b, const char *conv, const char *queue,
			     const char *reason, const json_t *skills)
{
	omr_bots_handoff_tagged(b, conv, queue, reason, skills, "bot_handoff");
}

void omr_bots_takeover(struct omr_bots *b, const char *conversation, const char *reason)
{
	omr_bots_handoff_tagged(b, conversation, NULL, reason, NULL, "auto_answer_followup");
}

static void omr_bots_resolved_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_bot_handoff *h = arg;
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));
	if (err)
		omr_log_warn("bots: resolve: %s", err);
	else if (tag && strcmp(tag, "ok") == 0)
		omr_bots_ended(h->b, h->conversation, "contained");
	free(h->conversation);
	free(h);
}

static void omr_bots_resolve(struct omr_bots *b, const char *conv, const char *reason,
			     const char *plugin)
{
	char day[16];
	omr_day(day, sizeof(day));
	json_t *w = json_pack("{s:s,s:s,s:s,s:I}", "reason", reason, "outcome", "resolved by bot", "bot",
			      plugin, "at", (json_int_t)omr_now_ms());
	char *wj = json_dumps(w, JSON_COMPACT);
	omr_bots_forget(b, conv);
	struct omr_lua_bot_end_args a = {
		.how = "resolve", .conversation = conv, .day = day, .reason = reason, .wrapup = wj,
	};
	struct omr_bot_handoff *h = omr_calloc(1, sizeof(*h)); /* a resolve, here */
	h->b = b;
	h->conversation = omr_strdup(conv);
	omr_lua_bot_end(b->env.store, &a, omr_bots_resolved_cb, h);
	omr_log_info("conversation %s resolved by the bot (%s)", conv, reason);
	free(wj);
	json_decref(w);
}

/* ---- turns ---- */

struct omr_bot_start {
	struct omr_bots *b;
	char *conversation;
};

static json_t *omr_bots_context(const json_t *conv, const char **text_r)
{
	json_t *msgs = json_object_get(conv, "messages"), *m, *hist = json_array();
	json_t *cust = json_object_get(conv, "customer_profile");
	size_t i;
	*text_r = "";
	json_array_foreach(msgs, i, m) {
		const char *dir = json_string_value(json_object_get(m, "direction"));
		const char *text = json_string_value(json_object_get(m, "text"));
		if (!dir || strcmp(dir, "note") == 0)
			continue;
		if (strcmp(dir, "in") == 0)
			*text_r = text ? text : "";
		json_array_append_new(hist, json_pack("{s:s,s:s}", "from",
						      strcmp(dir, "in") == 0 ? "customer" :
						      json_string_value(json_object_get(m, "author")) ?
						      json_string_value(json_object_get(m, "author")) : "agent",
						      "text", text ? text : ""));
	}
	json_t *slots = json_object_get(conv, "bot_slots");
	json_t *c = json_pack("{s:O?,s:O?,s:O?,s:O?}", "id", json_object_get(cust, "id"), "name",
			      json_object_get(cust, "name"), "email", json_object_get(cust, "email"),
			      "balance", json_object_get(cust, "balance"));
	long long mis = json_integer_value(json_object_get(conv, "bot_misunderstood"));
	long long turns = json_integer_value(json_object_get(conv, "bot_turns"));
	json_t *attrs = json_object_get(conv, "attrs");
	json_t *ctx = json_pack("{s:o,s:o,s:O?,s:o,s:I,s:I,s:o}", "customer", c ? c : json_object(),
				"attrs", json_is_object(attrs) ? json_incref(attrs) : json_object(),
				"intent", json_object_get(conv, "intent"), "slots",
				json_is_object(slots) ? json_incref(slots) : json_object(),
				"misunderstood", (json_int_t)mis, "turns", (json_int_t)turns, "history",
				hist);
	return ctx ? ctx : json_object();
}

static void omr_bots_start_cb(void *arg, int status, json_t *conv, const char *err)
{
	struct omr_bot_start *s = arg;
	struct omr_bots *b = s->b;
	struct omr_plugin *p = omr_channels_bot(b->channels);
	struct omr_bot_conv *bc = omr_bots_conv(b, s->conversation, 1);
	const char *st = conv ? json_string_value(json_object_get(conv, "status")) : NULL;
	char tid[OMR_ID_MAX];

	if (status != OMR_OK || !conv || !st || strcmp(st, "bot") != 0) {
		if (status != OMR_OK)
			omr_log_warn("conversation %s: cannot load it for the bot: %s", s->conversation, err);
		omr_bots_forget(b, s->conversation);
		goto done;
	}
	if (!p) {
		omr_bots_handoff(b, s->conversation, NULL, "no bot is running", NULL);
		goto done;
	}
	const char *text;
	json_t *ctx = omr_bots_context(conv, &text);
	omr_id_new(tid, "t_");
	struct omr_bot_pending *t = omr_calloc(1, sizeof(*t));
	t->conversation = omr_strdup(s->conversation);
	t->plugin = omr_strdup(p->name);
	omr_map_puts(b->turns, tid, t);
	free(bc->turn);
	bc->turn = omr_strdup(tid);
	bc->more = 0;
	omr_bots_deadline(b, s->conversation, 1);
	struct omr_bot_turn turn = {
		.turn = tid,
		.conversation = s->conversation,
		.channel = json_string_value(json_object_get(conv, "channel")),
		.language = json_string_value(json_object_get(conv, "language")) ?
				    json_string_value(json_object_get(conv, "language")) : "",
		.text = text,
		.context = ctx,
	};
	if (p->desc->bot_turn(p->state, &turn) != OMR_OK) {
		omr_log_warn("conversation %s: bot '%s' refused the turn", s->conversation, p->name);
		omr_bots_handoff(b, s->conversation, NULL, "the bot failed", NULL);
	}
	json_decref(ctx);
done:
	free(s->conversation);
	free(s);
}

void omr_bots_active(struct omr_bots *b, const char *conversation)
{
	if (omr_env_cfg(&b->env)->routing->bot_idle_close <= 0)
		return; /* never closed for idleness: nothing to keep */
	struct omr_lua_bot_active_args a = { .conversation = conversation };
	omr_lua_bot_active(b->env.store, &a, omr_bots_noop_cb, "idle");
}

void omr_bots_turn(struct omr_bots *b, const char *conversation)
{
	struct omr_bot_conv *bc = omr_bots_conv(b, conversation, 1);
	omr_bots_active(b, conversation);
	struct omr_bot_start *s;
	if (bc->turn) {
		/* one turn at a time: this message goes with the next */
		bc->more = 1;
		return;
	}
	bc->turn = omr_strdup("loading");
	s = omr_calloc(1, sizeof(*s));
	s->b = b;
	s->conversation = omr_strdup(conversation);
	omr_store_conv_get(b->env.store, conversation, OMR_BOTS_HISTORY, 0, omr_bots_start_cb, s);
}

/* ---- answers ---- */

/* An answer being carried out: its messages stored and delivered in
 * order, then what it learnt recorded, then its action. */
struct omr_bot_job {
	struct omr_bots *b;
	char *conversation;
	char *plugin;
	char *name;           /* the name customers see (routing.yaml bot_name) */
	json_t *answer;       /* a copy: messages, action, reason, intent, slots, queue, skills */
	size_t next;
};

static void omr_bots_job_free(struct omr_bot_job *j)
{
	free(j->conversation);
	free(j->plugin);
	free(j->name);
	json_decref(j->answer);
	free(j);
}

static void omr_bots_job_next(struct omr_bot_job *j);

static void omr_bots_stored_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_bot_job *j = arg;
	struct omr_lua_reply_reply r;
	json_t *m = json_array_get(json_object_get(j->answer, "messages"), j->next - 1);
	if (!err && omr_lua_reply_reply(reply, &r) >= 5 && r.tag && strcmp(r.tag, "ok") == 0) {
		json_t *buttons = json_object_get(m, "buttons");
		json_t *data = json_is_array(buttons) ? json_pack("{s:O}", "buttons", buttons) : NULL;
		struct omr_outbound out = {
			.conversation = j->conversation,
			.message = r.message,
			.kind = "message",
			.address = r.address,
			.thread = r.thread,
			.author = "bot",
			.author_name = j->name,
			.text = json_string_value(json_object_get(m, "text")),
			.data = data,
		};
		omr_channels_deliver(j->b->channels, r.channel, &out);
		json_decref(data);
	} else if (err) {
		omr_log_warn("conversation %s: bot message not stored: %s", j->conversation, err);
	}
	omr_bots_job_next(j);
}

static void omr_bots_updated_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_bot_job *j = arg;
	struct omr_bots *b = j->b;
	struct omr_lua_bot_update_reply r;
	const char *st = !err && omr_lua_bot_update_reply(reply, &r) >= 1 ? r.status : NULL;
	const char *action = json_string_value(json_object_get(j->answer, "action"));
	const char *reason = json_string_value(json_object_get(j->answer, "reason"));
	const char *intent = json_string_value(json_object_get(j->answer, "intent"));

	if (err || !st || strcmp(st, "bot") != 0) {
		omr_bots_job_free(j);
		return;
	}
	if (action && strcmp(action, "handoff") == 0) {
		omr_bots_handoff(b, j->conversation, json_string_value(json_object_get(j->answer, "queue")),
				 reason ? reason : "the bot handed over",
				 json_object_get(j->answer, "skills"));
	} else if (action && strcmp(action, "resolve") == 0) {
		omr_bots_resolve(b, j->conversation, reason && *reason ? reason
							: intent && *intent ? intent : "resolved by bot",
				 j->plugin);
	} else {
		struct omr_bot_conv *bc = omr_bots_conv(b, j->conversation, 0);
		int more = bc && bc->more;
		/* between turns nothing of the conversation is kept here (it may
		 * end on another node: closed for idleness) */
		if (bc)
			omr_bot_conv_free(omr_map_dels(b->convs, j->conversation));
		omr_bots_deadline(b, j->conversation, 0);
		if (more)
			omr_bots_turn(b, j->conversation);
	}
	omr_bots_job_free(j);
}

static void omr_bots_job_next(struct omr_bot_job *j)
{
	json_t *msgs = json_object_get(j->answer, "messages");
	char mid[OMR_ID_MAX], cmid[OMR_ID_MAX + 8];
	while (j->next < json_array_size(msgs)) {
		json_t *m = json_array_get(msgs, j->next++);
		const char *text = json_string_value(json_object_get(m, "text"));
		if (!text || !*text)
			continue;
		omr_id_new(mid, "m_");
		snprintf(cmid, sizeof(cmid), "bot-%s", mid);
		struct omr_lua_reply_args a = {
			.conversation = j->conversation,
			.agent = j->plugin,
			.name = j->name,
			.text = text,
			.client_msg_id = cmid,
			.message = mid,
			.dedup_ttl = omr_env_cfg(&j->b->env)->limits.dedup_ttl,
			.author = "bot",
		};
		omr_lua_reply(j->b->env.store, &a, omr_bots_stored_cb, j);
		return;
	}
	/* every message is out: record what the bot learnt */
	json_t *slots = json_object_get(j->answer, "slots");
	char *sj = json_is_object(slots) ? json_dumps(slots, JSON_COMPACT) : omr_strdup("{}");
	const char *intent = json_string_value(json_object_get(j->answer, "intent"));
	struct omr_lua_bot_update_args a = {
		.conversation = j->conversation,
		.slots = sj,
		.intent = intent,
		.misunderstood = json_is_true(json_object_get(j->answer, "misunderstood")),
	};
	omr_lua_bot_update(j->b->env.store, &a, omr_bots_updated_cb, j);
	free(sj);
}

static size_t omr_bots_json_size(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	size_t n = s ? strlen(s) : (size_t)-1;
	free(s);
	return n;
}

static int omr_bots_valid_text(const char *s, size_t max)
{
	return s && strlen(s) <= max && omr_utf8_valid(s, strlen(s));
}

/* Quick replies: up to 10 short texts; anything else is dropped. */
static json_t *omr_bots_buttons(const json_t *in)
{
	json_t *out, *b;
	size_t i;
	if (!json_is_array(in) || json_array_size(in) == 0)
		return NULL;
	out = json_array();
	json_array_foreach(in, i, b) {
		const char *t = json_string_value(b);
		if (i < OMR_BOTS_BUTTONS_MAX && t && *t && omr_bots_valid_text(t, OMR_BOTS_BUTTON_MAX))
			json_array_append(out, b);
	}
	if (json_array_size(out) == 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

void omr_bots_answer(struct omr_bots *b, struct omr_plugin *p, const struct omr_bot_answer *a)
{
	struct omr_bot_pending *t = a && a->turn ? omr_map_gets(b->turns, a->turn) : NULL;
	const char *action = a && a->action ? a->action : "continue";
	size_t tmax = (size_t)omr_env_cfg(&b->env)->limits.text_max;

	if (!t || strcmp(t->plugin, p->name) != 0) {
		omr_log_warn("bot '%s' answered an unknown or finished turn %s", p->name,
			     a && a->turn ? a->turn : "(none)");
		return;
	}
	if (strcmp(action, "continue") && strcmp(action, "handoff") && strcmp(action, "resolve")) {
		omr_log_warn("bot '%s': unknown action '%s'; handing over", p->name, action);
		action = "handoff";
	}
	struct omr_bot_job *j = omr_calloc(1, sizeof(*j));
	j->b = b;
	j->conversation = omr_strdup(t->conversation);
	j->plugin = omr_strdup(p->name);
	const char *shown = omr_env_cfg(&b->env)->routing->bot_name;
	j->name = omr_strdup(shown ? shown : p->name);
	j->answer = json_object();
	json_t *msgs = json_array(), *m;
	size_t i;
	json_array_foreach(a->messages, i, m) {
		const char *text = json_string_value(json_object_get(m, "text"));
		if (i >= OMR_BOTS_MESSAGES_MAX || !omr_bots_valid_text(text, tmax))
			continue; /* a bot does not get to flood or break the channel */
		json_t *clean = json_pack("{s:s}", "text", text);
		json_t *buttons = omr_bots_buttons(json_object_get(m, "buttons"));
		if (buttons)
			json_object_set_new(clean, "buttons", buttons);
		json_array_append_new(msgs, clean);
	}
	json_object_set_new(j->answer, "messages", msgs);
	json_object_set_new(j->answer, "action", json_string(action));
	if (omr_bots_valid_text(a->reason, 200))
		json_object_set_new(j->answer, "reason", json_string(a->reason));
	if (omr_bots_valid_text(a->intent, 100))
		json_object_set_new(j->answer, "intent", json_string(a->intent));
	if (json_is_object(a->slots) && omr_bots_json_size(a->slots) <= OMR_BOTS_SLOTS_MAX)
		json_object_set(j->answer, "slots", a->slots);
	else if (a->slots)
		omr_log_warn("bot '%s': slots that are not an object of at most %d bytes ignored",
			     p->name, OMR_BOTS_SLOTS_MAX);
	if (a->queue && omr_routing_queue(omr_env_cfg(&b->env)->routing, a->queue))
		json_object_set_new(j->answer, "queue", json_string(a->queue));
	if (json_is_object(a->skills)) {
		json_t *sk = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(a->skills, k, v)
			if (omr_routing_skill(omr_env_cfg(&b->env)->routing, k) && json_is_integer(v))
				json_object_set(sk, k, v);
		json_object_set_new(j->answer, "skills", sk);
	}
	json_object_set_new(j->answer, "misunderstood", json_boolean(a->misunderstood));
	omr_map_dels(b->turns, a->turn);
	omr_bot_pending_free(t);
	omr_bots_job_next(j);
}

/* ---- the safety net: turns nobody answered ---- */

static void omr_bots_due_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_bots *b = arg;
	b->sweeping = 0;
	for (size_t i = 0; !err && reply && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
		const char *conv = omr_reply_str(reply->element[i]);
		if (!conv)
			continue;
		omr_log_warn("conversation %s: the bot did not answer in time; handing over", conv);
		omr_bots_handoff(b, conv, NULL, "the bot did not answer in time", NULL);
	}
}

/* ---- conversations the customer left: closed after bot_idle_close ---- */

static void omr_bots_idle_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_bots *b = arg;
	b->sweeping_idle = 0;
	if (err) {
		omr_log_warn("bots: cannot close idle conversations: %s", err);
		return;
	}
	for (size_t i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements;
	     i += 2) {
		const char *conv = omr_reply_str(reply->element[i]);
		const char *was = omr_reply_str(reply->element[i + 1]);
		if (!conv)
			continue;
		omr_log_info("conversation %s closed: no reply from the customer (it was %s)", conv,
			     was ? was : "?");
		if (was && strcmp(was, "bot") == 0) /* left the bot without asking for a person */
			omr_bots_ended(b, conv, "contained");
		omr_bots_forget(b, conv);
	}
}

static void omr_bots_sweep_idle(struct omr_bots *b)
{
	long long idle = omr_env_cfg(&b->env)->routing->bot_idle_close;
	char day[16];
	if (idle <= 0 || b->sweeping_idle)
		return;
	b->sweeping_idle = 1;
	omr_day(day, sizeof(day));
	struct omr_lua_bot_idle_args a = { .idle = idle, .day = day, .most = 50 };
	omr_lua_bot_idle(b->env.store, &a, omr_bots_idle_cb, b);
}

static void omr_bots_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct omr_bots *b = arg;
	struct omr_lua_bots_due_args a = { .most = 50 };
	if (!b->running || !omr_redis_ready(omr_store_redis(b->env.store)))
		return;
	omr_bots_sweep_idle(b);
	if (b->sweeping)
		return;
	b->sweeping = 1;
	omr_lua_bots_due(b->env.store, &a, omr_bots_due_cb, b);
}

struct omr_bots *omr_bots_new(const struct omr_env *env, struct omr_channels *channels)
{
	struct omr_bots *b = omr_calloc(1, sizeof(*b));
	b->env = *env;
	b->channels = channels;
	b->turns = omr_map_new();
	b->convs = omr_map_new();
	b->sweep = event_new(env->base, -1, EV_PERSIST, omr_bots_sweep, b);
	return b;
}

void omr_bots_start(struct omr_bots *b)
{
	struct timeval tv = { OMR_BOTS_SWEEP_MS / 1000, 0 };
	b->running = 1;
	event_add(b->sweep, &tv);
}

void omr_bots_stop(struct omr_bots *b)
{
	b->running = 0;
	event_del(b->sweep);
}

void omr_bots_free(struct omr_bots *b)
{
	if (!b)
		return;
	event_free(b->sweep);
	omr_map_free(b->turns, omr_bot_pending_free);
	omr_map_free(b->convs, omr_bot_conv_free);
	free(b);
}
