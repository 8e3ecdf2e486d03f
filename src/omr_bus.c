/*
 * omr_bus: see omr_bus.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_bus.h"
#include "omr_log.h"
#include "omr_redis.h"
#include "omr_util.h"

#define OMR_BUS_MAXLEN "10000"
#define OMR_BUS_BLOCK_MS 2000
/* how long a message from another node keeps this one publishing, even
 * if the heartbeat counts no other node (one that just started) */
#define OMR_BUS_PEER_MS 10000

struct omr_bus {
	struct event_base *base;
	struct omr_redis *cmd, *block;
	char *stream;
	char *node;
	long long others;          /* other nodes by the heartbeat; -1 unknown */
	int64_t foreign_at;        /* when another node last wrote (mono ms) */
	struct omr_bus_stats stats;
	omr_bus_handler handler;
	void *arg;
	char last[64];      /* last entry id read; "" until known */
	int reading;
	int stopped;
	int hello;          /* said hello since the start */
	struct event *retry;
};

static void omr_bus_read(struct omr_bus *b);

static int omr_bus_alone(const struct omr_bus *b)
{
	return b->others == 0 && omr_mono_ms() - b->foreign_at > OMR_BUS_PEER_MS;
}

static void omr_bus_deliver(struct omr_bus *b, const char *data, size_t len)
{
	json_t *msg = json_loadb(data, len, 0, NULL);
	if (json_is_object(msg))
		b->handler(b->arg, msg);
	else
		omr_log_warn("bus: dropping a message that is not a JSON object");
	json_decref(msg);
}

static void omr_bus_read_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_bus *b = arg;
	const redisReply *entries;

	b->reading = 0;
	if (b->stopped)
		return;
	if (err) {
		struct timeval tv = { 1, 0 };
		evtimer_add(b->retry, &tv);
		return;
	}
	/* [[stream, [[id, [k, v]], ...]]] or nil on timeout */
	entries = omr_reply_elem(omr_reply_elem(reply, 0), 1);
	for (size_t i = 0; entries && entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++) {
		const redisReply *e = entries->element[i];
		const char *id = omr_reply_str(omr_reply_elem(e, 0));
		const redisReply *kv = omr_reply_elem(e, 1);
		if (!id)
			continue;
		snprintf(b->last, sizeof(b->last), "%s", id);
		/* n NODE m JSON: this node's own were delivered when sent */
		const redisReply *from = NULL, *data = NULL;
		for (size_t k = 0; kv && kv->type == REDIS_REPLY_ARRAY && k + 1 < kv->elements; k += 2) {
			const char *f = omr_reply_str(kv->element[k]);
			if (f && strcmp(f, "n") == 0)
				from = kv->element[k + 1];
			else if (f && strcmp(f, "m") == 0)
				data = kv->element[k + 1];
		}
		const char *node = omr_reply_str(from);
		if (node && strcmp(node, b->node) == 0)
			continue;
		b->foreign_at = omr_mono_ms();
		if (data && data->type == REDIS_REPLY_STRING)
			omr_bus_deliver(b, data->str, data->len);
	}
	omr_bus_read(b);
}

/* Where to start: the newest entry now (an explicit id, not "$", so that
 * nothing published between two reads can fall between them). */
static void omr_bus_start_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_bus *b = arg;
	const char *id = omr_reply_str(omr_reply_elem(omr_reply_elem(reply, 0), 0));
	b->reading = 0;
	if (err) {
		struct timeval tv = { 1, 0 };
		if (!b->stopped)
			evtimer_add(b->retry, &tv);
		return;
	}
	snprintf(b->last, sizeof(b->last), "%s", id ? id : "0-0");
	omr_bus_read(b);
}

static void omr_bus_read(struct omr_bus *b)
{
	char block[16];
	if (b->reading || b->stopped || !omr_redis_ready(b->block))
		return;
	b->reading = 1;
	if (!b->last[0]) {
		const char *argv[] = { "XREVRANGE", b->stream, "+", "-", "COUNT", "1" };
		omr_redis_argv(b->block, omr_bus_start_cb, b, 6, argv, NULL, 0);
		return;
	}
	snprintf(block, sizeof(block), "%d", OMR_BUS_BLOCK_MS);
	const char *argv[] = { "XREAD", "COUNT", "200", "BLOCK", block, "STREAMS", b->stream, b->last };
	omr_redis_argv(b->block, omr_bus_read_cb, b, 8, argv, NULL, OMR_BUS_BLOCK_MS);
}

static void omr_bus_retry(evutil_socket_t fd, short what, void *arg)
{
	omr_bus_read(arg);
}

static void omr_bus_published(void *arg, const redisReply *reply, const char *err)
{
	struct omr_bus *b = arg;
	/* this node's sessions have it; the others' consoles catch up when
	 * they next load the conversation */
	if (err && !b->stopped)
		omr_log_warn("bus: cannot publish to the other nodes (%s)", err);
}

static void omr_bus_write(struct omr_bus *b, const char *data)
{
	const char *argv[] = { "XADD", b->stream, "MAXLEN", "~", OMR_BUS_MAXLEN, "*",
			       "n", b->node, "m", data };
	omr_redis_argv(b->cmd, omr_bus_published, b, 10, argv, NULL, 0);
	b->stats.published++;
}

int omr_bus_needed(struct omr_bus *b)
{
	if (!omr_bus_alone(b))
		return 1;
	b->stats.skipped++;
	return 0;
}

void omr_bus_publish(struct omr_bus *b, const json_t *msg)
{
	if (!omr_bus_needed(b))
		return;
	char *data = json_dumps(msg, JSON_COMPACT);
	if (!data)
		return;
	omr_bus_write(b, data);
	free(data);
}

void omr_bus_peers(struct omr_bus *b, long long others)
{
	b->others = others;
}

void omr_bus_get_stats(const struct omr_bus *b, struct omr_bus_stats *st)
{
	*st = b->stats;
}

struct omr_bus *omr_bus_new(struct event_base *base, struct omr_redis *cmd,
			    struct omr_redis *block, const char *stream, const char *node,
			    omr_bus_handler h, void *arg)
{
	struct omr_bus *b = omr_calloc(1, sizeof(*b));
	b->node = omr_strdup(node);
	b->others = -1;
	b->base = base;
	b->cmd = cmd;
	b->block = block;
	b->stream = omr_strdup(stream);
	b->handler = h;
	b->arg = arg;
	/* after a reconnect we go on from the last id we saw, so nothing
	 * published meanwhile is missed */
	b->last[0] = '\0';
	b->retry = evtimer_new(base, omr_bus_retry, b);
	return b;
}

void omr_bus_kick(struct omr_bus *b)
{
	if (!b->hello) {
		/* before this node serves anyone: the others publish again */
		b->hello = 1;
		omr_bus_write(b, "{\"t\":\"hello\"}");
	}
	omr_bus_read(b);
}

void omr_bus_stop(struct omr_bus *b)
{
	b->stopped = 1;
	evtimer_del(b->retry);
}

void omr_bus_free(struct omr_bus *b)
{
	if (!b)
		return;
	event_free(b->retry);
	free(b->stream);
	free(b->node);
	free(b);
}
