/*
 * omr_agents: the agent gateway. Serves the /agent websocket
 * (omniroute.agent.v1, docs/agent-protocol.md): log-in, presence, offers,
 * replies, transfers, close and wrap-up. Agent state lives in Redis (any
 * node and a restarted daemon see it); this module keeps only the
 * websocket sessions of this node.
 *
 * It hears from the rest through the hub (offers made and revoked,
 * presence changed by the server, agents lost or resumed, frames for an
 * agent) and tells the router through it (OMR_HUB_ROUTE, _ANSWERED,
 * _ENGAGE).
 */
#ifndef OMR_AGENTS_H
#define OMR_AGENTS_H

#include <stddef.h>
#include <jansson.h>

#include "omr_env.h"
#include "omr_supervise.h"

struct omr_buf;
struct omr_bus;
struct omr_channels;
struct omr_edge;
struct omr_files;
struct omr_media;
struct omr_worker;
struct omr_agents;

/* Directory binds at once on the login pool, which has one more thread
 * for password checks (the two never wait for each other). */
#define OMR_AUTH_DIRECTORY_THREADS 2

struct omr_agents_deps {
	struct omr_edge *edge;          /* the /agent endpoint is registered on it */
	struct omr_files *files;  /* links to attachments in frames */
	struct omr_media *media;        /* agents' files kept in the store */
	struct omr_bus *bus;            /* frames for agents on other nodes */
	struct omr_channels *channels;  /* reply windows, delivery of replies */
	struct omr_worker *login;       /* password checks and directory binds */
	struct omr_outreach *outreach;  /* "start": conversations started by an agent */
};

struct omr_agents *omr_agents_new(const struct omr_env *env, const struct omr_agents_deps *deps,
				  char **err_r);
void omr_agents_free(struct omr_agents *a);
void omr_agents_start(struct omr_agents *a);
/* No more log-ins; sessions closing now are not recorded (the node's
 * agents get their grace period from the next start or another node). */
void omr_agents_stop(struct omr_agents *a);
/* After a reload: sessions of agents removed, disabled or whose
 * credentials changed are logged out. */
void omr_agents_reload(struct omr_agents *a);
/* The bus delivers a pushed frame here: to this node's sessions. */
void omr_agents_deliver(struct omr_agents *a, const char *agent, const json_t *frame);
void omr_agents_metrics(const struct omr_agents *a, struct omr_buf *b);
/* A "mon" message of the bus: another node's supervisor follows (or no
 * longer follows) a conversation. */
void omr_agents_monitor_bus(struct omr_agents *a, const json_t *msg);
/* A "logout" message of the bus: an admin revoked an agent's sessions on
 * another node; this node's consoles of the agent are closed. */
void omr_agents_logout_bus(struct omr_agents *a, const json_t *msg);
/* A bus message "diruser": a directory user another node described. */
void omr_agents_dir_bus(struct omr_agents *a, const json_t *msg);
/* Close or transfer a conversation, or set an agent's presence, for a
 * supervisor or admin (omr_supervise.h); cb is called exactly once, maybe
 * before this returns. */
void omr_agents_supervise(struct omr_agents *a, const struct omr_supervise *s, omr_supervise_cb cb,
			  void *arg);

#endif
