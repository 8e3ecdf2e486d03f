/*
 * omr_http: see omr_http.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#include "omr_http.h"
#include "omr_log.h"
#include "omr_util.h"

#define OMR_HTTP_MAX_ROUTES 64

struct omr_http_route_def {
	char *path;
	size_t len;
	int prefix;
	omr_http_handler fn;
	void *arg;
};

struct omr_http_server {
	struct event_base *base;
	struct evhttp *http;
	char *name;
	size_t max_body;
	struct omr_http_route_def routes[OMR_HTTP_MAX_ROUTES];
	int nroutes;
	unsigned long long requests, errors;
};

struct omr_http_reply {
	struct omr_http_server *srv;
	struct evhttp_request *req;  /* NULL once the client is gone */
	struct evhttp_connection *conn;
	struct omr_http_request pub;
	char *path;
	char *query;
	unsigned char *body;
	struct evkeyvalq params;
	int params_parsed;
};

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

/* The client went away before we answered: forget the request. */
static void omr_http_conn_closed(struct evhttp_connection *conn, void *arg)
{
	omr_http_reply *r = arg;
	r->req = NULL;
	r->conn = NULL;
}

void omr_http_reply_send(omr_http_reply *r, int code, const char *content_type, const void *body,
			 size_t len)
{
	if (r->req) {
		struct evbuffer *buf = evbuffer_new();
		struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
		evhttp_connection_set_closecb(r->conn, NULL, NULL);
		if (content_type)
			evhttp_add_header(h, "Content-Type", content_type);
		evhttp_add_header(h, "Cache-Control", "no-store");
		evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
		if (len)
			evbuffer_add(buf, body, len);
		if (code >= 400)
			r->srv->errors++;
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
	omr_http_reply *r = omr_calloc(1, sizeof(*r));
	size_t plen;

	s->requests++;
	r->srv = s;
	r->req = req;
	r->conn = evhttp_request_get_connection(req);
	evhttp_connection_set_closecb(r->conn, omr_http_conn_closed, r);
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

struct omr_http_server *omr_http_server_new(struct event_base *base, const char *name,
					    const char *address, int port, size_t max_body,
					    char **err_r)
{
	struct omr_http_server *s = omr_calloc(1, sizeof(*s));
	s->base = base;
	s->name = omr_strdup(name);
	s->max_body = max_body;
	s->http = evhttp_new(base);
	if (!s->http)
		goto fail;
	if (evhttp_bind_socket(s->http, address, (ev_uint16_t)port) != 0) {
		omr_err(err_r, "%s: cannot listen on %s:%d (in use?)", name, address, port);
		goto fail;
	}
	evhttp_set_max_body_size(s->http, (ev_ssize_t)max_body);
	evhttp_set_max_headers_size(s->http, 16384);
	evhttp_set_timeout(s->http, 30);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(s->http, omr_http_handle, s);
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
	if (!s)
		return;
	if (s->http)
		evhttp_free(s->http);
	for (int i = 0; i < s->nroutes; i++)
		free(s->routes[i].path);
	free(s->name);
	free(s);
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
	*requests = s ? s->requests : 0;
	*errors = s ? s->errors : 0;
}
