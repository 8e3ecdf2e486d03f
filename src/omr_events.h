/*
 * omr_events: the consumer side of the event stream. Entries are read with
 * XREADGROUP (a consumer group shared by every node: each event is handled
 * by one node) on a dedicated connection, handed to a handler one batch at
 * a time, and acknowledged when the handler is done. At-least-once:
 * handlers must be idempotent.
 *
 * Nothing is lost, nothing stops the stream:
 * - at every (re)connection this node's own unacknowledged entries are read
 *   once (history), then new ones; an entry whose handling fails stays
 *   pending and does not hold up the others;
 * - every few seconds entries idle for claim_idle_ms (a dead node's, or
 *   ones that failed here) are taken over (events_claim.lua); one whose
 *   handling failed OMR_EVENTS_MAX_DELIVERIES times (deliveries by the
 *   quick retry passes not counted) is parked in the dead-letter stream
 *   events:dead, acknowledged, and counted;
 * - the stream is trimmed near its length cap, but never past an entry a
 *   consumer group has not acknowledged (events_trim.lua);
 * - a conversation still 'new' reroute_after ms after it was opened is
 *   announced again (new_sweep.lua).
 */
#ifndef OMR_EVENTS_H
#define OMR_EVENTS_H

#include <event2/event.h>
#include <jansson.h>

#define OMR_EVENTS_MAX_DELIVERIES 5

struct omr_buf;
struct omr_redis;
struct omr_store;
struct omr_events;

struct omr_event {
	struct omr_events *owner;
	char *id;          /* stream entry id */
	json_t *fields;    /* object of strings */
	int batch;         /* 1: part of a read batch */
};

enum omr_event_outcome {
	OMR_EVENT_ACK,    /* handled: omr_events sends XACK */
	OMR_EVENT_ACKED,  /* handled and acknowledged by the handler's own script */
	OMR_EVENT_RETRY,  /* not handled: leave it pending; it is claimed again later */
};
/* The handler must call omr_event_done() exactly once, now or later. */
typedef void (*omr_events_handler)(void *arg, struct omr_event *e);
void omr_event_done(struct omr_event *e, enum omr_event_outcome outcome);
const char *omr_event_get(const struct omr_event *e, const char *field);

struct omr_events_opts {
	const char *group;      /* consumer group */
	const char *consumer;   /* this node */
	int batch;              /* entries per read */
	long long block_ms;     /* XREADGROUP BLOCK */
	long long claim_idle_ms;/* take over entries idle this long */
	long long maxlen;       /* length cap of the stream (limits.stream_maxlen) */
	long long reroute_after;/* announce again a conversation 'new' this long (ms) */
};

/* The stream is the store's "events"; block is the connection for the
 * blocking reads (the store's connection does everything else). */
struct omr_events *omr_events_new(struct event_base *base, struct omr_store *store,
				  struct omr_redis *block, const struct omr_events_opts *o,
				  omr_events_handler h, void *arg);
void omr_events_free(struct omr_events *ev);
/* Begin, or go on after the blocking connection (re)connected. */
void omr_events_kick(struct omr_events *ev);
/* Stop reading (entries being handled still finish). */
void omr_events_stop(struct omr_events *ev);
void omr_events_metrics(const struct omr_events *ev, struct omr_buf *b);
/* Entries handed to the handler and not yet done. */
size_t omr_events_live(const struct omr_events *ev);
/* A node died (OMR_HUB_NODE_DEAD): take over the entries it had read and
 * not finished now, rather than once they have been idle for the claim;
 * its consumer is removed from the group. */
void omr_events_takeover(struct omr_events *ev, const char *node);

#endif
