/*
 * omnictl_print: see omnictl.h. Every string that came from the daemon
 * goes through omnictl_clean() before it reaches the terminal: a
 * customer's name or message may carry escape sequences.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omnictl.h"

/* a table cell shows at most this many characters */
#define OMNICTL_CELL_MAX 48
/* and a table this many columns (a report's rows may have more fields) */
#define OMNICTL_COLS_MAX 24

int omnictl_oom(void)
{
	fputs("omnictl: out of memory\n", stderr);
	return OMNICTL_FAILED;
}

/* ---- growable string ---- */

int omnictl_str_add(struct omnictl_str *s, const char *data, size_t n)
{
	size_t need;
	if (s->failed)
		return -1;
	if (n > SIZE_MAX - s->len - 1) {
		s->failed = 1;
		return -1;
	}
	need = s->len + n + 1;
	if (need > s->cap) {
		size_t cap = s->cap ? s->cap : 64;
		char *p;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		p = realloc(s->p, cap);
		if (!p) {
			s->failed = 1;
			return -1;
		}
		s->p = p;
		s->cap = cap;
	}
	if (n)
		memcpy(s->p + s->len, data, n);
	s->len += n;
	s->p[s->len] = '\0';
	return 0;
}

int omnictl_str_addf(struct omnictl_str *s, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		s->failed = 1;
		return -1;
	}
	if ((size_t)n < sizeof(small))
		return omnictl_str_add(s, small, (size_t)n);
	char *big = malloc((size_t)n + 1);
	if (!big) {
		s->failed = 1;
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = omnictl_str_add(s, big, (size_t)n);
	free(big);
	return rc;
}

void omnictl_str_free(struct omnictl_str *s)
{
	free(s->p);
	memset(s, 0, sizeof(*s));
}

/* ---- text safe for a terminal ---- */

/* The code point at s (of at most n bytes) and its length; -1 for bytes
 * that are not UTF-8 (length 1). */
static long omnictl_utf8(const unsigned char *s, size_t n, size_t *len_r)
{
	long cp;
	size_t len;
	*len_r = 1;
	if (s[0] < 0x80)
		return s[0];
	if ((s[0] & 0xe0) == 0xc0) {
		cp = s[0] & 0x1f;
		len = 2;
	} else if ((s[0] & 0xf0) == 0xe0) {
		cp = s[0] & 0x0f;
		len = 3;
	} else if ((s[0] & 0xf8) == 0xf0) {
		cp = s[0] & 0x07;
		len = 4;
	} else {
		return -1;
	}
	if (len > n)
		return -1;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len_r = len;
	return cp;
}

/* What a terminal could be steered by: C0 and C1 controls, DEL, and the
 * bidirectional marks and overrides that reorder what follows. */
static int omnictl_unsafe(long cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int omnictl_clean(struct omnictl_str *dst, const char *s, size_t maxw, int multiline,
		  const char *indent)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), total = 0, limit, len;

	for (size_t i = 0; i < n; i += len) {
		omnictl_utf8(p + i, n - i, &len);
		total++;
	}
	limit = maxw && total > maxw ? (maxw > 3 ? maxw - 3 : 0) : total;
	for (size_t i = 0, chars = 0; i < n && chars < limit; i += len, chars++) {
		long cp = omnictl_utf8(p + i, n - i, &len);
		int rc;
		if (cp == '\n' && multiline)
			rc = (omnictl_str_add(dst, "\n", 1) < 0 ||
			      (indent && omnictl_str_add(dst, indent, strlen(indent)) < 0)) ? -1 : 0;
		else if (cp == '\r' && multiline)
			rc = 0; /* CRLF line ends */
		else if (cp == '\t' || cp == '\n')
			rc = omnictl_str_add(dst, " ", 1);
		else if (cp < 0 || omnictl_unsafe(cp))
			rc = omnictl_str_add(dst, "?", 1);
		else
			rc = omnictl_str_add(dst, s + i, len);
		if (rc < 0)
			return -1;
	}
	if (limit < total && omnictl_str_add(dst, "...", 3) < 0)
		return -1;
	return dst->failed ? -1 : 0;
}

void omnictl_put_clean(FILE *out, const char *s, int multiline, const char *indent)
{
	struct omnictl_str t = { 0 };
	if (omnictl_clean(&t, s, 0, multiline, indent) == 0)
		fputs(t.p ? t.p : "", out);
	else
		fputs("(not shown: out of memory)", out);
	omnictl_str_free(&t);
}

/* characters (code points) of clean UTF-8 */
static size_t omnictl_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* ---- values ---- */

const json_t *omnictl_get(const json_t *obj, const char *path)
{
	const char *dot;
	while (obj && (dot = strchr(path, '.'))) {
		char key[64];
		size_t n = (size_t)(dot - path);
		if (n >= sizeof(key) || !json_is_object(obj))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		obj = json_object_get(obj, key);
		path = dot + 1;
	}
	return json_is_object(obj) ? json_object_get(obj, path) : NULL;
}

static int omnictl_scalar(struct omnictl_str *s, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: /* "" as "-": an empty cell would shift the columns for awk */
		if (json_string_length(v) == 0)
			return omnictl_str_add(s, "-", 1);
		return omnictl_str_add(s, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return omnictl_str_addf(s, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		return omnictl_str_addf(s, "%g", json_real_value(v));
	case JSON_TRUE:
		return omnictl_str_add(s, "true", 4);
	case JSON_FALSE:
		return omnictl_str_add(s, "false", 5);
	case JSON_NULL:
		return omnictl_str_add(s, "-", 1);
	default: {
		char *j = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
		int rc = j ? omnictl_str_add(s, j, strlen(j)) : (s->failed = 1, -1);
		free(j);
		return rc;
	}
	}
}

static int omnictl_time(struct omnictl_str *s, const json_t *v)
{
	double ms = json_number_value(v);
	time_t t;
	struct tm tm;
	char buf[32];
	if (!json_is_number(v) || ms < 0 || ms > 253402300799000.0) /* year 9999 */
		return omnictl_scalar(s, v);
	t = (time_t)(ms / 1000);
	if (!localtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm))
		return omnictl_scalar(s, v);
	return omnictl_str_add(s, buf, strlen(buf));
}

static int omnictl_secs(struct omnictl_str *s, const json_t *v)
{
	double d = json_number_value(v);
	long long n;
	if (!json_is_number(v) || d < 0 || d > 1e12)
		return omnictl_scalar(s, v);
	n = (long long)d;
	if (n < 10 && d != (double)n)
		return omnictl_str_addf(s, "%.1fs", d); /* 0.4s, not 0s */
	if (n < 60)
		return omnictl_str_addf(s, "%llds", n);
	if (n < 3600)
		return omnictl_str_addf(s, "%lldm%02llds", n / 60, n % 60);
	if (n < 86400)
		return omnictl_str_addf(s, "%lldh%02lldm", n / 3600, n % 3600 / 60);
	return omnictl_str_addf(s, "%lldd%02lldh", n / 86400, n % 86400 / 3600);
}

int omnictl_value(struct omnictl_str *s, const json_t *v, enum omnictl_fmt fmt)
{
	if (!v || json_is_null(v))
		return omnictl_str_add(s, "-", 1);
	switch (fmt) {
	case OMNICTL_F_TIME:
		return omnictl_time(s, v);
	case OMNICTL_F_SECS:
		return omnictl_secs(s, v);
	case OMNICTL_F_BOOL:
		if (json_is_boolean(v))
			return omnictl_str_add(s, json_is_true(v) ? "yes" : "no",
					       json_is_true(v) ? 3 : 2);
		return omnictl_scalar(s, v);
	case OMNICTL_F_MAP:
		if (json_is_object(v)) {
			const char *k;
			const json_t *x;
			int first = 1;
			if (json_object_size(v) == 0)
				return omnictl_str_add(s, "-", 1);
			json_object_foreach((json_t *)v, k, x) {
				if ((!first && omnictl_str_add(s, " ", 1) < 0) ||
				    omnictl_str_addf(s, "%s:", k) < 0 || omnictl_scalar(s, x) < 0)
					return -1;
				first = 0;
			}
			return 0;
		}
		return omnictl_scalar(s, v);
	case OMNICTL_F_TEXT:
		if (json_is_array(v)) {
			size_t i;
			const json_t *x;
			json_array_foreach(v, i, x) {
				if (json_is_object(x) || json_is_array(x))
					break;
			}
			if (i < json_array_size(v))
				return omnictl_scalar(s, v); /* not all scalars: as JSON */
			if (json_array_size(v) == 0)
				return omnictl_str_add(s, "-", 1);
			json_array_foreach(v, i, x) {
				if ((i && omnictl_str_add(s, ", ", 2) < 0) || omnictl_scalar(s, x) < 0)
					return -1;
			}
			return 0;
		}
		return omnictl_scalar(s, v);
	}
	return omnictl_scalar(s, v);
}

/* A cleaned cell (owned), or NULL when out of memory. */
static char *omnictl_cell(const json_t *row, const struct omnictl_col *col, size_t maxw)
{
	struct omnictl_str raw = { 0 }, out = { 0 };
	if (omnictl_value(&raw, omnictl_get(row, col->key), col->fmt) < 0 ||
	    omnictl_clean(&out, raw.p ? raw.p : "", maxw, 0, NULL) < 0 ||
	    (!out.p && omnictl_str_add(&out, "", 0) < 0)) {
		omnictl_str_free(&raw);
		omnictl_str_free(&out);
		return NULL;
	}
	omnictl_str_free(&raw);
	return out.p;
}

static void omnictl_pad(FILE *out, size_t n)
{
	while (n--)
		fputc(' ', out);
}

/* A title, cleaned (a report's titles are its keys) and in capitals. */
static char *omnictl_title(const char *title)
{
	struct omnictl_str t = { 0 };
	if (omnictl_clean(&t, title, OMNICTL_CELL_MAX, 0, NULL) < 0 ||
	    (!t.p && omnictl_str_add(&t, "", 0) < 0)) {
		omnictl_str_free(&t);
		return NULL;
	}
	for (char *p = t.p; *p; p++)
		*p = (char)toupper((unsigned char)*p); /* ASCII only: UTF-8 bytes stay */
	return t.p;
}

int omnictl_table(FILE *out, const struct omnictl_col *cols, size_t ncols, const json_t *rows)
{
	size_t nrows = json_array_size(rows) + 1, width[OMNICTL_COLS_MAX] = { 0 }, r, k;
	char **cells; /* row 0: the titles; NULL for a row that is no object */
	int rc = 0;

	if (ncols > OMNICTL_COLS_MAX)
		ncols = OMNICTL_COLS_MAX;
	cells = calloc(nrows, ncols * sizeof(*cells));
	if (!cells)
		return omnictl_oom(), -1;
	for (r = 0; r < nrows && rc == 0; r++) {
		const json_t *row = r ? json_array_get(rows, r - 1) : NULL;
		if (r && !json_is_object(row))
			continue;
		for (k = 0; k < ncols; k++) {
			char *cell = r ? omnictl_cell(row, &cols[k], OMNICTL_CELL_MAX) :
					 omnictl_title(cols[k].title);
			if (!cell) {
				rc = -1;
				break;
			}
			cells[r * ncols + k] = cell;
			if (omnictl_width(cell) > width[k])
				width[k] = omnictl_width(cell);
		}
	}
	for (r = 0; r < nrows && rc == 0; r++) {
		if (!cells[r * ncols])
			continue;
		for (k = 0; k < ncols; k++) {
			const char *cell = cells[r * ncols + k];
			fputs(cell, out);
			if (k + 1 < ncols)
				omnictl_pad(out, width[k] - omnictl_width(cell) + 2);
		}
		fputc('\n', out);
	}
	for (r = 0; r < nrows * ncols; r++)
		free(cells[r]);
	free(cells);
	if (rc < 0)
		omnictl_oom();
	return rc;
}

static enum omnictl_fmt omnictl_guess(const char *key)
{
	size_t n = strlen(key);
	if (strcmp(key, "at") == 0 || (n > 3 && strcmp(key + n - 3, "_at") == 0))
		return OMNICTL_F_TIME;
	if (n > 2 && strcmp(key + n - 2, "_s") == 0)
		return OMNICTL_F_SECS;
	return OMNICTL_F_TEXT;
}

int omnictl_table_auto(FILE *out, const json_t *rows)
{
	struct omnictl_col cols[OMNICTL_COLS_MAX];
	size_t ncols = 0, i, k;
	const json_t *row, *v;
	const char *key;

	json_array_foreach(rows, i, row) {
		if (!json_is_object(row))
			continue;
		json_object_foreach((json_t *)row, key, v) {
			if (strchr(key, '.'))
				continue; /* would read as a path */
			for (k = 0; k < ncols && strcmp(cols[k].key, key) != 0; k++)
				;
			if (k == ncols && ncols < OMNICTL_COLS_MAX) {
				cols[ncols].title = key;
				cols[ncols].key = key;
				cols[ncols].fmt = omnictl_guess(key);
				ncols++;
			}
		}
	}
	if (ncols == 0)
		return 0;
	return omnictl_table(out, cols, ncols, rows);
}

/* a field worth a line of a record: there, and not null, "", [] or {} */
static int omnictl_shown(const json_t *v)
{
	return v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0) &&
	       !(json_is_array(v) && json_array_size(v) == 0) &&
	       !(json_is_object(v) && json_object_size(v) == 0);
}

int omnictl_record(FILE *out, const struct omnictl_col *cols, size_t ncols, const json_t *obj)
{
	size_t width = 0, k;
	for (k = 0; k < ncols; k++) {
		if (omnictl_shown(omnictl_get(obj, cols[k].key)) &&
		    omnictl_width(cols[k].title) > width)
			width = omnictl_width(cols[k].title);
	}
	for (k = 0; k < ncols; k++) {
		char *cell;
		if (!omnictl_shown(omnictl_get(obj, cols[k].key)))
			continue;
		cell = omnictl_cell(obj, &cols[k], 0);
		if (!cell)
			return omnictl_oom(), -1;
		fputs(cols[k].title, out);
		omnictl_pad(out, width - omnictl_width(cols[k].title) + 2);
		fputs(cell, out);
		fputc('\n', out);
		free(cell);
	}
	return 0;
}
