/* Fuzz harness: what `omniroute --simulate` reads back from Redis. The
 * input is lines: the first a --from/--to date, then field and value lines
 * in turn (a conversation's hash, as HGETALL gives it; the same lines are
 * also read as the customer's hash and as an agents:history entry). A
 * conversation that parses is replayed with an agent's presence under a
 * routing file with rules, escalation and an overflow: any bytes answer a
 * parsed conversation or a clear error, without crashing or leaking. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_agents_conf.h"
#include "omr_conf.h"
#include "omr_routing_conf.h"
#include "omr_sim_int.h"
#include "omr_util.h"
#include "omr_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char routing[] =
	"skills: [billing, general]\n"
	"default_queue: general\n"
	"queues:\n"
	"  - name: general\n"
	"    sla: { target: 80, within: 20s }\n"
	"    escalation:\n"
	"      - { after: 30s, overflow: billing }\n"
	"  - name: billing\n"
	"    skills: { billing: 2 }\n"
	"    strategy: best_proficiency\n"
	"rules:\n"
	"  - name: billing\n"
	"    when: 'text:lower():find(\"invoice\") or customer.balance < 0'\n"
	"    queue: billing\n"
	"    priority: 70\n";

static const char agents[] =
	"agents:\n"
	"  - id: anna\n"
	"    token: \"$sha256$421b7d43a4577bbd5e0e08a4cb5a8bfebadc955f8b1d130187a2dc2eddb7e3f5\"\n"
	"    skills: { billing: 3, general: 3 }\n"
	"    capacity: { webchat: 2, email: 3 }\n";

static void *load(const char *name, const char *text, size_t len,
		  const struct omr_routing_conf *rc, struct omr_ydoc **doc_r)
{
	struct omr_conf_errs errs;
	char *err = NULL;
	struct omr_ydoc *doc = omr_yaml_load_string(name, text, len, &err);
	void *out = NULL;
	omr_conf_errs_init(&errs);
	if (doc)
		out = rc ? (void *)omr_agents_conf_load(doc, rc, &errs)
			 : (void *)omr_routing_conf_load(doc, &errs);
	if (!out || errs.count) {
		fprintf(stderr, "%s: %s %s\n", name, err ? err : "",
			errs.text.data ? errs.text.data : "");
		abort();
	}
	omr_conf_errs_free(&errs);
	free(err);
	*doc_r = doc;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct omr_routing_conf *rc;
	static struct omr_agents_conf *dir;
	char *text = omr_strndup((const char *)data, size), *save = NULL, *line;
	const char *kv[64];
	size_t n = 0, lens[64];
	long long when;
	char *err = NULL;

	if (!rc) {
		struct omr_ydoc *rdoc, *adoc;
		rc = load("routing.yaml", routing, sizeof(routing) - 1, NULL, &rdoc);
		dir = load("agents.yaml", agents, sizeof(agents) - 1, rc, &adoc);
		omr_yaml_free(adoc); /* as fuzz_explain: the loaded ones stand alone */
		omr_yaml_free(rdoc);
	}
	line = strtok_r(text, "\n", &save);
	if (line) {
		omr_sim_parse_when(line, 0, &when);
		omr_sim_parse_when(line, 1, &when);
	}
	while ((line = strtok_r(NULL, "\n", &save)) && n < 64) {
		lens[n] = strlen(line);
		kv[n++] = line;
	}
	struct omr_sim_change ch;
	if (omr_sim_change_parse(kv, n, dir, &ch, &err) < 0)
		free(err);
	err = NULL;
	struct omr_sim_conv c;
	if (omr_sim_conv_parse(kv, lens, n, &c, &err) == 0) {
		struct omr_sim_change on = { .at = 0, .agent = 0, .presence = OMR_SIM_AVAILABLE };
		struct omr_sim_data d = { .convs = &c, .nconvs = 1, .changes = &on, .nchanges = 1,
					  .from = 0, .to = c.created_at + 1 };
		struct omr_sim_result r;
		omr_sim_conv_set_text(&c, kv[n - 1]);
		omr_sim_conv_set_customer(&c, kv, n);
		if (omr_sim_run(&d, rc, dir, &r, &err) == 0)
			omr_sim_result_release(&r);
		omr_sim_recorded(&d, rc, &r);
		omr_sim_result_release(&r);
		omr_sim_conv_release(&c);
	}
	free(err);
	free(text);
	return 0;
}
