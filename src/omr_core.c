/*
 * omr_core: see omr_core.h; the core's files are listed in omr_core_int.h.
 *
 * The lifecycle, driven from the module table (omr_core_modules.c):
 *   create  every row in order; a failure stops the start-up
 *   start   every row in order, once the commands connection to Redis is
 *           first up (the daemon is "starting" until then)
 *   stop    SIGTERM: every row in reverse order stops taking input
 *   drain   up to OMR_DRAIN_MS for accepted work to finish
 *   settle  every row in reverse order makes what is still pending call
 *           back now (the edge closes its sockets, worker pools finish,
 *           transfers are cancelled, Redis connections close), then the
 *           loop runs until no callback is left, while every module lives
 *   free    every created row in reverse order
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "omr_admin.h"
#include "omr_core.h"
#include "omr_core_int.h"
#include "omr_curl.h"
#include "omr_embedded.h"
#include "omr_events.h"
#include "omr_hub.h"
#include "omr_host.h"
#include "omr_ingest.h"
#include "omr_log.h"
#include "omr_nodes.h"
#include "omr_primary.h"
#include "omr_redis.h"
#include "omr_util.h"
#include "omr_worker.h"

#define OMR_DRAIN_MS 5000
#define OMR_SETTLE_PASSES 1000

void omr_core_notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	OMR_UNUSED(state);
#endif
}

/* ---- the table, in its three parts ---- */

size_t omr_core_nmodules(void)
{
	return omr_core_ninfra + omr_core_nservices + omr_core_nlast;
}

const struct omr_module *omr_core_module(size_t i)
{
	if (i < omr_core_ninfra)
		return &omr_core_infra[i];
	i -= omr_core_ninfra;
	if (i < omr_core_nservices)
		return &omr_core_services[i];
	return &omr_core_last[i - omr_core_nservices];
}

/* ---- start ---- */

void omr_core_online(struct omr_core *c)
{
	char *err = NULL;

	c->state = OMR_CORE_RUNNING;
	evtimer_del(c->wait_timer);
	for (; c->started < c->created; c->started++) {
		const struct omr_module *m = omr_core_module(c->started);
		if (m->start && m->start(c, &err) < 0) {
			omr_log_error("%s", err ? err : "a module failed to start");
			free(err);
			omr_core_shutdown(c, 1);
			return;
		}
	}
	omr_log_info("omniroute %s running as node '%s'", PACKAGE_VERSION, c->node_id);
	omr_core_notify("READY=1\nSTATUS=running");
	/* what this node's previous run left counted is set right now */
	struct omr_hub_event first = { .type = OMR_HUB_REDIS_BACK };
	omr_hub_emit(c->hub, &first);
}

static void omr_core_waiting(evutil_socket_t fd, short what, void *arg)
{
	omr_log_warn("still waiting for Redis; messages are refused until it is reachable");
}

/* ---- stop, drain, settle ---- */

static size_t omr_core_redis_pending(const struct omr_core *c)
{
	struct omr_redis_stats a = { 0 }, b = { 0 }, d = { 0 }, w = { 0 };
	if (c->redis)
		omr_redis_get_stats(c->redis, &a);
	if (c->redis_ingest)
		omr_redis_get_stats(c->redis_ingest, &w);
	if (c->redis_block)
		omr_redis_get_stats(c->redis_block, &b);
	if (c->redis_bus)
		omr_redis_get_stats(c->redis_bus, &d);
	return a.pending + b.pending + d.pending + w.pending + omr_primary_pending(c->primary);
}

static void omr_core_drain(evutil_socket_t fd, short what, void *arg)
{
	struct omr_core *c = arg;
	struct omr_redis_stats rs = { 0 };
	struct omr_worker_stats ws = { 0 };
	size_t inflight = c->ingest ? omr_ingest_inflight(c->ingest) : 0;
	size_t transfers = c->curl ? omr_curl_running(c->curl) : 0;

	if (c->redis)
		omr_redis_get_stats(c->redis, &rs);
	/* a job (a mail being read) ends in a store: wait for it too */
	if (c->jobs)
		omr_worker_get_stats(c->jobs, &ws);
	size_t jobs = ws.queued + ws.running;
	size_t events = c->events ? omr_events_live(c->events) : 0;
	int done = inflight == 0 && rs.pending == 0 && transfers == 0 && jobs == 0 && events == 0;
	if (done && c->nodes && !c->left) {
		/* nothing in hand any more: the others may take over at once */
		c->left = 1;
		omr_nodes_leave(c->nodes);
		return;
	}
	if (done || omr_mono_ms() > c->drain_deadline) {
		if (inflight || rs.pending || transfers || jobs)
			omr_log_warn("stopping with %zu message(s) being stored, %zu Redis "
				     "command(s), %zu transfer(s) and %zu job(s) pending; senders "
				     "were not acknowledged and retry", inflight, rs.pending,
				     transfers, jobs);
		evtimer_del(c->drain_timer);
		event_base_loopexit(c->base, NULL);
	}
}

static void omr_core_drained(evutil_socket_t fd, short what, void *arg)
{
	struct omr_core *c = arg;
	omr_core_shutdown(c, c->exit_code);
}

void omr_core_shutdown(struct omr_core *c, int exit_code)
{
	struct timeval tick = { 0, 20000 };
	long long drain = c->cfg->node.drain;

	if (c->state == OMR_CORE_STOPPING)
		return;
	if (c->state == OMR_CORE_RUNNING && drain > 0 && !c->draining && exit_code == 0) {
		/* say 503 first, serve on: the load balancer sends new
		 * connections elsewhere, then the stop closes the rest */
		struct timeval tv = { drain / 1000, (drain % 1000) * 1000 };
		omr_log_info("draining: /healthz answers 503 for %lld ms, then the node stops "
			     "(SIGTERM again: stop now)", drain);
		c->draining = 1;
		c->exit_code = exit_code;
		c->draining_ev = evtimer_new(c->base, omr_core_drained, c);
		evtimer_add(c->draining_ev, &tv);
		return;
	}
	omr_log_info("stopping");
	omr_core_notify("STOPPING=1");
	c->state = OMR_CORE_STOPPING;
	c->exit_code = exit_code;
	/* Stop taking input; what was accepted gets a bounded time to finish. */
	for (size_t i = c->started; i > 0; i--)
		if (omr_core_module(i - 1)->stop)
			omr_core_module(i - 1)->stop(c);
	c->drain_deadline = omr_mono_ms() + OMR_DRAIN_MS;
	event_add(c->drain_timer, &tick);
}

/* Everything still pending calls back now, while every module lives; then
 * the loop runs the callbacks that were deferred to a later pass (commands
 * that failed because their connection is closed) until none is left. */
static void omr_core_settle(struct omr_core *c)
{
	int passes = 0;
	c->state = OMR_CORE_STOPPING;
	for (size_t i = c->created; i > 0; i--)
		if (omr_core_module(i - 1)->settle)
			omr_core_module(i - 1)->settle(c);
	while (omr_core_redis_pending(c) > 0 && passes++ < OMR_SETTLE_PASSES)
		event_base_loop(c->base, EVLOOP_NONBLOCK);
	if (omr_core_redis_pending(c) > 0)
		omr_log_warn("%zu Redis callback(s) did not settle", omr_core_redis_pending(c));
}

/* ---- what the admin API shows ---- */

void omr_core_health(void *arg, struct omr_admin_health *h)
{
	struct omr_core *c = arg;
	int64_t waited = omr_redis_oldest_ms(c->redis);

	h->uptime_s = (omr_now_ms() - c->started_ms) / 1000;
	h->redis = !omr_redis_ready(c->redis) ? "down" : waited >= OMR_INGEST_STALL_MS ? "slow" : "up";
	h->running = c->state == OMR_CORE_RUNNING;
	h->reason[0] = '\0';
	if (c->state == OMR_CORE_STARTING) {
		h->status = "starting";
		snprintf(h->reason, sizeof(h->reason), "waiting for Redis");
	} else if (c->state == OMR_CORE_STOPPING) {
		h->status = "stopping";
	} else if (c->draining) {
		h->status = "draining";
		snprintf(h->reason, sizeof(h->reason), "the node is about to stop");
	} else if (c->drained) {
		h->status = "draining";
		snprintf(h->reason, sizeof(h->reason), "drained by an operator (POST /api/v1/drain)");
	} else if (!omr_redis_ready(c->redis)) {
		h->status = "degraded";
		snprintf(h->reason, sizeof(h->reason), "Redis is unreachable");
	} else if (waited >= OMR_INGEST_STALL_MS) {
		h->status = "degraded";
		snprintf(h->reason, sizeof(h->reason), "Redis has not answered for %lld ms",
			 (long long)waited);
	} else {
		h->status = "ok";
	}
}

void omr_core_metrics(void *arg, struct omr_buf *b)
{
	struct omr_core *c = arg;
	omr_metric(b, "up", "gauge", "1 when running with Redis reachable",
		   c->state == OMR_CORE_RUNNING && omr_redis_ready(c->redis));
	omr_metric(b, "reloads_total", "counter", "successful configuration reloads", c->reloads);
	omr_metric(b, "reload_failures_total", "counter", "rejected configuration reloads",
		   c->reload_failures);
	for (size_t i = 0; i < c->created; i++)
		if (omr_core_module(i)->metrics)
			omr_core_module(i)->metrics(c, b);
	omr_host_plugin_metrics(c->plugins, c->nplugins, b);
}

/* ---- signals ---- */

static void omr_core_signal(evutil_socket_t sig, short what, void *arg)
{
	struct omr_core *c = arg;
	switch (sig) {
	case SIGHUP:
		omr_log_info("SIGHUP: reloading %s", c->config_path);
		omr_core_reload(c, NULL);
		break;
	case SIGTERM:
	case SIGINT:
		omr_core_shutdown(c, 0);
		break;
	case SIGCHLD:
		omr_embedded_reap(c->embedded);
		break;
	default:
		break;
	}
}

static int omr_core_signals(struct omr_core *c)
{
	signal(SIGPIPE, SIG_IGN);
	c->sig_hup = evsignal_new(c->base, SIGHUP, omr_core_signal, c);
	c->sig_term = evsignal_new(c->base, SIGTERM, omr_core_signal, c);
	c->sig_int = evsignal_new(c->base, SIGINT, omr_core_signal, c);
	c->sig_chld = evsignal_new(c->base, SIGCHLD, omr_core_signal, c);
	if (evsignal_add(c->sig_hup, NULL) < 0 || evsignal_add(c->sig_term, NULL) < 0 ||
	    evsignal_add(c->sig_int, NULL) < 0 || evsignal_add(c->sig_chld, NULL) < 0)
		return -1;
	return 0;
}

/* ---- lifecycle ---- */

struct omr_core *omr_core_new(const char *config_path, struct omr_config *cfg)
{
	struct omr_core *c = omr_calloc(1, sizeof(*c));
	c->config_path = omr_strdup(config_path);
	c->cfg = cfg;
	c->node_id = omr_strdup(cfg->node.id);
	c->state = OMR_CORE_STARTING;
	c->started_ms = omr_now_ms();
	c->base = event_base_new();
	if (!c->base) {
		omr_log_error("cannot create the event loop");
		abort();
	}
	c->env.base = c->base;
	c->env.node_id = c->node_id;
	c->env.cfg = &c->cfg;
	return c;
}

int omr_core_run(struct omr_core *c)
{
	char *err = NULL;
	struct timeval wait = { 5, 0 };

	c->drain_timer = event_new(c->base, -1, EV_PERSIST, omr_core_drain, c);
	c->wait_timer = event_new(c->base, -1, EV_PERSIST, omr_core_waiting, c);
	if (omr_core_signals(c) < 0) {
		omr_log_error("cannot install signal handlers");
		return 1;
	}
	for (; c->created < omr_core_nmodules(); c->created++) {
		const struct omr_module *m = omr_core_module(c->created);
		if (m->create && m->create(c, &err) < 0) {
			c->created++; /* its destroy frees what it made before failing */
			omr_log_error("cannot start: %s", err ? err : m->name);
			free(err);
			omr_core_settle(c);
			return 1;
		}
	}
	event_add(c->wait_timer, &wait);
	event_base_dispatch(c->base);
	omr_core_settle(c);
	return c->exit_code;
}

void omr_core_free(struct omr_core *c)
{
	if (!c)
		return;
	for (size_t i = c->created; i > 0; i--)
		if (omr_core_module(i - 1)->destroy)
			omr_core_module(i - 1)->destroy(c);
	if (c->sig_hup) {
		event_free(c->sig_hup);
		event_free(c->sig_term);
		event_free(c->sig_int);
		event_free(c->sig_chld);
	}
	if (c->drain_timer)
		event_free(c->drain_timer);
	if (c->draining_ev)
		event_free(c->draining_ev);
	if (c->wait_timer)
		event_free(c->wait_timer);
	event_base_free(c->base);
	omr_config_free(c->cfg);
	free(c->config_path);
	free(c->node_id);
	free(c);
}
