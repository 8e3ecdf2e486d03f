/*
 * omr_agents_conf_int: what omr_agents_conf.c shares with
 * omr_agents_conf_dir.c and nobody else.
 */
#ifndef OMR_AGENTS_CONF_INT_H
#define OMR_AGENTS_CONF_INT_H

#include "omr_agents_conf.h"

struct omr_routing_conf;

/* Parts of an agent's entry, also used for a directory group's profile. */
void omr_agent_skills(struct omr_agent_conf *a, const struct omr_routing_conf *routing,
		      const struct omr_ynode *n, struct omr_conf_errs *errs);
void omr_agent_capacity_load(struct omr_agent_conf *a, const struct omr_ynode *n,
			     struct omr_conf_errs *errs);
void omr_agent_roles(struct omr_agent_conf *a, const struct omr_routing_conf *routing,
		     const struct omr_ynode *item, struct omr_conf_errs *errs);
/* Frees what an entry holds (not a itself). */
void omr_agent_free(struct omr_agent_conf *a);

/* directory: (agents.yaml); 0 or the number of errors added. */
int omr_agents_dir_load(struct omr_agents_conf *a, const struct omr_ynode *dir,
			const struct omr_routing_conf *routing, struct omr_conf_errs *errs);
void omr_agents_dir_free(struct omr_agents_conf *a);
const struct omr_agent_conf *omr_dir_users_find(const struct omr_dir_users *u, const char *id);
size_t omr_dir_users_count(const struct omr_dir_users *u);
unsigned long omr_dir_users_gen(const struct omr_dir_users *u);
const struct omr_agent_conf *omr_dir_users_at(const struct omr_dir_users *u, size_t i);

#endif
