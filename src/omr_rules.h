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

#include <jansson.h>

struct omr_rules;

struct omr_rules *omr_rules_new(void);
void omr_rules_free(struct omr_rules *r);
/* Compile an expression; returns its index (>= 0) or -1 with *err_r set
 * to the Lua message without the chunk name. */
int omr_rules_compile(struct omr_rules *r, const char *name, const char *expr, char **err_r);
/* Evaluate expression `idx` with the fields of `facts` (a JSON object:
 * strings, numbers, booleans, nested objects become Lua values). Returns 1
 * (truthy), 0 (falsy) or -1 on a runtime error (*err_r set). */
int omr_rules_eval(struct omr_rules *r, int idx, const json_t *facts, char **err_r);

#endif
