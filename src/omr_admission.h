/*
 * omr_admission: who may come in, and how fast, before any work is done.
 *
 * A gate guards one door (the websocket edge, web chat hellos, agent
 * logins, the webhook and admin listeners, LMTP): a cap on open
 * connections in all, a cap per peer address, and a token bucket per peer
 * address for new connections or requests. Peers are keyed by address;
 * IPv6 peers by their /64, which is what one client usually holds.
 *
 * A gate belongs to one thread (the edge's gates to the edge thread, the
 * others to the main thread); only its counters may be read from another
 * thread (omr_gate_get_stats, for /metrics). A refusal is logged at most
 * once per OMR_GATE_LOG_MS per gate, with how many there were since.
 *
 * A budget caps work in flight on the main thread (messages being stored)
 * with the same logging.
 */
#ifndef OMR_ADMISSION_H
#define OMR_ADMISSION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define OMR_GATE_LOG_MS 10000

struct omr_gate_limits {
	long long conns;          /* open connections at most (0: no cap) */
	long long conns_per_ip;   /* open connections per peer (0: no cap) */
	double rate_per_ip;       /* connections or requests per second per peer (0: no cap) */
	double burst_per_ip;      /* how many at once (0: max(1, rate_per_ip)) */
};

enum omr_gate_verdict {
	OMR_GATE_OK = 0,
	OMR_GATE_FULL,            /* too many connections in all (or peers tracked) */
	OMR_GATE_IP_FULL,         /* too many connections from this peer */
	OMR_GATE_RATE,            /* this peer comes too fast */
};

struct omr_gate_stats {
	uint64_t admitted;
	uint64_t refused_full;
	uint64_t refused_ip;
	uint64_t refused_rate;
	uint64_t open;            /* connections counted in now */
	uint64_t peers;           /* peers tracked now */
};

struct omr_gate;

struct omr_gate *omr_gate_new(const char *name, const struct omr_gate_limits *l);
void omr_gate_free(struct omr_gate *g);
/* New limits (a reload); connections already in stay. */
void omr_gate_set_limits(struct omr_gate *g, const struct omr_gate_limits *l);
/* A new connection from ip: OMR_GATE_OK counts it in (omr_gate_leave
 * when it closes); anything else refuses it and counts nothing. */
enum omr_gate_verdict omr_gate_enter(struct omr_gate *g, const char *ip, int64_t now_ms);
void omr_gate_leave(struct omr_gate *g, const char *ip);
/* One request from ip (a login, a hello, an HTTP request): a token from
 * its bucket. Connections caps do not apply. */
enum omr_gate_verdict omr_gate_take(struct omr_gate *g, const char *ip, int64_t now_ms);
/* How long until omr_gate_take would give ip a token: 0 now. Takes and
 * counts nothing, so a bucket can count failures and be looked at before
 * the next attempt is even checked. */
int64_t omr_gate_wait_ms(struct omr_gate *g, const char *ip, int64_t now_ms);
/* Any thread. */
void omr_gate_get_stats(struct omr_gate *g, struct omr_gate_stats *st);
const char *omr_gate_name(const struct omr_gate *g);
/* "too many connections", "too many connections from your address",
 * "too many requests from your address" */
const char *omr_gate_verdict_text(enum omr_gate_verdict v);
/* The key a peer address is counted under, in buf ("1.2.3.4",
 * "2001:db8:1:2::/64"); the address itself when it is not one. */
const char *omr_gate_peer_key(const char *ip, char *buf, size_t len);

/* A token bucket of one's own (a gate keeps one per peer; the edge one per
 * connection for its messages before a log-in): `rate` tokens per second,
 * `burst` at most, full to begin with. One thread. */
struct omr_bucket {
	double tokens;
	int64_t last_ms;
};

void omr_bucket_init(struct omr_bucket *b, double burst, int64_t now_ms);
/* Add what the time since the last call earned. */
void omr_bucket_refill(struct omr_bucket *b, double rate, double burst, int64_t now_ms);
/* 1: a token was taken; 0: none left. */
int omr_bucket_take(struct omr_bucket *b, double rate, double burst, int64_t now_ms);

/* Work in flight (main thread). */
struct omr_budget {
	const char *name;        /* borrowed: a string constant */
	size_t used;
	size_t max;              /* 0: no cap */
	uint64_t refused;
	uint64_t unlogged;
	int64_t logged_ms;
};

void omr_budget_init(struct omr_budget *b, const char *name, size_t max);
/* 1: taken (give it back with omr_budget_give); 0: full, refused. */
int omr_budget_take(struct omr_budget *b, int64_t now_ms);
void omr_budget_give(struct omr_budget *b);

#endif
