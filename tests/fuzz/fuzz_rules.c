/* Fuzz harness: routing rule conditions (Lua in the sandbox): any text an
 * admin (or an attacker who got at routing.yaml) writes must compile or be
 * refused, and evaluate or fail, without crashing, stalling or leaking. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "omr_rules.h"
#include "omr_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct omr_rules *r = omr_rules_new();
	char *expr = omr_strndup((const char *)data, size);
	char *err = NULL;
	json_t *facts = json_pack("{s:s,s:s,s:{s:s},s:i}", "text", "Hallo factuur", "channel",
				  "webchat", "attrs", "intent", "x", "n", 3);
	if (strlen(expr) == size) {
		int idx = omr_rules_compile(r, "fuzz", expr, &err);
		free(err);
		err = NULL;
		if (idx >= 0)
			omr_rules_eval(r, idx, facts, &err);
	}
	free(err);
	json_decref(facts);
	free(expr);
	omr_rules_free(r);
	return 0;
}
