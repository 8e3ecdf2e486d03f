/*
 * omr_outreach: see omr_outreach.h. The channel rules per channel are
 * handed to outreach.lua as one JSON object, so that a request for the
 * customer's preferred channel is checked against the rules of the
 * channel the script picks:
 *   {channel: {text, meta, window_ms, online, thread, subject}}
 * (text: the message as that channel sends it, a template's text with its
 * variables filled in; online: the key prefix under which a connected
 * channel's plugin records who is online, see docs/plugins.md).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_agents_conf.h"
#include "omr_channels.h"
#include "omr_config.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_outreach.h"
#include "omr_plugin.h"
#include "omr_redis.h"
#include "omr_route.h"
#include "omr_router.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

/* an agent target is offered to that agent first, this long */
#define OMR_OUTREACH_AGENT_WAIT_MS (10 * 60 * 1000LL)
/* an Idempotency-Key is remembered this long */
#define OMR_OUTREACH_IDEM_TTL_MS (24 * 3600 * 1000LL)

struct omr_outreach {
	struct omr_env env;
	struct omr_channels *channels;   /* borrowed */
	unsigned long long created, refused, replayed;
};

/* one start under way; owns its copies */
struct omr_ostart {
	struct omr_outreach *o;
	omr_outreach_cb cb;
	void *arg;
	char *target, *queue, *agent, *conversation, *channel, *customer;
	json_t *rules;          /* per channel, see the top */
	struct event *later;    /* answers an early refusal on a later loop pass */
	struct omr_outreach_res res;
	char *code, *message;
};

struct omr_outreach *omr_outreach_new(const struct omr_env *env, struct omr_channels *channels)
{
	struct omr_outreach *o = omr_calloc(1, sizeof(*o));
	o->env = *env;
	o->channels = channels;
	return o;
}

const struct omr_env *omr_outreach_env(const struct omr_outreach *o)
{
	return &o->env;
}

void omr_outreach_free(struct omr_outreach *o)
{
	free(o);
}

void omr_outreach_metrics(const struct omr_outreach *o, struct omr_buf *b)
{
	omr_metric(b, "outreach_created_total", "counter",
		   "conversations started by us (API, signals, console)", o->created);
	omr_metric(b, "outreach_refused_total", "counter",
		   "conversations not started: a channel rule, an opt-out, a throttle", o->refused);
	omr_metric(b, "outreach_replayed_total", "counter",
		   "requests with an Idempotency-Key already used: the same conversation answered",
		   o->replayed);
}

static void omr_ostart_free(struct omr_ostart *s)
{
	if (s->later)
		event_free(s->later);
	free(s->target);
	free(s->queue);
	free(s->agent);
	free(s->conversation);
	free(s->channel);
	free(s->customer);
	free(s->code);
	free(s->message);
	json_decref(s->rules);
	free(s);
}

static void omr_ostart_answer(struct omr_ostart *s, int status, const char *code,
			      const char *conversation)
{
	s->res.status = status;
	s->res.code = code;
	s->res.message = s->message;
	s->res.conversation = conversation;
	s->res.channel = s->channel;
	s->res.customer = s->customer;
	if (status >= 400)
		s->o->refused++;
	s->cb(s->arg, &s->res);
	omr_ostart_free(s);
}

static void omr_ostart_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct omr_ostart *s = arg;
	(void)fd;
	(void)what;
	omr_ostart_answer(s, s->res.status, s->code, NULL);
}

/* a refusal before Redis was asked: answered on a later loop pass */
static void omr_ostart_refuse(struct omr_ostart *s, int status, const char *code, const char *fmt,
			      ...) __attribute__((format(printf, 4, 5)));
static void omr_ostart_refuse(struct omr_ostart *s, int status, const char *code, const char *fmt,
			      ...)
{
	va_list ap;
	char buf[512];
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->message = omr_strdup(buf);
	s->code = omr_strdup(code);
	s->res.status = status;
	s->later = event_new(s->o->env.base, -1, 0, omr_ostart_later_cb, s);
	event_active(s->later, EV_TIMEOUT, 0);
}

/* "{{name}}" of the template's text replaced by the variable's value */
char *omr_outreach_fill(const char *text, const json_t *vars)
{
	struct omr_buf b;
	omr_buf_init(&b);
	for (const char *p = text; *p;) {
		const char *end = strncmp(p, "{{", 2) == 0 ? strstr(p + 2, "}}") : NULL;
		if (end && end - p - 2 <= 64) {
			char name[65];
			memcpy(name, p + 2, (size_t)(end - p - 2));
			name[end - p - 2] = '\0';
			const char *v = json_string_value(json_object_get(vars, name));
			if (v) {
				omr_buf_append(&b, v, strlen(v));
				p = end + 2;
				continue;
			}
		}
		omr_buf_append(&b, p, 1);
		p++;
	}
	return omr_buf_steal(&b, NULL);
}

static const json_t *omr_outreach_template(const struct omr_plugin *p, const json_t *want)
{
	const char *name = json_string_value(json_object_get(want, "name"));
	const char *lang = json_string_value(json_object_get(want, "language"));
	size_t i;
	json_t *t;
	json_array_foreach(p->templates, i, t) {
		const char *tl = json_string_value(json_object_get(t, "language"));
		if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0 &&
		    (!lang || (tl && strcmp(tl, lang) == 0)))
			return t;
	}
	return NULL;
}

/* The rules of one channel for this request, or NULL when it cannot take
 * it (*why_r says why: a template it does not have). */
static json_t *omr_outreach_channel_rules(const struct omr_plugin *p,
					  const struct omr_outreach_req *req, const char **why_r)
{
	json_t *meta = json_object(), *r;
	char *text;
	const json_t *t = req->tmpl ? omr_outreach_template(p, req->tmpl) : NULL;
	if (req->tmpl && !t && !req->text) {
		*why_r = "unknown_template";
		json_decref(meta);
		return NULL;
	}
	if (t) { /* (a signal's rule may give both: the text where there is no template) */
		const json_t *vars = json_object_get(req->tmpl, "variables");
		text = omr_outreach_fill(json_string_value(json_object_get(t, "text")), vars);
		json_object_set_new(meta, "template",
				    json_pack("{s:O,s:O,s:o}", "name", json_object_get(t, "name"),
					      "language", json_object_get(t, "language"), "variables",
					      vars ? json_incref((json_t *)vars) : json_object()));
	} else {
		text = omr_strdup(req->text ? req->text : "");
	}
	if (req->subject)
		json_object_set_new(meta, "subject", json_string(req->subject));
	r = json_pack("{s:s,s:o,s:I,s:s,s:s,s:b}", "text", text, "meta", meta, "window_ms",
		      (json_int_t)p->reply_window_ms, "online", "", "thread",
		      p->reopen_ms > 0 ? "conversation" : "", "subject",
		      strcmp(p->name, "email") == 0 && !req->subject);
	if (r && (p->desc->flags & OMR_PLUGIN_CONNECTED)) {
		char *k = omr_asprintf("kv:%s:online:", p->name);
		json_object_set_new(r, "online", json_string(k));
		free(k);
	}
	free(text);
	return r;
}

/* every running channel that can take the request (only req->channel when
 * set); NULL with the refusal sent */
static json_t *omr_outreach_rules(struct omr_ostart *s, const struct omr_outreach_req *req)
{
	json_t *all = json_object();
	const char *why = NULL;
	struct omr_plugin *p;
	for (size_t i = 0; (p = omr_channels_nth(s->o->channels, i)) != NULL; i++) {
		if (p->desc->kind != OMR_PLUGIN_CHANNEL || !p->started ||
		    (req->channel && strcmp(req->channel, p->name) != 0))
			continue;
		json_t *r = omr_outreach_channel_rules(p, req, &why);
		if (r)
			json_object_set_new(all, p->name, r);
	}
	if (json_object_size(all) > 0)
		return all;
	json_decref(all);
	if (req->channel && why)
		omr_ostart_refuse(s, 422, "unknown_template",
				  "%s has no approved template '%s'%s%s", req->channel,
				  json_string_value(json_object_get(req->tmpl, "name")),
				  json_object_get(req->tmpl, "language") ? " in " : "",
				  json_object_get(req->tmpl, "language") ?
					  json_string_value(json_object_get(req->tmpl, "language")) : "");
	else if (req->channel)
		omr_ostart_refuse(s, 422, "unknown_channel", "no channel '%s' is running",
				  req->channel);
	else
		omr_ostart_refuse(s, 422, "no_channel", "no running channel can take this message%s",
				  req->tmpl ? " (none has the template)" : "");
	return NULL;
}

/* the target's queue, agent and bot exist: 0, or -1 with the refusal sent */
static int omr_outreach_target_ok(struct omr_ostart *s, const struct omr_outreach_req *req)
{
	const struct omr_config *cfg = omr_env_cfg(&s->o->env);
	const struct omr_routing_conf *rc = cfg->routing;
	s->target = omr_strdup(req->target ? req->target : "none");
	s->queue = omr_strdup(req->queue ? req->queue : rc->default_queue);
	if (req->agent) {
		const struct omr_agent_conf *ac = omr_agents_find(cfg->agents, req->agent);
		if (!ac || !(ac->roles & OMR_ROLE_AGENT)) {
			omr_ostart_refuse(s, 400, "unknown_agent", "'%s' is not an agent", req->agent);
			return -1;
		}
		s->agent = omr_strdup(req->agent);
	}
	if (!omr_routing_queue(rc, s->queue)) {
		omr_ostart_refuse(s, 400, "unknown_queue", "no queue '%s' in routing.yaml", s->queue);
		return -1;
	}
	if (strcmp(s->target, "bot") == 0 && !omr_channels_bot(s->o->channels)) {
		omr_ostart_refuse(s, 422, "no_bot", "no bot tier is running (bot: in routing.yaml)");
		return -1;
	}
	return 0;
}

/* ---- after the script ---- */

static const struct {
	const char *tag;
	int status;
	const char *code;
	const char *message;
} omr_outreach_refusals[] = {
	{ "idem_mismatch", 409, "idempotency_mismatch",
	  "this Idempotency-Key was used for another request" },
	{ "no_customer", 404, "unknown_customer", "no such customer" },
	{ "no_address", 422, "no_address", "the customer has no address on this channel" },
	{ "no_channel", 422, "no_channel",
	  "the customer has no address on a running channel that can take the message" },
	{ "restricted", 403, "restricted",
	  "the customer restricted the processing of their data: no proactive contact" },
	{ "opted_out", 403, "opted_out", "this address opted out of messages on this channel" },
	{ "offline", 422, "visitor_offline",
	  "web chat reaches only a visitor who is on the site now" },
	{ "window_closed", 422, "template_required",
	  "outside the channel's reply window only an approved template may be sent" },
	{ "no_subject", 400, "subject_required", "an e-mail needs a subject" },
	{ "open", 409, "conversation_open",
	  "the customer has an open conversation in this thread; reply in it" },
	{ "throttled", 429, "throttled", "the customer was contacted proactively too recently" },
};

static void omr_outreach_placed(void *arg, const redisReply *reply, const char *err)
{
	struct omr_ostart *s = arg;
	if (err)
		omr_log_warn("conversation %s: not placed (%s): %s; routing will decide it",
			     s->conversation, s->target, err);
	omr_hub_route(s->o->env.hub);
	omr_ostart_answer(s, 201, NULL, s->conversation);
}

/* where the conversation goes: a queue (an agent first), the bot */
static void omr_outreach_place(struct omr_ostart *s)
{
	const struct omr_routing_conf *rc = omr_env_cfg(&s->o->env)->routing;
	const struct omr_queue_conf *q = omr_routing_queue(rc, s->queue);
	json_t *skills = NULL, *optional = NULL;
	if (strcmp(s->target, "none") == 0) {
		omr_ostart_answer(s, 201, NULL, s->conversation);
		return;
	}
	omr_route_needs(q, NULL, 0, &skills, &optional);
	char *sk = json_dumps(skills, JSON_COMPACT);
	json_t *tags = json_pack("[s]", strcmp(s->target, "task") == 0 ? "task" : "proactive");
	char *tg = json_dumps(tags, JSON_COMPACT);
	json_t *ex = json_pack("{s:s,s:s,s:s?}", "proactive", s->target, "queue", s->queue,
			       "preferred_agent", s->agent);
	char *exs = json_dumps(ex, JSON_COMPACT);
	if (strcmp(s->target, "bot") == 0) {
		struct omr_lua_to_bot_args a = {
			.entry = "", .group = OMR_EVENTS_GROUP, .conversation = s->conversation,
			.bot = rc->bot, .queue = s->queue, .priority = q ? q->priority : 0,
			.skills = sk, .tags = tg, .routing = exs,
		};
		omr_lua_to_bot(s->o->env.store, &a, omr_outreach_placed, s);
	} else {
		struct omr_lua_enqueue_args a = {
			.entry = "", .group = OMR_EVENTS_GROUP, .conversation = s->conversation,
			.queue = s->queue, .priority = q ? q->priority : 0, .aging = rc->aging,
			.skills = sk, .tags = tg, .routing = exs, .prefer = s->agent,
			.prefer_ms = s->agent ? OMR_OUTREACH_AGENT_WAIT_MS : 0, .engage = "[]",
			.min = rc->engagement.min, .max = rc->engagement.max,
		};
		omr_lua_enqueue(s->o->env.store, &a, omr_outreach_placed, s);
	}
	free(sk);
	free(tg);
	free(exs);
	json_decref(skills);
	json_decref(optional);
	json_decref(tags);
	json_decref(ex);
}

static void omr_outreach_send(struct omr_ostart *s, const struct omr_lua_outreach_reply *r)
{
	const json_t *rules = json_object_get(s->rules, r->channel);
	const json_t *meta = json_object_get(rules, "meta");
	json_t *data = json_object_get(meta, "template") ?
			       json_pack("{s:O}", "template", json_object_get(meta, "template")) :
			       NULL;
	const struct omr_outbound out = {
		.conversation = r->conversation, .message = r->message, .kind = "message",
		.address = r->address, .thread = r->thread,
		.author = json_string_value(json_object_get(s->rules, "_author")),
		.author_name = json_string_value(json_object_get(s->rules, "_author_name")),
		.text = json_string_value(json_object_get(rules, "text")), .data = data,
	};
	omr_channels_deliver(s->o->channels, r->channel, &out);
	json_decref(data);
}

static void omr_outreach_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_ostart *s = arg;
	struct omr_lua_outreach_reply r;
	if (err || omr_lua_outreach_reply(reply, &r) < 7 || !r.tag) {
		s->message = omr_asprintf("storage unavailable: %s", err ? err : "bad reply");
		omr_ostart_answer(s, 503, "unavailable", NULL);
		return;
	}
	s->channel = omr_strdup(r.channel);
	s->customer = omr_strdup(r.customer);
	if (strcmp(r.tag, "dup") == 0) {
		s->o->replayed++;
		free(s->conversation); /* the id this call would have made */
		s->conversation = omr_strdup(r.conversation);
		omr_ostart_answer(s, 200, NULL, s->conversation);
		return;
	}
	if (strcmp(r.tag, "ok") != 0) {
		for (size_t i = 0; i < OMR_ARRAY_LEN(omr_outreach_refusals); i++) {
			if (strcmp(r.tag, omr_outreach_refusals[i].tag) != 0)
				continue;
			s->message = omr_strdup(omr_outreach_refusals[i].message);
			free(s->conversation);
			s->conversation = *r.conversation ? omr_strdup(r.conversation) : NULL;
			omr_ostart_answer(s, omr_outreach_refusals[i].status,
					  omr_outreach_refusals[i].code, s->conversation);
			return;
		}
		s->message = omr_asprintf("refused: %s", r.tag);
		omr_ostart_answer(s, 422, "refused", NULL);
		return;
	}
	s->o->created++;
	omr_log_info("conversation %s (%s) started by %s, to %s", r.conversation, r.channel,
		     json_string_value(json_object_get(s->rules, "_by")), s->target);
	if (r.message && *r.message)
		omr_outreach_send(s, &r);
	omr_outreach_place(s);
}

/* the fingerprint of a request: the same key with another body is refused */
static void omr_outreach_fp(const struct omr_outreach_req *req, char out[65])
{
	json_t *j = json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:O?,s:s?,s:s?,s:s?}", "channel",
			      req->channel, "to", req->to, "customer", req->customer, "text",
			      req->text, "subject", req->subject, "template", req->tmpl, "target",
			      req->target, "queue", req->queue, "agent", req->agent);
	char *t = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	omr_hmac_sha256_hex("omniroute outreach", 18, t ? t : "", t ? strlen(t) : 0, out);
	free(t);
	json_decref(j);
}

void omr_outreach_start(struct omr_outreach *o, const struct omr_outreach_req *req,
			omr_outreach_cb cb, void *arg)
{
	struct omr_ostart *s = omr_calloc(1, sizeof(*s));
	char conv[OMR_ID_MAX], msg[OMR_ID_MAX], cust[OMR_ID_MAX], idem[OMR_ID_MAX], fp[65];
	s->o = o;
	s->cb = cb;
	s->arg = arg;
	if (omr_outreach_target_ok(s, req) < 0 || !(s->rules = omr_outreach_rules(s, req)))
		return;
	json_object_set_new(s->rules, "_by", json_string(req->by ? req->by : ""));
	json_object_set_new(s->rules, "_author", json_string(req->author ? req->author : "system"));
	if (req->author_name)
		json_object_set_new(s->rules, "_author_name", json_string(req->author_name));
	s->conversation = omr_strdup(omr_id_new(conv, "c_"));
	omr_outreach_fp(req, fp);
	char *rules = json_dumps(s->rules, JSON_COMPACT);
	char *addr = req->to && req->channel && strcmp(req->channel, "email") == 0 ?
			     omr_strdup(req->to) : NULL;
	for (char *p = addr; p && *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	json_t *attrs = req->subject ? json_pack("{s:s}", "subject", req->subject) : json_object();
	char *at = json_dumps(attrs, JSON_COMPACT);
	struct omr_lua_outreach_args a = {
		.idem = req->idem ? req->idem : omr_id_new(idem, "k_"), .fp = fp,
		.idem_ttl = OMR_OUTREACH_IDEM_TTL_MS, .channel = req->channel,
		.address = addr ? addr : req->to, .customer = req->customer,
		.new_customer = omr_id_new(cust, "u_"), .conversation = conv,
		.message = omr_id_new(msg, "m_"), .rules = rules, .attrs = at,
		.target = s->target, .author = req->author ? req->author : "system",
		.author_id = req->by, .author_name = req->author_name, .by = req->by,
		.signal = req->signal, .throttle_ms = req->throttle_ms,
	};
	omr_lua_outreach(o->env.store, &a, omr_outreach_done, s);
	free(rules);
	free(addr);
	free(at);
	json_decref(attrs);
}
