/*
 * omr_core_services: the rows of the module table for the services, after
 * the infrastructure (omr_core_modules.c) and before the plugins
 * (omr_core_plugins.c): channels, ingest, webhooks, outbox, nodes, bots,
 * router, the event consumer, the agent gateway, the contact center's
 * figures and the admin API. Each row hands its module what it needs, and
 * nothing more.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_admin.h"
#include "omr_privacy.h"
#include "omr_agents.h"
#include "omr_bots.h"
#include "omr_channels.h"
#include "omr_core.h"
#include "omr_core_int.h"
#include "omr_events.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_media.h"
#include "omr_ingest.h"
#include "omr_kpi.h"
#include "omr_nodes.h"
#include "omr_outbox.h"
#include "omr_outreach.h"
#include "omr_router.h"
#include "omr_unsub.h"
#include "omr_util.h"
#include "omr_webhook.h"

static int omr_mod_channels_create(struct omr_core *c, char **err_r)
{
	c->channels = omr_channels_new(&c->env, c->bus, c->plugins, c->nplugins);
	return 0;
}

static int omr_mod_channels_start(struct omr_core *c, char **err_r)
{
	omr_channels_start(c->channels);
	return 0;
}

static void omr_mod_channels_stop(struct omr_core *c)
{
	omr_channels_stop(c->channels);
}

static void omr_mod_channels_destroy(struct omr_core *c)
{
	omr_channels_free(c->channels);
}

static void omr_mod_channels_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_channels_metrics(c->channels, b);
}

static int omr_mod_ingest_create(struct omr_core *c, char **err_r)
{
	c->ingest = omr_ingest_new(&c->env, c->channels);
	return 0;
}

static int omr_mod_ingest_start(struct omr_core *c, char **err_r)
{
	omr_ingest_start(c->ingest);
	return 0;
}

static void omr_mod_ingest_stop(struct omr_core *c)
{
	omr_ingest_stop(c->ingest);
}

static void omr_mod_ingest_destroy(struct omr_core *c)
{
	omr_ingest_free(c->ingest);
}

static void omr_mod_ingest_reload(struct omr_core *c)
{
	omr_ingest_reload(c->ingest);
}

static void omr_mod_ingest_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_ingest_metrics(c->ingest, b);
}

/* ---- webhooks and the outbox ---- */

static int omr_mod_webhooks_create(struct omr_core *c, char **err_r)
{
	char root[4096];
	if (snprintf(root, sizeof(root), "%s/attachments", c->cfg->paths.state_dir) >=
	    (int)sizeof(root))
		return omr_err(err_r, "paths.state_dir is too long");
	c->media = omr_media_new(&c->env, c->curl, c->jobs, root);
	c->webhooks = omr_webhooks_new(c->webhook_http, c->ingest, c->channels);
	omr_webhooks_set_media(c->webhooks, c->media);
	c->unsub = omr_unsub_new(&c->env, c->webhook_http, err_r);
	return c->unsub ? 0 : -1;
}

static int omr_mod_webhooks_start(struct omr_core *c, char **err_r)
{
	omr_webhooks_start(c->webhooks);
	return 0;
}

static void omr_mod_webhooks_stop(struct omr_core *c)
{
	omr_webhooks_stop(c->webhooks);
	omr_media_stop(c->media);
}

static void omr_mod_webhooks_destroy(struct omr_core *c)
{
	omr_unsub_free(c->unsub);
	omr_webhooks_free(c->webhooks);
	omr_media_free(c->media);
}

static void omr_mod_webhooks_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_webhooks_metrics(c->webhooks, b);
	omr_media_metrics(c->media, b);
	omr_unsub_metrics(c->unsub, b);
}

static int omr_mod_outbox_create(struct omr_core *c, char **err_r)
{
	c->outbox = omr_outbox_new(&c->env, c->channels, c->files);
	return 0;
}

static int omr_mod_outbox_start(struct omr_core *c, char **err_r)
{
	omr_outbox_start(c->outbox);
	return 0;
}

static void omr_mod_outbox_stop(struct omr_core *c)
{
	omr_outbox_stop(c->outbox);
}

static void omr_mod_outbox_destroy(struct omr_core *c)
{
	omr_outbox_free(c->outbox);
}

static void omr_mod_outbox_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_outbox_metrics(c->outbox, b);
}

/* ---- conversations started by us (omr_outreach) ---- */

static int omr_mod_outreach_create(struct omr_core *c, char **err_r)
{
	c->outreach = omr_outreach_new(&c->env, c->channels);
	return 0;
}

static void omr_mod_outreach_destroy(struct omr_core *c)
{
	omr_outreach_free(c->outreach);
}

static void omr_mod_outreach_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_outreach_metrics(c->outreach, b);
}

/* ---- personal data: export, erasure, retention ---- */

static int omr_mod_privacy_create(struct omr_core *c, char **err_r)
{
	c->privacy = omr_privacy_new(&c->env, c->files);
	return 0;
}

static int omr_mod_privacy_start(struct omr_core *c, char **err_r)
{
	omr_privacy_start(c->privacy);
	return 0;
}

static void omr_mod_privacy_stop(struct omr_core *c)
{
	omr_privacy_stop(c->privacy);
}

static void omr_mod_privacy_destroy(struct omr_core *c)
{
	omr_privacy_free(c->privacy);
}

static void omr_mod_privacy_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_privacy_metrics(c->privacy, b);
}

/* ---- nodes, bots, router, the event consumer ---- */

static int omr_mod_nodes_create(struct omr_core *c, char **err_r)
{
	c->nodes = omr_nodes_new(&c->env);
	return 0;
}

static int omr_mod_nodes_start(struct omr_core *c, char **err_r)
{
	omr_nodes_start(c->nodes);
	return 0;
}

static void omr_mod_nodes_stop(struct omr_core *c)
{
	omr_nodes_stop(c->nodes);
}

static void omr_mod_nodes_destroy(struct omr_core *c)
{
	omr_nodes_free(c->nodes);
}

static void omr_mod_nodes_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_nodes_metrics(c->nodes, b);
}

static int omr_mod_bots_create(struct omr_core *c, char **err_r)
{
	c->bots = omr_bots_new(&c->env, c->channels);
	c->host.bots = c->bots;
	return 0;
}

static int omr_mod_bots_start(struct omr_core *c, char **err_r)
{
	omr_bots_start(c->bots);
	return 0;
}

static void omr_mod_bots_stop(struct omr_core *c)
{
	omr_bots_stop(c->bots);
}

static void omr_mod_bots_destroy(struct omr_core *c)
{
	omr_bots_free(c->bots);
}

static int omr_mod_router_create(struct omr_core *c, char **err_r)
{
	c->router = omr_router_new(&c->env, c->channels, c->bots);
	return 0;
}

static int omr_mod_router_start(struct omr_core *c, char **err_r)
{
	omr_router_start(c->router);
	return 0;
}

static void omr_mod_router_stop(struct omr_core *c)
{
	omr_router_stop(c->router);
}

static void omr_mod_router_destroy(struct omr_core *c)
{
	omr_router_free(c->router);
}

static void omr_mod_router_reload(struct omr_core *c)
{
	omr_router_reload(c->router);
}

static void omr_mod_router_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_router_metrics(c->router, b);
}

static void omr_core_node_dead(void *arg, const struct omr_hub_event *ev)
{
	if (ev->node)
		omr_events_takeover(arg, ev->node);
}

static int omr_mod_events_create(struct omr_core *c, char **err_r)
{
	struct omr_events_opts eo = {
		.group = OMR_EVENTS_GROUP,
		.consumer = c->node_id,
		.batch = 100,
		.block_ms = 2000,
		.claim_idle_ms = c->cfg->limits.claim_after,
		.maxlen = c->cfg->limits.stream_maxlen,
		.reroute_after = c->cfg->limits.reroute_after,
	};
	c->events = omr_events_new(c->base, c->store, c->redis_block, &eo, omr_router_on_event,
				   c->router);
	omr_hub_on(c->hub, OMR_HUB_NODE_DEAD, omr_core_node_dead, c->events);
	return 0;
}

static int omr_mod_events_start(struct omr_core *c, char **err_r)
{
	omr_events_kick(c->events);
	return 0;
}

static void omr_mod_events_stop(struct omr_core *c)
{
	omr_events_stop(c->events);
}

static void omr_mod_events_destroy(struct omr_core *c)
{
	omr_hub_off(c->hub, c->events);
	omr_events_free(c->events);
}

static void omr_mod_events_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_events_metrics(c->events, b);
}

/* ---- the agent gateway and the admin API ---- */

static int omr_mod_agents_create(struct omr_core *c, char **err_r)
{
	struct omr_agents_deps deps = {
		.edge = c->edge,
		.files = c->files,
		.media = c->media,
		.bus = c->bus,
		.channels = c->channels,
		.login = c->login,
		.outreach = c->outreach,
	};
	c->agents = omr_agents_new(&c->env, &deps, err_r);
	return c->agents ? 0 : -1;
}

static int omr_mod_agents_start(struct omr_core *c, char **err_r)
{
	omr_agents_start(c->agents);
	return 0;
}

static void omr_mod_agents_stop(struct omr_core *c)
{
	omr_agents_stop(c->agents);
}

static void omr_mod_agents_destroy(struct omr_core *c)
{
	omr_agents_free(c->agents);
}

static void omr_mod_agents_reload(struct omr_core *c)
{
	omr_agents_reload(c->agents);
}

static void omr_mod_agents_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_agents_metrics(c->agents, b);
}

static int omr_mod_kpi_create(struct omr_core *c, char **err_r)
{
	c->kpi = omr_kpi_new(&c->env);
	return 0;
}

static void omr_mod_kpi_destroy(struct omr_core *c)
{
	omr_kpi_free(c->kpi);
}

static void omr_mod_kpi_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_kpi_metrics(c->kpi, b);
}

static int omr_core_reload_op(void *arg, char **err_r)
{
	return omr_core_reload(arg, err_r);
}

static void omr_core_drain_op(void *arg, int on)
{
	struct omr_core *c = arg;
	if (c->drained != on)
		omr_log_info("%s by an operator: /healthz answers %s", on ? "drained" : "undrained",
			     on ? "503 (draining)" : "as the node is");
	c->drained = on;
}

static void omr_core_supervise_op(void *arg, const struct omr_supervise *s, omr_supervise_cb cb,
				  void *cbarg)
{
	struct omr_core *c = arg;
	omr_agents_supervise(c->agents, s, cb, cbarg);
}

static void omr_core_export_op(void *arg, const char *customer, omr_privacy_cb cb, void *cbarg)
{
	struct omr_core *c = arg;
	omr_privacy_export(c->privacy, customer, cb, cbarg);
}

static void omr_core_erase_op(void *arg, const char *customer, int force, omr_privacy_cb cb,
			      void *cbarg)
{
	struct omr_core *c = arg;
	omr_privacy_erase(c->privacy, customer, force, cb, cbarg);
}

static int omr_mod_admin_create(struct omr_core *c, char **err_r)
{
	struct omr_admin_ops ops = {
		.health = omr_core_health,
		.metrics = omr_core_metrics,
		.reload = omr_core_reload_op,
		.drain = omr_core_drain_op,
		.supervise = omr_core_supervise_op,
		.export_customer = omr_core_export_op,
		.erase_customer = omr_core_erase_op,
		.arg = c,
		.outreach = c->outreach,
	};
	c->admin = omr_admin_new(&c->env, c->admin_http, &ops, err_r);
	return c->admin ? 0 : -1;
}

static void omr_mod_admin_destroy(struct omr_core *c)
{
	omr_admin_free(c->admin);
}

static void omr_mod_admin_metrics(struct omr_core *c, struct omr_buf *b)
{
	omr_admin_metrics_write(c->admin, b);
}

const struct omr_module omr_core_services[] = {
	{ "channels", omr_mod_channels_create, omr_mod_channels_start, omr_mod_channels_stop, NULL,
	  omr_mod_channels_destroy, NULL, omr_mod_channels_metrics },
	{ "ingest", omr_mod_ingest_create, omr_mod_ingest_start, omr_mod_ingest_stop, NULL,
	  omr_mod_ingest_destroy, omr_mod_ingest_reload, omr_mod_ingest_metrics },
	{ "webhooks", omr_mod_webhooks_create, omr_mod_webhooks_start, omr_mod_webhooks_stop, NULL,
	  omr_mod_webhooks_destroy, NULL, omr_mod_webhooks_metrics },
	{ "outbox", omr_mod_outbox_create, omr_mod_outbox_start, omr_mod_outbox_stop, NULL,
	  omr_mod_outbox_destroy, NULL, omr_mod_outbox_metrics },
	{ "outreach", omr_mod_outreach_create, NULL, NULL, NULL, omr_mod_outreach_destroy, NULL,
	  omr_mod_outreach_metrics },
	{ "privacy", omr_mod_privacy_create, omr_mod_privacy_start, omr_mod_privacy_stop, NULL,
	  omr_mod_privacy_destroy, NULL, omr_mod_privacy_metrics },
	{ "nodes", omr_mod_nodes_create, omr_mod_nodes_start, omr_mod_nodes_stop, NULL,
	  omr_mod_nodes_destroy, NULL, omr_mod_nodes_metrics },
	{ "bots", omr_mod_bots_create, omr_mod_bots_start, omr_mod_bots_stop, NULL,
	  omr_mod_bots_destroy },
	{ "router", omr_mod_router_create, omr_mod_router_start, omr_mod_router_stop, NULL,
	  omr_mod_router_destroy, omr_mod_router_reload, omr_mod_router_metrics },
	{ "events", omr_mod_events_create, omr_mod_events_start, omr_mod_events_stop, NULL,
	  omr_mod_events_destroy, NULL, omr_mod_events_metrics },
	{ "agents", omr_mod_agents_create, omr_mod_agents_start, omr_mod_agents_stop, NULL,
	  omr_mod_agents_destroy, omr_mod_agents_reload, omr_mod_agents_metrics },
	{ "kpi", omr_mod_kpi_create, NULL, NULL, NULL, omr_mod_kpi_destroy, NULL,
	  omr_mod_kpi_metrics },
	{ "admin", omr_mod_admin_create, NULL, NULL, NULL, omr_mod_admin_destroy, NULL,
	  omr_mod_admin_metrics },
};

const size_t omr_core_nservices = OMR_ARRAY_LEN(omr_core_services);
