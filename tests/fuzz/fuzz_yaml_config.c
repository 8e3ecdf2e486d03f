/* Fuzz harness: YAML parsing and the configuration schema (the code behind
 * `omniroute -t` and every reload). */
#include <stdint.h>
#include <stdlib.h>

#include "omr_agents_conf.h"
#include "omr_conf.h"
#include "omr_config.h"
#include "omr_routing_conf.h"
#include "omr_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
		omr_agents_conf_free(a);
		omr_routing_conf_free(r);
		json_decref(omr_ynode_to_json(doc->root));
		omr_conf_errs_free(&errs);
	}
	omr_yaml_free(doc);
	return 0;
}
