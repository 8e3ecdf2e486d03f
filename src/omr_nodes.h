/*
 * omr_nodes: node membership. Every node writes its heartbeat to Redis
 * (node:<id>:alive, a key with a time to live, and the nodes set); agents'
 * sessions are counted per node (src/lua/sessions.lib). Any node notices a
 * node that stopped beating (reap.lua, once, whichever first): the dead
 * node's sessions are dropped, and the agents left with none are announced
 * (OMR_HUB_AGENT_RESUME): their grace period runs on this node, time to
 * reconnect through the load balancer and resume; after it, the agent
 * gateway takes them offline and requeues their conversations. At start
 * and after every reconnection, the agent gateway sets this node's
 * session counts right (node_sync.lua). A node that was taken for dead
 * while it lived (cut off from Redis longer than OMR_NODE_TTL_MS) and
 * beats again announces
 * OMR_HUB_NODE_REJOINED: its sessions are counted again. A node that stops
 * on purpose says so (node_leave.lua): the others take over at their next
 * look instead of after OMR_NODE_TTL_MS.
 */
#ifndef OMR_NODES_H
#define OMR_NODES_H

#include "omr_env.h"

struct omr_buf;

/* A node beats every second; one that has not for 6 s is dead (a Redis
 * hiccup of a few seconds is survived, and a node taken for dead by
 * mistake recovers: OMR_HUB_NODE_REJOINED); any node looks every 2 s. */
#define OMR_NODE_TTL_MS 6000
#define OMR_NODE_BEAT_MS 1000
#define OMR_NODE_REAP_MS 2000

struct omr_nodes;

struct omr_nodes *omr_nodes_new(const struct omr_env *env);
void omr_nodes_free(struct omr_nodes *n);
/* Redis reachable: the first beat, then timers. */
void omr_nodes_start(struct omr_nodes *n);
void omr_nodes_stop(struct omr_nodes *n);
/* Stopping on purpose, with nothing left in hand (after the drain): the
 * others take over now, not in OMR_NODE_TTL_MS (node_leave.lua). Once. */
void omr_nodes_leave(struct omr_nodes *n);
void omr_nodes_metrics(const struct omr_nodes *n, struct omr_buf *b);

#endif
