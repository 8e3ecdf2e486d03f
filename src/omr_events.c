/*
 * omr_events: see omr_events.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_events.h"
#include "omr_log.h"
#include "omr_redis.h"
#include "omr_util.h"

enum omr_events_phase { OMR_EV_PENDING, OMR_EV_NEW };

struct omr_events {
	struct event_base *base;
	struct omr_redis *cmd, *block;
	char *stream, *group, *consumer;
	int batch;
	long long block_ms, claim_idle_ms;
	omr_events_handler handler;
	void *arg;

	enum omr_events_phase phase;
	int reading;         /* a read is in flight or a batch is being handled */
	int outstanding;     /* batch entries not yet done */
	int group_ready;
	int stopped;
	struct event *retry_ev;
	struct event *claim_ev;
	int claiming;
	unsigned long long processed;
	/* Entries handed to the handler, for freeing leftovers at exit. */
	size_t live;
};

static void omr_events_read(struct omr_events *ev);

const char *omr_event_get(const struct omr_event *e, const char *field)
{
	return json_string_value(json_object_get(e->fields, field));
}

static void omr_event_free(struct omr_event *e)
{
	free(e->id);
	json_decref(e->fields);
	free(e);
}

static void omr_events_ack_cb(void *arg, const redisReply *reply, const char *err)
{
	if (err)
		omr_log_warn("events: XACK failed (the entry will be handled again): %s", err);
}

static void omr_events_retry_later(struct omr_events *ev, long long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	ev->reading = 0;
	if (!ev->stopped)
		evtimer_add(ev->retry_ev, &tv);
}

void omr_event_done(struct omr_event *e, enum omr_event_outcome outcome)
{
	struct omr_events *ev = e->owner;
	if (outcome == OMR_EVENT_ACK) {
		const char *argv[] = { "XACK", ev->stream, ev->group, e->id };
		omr_redis_argv(ev->cmd, omr_events_ack_cb, NULL, 4, argv, NULL, 0);
	}
	if (outcome != OMR_EVENT_RETRY)
		ev->processed++;
	ev->live--;
	if (e->batch && --ev->outstanding == 0) {
		ev->reading = 0;
		if (!ev->stopped)
			omr_events_read(ev);
	}
	omr_event_free(e);
}

static struct omr_event *omr_events_entry(struct omr_events *ev, const redisReply *entry)
{
	const redisReply *id = omr_reply_elem(entry, 0), *kv = omr_reply_elem(entry, 1);
	struct omr_event *e;

	if (!omr_reply_str(id))
		return NULL;
	e = omr_calloc(1, sizeof(*e));
	e->owner = ev;
	e->id = omr_strdup(id->str);
	e->fields = json_object();
	/* An entry trimmed from the stream while pending has nil fields. */
	for (size_t i = 0; kv && kv->type == REDIS_REPLY_ARRAY && i + 1 < kv->elements; i += 2) {
		const char *k = omr_reply_str(kv->element[i]);
		const redisReply *v = kv->element[i + 1];
		if (k && v->type == REDIS_REPLY_STRING) {
			json_t *s = json_stringn(v->str, v->len);
			if (s)
				json_object_set_new(e->fields, k, s);
		}
	}
	return e;
}

/* Hand a list of entries to the handler. Returns how many were handed. */
static int omr_events_dispatch(struct omr_events *ev, const redisReply *entries, int batch)
{
	struct omr_event **list;
	int n = 0;

	if (!entries || entries->type != REDIS_REPLY_ARRAY || entries->elements == 0)
		return 0;
	/* Build the whole list first: a handler may finish synchronously and
	 * the batch must not complete before every entry is handed over. */
	list = omr_calloc(entries->elements, sizeof(*list));
	for (size_t i = 0; i < entries->elements; i++) {
		struct omr_event *e = omr_events_entry(ev, entries->element[i]);
		if (!e)
			continue;
		e->batch = batch;
		list[n++] = e;
	}
	if (batch)
		ev->outstanding = n + 1; /* +1 holds the batch open while dispatching */
	ev->live += (size_t)n;
	for (int i = 0; i < n; i++)
		ev->handler(ev->arg, list[i]);
	free(list);
	return n;
}

static void omr_events_read_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_events *ev = arg;
	const redisReply *entries = NULL;
	int n;

	if (err) {
		if (strncmp(err, "NOGROUP", 7) == 0)
			ev->group_ready = 0;
		if (!ev->stopped)
			omr_log_warn("events: read failed: %s", err);
		omr_events_retry_later(ev, 1000);
		return;
	}
	if (ev->stopped) {
		ev->reading = 0;
		return;
	}
	/* [[stream, [[id, [k, v, ...]], ...]]] or nil on timeout */
	if (reply && reply->type == REDIS_REPLY_ARRAY)
		entries = omr_reply_elem(omr_reply_elem(reply, 0), 1);
	n = omr_events_dispatch(ev, entries, 1);
	if (n == 0) {
		if (entries && entries->type == REDIS_REPLY_ARRAY && entries->elements == 0 &&
		    ev->phase == OMR_EV_PENDING) {
			ev->phase = OMR_EV_NEW;
			omr_log_debug("caught up with pending entries");
		}
		ev->reading = 0;
		omr_events_read(ev);
		return;
	}
	/* release the dispatch hold */
	if (--ev->outstanding == 0) {
		ev->reading = 0;
		omr_events_read(ev);
	}
}

static void omr_events_group_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_events *ev = arg;
	if (err && strncmp(err, "BUSYGROUP", 9) != 0) {
		omr_log_warn("events: cannot create consumer group: %s", err);
		omr_events_retry_later(ev, 1000);
		return;
	}
	ev->group_ready = 1;
	ev->reading = 0;
	omr_events_read(ev);
}

static void omr_events_read(struct omr_events *ev)
{
	char count[16], block[24];

	if (ev->reading || ev->stopped || !omr_redis_ready(ev->block))
		return;
	ev->reading = 1;
	if (!ev->group_ready) {
		/* "0": a group created now also sees events stored while no
		 * consumer ran (the first start after an upgrade). */
		const char *argv[] = { "XGROUP", "CREATE", ev->stream, ev->group, "0", "MKSTREAM" };
		omr_redis_argv(ev->cmd, omr_events_group_cb, ev, 6, argv, NULL, 0);
		return;
	}
	snprintf(count, sizeof(count), "%d", ev->batch);
	snprintf(block, sizeof(block), "%lld", ev->block_ms);
	if (ev->phase == OMR_EV_PENDING) {
		/* our own unacknowledged entries, from before a crash */
		const char *argv[] = { "XREADGROUP", "GROUP", ev->group, ev->consumer, "COUNT",
				       count, "STREAMS", ev->stream, "0" };
		omr_redis_argv(ev->block, omr_events_read_cb, ev, 9, argv, NULL, 0);
	} else {
		const char *argv[] = { "XREADGROUP", "GROUP", ev->group, ev->consumer, "COUNT",
				       count, "BLOCK", block, "STREAMS", ev->stream, ">" };
		omr_redis_argv(ev->block, omr_events_read_cb, ev, 11, argv, NULL, ev->block_ms);
	}
}

static void omr_events_retry(evutil_socket_t fd, short what, void *arg)
{
	omr_events_read(arg);
}

static void omr_events_claim_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_events *ev = arg;
	int n;
	ev->claiming = 0;
	if (err || ev->stopped)
		return;
	/* [next-cursor, [entries], [deleted ids]] */
	n = omr_events_dispatch(ev, omr_reply_elem(reply, 1), 0);
	if (n)
		omr_log_info("events: claimed %d entries left by a stopped node", n);
}

static void omr_events_claim(evutil_socket_t fd, short what, void *arg)
{
	struct omr_events *ev = arg;
	char idle[24];
	if (ev->claiming || ev->stopped || !ev->group_ready || !omr_redis_ready(ev->cmd))
		return;
	ev->claiming = 1;
	snprintf(idle, sizeof(idle), "%lld", ev->claim_idle_ms);
	const char *argv[] = { "XAUTOCLAIM", ev->stream, ev->group, ev->consumer, idle, "0-0",
			       "COUNT", "100" };
	omr_redis_argv(ev->cmd, omr_events_claim_cb, ev, 8, argv, NULL, 0);
}

struct omr_events *omr_events_new(struct event_base *base, struct omr_redis *cmd,
				  struct omr_redis *block, const struct omr_events_opts *o,
				  omr_events_handler h, void *arg)
{
	struct omr_events *ev = omr_calloc(1, sizeof(*ev));
	struct timeval claim = { o->claim_idle_ms / 4000 + 1, 0 };

	ev->base = base;
	ev->cmd = cmd;
	ev->block = block;
	ev->stream = omr_strdup(o->stream);
	ev->group = omr_strdup(o->group);
	ev->consumer = omr_strdup(o->consumer);
	ev->batch = o->batch;
	ev->block_ms = o->block_ms;
	ev->claim_idle_ms = o->claim_idle_ms;
	ev->handler = h;
	ev->arg = arg;
	ev->phase = OMR_EV_PENDING;
	ev->retry_ev = evtimer_new(base, omr_events_retry, ev);
	ev->claim_ev = event_new(base, -1, EV_PERSIST, omr_events_claim, ev);
	event_add(ev->claim_ev, &claim);
	return ev;
}

void omr_events_kick(struct omr_events *ev)
{
	/* After a reconnect, re-read our pending entries first: a batch that
	 * was lost with the connection was never acknowledged. */
	if (!ev->reading)
		ev->phase = OMR_EV_PENDING;
	omr_events_read(ev);
}

void omr_events_stop(struct omr_events *ev)
{
	ev->stopped = 1;
	evtimer_del(ev->retry_ev);
	event_del(ev->claim_ev);
}

void omr_events_free(struct omr_events *ev)
{
	if (!ev)
		return;
	if (ev->live)
		omr_log_warn("events: %zu entries still being handled at exit; they stay "
			     "pending and are handled again at the next start", ev->live);
	event_free(ev->retry_ev);
	event_free(ev->claim_ev);
	free(ev->stream);
	free(ev->group);
	free(ev->consumer);
	free(ev);
}

unsigned long long omr_events_processed(const struct omr_events *ev)
{
	return ev->processed;
}
