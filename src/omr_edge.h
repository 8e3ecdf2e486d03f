/*
 * omr_edge: the libwebsockets server, in its own thread.
 *
 * Debian's libwebsockets cannot share the libevent loop, so the edge runs
 * lws_service() in a dedicated thread and talks to the main thread only
 * through omr_bridge. Endpoints (websocket path + subprotocol) and static
 * mounts are registered before omr_edge_start(); their callbacks run on the
 * main thread. Only the edge thread calls libwebsockets, except
 * lws_create_context() (before the thread starts, so that a port in use
 * is reported at startup) and lws_cancel_service() (the wake-up).
 */
#ifndef OMR_EDGE_H
#define OMR_EDGE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <omniroute/plugin.h>

struct omr_edge;

struct omr_edge_opts {
	const char *address;
	int port;
	size_t max_message;      /* default for endpoints that set 0 */
	long long ping_interval; /* ms */
	char *const *allowed_origins; /* NULL: any */
	const struct omr_files *files; /* serves its links under /files/ (NULL: none) */
};

struct omr_edge_stats {
	uint64_t connections;     /* open now */
	uint64_t accepted;        /* since start */
	uint64_t messages_in;
	uint64_t messages_out;
	uint64_t rejected;        /* handshakes refused, oversized, protocol errors */
};

struct omr_edge *omr_edge_new(struct event_base *base, const struct omr_edge_opts *o);
/* Before start. The endpoint struct is copied (strings too). */
int omr_edge_add_endpoint(struct omr_edge *e, const struct omr_ws_endpoint *ep, char **err_r);
int omr_edge_add_mount(struct omr_edge *e, const char *prefix, const char *dir, char **err_r);
int omr_edge_start(struct omr_edge *e, char **err_r);
/* Main thread. Returns OMR_OK or OMR_ERROR (edge stopped). Data copied. */
int omr_edge_send(struct omr_edge *e, uint64_t conn, const char *data, size_t len);
void omr_edge_close(struct omr_edge *e, uint64_t conn, int code, const char *reason);
/* Stops the thread (closing every connection) and joins it. */
void omr_edge_stop(struct omr_edge *e);
void omr_edge_free(struct omr_edge *e);
void omr_edge_get_stats(struct omr_edge *e, struct omr_edge_stats *st);

#endif
