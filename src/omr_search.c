/*
 * omr_search: terms for the search index and the parsing of a query
 * (omr_search.h). Owns nothing beyond what each call returns.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_model.h"
#include "omr_search.h"
#include "omr_util.h"

/* Stop words (Dutch and English), sorted for bsearch. */
static const char *const omr_search_stop[] = {
	"aan", "al", "als", "an", "and", "are", "as", "at", "be", "bij", "but", "by", "dan",
	"dat", "de", "der", "die", "dit", "door", "een", "en", "er", "for", "from", "had",
	"has", "have", "he", "her", "het", "hij", "his", "hoe", "ik", "in", "into", "is", "it",
	"its", "je", "jij", "kan", "maar", "me", "met", "mij", "mijn", "my", "na", "naar", "niet",
	"no", "nog", "not", "nu", "of", "om", "on", "ook", "op", "or", "our", "over", "she", "so",
	"te", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to",
	"tot", "uit", "van", "voor", "was", "wat", "we", "wel", "were", "what", "when", "which",
	"who", "wie", "wij", "will", "with", "you", "your", "zal", "ze", "zij", "zijn", "zo",
};

static int omr_search_cmp(const void *k, const void *e)
{
	return strcmp(k, *(const char *const *)e);
}

static int omr_search_is_stop(const char *w)
{
	return bsearch(w, omr_search_stop, OMR_ARRAY_LEN(omr_search_stop), sizeof(char *),
		       omr_search_cmp) != NULL;
}

/* U+00C0..U+00FF, then U+0100..U+017F, folded: one letter each; '.' is a
 * separator (× ÷), an upper case letter stands for two ('A' "ae", 'D'
 * "th" … see omr_search_fold). */
static const char omr_search_latin1[] =
	"aaaaaaAceeeeiiiidnooooo.ouuuuyTSaaaaaaAceeeeiiiidnooooo.ouuuuyTy";
static const char omr_search_exta[] =
	"aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiIIjjkkkllllllllllnnnnnnnnnooooooOOrrrrrrsssssssstttttt"
	"uuuuuuuuuuuuwwyyyzzzzzzs";

/* What a code point adds to a term, into out (at least 4 bytes): its
 * length, 0 for a separator. raw/rawlen: the character's own bytes. */
static size_t omr_search_fold(long cp, const unsigned char *raw, size_t rawlen, char *out)
{
	char f;
	if (cp < 0)
		return 0;
	if (cp < 0x80) {
		if (cp >= 'A' && cp <= 'Z')
			cp += 'a' - 'A';
		if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
			out[0] = (char)cp;
			return 1;
		}
		return 0;
	}
	if (cp < 0xc0 || (cp >= 0x2000 && cp < 0x2c00) || (cp >= 0x3000 && cp < 0x3040) ||
	    (cp >= 0xfe00 && cp < 0xfe10) || cp == 0xfeff || cp >= 0x1f000)
		return 0; /* punctuation, symbols, emoji */
	if (cp >= 0x180) {
		memcpy(out, raw, rawlen);
		return rawlen;
	}
	f = cp < 0x100 ? omr_search_latin1[cp - 0xc0] : omr_search_exta[cp - 0x100];
	switch (f) {
	case '.': return 0;
	case 'A': memcpy(out, "ae", 2); return 2;
	case 'T': memcpy(out, "th", 2); return 2;
	case 'S': memcpy(out, "ss", 2); return 2;
	case 'I': memcpy(out, "ij", 2); return 2;
	case 'O': memcpy(out, "oe", 2); return 2;
	default: out[0] = f; return 1;
	}
}

/* Append term (len bytes) to b unless it is there already, too short, a
 * stop word (stop) or b holds max terms; *n counts them. */
static void omr_search_add(struct omr_buf *b, const char *term, size_t len, int stop,
			   size_t max, size_t *n)
{
	char w[OMR_SEARCH_TERM_MAX + 1];
	if (len == 0 || *n >= max || (stop && len < 2))
		return;
	memcpy(w, term, len);
	w[len] = '\0';
	if (stop && omr_search_is_stop(w))
		return;
	for (const char *p = b->data; p && *p;) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == len && memcmp(p, w, len) == 0)
			return;
		p += l + (e ? 1 : 0);
	}
	if (b->len)
		omr_buf_puts(b, " ");
	omr_buf_append(b, w, len);
	(*n)++;
}

char *omr_search_terms(const char *text, size_t len, int stop, size_t max)
{
	const unsigned char *s = (const unsigned char *)text;
	struct omr_buf b;
	char term[OMR_SEARCH_TERM_MAX + 4];
	size_t tl = 0, n = 0, i = 0;
	int full = 0; /* the term is cut: the rest of the word is skipped */

	omr_buf_init(&b);
	while (i < len) {
		size_t cl;
		char f[8];
		long cp = omr_utf8_decode(text + i, len - i, &cl);
		size_t fl = omr_search_fold(cp, s + i, cl, f);
		i += cl;
		if (fl == 0) {
			omr_search_add(&b, term, tl, stop, max, &n);
			tl = 0;
			full = 0;
		} else if (!full && tl + fl <= OMR_SEARCH_TERM_MAX) {
			memcpy(term + tl, f, fl);
			tl += fl;
		} else {
			full = 1;
		}
	}
	omr_search_add(&b, term, tl, stop, max, &n);
	if (!b.data)
		return omr_strdup("");
	return omr_buf_steal(&b, NULL);
}

void omr_search_query_free(struct omr_search_query *q)
{
	free(q->id);
	free(q->addr);
	free(q->phone);
	free(q->names);
	free(q->words);
	memset(q, 0, sizeof(*q));
}

/* The reversed digits of a phone number, or NULL when t (len bytes) is
 * not one. */
static char *omr_search_phone(const char *t, size_t len)
{
	char d[OMR_SEARCH_QUERY_MAX + 1];
	size_t n = 0, k = 0;
	for (size_t i = 0; i < len; i++) {
		if (t[i] >= '0' && t[i] <= '9') {
			if (n == 0 && t[i] == '0')
				continue; /* leading zeros: 0031…, 06… */
			d[n++] = t[i];
		} else if (!strchr("+()-./ ", t[i])) {
			return NULL;
		}
	}
	if (n < OMR_SEARCH_PHONE_MIN)
		return NULL;
	char *r = omr_malloc(n + 1);
	for (k = 0; k < n; k++)
		r[k] = d[n - 1 - k];
	r[n] = '\0';
	return r;
}

/* Drop names' terms shorter than 2 bytes: a one-letter prefix matches
 * half the customers. */
static char *omr_search_prefixes(const char *t, size_t len)
{
	char *all = omr_search_terms(t, len, 0, OMR_SEARCH_QUERY_TERMS);
	struct omr_buf b;
	omr_buf_init(&b);
	for (char *p = all, *save = NULL, *w; (w = strtok_r(p, " ", &save)); p = NULL) {
		if (strlen(w) < 2)
			continue;
		if (b.len)
			omr_buf_puts(&b, " ");
		omr_buf_puts(&b, w);
	}
	free(all);
	return b.data ? omr_buf_steal(&b, NULL) : omr_strdup("");
}

int omr_search_parse(const char *q, size_t len, struct omr_search_query *out, char **err_r)
{
	memset(out, 0, sizeof(*out));
	if (len > OMR_SEARCH_QUERY_MAX)
		return omr_err(err_r, "the query is too long (at most %d bytes)",
			       OMR_SEARCH_QUERY_MAX);
	if (memchr(q, '\0', len))
		return omr_err(err_r, "the query holds a NUL byte");
	if (!omr_utf8_valid(q, len))
		return omr_err(err_r, "the query is not valid UTF-8");
	while (len && strchr(" \t\r\n", q[0])) {
		q++;
		len--;
	}
	while (len && strchr(" \t\r\n", q[len - 1]))
		len--;
	if (len == 0)
		return omr_err(err_r, "the query is empty");

	char *t = omr_strndup(q, len);
	int spaces = strpbrk(t, " \t\r\n") != NULL;
	if (omr_model_id_ok(t, "c_") || omr_model_id_ok(t, "u_")) {
		out->id = t;
		t = NULL;
	} else if ((out->phone = omr_search_phone(t, len)) == NULL && !spaces) {
		/* an address (e-mail, handle, visitor id), or its beginning */
		for (char *p = t; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		if (len >= 3)
			out->addr = omr_strdup(t);
	}
	if (!out->id && !out->phone && !strchr(t, '@')) {
		out->names = omr_search_prefixes(q, len);
		out->words = omr_search_terms(q, len, 1, OMR_SEARCH_QUERY_TERMS);
	}
	free(t);
	if (!out->id) out->id = omr_strdup("");
	if (!out->addr) out->addr = omr_strdup("");
	if (!out->phone) out->phone = omr_strdup("");
	if (!out->names) out->names = omr_strdup("");
	if (!out->words) out->words = omr_strdup("");
	return 0;
}
