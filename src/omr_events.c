/*
 * omr_events: see omr_events.h.
 *
 * Reading: a history pass (id after the last one seen, starting at 0)
 * until it comes back empty, then blocking reads of new entries (">").
 * A batch is handed over whole; the next read starts when every entry of
 * it is done. Housekeeping (claim, trim, sweep) runs on the commands
 * connection, each at most one at a time.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_events.h"
#include "omr_log.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_EVENTS_TRIM_MS 10000
#define OMR_EVENTS_TRIM_MOST 10000
#define OMR_EVENTS_SWEEP_MS 30000 /* at most; reroute_after / 2 when shorter */
#define OMR_EVENTS_CLAIM_COUNT 100
/* An entry whose handling failed (Redis away, a failover, a site being
 * moved) is read again from our pending entries a second later, up to
 * this many passes in a row; past them it waits for the claim, which
 * dead-letters an entry that keeps failing. */
#define OMR_EVENTS_RETRY_PASSES 5
#define OMR_EVENTS_RETRY_MS 1000
/* each retry pass is a delivery too (XREADGROUP of our pending entries
 * counts it): they do not use up the dead-letter budget */
#define OMR_EVENTS_DEAD_AFTER (OMR_EVENTS_MAX_DELIVERIES + OMR_EVENTS_RETRY_PASSES)

struct omr_events {
	struct event_base *base;
	struct omr_store *store;
	struct omr_redis *cmd, *block;
	char *stream, *group, *consumer;
	int batch;
	long long block_ms, claim_idle_ms, maxlen, reroute_after;
	omr_events_handler handler;
	void *arg;

	int history;         /* reading our own pending entries */
	int had_retry;       /* an entry of this batch is to be handled again */
	int retry_passes;    /* history passes in a row for entries that failed */
	char after[64];      /* history: the last id seen */
	int reading;         /* a read is in flight or a batch is being handled */
	int outstanding;     /* batch entries not yet done */
	int group_ready;
	int running;
	struct event *retry_ev;
	struct event *claim_ev;
	struct event *trim_ev;
	struct event *sweep_ev;
	int claiming, trimming, sweeping;
	size_t live;         /* entries handed to the handler, not yet done */
	char **acks;         /* ids done, to acknowledge in one XACK */
	size_t nacks, acks_cap;
	unsigned long long processed, claimed, dead, dead_len, trimmed, replayed, lost;
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

/* One XACK for every entry done since the last: at the end of a batch
 * (before the next read), or at once for entries outside a batch. An
 * entry done but not yet acknowledged when the daemon dies is handled
 * again, as any unacknowledged entry (at-least-once). */
static void omr_events_flush_acks(struct omr_events *ev)
{
	if (!ev->nacks)
		return;
	const char **argv = omr_malloc((3 + ev->nacks) * sizeof(*argv));
	argv[0] = "XACK";
	argv[1] = ev->stream;
	argv[2] = ev->group;
	for (size_t i = 0; i < ev->nacks; i++)
		argv[3 + i] = ev->acks[i];
	omr_redis_argv(ev->cmd, omr_events_ack_cb, NULL, (int)(3 + ev->nacks), argv, NULL, 0);
	free(argv);
	for (size_t i = 0; i < ev->nacks; i++)
		free(ev->acks[i]);
	ev->nacks = 0;
}

static void omr_events_ack(struct omr_events *ev, const char *id)
{
	if (ev->nacks == ev->acks_cap) {
		ev->acks_cap = ev->acks_cap ? ev->acks_cap * 2 : 64;
		ev->acks = omr_realloc(ev->acks, ev->acks_cap * sizeof(*ev->acks));
	}
	ev->acks[ev->nacks++] = omr_strdup(id);
}

static void omr_events_retry_later(struct omr_events *ev, long long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	ev->reading = 0;
	if (ev->running)
		evtimer_add(ev->retry_ev, &tv);
}

void omr_event_done(struct omr_event *e, enum omr_event_outcome outcome)
{
	struct omr_events *ev = e->owner;
	if (outcome == OMR_EVENT_ACK)
		omr_events_ack(ev, e->id);
	if (outcome != OMR_EVENT_RETRY)
		ev->processed++;
	else if (e->batch)
		ev->had_retry = 1;
	ev->live--;
	if (!e->batch) {
		omr_events_flush_acks(ev);
	} else if (--ev->outstanding == 0) {
		omr_events_flush_acks(ev);
		ev->reading = 0;
		if (ev->had_retry && ev->retry_passes < OMR_EVENTS_RETRY_PASSES) {
			/* the failed entries again, from our pending ones, soon */
			ev->had_retry = 0;
			ev->retry_passes++;
			ev->history = 1;
			snprintf(ev->after, sizeof(ev->after), "0");
			omr_events_retry_later(ev, OMR_EVENTS_RETRY_MS);
		} else {
			if (!ev->had_retry)
				ev->retry_passes = 0;
			ev->had_retry = 0;
			if (ev->running)
				omr_events_read(ev);
		}
	}
	omr_event_free(e);
}

/* One entry of a reply; NULL for one without fields (gone from the stream
 * while pending: acknowledged here, its conversation is found again by
 * the sweep). */
static struct omr_event *omr_events_entry(struct omr_events *ev, const redisReply *entry)
{
	const redisReply *id = omr_reply_elem(entry, 0), *kv = omr_reply_elem(entry, 1);
	struct omr_event *e;

	if (!omr_reply_str(id))
		return NULL;
	if (!kv || kv->type != REDIS_REPLY_ARRAY) {
		ev->lost++;
		omr_log_warn("events: entry %s is gone from the stream; acknowledged", id->str);
		omr_events_ack(ev, id->str);
		return NULL;
	}
	e = omr_calloc(1, sizeof(*e));
	e->owner = ev;
	e->id = omr_strdup(id->str);
	e->fields = json_object();
	for (size_t i = 0; i + 1 < kv->elements; i += 2) {
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

	if (err) {
		if (strncmp(err, "NOGROUP", 7) == 0)
			ev->group_ready = 0;
		if (ev->running)
			omr_log_warn("events: read failed: %s", err);
		omr_events_retry_later(ev, 1000);
		return;
	}
	if (!ev->running) {
		ev->reading = 0;
		return;
	}
	/* [[stream, [[id, [k, v, ...]], ...]]] or nil on timeout */
	if (reply && reply->type == REDIS_REPLY_ARRAY)
		entries = omr_reply_elem(omr_reply_elem(reply, 0), 1);
	if (ev->history) {
		size_t n = entries && entries->type == REDIS_REPLY_ARRAY ? entries->elements : 0;
		const char *last = n ? omr_reply_str(omr_reply_elem(entries->element[n - 1], 0)) : NULL;
		if (last)
			snprintf(ev->after, sizeof(ev->after), "%s", last);
		else
			ev->history = 0; /* caught up: new entries from now on */
	}
	if (omr_events_dispatch(ev, entries, 1) == 0) {
		omr_events_flush_acks(ev); /* entries gone from the stream */
		ev->reading = 0;
		omr_events_read(ev);
		return;
	}
	/* release the dispatch hold */
	if (--ev->outstanding == 0) {
		omr_events_flush_acks(ev);
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

	if (ev->reading || !ev->running || !omr_redis_ready(ev->block))
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
	if (ev->history) {
		/* our own unacknowledged entries, from before a crash or a
		 * reconnect: each is read once here; one that fails again is
		 * left for the claim */
		const char *argv[] = { "XREADGROUP", "GROUP", ev->group, ev->consumer, "COUNT",
				       count, "STREAMS", ev->stream, ev->after };
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

/* ---- housekeeping ---- */

/* what events_claim.lua took over: handled here; returns how many
 * entries the reply named (taken, dead-lettered or gone), -1 on error */
static int omr_events_claimed(struct omr_events *ev, const redisReply *reply, const char *err)
{
	struct omr_lua_events_claim_reply r;
	const redisReply *dead, *gone;
	int n, named;

	if (err || !ev->running || omr_lua_events_claim_reply(reply, &r) < 4)
		return -1;
	named = (int)(r.taken->elements + r.dead->elements + r.gone->elements);
	dead = r.dead;
	gone = r.gone;
	for (size_t i = 0; dead && dead->type == REDIS_REPLY_ARRAY && i < dead->elements; i++) {
		ev->dead++;
		omr_log_error("events: entry %s failed %d times; parked in events:dead",
			      omr_reply_str(dead->element[i]) ? dead->element[i]->str : "?",
			      OMR_EVENTS_DEAD_AFTER);
	}
	if (gone && gone->type == REDIS_REPLY_ARRAY && gone->elements) {
		ev->lost += gone->elements;
		omr_log_warn("events: %zu pending entries were gone from the stream", gone->elements);
	}
	ev->dead_len = (unsigned long long)r.dead_len;
	n = omr_events_dispatch(ev, r.taken, 0);
	omr_events_flush_acks(ev); /* entries gone from the stream */
	if (n) {
		ev->claimed += (unsigned long long)n;
		omr_log_info("events: took over %d entries that waited too long", n);
	}
	return named;
}

static void omr_events_claim_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_events *ev = arg;
	ev->claiming = 0;
	omr_events_claimed(ev, reply, err);
}

/* ---- a dead node's entries ---- */

struct omr_events_takeover {
	struct omr_events *ev;
	char *node;
};

static void omr_events_takeover_run(struct omr_events_takeover *t);

static void omr_events_takeover_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_events_takeover *t = arg;
	int named = omr_events_claimed(t->ev, reply, err);
	if (err)
		omr_log_warn("events: entries of dead node %s not taken over: %s (the claim "
			     "takes them once idle)", t->node, err);
	if (named == OMR_EVENTS_CLAIM_COUNT && t->ev->running) {
		omr_events_takeover_run(t); /* more of them */
		return;
	}
	free(t->node);
	free(t);
}

static void omr_events_takeover_run(struct omr_events_takeover *t)
{
	struct omr_lua_events_claim_args a = {
		.group = t->ev->group, .consumer = t->ev->consumer, .idle = 0,
		.count = OMR_EVENTS_CLAIM_COUNT, .max = OMR_EVENTS_DEAD_AFTER, .from = t->node,
	};
	omr_lua_events_claim(t->ev->store, &a, omr_events_takeover_cb, t);
}

void omr_events_takeover(struct omr_events *ev, const char *node)
{
	struct omr_events_takeover *t;
	if (!ev->running || !ev->group_ready || strcmp(node, ev->consumer) == 0)
		return;
	t = omr_calloc(1, sizeof(*t));
	t->ev = ev;
	t->node = omr_strdup(node);
	omr_events_takeover_run(t);
}

static void omr_events_claim(evutil_socket_t fd, short what, void *arg)
{
	struct omr_events *ev = arg;
	struct omr_lua_events_claim_args a = {
		.group = ev->group, .consumer = ev->consumer, .idle = ev->claim_idle_ms,
		.count = OMR_EVENTS_CLAIM_COUNT, .max = OMR_EVENTS_DEAD_AFTER, .from = "",
	};
	if (ev->claiming || !ev->running || !ev->group_ready || !omr_redis_ready(ev->cmd))
		return;
	ev->claiming = 1;
	omr_lua_events_claim(ev->store, &a, omr_events_claim_cb, ev);
}

static void omr_events_trim_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_events *ev = arg;
	ev->trimming = 0;
	if (err)
		omr_log_warn("events: cannot trim the stream: %s", err);
	else
		ev->trimmed += (unsigned long long)omr_reply_int(omr_reply_elem(reply, 0), 0);
}

static void omr_events_trim(evutil_socket_t fd, short what, void *arg)
{
	struct omr_events *ev = arg;
	struct omr_lua_events_trim_args a = { .cap = ev->maxlen, .most = OMR_EVENTS_TRIM_MOST };
	if (ev->trimming || !ev->running || !omr_redis_ready(ev->cmd))
		return;
	ev->trimming = 1;
	omr_lua_events_trim(ev->store, &a, omr_events_trim_cb, ev);
}

static void omr_events_sweep_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_events *ev = arg;
	ev->sweeping = 0;
	if (err) {
		omr_log_warn("events: cannot look for unrouted conversations: %s", err);
		return;
	}
	for (size_t i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
		ev->replayed++;
		omr_log_warn("conversation %s was never routed; announced again",
			     omr_reply_str(reply->element[i]) ? reply->element[i]->str : "?");
	}
}

static void omr_events_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct omr_events *ev = arg;
	struct omr_lua_new_sweep_args a = { .age = ev->reroute_after, .most = 100 };
	if (ev->sweeping || !ev->running || !omr_redis_ready(ev->cmd))
		return;
	ev->sweeping = 1;
	omr_lua_new_sweep(ev->store, &a, omr_events_sweep_cb, ev);
}

/* ---- lifecycle ---- */

struct omr_events *omr_events_new(struct event_base *base, struct omr_store *store,
				  struct omr_redis *block, const struct omr_events_opts *o,
				  omr_events_handler h, void *arg)
{
	struct omr_events *ev = omr_calloc(1, sizeof(*ev));
	ev->base = base;
	ev->store = store;
	ev->cmd = omr_store_redis(store);
	ev->block = block;
	ev->stream = omr_store_key(store, "events");
	ev->group = omr_strdup(o->group);
	ev->consumer = omr_strdup(o->consumer);
	ev->batch = o->batch;
	ev->block_ms = o->block_ms;
	ev->claim_idle_ms = o->claim_idle_ms;
	ev->maxlen = o->maxlen;
	ev->reroute_after = o->reroute_after;
	ev->handler = h;
	ev->arg = arg;
	ev->retry_ev = evtimer_new(base, omr_events_retry, ev);
	ev->claim_ev = event_new(base, -1, EV_PERSIST, omr_events_claim, ev);
	ev->trim_ev = event_new(base, -1, EV_PERSIST, omr_events_trim, ev);
	ev->sweep_ev = event_new(base, -1, EV_PERSIST, omr_events_sweep, ev);
	return ev;
}

void omr_events_kick(struct omr_events *ev)
{
	long long claim_ms = ev->claim_idle_ms / 4 + 250;
	long long sweep_ms = ev->reroute_after / 2 < OMR_EVENTS_SWEEP_MS ? ev->reroute_after / 2
									 : OMR_EVENTS_SWEEP_MS;
	struct timeval claim = { claim_ms / 1000, (claim_ms % 1000) * 1000 };
	struct timeval trim = { OMR_EVENTS_TRIM_MS / 1000, 0 };
	struct timeval sweep = { sweep_ms / 1000, (sweep_ms % 1000) * 1000 };
	if (!ev->running) {
		ev->running = 1;
		event_add(ev->claim_ev, &claim);
		event_add(ev->trim_ev, &trim);
		event_add(ev->sweep_ev, &sweep);
	}
	/* After a reconnect, read our pending entries first: a batch that was
	 * lost with the connection was never acknowledged. */
	if (!ev->reading) {
		ev->history = 1;
		snprintf(ev->after, sizeof(ev->after), "0");
	}
	omr_events_read(ev);
}

void omr_events_stop(struct omr_events *ev)
{
	omr_events_flush_acks(ev);
	ev->running = 0;
	evtimer_del(ev->retry_ev);
	event_del(ev->claim_ev);
	event_del(ev->trim_ev);
	event_del(ev->sweep_ev);
}

void omr_events_free(struct omr_events *ev)
{
	if (!ev)
		return;
	if (ev->live)
		omr_log_warn("events: %zu entries still being handled at exit; they stay "
			     "pending and are handled again", ev->live);
	for (size_t i = 0; i < ev->nacks; i++) /* handled again next time */
		free(ev->acks[i]);
	free(ev->acks);
	event_free(ev->retry_ev);
	event_free(ev->claim_ev);
	event_free(ev->trim_ev);
	event_free(ev->sweep_ev);
	free(ev->stream);
	free(ev->group);
	free(ev->consumer);
	free(ev);
}

size_t omr_events_live(const struct omr_events *ev)
{
	return ev->live;
}

void omr_events_metrics(const struct omr_events *ev, struct omr_buf *b)
{
	omr_metric(b, "events_claimed_total", "counter",
		   "stream entries taken over after they waited too long", ev->claimed);
	omr_metric(b, "events_dead_total", "counter",
		   "stream entries parked in events:dead by this node after failing too often",
		   ev->dead);
	omr_metric(b, "events_dead", "gauge", "entries in the dead-letter stream events:dead",
		   ev->dead_len);
	omr_metric(b, "events_trimmed_total", "counter",
		   "acknowledged stream entries trimmed by this node", ev->trimmed);
	omr_metric(b, "events_replayed_total", "counter",
		   "conversations announced again because they were never routed", ev->replayed);
	omr_metric(b, "events_lost_total", "counter",
		   "pending stream entries found gone from the stream", ev->lost);
}
