/*
 * omr_outbox: see omr_outbox.h.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_channels.h"
#include "omr_config.h"
#include "omr_files.h"
#include "omr_log.h"
#include "omr_outbox.h"
#include "omr_plugin.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_OUTBOX_TICK_MS 5000
#define OMR_OUTBOX_BATCH 20

struct omr_outbox {
	struct omr_env env;
	struct omr_channels *channels;
	struct omr_files *files;    /* borrowed: links and paths of stored files */
	struct event *tick;
	int running;
	int busy;                   /* a look is under way */
	unsigned long long resent, given_up;
};

struct omr_outbox_claim {
	struct omr_outbox *o;
	char *message;
};

struct omr_outbox *omr_outbox_new(const struct omr_env *env, struct omr_channels *channels,
				  struct omr_files *files)
{
	struct omr_outbox *o = omr_calloc(1, sizeof(*o));
	o->env = *env;
	o->channels = channels;
	o->files = files;
	return o;
}

void omr_outbox_metrics(const struct omr_outbox *o, struct omr_buf *b)
{
	omr_metric(b, "outbox_resent_total", "counter",
		   "outbound messages sent again after they were not sent in time", o->resent);
	omr_metric(b, "outbox_given_up_total", "counter",
		   "outbound messages marked failed after the resends ran out", o->given_up);
}

static void omr_outbox_resend(struct omr_outbox *o, const char *id,
			      const struct omr_lua_outbox_claim_reply *r)
{
	const char *channel = r->channel;
	struct omr_plugin *p = omr_channels_get(o->channels, channel);
	json_t *meta = json_loads(r->meta ? r->meta : "{}", 0, NULL);
	json_t *tmpl = json_object_get(meta, "template");
	json_t *note = json_object_get(meta, "public_note");
	json_t *data = json_is_object(tmpl) ? json_pack("{s:O}", "template", tmpl)
		       : json_is_string(note) ? json_pack("{s:O}", "public_note", note)
					      : NULL;
	json_t *cc = json_object_get(meta, "cc");
	if (json_array_size(cc)) { /* an e-mail reply's Cc (reply.lua) */
		if (!data)
			data = json_object();
		json_object_set(data, "cc", cc);
	}
	json_t *atts = json_loads(r->attachments ? r->attachments : "[]", 0, NULL);
	json_t *files = omr_files_outbound(o->files, channel, atts, omr_now_ms() / 1000);
	json_decref(atts);
	if (files) {
		if (!data)
			data = json_object();
		json_object_set_new(data, "attachments", files);
	}
	if (p && (p->desc->flags & OMR_PLUGIN_CONNECTED)) {
		/* the customer reads it from history when back: nothing to resend */
		char *key = omr_store_key(o->env.store, "outbox");
		omr_redis_cmd(omr_store_redis(o->env.store), NULL, NULL, "ZREM %s %s", key, id);
		free(key);
	} else {
		struct omr_outbound out = {
			.conversation = r->conversation,
			.message = id,
			.kind = "message",
			.address = r->address,
			.thread = r->thread,
			.author = r->author,
			.author_name = r->author_name,
			.text = r->text,
			.data = data,
		};
		o->resent++;
		omr_log_warn("message %s to %s was not sent in time; sending it again (try %s)", id,
			     channel, r->try);
		omr_channels_deliver(o->channels, channel, &out);
	}
	json_decref(data);
	json_decref(meta);
}

static void omr_outbox_claimed(void *arg, const redisReply *reply, const char *err)
{
	struct omr_outbox_claim *c = arg;
	struct omr_outbox *o = c->o;
	struct omr_lua_outbox_claim_reply r;
	int n = err ? -1 : omr_lua_outbox_claim_reply(reply, &r);
	if (err) {
		omr_log_warn("outbox: cannot claim message %s: %s", c->message, err);
	} else if (n >= 10 && r.tag && strcmp(r.tag, "resend") == 0) {
		omr_outbox_resend(o, c->message, &r);
	} else if (n >= 3 && r.tag && strcmp(r.tag, "give_up") == 0) {
		/* give_up: { 'give_up', channel, tries } */
		char *why = omr_asprintf("not sent after %s tries", r.conversation ? r.conversation : "?");
		o->given_up++;
		omr_channels_status(o->channels, r.channel, c->message, NULL, "failed", why, NULL, NULL);
		free(why);
	}
	free(c->message);
	free(c);
}

static void omr_outbox_due(void *arg, const redisReply *reply, const char *err)
{
	struct omr_outbox *o = arg;
	o->busy = 0;
	if (err || !reply || reply->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i < reply->elements; i++) {
		const char *id = omr_reply_str(reply->element[i]);
		if (!id)
			continue;
		struct omr_outbox_claim *c = omr_calloc(1, sizeof(*c));
		c->o = o;
		c->message = omr_strdup(id);
		struct omr_lua_outbox_claim_args a = {
			.message = id, .tries = omr_env_cfg(&o->env)->limits.resend_tries,
		};
		omr_lua_outbox_claim(o->env.store, &a, omr_outbox_claimed, c);
	}
}

static void omr_outbox_tick(evutil_socket_t fd, short what, void *arg)
{
	struct omr_outbox *o = arg;
	if (o->busy || !o->running || !omr_redis_ready(omr_store_redis(o->env.store)))
		return;
	struct omr_lua_outbox_due_args a = {
		.after = omr_env_cfg(&o->env)->limits.resend_after, .most = OMR_OUTBOX_BATCH,
	};
	o->busy = 1;
	omr_lua_outbox_due(o->env.store, &a, omr_outbox_due, o);
}

void omr_outbox_start(struct omr_outbox *o)
{
	struct timeval tv = { OMR_OUTBOX_TICK_MS / 1000, (OMR_OUTBOX_TICK_MS % 1000) * 1000 };
	if (!o->tick)
		o->tick = event_new(o->env.base, -1, EV_PERSIST, omr_outbox_tick, o);
	o->running = 1;
	event_add(o->tick, &tv);
}

void omr_outbox_stop(struct omr_outbox *o)
{
	o->running = 0;
	if (o->tick)
		event_del(o->tick);
}

void omr_outbox_free(struct omr_outbox *o)
{
	if (!o)
		return;
	if (o->tick)
		event_free(o->tick);
	free(o);
}
