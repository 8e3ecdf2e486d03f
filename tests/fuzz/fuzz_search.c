/* Fuzz harness: the search's query parser and word cutter (omr_search.c),
 * as the console and the admin API hand them any bytes. Whatever comes in:
 * a query is refused with a printable reason, or every part is set and
 * holds only what the index can hold (terms of letters, digits and whole
 * UTF-8 characters, at most OMR_SEARCH_TERM_MAX bytes, distinct; phone
 * digits; a lower-case address); the same for a message's terms. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "omr_search.h"
#include "omr_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* space separated terms: valid, short, distinct, at most max */
static void omr_fuzz_terms(const char *t, size_t max)
{
	size_t n = 0;
	if (!t || !omr_utf8_valid(t, strlen(t)))
		abort();
	for (const char *p = t; *p;) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == 0 || l > OMR_SEARCH_TERM_MAX)
			abort();
		for (size_t i = 0; i < l; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
				abort();
		}
		/* distinct: the same term is not found again after it */
		for (const char *q = e ? e + 1 : p + l; *q;) {
			const char *f = strchr(q, ' ');
			size_t m = f ? (size_t)(f - q) : strlen(q);
			if (m == l && memcmp(p, q, l) == 0)
				abort();
			q += m + (f ? 1 : 0);
		}
		n++;
		p += l + (e ? 1 : 0);
	}
	if (n > max)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct omr_search_query q;
	char *err = NULL;
	const char *s = (const char *)data;

	if (omr_search_parse(s, size, &q, &err) == 0) {
		if (!q.id || !q.addr || !q.phone || !q.names || !q.words)
			abort();
		omr_fuzz_terms(q.names, OMR_SEARCH_QUERY_TERMS);
		omr_fuzz_terms(q.words, OMR_SEARCH_QUERY_TERMS);
		if (strlen(q.phone) && strlen(q.phone) < OMR_SEARCH_PHONE_MIN)
			abort();
		for (const char *p = q.phone; *p; p++)
			if (*p < '0' || *p > '9')
				abort();
		for (const char *p = q.addr; *p; p++)
			if ((*p >= 'A' && *p <= 'Z') || *p == ' ')
				abort();
		omr_search_query_free(&q);
	} else {
		if (!err)
			abort();
		for (const char *p = err; *p; p++)
			if (*p < 0x20 || *p >= 0x7f)
				abort();
		free(err);
	}
	for (int stop = 0; stop <= 1; stop++) {
		char *t = omr_search_terms(s, size, stop, OMR_SEARCH_TERMS_MAX);
		omr_fuzz_terms(t, OMR_SEARCH_TERMS_MAX);
		free(t);
	}
	return 0;
}
