/*
 * omr_channels: see omr_channels.h.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_bus.h"
#include "omr_channels.h"
#include "omr_config.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_plugin.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_unsub.h"
#include "omr_util.h"

#define OMR_LEASE_RENEW_MS 5000
#define OMR_LEASE_MAX_MS (6LL * 3600 * 1000) /* a send no plugin ever finished */
#define OMR_LEASE_RENEW_MAX 500              /* leases renewed per command */

struct omr_channels {
	struct omr_env env;
	struct omr_bus *bus;
	struct omr_plugin *const *plugins;
	size_t nplugins;
	struct omr_map *leases;     /* message id -> (intptr_t) ms it was handed over */
	struct event *renew_ev;
	int running;
	unsigned long long sent, failed;
	/* the message a connected channel is being handed on this node, and
	 * whether the plugin said "delivered" meanwhile */
	const char *handing;
	int handed;
};

struct omr_channels *omr_channels_new(const struct omr_env *env, struct omr_bus *bus,
				      struct omr_plugin *const *plugins, size_t nplugins)
{
	struct omr_channels *ch = omr_calloc(1, sizeof(*ch));
	ch->env = *env;
	ch->bus = bus;
	ch->plugins = plugins;
	ch->nplugins = nplugins;
	ch->leases = omr_map_new();
	return ch;
}

void omr_channels_free(struct omr_channels *ch)
{
	if (!ch)
		return;
	if (ch->renew_ev)
		event_free(ch->renew_ev);
	omr_map_free(ch->leases, NULL);
	free(ch);
}

struct omr_plugin *omr_channels_nth(const struct omr_channels *ch, size_t i)
{
	return i < ch->nplugins ? ch->plugins[i] : NULL;
}

struct omr_plugin *omr_channels_get(const struct omr_channels *ch, const char *channel)
{
	for (size_t i = 0; channel && i < ch->nplugins; i++) {
		struct omr_plugin *p = ch->plugins[i];
		if (!p->closed && p->desc->kind == OMR_PLUGIN_CHANNEL && strcmp(p->name, channel) == 0)
			return p;
	}
	return NULL;
}

struct omr_plugin *omr_channels_bot(const struct omr_channels *ch)
{
	const char *name = omr_env_cfg(&ch->env)->routing->bot;
	for (size_t i = 0; name && i < ch->nplugins; i++) {
		struct omr_plugin *p = ch->plugins[i];
		if (!p->closed && p->desc->kind == OMR_PLUGIN_BOT && p->started && p->desc->bot_turn &&
		    strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

/* ---- leases of sends under way ---- */

static void omr_channels_lease(struct omr_channels *ch, const char *message)
{
	if (message)
		omr_map_put(ch->leases, message, strlen(message) + 1, (void *)(intptr_t)omr_mono_ms());
}

static void omr_channels_unlease(struct omr_channels *ch, const char *message)
{
	if (message)
		omr_map_del(ch->leases, message, strlen(message) + 1);
}

struct omr_lease_renew {
	long long now;
	const char **ids;
	size_t n, max;
};

static int omr_channels_renew_one(void *arg, const void *key, size_t klen, void *value)
{
	struct omr_lease_renew *r = arg;
	if ((long long)(intptr_t)value < r->now - OMR_LEASE_MAX_MS)
		return 0; /* forgotten by its plugin: let the outbox have it */
	r->ids[r->n++] = key; /* map keys are NUL-terminated strings */
	return r->n >= r->max;
}

static void omr_channels_renewed(void *arg, const redisReply *reply, const char *err)
{
	if (err)
		omr_log_warn("outbox: leases not renewed: %s", err);
}

/* The messages this node is still sending are not due for a resend (on
 * Redis' clock, like the outbox itself: outbox_renew.lua). */
static void omr_channels_renew(evutil_socket_t fd, short what, void *arg)
{
	struct omr_channels *ch = arg;
	size_t n = omr_map_count(ch->leases);
	if (!n || !omr_redis_ready(omr_store_redis(ch->env.store)))
		return;
	struct omr_lease_renew r = { .now = omr_mono_ms(), .max = n < OMR_LEASE_RENEW_MAX ? n : OMR_LEASE_RENEW_MAX };
	r.ids = omr_calloc(r.max, sizeof(*r.ids));
	omr_map_foreach(ch->leases, omr_channels_renew_one, &r);
	struct omr_lua_outbox_renew_args a = { .messages = r.ids, .nmessages = r.n };
	if (r.n)
		omr_lua_outbox_renew(ch->env.store, &a, omr_channels_renewed, NULL);
	free(r.ids);
}

void omr_channels_start(struct omr_channels *ch)
{
	struct timeval tv = { OMR_LEASE_RENEW_MS / 1000, (OMR_LEASE_RENEW_MS % 1000) * 1000 };
	ch->running = 1;
	if (!ch->renew_ev)
		ch->renew_ev = event_new(ch->env.base, -1, EV_PERSIST, omr_channels_renew, ch);
	event_add(ch->renew_ev, &tv);
}

void omr_channels_stop(struct omr_channels *ch)
{
	ch->running = 0;
	if (ch->renew_ev)
		event_del(ch->renew_ev);
}

/* ---- statuses ---- */

struct omr_status_call {
	struct omr_channels *ch;
	char *what;
	void (*done)(void *arg, int ok);
	void *arg;
};

/* The agent sees the new status of a message they sent (hash: HGETALL). */
static void omr_channels_push_status(struct omr_channels *ch, const char *agent, const char *conv,
				     const redisReply *hash)
{
	json_t *m = omr_model_from_hash(OMR_MODEL_MESSAGE, hash);
	json_t *f = m ? json_pack("{s:s,s:s,s:o}", "type", "message", "conversation", conv,
				  "message", m) : NULL;
	if (f)
		omr_hub_to_agent(ch->env.hub, agent, f);
	json_decref(f);
}

static void omr_channels_status_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_status_call *sc = arg;
	const char *conv = omr_reply_str(omr_reply_elem(reply, 1));
	const char *agent = omr_reply_str(omr_reply_elem(reply, 2));
	const char *moved = omr_reply_str(omr_reply_elem(reply, 3));
	if (err) {
		omr_log_warn("delivery status for %s not stored: %s", sc->what, err);
	} else if (moved && strcmp(moved, "1") == 0 && agent && *agent && conv) {
		omr_channels_push_status(sc->ch, agent, conv, omr_reply_elem(reply, 4));
	}
	if (sc->done)
		sc->done(sc->arg, err == NULL);
	free(sc->what);
	free(sc);
}

void omr_channels_status(struct omr_channels *ch, const char *channel, const char *message,
			 const char *channel_msg_id, const char *status, const char *error,
			 void (*done)(void *arg, int ok), void *arg)
{
	struct omr_status_call *sc = omr_malloc(sizeof(*sc));
	if (ch->handing && message && status && strcmp(message, ch->handing) == 0 &&
	    strcmp(status, "delivered") == 0)
		ch->handed = 1;
	sc->ch = ch;
	sc->what = omr_strdup(message ? message : channel_msg_id);
	sc->done = done;
	sc->arg = arg;
	if (message && status && strcmp(status, "queued") != 0)
		omr_channels_unlease(ch, message); /* its lease ends with its outcome */
	if (status && strcmp(status, "failed") == 0) {
		ch->failed++;
		/* the reason (a server's answer) may name the customer: kept
		 * with the message, logged at debug only */
		omr_log_warn("%s: message %s failed (the reason is stored with the message)",
			     channel, sc->what);
		omr_log_debug("%s: message %s failed: %s", channel, sc->what,
			      error ? error : "no reason given");
	}
	omr_store_msg_status(ch->env.store, message, status, channel, channel_msg_id, error,
			     omr_channels_status_done, sc);
}

struct omr_read_call {
	struct omr_channels *ch;
	void (*done)(void *arg, int ok);
	void *arg;
};

static void omr_channels_read_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_read_call *rc = arg;
	const char *conv = omr_reply_str(omr_reply_elem(reply, 0));
	const char *agent = omr_reply_str(omr_reply_elem(reply, 1));
	if (err)
		omr_log_warn("read receipt not stored: %s", err);
	for (size_t i = 2; !err && conv && agent && *agent && reply->type == REDIS_REPLY_ARRAY &&
			   i < reply->elements; i++)
		omr_channels_push_status(rc->ch, agent, conv, reply->element[i]);
	if (rc->done)
		rc->done(rc->arg, err == NULL);
	free(rc);
}

void omr_channels_read_until(struct omr_channels *ch, const char *channel, const char *thread,
			     long long watermark_ms, void (*done)(void *arg, int ok), void *arg)
{
	struct omr_read_call *rc = omr_malloc(sizeof(*rc));
	struct omr_lua_msg_read_until_args a = { .channel = channel, .thread = thread,
						 .mark = watermark_ms };
	rc->ch = ch;
	rc->done = done;
	rc->arg = arg;
	omr_lua_msg_read_until(ch->env.store, &a, omr_channels_read_done, rc);
}

/* ---- delivery ---- */

static json_t *omr_outbound_json(const struct omr_outbound *o)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:O?}", "conversation", o->conversation,
			 "message", o->message ? o->message : "", "kind", o->kind, "address", o->address,
			 "thread", o->thread, "author", o->author, "author_name", o->author_name, "text",
			 o->text, "data", o->data);
}

static void omr_channels_sent_cb(void *arg, const redisReply *reply, const char *err)
{
	if (err)
		omr_log_warn("delivery status not stored: %s", err);
}

/* Connected channels: every node tries; the one with the customer delivers.
 * This node first, at once; the others through the bus (none when this
 * node is alone). */
static int omr_channels_broadcast(struct omr_channels *ch, struct omr_plugin *p,
				  const char *channel, const struct omr_outbound *out)
{
	ch->handing = out->message;
	ch->handed = 0;
	p->desc->send(p->state, out);
	ch->handing = NULL;
	if (omr_bus_needed(ch->bus)) {
		json_t *o = omr_outbound_json(out);
		json_t *msg = json_pack("{s:s,s:s,s:s,s:o}", "t", "out", "n", ch->env.node_id, "ch",
					channel, "o", o);
		if (msg)
			omr_bus_publish(ch->bus, msg);
		json_decref(msg);
	}
	/* delivered here already: "sent" would change nothing (statuses only
	 * move forward) and cost a call */
	if (out->message && strcmp(out->kind, "message") == 0 && !ch->handed)
		omr_store_msg_status(ch->env.store, out->message, "sent", channel, NULL, NULL,
				     omr_channels_sent_cb, NULL);
	ch->sent++;
	return OMR_OK;
}

static int omr_channels_deliver_now(struct omr_channels *ch, const char *channel,
				    const struct omr_outbound *out);

/* A message to a customer of the e-mail channel carries the unsubscribe
 * links (docs/proactive.md#e-mail-unsubscribe): data.unsubscribe. */
int omr_channels_deliver(struct omr_channels *ch, const char *channel,
			 const struct omr_outbound *out)
{
	json_t *links = out->kind && strcmp(out->kind, "message") == 0 && out->address
				? omr_unsub_links(omr_env_cfg(&ch->env), channel, out->address,
						  omr_now_ms() / 1000)
				: NULL;
	if (!links)
		return omr_channels_deliver_now(ch, channel, out);
	struct omr_outbound with = *out;
	with.data = out->data ? json_copy(out->data) : json_object();
	json_object_set_new(with.data, "unsubscribe", links);
	int rc = omr_channels_deliver_now(ch, channel, &with);
	json_decref(with.data);
	return rc;
}

static int omr_channels_deliver_now(struct omr_channels *ch, const char *channel,
				    const struct omr_outbound *out)
{
	struct omr_plugin *p = omr_channels_get(ch, channel);
	if (!p || !p->started) {
		omr_log_warn("conversation %s: no running channel plugin '%s' to deliver message %s",
			     out->conversation, channel, out->message);
		ch->failed++;
		return OMR_ERROR;
	}
	if (p->desc->flags & OMR_PLUGIN_CONNECTED)
		return omr_channels_broadcast(ch, p, channel, out);
	int message = out->message && strcmp(out->kind, "message") == 0;
	if (message)
		omr_channels_lease(ch, out->message); /* no resend while under way */
	if (p->desc->send(p->state, out) != OMR_OK) {
		if (message)
			omr_channels_status(ch, channel, out->message, NULL, "failed",
					    "the channel could not take the message", NULL, NULL);
		else
			ch->failed++;
		return OMR_ERROR;
	}
	ch->sent++;
	return OMR_OK;
}

void omr_channels_bus_out(struct omr_channels *ch, const json_t *msg)
{
	const char *channel = json_string_value(json_object_get(msg, "ch"));
	const json_t *o = json_object_get(msg, "o");
	struct omr_plugin *p = omr_channels_get(ch, channel);
	struct omr_outbound out = {
		.conversation = json_string_value(json_object_get(o, "conversation")),
		.message = json_string_value(json_object_get(o, "message")),
		.kind = json_string_value(json_object_get(o, "kind")),
		.address = json_string_value(json_object_get(o, "address")),
		.thread = json_string_value(json_object_get(o, "thread")),
		.author = json_string_value(json_object_get(o, "author")),
		.author_name = json_string_value(json_object_get(o, "author_name")),
		.text = json_string_value(json_object_get(o, "text")),
		.data = json_object_get(o, "data"),
	};
	if (!ch->running || !p || !p->started || !(p->desc->flags & OMR_PLUGIN_CONNECTED) ||
	    !out.conversation || !out.kind || !out.address)
		return;
	p->desc->send(p->state, &out);
}

/* ---- messages from omniroute itself ---- */

struct omr_tell {
	struct omr_channels *ch;
	char *conversation;
	char *text;
	json_t *data;   /* e.g. {buttons: [...]}; may be NULL */
};

static void omr_channels_told(void *arg, const redisReply *reply, const char *err)
{
	struct omr_tell *t = arg;
	struct omr_lua_reply_reply r;
	if (!err && omr_lua_reply_reply(reply, &r) >= 5 && r.tag && strcmp(r.tag, "ok") == 0) {
		struct omr_outbound out = {
			.conversation = t->conversation,
			.message = r.message,
			.kind = "message",
			.address = r.address,
			.thread = r.thread,
			.author = "system",
			.text = t->text,
			.data = t->data,
		};
		omr_channels_deliver(t->ch, r.channel, &out);
	} else if (err) {
		omr_log_warn("conversation %s: message to the customer not stored: %s",
			     t->conversation, err);
	}
	free(t->conversation);
	free(t->text);
	json_decref(t->data);
	free(t);
}

static void omr_channels_tell_as(struct omr_channels *ch, const char *conv, const char *text,
				 const json_t *data, const char *author)
{
	struct omr_tell *t = omr_calloc(1, sizeof(*t));
	char mid[OMR_ID_MAX], cmid[OMR_ID_MAX + 8];
	t->ch = ch;
	t->conversation = omr_strdup(conv);
	t->text = omr_strdup(text);
	t->data = data ? json_deep_copy(data) : NULL;
	omr_id_new(mid, "m_");
	snprintf(cmid, sizeof(cmid), "sys-%s", mid);
	struct omr_lua_reply_args a = {
		.conversation = conv,
		.agent = "omniroute",
		.name = "",
		.text = text,
		.client_msg_id = cmid,
		.message = mid,
		.dedup_ttl = omr_env_cfg(&ch->env)->limits.dedup_ttl,
		.author = author,
	};
	omr_lua_reply(ch->env.store, &a, omr_channels_told, t);
}

void omr_channels_tell(struct omr_channels *ch, const char *conv, const char *text)
{
	omr_channels_tell_as(ch, conv, text, NULL, "system");
}

void omr_channels_survey(struct omr_channels *ch, const char *conv, const char *text,
			 const json_t *data)
{
	omr_channels_tell_as(ch, conv, text, data, "survey");
}

/* ---- notices: what happens to the conversation, not stored ---- */

struct omr_notice {
	struct omr_channels *ch;
	char *conversation;
	json_t *data;
};

static void omr_channels_notice_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_notice *n = arg;
	const char *channel = err ? NULL : omr_reply_str(omr_reply_elem(reply, 0));
	struct omr_plugin *p = channel ? omr_channels_get(n->ch, channel) : NULL;
	struct omr_outbound out = {
		.conversation = n->conversation,
		.kind = "status",
		.address = omr_reply_str(omr_reply_elem(reply, 1)),
		.thread = omr_reply_str(omr_reply_elem(reply, 2)),
		.author = "system",
		.data = n->data,
	};
	if (p && (p->desc->flags & OMR_PLUGIN_STATUS) && out.address)
		omr_channels_deliver(n->ch, channel, &out);
	free(n->conversation);
	json_decref(n->data);
	free(n);
}

void omr_channels_notice(struct omr_channels *ch, const char *conv, const char *channel,
			 const char *address, const char *thread, const json_t *data)
{
	struct omr_plugin *p = channel ? omr_channels_get(ch, channel) : NULL;
	if (!ch || !conv || !data || (channel && (!p || !(p->desc->flags & OMR_PLUGIN_STATUS))))
		return;
	if (channel && address && *address) { /* known: no read */
		struct omr_outbound out = {
			.conversation = conv, .kind = "status", .address = address,
			.thread = thread && *thread ? thread : NULL, .author = "system",
			.data = json_deep_copy(data),
		};
		omr_channels_deliver(ch, channel, &out);
		json_decref(out.data);
		return;
	}
	struct omr_notice *n = omr_calloc(1, sizeof(*n));
	n->ch = ch;
	n->conversation = omr_strdup(conv);
	n->data = json_deep_copy(data);
	char *key = omr_store_key(ch->env.store, "conv:%s", conv);
	omr_redis_cmd(omr_store_redis(ch->env.store), omr_channels_notice_cb, n,
		      "HMGET %s channel address thread", key);
	free(key);
}

void omr_channels_metrics(const struct omr_channels *ch, struct omr_buf *b)
{
	omr_metric(b, "outbound_sent_total", "counter", "outbound messages handed to channels",
		   ch->sent);
	omr_metric(b, "outbound_failed_total", "counter", "outbound messages that failed",
		   ch->failed);
	omr_metric(b, "outbound_sending", "gauge", "outbound messages being sent by this node",
		   omr_map_count(ch->leases));
}
