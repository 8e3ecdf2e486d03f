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
	struct event *tick;
	int running;
	int busy;                   /* a look is under way */
	unsigned long long resent, given_up;
};

struct omr_outbox_claim {
	struct omr_outbox *o;
	char *message;
};

struct omr_outbox *omr_outbox_new(const struct omr_env *env, struct omr_channels *channels)
{
	struct omr_outbox *o = omr_calloc(1, sizeof(*o));
	o->env = *env;
	o->channels = channels;
	return o;
}

void omr_outbox_metrics(const struct omr_outbox *o, struct omr_buf *b)
{
	omr_metric(b, "outbox_resent_total", "counter",
		   "outbound messages sent again after they were not sent in time", o->resent);
	omr_metric(b, "outbox_given_up_total", "counter",
		   "outbound messages marked failed after the resends ran out", o->given_up);
}

static void omr_outbox_resend(struct omr_outbox *o, const char *id, const redisReply *r)
{
	const char *channel = omr_reply_str(r->element[1]);
	struct omr_plugin *p = omr_channels_get(o->channels, channel);
	json_t *meta = json_loads(omr_reply_str(r->element[8]), 0, NULL);
	json_t *tmpl = json_object_get(meta, "template");
	json_t *data = json_is_object(tmpl) ? json_pack("{s:O}", "template", tmpl) : NULL;
	if (p && (p->desc->flags & OMR_PLUGIN_CONNECTED)) {
		/* the customer reads it from history when back: nothing to resend */
		char *key = omr_store_key(o->env.store, "outbox");
		omr_redis_cmd(omr_store_redis(o->env.store), NULL, NULL, "ZREM %s %s", key, id);
		free(key);
	} else {
		struct omr_outbound out = {
			.conversation = omr_reply_str(r->element[2]),
			.message = id,
			.kind = "message",
			.address = omr_reply_str(r->element[3]),
			.thread = omr_reply_str(r->element[4]),
			.author = omr_reply_str(r->element[5]),
			.author_name = omr_reply_str(r->element[6]),
			.text = omr_reply_str(r->element[7]),
			.data = data,
		};
		o->resent++;
		omr_log_warn("message %s to %s was not sent in time; sending it again (try %s)", id,
			     channel, omr_reply_str(r->element[9]));
		omr_channels_deliver(o->channels, channel, &out);
	}
	json_decref(data);
	json_decref(meta);
}

static void omr_outbox_claimed(void *arg, const redisReply *reply, const char *err)
{
	struct omr_outbox_claim *c = arg;
	struct omr_outbox *o = c->o;
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));
	if (err) {
		omr_log_warn("outbox: cannot claim message %s: %s", c->message, err);
	} else if (tag && strcmp(tag, "resend") == 0 && reply->elements >= 10) {
		omr_outbox_resend(o, c->message, reply);
	} else if (tag && strcmp(tag, "give_up") == 0 && reply->elements >= 3) {
		char *why = omr_asprintf("not sent after %s tries", omr_reply_str(reply->element[2]));
		o->given_up++;
		omr_channels_status(o->channels, omr_reply_str(reply->element[1]), c->message, NULL,
				    "failed", why, NULL, NULL);
		free(why);
	}
	free(c->message);
	free(c);
}

static void omr_outbox_due(void *arg, const redisReply *reply, const char *err)
{
	struct omr_outbox *o = arg;
	char now[24], tries[16];
	o->busy = 0;
	if (err || !reply || reply->type != REDIS_REPLY_ARRAY)
		return;
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	snprintf(tries, sizeof(tries), "%lld", omr_env_cfg(&o->env)->limits.resend_tries);
	for (size_t i = 0; i < reply->elements; i++) {
		const char *id = omr_reply_str(reply->element[i]);
		if (!id)
			continue;
		struct omr_outbox_claim *c = omr_calloc(1, sizeof(*c));
		c->o = o;
		c->message = omr_strdup(id);
		const char *argv[] = { id, now, tries };
		omr_store_run(o->env.store, OMR_SCRIPT_OUTBOX_CLAIM, omr_outbox_claimed, c, 3, argv);
	}
}

static void omr_outbox_tick(evutil_socket_t fd, short what, void *arg)
{
	struct omr_outbox *o = arg;
	if (o->busy || !o->running || !omr_redis_ready(omr_store_redis(o->env.store)))
		return;
	o->busy = 1;
	char *key = omr_store_key(o->env.store, "outbox");
	omr_redis_cmd(omr_store_redis(o->env.store), omr_outbox_due, o,
		      "ZRANGEBYSCORE %s -inf %lld LIMIT 0 %d", key,
		      (long long)omr_now_ms() - omr_env_cfg(&o->env)->limits.resend_after, OMR_OUTBOX_BATCH);
	free(key);
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
