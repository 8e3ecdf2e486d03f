/*
 * omr_curl: see omr_curl.h. The classic libcurl "multi socket" pattern:
 * curl tells us which sockets to watch and when to wake it; libevent
 * watches; we hand events back with curl_multi_socket_action().
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "omr_curl.h"
#include "omr_log.h"
#include "omr_util.h"

#define OMR_HTTP_MAX_RESPONSE (4u * 1024 * 1024)

struct omr_curl_xfer {
	struct omr_dlink link; /* in c->xfers */
	CURL *easy;
	omr_curl_done done;
	void *arg;
};

struct omr_curl_sock {
	struct event *ev;
	curl_socket_t fd;
	struct omr_curl *c;
};

struct omr_curl {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct omr_dlist xfers; /* running, newest first */
	size_t running;
	int in_action;
	char *noproxy;            /* CURLOPT_NOPROXY of every transfer */
};

static void omr_curl_check(struct omr_curl *c)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(c->multi, &left))) {
		struct omr_curl_xfer *x = NULL;
		long status = 0;
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *easy = msg->easy_handle;
		CURLcode rc = msg->data.result;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		curl_multi_remove_handle(c->multi, easy);
		if (!x)
			continue;
		omr_dlist_remove(&c->xfers, &x->link);
		c->running--;
		x->done(x->arg, rc, status);
		free(x);
	}
}

static void omr_curl_action(struct omr_curl *c, curl_socket_t fd, int flags)
{
	int running;
	c->in_action++;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	c->in_action--;
	omr_curl_check(c);
}

static void omr_curl_sock_event(evutil_socket_t fd, short what, void *arg)
{
	struct omr_curl_sock *s = arg;
	int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
	omr_curl_action(s->c, (curl_socket_t)fd, flags);
}

static void omr_curl_timer_event(evutil_socket_t fd, short what, void *arg)
{
	omr_curl_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

static int omr_curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct omr_curl *c = userp;
	struct omr_curl_sock *s = socketp;

	if (what == CURL_POLL_REMOVE) {
		if (s) {
			event_free(s->ev);
			free(s);
			curl_multi_assign(c->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		s = omr_calloc(1, sizeof(*s));
		s->fd = fd;
		s->c = c;
		curl_multi_assign(c->multi, fd, s);
	} else {
		event_free(s->ev);
	}
	short kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	s->ev = event_new(c->base, fd, kind, omr_curl_sock_event, s);
	event_add(s->ev, NULL);
	return 0;
}

static int omr_curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct omr_curl *c = userp;
	if (timeout_ms < 0) {
		evtimer_del(c->timer);
	} else {
		/* never act inside curl: even a zero timeout waits for the loop */
		struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
		evtimer_add(c->timer, &tv);
	}
	return 0;
}

/* The hosts no transfer reaches through a proxy the environment names
 * (http_proxy, ALL_PROXY): the environment's own no_proxy, and always this
 * host. A local gateway is reached directly, and a channel's token that
 * goes to it over plain http (omr_url_token_ok) never crosses a proxy in
 * clear. (malloc'ed) */
static char *omr_curl_noproxy(void)
{
	const char *env = getenv("no_proxy");
	if (!env || !*env)
		env = getenv("NO_PROXY");
	if (env && strcmp(env, "*") == 0)
		return omr_strdup("*");
	return omr_asprintf("%s%slocalhost,127.0.0.0/8,::1", env ? env : "", env && *env ? "," : "");
}

struct omr_curl *omr_curl_new(struct event_base *base, char **err_r)
{
	struct omr_curl *c = omr_calloc(1, sizeof(*c));
	c->base = base;
	c->multi = curl_multi_init();
	if (!c->multi) {
		free(c);
		omr_err(err_r, "cannot create the libcurl multi handle");
		return NULL;
	}
	c->timer = evtimer_new(base, omr_curl_timer_event, c);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, omr_curl_socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, omr_curl_timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
	c->noproxy = omr_curl_noproxy();
	return c;
}

int omr_curl_start(struct omr_curl *c, CURL *easy, omr_curl_done done, void *arg)
{
	struct omr_curl_xfer *x = omr_calloc(1, sizeof(*x));
	x->easy = easy;
	x->done = done;
	x->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_NOPROXY, c->noproxy);
	if (curl_multi_add_handle(c->multi, easy) != CURLM_OK) {
		free(x);
		return -1;
	}
	omr_dlist_push_head(&c->xfers, &x->link);
	c->running++;
	return 0;
}

size_t omr_curl_running(const struct omr_curl *c)
{
	return c ? c->running : 0;
}

void omr_curl_stop(struct omr_curl *c)
{
	while (c && c->xfers.head) {
		struct omr_curl_xfer *x = OMR_DLIST_ITEM(c->xfers.head, struct omr_curl_xfer, link);
		omr_dlist_remove(&c->xfers, &x->link);
		c->running--;
		curl_multi_remove_handle(c->multi, x->easy);
		x->done(x->arg, CURLE_ABORTED_BY_CALLBACK, 0);
		free(x);
	}
}

void omr_curl_free(struct omr_curl *c)
{
	if (!c)
		return;
	omr_curl_stop(c);
	curl_multi_cleanup(c->multi); /* removes the sockets (POLL_REMOVE) */
	event_free(c->timer);
	free(c->noproxy);
	free(c);
}

/* ---- whole HTTP requests ---- */

struct omr_http_xfer {
	CURL *easy;
	struct curl_slist *headers;
	struct omr_buf body;
	char *request;
	char errbuf[CURL_ERROR_SIZE];
	char *retry_after;
	int too_big;
	omr_http_done cb;
	void *arg;
};

static size_t omr_http_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct omr_http_xfer *h = userdata;
	size_t n = size * nmemb;
	if (h->body.len + n > OMR_HTTP_MAX_RESPONSE) {
		h->too_big = 1;
		return 0; /* aborts the transfer */
	}
	omr_buf_append(&h->body, ptr, n);
	return n;
}

static size_t omr_http_header(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct omr_http_xfer *h = userdata;
	size_t n = size * nitems;
	if (n > 12 && strncasecmp(buf, "Retry-After:", 12) == 0) {
		const char *v = buf + 12;
		size_t len = n - 12;
		while (len && (*v == ' ' || *v == '\t'))
			v++, len--;
		while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
			len--;
		free(h->retry_after);
		h->retry_after = omr_strndup(v, len);
	}
	return n;
}

static void omr_http_xfer_done(void *arg, CURLcode rc, long status)
{
	struct omr_http_xfer *h = arg;
	struct omr_http_response res = {
		.ok = rc == CURLE_OK,
		.status = rc == CURLE_OK ? status : 0,
		.body = h->body.data ? h->body.data : "",
		.body_len = h->body.len,
		.error = rc == CURLE_OK ? NULL : h->too_big ? "response too large"
				       : h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc),
		.retry_after = h->retry_after,
		.attempts = 1,
		.cancelled = rc == CURLE_ABORTED_BY_CALLBACK, /* the daemon is stopping */
	};
	h->cb(h->arg, &res);
	curl_easy_cleanup(h->easy);
	curl_slist_free_all(h->headers);
	omr_buf_free(&h->body);
	free(h->request);
	free(h->retry_after);
	free(h);
}

int omr_curl_http(struct omr_curl *c, const char *method, const char *url,
		  const char *const *headers, const void *body, size_t body_len, long timeout_ms,
		  omr_http_done cb, void *arg)
{
	struct omr_http_xfer *h = omr_calloc(1, sizeof(*h));
	h->easy = curl_easy_init();
	if (!h->easy) {
		free(h);
		return -1;
	}
	h->cb = cb;
	h->arg = arg;
	omr_buf_init(&h->body);
	for (size_t i = 0; headers && headers[i]; i++)
		h->headers = curl_slist_append(h->headers, headers[i]);
	/* no "Expect: 100-continue" round trip */
	h->headers = curl_slist_append(h->headers, "Expect:");
	curl_easy_setopt(h->easy, CURLOPT_URL, url);
	curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000);
	curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, omr_http_write);
	curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->easy, CURLOPT_HEADERFUNCTION, omr_http_header);
	curl_easy_setopt(h->easy, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->easy, CURLOPT_USERAGENT, "omniroute/" PACKAGE_VERSION);
	if (body) {
		/* keep our own copy: the caller's buffer may go away */
		h->request = omr_malloc(body_len + 1);
		memcpy(h->request, body, body_len);
		curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, h->request);
		curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	if (method && strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0)
		curl_easy_setopt(h->easy, CURLOPT_CUSTOMREQUEST, method);
	if (method && strcmp(method, "GET") == 0 && !body)
		curl_easy_setopt(h->easy, CURLOPT_HTTPGET, 1L);
	if (omr_curl_start(c, h->easy, omr_http_xfer_done, h) < 0) {
		curl_easy_cleanup(h->easy);
		curl_slist_free_all(h->headers);
		free(h->request);
		free(h);
		return -1;
	}
	return 0;
}
