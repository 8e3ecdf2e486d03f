/*
 * omr_host: the host API table handed to plugins
 * (include/omniroute/plugin.h). Each function receives the plugin's struct
 * omr_host and reaches the modules it may use through the struct
 * omr_host_env the core fills in; plugins see nothing else of the daemon.
 */
#ifndef OMR_HOST_H
#define OMR_HOST_H

#include <stddef.h>

#include <omniroute/plugin.h>

#include "omr_env.h"

struct omr_bots;
struct omr_buf;
struct omr_channels;
struct omr_curl;
struct omr_edge;
struct omr_gate;
struct omr_http_server;
struct omr_ingest;
struct omr_plugin;
struct omr_retry;
struct omr_webhooks;
struct omr_worker;

/* What plugins reach, borrowed from the core for the life of the plugins. */
struct omr_host_env {
	struct omr_env env;
	struct omr_ingest *ingest;
	struct omr_edge *edge;
	struct omr_http_server *webhook_http;
	struct omr_curl *curl;
	struct omr_retry *retry;
	struct omr_webhooks *webhooks;
	struct omr_bots *bots;
	struct omr_channels *channels;
	struct omr_worker *jobs;
	struct omr_gate *chat;     /* admission.chat: new web chat visitors */
	int stopping;   /* set by the core when the daemon stops */
};

const struct omr_host_api *omr_host_api_table(void);
/* omr_host_signal.c: the API's customer_signal */
int omr_host_customer_signal(omr_host *h, const char *address, const char *thread,
			     const char *signal, const char *message);
/* The figures of every initialised plugin that has a metrics hook,
 * appended to a Prometheus text answer. */
void omr_host_plugin_metrics(struct omr_plugin *const *plugins, size_t n, struct omr_buf *b);

#endif
