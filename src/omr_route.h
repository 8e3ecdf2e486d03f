/*
 * omr_route: the routing decisions themselves, as pure functions of the
 * configuration, the facts of a conversation and the clock, so that they
 * can be simulated and tested without a daemon (tests/unit/test_routing.c):
 * rules and the value matrix, queue order (aging), escalation steps,
 * candidate agents, waiting-time estimates.
 * The state that only Redis knows (presence, load, declines) is checked by
 * offer.lua, which gets the candidates computed here.
 */
#ifndef OMR_ROUTE_H
#define OMR_ROUTE_H

#include <stdint.h>
#include <jansson.h>

#include "omr_routing_conf.h"

struct omr_agent_conf;
struct omr_routing_conf;
struct omr_agents_conf;

enum omr_quadrant {
	OMR_Q_ELIMINATE = 0,    /* low to the customer, low to the organisation */
	OMR_Q_SELF_SERVICE = 1, /* high / low */
	OMR_Q_SIMPLIFY = 2,     /* low / high */
	OMR_Q_ENCOURAGE = 3,    /* high / high: moments of truth */
};

struct omr_decision {
	const char *queue;      /* borrowed from the routing configuration */
	long long priority;
	char *language;         /* owned; NULL: none */
	json_t *skills;         /* {skill: minimum} the rules require, owned (the
	                           queue's own are added when offering) */
	json_t *tags;           /* owned */
	json_t *matched;        /* names of the rules that matched, owned */
	int value_customer;     /* enum omr_value */
	int value_org;
	int quadrant;           /* enum omr_quadrant; -1: not valued */
	int tier;               /* enum omr_tier, after treatment and rules */
	const char *tier_note;  /* why the tier is what it is */
	int strategy;           /* -1: the queue's */
	long long prefer_ms;    /* prefer the customer's last agent this long; 0: no */
	const char *owner;      /* a rule's contact person for a customer who has none
	                           (borrowed from the configuration), or NULL */
	const char *deputy;     /* with owner, or NULL */
	const char *elim_text;  /* eliminate: this answer, then close (or park) */
	const char *elim_reason;
	int elim_park;          /* 1: park instead of closing (a rule's answer.then) */
	json_t *explain;        /* what routing records on the conversation, owned */
};

/* What the rules' conditions see of a conversation (as the store gives it:
 * channel, attrs, messages, customer_profile; docs/routing.md), at time
 * now (ms): its first inbound text, the customer's balance and whether
 * this is a repeat contact (*repeat_r), the hour and weekday (UTC). New
 * reference. */
json_t *omr_route_facts(const struct omr_routing_conf *rc, const json_t *conv, long long now,
			int *repeat_r);

/* Decide. `facts` are what conditions see (see docs/routing.md); the
 * function may update them (a rule's language). bots: 1 if a bot tier is
 * configured. */
void omr_route_decide(const struct omr_routing_conf *rc, json_t *facts, int bots,
		      struct omr_decision *d);
void omr_decision_release(struct omr_decision *d);

/* Place in the queue: lower is served first. Priority buys time: one point
 * is worth `aging` ms of waiting, so nothing starves. */
long long omr_route_score(const struct omr_routing_conf *rc, long long queued_at,
			  long long priority);

/* What the queue's escalation steps say after waiting `waited` ms. */
struct omr_escalation {
	int step;               /* index of the step in force, -1: none */
	long long relax;
	int drop_optional;
	const char *overflow;   /* move to this queue, or NULL */
};
void omr_route_escalation(const struct omr_queue_conf *q, long long waited,
			  struct omr_escalation *e);

/* Could agent a take the conversations of queue q (an agent, with the
 * queue's skills at its levels)? What a supervisor limited to q oversees. */
int omr_route_agent_serves(const struct omr_agent_conf *a, const struct omr_queue_conf *q);
/* Does a supervisor limited to `queues` (NULL: all) oversee agent a (who
 * serves one of them)? */
int omr_route_oversees(char *const *queues, const struct omr_routing_conf *rc,
		       const struct omr_agent_conf *a);

/* What an agent needs for a conversation in queue q: the queue's skills and
 * the rules' (rule_skills, may be NULL); the queue's optional skills too
 * unless an escalation step dropped them (with_optional 0). New references;
 * *optional_r may be NULL. */
void omr_route_needs(const struct omr_queue_conf *q, const json_t *rule_skills, int with_optional,
		     json_t **skills_r, json_t **optional_r);

/* Candidate agents for offer.lua: (id, capacity, skill score) triples. */
struct omr_cands {
	const char **argv;
	char (*nums)[2][24];
	int n;
};
/* skills: required {skill: min}; optional: also required unless dropped
 * (may be NULL); only: the one preferred agent (skills not checked); team:
 * only agents of that team (agents.yaml `team`), or NULL. */
void omr_route_candidates(const struct omr_agents_conf *dir, const char *channel,
			  const json_t *skills, const json_t *optional, const char *language,
			  const char *only, const char *team, long long relax, struct omr_cands *c);
void omr_cands_free(struct omr_cands *c);

/* Estimated wait in seconds: position x average handling time / agents. */
long long omr_route_eta(long long position, long long avg_handle_ms, long long agents);

/* t_ms as a customer reads it, relative to now_ms in the calendar's time
 * zone (UTC without one): "today 14:30", "tomorrow 09:00", "Monday 09:00"
 * (language "nl": "vandaag 14:30", ...). */
void omr_route_at(const struct omr_calendar *cal, int64_t now_ms, int64_t t_ms,
		  const char *language, char *buf, size_t len);
/* "{next_open}", "{position}", "{eta}" in a configured text; malloc'ed. */
char *omr_route_text(const char *tmpl, const struct omr_calendar *cal, int64_t now_ms,
		     long long position, long long eta_s);

#endif
