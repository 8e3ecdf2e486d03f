/*
 * omr_router: decides what happens to a conversation. It consumes the
 * event stream (omr_events) and places new conversations in a routing
 * queue. The full engine (rules, value matrix, agent selection) builds on
 * this entry point.
 */
#ifndef OMR_ROUTER_H
#define OMR_ROUTER_H

struct omr_core;
struct omr_event;
struct omr_router;

struct omr_router *omr_router_new(struct omr_core *core);
void omr_router_free(struct omr_router *r);
/* omr_events handler. */
void omr_router_on_event(void *arg, struct omr_event *e);

#define OMR_EVENTS_GROUP "router"

#endif
