/*
 * omr_edge_ws: the edge thread's websockets (omr_edge_int.h): the
 * handshake (path, subprotocol, Origin), frames in (the rate before a
 * hello or log-in; the bounded queue to the core, with flow control),
 * answers out, and the commands of the main thread (send, close, trust,
 * credit).
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
#include "omr_edge_int.h"

/* ---- edge thread ---- */

/* 0 when it is not time for a line yet; otherwise how many happened since
 * the last one (this one included). */
uint64_t omr_edge_report(struct omr_edge_report *r, int64_t now_ms)
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
	if (it->op == OMR_BRIDGE_TLS) {
		omr_edge_tls_reload(e, it->obj);
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

void omr_edge_drain_commands(struct omr_edge *e)
{
	struct omr_bridge_item *it = omr_bridge_take_all(&e->to_edge);
	if (atomic_load(&e->stop))
		omr_edge_loop_break(e);
	while (it) {
		struct omr_bridge_item *next = it->next;
		omr_edge_apply(e, it);
		omr_bridge_item_free(it);
		it = next;
	}
}

/* ---- keepalive ----
 *
 * Every connection silent for edge.ping_interval is pinged; one that
 * answers nothing (no pong, no frame) for another ping_interval + 10 s is
 * dropped. Each frame in moves its connection to the end of e->live, so
 * the once-a-second sweep reads only the connections that are due (the
 * fronts of the two lists): O(1) per frame and per ping, whatever the
 * number of connections. */

#define OMR_EDGE_SWEEP_US (1000 * LWS_US_PER_MS)
#define OMR_EDGE_PONG_GRACE_MS 10000

static void omr_edge_ka_unlink(struct omr_edge_pss *pss)
{
	if (!pss->ka_list)
		return;
	omr_dlist_remove(pss->ka_list, &pss->ka_link);
	pss->ka_list = NULL;
}

static void omr_edge_ka_append(struct omr_dlist *l, struct omr_edge_pss *pss, int64_t now_ms)
{
	omr_edge_ka_unlink(pss);
	pss->ka_ms = now_ms;
	pss->ka_list = l;
	omr_dlist_push_tail(l, &pss->ka_link);
}

/* the connection longest on l, or NULL */
static struct omr_edge_pss *omr_edge_ka_first(const struct omr_dlist *l)
{
	return l->head ? OMR_DLIST_ITEM(l->head, struct omr_edge_pss, ka_link) : NULL;
}

/* a frame (or a pong) came in: alive */
static void omr_edge_ka_seen(struct omr_edge *e, struct omr_edge_pss *pss)
{
	if (pss->registered)
		omr_edge_ka_append(&e->live, pss, omr_mono_ms());
}

static void omr_edge_ka_sweep(lws_sorted_usec_list_t *sul)
{
	struct omr_edge *e = lws_container_of(sul, struct omr_edge, keepalive);
	int64_t now = omr_mono_ms(), interval = e->opts.ping_interval;
	struct omr_edge_pss *pss;

	while ((pss = omr_edge_ka_first(&e->live)) && now - pss->ka_ms >= interval) {
		omr_edge_ka_append(&e->pinged, pss, now);
		pss->ping_due = 1;
		lws_callback_on_writable(pss->wsi);
	}
	while ((pss = omr_edge_ka_first(&e->pinged)) && now - pss->ka_ms >= interval + OMR_EDGE_PONG_GRACE_MS) {
		omr_edge_ka_unlink(pss);
		atomic_fetch_add(&e->n_unanswered, 1);
		omr_log_info("edge: connection %llu from %s answered no ping in %lld s; dropping it",
			     (unsigned long long)pss->id, omr_edge_peer_ip(pss->wsi),
			     (long long)(now - pss->ka_ms) / 1000);
		/* closed at once: a peer that does not read would never let a
		 * close frame out */
		lws_set_timeout(pss->wsi, PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG, LWS_TO_KILL_ASYNC);
	}
	lws_sul_schedule(e->ctx, 0, &e->keepalive, omr_edge_ka_sweep, OMR_EDGE_SWEEP_US);
}

void omr_edge_keepalive_start(struct omr_edge *e)
{
	lws_sul_schedule(e->ctx, 0, &e->keepalive, omr_edge_ka_sweep, OMR_EDGE_SWEEP_US);
}

static int omr_edge_ping(struct omr_edge *e, struct lws *wsi, struct omr_edge_pss *pss)
{
	/* not empty: lws 4.1 passes no empty pong up (LWS_CALLBACK_RECEIVE_PONG) */
	unsigned char buf[LWS_PRE + 1];
	buf[LWS_PRE] = 'k';
	pss->ping_due = 0;
	if (lws_write(wsi, buf + LWS_PRE, 1, LWS_WRITE_PING) < 1)
		return -1;
	atomic_fetch_add(&e->n_pings, 1);
	if (pss->tx_head || pss->closing)
		lws_callback_on_writable(wsi);
	return 0;
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
	omr_edge_ka_seen(e, pss);
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
	omr_edge_ka_seen(e, pss);
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
	if (pss->ping_due && !pss->closing)
		return omr_edge_ping(e, wsi, pss);
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
	omr_edge_ka_unlink(pss);
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

int omr_edge_ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
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
	case LWS_CALLBACK_RECEIVE_PONG:
		omr_edge_ka_seen(e, pss);
		return 0;
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

