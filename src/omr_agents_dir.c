/*
 * omr_agents_dir: who a user the directory accepted logs in as
 * (omr_agents_int.h). Local users come first: a name with a password in
 * agents.yaml is never sent to the directory (omr_agents_auth.c), and a
 * directory user whose id is a local user's is refused. An entry of the
 * file without password or token is a directory user described by the
 * file (roles included); anyone else is described by their groups
 * (omr_dir_users_put). Such a user is shared with the other nodes: Redis
 * keeps their name and groups (dir_users.lua) for nodes that start later
 * and for a console session resumed on another node, and the bus tells
 * the nodes running now, so that every node routes to them.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "omr_agents.h"
#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_bus.h"
#include "omr_config.h"
#include "omr_ldap.h"
#include "omr_log.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_DIR_GROUPS_MAX 256    /* groups of a shared entry taken at most */
#define OMR_DIR_NAME_MAX 256      /* bytes of a name, of a group's DN */

static void omr_dir_share(struct omr_agents *a, const char *id, const char *name,
			  char *const *groups);

static int omr_agents_dir_listed(const struct omr_agents_conf *dir,
				 const struct omr_agent_conf *ac)
{
	return ac && ac >= dir->agents && ac < dir->agents + dir->nagents;
}

const struct omr_agent_conf *omr_agents_dir_user(struct omr_agents *a, const char *typed,
						 const struct omr_ldap_result *r,
						 const char **why_r)
{
	const struct omr_agents_conf *dir = omr_env_cfg(&a->env)->agents;
	const char *id = r->id ? r->id : typed;
	const struct omr_agent_conf *ac;

	if (r->status != OMR_LDAP_OK) {
		*why_r = r->error ? r->error : "refused by the directory";
		return NULL;
	}
	if (!dir->directory) {
		*why_r = "the directory was removed from the configuration meanwhile";
		return NULL;
	}
	if (!omr_agents_id_ok(id)) {
		*why_r = "the directory's id is not letters, digits, _ - . @ (64 at most)";
		return NULL;
	}
	if (omr_agents_disabled(dir, id)) {
		*why_r = "the account is disabled in agents.yaml (enabled: false)";
		return NULL;
	}
	ac = omr_agents_find(dir, id);
	if (omr_agents_dir_listed(dir, ac)) {
		if (omr_agent_from_directory(ac))
			return ac;
		*why_r = "a local user has that id (local users come first)";
		return NULL;
	}
	ac = omr_dir_users_put(dir, id, r->name, r->groups);
	if (!ac)
		*why_r = "none of the user's groups is mapped to a role (directory: groups:)";
	else
		omr_dir_share(a, id, r->name, r->groups);
	return ac;
}

/* ---- shared with the other nodes ---- */

static void omr_dir_stored(void *arg, const redisReply *reply, const char *err)
{
	(void)arg;
	(void)reply;
	if (err)
		omr_log_warn("a directory user was not shared with the other nodes: %s", err);
}

static void omr_dir_share(struct omr_agents *a, const char *id, const char *name,
			  char *const *groups)
{
	json_t *g = json_array();
	for (size_t i = 0; groups && groups[i]; i++)
		json_array_append_new(g, json_string(groups[i]));
	json_t *e = json_pack("{s:s,s:o}", "name", name ? name : "", "groups", g);
	char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
	if (text) {
		struct omr_lua_dir_users_args args = { .action = "put", .id = id, .entry = text };
		omr_lua_dir_users(a->env.store, &args, omr_dir_stored, NULL);
	}
	if (e && omr_bus_needed(a->bus)) {
		json_t *m = json_pack("{s:s,s:s,s:O}", "t", "diruser", "a", id, "e", e);
		omr_bus_publish(a->bus, m);
		json_decref(m);
	}
	free(text);
	json_decref(e);
}

/* The groups of an entry: NULL-terminated (free with omr_strv_free), NULL
 * when the entry is not {"name": string, "groups": [string, ...]} within
 * bounds. */
static char **omr_dir_entry_groups(const json_t *e)
{
	const json_t *g = json_object_get(e, "groups");
	const char *name = json_string_value(json_object_get(e, "name"));
	size_t n = json_array_size(g), i;
	if (!name || strlen(name) > OMR_DIR_NAME_MAX || !json_is_array(g) || n > OMR_DIR_GROUPS_MAX)
		return NULL;
	char **v = omr_calloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(g, i));
		if (!s || strlen(s) > OMR_DIR_NAME_MAX) {
			omr_strv_free(v);
			return NULL;
		}
		v[i] = omr_strdup(s);
	}
	return v;
}

const struct omr_agent_conf *omr_agents_dir_learn(struct omr_agents *a, const char *id,
						  const json_t *e)
{
	const struct omr_agents_conf *dir = omr_env_cfg(&a->env)->agents;
	const struct omr_agent_conf *ac;
	char **groups;
	if (!dir->directory || !id || !omr_agents_id_ok(id) || omr_agents_disabled(dir, id))
		return NULL;
	ac = omr_agents_find(dir, id);
	if (omr_agents_dir_listed(dir, ac))
		return omr_agent_from_directory(ac) ? ac : NULL;
	groups = omr_dir_entry_groups(e);
	if (!groups)
		return NULL;
	ac = omr_dir_users_put(dir, id, json_string_value(json_object_get(e, "name")), groups);
	omr_strv_free(groups);
	return ac;
}

void omr_agents_dir_bus(struct omr_agents *a, const json_t *msg)
{
	if (!a->stopping)
		omr_agents_dir_learn(a, json_string_value(json_object_get(msg, "a")),
				     json_object_get(msg, "e"));
}

/* the entries Redis keeps: known on this node from its start */
static void omr_dir_loaded(void *arg, const redisReply *reply, const char *err)
{
	struct omr_agents *a = arg;
	struct omr_lua_dir_users_reply r;
	size_t n = 0;
	if (err || omr_lua_dir_users_reply(reply, &r) < 2 || !r.users ||
	    r.users->type != REDIS_REPLY_ARRAY) {
		omr_log_warn("the directory users were not read (%s): each is known here once "
			     "they log in", err ? err : "bad reply");
		return;
	}
	for (size_t i = 0; a->running && i + 1 < r.users->elements; i += 2) {
		const char *id = omr_reply_str(r.users->element[i]);
		const char *text = omr_reply_str(r.users->element[i + 1]);
		json_t *e = text ? json_loads(text, 0, NULL) : NULL;
		n += omr_agents_dir_learn(a, id, e) != NULL;
		json_decref(e);
	}
	if (n)
		omr_log_info("%zu directory user(s) known from Redis", n);
}

void omr_agents_dir_start(struct omr_agents *a)
{
	if (!omr_env_cfg(&a->env)->agents->directory)
		return;
	struct omr_lua_dir_users_args args = { .action = "all", .id = "", .entry = "" };
	omr_lua_dir_users(a->env.store, &args, omr_dir_loaded, a);
}
