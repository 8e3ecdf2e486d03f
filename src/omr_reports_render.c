/*
 * omr_reports_render: the answer of a report (omr_reports_int.h), from the
 * fields read (report.lib: q|queue|channel|metric, s|queue|metric,
 * a|agent|metric, r|, o|, h|queue|channel|name, e|event|sign), in JSON or
 * CSV (docs/admin-api.md, "Reports"). Averages and rates are computed
 * here, from sums, so that any period adds up exactly.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_http.h"
#include "omr_reports_int.h"
#include "omr_util.h"

/* ---- fields ---- */

/* Split a field into n parts at '|' (the last one takes the rest); 0 or
 * -1 when it has fewer. Each part is copied into parts[i] (64 bytes, or
 * 256 for the last). */
struct omr_rep_field {
	char kind;
	char a[72], b[72], c[264];
};

static int omr_rep_field(const char *f, struct omr_rep_field *out, int n)
{
	char *dst[] = { out->a, out->b, out->c };
	size_t cap[] = { sizeof(out->a), sizeof(out->b), sizeof(out->c) };
	if (!f[0] || f[1] != '|')
		return -1;
	out->kind = f[0];
	f += 2;
	for (int i = 0; i < n; i++) {
		const char *bar = i + 1 < n ? strchr(f, '|') : NULL;
		size_t len = bar ? (size_t)(bar - f) : strlen(f);
		if (i + 1 < n && !bar)
			return -1;
		if (len >= cap[i])
			len = cap[i] - 1;
		memcpy(dst[i], f, len);
		dst[i][len] = '\0';
		f = bar ? bar + 1 : f + len;
	}
	return 0;
}

static long long omr_rep_n(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void omr_rep_inc(json_t *o, const char *k, long long n)
{
	json_t *v = json_object_get(o, k);
	if (v)
		json_integer_set(v, json_integer_value(v) + n);
	else
		json_object_set_new(o, k, json_integer(n));
}

static json_t *omr_rep_sub(json_t *map, const char *key)
{
	json_t *o = json_object_get(map, key);
	if (!o) {
		o = json_object();
		json_object_set_new(map, key, o);
	}
	return o;
}

/* half away from zero, without libm (decimals 0..3) */
static double omr_rep_round(double v, int decimals)
{
	static const double scale[] = { 1, 10, 100, 1000 };
	double f = scale[decimals < 0 ? 0 : decimals > 3 ? 3 : decimals];
	return (double)(long long)(v * f + (v < 0 ? -0.5 : 0.5)) / f;
}

/* num / den (scaled), rounded, or null when den is 0 */
static json_t *omr_rep_ratio(double num, double den, double scale, int decimals)
{
	return den > 0 ? json_real(omr_rep_round(num * scale / den, decimals)) : json_null();
}

static void omr_rep_csv_json(struct omr_buf *b, const json_t *v)
{
	if (json_is_integer(v))
		omr_reports_csv_int(b, (long long)json_integer_value(v));
	else if (json_is_real(v))
		omr_reports_csv_num(b, json_real_value(v), -1);
	else if (json_is_string(v))
		omr_reports_csv_text(b, json_string_value(v));
	/* null: an empty field */
}

/* {name: count} as [{label: name, "count": count}], most first */
static int omr_rep_cmp_count(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	long long ca = omr_rep_n(a, "count"), cb = omr_rep_n(b, "count");
	if (ca != cb)
		return ca < cb ? 1 : -1;
	return strcmp(json_string_value(json_object_get(a, "_k")),
		      json_string_value(json_object_get(b, "_k")));
}

static json_t *omr_rep_ranking(const json_t *counts, const char *label, const char *count)
{
	size_t n = json_object_size(counts), i = 0;
	json_t **rows = omr_calloc(n + 1, sizeof(*rows)), *out = json_array(), *v;
	const char *k;
	json_object_foreach((json_t *)counts, k, v) {
		rows[i] = json_pack("{s:s,s:I,s:s}", label, k, "count", (json_int_t)json_integer_value(v),
				    "_k", k);
		if (rows[i])
			i++;
	}
	qsort(rows, i, sizeof(*rows), omr_rep_cmp_count);
	for (size_t j = 0; j < i; j++) {
		json_object_del(rows[j], "_k");
		if (strcmp(count, "count") != 0) {
			json_object_set(rows[j], count, json_object_get(rows[j], "count"));
			json_object_del(rows[j], "count");
		}
		json_array_append_new(out, rows[j]);
	}
	free(rows);
	return out;
}

/* ---- times ---- */

static void omr_rep_iso_time(long long ms, char *out, size_t len)
{
	long long day = ms / 86400000, min = (ms % 86400000) / 60000;
	char d[16];
	omr_reports_date_str(day, d, sizeof(d));
	snprintf(out, len, "%sT%02lld:%02lld:00Z", d, min / 60, min % 60);
}

/* hours of [start, end) that have begun by now */
static double omr_rep_hours(const struct omr_rep *r, long long start, long long end)
{
	if (end > r->now)
		end = r->now;
	return end > start ? (double)(end - start) / 3600000.0 : 0;
}

/* ---- queues ---- */

static const struct omr_rep_queue *omr_rep_queue_conf(const struct omr_rep *r, const char *name)
{
	for (size_t i = 0; i < r->nqueues; i++)
		if (strcmp(r->queues[i].name, name) == 0)
			return &r->queues[i];
	return NULL;
}

/* fields -> {queue: {metric: n, "h": {reason: n}}}, {channel: {metric: n}} */
static void omr_rep_queue_sums(const struct omr_rep *r, const json_t *fields, json_t *byq,
			       json_t *bych)
{
	struct omr_rep_field f;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)fields, k, v) {
		long long n = json_integer_value(v);
		if (k[0] == 's' && omr_rep_field(k, &f, 2) == 0 && f.a[0] &&
		    omr_rep_queue_allowed(r, f.a)) {
			omr_rep_inc(omr_rep_sub(byq, f.a), f.b, n);
		} else if ((k[0] == 'q' || k[0] == 'h') && omr_rep_field(k, &f, 3) == 0 && f.a[0] &&
			   omr_rep_queue_allowed(r, f.a)) {
			json_t *q = omr_rep_sub(byq, f.a);
			if (k[0] == 'h') {
				omr_rep_inc(omr_rep_sub(q, "h"), f.c, n);
				continue;
			}
			omr_rep_inc(q, f.c, n);
			if (f.b[0])
				omr_rep_inc(omr_rep_sub(bych, f.b), f.c, n);
		}
	}
}

/* the satisfaction answers of m's fields: how many, and their average (1-5) */
static json_t *omr_rep_with_csat(json_t *row, const json_t *m)
{
	long long n = omr_rep_n(m, "csat_n");
	json_object_set_new(row, "csat_responses", json_integer(n));
	json_object_set_new(row, "csat_avg",
			    omr_rep_ratio((double)omr_rep_n(m, "csat_sum"), (double)n, 1, 2));
	return row;
}

static json_t *omr_rep_queue_row(const struct omr_rep *r, const char *name, const json_t *m,
				 double hours)
{
	const struct omr_rep_queue *qc = omr_rep_queue_conf(r, name);
	int sla = qc && qc->sla_target > 0;
	long long answered = omr_rep_n(m, "answered"), in_sla = omr_rep_n(m, "in_sla");
	long long handled = omr_rep_n(m, "handled"), offered = omr_rep_n(m, "offered");
	json_t *reasons = json_object_get(m, "h");
	return omr_rep_with_csat(json_pack(
		"{s:s,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:I,s:o,s:I,s:I,s:o,s:o,s:I,s:I}", "queue", name,
		"offered", (json_int_t)offered, "answered", (json_int_t)answered, "handled",
		(json_int_t)handled, "abandoned", (json_int_t)omr_rep_n(m, "abandoned"),
		"answered_within_sla", sla ? json_integer(in_sla) : json_null(), "sla_attainment",
		sla ? omr_rep_ratio((double)in_sla,
				    (double)(answered + omr_rep_n(m, "abandon_late")), 100, 2)
		    : json_null(),
		"avg_speed_of_answer_s",
		omr_rep_ratio((double)omr_rep_n(m, "wait_ms"), (double)answered, 0.001, 3),
		"avg_handle_s", omr_rep_ratio((double)omr_rep_n(m, "handle_ms"), (double)handled, 0.001, 3),
		"transfers", (json_int_t)omr_rep_n(m, "transfers"), "conversations_per_hour",
		omr_rep_ratio((double)offered, hours, 1, 2), "bot_contained",
		(json_int_t)omr_rep_n(m, "bot_contained"), "bot_handoffs",
		(json_int_t)omr_rep_n(m, "bot_handoffs"), "handoff_reasons",
		omr_rep_ranking(reasons, "reason", "count"), "sla",
		sla ? json_pack("{s:I,s:I}", "target", (json_int_t)qc->sla_target, "within_s",
				(json_int_t)(qc->sla_within / 1000))
		    : json_null(),
		"abandoned_after_sla", (json_int_t)(sla ? omr_rep_n(m, "abandon_late") : 0),
		"moved_out", (json_int_t)omr_rep_n(m, "moved_out")), m);
}

static int omr_rep_cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The names to list, a NULL-terminated array of borrowed strings: the
 * configured ones (conf) first, in their order, each when it was read
 * (seen) or when all; then, when others, those read that are not
 * configured, sorted. */
static const char **omr_rep_names(const json_t *seen, const char *const *conf, size_t nconf,
				  int all, int others)
{
	size_t n = 0, first;
	const char **out = omr_calloc(nconf + json_object_size(seen) + 1, sizeof(*out));
	const char *k;
	json_t *v;
	for (size_t i = 0; i < nconf; i++)
		if (all || json_object_get(seen, conf[i]))
			out[n++] = conf[i];
	first = n;
	json_object_foreach((json_t *)seen, k, v) {
		size_t i;
		for (i = 0; i < nconf && strcmp(conf[i], k) != 0; i++)
			;
		if (i == nconf && others)
			out[n++] = k;
	}
	qsort(out + first, n - first, sizeof(*out), omr_rep_cmp_str);
	return out;
}

static json_t *omr_rep_queue_rows(const struct omr_rep *r, const json_t *byq, double hours,
				  int all)
{
	const char **conf = omr_calloc(r->nqueues + 1, sizeof(*conf));
	json_t *rows = json_array();
	for (size_t i = 0; i < r->nqueues; i++)
		conf[i] = r->queues[i].name;
	const char **names = omr_rep_names(byq, conf, r->nqueues, all, 1);
	for (size_t i = 0; names[i]; i++) {
		const json_t *m = json_object_get(byq, names[i]);
		json_t *row = omr_rep_queue_row(r, names[i], m, hours);
		if (row)
			json_array_append_new(rows, row);
	}
	free(names);
	free(conf);
	return rows;
}

static json_t *omr_rep_channel_rows(const json_t *bych)
{
	json_t *rows = json_array(), *m;
	const char **names = omr_rep_names(bych, NULL, 0, 0, 1);
	for (size_t i = 0; names[i]; i++) {
		m = json_object_get(bych, names[i]);
		long long handled = omr_rep_n(m, "handled");
		json_array_append_new(
			rows, omr_rep_with_csat(json_pack("{s:s,s:I,s:I,s:I,s:o,s:I,s:I,s:I}", "channel", names[i],
					"offered", (json_int_t)omr_rep_n(m, "offered"), "handled",
					(json_int_t)handled, "abandoned",
					(json_int_t)omr_rep_n(m, "abandoned"), "avg_handle_s",
					omr_rep_ratio((double)omr_rep_n(m, "handle_ms"), (double)handled,
						      0.001, 3),
					"transfers", (json_int_t)omr_rep_n(m, "transfers"),
					"bot_contained", (json_int_t)omr_rep_n(m, "bot_contained"),
					"bot_handoffs", (json_int_t)omr_rep_n(m, "bot_handoffs")), m));
	}
	free(names);
	return rows;
}

/* ---- agents ---- */

static json_t *omr_rep_agent_rows(const struct omr_rep *r, const json_t *fields, int all)
{
	json_t *bya = json_object(), *rows = json_array();
	struct omr_rep_field f;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)fields, k, v) {
		if (k[0] == 'a' && omr_rep_field(k, &f, 2) == 0 && f.a[0])
			omr_rep_inc(omr_rep_sub(bya, f.a), f.b, json_integer_value(v));
	}
	const char **conf = omr_calloc(r->nagents + 1, sizeof(*conf));
	for (size_t i = 0; i < r->nagents; i++)
		conf[i] = r->agents[i].id;
	/* a supervisor of some queues sees the agents who serve them now */
	const char **names = omr_rep_names(bya, conf, r->nagents, all, !r->allowed);
	for (size_t i = 0; names[i]; i++) {
		const json_t *m = json_object_get(bya, names[i]);
		const char *name = NULL;
		long long handled = omr_rep_n(m, "handled");
		for (size_t j = 0; j < r->nagents; j++)
			if (strcmp(r->agents[j].id, names[i]) == 0)
				name = r->agents[j].name;
		json_array_append_new(
			rows, omr_rep_with_csat(json_pack("{s:s,s:s?,s:I,s:I,s:I,s:I,s:I,s:o,s:I}", "agent", names[i],
					"name", name, "offered", (json_int_t)omr_rep_n(m, "offered"),
					"accepted", (json_int_t)omr_rep_n(m, "accepted"), "rejected",
					(json_int_t)omr_rep_n(m, "rejected"), "missed",
					(json_int_t)omr_rep_n(m, "missed"), "handled", (json_int_t)handled,
					"avg_handle_s",
					omr_rep_ratio((double)omr_rep_n(m, "handle_ms"), (double)handled,
						      0.001, 3),
					"transfers", (json_int_t)omr_rep_n(m, "transfers")), m));
	}
	free(names);
	free(conf);
	json_decref(bya);
	return rows;
}

/* ---- series ---- */

static int omr_rep_cmp_ms(const void *x, const void *y)
{
	long long a = atoll(*(const char *const *)x), b = atoll(*(const char *const *)y);
	return a < b ? -1 : a > b;
}

/* [{start, <what>: rows}] in time order */
static json_t *omr_rep_series(const struct omr_rep *r, const char *what)
{
	json_t *out = json_array();
	const char **keys = omr_rep_names(r->series, NULL, 0, 0, 1);
	size_t n = 0;
	while (keys[n])
		n++;
	qsort(keys, n, sizeof(*keys), omr_rep_cmp_ms);
	for (size_t i = 0; i < n; i++) {
		const json_t *fields = json_object_get(r->series, keys[i]);
		long long start = atoll(keys[i]), step = (long long)r->q.interval * 60000;
		char at[32];
		json_t *rows;
		omr_rep_iso_time(start, at, sizeof(at));
		if (r->kind == OMR_REP_QUEUES) {
			json_t *byq = json_object(), *bych = json_object();
			omr_rep_queue_sums(r, fields, byq, bych);
			rows = omr_rep_queue_rows(r, byq, omr_rep_hours(r, start, start + step), 0);
			json_decref(byq);
			json_decref(bych);
		} else {
			rows = omr_rep_agent_rows(r, fields, 0);
		}
		if (json_array_size(rows))
			json_array_append_new(out, json_pack("{s:s,s:o}", "start", at, what, rows));
		else
			json_decref(rows);
	}
	free(keys);
	return out;
}

/* ---- contact reasons ---- */

/* r|queue|channel|reason and o|... -> counts by reason, outcome, channel, queue */
static void omr_rep_reason_sums(const struct omr_rep *r, const json_t *fields, json_t *reasons,
				json_t *outcomes, json_t *bych, json_t *byq)
{
	struct omr_rep_field f;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)fields, k, v) {
		long long n = json_integer_value(v);
		if ((k[0] != 'r' && k[0] != 'o') || omr_rep_field(k, &f, 3) < 0 || !f.c[0] ||
		    !omr_rep_queue_allowed(r, f.a))
			continue;
		if (k[0] == 'o') {
			if (outcomes)
				omr_rep_inc(outcomes, f.c, n);
			continue;
		}
		omr_rep_inc(reasons, f.c, n);
		if (bych && f.b[0])
			omr_rep_inc(omr_rep_sub(bych, f.b), f.c, n);
		if (byq)
			omr_rep_inc(omr_rep_sub(byq, f.a), f.c, n);
	}
}

static long long omr_rep_sum(const json_t *counts)
{
	long long t = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)counts, k, v)
		t += json_integer_value(v);
	return t;
}

/* {group: {reason: n}} as [{label: group, total, reasons: [...]}] */
static json_t *omr_rep_groups(const json_t *groups, const char *label, int null_empty)
{
	json_t *out = json_array();
	const char **names = omr_rep_names(groups, NULL, 0, 0, 1);
	for (size_t i = 0; names[i]; i++) {
		const json_t *g = json_object_get(groups, names[i]);
		json_array_append_new(out, json_pack("{s:o,s:I,s:o}", label,
						     null_empty && !names[i][0] ? json_null()
										: json_string(names[i]),
						     "total", (json_int_t)omr_rep_sum(g), "reasons",
						     omr_rep_ranking(g, "reason", "count")));
	}
	free(names);
	return out;
}

static int omr_rep_cmp_trend(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	long long ca = omr_rep_n(a, "change"), cb = omr_rep_n(b, "change");
	if (ca != cb)
		return ca < cb ? 1 : -1;
	ca = omr_rep_n(a, "count");
	cb = omr_rep_n(b, "count");
	if (ca != cb)
		return ca < cb ? 1 : -1;
	return strcmp(json_string_value(json_object_get(a, "reason")),
		      json_string_value(json_object_get(b, "reason")));
}

/* every reason of either period: count, previous, change, growth_pct; the
 * ones that grow most first */
static json_t *omr_rep_trend(const json_t *now, const json_t *before)
{
	json_t *all = json_deep_copy(now), *out = json_array(), **rows;
	const char *k;
	json_t *v;
	size_t n = 0;
	json_object_foreach((json_t *)before, k, v)
		if (!json_object_get(all, k))
			json_object_set_new(all, k, json_integer(0));
	rows = omr_calloc(json_object_size(all) + 1, sizeof(*rows));
	json_object_foreach(all, k, v) {
		long long c = json_integer_value(v), p = omr_rep_n(before, k);
		rows[n] = json_pack("{s:s,s:I,s:I,s:I,s:o}", "reason", k, "count", (json_int_t)c,
				    "previous", (json_int_t)p, "change", (json_int_t)(c - p),
				    "growth_pct", omr_rep_ratio((double)(c - p), (double)p, 100, 1));
		if (rows[n])
			n++;
	}
	qsort(rows, n, sizeof(*rows), omr_rep_cmp_trend);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(out, rows[i]);
	free(rows);
	json_decref(all);
	return out;
}

static json_t *omr_rep_engagement(const struct omr_rep *r)
{
	json_t *dep = json_object(), *wd = json_object(), *num = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(r->total, k, v) {
		size_t len = strlen(k);
		if (k[0] != 'e' || k[1] != '|' || len < 5 || k[len - 2] != '|')
			continue;
		char *event = omr_strndup(k + 2, len - 4);
		/* e|<event>|+ and - are points, e|<event>|n how often (engage.lib) */
		omr_rep_inc(k[len - 1] == '+' ? dep : k[len - 1] == 'n' ? num : wd, event,
			    json_integer_value(v));
		free(event);
	}
	json_int_t received = json_integer_value(json_object_get(num, "complaint"));
	json_int_t recovered = json_integer_value(json_object_get(num, "complaint_recovered"));
	json_decref(num);
	json_t *out = json_pack(
		"{s:I,s:I,s:o,s:{s:I,s:o},s:{s:I,s:o},s:{s:I,s:I}}", "threshold",
		(json_int_t)r->low, "at_risk",
		(json_int_t)r->at_risk, "lowest", r->lowest ? json_incref(r->lowest) : json_array(),
		"deposits",
		"points", (json_int_t)omr_rep_sum(dep), "by_event",
		omr_rep_ranking(dep, "event", "points"), "withdrawals", "points",
		(json_int_t)omr_rep_sum(wd), "by_event", omr_rep_ranking(wd, "event", "points"),
		"complaints", "received", received, "recovered", recovered);
	json_decref(dep);
	json_decref(wd);
	return out;
}

static json_t *omr_rep_reasons(const struct omr_rep *r)
{
	json_t *reasons = json_object(), *outcomes = json_object(), *bych = json_object();
	json_t *byq = json_object(), *prev = json_object(), *weeks = json_object();
	char f[16], t[16];
	const char *k;
	json_t *v;

	omr_rep_reason_sums(r, r->total, reasons, outcomes, bych, byq);
	omr_rep_reason_sums(r, r->prev, prev, NULL, NULL, NULL);
	json_object_foreach(r->weeks, k, v) {
		json_t *w = json_object();
		omr_rep_reason_sums(r, v, w, NULL, NULL, NULL);
		json_object_set_new(weeks, k, w);
	}
	omr_reports_date_str(r->prev_from, f, sizeof(f));
	omr_reports_date_str(r->prev_to, t, sizeof(t));
	json_t *out = json_pack("{s:I,s:o,s:o,s:{s:s,s:s},s:o,s:o,s:o,s:o}", "total",
				(json_int_t)omr_rep_sum(reasons), "outcomes",
				omr_rep_ranking(outcomes, "outcome", "count"), "trend",
				omr_rep_trend(reasons, prev), "previous", "from", f, "to", t,
				"by_channel", omr_rep_groups(bych, "channel", 0), "by_queue",
				omr_rep_groups(byq, "queue", 1), "by_week",
				omr_rep_groups(weeks, "week", 0), "engagement", omr_rep_engagement(r));
	struct omr_rep_reason_in in = { reasons, prev, weeks, bych, byq };
	if (out)
		omr_rep_reason_rows(r, &in, out);
	json_decref(reasons);
	json_decref(outcomes);
	json_decref(bych);
	json_decref(byq);
	json_decref(prev);
	json_decref(weeks);
	return out;
}

/* ---- CSV ---- */

static void omr_rep_csv_rows(struct omr_buf *b, const char *at, const json_t *rows,
			     const char *const *cols)
{
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		if (at) {
			omr_reports_csv_text(b, at);
			omr_reports_csv_sep(b);
		}
		for (size_t c = 0; cols[c]; c++) {
			const json_t *v = json_object_get(row, cols[c]);
			if (c)
				omr_reports_csv_sep(b);
			if (json_is_array(v)) { /* handoff reasons: "reason: n; ..." */
				struct omr_buf cell;
				size_t j;
				json_t *e;
				omr_buf_init(&cell);
				json_array_foreach(v, j, e)
					omr_buf_printf(&cell, "%s%s: %lld", j ? "; " : "",
						       json_string_value(json_object_get(e, "reason")),
						       (long long)omr_rep_n(e, "count"));
				omr_reports_csv_text(b, cell.data ? cell.data : "");
				omr_buf_free(&cell);
			} else {
				omr_rep_csv_json(b, v);
			}
		}
		omr_reports_csv_end(b);
	}
}

static void omr_rep_csv_table(struct omr_buf *b, const struct omr_rep *r, const json_t *out,
			      const char *what, const char *const *cols)
{
	if (r->q.interval)
		omr_buf_puts(b, "interval_start,");
	for (size_t c = 0; cols[c]; c++) {
		if (c)
			omr_reports_csv_sep(b);
		omr_reports_csv_text(b, cols[c]);
	}
	omr_reports_csv_end(b);
	if (!r->q.interval) {
		omr_rep_csv_rows(b, NULL, json_object_get(out, what), cols);
		return;
	}
	size_t i;
	json_t *step;
	json_array_foreach(json_object_get(out, "series"), i, step)
		omr_rep_csv_rows(b, json_string_value(json_object_get(step, "start")),
				 json_object_get(step, what), cols);
}

/* section,group,name,count,previous,change */
static void omr_rep_csv_line(struct omr_buf *b, const char *section, const char *group,
			     const char *name, long long count, const json_t *prev,
			     const json_t *change)
{
	omr_reports_csv_text(b, section);
	omr_reports_csv_sep(b);
	omr_reports_csv_text(b, group);
	omr_reports_csv_sep(b);
	omr_reports_csv_text(b, name);
	omr_reports_csv_sep(b);
	omr_reports_csv_int(b, count);
	omr_reports_csv_sep(b);
	omr_rep_csv_json(b, prev);
	omr_reports_csv_sep(b);
	omr_rep_csv_json(b, change);
	omr_reports_csv_end(b);
}

static void omr_rep_csv_groups(struct omr_buf *b, const char *section, const json_t *groups,
			       const char *label)
{
	size_t i, j;
	json_t *g, *e;
	json_array_foreach(groups, i, g) {
		const char *name = json_string_value(json_object_get(g, label));
		json_array_foreach(json_object_get(g, "reasons"), j, e)
			omr_rep_csv_line(b, section, name ? name : "",
					 json_string_value(json_object_get(e, "reason")),
					 omr_rep_n(e, "count"), NULL, NULL);
	}
}

static void omr_rep_csv_reasons(struct omr_buf *b, const json_t *out)
{
	const json_t *eng = json_object_get(out, "engagement");
	size_t i;
	json_t *e;
	omr_buf_puts(b, "section,group,name,count,previous,change\r\n");
	json_array_foreach(json_object_get(out, "trend"), i, e)
		omr_rep_csv_line(b, "reason", "", json_string_value(json_object_get(e, "reason")),
				 omr_rep_n(e, "count"), json_object_get(e, "previous"),
				 json_object_get(e, "change"));
	json_array_foreach(json_object_get(out, "outcomes"), i, e)
		omr_rep_csv_line(b, "outcome", "", json_string_value(json_object_get(e, "outcome")),
				 omr_rep_n(e, "count"), NULL, NULL);
	omr_rep_csv_groups(b, "channel", json_object_get(out, "by_channel"), "channel");
	omr_rep_csv_groups(b, "queue", json_object_get(out, "by_queue"), "queue");
	omr_rep_csv_groups(b, "week", json_object_get(out, "by_week"), "week");
	json_array_foreach(json_object_get(json_object_get(eng, "deposits"), "by_event"), i, e)
		omr_rep_csv_line(b, "deposit", "", json_string_value(json_object_get(e, "event")),
				 omr_rep_n(e, "points"), NULL, NULL);
	json_array_foreach(json_object_get(json_object_get(eng, "withdrawals"), "by_event"), i, e)
		omr_rep_csv_line(b, "withdrawal", "", json_string_value(json_object_get(e, "event")),
				 omr_rep_n(e, "points"), NULL, NULL);
	omr_rep_csv_line(b, "at_risk", "", "customers", omr_rep_n(eng, "at_risk"), NULL, NULL);
	const json_t *cp = json_object_get(eng, "complaints");
	omr_rep_csv_line(b, "complaints", "", "received", omr_rep_n(cp, "received"), NULL, NULL);
	omr_rep_csv_line(b, "complaints", "", "recovered", omr_rep_n(cp, "recovered"), NULL, NULL);
}

/* ---- the answer ---- */

static const char *const omr_rep_queue_cols[] = {
	"queue", "offered", "answered", "handled", "abandoned", "answered_within_sla",
	"sla_attainment", "avg_speed_of_answer_s", "avg_handle_s", "transfers",
	"conversations_per_hour", "bot_contained", "bot_handoffs", "handoff_reasons",
	"csat_responses", "csat_avg", NULL
};
static const char *const omr_rep_agent_cols[] = {
	"agent", "name", "offered", "accepted", "rejected", "missed", "handled", "avg_handle_s",
	"transfers", "csat_responses", "csat_avg", NULL
};
static const char *const omr_rep_names_of[] = { "queues", "agents", "contact-reasons" };

void omr_rep_render(struct omr_rep *r)
{
	char f[16], t[16];
	json_t *out;

	omr_reports_date_str(r->q.from, f, sizeof(f));
	omr_reports_date_str(r->q.to, t, sizeof(t));
	if (r->kind == OMR_REP_REASONS) {
		out = omr_rep_reasons(r);
	} else if (r->kind == OMR_REP_QUEUES) {
		json_t *byq = json_object(), *bych = json_object();
		omr_rep_queue_sums(r, r->total, byq, bych);
		out = json_pack("{s:o,s:o}", "queues",
				omr_rep_queue_rows(r, byq,
						   omr_rep_hours(r, r->q.from * 86400000,
								 (r->q.to + 1) * 86400000),
						   1),
				"channels", omr_rep_channel_rows(bych));
		json_decref(byq);
		json_decref(bych);
	} else {
		out = json_pack("{s:o}", "agents", omr_rep_agent_rows(r, r->total, 1));
	}
	json_object_set_new(out, "from", json_string(f));
	json_object_set_new(out, "to", json_string(t));
	json_object_set_new(out, "days", json_integer(r->q.to - r->q.from + 1));
	json_object_set_new(out, "generated_at", json_integer(r->now));
	if (r->q.interval) {
		json_object_set_new(out, "interval",
				    json_string(r->q.interval == 15	? "15m"
						: r->q.interval == 60 ? "hour"
								      : "day"));
		json_object_set_new(out, "series",
				    omr_rep_series(r, r->kind == OMR_REP_QUEUES ? "queues" : "agents"));
	}

	struct omr_buf b;
	omr_buf_init(&b);
	if (r->q.format == OMR_REPORTS_CSV) {
		char disp[128];
		if (r->kind == OMR_REP_REASONS)
			omr_rep_csv_reasons(&b, out);
		else if (r->kind == OMR_REP_QUEUES)
			omr_rep_csv_table(&b, r, out, "queues", omr_rep_queue_cols);
		else
			omr_rep_csv_table(&b, r, out, "agents", omr_rep_agent_cols);
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s-%s-%s.csv\"",
			 omr_rep_names_of[r->kind], f, t);
		omr_rep_send(r, "text/csv; charset=utf-8; header=present", disp, b.data, b.len);
	} else {
		/* ten significant digits: 12.345, not 12.345000000000001 */
		char *s = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(10));
		if (s) {
			omr_buf_puts(&b, s);
			omr_buf_puts(&b, "\n");
			free(s);
			omr_rep_send(r, "application/json", NULL, b.data, b.len);
		} else {
			omr_rep_error(r, 500, "internal", "cannot encode the report");
		}
	}
	omr_buf_free(&b);
	json_decref(out);
}
