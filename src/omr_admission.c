/*
 * omr_admission: see omr_admission.h.
 *
 * The peer table is a chained hash with a random seed (peers choose their
 * addresses; a fixed hash would let them choose collisions). A peer entry
 * lives while it has connections or its bucket is not full again; idle
 * entries are swept when the table grows past OMR_GATE_SWEEP_AT, and past
 * OMR_GATE_PEERS_MAX new peers are refused (OMR_GATE_FULL) rather than
 * letting the table grow without bound.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_admission.h"
#include "omr_log.h"
#include "omr_util.h"

#define OMR_GATE_SWEEP_AT 4096
#define OMR_GATE_PEERS_MAX 200000
#define OMR_GATE_KEY_MAX 64

struct omr_peer {
	struct omr_peer *next;
	uint64_t hash;
	long long conns;
	struct omr_bucket bucket;
	char key[OMR_GATE_KEY_MAX];
};

struct omr_gate {
	char *name;
	struct omr_gate_limits lim;
	uint64_t seed;
	struct omr_peer **buckets;
	size_t nbuckets;
	size_t npeers;
	size_t sweep_at;
	long long open;
	/* refusals since the last log line, and when it was */
	uint64_t unlogged;
	int64_t logged_ms;
	atomic_uint_fast64_t n_admitted, n_full, n_ip, n_rate, n_open, n_peers;
};

static const char *const omr_gate_texts[] = {
	[OMR_GATE_OK] = "admitted",
	[OMR_GATE_FULL] = "too many connections",
	[OMR_GATE_IP_FULL] = "too many connections from your address",
	[OMR_GATE_RATE] = "too many requests from your address",
};

const char *omr_gate_verdict_text(enum omr_gate_verdict v)
{
	return v <= OMR_GATE_RATE ? omr_gate_texts[v] : "refused";
}

const char *omr_gate_peer_key(const char *ip, char *buf, size_t len)
{
	unsigned char a6[16];
	if (ip && strchr(ip, ':') && inet_pton(AF_INET6, ip, a6) == 1) {
		static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		char out[INET6_ADDRSTRLEN];
		if (memcmp(a6, v4mapped, sizeof(v4mapped)) == 0) {
			inet_ntop(AF_INET, a6 + 12, out, sizeof(out));
			snprintf(buf, len, "%s", out);
			return buf;
		}
		memset(a6 + 8, 0, 8); /* one client usually holds a /64 */
		inet_ntop(AF_INET6, a6, out, sizeof(out));
		snprintf(buf, len, "%s/64", out);
		return buf;
	}
	snprintf(buf, len, "%s", ip ? ip : "");
	return buf;
}

static uint64_t omr_gate_hash(const struct omr_gate *g, const char *key)
{
	uint64_t h = g->seed ^ 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
		h ^= h >> 29;
	}
	return h;
}

static double omr_gate_burst(const struct omr_gate_limits *l)
{
	if (l->burst_per_ip > 0)
		return l->burst_per_ip;
	return l->rate_per_ip > 1 ? l->rate_per_ip : 1;
}

struct omr_gate *omr_gate_new(const char *name, const struct omr_gate_limits *l)
{
	struct omr_gate *g = omr_calloc(1, sizeof(*g));
	g->name = omr_strdup(name);
	g->lim = *l;
	if (omr_random_bytes(&g->seed, sizeof(g->seed)) < 0)
		g->seed = (uint64_t)omr_mono_ms() * 0x9e3779b97f4a7c15ULL;
	g->nbuckets = 256;
	g->buckets = omr_calloc(g->nbuckets, sizeof(*g->buckets));
	g->sweep_at = OMR_GATE_SWEEP_AT;
	return g;
}

void omr_gate_free(struct omr_gate *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nbuckets; i++) {
		struct omr_peer *p = g->buckets[i];
		while (p) {
			struct omr_peer *next = p->next;
			free(p);
			p = next;
		}
	}
	free(g->buckets);
	free(g->name);
	free(g);
}

void omr_gate_set_limits(struct omr_gate *g, const struct omr_gate_limits *l)
{
	g->lim = *l;
}

const char *omr_gate_name(const struct omr_gate *g)
{
	return g->name;
}

void omr_bucket_init(struct omr_bucket *b, double burst, int64_t now_ms)
{
	b->tokens = burst;
	b->last_ms = now_ms;
}

void omr_bucket_refill(struct omr_bucket *b, double rate, double burst, int64_t now_ms)
{
	if (now_ms > b->last_ms)
		b->tokens += (double)(now_ms - b->last_ms) / 1000.0 * rate;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last_ms = now_ms;
}

int omr_bucket_take(struct omr_bucket *b, double rate, double burst, int64_t now_ms)
{
	omr_bucket_refill(b, rate, burst, now_ms);
	if (b->tokens < 1.0)
		return 0;
	b->tokens -= 1.0;
	return 1;
}

static void omr_gate_refill(const struct omr_gate *g, struct omr_peer *p, int64_t now_ms)
{
	omr_bucket_refill(&p->bucket, g->lim.rate_per_ip, omr_gate_burst(&g->lim), now_ms);
}

static int omr_peer_idle(const struct omr_gate *g, struct omr_peer *p, int64_t now_ms)
{
	if (p->conns > 0)
		return 0;
	if (g->lim.rate_per_ip <= 0)
		return 1;
	omr_gate_refill(g, p, now_ms);
	return p->bucket.tokens >= omr_gate_burst(&g->lim);
}

static void omr_gate_sweep(struct omr_gate *g, int64_t now_ms)
{
	for (size_t i = 0; i < g->nbuckets; i++) {
		struct omr_peer **pp = &g->buckets[i];
		while (*pp) {
			struct omr_peer *p = *pp;
			if (omr_peer_idle(g, p, now_ms)) {
				*pp = p->next;
				free(p);
				g->npeers--;
			} else {
				pp = &p->next;
			}
		}
	}
	/* sweep again when the table has doubled since */
	g->sweep_at = g->npeers * 2 > OMR_GATE_SWEEP_AT ? g->npeers * 2 : OMR_GATE_SWEEP_AT;
	atomic_store(&g->n_peers, g->npeers);
}

static void omr_gate_grow(struct omr_gate *g)
{
	size_t n = g->nbuckets * 2;
	struct omr_peer **b = omr_calloc(n, sizeof(*b));
	for (size_t i = 0; i < g->nbuckets; i++) {
		struct omr_peer *p = g->buckets[i];
		while (p) {
			struct omr_peer *next = p->next;
			p->next = b[p->hash & (n - 1)];
			b[p->hash & (n - 1)] = p;
			p = next;
		}
	}
	free(g->buckets);
	g->buckets = b;
	g->nbuckets = n;
}

/* The peer's entry; created (full bucket) when create is set. NULL when
 * there is none, or no room for one. */
static struct omr_peer *omr_gate_peer(struct omr_gate *g, const char *ip, int create,
				      int64_t now_ms)
{
	char key[OMR_GATE_KEY_MAX];
	omr_gate_peer_key(ip, key, sizeof(key));
	uint64_t h = omr_gate_hash(g, key);
	for (struct omr_peer *p = g->buckets[h & (g->nbuckets - 1)]; p; p = p->next)
		if (p->hash == h && strcmp(p->key, key) == 0)
			return p;
	if (!create)
		return NULL;
	if (g->npeers >= g->sweep_at)
		omr_gate_sweep(g, now_ms);
	if (g->npeers >= OMR_GATE_PEERS_MAX)
		return NULL;
	if (g->npeers >= g->nbuckets)
		omr_gate_grow(g);
	struct omr_peer *p = omr_calloc(1, sizeof(*p));
	p->hash = h;
	omr_bucket_init(&p->bucket, omr_gate_burst(&g->lim), now_ms);
	memcpy(p->key, key, sizeof(key));
	p->next = g->buckets[h & (g->nbuckets - 1)];
	g->buckets[h & (g->nbuckets - 1)] = p;
	g->npeers++;
	atomic_store(&g->n_peers, g->npeers);
	return p;
}

static enum omr_gate_verdict omr_gate_refuse(struct omr_gate *g, enum omr_gate_verdict v,
					     const char *ip, int64_t now_ms)
{
	switch (v) {
	case OMR_GATE_FULL:
		atomic_fetch_add(&g->n_full, 1);
		break;
	case OMR_GATE_IP_FULL:
		atomic_fetch_add(&g->n_ip, 1);
		break;
	default:
		atomic_fetch_add(&g->n_rate, 1);
		break;
	}
	g->unlogged++;
	if (g->logged_ms == 0 || now_ms - g->logged_ms >= OMR_GATE_LOG_MS) {
		static const char *const why[] = {
			[OMR_GATE_FULL] = "too many connections in all",
			[OMR_GATE_IP_FULL] = "too many connections from this address",
			[OMR_GATE_RATE] = "too many requests from this address",
		};
		omr_log_warn("%s: refused %s: %s (%llu refusal(s) since the last report)", g->name,
			     ip ? ip : "?", why[v], (unsigned long long)g->unlogged);
		g->unlogged = 0;
		g->logged_ms = now_ms;
	}
	return v;
}

static int omr_gate_token(struct omr_gate *g, struct omr_peer *p, int64_t now_ms)
{
	return g->lim.rate_per_ip <= 0 ||
	       omr_bucket_take(&p->bucket, g->lim.rate_per_ip, omr_gate_burst(&g->lim), now_ms);
}

enum omr_gate_verdict omr_gate_enter(struct omr_gate *g, const char *ip, int64_t now_ms)
{
	struct omr_peer *p;
	if (g->lim.conns > 0 && g->open >= g->lim.conns)
		return omr_gate_refuse(g, OMR_GATE_FULL, ip, now_ms);
	p = omr_gate_peer(g, ip, 1, now_ms);
	if (!p)
		return omr_gate_refuse(g, OMR_GATE_FULL, ip, now_ms);
	if (g->lim.conns_per_ip > 0 && p->conns >= g->lim.conns_per_ip)
		return omr_gate_refuse(g, OMR_GATE_IP_FULL, ip, now_ms);
	if (!omr_gate_token(g, p, now_ms))
		return omr_gate_refuse(g, OMR_GATE_RATE, ip, now_ms);
	p->conns++;
	g->open++;
	atomic_store(&g->n_open, (uint64_t)g->open);
	atomic_fetch_add(&g->n_admitted, 1);
	return OMR_GATE_OK;
}

void omr_gate_leave(struct omr_gate *g, const char *ip)
{
	struct omr_peer *p = omr_gate_peer(g, ip, 0, 0);
	if (!p || p->conns <= 0)
		return; /* not counted in (a bug elsewhere): never go negative */
	p->conns--;
	g->open--;
	atomic_store(&g->n_open, (uint64_t)g->open);
}

enum omr_gate_verdict omr_gate_take(struct omr_gate *g, const char *ip, int64_t now_ms)
{
	struct omr_peer *p;
	if (g->lim.rate_per_ip <= 0) {
		atomic_fetch_add(&g->n_admitted, 1);
		return OMR_GATE_OK;
	}
	p = omr_gate_peer(g, ip, 1, now_ms);
	if (!p)
		return omr_gate_refuse(g, OMR_GATE_FULL, ip, now_ms);
	if (!omr_gate_token(g, p, now_ms))
		return omr_gate_refuse(g, OMR_GATE_RATE, ip, now_ms);
	atomic_fetch_add(&g->n_admitted, 1);
	return OMR_GATE_OK;
}

int64_t omr_gate_wait_ms(struct omr_gate *g, const char *ip, int64_t now_ms)
{
	struct omr_peer *p;
	if (g->lim.rate_per_ip <= 0)
		return 0;
	p = omr_gate_peer(g, ip, 0, now_ms);
	if (!p)
		return 0; /* never seen: a full bucket */
	omr_gate_refill(g, p, now_ms);
	if (p->bucket.tokens >= 1.0)
		return 0;
	return (int64_t)((1.0 - p->bucket.tokens) * 1000.0 / g->lim.rate_per_ip) + 1;
}

void omr_gate_get_stats(struct omr_gate *g, struct omr_gate_stats *st)
{
	st->admitted = atomic_load(&g->n_admitted);
	st->refused_full = atomic_load(&g->n_full);
	st->refused_ip = atomic_load(&g->n_ip);
	st->refused_rate = atomic_load(&g->n_rate);
	st->open = atomic_load(&g->n_open);
	st->peers = atomic_load(&g->n_peers);
}

/* ---- budgets ---- */

void omr_budget_init(struct omr_budget *b, const char *name, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
	b->max = max;
}

int omr_budget_take(struct omr_budget *b, int64_t now_ms)
{
	if (b->max && b->used >= b->max) {
		b->refused++;
		b->unlogged++;
		if (b->logged_ms == 0 || now_ms - b->logged_ms >= OMR_GATE_LOG_MS) {
			omr_log_warn("%s: %zu in flight, the most allowed; %llu refused since the "
				     "last report (senders are told to retry)", b->name, b->used,
				     (unsigned long long)b->unlogged);
			b->unlogged = 0;
			b->logged_ms = now_ms;
		}
		return 0;
	}
	b->used++;
	return 1;
}

void omr_budget_give(struct omr_budget *b)
{
	if (b->used > 0)
		b->used--;
}
