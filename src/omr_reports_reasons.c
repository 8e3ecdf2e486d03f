/*
 * omr_reports_reasons: the contact-reason report's rows, one per reason
 * (docs/admin-api.md, "GET /api/v1/reports/contact-reasons"): count and
 * share, avoidable or not, the weekly trend, channels and queues, the
 * average handling time and the hours the reason costs per month, and for
 * an avoidable reason the treatment the value matrix suggests; and the
 * avoidable ones ranked by those hours, the list a supervisor acts on.
 *
 * The treatment (docs/routing.md, "Contact reasons"), first that holds:
 * the one configured for the reason; eliminate when an automatic answer
 * for it exists (a rule's answer, value.eliminate); self_service when the
 * bot tier resolved some of it in the period (the bot knows it);
 * otherwise eliminate (remove the trigger).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_reports_int.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_util.h"

#define OMR_REP_WEEKS 8          /* weekly counts shown per reason */
#define OMR_REP_MONTH_DAYS 30.0  /* a month, for the projection */

static long long omr_rr_n(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static double omr_rr_round(double v, double scale)
{
	return (double)(long long)(v * scale + (v < 0 ? -0.5 : 0.5)) / scale;
}

const struct omr_rep_reason *omr_rep_reason_of(const struct omr_rep *r, const char *name)
{
	for (size_t i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i].name, name) == 0)
			return &r->reasons[i];
	return NULL;
}

/* m|queue|channel|reason and b|... of the period, per reason */
static void omr_rr_sums(const struct omr_rep *r, json_t *ms, json_t *bot)
{
	const char *k;
	json_t *v;
	json_object_foreach(r->total, k, v) {
		const char *q, *c;
		if ((k[0] != 'm' && k[0] != 'b') || k[1] != '|')
			continue;
		q = k + 2;
		c = strchr(q, '|');
		if (!c || !strchr(c + 1, '|'))
			continue;
		char *queue = omr_strndup(q, (size_t)(c - q));
		int ok = omr_rep_queue_allowed(r, queue);
		free(queue);
		if (!ok)
			continue;
		const char *reason = strchr(c + 1, '|') + 1;
		json_t *into = k[0] == 'm' ? ms : bot;
		json_t *old = json_object_get(into, reason);
		json_object_set_new(into, reason,
				    json_integer(json_integer_value(old) + json_integer_value(v)));
	}
}

/* up, down or flat: the later half of the weeks against the earlier half
 * (an odd middle week left out), 10% either way; one week: against the
 * period before */
static const char *omr_rr_direction(const long long *w, size_t n, long long count, long long prev)
{
	double early = 0, late = 0;
	if (n < 2) {
		early = (double)prev;
		late = (double)count;
	} else {
		for (size_t i = 0; i < n / 2; i++) {
			early += (double)w[i];
			late += (double)w[n - 1 - i];
		}
	}
	if (late > early * 1.1 && late > early)
		return "up";
	if (late < early * 0.9)
		return "down";
	return "flat";
}

/* the ISO weeks of the period, oldest first, at most the last OMR_REP_WEEKS */
static size_t omr_rr_weeks(const struct omr_rep *r, char (*out)[16])
{
	size_t n = 0;
	char w[16];
	for (long long d = r->q.from; d <= r->q.to; d++) {
		omr_reports_iso_week(d, w, sizeof(w));
		if (n && strcmp(out[(n - 1) % OMR_REP_WEEKS], w) == 0)
			continue;
		memcpy(out[n % OMR_REP_WEEKS], w, sizeof(w));
		n++;
	}
	if (n > OMR_REP_WEEKS) { /* a ring: rotate the oldest first */
		char tmp[OMR_REP_WEEKS][16];
		for (size_t i = 0; i < OMR_REP_WEEKS; i++)
			memcpy(tmp[i], out[(n + i) % OMR_REP_WEEKS], 16);
		memcpy(out, tmp, sizeof(tmp));
		n = OMR_REP_WEEKS;
	}
	return n;
}

static json_t *omr_rr_trend(const struct omr_rep *r, const char *reason, const json_t *weeks,
			    long long count, long long prev)
{
	char names[OMR_REP_WEEKS][16];
	long long w[OMR_REP_WEEKS];
	size_t n = omr_rr_weeks(r, names);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		w[i] = omr_rr_n(json_object_get(weeks, names[i]), reason);
		json_array_append_new(list, json_pack("{s:s,s:I}", "week", names[i], "count",
						      (json_int_t)w[i]));
	}
	return json_pack("{s:o,s:I,s:s}", "weeks", list, "previous", (json_int_t)prev,
			 "direction", omr_rr_direction(w, n, count, prev));
}

/* {group: {reason: n}} -> [{label: group, count}] for one reason, most first */
static json_t *omr_rr_where(const json_t *groups, const char *reason, const char *label)
{
	json_t *out = json_array(), *g;
	const char *k;
	json_object_foreach((json_t *)groups, k, g) {
		long long n = omr_rr_n(g, reason);
		size_t i = 0;
		if (!n)
			continue;
		while (i < json_array_size(out) &&
		       omr_rr_n(json_array_get(out, i), "count") >= n)
			i++;
		json_array_insert_new(out, i, json_pack("{s:o,s:I}", label,
						       *k ? json_string(k) : json_null(), "count",
						       (json_int_t)n));
	}
	return out;
}

static void omr_rr_treatment(const struct omr_rep_reason *rc, long long bot, json_t *row)
{
	int t = rc->treatment;
	const char *basis = "configured";
	if (!rc->avoidable) {
		json_object_set_new(row, "treatment", json_null());
		return;
	}
	if (t < 0 && rc->automatic) {
		t = OMR_Q_ELIMINATE;
		basis = "automatic_answer";
	} else if (t < 0 && bot > 0) {
		t = OMR_Q_SELF_SERVICE;
		basis = "bot_resolves";
	} else if (t < 0) {
		t = OMR_Q_ELIMINATE;
		basis = "remove_cause";
	}
	json_object_set_new(row, "treatment", json_string(omr_quadrant_names[t]));
	json_object_set_new(row, "treatment_basis", json_string(basis));
}

static int omr_rr_cmp_count(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	long long ca = omr_rr_n(a, "count"), cb = omr_rr_n(b, "count");
	if (ca != cb)
		return ca < cb ? 1 : -1;
	return strcmp(json_string_value(json_object_get(a, "reason")),
		      json_string_value(json_object_get(b, "reason")));
}

static int omr_rr_cmp_hours(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	double ha = json_real_value(json_object_get(a, "hours_per_month"));
	double hb = json_real_value(json_object_get(b, "hours_per_month"));
	if (ha != hb)
		return ha < hb ? 1 : -1;
	return omr_rr_cmp_count(x, y);
}

/* rows of an array sorted by cmp, as a new array */
static json_t *omr_rr_sorted(json_t **rows, size_t n, int (*cmp)(const void *, const void *))
{
	json_t *out = json_array();
	qsort(rows, n, sizeof(*rows), cmp);
	for (size_t i = 0; i < n; i++)
		json_array_append(out, rows[i]);
	return out;
}

void omr_rep_reason_rows(const struct omr_rep *r, const struct omr_rep_reason_in *in,
			 json_t *out)
{
	json_t *ms = json_object(), *bot = json_object(), *v;
	size_t n = json_object_size(in->counts), i = 0, na = 0;
	json_t **rows = omr_calloc(n + 1, sizeof(*rows)), **av = omr_calloc(n + 1, sizeof(*av));
	long long total = 0, acount = 0;
	double days = (double)(r->q.to - r->q.from + 1), ahours = 0;
	const char *k;

	omr_rr_sums(r, ms, bot);
	json_object_foreach((json_t *)in->counts, k, v)
		total += json_integer_value(v);
	json_object_foreach((json_t *)in->counts, k, v) {
		long long c = json_integer_value(v), hms = omr_rr_n(ms, k);
		const struct omr_rep_reason *rc = omr_rep_reason_of(r, k);
		struct omr_rep_reason none = { .treatment = -1 };
		double hours = (double)hms * OMR_REP_MONTH_DAYS / days / 3600000.0;
		if (!rc)
			rc = &none; /* no longer configured: not avoidable */
		rows[i] = json_pack(
			"{s:s,s:I,s:f,s:b,s:o,s:o,s:o,s:o,s:f}", "reason", k, "count", (json_int_t)c,
			"share", total ? omr_rr_round((double)c / (double)total, 10000) : 0.0,
			"avoidable", rc->avoidable, "trend",
			omr_rr_trend(r, k, in->weeks, c, omr_rr_n(in->prev, k)), "channels",
			omr_rr_where(in->bych, k, "channel"), "queues",
			omr_rr_where(in->byq, k, "queue"), "avg_handle_s",
			c ? json_real(omr_rr_round((double)hms / (double)c / 1000.0, 10))
			  : json_null(),
			"hours_per_month", omr_rr_round(hours, 100));
		if (!rows[i])
			continue;
		json_object_set_new(rows[i], "bot_resolved", json_integer(omr_rr_n(bot, k)));
		omr_rr_treatment(rc, omr_rr_n(bot, k), rows[i]);
		if (rc->avoidable) {
			av[na++] = rows[i];
			acount += c;
			ahours += hours;
		}
		i++;
	}
	json_object_set_new(out, "reasons", omr_rr_sorted(rows, i, omr_rr_cmp_count));
	json_object_set_new(out, "avoidable",
			    json_pack("{s:I,s:f,s:f,s:o}", "count", (json_int_t)acount, "share",
				      total ? omr_rr_round((double)acount / (double)total, 10000)
					    : 0.0,
				      "hours_per_month", omr_rr_round(ahours, 100), "ranked",
				      omr_rr_sorted(av, na, omr_rr_cmp_hours)));
	for (size_t j = 0; j < i; j++)
		json_decref(rows[j]);
	free(rows);
	free(av);
	json_decref(ms);
	json_decref(bot);
}
