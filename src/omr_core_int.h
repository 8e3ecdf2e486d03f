/*
 * omr_core_int: the core's own state, shared by its files:
 *
 *   omr_core.c          the context, the lifecycle driver (create, start,
 *                       stop, drain, settle, free), signals, health
 *   omr_core_modules.c  the module table's infrastructure rows: how each
 *                       module is created, started, stopped, settled and
 *                       freed, and its figures
 *   omr_core_services.c the rows of the services
 *   omr_core_plugins.c  plugins: opened, initialised, started, stopped,
 *                       unloaded
 *   omr_core_reload.c   configuration reloads
 *   omr_core_primary.c  following the Redis primary (Sentinel, Cluster)
 */
#ifndef OMR_CORE_INT_H
#define OMR_CORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "omr_config.h"
#include "omr_env.h"
#include "omr_host.h"
#include "omr_store.h"

struct omr_buf;

enum omr_core_state {
	OMR_CORE_STARTING,  /* listeners up, waiting for Redis */
	OMR_CORE_RUNNING,
	OMR_CORE_STOPPING,
};

/* the listeners that may speak TLS (omr_core_modules.c) */
enum { OMR_CORE_TLS_EDGE, OMR_CORE_TLS_WEBHOOKS, OMR_CORE_TLS_ADMIN, OMR_CORE_TLS_N };
/* a certificate that expires sooner is warned about at start and reload */
#define OMR_CORE_TLS_WARN_S (14LL * 86400)

struct omr_core {
	struct event_base *base;
	char *config_path;
	char *node_id;                /* fixed at start (the consumer name) */
	struct omr_config *cfg;       /* current; replaced on reload */
	enum omr_core_state state;
	int64_t started_ms;
	int exit_code;
	struct omr_env env;           /* what every module gets */
	struct omr_host_env host;     /* what plugins reach */

	/* the modules, in the order of the table (omr_core_modules.c) */
	struct omr_plugin **plugins;
	size_t nplugins;
	struct omr_hub *hub;
	struct omr_embedded *embedded;
	struct evdns_base *dns;        /* resolves Redis' host name on the loop */
	struct omr_redis *redis;       /* commands */
	struct omr_redis *redis_block; /* blocking stream reads */
	struct omr_redis *redis_bus;   /* blocking reads of the node bus */
	struct omr_redis *redis_ingest; /* redis.durability: stores and WAITs */
	struct omr_primary *primary;  /* redis.sentinels or cluster: finds the primary */
	struct omr_store *store;
	struct omr_worker *jobs;       /* plugins' blocking work */
	struct omr_worker *login;      /* password checks */
	struct omr_curl *curl;
	struct omr_retry *retry;
	struct omr_files *files;
	struct omr_media *media;       /* customers' and agents' media files */
	struct omr_edge *edge;
	struct omr_http_server *admin_http;
	struct omr_http_server *webhook_http;
	/* per listener (OMR_CORE_TLS_*): when the certificate new connections
	 * get expires (unix time; 0: plain) */
	long long tls_not_after[OMR_CORE_TLS_N];
	struct omr_bus *bus;
	struct omr_channels *channels;
	struct omr_ingest *ingest;
	struct omr_webhooks *webhooks;
	struct omr_unsub *unsub;        /* /unsubscribe on the webhook listener */
	struct omr_outbox *outbox;
	struct omr_outreach *outreach; /* conversations started by us */
	struct omr_privacy *privacy;   /* export, erasure, retention */
	struct omr_nodes *nodes;
	struct omr_bots *bots;
	struct omr_router *router;
	struct omr_events *events;
	struct omr_agents *agents;
	struct omr_kpi *kpi;           /* the contact center's figures */
	struct omr_admin *admin;
	struct omr_gate *chat_gate;    /* admission.chat (main thread) */
	size_t created;               /* table entries created, in order */
	size_t started;               /* ... and started */

	struct event *sig_hup, *sig_term, *sig_int, *sig_chld;
	struct event *drain_timer;
	int64_t drain_deadline;
	struct event *draining_ev;     /* node.drain: the stop that follows */
	int draining;                  /* /healthz says 503 until the stop */
	int drained;                   /* POST /api/v1/drain: 503 until undone */
	int left;                      /* told the other nodes it stopped */
	struct event *wait_timer;      /* complains while Redis is unreachable */
	unsigned long long reloads, reload_failures;
};

/* One module in the core's table. Every hook may be NULL. */
struct omr_module {
	const char *name;
	/* allocate, bind, register; -1 with *err_r fails the start */
	int (*create)(struct omr_core *c, char **err_r);
	/* Redis is reachable: begin (timers, reading); -1 stops the daemon */
	int (*start)(struct omr_core *c, char **err_r);
	/* stop taking input and starting work (reverse order) */
	void (*stop)(struct omr_core *c);
	/* make every callback that is still pending run now, while every
	 * module lives (reverse order, after the drain) */
	void (*settle)(struct omr_core *c);
	/* free (reverse order) */
	void (*destroy)(struct omr_core *c);
	/* a new configuration was swapped in */
	void (*reload)(struct omr_core *c);
	/* figures for GET /metrics */
	void (*metrics)(struct omr_core *c, struct omr_buf *b);
};

/* The table, in three parts: omr_core_modules.c (infrastructure),
 * omr_core_services.c, omr_core_plugins.c (the plugins, then the edge
 * starts listening); omr_core_module(i) walks them in order. */
extern const struct omr_module omr_core_infra[];
extern const size_t omr_core_ninfra;
extern const struct omr_module omr_core_services[];
extern const size_t omr_core_nservices;
extern const struct omr_module omr_core_last[];
extern const size_t omr_core_nlast;
const struct omr_module *omr_core_module(size_t i);
size_t omr_core_nmodules(void);
/* The bus delivers here (omr_bus handler). */
void omr_core_bus_message(void *arg, const json_t *msg);

/* omr_core_primary.c: c->primary made and started (redis.sentinels or
 * redis.cluster); the connections go where it names, and hold their
 * writes while a sentinel fails the primary over */
int omr_core_primary_new(struct omr_core *c, char **err_r);
/* the store's durability check: do the sentinels (or the cluster) still
 * name the primary this node writes to? */
void omr_core_confirm_primary(void *arg, omr_store_confirm_done done, void *ctx);

/* omr_core_plugins.c: the plugin loader's row (first of the table) */
int omr_mod_loader_create(struct omr_core *c, char **err_r);
void omr_mod_loader_destroy(struct omr_core *c);

/* omr_core.c */
struct omr_admin_health;
void omr_core_online(struct omr_core *c);
void omr_core_notify(const char *state);
/* struct omr_admin_ops */
void omr_core_health(void *arg, struct omr_admin_health *h);
void omr_core_metrics(void *arg, struct omr_buf *b);

#endif
