/*
 * omr_sentinel: see omr_sentinel.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_log.h"
#include "omr_redis.h"
#include "omr_sentinel.h"
#include "omr_util.h"

#define OMR_SENTINEL_POLL_MS 1000
#define OMR_SENTINEL_HOST_MAX 255

struct omr_sentinel_node {
	struct omr_sentinel *s;
	char *addr;                /* "host:port", for logs */
	struct omr_redis *ask;     /* get-master-addr-by-name */
	struct omr_redis *sub;     /* +switch-master */
};

struct omr_sentinel {
	struct event_base *base;
	char *master;
	struct omr_sentinel_node *nodes;
	size_t n;
	size_t first;              /* the sentinel to ask first */
	size_t tried;              /* sentinels asked in this round */
	int asking;
	int again;                 /* asked for while a round ran */
	struct event *poll_ev;
	char host[OMR_SENTINEL_HOST_MAX + 1];
	int port;                  /* 0: not known yet */
	void (*on_master)(void *arg, const char *host, int port);
	void *arg;
	int64_t unknown_since;     /* no sentinel has answered since (mono ms) */
	unsigned long long switches, refused, failed;
};

/* ---- parsing what sentinels say ---- */

int omr_sentinel_parse_master(const redisReply *reply, char *host, size_t hostlen, int *port,
			      const char **why)
{
	const redisReply *h = omr_reply_elem(reply, 0), *p = omr_reply_elem(reply, 1);
	char digits[8];
	long long v;

	if (reply && reply->type == REDIS_REPLY_NIL)
		return *why = "the sentinel does not know this master", -1;
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || !h || !p ||
	    h->type != REDIS_REPLY_STRING || p->type != REDIS_REPLY_STRING)
		return *why = "not [host, port]", -1;
	if (!omr_host_ok(h->str, h->len) || h->len >= hostlen)
		return *why = "not a host name or address", -1;
	if (p->len == 0 || p->len >= sizeof(digits))
		return *why = "not a port", -1;
	memcpy(digits, p->str, p->len);
	digits[p->len] = '\0';
	if (strspn(digits, "0123456789") != p->len || omr_parse_ll(digits, &v) < 0 || v < 1 ||
	    v > 65535)
		return *why = "not a port", -1;
	memcpy(host, h->str, h->len);
	host[h->len] = '\0';
	*port = (int)v;
	return 0;
}

int omr_sentinel_parse_switch(const char *text, size_t len, const char *master)
{
	size_t n = strlen(master);
	return len > n && memcmp(text, master, n) == 0 && text[n] == ' ';
}

/* ---- asking ---- */

static void omr_sentinel_round(struct omr_sentinel *s);

static void omr_sentinel_found(struct omr_sentinel *s, const char *host, int port)
{
	if (s->port == port && strcmp(s->host, host) == 0)
		return;
	if (s->port)
		omr_log_warn("redis: the primary of '%s' is now %s:%d (was %s:%d)", s->master, host,
			     port, s->host, s->port);
	else
		omr_log_info("redis: the primary of '%s' is %s:%d", s->master, host, port);
	if (s->port)
		s->switches++;
	snprintf(s->host, sizeof(s->host), "%s", host);
	s->port = port;
	s->on_master(s->arg, host, port);
}

static void omr_sentinel_answer(void *arg, const redisReply *reply, const char *err)
{
	struct omr_sentinel_node *node = arg;
	struct omr_sentinel *s = node->s;
	char host[OMR_SENTINEL_HOST_MAX + 1];
	const char *why = err;
	int port;

	if (!err && omr_sentinel_parse_master(reply, host, sizeof(host), &port, &why) == 0) {
		s->asking = 0;
		s->unknown_since = 0;
		s->first = (size_t)(node - s->nodes);
		omr_sentinel_found(s, host, port);
		if (s->again) {
			s->again = 0;
			omr_sentinel_round(s);
		}
		return;
	}
	if (reply && !err)
		s->refused++;
	else
		s->failed++;
	omr_log_debug("redis: sentinel %s: %s", node->addr, why);
	s->tried++;
	if (s->tried < s->n) {
		struct omr_sentinel_node *next = &s->nodes[(s->first + s->tried) % s->n];
		omr_redis_cmd(next->ask, omr_sentinel_answer, next,
			      "SENTINEL get-master-addr-by-name %s", s->master);
		return;
	}
	s->asking = 0;
	s->again = 0;
	if (s->unknown_since)
		return; /* said once per outage */
	s->unknown_since = omr_mono_ms();
	omr_log_warn("redis: no sentinel named the primary of '%s' (last: %s: %s); asking "
		     "again every second", s->master, node->addr, why);
}

static void omr_sentinel_round(struct omr_sentinel *s)
{
	struct omr_sentinel_node *node;
	if (s->asking) {
		s->again = 1;
		return;
	}
	s->asking = 1;
	s->tried = 0;
	node = &s->nodes[s->first % s->n];
	omr_redis_cmd(node->ask, omr_sentinel_answer, node, "SENTINEL get-master-addr-by-name %s",
		      s->master);
}

static void omr_sentinel_poll(evutil_socket_t fd, short what, void *arg)
{
	omr_sentinel_round(arg);
}

void omr_sentinel_ask(struct omr_sentinel *s)
{
	omr_sentinel_round(s);
}

static void omr_sentinel_switch(void *arg, const char *text, size_t len)
{
	struct omr_sentinel_node *node = arg;
	if (!omr_sentinel_parse_switch(text, len, node->s->master))
		return;
	omr_log_info("redis: sentinel %s announces a new primary of '%s'", node->addr,
		     node->s->master);
	omr_sentinel_round(node->s);
}

static void omr_sentinel_ready(void *arg)
{
	struct omr_sentinel_node *node = arg;
	if (!node->s->port)
		omr_sentinel_round(node->s);
}

/* ---- confirming the primary ---- */

int omr_sentinel_master_is(const redisReply *reply, const char *host, int port)
{
	const char *ip = NULL, *p = NULL, *flags = NULL;
	char want[16];
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements % 2)
		return 0;
	for (size_t i = 0; i + 1 < reply->elements; i += 2) {
		const char *k = omr_reply_str(reply->element[i]);
		const char *v = omr_reply_str(reply->element[i + 1]);
		if (!k || !v)
			continue;
		if (strcmp(k, "ip") == 0)
			ip = v;
		else if (strcmp(k, "port") == 0)
			p = v;
		else if (strcmp(k, "flags") == 0)
			flags = v;
	}
	snprintf(want, sizeof(want), "%d", port);
	return ip && p && flags && strcmp(ip, host) == 0 && strcmp(p, want) == 0 &&
	       !strstr(flags, "s_down") && !strstr(flags, "o_down") &&
	       !strstr(flags, "failover_in_progress");
}

struct omr_sentinel_vote {
	struct omr_sentinel *s;
	void (*cb)(void *arg, int confirmed);
	void *arg;
	size_t pending, answered, yes;
	char host[OMR_SENTINEL_HOST_MAX + 1];
	int port;
};

static void omr_sentinel_vote_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_sentinel_vote *v = arg;
	if (!err) {
		v->answered++;
		v->yes += (size_t)omr_sentinel_master_is(reply, v->host, v->port);
	}
	if (--v->pending)
		return;
	v->cb(v->arg, v->port && v->answered > v->s->n / 2 && v->yes == v->answered);
	free(v);
}

void omr_sentinel_confirm(struct omr_sentinel *s, void (*cb)(void *arg, int confirmed),
			  void *arg)
{
	struct omr_sentinel_vote *v = omr_calloc(1, sizeof(*v));
	v->s = s;
	v->cb = cb;
	v->arg = arg;
	v->pending = s->n;
	snprintf(v->host, sizeof(v->host), "%s", s->host);
	v->port = s->port;
	/* every answer (or failure) comes on a later loop pass: the last one
	 * calls cb and frees v */
	for (size_t i = 0; i < s->n; i++)
		omr_redis_cmd(s->nodes[i].ask, omr_sentinel_vote_cb, v, "SENTINEL MASTER %s",
			      s->master);
}

/* ---- checking the primary ---- */

struct omr_sentinel_check {
	struct omr_sentinel *s;
	struct omr_redis *r;
};

static void omr_sentinel_role(void *arg, const redisReply *reply, const char *err)
{
	struct omr_sentinel_check *c = arg;
	const char *role = omr_reply_str(omr_reply_elem(reply, 0));
	if (!err && role && strcmp(role, "master") != 0) {
		omr_log_warn("redis: %s:%d is a %s, not the primary: asking the sentinels",
			     c->s->host, c->s->port, role);
		c->s->port = 0; /* the next answer is news even if it names the same */
		omr_sentinel_round(c->s);
	}
	free(c);
}

void omr_sentinel_verify(struct omr_sentinel *s, struct omr_redis *r)
{
	struct omr_sentinel_check *c = omr_calloc(1, sizeof(*c));
	c->s = s;
	c->r = r;
	omr_redis_cmd(r, omr_sentinel_role, c, "ROLE");
}

/* ---- lifecycle ---- */

struct omr_sentinel *omr_sentinel_new(struct event_base *base, const struct omr_sentinel_opts *o,
				      char **err_r)
{
	struct omr_sentinel *s = omr_calloc(1, sizeof(*s));
	size_t n = 0;

	while (o->addrs && o->addrs[n])
		n++;
	s->base = base;
	s->master = omr_strdup(o->master);
	s->on_master = o->on_master;
	s->arg = o->arg;
	s->nodes = omr_calloc(n ? n : 1, sizeof(*s->nodes));
	for (size_t i = 0; i < n; i++) {
		struct omr_sentinel_node *node = &s->nodes[i];
		struct omr_redis_target t = { 0 };
		char host[256];
		if (omr_hostport_split(o->addrs[i], host, &t.port) < 0) {
			omr_err(err_r, "redis.sentinels: '%s' is not host:port", o->addrs[i]);
			s->n = i;
			omr_sentinel_free(s);
			return NULL;
		}
		t.host = omr_strdup(host);
		t.password = omr_strdup(o->password);
		struct omr_redis_opts ro = {
			.name = "sentinel", .connect_timeout = o->connect_timeout,
			.command_timeout = o->command_timeout, .on_ready = omr_sentinel_ready,
			.arg = node, .dns = o->dns,
		};
		node->s = s;
		node->addr = omr_strdup(o->addrs[i]);
		node->ask = omr_redis_new(base, &t, &ro);
		ro.name = "sentinel events";
		ro.on_ready = NULL;
		node->sub = omr_redis_new(base, &t, &ro);
		omr_redis_subscribe(node->sub, "+switch-master", omr_sentinel_switch, node);
		omr_redis_target_free(&t);
	}
	s->n = n;
	s->poll_ev = event_new(base, -1, EV_PERSIST, omr_sentinel_poll, s);
	return s;
}

void omr_sentinel_start(struct omr_sentinel *s)
{
	struct timeval poll = { OMR_SENTINEL_POLL_MS / 1000, (OMR_SENTINEL_POLL_MS % 1000) * 1000 };
	for (size_t i = 0; i < s->n; i++) {
		omr_redis_start(s->nodes[i].ask);
		omr_redis_start(s->nodes[i].sub);
	}
	event_add(s->poll_ev, &poll);
}

void omr_sentinel_close(struct omr_sentinel *s)
{
	if (!s)
		return;
	if (s->poll_ev)
		event_del(s->poll_ev);
	for (size_t i = 0; i < s->n; i++) {
		omr_redis_close(s->nodes[i].ask);
		omr_redis_close(s->nodes[i].sub);
	}
}

void omr_sentinel_free(struct omr_sentinel *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		omr_redis_free(s->nodes[i].ask);
		omr_redis_free(s->nodes[i].sub);
		free(s->nodes[i].addr);
	}
	if (s->poll_ev)
		event_free(s->poll_ev);
	free(s->nodes);
	free(s->master);
	free(s);
}

void omr_sentinel_metrics(const struct omr_sentinel *s, struct omr_buf *b)
{
	omr_metric(b, "sentinel_switches_total", "counter",
		   "times the sentinels named a new Redis primary", s->switches);
	omr_metric(b, "sentinel_refused_total", "counter",
		   "sentinel answers refused as malformed or unknown", s->refused);
	omr_metric(b, "sentinel_failed_total", "counter",
		   "questions to a sentinel that got no answer", s->failed);
}
