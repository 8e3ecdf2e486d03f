/*
 * buf: a growing, always NUL-terminated byte string, for the e-mail
 * plugin's parsers. Zero-initialise; the bytes are the holder's (free(s)).
 * Out of memory aborts, as omr_plugin_calloc does.
 */
#ifndef OMR_EMAIL_BUF_H
#define OMR_EMAIL_BUF_H

#include <stdlib.h>
#include <string.h>

struct em_buf {
	char *s;
	size_t len, cap;
};

/* Room for cap bytes in all (the NUL included), exactly: for a holder
 * that knows the most it will ever need. */
static inline void em_buf_reserve(struct em_buf *b, size_t cap)
{
	if (cap <= b->cap)
		return;
	char *p = realloc(b->s, cap);
	if (!p)
		abort();
	b->s = p;
	b->cap = cap;
}

static inline void em_buf_add(struct em_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->s, cap);
		if (!p)
			abort();
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

#endif
