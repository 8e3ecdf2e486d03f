/*
 * omr_core: see omr_core.h.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "omr_admin.h"
#include "omr_agents.h"
#include "omr_bots.h"
#include "omr_bus.h"
#include "omr_curl.h"
#include "omr_core.h"
#include "omr_edge.h"
#include "omr_files.h"
#include "omr_embedded.h"
#include "omr_events.h"
#include "omr_http.h"
#include "omr_ingest.h"
#include "omr_log.h"
#include "omr_outbox.h"
#include "omr_plugin.h"
#include "omr_redis.h"
#include "omr_retry.h"
#include "omr_router.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"
#include "omr_webhook.h"
#include "omr_worker.h"

#define OMR_DRAIN_MS 5000

static void omr_core_notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	OMR_UNUSED(state);
#endif
}

/* ---- plugins ---- */

int omr_core_open_plugins(const struct omr_config *cfg, struct omr_plugin ***plugins_r,
			  size_t *n_r, struct omr_conf_errs *errs)
{
	struct omr_plugin **list = omr_calloc(cfg->nplugins + 1, sizeof(*list));
	size_t n = 0;
	int before = errs->count;

	for (size_t i = 0; i < cfg->nplugins; i++) {
		if (!cfg->plugins[i].enabled)
			continue;
		struct omr_plugin *p = omr_plugin_open(&cfg->plugins[i], errs);
		if (p)
			list[n++] = p;
	}
	*plugins_r = list;
	*n_r = n;
	/* routing.yaml's `bot:` must name a bot plugin that is loaded */
	const char *bot = cfg->routing ? cfg->routing->bot : NULL;
	if (bot) {
		size_t i;
		for (i = 0; i < n; i++)
			if (strcmp(list[i]->name, bot) == 0 && list[i]->desc->kind == OMR_PLUGIN_BOT &&
			    list[i]->desc->bot_turn)
				break;
		int failed = 0; /* listed but did not load: that error says enough */
		for (size_t k = 0; i == n && k < cfg->nplugins; k++)
			if (cfg->plugins[k].enabled && strcmp(cfg->plugins[k].name, bot) == 0)
				failed = 1;
		for (size_t k = 0; failed && k < n; k++)
			if (strcmp(list[k]->name, bot) == 0)
				failed = 0;
		if (i == n && !failed)
			omr_conf_error(errs, omr_ynode_get(cfg->docs[1]->root, "bot"),
				       "bot: '%s' is not a bot plugin listed (and enabled) under plugins",
				       bot);
	}
	return errs->count - before;
}

struct omr_plugin *omr_core_channel(struct omr_core *core, const char *channel)
{
	for (size_t i = 0; channel && i < core->nplugins; i++)
		if (!core->plugins[i]->closed && core->plugins[i]->desc->kind == OMR_PLUGIN_CHANNEL &&
		    strcmp(core->plugins[i]->name, channel) == 0)
			return core->plugins[i];
	return NULL;
}

static json_t *omr_outbound_json(const struct omr_outbound *o)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:O?}", "conversation", o->conversation,
			 "message", o->message ? o->message : "", "kind", o->kind, "address", o->address,
			 "thread", o->thread, "author", o->author, "author_name", o->author_name, "text",
			 o->text, "data", o->data);
}

static void omr_core_status_done(void *arg, const redisReply *reply, const char *err)
{
	if (err)
		omr_log_warn("delivery status not stored: %s", err);
}

int omr_core_deliver(struct omr_core *core, const char *channel, const struct omr_outbound *out)
{
	struct omr_plugin *p = omr_core_channel(core, channel);
	if (!p || !p->started) {
		omr_log_warn("conversation %s: no running channel plugin '%s' to deliver message %s",
			     out->conversation, channel, out->message);
		core->stats.outbound_failed++;
		return OMR_ERROR;
	}
	if (p->desc->flags & OMR_PLUGIN_CONNECTED) {
		/* every node tries; the one with the customer delivers */
		json_t *o = omr_outbound_json(out);
		json_t *msg = json_pack("{s:s,s:s,s:s,s:o}", "t", "out", "n", core->node_id, "ch",
					channel, "o", o);
		if (msg)
			omr_bus_publish(core->bus, msg);
		json_decref(msg);
		if (out->message && strcmp(out->kind, "message") == 0)
			omr_store_msg_status(core->store, out->message, "sent", channel, NULL, NULL,
					     omr_core_status_done, NULL);
		core->stats.outbound_sent++;
		return OMR_OK;
	}
	int message = out->message && strcmp(out->kind, "message") == 0;
	if (message)
		omr_outbox_sending(core->outbox, out->message); /* no resend while under way */
	if (p->desc->send(p->state, out) != OMR_OK) {
		if (message)
			omr_core_delivery_status(core, channel, out->message, NULL, "failed",
						 "the channel could not take the message", NULL, NULL);
		else
			core->stats.outbound_failed++;
		return OMR_ERROR;
	}
	core->stats.outbound_sent++;
	return OMR_OK;
}

static void omr_core_bus_out(struct omr_core *core, const json_t *msg)
{
	const char *channel = json_string_value(json_object_get(msg, "ch"));
	const json_t *o = json_object_get(msg, "o");
	struct omr_plugin *p = omr_core_channel(core, channel);
	struct omr_outbound out = {
		.conversation = json_string_value(json_object_get(o, "conversation")),
		.message = json_string_value(json_object_get(o, "message")),
		.kind = json_string_value(json_object_get(o, "kind")),
		.address = json_string_value(json_object_get(o, "address")),
		.thread = json_string_value(json_object_get(o, "thread")),
		.author = json_string_value(json_object_get(o, "author")),
		.author_name = json_string_value(json_object_get(o, "author_name")),
		.text = json_string_value(json_object_get(o, "text")),
		.data = json_object_get(o, "data"),
	};
	if (!p || !p->started || !(p->desc->flags & OMR_PLUGIN_CONNECTED) || !out.conversation ||
	    !out.kind || !out.address)
		return;
	p->desc->send(p->state, &out);
}

void omr_core_bus_message(void *arg, const json_t *msg)
{
	struct omr_core *core = arg;
	const char *t = json_string_value(json_object_get(msg, "t"));
	if (!t || core->state == OMR_CORE_STOPPING)
		return;
	if (strcmp(t, "agent") == 0)
		omr_agents_deliver(core->agents, json_string_value(json_object_get(msg, "a")),
				   json_object_get(msg, "f"));
	else if (strcmp(t, "out") == 0)
		omr_core_bus_out(core, msg);
}

/* ---- Redis ---- */

static void omr_core_online(struct omr_core *core)
{
	char *err = NULL;

	core->state = OMR_CORE_RUNNING;
	evtimer_del(core->wait_timer);
	for (size_t i = 0; i < core->nplugins; i++) {
		if (omr_plugin_start(core->plugins[i], &err) < 0) {
			omr_log_error("%s", err);
			omr_free_and_null(&err);
			omr_core_shutdown(core, 1);
			return;
		}
	}
	omr_agents_online(core->agents);
	omr_router_start(core->router);
	omr_bots_start(core->bots);
	omr_outbox_start(core->outbox);
	omr_bus_kick(core->bus);
	omr_log_info("omniroute %s running as node '%s'", PACKAGE_VERSION, core->node_id);
	omr_core_notify("READY=1\nSTATUS=running");
}

static void omr_core_redis_ready(void *arg)
{
	struct omr_core *core = arg;
	if (core->state == OMR_CORE_STARTING)
		omr_core_online(core);
}

static void omr_core_block_ready(void *arg)
{
	struct omr_core *core = arg;
	if (core->events && core->state != OMR_CORE_STOPPING)
		omr_events_kick(core->events);
}

static void omr_core_bus_ready(void *arg)
{
	struct omr_core *core = arg;
	if (core->bus && core->state != OMR_CORE_STOPPING)
		omr_bus_kick(core->bus);
}

static void omr_core_waiting(evutil_socket_t fd, short what, void *arg)
{
	omr_log_warn("still waiting for Redis; messages are refused until it is reachable");
}

static int omr_core_redis_target(struct omr_core *core, struct omr_redis_target *t, char **err_r)
{
	const struct omr_config *c = core->cfg;
	memset(t, 0, sizeof(*t));
	if (c->redis.embedded) {
		t->path = omr_strdup(omr_embedded_socket(core->embedded));
	} else if (omr_redis_target_parse(c->redis.url, t, err_r) < 0) {
		return -1;
	}
	if (c->redis.password) {
		free(t->password);
		t->password = omr_strdup(c->redis.password);
	}
	return 0;
}

static int omr_core_start_redis(struct omr_core *core, char **err_r)
{
	const struct omr_config *c = core->cfg;
	struct omr_redis_target t;
	static const char *const fsync_names[] = { "always", "everysec", "no" };

	if (c->redis.embedded) {
		if (mkdir(c->paths.state_dir, 0750) == -1 && errno != EEXIST)
			return omr_err(err_r, "cannot create state directory %s: %s",
				       c->paths.state_dir, strerror(errno));
		core->embedded = omr_embedded_new(core->base, c->redis.server, c->paths.state_dir,
						  fsync_names[c->redis.appendfsync]);
		if (omr_embedded_start(core->embedded, err_r) < 0)
			return -1;
	}
	if (omr_core_redis_target(core, &t, err_r) < 0)
		return -1;
	struct omr_redis_opts o = {
		.name = "commands",
		.connect_timeout = c->redis.connect_timeout,
		.command_timeout = c->redis.command_timeout,
		.on_ready = omr_core_redis_ready,
		.arg = core,
	};
	core->redis = omr_redis_new(core->base, &t, &o);
	o.name = "stream";
	o.on_ready = omr_core_block_ready;
	core->redis_block = omr_redis_new(core->base, &t, &o);
	o.name = "bus";
	o.on_ready = omr_core_bus_ready;
	core->redis_bus = omr_redis_new(core->base, &t, &o);
	omr_redis_target_free(&t);
	omr_redis_start(core->redis);
	omr_redis_start(core->redis_block);
	omr_redis_start(core->redis_bus);
	return 0;
}

/* ---- signals, reload, stop ---- */

static int omr_core_plugins_unchanged(struct omr_core *core, const struct omr_config *next,
				      struct omr_conf_errs *errs)
{
	size_t enabled = 0;
	for (size_t i = 0; i < next->nplugins; i++) {
		const struct omr_plugin_conf *pc = &next->plugins[i];
		if (!pc->enabled)
			continue;
		enabled++;
		struct omr_plugin *p = omr_core_channel(core, pc->name);
		for (size_t k = 0; !p && k < core->nplugins; k++)
			if (strcmp(core->plugins[k]->name, pc->name) == 0)
				p = core->plugins[k];
		if (!p) {
			omr_log_warn("reload: plugin '%s' is new; plugins are loaded at start only",
				     pc->name);
			continue;
		}
		/* A plugin's settings are checked now so that a broken section
		 * is refused like any other error; they apply at the next start. */
		void *cfg = omr_plugin_config_parse(p, pc->config, pc->at, errs);
		omr_plugin_config_free(p, cfg);
	}
	if (enabled != core->nplugins)
		omr_log_warn("reload: the plugin list changed; restart to apply it");
	return errs->count;
}

static int omr_str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

static int omr_strlist_differs(char *const *a, char *const *b)
{
	size_t i;
	for (i = 0; a && b && a[i] && b[i]; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 1;
	return (a && a[i]) || (b && b[i]) || ((a == NULL) != (b == NULL));
}

static int omr_listen_differs(const struct omr_listen_conf *a, const struct omr_listen_conf *b)
{
	return a->port != b->port || omr_str_differs(a->address, b->address);
}

/* Settings that are read once at start: say so when a reload changes them,
 * rather than pretend they applied. */
static void omr_core_reload_warnings(const struct omr_config *old, const struct omr_config *next)
{
	const struct {
		const char *what;
		int changed;
	} fixed[] = {
		{ "node.id", omr_str_differs(old->node.id, next->node.id) },
		{ "paths", omr_str_differs(old->paths.state_dir, next->paths.state_dir) ||
				   omr_str_differs(old->paths.plugin_dir, next->paths.plugin_dir) ||
				   omr_str_differs(old->paths.data_dir, next->paths.data_dir) ||
				   omr_str_differs(old->paths.console_dir, next->paths.console_dir) },
		{ "redis", old->redis.embedded != next->redis.embedded ||
				   omr_str_differs(old->redis.url, next->redis.url) ||
				   omr_str_differs(old->redis.password, next->redis.password) ||
				   omr_str_differs(old->redis.prefix, next->redis.prefix) ||
				   omr_str_differs(old->redis.site, next->redis.site) ||
				   omr_str_differs(old->redis.server, next->redis.server) ||
				   old->redis.appendfsync != next->redis.appendfsync ||
				   old->redis.connect_timeout != next->redis.connect_timeout ||
				   old->redis.command_timeout != next->redis.command_timeout },
		{ "edge", omr_listen_differs(&old->edge.listen, &next->edge.listen) ||
				  old->edge.max_message != next->edge.max_message ||
				  old->edge.ping_interval != next->edge.ping_interval ||
				  omr_strlist_differs(old->edge.allowed_origins,
						      next->edge.allowed_origins) },
		{ "webhooks", omr_listen_differs(&old->webhooks.listen, &next->webhooks.listen) ||
				      old->webhooks.max_body != next->webhooks.max_body },
		{ "admin.listen/max_body", omr_listen_differs(&old->admin.listen, &next->admin.listen) ||
						   old->admin.max_body != next->admin.max_body },
		{ "limits.dedup_ttl/stream_maxlen",
		  old->limits.dedup_ttl != next->limits.dedup_ttl ||
			  old->limits.stream_maxlen != next->limits.stream_maxlen },
	};
	for (size_t i = 0; i < OMR_ARRAY_LEN(fixed); i++)
		if (fixed[i].changed)
			omr_log_warn("reload: %s changed; that takes effect at the next start",
				     fixed[i].what);
}

int omr_core_reload(struct omr_core *core, char **err_r)
{
	struct omr_conf_errs errs;
	struct omr_config *next;

	omr_core_notify("RELOADING=1");
	omr_conf_errs_init(&errs);
	next = omr_config_load(core->config_path, &errs);
	if (next)
		omr_core_plugins_unchanged(core, next, &errs);
	if (!next || errs.count) {
		core->stats.reload_failures++;
		omr_log_error("reload: %s has %d error(s); keeping the running configuration:",
			      core->config_path, errs.count);
		/* one log line per error, so each keeps its file:line */
		char *line = errs.text.data, *nl;
		while (line && (nl = strchr(line, '\n'))) {
			*nl = '\0';
			omr_log_error("  %s", line);
			*nl = '\n';
			line = nl + 1;
		}
		if (err_r)
			*err_r = omr_strdup(errs.text.data ? errs.text.data : "invalid configuration");
		omr_config_free(next);
		omr_conf_errs_free(&errs);
		omr_core_notify("READY=1");
		return -1;
	}
	omr_conf_errs_free(&errs);
	omr_core_reload_warnings(core->cfg, next);
	/* The swap: everything reads core->cfg when it needs it, so from here
	 * on the new routing and agent directory apply. */
	omr_config_free(core->cfg);
	core->cfg = next;
	omr_log_setup(next->log.level, next->log.syslog, "omniroute");
	core->stats.reloads++;
	omr_log_info("reload: configuration from %s applied", core->config_path);
	if (core->router)
		omr_router_reloaded(core->router);
	omr_core_notify("READY=1");
	return 0;
}

static void omr_core_finish(struct omr_core *core)
{
	evtimer_del(core->drain_timer);
	event_base_loopexit(core->base, NULL);
}

static void omr_core_drain(evutil_socket_t fd, short what, void *arg)
{
	struct omr_core *core = arg;
	struct omr_redis_stats rs = { 0 };
	size_t inflight = core->ingest ? omr_ingest_inflight(core->ingest) : 0;
	size_t transfers = omr_curl_running(core->curl);

	if (core->redis)
		omr_redis_get_stats(core->redis, &rs);
	if ((inflight == 0 && rs.pending == 0 && transfers == 0) ||
	    omr_mono_ms() > core->drain_deadline) {
		if (inflight || rs.pending || transfers)
			omr_log_warn("stopping with %zu message(s) being stored, %zu Redis "
				     "command(s) and %zu transfer(s) pending; senders were not "
				     "acknowledged and retry", inflight, rs.pending, transfers);
		omr_core_finish(core);
	}
}

void omr_core_shutdown(struct omr_core *core, int exit_code)
{
	struct timeval tick = { 0, 20000 };

	if (core->state == OMR_CORE_STOPPING)
		return;
	omr_log_info("stopping");
	omr_core_notify("STOPPING=1");
	core->state = OMR_CORE_STOPPING;
	core->exit_code = exit_code;
	/* Stop taking input; what was accepted gets a bounded time to finish. */
	for (size_t i = core->nplugins; i > 0; i--)
		omr_plugin_stop(core->plugins[i - 1]);
	if (core->events)
		omr_events_stop(core->events);
	if (core->router)
		omr_router_stop(core->router);
	if (core->bus)
		omr_bus_stop(core->bus);
	if (core->bots)
		omr_bots_stop(core->bots);
	omr_outbox_stop(core->outbox);
	core->drain_deadline = omr_mono_ms() + OMR_DRAIN_MS;
	event_add(core->drain_timer, &tick);
}

static void omr_core_signal(evutil_socket_t sig, short what, void *arg)
{
	struct omr_core *core = arg;
	switch (sig) {
	case SIGHUP:
		omr_log_info("SIGHUP: reloading %s", core->config_path);
		omr_core_reload(core, NULL);
		break;
	case SIGTERM:
	case SIGINT:
		omr_core_shutdown(core, 0);
		break;
	case SIGCHLD:
		omr_embedded_reap(core->embedded);
		break;
	default:
		break;
	}
}

/* ---- lifecycle ---- */

struct omr_core *omr_core_new(const char *config_path, struct omr_config *cfg)
{
	struct omr_core *core = omr_calloc(1, sizeof(*core));
	core->config_path = omr_strdup(config_path);
	core->cfg = cfg;
	core->node_id = omr_strdup(cfg->node.id);
	core->state = OMR_CORE_STARTING;
	core->started_ms = omr_now_ms();
	core->base = event_base_new();
	if (!core->base) {
		omr_log_error("cannot create the event loop");
		abort();
	}
	return core;
}

static int omr_core_listeners(struct omr_core *core, char **err_r)
{
	const struct omr_config *c = core->cfg;
	struct omr_edge_opts eo = {
		.address = c->edge.listen.address,
		.port = (int)c->edge.listen.port,
		.max_message = (size_t)c->edge.max_message,
		.ping_interval = c->edge.ping_interval,
		.allowed_origins = c->edge.allowed_origins,
		.admission = { .conns = c->admission.edge.max_connections,
			       .conns_per_ip = c->admission.edge.max_per_ip,
			       .rate_per_ip = (double)c->admission.edge.rate_per_ip,
			       .burst_per_ip = (double)c->admission.edge.burst_per_ip },
		.queue_per_conn = (size_t)c->admission.edge_queue_per_conn,
		.queue = (size_t)c->admission.edge_queue,
		.unauth_rate = (double)c->admission.edge_unauth_rate,
		.unauth_burst = (double)c->admission.edge_unauth_burst,
	};

	char root[4096];
	if (snprintf(root, sizeof(root), "%s/attachments", c->paths.state_dir) >= (int)sizeof(root))
		return omr_err(err_r, "paths.state_dir is too long");
	core->files = omr_files_new(root);
	if (!core->files)
		return omr_err(err_r, "cannot make a key for file links (no randomness)");
	eo.files = core->files;
	core->edge = omr_edge_new(core->base, &eo);
	core->admin_http = omr_http_server_new(core->base, "admin", c->admin.listen.address,
					       (int)c->admin.listen.port, (size_t)c->admin.max_body,
					       err_r);
	if (!core->admin_http)
		return -1;
	core->webhook_http = omr_http_server_new(core->base, "webhooks", c->webhooks.listen.address,
						 (int)c->webhooks.listen.port,
						 (size_t)c->webhooks.max_body, err_r);
	if (!core->webhook_http)
		return -1;
	core->admin = omr_admin_new(core, err_r);
	if (!core->admin)
		return -1;
	core->agents = omr_agents_new(core, err_r);
	if (!core->agents)
		return -1;
	return 0;
}

static int omr_core_modules(struct omr_core *core, char **err_r)
{
	const struct omr_config *c = core->cfg;
	struct omr_store_opts so = {
		.prefix = c->redis.prefix,
		.site = c->redis.site,
		.dedup_ttl = c->limits.dedup_ttl,
		.stream_maxlen = c->limits.stream_maxlen,
	};
	core->store = omr_store_new(core->redis, &so);
	core->ingest = omr_ingest_new(core);
	core->router = omr_router_new(core);
	core->bots = omr_bots_new(core);
	core->curl = omr_curl_new(core->base, err_r);
	if (!core->curl)
		return -1;
	core->retry = omr_retry_new(core->base, core->curl);
	struct omr_worker_opts wo = {
		.name = "jobs",
		.threads = (int)c->limits.workers,
		.max_queued = (size_t)c->limits.work_queue,
	};
	core->jobs = omr_worker_new(core->base, &wo);
	core->webhooks = omr_webhooks_new(core);
	core->outbox = omr_outbox_new(core);
	char *stream = omr_store_key(core->store, "events");
	struct omr_events_opts eo = {
		.stream = stream,
		.group = OMR_EVENTS_GROUP,
		.consumer = core->node_id,
		.batch = 100,
		.block_ms = 2000,
		.claim_idle_ms = 30000,
	};
	core->events = omr_events_new(core->base, core->redis, core->redis_block, &eo,
				      omr_router_on_event, core->router);
	free(stream);
	stream = omr_store_key(core->store, "bus");
	core->bus = omr_bus_new(core->base, core->redis, core->redis_bus, stream,
				omr_core_bus_message, core);
	free(stream);
	return 0;
}

static int omr_core_plugins_open(struct omr_core *core, char **err_r)
{
	struct omr_conf_errs errs;
	omr_conf_errs_init(&errs);
	if (omr_core_open_plugins(core->cfg, &core->plugins, &core->nplugins, &errs)) {
		/* drop the last newline: the caller adds context */
		errs.text.data[--errs.text.len] = '\0';
		omr_err(err_r, "%s", errs.text.data);
		omr_conf_errs_free(&errs);
		return -1;
	}
	omr_conf_errs_free(&errs);
	return 0;
}

static int omr_core_plugins_init(struct omr_core *core, char **err_r)
{
	for (size_t i = 0; i < core->nplugins; i++)
		if (omr_plugin_init(core->plugins[i], omr_host_api_table(), core, err_r) < 0)
			return -1;
	return 0;
}

static int omr_core_signals(struct omr_core *core)
{
	signal(SIGPIPE, SIG_IGN);
	core->sig_hup = evsignal_new(core->base, SIGHUP, omr_core_signal, core);
	core->sig_term = evsignal_new(core->base, SIGTERM, omr_core_signal, core);
	core->sig_int = evsignal_new(core->base, SIGINT, omr_core_signal, core);
	core->sig_chld = evsignal_new(core->base, SIGCHLD, omr_core_signal, core);
	if (evsignal_add(core->sig_hup, NULL) < 0 || evsignal_add(core->sig_term, NULL) < 0 ||
	    evsignal_add(core->sig_int, NULL) < 0 || evsignal_add(core->sig_chld, NULL) < 0)
		return -1;
	return 0;
}

int omr_core_run(struct omr_core *core)
{
	char *err = NULL;
	struct timeval wait = { 5, 0 };

	core->drain_timer = event_new(core->base, -1, EV_PERSIST, omr_core_drain, core);
	core->wait_timer = event_new(core->base, -1, EV_PERSIST, omr_core_waiting, core);
	if (omr_core_signals(core) < 0) {
		omr_log_error("cannot install signal handlers");
		return 1;
	}
	/* Plugins are checked first, so that a broken plugin fails the start
	 * before any port is bound or Redis is started. */
	if (omr_core_plugins_open(core, &err) < 0 ||
	    omr_core_start_redis(core, &err) < 0 || omr_core_modules(core, &err) < 0 ||
	    omr_core_listeners(core, &err) < 0 || omr_core_plugins_init(core, &err) < 0 ||
	    omr_edge_add_mount(core->edge, "/console/", core->cfg->paths.console_dir, &err) < 0 ||
	    omr_edge_start(core->edge, &err) < 0) {
		omr_log_error("cannot start: %s", err ? err : "unknown error");
		free(err);
		return 1;
	}
	event_add(core->wait_timer, &wait);
	event_base_dispatch(core->base);
	return core->exit_code;
}

void omr_core_free(struct omr_core *core)
{
	if (!core)
		return;
	if (core->edge)
		omr_edge_stop(core->edge);
	/* The blocking reader first: its one pending read fails into a
	 * stopped consumer. */
	omr_redis_free(core->redis_block);
	/* Provider calls waiting for a retry end now, and transfers still
	 * running end now, while their plugins exist. */
	omr_retry_stop(core->retry);
	omr_curl_free(core->curl);
	core->curl = NULL;
	omr_retry_free(core->retry);
	core->retry = NULL;
	omr_redis_free(core->redis_bus);
	/* Plugins' jobs: those not started are cancelled, running ones are
	 * waited for, while the plugins' code is still there. */
	omr_worker_stop(core->jobs);
	/* Unloaded now; their structs live on until the Redis callbacks have
	 * run (the host drops those meant for a closed plugin). */
	for (size_t i = core->nplugins; i > 0; i--)
		omr_plugin_unload(core->plugins[i - 1]);
	omr_agents_free(core->agents);
	omr_edge_free(core->edge);
	omr_files_free(core->files);
	omr_admin_free(core->admin);
	omr_http_server_free(core->admin_http);
	omr_http_server_free(core->webhook_http);
	/* Remaining Redis callbacks run now, into modules that still exist. */
	omr_redis_free(core->redis);
	omr_events_free(core->events);
	omr_bots_free(core->bots);
	omr_outbox_free(core->outbox);
	omr_bus_free(core->bus);
	omr_router_free(core->router);
	omr_ingest_free(core->ingest);
	omr_webhooks_free(core->webhooks);
	omr_worker_free(core->jobs);
	omr_store_free(core->store);
	for (size_t i = 0; i < core->nplugins; i++)
		omr_plugin_close(core->plugins[i]);
	free(core->plugins);
	omr_embedded_stop(core->embedded, 10000);
	omr_embedded_free(core->embedded);
	if (core->sig_hup) {
		event_free(core->sig_hup);
		event_free(core->sig_term);
		event_free(core->sig_int);
		event_free(core->sig_chld);
	}
	if (core->drain_timer)
		event_free(core->drain_timer);
	if (core->wait_timer)
		event_free(core->wait_timer);
	event_base_free(core->base);
	omr_config_free(core->cfg);
	free(core->config_path);
	free(core->node_id);
	free(core);
}
