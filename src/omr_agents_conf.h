/*
 * omr_agents_conf: agents.yaml — the agent directory: who may log in, with
 * which skills (proficiency 1-5), languages and capacity per channel.
 */
#ifndef OMR_AGENTS_CONF_H
#define OMR_AGENTS_CONF_H

#include "omr_conf.h"

struct omr_routing_conf;

struct omr_agent_skill {
	char *skill;
	long long level; /* 1..5 */
};

struct omr_agent_capacity {
	char *channel;
	long long max;
};

struct omr_agent_conf {
	char *id;
	char *name;
	char *password;     /* PBKDF2 hash, see omr_password.h; may be NULL */
	char *token;        /* "$sha256$<hex>" of the single sign-on token; may be NULL */
	unsigned char token_sha256[32]; /* that digest, when token is set */
	char *team;
	char **languages;
	int enabled;        /* 0: dropped at load (as if removed) */
	struct omr_agent_skill *skills;
	size_t nskills;
	struct omr_agent_capacity *capacity;
	size_t ncapacity;
};

struct omr_agents_conf {
	struct omr_agent_conf *agents;
	size_t nagents;
};

struct omr_agents_conf *omr_agents_conf_load(const struct omr_ydoc *doc,
					     const struct omr_routing_conf *routing,
					     struct omr_conf_errs *errs);
void omr_agents_conf_free(struct omr_agents_conf *a);
const struct omr_agent_conf *omr_agents_find(const struct omr_agents_conf *a, const char *id);
/* The agent whose stored token hash is the SHA-256 of `token` (compared
 * in constant time), or NULL. Borrowed from a. */
const struct omr_agent_conf *omr_agents_find_token(const struct omr_agents_conf *a,
						   const char *token);
long long omr_agent_skill_level(const struct omr_agent_conf *a, const char *skill);
long long omr_agent_capacity(const struct omr_agent_conf *a, const char *channel);

#endif
