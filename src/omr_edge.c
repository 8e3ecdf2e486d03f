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
#include "omr_tls.h"
#include "omr_util.h"
#include "omr_edge_int.h"

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
	/* browsers keep the files and ask again after a second
	 * (If-None-Match: 304 while unchanged; lws says "must-revalidate,
	 * private, max-age=1"), so that an upgrade is seen at once and an
	 * unchanged file (the chat widget on every page of a site) costs no
	 * transfer; lws would say no-store with a max-age of 0 */
	m->cache_max_age = 1;
	m->cache_reusable = 1;
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
		/* what lws reads at a time (and keeps per connection): longer
		 * messages arrive in fragments, joined in omr_edge_ws.c up to
		 * the endpoint's max_message. 4 KB: 10,000 idle consoles in
		 * about 110 MB (16 KB: 160 MB) */
		p->rx_buffer_size = 4096;
		p->user = (void *)(intptr_t)i;
	}
	p = &e->protocols[e->nendpoints + 1];
	p->name = OMR_EDGE_ACCEPT_PROTOCOL;
	p->callback = omr_edge_accept_cb;
}

/* a start that failed after the context was made: no thread runs it */
static void omr_edge_unstart(struct omr_edge *e)
{
	if (e->ctx)
		lws_context_destroy(e->ctx);
	e->ctx = NULL;
	omr_edge_loop_free(e->loop);
	e->loop = NULL;
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

	/* no validity pings of lws's own (each frame in would move its
	 * connection in one sorted list of all: O(connections)); the edge
	 * pings itself (omr_edge_ws.c, keepalive) */
	e->retry.secs_since_valid_ping = 0;
	e->retry.secs_since_valid_hangup = 0;

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
	if (e->opts.tls)
		/* lws makes the vhost's context; omr_edge_http_cb copies ours
		 * into it (LOAD_EXTRA_SERVER_VERIFY_CERTS); STS: HSTS on
		 * every HTTP answer */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
				LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX | LWS_SERVER_OPTION_STS;
	/* HTTP/1.1 only, as in plain: over HTTP/2 a websocket would be a
	 * stream of a shared connection, which the admission gate, the peer's
	 * address and flow control (all per connection) do not know */
	info.alpn = "http/1.1";

	/* lws on our libev loop (epoll); without the plugin, its own poll() */
	void *loops[1] = { NULL };
	e->loop = omr_edge_loop_new();
	if (e->loop) {
		loops[0] = e->loop;
		info.foreign_loops = loops;
		info.options |= LWS_SERVER_OPTION_LIBEV;
		e->ctx = lws_create_context(&info);
		if (!e->ctx) {
			omr_log_warn("edge: libwebsockets cannot use libev (is the Debian package "
				     "libwebsockets-evlib-ev installed?); serving with poll()");
			omr_edge_loop_free(e->loop);
			e->loop = NULL;
		}
	}
	if (!e->ctx) {
		info.foreign_loops = NULL;
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
		e->ctx = lws_create_context(&info);
	}
	e->vhost = e->ctx ? lws_get_vhost_by_name(e->ctx, info.vhost_name) : NULL;
	lfd.filefd = e->lfd;
	if (e->vhost)
		e->listener = lws_adopt_descriptor_vhost(e->vhost, LWS_ADOPT_RAW_FILE_DESC, lfd,
							 OMR_EDGE_ACCEPT_PROTOCOL, NULL);
	if (!e->listener) {
		omr_edge_unstart(e);
		close(e->lfd);
		e->lfd = -1;
		return omr_err(err_r, "cannot start the websocket server (libwebsockets)");
	}
	e->lfd = -1; /* lws closes it with the listener */
	atomic_store(&e->stop, 0);
	if (pthread_create(&e->thread, NULL, omr_edge_thread, e) != 0) {
		omr_edge_unstart(e);
		return omr_err(err_r, "cannot start the edge thread");
	}
	e->running = 1;
	omr_log_info("edge: listening on %s%s%s:%d (%d websocket endpoints, %d static mounts, %s%s)",
		     strchr(e->address, ':') ? "[" : "", e->address, strchr(e->address, ':') ? "]" : "",
		     e->opts.port, e->nendpoints, e->nmounts, e->loop ? "epoll" : "poll",
		     e->opts.tls ? ", TLS" : "");
	if (e->opts.tls) {
		char *what = omr_tls_ctx_describe(e->opts.tls);
		omr_log_info("edge: TLS with %s", what);
		free(what);
	}
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

int omr_edge_has_tls(const struct omr_edge *e)
{
	return e && e->opts.tls;
}

static void omr_edge_tls_free(void *ctx)
{
	omr_tls_ctx_free(ctx);
}

int omr_edge_set_tls(struct omr_edge *e, struct ssl_ctx_st *ctx)
{
	struct omr_bridge_item *it;
	if (!e->opts.tls) {
		omr_tls_ctx_free(ctx);
		return OMR_ERROR;
	}
	it = omr_bridge_item_new(OMR_BRIDGE_TLS, 0);
	it->obj = ctx;
	it->obj_free = omr_edge_tls_free;
	return omr_edge_command(e, it); /* frees it when the edge is stopped */
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
	omr_edge_loop_free(e->loop); /* the thread destroyed the context */
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
	omr_tls_ctx_free(e->opts.tls);
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
	st->pings = atomic_load(&e->n_pings);
	st->unanswered = atomic_load(&e->n_unanswered);
}

