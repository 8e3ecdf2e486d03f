/* Unit tests: the reports' dates, ISO weeks, query parsing and CSV fields
 * (omr_reports.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "omr_reports.h"
#include "omr_util.h"

static long long day_of(const char *s)
{
	long long d = -1;
	if (omr_reports_date_parse(s, strlen(s), &d) < 0)
		fail_msg("'%s' refused", s);
	return d;
}

static void test_dates(void **state)
{
	static const struct {
		const char *s;
		long long day; /* -1: refused */
	} cases[] = {
		{ "1970-01-01", 0 },
		{ "1970-01-02", 1 },
		{ "2000-02-29", 11016 },    /* a leap year by 400 */
		{ "2024-02-29", 19782 },
		{ "2031-05-06", 22405 },
		{ "9999-12-31", 2932896 },
		{ "2023-02-29", -1 },       /* not a leap year */
		{ "1900-02-29", -1 },       /* nor a leap year by 100 (and before 1970) */
		{ "1969-12-31", -1 },
		{ "2031-13-01", -1 },
		{ "2031-00-10", -1 },
		{ "2031-04-31", -1 },
		{ "2031-05-00", -1 },
		{ "2031-5-6", -1 },
		{ "2031/05/06", -1 },
		{ "2031-05-06T00", -1 },
		{ "+031-05-06", -1 },
		{ " 031-05-06", -1 },
		{ "2031-05-0a", -1 },
		{ "", -1 },
		{ "yesterday", -1 },
	};
	char out[16];
	(void)state;
	for (size_t i = 0; i < OMR_ARRAY_LEN(cases); i++) {
		long long d = -1;
		int rc = omr_reports_date_parse(cases[i].s, strlen(cases[i].s), &d);
		if (cases[i].day < 0) {
			if (rc == 0)
				fail_msg("'%s' accepted as %lld", cases[i].s, d);
			continue;
		}
		if (rc != 0 || d != cases[i].day)
			fail_msg("'%s': %d, %lld (want %lld)", cases[i].s, rc, d, cases[i].day);
		omr_reports_date_str(d, out, sizeof(out));
		assert_string_equal(out, cases[i].s);
	}
	/* a NUL inside is not a date, whatever follows */
	assert_int_equal(omr_reports_date_parse("2031-05\0-06", 10, &(long long){ 0 }), -1);
	/* every day of four centuries there and back */
	for (long long d = 0; d < 146097; d++) {
		long long y, back = -1;
		unsigned m, dd;
		omr_reports_civil_from_days(d, &y, &m, &dd);
		omr_reports_date_str(d, out, sizeof(out));
		assert_int_equal(omr_reports_date_parse(out, strlen(out), &back), 0);
		assert_int_equal(back, d);
		assert_int_equal(omr_reports_days_from_civil(y, m, dd), d);
	}
}

static void test_iso_week(void **state)
{
	static const struct {
		const char *day, *week;
	} cases[] = {
		{ "2031-05-06", "2031-W19" },
		{ "2020-12-31", "2020-W53" },   /* a year of 53 weeks */
		{ "2021-01-03", "2020-W53" },   /* a Sunday still in it */
		{ "2021-01-04", "2021-W01" },
		{ "2024-12-30", "2025-W01" },   /* a Monday in the next ISO year */
		{ "2026-01-01", "2026-W01" },
		{ "1970-01-01", "1970-W01" },
		{ "2027-01-03", "2026-W53" },
	};
	char w[16];
	(void)state;
	for (size_t i = 0; i < OMR_ARRAY_LEN(cases); i++) {
		omr_reports_iso_week(day_of(cases[i].day), w, sizeof(w));
		if (strcmp(w, cases[i].week) != 0)
			fail_msg("%s: %s, want %s", cases[i].day, w, cases[i].week);
	}
}

static void test_query(void **state)
{
	const long long today = day_of("2031-05-06");
	static const struct {
		const char *query;
		int rc;
		const char *from, *to; /* rc 0 */
		int format, interval, days;
		const char *names;     /* rc != 0: the message starts so */
	} cases[] = {
		{ "", 0, "2031-05-06", "2031-05-06", 0, 0, 0, NULL },
		{ "from=2031-05-01&to=2031-05-06", 0, "2031-05-01", "2031-05-06", 0, 0, 0, NULL },
		{ "from=2031-05-01", 0, "2031-05-01", "2031-05-06", 0, 0, 0, NULL },
		{ "to=2031-04-30", 0, "2031-04-30", "2031-04-30", 0, 0, 0, NULL },
		{ "from=2031%2D05%2D01&to=2031-05-02", 0, "2031-05-01", "2031-05-02", 0, 0, 0, NULL },
		{ "days=7", 0, "2031-04-30", "2031-05-06", 0, 0, 7, NULL },
		{ "days=400", 0, "2030-04-02", "2031-05-06", 0, 0, 400, NULL },
		{ "format=csv&interval=hour&from=2031-05-01", 0, "2031-05-01", "2031-05-06", 1, 60, 0,
		  NULL },
		{ "interval=15m", 0, "2031-05-06", "2031-05-06", 0, 15, 0, NULL },
		{ "interval=day&from=2030-04-02", 0, "2030-04-02", "2031-05-06", 0, 1440, 0, NULL },
		{ "x=1&&y&from=2031-05-05&", 0, "2031-05-05", "2031-05-06", 0, 0, 0, NULL },
		{ "format=json", 0, "2031-05-06", "2031-05-06", 0, 0, 0, NULL },
		/* refused, naming the parameter */
		{ "from=2031-05-07", -1, NULL, NULL, 0, 0, 0, "from: 2031-05-07 is after to" },
		{ "from=2031-05-06&to=2031-05-01", -1, NULL, NULL, 0, 0, 0, "from: " },
		{ "from=2021-05-06", -1, NULL, NULL, 0, 0, 0, "from: the period is 3653 days" },
		{ "from=2030-04-01", -1, NULL, NULL, 0, 0, 0, "from: the period is 401 days" },
		{ "from=2031-02-30", -1, NULL, NULL, 0, 0, 0, "from: '2031-02-30' is not a date" },
		{ "to=tomorrow", -1, NULL, NULL, 0, 0, 0, "to: 'tomorrow' is not a date" },
		{ "from=", -1, NULL, NULL, 0, 0, 0, "from: '' is not a date" },
		{ "from", -1, NULL, NULL, 0, 0, 0, "from: '' is not a date" },
		{ "from=2031-05-01&from=2031-05-02", -1, NULL, NULL, 0, 0, 0, "from: given more" },
		{ "days=0", -1, NULL, NULL, 0, 0, 0, "days: expected a number from 1 to 400" },
		{ "days=401", -1, NULL, NULL, 0, 0, 0, "days: " },
		{ "days=-3", -1, NULL, NULL, 0, 0, 0, "days: " },
		{ "days=7&from=2031-05-01", -1, NULL, NULL, 0, 0, 0, "days: give either" },
		{ "days=99999999999999999999", -1, NULL, NULL, 0, 0, 0, "days: " },
		{ "format=xml", -1, NULL, NULL, 0, 0, 0, "format: expected json or csv" },
		{ "interval=week", -1, NULL, NULL, 0, 0, 0, "interval: expected 15m, hour or day" },
		{ "interval=hour&from=2031-04-01", -1, NULL, NULL, 0, 0, 0, "interval: hour steps" },
		{ "from=%", -2, NULL, NULL, 0, 0, 0, "the query string is malformed" },
		{ "from=%4", -2, NULL, NULL, 0, 0, 0, "the query string is malformed" },
		{ "from=%zz", -2, NULL, NULL, 0, 0, 0, "the query string is malformed" },
		{ "from=2031-05-01%00", -2, NULL, NULL, 0, 0, 0, "the query string is malformed" },
		{ "x=%00", -2, NULL, NULL, 0, 0, 0, "the query string is malformed" },
	};
	struct omr_reports_query q;
	char err[256], d[16];
	(void)state;
	for (size_t i = 0; i < OMR_ARRAY_LEN(cases); i++) {
		int rc = omr_reports_query_parse(cases[i].query, today, &q, err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("'%s': %d (%s), want %d", cases[i].query, rc, err, cases[i].rc);
		if (rc != 0) {
			if (strncmp(err, cases[i].names, strlen(cases[i].names)) != 0)
				fail_msg("'%s': '%s', want '%s...'", cases[i].query, err, cases[i].names);
			continue;
		}
		omr_reports_date_str(q.from, d, sizeof(d));
		assert_string_equal(d, cases[i].from);
		omr_reports_date_str(q.to, d, sizeof(d));
		assert_string_equal(d, cases[i].to);
		assert_int_equal(q.format, cases[i].format);
		assert_int_equal(q.interval, cases[i].interval);
		assert_int_equal(q.days, cases[i].days);
	}
	/* a huge query is refused as a whole; a huge value names its parameter */
	size_t n = OMR_REPORTS_MAX_QUERY + 10;
	char *big = malloc(n + 1);
	memset(big, 'a', n);
	big[n] = '\0';
	memcpy(big, "from=", 5);
	assert_int_equal(omr_reports_query_parse(big, today, &q, err, sizeof(err)), -2);
	big[1000] = '\0';
	assert_int_equal(omr_reports_query_parse(big, today, &q, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "from: 'aaaa"));
	assert_true(strlen(err) < 200); /* the value is cut short in the message */
	/* what a message shows of a value is printable */
	assert_int_equal(omr_reports_query_parse("to=%01%7F%C3%A9", today, &q, err, sizeof(err)), -1);
	for (const char *p = err; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	free(big);
}

static char *csv_of(const char *s)
{
	struct omr_buf b;
	omr_buf_init(&b);
	omr_reports_csv_text(&b, s);
	return omr_buf_steal(&b, NULL);
}

static void test_csv(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "invoice unclear", "invoice unclear" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "two\nlines", "\"two\nlines\"" },
		{ "cr\rhere", "\"cr\rhere\"" },
		{ "=1+1", "'=1+1" },
		{ "+31 6 1234", "'+31 6 1234" },
		{ "-2", "'-2" },
		{ "@SUM(A1)", "'@SUM(A1)" },
		{ "\tTAB", "'\tTAB" },
		{ "=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" },
		{ "=a,b", "\"'=a,b\"" },
		{ "a=b", "a=b" },         /* only the first character counts */
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
	};
	(void)state;
	for (size_t i = 0; i < OMR_ARRAY_LEN(cases); i++) {
		char *got = csv_of(cases[i].in);
		if (strcmp(got, cases[i].out) != 0)
			fail_msg("'%s': '%s', want '%s'", cases[i].in, got, cases[i].out);
		free(got);
	}
	struct omr_buf b;
	omr_buf_init(&b);
	omr_reports_csv_int(&b, -3); /* numbers are numbers: no quote */
	omr_reports_csv_sep(&b);
	omr_reports_csv_num(&b, 66.666666, 2);
	omr_reports_csv_sep(&b);
	omr_reports_csv_num(&b, 12.345, -1);
	omr_reports_csv_sep(&b);
	omr_reports_csv_num(&b, 0.0 / 0.0, 2);
	omr_reports_csv_end(&b);
	assert_string_equal(b.data, "-3,66.67,12.345,\r\n");
	omr_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_iso_week),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_csv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
