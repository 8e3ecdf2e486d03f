/*
 * omr_explain: `omniroute -c FILE --explain JSON` (docs/routing.md, "Before
 * you deploy a change"): what the routing configuration decides for a
 * hypothetical conversation, with no Redis and nothing started.
 */
#ifndef OMR_EXPLAIN_H
#define OMR_EXPLAIN_H

#include <stdio.h>

struct omr_config;

/* input: the conversation as JSON ({"channel", "text", "language", "intent",
 * "subject", "public", "attrs", "customer": {...}, "at"}), or "-" to read
 * it from stdin. Prints the decision as JSON to out; 0, or 2 with a clear
 * error on err for bad input. */
int omr_explain(const struct omr_config *cfg, const char *input, FILE *out, FILE *err);

#endif
