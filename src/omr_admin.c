/*
 * omr_admin: see omr_admin.h.
 */
#include "config.h"

#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "omr_admin.h"
#include "omr_admission.h"
#include "omr_agents_conf.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_config.h"
#include "omr_http.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_ADMIN_MAX_MESSAGES 1000
/* Failed tokens per client address: this many at once, then this many a
 * minute (one every 6 s). */
#define OMR_ADMIN_AUTH_FAILURES 10

struct omr_admin {
	struct omr_env env;
	struct omr_http_server *http;
	struct omr_admin_ops ops;
	struct omr_gate *auth_failures; /* a token bucket per address, spent by failures */
	unsigned long long auth_failed, auth_throttled;
};

/* Over its failures an address is answered 429 without a look at its
 * token, so that guessing goes no faster than the bucket refills. */
static int omr_admin_throttled(struct omr_admin *a, omr_http_reply *reply, int64_t now)
{
	const char *ip = omr_http_reply_peer(reply);
	int64_t wait = omr_gate_wait_ms(a->auth_failures, ip, now);
	char secs[24];
	if (wait == 0)
		return 0;
	omr_gate_take(a->auth_failures, ip, now); /* refused: counted, logged once per interval */
	a->auth_throttled++;
	snprintf(secs, sizeof(secs), "%lld", (long long)(wait + 999) / 1000);
	omr_http_reply_header(reply, "Retry-After", secs);
	omr_http_reply_error(reply, 429, "too_many_failures",
			     "too many failed admin tokens from your address; retry in %s s", secs);
	return 1;
}

static int omr_admin_authorised(struct omr_admin *a, const struct omr_http_request *req,
				omr_http_reply *reply)
{
	const char *h = req->header(req, "Authorization");
	const char *token = omr_env_cfg(&a->env)->admin.token;
	int64_t now = omr_mono_ms();
	if (omr_admin_throttled(a, reply, now))
		return 0;
	if (h && strncasecmp(h, "Bearer ", 7) == 0) {
		const char *t = h + 7;
		if (omr_ct_equal(t, strlen(t), token, strlen(token)))
			return 1;
	}
	omr_gate_take(a->auth_failures, omr_http_reply_peer(reply), now);
	a->auth_failed++;
	omr_http_reply_error(reply, 401, "unauthorized",
			     "send the admin token as 'Authorization: Bearer TOKEN'");
	return 0;
}

static int omr_admin_method(const struct omr_http_request *req, omr_http_reply *reply,
			    const char *allowed)
{
	if (strcmp(req->method, allowed) == 0 ||
	    (strcmp(allowed, "GET") == 0 && strcmp(req->method, "HEAD") == 0))
		return 1;
	omr_http_reply_error(reply, 405, "method_not_allowed", "use %s", allowed);
	return 0;
}

/* ---- /healthz ---- */

static void omr_admin_healthz(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	struct omr_admin_health h = { 0 };
	json_t *j;

	if (!omr_admin_method(req, reply, "GET"))
		return;
	a->ops.health(a->ops.arg, &h);
	j = json_pack("{s:s,s:s,s:s,s:s,s:I}", "status", h.status, "node", a->env.node_id, "version",
		      PACKAGE_VERSION, "redis", h.redis, "uptime_s", (json_int_t)h.uptime_s);
	if (h.reason[0])
		json_object_set_new(j, "reason", json_string(h.reason));
	omr_http_reply_json(reply, strcmp(h.status, "ok") == 0 ? 200 : 503, j);
	json_decref(j);
}

/* ---- /metrics ---- */

static void omr_admin_metrics(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	struct omr_buf b;

	if (!omr_admin_method(req, reply, "GET") || !omr_admin_authorised(a, req, reply))
		return;
	omr_buf_init(&b);
	a->ops.metrics(a->ops.arg, &b);
	omr_http_reply_send(reply, 200, "text/plain; version=0.0.4", b.data, b.len);
	omr_buf_free(&b);
}

/* ---- /api/v1/conversations ---- */

static void omr_admin_conv_done(void *arg, int status, json_t *json, const char *err)
{
	omr_http_reply *reply = arg;
	if (status != OMR_OK) {
		omr_http_reply_error(reply, 503, "unavailable", "storage unavailable: %s", err);
		return;
	}
	if (!json) {
		omr_http_reply_error(reply, 404, "not_found", "no such conversation");
		return;
	}
	omr_http_reply_json(reply, 200, json);
}

static void omr_admin_list_done(void *arg, int status, json_t *json, const char *err)
{
	omr_http_reply *reply = arg;
	if (status == OMR_ERROR) {
		omr_http_reply_error(reply, 400, "bad_parameter", "before: %s", err);
		return;
	}
	if (status != OMR_OK) {
		omr_http_reply_error(reply, 503, "unavailable", "storage unavailable: %s", err);
		return;
	}
	json_object_set_new(json, "count",
			    json_integer((json_int_t)json_array_size(
				    json_object_get(json, "conversations"))));
	omr_http_reply_json(reply, 200, json);
}

static int omr_admin_param_word(const struct omr_http_request *req, omr_http_reply *reply,
				const char *name, const char **out_r)
{
	const char *v = omr_http_query_param(req, name);
	*out_r = NULL;
	if (!v || !*v)
		return 0;
	if (!omr_model_key_ok(v, 64)) {
		omr_http_reply_error(reply, 400, "bad_parameter", "%s: not a valid value", name);
		return -1;
	}
	*out_r = v;
	return 0;
}

static int omr_admin_param_int(const struct omr_http_request *req, omr_http_reply *reply,
			       const char *name, long long min, long long max, long long *v_r)
{
	const char *v = omr_http_query_param(req, name);
	if (!v || !*v)
		return 0;
	if (omr_parse_ll(v, v_r) < 0 || *v_r < min || *v_r > max) {
		omr_http_reply_error(reply, 400, "bad_parameter", "%s: expected a number from %lld to %lld",
				     name, min, max);
		return -1;
	}
	return 0;
}

/* before: a time (ms) or the id of a conversation (a page's "next") */
static int omr_admin_param_cursor(const struct omr_http_request *req, omr_http_reply *reply,
				  const char **out_r)
{
	const char *v = omr_http_query_param(req, "before");
	long long ms;
	if (!v || !isdigit((unsigned char)*v))
		return omr_admin_param_word(req, reply, "before", out_r);
	*out_r = NULL;
	if (omr_admin_param_int(req, reply, "before", 1, 9000000000000000LL, &ms) < 0)
		return -1;
	*out_r = v;
	return 0;
}

static void omr_admin_conv_list(struct omr_admin *a, const struct omr_http_request *req,
				omr_http_reply *reply)
{
	const char *channel, *status, *before;
	long long limit = 50;

	if (omr_admin_param_word(req, reply, "channel", &channel) < 0 ||
	    omr_admin_param_word(req, reply, "status", &status) < 0 ||
	    omr_admin_param_int(req, reply, "limit", 1, 500, &limit) < 0 ||
	    omr_admin_param_cursor(req, reply, &before) < 0)
		return;
	omr_store_conv_list(a->env.store, channel, status, (int)limit, before,
			    omr_admin_list_done, reply);
}

static int omr_admin_running(struct omr_admin *a, omr_http_reply *reply)
{
	struct omr_admin_health h = { 0 };
	a->ops.health(a->ops.arg, &h);
	if (h.running)
		return 1;
	omr_http_reply_error(reply, 503, "unavailable", "the server is not ready");
	return 0;
}

static void omr_admin_conversations(void *arg, const struct omr_http_request *req,
				    omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	static const char base[] = "/api/v1/conversations";
	const char *id;

	if (!omr_admin_authorised(a, req, reply) || !omr_admin_running(a, reply))
		return;
	if (strcmp(req->path, base) == 0) {
		if (omr_admin_method(req, reply, "GET"))
			omr_admin_conv_list(a, req, reply);
		return;
	}
	if (!omr_admin_method(req, reply, "GET"))
		return;
	id = req->path + sizeof(base); /* after "/api/v1/conversations/" */
	if (!omr_model_id_ok(id, "c_")) {
		omr_http_reply_error(reply, 404, "not_found", "no such conversation");
		return;
	}
	omr_store_conv_get(a->env.store, id, OMR_ADMIN_MAX_MESSAGES, 1, omr_admin_conv_done, reply);
}

/* ---- /api/v1/agents ---- */

struct omr_admin_call {
	struct omr_admin *a;
	omr_http_reply *reply;
};

static void omr_admin_agents_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_admin_call *call = arg;
	omr_http_reply *reply_h = call->reply;
	struct omr_admin *a = call->a;
	const struct omr_agents_conf *dir = omr_env_cfg(&a->env)->agents;
	json_t *out, *list;

	free(call);
	if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
		omr_http_reply_error(reply_h, 503, "unavailable", "storage unavailable: %s",
				     err ? err : "bad reply");
		return;
	}
	list = json_array();
	for (size_t i = 0; dir && i < dir->nagents; i++) {
		const struct omr_agent_conf *ac = &dir->agents[i];
		const redisReply *row = omr_reply_elem(reply, i);
		json_t *st = omr_model_from_hash(OMR_MODEL_AGENT, omr_reply_elem(row, 0));
		json_t *loads = json_object(), *skills = json_object();
		const char *k;
		json_t *v;
		void *tmp;
		if (!st)
			st = json_object();
		json_object_foreach_safe(st, tmp, k, v) {
			if (strncmp(k, "load:", 5) == 0) {
				json_object_set(loads, k + 5, v);
				json_object_del(st, k);
			}
		}
		for (size_t s = 0; s < ac->nskills; s++)
			json_object_set_new(skills, ac->skills[s].skill, json_integer(ac->skills[s].level));
		json_t *ag = json_pack("{s:s,s:s,s:s?,s:o,s:s,s:s,s:I,s:I,s:b,s:o,s:O?,s:O?}", "id", ac->id,
				       "name", ac->name ? ac->name : ac->id, "team", ac->team, "skills",
				       skills, "presence",
				       json_string_value(json_object_get(st, "presence")) ?
					       json_string_value(json_object_get(st, "presence")) : "offline",
				       "presence_reason",
				       json_string_value(json_object_get(st, "presence_reason")) ?
					       json_string_value(json_object_get(st, "presence_reason")) : "",
				       "sessions", json_integer_value(json_object_get(st, "sessions")),
				       "conversations", (json_int_t)omr_reply_int(omr_reply_elem(row, 1), 0),
				       "node_alive", omr_reply_int(omr_reply_elem(row, 2), 0) == 1, "load",
				       loads, "node", json_object_get(st, "node"), "last_assigned_at",
				       json_object_get(st, "last_assigned_at"));
		if (ag)
			json_array_append_new(list, ag);
		json_decref(st);
	}
	out = json_pack("{s:o}", "agents", list);
	omr_http_reply_json(reply_h, 200, out);
	json_decref(out);
}

static void omr_admin_agents(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	const struct omr_agents_conf *dir = omr_env_cfg(&a->env)->agents;
	size_t n = dir ? dir->nagents : 0;

	if (!omr_admin_method(req, reply, "GET") || !omr_admin_authorised(a, req, reply) ||
	    !omr_admin_running(a, reply))
		return;
	const char **argv = omr_calloc(n + 1, sizeof(*argv));
	for (size_t i = 0; i < n; i++)
		argv[i] = dir->agents[i].id;
	struct omr_admin_call *call = omr_calloc(1, sizeof(*call));
	call->a = a;
	call->reply = reply;
	struct omr_lua_agents_state_args st = { .agents = argv, .nagents = n };
	omr_lua_agents_state(a->env.store, &st, omr_admin_agents_done, call);
	free(argv);
}

/* ---- /api/v1/queues ---- */

static void omr_admin_queues_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_admin_call *call = arg;
	const struct omr_routing_conf *rc = omr_env_cfg(&call->a->env)->routing;
	struct omr_lua_queues_state_reply st;
	json_t *list, *out;

	if (err || omr_lua_queues_state_reply(reply, &st) < 2 || st.queues->type != REDIS_REPLY_ARRAY) {
		omr_http_reply_error(call->reply, 503, "unavailable", "storage unavailable: %s",
				     err ? err : "bad reply");
		free(call);
		return;
	}
	/* the oldest wait on Redis' clock (nodes' clocks may differ) */
	long long now = st.now;
	list = json_array();
	for (size_t i = 0; i < st.queues->elements; i++) {
		const redisReply *row = st.queues->element[i];
		const char *name = omr_reply_str(omr_reply_elem(row, 0));
		const struct omr_queue_conf *q = omr_routing_queue(rc, name);
		long long oldest = omr_reply_int(omr_reply_elem(row, 2), 0);
		long long answered = omr_reply_int(omr_reply_elem(row, 3), 0);
		long long in_sla = omr_reply_int(omr_reply_elem(row, 4), 0);
		long long aht = omr_reply_int(omr_reply_elem(row, 5), 0);
		if (!q)
			continue;
		json_t *sla = json_null();
		if (q->sla.target) {
			sla = json_pack("{s:I,s:I,s:I,s:I,s:o}", "target", (json_int_t)q->sla.target,
					"within_s", (json_int_t)(q->sla.within / 1000), "answered",
					(json_int_t)answered, "within", (json_int_t)in_sla, "attainment",
					answered ? json_real(100.0 * (double)in_sla / (double)answered)
						 : json_null());
		}
		json_t *qj = json_pack("{s:s,s:s?,s:I,s:I,s:o,s:I,s:I,s:I,s:o,s:s?,s:b}", "name", q->name,
				       "description", q->description, "priority", (json_int_t)q->priority,
				       "waiting", (json_int_t)omr_reply_int(omr_reply_elem(row, 1), 0),
				       "oldest_wait_s",
				       oldest ? json_integer((now - oldest) / 1000) : json_integer(0),
				       "agents_available",
				       (json_int_t)omr_reply_int(omr_reply_elem(row, 6), 0),
				       "answered_today", (json_int_t)answered, "avg_handle_s",
				       (json_int_t)(aht / 1000), "sla", sla, "calendar", q->calendar, "open",
				       q->cal ? omr_calendar_open(q->cal, omr_now_ms()) : 1);
		if (qj)
			json_array_append_new(list, qj);
	}
	out = json_pack("{s:o}", "queues", list);
	omr_http_reply_json(call->reply, 200, out);
	json_decref(out);
	free(call);
}

static void omr_admin_queues(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const struct omr_routing_conf *rc = cfg->routing;
	struct omr_cands *cands;
	char day[16];
	time_t t = time(NULL);
	struct tm tm;

	if (!omr_admin_method(req, reply, "GET") || !omr_admin_authorised(a, req, reply) ||
	    !omr_admin_running(a, reply))
		return;
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	cands = omr_calloc(rc->nqueues + 1, sizeof(*cands));
	size_t n = 0;
	for (size_t i = 0; i < rc->nqueues; i++) {
		const struct omr_queue_conf *q = &rc->queues[i];
		json_t *skills = json_object();
		for (size_t k = 0; k < q->nskills; k++)
			json_object_set_new(skills, q->skills[k].skill, json_integer(q->skills[k].min));
		/* agents who could take the queue's conversations on any channel */
		omr_route_candidates(cfg->agents, NULL, skills, NULL, NULL, NULL, 0, &cands[i]);
		json_decref(skills);
		n += 2 + (size_t)cands[i].n;
	}
	const char **argv = omr_calloc(n + 1, sizeof(*argv));
	char (*counts)[16] = omr_calloc(rc->nqueues + 1, sizeof(*counts));
	size_t k = 0;
	for (size_t i = 0; i < rc->nqueues; i++) {
		argv[k++] = rc->queues[i].name;
		snprintf(counts[i], sizeof(counts[i]), "%d", cands[i].n);
		argv[k++] = counts[i];
		for (int c = 0; c < cands[i].n; c++)
			argv[k++] = cands[i].argv[c * 3];
	}
	struct omr_admin_call *call = omr_calloc(1, sizeof(*call));
	call->a = a;
	call->reply = reply;
	struct omr_lua_queues_state_args st = { .day = day, .queues = argv, .nqueues = k };
	omr_lua_queues_state(a->env.store, &st, omr_admin_queues_done, call);
	for (size_t i = 0; i < rc->nqueues; i++)
		omr_cands_free(&cands[i]);
	free(cands);
	free(counts);
	free(argv);
}

/* ---- /api/v1/reports/contact-reasons ---- */

static json_t *omr_admin_ranking(const redisReply *r, const char *name)
{
	json_t *arr = json_array();
	for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
		const char *k = omr_reply_str(r->element[i]);
		if (k)
			json_array_append_new(arr, json_pack("{s:s,s:I}", name, k, "count",
							     (json_int_t)omr_reply_int(r->element[i + 1], 0)));
	}
	/* most frequent first (per-day sums come unordered) */
	for (size_t i = 1; i < json_array_size(arr); i++)
		for (size_t k = i; k > 0 && json_integer_value(json_object_get(json_array_get(arr, k), "count")) >
					       json_integer_value(json_object_get(json_array_get(arr, k - 1), "count")); k--) {
			json_t *t = json_incref(json_array_get(arr, k));
			json_array_set(arr, k, json_array_get(arr, k - 1));
			json_array_set_new(arr, k - 1, t);
		}
	return arr;
}

static void omr_admin_reasons_done(void *arg, const redisReply *reply, const char *err)
{
	omr_http_reply *r = arg;
	if (err || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) {
		omr_http_reply_error(r, 503, "unavailable", "storage unavailable: %s",
				     err ? err : "bad reply");
		return;
	}
	json_t *reasons = omr_admin_ranking(reply->element[0], "reason");
	json_int_t total = 0;
	size_t i;
	json_t *it;
	json_array_foreach(reasons, i, it)
		total += json_integer_value(json_object_get(it, "count"));
	json_t *out = json_pack("{s:o,s:I,s:o}", "reasons", reasons, "total", total, "outcomes",
				omr_admin_ranking(reply->element[1], "outcome"));
	omr_http_reply_json(r, 200, out);
	json_decref(out);
}

static void omr_admin_reasons(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	long long days = 0;
	char (*dates)[16];
	const char **argv;

	if (!omr_admin_method(req, reply, "GET") || !omr_admin_authorised(a, req, reply) ||
	    !omr_admin_running(a, reply) ||
	    omr_admin_param_int(req, reply, "days", 1, 366, &days) < 0)
		return;
	dates = omr_calloc((size_t)days + 1, sizeof(*dates));
	argv = omr_calloc((size_t)days + 1, sizeof(*argv));
	for (long long d = 0; d < days; d++) {
		time_t t = time(NULL) - (time_t)(d * 86400);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(dates[d], sizeof(dates[d]), "%Y-%m-%d", &tm);
		argv[d] = dates[d];
	}
	struct omr_lua_report_reasons_args rr = { .days = argv, .ndays = (size_t)days };
	omr_lua_report_reasons(a->env.store, &rr, omr_admin_reasons_done, reply);
	free(argv);
	free(dates);
}

/* ---- /api/v1/reload ---- */

static void omr_admin_reload(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	char *err = NULL;
	json_t *j;

	if (!omr_admin_method(req, reply, "POST") || !omr_admin_authorised(a, req, reply))
		return;
	if (a->ops.reload(a->ops.arg, &err) == 0) {
		j = json_pack("{s:b}", "reloaded", 1);
		omr_http_reply_json(reply, 200, j);
	} else {
		j = json_pack("{s:b,s:{s:s,s:s}}", "reloaded", 0, "error", "code", "bad_config",
			      "message", err ? err : "");
		if (!j)
			j = json_pack("{s:b}", "reloaded", 0);
		omr_http_reply_json(reply, 422, j);
	}
	json_decref(j);
	free(err);
}

struct omr_admin *omr_admin_new(const struct omr_env *env, struct omr_http_server *http,
				const struct omr_admin_ops *ops, char **err_r)
{
	static const struct {
		const char *path;
		int prefix;
		omr_http_handler fn;
	} routes[] = {
		{ "/healthz", 0, omr_admin_healthz },
		{ "/metrics", 0, omr_admin_metrics },
		{ "/api/v1/conversations", 1, omr_admin_conversations },
		{ "/api/v1/agents", 0, omr_admin_agents },
		{ "/api/v1/queues", 0, omr_admin_queues },
		{ "/api/v1/reports/contact-reasons", 0, omr_admin_reasons },
		{ "/api/v1/reload", 0, omr_admin_reload },
	};
	struct omr_gate_limits fail = { .rate_per_ip = OMR_ADMIN_AUTH_FAILURES / 60.0,
					.burst_per_ip = OMR_ADMIN_AUTH_FAILURES };
	struct omr_admin *a = omr_calloc(1, sizeof(*a));
	a->env = *env;
	a->http = http;
	a->ops = *ops;
	a->auth_failures = omr_gate_new("admin tokens", &fail);
	for (size_t i = 0; i < OMR_ARRAY_LEN(routes); i++) {
		if (omr_http_route(http, routes[i].path, routes[i].prefix, routes[i].fn, a, err_r) < 0) {
			omr_admin_free(a);
			return NULL;
		}
	}
	return a;
}

void omr_admin_metrics_write(const struct omr_admin *a, struct omr_buf *b)
{
	omr_metric(b, "admin_auth_failures_total", "counter",
		   "admin API requests with a missing or wrong token", a->auth_failed);
	omr_metric(b, "admin_auth_throttled_total", "counter",
		   "admin API requests answered 429: too many failed tokens from the address",
		   a->auth_throttled);
}

void omr_admin_free(struct omr_admin *a)
{
	if (a)
		omr_gate_free(a->auth_failures);
	free(a);
}
