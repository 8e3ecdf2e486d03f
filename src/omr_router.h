/*
 * omr_router: decides what happens to a conversation: rules place a new
 * conversation in a queue (with language, skills, priority), and waiting
 * conversations are offered to eligible agents; see docs/routing.md.
 */
#ifndef OMR_ROUTER_H
#define OMR_ROUTER_H

struct omr_core;
struct omr_event;
struct omr_router;

struct omr_router *omr_router_new(struct omr_core *core);
void omr_router_free(struct omr_router *r);
/* Timers begin (Redis reachable) / end (shutdown). */
void omr_router_start(struct omr_router *r);
void omr_router_stop(struct omr_router *r);
/* omr_events handler. */
void omr_router_on_event(void *arg, struct omr_event *e);
/* Something changed (a conversation waits, an agent is free): run a
 * dispatch pass soon. Passes never overlap; kicks during one coalesce. */
void omr_router_kick(struct omr_router *r);
/* An offer was accepted: count the answer for the queue's service level
 * (and withdraw from the engagement balance when it came too late). */
void omr_router_answered(struct omr_router *r, const char *queue, long long queued_at,
			 const char *customer, const char *conversation);
/* Move a customer's engagement balance for an event (an outcome,
 * "complaint", "sla_breach", "repeat_contact"), as configured. */
void omr_router_engage(struct omr_router *r, const char *customer, const char *event,
		       const char *conversation);
/* A message from omniroute to the customer of a conversation: stored
 * (author "system"), then delivered. */
void omr_router_tell(struct omr_router *r, const char *conversation, const char *text);
/* After a reload: decide again for the conversations still waiting. */
void omr_router_reloaded(struct omr_router *r);

#define OMR_EVENTS_GROUP "router"

#endif
