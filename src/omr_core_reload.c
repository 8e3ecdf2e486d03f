/*
 * omr_core_reload: configuration reloads (SIGHUP, POST /api/v1/reload).
 *
 * A reload builds a whole new configuration and swaps it in only when it is
 * valid; then every module's reload hook runs, in table order, and the old
 * configuration is freed. What cannot change without a restart is said in
 * the log rather than pretended.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_core.h"
#include "omr_core_int.h"
#include "omr_log.h"
#include "omr_plugin.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

static int omr_core_plugins_unchanged(struct omr_core *core, const struct omr_config *next,
				      struct omr_conf_errs *errs)
{
	size_t enabled = 0;
	for (size_t i = 0; i < next->nplugins; i++) {
		const struct omr_plugin_conf *pc = &next->plugins[i];
		if (!pc->enabled)
			continue;
		enabled++;
		struct omr_plugin *p = NULL;
		for (size_t k = 0; !p && k < core->nplugins; k++)
			if (!core->plugins[k]->closed && strcmp(core->plugins[k]->name, pc->name) == 0)
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
				   omr_str_differs(old->redis.username, next->redis.username) ||
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
		{ "TLS on or off (edge.tls, webhooks.tls, admin.tls)",
		  omr_tls_enabled(&old->edge.tls) != omr_tls_enabled(&next->edge.tls) ||
			  omr_tls_enabled(&old->webhooks.tls) != omr_tls_enabled(&next->webhooks.tls) ||
			  omr_tls_enabled(&old->admin.tls) != omr_tls_enabled(&next->admin.tls) },
		{ "limits.dedup_ttl/stream_maxlen",
		  old->limits.dedup_ttl != next->limits.dedup_ttl ||
			  old->limits.stream_maxlen != next->limits.stream_maxlen },
		{ "limits.workers/work_queue", old->limits.workers != next->limits.workers ||
						       old->limits.work_queue != next->limits.work_queue },
		{ "limits.claim_after/reroute_after",
		  old->limits.claim_after != next->limits.claim_after ||
			  old->limits.reroute_after != next->limits.reroute_after },
		/* the edge thread reads its limits once */
		{ "admission.edge/edge_queue/edge_unauth",
		  memcmp(&old->admission.edge, &next->admission.edge, sizeof(old->admission.edge)) ||
			  old->admission.edge_queue_per_conn != next->admission.edge_queue_per_conn ||
			  old->admission.edge_queue != next->admission.edge_queue ||
			  old->admission.edge_unauth_rate != next->admission.edge_unauth_rate ||
			  old->admission.edge_unauth_burst != next->admission.edge_unauth_burst },
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
		core->reload_failures++;
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
	/* The swap: modules read the configuration through their env when they
	 * need it, so from here on the new routing and agent directory apply;
	 * then each module reacts (gates, revoked agents, re-decided queues). */
	struct omr_config *old = core->cfg;
	core->cfg = next;
	omr_log_setup(next->log.level, next->log.syslog, "omniroute");
	if (next->admin.test_clock && !old->admin.test_clock)
		omr_log_warn("reload: admin.test_clock is on: for tests only, never on a live site");
	if (!next->admin.test_clock && core->store && omr_store_clock(core->store)) {
		omr_log_warn("reload: admin.test_clock is off: the clock is real again");
		omr_store_set_clock(core->store, 0);
	}
	core->reloads++;
	omr_log_info("reload: configuration from %s applied", core->config_path);
	if (core->state != OMR_CORE_STOPPING)
		for (size_t i = 0; i < core->created; i++)
			if (omr_core_module(i)->reload)
				omr_core_module(i)->reload(core);
	omr_config_free(old);
	omr_core_notify("READY=1");
	return 0;
}

