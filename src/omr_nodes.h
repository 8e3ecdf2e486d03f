/*
 * omr_nodes: node membership. Every node writes its heartbeat to Redis
 * (node:<id>:alive, a key with a time to live); any node notices agents
 * whose node stopped beating and announces them lost (OMR_HUB_AGENT_LOST:
 * the agent gateway takes them offline, requeuing their conversations). At
 * start, this node announces the agents it served before a restart
 * (OMR_HUB_AGENT_RESUME: they get the grace period to come back).
 */
#ifndef OMR_NODES_H
#define OMR_NODES_H

#include "omr_env.h"

#define OMR_NODE_TTL_MS 15000
#define OMR_NODE_BEAT_MS 5000
#define OMR_NODE_REAP_MS 10000

struct omr_nodes;

struct omr_nodes *omr_nodes_new(const struct omr_env *env);
void omr_nodes_free(struct omr_nodes *n);
/* Redis reachable: the first beat, then timers. */
void omr_nodes_start(struct omr_nodes *n);
void omr_nodes_stop(struct omr_nodes *n);

#endif
