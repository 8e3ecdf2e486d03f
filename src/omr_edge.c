/*
 * omr_edge: see omr_edge.h.
 *
 * Edge thread state (connection map, per-session data) is touched only by
 * the edge thread. The main thread owns the endpoint callbacks. Counters
 * shared by both are atomics.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

struct omr_edge_tx {
	struct omr_edge_tx *next;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes of headroom, then the payload */
};

/* Per-session data, allocated by lws; edge thread only. */
struct omr_edge_pss {
	struct lws *wsi;
	uint64_t id;
	int endpoint;
	struct omr_buf rx;
	struct omr_edge_tx *tx_head, *tx_tail;
	size_t tx_bytes;
	int close_code;
	char close_reason[124];
	int closing;
	int registered;
};

struct omr_edge_endpoint {
	struct omr_ws_endpoint ep; /* strings owned */
};

struct omr_edge {
	struct event_base *base;
	struct omr_edge_opts opts;
	char *address;
	char **origins;

	struct omr_edge_endpoint endpoints[OMR_EDGE_MAX_ENDPOINTS];
	int nendpoints;
	struct lws_protocols protocols[OMR_EDGE_MAX_ENDPOINTS + 2];
	struct lws_http_mount mounts[OMR_EDGE_MAX_MOUNTS];
	int nmounts;
	lws_retry_bo_t retry;

	struct lws_context *ctx;
	pthread_t thread;
	int running;
	atomic_int stop;

	/* edge thread only */
	struct omr_map *conns; /* id -> pss */
	uint64_t next_id;

	struct omr_bridge_queue to_main;
	struct omr_bridge_queue to_edge;
	struct event *wake_main;

	struct lws_http_mount files_mount; /* /files: signed links (omr_files) */

	atomic_uint_fast64_t n_open, n_accepted, n_in, n_out, n_rejected;
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

static void omr_edge_to_main(struct omr_edge *e, struct omr_bridge_item *it)
{
	omr_bridge_push(&e->to_main, it);
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

static void omr_edge_apply(struct omr_edge *e, struct omr_bridge_item *it)
{
	struct omr_edge_pss *pss = omr_map_get(e->conns, &it->conn, sizeof(it->conn));
	if (!pss || pss->closing)
		return; /* the peer is gone already: nothing to deliver to */
	if (it->op == OMR_BRIDGE_CLOSE) {
		omr_edge_request_close(pss, it->code, it->data);
		return;
	}
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
	lws_callback_on_writable(pss->wsi);
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

static int omr_edge_origin_ok(struct omr_edge *e, struct lws *wsi)
{
	char origin[256];
	if (!e->origins)
		return 1;
	if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
		return 0;
	for (size_t i = 0; e->origins[i]; i++)
		if (strcmp(e->origins[i], origin) == 0)
			return 1;
	return 0;
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
	char ip[64] = "";
	struct omr_bridge_item *it;

	memset(pss, 0, sizeof(*pss));
	pss->wsi = wsi;
	pss->id = ++e->next_id;
	pss->endpoint = endpoint;
	omr_buf_init(&pss->rx);
	omr_map_put(e->conns, &pss->id, sizeof(pss->id), pss);
	pss->registered = 1;
	atomic_fetch_add(&e->n_open, 1);
	atomic_fetch_add(&e->n_accepted, 1);

	it = omr_bridge_item_new(OMR_BRIDGE_OPEN, pss->id);
	it->endpoint = endpoint;
	lws_get_peer_simple(wsi, ip, sizeof(ip));
	it->ip = omr_strdup(ip);
	omr_edge_hdr(wsi, WSI_TOKEN_ORIGIN, &it->origin);
	omr_edge_hdr(wsi, WSI_TOKEN_HTTP_USER_AGENT, &it->user_agent);
	omr_edge_to_main(e, it);
	return 0;
}

static void omr_edge_close_reason(struct lws *wsi, enum lws_close_status code, const char *why)
{
	lws_close_reason(wsi, code, (unsigned char *)why, strlen(why));
}

static int omr_edge_receive(struct omr_edge *e, struct lws *wsi, struct omr_edge_pss *pss,
			    const void *in, size_t len)
{
	size_t max = e->endpoints[pss->endpoint].ep.max_message;
	if (pss->closing)
		return 0;
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
	omr_buf_append(&pss->rx, in, len);
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	struct omr_bridge_item *it = omr_bridge_item_new(OMR_BRIDGE_MESSAGE, pss->id);
	it->endpoint = pss->endpoint;
	it->data = omr_buf_steal(&pss->rx, &it->len);
	atomic_fetch_add(&e->n_in, 1);
	omr_edge_to_main(e, it);
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
	atomic_fetch_sub(&e->n_open, 1);
	struct omr_bridge_item *it = omr_bridge_item_new(OMR_BRIDGE_CLOSED, pss->id);
	it->endpoint = pss->endpoint;
	omr_edge_to_main(e, it);
}

static int omr_edge_ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			  void *in, size_t len)
{
	struct omr_edge *e = lws_context_user(lws_get_context(wsi));
	struct omr_edge_pss *pss = user;
	const struct lws_protocols *proto = lws_get_protocol(wsi);
	int endpoint = proto ? (int)(intptr_t)proto->user : -1;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
		char uri[256];
		if (endpoint < 0 || endpoint >= e->nendpoints)
			return -1;
		if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
		    strcmp(uri, e->endpoints[endpoint].ep.path) != 0 || !omr_edge_origin_ok(e, wsi)) {
			atomic_fetch_add(&e->n_rejected, 1);
			return -1;
		}
		return 0;
	}
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
 * that arrives without one of our subprotocols lands here and is refused. */
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

static void omr_edge_dispatch(evutil_socket_t fd, short what, void *arg)
{
	struct omr_edge *e = arg;
	struct omr_bridge_item *it = omr_bridge_take_all(&e->to_main);

	while (it) {
		struct omr_bridge_item *next = it->next;
		const struct omr_ws_endpoint *ep =
			it->endpoint >= 0 && it->endpoint < e->nendpoints ? &e->endpoints[it->endpoint].ep : NULL;
		if (ep) {
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
		omr_bridge_item_free(it);
		it = next;
	}
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
		for (size_t i = 0; i < n; i++)
			e->origins[i] = omr_strdup(o->allowed_origins[i]);
	}
	e->opts.allowed_origins = e->origins;
	e->conns = omr_map_new();
	omr_bridge_queue_init(&e->to_main);
	omr_bridge_queue_init(&e->to_edge);
	e->wake_main = event_new(base, -1, 0, omr_edge_dispatch, e);
	return e;
}

int omr_edge_add_endpoint(struct omr_edge *e, const struct omr_ws_endpoint *ep, char **err_r)
{
	if (e->running)
		return omr_err(err_r, "websocket endpoints can only be added at startup");
	if (e->nendpoints >= OMR_EDGE_MAX_ENDPOINTS)
		return omr_err(err_r, "too many websocket endpoints");
	if (!ep->path || ep->path[0] != '/' || !ep->subprotocol || !*ep->subprotocol)
		return omr_err(err_r, "a websocket endpoint needs a path starting with / and a subprotocol");
	for (int i = 0; i < e->nendpoints; i++)
		if (strcmp(e->endpoints[i].ep.subprotocol, ep->subprotocol) == 0 ||
		    strcmp(e->endpoints[i].ep.path, ep->path) == 0)
			return omr_err(err_r, "websocket endpoint %s (%s) is already registered", ep->path,
				       ep->subprotocol);
	struct omr_ws_endpoint *copy = &e->endpoints[e->nendpoints++].ep;
	*copy = *ep;
	copy->path = omr_strdup(ep->path);
	copy->subprotocol = omr_strdup(ep->subprotocol);
	if (!copy->max_message)
		copy->max_message = e->opts.max_message;
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

int omr_edge_start(struct omr_edge *e, char **err_r)
{
	struct lws_context_creation_info info;

	lws_set_log_level(LLL_ERR | LLL_WARN, omr_edge_lws_log);
	memset(&info, 0, sizeof(info));
	e->protocols[0].name = "http";
	e->protocols[0].callback = omr_edge_http_cb;
	for (int i = 0; i < e->nendpoints; i++) {
		struct lws_protocols *p = &e->protocols[i + 1];
		p->name = e->endpoints[i].ep.subprotocol;
		p->callback = omr_edge_ws_cb;
		p->per_session_data_size = sizeof(struct omr_edge_pss);
		p->rx_buffer_size = 16384;
		p->user = (void *)(intptr_t)i;
	}
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

	info.port = e->opts.port;
	info.iface = e->address;
	info.protocols = e->protocols;
	info.mounts = e->nmounts ? &e->mounts[0] : e->opts.files ? &e->files_mount : NULL;
	info.user = e;
	info.gid = -1;
	info.uid = -1;
	info.retry_and_idle_policy = &e->retry;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 |
		       LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE |
		       LWS_SERVER_OPTION_DISABLE_IPV6;
	info.max_http_header_data = 4096;
	info.timeout_secs = 20;
	info.vhost_name = "omniroute";

	e->ctx = lws_create_context(&info);
	if (!e->ctx)
		return omr_err(err_r, "cannot listen on %s:%d for websockets (in use?)", e->address,
			       e->opts.port);
	atomic_store(&e->stop, 0);
	if (pthread_create(&e->thread, NULL, omr_edge_thread, e) != 0) {
		lws_context_destroy(e->ctx);
		e->ctx = NULL;
		return omr_err(err_r, "cannot start the edge thread");
	}
	e->running = 1;
	omr_log_info("edge: listening on %s:%d (%d websocket endpoints, %d static mounts)",
		     e->address, e->opts.port, e->nendpoints, e->nmounts);
	return 0;
}

static int omr_edge_command(struct omr_edge *e, struct omr_bridge_item *it)
{
	if (!e->running) {
		omr_bridge_item_free(it);
		return OMR_ERROR;
	}
	omr_bridge_push(&e->to_edge, it);
	lws_cancel_service(e->ctx);
	return OMR_OK;
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

void omr_edge_stop(struct omr_edge *e)
{
	if (!e || !e->running)
		return;
	atomic_store(&e->stop, 1);
	lws_cancel_service(e->ctx);
	pthread_join(e->thread, NULL);
	e->running = 0;
	/* Deliver the CLOSED events the shutdown produced. */
	omr_edge_dispatch(-1, 0, e);
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
	omr_map_free(e->conns, NULL);
	omr_bridge_queue_destroy(&e->to_main);
	omr_bridge_queue_destroy(&e->to_edge);
	event_free(e->wake_main);
	free(e->address);
	free(e);
}

void omr_edge_get_stats(struct omr_edge *e, struct omr_edge_stats *st)
{
	st->connections = atomic_load(&e->n_open);
	st->accepted = atomic_load(&e->n_accepted);
	st->messages_in = atomic_load(&e->n_in);
	st->messages_out = atomic_load(&e->n_out);
	st->rejected = atomic_load(&e->n_rejected);
}
