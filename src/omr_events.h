/*
 * omr_events: the consumer side of the event stream. Entries are read with
 * XREADGROUP (a consumer group shared by every node: each event is handled
 * by one node) on a dedicated connection, handed to a handler one batch at
 * a time, and acknowledged when the handler is done. At-least-once: after
 * a crash, this node's unacknowledged entries are read again at start, and
 * entries left by a node that died are claimed (XAUTOCLAIM) after a while.
 * Handlers must therefore be idempotent.
 */
#ifndef OMR_EVENTS_H
#define OMR_EVENTS_H

#include <event2/event.h>
#include <jansson.h>

struct omr_redis;
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
	const char *stream;     /* key */
	const char *group;      /* consumer group */
	const char *consumer;   /* this node */
	int batch;              /* entries per read */
	long long block_ms;     /* XREADGROUP BLOCK */
	long long claim_idle_ms;/* claim entries idle this long from other consumers */
};

struct omr_events *omr_events_new(struct event_base *base, struct omr_redis *cmd,
				  struct omr_redis *block, const struct omr_events_opts *o,
				  omr_events_handler h, void *arg);
void omr_events_free(struct omr_events *ev);
/* Call when the blocking connection is (re)connected. */
void omr_events_kick(struct omr_events *ev);
/* Stop reading (entries being handled still finish). */
void omr_events_stop(struct omr_events *ev);
unsigned long long omr_events_processed(const struct omr_events *ev);

#endif
