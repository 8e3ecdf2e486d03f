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
#include "omr_agents_conf.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_core.h"
#include "omr_edge.h"
#include "omr_events.h"
#include "omr_http.h"
#include "omr_ingest.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"
#include "omr_webhook.h"
#include "omr_retry.h"
#include "omr_outbox.h"

#define OMR_ADMIN_MAX_MESSAGES 1000

struct omr_admin {
	struct omr_core *core;
};

static int omr_admin_authorised(struct omr_admin *a, const struct omr_http_request *req,
				omr_http_reply *reply)
{
	const char *h = req->header(req, "Authorization");
	const char *token = a->core->cfg->admin.token;
	if (h && strncasecmp(h, "Bearer ", 7) == 0) {
		const char *t = h + 7;
		if (omr_ct_equal(t, strlen(t), token, strlen(token)))
			return 1;
	}
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

static const char *omr_admin_state_name(const struct omr_core *core)
{
	switch (core->state) {
	case OMR_CORE_STARTING:
		return "starting";
	case OMR_CORE_STOPPING:
		return "stopping";
	default:
		return omr_redis_ready(core->redis) ? "ok" : "degraded";
	}
}

static void omr_admin_healthz(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	struct omr_core *core = a->core;
	const char *st = omr_admin_state_name(core);
	json_t *j;

	if (!omr_admin_method(req, reply, "GET"))
		return;
	j = json_pack("{s:s,s:s,s:s,s:s,s:I}", "status", st, "node", core->node_id, "version",
		      PACKAGE_VERSION, "redis", omr_redis_ready(core->redis) ? "up" : "down",
		      "uptime_s", (json_int_t)((omr_now_ms() - core->started_ms) / 1000));
	omr_http_reply_json(reply, strcmp(st, "ok") == 0 ? 200 : 503, j);
	json_decref(j);
}

/* ---- /metrics ---- */

static void omr_admin_metric(struct omr_buf *b, const char *name, const char *type,
			     const char *help, unsigned long long v)
{
	omr_buf_printf(b, "# HELP omniroute_%s %s\n# TYPE omniroute_%s %s\nomniroute_%s %llu\n", name,
		       help, name, type, name, v);
}

static void omr_admin_metrics(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	struct omr_core *core = a->core;
	struct omr_buf b;
	struct omr_redis_stats rs;
	struct omr_edge_stats es = { 0 };
	unsigned long long hreq, herr;

	if (!omr_admin_method(req, reply, "GET") || !omr_admin_authorised(a, req, reply))
		return;
	omr_buf_init(&b);
	omr_admin_metric(&b, "up", "gauge", "1 when running with Redis reachable",
			 core->state == OMR_CORE_RUNNING && omr_redis_ready(core->redis));
	omr_admin_metric(&b, "ingest_accepted_total", "counter", "inbound messages stored",
			 core->stats.ingest_accepted);
	omr_admin_metric(&b, "ingest_duplicates_total", "counter",
			 "inbound messages recognised as duplicates", core->stats.ingest_duplicates);
	omr_admin_metric(&b, "ingest_rejected_total", "counter", "inbound messages refused as invalid",
			 core->stats.ingest_rejected);
	omr_admin_metric(&b, "ingest_failed_total", "counter",
			 "inbound messages not stored (Redis unavailable); senders retry",
			 core->stats.ingest_failed);
	omr_admin_metric(&b, "ingest_inflight", "gauge", "inbound messages being stored",
			 core->ingest ? omr_ingest_inflight(core->ingest) : 0);
	omr_admin_metric(&b, "events_processed_total", "counter", "stream events handled",
			 core->events ? omr_events_processed(core->events) : 0);
	omr_admin_metric(&b, "outbound_sent_total", "counter", "outbound messages handed to channels",
			 core->stats.outbound_sent);
	omr_admin_metric(&b, "outbound_failed_total", "counter", "outbound messages that failed",
			 core->stats.outbound_failed);
	omr_admin_metric(&b, "reloads_total", "counter", "successful configuration reloads",
			 core->stats.reloads);
	omr_admin_metric(&b, "reload_failures_total", "counter", "rejected configuration reloads",
			 core->stats.reload_failures);
	omr_redis_get_stats(core->redis, &rs);
	omr_admin_metric(&b, "redis_commands_total", "counter", "Redis commands sent", rs.commands);
	omr_admin_metric(&b, "redis_errors_total", "counter", "Redis commands that failed", rs.errors);
	omr_admin_metric(&b, "redis_reconnects_total", "counter", "Redis reconnections",
			 rs.reconnects);
	omr_admin_metric(&b, "redis_pending", "gauge", "Redis commands awaiting a reply", rs.pending);
	if (core->edge)
		omr_edge_get_stats(core->edge, &es);
	omr_admin_metric(&b, "ws_connections", "gauge", "open websocket connections", es.connections);
	omr_admin_metric(&b, "ws_accepted_total", "counter", "websocket connections accepted",
			 es.accepted);
	omr_admin_metric(&b, "ws_messages_in_total", "counter", "websocket messages received",
			 es.messages_in);
	omr_admin_metric(&b, "ws_messages_out_total", "counter", "websocket messages sent",
			 es.messages_out);
	omr_admin_metric(&b, "ws_rejected_total", "counter",
			 "websocket handshakes or messages refused", es.rejected);
	omr_buf_printf(&b, "# HELP omniroute_ws_refused_total edge connections refused before the "
			   "websocket handshake (admission.edge) or at it (origin), by reason\n"
			   "# TYPE omniroute_ws_refused_total counter\n"
			   "omniroute_ws_refused_total{reason=\"connections\"} %llu\n"
			   "omniroute_ws_refused_total{reason=\"per_ip\"} %llu\n"
			   "omniroute_ws_refused_total{reason=\"rate\"} %llu\n"
			   "omniroute_ws_refused_total{reason=\"origin\"} %llu\n",
		       (unsigned long long)es.refused_full, (unsigned long long)es.refused_ip,
		       (unsigned long long)es.refused_rate, (unsigned long long)es.refused_origin);
	omr_admin_metric(&b, "ws_abusers_closed_total", "counter",
			 "websockets closed (1008) for too many frames before a hello or log-in",
			 es.abusers);
	omr_admin_metric(&b, "ws_flow_pauses_total", "counter",
			 "times the edge stopped reading a websocket while the core caught up",
			 es.flow_pauses);
	omr_admin_metric(&b, "ws_paused", "gauge", "websockets not being read now", es.paused);
	omr_admin_metric(&b, "ws_queued_bytes", "gauge",
			 "bytes of websocket messages waiting for the core", es.queued_bytes);
	omr_admin_metric(&b, "ws_accept_errors_total", "counter",
			 "failed accepts on the edge port (out of file descriptors, ...)",
			 es.accept_errors);
	omr_http_stats(core->webhook_http, &hreq, &herr);
	omr_admin_metric(&b, "webhook_requests_total", "counter", "webhook HTTP requests", hreq);
	omr_admin_metric(&b, "webhook_errors_total", "counter", "webhook HTTP requests answered 4xx/5xx",
			 herr);
	struct omr_webhook_stats ws = { 0 };
	unsigned long long resent, given_up;
	if (core->webhooks)
		omr_webhooks_stats(core->webhooks, &ws);
	omr_admin_metric(&b, "provider_webhooks_total", "counter",
			 "provider webhook requests (WhatsApp, Messenger, Instagram, X)", ws.requests);
	omr_admin_metric(&b, "provider_webhooks_refused_total", "counter",
			 "provider webhooks refused for a missing or wrong signature", ws.refused);
	omr_admin_metric(&b, "provider_webhooks_malformed_total", "counter",
			 "provider webhooks with a payload that could not be read", ws.malformed);
	omr_admin_metric(&b, "provider_webhooks_retry_later_total", "counter",
			 "provider webhooks answered 503 (not stored now; the provider retries)",
			 ws.retry_later);
	omr_admin_metric(&b, "provider_messages_total", "counter",
			 "messages stored from provider webhooks", ws.messages);
	omr_admin_metric(&b, "provider_duplicates_total", "counter",
			 "provider messages delivered again and recognised", ws.duplicates);
	omr_admin_metric(&b, "provider_statuses_total", "counter",
			 "delivery statuses from provider webhooks", ws.statuses);
	omr_admin_metric(&b, "provider_sends_waiting", "gauge",
			 "provider API calls waiting for a retry or their rate lane",
			 omr_retry_waiting(core->retry));
	omr_outbox_stats(core->outbox, &resent, &given_up);
	omr_admin_metric(&b, "outbox_resent_total", "counter",
			 "outbound messages sent again after they were not sent in time", resent);
	omr_admin_metric(&b, "outbox_given_up_total", "counter",
			 "outbound messages marked failed after the resends ran out", given_up);
	omr_host_plugin_metrics(core, &b);
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
	omr_store_conv_list(a->core->store, channel, status, (int)limit, before,
			    omr_admin_list_done, reply);
}

static int omr_admin_running(struct omr_admin *a, omr_http_reply *reply)
{
	if (a->core->state == OMR_CORE_RUNNING)
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
	if (!omr_model_key_ok(id, 64) || strchr(id, '/')) {
		omr_http_reply_error(reply, 404, "not_found", "no such conversation");
		return;
	}
	omr_store_conv_get(a->core->store, id, OMR_ADMIN_MAX_MESSAGES, omr_admin_conv_done, reply);
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
	const struct omr_agents_conf *dir = a->core->cfg->agents;
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
	const struct omr_agents_conf *dir = a->core->cfg->agents;
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
	omr_store_run(a->core->store, OMR_SCRIPT_AGENTS_STATE, omr_admin_agents_done, call, (int)n,
		      argv);
	free(argv);
}

/* ---- /api/v1/queues ---- */

static void omr_admin_queues_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_admin_call *call = arg;
	const struct omr_routing_conf *rc = call->a->core->cfg->routing;
	json_t *list, *out;
	long long now = omr_now_ms();

	if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
		omr_http_reply_error(call->reply, 503, "unavailable", "storage unavailable: %s",
				     err ? err : "bad reply");
		free(call);
		return;
	}
	list = json_array();
	for (size_t i = 0; i < reply->elements; i++) {
		const redisReply *row = reply->element[i];
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
				       q->cal ? omr_calendar_open(q->cal, now) : 1);
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
	const struct omr_config *cfg = a->core->cfg;
	const struct omr_routing_conf *rc = cfg->routing;
	struct omr_cands *cands;
	char now[24], day[16];
	time_t t = time(NULL);
	struct tm tm;

	if (!omr_admin_method(req, reply, "GET") || !omr_admin_authorised(a, req, reply) ||
	    !omr_admin_running(a, reply))
		return;
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	cands = omr_calloc(rc->nqueues + 1, sizeof(*cands));
	size_t n = 3;
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
	argv[k++] = now;
	argv[k++] = day;
	argv[k++] = "0";
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
	omr_store_run(a->core->store, OMR_SCRIPT_QUEUES_STATE, omr_admin_queues_done, call, (int)k, argv);
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
	omr_store_run(a->core->store, OMR_SCRIPT_REPORT_REASONS, omr_admin_reasons_done, reply,
		      (int)days, argv);
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
	if (omr_core_reload(a->core, &err) == 0) {
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

struct omr_admin *omr_admin_new(struct omr_core *core, char **err_r)
{
	struct omr_admin *a = omr_calloc(1, sizeof(*a));
	a->core = core;
	if (omr_http_route(core->admin_http, "/healthz", 0, omr_admin_healthz, a, err_r) < 0 ||
	    omr_http_route(core->admin_http, "/metrics", 0, omr_admin_metrics, a, err_r) < 0 ||
	    omr_http_route(core->admin_http, "/api/v1/conversations", 1, omr_admin_conversations, a,
			   err_r) < 0 ||
	    omr_http_route(core->admin_http, "/api/v1/agents", 0, omr_admin_agents, a, err_r) < 0 ||
	    omr_http_route(core->admin_http, "/api/v1/queues", 0, omr_admin_queues, a, err_r) < 0 ||
	    omr_http_route(core->admin_http, "/api/v1/reports/contact-reasons", 0, omr_admin_reasons, a,
			   err_r) < 0 ||
	    omr_http_route(core->admin_http, "/api/v1/reload", 0, omr_admin_reload, a, err_r) < 0) {
		free(a);
		return NULL;
	}
	return a;
}

void omr_admin_free(struct omr_admin *a)
{
	free(a);
}
