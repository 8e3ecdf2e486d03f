/* Unit tests: time zones from the tz database and business hours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "omr_calendar.h"

/* UTC seconds of a civil date-time (proleptic Gregorian). */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
	y -= mo <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
	return days * 86400 + h * 3600 + mi * 60;
}

static void test_offsets(void **state)
{
	static const struct {
		const char *zone;
		int y, mo, d, h, mi;
		long off;
	} cases[] = {
		{ "Europe/Amsterdam", 2026, 1, 15, 12, 0, 3600 },
		{ "Europe/Amsterdam", 2026, 7, 1, 12, 0, 7200 },
		{ "Europe/Amsterdam", 2026, 3, 29, 0, 59, 3600 },   /* just before DST */
		{ "Europe/Amsterdam", 2026, 3, 29, 1, 0, 7200 },    /* DST starts 01:00 UTC */
		{ "Europe/Amsterdam", 2026, 10, 25, 0, 59, 7200 },
		{ "Europe/Amsterdam", 2026, 10, 25, 1, 0, 3600 },
		{ "Europe/Amsterdam", 2040, 7, 1, 12, 0, 7200 },    /* after the file: footer rule */
		{ "Europe/Amsterdam", 2040, 1, 1, 12, 0, 3600 },
		{ "America/New_York", 2026, 1, 15, 12, 0, -5 * 3600 },
		{ "America/New_York", 2026, 7, 1, 12, 0, -4 * 3600 },
		{ "America/New_York", 2045, 7, 1, 12, 0, -4 * 3600 },
		{ "Australia/Sydney", 2040, 1, 15, 12, 0, 11 * 3600 }, /* southern summer */
		{ "Australia/Sydney", 2040, 7, 15, 12, 0, 10 * 3600 },
		{ "Asia/Kolkata", 2026, 7, 1, 12, 0, 5 * 3600 + 1800 },
		{ "UTC", 2026, 7, 1, 12, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err = NULL;
		struct omr_tz *tz = omr_tz_load(cases[i].zone, &err);
		if (!tz)
			fail_msg("%s: %s", cases[i].zone, err);
		long off = omr_tz_offset(tz, utc(cases[i].y, cases[i].mo, cases[i].d, cases[i].h,
						 cases[i].mi));
		if (off != cases[i].off)
			fail_msg("case %zu %s: offset %ld, want %ld", i, cases[i].zone, off, cases[i].off);
		omr_tz_free(tz);
	}
}

static void test_bad_zones(void **state)
{
	static const char *bad[] = { "Mars/Olympus", "../../etc/passwd", "/etc/localtime", "",
				     "Europe/../../../etc/passwd" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err = NULL;
		struct omr_tz *tz = omr_tz_load(bad[i], &err);
		if (tz)
			fail_msg("'%s' accepted", bad[i]);
		assert_non_null(err);
		free(err);
	}
	char *err = NULL;
	assert_null(omr_tz_parse((const unsigned char *)"TZif2 garbage", 13, &err));
	free(err);
}

static void office(struct omr_calendar *c)
{
	char *err = NULL;
	memset(c, 0, sizeof(*c));
	c->tz = omr_tz_load("Europe/Amsterdam", &err);
	assert_non_null(c->tz);
	assert_int_equal(omr_calendar_add_hours(c, omr_calendar_days("mon-fri"), "08:00-18:00", &err), 0);
	assert_int_equal(omr_calendar_add_hours(c, omr_calendar_days("sat"), "10:00-12:00,13:00-14:00",
						&err), 0);
	assert_int_equal(omr_calendar_add_holiday(c, "2026-12-25", &err), 0);
}

static void test_slots(void **state)
{
	struct omr_calendar c;
	int64_t out[4], h = 3600000, m30 = 1800000;
	office(&c);
	/* Wed 17:10 local: 17:30, then Thursday 08:00 and 08:30 */
	assert_int_equal(omr_calendar_slots(&c, utc(2026, 7, 1, 15, 10) * 1000, 3, m30, out), 3);
	assert_int_equal(out[0], utc(2026, 7, 1, 15, 30) * 1000);
	assert_int_equal(out[1], utc(2026, 7, 2, 6, 0) * 1000);
	assert_int_equal(out[2], out[1] + m30);
	/* Saturday 11:40: the lunch break is skipped, 13:00 */
	assert_int_equal(omr_calendar_slots(&c, utc(2026, 7, 4, 9, 40) * 1000, 2, m30, out), 2);
	assert_int_equal(out[0], utc(2026, 7, 4, 11, 0) * 1000);
	assert_int_equal(out[1], out[0] + m30);
	/* an hour's slot does not fit in Saturday 13:00-14:00 from 13:10:
	 * Monday 08:00 local */
	assert_int_equal(omr_calendar_slots(&c, utc(2026, 7, 4, 11, 10) * 1000, 1, h, out), 1);
	assert_int_equal(out[0], utc(2026, 7, 6, 6, 0) * 1000);
	/* no calendar: the next half hours */
	assert_int_equal(omr_calendar_slots(NULL, utc(2026, 7, 1, 0, 0) * 1000 + 1, 2, m30, out), 2);
	assert_int_equal(out[0], utc(2026, 7, 1, 0, 30) * 1000);
	assert_int_equal(out[1], utc(2026, 7, 1, 1, 0) * 1000);
	/* a calendar without hours: none */
	struct omr_calendar none;
	memset(&none, 0, sizeof(none));
	assert_int_equal(omr_calendar_slots(&none, 0, 2, m30, out), 0);
	omr_calendar_release(&c);
	(void)state;
}

static void test_open(void **state)
{
	struct omr_calendar c;
	static const struct {
		int y, mo, d, h, mi; /* UTC */
		int open;
	} cases[] = {
		{ 2026, 7, 1, 5, 59, 0 },   /* Wed 07:59 local */
		{ 2026, 7, 1, 6, 0, 1 },    /* Wed 08:00 */
		{ 2026, 7, 1, 15, 59, 1 },  /* Wed 17:59 */
		{ 2026, 7, 1, 16, 0, 0 },   /* Wed 18:00: closed */
		{ 2026, 1, 7, 16, 59, 1 },  /* Wed 17:59 CET */
		{ 2026, 1, 7, 17, 0, 0 },
		{ 2026, 7, 4, 8, 30, 1 },   /* Sat 10:30 */
		{ 2026, 7, 4, 10, 30, 0 },  /* Sat 12:30: lunch */
		{ 2026, 7, 4, 11, 30, 1 },  /* Sat 13:30 */
		{ 2026, 7, 5, 10, 0, 0 },   /* Sunday */
		{ 2026, 12, 25, 10, 0, 0 }, /* Christmas, a Friday */
		{ 2026, 12, 24, 10, 0, 1 },
	};
	office(&c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t t = utc(cases[i].y, cases[i].mo, cases[i].d, cases[i].h, cases[i].mi) * 1000;
		if (omr_calendar_open(&c, t) != cases[i].open)
			fail_msg("case %zu: open %d, want %d", i, !cases[i].open, cases[i].open);
	}
	/* next opening: Friday evening -> Saturday 10:00 local (08:00 UTC) */
	assert_int_equal(omr_calendar_next_open(&c, utc(2026, 7, 3, 17, 0) * 1000),
			 utc(2026, 7, 4, 8, 0) * 1000);
	/* Saturday lunch -> 13:00 local */
	assert_int_equal(omr_calendar_next_open(&c, utc(2026, 7, 4, 10, 30) * 1000),
			 utc(2026, 7, 4, 11, 0) * 1000);
	/* Christmas Eve evening -> Saturday Dec 26 10:00 CET (09:00 UTC) */
	assert_int_equal(omr_calendar_next_open(&c, utc(2026, 12, 24, 18, 0) * 1000),
			 utc(2026, 12, 26, 9, 0) * 1000);
	/* open now: now */
	assert_int_equal(omr_calendar_next_open(&c, utc(2026, 7, 1, 10, 0) * 1000),
			 utc(2026, 7, 1, 10, 0) * 1000);
	/* across the DST change: Sat 28 Mar 2026 14:00 CET -> Mon 30 Mar 08:00 CEST */
	assert_int_equal(omr_calendar_next_open(&c, utc(2026, 3, 28, 13, 0) * 1000),
			 utc(2026, 3, 30, 6, 0) * 1000);
	omr_calendar_release(&c);
}

static void test_parse(void **state)
{
	struct omr_calendar c;
	char *err = NULL;
	assert_int_equal(omr_calendar_days("mon-fri"), 0x1f);
	assert_int_equal(omr_calendar_days("sat,sun"), 0x60);
	assert_int_equal(omr_calendar_days("mon,wed-thu"), 0x0d);
	assert_int_equal(omr_calendar_days("fri-mon"), -1);
	assert_int_equal(omr_calendar_days("funday"), -1);
	assert_int_equal(omr_calendar_days(""), -1);
	memset(&c, 0, sizeof(c));
	static const char *bad[] = { "8-17", "08:00", "18:00-08:00", "08:00-25:00", "08:00-17:00,",
				     "08:00-17:00;", "08:60-09:00" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (omr_calendar_add_hours(&c, 1, bad[i], &err) == 0)
			fail_msg("'%s' accepted", bad[i]);
		free(err);
		err = NULL;
	}
	assert_int_equal(omr_calendar_add_hours(&c, 1, "00:00-24:00", &err), 0);
	assert_int_equal(omr_calendar_add_holiday(&c, "2026-13-01", &err), -1);
	free(err);
	err = NULL;
	assert_int_equal(omr_calendar_add_holiday(&c, "26-12-25", &err), -1);
	free(err);
	omr_calendar_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_bad_zones),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
