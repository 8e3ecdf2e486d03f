/*
 * omr_http: small HTTP servers on evhttp (main thread): the admin API and
 * the channel webhook listener. Requests are routed by exact path or by
 * prefix; a handler replies exactly once, now or later (after a Redis
 * round trip). If the client goes away first, the late reply is dropped.
 *
 * Admission (docs/operations.md#http-listeners): a connection is counted
 * into the server's gate when it is accepted, or closed at once; a request
 * must arrive whole within request_ms; a kept-alive connection may wait
 * idle_ms for its next request. When accept() fails (out of descriptors)
 * the listener pauses instead of retrying in a busy loop.
 */
#ifndef OMR_HTTP_H
#define OMR_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <jansson.h>

#include <omniroute/plugin.h>

#include "omr_admission.h"
#include "omr_util.h"

struct omr_http_server;
struct omr_config;
struct ssl_ctx_st;
struct omr_gate_conf;

struct omr_http_limits {
	struct omr_gate_limits gate; /* connections: in all, per address, new per second */
	int64_t request_ms;          /* a whole request (headers and body) arrives within this */
	int64_t idle_ms;             /* a kept-alive connection waits this long for the next */
};

struct omr_http_stats {
	uint64_t requests;
	uint64_t errors;             /* answered 4xx/5xx */
	uint64_t open;               /* connections open now */
	uint64_t refused_full;       /* closed at accept: max_connections */
	uint64_t refused_ip;         /* ... max_per_ip */
	uint64_t refused_rate;       /* ... rate_per_ip */
	uint64_t timeouts;           /* closed: a request not whole within request_ms */
	uint64_t idle_closed;        /* closed: idle longer than idle_ms */
	uint64_t accept_errors;      /* accept() failed (EMFILE, ENFILE, ...) */
	uint64_t tls_failed;         /* closed before the TLS handshake was done */
};

/* A listener's limits from the configuration; door is c's
 * admission.webhooks or admission.admin. */
void omr_http_limits_conf(struct omr_http_limits *l, const struct omr_config *c,
			  const struct omr_gate_conf *door);

struct omr_http_server *omr_http_server_new(struct event_base *base, const char *name,
					    const char *address, int port, size_t max_body,
					    const struct omr_http_limits *lim, char **err_r);
void omr_http_server_free(struct omr_http_server *s);
/* A reload: connections already in stay; timers armed from now on use the
 * new times. */
void omr_http_server_set_limits(struct omr_http_server *s, const struct omr_http_limits *lim);
/* TLS from now on (omr_tls_ctx_new; the server takes ctx): connections
 * accepted from now on get this context, those already open keep theirs.
 * Set it before the loop runs, or the first connections are plain. */
void omr_http_server_set_tls(struct omr_http_server *s, struct ssl_ctx_st *ctx);
int omr_http_server_has_tls(const struct omr_http_server *s);
/* prefix: 1 matches path and everything below "path/". */
int omr_http_route(struct omr_http_server *s, const char *path, int prefix, omr_http_handler fn,
		   void *arg, char **err_r);
/* Bytes and requests served, for /metrics. */
void omr_http_stats(const struct omr_http_server *s, unsigned long long *requests,
		    unsigned long long *errors);
void omr_http_get_stats(const struct omr_http_server *s, struct omr_http_stats *st);
/* The omniroute_http_* families for these servers (labelled by name). */
void omr_http_metrics(struct omr_buf *b, struct omr_http_server *const *servers, size_t n);

/* Replies (also exported to plugins through the host API). */
void omr_http_reply_send(omr_http_reply *r, int code, const char *content_type, const void *body,
			 size_t len);
void omr_http_reply_json(omr_http_reply *r, int code, const json_t *body);
/* {"error": {"code": code_word, "message": message}} */
void omr_http_reply_error(omr_http_reply *r, int code, const char *code_word,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Adds a response header (before the reply is sent). */
void omr_http_reply_header(omr_http_reply *r, const char *name, const char *value);
/* The client's address ("" once it has gone); borrowed, valid until the
 * reply is sent. */
const char *omr_http_reply_peer(omr_http_reply *r);
/* The request a reply belongs to (valid until the reply is sent). */
const struct omr_http_request *omr_http_reply_request(omr_http_reply *r);
/* Value of a query parameter (decoded), or NULL; valid until the reply. */
const char *omr_http_query_param(const struct omr_http_request *req, const char *name);

#endif
