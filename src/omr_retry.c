/*
 * omr_retry: see omr_retry.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omr_curl.h"
#include "omr_log.h"
#include "omr_retry.h"
#include "omr_util.h"

#define OMR_RETRY_ATTEMPTS 5
#define OMR_RETRY_FIRST_MS 1000
#define OMR_RETRY_MAX_MS 60000
#define OMR_RETRY_ATTEMPTS_MAX 20

struct omr_retry_lane;

struct omr_retry_req {
	struct omr_retry *owner;
	char *method, *url;
	char **headers;             /* NULL-terminated copies */
	char *(*authorize)(void *arg, const char *method, const char *url);
	void *authorize_arg;
	void *body;
	size_t body_len;
	long timeout_ms;
	int attempts, attempt;
	long first_ms, max_ms;
	struct omr_retry_lane *lane;
	omr_http_done cb;
	void *arg;
	struct event *timer;        /* waiting for the next try */
	int in_flight;              /* a transfer is running */
	struct omr_retry_req *lane_next;          /* the lane's queue */
	struct omr_dlink link;                    /* in owner->all */
};

struct omr_retry_lane {
	struct omr_retry *owner;
	char *name;
	double per_second;
	double tokens;
	long long refilled_ms;
	struct omr_retry_req *head, *tail; /* waiting for a token, in order */
	struct event *timer;
	struct omr_retry_lane *next;
};

struct omr_retry {
	struct event_base *base;
	struct omr_curl *curl;
	struct omr_retry_lane *lanes;
	struct omr_dlist all; /* every unfinished request, newest first */
	size_t waiting;             /* not in flight: queued on a lane or before a retry */
	int stopping;
};

static void omr_retry_transfer(struct omr_retry_req *q);

long omr_retry_delay(int attempt, const char *retry_after, long first, long max, double jitter)
{
	long long ra;
	if (retry_after && omr_parse_ll(retry_after, &ra) == 0 && ra >= 0)
		return ra > max / 1000 ? max : (long)(ra * 1000);
	double d = (double)first;
	for (int i = 2; i < attempt && d < (double)max; i++)
		d *= 2;
	d *= 0.75 + 0.5 * jitter;
	if (d > (double)max)
		d = (double)max;
	return d < 1 ? 1 : (long)d;
}

struct omr_retry *omr_retry_new(struct event_base *base, struct omr_curl *curl)
{
	struct omr_retry *r = omr_calloc(1, sizeof(*r));
	r->base = base;
	r->curl = curl;
	return r;
}

size_t omr_retry_waiting(const struct omr_retry *r)
{
	return r ? r->waiting : 0;
}

/* ---- requests ---- */

static void omr_retry_req_free(struct omr_retry_req *q)
{
	omr_dlist_remove(&q->owner->all, &q->link);
	for (size_t i = 0; q->headers && q->headers[i]; i++)
		free(q->headers[i]);
	free(q->headers);
	free(q->method);
	free(q->url);
	free(q->body);
	if (q->timer)
		event_free(q->timer);
	free(q);
}

static void omr_retry_finish(struct omr_retry_req *q, const struct omr_http_response *res)
{
	struct omr_http_response out = *res;
	out.attempts = q->attempt;
	q->cb(q->arg, &out);
	omr_retry_req_free(q);
}

static int omr_retry_retryable(const struct omr_http_response *res)
{
	return !res->ok || res->status == 429 || (res->status >= 500 && res->status != 501);
}

/* ---- lanes: a token bucket in front of a queue ---- */

static struct omr_retry_lane *omr_retry_lane_get(struct omr_retry *r, const char *name,
						 double rate)
{
	struct omr_retry_lane *l;
	for (l = r->lanes; l; l = l->next)
		if (strcmp(l->name, name) == 0)
			break;
	if (!l) {
		l = omr_calloc(1, sizeof(*l));
		l->owner = r;
		l->name = omr_strdup(name);
		l->tokens = 1;
		l->refilled_ms = omr_mono_ms();
		l->next = r->lanes;
		r->lanes = l;
	}
	l->per_second = rate; /* the latest configuration wins */
	return l;
}

static void omr_retry_lane_pump(struct omr_retry_lane *l);

static void omr_retry_lane_tick(evutil_socket_t fd, short what, void *arg)
{
	omr_retry_lane_pump(arg);
}

static void omr_retry_lane_pump(struct omr_retry_lane *l)
{
	long long now = omr_mono_ms();
	double cap = l->per_second >= 1 ? l->per_second : 1;
	l->tokens += (double)(now - l->refilled_ms) * l->per_second / 1000.0;
	if (l->tokens > cap)
		l->tokens = cap;
	l->refilled_ms = now;
	while (l->head && l->tokens >= 1) {
		struct omr_retry_req *q = l->head;
		l->head = q->lane_next;
		if (!l->head)
			l->tail = NULL;
		q->lane_next = NULL;
		l->tokens -= 1;
		l->owner->waiting--;
		omr_retry_transfer(q);
	}
	if (l->head) {
		long wait_ms = (long)((1 - l->tokens) * 1000.0 / l->per_second) + 1;
		struct timeval tv = { wait_ms / 1000, (wait_ms % 1000) * 1000 };
		if (!l->timer)
			l->timer = evtimer_new(l->owner->base, omr_retry_lane_tick, l);
		evtimer_add(l->timer, &tv);
	}
}

/* Send now, or queue behind the lane's earlier requests. */
static void omr_retry_go(struct omr_retry_req *q)
{
	struct omr_retry_lane *l = q->lane;
	if (!l || l->per_second <= 0) {
		omr_retry_transfer(q);
		return;
	}
	q->owner->waiting++;
	if (l->tail)
		l->tail->lane_next = q;
	else
		l->head = q;
	l->tail = q;
	omr_retry_lane_pump(l);
}

/* ---- tries ---- */

static void omr_retry_again(evutil_socket_t fd, short what, void *arg)
{
	struct omr_retry_req *q = arg;
	q->owner->waiting--;
	omr_retry_go(q);
}

static void omr_retry_done(void *arg, const struct omr_http_response *res)
{
	struct omr_retry_req *q = arg;
	q->in_flight = 0;
	if (!omr_retry_retryable(res) || q->attempt >= q->attempts || q->owner->stopping) {
		omr_retry_finish(q, res);
		return;
	}
	unsigned int rnd = 0;
	char secs[24];
	const char *ra = res->retry_after;
	long long n;
	if (ra && omr_parse_ll(ra, &n) != 0) {
		/* Retry-After as an HTTP date */
		time_t when = curl_getdate(ra, NULL);
		time_t now = time(NULL);
		if (when > 0) {
			snprintf(secs, sizeof(secs), "%lld", when > now ? (long long)(when - now) : 0LL);
			ra = secs;
		}
	}
	omr_random_bytes(&rnd, sizeof(rnd));
	long ms = omr_retry_delay(q->attempt + 1, ra, q->first_ms, q->max_ms,
				  (double)(rnd % 1000) / 1000.0);
	omr_log_debug("retry: %s %s: %s; try %d of %d in %ld ms", q->method, q->url,
		      res->ok ? "HTTP error" : res->error, q->attempt + 1, q->attempts, ms);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	if (!q->timer)
		q->timer = evtimer_new(q->owner->base, omr_retry_again, q);
	q->owner->waiting++;
	evtimer_add(q->timer, &tv);
}

static void omr_retry_transfer(struct omr_retry_req *q)
{
	size_t nh = 0;
	q->attempt++;
	q->in_flight = 1;
	while (q->headers[nh])
		nh++;
	/* a signature of this try (fresh nonce and time), when the plugin signs */
	char *auth = q->authorize ? q->authorize(q->authorize_arg, q->method, q->url) : NULL;
	const char **h = omr_calloc(nh + 2, sizeof(char *));
	for (size_t i = 0; i < nh; i++)
		h[i] = q->headers[i];
	if (auth)
		h[nh] = auth;
	int rc = omr_curl_http(q->owner->curl, q->method, q->url, h, q->body, q->body_len,
			       q->timeout_ms, omr_retry_done, q);
	free(h);
	free(auth);
	if (rc != OMR_OK) {
		struct omr_http_response res = { .ok = 0, .error = "cannot start the transfer" };
		q->in_flight = 0;
		omr_retry_finish(q, &res);
	}
}

int omr_retry_send(struct omr_retry *r, const char *method, const char *url,
		   const char *const *headers, const void *body, size_t body_len, long timeout_ms,
		   const struct omr_http_retry *policy, omr_http_done cb, void *arg)
{
	size_t nh = 0;
	if (!r || r->stopping || !method || !url || !cb)
		return OMR_ERROR;
	struct omr_retry_req *q = omr_calloc(1, sizeof(*q));
	q->owner = r;
	q->method = omr_strdup(method);
	q->url = omr_strdup(url);
	while (headers && headers[nh])
		nh++;
	q->headers = omr_calloc(nh + 1, sizeof(char *));
	for (size_t i = 0; i < nh; i++)
		q->headers[i] = omr_strdup(headers[i]);
	if (body_len) {
		q->body = omr_malloc(body_len);
		memcpy(q->body, body, body_len);
	}
	q->body_len = body_len;
	q->timeout_ms = timeout_ms;
	q->attempts = policy && policy->attempts > 0 ? policy->attempts : OMR_RETRY_ATTEMPTS;
	if (q->attempts > OMR_RETRY_ATTEMPTS_MAX)
		q->attempts = OMR_RETRY_ATTEMPTS_MAX;
	q->first_ms = policy && policy->first_delay_ms > 0 ? policy->first_delay_ms : OMR_RETRY_FIRST_MS;
	q->max_ms = policy && policy->max_delay_ms > 0 ? policy->max_delay_ms : OMR_RETRY_MAX_MS;
	if (policy && policy->lane && *policy->lane && policy->per_second > 0)
		q->lane = omr_retry_lane_get(r, policy->lane, policy->per_second);
	if (policy && policy->authorize) {
		q->authorize = policy->authorize;
		q->authorize_arg = policy->authorize_arg;
	}
	q->cb = cb;
	q->arg = arg;
	omr_dlist_push_head(&r->all, &q->link);
	omr_retry_go(q);
	return OMR_OK;
}

void omr_retry_stop(struct omr_retry *r)
{
	if (!r || r->stopping)
		return;
	r->stopping = 1;
	/* requests waiting end now; those in flight end when curl ends its
	 * transfers, and do not try again */
	for (struct omr_dlink *l = r->all.head, *next; l; l = next) {
		struct omr_retry_req *q = OMR_DLIST_ITEM(l, struct omr_retry_req, link);
		next = l->next;
		if (!q->in_flight) {
			struct omr_http_response res = { .ok = 0, .error = "the daemon is stopping",
							  .cancelled = 1 };
			omr_retry_finish(q, &res);
		}
	}
	r->waiting = 0;
}

void omr_retry_free(struct omr_retry *r)
{
	if (!r)
		return;
	omr_retry_stop(r);
	while (r->all.head) /* only if curl was not freed first: nothing may call back */
		omr_retry_req_free(OMR_DLIST_ITEM(r->all.head, struct omr_retry_req, link));
	while (r->lanes) {
		struct omr_retry_lane *l = r->lanes;
		r->lanes = l->next;
		if (l->timer)
			event_free(l->timer);
		free(l->name);
		free(l);
	}
	free(r);
}
