/*
 * omr_router: decides what happens to a conversation: rules place a new
 * conversation in a queue (with language, skills, priority), or give it to
 * the bot tier, or answer it automatically; waiting conversations are
 * offered to eligible agents; waiting customers hear their position; offers
 * expire. See docs/routing.md.
 *
 * It hears from the rest through the hub (OMR_HUB_ROUTE: run a pass soon)
 * and announces offers, revocations and presence
 * changes there (OMR_HUB_OFFERED, _REVOKED, _PRESENCE, _TO_AGENT).
 */
#ifndef OMR_ROUTER_H
#define OMR_ROUTER_H

#include "omr_env.h"

struct omr_bots;
struct omr_buf;
struct omr_channels;
struct omr_event;
struct omr_router;

#define OMR_EVENTS_GROUP "router"

struct omr_router *omr_router_new(const struct omr_env *env, struct omr_channels *channels,
				  struct omr_bots *bots);
void omr_router_free(struct omr_router *r);
/* Timers begin (Redis reachable) / end (shutdown). */
void omr_router_start(struct omr_router *r);
void omr_router_stop(struct omr_router *r);
/* omr_events handler. */
void omr_router_on_event(void *arg, struct omr_event *e);
/* After a reload: decide again for the conversations still waiting. */
void omr_router_reload(struct omr_router *r);
void omr_router_metrics(const struct omr_router *r, struct omr_buf *b);

#endif
