/*
 * omr_edge: the libwebsockets server, in its own thread.
 *
 * Debian's libwebsockets cannot share the libevent loop, so the edge runs
 * lws_service() in a dedicated thread and talks to the main thread only
 * through omr_bridge. Endpoints (websocket path + subprotocol) and static
 * mounts are registered before omr_edge_start(); their callbacks run on the
 * main thread. Only the edge thread calls libwebsockets, except
 * lws_create_context() and the adoption of the listening socket (before
 * the thread starts, so that a port in use is reported at startup) and
 * lws_cancel_service() (the wake-up).
 *
 * The edge admits and paces its peers itself (see omr_edge.c): per-address
 * caps at accept, a message rate before the main thread trusts a
 * connection, and a bounded queue to the main thread with flow control.
 */
#ifndef OMR_EDGE_H
#define OMR_EDGE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <omniroute/plugin.h>

#include "omr_admission.h"

struct omr_edge;
struct ssl_ctx_st;

struct omr_edge_opts {
	const char *address;     /* "" or "::": every address; IPv4 peers of "::" show as IPv4 */
	int port;
	size_t max_message;      /* default for endpoints that set 0 */
	long long ping_interval; /* ms */
	/* NULL: any origin, except for endpoints with OMR_WS_SAME_ORIGIN; a
	 * list: only these, on every endpoint; a list with "*": any */
	char *const *allowed_origins;
	const struct omr_files *files; /* serves its links under /files/ (NULL: none) */
	struct omr_gate_limits admission; /* connections, at accept (admission.edge) */
	size_t queue_per_conn;   /* bytes of one connection waiting for the core (0: no cap) */
	size_t queue;            /* ... of all connections together (0: no cap) */
	double unauth_rate;      /* frames a second before omr_edge_trust (0: no cap) */
	double unauth_burst;
	/* TLS (omr_tls_ctx_new; the edge takes it): wss:// and https://, with
	 * Strict-Transport-Security on every HTTP answer; NULL: plain */
	struct ssl_ctx_st *tls;
};

struct omr_edge_stats {
	uint64_t connections;     /* open now */
	uint64_t accepted;        /* since start */
	uint64_t messages_in;
	uint64_t messages_out;
	uint64_t rejected;        /* handshakes refused, oversized, protocol errors */
	uint64_t refused_full;    /* at accept: too many connections in all */
	uint64_t refused_ip;      /* ... too many from the address */
	uint64_t refused_rate;    /* ... new connections too fast from the address */
	uint64_t refused_origin;  /* handshakes from an origin not allowed */
	uint64_t abusers;         /* closed (1008): too many frames before being trusted */
	uint64_t flow_pauses;     /* times a connection stopped being read */
	uint64_t paused;          /* connections not being read now */
	uint64_t queued_bytes;    /* bytes of messages waiting for the core now */
	uint64_t accept_errors;   /* accept() failures (out of descriptors, ...) */
	uint64_t pings;           /* pings sent to connections silent for ping_interval */
	uint64_t unanswered;      /* connections dropped: no answer to a ping */
};

struct omr_edge *omr_edge_new(struct event_base *base, const struct omr_edge_opts *o);
/* omr_edge_add_endpoint flags */
/* Browsers only from the edge's own origin (Origin = Host; clients that
 * send no Origin are not browsers and come in), unless
 * edge.allowed_origins is set. For the agent console, which the edge
 * serves itself; endpoints without it take any origin by default. */
#define OMR_EDGE_SAME_ORIGIN 0x1u

/* Before start. The endpoint struct is copied (strings too). */
int omr_edge_add_endpoint(struct omr_edge *e, const struct omr_ws_endpoint *ep, unsigned flags,
			  char **err_r);
int omr_edge_add_mount(struct omr_edge *e, const char *prefix, const char *dir, char **err_r);
int omr_edge_start(struct omr_edge *e, char **err_r);
/* Main thread. Returns OMR_OK or OMR_ERROR (edge stopped). Data copied. */
int omr_edge_send(struct omr_edge *e, uint64_t conn, const char *data, size_t len);
void omr_edge_close(struct omr_edge *e, uint64_t conn, int code, const char *reason);
/* Main thread: the connection has shown who it is (a valid hello, a
 * log-in); the limit on frames before that no longer applies to it. */
void omr_edge_trust(struct omr_edge *e, uint64_t conn);
/* Main thread, an edge started with TLS: connections accepted from now on
 * get ctx's certificate, key and settings; those open keep theirs. Takes
 * ctx. OMR_ERROR when the edge has no TLS or is stopped. */
int omr_edge_set_tls(struct omr_edge *e, struct ssl_ctx_st *ctx);
int omr_edge_has_tls(const struct omr_edge *e);
/* Stops the thread (closing every connection) and joins it. */
void omr_edge_stop(struct omr_edge *e);
void omr_edge_free(struct omr_edge *e);
/* Any thread. */
void omr_edge_get_stats(struct omr_edge *e, struct omr_edge_stats *st);

/* 1 when a browser's Origin ("scheme://host[:port]") names the host and
 * port a request was sent to (its Host header, "host[:port]"): default
 * ports filled in from the scheme, names compared without regard to case. */
int omr_edge_same_origin(const char *origin, const char *host);

#endif
