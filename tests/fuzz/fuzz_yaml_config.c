/* Fuzz harness: YAML parsing and the configuration schema (the code behind
 * `omniroute -t` and every reload). */
#include <stdint.h>
#include <stdlib.h>

#include "omr_agents_conf.h"
#include "omr_conf.h"
#include "omr_ldap.h"
#include "omr_config.h"
#include "omr_routing_conf.h"
#include "omr_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A directory: the filters it would send, and a user of every group it
 * maps, described, registered and described again (a reload). */
static void omr_fuzz_directory(struct omr_agents_conf *a)
{
	char **groups = omr_calloc(a->ngroups + 1, sizeof(*groups));
	for (size_t i = 0; i < a->ngroups; i++)
		groups[i] = a->groups[i].dn;
	free(omr_ldap_filter(a->directory->filter, "u*)(\\", NULL));
	free(omr_ldap_filter(a->directory->group_filter, "u*)(\\", "uid=u\\2a,dc=x"));
	a->users = omr_dir_users_new();
	omr_dir_users_put(a, "fuzz", "Fuzz", groups);
	omr_dir_users_refresh(a);
	(void)omr_agents_find(a, "fuzz");
	omr_dir_users_free(a->users);
	a->users = NULL;
	free(groups);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL;
	struct omr_ydoc *doc = omr_yaml_load_string("fuzz.yaml", (const char *)data, size, &err);
	free(err);
	if (!doc)
		return 0;
	if (doc->root) {
		struct omr_conf_errs errs;
		struct omr_config cfg = { 0 };
		static const char *const handled[] = { "plugins", NULL };
		omr_conf_errs_init(&errs);
		omr_conf_apply(omr_config_keys, doc->root, &cfg, handled, &errs);
		omr_conf_release(omr_config_keys, &cfg);
		/* the same bytes as a routing file and as an agents file */
		struct omr_routing_conf *r = omr_routing_conf_load(doc, &errs);
		struct omr_agents_conf *a = omr_agents_conf_load(doc, r, &errs);
		if (a && a->directory)
			omr_fuzz_directory(a);
		omr_agents_conf_free(a);
		omr_routing_conf_free(r);
		json_decref(omr_ynode_to_json(doc->root));
		omr_conf_errs_free(&errs);
	}
	omr_yaml_free(doc);
	return 0;
}
