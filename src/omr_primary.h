/*
 * omr_primary: find the Redis primary to use, and follow it, through Redis
 * Sentinel (redis.sentinels) or a Redis Cluster's slot map (redis.cluster:
 * the primary that owns the slot of the site's hash tag).
 *
 * Each listed server gets a connection (omr_redis, reconnecting by
 * itself) that is asked `SENTINEL get-master-addr-by-name NAME` or
 * `CLUSTER SLOTS`; with Sentinel a second one is subscribed to a
 * failover's events: `+selected-slave` (it begins: on_failover),
 * `-failover-abort-slave-timeout` (called off: on_master again with the
 * same primary) and `+switch-master` (it ended). The primary is asked for
 * at start, every second, at once when a sentinel announces a switch of
 * this master, when a connection to the primary drops, and when it answers
 * with a redirection (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, READONLY, or
 * MOVING while a site is being moved: omr_primary_redirected). The
 * server that answered last is asked first; one that fails or answers
 * nonsense is skipped for the next. Answers are hostile input: only a
 * host of at most 255 characters of [A-Za-z0-9.:_-] and a port in
 * 1..65535 are taken, and a slot map must be well formed.
 *
 * on_master(arg, host, port) runs when the primary is known for the first
 * time and whenever it changes (never twice for the same address, but
 * after a failover that was called off).
 *
 * on_failover(arg) runs when a sentinel leading a failover of the primary
 * has chosen the replica to promote, before it promotes it: from then on
 * the old primary's writes would be lost with it (a planned SENTINEL
 * FAILOVER leaves it running, taking writes, until it is told it is a
 * replica), so the caller writes nothing until on_master names the new
 * primary, the failover is called off (on_master with the same one), or
 * 3 s have passed (on_master with whichever the sentinels name then).
 * Only the failover of the primary this node writes to holds it (a
 * sentinel naming another is asked again), and only the sentinel leading
 * it calls it off.
 * Meanwhile sentinels that have not heard of the failover yet and still
 * name the old primary are not taken for news.
 */
#ifndef OMR_PRIMARY_H
#define OMR_PRIMARY_H

#include <event2/event.h>
#include <hiredis/hiredis.h>

struct evdns_base;
struct omr_buf;
struct omr_redis;
struct omr_primary;

enum omr_primary_kind { OMR_PRIMARY_SENTINEL, OMR_PRIMARY_CLUSTER };

struct omr_primary_opts {
	enum omr_primary_kind kind;
	char *const *addrs;      /* "host:port", NULL-terminated (copied) */
	const char *master;      /* Sentinel: the master's name (copied) */
	const char *site;        /* Cluster: the hash tag of every key (copied) */
	const char *username;    /* ACL user for the listed servers, may be NULL (copied) */
	const char *password;    /* AUTH for the listed servers, may be NULL (copied) */
	long long connect_timeout, command_timeout;  /* ms */
	struct evdns_base *dns;  /* borrowed; NULL: numeric hosts only */
	void (*on_master)(void *arg, const char *host, int port);
	void (*on_failover)(void *arg);  /* may be NULL: no holding */
	void *arg;
};

/* NULL and *err_r set when an address does not parse. */
struct omr_primary *omr_primary_new(struct event_base *base, const struct omr_primary_opts *o,
				      char **err_r);
void omr_primary_start(struct omr_primary *s);
/* The connection to the primary failed or it said it is not one: ask now. */
void omr_primary_ask(struct omr_primary *s);
/* An error reply from the primary: a redirection (see above) makes it ask
 * now; MOVED names the new owner, which is taken at once. */
void omr_primary_redirected(struct omr_primary *s, const char *err);
/* After a connection to the primary (re)connected: check with ROLE that it
 * is the primary; when it is not (a demoted one came back), ask again:
 * on_master then runs even for the same address, and moves every
 * connection. */
void omr_primary_verify(struct omr_primary *s, struct omr_redis *r);
/* Is the primary this node uses still the primary, with no failover under
 * way? Every listed server is asked (SENTINEL MASTER, or CLUSTER SLOTS);
 * cb(arg, 1) only when a majority answered and each that did names it
 * (for Sentinel: without s_down, o_down or failover_in_progress: the
 * sentinel leading a failover is the only one that knows of it until it
 * is announced). cb runs exactly once, never inside this call. */
void omr_primary_confirm(struct omr_primary *s, void (*cb)(void *arg, int confirmed),
			  void *arg);
/* One SENTINEL MASTER answer (a flat field/value array): 1 when it names
 * host:port and shows no s_down, o_down or failover_in_progress; *epoch is
 * its config-epoch (the failover its view comes from), or -1. */
int omr_primary_master_is(const redisReply *reply, const char *host, int port,
			  long long *epoch);

/* One answer of get-master-addr-by-name: 0 with host (NUL-terminated,
 * hostlen >= 256) and port, or -1 with *why set. */
int omr_primary_parse_sentinel(const redisReply *reply, char *host, size_t hostlen, int *port,
			      const char **why);
/* The primary of slot in a CLUSTER SLOTS answer: 0 with host (hostlen >=
 * 256) and port, or -1 with *why set. */
int omr_primary_parse_slots(const redisReply *reply, unsigned slot, char *host, size_t hostlen,
			    int *port, const char **why);
/* "MOVED <slot> <host>:<port>": 0 with host (char[256]) and port, or -1. */
int omr_primary_parse_moved(const char *err, char host[256], int *port);
/* The Redis Cluster slot of a hash tag: CRC16 (XMODEM) mod 16384. */
unsigned omr_primary_slot(const char *tag, size_t len);

/* A +switch-master message ("NAME old-ip old-port new-ip new-port"): 1 when
 * it is about master, with the new address in host (hostlen >= 256) and
 * port, or port 0 when that does not parse; else 0. */
int omr_primary_parse_switch(const char *text, size_t len, const char *master, char *host,
			     size_t hostlen, int *port);
/* Another event of a sentinel's ("master NAME ip port", or "slave ip:port
 * ip port @ NAME ip port"): 1 when it is about master, with its address in
 * host (hostlen >= 256) and port; else 0. */
int omr_primary_parse_event(const char *text, size_t len, const char *master, char *host,
			    size_t hostlen, int *port);
void omr_primary_close(struct omr_primary *s);
/* Commands sent to the listed servers and not yet called back (a stop
 * waits for them). */
size_t omr_primary_pending(const struct omr_primary *s);
void omr_primary_free(struct omr_primary *s);
void omr_primary_metrics(const struct omr_primary *s, struct omr_buf *b);

#endif
