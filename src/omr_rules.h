/*
 * omr_rules: routing rule conditions (`when:` in routing.yaml), Lua 5.4
 * expressions compiled once at load into a sandbox: no I/O, no os, no
 * require/load, a memory cap and an instruction budget per evaluation, so
 * that a mistaken or hostile expression cannot stall or crash the daemon.
 *
 * One struct omr_rules per routing configuration; main thread only.
 */
#ifndef OMR_RULES_H
#define OMR_RULES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct omr_rules;

struct omr_calendar;

struct omr_rules *omr_rules_new(void);
/* Calendars for open("name") in conditions (borrowed; they live with the
 * routing configuration that owns these rules). */
void omr_rules_set_calendars(struct omr_rules *r, const struct omr_calendar *cals, size_t n);
/* The clock conditions see (ms since the epoch); 0: the real clock. */
void omr_rules_set_clock(struct omr_rules *r, int64_t now_ms);
void omr_rules_free(struct omr_rules *r);
/* Compile an expression; returns its index (>= 0) or -1 with *err_r set
 * to the Lua message without the chunk name. */
int omr_rules_compile(struct omr_rules *r, const char *name, const char *expr, char **err_r);
/* Evaluate expression `idx` with the fields of `facts` (a JSON object:
 * strings, numbers, booleans, nested objects become Lua values). Returns 1
 * (truthy), 0 (falsy) or -1 on a runtime error (*err_r set). */
int omr_rules_eval(struct omr_rules *r, int idx, const json_t *facts, char **err_r);

#endif
