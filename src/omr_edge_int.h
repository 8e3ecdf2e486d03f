/*
 * omr_edge_int: the edge's state, shared by its files and nobody else
 * (omr_edge.h is the interface).
 *
 *   omr_edge.c         the main thread: creating, starting and stopping the
 *                      edge; the queue from the edge, its credit; send,
 *                      close and trust
 *   omr_edge_ws.c      the edge thread's websockets: handshake and Origin,
 *                      frames in (the unauthenticated rate, flow control),
 *                      answers out, commands from the main thread
 *   omr_edge_accept.c  the edge thread's listener (accept, EMFILE,
 *                      admission at accept), plain HTTP (static files,
 *                      /files/ links) and the thread itself
 *
 * What a connection meets is described at the top of omr_edge.c.
 */
#ifndef OMR_EDGE_INT_H
#define OMR_EDGE_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <libwebsockets.h>

struct ev_loop;

#include "omr_admission.h"
#include "omr_bridge.h"
#include "omr_edge.h"
#include "omr_util.h"

#define OMR_EDGE_MAX_ENDPOINTS 16
#define OMR_EDGE_MAX_MOUNTS 16
/* A peer that does not read its messages is dropped rather than letting
 * its queue grow without bound. */
#define OMR_EDGE_TX_MAX (4u * 1024 * 1024)
/* A peer whose answers pile up is not read until they are down to half:
 * what it sends cannot make us hold more than this for it (plus the
 * answers to what was on its way already). */
#define OMR_EDGE_TX_HOLD (256u * 1024)
/* accept() calls per wake-up of the listener: the rest wait for the next
 * turn of the loop, after the connections already in. */
#define OMR_EDGE_ACCEPT_BATCH 64
#define OMR_EDGE_ACCEPT_PAUSE_MS 250
/* Items the main thread delivers per loop pass. */
#define OMR_EDGE_DISPATCH_MAX 256
#define OMR_EDGE_LOG_MS OMR_GATE_LOG_MS
/* The protocol of the listening socket (lws_protocols[]); no client can
 * speak it: a websocket asking for it is refused. */
#define OMR_EDGE_ACCEPT_PROTOCOL "omniroute-accept"

/* Why a connection is not read; any bit stops it. */
#define OMR_EDGE_HOLD_OWN 0x1u /* its share of the queue to the core is full */
#define OMR_EDGE_HOLD_ALL 0x2u /* the whole queue to the core is full */
#define OMR_EDGE_HOLD_TX 0x4u  /* it does not read its answers fast enough */

struct omr_edge_tx {
	struct omr_edge_tx *next;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes of headroom, then the payload */
};

/* One accepted connection, whatever it turns into (HTTP, websocket), from
 * its adoption to LWS_CALLBACK_WSI_DESTROY: the wsi's opaque user data.
 * Owned by the edge thread. */
struct omr_edge_peer {
	char ip[INET6_ADDRSTRLEN];
};

/* Per-session data of a websocket, allocated by lws; edge thread only. */
struct omr_edge_pss {
	struct lws *wsi;
	uint64_t id;
	int endpoint;
	struct omr_buf rx;        /* a message arriving in fragments */
	struct omr_edge_tx *tx_head, *tx_tail;
	size_t tx_bytes;
	size_t queued;            /* bytes of our items the main thread has not given back */
	unsigned hold;            /* OMR_EDGE_HOLD_* */
	int trusted;              /* omr_edge_trust: no more unauth limit */
	struct omr_bucket unauth; /* frames before that */
	int close_code;
	char close_reason[124];
	int closing;
	int registered;
	/* keepalive (omr_edge_ws.c): on e->live since its last frame in
	 * (ka_ms), or on e->pinged since its ping (ka_ms); ping_due: a ping
	 * waits for the next write */
	struct omr_dlink ka_link;
	struct omr_dlist *ka_list; /* e->live, e->pinged or none */
	int64_t ka_ms;
	int ping_due;
};


struct omr_edge_endpoint {
	struct omr_ws_endpoint ep; /* strings owned */
	unsigned flags;            /* OMR_EDGE_SAME_ORIGIN */
};

/* Something that can happen many times a second: logged once per
 * OMR_EDGE_LOG_MS, with how many there were. */
struct omr_edge_report {
	uint64_t unlogged;
	int64_t logged_ms;
};

struct omr_edge {
	struct event_base *base;
	struct omr_edge_opts opts;
	char *address;
	char **origins;
	int any_origin; /* origins has "*" */

	struct omr_edge_endpoint endpoints[OMR_EDGE_MAX_ENDPOINTS];
	int nendpoints;
	/* http, the endpoints, the listener, the terminator */
	struct lws_protocols protocols[OMR_EDGE_MAX_ENDPOINTS + 3];
	struct lws_http_mount mounts[OMR_EDGE_MAX_MOUNTS];
	int nmounts;
	lws_retry_bo_t retry;

	struct lws_context *ctx;
	struct lws_vhost *vhost;
	/* the edge thread's libev loop (epoll), lws's foreign loop; NULL:
	 * lws's own poll() loop (the evlib plugin is not installed) */
	struct ev_loop *loop;
	pthread_t thread;
	int running;
	atomic_int stop;
	int lfd; /* the listening socket until lws has adopted it; then -1 */
	/* lws's TLS context of the vhost (lws owns it); ours is copied into it
	 * at start (main thread, before the edge thread runs) and at each
	 * reload (edge thread, OMR_BRIDGE_TLS). NULL: plain. */
	struct ssl_ctx_st *vhost_tls;

	/* edge thread only (before the thread starts: main) */
	struct lws *listener;
	struct omr_gate *gate;
	struct omr_map *conns; /* id -> pss */
	uint64_t next_id;
	size_t queued;         /* bytes of items the main thread has not given back */
	uint64_t *held;        /* ids of connections stopped while the total is full */
	size_t nheld, held_cap;
	struct omr_edge_report accept_report, abuse_report, origin_report;
	/* connections in the order of their ka_ms: each change is O(1) (lws
	 * 4.1's own validity timers keep one sorted list of every connection,
	 * O(connections) per frame in) */
	struct omr_dlist live, pinged;
	lws_sorted_usec_list_t keepalive; /* the sweep, once a second */

	struct omr_bridge_queue to_main;
	struct omr_bridge_queue to_edge;
	struct event *wake_main;

	/* main thread only: items taken from to_main, not yet delivered */
	struct omr_bridge_item *pending, *pending_tail;
	struct event *more; /* delivers the next OMR_EDGE_DISPATCH_MAX */

	struct lws_http_mount files_mount; /* /files: signed links (omr_files) */

	atomic_uint_fast64_t n_open, n_accepted, n_in, n_out, n_rejected;
	atomic_uint_fast64_t n_origin, n_abusers, n_pauses, n_paused, n_queued, n_accept_errors;
	atomic_uint_fast64_t n_pings, n_unanswered;
};

/* omr_edge_ws.c (edge thread) */
uint64_t omr_edge_report(struct omr_edge_report *r, int64_t now_ms);
/* the main thread's commands: SEND, CLOSE, TRUST, CREDIT */
void omr_edge_drain_commands(struct omr_edge *e);
int omr_edge_ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		   size_t len);
/* the keepalive's first sweep (edge thread, before its loop runs) */
void omr_edge_keepalive_start(struct omr_edge *e);

/* omr_edge_accept.c (edge thread) */
int omr_edge_accept_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len);
int omr_edge_http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		     size_t len);
/* lws's vhost context takes ctx's certificate and settings (a reload) */
void omr_edge_tls_reload(struct omr_edge *e, struct ssl_ctx_st *ctx);
struct ev_loop *omr_edge_loop_new(void);
void omr_edge_loop_free(struct ev_loop *loop);
/* from the edge thread: make ev_run return (stop) */
void omr_edge_loop_break(struct omr_edge *e);
void *omr_edge_thread(void *arg);

#endif
