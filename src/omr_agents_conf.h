/*
 * omr_agents_conf: agents.yaml — the users file: who may log in, in which
 * roles (agent, supervisor, admin), with which skills (proficiency 1-5),
 * languages and capacity per channel, and the admin API tokens (hashed,
 * with scopes) of supervisors and admins.
 */
#ifndef OMR_AGENTS_CONF_H
#define OMR_AGENTS_CONF_H

#include <jansson.h>

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

/* roles (a bit mask): who a user is */
#define OMR_ROLE_AGENT 1u      /* takes conversations */
#define OMR_ROLE_SUPERVISOR 2u /* watches and steers queues (all, or `queues`) */
#define OMR_ROLE_ADMIN 4u      /* everything, including reload and the audit */

/* admin API scopes (a bit mask): what a token may do */
#define OMR_SCOPE_READ 1u  /* GET: queues, agents, conversations, reports, metrics */
#define OMR_SCOPE_ACT 2u   /* supervise: close, transfer, presence */
#define OMR_SCOPE_ADMIN 4u /* reload, drain, audit */

struct omr_api_token {
	char *name;                /* for the audit: "sam/wallboard" */
	unsigned char sha256[32];  /* of the token; the file keeps only this */
	unsigned scopes;
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
	char **role_names;        /* roles: as written */
	unsigned roles;           /* OMR_ROLE_*; [agent] when the file says nothing */
	char **queues;            /* a supervisor's queues (NULL-terminated), NULL: all */
	struct omr_api_token *tokens;
	size_t ntokens;
};

struct omr_ldap_conf;
struct omr_dir_users;

/* A group of the directory and what its members are (directory:
 * groups:); only roles, skills, capacity, languages, team, queues. */
struct omr_dir_group {
	char *dn;
	struct omr_agent_conf profile;
};

struct omr_agents_conf {
	struct omr_agent_conf *agents;
	size_t nagents;
	struct omr_ldap_conf *directory;  /* directory:, or NULL */
	struct omr_dir_group *groups;
	size_t ngroups;
	/* the directory users without an entry of their own that logged in on
	 * this node (omr_dir_users_put): borrowed from the agent gateway, which
	 * sets it; NULL in `-t` and before. Main thread only. */
	struct omr_dir_users *users;
	char **disabled;  /* ids with enabled: false (NULL-terminated): never logged in,
			     not even through the directory */
	struct omr_map *by_id; /* id -> &agents[i]: omr_agents_find in O(1) */
	/* the token's SHA-256 (32 bytes) -> &agents[i] of those with a token:
	 * omr_agents_find_token in O(1) */
	struct omr_map *by_token;
};

struct omr_agents_conf *omr_agents_conf_load(const struct omr_ydoc *doc,
					     const struct omr_routing_conf *routing,
					     struct omr_conf_errs *errs);
void omr_agents_conf_free(struct omr_agents_conf *a);
/* Changes to the directory users met on this node (logged in, dropped,
 * described again): what was made of the users (the router's pools) is
 * out of date when this moves. */
unsigned long omr_agents_generation(const struct omr_agents_conf *a);
/* Whether `id` is an entry of the file with enabled: false (its letters'
 * case ignored, as directories do). */
int omr_agents_disabled(const struct omr_agents_conf *a, const char *id);
/* The user `id`: an entry of the file, else a directory user met here. */
const struct omr_agent_conf *omr_agents_find(const struct omr_agents_conf *a, const char *id);
/* Whether owner (and deputy, NULL: none) may be a customer's contact
 * person and deputy (docs/routing.md#contact-person): NULL, or why not (a
 * static text). */
const char *omr_agents_owner_check(const struct omr_agents_conf *a, const char *owner,
				   const char *deputy);
/* Every user, the file's then the directory's: i < omr_agents_count(a). */
size_t omr_agents_count(const struct omr_agents_conf *a);
const struct omr_agent_conf *omr_agents_at(const struct omr_agents_conf *a, size_t i);
/* An entry that logs in through the directory: no password, no token. */
static inline int omr_agent_from_directory(const struct omr_agent_conf *a)
{
	return a && !a->password && !a->token;
}
/* Letters, digits, _ - . @; 64 at most. */
int omr_agents_id_ok(const char *id);

/*
 * Directory users (omr_agents_conf_dir.c). A user the directory accepts
 * who has no entry in the file is described by the groups they are in:
 * the union of the groups' roles, languages and queues, the highest
 * proficiency and capacity the groups give, the first group's team.
 */
struct omr_dir_users *omr_dir_users_new(void);
void omr_dir_users_free(struct omr_dir_users *u);
/* Register (or update) `id` in a->users from its groups' DNs; the entry,
 * borrowed from a->users, or NULL when no group gives a role. */
const struct omr_agent_conf *omr_dir_users_put(const struct omr_agents_conf *a, const char *id,
					       const char *name, char *const *groups);
/* After a reload (a is the new file): every registered user described
 * again; those the file now lists, or no group maps, are dropped. */
void omr_dir_users_refresh(const struct omr_agents_conf *a);
/* The agent whose stored token hash is the SHA-256 of `token` (compared
 * in constant time), or NULL. Borrowed from a. */
const struct omr_agent_conf *omr_agents_find_token(const struct omr_agents_conf *a,
						   const char *token);
/* The user holding the admin API token `token` (its entry in *tok_r), or
 * NULL. Every stored hash is compared, in constant time. Borrowed from a. */
const struct omr_agent_conf *omr_agents_find_api_token(const struct omr_agents_conf *a,
						       const char *token,
						       const struct omr_api_token **tok_r);
/* May this user (NULL: nobody) supervise: the supervisor or admin role? */
static inline int omr_agent_supervises(const struct omr_agent_conf *a)
{
	return a && (a->roles & (OMR_ROLE_SUPERVISOR | OMR_ROLE_ADMIN));
}
/* "agent", "supervisor", "admin": the role names of a mask, as a JSON array */
json_t *omr_roles_json(unsigned roles);
/* the scopes a role allows a token at most */
unsigned omr_roles_scopes(unsigned roles);
long long omr_agent_skill_level(const struct omr_agent_conf *a, const char *skill);
long long omr_agent_capacity(const struct omr_agent_conf *a, const char *channel);

#endif
