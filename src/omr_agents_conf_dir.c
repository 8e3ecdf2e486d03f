/*
 * omr_agents_conf_dir: agents.yaml's `directory:` section (the server is
 * omr_ldap's, the groups are read here) and the directory users met on
 * this node (omr_agents_conf.h).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "omr_agents_conf_int.h"
#include "omr_ldap.h"

#define GOFF(f) offsetof(struct omr_agent_conf, f)
/* what a group gives its members (skills and capacity are read apart) */
static const struct omr_conf_key omr_group_keys[] = {
	{ "roles", OMR_CONF_STRLIST, GOFF(role_names), 1, NULL, 0, 0,
	  "agent, supervisor, admin: the roles the group's members have" },
	{ "team", OMR_CONF_STRING, GOFF(team), 0, NULL, 0, 0, "team name" },
	{ "languages", OMR_CONF_STRLIST, GOFF(languages), 0, NULL, 0, 0,
	  "languages its members serve" },
	{ "queues", OMR_CONF_STRLIST, GOFF(queues), 0, NULL, 0, 0,
	  "a supervisors' group: the queues they see (default: all)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const char *const omr_group_handled[] = { "skills", "capacity", NULL };
static const char *const omr_dir_handled[] = { "groups", NULL };

struct omr_dir_user {
	struct omr_agent_conf *conf; /* owned */
	char **groups;               /* owned: the DNs it was described from */
};

struct omr_dir_users {
	struct omr_dir_user *v;
	size_t n;
	struct omr_map *at;  /* id -> its index in v, plus 1 (as a pointer) */
	unsigned long gen;   /* counts changes: the router's pools are made anew */
};

/* ---- loading ---- */

static void omr_dir_group_load(struct omr_agents_conf *a, const struct omr_ynode *key,
			       const struct omr_ynode *val, const struct omr_routing_conf *routing,
			       struct omr_conf_errs *errs)
{
	struct omr_dir_group *g = &a->groups[a->ngroups];
	if (omr_conf_apply(omr_group_keys, val, &g->profile, omr_group_handled, errs)) {
		omr_agent_free(&g->profile);
		return;
	}
	for (size_t i = 0; i < a->ngroups; i++)
		if (strcasecmp(a->groups[i].dn, key->value) == 0)
			omr_conf_error(errs, key, "groups: '%s' is listed twice", key->value);
	omr_agent_skills(&g->profile, routing, omr_ynode_get(val, "skills"), errs);
	omr_agent_capacity_load(&g->profile, omr_ynode_get(val, "capacity"), errs);
	omr_agent_roles(&g->profile, routing, val, errs);
	g->dn = omr_strdup(key->value);
	a->ngroups++;
}

int omr_agents_dir_load(struct omr_agents_conf *a, const struct omr_ynode *dir,
			const struct omr_routing_conf *routing, struct omr_conf_errs *errs)
{
	int before = errs->count;
	const struct omr_ynode *groups;

	if (!dir || omr_ynode_is_null(dir))
		return 0;
	a->directory = omr_calloc(1, sizeof(*a->directory));
	omr_ldap_conf_load(a->directory, dir, omr_dir_handled, errs);
	groups = omr_ynode_get(dir, "groups");
	if (!groups || groups->type != OMR_Y_MAP || groups->n == 0) {
		omr_conf_error(errs, groups ? groups : dir,
			       "directory: groups: map the directory's groups to roles, e.g. "
			       "\"cn=support,ou=groups,dc=example,dc=com\": { roles: [agent] }");
		return errs->count - before;
	}
	a->groups = omr_calloc(groups->n, sizeof(*a->groups));
	for (size_t i = 0; i < groups->n; i++) {
		const struct omr_ynode *val = groups->pairs[i].value;
		if (val->type != OMR_Y_MAP) {
			omr_conf_error(errs, val, "groups: expected { roles: [...], skills: ..., "
				       "capacity: ... } for each group DN");
			continue;
		}
		omr_dir_group_load(a, groups->pairs[i].key, val, routing, errs);
	}
	return errs->count - before;
}

void omr_agents_dir_free(struct omr_agents_conf *a)
{
	if (a->directory)
		omr_ldap_conf_free(a->directory);
	for (size_t i = 0; i < a->ngroups; i++) {
		free(a->groups[i].dn);
		omr_agent_free(&a->groups[i].profile);
	}
	free(a->groups);
}

/* ---- a user's profile from its groups ---- */

static void omr_dir_union(char ***into, char *const *more)
{
	for (size_t i = 0; more && more[i]; i++) {
		if (omr_strv_has(*into, more[i]))
			continue;
		size_t n = omr_conf_strlist_len(*into);
		*into = omr_realloc(*into, (n + 2) * sizeof(**into));
		(*into)[n] = omr_strdup(more[i]);
		(*into)[n + 1] = NULL;
	}
}

/* Where a list of {name, level} entries keeps them: skills, capacity. */
struct omr_dir_pairs {
	size_t size, name_off, value_off;
};
static const struct omr_dir_pairs omr_dir_skill_pairs = {
	sizeof(struct omr_agent_skill), offsetof(struct omr_agent_skill, skill),
	offsetof(struct omr_agent_skill, level),
};
static const struct omr_dir_pairs omr_dir_capacity_pairs = {
	sizeof(struct omr_agent_capacity), offsetof(struct omr_agent_capacity, channel),
	offsetof(struct omr_agent_capacity, max),
};

#define OMR_DIR_NAME(p, base, i) (*(char **)((char *)(base) + (i) * (p)->size + (p)->name_off))
#define OMR_DIR_VALUE(p, base, i) \
	(*(long long *)((char *)(base) + (i) * (p)->size + (p)->value_off))

/* Every entry of `from` into *into at the highest level either has. */
static void omr_dir_max(const struct omr_dir_pairs *p, void **into, size_t *n, const void *from,
			size_t nfrom)
{
	for (size_t i = 0; i < nfrom; i++) {
		size_t k = 0;
		while (k < *n && strcmp(OMR_DIR_NAME(p, *into, k), OMR_DIR_NAME(p, from, i)) != 0)
			k++;
		if (k == *n) {
			*into = omr_realloc(*into, (k + 1) * p->size);
			memset((char *)*into + k * p->size, 0, p->size);
			OMR_DIR_NAME(p, *into, k) = omr_strdup(OMR_DIR_NAME(p, from, i));
			(*n)++;
		}
		if (OMR_DIR_VALUE(p, from, i) > OMR_DIR_VALUE(p, *into, k))
			OMR_DIR_VALUE(p, *into, k) = OMR_DIR_VALUE(p, from, i);
	}
}

static void omr_dir_skills(struct omr_agent_conf *u, const struct omr_agent_conf *g)
{
	void *skills = u->skills, *capacity = u->capacity;
	omr_dir_max(&omr_dir_skill_pairs, &skills, &u->nskills, g->skills, g->nskills);
	omr_dir_max(&omr_dir_capacity_pairs, &capacity, &u->ncapacity, g->capacity, g->ncapacity);
	u->skills = skills;
	u->capacity = capacity;
}

static const struct omr_dir_group *omr_dir_group_of(const struct omr_agents_conf *a,
						    const char *dn)
{
	for (size_t i = 0; i < a->ngroups; i++)
		if (strcasecmp(a->groups[i].dn, dn) == 0)
			return &a->groups[i];
	return NULL;
}

/* A new entry for `id`, or NULL when no group gives a role. */
static struct omr_agent_conf *omr_dir_profile(const struct omr_agents_conf *a, const char *id,
					      const char *name, char *const *groups)
{
	struct omr_agent_conf *u = omr_calloc(1, sizeof(*u));
	int all_queues = 0;
	u->id = omr_strdup(id);
	u->name = name ? omr_strdup(name) : NULL;
	u->enabled = 1;
	for (size_t i = 0; groups && groups[i]; i++) {
		const struct omr_dir_group *g = omr_dir_group_of(a, groups[i]);
		if (!g)
			continue;
		u->roles |= g->profile.roles;
		omr_dir_union(&u->role_names, g->profile.role_names);
		omr_dir_union(&u->languages, g->profile.languages);
		if (g->profile.queues)
			omr_dir_union(&u->queues, g->profile.queues);
		else if (g->profile.roles & OMR_ROLE_SUPERVISOR)
			all_queues = 1; /* one group sees every queue: so do its members */
		if (!u->team && g->profile.team)
			u->team = omr_strdup(g->profile.team);
		omr_dir_skills(u, &g->profile);
	}
	if (all_queues || (u->roles & OMR_ROLE_ADMIN)) {
		omr_strv_free(u->queues);
		u->queues = NULL;
	}
	if (!u->roles) {
		omr_agent_free(u);
		free(u);
		return NULL;
	}
	return u;
}

/* ---- the users met on this node ---- */

struct omr_dir_users *omr_dir_users_new(void)
{
	struct omr_dir_users *u = omr_calloc(1, sizeof(*u));
	u->at = omr_map_new();
	return u;
}

static void omr_dir_user_clear(struct omr_dir_user *e)
{
	if (e->conf) {
		omr_agent_free(e->conf);
		free(e->conf);
	}
	omr_strv_free(e->groups);
	e->conf = NULL;
	e->groups = NULL;
}

void omr_dir_users_free(struct omr_dir_users *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		omr_dir_user_clear(&u->v[i]);
	free(u->v);
	omr_map_free(u->at, NULL);
	free(u);
}

static struct omr_dir_user *omr_dir_users_slot(const struct omr_dir_users *u, const char *id)
{
	uintptr_t at = u ? (uintptr_t)omr_map_gets(u->at, id) : 0;
	return at ? &u->v[at - 1] : NULL;
}

/* the last entry fills e's place */
static void omr_dir_users_drop(struct omr_dir_users *u, struct omr_dir_user *e)
{
	size_t i = (size_t)(e - u->v);
	u->gen++;
	omr_map_dels(u->at, e->conf->id);
	omr_dir_user_clear(e);
	*e = u->v[--u->n];
	if (i < u->n)
		omr_map_puts(u->at, e->conf->id, (void *)(uintptr_t)(i + 1));
}

const struct omr_agent_conf *omr_dir_users_put(const struct omr_agents_conf *a, const char *id,
					       const char *name, char *const *groups)
{
	struct omr_dir_users *u = a->users;
	struct omr_agent_conf *conf;
	struct omr_dir_user *e;

	if (!u)
		return NULL;
	conf = omr_dir_profile(a, id, name, groups);
	e = omr_dir_users_slot(u, id);
	if (!conf) {
		if (e)
			omr_dir_users_drop(u, e);
		return NULL;
	}
	if (!e) {
		u->v = omr_realloc(u->v, (u->n + 1) * sizeof(*u->v));
		e = &u->v[u->n++];
		memset(e, 0, sizeof(*e));
		omr_map_puts(u->at, conf->id, (void *)(uintptr_t)u->n);
	}
	omr_dir_user_clear(e);
	e->conf = conf;
	e->groups = omr_strv_dup(groups);
	u->gen++;
	return conf;
}

unsigned long omr_dir_users_gen(const struct omr_dir_users *u)
{
	return u ? u->gen : 0;
}

void omr_dir_users_refresh(const struct omr_agents_conf *a)
{
	struct omr_dir_users *u = a->users;
	if (u)
		u->gen++;
	for (size_t i = 0; u && i < u->n;) {
		struct omr_dir_user *e = &u->v[i];
		int listed = 0;
		if (a->by_id)
			listed = omr_map_gets(a->by_id, e->conf->id) != NULL;
		else
			for (size_t k = 0; k < a->nagents; k++)
				listed |= strcmp(a->agents[k].id, e->conf->id) == 0;
		struct omr_agent_conf *conf =
			listed || !a->directory || omr_agents_disabled(a, e->conf->id) ?
				NULL : omr_dir_profile(a, e->conf->id, e->conf->name, e->groups);
		if (!conf) {
			omr_dir_users_drop(u, e);
			continue;
		}
		omr_agent_free(e->conf);
		free(e->conf);
		e->conf = conf;
		i++;
	}
}

const struct omr_agent_conf *omr_dir_users_find(const struct omr_dir_users *u, const char *id)
{
	struct omr_dir_user *e = omr_dir_users_slot(u, id);
	return e ? e->conf : NULL;
}

size_t omr_dir_users_count(const struct omr_dir_users *u)
{
	return u ? u->n : 0;
}

const struct omr_agent_conf *omr_dir_users_at(const struct omr_dir_users *u, size_t i)
{
	return u && i < u->n ? u->v[i].conf : NULL;
}
