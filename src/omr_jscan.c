/*
 * omr_jscan: see omr_jscan.h. It needs nothing of config.h, and the load
 * generator (bench/route_bench.py builds it with bench/route/loadgen.c)
 * has none.
 */
#include <ctype.h>
#include <string.h>

#include "omr_jscan.h"

const char *omr_jscan_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* past the string that starts at p ('"'), or NULL */
static const char *omr_jscan_str_end(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

static const char *omr_jscan_val_end(const char *p, const char *end, int depth);

/* past the members or elements of the object or array whose opening is p */
static const char *omr_jscan_nest_end(const char *p, const char *end, int depth)
{
	char close = *p == '{' ? '}' : ']';
	if (depth >= OMR_JSCAN_DEPTH)
		return NULL;
	p = omr_jscan_ws(p + 1, end);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			if (p >= end || *p != '"' || !(p = omr_jscan_str_end(p, end)))
				return NULL;
			p = omr_jscan_ws(p, end);
			if (p >= end || *p != ':')
				return NULL;
			p = omr_jscan_ws(p + 1, end);
		}
		if (!(p = omr_jscan_val_end(p, end, depth + 1)))
			return NULL;
		p = omr_jscan_ws(p, end);
		if (p < end && *p == ',')
			p = omr_jscan_ws(p + 1, end);
		else
			return p < end && *p == close ? p + 1 : NULL;
	}
}

/* past the value at p, or NULL */
static const char *omr_jscan_val_end(const char *p, const char *end, int depth)
{
	const char *s = p;
	if (p >= end)
		return NULL;
	if (*p == '"')
		return omr_jscan_str_end(p, end);
	if (*p == '{' || *p == '[')
		return omr_jscan_nest_end(p, end, depth);
	while (p < end && (isalnum((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.'))
		p++;
	return p > s ? p : NULL;
}

int omr_jscan_members(const char *p, const char *end, const char *const *keys,
		      struct omr_jscan_span *out)
{
	p = omr_jscan_ws(p, end);
	if (p >= end || *p != '{')
		return 0;
	p = omr_jscan_ws(p + 1, end);
	if (p < end && *p == '}')
		return omr_jscan_ws(p + 1, end) == end;
	for (;;) {
		const char *k = p, *v;
		if (p >= end || *p != '"' || !(p = omr_jscan_str_end(p, end)) ||
		    memchr(k, '\\', (size_t)(p - k)))
			return 0;
		size_t klen = (size_t)(p - k) - 2;
		p = omr_jscan_ws(p, end);
		if (p >= end || *p != ':')
			return 0;
		v = omr_jscan_ws(p + 1, end);
		if (!(p = omr_jscan_val_end(v, end, 1)))
			return 0;
		for (size_t i = 0; keys[i]; i++)
			if (strlen(keys[i]) == klen && memcmp(keys[i], k + 1, klen) == 0)
				out[i] = (struct omr_jscan_span){ v, (size_t)(p - v) };
		p = omr_jscan_ws(p, end);
		if (p < end && *p == ',')
			p = omr_jscan_ws(p + 1, end);
		else
			return p < end && *p == '}' && omr_jscan_ws(p + 1, end) == end;
	}
}

json_t *omr_jscan_value(struct omr_jscan_span v, int *bad)
{
	json_t *j;
	if (!v.p)
		return NULL;
	if (v.n >= 2 && v.p[0] == '"' && !memchr(v.p, '\\', v.n))
		j = json_stringn(v.p + 1, v.n - 2);
	else
		j = json_loadb(v.p, v.n, JSON_DECODE_ANY, NULL);
	if (!j)
		*bad = 1;
	return j;
}

const char *omr_jscan_value_end(const char *p, const char *end)
{
	return omr_jscan_val_end(p, end, 0);
}

int omr_jscan_get(const char *p, const char *end, const char *const *keys, json_t **out)
{
	struct omr_jscan_span v[8];
	size_t n = 0;
	int bad = 0;

	while (keys[n])
		out[n++] = NULL;
	if (n > sizeof(v) / sizeof(*v))
		return 0;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct omr_jscan_span){ NULL, 0 };
	if (!omr_jscan_members(p, end, keys, v))
		return 0;
	for (size_t i = 0; i < n; i++)
		out[i] = omr_jscan_value(v[i], &bad);
	if (!bad)
		return 1;
	for (size_t i = 0; i < n; i++) {
		json_decref(out[i]);
		out[i] = NULL;
	}
	return 0;
}
