/*
 * omr_search: the words of the search index (docs/search.md). Pure
 * functions on buffers, no I/O, so that the same code cuts a stored
 * message into index terms (omr_store_ingest, replies) and a query into
 * what to look up, and a fuzzer can drive both (tests/fuzz/fuzz_search.c).
 *
 * A term is lower case, accents folded (é -> e, ß -> ss, ø -> o), at most
 * OMR_SEARCH_TERM_MAX bytes (longer words are cut there, in the index and
 * in a query alike), letters and digits only; other scripts than Latin
 * are kept as they are (not case folded). Words: at least 2 bytes, Dutch
 * and English stop words dropped. Names: every token, stop words kept
 * ("de" in "de Boer").
 *
 * Addresses are ASCII (omr_inbound_normalise): lower case; a phone number
 * (only digits and + ( ) - . / and spaces, at least 6 digits) is its
 * digits without leading zeros, reversed, so that "06 1234 5678" finds
 * "31612345678" (a prefix of the reversed digits). src/lua/search.lib
 * normalises stored addresses by the same rule.
 */
#ifndef OMR_SEARCH_H
#define OMR_SEARCH_H

#include <stddef.h>

#define OMR_SEARCH_TERM_MAX 32    /* bytes of one term */
#define OMR_SEARCH_TERMS_MAX 64   /* distinct terms indexed per message */
#define OMR_SEARCH_NAME_TERMS 8   /* terms of a customer's name indexed */
#define OMR_SEARCH_QUERY_MAX 256  /* bytes of a query */
#define OMR_SEARCH_QUERY_TERMS 8  /* terms of a query looked up */
#define OMR_SEARCH_PHONE_MIN 6    /* digits of a phone number, at least */

/* The distinct terms of text (len bytes, UTF-8; bytes that are not valid
 * UTF-8 separate words), space separated, in order of first appearance,
 * at most max; stop: drop stop words and one-byte terms (words), else
 * keep them (names). Returns a malloc'ed string, "" for none (owned by
 * the caller). */
char *omr_search_terms(const char *text, size_t len, int stop, size_t max);

/* What a query asks for. Every string is owned, "" when not asked. */
struct omr_search_query {
	char *id;     /* a conversation (c_…) or customer (u_…) id */
	char *addr;   /* an address (or its beginning), lower case */
	char *phone;  /* digits of a phone number, reversed */
	char *names;  /* name prefixes, space separated (each at least 2 bytes) */
	char *words;  /* words, space separated: all of them in one conversation */
};

/* Parse a query typed into the search box: NUL, invalid UTF-8, empty
 * (only spaces) or longer than OMR_SEARCH_QUERY_MAX is refused with a
 * reason (-1, *err_r malloc'ed); otherwise 0 and *out filled (free it
 * with omr_search_query_free). A query that asks for nothing searchable
 * ("*?[") is not an error: it finds nothing. */
int omr_search_parse(const char *q, size_t len, struct omr_search_query *out, char **err_r);
void omr_search_query_free(struct omr_search_query *q);

#endif
