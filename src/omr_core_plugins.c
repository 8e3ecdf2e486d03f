/*
 * omr_core_plugins: plugins as the core drives them (omr_core_int.h):
 * opened first (dlopen, descriptor, configuration: a broken plugin fails
 * the start before a port is bound), initialised after everything they
 * register on, started once Redis is reachable, stopped first, unloaded
 * after every callback settled, their structs freed last.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_core.h"
#include "omr_core_int.h"
#include "omr_edge.h"
#include "omr_host.h"
#include "omr_log.h"
#include "omr_plugin.h"
#include "omr_routing_conf.h"
#include "omr_util.h"

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

/* ---- plugins: opened first, closed last ---- */

int omr_mod_loader_create(struct omr_core *c, char **err_r)
{
	struct omr_conf_errs errs;
	omr_conf_errs_init(&errs);
	if (omr_core_open_plugins(c->cfg, &c->plugins, &c->nplugins, &errs)) {
		/* drop the last newline: the caller adds context */
		errs.text.data[--errs.text.len] = '\0';
		omr_err(err_r, "%s", errs.text.data);
		omr_conf_errs_free(&errs);
		return -1;
	}
	omr_conf_errs_free(&errs);
	return 0;
}

void omr_mod_loader_destroy(struct omr_core *c)
{
	for (size_t i = 0; i < c->nplugins; i++)
		omr_plugin_close(c->plugins[i]);
	free(c->plugins);
	c->plugins = NULL;
	c->nplugins = 0;
}

/* ---- the plugins' hooks ---- */

static int omr_mod_plugins_create(struct omr_core *c, char **err_r)
{
	c->host = (struct omr_host_env){
		.env = c->env,
		.ingest = c->ingest,
		.edge = c->edge,
		.webhook_http = c->webhook_http,
		.curl = c->curl,
		.retry = c->retry,
		.webhooks = c->webhooks,
		.bots = c->bots,
		.channels = c->channels,
		.jobs = c->jobs,
		.chat = c->chat_gate,
	};
	for (size_t i = 0; i < c->nplugins; i++)
		if (omr_plugin_init(c->plugins[i], omr_host_api_table(), &c->host, err_r) < 0)
			return -1;
	return 0;
}

static int omr_mod_plugins_start(struct omr_core *c, char **err_r)
{
	for (size_t i = 0; i < c->nplugins; i++)
		if (omr_plugin_start(c->plugins[i], err_r) < 0)
			return -1;
	return 0;
}

static void omr_mod_plugins_stop(struct omr_core *c)
{
	c->host.stopping = 1;
	for (size_t i = c->nplugins; i > 0; i--)
		omr_plugin_stop(c->plugins[i - 1]);
}

/* Their state is freed and their code unmapped; the structs stay until
 * the loader's row (callbacks still on their way see them closed). */
static void omr_mod_plugins_destroy(struct omr_core *c)
{
	for (size_t i = c->nplugins; i > 0; i--)
		omr_plugin_unload(c->plugins[i - 1]);
}

/* ---- the edge listens, last ---- */

static int omr_mod_listen_create(struct omr_core *c, char **err_r)
{
	if (omr_edge_add_mount(c->edge, "/console/", c->cfg->paths.console_dir, err_r) < 0)
		return -1;
	return omr_edge_start(c->edge, err_r);
}

const struct omr_module omr_core_last[] = {
	{ "plugins", omr_mod_plugins_create, omr_mod_plugins_start, omr_mod_plugins_stop, NULL,
	  omr_mod_plugins_destroy },
	{ "listen", omr_mod_listen_create },
};

const size_t omr_core_nlast = OMR_ARRAY_LEN(omr_core_last);
