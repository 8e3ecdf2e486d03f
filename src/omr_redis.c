/*
 * omr_redis: see omr_redis.h.
 *
 * Lifetime: each command is a struct omr_redis_req on the connection's
 * pending list, in send order (Redis answers in order). A request is freed
 * after its user callback ran. When the connection object is freed while
 * hiredis still holds requests, the requests are detached first (req->r ==
 * NULL) so that late hiredis callbacks never touch freed memory.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <hiredis/async.h>

#include "omr_log.h"
#include "omr_redis.h"
#include "omr_redis_int.h"
#include "omr_util.h"

#define OMR_REDIS_BACKOFF_MIN 100
#define OMR_REDIS_BACKOFF_MAX 5000
#define OMR_REDIS_TICK_MS 250
/* ---- targets ---- */

void omr_redis_target_free(struct omr_redis_target *t)
{
	free(t->host);
	free(t->path);
	free(t->username);
	free(t->password);
	memset(t, 0, sizeof(*t));
}

void omr_redis_target_copy(struct omr_redis_target *dst, const struct omr_redis_target *src)
{
	dst->host = omr_strdup(src->host);
	dst->port = src->port;
	dst->path = omr_strdup(src->path);
	dst->username = omr_strdup(src->username);
	dst->password = omr_strdup(src->password);
	dst->db = src->db;
}

const char *omr_redis_target_str(const struct omr_redis_target *t, char *buf, size_t len)
{
	if (t->path)
		snprintf(buf, len, "unix:%s", t->path);
	else
		snprintf(buf, len, "%s:%d", t->host ? t->host : "?", t->port);
	return buf;
}

static int omr_redis_parse_db(const char *s, int *db_r)
{
	long long v;
	if (omr_parse_ll(s, &v) < 0 || v < 0 || v > 1000)
		return -1;
	*db_r = (int)v;
	return 0;
}

int omr_redis_target_parse(const char *url, struct omr_redis_target *t, char **err_r)
{
	memset(t, 0, sizeof(*t));
	if (strncmp(url, "unix:", 5) == 0) {
		const char *p = url + 5;
		const char *q;
		while (p[0] == '/' && p[1] == '/')
			p++;
		q = strchr(p, '?');
		t->path = q ? omr_strndup(p, (size_t)(q - p)) : omr_strdup(p);
		if (q && (strncmp(q, "?db=", 4) != 0 || omr_redis_parse_db(q + 4, &t->db) < 0))
			goto bad;
		if (t->path[0] != '/')
			goto bad;
		return 0;
	}
	if (strncmp(url, "redis://", 8) == 0) {
		const char *p = url + 8, *at = strchr(p, '@'), *slash, *colon;
		char *hostport;
		if (at) {
			const char *c = memchr(p, ':', (size_t)(at - p));
			const char *pw = c ? c + 1 : p;
			if (c && c > p) /* redis://user:password@ (an ACL user) */
				t->username = omr_strndup(p, (size_t)(c - p));
			t->password = omr_strndup(pw, (size_t)(at - pw));
			p = at + 1;
		}
		slash = strchr(p, '/');
		hostport = slash ? omr_strndup(p, (size_t)(slash - p)) : omr_strdup(p);
		colon = strrchr(hostport, ':');
		t->port = 6379;
		if (colon && !strchr(colon, ']')) {
			long long port;
			if (omr_parse_ll(colon + 1, &port) < 0 || port < 1 || port > 65535) {
				free(hostport);
				goto bad;
			}
			t->port = (int)port;
			t->host = omr_strndup(hostport, (size_t)(colon - hostport));
			free(hostport);
		} else {
			t->host = hostport;
		}
		if (!t->host[0])
			goto bad;
		if (slash && slash[1] && omr_redis_parse_db(slash + 1, &t->db) < 0)
			goto bad;
		return 0;
	}
bad:
	omr_redis_target_free(t);
	return omr_err(err_r, "bad Redis URL '%s' (expected redis://[[user]:password@]host[:port][/db] "
			      "or unix:/path/to/socket)", url);
}

/* ---- reply helpers ---- */

const char *omr_reply_field(const redisReply *r, const char *field)
{
	for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
		const char *k = omr_reply_str(r->element[i]);
		if (k && strcmp(k, field) == 0)
			return omr_reply_str(r->element[i + 1]);
	}
	return NULL;
}

const char *omr_reply_str(const redisReply *r)
{
	if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
		return r->str;
	return NULL;
}

long long omr_reply_int(const redisReply *r, long long def)
{
	long long v;
	if (!r)
		return def;
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING && omr_parse_ll(r->str, &v) == 0)
		return v;
	return def;
}

/* the value of "field:value\r\n" in an INFO answer into out: 0, or -1 */
static int omr_info_field(const char *info, const char *field, char *out, size_t outlen)
{
	size_t n = strlen(field), len;
	for (const char *ln = info; ln && *ln; ln = strchr(ln, '\n'), ln = ln ? ln + 1 : NULL) {
		if (strncmp(ln, field, n) != 0 || ln[n] != ':')
			continue;
		len = strcspn(ln + n + 1, "\r\n");
		if (len >= outlen)
			return -1;
		memcpy(out, ln + n + 1, len);
		out[len] = '\0';
		return 0;
	}
	return -1;
}

long long omr_info_replicas(const char *info)
{
	char role[16], n[24];
	long long v;
	if (!info || omr_info_field(info, "role", role, sizeof(role)) < 0 ||
	    strcmp(role, "master") != 0 ||
	    omr_info_field(info, "connected_slaves", n, sizeof(n)) < 0 ||
	    strspn(n, "0123456789") != strlen(n) || omr_parse_ll(n, &v) < 0)
		return -1;
	return v;
}

const redisReply *omr_reply_elem(const redisReply *r, size_t i)
{
	if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements)
		return NULL;
	return r->element[i];
}

/* ---- requests ---- */

static void omr_redis_req_free(struct omr_redis_req *q)
{
	for (int i = 0; q->argv && i < q->argc; i++)
		free(q->argv[i]);
	free(q->argv);
	free(q->argvlen);
	free(q);
}

static void omr_redis_req_link(struct omr_redis *r, struct omr_redis_req *q)
{
	q->r = r;
	omr_dlist_push_tail(&r->reqs, &q->link);
	r->stats.pending++;
}

void omr_redis_req_unlink(struct omr_redis_req *q)
{
	struct omr_redis *r = q->r;
	/* a request whose NOSCRIPT answer unlinked it, and whose EVAL could
	 * not be sent, is finished unlinked: counted once */
	if (!r || !omr_dlist_has(&r->reqs, &q->link))
		return;
	omr_dlist_remove(&r->reqs, &q->link);
	r->stats.pending--;
}

void omr_redis_finish(struct omr_redis_req *q, const redisReply *reply, const char *err)
{
	if (q->r && !q->quiet && (err || (reply && reply->type == REDIS_REPLY_ERROR)))
		q->r->stats.errors++;
	if (q->r && !q->quiet && reply && reply->type == REDIS_REPLY_ERROR && q->r->opts.on_error)
		q->r->opts.on_error(q->r->opts.arg, reply->str);
	if (q->r && q->sent) {
		q->r->inflight--;
		q->sent = 0;
	}
	omr_redis_req_unlink(q);
	if (q->cb)
		q->cb(q->arg, reply, err);
	omr_redis_req_free(q);
}

static void omr_redis_deferred_fail(evutil_socket_t fd, short what, void *arg)
{
	struct omr_redis_req *q = arg;
	omr_redis_finish(q, NULL, q->fail);
}

/* Fail a request on the next loop pass, never inside the caller. */
void omr_redis_fail_later(struct omr_redis *r, struct omr_redis_req *q, const char *why)
{
	static const struct timeval zero = { 0, 0 };
	q->fail = why;
	/* While the connection object is being freed, a callback may issue a
	 * command: fail it without tying it to the dying object. */
	if (!r->freeing)
		omr_redis_req_link(r, q);
	if (event_base_once(r->base, -1, EV_TIMEOUT, omr_redis_deferred_fail, q, &zero) < 0) {
		omr_log_error("redis %s: cannot schedule a callback", r->name);
		abort();
	}
}

static void omr_redis_reply_cb(redisAsyncContext *ac, void *reply_v, void *privdata)
{
	struct omr_redis_req *q = privdata;
	redisReply *reply = reply_v;
	struct omr_redis *r = q->r;

	if (!reply) {
		omr_redis_finish(q, NULL, r ? "Redis connection lost" : "Redis connection closed");
		return;
	}
	if (r && q->script && reply->type == REDIS_REPLY_ERROR && omr_redis_script_retry(r, q, reply))
		return;
	omr_redis_finish(q, reply, reply->type == REDIS_REPLY_ERROR ? reply->str : NULL);
}

int omr_redis_send(struct omr_redis *r, struct omr_redis_req *q, int argc,
			  const char **argv, const size_t *argvlen)
{
	if (r->state != OMR_REDIS_READY || !r->ac || r->inflight >= OMR_REDIS_MAX_INFLIGHT)
		return -1;
	if (redisAsyncCommandArgv(r->ac, omr_redis_reply_cb, q, argc, argv, argvlen) != REDIS_OK)
		return -1;
	q->sent_ms = omr_mono_ms();
	q->sent = 1;
	r->inflight++;
	omr_redis_req_link(r, q);
	r->stats.commands++;
	return 0;
}

const char *omr_redis_why(const struct omr_redis *r)
{
	if (r->state == OMR_REDIS_READY && r->inflight >= OMR_REDIS_MAX_INFLIGHT)
		return "Redis is overloaded (too many commands waiting for an answer)";
	if (r->held)
		return r->held;
	return "Redis is not connected";
}

void omr_redis_argv(struct omr_redis *r, omr_redis_cb cb, void *arg, int argc,
		    const char **argv, const size_t *argvlen, long long extra_timeout)
{
	struct omr_redis_req *q = omr_calloc(1, sizeof(*q));
	q->cb = cb;
	q->arg = arg;
	q->timeout = r->opts.command_timeout + extra_timeout;
	if (omr_redis_send(r, q, argc, argv, argvlen) < 0)
		omr_redis_fail_later(r, q, omr_redis_why(r));
}

void omr_redis_cmd(struct omr_redis *r, omr_redis_cb cb, void *arg, const char *fmt, ...)
{
	struct omr_redis_req *q = omr_calloc(1, sizeof(*q));
	va_list ap;
	int rc = REDIS_ERR;

	q->cb = cb;
	q->arg = arg;
	q->timeout = r->opts.command_timeout;
	if (r->state == OMR_REDIS_READY && r->ac && r->inflight < OMR_REDIS_MAX_INFLIGHT) {
		va_start(ap, fmt);
		rc = redisvAsyncCommand(r->ac, omr_redis_reply_cb, q, fmt, ap);
		va_end(ap);
	}
	if (rc != REDIS_OK) {
		omr_redis_fail_later(r, q, omr_redis_why(r));
		return;
	}
	q->sent_ms = omr_mono_ms();
	q->sent = 1;
	r->inflight++;
	omr_redis_req_link(r, q);
	r->stats.commands++;
}

/* ---- connection ---- */

static void omr_redis_schedule_retry(struct omr_redis *r)
{
	struct timeval tv;
	long long jitter = 0;
	unsigned char rnd;

	if (omr_random_bytes(&rnd, 1) == 0)
		jitter = (r->backoff * rnd) / 1024;
	tv.tv_sec = (r->backoff + jitter) / 1000;
	tv.tv_usec = ((r->backoff + jitter) % 1000) * 1000;
	evtimer_add(r->retry_ev, &tv);
	r->backoff *= 2;
	if (r->backoff > OMR_REDIS_BACKOFF_MAX)
		r->backoff = OMR_REDIS_BACKOFF_MAX;
}

static void omr_redis_lost(struct omr_redis *r)
{
	int was_ready = r->state == OMR_REDIS_READY;
	r->ac = NULL;
	r->state = OMR_REDIS_IDLE;
	if (!r->closed)
		omr_redis_schedule_retry(r);
	if (was_ready && r->opts.on_down)
		r->opts.on_down(r->opts.arg);
}

static void omr_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct omr_redis *r = ac->data;
	char where[256];
	if (!r)
		return; /* being freed */
	omr_log_warn("redis %s: disconnected from %s%s%s", r->name,
		     omr_redis_target_str(&r->target, where, sizeof(where)),
		     status == REDIS_OK ? "" : ": ", status == REDIS_OK ? "" : ac->errstr);
	omr_redis_lost(r);
}

static void omr_redis_setup_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_redis *r = arg;
	if (err && reply) {
		/* AUTH or SELECT refused: a configuration problem, keep retrying
		 * so that a fixed server is picked up, but say why. */
		omr_log_error("redis %s: %s%s", r->name, err,
			      strstr(err, "WRONGPASS") || strstr(err, "AUTH") ?
				      " (check redis.username and redis.password)" :
				      "");
		if (r->ac)
			redisAsyncDisconnect(r->ac);
	}
}

/* Every reply on a subscribed connection: the confirmation, then
 * ["message", channel, text] per message; NULL when it closes. The
 * connection is ac->data (NULL once omr_redis_free detached it). */
static void omr_redis_sub_reply(redisAsyncContext *ac, void *reply_v, void *privdata)
{
	struct omr_redis *r = ac->data;
	const redisReply *reply = reply_v;
	const redisReply *kind = omr_reply_elem(reply, 0), *text = omr_reply_elem(reply, 2);
	const char *channel = omr_reply_str(omr_reply_elem(reply, 1));
	(void)privdata;
	if (!r || !r->sub_cb || !omr_reply_str(kind) || strcmp(kind->str, "message") != 0 ||
	    !channel || !text || text->type != REDIS_REPLY_STRING)
		return;
	r->sub_cb(r->sub_arg, channel, text->str, text->len);
}

/* SUBSCRIBE to every channel of r's, on the connection just made */
static void omr_redis_sub_send(struct omr_redis *r)
{
	size_t n = 0;
	while (r->sub_channels && r->sub_channels[n])
		n++;
	if (!n)
		return;
	const char **argv = omr_calloc(n + 1, sizeof(*argv));
	argv[0] = "SUBSCRIBE";
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = r->sub_channels[i];
	redisAsyncCommandArgv(r->ac, omr_redis_sub_reply, NULL, (int)n + 1, argv, NULL);
	free(argv);
}

static void omr_redis_sub_free(struct omr_redis *r)
{
	for (char **c = r->sub_channels; c && *c; c++)
		free(*c);
	free(r->sub_channels);
	r->sub_channels = NULL;
}

void omr_redis_subscribe(struct omr_redis *r, const char *const *channels,
			 omr_redis_message_cb cb, void *arg)
{
	size_t n = 0;
	omr_redis_sub_free(r);
	while (channels[n])
		n++;
	r->sub_channels = omr_calloc(n + 1, sizeof(*r->sub_channels));
	for (size_t i = 0; i < n; i++)
		r->sub_channels[i] = omr_strdup(channels[i]);
	r->sub_cb = cb;
	r->sub_arg = arg;
	if (r->ac && r->state == OMR_REDIS_READY)
		omr_redis_sub_send(r);
}

static void omr_redis_on_connect(const redisAsyncContext *ac, int status)
{
	struct omr_redis *r = ac->data;
	char where[256];
	if (!r)
		return;
	omr_redis_target_str(&r->target, where, sizeof(where));
	if (status != REDIS_OK) {
		if (r->ever_ready || omr_log_enabled(OMR_LOG_DEBUG))
			omr_log_warn("redis %s: cannot connect to %s: %s", r->name, where, ac->errstr);
		/* hiredis frees the context after this callback */
		omr_redis_lost(r);
		return;
	}
	r->state = OMR_REDIS_READY;
	r->backoff = OMR_REDIS_BACKOFF_MIN;
	/* perhaps another server: ask it for the library afresh */
	r->fn = OMR_REDIS_FN_UNKNOWN;
	r->generation++;
	if (r->ever_ready)
		r->stats.reconnects++;
	r->ever_ready = 1;
	omr_log_info("redis %s: connected to %s", r->name, where);
	if (r->target.password && r->target.username)
		omr_redis_cmd(r, omr_redis_setup_cb, r, "AUTH %s %s", r->target.username,
			      r->target.password);
	else if (r->target.password)
		omr_redis_cmd(r, omr_redis_setup_cb, r, "AUTH %s", r->target.password);
	if (r->target.db)
		omr_redis_cmd(r, omr_redis_setup_cb, r, "SELECT %d", r->target.db);
	omr_redis_sub_send(r);
	if (r->opts.on_ready)
		r->opts.on_ready(r->opts.arg);
}

/* Connect to an address hiredis will not look up (a numeric host: no
 * DNS query on the loop), or to the unix socket. */
static void omr_redis_connect_to(struct omr_redis *r, const char *host)
{
	redisAsyncContext *ac;

	if (r->target.path)
		ac = redisAsyncConnectUnix(r->target.path);
	else
		ac = redisAsyncConnect(host, r->target.port);
	if (!ac || ac->err) {
		omr_log_debug("redis %s: connect: %s", r->name, ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		r->state = OMR_REDIS_IDLE;
		omr_redis_schedule_retry(r);
		return;
	}
	ac->data = r;
	if (omr_redis_ev_attach(ac, r->base) != REDIS_OK) {
		redisAsyncFree(ac);
		r->state = OMR_REDIS_IDLE;
		omr_redis_schedule_retry(r);
		return;
	}
	redisAsyncSetConnectCallback(ac, omr_redis_on_connect);
	redisAsyncSetDisconnectCallback(ac, omr_redis_on_disconnect);
	r->ac = ac;
	r->state = OMR_REDIS_CONNECTING;
}

static void omr_redis_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct omr_redis *r = arg;
	char ip[INET6_ADDRSTRLEN] = "";

	if (result == EVUTIL_EAI_CANCEL)
		return; /* cancelled by close/free or the connect timeout: r may be gone */
	r->resolving = NULL;
	for (struct evutil_addrinfo *ai = res; ai && !ip[0]; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, ip,
				  sizeof(ip));
		else if (ai->ai_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, ip,
				  sizeof(ip));
	}
	if (res)
		evutil_freeaddrinfo(res);
	if (!ip[0]) {
		if (r->ever_ready || omr_log_enabled(OMR_LOG_DEBUG))
			omr_log_warn("redis %s: cannot resolve %s: %s", r->name, r->target.host,
				     result ? evutil_gai_strerror(result) : "no address");
		r->state = OMR_REDIS_IDLE;
		omr_redis_schedule_retry(r);
		return;
	}
	omr_redis_connect_to(r, ip);
}

static int omr_redis_numeric(const char *host)
{
	unsigned char a[16];
	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* A host name is looked up with the loop's resolver (evdns), never with
 * getaddrinfo(3), which would hold the loop for as long as DNS takes. */
static void omr_redis_connect(evutil_socket_t fd, short what, void *arg)
{
	struct omr_redis *r = arg;
	struct evutil_addrinfo hints;

	if (r->closed || r->resolving || r->held)
		return;
	r->connect_started = omr_mono_ms();
	if (r->target.path || omr_redis_numeric(r->target.host) || !r->opts.dns) {
		omr_redis_connect_to(r, r->target.host);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	r->state = OMR_REDIS_RESOLVING;
	/* the callback may run inside this call (an answer from /etc/hosts) */
	struct evdns_getaddrinfo_request *req =
		evdns_getaddrinfo(r->opts.dns, r->target.host, NULL, &hints, omr_redis_resolved, r);
	if (req && r->state == OMR_REDIS_RESOLVING)
		r->resolving = req;
}

static void omr_redis_cancel_resolve(struct omr_redis *r)
{
	struct evdns_getaddrinfo_request *req = r->resolving;
	r->resolving = NULL;
	if (req)
		evdns_getaddrinfo_cancel(req);
}

/* Drop the connection now: pending callbacks fail, a reconnect follows. */
static void omr_redis_drop(struct omr_redis *r, const char *why)
{
	redisAsyncContext *ac = r->ac;
	omr_log_warn("redis %s: dropping the connection: %s", r->name, why);
	if (!ac)
		return;
	if (r->state == OMR_REDIS_CONNECTING) {
		/* no disconnect callback for a context that never connected */
		ac->data = NULL;
		redisAsyncFree(ac);
		omr_redis_lost(r);
		return;
	}
	redisAsyncFree(ac); /* runs on_disconnect -> omr_redis_lost */
}

static void omr_redis_tick(evutil_socket_t fd, short what, void *arg)
{
	struct omr_redis *r = arg;
	int64_t now = omr_mono_ms();

	if (r->state == OMR_REDIS_RESOLVING && now - r->connect_started > r->opts.connect_timeout) {
		omr_log_warn("redis %s: no answer from DNS for %s within the connect timeout",
			     r->name, r->target.host);
		omr_redis_cancel_resolve(r);
		r->state = OMR_REDIS_IDLE;
		omr_redis_schedule_retry(r);
		return;
	}
	if (r->state == OMR_REDIS_CONNECTING && now - r->connect_started > r->opts.connect_timeout) {
		omr_redis_drop(r, "connect timeout");
		return;
	}
	const struct omr_redis_req *oldest =
		r->reqs.head ? OMR_DLIST_ITEM(r->reqs.head, struct omr_redis_req, link) : NULL;
	if (r->state == OMR_REDIS_READY && oldest && !oldest->fail &&
	    now - oldest->sent_ms > oldest->timeout) {
		r->stats.timeouts++;
		omr_redis_drop(r, "no answer within the command timeout");
	}
}

struct omr_redis *omr_redis_new(struct event_base *base, const struct omr_redis_target *t,
				const struct omr_redis_opts *opts)
{
	struct omr_redis *r = omr_calloc(1, sizeof(*r));
	struct timeval tick = { 0, OMR_REDIS_TICK_MS * 1000 };

	r->base = base;
	omr_redis_target_copy(&r->target, t);
	r->opts = *opts;
	r->name = omr_strdup(opts->name ? opts->name : "redis");
	r->opts.name = r->name;
	r->backoff = OMR_REDIS_BACKOFF_MIN;
	r->retry_ev = evtimer_new(base, omr_redis_connect, r);
	r->tick_ev = event_new(base, -1, EV_PERSIST, omr_redis_tick, r);
	event_add(r->tick_ev, &tick);
	return r;
}

void omr_redis_start(struct omr_redis *r)
{
	static const struct timeval zero = { 0, 0 };
	if (!r->closed && r->state == OMR_REDIS_IDLE && !evtimer_pending(r->retry_ev, NULL))
		evtimer_add(r->retry_ev, &zero);
}

int omr_redis_ready(const struct omr_redis *r)
{
	return r && r->state == OMR_REDIS_READY;
}

uint64_t omr_redis_generation(const struct omr_redis *r)
{
	return r ? r->generation : 0;
}

void omr_redis_retarget(struct omr_redis *r, const struct omr_redis_target *t)
{
	static const struct timeval zero = { 0, 0 };
	if (r->state == OMR_REDIS_RESOLVING) {
		omr_redis_cancel_resolve(r);
		r->state = OMR_REDIS_IDLE;
	}
	/* dropped first, so that its log names the server it was to */
	if (r->ac)
		omr_redis_drop(r, "new target");
	int was_held = r->held != NULL;
	r->held = NULL;
	omr_redis_target_free(&r->target);
	omr_redis_target_copy(&r->target, t);
	/* a new server owes nothing to the old one's backoff: after a
	 * failover, connect now, not when the last retry timer (up to
	 * OMR_REDIS_BACKOFF_MAX) would have fired */
	r->backoff = OMR_REDIS_BACKOFF_MIN;
	if (!r->closed && r->state == OMR_REDIS_IDLE &&
	    (was_held || evtimer_pending(r->retry_ev, NULL))) {
		evtimer_del(r->retry_ev);
		evtimer_add(r->retry_ev, &zero);
	}
}

void omr_redis_hold(struct omr_redis *r, const char *why)
{
	r->held = why;
	if (r->state == OMR_REDIS_RESOLVING) {
		omr_redis_cancel_resolve(r);
		r->state = OMR_REDIS_IDLE;
	}
	if (r->ac)
		omr_redis_drop(r, why);
	/* (a retry timer that fires meanwhile connects nowhere: see
	 * omr_redis_connect; omr_redis_retarget lets it go on) */
}

int64_t omr_redis_oldest_ms(const struct omr_redis *r)
{
	for (const struct omr_dlink *l = r ? r->reqs.head : NULL; l; l = l->next) {
		const struct omr_redis_req *q = OMR_DLIST_ITEM(l, struct omr_redis_req, link);
		if (!q->fail)
			return omr_mono_ms() - q->sent_ms;
	}
	return 0;
}

void omr_redis_close(struct omr_redis *r)
{
	if (!r || r->closed)
		return;
	r->closed = 1;
	evtimer_del(r->retry_ev);
	event_del(r->tick_ev);
	omr_redis_cancel_resolve(r);
	if (r->ac) {
		redisAsyncContext *ac = r->ac;
		if (r->state == OMR_REDIS_CONNECTING) {
			ac->data = NULL; /* no disconnect callback for it */
			r->ac = NULL;
			r->state = OMR_REDIS_IDLE;
		}
		/* every pending callback runs now, with "connection lost";
		 * commands they issue fail on a later loop pass */
		redisAsyncFree(ac);
	}
	r->ac = NULL;
	r->state = OMR_REDIS_IDLE;
}

void omr_redis_free(struct omr_redis *r)
{
	if (!r)
		return;
	omr_redis_cancel_resolve(r);
	r->freeing = 1;
	r->state = OMR_REDIS_IDLE;
	/* Detach every request first: hiredis may call them back while (or
	 * after, if we are inside a callback) it frees the context. */
	while (r->reqs.head) {
		struct omr_dlink *l = r->reqs.head;
		OMR_DLIST_ITEM(l, struct omr_redis_req, link)->r = NULL;
		omr_dlist_remove(&r->reqs, l);
	}
	if (r->ac) {
		r->ac->data = NULL;
		redisAsyncFree(r->ac);
		r->ac = NULL;
	}
	event_free(r->retry_ev);
	event_free(r->tick_ev);
	omr_redis_target_free(&r->target);
	omr_redis_sub_free(r);
	free(r->fn_why);
	free(r->name);
	free(r);
}

void omr_redis_get_stats(const struct omr_redis *r, struct omr_redis_stats *st)
{
	*st = r->stats;
	st->functions = r->fn == OMR_REDIS_FN_READY;
}
