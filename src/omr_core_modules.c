/*
 * omr_core_modules: the module table (omr_core_int.h). Its order is the
 * order of creation and start; stopping, settling and freeing go the other
 * way. Each row is a small adapter that hands a module what it needs, and
 * nothing more: the modules never see struct omr_core.
 *
 * Why this order: plugins are opened first (a broken plugin fails the
 * start before a port is bound or Redis started); the embedded Redis comes
 * before the connections to it and goes last; the listeners bind before
 * the modules that register routes and endpoints on them; the plugins'
 * init comes after everything they register on; the edge starts listening
 * last, once every endpoint is there.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/dns.h>

#include "omr_admin.h"
#include "omr_admission.h"
#include "omr_agents.h"
#include "omr_bots.h"
#include "omr_bus.h"
#include "omr_channels.h"
#include "omr_core.h"
#include "omr_core_int.h"
#include "omr_curl.h"
#include "omr_edge.h"
#include "omr_embedded.h"
#include "omr_primary.h"
#include "omr_events.h"
#include "omr_files.h"
#include "omr_host.h"
#include "omr_http.h"
#include "omr_hub.h"
#include "omr_ingest.h"
#include "omr_log.h"
#include "omr_nodes.h"
#include "omr_outbox.h"
#include "omr_plugin.h"
#include "omr_redis.h"
#include "omr_retry.h"
#include "omr_router.h"
#include "omr_store.h"
#include "omr_tls.h"
#include "omr_util.h"
#include "omr_webhook.h"
#include "omr_worker.h"

#define OMR_LOGIN_THREADS (1 + OMR_AUTH_DIRECTORY_THREADS) /* PBKDF2, directory binds */

/* ---- admission gates of the main thread (the edge has its own) ---- */

static void omr_core_gate_limits(const struct omr_gate_conf *g, struct omr_gate_limits *l)
{
	l->conns = g->max_connections;
	l->conns_per_ip = g->max_per_ip;
	l->rate_per_ip = (double)g->rate_per_ip;
	l->burst_per_ip = (double)g->burst_per_ip;
}

static int omr_mod_gates_create(struct omr_core *c, char **err_r)
{
	struct omr_gate_limits l;
	omr_core_gate_limits(&c->cfg->admission.chat, &l);
	c->chat_gate = omr_gate_new("web chat visitors", &l);
	return 0;
}

static void omr_mod_gates_reload(struct omr_core *c)
{
	struct omr_gate_limits l;
	omr_core_gate_limits(&c->cfg->admission.chat, &l);
	omr_gate_set_limits(c->chat_gate, &l);
}

static void omr_mod_gates_destroy(struct omr_core *c)
{
	omr_gate_free(c->chat_gate);
}

static void omr_core_gate_metrics(struct omr_buf *b, const char *door, struct omr_gate *g)
{
	struct omr_gate_stats st;
	char name[96];
	omr_gate_get_stats(g, &st);
	snprintf(name, sizeof(name), "admission_%s_admitted_total", door);
	omr_metric(b, name, "counter", "clients let in at this door", st.admitted);
	snprintf(name, sizeof(name), "admission_%s_refused_total", door);
	omr_metric(b, name, "counter", "clients refused at this door (any reason)",
		   st.refused_full + st.refused_ip + st.refused_rate);
}

static void omr_mod_gates_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_core_gate_metrics(b, "chat", c->chat_gate);
}

/* ---- the hub ---- */

static int omr_mod_hub_create(struct omr_core *c, char **err_r)
{
	c->hub = omr_hub_new();
	c->env.hub = c->hub;
	return 0;
}

static void omr_mod_hub_destroy(struct omr_core *c)
{
	omr_hub_free(c->hub);
}

/* ---- Redis ---- */

static int omr_mod_embedded_create(struct omr_core *c, char **err_r)
{
	static const char *const fsync_names[] = { "always", "everysec", "no" };
	const struct omr_config *cfg = c->cfg;
	if (!cfg->redis.embedded)
		return 0;
	if (mkdir(cfg->paths.state_dir, 0750) == -1 && errno != EEXIST)
		return omr_err(err_r, "cannot create state directory %s: %s", cfg->paths.state_dir,
			       strerror(errno));
	c->embedded = omr_embedded_new(c->base, cfg->redis.server, cfg->paths.state_dir,
				       fsync_names[cfg->redis.appendfsync]);
	return omr_embedded_start(c->embedded, err_r);
}

static void omr_mod_embedded_destroy(struct omr_core *c)
{
	omr_embedded_stop(c->embedded, 10000);
	omr_embedded_free(c->embedded);
}

static int omr_core_redis_target(struct omr_core *c, struct omr_redis_target *t, char **err_r)
{
	const struct omr_config *cfg = c->cfg;
	memset(t, 0, sizeof(*t));
	if (cfg->redis.embedded)
		t->path = omr_strdup(omr_embedded_socket(c->embedded));
	else if (cfg->redis.sentinels || cfg->redis.cluster)
		t->host = omr_strdup("0.0.0.0"); /* not used: omr_primary names it */
	else if (omr_redis_target_parse(cfg->redis.url, t, err_r) < 0)
		return -1;
	if (cfg->redis.password) {
		free(t->password);
		t->password = omr_strdup(cfg->redis.password);
	}
	if (cfg->redis.username && !cfg->redis.embedded) {
		free(t->username);
		t->username = omr_strdup(cfg->redis.username);
	}
	return 0;
}

static void omr_core_redis_ready(void *arg)
{
	struct omr_core *c = arg;
	struct omr_hub_event back = { .type = OMR_HUB_REDIS_BACK };
	if (c->primary)
		omr_primary_verify(c->primary, c->redis);
	if (c->state == OMR_CORE_STARTING)
		omr_core_online(c);
	else if (c->state == OMR_CORE_RUNNING)
		omr_hub_emit(c->hub, &back);
}

/* A connection to the primary was lost: with Sentinel or a Cluster, it
 * may have moved. */
static void omr_core_redis_down(void *arg)
{
	struct omr_core *c = arg;
	if (c->primary)
		omr_primary_ask(c->primary);
}

/* An error reply: a Cluster's MOVED, a demoted primary's READONLY ... */
static void omr_core_redis_error(void *arg, const char *err)
{
	struct omr_core *c = arg;
	if (c->primary)
		omr_primary_redirected(c->primary, err);
}

static void omr_core_block_ready(void *arg)
{
	struct omr_core *c = arg;
	if (c->events && c->state == OMR_CORE_RUNNING)
		omr_events_kick(c->events);
}

static void omr_core_bus_ready(void *arg)
{
	struct omr_core *c = arg;
	if (c->bus && c->state == OMR_CORE_RUNNING)
		omr_bus_kick(c->bus);
}

static int omr_mod_redis_create(struct omr_core *c, char **err_r)
{
	const struct omr_config *cfg = c->cfg;
	struct omr_redis_target t;
	if (omr_core_redis_target(c, &t, err_r) < 0)
		return -1;
	if (t.host || cfg->redis.sentinels || cfg->redis.cluster) {
		/* the system's resolver configuration, read once; a missing
		 * resolv.conf still leaves /etc/hosts */
		c->dns = evdns_base_new(c->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		if (!c->dns && (c->dns = evdns_base_new(c->base, 0)))
			evdns_base_load_hosts(c->dns, NULL);
		if (!c->dns) {
			omr_redis_target_free(&t);
			return omr_err(err_r, "cannot set up a DNS resolver for %s", cfg->redis.url);
		}
	}
	struct omr_redis_opts o = {
		.name = "commands",
		.connect_timeout = cfg->redis.connect_timeout,
		.command_timeout = cfg->redis.command_timeout,
		.on_ready = omr_core_redis_ready,
		.on_down = omr_core_redis_down,
		.on_error = omr_core_redis_error,
		.arg = c,
		.dns = c->dns,
	};
	c->redis = omr_redis_new(c->base, &t, &o);
	o.name = "stream";
	o.on_ready = omr_core_block_ready;
	c->redis_block = omr_redis_new(c->base, &t, &o);
	o.name = "bus";
	o.on_ready = omr_core_bus_ready;
	c->redis_bus = omr_redis_new(c->base, &t, &o);
	if (cfg->redis.durability.replicas) {
		o.name = "ingest";
		o.on_ready = NULL;
		c->redis_ingest = omr_redis_new(c->base, &t, &o);
	}
	omr_redis_target_free(&t);
	if (cfg->redis.sentinels || cfg->redis.cluster)
		return omr_core_primary_new(c, err_r); /* connects once it knows where */
	omr_redis_start(c->redis);
	omr_redis_start(c->redis_block);
	omr_redis_start(c->redis_bus);
	if (c->redis_ingest)
		omr_redis_start(c->redis_ingest);
	return 0;
}

/* The blocking readers first: their one pending read fails into stopped
 * consumers; then the commands connection. */
static void omr_mod_redis_settle(struct omr_core *c)
{
	omr_redis_close(c->redis_block);
	omr_redis_close(c->redis_bus);
	omr_redis_close(c->redis_ingest);
	omr_redis_close(c->redis);
	omr_primary_close(c->primary);
}

static void omr_mod_redis_destroy(struct omr_core *c)
{
	omr_redis_free(c->redis_block);
	omr_redis_free(c->redis_bus);
	omr_redis_free(c->redis_ingest);
	omr_redis_free(c->redis);
	omr_primary_free(c->primary);
	if (c->dns)
		evdns_base_free(c->dns, 0);
}

static void omr_mod_redis_metrics(struct omr_core *c, struct omr_buf *b)
{
	struct omr_redis_stats rs, bs = { 0 }, ks = { 0 }, is = { 0 };
	omr_redis_get_stats(c->redis, &rs);
	is.functions = 1;
	if (c->redis_ingest)
		omr_redis_get_stats(c->redis_ingest, &is);
	if (c->redis_bus)
		omr_redis_get_stats(c->redis_bus, &bs);
	if (c->redis_block)
		omr_redis_get_stats(c->redis_block, &ks);
	omr_metric(b, "redis_commands_total", "counter", "Redis commands sent", rs.commands);
	omr_metric(b, "redis_bus_commands_total", "counter",
		   "Redis commands sent on the bus connection", bs.commands);
	omr_metric(b, "redis_block_commands_total", "counter",
		   "Redis commands sent on the blocking connection", ks.commands);
	omr_metric(b, "redis_errors_total", "counter", "Redis commands that failed", rs.errors);
	omr_metric(b, "redis_reconnects_total", "counter", "Redis reconnections", rs.reconnects);
	omr_metric(b, "redis_pending", "gauge", "Redis commands awaiting a reply", rs.pending);
	/* the connections that run scripts: commands, and ingest's own */
	omr_metric(b, "redis_functions", "gauge",
		   "1 while the scripts run as Redis Functions (FCALL), 0 with EVALSHA",
		   (unsigned long long)(rs.functions && is.functions));
	omr_metric(b, "redis_function_loads_total", "counter",
		   "FUNCTION LOADs of the script library sent", rs.fn_loads + is.fn_loads);
	omr_metric(b, "redis_script_fallbacks_total", "counter",
		   "script calls sent with EVALSHA because Redis Functions could not be used",
		   rs.fn_fallbacks + is.fn_fallbacks);
	omr_metric(b, "redis_oldest_pending_ms", "gauge",
		   "how long the oldest Redis command has waited for its answer",
		   (unsigned long long)omr_redis_oldest_ms(c->redis));
	if (c->primary)
		omr_primary_metrics(c->primary, b);
}

static int omr_mod_store_create(struct omr_core *c, char **err_r)
{
	const struct omr_config *cfg = c->cfg;
	struct omr_store_opts so = {
		.prefix = cfg->redis.prefix,
		.site = cfg->redis.site,
		.dedup_ttl = cfg->limits.dedup_ttl,
	};
	c->store = omr_store_new(c->redis, &so);
	c->env.store = c->store;
	if (c->redis_ingest) {
		struct omr_store_durability d = {
			.replicas = (int)cfg->redis.durability.replicas,
			.timeout = cfg->redis.durability.timeout,
			.refuse_short = cfg->redis.durability.refuse_short,
			.confirm = c->primary ? omr_core_confirm_primary : NULL,
			.confirm_arg = c,
		};
		omr_store_durable(c->store, c->redis_ingest, &d);
	}
	return 0;
}

static void omr_mod_store_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_store_metrics(c->store, b);
}

static void omr_mod_store_destroy(struct omr_core *c)
{
	omr_store_free(c->store);
}

/* ---- threads, outbound transfers, files ---- */

static int omr_mod_workers_create(struct omr_core *c, char **err_r)
{
	struct omr_worker_opts jobs = {
		.name = "jobs",
		.threads = (int)c->cfg->limits.workers,
		.max_queued = (size_t)c->cfg->limits.work_queue,
	};
	/* the login queue is bounded by the agent gateway (admission.login_queue) */
	struct omr_worker_opts login = { .name = "login", .threads = OMR_LOGIN_THREADS,
					 .max_queued = 4 };
	c->jobs = omr_worker_new(c->base, &jobs);
	c->login = omr_worker_new(c->base, &login);
	return 0;
}

static void omr_mod_workers_settle(struct omr_core *c)
{
	omr_worker_stop(c->jobs);
	omr_worker_stop(c->login);
}

static void omr_mod_workers_destroy(struct omr_core *c)
{
	omr_worker_free(c->jobs);
	omr_worker_free(c->login);
}

static void omr_core_worker_metrics(struct omr_buf *b, struct omr_worker *w)
{
	struct omr_worker_stats st;
	char name[64];
	omr_worker_get_stats(w, &st);
	snprintf(name, sizeof(name), "worker_%s_done_total", omr_worker_name(w));
	omr_metric(b, name, "counter", "jobs that ran on this worker pool", st.done);
	snprintf(name, sizeof(name), "worker_%s_refused_total", omr_worker_name(w));
	omr_metric(b, name, "counter", "jobs refused: the pool's queue was full", st.refused);
	snprintf(name, sizeof(name), "worker_%s_queued", omr_worker_name(w));
	omr_metric(b, name, "gauge", "jobs waiting for a thread of this pool", st.queued);
}

static void omr_mod_workers_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_core_worker_metrics(b, c->jobs);
	omr_core_worker_metrics(b, c->login);
}

static int omr_mod_curl_create(struct omr_core *c, char **err_r)
{
	c->curl = omr_curl_new(c->base, err_r);
	if (!c->curl)
		return -1;
	c->retry = omr_retry_new(c->base, c->curl);
	return 0;
}

/* Provider calls waiting for a retry end now, and transfers still
 * running end now, while their plugins exist. */
static void omr_mod_curl_settle(struct omr_core *c)
{
	omr_retry_stop(c->retry);
	omr_curl_stop(c->curl);
}

static void omr_mod_curl_destroy(struct omr_core *c)
{
	omr_curl_free(c->curl);
	omr_retry_free(c->retry);
}

static void omr_mod_curl_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_metric(b, "provider_sends_waiting", "gauge",
		   "provider API calls waiting for a retry or their rate lane",
		   omr_retry_waiting(c->retry));
}

static int omr_mod_files_create(struct omr_core *c, char **err_r)
{
	char root[4096];
	if (snprintf(root, sizeof(root), "%s/attachments", c->cfg->paths.state_dir) >=
	    (int)sizeof(root))
		return omr_err(err_r, "paths.state_dir is too long");
	c->files = omr_files_new(root);
	if (!c->files)
		return omr_err(err_r, "cannot make a key for file links (no randomness)");
	omr_files_set_ttl(c->files, c->cfg->edge.file_link_ttl / 1000);
	return 0;
}

/* links made from now on */
static void omr_mod_files_reload(struct omr_core *c)
{
	omr_files_set_ttl(c->files, c->cfg->edge.file_link_ttl / 1000);
}

static void omr_mod_files_destroy(struct omr_core *c)
{
	omr_files_free(c->files);
}

/* ---- listeners ---- */

static const char *const omr_mod_tls_names[OMR_CORE_TLS_N] = { "edge", "webhooks", "admin" };

/* A listener's TLS context from its section: *ctx_r NULL when it is plain.
 * Its certificate's end is kept for /metrics, and said when it is near. */
static int omr_mod_tls(struct omr_core *c, int slot, const struct omr_tls_conf *t,
		       struct ssl_ctx_st **ctx_r, char **err_r)
{
	const char *what = omr_mod_tls_names[slot];
	char *err = NULL;
	long long left;
	*ctx_r = NULL;
	if (!omr_tls_enabled(t))
		return 0;
	*ctx_r = omr_tls_ctx_new(t, &err);
	if (!*ctx_r) {
		omr_err(err_r, "%s: tls: %s", what, err);
		free(err);
		return -1;
	}
	c->tls_not_after[slot] = omr_tls_ctx_not_after(*ctx_r);
	left = c->tls_not_after[slot] - (long long)time(NULL);
	if (left < 0)
		omr_log_error("%s: tls: the certificate %s has EXPIRED: clients refuse it", what,
			      t->cert);
	else if (left < OMR_CORE_TLS_WARN_S)
		omr_log_warn("%s: tls: the certificate %s expires in %lld day(s)", what, t->cert,
			     left / 86400);
	return 0;
}

/* A reload: listeners that serve TLS take the certificates as they are now
 * on disk (turning TLS on or off needs a restart: omr_core_reload warns). */
static void omr_mod_tls_reload(struct omr_core *c, int slot, const struct omr_tls_conf *t, int on,
			       void (*set)(void *listener, struct ssl_ctx_st *ctx), void *listener)
{
	struct ssl_ctx_st *ctx;
	char *err = NULL;
	if (!on || !omr_tls_enabled(t))
		return;
	if (omr_mod_tls(c, slot, t, &ctx, &err) < 0) {
		omr_log_error("reload: %s; new connections keep the certificate loaded before", err);
		free(err);
		return;
	}
	set(listener, ctx);
}

static void omr_mod_edge_set_tls(void *edge, struct ssl_ctx_st *ctx)
{
	omr_edge_set_tls(edge, ctx);
}

static void omr_mod_http_set_tls(void *http, struct ssl_ctx_st *ctx)
{
	omr_http_server_set_tls(http, ctx);
}

static int omr_mod_edge_create(struct omr_core *c, char **err_r)
{
	const struct omr_config *cfg = c->cfg;
	struct ssl_ctx_st *tls;
	if (omr_mod_tls(c, OMR_CORE_TLS_EDGE, &cfg->edge.tls, &tls, err_r) < 0)
		return -1;
	struct omr_edge_opts eo = {
		.address = cfg->edge.listen.address,
		.port = (int)cfg->edge.listen.port,
		.max_message = (size_t)cfg->edge.max_message,
		.ping_interval = cfg->edge.ping_interval,
		.allowed_origins = cfg->edge.allowed_origins,
		.files = c->files,
		.admission = { .conns = cfg->admission.edge.max_connections,
			       .conns_per_ip = cfg->admission.edge.max_per_ip,
			       .rate_per_ip = (double)cfg->admission.edge.rate_per_ip,
			       .burst_per_ip = (double)cfg->admission.edge.burst_per_ip },
		.queue_per_conn = (size_t)cfg->admission.edge_queue_per_conn,
		.queue = (size_t)cfg->admission.edge_queue,
		.unauth_rate = (double)cfg->admission.edge_unauth_rate,
		.unauth_burst = (double)cfg->admission.edge_unauth_burst,
		.tls = tls,
	};
	c->edge = omr_edge_new(c->base, &eo);
	return 0;
}

static void omr_mod_edge_reload(struct omr_core *c)
{
	omr_mod_tls_reload(c, OMR_CORE_TLS_EDGE, &c->cfg->edge.tls, omr_edge_has_tls(c->edge),
			   omr_mod_edge_set_tls, c->edge);
}

/* The edge thread stops (every websocket closes); the CLOSED events reach
 * their endpoints now. */
static void omr_mod_edge_settle(struct omr_core *c)
{
	omr_edge_stop(c->edge);
}

static void omr_mod_edge_destroy(struct omr_core *c)
{
	omr_edge_free(c->edge);
}

static void omr_mod_edge_metrics(struct omr_core *c, struct omr_buf *b)
{
	struct omr_edge_stats es = { 0 };
	omr_edge_get_stats(c->edge, &es);
	omr_metric(b, "ws_connections", "gauge", "open websocket connections", es.connections);
	omr_metric(b, "ws_accepted_total", "counter", "websocket connections accepted",
		   es.accepted);
	omr_metric(b, "ws_messages_in_total", "counter", "websocket messages received",
		   es.messages_in);
	omr_metric(b, "ws_messages_out_total", "counter", "websocket messages sent",
		   es.messages_out);
	omr_metric(b, "ws_rejected_total", "counter", "websocket handshakes or messages refused",
		   es.rejected);
	omr_buf_printf(b, "# HELP omniroute_ws_refused_total edge connections refused before the "
			  "websocket handshake (admission.edge) or at it (origin), by reason\n"
			  "# TYPE omniroute_ws_refused_total counter\n"
			  "omniroute_ws_refused_total{reason=\"connections\"} %llu\n"
			  "omniroute_ws_refused_total{reason=\"per_ip\"} %llu\n"
			  "omniroute_ws_refused_total{reason=\"rate\"} %llu\n"
			  "omniroute_ws_refused_total{reason=\"origin\"} %llu\n",
		       (unsigned long long)es.refused_full, (unsigned long long)es.refused_ip,
		       (unsigned long long)es.refused_rate, (unsigned long long)es.refused_origin);
	omr_metric(b, "ws_abusers_closed_total", "counter",
		   "websockets closed (1008) for too many frames before a hello or log-in",
		   es.abusers);
	omr_metric(b, "ws_flow_pauses_total", "counter",
		   "times the edge stopped reading a websocket while the core caught up",
		   es.flow_pauses);
	omr_metric(b, "ws_paused", "gauge", "websockets not being read now", es.paused);
	omr_metric(b, "ws_queued_bytes", "gauge", "bytes of websocket messages waiting for the core",
		   es.queued_bytes);
	omr_metric(b, "ws_accept_errors_total", "counter",
		   "failed accepts on the edge port (out of file descriptors, ...)", es.accept_errors);
	omr_metric(b, "ws_pings_total", "counter",
		   "pings sent to websockets silent for edge.ping_interval", es.pings);
	omr_metric(b, "ws_unanswered_total", "counter",
		   "websockets dropped for answering no ping (edge.ping_interval + 10 s)",
		   es.unanswered);
}

static int omr_mod_http_create(struct omr_core *c, char **err_r)
{
	const struct omr_config *cfg = c->cfg;
	struct omr_http_limits lim;
	struct ssl_ctx_st *tls;
	omr_http_limits_conf(&lim, cfg, &cfg->admission.admin);
	c->admin_http = omr_http_server_new(c->base, "admin", cfg->admin.listen.address,
					    (int)cfg->admin.listen.port, (size_t)cfg->admin.max_body,
					    &lim, err_r);
	if (!c->admin_http || omr_mod_tls(c, OMR_CORE_TLS_ADMIN, &cfg->admin.tls, &tls, err_r) < 0)
		return -1;
	if (tls)
		omr_http_server_set_tls(c->admin_http, tls);
	omr_http_limits_conf(&lim, cfg, &cfg->admission.webhooks);
	c->webhook_http = omr_http_server_new(c->base, "webhooks", cfg->webhooks.listen.address,
					      (int)cfg->webhooks.listen.port,
					      (size_t)cfg->webhooks.max_body, &lim, err_r);
	if (!c->webhook_http ||
	    omr_mod_tls(c, OMR_CORE_TLS_WEBHOOKS, &cfg->webhooks.tls, &tls, err_r) < 0)
		return -1;
	if (tls)
		omr_http_server_set_tls(c->webhook_http, tls);
	return 0;
}

static void omr_mod_http_reload(struct omr_core *c)
{
	struct omr_http_limits lim;
	omr_http_limits_conf(&lim, c->cfg, &c->cfg->admission.admin);
	omr_http_server_set_limits(c->admin_http, &lim);
	omr_http_limits_conf(&lim, c->cfg, &c->cfg->admission.webhooks);
	omr_http_server_set_limits(c->webhook_http, &lim);
	omr_mod_tls_reload(c, OMR_CORE_TLS_ADMIN, &c->cfg->admin.tls,
			   omr_http_server_has_tls(c->admin_http), omr_mod_http_set_tls, c->admin_http);
	omr_mod_tls_reload(c, OMR_CORE_TLS_WEBHOOKS, &c->cfg->webhooks.tls,
			   omr_http_server_has_tls(c->webhook_http), omr_mod_http_set_tls,
			   c->webhook_http);
}

static void omr_mod_http_destroy(struct omr_core *c)
{
	omr_http_server_free(c->admin_http);
	omr_http_server_free(c->webhook_http);
}

static void omr_mod_http_metrics(struct omr_core *c, struct omr_buf *b)
{
	unsigned long long hreq, herr;
	omr_http_stats(c->webhook_http, &hreq, &herr);
	omr_metric(b, "webhook_requests_total", "counter", "webhook HTTP requests", hreq);
	omr_metric(b, "webhook_errors_total", "counter", "webhook HTTP requests answered 4xx/5xx",
		   herr);
	struct omr_http_server *const servers[] = { c->webhook_http, c->admin_http };
	omr_http_metrics(b, servers, OMR_ARRAY_LEN(servers));
	omr_buf_printf(b, "# HELP omniroute_tls_not_after_seconds when the certificate new "
			  "connections get expires (unix time), per listener with TLS\n"
			  "# TYPE omniroute_tls_not_after_seconds gauge\n");
	for (int i = 0; i < OMR_CORE_TLS_N; i++)
		if (c->tls_not_after[i])
			omr_buf_printf(b, "omniroute_tls_not_after_seconds{listener=\"%s\"} %lld\n",
				       omr_mod_tls_names[i], c->tls_not_after[i]);
}

/* ---- the node bus, channels, ingest ---- */

void omr_core_bus_message(void *arg, const json_t *msg)
{
	struct omr_core *c = arg;
	const char *t = json_string_value(json_object_get(msg, "t"));
	if (!t || c->state != OMR_CORE_RUNNING)
		return;
	if (strcmp(t, "agent") == 0)
		omr_agents_deliver(c->agents, json_string_value(json_object_get(msg, "a")),
				   json_object_get(msg, "f"));
	else if (strcmp(t, "out") == 0)
		omr_channels_bus_out(c->channels, msg);
	else if (strcmp(t, "mon") == 0)
		omr_agents_monitor_bus(c->agents, msg);
	else if (strcmp(t, "logout") == 0)
		omr_agents_logout_bus(c->agents, msg);
	else if (strcmp(t, "diruser") == 0)
		omr_agents_dir_bus(c->agents, msg);
}

static void omr_core_bus_peers(void *arg, const struct omr_hub_event *ev)
{
	struct omr_core *c = arg;
	omr_bus_peers(c->bus, ev->at);
}

static int omr_mod_bus_create(struct omr_core *c, char **err_r)
{
	char *stream = omr_store_key(c->store, "bus");
	c->bus = omr_bus_new(c->base, c->redis, c->redis_bus, stream, c->env.node_id,
			     omr_core_bus_message, c);
	free(stream);
	omr_hub_on(c->hub, OMR_HUB_PEERS, omr_core_bus_peers, c);
	return 0;
}

static int omr_mod_bus_start(struct omr_core *c, char **err_r)
{
	omr_bus_kick(c->bus);
	return 0;
}

static void omr_mod_bus_stop(struct omr_core *c)
{
	omr_bus_stop(c->bus);
}

static void omr_mod_bus_metrics(struct omr_core *c, struct omr_buf *b)
{
	struct omr_bus_stats st;
	omr_bus_get_stats(c->bus, &st);
	omr_metric(b, "bus_published_total", "counter",
		   "messages written to the bus for the other nodes", st.published);
	omr_metric(b, "bus_skipped_total", "counter",
		   "messages not written to the bus: no other node was alive", st.skipped);
}

static void omr_mod_bus_destroy(struct omr_core *c)
{
	if (c->hub)
		omr_hub_off(c->hub, c);
	omr_bus_free(c->bus);
}

const struct omr_module omr_core_infra[] = {
	{ "plugin loader", omr_mod_loader_create, NULL, NULL, NULL, omr_mod_loader_destroy },
	{ "hub", omr_mod_hub_create, NULL, NULL, NULL, omr_mod_hub_destroy },
	{ "gates", omr_mod_gates_create, NULL, NULL, NULL, omr_mod_gates_destroy,
	  omr_mod_gates_reload, omr_mod_gates_metrics },
	{ "embedded redis", omr_mod_embedded_create, NULL, NULL, NULL, omr_mod_embedded_destroy },
	{ "redis", omr_mod_redis_create, NULL, NULL, omr_mod_redis_settle, omr_mod_redis_destroy,
	  NULL, omr_mod_redis_metrics },
	{ "store", omr_mod_store_create, NULL, NULL, NULL, omr_mod_store_destroy, NULL,
	  omr_mod_store_metrics },
	{ "workers", omr_mod_workers_create, NULL, NULL, omr_mod_workers_settle,
	  omr_mod_workers_destroy, NULL, omr_mod_workers_metrics },
	{ "curl", omr_mod_curl_create, NULL, NULL, omr_mod_curl_settle, omr_mod_curl_destroy, NULL,
	  omr_mod_curl_metrics },
	{ "files", omr_mod_files_create, NULL, NULL, NULL, omr_mod_files_destroy,
	  omr_mod_files_reload },
	{ "edge", omr_mod_edge_create, NULL, NULL, omr_mod_edge_settle, omr_mod_edge_destroy,
	  omr_mod_edge_reload, omr_mod_edge_metrics },
	{ "http", omr_mod_http_create, NULL, NULL, NULL, omr_mod_http_destroy, omr_mod_http_reload,
	  omr_mod_http_metrics },
	{ "bus", omr_mod_bus_create, omr_mod_bus_start, omr_mod_bus_stop, NULL,
	  omr_mod_bus_destroy, NULL, omr_mod_bus_metrics },
};

const size_t omr_core_ninfra = OMR_ARRAY_LEN(omr_core_infra);
