/*
 * omr_reports: the historical reports of the admin API (docs/admin-api.md,
 * "Reports"): GET /api/v1/reports/queues, /agents and /contact-reasons,
 * in JSON or CSV, over UTC days (at most 400), optionally as a time series.
 *
 * The figures are counted by the server-side scripts when things happen
 * (src/lua/report.lib: one hash per 15-minute bucket, kept 400 days); this
 * module only reads them (src/lua/report_get.lua, a few days per call) and
 * adds them up. It runs on the main thread. The admin API checks the
 * method, the token and that the server runs, then hands the request over
 * with the queues the caller may see; what a report needs of the
 * configuration is copied before the first Redis call, so that a reload
 * meanwhile changes nothing under the callbacks.
 *
 * The query parsing, the dates and the CSV writer are exposed for the unit
 * test (tests/unit/test_reports.c) and the fuzz harness
 * (tests/fuzz/fuzz_reports_query.c).
 */
#ifndef OMR_REPORTS_H
#define OMR_REPORTS_H

#include <stddef.h>

#include <omniroute/plugin.h>

struct omr_buf;
struct omr_env;

/* Answer GET /api/v1/reports/queues, /agents or /contact-reasons (by
 * req->path; another path: 404). queues: the queues the caller may see
 * (a supervisor's), NULL: all; copied. The reply is sent exactly once,
 * now (a bad query: 400) or after Redis answered. */
void omr_reports_serve(const struct omr_env *env, char *const *queues,
		       const struct omr_http_request *req, omr_http_reply *reply);

/* The same reports for the console (a supervisor's websocket): kind
 * "queues", "agents" or "contact-reasons", query as the admin API's query
 * string (may be ""). cb is called exactly once, maybe before this
 * returns: status 200 with the content type and the body (JSON or CSV), or
 * 400 / 404 / 503 with the error code and a message for people. */
typedef void (*omr_reports_cb)(void *arg, int status, const char *type_or_code,
			       const char *body, size_t len);
void omr_reports_run(const struct omr_env *env, char *const *queues, const char *kind,
		     const char *query, omr_reports_cb cb, void *arg);

/* ---- the query ---- */

#define OMR_REPORTS_MAX_DAYS 400       /* the longest period, and how long figures are kept */
#define OMR_REPORTS_MAX_FINE_DAYS 31   /* the longest period of a 15m or hour series */
#define OMR_REPORTS_MAX_QUERY 2048     /* bytes of query string */

enum omr_reports_format { OMR_REPORTS_JSON, OMR_REPORTS_CSV };

struct omr_reports_query {
	long long from, to;            /* UTC days (since 1970-01-01), inclusive */
	int format;                    /* enum omr_reports_format */
	int interval;                  /* minutes of a series step (15, 60, 1440); 0: none */
	int days;                      /* N of the older form ?days=N; 0: not used */
};

enum omr_reports_parse {
	OMR_REPORTS_OK = 0,
	OMR_REPORTS_BAD_PARAMETER = -1, /* 400 bad_parameter; the message names it */
	OMR_REPORTS_BAD_QUERY = -2,     /* 400 bad_query: not a query string */
};

/* Parse a raw query string (as it came, percent-encoded) against today
 * (a UTC day number): from, to (YYYY-MM-DD, default today; to defaults to
 * today, from to `to`), or days=N (1..400: the last N days, the older
 * form), format (json, csv), interval (15m, hour, day). Unknown parameters
 * are ignored; a known one given twice, malformed or out of range is an
 * error. Returns enum omr_reports_parse with a message for people in err. */
int omr_reports_query_parse(const char *query, long long today, struct omr_reports_query *q,
			    char *err, size_t errlen);

/* "YYYY-MM-DD" (exactly, a real date from 1970-01-01 to 9999-12-31) as a
 * day number; 0 or -1. */
int omr_reports_date_parse(const char *s, size_t len, long long *day_r);
/* A day number as "YYYY-MM-DD" (out: 11 bytes at least). */
void omr_reports_date_str(long long day, char *out, size_t len);
/* Day number of a civil date, and back (proleptic Gregorian). */
long long omr_reports_days_from_civil(long long y, unsigned m, unsigned d);
void omr_reports_civil_from_days(long long day, long long *y, unsigned *m, unsigned *d);
/* ISO 8601 week of a day: "2031-W19" (out: 9 bytes at least). */
void omr_reports_iso_week(long long day, char *out, size_t len);

/* ---- CSV (RFC 4180) ---- */

/* One text field: quoted when it holds a comma, a quote, CR or LF (quotes
 * doubled); a field that starts with = + - @, a tab or CR gets a leading '
 * first, so that a spreadsheet shows it instead of running it as a
 * formula. Numbers are written as they are (omr_reports_csv_num). */
void omr_reports_csv_text(struct omr_buf *b, const char *s);
/* decimals < 0: ten significant digits; NaN or infinite: an empty field */
void omr_reports_csv_num(struct omr_buf *b, double v, int decimals);
void omr_reports_csv_int(struct omr_buf *b, long long v);
/* The separator after a field (",") and the end of a record (CRLF). */
void omr_reports_csv_sep(struct omr_buf *b);
void omr_reports_csv_end(struct omr_buf *b);

#endif
