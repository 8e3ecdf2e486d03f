/*
 * omr_calendar: business hours for queues — weekly opening hours in a time
 * zone, and holidays. Time zones come from the system's tz database
 * (/usr/share/zoneinfo, TZif files) and are read once at load, so answering
 * "is it open now?" touches no global state (no TZ environment variable,
 * no localtime()).
 */
#ifndef OMR_CALENDAR_H
#define OMR_CALENDAR_H

#include <stdint.h>

struct omr_tz;

/* "Europe/Amsterdam", "UTC", ... */
struct omr_tz *omr_tz_load(const char *name, char **err_r);
/* Parse from memory (TZif bytes), for tests. */
struct omr_tz *omr_tz_parse(const unsigned char *data, size_t len, char **err_r);
void omr_tz_free(struct omr_tz *tz);
/* Seconds east of UTC at UTC time t (seconds since the epoch). */
long omr_tz_offset(const struct omr_tz *tz, int64_t t);

#define OMR_CAL_MAX_RANGES 4

struct omr_calendar {
	char *name;
	char *timezone;
	struct omr_tz *tz;
	/* per weekday (0 = Monday), up to 4 [from, to) ranges in minutes */
	int nranges[7];
	int from[7][OMR_CAL_MAX_RANGES];
	int to[7][OMR_CAL_MAX_RANGES];
	int32_t *holidays;   /* local dates as YYYYMMDD, sorted */
	size_t nholidays;
};

/* "mon-fri", "sat", "mon,wed" -> bit mask (bit 0 = Monday); -1 if bad. */
int omr_calendar_days(const char *spec);
/* "08:00-12:00,13:00-17:30" into the calendar for the days in mask. */
int omr_calendar_add_hours(struct omr_calendar *c, int mask, const char *spec, char **err_r);
/* "2026-12-25" */
int omr_calendar_add_holiday(struct omr_calendar *c, const char *date, char **err_r);
void omr_calendar_release(struct omr_calendar *c);

/* 1 if open at t_ms (ms since the epoch, UTC). */
int omr_calendar_open(const struct omr_calendar *c, int64_t t_ms);
/* Up to n consecutive slots of len_ms inside the hours (c NULL: always
 * open) into out: their starts, from the first boundary of len_ms after
 * now_ms (or the next opening); a slot must fit before a closing. Returns
 * how many (fewer when the hours run out within the search). */
int omr_calendar_slots(const struct omr_calendar *c, int64_t now_ms, int n, int64_t len_ms,
		       int64_t *out);
/* The next opening at or after t_ms (t_ms itself when open), or -1 if
 * none within two weeks. */
int64_t omr_calendar_next_open(const struct omr_calendar *c, int64_t t_ms);

#endif
