/*
 * omr_edge: see omr_edge.h.
 *
 * Edge thread state (the listener, the admission gate, the connection map,
 * per-session data, the byte counts of the queue to the core) is touched
 * only by the edge thread. The main thread owns the endpoint callbacks and
 * the items it has taken from the bridge. Counters shared by both are
 * atomics.
 *
 * What a connection meets, in order:
 *
 *  1. accept(). The edge owns its listening socket and hands each accepted
 *     one to lws (lws_adopt_socket_vhost). lws 4.1's own listener, when
 *     accept() fails with EMFILE, logs an error and returns with the socket
 *     still readable, so poll() wakes it again at once: a busy loop and a
 *     log line per turn for as long as descriptors are short. Here a failed
 *     accept() stops the listener for OMR_EDGE_ACCEPT_PAUSE_MS (nginx does
 *     the same), is counted, and is logged once per OMR_EDGE_LOG_MS.
 *  2. admission.edge (omr_gate, owned by this thread): connections in all,
 *     per address, new ones per second per address; a refused connection
 *     gets a one-line HTTP answer and is closed before a byte is read. The
 *     gate's enter is paired with exactly one leave, when lws destroys the
 *     connection (LWS_CALLBACK_WSI_DESTROY; struct omr_edge_peer is the
 *     wsi's opaque user data from adoption to destruction).
 *  3. the handshake: path, subprotocol, Origin.
 *  4. until the main thread trusts it (omr_edge_trust: a valid hello, a
 *     log-in), a connection may send unauth_rate frames a second (burst
 *     unauth_burst); faster, it is closed with 1008 and counted.
 *  5. the queue to the main thread is bounded. Every item is charged (its
 *     cost: payload plus overhead) to its connection and to the total when
 *     it is pushed; the main thread gives the bytes back in CREDIT items
 *     once it is done with them. A connection whose share reaches
 *     queue_per_conn is not read (lws_rx_flow_control) until its share is
 *     down to half; while the total is at `queue`, every connection that
 *     delivers is stopped until the total is down to half. lws keeps what
 *     it had already read of a stopped connection (one read at most) and
 *     delivers it when reading resumes. Likewise a connection whose
 *     answers pile up (OMR_EDGE_TX_HOLD) is not read until half of them
 *     have gone out: a peer cannot make us answer faster than it reads.
 *
 * The main thread delivers at most OMR_EDGE_DISPATCH_MAX items per loop
 * pass and gives their credit back at once, so that a flood is paced by
 * the main loop and never holds it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "omr_bridge.h"
#include "omr_edge.h"
#include "omr_files.h"
#include "omr_log.h"
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
	pthread_t thread;
	int running;
	atomic_int stop;
	int lfd; /* the listening socket until lws has adopted it; then -1 */

	/* edge thread only (before the thread starts: main) */
	struct lws *listener;
	struct omr_gate *gate;
	struct omr_map *conns; /* id -> pss */
	uint64_t next_id;
	size_t queued;         /* bytes of items the main thread has not given back */
	uint64_t *held;        /* ids of connections stopped while the total is full */
	size_t nheld, held_cap;
	struct omr_edge_report accept_report, abuse_report, origin_report;

	struct omr_bridge_queue to_main;
	struct omr_bridge_queue to_edge;
	struct event *wake_main;

	/* main thread only: items taken from to_main, not yet delivered */
	struct omr_bridge_item *pending, *pending_tail;
	struct event *more; /* delivers the next OMR_EDGE_DISPATCH_MAX */

	struct lws_http_mount files_mount; /* /files: signed links (omr_files) */

	atomic_uint_fast64_t n_open, n_accepted, n_in, n_out, n_rejected;
	atomic_uint_fast64_t n_origin, n_abusers, n_pauses, n_paused, n_queued, n_accept_errors;
};

/* ---- edge thread ---- */

static void omr_edge_lws_log(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	/* What lws reports as errors are almost always a misbehaving peer
	 * (a bad handshake, oversized headers): worth a line, not an alarm,
	 * and never a way for a client to flood the log at a high level.
	 * Our own failures (binding, threads) are reported by our code. */
	omr_log(level == LLL_ERR ? OMR_LOG_INFO : OMR_LOG_DEBUG, "edge: %.*s", (int)n, line);
}

/* 0 when it is not time for a line yet; otherwise how many happened since
 * the last one (this one included). */
static uint64_t omr_edge_report(struct omr_edge_report *r, int64_t now_ms)
{
	uint64_t n;
	r->unlogged++;
	if (r->logged_ms && now_ms - r->logged_ms < OMR_EDGE_LOG_MS)
		return 0;
	n = r->unlogged;
	r->unlogged = 0;
	r->logged_ms = now_ms;
	return n;
}

static const char *omr_edge_peer_ip(struct lws *wsi)
{
	const struct omr_edge_peer *peer = lws_get_opaque_user_data(wsi);
	return peer ? peer->ip : "";
}

/* Stop or resume reading a connection: it is read while no hold bit is
 * set. */
static void omr_edge_hold(struct omr_edge *e, struct omr_edge_pss *pss, unsigned hold)
{
	if (hold == pss->hold)
		return;
	if (!pss->hold) {
		lws_rx_flow_control(pss->wsi, 0);
		atomic_fetch_add(&e->n_pauses, 1);
		atomic_fetch_add(&e->n_paused, 1);
	} else if (!hold) {
		lws_rx_flow_control(pss->wsi, 1);
		atomic_fetch_sub(&e->n_paused, 1);
	}
	pss->hold = hold;
}

static void omr_edge_held_add(struct omr_edge *e, uint64_t id)
{
	if (e->nheld == e->held_cap) {
		e->held_cap = e->held_cap ? e->held_cap * 2 : 64;
		e->held = omr_realloc(e->held, e->held_cap * sizeof(*e->held));
	}
	e->held[e->nheld++] = id;
}

/* The total is down to half: read again whoever it stopped (by id: some
 * may have closed since). */
static void omr_edge_release_all(struct omr_edge *e)
{
	for (size_t i = 0; i < e->nheld; i++) {
		struct omr_edge_pss *pss = omr_map_get(e->conns, &e->held[i], sizeof(e->held[i]));
		if (pss)
			omr_edge_hold(e, pss, pss->hold & ~OMR_EDGE_HOLD_ALL);
	}
	e->nheld = 0;
}

/* Charge an item for the main thread to the total and to its connection
 * (pss NULL: the connection is going away), and stop reading the
 * connection when it went past a limit. Before the push: the item is the
 * main thread's after it. */
static void omr_edge_charge(struct omr_edge *e, struct omr_edge_pss *pss,
			    struct omr_bridge_item *it)
{
	unsigned hold;

	it->cost = omr_bridge_item_cost(it);
	e->queued += it->cost;
	atomic_store(&e->n_queued, e->queued);
	if (!pss)
		return;
	pss->queued += it->cost;
	hold = pss->hold;
	if (e->opts.queue_per_conn && pss->queued >= e->opts.queue_per_conn)
		hold |= OMR_EDGE_HOLD_OWN;
	if (e->opts.queue && e->queued >= e->opts.queue && !(hold & OMR_EDGE_HOLD_ALL)) {
		hold |= OMR_EDGE_HOLD_ALL;
		omr_edge_held_add(e, pss->id);
	}
	omr_edge_hold(e, pss, hold);
}

/* The main thread is done with these bytes. */
static void omr_edge_credit(struct omr_edge *e, const struct omr_bridge_item *it)
{
	for (size_t i = 0; i < it->ncredits; i++) {
		const struct omr_bridge_credit *c = &it->credits[i];
		struct omr_edge_pss *pss = omr_map_get(e->conns, &c->conn, sizeof(c->conn));
		e->queued -= c->bytes < e->queued ? c->bytes : e->queued;
		if (!pss)
			continue; /* closed since: its bytes counted in the total only */
		pss->queued -= c->bytes < pss->queued ? c->bytes : pss->queued;
		if ((pss->hold & OMR_EDGE_HOLD_OWN) && pss->queued <= e->opts.queue_per_conn / 2)
			omr_edge_hold(e, pss, pss->hold & ~OMR_EDGE_HOLD_OWN);
	}
	atomic_store(&e->n_queued, e->queued);
	if (e->nheld && e->queued <= e->opts.queue / 2)
		omr_edge_release_all(e);
}

static void omr_edge_to_main(struct omr_edge *e, struct omr_edge_pss *pss,
			     struct omr_bridge_item *it)
{
	omr_edge_charge(e, pss, it);
	if (omr_bridge_push(&e->to_main, it) == 1)
		event_active(e->wake_main, EV_READ, 0);
}

static void omr_edge_tx_clear(struct omr_edge_pss *pss)
{
	struct omr_edge_tx *t = pss->tx_head;
	while (t) {
		struct omr_edge_tx *next = t->next;
		free(t);
		t = next;
	}
	pss->tx_head = pss->tx_tail = NULL;
	pss->tx_bytes = 0;
}

static void omr_edge_request_close(struct omr_edge_pss *pss, int code, const char *reason)
{
	if (pss->closing)
		return;
	pss->closing = 1;
	pss->close_code = code;
	snprintf(pss->close_reason, sizeof(pss->close_reason), "%s", reason ? reason : "");
	lws_callback_on_writable(pss->wsi);
}

static void omr_edge_queue_tx(struct omr_edge *e, struct omr_edge_pss *pss,
			      const struct omr_bridge_item *it)
{
	if (pss->tx_bytes + it->len > OMR_EDGE_TX_MAX) {
		omr_log_warn("edge: connection %llu does not read; dropping it",
			     (unsigned long long)pss->id);
		omr_edge_tx_clear(pss);
		omr_edge_request_close(pss, LWS_CLOSE_STATUS_POLICY_VIOLATION, "send queue full");
		return;
	}
	struct omr_edge_tx *t = omr_malloc(sizeof(*t) + LWS_PRE + it->len);
	t->next = NULL;
	t->len = it->len;
	memcpy(t->buf + LWS_PRE, it->data, it->len);
	if (pss->tx_tail)
		pss->tx_tail->next = t;
	else
		pss->tx_head = t;
	pss->tx_tail = t;
	pss->tx_bytes += it->len;
	if (pss->tx_bytes >= OMR_EDGE_TX_HOLD)
		omr_edge_hold(e, pss, pss->hold | OMR_EDGE_HOLD_TX);
	lws_callback_on_writable(pss->wsi);
}

static void omr_edge_apply(struct omr_edge *e, struct omr_bridge_item *it)
{
	struct omr_edge_pss *pss;

	if (it->op == OMR_BRIDGE_CREDIT) {
		omr_edge_credit(e, it);
		return;
	}
	pss = omr_map_get(e->conns, &it->conn, sizeof(it->conn));
	if (!pss || pss->closing)
		return; /* the peer is gone already: nothing to deliver to */
	switch (it->op) {
	case OMR_BRIDGE_CLOSE:
		omr_edge_request_close(pss, it->code, it->data);
		break;
	case OMR_BRIDGE_TRUST:
		pss->trusted = 1;
		break;
	case OMR_BRIDGE_SEND:
		omr_edge_queue_tx(e, pss, it);
		break;
	default:
		break;
	}
}

static void omr_edge_drain_commands(struct omr_edge *e)
{
	struct omr_bridge_item *it = omr_bridge_take_all(&e->to_edge);
	while (it) {
		struct omr_bridge_item *next = it->next;
		omr_edge_apply(e, it);
		omr_bridge_item_free(it);
		it = next;
	}
}

/* host[:port] or [v6]:port at s (n bytes) into host_r and port_r (defport
 * when there is none). 0, or -1 when it is not one. */
static int omr_edge_hostport(const char *s, size_t n, int defport, char *host_r, size_t hlen,
			     int *port_r)
{
	const char *end = s + n, *h = s, *colon = NULL;
	size_t hl;

	if (n && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (!rb)
			return -1;
		colon = rb + 1 < end ? rb + 1 : NULL;
		if (colon && *colon != ':')
			return -1;
		hl = (size_t)(rb + 1 - h);
	} else {
		colon = memchr(s, ':', n);
		hl = colon ? (size_t)(colon - h) : n;
	}
	if (!hl || hl >= hlen)
		return -1;
	memcpy(host_r, h, hl);
	host_r[hl] = '\0';
	*port_r = defport;
	if (colon) {
		long p = 0;
		const char *d = colon + 1;
		if (d == end)
			return -1;
		for (; d < end; d++) {
			if (*d < '0' || *d > '9' || (p = p * 10 + (*d - '0')) > 65535)
				return -1;
		}
		*port_r = (int)p;
	}
	return 0;
}

int omr_edge_same_origin(const char *origin, const char *host)
{
	static const struct {
		const char *scheme;
		int port;
	} schemes[] = { { "http://", 80 }, { "https://", 443 } };
	char oh[256], hh[256];
	int op, hp, defport = -1;
	const char *rest = NULL;

	if (!origin || !host)
		return 0;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t sl = strlen(schemes[i].scheme);
		if (strncasecmp(origin, schemes[i].scheme, sl) == 0) {
			rest = origin + sl;
			defport = schemes[i].port;
			break;
		}
	}
	if (!rest || strchr(rest, '/')) /* an origin has no path */
		return 0;
	if (omr_edge_hostport(rest, strlen(rest), defport, oh, sizeof(oh), &op) < 0 ||
	    omr_edge_hostport(host, strlen(host), defport, hh, sizeof(hh), &hp) < 0)
		return 0;
	return op == hp && strcasecmp(oh, hh) == 0;
}

/* The Origin rules of the handshake (see omr_edge_opts.allowed_origins). */
static int omr_edge_origin_ok(struct omr_edge *e, struct lws *wsi, unsigned flags)
{
	char origin[512], host[512];
	int has_origin = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0;

	if (e->any_origin)
		return 1;
	if (has_origin && lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
		return 0; /* there is one, too long to be honest */
	if (e->origins) {
		for (size_t i = 0; has_origin && e->origins[i]; i++)
			if (strcmp(e->origins[i], origin) == 0)
				return 1;
		return 0;
	}
	if (!(flags & OMR_EDGE_SAME_ORIGIN) || !has_origin)
		return 1; /* no Origin: not a browser, so no page of another site */
	return lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) > 0 &&
	       omr_edge_same_origin(origin, host);
}

static int omr_edge_handshake(struct omr_edge *e, struct lws *wsi, int endpoint)
{
	const struct omr_edge_endpoint *ep;
	char uri[256], origin[128] = "";
	uint64_t n;

	if (endpoint < 0 || endpoint >= e->nendpoints)
		return -1;
	ep = &e->endpoints[endpoint];
	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
	    strcmp(uri, ep->ep.path) != 0) {
		atomic_fetch_add(&e->n_rejected, 1);
		return -1;
	}
	if (omr_edge_origin_ok(e, wsi, ep->flags))
		return 0;
	atomic_fetch_add(&e->n_rejected, 1);
	atomic_fetch_add(&e->n_origin, 1);
	n = omr_edge_report(&e->origin_report, omr_mono_ms());
	if (n) {
		lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN);
		omr_log_warn("edge: refused a websocket to %s from %s with Origin '%s': %s (see "
			     "edge.allowed_origins; %llu refusal(s) since the last report)",
			     ep->ep.path, omr_edge_peer_ip(wsi), origin,
			     e->origins ? "not in edge.allowed_origins"
					: "not the edge's own origin (Origin and Host differ)",
			     (unsigned long long)n);
	}
	return -1;
}

static void omr_edge_hdr(struct lws *wsi, enum lws_token_indexes h, char **out_r)
{
	char buf[512];
	int n = lws_hdr_copy(wsi, buf, sizeof(buf), h);
	*out_r = omr_strdup(n > 0 ? buf : "");
}

static int omr_edge_established(struct omr_edge *e, struct lws *wsi, struct omr_edge_pss *pss,
				int endpoint)
{
	struct omr_bridge_item *it;

	memset(pss, 0, sizeof(*pss));
	pss->wsi = wsi;
	pss->id = ++e->next_id;
	pss->endpoint = endpoint;
	omr_buf_init(&pss->rx);
	omr_bucket_init(&pss->unauth, e->opts.unauth_burst, omr_mono_ms());
	omr_map_put(e->conns, &pss->id, sizeof(pss->id), pss);
	pss->registered = 1;
	atomic_fetch_add(&e->n_open, 1);
	atomic_fetch_add(&e->n_accepted, 1);

	it = omr_bridge_item_new(OMR_BRIDGE_OPEN, pss->id);
	it->endpoint = endpoint;
	it->ip = omr_strdup(omr_edge_peer_ip(wsi));
	omr_edge_hdr(wsi, WSI_TOKEN_ORIGIN, &it->origin);
	omr_edge_hdr(wsi, WSI_TOKEN_HTTP_USER_AGENT, &it->user_agent);
	omr_edge_to_main(e, pss, it);
	return 0;
}

static void omr_edge_close_reason(struct lws *wsi, enum lws_close_status code, const char *why)
{
	lws_close_reason(wsi, code, (unsigned char *)why, strlen(why));
}

/* A frame from a connection not trusted yet: within its rate? */
static int omr_edge_unauth_ok(struct omr_edge *e, struct omr_edge_pss *pss)
{
	return e->opts.unauth_rate <= 0 ||
	       omr_bucket_take(&pss->unauth, e->opts.unauth_rate, e->opts.unauth_burst,
			       omr_mono_ms());
}

static int omr_edge_abuser(struct omr_edge *e, struct lws *wsi, struct omr_edge_pss *pss)
{
	uint64_t n;

	atomic_fetch_add(&e->n_abusers, 1);
	n = omr_edge_report(&e->abuse_report, omr_mono_ms());
	if (n)
		omr_log_warn("edge: closed connection %llu from %s: over %g frames a second before "
			     "a hello or log-in (admission.edge_unauth_rate; %llu such connection(s) "
			     "since the last report)", (unsigned long long)pss->id,
			     omr_edge_peer_ip(wsi), e->opts.unauth_rate, (unsigned long long)n);
	omr_edge_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
			      "too many messages before hello or login");
	return -1;
}

static int omr_edge_receive(struct omr_edge *e, struct lws *wsi, struct omr_edge_pss *pss,
			    const void *in, size_t len)
{
	size_t max = e->endpoints[pss->endpoint].ep.max_message;
	struct omr_bridge_item *it;

	if (pss->closing)
		return 0;
	if (!pss->trusted && !omr_edge_unauth_ok(e, pss))
		return omr_edge_abuser(e, wsi, pss);
	if (lws_frame_is_binary(wsi)) {
		atomic_fetch_add(&e->n_rejected, 1);
		omr_edge_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text frames only");
		return -1;
	}
	if (pss->rx.len + len > max) {
		atomic_fetch_add(&e->n_rejected, 1);
		omr_log_info("edge: connection %llu sent a message over %zu bytes; closing",
			     (unsigned long long)pss->id, max);
		omr_edge_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
		return -1;
	}
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi)) {
		omr_buf_append(&pss->rx, in, len);
		return 0;
	}
	/* The item is allocated to fit, so that what it is charged is what it
	 * holds (a grown buffer may be twice its length). */
	it = omr_bridge_item_new(OMR_BRIDGE_MESSAGE, pss->id);
	it->endpoint = pss->endpoint;
	if (pss->rx.len) {
		omr_buf_append(&pss->rx, in, len);
		it->data = omr_strndup(pss->rx.data, pss->rx.len);
		it->len = pss->rx.len;
		omr_buf_free(&pss->rx);
	} else {
		it->data = omr_strndup(in, len);
		it->len = len;
	}
	atomic_fetch_add(&e->n_in, 1);
	omr_edge_to_main(e, pss, it);
	return 0;
}

static int omr_edge_writeable(struct omr_edge *e, struct lws *wsi, struct omr_edge_pss *pss)
{
	struct omr_edge_tx *t = pss->tx_head;
	if (t) {
		if (lws_write(wsi, t->buf + LWS_PRE, t->len, LWS_WRITE_TEXT) < (int)t->len)
			return -1;
		pss->tx_head = t->next;
		if (!pss->tx_head)
			pss->tx_tail = NULL;
		pss->tx_bytes -= t->len;
		free(t);
		atomic_fetch_add(&e->n_out, 1);
		if ((pss->hold & OMR_EDGE_HOLD_TX) && pss->tx_bytes <= OMR_EDGE_TX_HOLD / 2)
			omr_edge_hold(e, pss, pss->hold & ~OMR_EDGE_HOLD_TX);
		if (pss->tx_head || pss->closing)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (pss->closing) {
		lws_close_reason(wsi, (enum lws_close_status)pss->close_code,
				 (unsigned char *)pss->close_reason, strlen(pss->close_reason));
		return -1;
	}
	return 0;
}

static void omr_edge_closed(struct omr_edge *e, struct omr_edge_pss *pss)
{
	if (!pss->registered)
		return;
	pss->registered = 0;
	omr_map_del(e->conns, &pss->id, sizeof(pss->id));
	omr_edge_tx_clear(pss);
	omr_buf_free(&pss->rx);
	if (pss->hold)
		atomic_fetch_sub(&e->n_paused, 1);
	atomic_fetch_sub(&e->n_open, 1);
	struct omr_bridge_item *it = omr_bridge_item_new(OMR_BRIDGE_CLOSED, pss->id);
	it->endpoint = pss->endpoint;
	omr_edge_to_main(e, NULL, it);
}

static int omr_edge_ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			  void *in, size_t len)
{
	struct omr_edge *e = lws_context_user(lws_get_context(wsi));
	struct omr_edge_pss *pss = user;
	const struct lws_protocols *proto = lws_get_protocol(wsi);
	int endpoint = proto ? (int)(intptr_t)proto->user : -1;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return omr_edge_handshake(e, wsi, endpoint);
	case LWS_CALLBACK_ESTABLISHED:
		return omr_edge_established(e, wsi, pss, endpoint);
	case LWS_CALLBACK_RECEIVE:
		return omr_edge_receive(e, wsi, pss, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return omr_edge_writeable(e, wsi, pss);
	case LWS_CALLBACK_CLOSED:
		omr_edge_closed(e, pss);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		omr_edge_drain_commands(e);
		return 0;
	default:
		return 0;
	}
}

/* ---- accepting connections (edge thread) ---- */

/* accept() failed for want of something (descriptors, memory), or lws had
 * no room for the connection (err 0): stop listening for a moment instead
 * of being woken for the same waiting connection at once, again and
 * again. */
static void omr_edge_accept_pause(struct omr_edge *e, int err)
{
	uint64_t n;
	struct rlimit rl;

	atomic_fetch_add(&e->n_accept_errors, 1);
	lws_rx_flow_control(e->listener, 0);
	lws_set_timer_usecs(e->listener, (lws_usec_t)OMR_EDGE_ACCEPT_PAUSE_MS * 1000);
	n = omr_edge_report(&e->accept_report, omr_mono_ms());
	if (!n)
		return;
	if (err == EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		omr_log_error("edge: cannot accept connections: out of file descriptors (the limit, "
			      "RLIMIT_NOFILE, is %llu; see docs/operations.md); retrying every %d ms "
			      "(%llu failure(s) since the last report)",
			      (unsigned long long)rl.rlim_cur, OMR_EDGE_ACCEPT_PAUSE_MS,
			      (unsigned long long)n);
	else
		omr_log_error("edge: cannot accept connections: %s; retrying every %d ms (%llu "
			      "failure(s) since the last report)",
			      err ? strerror(err) : "libwebsockets has no room for more",
			      OMR_EDGE_ACCEPT_PAUSE_MS, (unsigned long long)n);
}

/* Refused by the gate: a one-line answer for a browser's developer tools,
 * sent as it fits in the new socket's buffer (never waited for), then
 * gone. */
static void omr_edge_refuse(int fd, enum omr_gate_verdict v)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
				   "Content-Length: 0\r\nConnection: close\r\n\r\n";
	static const char many[] = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n"
				   "Content-Length: 0\r\nConnection: close\r\n\r\n";
	const char *r = v == OMR_GATE_FULL ? busy : many;
	size_t n = v == OMR_GATE_FULL ? sizeof(busy) - 1 : sizeof(many) - 1;

	if (send(fd, r, n, MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
		/* nothing to do: the peer learns from the close */
	}
	close(fd);
}

/* The peer's address as plugins see it: IPv4 peers of an IPv6 listener
 * as plain IPv4. */
static void omr_edge_ntop(const struct sockaddr_storage *sa, char *buf, size_t len)
{
	int af = sa->ss_family;
	const void *a = &((const struct sockaddr_in *)sa)->sin_addr;

	if (af == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			af = AF_INET;
			a = &a6->s6_addr[12];
		} else {
			a = a6;
		}
	}
	if (!inet_ntop(af, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* A new connection: past the gate, then lws's. */
static void omr_edge_admit(struct omr_edge *e, int fd, const struct sockaddr_storage *sa)
{
	char ip[INET6_ADDRSTRLEN];
	enum omr_gate_verdict v;
	struct omr_edge_peer *peer;
	struct lws *wsi;
	int one = 1;

	omr_edge_ntop(sa, ip, sizeof(ip));
	v = omr_gate_enter(e->gate, ip, omr_mono_ms());
	if (v != OMR_GATE_OK) {
		omr_edge_refuse(fd, v);
		return;
	}
	/* as lws does for the connections its own listener accepts */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
		/* only latency */
	}
	wsi = lws_adopt_socket_vhost(e->vhost, fd);
	if (!wsi) { /* lws closed the socket */
		omr_gate_leave(e->gate, ip);
		omr_edge_accept_pause(e, 0);
		return;
	}
	peer = omr_malloc(sizeof(*peer));
	memcpy(peer->ip, ip, sizeof(peer->ip));
	lws_set_opaque_user_data(wsi, peer);
}

static void omr_edge_accept(struct omr_edge *e)
{
	for (int i = 0; i < OMR_EDGE_ACCEPT_BATCH; i++) {
		struct sockaddr_storage sa;
		socklen_t sl = sizeof(sa);
		int fd = accept4(lws_get_socket_fd(e->listener), (struct sockaddr *)&sa, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue; /* that one is gone; the next */
			omr_edge_accept_pause(e, errno);
			return;
		}
		omr_edge_admit(e, fd, &sa);
	}
}

/* The end of a connection admitted by omr_edge_admit, whatever it became;
 * lws sends it to protocols[0]. */
static void omr_edge_forget(struct omr_edge *e, struct lws *wsi)
{
	struct omr_edge_peer *peer = lws_get_opaque_user_data(wsi);
	if (!peer)
		return; /* the listener */
	lws_set_opaque_user_data(wsi, NULL);
	omr_gate_leave(e->gate, peer->ip);
	free(peer);
}

/* The listening socket, adopted by lws as a raw file descriptor so that
 * its poll() tells us when to accept. */
static int omr_edge_accept_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			      void *in, size_t len)
{
	struct omr_edge *e = lws_context_user(lws_get_context(wsi));
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		omr_edge_accept(e);
		return 0;
	case LWS_CALLBACK_TIMER: /* the pause after a failed accept() is over */
		lws_rx_flow_control(wsi, 1);
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
	case LWS_CALLBACK_ESTABLISHED:
		atomic_fetch_add(&e->n_rejected, 1);
		return -1;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		omr_edge_drain_commands(e);
		return 0;
	default:
		return 0;
	}
}

/* An HTTP error page, then the connection is ready for the next request. */
static int omr_edge_http_error(struct lws *wsi, unsigned int code, const char *text)
{
	return lws_return_http_status(wsi, code, text) ? -1 : lws_http_transaction_completed(wsi);
}

/* A file behind a link of omr_files: checked, then sent as a download or,
 * for types a browser shows safely, inline, in a sandbox either way. */
static int omr_edge_file(struct omr_edge *e, struct lws *wsi, const char *link)
{
	struct omr_file_ref r;
	char path[4096], disp[1024], *pct; /* a 255-byte name is up to 765 encoded */
	unsigned char hdr[2048], *p = hdr, *end = hdr + sizeof(hdr);
	int shown, n;
	const char *type;

	link += strlen(OMR_FILES_PREFIX); /* lws gives the whole path */
	switch (omr_files_check(e->opts.files, link, (int64_t)time(NULL), &r, path, sizeof(path))) {
	case OMR_FILES_OK:
		break;
	case OMR_FILES_EXPIRED:
		return omr_edge_http_error(wsi, HTTP_STATUS_FORBIDDEN,
					   "this link has expired: open the conversation again");
	default:
		return omr_edge_http_error(wsi, HTTP_STATUS_NOT_FOUND, "no such file");
	}
	type = omr_files_serve_type(r.type, &shown);
	pct = omr_url_encode(r.name);
	n = snprintf(disp, sizeof(disp), "%s; filename*=UTF-8''%s", shown ? "inline" : "attachment",
		     pct);
	free(pct);
	if (n < 0 || (size_t)n >= sizeof(disp))
		snprintf(disp, sizeof(disp), "%s", shown ? "inline" : "attachment");
	const char *const headers[][2] = {
		{ "content-disposition:", disp },
		/* whatever the file is, nothing in it runs on our origin
		 * (lws adds nosniff and its own policy as well) */
		{ "content-security-policy:", "sandbox; default-src 'none'; img-src 'self'; "
					      "style-src 'unsafe-inline'" },
		{ "cache-control:", "private, no-store" },
	};
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)headers[i][0],
						(const unsigned char *)headers[i][1],
						(int)strlen(headers[i][1]), &p, end))
			return -1;
	/* 0: sending; 1: it answered (404 when the file cannot be opened,
	 * e.g. it is not on this node) and the transaction is ours to
	 * complete, or the next request on this connection would be handled
	 * with this one's URI */
	n = lws_serve_http_file(wsi, path, type, (const char *)hdr, (int)(p - hdr));
	if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
		return -1;
	return 0;
}

/* protocols[0] serves the static mounts and the /files links; a websocket
 * that arrives without one of our subprotocols lands here and is refused.
 * lws also tells it when any connection is destroyed. */
static int omr_edge_http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			    void *in, size_t len)
{
	struct omr_edge *e = lws_context_user(lws_get_context(wsi));
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
	case LWS_CALLBACK_ESTABLISHED:
		atomic_fetch_add(&e->n_rejected, 1);
		return -1;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		omr_edge_drain_commands(e);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		omr_edge_forget(e, wsi);
		return 0;
	case LWS_CALLBACK_HTTP:
		if (e->opts.files && in &&
		    strncmp(in, OMR_FILES_PREFIX, strlen(OMR_FILES_PREFIX)) == 0)
			return omr_edge_file(e, wsi, in);
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static void *omr_edge_thread(void *arg)
{
	struct omr_edge *e = arg;
	/* The thread ends only when asked: the main thread may call
	 * lws_cancel_service() on the context until it has joined us. */
	while (!atomic_load(&e->stop)) {
		if (lws_service(e->ctx, 0) < 0) {
			omr_log_error("edge: lws_service failed");
			struct timespec ts = { 0, 10 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	/* Destroying the context closes every connection; the CLOSED
	 * callbacks still reach the main thread through the bridge. */
	lws_context_destroy(e->ctx);
	e->ctx = NULL;
	return NULL;
}

/* ---- main thread ---- */

static int omr_edge_command(struct omr_edge *e, struct omr_bridge_item *it)
{
	if (!e->running) {
		omr_bridge_item_free(it);
		return OMR_ERROR;
	}
	if (omr_bridge_push(&e->to_edge, it) == 1)
		lws_cancel_service(e->ctx);
	return OMR_OK;
}

static void omr_edge_deliver(struct omr_edge *e, const struct omr_bridge_item *it)
{
	const struct omr_ws_endpoint *ep =
		it->endpoint >= 0 && it->endpoint < e->nendpoints ? &e->endpoints[it->endpoint].ep : NULL;
	if (!ep)
		return;
	switch (it->op) {
	case OMR_BRIDGE_OPEN: {
		struct omr_ws_peer peer = { it->ip, it->origin, it->user_agent };
		if (ep->on_open)
			ep->on_open(ep->arg, it->conn, &peer);
		break;
	}
	case OMR_BRIDGE_MESSAGE:
		if (ep->on_message)
			ep->on_message(ep->arg, it->conn, it->data, it->len);
		break;
	case OMR_BRIDGE_CLOSED:
		if (ep->on_close)
			ep->on_close(ep->arg, it->conn);
		break;
	default:
		break;
	}
}

/* The credit of one batch of delivered items, merged per connection when
 * they come in a row (a flood comes in runs). */
struct omr_edge_credits {
	struct omr_bridge_credit *v;
	size_t n, cap;
};

static void omr_edge_credits_add(struct omr_edge_credits *c, uint64_t conn, size_t bytes)
{
	if (c->n && c->v[c->n - 1].conn == conn) {
		c->v[c->n - 1].bytes += bytes;
		return;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = omr_realloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n].conn = conn;
	c->v[c->n].bytes = bytes;
	c->n++;
}

/* Deliver up to max items, then give their bytes back to the edge.
 * Returns 1 when more are waiting. */
static int omr_edge_dispatch_some(struct omr_edge *e, size_t max)
{
	struct omr_bridge_item *it = omr_bridge_take_all(&e->to_main);
	struct omr_edge_credits cr = { NULL, 0, 0 };

	if (it) {
		if (e->pending_tail)
			e->pending_tail->next = it;
		else
			e->pending = it;
		while (it->next)
			it = it->next;
		e->pending_tail = it;
	}
	for (size_t n = 0; e->pending && n < max; n++) {
		it = e->pending;
		e->pending = it->next;
		if (!e->pending)
			e->pending_tail = NULL;
		omr_edge_deliver(e, it);
		omr_edge_credits_add(&cr, it->conn, it->cost);
		omr_bridge_item_free(it);
	}
	if (cr.n) {
		it = omr_bridge_item_new(OMR_BRIDGE_CREDIT, 0);
		it->credits = cr.v;
		it->ncredits = cr.n;
		omr_edge_command(e, it); /* frees it when the edge is stopped */
	}
	return e->pending != NULL;
}

/* Woken by the edge, or by e->more: one batch per loop pass. The rest waits
 * on a zero timer, which runs after the loop has polled again, so that
 * every other socket and timer gets its turn in between (an event made
 * active from its own callback would run again in the same pass). */
static void omr_edge_dispatch(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval now = { 0, 0 };
	struct omr_edge *e = arg;

	(void)fd;
	(void)what;
	if (omr_edge_dispatch_some(e, OMR_EDGE_DISPATCH_MAX))
		evtimer_add(e->more, &now);
}

struct omr_edge *omr_edge_new(struct event_base *base, const struct omr_edge_opts *o)
{
	struct omr_edge *e = omr_calloc(1, sizeof(*e));
	e->base = base;
	e->opts = *o;
	e->address = omr_strdup(o->address);
	e->opts.address = e->address;
	if (o->allowed_origins) {
		size_t n = 0;
		while (o->allowed_origins[n])
			n++;
		e->origins = omr_calloc(n + 1, sizeof(*e->origins));
		for (size_t i = 0; i < n; i++) {
			e->origins[i] = omr_strdup(o->allowed_origins[i]);
			if (strcmp(e->origins[i], "*") == 0)
				e->any_origin = 1;
		}
	}
	e->opts.allowed_origins = e->origins;
	if (e->opts.unauth_burst <= 0)
		e->opts.unauth_burst = e->opts.unauth_rate > 1 ? e->opts.unauth_rate : 1;
	e->lfd = -1;
	e->gate = omr_gate_new("edge", &o->admission);
	e->conns = omr_map_new();
	omr_bridge_queue_init(&e->to_main);
	omr_bridge_queue_init(&e->to_edge);
	e->wake_main = event_new(base, -1, 0, omr_edge_dispatch, e);
	e->more = evtimer_new(base, omr_edge_dispatch, e);
	return e;
}

int omr_edge_add_endpoint(struct omr_edge *e, const struct omr_ws_endpoint *ep, unsigned flags,
			  char **err_r)
{
	if (e->running)
		return omr_err(err_r, "websocket endpoints can only be added at startup");
	if (e->nendpoints >= OMR_EDGE_MAX_ENDPOINTS)
		return omr_err(err_r, "too many websocket endpoints");
	if (!ep->path || ep->path[0] != '/' || !ep->subprotocol || !*ep->subprotocol)
		return omr_err(err_r, "a websocket endpoint needs a path starting with / and a subprotocol");
	if (strcmp(ep->subprotocol, OMR_EDGE_ACCEPT_PROTOCOL) == 0)
		return omr_err(err_r, "websocket subprotocol %s is reserved", ep->subprotocol);
	for (int i = 0; i < e->nendpoints; i++)
		if (strcmp(e->endpoints[i].ep.subprotocol, ep->subprotocol) == 0 ||
		    strcmp(e->endpoints[i].ep.path, ep->path) == 0)
			return omr_err(err_r, "websocket endpoint %s (%s) is already registered", ep->path,
				       ep->subprotocol);
	struct omr_edge_endpoint *copy = &e->endpoints[e->nendpoints++];
	copy->ep = *ep;
	copy->ep.path = omr_strdup(ep->path);
	copy->ep.subprotocol = omr_strdup(ep->subprotocol);
	if (!copy->ep.max_message)
		copy->ep.max_message = e->opts.max_message;
	copy->flags = flags;
	return 0;
}

int omr_edge_add_mount(struct omr_edge *e, const char *prefix, const char *dir, char **err_r)
{
	if (e->running)
		return omr_err(err_r, "static mounts can only be added at startup");
	if (e->nmounts >= OMR_EDGE_MAX_MOUNTS)
		return omr_err(err_r, "too many static mounts");
	if (!prefix || prefix[0] != '/' || strlen(prefix) > 200)
		return omr_err(err_r, "mount prefix must start with /");
	if (strncmp(prefix, "/files", 6) == 0 && (prefix[6] == '\0' || prefix[6] == '/'))
		return omr_err(err_r, "/files/ is reserved for links to attachments");
	for (int i = 0; i < e->nmounts; i++)
		if (strcmp(e->mounts[i].mountpoint, prefix) == 0)
			return omr_err(err_r, "%s is already mounted", prefix);
	struct lws_http_mount *m = &e->mounts[e->nmounts++];
	memset(m, 0, sizeof(*m));
	/* lws wants the mountpoint without a trailing slash */
	size_t pl = strlen(prefix);
	while (pl > 1 && prefix[pl - 1] == '/')
		pl--;
	m->mountpoint = omr_strndup(prefix, pl);
	m->mountpoint_len = (unsigned char)pl;
	m->origin = omr_strdup(dir);
	m->def = "index.html";
	m->origin_protocol = LWSMPRO_FILE;
	m->cache_max_age = 0;
	m->cache_revalidate = 1;
	return 0;
}

/* The listening socket, bound now so that a port in use fails the start. */
static int omr_edge_listen(struct omr_edge *e, char **err_r)
{
	struct addrinfo hints, *res, *ai;
	char port[16];
	int rc, fd = -1, err = 0, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", e->opts.port);
	rc = getaddrinfo(*e->address ? e->address : NULL, port, &hints, &res);
	if (rc != 0)
		return omr_err(err_r, "cannot listen on %s:%d for websockets: %s", e->address,
			       e->opts.port, gai_strerror(rc));
	for (ai = res; ai && fd == -1; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd == -1) {
			err = errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 || listen(fd, SOMAXCONN) == -1) {
			err = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd == -1)
		return omr_err(err_r, "cannot listen on %s:%d for websockets: %s", e->address,
			       e->opts.port, strerror(err));
	e->lfd = fd;
	return 0;
}

static void omr_edge_protocols(struct omr_edge *e)
{
	struct lws_protocols *p;

	e->protocols[0].name = "http";
	e->protocols[0].callback = omr_edge_http_cb;
	for (int i = 0; i < e->nendpoints; i++) {
		p = &e->protocols[i + 1];
		p->name = e->endpoints[i].ep.subprotocol;
		p->callback = omr_edge_ws_cb;
		p->per_session_data_size = sizeof(struct omr_edge_pss);
		p->rx_buffer_size = 16384;
		p->user = (void *)(intptr_t)i;
	}
	p = &e->protocols[e->nendpoints + 1];
	p->name = OMR_EDGE_ACCEPT_PROTOCOL;
	p->callback = omr_edge_accept_cb;
}

int omr_edge_start(struct omr_edge *e, char **err_r)
{
	struct lws_context_creation_info info;
	lws_sock_file_fd_type lfd;

	if (omr_edge_listen(e, err_r) < 0)
		return -1;
	lws_set_log_level(LLL_ERR | LLL_WARN, omr_edge_lws_log);
	memset(&info, 0, sizeof(info));
	omr_edge_protocols(e);
	for (int i = 0; i + 1 < e->nmounts; i++)
		e->mounts[i].mount_next = &e->mounts[i + 1];
	if (e->opts.files) {
		memset(&e->files_mount, 0, sizeof(e->files_mount));
		e->files_mount.mountpoint = "/files";
		e->files_mount.mountpoint_len = 6;
		e->files_mount.origin = "http"; /* protocols[0] */
		e->files_mount.origin_protocol = LWSMPRO_CALLBACK;
		if (e->nmounts)
			e->mounts[e->nmounts - 1].mount_next = &e->files_mount;
	}

	e->retry.secs_since_valid_ping = (uint16_t)(e->opts.ping_interval / 1000);
	e->retry.secs_since_valid_hangup = (uint16_t)(e->opts.ping_interval / 1000 * 2 + 10);

	/* the vhost has no listener of its own: see omr_edge_accept */
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = e->protocols;
	info.mounts = e->nmounts ? &e->mounts[0] : e->opts.files ? &e->files_mount : NULL;
	info.user = e;
	info.gid = -1;
	info.uid = -1;
	info.retry_and_idle_policy = &e->retry;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 |
		       LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
	info.max_http_header_data = 4096;
	info.timeout_secs = 20;
	info.vhost_name = "omniroute";

	e->ctx = lws_create_context(&info);
	e->vhost = e->ctx ? lws_get_vhost_by_name(e->ctx, info.vhost_name) : NULL;
	lfd.filefd = e->lfd;
	if (e->vhost)
		e->listener = lws_adopt_descriptor_vhost(e->vhost, LWS_ADOPT_RAW_FILE_DESC, lfd,
							 OMR_EDGE_ACCEPT_PROTOCOL, NULL);
	if (!e->listener) {
		if (e->ctx)
			lws_context_destroy(e->ctx);
		e->ctx = NULL;
		close(e->lfd);
		e->lfd = -1;
		return omr_err(err_r, "cannot start the websocket server (libwebsockets)");
	}
	e->lfd = -1; /* lws closes it with the listener */
	atomic_store(&e->stop, 0);
	if (pthread_create(&e->thread, NULL, omr_edge_thread, e) != 0) {
		lws_context_destroy(e->ctx);
		e->ctx = NULL;
		return omr_err(err_r, "cannot start the edge thread");
	}
	e->running = 1;
	omr_log_info("edge: listening on %s%s%s:%d (%d websocket endpoints, %d static mounts)",
		     strchr(e->address, ':') ? "[" : "", e->address, strchr(e->address, ':') ? "]" : "",
		     e->opts.port, e->nendpoints, e->nmounts);
	return 0;
}

int omr_edge_send(struct omr_edge *e, uint64_t conn, const char *data, size_t len)
{
	struct omr_bridge_item *it = omr_bridge_item_new(OMR_BRIDGE_SEND, conn);
	it->data = omr_strndup(data, len);
	it->len = len;
	return omr_edge_command(e, it);
}

void omr_edge_close(struct omr_edge *e, uint64_t conn, int code, const char *reason)
{
	struct omr_bridge_item *it = omr_bridge_item_new(OMR_BRIDGE_CLOSE, conn);
	it->code = code ? code : LWS_CLOSE_STATUS_NORMAL;
	it->data = omr_strdup(reason ? reason : "");
	omr_edge_command(e, it);
}

void omr_edge_trust(struct omr_edge *e, uint64_t conn)
{
	omr_edge_command(e, omr_bridge_item_new(OMR_BRIDGE_TRUST, conn));
}

void omr_edge_stop(struct omr_edge *e)
{
	if (!e || !e->running)
		return;
	atomic_store(&e->stop, 1);
	lws_cancel_service(e->ctx);
	pthread_join(e->thread, NULL);
	e->running = 0;
	/* Deliver what is left, with the CLOSED events the shutdown produced. */
	evtimer_del(e->more);
	omr_edge_dispatch_some(e, SIZE_MAX);
}

void omr_edge_free(struct omr_edge *e)
{
	if (!e)
		return;
	omr_edge_stop(e);
	for (int i = 0; i < e->nendpoints; i++) {
		free((char *)e->endpoints[i].ep.path);
		free((char *)e->endpoints[i].ep.subprotocol);
	}
	for (int i = 0; i < e->nmounts; i++) {
		free((char *)e->mounts[i].mountpoint);
		free((char *)e->mounts[i].origin);
	}
	for (size_t i = 0; e->origins && e->origins[i]; i++)
		free(e->origins[i]);
	free(e->origins);
	while (e->pending) { /* only when the edge never ran */
		struct omr_bridge_item *next = e->pending->next;
		omr_bridge_item_free(e->pending);
		e->pending = next;
	}
	omr_map_free(e->conns, NULL);
	omr_gate_free(e->gate);
	free(e->held);
	omr_bridge_queue_destroy(&e->to_main);
	omr_bridge_queue_destroy(&e->to_edge);
	event_free(e->wake_main);
	event_free(e->more);
	if (e->lfd != -1)
		close(e->lfd);
	free(e->address);
	free(e);
}

void omr_edge_get_stats(struct omr_edge *e, struct omr_edge_stats *st)
{
	struct omr_gate_stats gs;

	omr_gate_get_stats(e->gate, &gs);
	st->connections = atomic_load(&e->n_open);
	st->accepted = atomic_load(&e->n_accepted);
	st->messages_in = atomic_load(&e->n_in);
	st->messages_out = atomic_load(&e->n_out);
	st->rejected = atomic_load(&e->n_rejected);
	st->refused_full = gs.refused_full;
	st->refused_ip = gs.refused_ip;
	st->refused_rate = gs.refused_rate;
	st->refused_origin = atomic_load(&e->n_origin);
	st->abusers = atomic_load(&e->n_abusers);
	st->flow_pauses = atomic_load(&e->n_pauses);
	st->paused = atomic_load(&e->n_paused);
	st->queued_bytes = atomic_load(&e->n_queued);
	st->accept_errors = atomic_load(&e->n_accept_errors);
}
