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
	const struct omr_ynode *at;
};

struct omr_skill_conf {
	char *name;
	char *description;
};

struct omr_routing_conf {
	struct omr_skill_conf *skills;
	size_t nskills;
	struct omr_queue_conf *queues;
	size_t nqueues;
	char *default_queue;
	char **reasons;       /* contact reasons (the WHY) offered at wrap-up */
	char **outcomes;      /* wrap-up outcomes */
};

struct omr_routing_conf *omr_routing_conf_load(const struct omr_ydoc *doc,
					       struct omr_conf_errs *errs);
void omr_routing_conf_free(struct omr_routing_conf *r);

const struct omr_skill_conf *omr_routing_skill(const struct omr_routing_conf *r, const char *name);
const struct omr_queue_conf *omr_routing_queue(const struct omr_routing_conf *r, const char *name);

#endif
