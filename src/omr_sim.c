/*
 * omr_sim: see omr_sim.h. Checks the arguments, loads the proposed routing
 * file as the daemon loads its own (every error with file and line), reads
 * the recording (omr_sim_load), replays it twice (omr_sim_run) and prints
 * (omr_sim_report).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_conf.h"
#include "omr_config.h"
#include "omr_routing_conf.h"
#include "omr_sim.h"
#include "omr_sim_int.h"
#include "omr_util.h"
#include "omr_yaml.h"

#define OMR_SIM_MAX_WINDOW (400LL * 86400000) /* as long as the recording is kept */

static int omr_sim_window(const struct omr_sim_opts *o, long long *from_r, long long *to_r,
			  FILE *err)
{
	if (!o->from || omr_sim_parse_when(o->from, 0, from_r) < 0) {
		fprintf(err, "omniroute: --simulate: --from: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]Z "
			     "(UTC) or ms since the epoch\n");
		return -1;
	}
	if (!o->to || omr_sim_parse_when(o->to, 1, to_r) < 0) {
		fprintf(err, "omniroute: --simulate: --to: YYYY-MM-DD (the end of that day), "
			     "YYYY-MM-DDTHH:MM[:SS]Z (UTC) or ms since the epoch\n");
		return -1;
	}
	if (*to_r <= *from_r || *to_r - *from_r > OMR_SIM_MAX_WINDOW) {
		fprintf(err, "omniroute: --simulate: --to must come after --from, at most 400 "
			     "days later\n");
		return -1;
	}
	return 0;
}

/* the proposed routing file, or NULL with its errors printed */
static struct omr_routing_conf *omr_sim_proposed(const char *path, struct omr_ydoc **doc_r,
						 FILE *err)
{
	struct omr_conf_errs errs;
	struct omr_routing_conf *rc = NULL;
	char *why = NULL;

	*doc_r = omr_yaml_load_file(path, &why);
	if (!*doc_r) {
		fprintf(err, "omniroute: --simulate: %s\n", why ? why : path);
		free(why);
		return NULL;
	}
	omr_conf_errs_init(&errs);
	rc = omr_routing_conf_load(*doc_r, &errs);
	if (errs.count || !rc) {
		fputs(errs.text.data ? errs.text.data : "", err);
		fprintf(err, "omniroute: --simulate: routing file %s has %d error(s)\n", path,
			errs.count);
		if (rc)
			omr_routing_conf_free(rc);
		rc = NULL;
	}
	omr_conf_errs_free(&errs);
	return rc;
}

int omr_simulate(const struct omr_config *cfg, const struct omr_sim_opts *o, FILE *out, FILE *err)
{
	struct omr_sim_data d;
	struct omr_sim_result rec, cur, prop;
	struct omr_ydoc *doc = NULL;
	struct omr_routing_conf *rc;
	long long from, to;
	char *why = NULL;
	int ret = 1;

	if (omr_sim_window(o, &from, &to, err) < 0)
		return 2;
	rc = omr_sim_proposed(o->proposed, &doc, err);
	if (!rc) {
		omr_yaml_free(doc);
		return 2;
	}
	if (omr_sim_load(cfg, from, to, &d, &why) < 0) {
		fprintf(err, "omniroute: --simulate: %s\n", why);
		free(why);
		omr_sim_data_release(&d);
		omr_routing_conf_free(rc);
		omr_yaml_free(doc);
		return 1;
	}
	omr_sim_recorded(&d, cfg->routing, &rec);
	if (omr_sim_run(&d, cfg->routing, cfg->agents, &cur, &why) == 0 &&
	    omr_sim_run(&d, rc, cfg->agents, &prop, &why) == 0) {
		ret = omr_sim_report(&d, cfg->routing, rc, &rec, &cur, &prop, o->json, out) < 0;
		omr_sim_result_release(&prop);
	} else {
		fprintf(err, "omniroute: --simulate: %s\n", why ? why : "failed");
		free(why);
	}
	omr_sim_result_release(&cur);
	omr_sim_result_release(&rec);
	omr_sim_data_release(&d);
	omr_routing_conf_free(rc);
	omr_yaml_free(doc);
	return ret;
}
