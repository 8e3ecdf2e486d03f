/*
 * omr_retry: provider API calls that survive a provider's bad moments, for
 * every channel plugin alike (host API http_send): transport errors, 429
 * and 5xx are tried again after Retry-After or a doubling delay with
 * jitter; requests on a rate lane (e.g. one WhatsApp sending number) go
 * out no faster than the lane's rate, in order.
 *
 * Ownership: requests and lanes are this module's; the callback gets a
 * borrowed response once. At shutdown: omr_retry_stop ends every request
 * waiting (callback with ok = 0, "the daemon is stopping") and makes those
 * in flight end at their transfer's end, so call it while the plugins that
 * asked exist and before the curl handle is freed (which ends the
 * transfers); then omr_retry_free.
 */
#ifndef OMR_RETRY_H
#define OMR_RETRY_H

#include <event2/event.h>
#include <omniroute/plugin.h>

struct omr_curl;
struct omr_retry;

struct omr_retry *omr_retry_new(struct event_base *base, struct omr_curl *curl);
void omr_retry_stop(struct omr_retry *r);
void omr_retry_free(struct omr_retry *r);
int omr_retry_send(struct omr_retry *r, const char *method, const char *url,
		   const char *const *headers, const void *body, size_t body_len, long timeout_ms,
		   const struct omr_http_retry *policy, omr_http_done cb, void *arg);
/* Requests waiting (for a retry or for their lane), for /metrics and drain. */
size_t omr_retry_waiting(const struct omr_retry *r);

/* The delay before try number `attempt` (2, 3, ...) in ms: Retry-After
 * when it is a number of seconds, else first * 2^(attempt-2) with +-25%
 * jitter (jitter in [0,1)), capped at max. Pure, for tests. */
long omr_retry_delay(int attempt, const char *retry_after, long first, long max, double jitter);

#endif
