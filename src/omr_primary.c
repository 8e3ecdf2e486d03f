/*
 * omr_primary: see omr_primary.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_log.h"
#include "omr_redis.h"
#include "omr_primary.h"
#include "omr_util.h"

#define OMR_PRIMARY_POLL_MS 1000
#define OMR_PRIMARY_MOVED_MS 2000
/* writes held for a failover (omr_primary_opts.on_failover) at most this
 * long without the sentinels naming the new primary or calling it off:
 * well under the 6 s a node's heartbeat lives (omr_nodes.h), beaten every
 * second, with a reconnection after it */
#define OMR_PRIMARY_HOLD_MS 3000
#define OMR_PRIMARY_HOST_MAX 255

struct omr_primary_node {
	struct omr_primary *s;
	char *addr;                /* "host:port", for logs */
	struct omr_redis *ask;     /* get-master-addr-by-name, CLUSTER SLOTS */
	struct omr_redis *sub;     /* a failover's events (Sentinel) */
};

struct omr_primary {
	struct event_base *base;
	enum omr_primary_kind kind;
	char *master;              /* Sentinel: the master's name */
	unsigned slot;             /* Cluster: the site's slot */
	struct omr_primary_node *nodes;
	size_t n;
	size_t first;              /* the sentinel to ask first */
	size_t tried;              /* sentinels asked in this round */
	int asking;
	int again;                 /* asked for while a round ran */
	struct event *poll_ev;
	char host[OMR_PRIMARY_HOST_MAX + 1];
	int port;                  /* 0: not known yet */
	void (*on_master)(void *arg, const char *host, int port);
	void (*on_failover)(void *arg);
	void *arg;
	int news;                  /* the next answer is news even if it names the same */
	/* the sentinel leading a failover of the primary (NULL: none): the
	 * writes are held until a new primary is named, it calls the failover
	 * off, or hold_ev fires (OMR_PRIMARY_HOLD_MS); held_host:held_port is
	 * the primary being replaced */
	struct omr_primary_node *held_by;
	/* the sentinel leading the failover under way (from its
	 * +selected-slave to the switch or its abort, past a hold's end): it
	 * names the promoted replica before the others, even one this node
	 * left before */
	struct omr_primary_node *leader;
	struct event *hold_ev;
	char held_host[OMR_PRIMARY_HOST_MAX + 1];
	int held_port;
	int64_t unknown_since;     /* no sentinel has answered since (mono ms) */
	/* the primary this node switched away from (left_port 0: none), and
	 * when. A sentinel's answer naming it again is taken only when a
	 * majority of the listed sentinels names it (omr_primary_vote), or
	 * from the sentinel leading a failover under way: one that missed the
	 * failover (the others tell it within 2 s, or never while it is cut
	 * off) names the old primary, and the old primary restarted says it
	 * is one until the sentinels make it a replica. A +switch-master
	 * naming it is news at once. Cluster: a slot map naming it within
	 * OMR_PRIMARY_MOVED_MS is not news (a node that has not heard yet). */
	char left_host[OMR_PRIMARY_HOST_MAX + 1];
	int left_port;
	int64_t left_at;
	int heard_left;            /* this round: a server named it */
	int returning;             /* a vote on going back to it runs */
	int stale_said;            /* a refused return was logged since the switch */
	int64_t demoted_at;        /* the primary named last said it is a replica */
	int demoted_said;          /* logged, until a switch or ROLE says master */
	unsigned long long return_switches; /* switches when that vote began */
	int closed;                /* omr_primary_close: ask nobody any more */
	unsigned long long switches, refused, failed, holds, stale, demoted;
};

/* ---- asking ---- */

/* what a listed server is, for logs */
static const char *omr_primary_what(const struct omr_primary *s)
{
	return s->kind == OMR_PRIMARY_CLUSTER ? "cluster node" : "sentinel";
}

static void omr_primary_round(struct omr_primary *s);
static void omr_primary_answer(void *arg, const redisReply *reply, const char *err);

static void omr_primary_question(struct omr_primary_node *node)
{
	struct omr_primary *s = node->s;
	if (s->kind == OMR_PRIMARY_CLUSTER)
		omr_redis_cmd(node->ask, omr_primary_answer, node, "CLUSTER SLOTS");
	else
		omr_redis_cmd(node->ask, omr_primary_answer, node,
			      "SENTINEL get-master-addr-by-name %s", s->master);
}

/* the primary in one answer to omr_primary_question: 0 or -1 with why */
static int omr_primary_parse(const struct omr_primary *s, const redisReply *reply, char *host,
			     int *port, const char **why)
{
	if (s->kind == OMR_PRIMARY_CLUSTER)
		return omr_primary_parse_slots(reply, s->slot, host, OMR_PRIMARY_HOST_MAX + 1, port,
					       why);
	return omr_primary_parse_sentinel(reply, host, OMR_PRIMARY_HOST_MAX + 1, port, why);
}

static void omr_primary_unhold(struct omr_primary *s)
{
	s->held_by = NULL;
	if (s->hold_ev)
		evtimer_del(s->hold_ev);
}

static void omr_primary_found(struct omr_primary *s, const char *host, int port)
{
	int same = s->port == port && strcmp(s->host, host) == 0;
	if (same && !s->news)
		return;
	/* named again right after it said it is a replica: its connections
	 * are made again at a later poll, not at once (in a loop: each
	 * command refused as READONLY asks, each reconnection says ROLE) */
	if (same && s->demoted_at && omr_mono_ms() - s->demoted_at < OMR_PRIMARY_POLL_MS)
		return;
	/* a sentinel that has not heard of the failover yet: not news */
	if (s->held_by && port == s->held_port && strcmp(host, s->held_host) == 0)
		return;
	omr_primary_unhold(s);
	s->news = 0;
	if (s->port && !same) {
		omr_log_warn("redis: the primary of '%s' is now %s:%d (was %s:%d)", s->master, host,
			     port, s->host, s->port);
		s->switches++;
		snprintf(s->left_host, sizeof(s->left_host), "%s", s->host);
		s->left_port = s->port;
		s->left_at = omr_mono_ms();
		s->leader = NULL;
		s->stale_said = 0;
		s->demoted_at = 0;
		s->demoted_said = 0;
	} else if (same) { /* news: named again after it said it is a replica, or a hold */
		omr_log_debug("redis: the primary of '%s' is still %s:%d", s->master, host, port);
	} else {
		omr_log_info("redis: the primary of '%s' is %s:%d", s->master, host, port);
	}
	snprintf(s->host, sizeof(s->host), "%s", host);
	s->port = port;
	s->on_master(s->arg, host, port);
}

/* host:port is the primary this node switched away from (Cluster: less
 * than OMR_PRIMARY_MOVED_MS ago; the nodes' gossip carries a move within
 * it, and a seed list may hold no majority that answers: the shard's two
 * nodes, one of them dead) */
static int omr_primary_left(const struct omr_primary *s, const char *host, int port)
{
	if (s->kind == OMR_PRIMARY_CLUSTER && omr_mono_ms() - s->left_at >= OMR_PRIMARY_MOVED_MS)
		return 0;
	return s->left_port && port == s->left_port && strcmp(host, s->left_host) == 0;
}

static void omr_primary_vote(struct omr_primary *s, const char *host, int port,
			     int majority_yes, void (*cb)(void *arg, int confirmed), void *arg);

static void omr_primary_returned(void *arg, int confirmed)
{
	struct omr_primary *s = arg;
	s->returning = 0;
	/* closed, a failover back announced, or another switch meanwhile */
	if (s->closed || !s->left_port || s->switches != s->return_switches)
		return;
	if (!confirmed) {
		s->stale++;
		if (!s->stale_said++)
			omr_log_warn("redis: a majority of the sentinels does not name %s:%d, the "
				     "primary of '%s' before %s:%d: staying", s->left_host,
				     s->left_port, s->master, s->host, s->port);
		/* news pending (a hold ended, ROLE said replica): the
		 * connections are made again to the one it stays on */
		if (s->news)
			omr_primary_found(s, s->host, s->port);
		return;
	}
	char host[OMR_PRIMARY_HOST_MAX + 1];
	int port = s->left_port;
	snprintf(host, sizeof(host), "%s", s->left_host);
	omr_primary_found(s, host, port);
}

/* an answer names the primary left before: vote on it (once at a time) */
static void omr_primary_return(struct omr_primary *s, const struct omr_primary_node *node)
{
	if (s->returning)
		return;
	s->returning = 1;
	s->return_switches = s->switches;
	omr_log_debug("redis: %s %s names %s:%d, the primary before %s:%d: asking them all",
		      omr_primary_what(s), node->addr, s->left_host, s->left_port, s->host,
		      s->port);
	omr_primary_vote(s, s->left_host, s->left_port, 1, omr_primary_returned, s);
}

static void omr_primary_answer(void *arg, const redisReply *reply, const char *err)
{
	struct omr_primary_node *node = arg;
	struct omr_primary *s = node->s;
	char host[OMR_PRIMARY_HOST_MAX + 1];
	const char *why = err;
	int port;

	int parsed = !err && omr_primary_parse(s, reply, host, &port, &why) == 0;
	if (parsed && omr_primary_left(s, host, port) && node != s->leader) {
		/* not on its word: the others are asked on, and (Sentinel) all
		 * of them vote; the leader of a failover under way knows */
		if (s->kind == OMR_PRIMARY_SENTINEL)
			omr_primary_return(s, node);
		s->heard_left = 1;
		why = "names the primary left before";
	} else if (parsed) {
		s->asking = 0;
		s->unknown_since = 0;
		s->first = (size_t)(node - s->nodes);
		omr_primary_found(s, host, port);
		if (s->again) {
			s->again = 0;
			omr_primary_round(s);
		}
		return;
	} else if (reply && !err) {
		s->refused++;
	} else {
		s->failed++;
	}
	if (s->closed) {
		s->asking = 0; /* failed by the close: asking the next would not end */
		return;
	}
	omr_log_debug("redis: %s %s: %s", omr_primary_what(s), node->addr, why);
	s->tried++;
	if (s->tried < s->n) {
		omr_primary_question(&s->nodes[(s->first + s->tried) % s->n]);
		return;
	}
	s->asking = 0;
	s->again = 0;
	if (s->unknown_since)
		return; /* said once per outage */
	s->unknown_since = omr_mono_ms();
	if (s->heard_left) {
		omr_log_warn("redis: only %ss naming %s:%d, the primary of '%s' before %s:%d, "
			     "answered: staying unless a majority of them names it",
			     omr_primary_what(s), s->left_host, s->left_port, s->master, s->host,
			     s->port);
		return;
	}
	omr_log_warn("redis: no %s named the primary of '%s' (last: %s: %s); asking again "
		     "every second", omr_primary_what(s), s->master, node->addr, why);
}

static void omr_primary_round(struct omr_primary *s)
{
	struct omr_primary_node *node;
	if (s->closed)
		return;
	if (s->asking) {
		s->again = 1;
		return;
	}
	s->asking = 1;
	s->tried = 0;
	s->heard_left = 0;
	node = &s->nodes[s->first % s->n];
	omr_primary_question(node);
}

static void omr_primary_poll(evutil_socket_t fd, short what, void *arg)
{
	omr_primary_round(arg);
}

/* a failover held the writes for OMR_PRIMARY_HOLD_MS with no new primary
 * named and no word that it was called off */
static void omr_primary_hold_end(evutil_socket_t fd, short what, void *arg)
{
	struct omr_primary *s = arg;
	if (!s->held_by)
		return;
	omr_log_warn("redis: no new primary of '%s' named %d s after its failover began: "
		     "writing again to the one the sentinels name", s->master,
		     OMR_PRIMARY_HOLD_MS / 1000);
	s->held_by = NULL;
	s->news = 1;
	omr_primary_round(s);
}

void omr_primary_ask(struct omr_primary *s)
{
	omr_primary_round(s);
}

void omr_primary_redirected(struct omr_primary *s, const char *err)
{
	static const char *const codes[] = { "MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN",
					     "READONLY", "MOVING", NULL };
	char host[OMR_PRIMARY_HOST_MAX + 1];
	int port;
	for (const char *const *c = codes; *c; c++) {
		if (strncmp(err, *c, strlen(*c)) != 0)
			continue;
		/* a replica the sentinels go on naming: the poll asks them, not
		 * every write it refuses */
		if (strcmp(*c, "READONLY") == 0 && s->demoted_at &&
		    omr_mono_ms() - s->demoted_at < 2 * OMR_PRIMARY_POLL_MS)
			return;
		/* MOVED: the cluster says who owns the slot now; the slot map
		 * (asked next) confirms it */
		if (s->kind == OMR_PRIMARY_CLUSTER && omr_primary_parse_moved(err, host, &port) == 0)
			omr_primary_found(s, host, port);
		omr_primary_round(s);
		return;
	}
}

/* A sentinel leading a failover of the primary chose the replica to
 * promote: from the moment that replica stops replicating, whatever the
 * old primary takes is lost with it, so nothing more is written to it
 * (on_failover) until the sentinels name the new one. */
static void omr_primary_failover(struct omr_primary_node *node, const char *host, int port)
{
	struct omr_primary *s = node->s;
	struct timeval tv = { OMR_PRIMARY_HOLD_MS / 1000, (OMR_PRIMARY_HOLD_MS % 1000) * 1000 };
	if (s->held_by || !s->port || !s->on_failover || s->closed)
		return;
	if (port != s->port || strcmp(host, s->host) != 0) {
		/* a sentinel's view of another primary than this node's: ask */
		omr_log_info("redis: sentinel %s is failing over '%s' at %s:%d, not %s:%d: asking "
			     "the sentinels", node->addr, s->master, host, port, s->host, s->port);
		omr_primary_round(s);
		return;
	}
	s->held_by = node;
	s->leader = node;
	snprintf(s->held_host, sizeof(s->held_host), "%s", s->host);
	s->held_port = s->port;
	s->holds++;
	/* the leader is the first to name the promoted replica */
	s->first = (size_t)(node - s->nodes);
	evtimer_add(s->hold_ev, &tv);
	omr_log_warn("redis: sentinel %s is failing over '%s' (%s:%d): writes are held until "
		     "it names the new primary", node->addr, s->master, s->host, s->port);
	s->on_failover(s->arg);
}

/* the failover was called off by the sentinel leading it (another's abort
 * is about an election it lost, not this failover): the primary stays */
static void omr_primary_abort(struct omr_primary_node *node, const char *why)
{
	struct omr_primary *s = node->s;
	if (s->leader == node)
		s->leader = NULL; /* past the hold's end too: failover-timeout is long */
	if (s->held_by != node)
		return;
	omr_primary_unhold(s);
	omr_log_warn("redis: sentinel %s called off the failover of '%s' (%s): writing to %s:%d "
		     "again", node->addr, s->master, why, s->host, s->port);
	s->on_master(s->arg, s->host, s->port);
	omr_primary_round(s);
}

static void omr_primary_event(void *arg, const char *channel, const char *text, size_t len)
{
	struct omr_primary_node *node = arg;
	char host[OMR_PRIMARY_HOST_MAX + 1];
	int port;
	if (strcmp(channel, "+switch-master") != 0) {
		if (!omr_primary_parse_event(text, len, node->s->master, host, sizeof(host), &port))
			return;
		if (strcmp(channel, "+selected-slave") == 0)
			omr_primary_failover(node, host, port);
		else
			omr_primary_abort(node, channel + 1);
		return;
	}
	if (!omr_primary_parse_switch(text, len, node->s->master, host, sizeof(host), &port))
		return;
	omr_log_info("redis: sentinel %s announces a new primary of '%s'", node->addr,
		     node->s->master);
	/* a failover back to the primary left before: answers naming it are
	 * news again */
	if (port && omr_primary_left(node->s, host, port))
		node->s->left_port = 0;
	/* it knows: ask it first, not one that may not have heard yet */
	node->s->first = (size_t)(node - node->s->nodes);
	omr_primary_round(node->s);
}

static void omr_primary_ready(void *arg)
{
	struct omr_primary_node *node = arg;
	if (!node->s->port)
		omr_primary_round(node->s);
}

/* ---- confirming the primary ---- */

struct omr_primary_vote {
	struct omr_primary *s;
	int majority_yes;          /* enough: a majority of the listed servers says yes */
	void (*cb)(void *arg, int confirmed);
	void *arg;
	size_t pending, answered, yes;
	long long epoch;           /* majority_yes: the newest config-epoch heard */
	char host[OMR_PRIMARY_HOST_MAX + 1];
	int port;
};

static void omr_primary_vote_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_primary_vote *v = arg;
	char host[OMR_PRIMARY_HOST_MAX + 1];
	const char *why;
	long long epoch;
	int port, yes;
	if (!err) {
		v->answered++;
		if (v->s->kind == OMR_PRIMARY_CLUSTER) {
			v->yes += omr_primary_parse(v->s, reply, host, &port, &why) == 0 &&
				  port == v->port && strcmp(host, v->host) == 0;
		} else {
			yes = omr_primary_master_is(reply, v->host, v->port, &epoch);
			/* majority_yes: only the sentinels with the newest view count;
			 * one that has not heard of the last failover yet (the others
			 * tell it within 2 s) names the primary before it */
			if (v->majority_yes && epoch > v->epoch) {
				v->epoch = epoch;
				v->yes = 0;
			}
			if (!v->majority_yes || epoch == v->epoch)
				v->yes += (size_t)yes;
		}
	}
	if (--v->pending)
		return;
	if (v->majority_yes)
		v->cb(v->arg, v->port && v->yes > v->s->n / 2);
	else
		v->cb(v->arg, v->port && v->answered > v->s->n / 2 && v->yes == v->answered);
	free(v);
}

void omr_primary_confirm(struct omr_primary *s, void (*cb)(void *arg, int confirmed),
			  void *arg)
{
	omr_primary_vote(s, s->host, s->port, 0, cb, arg);
}

/* is host:port the primary? cb(arg, 1) when a majority of the listed
 * servers answers and each that does names it (see omr_primary_confirm),
 * or with majority_yes when a majority of them names it, whatever the
 * others say or whether they answer */
static void omr_primary_vote(struct omr_primary *s, const char *host, int port,
			     int majority_yes, void (*cb)(void *arg, int confirmed), void *arg)
{
	struct omr_primary_vote *v = omr_calloc(1, sizeof(*v));
	v->s = s;
	v->majority_yes = majority_yes;
	v->epoch = -1;
	v->cb = cb;
	v->arg = arg;
	v->pending = s->n;
	snprintf(v->host, sizeof(v->host), "%s", host);
	v->port = port;
	/* every answer (or failure) comes on a later loop pass: the last one
	 * calls cb and frees v */
	for (size_t i = 0; i < s->n; i++) {
		if (s->kind == OMR_PRIMARY_CLUSTER)
			omr_redis_cmd(s->nodes[i].ask, omr_primary_vote_cb, v, "CLUSTER SLOTS");
		else
			omr_redis_cmd(s->nodes[i].ask, omr_primary_vote_cb, v, "SENTINEL MASTER %s",
				      s->master);
	}
}

/* ---- checking the primary ---- */

static void omr_primary_role(void *arg, const redisReply *reply, const char *err)
{
	struct omr_primary *s = arg;
	const char *role = omr_reply_str(omr_reply_elem(reply, 0));
	if (err || !role)
		return;
	if (strcmp(role, "master") == 0) {
		/* a held connection makes none: this is not a hold's news */
		s->demoted_at = 0;
		s->demoted_said = 0;
		s->news = 0;
		return;
	}
	if (s->demoted_said++)
		omr_log_debug("redis: %s:%d is still a %s", s->host, s->port, role);
	else
		omr_log_warn("redis: %s:%d is a %s, not the primary: asking again", s->host,
			     s->port, role);
	s->demoted_at = omr_mono_ms();
	s->demoted++;
	s->news = 1; /* the next answer is news even if it names the same */
	omr_primary_round(s);
}

void omr_primary_verify(struct omr_primary *s, struct omr_redis *r)
{
	/* s outlives r's callbacks: the core closes r before it frees s */
	omr_redis_cmd(r, omr_primary_role, s, "ROLE");
}

/* ---- lifecycle ---- */

/* what the sentinels publish that this follows: the end of a failover, its
 * start (the replica to promote is chosen), and its being called off once
 * it began (the other aborts come before a replica is chosen, or from a
 * sentinel that lost the election: never the one that holds) */
static const char *const omr_primary_events[] = {
	"+switch-master", "+selected-slave", "-failover-abort-slave-timeout", NULL
};

struct omr_primary *omr_primary_new(struct event_base *base, const struct omr_primary_opts *o,
				      char **err_r)
{
	struct omr_primary *s = omr_calloc(1, sizeof(*s));
	size_t n = 0;

	while (o->addrs && o->addrs[n])
		n++;
	s->base = base;
	s->kind = o->kind;
	if (o->kind == OMR_PRIMARY_CLUSTER) {
		s->master = omr_strdup(o->site); /* for logs */
		s->slot = omr_primary_slot(o->site, strlen(o->site));
	} else {
		s->master = omr_strdup(o->master);
	}
	s->on_master = o->on_master;
	s->on_failover = o->on_failover;
	s->arg = o->arg;
	s->nodes = omr_calloc(n ? n : 1, sizeof(*s->nodes));
	for (size_t i = 0; i < n; i++) {
		struct omr_primary_node *node = &s->nodes[i];
		struct omr_redis_target t = { 0 };
		char host[256];
		if (omr_hostport_split(o->addrs[i], host, &t.port) < 0) {
			omr_err(err_r, "redis.%s: '%s' is not host:port",
				o->kind == OMR_PRIMARY_CLUSTER ? "cluster" : "sentinels", o->addrs[i]);
			s->n = i;
			omr_primary_free(s);
			return NULL;
		}
		t.host = omr_strdup(host);
		t.username = omr_strdup(o->username);
		t.password = omr_strdup(o->password);
		struct omr_redis_opts ro = {
			.name = o->kind == OMR_PRIMARY_CLUSTER ? "cluster seed" : "sentinel",
			.connect_timeout = o->connect_timeout,
			.command_timeout = o->command_timeout, .on_ready = omr_primary_ready,
			.arg = node, .dns = o->dns,
		};
		node->s = s;
		node->addr = omr_strdup(o->addrs[i]);
		node->ask = omr_redis_new(base, &t, &ro);
		if (o->kind == OMR_PRIMARY_SENTINEL) {
			ro.name = "sentinel events";
			ro.on_ready = NULL;
			node->sub = omr_redis_new(base, &t, &ro);
			omr_redis_subscribe(node->sub, omr_primary_events, omr_primary_event, node);
		}
		omr_redis_target_free(&t);
	}
	s->n = n;
	s->poll_ev = event_new(base, -1, EV_PERSIST, omr_primary_poll, s);
	s->hold_ev = evtimer_new(base, omr_primary_hold_end, s);
	return s;
}

void omr_primary_start(struct omr_primary *s)
{
	struct timeval poll = { OMR_PRIMARY_POLL_MS / 1000, (OMR_PRIMARY_POLL_MS % 1000) * 1000 };
	for (size_t i = 0; i < s->n; i++) {
		omr_redis_start(s->nodes[i].ask);
		if (s->nodes[i].sub)
			omr_redis_start(s->nodes[i].sub);
	}
	event_add(s->poll_ev, &poll);
}

void omr_primary_close(struct omr_primary *s)
{
	if (!s)
		return;
	s->closed = 1;
	if (s->poll_ev)
		event_del(s->poll_ev);
	omr_primary_unhold(s);
	for (size_t i = 0; i < s->n; i++) {
		omr_redis_close(s->nodes[i].ask);
		omr_redis_close(s->nodes[i].sub);
	}
}

size_t omr_primary_pending(const struct omr_primary *s)
{
	size_t n = 0;
	for (size_t i = 0; s && i < s->n; i++) {
		struct omr_redis_stats st;
		omr_redis_get_stats(s->nodes[i].ask, &st);
		n += st.pending;
	}
	return n;
}

void omr_primary_free(struct omr_primary *s)
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
	if (s->hold_ev)
		event_free(s->hold_ev);
	free(s->nodes);
	free(s->master);
	free(s);
}

void omr_primary_metrics(const struct omr_primary *s, struct omr_buf *b)
{
	omr_metric(b, "primary_switches_total", "counter",
		   "times the sentinels named a new Redis primary", s->switches);
	omr_metric(b, "primary_refused_total", "counter",
		   "sentinel answers refused as malformed or unknown", s->refused);
	omr_metric(b, "primary_failed_total", "counter",
		   "questions to a sentinel that got no answer", s->failed);
	omr_metric(b, "primary_stale_total", "counter",
		   "times the sentinels were asked whether to go back to the primary left before, "
		   "and a majority of them did not name it",
		   s->stale);
	omr_metric(b, "primary_not_primary_total", "counter",
		   "times the Redis server named as the primary said it is a replica (ROLE)",
		   s->demoted);
	omr_metric(b, "primary_holds_total", "counter",
		   "failovers a sentinel began, during which nothing was written to Redis until "
		   "the new primary was named", s->holds);
}
