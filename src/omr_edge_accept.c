/*
 * omr_edge_accept: the edge thread's listener and plain HTTP
 * (omr_edge_int.h): accept() with a pause when descriptors run out,
 * admission.edge at accept, static mounts, /files/ links, and the thread.
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

#include <ev.h>
#include <libwebsockets.h>

#include "omr_bridge.h"
#include "omr_edge.h"
#include "omr_files.h"
#include "omr_log.h"
#include "omr_tls.h"
#include "omr_util.h"
#include "omr_edge_int.h"

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
	if (v != OMR_GATE_OK && e->opts.tls) {
		close(fd); /* a TLS client could not read a plain answer */
		return;
	}
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
		/* With TLS, lws starts the handshake inside the adoption: a
		 * client whose first bytes are no TLS handshake (or an old
		 * version) fails it at once. That is the client's fault, not
		 * a lack of room: no pause, or anyone could stop the listener. */
		if (e->opts.tls)
			atomic_fetch_add(&e->n_rejected, 1);
		else
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
int omr_edge_accept_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
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

/* lws made the vhost's TLS context (main thread, lws_create_context): it
 * takes ours. */
static int omr_edge_tls_setup(struct omr_edge *e, struct ssl_ctx_st *vhost_ctx)
{
	char *err = NULL;
	if (!e->opts.tls)
		return 0;
	if (omr_tls_ctx_adopt(vhost_ctx, e->opts.tls, &err) < 0) {
		omr_log_error("edge: tls: %s", err);
		free(err);
		return -1;
	}
	e->vhost_tls = vhost_ctx;
	return 0;
}

void omr_edge_tls_reload(struct omr_edge *e, struct ssl_ctx_st *ctx)
{
	char *err = NULL, *what;
	if (!e->vhost_tls)
		return;
	if (omr_tls_ctx_adopt(e->vhost_tls, ctx, &err) < 0) {
		omr_log_error("edge: tls: %s; new connections may fail their handshake", err);
		free(err);
		return;
	}
	what = omr_tls_ctx_describe(ctx);
	omr_log_info("edge: TLS for new connections with %s", what);
	free(what);
}

/* protocols[0] serves the static mounts and the /files links; a websocket
 * that arrives without one of our subprotocols lands here and is refused.
 * lws also tells it when any connection is destroyed. */
int omr_edge_http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
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
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		return omr_edge_tls_setup(e, user);
	case LWS_CALLBACK_HTTP:
		if (e->opts.files && in &&
		    strncmp(in, OMR_FILES_PREFIX, strlen(OMR_FILES_PREFIX)) == 0)
			return omr_edge_file(e, wsi, in);
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* The edge thread's loop: libev on epoll when lws could load its libev
 * plugin (a ready socket costs its own callback, not a scan of every
 * socket as lws's poll() loop does on every wake-up), else lws's own. */
struct ev_loop *omr_edge_loop_new(void)
{
	struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
	return loop ? loop : ev_loop_new(EVFLAG_NOENV | EVFLAG_NOSIGMASK);
}

void omr_edge_loop_free(struct ev_loop *loop)
{
	if (loop)
		ev_loop_destroy(loop);
}

void omr_edge_loop_break(struct omr_edge *e)
{
	if (e->loop)
		ev_break(e->loop, EVBREAK_ALL);
}

void *omr_edge_thread(void *arg)
{
	struct omr_edge *e = arg;
	/* The thread ends only when asked: the main thread may call
	 * lws_cancel_service() on the context until it has joined us; the
	 * wake-up that finds stop set breaks the libev loop. */
	omr_edge_keepalive_start(e);
	while (!atomic_load(&e->stop)) {
		if (e->loop) {
			ev_run(e->loop, 0);
		} else if (lws_service(e->ctx, 0) < 0) {
			omr_log_error("edge: lws_service failed");
			struct timespec ts = { 0, 10 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	/* Destroying the context closes every connection; the CLOSED
	 * callbacks still reach the main thread through the bridge. */
	lws_sul_cancel(&e->keepalive);
	lws_context_destroy(e->ctx);
	e->ctx = NULL;
	return NULL;
}

