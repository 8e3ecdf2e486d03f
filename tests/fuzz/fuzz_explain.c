/* Fuzz harness: the input of `omniroute --explain` (a hypothetical
 * conversation as JSON, its time, its customer) against a routing file
 * with rules, a value matrix and a calendar: any bytes answer a decision
 * or a clear error, without crashing or leaking. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_conf.h"
#include "omr_config.h"
#include "omr_explain.h"
#include "omr_routing_conf.h"
#include "omr_util.h"
#include "omr_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char routing[] =
	"skills: [billing, general]\n"
	"default_queue: general\n"
	"calendars:\n"
	"  - name: office\n"
	"    timezone: Europe/Amsterdam\n"
	"    hours: { mon-fri: \"08:00-18:00\" }\n"
	"    holidays: [2026-12-25]\n"
	"queues:\n"
	"  - name: general\n"
	"  - name: billing\n"
	"    skills: { billing: 2 }\n"
	"    calendar: office\n"
	"rules:\n"
	"  - name: order\n"
	"    when: 'text:lower():find(\"order\")'\n"
	"    value: { customer: low, organisation: low }\n"
	"  - name: billing\n"
	"    when: 'text:lower():find(\"invoice\") or customer.balance < 0'\n"
	"    queue: billing\n"
	"    priority: 70\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct omr_routing_conf *rc;
	static FILE *sink;
	struct omr_config cfg = { 0 };
	char *input;

	if (!rc) {
		struct omr_conf_errs errs;
		char *err = NULL;
		struct omr_ydoc *doc = omr_yaml_load_string("routing.yaml", routing,
							    sizeof(routing) - 1, &err);
		omr_conf_errs_init(&errs);
		rc = doc ? omr_routing_conf_load(doc, &errs) : NULL;
		omr_conf_errs_free(&errs);
		omr_yaml_free(doc);
		free(err);
		sink = fopen("/dev/null", "w");
		if (!rc || !sink)
			abort();
	}
	input = omr_strndup((const char *)data, size);
	/* "-" would read stdin: not an input of this harness */
	if (strlen(input) == size && strcmp(input, "-") != 0) {
		cfg.routing = rc;
		omr_explain(&cfg, input, sink, sink);
	}
	free(input);
	return 0;
}
