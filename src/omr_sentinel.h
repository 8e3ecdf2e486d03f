/*
 * omr_sentinel: find the Redis primary through Redis Sentinel and follow it.
 *
 * Each sentinel gets two connections (omr_redis, reconnecting by itself):
 * one asks `SENTINEL get-master-addr-by-name NAME`, one is subscribed to
 * `+switch-master`. The primary is asked for at start, every second, at
 * once when a sentinel announces a switch of this master, and when the
 * core says its connection to the primary failed. The sentinel that
 * answered last is asked first; one that fails or answers nonsense is
 * skipped for the next. Answers are hostile input: an answer that is not
 * exactly [host, port] with a host of at most 255 characters of
 * [A-Za-z0-9.:_-] and a port in 1..65535 is refused and counted.
 *
 * on_master(arg, host, port) runs when the primary is known for the first
 * time and whenever it changes (never twice for the same address).
 */
#ifndef OMR_SENTINEL_H
#define OMR_SENTINEL_H

#include <event2/event.h>
#include <hiredis/hiredis.h>

struct evdns_base;
struct omr_buf;
struct omr_redis;
struct omr_sentinel;

struct omr_sentinel_opts {
	char *const *addrs;      /* "host:port", NULL-terminated (copied) */
	const char *master;      /* the master's name in Sentinel (copied) */
	const char *password;    /* AUTH for the sentinels, may be NULL (copied) */
	long long connect_timeout, command_timeout;  /* ms */
	struct evdns_base *dns;  /* borrowed; NULL: numeric hosts only */
	void (*on_master)(void *arg, const char *host, int port);
	void *arg;
};

/* NULL and *err_r set when an address does not parse. */
struct omr_sentinel *omr_sentinel_new(struct event_base *base, const struct omr_sentinel_opts *o,
				      char **err_r);
void omr_sentinel_start(struct omr_sentinel *s);
/* The connection to the primary failed or it said it is not one: ask now. */
void omr_sentinel_ask(struct omr_sentinel *s);
/* After a connection to the primary (re)connected: check with ROLE that it
 * is the primary; when it is not (a demoted one came back), drop that
 * connection and ask the sentinels again. */
void omr_sentinel_verify(struct omr_sentinel *s, struct omr_redis *r);
/* Is the primary this node uses still the primary, with no failover under
 * way? Every sentinel is asked (SENTINEL MASTER); cb(arg, 1) only when a
 * majority answered and each that did names it, without s_down, o_down
 * or failover_in_progress (the sentinel leading a failover is the only one
 * that knows of it until it is announced). cb runs exactly once, never
 * inside this call. */
void omr_sentinel_confirm(struct omr_sentinel *s, void (*cb)(void *arg, int confirmed),
			  void *arg);
/* One SENTINEL MASTER answer (a flat field/value array): 1 when it names
 * host:port and shows no s_down, o_down or failover_in_progress. */
int omr_sentinel_master_is(const redisReply *reply, const char *host, int port);

/* One answer of get-master-addr-by-name: 0 with host (NUL-terminated,
 * hostlen >= 256) and port, or -1 with *why set. */
int omr_sentinel_parse_master(const redisReply *reply, char *host, size_t hostlen, int *port,
			      const char **why);
/* A +switch-master message ("NAME old-ip old-port new-ip new-port"): 1 when
 * it is about master, else 0. */
int omr_sentinel_parse_switch(const char *text, size_t len, const char *master);
void omr_sentinel_close(struct omr_sentinel *s);
void omr_sentinel_free(struct omr_sentinel *s);
void omr_sentinel_metrics(const struct omr_sentinel *s, struct omr_buf *b);

#endif
