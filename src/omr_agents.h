/*
 * omr_agents: the agent gateway. Serves the /agent websocket
 * (omniroute.agent.v1, docs/agent-protocol.md): log-in, presence, offers,
 * replies, transfers, close and wrap-up. Agent state lives in Redis (any
 * node and a restarted daemon see it); this module keeps only the
 * websocket sessions of this node.
 */
#ifndef OMR_AGENTS_H
#define OMR_AGENTS_H

#include <stddef.h>
#include <jansson.h>

struct omr_core;
struct omr_agents;

struct omr_agents *omr_agents_new(struct omr_core *core, char **err_r);
void omr_agents_free(struct omr_agents *a);
/* At start (Redis reachable): heartbeats begin; agents this node served
 * before a restart get their grace period. */
void omr_agents_online(struct omr_agents *a);

/* Send a frame to every session of an agent, on whichever node they are
 * connected (through the bus). The frame is borrowed. */
void omr_agents_push(struct omr_agents *a, const char *agent, const json_t *frame);
/* The bus delivers a pushed frame here: to this node's sessions. */
void omr_agents_deliver(struct omr_agents *a, const char *agent, const json_t *frame);
/* Build and push an `offer` frame for an offer just made. */
void omr_agents_send_offer(struct omr_agents *a, const char *agent, const char *offer,
			   const char *conversation);
/* An offer ended without the agent's doing (expired, withdrawn). */
void omr_agents_revoked(struct omr_agents *a, const char *agent, const char *offer,
			const char *reason);
/* Tell an agent that the server changed their presence. */
void omr_agents_presence_changed(struct omr_agents *a, const char *agent, const char *status,
				 const char *reason);
/* Take an agent offline (grace expired, node gone); requeues and withdraws. */
void omr_agents_offline(struct omr_agents *a, const char *agent, const char *reason,
			int only_if_disconnected);

#endif
