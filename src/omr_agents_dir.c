/*
 * omr_agents_dir: who a user the directory accepted logs in as
 * (omr_agents_int.h). Local users come first: a name with a password in
 * agents.yaml is never sent to the directory (omr_agents_auth.c), and a
 * directory user whose id is a local user's is refused. An entry of the
 * file without password or token is a directory user described by the
 * file (roles included); anyone else is described by their groups
 * (omr_dir_users_put) and known on this node from then on.
 */
#include "config.h"

#include <stddef.h>

#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_config.h"
#include "omr_ldap.h"

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
	return ac;
}
