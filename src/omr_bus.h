/*
 * omr_bus: messages between the nodes that share one Redis. A site-wide
 * stream that every node reads from where it left off (XREAD, not a
 * consumer group: every node sees every message), so an agent connected to
 * node B gets the offer node A made, and a visitor connected to node A gets
 * the reply an agent sent through node B.
 *
 * Messages are JSON objects with a "t" (type); the handler runs on the main
 * thread for every message, including this node's own.
 */
#ifndef OMR_BUS_H
#define OMR_BUS_H

#include <event2/event.h>
#include <jansson.h>

struct omr_redis;
struct omr_bus;

typedef void (*omr_bus_handler)(void *arg, const json_t *msg);

struct omr_bus *omr_bus_new(struct event_base *base, struct omr_redis *cmd,
			    struct omr_redis *block, const char *stream, omr_bus_handler h,
			    void *arg);
void omr_bus_free(struct omr_bus *b);
/* Call when the blocking connection is (re)connected. */
void omr_bus_kick(struct omr_bus *b);
void omr_bus_stop(struct omr_bus *b);
/* Send to every node (this one too). If Redis cannot take it, the message
 * is handled here at once: this node's own sessions still get it. */
void omr_bus_publish(struct omr_bus *b, const json_t *msg);

#endif
