/*
 * omr_calendar: see omr_calendar.h.
 *
 * TZif (RFC 8536): we read the version 2+ 64-bit data block and the footer
 * (a POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3") that says what
 * happens after the last transition in the file.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_calendar.h"
#include "omr_util.h"

#define OMR_TZ_MAX_FILE (512 * 1024)

struct omr_tz_rule {       /* Mm.w.d/time */
	int month, week, wday;
	long secs;             /* local time of the change, seconds after midnight */
};

struct omr_tz {
	int64_t *times;
	unsigned char *idx;
	size_t ntimes;
	long *utoff;
	size_t ntypes;
	/* footer */
	int has_footer;
	long std_off, dst_off;  /* seconds east of UTC */
	int has_dst;
	struct omr_tz_rule start, end;
};

/* ---- TZif ---- */

static int64_t omr_be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	if (n == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

/* POSIX offset "[+-]hh[:mm[:ss]]" -> seconds (as written: west positive) */
static const char *omr_tz_num(const char *s, long *out)
{
	int sign = 1;
	long h = 0, m = 0, sec = 0;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9')
		h = h * 10 + (*s++ - '0');
	if (*s == ':') {
		s++;
		while (*s >= '0' && *s <= '9')
			m = m * 10 + (*s++ - '0');
		if (*s == ':') {
			s++;
			while (*s >= '0' && *s <= '9')
				sec = sec * 10 + (*s++ - '0');
		}
	}
	*out = sign * (h * 3600 + m * 60 + sec);
	return s;
}

static const char *omr_tz_name(const char *s)
{
	if (*s == '<') {
		const char *e = strchr(s, '>');
		return e ? e + 1 : NULL;
	}
	while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
		s++;
	return s;
}

static const char *omr_tz_rule(const char *s, struct omr_tz_rule *r)
{
	char *end;
	if (*s != 'M')
		return NULL; /* only the Mm.w.d form (what the tz database uses) */
	r->month = (int)strtol(s + 1, &end, 10);
	if (*end != '.')
		return NULL;
	r->week = (int)strtol(end + 1, &end, 10);
	if (*end != '.')
		return NULL;
	r->wday = (int)strtol(end + 1, &end, 10);
	if (r->month < 1 || r->month > 12 || r->week < 1 || r->week > 5 || r->wday < 0 || r->wday > 6)
		return NULL;
	r->secs = 7200;
	s = end;
	if (*s == '/') {
		s = omr_tz_num(s + 1, &r->secs);
		if (!s)
			return NULL;
	}
	return s;
}

static void omr_tz_footer(struct omr_tz *tz, const char *s)
{
	long off;
	s = omr_tz_name(s);
	if (!s || !(s = omr_tz_num(s, &off)))
		return;
	tz->std_off = -off;
	tz->has_footer = 1;
	if (!*s)
		return;
	s = omr_tz_name(s);
	if (!s)
		return;
	tz->dst_off = tz->std_off + 3600;
	if (*s && *s != ',') {
		if (!(s = omr_tz_num(s, &off)))
			return;
		tz->dst_off = -off;
	}
	if (*s != ',' || !(s = omr_tz_rule(s + 1, &tz->start)) || *s != ',' ||
	    !omr_tz_rule(s + 1, &tz->end)) {
		tz->has_footer = 0; /* a form we do not read: use the last transition */
		return;
	}
	tz->has_dst = 1;
}

struct omr_tz *omr_tz_parse(const unsigned char *d, size_t len, char **err_r)
{
	struct omr_tz *tz;
	size_t hdr = 44, cnt[6], v1, off;

	if (len < hdr || memcmp(d, "TZif", 4) != 0) {
		omr_err(err_r, "not a TZif file");
		return NULL;
	}
	/* skip the version 1 block */
	for (int i = 0; i < 6; i++)
		cnt[i] = (size_t)omr_be(d + 20 + i * 4, 4);
	v1 = cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] + cnt[0];
	if (d[4] < '2' || len < hdr + v1 + hdr) {
		omr_err(err_r, "TZif file without version 2 data");
		return NULL;
	}
	off = hdr + v1;
	if (memcmp(d + off, "TZif", 4) != 0) {
		omr_err(err_r, "bad TZif file");
		return NULL;
	}
	for (int i = 0; i < 6; i++)
		cnt[i] = (size_t)omr_be(d + off + 20 + i * 4, 4);
	/* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
	size_t need = off + hdr + cnt[3] * 9 + cnt[4] * 6 + cnt[5] + cnt[2] * 12 + cnt[1] + cnt[0];
	if (cnt[4] == 0 || cnt[3] > 10000 || cnt[4] > 256 || len < need) {
		omr_err(err_r, "truncated TZif file");
		return NULL;
	}
	tz = omr_calloc(1, sizeof(*tz));
	tz->ntimes = cnt[3];
	tz->ntypes = cnt[4];
	tz->times = omr_calloc(tz->ntimes + 1, sizeof(*tz->times));
	tz->idx = omr_calloc(tz->ntimes + 1, 1);
	tz->utoff = omr_calloc(tz->ntypes, sizeof(*tz->utoff));
	const unsigned char *p = d + off + hdr;
	for (size_t i = 0; i < tz->ntimes; i++, p += 8)
		tz->times[i] = omr_be(p, 8);
	for (size_t i = 0; i < tz->ntimes; i++, p++)
		tz->idx[i] = *p < tz->ntypes ? *p : 0;
	for (size_t i = 0; i < tz->ntypes; i++, p += 6)
		tz->utoff[i] = (long)omr_be(p, 4);
	/* the footer: "\nTZ\n" after the data */
	const unsigned char *f = d + need;
	if (f < d + len && *f == '\n') {
		const unsigned char *e = memchr(f + 1, '\n', (size_t)(d + len - f - 1));
		if (e && e - f - 1 < 128) {
			char foot[128];
			memcpy(foot, f + 1, (size_t)(e - f - 1));
			foot[e - f - 1] = '\0';
			omr_tz_footer(tz, foot);
		}
	}
	return tz;
}

struct omr_tz *omr_tz_load(const char *name, char **err_r)
{
	char *path, *data;
	size_t len;
	struct omr_tz *tz;

	if (!name || !*name || name[0] == '/' || strstr(name, "..") || strlen(name) > 64) {
		omr_err(err_r, "'%s' is not a time zone name (e.g. Europe/Amsterdam)", name ? name : "");
		return NULL;
	}
	if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
		tz = omr_calloc(1, sizeof(*tz));
		tz->has_footer = 1;
		return tz;
	}
	path = omr_asprintf("/usr/share/zoneinfo/%s", name);
	data = omr_read_file(path, OMR_TZ_MAX_FILE, &len, NULL);
	free(path);
	if (!data) {
		omr_err(err_r, "unknown time zone '%s' (not in /usr/share/zoneinfo; apt-get install tzdata)",
			name);
		return NULL;
	}
	tz = omr_tz_parse((const unsigned char *)data, len, err_r);
	free(data);
	return tz;
}

void omr_tz_free(struct omr_tz *tz)
{
	if (!tz)
		return;
	free(tz->times);
	free(tz->idx);
	free(tz->utoff);
	free(tz);
}

/* ---- civil calendar arithmetic (days since 1970-01-01) ---- */

static int64_t omr_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void omr_civil_from_days(int64_t z, int *y_r, int *m_r, int *d_r)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1);
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y_r = (int)(y + (m <= 2));
	*m_r = m;
	*d_r = d;
}

/* 0 = Sunday .. 6 = Saturday (POSIX) */
static int omr_wday(int64_t days)
{
	int64_t w = (days + 4) % 7;
	return (int)(w < 0 ? w + 7 : w);
}

/* UTC time of a footer rule's change in year y, given the offset in force
 * before the change. */
static int64_t omr_tz_rule_time(const struct omr_tz_rule *r, int y, long before)
{
	int64_t first = omr_days_from_civil(y, r->month, 1);
	int64_t d = first + ((r->wday - omr_wday(first) + 7) % 7) + (r->week - 1) * 7;
	int ny = r->month == 12 ? y + 1 : y, nm = r->month == 12 ? 1 : r->month + 1;
	int64_t next = omr_days_from_civil(ny, nm, 1);
	while (d >= next)
		d -= 7; /* week 5 means "the last" */
	return d * 86400 + r->secs - before;
}

long omr_tz_offset(const struct omr_tz *tz, int64_t t)
{
	if (tz->ntimes && t < tz->times[0])
		return tz->utoff[0];
	if (tz->ntimes && (t < tz->times[tz->ntimes - 1] || !tz->has_footer)) {
		size_t lo = 0, hi = tz->ntimes; /* last transition <= t */
		while (hi - lo > 1) {
			size_t mid = (lo + hi) / 2;
			if (tz->times[mid] <= t)
				lo = mid;
			else
				hi = mid;
		}
		return tz->utoff[tz->idx[lo]];
	}
	if (!tz->has_footer)
		return tz->ntypes ? tz->utoff[0] : 0;
	if (!tz->has_dst)
		return tz->std_off;
	int y, m, d;
	omr_civil_from_days((t + tz->std_off) / 86400, &y, &m, &d);
	int64_t on = omr_tz_rule_time(&tz->start, y, tz->std_off);
	int64_t off = omr_tz_rule_time(&tz->end, y, tz->dst_off);
	if (on < off) /* northern hemisphere */
		return t >= on && t < off ? tz->dst_off : tz->std_off;
	return t >= off && t < on ? tz->std_off : tz->dst_off;
}

/* ---- calendars ---- */

int omr_calendar_days(const char *spec)
{
	static const char *const names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
	int mask = 0;
	const char *p = spec;
	while (*p) {
		int a = -1, b = -1;
		for (int i = 0; i < 7; i++)
			if (strncmp(p, names[i], 3) == 0)
				a = i;
		if (a < 0)
			return -1;
		p += 3;
		b = a;
		if (*p == '-') {
			b = -1;
			for (int i = 0; i < 7; i++)
				if (strncmp(p + 1, names[i], 3) == 0)
					b = i;
			if (b < a)
				return -1;
			p += 4;
		}
		for (int i = a; i <= b; i++)
			mask |= 1 << i;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			return -1;
	}
	return mask ? mask : -1;
}

static int omr_hhmm(const char *s, int *min_r)
{
	if (strlen(s) < 5 || s[2] != ':' || s[0] < '0' || s[0] > '2' || s[1] < '0' || s[1] > '9' ||
	    s[3] < '0' || s[3] > '5' || s[4] < '0' || s[4] > '9')
		return -1;
	int h = (s[0] - '0') * 10 + s[1] - '0', m = (s[3] - '0') * 10 + s[4] - '0';
	if (h > 24 || (h == 24 && m))
		return -1;
	*min_r = h * 60 + m;
	return 0;
}

int omr_calendar_add_hours(struct omr_calendar *c, int mask, const char *spec, char **err_r)
{
	const char *p = spec;
	while (*p) {
		int from, to;
		if (omr_hhmm(p, &from) < 0 || p[5] != '-' || omr_hhmm(p + 6, &to) < 0 || to <= from)
			return omr_err(err_r, "hours must look like 08:00-17:30 (several: "
					      "08:00-12:00,13:00-17:00), found '%s'", spec);
		for (int d = 0; d < 7; d++) {
			if (!(mask & (1 << d)))
				continue;
			if (c->nranges[d] >= OMR_CAL_MAX_RANGES)
				return omr_err(err_r, "at most %d ranges per day", OMR_CAL_MAX_RANGES);
			c->from[d][c->nranges[d]] = from;
			c->to[d][c->nranges[d]] = to;
			c->nranges[d]++;
		}
		p += 11;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			return omr_err(err_r, "hours must look like 08:00-17:30, found '%s'", spec);
	}
	return 0;
}

static int omr_i32cmp(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

int omr_calendar_add_holiday(struct omr_calendar *c, const char *date, char **err_r)
{
	int y, m, d;
	char extra;
	if (strlen(date) != 10 || sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 ||
	    m < 1 || m > 12 || d < 1 || d > 31)
		return omr_err(err_r, "a holiday is a date like 2026-12-25, found '%s'", date);
	c->holidays = omr_realloc(c->holidays, (c->nholidays + 1) * sizeof(*c->holidays));
	c->holidays[c->nholidays++] = y * 10000 + m * 100 + d;
	qsort(c->holidays, c->nholidays, sizeof(*c->holidays), omr_i32cmp);
	return 0;
}

void omr_calendar_release(struct omr_calendar *c)
{
	omr_tz_free(c->tz);
	free(c->holidays);
	free(c->name);
	free(c->timezone);
	memset(c, 0, sizeof(*c));
}

/* local day number and minute of day */
static void omr_calendar_local(const struct omr_calendar *c, int64_t t_ms, int64_t *day_r,
			       int *minute_r)
{
	int64_t t = t_ms / 1000;
	int64_t local = t + (c->tz ? omr_tz_offset(c->tz, t) : 0);
	int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
	*day_r = day;
	*minute_r = (int)((local - day * 86400) / 60);
}

static int omr_calendar_holiday(const struct omr_calendar *c, int64_t day)
{
	int y, m, d;
	int32_t key;
	if (!c->nholidays)
		return 0;
	omr_civil_from_days(day, &y, &m, &d);
	key = y * 10000 + m * 100 + d;
	return bsearch(&key, c->holidays, c->nholidays, sizeof(key), omr_i32cmp) != NULL;
}

static int omr_calendar_weekday(int64_t day)
{
	return (omr_wday(day) + 6) % 7; /* Monday = 0 */
}

int omr_calendar_open(const struct omr_calendar *c, int64_t t_ms)
{
	int64_t day;
	int minute;
	omr_calendar_local(c, t_ms, &day, &minute);
	if (omr_calendar_holiday(c, day))
		return 0;
	int wd = omr_calendar_weekday(day);
	for (int i = 0; i < c->nranges[wd]; i++)
		if (minute >= c->from[wd][i] && minute < c->to[wd][i])
			return 1;
	return 0;
}

int64_t omr_calendar_next_open(const struct omr_calendar *c, int64_t t_ms)
{
	int64_t day;
	int minute;
	if (omr_calendar_open(c, t_ms))
		return t_ms;
	omr_calendar_local(c, t_ms, &day, &minute);
	int64_t offset_ms = t_ms - (day * 86400 + minute * 60) * 1000LL;
	for (int k = 0; k < 15; k++, day++, minute = -1) {
		if (omr_calendar_holiday(c, day))
			continue;
		int wd = omr_calendar_weekday(day), best = -1;
		for (int i = 0; i < c->nranges[wd]; i++)
			if (c->from[wd][i] > minute && (best < 0 || c->from[wd][i] < best))
				best = c->from[wd][i];
		if (best >= 0) {
			/* local -> UTC with the offset in force then (one
			 * correction step covers a DST change in between) */
			int64_t local_ms = (day * 86400 + best * 60) * 1000LL;
			int64_t guess = local_ms + offset_ms;
			int64_t off = c->tz ? omr_tz_offset(c->tz, guess / 1000) * 1000LL : 0;
			return local_ms - off;
		}
	}
	return -1;
}

/* The next n slots of len ms inside the calendar's hours (always open
 * without one), from the next boundary of len after now. Returns how many
 * were found (fewer when the calendar has no hours for two weeks). */
int omr_calendar_slots(const struct omr_calendar *cal, int64_t now, int n, int64_t len,
		       int64_t *out)
{
	int found = 0;
	int64_t t = (now / len + 1) * len;
	for (int guard = 0; found < n && guard < 2000; guard++) {
		if (cal && !omr_calendar_open(cal, t)) {
			int64_t next = omr_calendar_next_open(cal, t);
			if (next < 0)
				break;
			t = next;
			continue;
		}
		if (!cal || omr_calendar_open(cal, t + len - 1))
			out[found++] = t;
		t += len;
	}
	return found;
}
