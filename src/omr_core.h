/*
 * omr_core: the daemon's context. Everything that lives for the life of
 * the process hangs off one struct omr_core, owned by main(); there is no
 * other mutable global state (but the logger's level, see omr_log.h).
 *
 * Start-up: bind listeners and load plugins at once (so that a port in use
 * or a broken plugin fails the start), then wait for Redis; when Redis is
 * first reachable, start the event consumer and the plugins.
 * Reload (SIGHUP, POST /api/v1/reload): build a new configuration, swap it
 * in only if it is valid as a whole. Stop (SIGTERM, SIGINT): stop taking
 * input, let accepted work finish (bounded), stop Redis last.
 */
#ifndef OMR_CORE_H
#define OMR_CORE_H

#include <stdint.h>

#include <event2/event.h>
#include <omniroute/plugin.h>

#include "omr_config.h"

struct omr_embedded;
struct omr_redis;
struct omr_store;
struct omr_ingest;
struct omr_events;
struct omr_router;
struct omr_edge;
struct omr_http_server;
struct omr_plugin;
struct omr_admin;
struct omr_agents;
struct omr_bus;
struct omr_bots;
struct omr_curl;

enum omr_core_state {
	OMR_CORE_STARTING,  /* listeners up, waiting for Redis */
	OMR_CORE_RUNNING,
	OMR_CORE_STOPPING,
};

struct omr_stats {
	uint64_t ingest_accepted;
	uint64_t ingest_duplicates;
	uint64_t ingest_rejected;   /* bad input */
	uint64_t ingest_failed;     /* Redis trouble: the sender must retry */
	uint64_t events_processed;
	uint64_t outbound_sent;
	uint64_t outbound_failed;
	uint64_t reloads;
	uint64_t reload_failures;
};

struct omr_core {
	struct event_base *base;
	char *config_path;
	char *node_id;                /* fixed at start (the consumer name) */
	struct omr_config *cfg;       /* current; replaced on reload */
	enum omr_core_state state;
	int64_t started_ms;
	int exit_code;

	struct omr_embedded *embedded;
	struct omr_redis *redis;       /* commands */
	struct omr_redis *redis_block; /* blocking stream reads */
	struct omr_redis *redis_bus;   /* blocking reads of the node bus */
	struct omr_bus *bus;
	struct omr_store *store;
	struct omr_ingest *ingest;
	struct omr_events *events;
	struct omr_router *router;
	struct omr_edge *edge;
	struct omr_http_server *admin_http;
	struct omr_http_server *webhook_http;
	struct omr_admin *admin;
	struct omr_agents *agents;
	struct omr_bots *bots;
	struct omr_curl *curl;
	struct omr_retry *retry;       /* provider API calls: retries, rate lanes */
	struct omr_webhooks *webhooks; /* provider webhooks (plugins register them) */
	struct omr_outbox *outbox;     /* resends what a crash left unsent */
	struct omr_files *files;       /* signed links to stored attachments */
	struct omr_worker *jobs;       /* worker pool for plugins' blocking work */

	struct omr_plugin **plugins;
	size_t nplugins;

	struct event *sig_hup, *sig_term, *sig_int, *sig_chld;
	struct event *drain_timer;
	int64_t drain_deadline;
	struct event *wait_timer;      /* complains while Redis is unreachable */

	struct omr_stats stats;
};

/* Takes ownership of cfg. */
struct omr_core *omr_core_new(const char *config_path, struct omr_config *cfg);
void omr_core_free(struct omr_core *core);
/* Start and run the loop until stopped; returns the process exit code. */
int omr_core_run(struct omr_core *core);
/* Re-read the configuration; on failure the old one stays and *err_r
 * holds every error (file:line: message lines). */
int omr_core_reload(struct omr_core *core, char **err_r);
void omr_core_shutdown(struct omr_core *core, int exit_code);

/* Open every enabled plugin of cfg (dlopen + config check), for start-up
 * and for -t. Returns the number of errors added. */
int omr_core_open_plugins(const struct omr_config *cfg, struct omr_plugin ***plugins_r,
			  size_t *n_r, struct omr_conf_errs *errs);

/* The channel plugin that serves `channel`, or NULL. */
struct omr_plugin *omr_core_channel(struct omr_core *core, const char *channel);
/* Deliver an outbound message through its channel's send hook (on every
 * node for OMR_PLUGIN_CONNECTED channels, through the bus). */
int omr_core_deliver(struct omr_core *core, const char *channel, const struct omr_outbound *out);
/* Record a delivery status of an outbound message (by our id, or by the
 * channel's id when message is NULL); the agent of the conversation sees
 * it. done (may be NULL) runs once: ok = 1 when stored. */
void omr_core_delivery_status(struct omr_core *core, const char *channel, const char *message,
			      const char *channel_msg_id, const char *status, const char *error,
			      void (*done)(void *arg, int ok), void *arg);
/* Read receipt by time: our sent/delivered messages of the open
 * conversation of (channel, thread) created at or before watermark_ms
 * become read; their agent sees it. done (may be NULL) runs once. */
void omr_core_read_until(struct omr_core *core, const char *channel, const char *thread,
			 long long watermark_ms, void (*done)(void *arg, int ok), void *arg);
/* Handler of the node bus (omr_bus). */
void omr_core_bus_message(void *arg, const json_t *msg);

/* The host API table handed to plugins (omr_host.c). */
const struct omr_host_api *omr_host_api_table(void);
/* The figures of every running plugin that has a metrics hook, appended
 * to a Prometheus text answer. */
struct omr_buf;
void omr_host_plugin_metrics(struct omr_core *core, struct omr_buf *b);

#endif
