/*
 * omr_reports: see omr_reports.h. This file: a report from the request to
 * the figures read. The query is checked first (400 before any Redis
 * work); then the days of the period (and, for contact reasons, of the
 * period before it) are read from Redis a few at a time
 * (src/lua/report_get.lua: a day summed from its 96 buckets costs 96
 * reads, so one call never holds Redis long), each answer added up into
 * the report's totals, and omr_reports_render.c writes the answer.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omr_agents_conf.h"
#include "omr_config.h"
#include "omr_env.h"
#include "omr_http.h"
#include "omr_log.h"
#include "omr_redis.h"
#include "omr_reports_int.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_REP_DAYS_PER_CALL 16 /* days asked per call (it answers fewer when it sums buckets) */
#define OMR_REP_LOWEST 10        /* customers at risk listed by name */

static const struct {
	const char *path;
	enum omr_rep_kind kind;
	const char *only;            /* the kinds of field it reads (report.lib) */
} omr_rep_kinds[] = {
	{ "/api/v1/reports/queues", OMR_REP_QUEUES, "qsh" },
	{ "/api/v1/reports/agents", OMR_REP_AGENTS, "a" },
	{ "/api/v1/reports/contact-reasons", OMR_REP_REASONS, "roemb" },
};

int omr_rep_queue_allowed(const struct omr_rep *r, const char *queue)
{
	return !r->allowed || (queue && omr_strv_has(r->allowed, queue));
}

static void omr_rep_free(struct omr_rep *r)
{
	for (size_t i = 0; i < r->nqueues; i++)
		free(r->queues[i].name);
	for (size_t i = 0; i < r->nagents; i++) {
		free(r->agents[i].id);
		free(r->agents[i].name);
	}
	for (size_t i = 0; i < r->nreasons; i++)
		free(r->reasons[i].name);
	free(r->reasons);
	free(r->queues);
	free(r->agents);
	free(r->days);
	omr_strv_free(r->allowed);
	json_decref(r->total);
	json_decref(r->prev);
	json_decref(r->weeks);
	json_decref(r->series);
	json_decref(r->lowest);
	free(r);
}

/* ---- adding up ---- */

static void omr_rep_add(json_t *into, const char *field, long long n)
{
	json_t *v = json_object_get(into, field);
	if (v)
		json_integer_set(v, json_integer_value(v) + n);
	else
		json_object_set_new(into, field, json_integer(n));
}

static json_t *omr_rep_slot(json_t *map, const char *key)
{
	json_t *o = json_object_get(map, key);
	if (!o) {
		o = json_object();
		json_object_set_new(map, key, o);
	}
	return o;
}

/* One element of report_get's answer: { day or bucket start, { field, value, ... } } */
static void omr_rep_take(struct omr_rep *r, const redisReply *row, int detail)
{
	long long at = omr_reply_int(omr_reply_elem(row, 0), -1);
	const redisReply *h = omr_reply_elem(row, 1);
	long long day = detail ? at / 86400000 : at;
	json_t *step = NULL, *week = NULL, *into;
	char key[32];

	if (at < 0 || !h || h->type != REDIS_REPLY_ARRAY)
		return;
	if (day >= r->q.from && day <= r->q.to) {
		into = r->total;
		if (r->q.interval) {
			long long ms = detail ? at - at % ((long long)r->q.interval * 60000) : day * 86400000;
			snprintf(key, sizeof(key), "%lld", ms);
			step = omr_rep_slot(r->series, key);
		}
		if (r->kind == OMR_REP_REASONS) {
			omr_reports_iso_week(day, key, sizeof(key));
			week = omr_rep_slot(r->weeks, key);
		}
	} else if (day >= r->prev_from && day <= r->prev_to) {
		into = r->prev;
	} else {
		return;
	}
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		const char *f = omr_reply_str(h->element[i]);
		long long n = omr_reply_int(h->element[i + 1], 0);
		if (!f || n == 0)
			continue;
		omr_rep_add(into, f, n);
		if (step)
			omr_rep_add(step, f, n);
		if (week)
			omr_rep_add(week, f, n);
	}
}

static void omr_rep_next(struct omr_rep *r);

static void omr_rep_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_rep *r = arg;
	struct omr_lua_report_get_reply g;

	if (err || omr_lua_report_get_reply(reply, &g) < 2 || !g.days ||
	    g.days->type != REDIS_REPLY_ARRAY) {
		omr_log_warn("report %s: %s", omr_rep_kinds[r->kind].path, err ? err : "bad reply");
		omr_rep_error(r, 503, "unavailable", "storage unavailable");
		omr_rep_free(r);
		return;
	}
	r->now = g.now;
	/* the script answers the first `done` days asked (it stops after
	 * about a day's worth of buckets): ask again from there */
	if (g.done < 1 || (size_t)g.done > r->asked) {
		omr_log_warn("report %s: bad reply (done %lld)", omr_rep_kinds[r->kind].path, g.done);
		omr_rep_error(r, 503, "unavailable", "storage unavailable: bad reply");
		omr_rep_free(r);
		return;
	}
	r->next += (size_t)g.done;
	for (size_t i = 0; i < g.days->elements; i++)
		omr_rep_take(r, g.days->element[i], r->q.interval && r->q.interval < 1440);
	if (g.lowest && g.lowest->type == REDIS_REPLY_ARRAY && !r->lowest) {
		r->at_risk = g.at_risk;
		r->lowest = json_array();
		for (size_t i = 0; i + 2 < g.lowest->elements; i += 3) {
			const char *id = omr_reply_str(g.lowest->element[i]);
			const char *name = omr_reply_str(g.lowest->element[i + 2]);
			if (!id)
				continue;
			json_t *c = json_pack("{s:s,s:s?,s:I}", "customer", id, "name",
					      name && *name ? name : NULL, "balance",
					      (json_int_t)omr_reply_int(g.lowest->element[i + 1], 0));
			if (c)
				json_array_append_new(r->lowest, c);
		}
	}
	if (r->next < r->ndays) {
		omr_rep_next(r);
		return;
	}
	omr_rep_render(r);
	omr_rep_free(r);
}

/* Ask for the next few days. */
static void omr_rep_next(struct omr_rep *r)
{
	int detail = r->q.interval && r->q.interval < 1440;
	size_t n = detail ? 1 : OMR_REP_DAYS_PER_CALL;
	char(*texts)[24];
	const char **argv;

	if (n > r->ndays - r->next)
		n = r->ndays - r->next;
	texts = omr_calloc(n, sizeof(*texts));
	argv = omr_calloc(n, sizeof(*argv));
	for (size_t i = 0; i < n; i++) {
		snprintf(texts[i], sizeof(texts[i]), "%lld", r->days[r->next + i]);
		argv[i] = texts[i];
	}
	struct omr_lua_report_get_args a = {
		.detail = detail,
		.only = omr_rep_kinds[r->kind].only,
		.low = r->low,
		.risk = r->kind == OMR_REP_REASONS && r->next == 0 ? OMR_REP_LOWEST : 0,
		.days = argv,
		.ndays = n,
	};
	r->asked = n;
	omr_lua_report_get(r->store, &a, omr_rep_cb, r);
	free(argv);
	free(texts);
}

/* ---- the request ---- */

/* Whether an automatic answer counts its contacts under reason. */
static int omr_rep_automatic(const struct omr_routing_conf *rc, const char *reason)
{
	if (rc->value.eliminate.text && rc->value.eliminate.reason &&
	    strcmp(rc->value.eliminate.reason, reason) == 0)
		return 1;
	for (size_t i = 0; i < rc->nrules; i++) {
		const struct omr_rule *rule = &rc->rules[i];
		const char *as = rule->answer.reason ? rule->answer.reason : rule->name;
		if (rule->answer.text && as && strcmp(as, reason) == 0)
			return 1;
	}
	return 0;
}

/* What the contact-reason report needs of the reasons, copied. */
static void omr_rep_config_reasons(struct omr_rep *r, const struct omr_routing_conf *rc)
{
	r->reasons = omr_calloc(rc->nreasons + 1, sizeof(*r->reasons));
	for (size_t i = 0; i < rc->nreasons; i++) {
		const struct omr_reason_conf *c = &rc->reason_info[i];
		r->reasons[i].name = omr_strdup(c->name);
		r->reasons[i].avoidable = c->avoidable;
		r->reasons[i].treatment = c->treatment;
		r->reasons[i].automatic = omr_rep_automatic(rc, c->name);
	}
	r->nreasons = rc->nreasons;
}

/* What the report needs of the configuration, copied. */
static void omr_rep_config(struct omr_rep *r, const struct omr_config *cfg)
{
	const struct omr_routing_conf *rc = cfg->routing;
	const struct omr_agents_conf *ac = cfg->agents;

	omr_rep_config_reasons(r, rc);
	r->low = rc->engagement.low;
	r->queues = omr_calloc(rc->nqueues + 1, sizeof(*r->queues));
	for (size_t i = 0; i < rc->nqueues; i++) {
		const struct omr_queue_conf *q = &rc->queues[i];
		if (!omr_rep_queue_allowed(r, q->name))
			continue;
		r->queues[r->nqueues].name = omr_strdup(q->name);
		r->queues[r->nqueues].sla_target = q->sla.target;
		r->queues[r->nqueues].sla_within = q->sla.within;
		r->nqueues++;
	}
	r->agents = omr_calloc((ac ? ac->nagents : 0) + 1, sizeof(*r->agents));
	for (size_t i = 0; ac && i < ac->nagents; i++) {
		const struct omr_agent_conf *a = &ac->agents[i];
		if (!(a->roles & OMR_ROLE_AGENT) || !omr_route_oversees(r->allowed, rc, a))
			continue;
		r->agents[r->nagents].id = omr_strdup(a->id);
		r->agents[r->nagents].name = omr_strdup(a->name ? a->name : a->id);
		r->nagents++;
	}
}

static void omr_rep_plan(struct omr_rep *r)
{
	long long len = r->q.to - r->q.from + 1;
	r->prev_from = 1;
	r->prev_to = 0;
	if (r->kind == OMR_REP_REASONS) {
		/* the trend: the period of the same length before */
		r->prev_to = r->q.from - 1;
		r->prev_from = r->q.from - len;
		if (r->prev_from < 0)
			r->prev_from = 0;
	}
	r->days = omr_calloc((size_t)(2 * len + 1), sizeof(*r->days));
	for (long long d = r->q.from; d <= r->q.to; d++)
		r->days[r->ndays++] = d;
	for (long long d = r->prev_from; d <= r->prev_to; d++)
		r->days[r->ndays++] = d;
}

void omr_rep_error(struct omr_rep *r, int status, const char *code, const char *message)
{
	if (r->reply)
		omr_http_reply_error(r->reply, status, code, "%s", message);
	else
		r->cb(r->cb_arg, status, code, message, strlen(message));
}

void omr_rep_send(struct omr_rep *r, const char *content_type, const char *disposition,
		  const char *body, size_t len)
{
	if (!r->reply) {
		r->cb(r->cb_arg, 200, content_type, body, len);
		return;
	}
	if (disposition)
		omr_http_reply_header(r->reply, "Content-Disposition", disposition);
	omr_http_reply_send(r->reply, 200, content_type, body, len);
}

/* kind: the index in omr_rep_kinds, or its size (unknown); the answer goes
 * to reply, or to cb when reply is NULL */
static void omr_rep_start(const struct omr_env *env, char *const *queues, size_t k,
			  const char *query, omr_http_reply *reply, omr_reports_cb cb, void *arg)
{
	struct omr_rep start = { .reply = reply, .cb = cb, .cb_arg = arg };
	struct omr_reports_query q;
	char err[256];
	int rc;

	if (k == OMR_ARRAY_LEN(omr_rep_kinds)) {
		omr_rep_error(&start, 404, "not_found", "no such report");
		return;
	}
	/* today by the clock the scripts count with (omr_store_now_ms) */
	rc = omr_reports_query_parse(query, omr_store_now_ms(env->store) / 86400000, &q, err,
				     sizeof(err));
	if (rc == OMR_REPORTS_OK && q.interval && omr_rep_kinds[k].kind == OMR_REP_REASONS) {
		snprintf(err, sizeof(err), "interval: the contact-reason report has no series "
					   "(it is counted by ISO week)");
		rc = OMR_REPORTS_BAD_PARAMETER;
	}
	if (rc != OMR_REPORTS_OK) {
		omr_rep_error(&start, 400, rc == OMR_REPORTS_BAD_QUERY ? "bad_query" : "bad_parameter",
			      err);
		return;
	}
	struct omr_rep *r = omr_calloc(1, sizeof(*r));
	r->store = env->store;
	r->reply = reply;
	r->cb = cb;
	r->cb_arg = arg;
	r->kind = omr_rep_kinds[k].kind;
	r->q = q;
	r->allowed = omr_strv_dup(queues);
	r->total = json_object();
	r->prev = json_object();
	r->weeks = json_object();
	r->series = json_object();
	omr_rep_config(r, omr_env_cfg(env));
	omr_rep_plan(r);
	omr_rep_next(r);
}

void omr_reports_serve(const struct omr_env *env, char *const *queues,
		       const struct omr_http_request *req, omr_http_reply *reply)
{
	size_t k;
	for (k = 0; k < OMR_ARRAY_LEN(omr_rep_kinds); k++)
		if (strcmp(req->path, omr_rep_kinds[k].path) == 0)
			break;
	omr_rep_start(env, queues, k, req->query, reply, NULL, NULL);
}

void omr_reports_run(const struct omr_env *env, char *const *queues, const char *kind,
		     const char *query, omr_reports_cb cb, void *arg)
{
	static const char base[] = "/api/v1/reports/";
	size_t k;
	for (k = 0; k < OMR_ARRAY_LEN(omr_rep_kinds); k++)
		if (kind && strcmp(omr_rep_kinds[k].path + sizeof(base) - 1, kind) == 0)
			break;
	omr_rep_start(env, queues, k, query ? query : "", NULL, cb, arg);
}
