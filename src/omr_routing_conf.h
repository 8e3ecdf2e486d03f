/*
 * omr_routing_conf: routing.yaml — skills, queues and the default queue.
 * Immutable once loaded; swapped as a whole on reload.
 */
#ifndef OMR_ROUTING_CONF_H
#define OMR_ROUTING_CONF_H

#include "omr_conf.h"

struct omr_skill_req {
	char *skill;
	long long min;      /* minimum proficiency 1..5 */
};

struct omr_queue_conf {
	char *name;
	char *description;
	struct omr_skill_req *skills;
	size_t nskills;
	long long priority;  /* 0..100, higher first */
	int strategy;        /* enum omr_strategy */
	const struct omr_ynode *at;
};

enum omr_strategy {
	OMR_STRATEGY_LONGEST_IDLE,
	OMR_STRATEGY_LEAST_OCCUPIED,
	OMR_STRATEGY_BEST_PROFICIENCY,
	OMR_STRATEGY_ROUND_ROBIN,
};
extern const char *const omr_strategy_names[];

struct omr_skill_conf {
	char *name;
	char *description;
};

/* A rule: when its condition holds, its actions apply; the first match
 * wins unless it says `continue`. */
struct omr_rule {
	char *name;
	char *when;            /* Lua expression; NULL: always */
	int cond;              /* index in the rules engine, -1: always */
	char *queue;
	char *language;
	struct omr_skill_req *skills;
	size_t nskills;
	long long priority;    /* -1: unset */
	char **tags;
	int cont;
	const struct omr_ynode *at;
};

struct omr_offers_conf {
	long long timeout;          /* ms an offer stays open */
	long long max_missed;       /* missed offers in a row before away */
	long long reject_cooldown;  /* ms a rejecting agent is skipped */
};

struct omr_sessions_conf {
	long long grace;            /* ms after the last disconnect before offline */
};

struct omr_rules;

struct omr_routing_conf {
	struct omr_skill_conf *skills;
	size_t nskills;
	struct omr_queue_conf *queues;
	size_t nqueues;
	char *default_queue;
	char **reasons;       /* contact reasons (the WHY) offered at wrap-up */
	char **outcomes;      /* wrap-up outcomes */
	struct omr_rule *rules;
	size_t nrules;
	struct omr_rules *engine;   /* compiled conditions */
	struct omr_offers_conf offers;
	struct omr_sessions_conf sessions;
};

struct omr_routing_conf *omr_routing_conf_load(const struct omr_ydoc *doc,
					       struct omr_conf_errs *errs);
void omr_routing_conf_free(struct omr_routing_conf *r);

const struct omr_skill_conf *omr_routing_skill(const struct omr_routing_conf *r, const char *name);
const struct omr_queue_conf *omr_routing_queue(const struct omr_routing_conf *r, const char *name);

#endif
