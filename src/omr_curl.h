/*
 * omr_curl: outbound transfers (HTTP to provider APIs and bots, SMTP, IMAP)
 * with libcurl's multi interface driven by the main libevent loop, so that
 * no transfer ever blocks the daemon. One multi handle for the process;
 * plugins reach it through the host API (transfer, http_request).
 *
 * A transfer's done callback runs exactly once on the main thread, never
 * inside the call that started it; the easy handle is the caller's (it is
 * removed from the multi handle before done runs).
 */
#ifndef OMR_CURL_H
#define OMR_CURL_H

#include <stddef.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <omniroute/plugin.h>

struct omr_curl;

typedef void (*omr_curl_done)(void *arg, CURLcode rc, long http_status);

struct omr_curl *omr_curl_new(struct event_base *base, char **err_r);
/* Cancels every transfer still running (their done callbacks run now,
 * with CURLE_ABORTED_BY_CALLBACK); new ones may still start. */
void omr_curl_stop(struct omr_curl *c);
/* Stops, then frees. */
void omr_curl_free(struct omr_curl *c);
int omr_curl_start(struct omr_curl *c, CURL *easy, omr_curl_done done, void *arg);
size_t omr_curl_running(const struct omr_curl *c);

/* A complete HTTP request with the body kept in memory (at most 4 MiB of
 * response). headers: NULL-terminated "Name: value" strings. The result is
 * the plugin ABI's struct omr_http_response. */
int omr_curl_http(struct omr_curl *c, const char *method, const char *url,
		  const char *const *headers, const void *body, size_t body_len, long timeout_ms,
		  omr_http_done cb, void *arg);

#endif
