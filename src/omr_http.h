/*
 * omr_http: small HTTP servers on evhttp (main thread): the admin API and
 * the channel webhook listener. Requests are routed by exact path or by
 * prefix; a handler replies exactly once, now or later (after a Redis
 * round trip). If the client goes away first, the late reply is dropped.
 */
#ifndef OMR_HTTP_H
#define OMR_HTTP_H

#include <stddef.h>
#include <event2/event.h>
#include <jansson.h>

#include <omniroute/plugin.h>

struct omr_http_server;

struct omr_http_server *omr_http_server_new(struct event_base *base, const char *name,
					    const char *address, int port, size_t max_body,
					    char **err_r);
void omr_http_server_free(struct omr_http_server *s);
/* prefix: 1 matches path and everything below "path/". */
int omr_http_route(struct omr_http_server *s, const char *path, int prefix, omr_http_handler fn,
		   void *arg, char **err_r);
/* Bytes and requests served, for /metrics. */
void omr_http_stats(const struct omr_http_server *s, unsigned long long *requests,
		    unsigned long long *errors);

/* Replies (also exported to plugins through the host API). */
void omr_http_reply_send(omr_http_reply *r, int code, const char *content_type, const void *body,
			 size_t len);
void omr_http_reply_json(omr_http_reply *r, int code, const json_t *body);
/* {"error": {"code": code_word, "message": message}} */
void omr_http_reply_error(omr_http_reply *r, int code, const char *code_word,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The request a reply belongs to (valid until the reply is sent). */
const struct omr_http_request *omr_http_reply_request(omr_http_reply *r);
/* Value of a query parameter (decoded), or NULL; valid until the reply. */
const char *omr_http_query_param(const struct omr_http_request *req, const char *name);

#endif
