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
#include "omr_admin_int.h"
#include "omr_admission.h"
#include "omr_agents_conf.h"
#include "omr_audit.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_config.h"
#include "omr_http.h"
#include "omr_kpi.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_redis.h"
#include "omr_reports.h"
#include "omr_store.h"
#include "omr_util.h"

/* Failed tokens per client address: this many at once, then this many a
 * minute (one every 6 s). */
#define OMR_ADMIN_AUTH_FAILURES 10

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

static const char *omr_admin_scope_name(unsigned scope)
{
	return scope == OMR_SCOPE_ADMIN ? "admin" : scope == OMR_SCOPE_ACT ? "act" : "read";
}

void omr_admin_audit(struct omr_admin *a, const char *who, const char *action,
			    const char *target, const char *result, const json_t *detail)
{
	struct omr_audit_entry e = { .who = who, .via = "api", .action = action, .target = target,
				     .result = result, .detail = detail };
	omr_audit_write(a->env.store, a->env.node_id, &e);
}

void omr_admin_audit_refusal(struct omr_admin *a, const char *who, const char *action,
			     const char *target)
{
	if (omr_gate_take(a->refusals, who, omr_mono_ms()) == OMR_GATE_OK)
		omr_admin_audit(a, who, action, target, "forbidden", NULL);
}

int omr_admin_limited(struct omr_admin *a, const struct omr_admin_who *who,
		      const struct omr_http_request *req, omr_http_reply *reply, const char *why)
{
	if (!who->queues)
		return 0;
	omr_admin_audit_refusal(a, who->who, req->path, NULL);
	omr_http_reply_error(reply, 403, "forbidden", "%s: %s", who->who, why);
	return 1;
}

/* 1: the request's token holds `scope` (who_r says whose it is); 0: the
 * answer (401, 403, 429) has been sent. */
int omr_admin_authorised(struct omr_admin *a, const struct omr_http_request *req,
				omr_http_reply *reply, unsigned scope, struct omr_admin_who *who_r)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const char *h = req->header(req, "Authorization");
	const char *token = cfg->admin.token;
	int64_t now = omr_mono_ms();
	const struct omr_api_token *tok;
	const struct omr_agent_conf *u;

	if (omr_admin_throttled(a, reply, now))
		return 0;
	memset(who_r, 0, sizeof(*who_r));
	if (h && strncasecmp(h, "Bearer ", 7) == 0) {
		const char *t = h + 7;
		if (token && omr_ct_equal(t, strlen(t), token, strlen(token))) {
			who_r->who = "admin.token";
			who_r->scopes = OMR_SCOPE_READ | OMR_SCOPE_ACT | OMR_SCOPE_ADMIN;
		} else if ((u = omr_agents_find_api_token(cfg->agents, t, &tok)) != NULL) {
			who_r->who = tok->name;
			who_r->scopes = tok->scopes & omr_roles_scopes(u->roles);
			who_r->queues = u->queues;
		} else if ((u = omr_agents_find_token(cfg->agents, t)) != NULL) {
			/* the right secret for the console, the wrong door */
			a->forbidden++;
			omr_admin_audit_refusal(a, u->id, req->path, NULL);
			omr_http_reply_error(reply, 403, "forbidden",
					     "this is a console log-in token, not an admin API token "
					     "(admin API tokens: api_tokens of a supervisor or admin "
					     "in the users file)");
			return 0;
		}
	}
	if (!who_r->who) {
		omr_gate_take(a->auth_failures, omr_http_reply_peer(reply), now);
		a->auth_failed++;
		omr_http_reply_error(reply, 401, "unauthorized",
				     "send an admin API token as 'Authorization: Bearer TOKEN'");
		return 0;
	}
	if (!(who_r->scopes & scope)) {
		a->forbidden++;
		omr_admin_audit_refusal(a, who_r->who, req->path, NULL);
		omr_http_reply_error(reply, 403, "forbidden", "%s: this token lacks the '%s' scope",
				     who_r->who, omr_admin_scope_name(scope));
		return 0;
	}
	return 1;
}

int omr_admin_method(const struct omr_http_request *req, omr_http_reply *reply,
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
	struct omr_admin_who who;

	if (!omr_admin_method(req, reply, "GET") ||
	    !omr_admin_authorised(a, req, reply, OMR_SCOPE_READ, &who))
		return;
	if (omr_admin_limited(a, &who, req, reply,
			      "/metrics covers every queue; a supervisor limited to queues reads "
			      "GET /api/v1/queues"))
		return;
	omr_buf_init(&b);
	a->ops.metrics(a->ops.arg, &b);
	omr_kpi_scrape(&a->env, reply, &b); /* the queues' gauges from Redis, then the answer */
}

struct omr_admin_call *omr_admin_call_new(struct omr_admin *a, omr_http_reply *reply,
						 const struct omr_admin_who *who)
{
	struct omr_admin_call *c = omr_calloc(1, sizeof(*c));
	c->a = a;
	c->reply = reply;
	c->who = omr_strdup(who ? who->who : "");
	c->queues = who ? omr_strv_dup(who->queues) : NULL;
	return c;
}

void omr_admin_call_free(struct omr_admin_call *c)
{
	free(c->who);
	omr_strv_free(c->queues);
	free(c->action);
	free(c->target);
	json_decref(c->detail);
	free(c);
}

int omr_admin_param_word(const struct omr_http_request *req, omr_http_reply *reply,
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

int omr_admin_param_int(const struct omr_http_request *req, omr_http_reply *reply,
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
int omr_admin_param_cursor(const struct omr_http_request *req, omr_http_reply *reply,
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

int omr_admin_running(struct omr_admin *a, omr_http_reply *reply)
{
	struct omr_admin_health h = { 0 };
	a->ops.health(a->ops.arg, &h);
	if (h.running)
		return 1;
	omr_http_reply_error(reply, 503, "unavailable", "the server is not ready");
	return 0;
}

/* The request's JSON object body, or NULL with the 400 sent. An empty body
 * is an empty object. */
json_t *omr_admin_body(const struct omr_http_request *req, omr_http_reply *reply)
{
	json_error_t jerr;
	json_t *j;
	if (req->body_len == 0)
		return json_object();
	j = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j || !json_is_object(j)) {
		omr_http_reply_error(reply, 400, "bad_request", "the body must be a JSON object%s%s",
				     j ? "" : ": ", j ? "" : jerr.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

/* A string member of the body; 0, or -1 with the 400 sent. */
int omr_admin_body_str(const json_t *body, omr_http_reply *reply, const char *name,
			      const char **out_r)
{
	const json_t *v = json_object_get(body, name);
	*out_r = NULL;
	if (!v || json_is_null(v))
		return 0;
	/* jansson's strings are UTF-8; a \u0000 inside is refused */
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		omr_http_reply_error(reply, 400, "bad_parameter", "%s: expected a string", name);
		return -1;
	}
	*out_r = json_string_value(v);
	return 0;
}

/* ---- /api/v1/reports/{queues,agents,contact-reasons}: omr_reports.c ---- */

static void omr_admin_report(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	struct omr_admin_who who;

	if (!omr_admin_method(req, reply, "GET") ||
	    !omr_admin_authorised(a, req, reply, OMR_SCOPE_READ, &who) ||
	    !omr_admin_running(a, reply))
		return;
	omr_reports_serve(&a->env, who.queues, req, reply);
}

/* ---- /api/v1/reload ---- */

static void omr_admin_reload(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	char *err = NULL;
	json_t *j;
	struct omr_admin_who who;
	int ok;

	if (!omr_admin_method(req, reply, "POST") ||
	    !omr_admin_authorised(a, req, reply, OMR_SCOPE_ADMIN, &who))
		return;
	/* who asked, copied: the reload frees the configuration it is in */
	char *by = omr_strdup(who.who);
	ok = a->ops.reload(a->ops.arg, &err) == 0;
	omr_admin_audit(a, by, "reload", NULL, ok ? "ok" : "bad_config", NULL);
	free(by);
	if (ok) {
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

/* ---- /api/v1/drain ---- */

static void omr_admin_drain(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	struct omr_admin_who who;
	const json_t *on;
	json_t *body, *out;

	if (!omr_admin_method(req, reply, "POST") ||
	    !omr_admin_authorised(a, req, reply, OMR_SCOPE_ADMIN, &who) ||
	    !(body = omr_admin_body(req, reply)))
		return;
	on = json_object_get(body, "draining");
	if (on && !json_is_boolean(on)) {
		omr_http_reply_error(reply, 400, "bad_parameter", "draining: true or false");
		json_decref(body);
		return;
	}
	int draining = on ? json_is_true(on) : 1;
	a->ops.drain(a->ops.arg, draining);
	omr_admin_audit(a, who.who, draining ? "drain" : "undrain", a->env.node_id, "ok", NULL);
	out = json_pack("{s:b,s:s}", "draining", draining, "node", a->env.node_id);
	omr_http_reply_json(reply, 200, out);
	json_decref(out);
	json_decref(body);
}

/* ---- /api/v1/debug/clock (admin.test_clock: tests only) ---- */

/* {"offset_ms": N} sets, {"advance_ms": N} adds to, the offset the scripts
 * and the router add to the clock (omr_store_set_clock); never backwards */
static void omr_admin_clock(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	struct omr_admin_who who;
	json_t *body, *out;

	if (!omr_env_cfg(&a->env)->admin.test_clock) {
		omr_http_reply_error(reply, 404, "not_found", "no such endpoint");
		return;
	}
	if (!omr_admin_method(req, reply, "POST") ||
	    !omr_admin_authorised(a, req, reply, OMR_SCOPE_ADMIN, &who) ||
	    !(body = omr_admin_body(req, reply)))
		return;
	const json_t *set = json_object_get(body, "offset_ms");
	const json_t *add = json_object_get(body, "advance_ms");
	const long long most = 100LL * 365 * 86400000; /* 100 years */
	long long now = omr_store_clock(a->env.store);
	long long by = json_is_integer(add) ? json_integer_value(add) : -1;
	long long to = json_is_integer(set) ? json_integer_value(set) :
		       by >= 0 && by <= most ? now + by : -1;
	if ((set && add) || to < now || to > most) {
		omr_http_reply_error(reply, 400, "bad_parameter", "offset_ms or advance_ms: whole ms, "
				     "forward only, at most 100 years");
		json_decref(body);
		return;
	}
	omr_store_set_clock(a->env.store, to);
	omr_log_warn("the clock was moved by %s: %lld ms ahead (admin.test_clock)", who.who, to);
	omr_admin_audit(a, who.who, "clock", a->env.node_id, "ok", NULL);
	out = json_pack("{s:I,s:I}", "offset_ms", (json_int_t)to, "now",
			(json_int_t)omr_store_now_ms(a->env.store));
	omr_http_reply_json(reply, 200, out);
	json_decref(out);
	json_decref(body);
}

/* ---- /api/v1/audit ---- */

static void omr_admin_audit_done(void *arg, json_t *page, const char *err)
{
	omr_http_reply *reply = arg;
	if (!page)
		omr_http_reply_error(reply, 503, "unavailable", "storage unavailable: %s", err);
	else
		omr_http_reply_json(reply, 200, page);
}

static void omr_admin_audit_get(void *arg, const struct omr_http_request *req,
				omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	struct omr_admin_who who;
	long long limit = 50;
	const char *before;

	if (!omr_admin_method(req, reply, "GET") ||
	    !omr_admin_authorised(a, req, reply, OMR_SCOPE_ADMIN, &who) ||
	    !omr_admin_running(a, reply) ||
	    omr_admin_param_int(req, reply, "limit", 1, 1000, &limit) < 0)
		return;
	before = omr_http_query_param(req, "before");
	if (before && *before && !omr_audit_id_ok(before)) {
		omr_http_reply_error(reply, 400, "bad_parameter",
				     "before: an entry id (the 'next' of the previous page)");
		return;
	}
	omr_audit_read(a->env.store, before && *before ? before : NULL, (int)limit,
		       omr_admin_audit_done, reply);
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
		{ "/api/v1/agents", 1, omr_admin_agents },
		{ "/api/v1/customers", 1, omr_admin_customers },
		{ "/api/v1/queues", 0, omr_admin_queues },
		{ "/api/v1/signals", 0, omr_admin_signals },
		{ "/api/v1/optouts", 1, omr_admin_optouts },
		{ "/api/v1/reports/queues", 0, omr_admin_report },
		{ "/api/v1/reports/agents", 0, omr_admin_report },
		{ "/api/v1/reports/contact-reasons", 0, omr_admin_report },
		{ "/api/v1/reload", 0, omr_admin_reload },
		{ "/api/v1/drain", 0, omr_admin_drain },
		{ "/api/v1/audit", 0, omr_admin_audit_get },
		{ "/api/v1/debug/clock", 0, omr_admin_clock },
		{ "/api/v1/search", 0, omr_admin_search },
	};
	struct omr_gate_limits fail = { .rate_per_ip = OMR_ADMIN_AUTH_FAILURES / 60.0,
					.burst_per_ip = OMR_ADMIN_AUTH_FAILURES };
	struct omr_admin *a = omr_calloc(1, sizeof(*a));
	a->env = *env;
	a->http = http;
	a->ops = *ops;
	a->auth_failures = omr_gate_new("admin tokens", &fail);
	a->refusals = omr_audit_refusal_gate("admin API refusals audited");
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
	omr_metric(b, "admin_forbidden_total", "counter",
		   "admin API requests answered 403: the token lacks the scope or is not an API token",
		   a->forbidden);
}

void omr_admin_free(struct omr_admin *a)
{
	if (a) {
		omr_gate_free(a->auth_failures);
		omr_gate_free(a->refusals);
	}
	free(a);
}
