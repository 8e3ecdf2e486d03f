/*
 * omr_outbox: see omr_outbox.h.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_core.h"
#include "omr_log.h"
#include "omr_outbox.h"
#include "omr_plugin.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_OUTBOX_TICK_MS 5000
#define OMR_OUTBOX_BATCH 20
#define OMR_OUTBOX_LEASE_MAX_MS (6LL * 3600 * 1000) /* a send no plugin ever finished */
#define OMR_OUTBOX_RENEW_MAX 500                     /* leases renewed per command */

struct omr_outbox {
	struct omr_core *core;
	struct event *tick;
	int busy;                   /* a look is under way */
	struct omr_map *leases;     /* message id -> (intptr_t) ms it was handed over */
	unsigned long long resent, given_up;
};

struct omr_outbox_claim {
	struct omr_outbox *o;
	char *message;
};

struct omr_outbox *omr_outbox_new(struct omr_core *core)
{
	struct omr_outbox *o = omr_calloc(1, sizeof(*o));
	o->core = core;
	o->leases = omr_map_new();
	return o;
}

void omr_outbox_sending(struct omr_outbox *o, const char *message)
{
	if (o && message)
		omr_map_puts(o->leases, message, (void *)(intptr_t)omr_mono_ms());
}

void omr_outbox_done(struct omr_outbox *o, const char *message)
{
	if (o && message)
		omr_map_dels(o->leases, message);
}

struct omr_outbox_renew {
	long long now;
	const char **argv;
	size_t *lens;
	int argc;
	char stamp[24];
};

static int omr_outbox_renew_one(void *arg, const void *key, size_t klen, void *value)
{
	struct omr_outbox_renew *r = arg;
	if ((long long)(intptr_t)value < r->now - OMR_OUTBOX_LEASE_MAX_MS)
		return 0; /* forgotten by its plugin: let the sweep have it */
	r->argv[r->argc] = r->stamp;
	r->lens[r->argc++] = strlen(r->stamp);
	r->argv[r->argc] = key;
	r->lens[r->argc++] = klen;
	return r->argc >= 3 + 2 * OMR_OUTBOX_RENEW_MAX;
}

/* ZADD outbox XX now id ...: the messages this node is still sending are
 * not due for a resend (XX: one whose outcome came meanwhile stays out). */
static void omr_outbox_renew(struct omr_outbox *o)
{
	size_t n = omr_map_count(o->leases);
	if (!n)
		return;
	if (n > OMR_OUTBOX_RENEW_MAX)
		n = OMR_OUTBOX_RENEW_MAX;
	char *key = omr_store_key(o->core->store, "outbox");
	struct omr_outbox_renew r = { .now = omr_mono_ms() };
	r.argv = omr_calloc(3 + 2 * n, sizeof(char *));
	r.lens = omr_calloc(3 + 2 * n, sizeof(size_t));
	snprintf(r.stamp, sizeof(r.stamp), "%lld", (long long)omr_now_ms());
	r.argv[0] = "ZADD";
	r.argv[1] = key;
	r.argv[2] = "XX";
	r.argc = 3;
	for (int i = 0; i < 3; i++)
		r.lens[i] = strlen(r.argv[i]);
	omr_map_foreach(o->leases, omr_outbox_renew_one, &r);
	if (r.argc > 3)
		omr_redis_argv(omr_store_redis(o->core->store), NULL, NULL, r.argc, r.argv, r.lens, 0);
	free(r.argv);
	free(r.lens);
	free(key);
}

void omr_outbox_stats(const struct omr_outbox *o, unsigned long long *resent,
		      unsigned long long *given_up)
{
	*resent = o ? o->resent : 0;
	*given_up = o ? o->given_up : 0;
}

static void omr_outbox_resend(struct omr_outbox *o, const char *id, const redisReply *r)
{
	const char *channel = omr_reply_str(r->element[1]);
	struct omr_plugin *p = omr_core_channel(o->core, channel);
	json_t *meta = json_loads(omr_reply_str(r->element[8]), 0, NULL);
	json_t *tmpl = json_object_get(meta, "template");
	json_t *data = json_is_object(tmpl) ? json_pack("{s:O}", "template", tmpl) : NULL;
	if (p && (p->desc->flags & OMR_PLUGIN_CONNECTED)) {
		/* the customer reads it from history when back: nothing to resend */
		char *key = omr_store_key(o->core->store, "outbox");
		omr_redis_cmd(omr_store_redis(o->core->store), NULL, NULL, "ZREM %s %s", key, id);
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
		omr_core_deliver(o->core, channel, &out);
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
		omr_core_delivery_status(o->core, omr_reply_str(reply->element[1]), c->message, NULL,
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
	snprintf(tries, sizeof(tries), "%lld", o->core->cfg->limits.resend_tries);
	for (size_t i = 0; i < reply->elements; i++) {
		const char *id = omr_reply_str(reply->element[i]);
		if (!id)
			continue;
		struct omr_outbox_claim *c = omr_calloc(1, sizeof(*c));
		c->o = o;
		c->message = omr_strdup(id);
		const char *argv[] = { id, now, tries };
		omr_store_run(o->core->store, OMR_SCRIPT_OUTBOX_CLAIM, omr_outbox_claimed, c, 3, argv);
	}
}

static void omr_outbox_tick(evutil_socket_t fd, short what, void *arg)
{
	struct omr_outbox *o = arg;
	if (o->busy || o->core->state != OMR_CORE_RUNNING || !omr_redis_ready(o->core->redis))
		return;
	omr_outbox_renew(o);
	o->busy = 1;
	char *key = omr_store_key(o->core->store, "outbox");
	omr_redis_cmd(omr_store_redis(o->core->store), omr_outbox_due, o,
		      "ZRANGEBYSCORE %s -inf %lld LIMIT 0 %d", key,
		      (long long)omr_now_ms() - o->core->cfg->limits.resend_after, OMR_OUTBOX_BATCH);
	free(key);
}

void omr_outbox_start(struct omr_outbox *o)
{
	struct timeval tv = { OMR_OUTBOX_TICK_MS / 1000, (OMR_OUTBOX_TICK_MS % 1000) * 1000 };
	if (!o->tick)
		o->tick = event_new(o->core->base, -1, EV_PERSIST, omr_outbox_tick, o);
	event_add(o->tick, &tv);
}

void omr_outbox_stop(struct omr_outbox *o)
{
	if (o && o->tick)
		event_del(o->tick);
}

void omr_outbox_free(struct omr_outbox *o)
{
	if (!o)
		return;
	if (o->tick)
		event_free(o->tick);
	omr_map_free(o->leases, NULL);
	free(o);
}
