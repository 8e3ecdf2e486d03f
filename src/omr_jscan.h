/*
 * omr_jscan: a quick reading of JSON text for the few members a hot path
 * needs, without building it: the members of one object, of which some are
 * wanted, as spans into the text.
 *
 * It knows less than a parser: numbers and literals are runs of their
 * characters, strings are not checked (escapes are skipped, not decoded,
 * UTF-8 is not looked at). It refuses, so that the caller falls back on
 * jansson, what it does not take for plain: a key with an escape, nesting
 * deeper than OMR_JSCAN_DEPTH, anything but one object. On text jansson
 * reads, a member it finds decodes (omr_jscan_value) to what jansson makes
 * of it. Users: the customer panel (omr_panel.c), the benchmark's load
 * generator (bench/route/loadgen.c). No allocation but omr_jscan_value's.
 */
#ifndef OMR_JSCAN_H
#define OMR_JSCAN_H

#include <stddef.h>

#include <jansson.h>

#define OMR_JSCAN_DEPTH 32

struct omr_jscan_span {
	const char *p; /* NULL: absent */
	size_t n;
};

/* p past JSON white space, up to end */
const char *omr_jscan_ws(const char *p, const char *end);

/* past the value that starts at p, or NULL when it is none */
const char *omr_jscan_value_end(const char *p, const char *end);

/*
 * The members named in keys (NULL-ended) of the object that is all of
 * [p, end): their values' spans into out[i] (the last of a name given twice;
 * out is left as it was for a name absent). 1 when read; 0 when it is not
 * one object this reading takes for plain (out may be partly set).
 */
int omr_jscan_members(const char *p, const char *end, const char *const *keys,
		      struct omr_jscan_span *out);

/* a member's value (NULL: absent) as jansson makes it, new reference; a
 * string without escapes is made directly; *bad set when it cannot be */
json_t *omr_jscan_value(struct omr_jscan_span v, int *bad);

/* The members named in keys of the object [p, end), decoded: out[i] a new
 * reference, NULL for a name absent. 1 when read and every value decoded;
 * 0 otherwise, every out[i] NULL (then decode the text with jansson). */
int omr_jscan_get(const char *p, const char *end, const char *const *keys, json_t **out);

#endif
