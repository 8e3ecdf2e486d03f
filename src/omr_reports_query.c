/*
 * omr_reports_query: the parts of the reports that read outside input or
 * write for other programs: the query string (parsed here from its raw,
 * percent-encoded form, so that a malformed one is an error and not
 * silently nothing), UTC dates and ISO weeks, and CSV fields (RFC 4180,
 * with spreadsheet formulas defused). No I/O, no state: the unit test and
 * the fuzz harness call these directly.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_reports.h"
#include "omr_util.h"

/* ---- dates (H. Hinnant's algorithms, proleptic Gregorian) ---- */

long long omr_reports_days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

void omr_reports_civil_from_days(long long day, long long *y, unsigned *m, unsigned *d)
{
	long long z = day + 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (long long)yoe + era * 400 + (*m <= 2);
}

static int omr_reports_leap(long long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int omr_reports_date_parse(const char *s, size_t len, long long *day_r)
{
	static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	long long y = 0;
	unsigned m, d;
	if (!s || len != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	for (size_t i = 0; i < 4; i++)
		y = y * 10 + (s[i] - '0');
	m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
	d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
	if (y < 1970 || m < 1 || m > 12 || d < 1 ||
	    d > mdays[m - 1] + (m == 2 && omr_reports_leap(y)))
		return -1;
	*day_r = omr_reports_days_from_civil(y, m, d);
	return 0;
}

void omr_reports_date_str(long long day, char *out, size_t len)
{
	long long y;
	unsigned m, d;
	omr_reports_civil_from_days(day, &y, &m, &d);
	snprintf(out, len, "%04lld-%02u-%02u", y, m, d);
}

void omr_reports_iso_week(long long day, char *out, size_t len)
{
	/* 1970-01-01 was a Thursday; a week belongs to the year of its Thursday */
	long long wd = ((day + 3) % 7 + 7) % 7; /* Monday 0 */
	long long thu = day - wd + 3, y;
	unsigned m, d;
	omr_reports_civil_from_days(thu, &y, &m, &d);
	long long week = (thu - omr_reports_days_from_civil(y, 1, 1)) / 7 + 1;
	snprintf(out, len, "%04lld-W%02lld", y, week);
}

/* ---- the query string ---- */

/* Decode [s, s + n) into out (at least n + 1 bytes): %XX and '+'. -1: a
 * bad escape or a NUL. */
static int omr_reports_unescape(const char *s, size_t n, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int h = omr_hex_value((unsigned char)s[i + 1]);
			int l = omr_hex_value((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == 0)
			return -1;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return 0;
}

enum { OMR_RQ_FROM, OMR_RQ_TO, OMR_RQ_DAYS, OMR_RQ_FORMAT, OMR_RQ_INTERVAL, OMR_RQ_N };
static const char *const omr_reports_params[OMR_RQ_N] = { "from", "to", "days", "format",
							  "interval" };

static int omr_reports_fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int omr_reports_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

/* A value for people: at most 40 bytes of it, printable ASCII or '?'. */
static void omr_reports_show(const char *v, char *out, size_t len)
{
	size_t k = 0;
	for (; *v && k + 4 < len && k < 40; v++)
		out[k++] = (*v >= 0x20 && *v < 0x7f) ? *v : '?';
	if (*v && k + 4 <= len) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

static int omr_reports_bad_date(char *err, size_t errlen, const char *name, const char *v)
{
	char shown[48];
	omr_reports_show(v, shown, sizeof(shown));
	return omr_reports_fail(err, errlen, OMR_REPORTS_BAD_PARAMETER,
				"%s: '%s' is not a date: expected YYYY-MM-DD (UTC), e.g. 2031-05-06",
				name, shown);
}

int omr_reports_query_parse(const char *query, long long today, struct omr_reports_query *q,
			    char *err, size_t errlen)
{
	char *val[OMR_RQ_N] = { 0 };
	int rc = OMR_REPORTS_OK;
	size_t qlen = query ? strlen(query) : 0;

	memset(q, 0, sizeof(*q));
	q->from = q->to = today;
	if (err && errlen)
		err[0] = '\0';
	if (qlen > OMR_REPORTS_MAX_QUERY)
		return omr_reports_fail(err, errlen, OMR_REPORTS_BAD_QUERY,
					"the query string is %zu bytes; at most %d", qlen,
					OMR_REPORTS_MAX_QUERY);
	for (const char *p = query; p && *p;) {
		const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		size_t klen = (size_t)((eq ? eq : end) - p);
		size_t vlen = eq ? (size_t)(end - eq - 1) : 0;
		char key[OMR_REPORTS_MAX_QUERY + 1], *v;
		if (end > p) {
			v = omr_malloc(vlen + 1);
			if (omr_reports_unescape(p, klen, key) < 0 ||
			    omr_reports_unescape(eq ? eq + 1 : "", vlen, v) < 0) {
				free(v);
				rc = omr_reports_fail(err, errlen, OMR_REPORTS_BAD_QUERY,
						      "the query string is malformed (a bad %%-escape or "
						      "a NUL byte)");
				goto out;
			}
			for (int i = 0; v && i < OMR_RQ_N; i++) {
				if (strcmp(key, omr_reports_params[i]) != 0)
					continue;
				if (val[i]) {
					free(v);
					rc = omr_reports_fail(err, errlen, OMR_REPORTS_BAD_PARAMETER,
							      "%s: given more than once", key);
					goto out;
				}
				val[i] = v;
				v = NULL;
			}
			free(v);
		}
		p = amp ? amp + 1 : end;
	}

	if (val[OMR_RQ_DAYS]) {
		long long n;
		const char *v = val[OMR_RQ_DAYS];
		if (val[OMR_RQ_FROM] || val[OMR_RQ_TO]) {
			rc = omr_reports_fail(err, errlen, OMR_REPORTS_BAD_PARAMETER,
					      "days: give either days or from and to");
			goto out;
		}
		if (strlen(v) > 3 || strspn(v, "0123456789") != strlen(v) || omr_parse_ll(v, &n) < 0 ||
		    n < 1 || n > OMR_REPORTS_MAX_DAYS) {
			rc = omr_reports_fail(err, errlen, OMR_REPORTS_BAD_PARAMETER,
					      "days: expected a number from 1 to %d",
					      OMR_REPORTS_MAX_DAYS);
			goto out;
		}
		q->days = (int)n;
		q->from = today - n + 1;
	}
	if (val[OMR_RQ_TO] && omr_reports_date_parse(val[OMR_RQ_TO], strlen(val[OMR_RQ_TO]),
						     &q->to) < 0) {
		rc = omr_reports_bad_date(err, errlen, "to", val[OMR_RQ_TO]);
		goto out;
	}
	if (val[OMR_RQ_FROM]) {
		if (omr_reports_date_parse(val[OMR_RQ_FROM], strlen(val[OMR_RQ_FROM]), &q->from) < 0) {
			rc = omr_reports_bad_date(err, errlen, "from", val[OMR_RQ_FROM]);
			goto out;
		}
	} else if (val[OMR_RQ_TO]) {
		q->from = q->to; /* one day */
	}
	if (q->from > q->to) {
		char f[16], t[16];
		omr_reports_date_str(q->from, f, sizeof(f));
		omr_reports_date_str(q->to, t, sizeof(t));
		rc = omr_reports_fail(err, errlen, OMR_REPORTS_BAD_PARAMETER,
				      "from: %s is after to (%s)", f, t);
		goto out;
	}
	if (q->to - q->from + 1 > OMR_REPORTS_MAX_DAYS) {
		rc = omr_reports_fail(err, errlen, OMR_REPORTS_BAD_PARAMETER,
				      "from: the period is %lld days; at most %d (figures are kept "
				      "%d days)", q->to - q->from + 1, OMR_REPORTS_MAX_DAYS,
				      OMR_REPORTS_MAX_DAYS);
		goto out;
	}
	if (val[OMR_RQ_FORMAT]) {
		if (strcmp(val[OMR_RQ_FORMAT], "csv") == 0) {
			q->format = OMR_REPORTS_CSV;
		} else if (strcmp(val[OMR_RQ_FORMAT], "json") != 0) {
			rc = omr_reports_fail(err, errlen, OMR_REPORTS_BAD_PARAMETER,
					      "format: expected json or csv");
			goto out;
		}
	}
	if (val[OMR_RQ_INTERVAL]) {
		const char *v = val[OMR_RQ_INTERVAL];
		q->interval = strcmp(v, "15m") == 0 ? 15 : strcmp(v, "hour") == 0 ? 60
							 : strcmp(v, "day") == 0 ? 1440 : 0;
		if (!q->interval) {
			rc = omr_reports_fail(err, errlen, OMR_REPORTS_BAD_PARAMETER,
					      "interval: expected 15m, hour or day");
			goto out;
		}
		if (q->interval < 1440 && q->to - q->from + 1 > OMR_REPORTS_MAX_FINE_DAYS) {
			rc = omr_reports_fail(err, errlen, OMR_REPORTS_BAD_PARAMETER,
					      "interval: %s steps need a period of at most %d days "
					      "(use interval=day)", v, OMR_REPORTS_MAX_FINE_DAYS);
			goto out;
		}
	}
out:
	for (int i = 0; i < OMR_RQ_N; i++)
		free(val[i]);
	return rc;
}

/* ---- CSV ---- */

void omr_reports_csv_text(struct omr_buf *b, const char *s)
{
	int guard, quote;
	if (!s)
		s = "";
	guard = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
		s[0] == '\r';
	quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		omr_buf_append(b, "\"", 1);
	if (guard)
		omr_buf_append(b, "'", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			omr_buf_append(b, "\"", 1);
		omr_buf_append(b, p, 1);
	}
	if (quote)
		omr_buf_append(b, "\"", 1);
}

void omr_reports_csv_num(struct omr_buf *b, double v, int decimals)
{
	if (!isfinite(v))
		return; /* an empty field: no figure */
	if (decimals < 0)
		omr_buf_printf(b, "%.10g", v);
	else
		omr_buf_printf(b, "%.*f", decimals, v);
}

void omr_reports_csv_int(struct omr_buf *b, long long v)
{
	omr_buf_printf(b, "%lld", v);
}

void omr_reports_csv_sep(struct omr_buf *b)
{
	omr_buf_append(b, ",", 1);
}

void omr_reports_csv_end(struct omr_buf *b)
{
	omr_buf_append(b, "\r\n", 2);
}
