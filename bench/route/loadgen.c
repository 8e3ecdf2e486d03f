/*
 * loadgen.c: the load generator of bench/route_bench.py in C, for the
 * route and relay phases (load.mjs does the same in Node.js and is kept
 * for the idle phase and as a cross-check).
 *
 * Why a second one: the generator shares the machine's two cores with
 * Redis and the daemon, and Node.js spends ~400 us of CPU on each routed
 * conversation (five frames read, four written): a quarter of the machine
 * that the system under test then does not have. This one speaks the same
 * protocol subset over plain sockets and epoll, one thread, and costs a
 * small fraction of that, so that the figures measure the router.
 *
 *   loadgen route PORT TOKENS_FILE --seconds S (--rate R | --inflight W)
 *   loadgen relay PORT TOKENS_FILE --seconds S --window K
 *
 * Agents log in (auth, presence available), accept every offer, close and
 * wrap up; visitors say hello and each opens a new conversation when the
 * previous one is wrapped up. A conversation counts when its offer
 * reaches an agent's socket, its latency from the visitor's message. The
 * result is one JSON line on stdout, with load.mjs' fields.
 *
 * Frames are read as a client reads what it uses: the members the handlers
 * below read, found with the daemon's own quick reading (src/omr_jscan.c)
 * and decoded by jansson; an error frame, or one that reading does not take
 * for plain, is decoded whole. Decoding every frame whole (the assigned
 * frame carries the conversation, its messages and the customer panel:
 * 5 KB) was 60 % of this generator's CPU under saturation (perf), CPU the
 * system under test then did not have. Client frames are masked (RFC
 * 6455). Not a general websocket client: no fragmentation, no extensions.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "omr_jscan.h"

enum { AGENT, VISITOR };
enum { CONNECTING, HANDSHAKE, OPEN, CLOSED };

struct conn {
	int fd, kind, state, idx;
	unsigned char *r;
	size_t rlen, rcap;
	unsigned char *w;
	size_t wlen, wcap, woff;
	int ready, welcomed, n;
	double retry_at;       /* agent: resend auth at this time (0: no) */
	char conv[64];         /* relay: the conversation of this pair */
	uint32_t mask;
};

/* a conversation the route phase follows */
struct cv {
	struct cv *next;
	char id[64];
	double sent, early;    /* <0: unknown */
	int owner;             /* visitor index, -1: none */
};

static struct {
	int ep, port, mode;    /* mode 0 route, 1 relay */
	double seconds, rate, inflight, window;
	char **tokens;
	int ntokens;
	struct conn *agents, *visitors;
	int nvis;
	int stopping, counting;
	long routed, offers, errors, late, assigned, to_agent, to_visitor, to_agent_all, to_visitor_all;
	double *lat;
	size_t nlat, caplat;
	double *sent_at;       /* client_msg_id "r<n>" -> time */
	size_t nsent;
	struct cv *tab[65536];
	int *idle;
	int nidle;
	long cmid;
	struct { char key[40]; long n, bytes; } frames[32];
	int nframes;
} G;

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die("out of memory");
	return p;
}

/* ---- conversations ---- */

static unsigned cv_hash(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h & 65535;
}

static struct cv *cv_get(const char *id, int create)
{
	unsigned h = cv_hash(id);
	for (struct cv *c = G.tab[h]; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	if (!create)
		return NULL;
	struct cv *c = calloc(1, sizeof(*c));
	if (!c)
		die("out of memory");
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->sent = c->early = -1;
	c->owner = -1;
	c->next = G.tab[h];
	G.tab[h] = c;
	return c;
}

static void cv_drop(const char *id)
{
	struct cv **p = &G.tab[cv_hash(id)];
	for (; *p; p = &(*p)->next)
		if (strcmp((*p)->id, id) == 0) {
			struct cv *c = *p;
			*p = c->next;
			free(c);
			return;
		}
}

static void lat_add(double v)
{
	if (G.nlat == G.caplat) {
		G.caplat = G.caplat ? 2 * G.caplat : 4096;
		G.lat = xrealloc(G.lat, G.caplat * sizeof(double));
	}
	G.lat[G.nlat++] = v;
}

/* ---- sockets and frames ---- */

static void want_out(struct conn *c, int on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c };
	epoll_ctl(G.ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_flush(struct conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = write(c->fd, c->w + c->woff, c->wlen - c->woff);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_out(c, 1);
			return;
		}
		if (n <= 0) {
			c->state = CLOSED;
			return;
		}
		c->woff += (size_t)n;
	}
	c->woff = c->wlen = 0;
}

static void conn_put(struct conn *c, const void *p, size_t n)
{
	if (c->wlen + n > c->wcap) {
		c->wcap = (c->wlen + n) * 2;
		c->w = xrealloc(c->w, c->wcap);
	}
	memcpy(c->w + c->wlen, p, n);
	c->wlen += n;
}

/* a masked text frame (or op) with payload p */
static void ws_send_op(struct conn *c, int op, const char *p, size_t n)
{
	unsigned char h[14];
	size_t hl = 2;
	h[0] = (unsigned char)(0x80 | op);
	if (n < 126) {
		h[1] = (unsigned char)(0x80 | n);
	} else if (n < 65536) {
		h[1] = 0x80 | 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	unsigned char m[4] = { (unsigned char)(c->mask >> 24), (unsigned char)(c->mask >> 16),
			       (unsigned char)(c->mask >> 8), (unsigned char)c->mask };
	memcpy(h + hl, m, 4);
	hl += 4;
	int was_empty = c->wlen == 0;
	conn_put(c, h, hl);
	size_t at = c->wlen;
	conn_put(c, p, n);
	for (size_t i = 0; i < n; i++)
		c->w[at + i] ^= m[i & 3];
	if (was_empty)
		conn_flush(c);
}

static void ws_send(struct conn *c, json_t *o)
{
	if (c->state != OPEN) {
		json_decref(o);
		return;
	}
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s)
		ws_send_op(c, 1, s, strlen(s));
	free(s);
}

static void conn_open(struct conn *c, int kind, int idx)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->idx = idx;
	c->mask = (uint32_t)random();
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		die("socket: %s", strerror(errno));
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)G.port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)
		die("connect: %s", strerror(errno));
	c->state = CONNECTING;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	epoll_ctl(G.ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void conn_handshake(struct conn *c)
{
	char req[512];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
			 c->kind == AGENT ? "/agent" : "/chat", G.port,
			 c->kind == AGENT ? "omniroute.agent.v1" : "omniroute.chat.v1");
	c->state = HANDSHAKE;
	want_out(c, 0);
	conn_put(c, req, (size_t)n);
	conn_flush(c);
}

/* ---- the protocol ---- */

static void count_frame(struct conn *c, const char *type, size_t bytes)
{
	char key[40];
	snprintf(key, sizeof(key), "%s:%.24s", c->kind == AGENT ? "agent" : "chat", type);
	for (int i = 0; i < G.nframes; i++)
		if (strcmp(G.frames[i].key, key) == 0) {
			G.frames[i].n++;
			G.frames[i].bytes += (long)bytes;
			return;
		}
	if (G.nframes < 32) {
		snprintf(G.frames[G.nframes].key, sizeof(G.frames[0].key), "%s", key);
		G.frames[G.nframes].n = 1;
		G.frames[G.nframes++].bytes = (long)bytes;
	}
}

static void send_auth(struct conn *a)
{
	ws_send(a, json_pack("{s:s,s:s}", "type", "auth", "token", G.tokens[a->idx]));
}

static void visitor_write(struct conn *v)
{
	char id[32];
	long n = ++G.cmid;
	if ((size_t)n >= G.nsent) {
		size_t cap = G.nsent ? 2 * G.nsent : 65536;
		while (cap <= (size_t)n)
			cap *= 2;
		G.sent_at = xrealloc(G.sent_at, cap * sizeof(double));
		G.nsent = cap;
	}
	G.sent_at[n] = now_ms();
	snprintf(id, sizeof(id), "r%ld", n);
	ws_send(v, json_pack("{s:s,s:s,s:s}", "type", "message", "text",
			     G.mode == 0 ? "I have a question about my invoice" : "and another thing",
			     "client_msg_id", id));
}

static void visitor_next(int vi)
{
	if (G.stopping)
		return;
	if (G.rate > 0)
		G.idle[G.nidle++] = vi;
	else
		visitor_write(&G.visitors[vi]);
}

static const char *sget(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void on_error(const char *who, json_t *m)
{
	if (++G.errors < 5) {
		char *s = json_dumps(m, JSON_COMPACT);
		fprintf(stderr, "%s error %s\n", who, s ? s : "?");
		free(s);
	}
}

static void agent_frame(struct conn *a, json_t *m, const char *type)
{
	if (strcmp(type, "welcome") == 0) {
		a->welcomed = 1;
		ws_send(a, json_pack("{s:s,s:s}", "type", "presence", "status", "available"));
	} else if (strcmp(type, "presence") == 0 && !a->ready &&
		   strcmp(sget(m, "status") ? sget(m, "status") : "", "available") == 0) {
		a->ready = 1;
	} else if (strcmp(type, "error") == 0 && !a->ready && !a->welcomed) {
		a->retry_at = now_ms() + 200 + random() % 300; /* busy at log-in: again */
	} else if (strcmp(type, "offer") == 0) {
		const char *conv = sget(json_object_get(m, "conversation"), "id");
		G.offers++;
		ws_send(a, json_pack("{s:s,s:s}", "type", "accept", "offer",
				     sget(m, "offer") ? sget(m, "offer") : ""));
		if (G.mode == 0 && conv) {
			struct cv *c = cv_get(conv, 1);
			if (c->sent < 0) {
				c->early = now_ms();
			} else {
				if (G.counting) {
					lat_add(now_ms() - c->sent);
					G.routed++;
				}
				c->sent = -2; /* counted */
			}
		}
	} else if (strcmp(type, "assigned") == 0) {
		const char *conv = sget(json_object_get(m, "conversation"), "id");
		if (G.mode == 0 && conv)
			ws_send(a, json_pack("{s:s,s:s}", "type", "close", "conversation", conv));
		else if (conv)
			G.assigned++; /* relay: one conversation per visitor */
	} else if (strcmp(type, "status") == 0 && G.mode == 0) {
		const char *st = sget(m, "status");
		if (st && strcmp(st, "wrapup") == 0)
			ws_send(a, json_pack("{s:s,s:s,s:s,s:s}", "type", "wrapup", "conversation",
					     sget(m, "conversation") ? sget(m, "conversation") : "",
					     "reason", "other", "outcome", "resolved"));
	} else if (strcmp(type, "unassigned") == 0 && G.mode == 0) {
		const char *conv = sget(m, "conversation");
		struct cv *c = conv ? cv_get(conv, 0) : NULL;
		if (c) {
			int owner = c->owner;
			cv_drop(conv);
			if (owner >= 0)
				visitor_next(owner);
		}
	} else if (strcmp(type, "message") == 0 && G.mode == 1) {
		const char *dir = sget(json_object_get(m, "message"), "direction");
		char id[32];
		if (!dir || strcmp(dir, "in") != 0)
			return;
		G.to_agent_all++;
		if (G.counting)
			G.to_agent++;
		snprintf(id, sizeof(id), "x%ld", ++G.cmid);
		ws_send(a, json_pack("{s:s,s:s,s:s,s:s}", "type", "reply", "conversation",
				     sget(m, "conversation") ? sget(m, "conversation") : "", "text",
				     "Let me check that for you", "client_msg_id", id));
	} else if (strcmp(type, "error") == 0) {
		on_error("agent", m);
	}
}

static void visitor_frame(struct conn *v, json_t *m, const char *type)
{
	if (strcmp(type, "welcome") == 0) {
		v->ready = 1;
	} else if (strcmp(type, "ack") == 0 && G.mode == 0) {
		const char *id = sget(m, "client_msg_id"), *conv = sget(m, "conversation");
		long n = id && id[0] == 'r' ? atol(id + 1) : 0;
		if (!conv || n <= 0 || (size_t)n >= G.nsent)
			return;
		double t = G.sent_at[n];
		struct cv *c = cv_get(conv, 1);
		c->owner = v->idx;
		if (c->early >= 0) {
			if (G.counting) {
				lat_add(c->early - t);
				G.routed++;
			}
			c->early = -1;
			c->sent = -2;
		} else if (c->sent == -1) {
			c->sent = t;
		}
	} else if (strcmp(type, "ack") == 0 && !v->conv[0]) {
		const char *conv = sget(m, "conversation");
		if (conv)
			snprintf(v->conv, sizeof(v->conv), "%s", conv);
	} else if (strcmp(type, "message") == 0 && G.mode == 1) {
		G.to_visitor_all++;
		if (G.counting)
			G.to_visitor++;
		visitor_write(v);
	} else if (strcmp(type, "error") == 0) {
		on_error("visitor", m);
		if (G.mode == 0 && G.rate > 0)
			G.idle[G.nidle++] = v->idx;
	}
}

/* of a member that is an object, its member key only: { key: value } */
static json_t *frame_sub(struct omr_jscan_span v, const char *key, int *bad)
{
	const char *const keys[] = { key, NULL };
	json_t *x[1];
	if (!omr_jscan_get(v.p, v.p + v.n, keys, x)) {
		*bad = 1;
		return NULL;
	}
	json_t *o = json_object();
	if (x[0])
		json_object_set_new(o, key, x[0]);
	return o;
}

/* what the handlers read of a frame */
static json_t *frame_read(const unsigned char *p, size_t n)
{
	enum { TYPE, STATUS, OFFER, CONV, MSG, CMID };
	static const char *const keys[] = { "type", "status", "offer", "conversation", "message",
					    "client_msg_id", NULL };
	struct omr_jscan_span v[6] = { { NULL, 0 } };
	const char *s = (const char *)p;
	int bad = 0;

	if (!omr_jscan_members(s, s + n, keys, v) ||
	    (v[TYPE].n == 7 && memcmp(v[TYPE].p, "\"error\"", 7) == 0))
		return json_loadb(s, n, 0, NULL);
	json_t *m = json_object();
	for (int i = 0; keys[i]; i++) {
		json_t *x = NULL;
		if (!v[i].p)
			continue;
		if ((i == CONV || i == MSG) && v[i].p[0] == '{')
			x = frame_sub(v[i], i == CONV ? "id" : "direction", &bad);
		else
			x = omr_jscan_value(v[i], &bad);
		if (x)
			json_object_set_new(m, keys[i], x);
	}
	if (bad) {
		json_decref(m);
		return json_loadb(s, n, 0, NULL);
	}
	return m;
}

static void on_text(struct conn *c, const unsigned char *p, size_t n)
{
	json_t *m = frame_read(p, n);
	const char *type = sget(m, "type");
	if (!type) {
		G.errors++;
		json_decref(m);
		return;
	}
	count_frame(c, type, n);
	if (c->kind == AGENT)
		agent_frame(c, m, type);
	else
		visitor_frame(c, m, type);
	json_decref(m);
}

/* the frames in c's buffer; returns bytes used */
static size_t ws_parse(struct conn *c)
{
	size_t at = 0;
	while (c->rlen - at >= 2) {
		const unsigned char *h = c->r + at;
		int op = h[0] & 0x0f;
		uint64_t len = h[1] & 0x7f;
		size_t hl = 2;
		if (len == 126) {
			if (c->rlen - at < 4)
				break;
			len = ((uint64_t)h[2] << 8) | h[3];
			hl = 4;
		} else if (len == 127) {
			if (c->rlen - at < 10)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = (len << 8) | h[2 + i];
			hl = 10;
		}
		if (h[1] & 0x80)
			hl += 4; /* a server does not mask; skip it should one */
		if (c->rlen - at < hl + len)
			break;
		if (op == 1)
			on_text(c, h + hl, (size_t)len);
		else if (op == 9)
			ws_send_op(c, 10, (const char *)h + hl, (size_t)len);
		else if (op == 8)
			c->state = CLOSED;
		at += hl + (size_t)len;
	}
	return at;
}

static void conn_read(struct conn *c)
{
	for (;;) {
		if (c->rcap - c->rlen < 16384) {
			c->rcap = c->rcap ? 2 * c->rcap : 65536;
			c->r = xrealloc(c->r, c->rcap);
		}
		ssize_t n = read(c->fd, c->r + c->rlen, c->rcap - c->rlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			c->state = CLOSED;
			return;
		}
		c->rlen += (size_t)n;
		if (c->state == HANDSHAKE) {
			unsigned char *e = memmem(c->r, c->rlen, "\r\n\r\n", 4);
			if (!e)
				continue;
			if (c->rlen < 12 || memcmp(c->r + 9, "101", 3) != 0)
				die("handshake refused: %.*s", (int)(c->rlen < 200 ? c->rlen : 200), c->r);
			size_t used = (size_t)(e + 4 - c->r);
			memmove(c->r, c->r + used, c->rlen - used);
			c->rlen -= used;
			c->state = OPEN;
			if (c->kind == AGENT)
				send_auth(c);
			else
				ws_send(c, json_pack("{s:s,s:s}", "type", "hello", "name", "bench"));
		}
		size_t used = ws_parse(c);
		if (used) {
			memmove(c->r, c->r + used, c->rlen - used);
			c->rlen -= used;
		}
	}
}

static void poll_once(int timeout_ms)
{
	struct epoll_event ev[256];
	int n = epoll_wait(G.ep, ev, 256, timeout_ms);
	for (int i = 0; i < n; i++) {
		struct conn *c = ev[i].data.ptr;
		if (c->state == CLOSED)
			continue;
		if (c->state == CONNECTING && (ev[i].events & EPOLLOUT)) {
			int err = 0;
			socklen_t l = sizeof(err);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
			if (err)
				die("connect: %s", strerror(err));
			conn_handshake(c);
			continue;
		}
		if (ev[i].events & EPOLLOUT) {
			conn_flush(c);
			if (c->wlen == 0)
				want_out(c, 0);
		}
		if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			conn_read(c);
		if (c->state == CLOSED) {
			if (!G.stopping) {
				G.errors++;
				fprintf(stderr, "%s %d: connection closed\n",
					c->kind == AGENT ? "agent" : "visitor", c->idx);
			}
			epoll_ctl(G.ep, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
		}
	}
	double t = now_ms();
	for (int i = 0; i < G.ntokens; i++)
		if (G.agents[i].retry_at && G.agents[i].retry_at <= t) {
			G.agents[i].retry_at = 0;
			send_auth(&G.agents[i]);
		}
}

static void run_for(double ms)
{
	double end = now_ms() + ms;
	while (now_ms() < end)
		poll_once(1);
}

static int count_ready(struct conn *cs, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += cs[i].ready;
	return k;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double p)
{
	if (!G.nlat)
		return 0;
	size_t i = (size_t)(p / 100 * (double)G.nlat);
	return G.lat[i < G.nlat ? i : G.nlat - 1];
}

static json_t *frames_json(void)
{
	json_t *o = json_object();
	for (int i = 0; i < G.nframes; i++)
		json_object_set_new(o, G.frames[i].key, json_pack("{s:I,s:I}", "n",
								  (json_int_t)G.frames[i].n, "bytes",
								  (json_int_t)G.frames[i].bytes));
	return o;
}

static void wait_ready(struct conn *cs, int n, const char *what)
{
	double t0 = now_ms();
	while (count_ready(cs, n) < n) {
		poll_once(10);
		if (now_ms() - t0 > 120000)
			die("%d of %d %s ready after 120 s", count_ready(cs, n), n, what);
	}
}

static void route(void)
{
	for (int i = 0; i < G.ntokens; i++)
		conn_open(&G.agents[i], AGENT, i);
	wait_ready(G.agents, G.ntokens, "agents");
	G.nvis = G.inflight > 0 ? (int)G.inflight : (int)(G.rate * 0.25 > 50 ? G.rate * 0.25 + 0.999 : 50);
	G.visitors = calloc((size_t)G.nvis, sizeof(struct conn));
	G.idle = calloc((size_t)G.nvis + 1, sizeof(int));
	for (int i = 0; i < G.nvis; i++)
		conn_open(&G.visitors[i], VISITOR, i);
	wait_ready(G.visitors, G.nvis, "visitors");
	fprintf(stderr, "%d agents, %d visitors ready\n", G.ntokens, G.nvis);
	double t0;
	if (G.inflight > 0) {
		for (int i = 0; i < G.nvis; i++)
			visitor_write(&G.visitors[i]);
		run_for(1000); /* warm up */
		G.counting = 1;
		t0 = now_ms();
		run_for(G.seconds * 1000);
	} else {
		for (int i = 0; i < G.nvis; i++)
			G.idle[G.nidle++] = i;
		G.counting = 1;
		t0 = now_ms();
		double every = 1000 / G.rate, due = t0, end = t0 + G.seconds * 1000;
		while (now_ms() < end) {
			double t = now_ms();
			while (due <= t) {
				if (G.nidle)
					visitor_write(&G.visitors[G.idle[--G.nidle]]);
				else
					G.late++;
				due += every;
			}
			poll_once(1);
		}
	}
	G.counting = 0;
	double wall = (now_ms() - t0) / 1000;
	G.stopping = 1;
	qsort(G.lat, G.nlat, sizeof(double), cmp_double);
	json_t *out = json_pack("{s:I,s:f,s:f,s:f,s:I,s:I,s:I,s:f,s:o}", "routed", (json_int_t)G.routed,
				"per_s", G.routed / wall, "p50_ms", pct(50), "p99_ms", pct(99), "offers",
				(json_int_t)G.offers, "errors", (json_int_t)G.errors, "generator_behind",
				(json_int_t)G.late, "seconds", wall, "frames", frames_json());
	char *s = json_dumps(out, JSON_COMPACT);
	printf("%s\n", s);
	free(s);
	json_decref(out);
}

static int pairs_done(void)
{
	return (int)G.assigned;
}

static void relay(void)
{
	for (int i = 0; i < G.ntokens; i++)
		conn_open(&G.agents[i], AGENT, i);
	wait_ready(G.agents, G.ntokens, "agents");
	G.nvis = G.ntokens;
	G.visitors = calloc((size_t)G.nvis, sizeof(struct conn));
	for (int i = 0; i < G.nvis; i++) {
		conn_open(&G.visitors[i], VISITOR, i);
		wait_ready(&G.visitors[i], 1, "visitor");
		visitor_write(&G.visitors[i]);
	}
	double t0 = now_ms();
	while (pairs_done() < G.ntokens) {
		poll_once(10);
		if (now_ms() - t0 > 120000)
			die("%d of %d conversations assigned after 120 s", pairs_done(), G.ntokens);
	}
	fprintf(stderr, "%d conversations assigned\n", G.ntokens);
	for (int i = 0; i < G.nvis; i++)
		for (int k = 0; k < (int)(G.window > 0 ? G.window : 4); k++)
			visitor_write(&G.visitors[i]);
	run_for(1000);
	G.counting = 1;
	t0 = now_ms();
	run_for(G.seconds * 1000);
	G.counting = 0;
	double wall = (now_ms() - t0) / 1000;
	G.stopping = 1;
	json_t *out = json_pack("{s:f,s:f,s:I,s:f,s:I,s:I,s:o}", "to_agent_per_s", G.to_agent / wall,
				"to_visitor_per_s", G.to_visitor / wall, "errors", (json_int_t)G.errors,
				"seconds", wall, "to_agent", (json_int_t)G.to_agent_all, "to_visitor",
				(json_int_t)G.to_visitor_all, "frames", frames_json());
	char *s = json_dumps(out, JSON_COMPACT);
	printf("%s\n", s);
	free(s);
	json_decref(out);
}

static void read_tokens(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!*line)
			continue;
		G.tokens = xrealloc(G.tokens, (size_t)(G.ntokens + 1) * sizeof(char *));
		G.tokens[G.ntokens++] = strdup(line);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc < 4)
		die("usage: loadgen route|relay PORT TOKENS_FILE [--seconds S] [--rate R | --inflight W] "
		    "[--window K]");
	G.mode = strcmp(argv[1], "relay") == 0;
	if (!G.mode && strcmp(argv[1], "route") != 0)
		die("mode: route or relay");
	G.port = atoi(argv[2]);
	read_tokens(argv[3]);
	G.seconds = 10;
	for (int i = 4; i + 1 < argc; i += 2) {
		double v = atof(argv[i + 1]);
		if (strcmp(argv[i], "--seconds") == 0)
			G.seconds = v;
		else if (strcmp(argv[i], "--rate") == 0)
			G.rate = v;
		else if (strcmp(argv[i], "--inflight") == 0)
			G.inflight = v;
		else if (strcmp(argv[i], "--window") == 0)
			G.window = v;
		else
			die("unknown option %s", argv[i]);
	}
	if (!G.mode && G.rate <= 0 && G.inflight <= 0)
		G.rate = 100;
	srandom((unsigned)getpid());
	G.ep = epoll_create1(0);
	G.agents = calloc((size_t)G.ntokens, sizeof(struct conn));
	if (G.mode)
		relay();
	else
		route();
	fflush(stdout);
	_exit(0); /* the sockets go with the process */
}
