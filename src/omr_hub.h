/*
 * omr_hub: how core modules tell each other what happened without knowing
 * each other. A module announces an event (the router: "offered",
 * "revoked"); the modules that care subscribe to its type (the agent
 * gateway sends the frame). The core, the composition root, creates the
 * hub and hands it to every module. What is announced goes through the
 * hub; a service one module asks of another (the router hands a
 * conversation to the bot tier) is a call through a pointer the core
 * gives it, never back into the core (tests/check_layers.py).
 *
 * Delivery is synchronous, in subscription order, on the main thread.
 * Everything in a struct omr_hub_event is borrowed for the call. A handler
 * may emit other events; it must not subscribe or unsubscribe.
 */
#ifndef OMR_HUB_H
#define OMR_HUB_H

#include <jansson.h>

enum omr_hub_type {
	/* Something changed (a conversation waits, an agent is free, an
	 * offer ended): a routing pass should run soon. No fields. */
	OMR_HUB_ROUTE,
	/* An offer was made: agent, offer, conversation; frame: what the
	 * offer frame shows (omr_store_offer_summary; NULL: load it), at: ms
	 * it stands. */
	OMR_HUB_OFFERED,
	/* An offer ended without the agent's doing: agent, offer, reason
	 * ("expired", "withdrawn", "rejected"). */
	OMR_HUB_REVOKED,
	/* The server changed an agent's presence: agent, status, reason. */
	OMR_HUB_PRESENCE,
	/* An agent with no session whom this node now answers for (their
	 * node died, or nobody took them offline: reap.lua): they get the
	 * grace period to come back. agent. */
	OMR_HUB_AGENT_RESUME,
	/* This node was taken for dead (no heartbeat stored for longer than
	 * its time to live) and beats again: its agents' sessions are counted
	 * again. No fields. */
	OMR_HUB_NODE_REJOINED,
	/* Another node stopped beating and this node took it over (reap.lua):
	 * node. */
	OMR_HUB_NODE_DEAD,
	/* Redis is reachable: at start (what this node's previous run left
	 * counted), and back after it was lost (what was sent meanwhile, or
	 * whose answer was lost): session counts are set right
	 * (node_sync.lua). No fields. */
	OMR_HUB_REDIS_BACK,
	/* A frame for every console of an agent, on whichever node: agent,
	 * frame. */
	OMR_HUB_TO_AGENT,
	/* This node's heartbeat was stored: at = how many other nodes beat. */
	OMR_HUB_PEERS,
	/* An offer ended, told once by the node that ended it: agent,
	 * conversation, reason: "accepted" (queue: the queue it waited in),
	 * "rejected", "missed" (it expired) or "withdrawn" (the agent went
	 * offline). */
	OMR_HUB_OFFER_ENDED,
	/* An agent wrapped a conversation up: agent, conversation, queue (may
	 * be NULL). */
	OMR_HUB_WRAPPED_UP,
	/* The bot tier is done with a conversation: conversation, reason:
	 * "contained" (the bot resolved it, or the customer left it) or
	 * "handoff" (to people). */
	OMR_HUB_BOT_ENDED,
	/* A parked conversation came back to the agent who parked it
	 * (unpark.lua): agent, conversation, reason ("time", "answer",
	 * "agent"). Their consoles get it as `assigned`. */
	OMR_HUB_UNPARKED,
	OMR_HUB_NTYPES
};

struct omr_hub_event {
	enum omr_hub_type type;
	const char *agent;
	const char *node;
	const char *offer;
	const char *conversation;
	const char *customer;
	const char *queue;
	const char *status;
	const char *reason;
	long long at;
	const json_t *frame;
};

typedef void (*omr_hub_fn)(void *arg, const struct omr_hub_event *ev);

struct omr_hub;

struct omr_hub *omr_hub_new(void);
void omr_hub_free(struct omr_hub *h);
/* Subscribe fn(arg, event) to a type (at start-up). */
void omr_hub_on(struct omr_hub *h, enum omr_hub_type type, omr_hub_fn fn, void *arg);
/* Drop every subscription of arg (its module is being freed). */
void omr_hub_off(struct omr_hub *h, void *arg);
void omr_hub_emit(struct omr_hub *h, const struct omr_hub_event *ev);
/* The common cases. */
void omr_hub_route(struct omr_hub *h);
void omr_hub_to_agent(struct omr_hub *h, const char *agent, const json_t *frame);
/* OMR_HUB_OFFER_ENDED, _WRAPPED_UP, _BOT_ENDED: what ended, and how. */
void omr_hub_ended(struct omr_hub *h, enum omr_hub_type type, const char *agent,
		   const char *conversation, const char *queue, const char *reason);
const char *omr_hub_type_name(enum omr_hub_type type);

#endif
