/*
 * omr_http: see omr_http.h.
 *
 * evhttp (libevent 2.1) shows a request only once it is whole, and its one
 * timeout restarts with every byte, so a sender trickling a byte a second
 * would hold a connection for ever. Each connection therefore gets a
 * struct omr_http_conn from its first moment:
 *
 *  - evhttp_set_bevcb: we make each new connection's bufferevent, which is
 *    how we learn that one was accepted. Later in the same loop pass (a
 *    zero-time event, before any of its bytes are read) it is adopted: its
 *    peer is counted into the gate or the connection is closed, and it
 *    gets its close callback and timer. 2.1 has no evhttp_set_newreqcb
 *    (2.2 does), so the adoption finds the evhttp_connection as its
 *    bufferevent's callback argument, which is evhttp's own choice; it is
 *    checked, and the integration tests fail if a libevent changes it.
 *  - one timer: while a request arrives, the deadline (request_ms from
 *    accept, or from the first byte of a kept-alive connection's next
 *    request); while the connection idles between requests, the idle
 *    limit; none while a handler has the request.
 *  - the close callback (evhttp has one per connection) serves both the
 *    gate (one leave for each enter) and a reply still pending (dropped).
 *
 * When accept() fails (EMFILE, ENFILE), the listening socket stays
 * readable and libevent would retry and log in a busy loop; the listener
 * pauses instead, like nginx: 100 ms, doubling to 1 s while it fails.
 *
 * Ownership: a server owns its evhttp, its gate and its connections'
 * structs (each freed by its close callback). A reply belongs to its
 * handler until omr_http_reply_send; it and its connection point to each
 * other until either ends. Main thread only.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "omr_config.h"
#include "omr_http.h"
#include "omr_log.h"
#include "omr_tls.h"
#include "omr_util.h"

#define OMR_HTTP_MAX_ROUTES 64
#define OMR_HTTP_WRITE_TIMEOUT_S 30 /* a reply that makes no progress this long is dropped */
#define OMR_HTTP_PAUSE_MIN_MS 100
#define OMR_HTTP_PAUSE_MAX_MS 1000

struct omr_http_route_def {
	char *path;
	size_t len;
	int prefix;
	omr_http_handler fn;
	void *arg;
};

enum omr_http_conn_state {
	OMR_HTTP_READING,  /* a request arrives: the deadline runs */
	OMR_HTTP_HANDLING, /* a handler has the request */
	OMR_HTTP_IDLE,     /* answered and kept alive: the idle limit runs */
};

struct omr_http_conn {
	struct omr_http_server *srv;
	struct bufferevent *bev;         /* evhttp's; we hold a reference until adopted */
	struct evhttp_connection *evcon; /* NULL until adopted */
	struct evbuffer_cb_entry *input_cb;
	struct event *timer;
	omr_http_reply *reply;           /* the request being answered, or NULL */
	enum omr_http_conn_state state;
	evutil_socket_t fd;
	int counted;                     /* in the gate: one leave when it closes */
	char ip[64];
	TAILQ_ENTRY(omr_http_conn) pending;
};

TAILQ_HEAD(omr_http_conn_list, omr_http_conn);

/* Something that may happen thousands of times a second: one log line per
 * OMR_GATE_LOG_MS, with how often it happened. */
struct omr_http_once {
	uint64_t count;
	int64_t at_ms;
};

struct omr_http_server {
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *listener; /* evhttp's */
	struct event *adopt;             /* adopts the connections just accepted */
	struct event *resume;            /* enables the listener again after a pause */
	struct omr_http_conn_list pending;
	struct omr_http_conn **conns;    /* by descriptor: a request's connection */
	size_t nconns;
	struct omr_gate *gate;
	struct omr_http_limits lim;
	SSL_CTX *tls;                    /* new connections' TLS (owned), or NULL: plain */
	char *name;
	size_t max_body;
	struct omr_http_route_def routes[OMR_HTTP_MAX_ROUTES];
	int nroutes;
	int64_t pause_ms;                /* the listener's next pause */
	struct omr_http_once accept_log, timeout_log;
	struct omr_http_stats st;        /* but the gate's refusals */
	struct omr_http_server *next;    /* omr_http_servers */
};

/* The listener error callback gets evhttp's argument, not ours: it finds
 * its server here. */
static struct omr_http_server *omr_http_servers;

struct omr_http_reply {
	struct omr_http_server *srv;
	struct evhttp_request *req;  /* NULL once the client is gone */
	struct omr_http_conn *conn;  /* NULL once the client is gone */
	struct omr_http_request pub;
	char *path;
	char *query;
	unsigned char *body;
	struct evkeyvalq params;
	int params_parsed;
};

/* 0: not now; else how many to report. */
static uint64_t omr_http_once(struct omr_http_once *o, int64_t now_ms)
{
	uint64_t n;
	o->count++;
	if (o->at_ms != 0 && now_ms - o->at_ms < OMR_GATE_LOG_MS)
		return 0;
	n = o->count;
	o->count = 0;
	o->at_ms = now_ms;
	return n;
}

static struct timeval omr_http_tv(int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	return tv;
}

/* ---- connections ---- */

static void omr_http_conn_set(struct omr_http_conn *c, enum omr_http_conn_state state)
{
	struct timeval tv;
	c->state = state;
	if (state == OMR_HTTP_HANDLING) {
		evtimer_del(c->timer);
		return;
	}
	tv = omr_http_tv(state == OMR_HTTP_READING ? c->srv->lim.request_ms : c->srv->lim.idle_ms);
	evtimer_add(c->timer, &tv);
}

static void omr_http_conn_free(struct omr_http_conn *c)
{
	struct omr_http_server *s = c->srv;
	if (c->counted)
		omr_gate_leave(s->gate, c->ip);
	if (c->input_cb)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->input_cb);
	if (c->fd >= 0 && (size_t)c->fd < s->nconns && s->conns[c->fd] == c)
		s->conns[c->fd] = NULL;
	if (c->timer)
		event_free(c->timer);
	s->st.open--;
	free(c);
}

/* evhttp frees the connection: the one way out of every adopted one. A
 * TLS connection says goodbye first (close_notify), unless its handshake
 * never finished or failed. */
static void omr_http_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct omr_http_conn *c = arg;
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	(void)evcon;
	if (ssl && SSL_is_init_finished(ssl)) {
		SSL_shutdown(ssl);
		ERR_clear_error();
	} else if (ssl) {
		c->srv->st.tls_failed++;
	}
	if (c->reply) {
		/* the client went away before its answer: drop the late reply */
		c->reply->req = NULL;
		c->reply->conn = NULL;
	}
	omr_http_conn_free(c);
}

static void omr_http_conn_expire(evutil_socket_t fd, short what, void *arg)
{
	struct omr_http_conn *c = arg;
	struct omr_http_server *s = c->srv;
	uint64_t n;
	(void)fd;
	(void)what;
	if (c->state == OMR_HTTP_IDLE) {
		s->st.idle_closed++;
	} else {
		s->st.timeouts++;
		n = omr_http_once(&s->timeout_log, omr_mono_ms());
		if (n)
			omr_log_warn("%s: closed a connection from %s: its request did not arrive whole "
				     "within %lld ms (%llu since the last report)", s->name, c->ip,
				     (long long)s->lim.request_ms, (unsigned long long)n);
	}
	evhttp_connection_free(c->evcon); /* omr_http_conn_closed frees c */
}

/* Bytes came in: on an idle connection, the next request begins. */
static void omr_http_conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
				void *arg)
{
	struct omr_http_conn *c = arg;
	(void)buf;
	if (info->n_added > 0 && c->state == OMR_HTTP_IDLE)
		omr_http_conn_set(c, OMR_HTTP_READING);
}

/* Its answer is on the way: now the wait for the next request, which may
 * be here already (pipelined). */
static void omr_http_conn_answered(struct omr_http_conn *c)
{
	c->reply = NULL;
	omr_http_conn_set(c, evbuffer_get_length(bufferevent_get_input(c->bev)) ?
				     OMR_HTTP_READING : OMR_HTTP_IDLE);
}

static int omr_http_conns_put(struct omr_http_server *s, struct omr_http_conn *c)
{
	if (c->fd < 0)
		return -1;
	if ((size_t)c->fd >= s->nconns) {
		size_t n = s->nconns ? s->nconns : 64;
		while (n <= (size_t)c->fd)
			n *= 2;
		s->conns = omr_realloc(s->conns, n * sizeof(*s->conns));
		memset(s->conns + s->nconns, 0, (n - s->nconns) * sizeof(*s->conns));
		s->nconns = n;
	}
	s->conns[c->fd] = c;
	return 0;
}

/* The connection a complete request came on; NULL if it was never adopted. */
static struct omr_http_conn *omr_http_conn_of(struct omr_http_server *s,
					      struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	struct omr_http_conn *c;
	if (fd < 0 || (size_t)fd >= s->nconns)
		return NULL;
	c = s->conns[fd];
	return c && c->evcon == evcon ? c : NULL;
}

static void omr_http_conn_adopt(struct omr_http_conn *c)
{
	struct omr_http_server *s = c->srv;
	struct bufferevent *bev = c->bev;
	struct timeval wtv = { OMR_HTTP_WRITE_TIMEOUT_S, 0 };
	bufferevent_data_cb readcb;
	void *cbarg;
	char *addr = NULL;
	ev_uint16_t port = 0;

	bufferevent_getcb(bev, &readcb, NULL, NULL, &cbarg);
	if (!readcb || evhttp_connection_get_bufferevent(cbarg) != bev) {
		/* evhttp gave the connection up (bufferevent_free clears the
		 * callbacks) before we saw it */
		bufferevent_decref(bev);
		s->st.open--;
		free(c);
		return;
	}
	bufferevent_decref(bev); /* evhttp holds it from now on */
	c->evcon = cbarg;
	c->fd = bufferevent_getfd(bev);
	evhttp_connection_get_peer(c->evcon, &addr, &port);
	snprintf(c->ip, sizeof(c->ip), "%s", addr ? addr : "");
	evhttp_connection_set_closecb(c->evcon, omr_http_conn_closed, c);
	/* Refused: closed now, before a byte is read. An HTTP answer would
	 * need the request read first, and closing with unread bytes makes
	 * the kernel send a reset that often destroys it anyway. */
	if (omr_gate_enter(s->gate, c->ip, omr_mono_ms()) != OMR_GATE_OK) {
		evhttp_connection_free(c->evcon);
		return;
	}
	c->counted = 1;
	c->timer = evtimer_new(s->base, omr_http_conn_expire, c);
	c->input_cb = evbuffer_add_cb(bufferevent_get_input(bev), omr_http_conn_input, c);
	if (!c->timer || !c->input_cb || omr_http_conns_put(s, c) < 0) {
		evhttp_connection_free(c->evcon);
		return;
	}
	/* Reading is bounded by our timer, not by evhttp's per-read timeout
	 * (which every byte restarts); writing keeps a timeout. */
	bufferevent_set_timeouts(bev, NULL, &wtv);
	omr_http_conn_set(c, OMR_HTTP_READING);
}

static void omr_http_adopt(evutil_socket_t fd, short what, void *arg)
{
	struct omr_http_server *s = arg;
	struct omr_http_conn *c;
	(void)fd;
	(void)what;
	while ((c = TAILQ_FIRST(&s->pending))) {
		TAILQ_REMOVE(&s->pending, c, pending);
		omr_http_conn_adopt(c);
	}
}

/* evhttp accepted a connection and wants its bufferevent. */
static struct bufferevent *omr_http_conn_new(struct event_base *base, void *arg)
{
	struct omr_http_server *s = arg;
	struct bufferevent *bev;
	struct omr_http_conn *c;

	if (s->tls) {
		/* the SSL holds a reference to the context: a reload does not
		 * touch it; the bufferevent frees it and closes the socket */
		SSL *ssl = SSL_new(s->tls);
		bev = ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
							   BEV_OPT_CLOSE_ON_FREE) : NULL;
		if (!bev) {
			SSL_free(ssl);
			return NULL;
		}
		/* a client that closes without close_notify is no error */
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else {
		/* as evhttp makes its own: evhttp closes the descriptor */
		bev = bufferevent_socket_new(base, -1, 0);
	}
	if (!bev)
		return NULL;
	c = omr_calloc(1, sizeof(*c));
	c->srv = s;
	c->bev = bev;
	c->fd = -1;
	/* evhttp may still give the connection up before the adoption */
	bufferevent_incref(bev);
	TAILQ_INSERT_TAIL(&s->pending, c, pending);
	s->st.open++;
	event_active(s->adopt, EV_TIMEOUT, 1);
	s->pause_ms = OMR_HTTP_PAUSE_MIN_MS; /* accept() works again */
	return bev;
}

/* ---- the listener ---- */

static void omr_http_resume(evutil_socket_t fd, short what, void *arg)
{
	struct omr_http_server *s = arg;
	(void)fd;
	(void)what;
	evconnlistener_enable(s->listener);
}

static void omr_http_accept_error(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	struct omr_http_server *s;
	struct timeval tv;
	uint64_t n;

	(void)arg; /* evhttp's */
	for (s = omr_http_servers; s && s->listener != lev; s = s->next)
		;
	if (!s)
		return;
	s->st.accept_errors++;
	evconnlistener_disable(lev);
	tv = omr_http_tv(s->pause_ms);
	evtimer_add(s->resume, &tv);
	n = omr_http_once(&s->accept_log, omr_mono_ms());
	if (n)
		omr_log_error("%s: cannot accept connections: %s; not accepting for %lld ms "
			      "(%llu failure(s) since the last report, %llu connection(s) open here; "
			      "see the descriptor limit logged at start)", s->name,
			      evutil_socket_error_to_string(err), (long long)s->pause_ms,
			      (unsigned long long)n, (unsigned long long)s->st.open);
	s->pause_ms *= 2;
	if (s->pause_ms > OMR_HTTP_PAUSE_MAX_MS)
		s->pause_ms = OMR_HTTP_PAUSE_MAX_MS;
}

/* ---- requests and replies ---- */

static const char *omr_http_header(const struct omr_http_request *req, const char *name)
{
	omr_http_reply *r = req->impl;
	if (!r->req)
		return NULL;
	return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

const char *omr_http_query_param(const struct omr_http_request *req, const char *name)
{
	omr_http_reply *r = req->impl;
	if (!r->params_parsed) {
		TAILQ_INIT(&r->params);
		if (r->query && *r->query && evhttp_parse_query_str(r->query, &r->params) < 0) {
			evhttp_clear_headers(&r->params);
			TAILQ_INIT(&r->params);
		}
		r->params_parsed = 1;
	}
	return evhttp_find_header(&r->params, name);
}

const struct omr_http_request *omr_http_reply_request(omr_http_reply *r)
{
	return &r->pub;
}

static void omr_http_reply_free(omr_http_reply *r)
{
	if (r->params_parsed)
		evhttp_clear_headers(&r->params);
	free(r->path);
	free(r->query);
	free(r->body);
	free(r);
}

void omr_http_reply_header(omr_http_reply *r, const char *name, const char *value)
{
	if (r->req)
		evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value);
}

const char *omr_http_reply_peer(omr_http_reply *r)
{
	return r->conn ? r->conn->ip : "";
}

void omr_http_reply_send(omr_http_reply *r, int code, const char *content_type, const void *body,
			 size_t len)
{
	if (r->req) {
		struct evbuffer *buf = evbuffer_new();
		struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
		omr_http_conn_answered(r->conn);
		if (content_type)
			evhttp_add_header(h, "Content-Type", content_type);
		evhttp_add_header(h, "Cache-Control", "no-store");
		evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
		if (len)
			evbuffer_add(buf, body, len);
		if (code >= 400)
			r->srv->st.errors++;
		evhttp_send_reply(r->req, code, NULL, buf);
		evbuffer_free(buf);
	}
	omr_http_reply_free(r);
}

void omr_http_reply_json(omr_http_reply *r, int code, const json_t *body)
{
	static const char fail[] = "{\"error\":{\"code\":\"internal\",\"message\":\"cannot encode\"}}";
	char *s = json_dumps(body, JSON_COMPACT);
	if (!s) {
		omr_http_reply_send(r, 500, "application/json", fail, sizeof(fail) - 1);
		return;
	}
	size_t len = strlen(s);
	s = omr_realloc(s, len + 2);
	s[len++] = '\n';
	omr_http_reply_send(r, code, "application/json", s, len);
	free(s);
}

void omr_http_reply_error(omr_http_reply *r, int code, const char *code_word, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = omr_vasprintf(fmt, ap);
	va_end(ap);
	json_t *j = json_pack("{s:{s:s,s:s%}}", "error", "code", code_word, "message", msg,
			      strlen(msg));
	if (!j) /* message not UTF-8: never echo it */
		j = json_pack("{s:{s:s,s:s}}", "error", "code", code_word, "message", "bad request");
	omr_http_reply_json(r, code, j);
	json_decref(j);
	free(msg);
}

static const char *omr_http_method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "OTHER";
	}
}

static const struct omr_http_route_def *omr_http_match(const struct omr_http_server *s,
						       const char *path)
{
	for (int i = 0; i < s->nroutes; i++) {
		const struct omr_http_route_def *rt = &s->routes[i];
		if (strcmp(path, rt->path) == 0)
			return rt;
		if (rt->prefix && strncmp(path, rt->path, rt->len) == 0 && path[rt->len] == '/')
			return rt;
	}
	return NULL;
}

static void omr_http_handle(struct evhttp_request *req, void *arg)
{
	struct omr_http_server *s = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw_path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct omr_http_conn *c = omr_http_conn_of(s, req);
	omr_http_reply *r;
	size_t plen;

	if (!c) {
		/* cannot happen: every connection is adopted before it is read */
		omr_log_error("%s: a request on a connection never admitted", s->name);
		evhttp_send_error(req, 503, NULL);
		return;
	}
	s->st.requests++;
	r = omr_calloc(1, sizeof(*r));
	r->srv = s;
	r->req = req;
	r->conn = c;
	c->reply = r;
	omr_http_conn_set(c, OMR_HTTP_HANDLING);
	r->path = raw_path ? evhttp_uridecode(raw_path, 0, &plen) : NULL;
	r->query = omr_strdup(query ? query : "");
	r->pub.method = omr_http_method_name(evhttp_request_get_command(req));
	r->pub.query = r->query;
	r->pub.header = omr_http_header;
	r->pub.impl = r;
	if (!r->path || strlen(r->path) != plen || !omr_utf8_valid(r->path, plen)) {
		free(r->path);
		r->path = omr_strdup("");
		r->pub.path = r->path;
		omr_http_reply_error(r, 400, "bad_path", "the request path is not valid");
		return;
	}
	r->pub.path = r->path;
	if (strstr(r->query, "%00")) {
		/* decoded, a NUL would silently cut the value short */
		omr_http_reply_error(r, 400, "bad_query", "the query string contains a NUL byte");
		return;
	}
	r->pub.body_len = evbuffer_get_length(in);
	r->body = omr_malloc(r->pub.body_len + 1);
	evbuffer_remove(in, r->body, r->pub.body_len);
	r->body[r->pub.body_len] = '\0';
	r->pub.body = r->body;

	const struct omr_http_route_def *rt = omr_http_match(s, r->path);
	if (!rt) {
		omr_http_reply_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	rt->fn(rt->arg, &r->pub, r);
}

void omr_http_limits_conf(struct omr_http_limits *l, const struct omr_config *c,
			  const struct omr_gate_conf *door)
{
	memset(l, 0, sizeof(*l));
	l->gate.conns = door->max_connections;
	l->gate.conns_per_ip = door->max_per_ip;
	l->gate.rate_per_ip = (double)door->rate_per_ip;
	l->gate.burst_per_ip = (double)door->burst_per_ip;
	l->request_ms = c->admission.request_timeout;
	l->idle_ms = c->admission.idle_timeout;
}

static int omr_http_listen(struct omr_http_server *s, const char *address, int port,
			   char **err_r)
{
	struct evhttp_bound_socket *bound;
	bound = evhttp_bind_socket_with_handle(s->http, address, (ev_uint16_t)port);
	if (!bound)
		return omr_err(err_r, "%s: cannot listen on %s:%d (in use?)", s->name, address, port);
	s->listener = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(s->listener, omr_http_accept_error);
	return 0;
}

struct omr_http_server *omr_http_server_new(struct event_base *base, const char *name,
					    const char *address, int port, size_t max_body,
					    const struct omr_http_limits *lim, char **err_r)
{
	struct omr_http_server *s = omr_calloc(1, sizeof(*s));
	s->base = base;
	s->name = omr_strdup(name);
	s->max_body = max_body;
	s->lim = *lim;
	s->pause_ms = OMR_HTTP_PAUSE_MIN_MS;
	TAILQ_INIT(&s->pending);
	s->gate = omr_gate_new(name, &lim->gate);
	s->http = evhttp_new(base);
	s->adopt = event_new(base, -1, 0, omr_http_adopt, s);
	s->resume = evtimer_new(base, omr_http_resume, s);
	if (!s->http || !s->adopt || !s->resume)
		goto fail;
	evhttp_set_bevcb(s->http, omr_http_conn_new, s);
	if (omr_http_listen(s, address, port, err_r) < 0)
		goto fail;
	evhttp_set_max_body_size(s->http, (ev_ssize_t)max_body);
	evhttp_set_max_headers_size(s->http, 16384);
	/* until a connection is adopted (the same loop pass) */
	evhttp_set_timeout(s->http, OMR_HTTP_WRITE_TIMEOUT_S);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(s->http, omr_http_handle, s);
	s->next = omr_http_servers;
	omr_http_servers = s;
	omr_log_info("%s: listening on %s:%d", name, address, port);
	return s;
fail:
	if (err_r && !*err_r)
		omr_err(err_r, "%s: cannot create the HTTP server", name);
	omr_http_server_free(s);
	return NULL;
}

void omr_http_server_free(struct omr_http_server *s)
{
	struct omr_http_server **pp;
	struct omr_http_conn *c;

	if (!s)
		return;
	for (pp = &omr_http_servers; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	/* every adopted connection's close callback runs now */
	if (s->http)
		evhttp_free(s->http);
	while ((c = TAILQ_FIRST(&s->pending))) {
		TAILQ_REMOVE(&s->pending, c, pending);
		bufferevent_decref(c->bev);
		free(c);
	}
	if (s->adopt)
		event_free(s->adopt);
	if (s->resume)
		event_free(s->resume);
	omr_gate_free(s->gate);
	omr_tls_ctx_free(s->tls);
	free(s->conns);
	for (int i = 0; i < s->nroutes; i++)
		free(s->routes[i].path);
	free(s->name);
	free(s);
}

void omr_http_server_set_limits(struct omr_http_server *s, const struct omr_http_limits *lim)
{
	if (!s)
		return;
	s->lim = *lim;
	omr_gate_set_limits(s->gate, &lim->gate);
}

void omr_http_server_set_tls(struct omr_http_server *s, struct ssl_ctx_st *ctx)
{
	char *what = omr_tls_ctx_describe(ctx);
	omr_tls_ctx_free(s->tls);
	s->tls = ctx;
	omr_log_info("%s: TLS for new connections with %s", s->name, what);
	free(what);
}

int omr_http_server_has_tls(const struct omr_http_server *s)
{
	return s && s->tls;
}

int omr_http_route(struct omr_http_server *s, const char *path, int prefix, omr_http_handler fn,
		   void *arg, char **err_r)
{
	if (!path || path[0] != '/')
		return omr_err(err_r, "route must start with /");
	if (s->nroutes >= OMR_HTTP_MAX_ROUTES)
		return omr_err(err_r, "too many routes");
	for (int i = 0; i < s->nroutes; i++)
		if (strcmp(s->routes[i].path, path) == 0)
			return omr_err(err_r, "route %s is already registered", path);
	struct omr_http_route_def *rt = &s->routes[s->nroutes++];
	rt->path = omr_strdup(path);
	rt->len = strlen(path);
	rt->prefix = prefix;
	rt->fn = fn;
	rt->arg = arg;
	return 0;
}

void omr_http_stats(const struct omr_http_server *s, unsigned long long *requests,
		    unsigned long long *errors)
{
	*requests = s ? s->st.requests : 0;
	*errors = s ? s->st.errors : 0;
}

void omr_http_get_stats(const struct omr_http_server *s, struct omr_http_stats *st)
{
	struct omr_gate_stats gs;
	*st = s->st;
	omr_gate_get_stats(s->gate, &gs);
	st->refused_full = gs.refused_full;
	st->refused_ip = gs.refused_ip;
	st->refused_rate = gs.refused_rate;
}

#define SOFF(f) offsetof(struct omr_http_stats, f)
static const struct omr_http_metric {
	const char *name;
	const char *type;   /* NULL: one more row of the family above */
	const char *help;
	const char *reason; /* the reason label, or NULL */
	size_t off;
} omr_http_metric_defs[] = {
	{ "http_connections", "gauge", "open connections", NULL, SOFF(open) },
	{ "http_refused_total", "counter", "connections closed at accept by an admission limit",
	  "max_connections", SOFF(refused_full) },
	{ "http_refused_total", NULL, NULL, "max_per_ip", SOFF(refused_ip) },
	{ "http_refused_total", NULL, NULL, "rate_per_ip", SOFF(refused_rate) },
	{ "http_request_timeouts_total", "counter",
	  "connections closed because a request did not arrive whole within request_timeout", NULL,
	  SOFF(timeouts) },
	{ "http_idle_closed_total", "counter",
	  "kept-alive connections closed after idle_timeout without a request", NULL,
	  SOFF(idle_closed) },
	{ "http_tls_failed_total", "counter",
	  "TLS connections closed before their handshake was done (not TLS, an old version, "
	  "no or a wrong client certificate, stalled)", NULL, SOFF(tls_failed) },
	{ "http_accept_errors_total", "counter",
	  "accept() failures (EMFILE: out of descriptors), each pausing the listener", NULL,
	  SOFF(accept_errors) },
};

void omr_http_metrics(struct omr_buf *b, struct omr_http_server *const *servers, size_t n)
{
	for (size_t m = 0; m < OMR_ARRAY_LEN(omr_http_metric_defs); m++) {
		const struct omr_http_metric *d = &omr_http_metric_defs[m];
		if (d->type)
			omr_buf_printf(b, "# HELP omniroute_%s %s\n# TYPE omniroute_%s %s\n", d->name,
				       d->help, d->name, d->type);
		for (size_t i = 0; i < n; i++) {
			struct omr_http_stats st;
			uint64_t v;
			omr_http_get_stats(servers[i], &st);
			memcpy(&v, (const char *)&st + d->off, sizeof(v));
			omr_buf_printf(b, "omniroute_%s{listener=\"%s\"%s%s%s} %llu\n", d->name,
				       servers[i]->name, d->reason ? ",reason=\"" : "",
				       d->reason ? d->reason : "", d->reason ? "\"" : "",
				       (unsigned long long)v);
		}
	}
}
