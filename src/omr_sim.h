/*
 * omr_sim: `omniroute -c FILE --simulate NEW_ROUTING.yaml --from DATE --to
 * DATE [--json]` (docs/routing.md, "Before you deploy a change"): replays
 * the conversations recorded in Redis between two dates, read-only, on a
 * virtual clock, once with the configuration's routing file and once with
 * NEW_ROUTING.yaml, and prints both outcomes side by side. Deterministic:
 * the same keyspace and files give byte-identical output.
 */
#ifndef OMR_SIM_H
#define OMR_SIM_H

#include <stdio.h>

struct omr_config;

struct omr_sim_opts {
	const char *proposed; /* the new routing file */
	const char *from;     /* YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]Z or ms */
	const char *to;       /* the same; a day means its end */
	int json;             /* 1: one JSON object, else a table */
};

/* 0; 1 when Redis cannot be read; 2 with a clear error on err for bad
 * arguments or a proposed file that does not load. */
int omr_simulate(const struct omr_config *cfg, const struct omr_sim_opts *o, FILE *out, FILE *err);

#endif
