/*
 * omr_bus: messages between the nodes that share one Redis. A site-wide
 * stream that every node reads from where it left off (XREAD, not a
 * consumer group: every node sees every message), so an agent connected to
 * node B gets the offer node A made, and a visitor connected to node A gets
 * the reply an agent sent through node B.
 *
 * Messages are JSON objects with a "t" (type); the handler runs on the main
 * thread for every message of another node. A node delivers its own
 * messages to its own sessions itself, at once (local delivery first), and
 * publishes only for the others: when it knows it is alone on its Redis
 * (its heartbeat counted no other node, and no other node has written to
 * the bus for two heartbeats), it publishes nothing. A node that starts
 * says hello on the bus before it serves anyone, so that the others stop
 * skipping the bus at once, not at their next heartbeat.
 */
#ifndef OMR_BUS_H
#define OMR_BUS_H

#include <event2/event.h>
#include <jansson.h>

struct omr_redis;
struct omr_bus;

typedef void (*omr_bus_handler)(void *arg, const json_t *msg);

struct omr_bus *omr_bus_new(struct event_base *base, struct omr_redis *cmd,
			    struct omr_redis *block, const char *stream, const char *node,
			    omr_bus_handler h, void *arg);
void omr_bus_free(struct omr_bus *b);
/* Call when the blocking connection is (re)connected. */
void omr_bus_kick(struct omr_bus *b);
void omr_bus_stop(struct omr_bus *b);
/* Send to every other node (none when this one is alone); the caller has
 * delivered it on this node. */
void omr_bus_publish(struct omr_bus *b, const json_t *msg);
/* 1 if a message now would go to other nodes; 0 (counted as skipped) when
 * this node is alone: then the caller need not even build it. */
int omr_bus_needed(struct omr_bus *b);
/* The heartbeat counted `others` other nodes alive (OMR_HUB_PEERS). */
void omr_bus_peers(struct omr_bus *b, long long others);

struct omr_bus_stats {
	unsigned long long published;  /* messages written to the bus */
	unsigned long long skipped;    /* not written: this node was alone */
};
void omr_bus_get_stats(const struct omr_bus *b, struct omr_bus_stats *st);

#endif
