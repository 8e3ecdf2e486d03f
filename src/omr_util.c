/*
 * omr_util: see omr_util.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "omr_log.h"
#include "omr_util.h"

static void omr_oom(size_t n)
{
	omr_log_error("out of memory allocating %zu bytes", n);
	abort();
}

void *omr_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		omr_oom(n);
	return p;
}

void *omr_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		omr_oom(n * size);
	return p;
}

void *omr_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		omr_oom(n);
	return q;
}

char *omr_strdup(const char *s)
{
	return s ? omr_strndup(s, strlen(s)) : NULL;
}

char *omr_strndup(const char *s, size_t n)
{
	char *p = omr_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *omr_vasprintf(const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return omr_strdup("(format error)");
	char *p = omr_malloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *omr_asprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = omr_vasprintf(fmt, ap);
	va_end(ap);
	return p;
}

int omr_err(char **err_r, const char *fmt, ...)
{
	if (err_r) {
		va_list ap;
		va_start(ap, fmt);
		free(*err_r);
		*err_r = omr_vasprintf(fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- buffer ---- */

void omr_buf_init(struct omr_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void omr_buf_free(struct omr_buf *b)
{
	free(b->data);
	omr_buf_init(b);
}

void omr_buf_reset(struct omr_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static void omr_buf_reserve(struct omr_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = omr_realloc(b->data, cap);
	b->cap = cap;
}

void omr_buf_append(struct omr_buf *b, const void *data, size_t len)
{
	omr_buf_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void omr_buf_puts(struct omr_buf *b, const char *s)
{
	omr_buf_append(b, s, strlen(s));
}

void omr_metric(struct omr_buf *b, const char *name, const char *type, const char *help,
		unsigned long long value)
{
	omr_buf_printf(b, "# HELP omniroute_%s %s\n# TYPE omniroute_%s %s\nomniroute_%s %llu\n", name,
		       help, name, type, name, value);
}

void omr_buf_printf(struct omr_buf *b, const char *fmt, ...)
{
	va_list ap, cp;
	va_start(ap, fmt);
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n > 0) {
		omr_buf_reserve(b, (size_t)n);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		b->len += (size_t)n;
	}
	va_end(ap);
}

char *omr_buf_steal(struct omr_buf *b, size_t *len_r)
{
	if (!b->data)
{
		omr_buf_reserve(b, 0);
		b->data[0] = '\0';
	}
	char *p = b->data;
	if (len_r)
		*len_r = b->len;
	omr_buf_init(b);
	return p;
}

/* ---- hash map: open hashing with chains, FNV-1a ---- */

struct omr_map_entry {
	struct omr_map_entry *next;
	uint64_t hash;
	void *value;
	size_t klen;
	unsigned char key[];
};

struct omr_map {
	struct omr_map_entry **buckets;
	size_t nbuckets;
	size_t count;
};

static uint64_t omr_map_hash(const void *key, size_t klen)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < klen; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

struct omr_map *omr_map_new(void)
{
	struct omr_map *m = omr_calloc(1, sizeof(*m));
	m->nbuckets = 16;
	m->buckets = omr_calloc(m->nbuckets, sizeof(*m->buckets));
	return m;
}

void omr_map_free(struct omr_map *m, void (*free_value)(void *))
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct omr_map_entry *e = m->buckets[i];
		while (e) {
			struct omr_map_entry *next = e->next;
			if (free_value)
				free_value(e->value);
			free(e);
			e = next;
		}
	}
	free(m->buckets);
	free(m);
}

static struct omr_map_entry **omr_map_slot(const struct omr_map *m, const void *key,
					   size_t klen, uint64_t h)
{
	struct omr_map_entry **pe = &m->buckets[h & (m->nbuckets - 1)];
	while (*pe) {
		if ((*pe)->hash == h && (*pe)->klen == klen && memcmp((*pe)->key, key, klen) == 0)
			break;
		pe = &(*pe)->next;
	}
	return pe;
}

void *omr_map_get(const struct omr_map *m, const void *key, size_t klen)
{
	struct omr_map_entry **pe = omr_map_slot(m, key, klen, omr_map_hash(key, klen));
	return *pe ? (*pe)->value : NULL;
}

static void omr_map_grow(struct omr_map *m)
{
	size_t n = m->nbuckets * 2;
	struct omr_map_entry **b = omr_calloc(n, sizeof(*b));
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct omr_map_entry *e = m->buckets[i];
		while (e) {
			struct omr_map_entry *next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

void *omr_map_put(struct omr_map *m, const void *key, size_t klen, void *value)
{
	uint64_t h = omr_map_hash(key, klen);
	struct omr_map_entry **pe = omr_map_slot(m, key, klen, h);
	if (*pe) {
		void *old = (*pe)->value;
		(*pe)->value = value;
		return old;
	}
	struct omr_map_entry *e = omr_malloc(sizeof(*e) + klen);
	e->next = NULL;
	e->hash = h;
	e->value = value;
	e->klen = klen;
	memcpy(e->key, key, klen);
	*pe = e;
	if (++m->count > m->nbuckets)
		omr_map_grow(m);
	return NULL;
}

void *omr_map_del(struct omr_map *m, const void *key, size_t klen)
{
	struct omr_map_entry **pe = omr_map_slot(m, key, klen, omr_map_hash(key, klen));
	if (!*pe)
		return NULL;
	struct omr_map_entry *e = *pe;
	void *v = e->value;
	*pe = e->next;
	free(e);
	m->count--;
	return v;
}

size_t omr_map_count(const struct omr_map *m)
{
	return m->count;
}

void omr_map_foreach(const struct omr_map *m,
		     int (*fn)(void *arg, const void *key, size_t klen, void *value), void *arg)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct omr_map_entry *e = m->buckets[i]; e; e = e->next)
			if (fn(arg, e->key, e->klen, e->value))
				return;
}

/* ---- time and ids ---- */

int64_t omr_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void omr_day(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

int64_t omr_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int omr_channel_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > 64)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return 0;
	return 1;
}

int omr_host_ok(const char *h, size_t len)
{
	if (len == 0 || len > 255)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = h[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == ':' || ch == '-' || ch == '_'))
			return 0;
	}
	return 1;
}

int omr_hostport_split(const char *s, char host[256], int *port)
{
	const char *colon = strrchr(s, ':');
	size_t hlen;
	long long v;

	if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    omr_parse_ll(colon + 1, &v) < 0 || v < 1 || v > 65535)
		return -1;
	if (s[0] == '[') {
		if (colon == s || colon[-1] != ']')
			return -1;
		s++;
		colon--;
	}
	hlen = (size_t)(colon - s);
	if (!omr_host_ok(s, hlen))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	*port = (int)v;
	return 0;
}

int omr_random_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The random part of ids: the same getrandom(2) bytes, drawn 512 at a
 * time per thread rather than one system call per id (every message and
 * conversation has one). Not for secrets: they use omr_random_bytes. */
static int omr_id_random(unsigned char *out, size_t len)
{
	static _Thread_local unsigned char pool[512];
	static _Thread_local size_t left;
	if (left < len) {
		if (omr_random_bytes(pool, sizeof(pool)) != 0)
			return -1;
		left = sizeof(pool);
	}
	memcpy(out, pool + sizeof(pool) - left, len);
	memset(pool + sizeof(pool) - left, 0, len);
	left -= len;
	return 0;
}

const char *omr_id_new(char *buf, const char *prefix)
{
	static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz"; /* Crockford */
	struct timespec ts;
	uint64_t t, us;
	unsigned char rnd[10];
	size_t pl = strlen(prefix);
	char *p;

	clock_gettime(CLOCK_REALTIME, &ts);
	t = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	us = (uint64_t)(ts.tv_nsec / 1000) % 1000;
	if (pl > OMR_ID_MAX - 24)
		pl = OMR_ID_MAX - 24;
	memcpy(buf, prefix, pl);
	p = buf + pl;
	/* 10 characters of time cover 2^50 ms (until the year 37648) */
	for (int i = 9; i >= 0; i--) {
		p[i] = b32[t & 31];
		t >>= 5;
	}
	/* then the microsecond within it (0..999 < 32^2), so that ids made in
	 * the same millisecond still sort in the order they were made */
	p[10] = b32[us >> 5];
	p[11] = b32[us & 31];
	p += 12;
	if (omr_id_random(rnd, sizeof(rnd)) != 0) {
		/* getrandom(2) does not fail once the pool is initialised;
		 * fall back to the clock so ids stay unique per process. */
		uint64_t c = (uint64_t)omr_mono_ms() ^ (uint64_t)getpid();
		memcpy(rnd, &c, sizeof(c));
	}
	for (int i = 0; i < 10; i++)
		p[i] = b32[rnd[i] & 31];
	p[10] = '\0';
	return buf;
}

int omr_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void omr_hex(const unsigned char *in, size_t len, char *out)
{
	static const char h[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = h[in[i] >> 4];
		out[2 * i + 1] = h[in[i] & 15];
	}
	out[2 * len] = '\0';
}

char *omr_url_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = omr_malloc(n * 3 + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* ---- UTF-8 and comparison ---- */

size_t omr_utf8_chars(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

long omr_utf8_decode(const char *str, size_t len, size_t *len_r)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned c = s[0];
	size_t n;
	long cp;
	*len_r = 1;
	if (c < 0x80)
		return (long)c;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		cp = c & 0x07;
	} else {
		return -1;
	}
	if (n >= len) /* truncated sequence */
		return -1;
	for (size_t k = 1; k <= n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len_r = n + 1;
	return cp;
}

int omr_utf8_valid(const char *str, size_t len)
{
	size_t i = 0, n;
	while (i < len) {
		if (omr_utf8_decode(str + i, len - i, &n) < 0)
			return 0;
		i += n;
	}
	return 1;
}

void omr_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
			 char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, md, &mdlen))
		memset(md, 0, sizeof(md));
	omr_hex(md, 32, out);
}

int omr_signature_ok(const char *received, const void *key, size_t key_len, const void *data,
		     size_t len)
{
	char want[65], got[65];
	size_t n;
	if (!received)
		return 0;
	if (strncasecmp(received, "sha256=", 7) == 0)
		received += 7;
	n = strlen(received);
	if (n != 64)
		return 0;
	for (size_t i = 0; i < 64; i++)
		got[i] = (char)((received[i] >= 'A' && received[i] <= 'F') ? received[i] + 32 : received[i]);
	got[64] = '\0';
	omr_hmac_sha256_hex(key, key_len, data, len, want);
	return omr_ct_equal(want, 64, got, 64);
}

void omr_hmac_sha256_base64(const void *key, size_t key_len, const void *data, size_t len,
			    char out[45])
{
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, md, &mdlen))
		memset(md, 0, sizeof(md));
	EVP_EncodeBlock((unsigned char *)out, md, 32); /* 44 characters and a NUL */
}

int omr_signature_b64_ok(const char *received, const void *key, size_t key_len,
			 const void *data, size_t len)
{
	char want[45];
	if (!received)
		return 0;
	if (strncasecmp(received, "sha256=", 7) == 0)
		received += 7;
	omr_hmac_sha256_base64(key, key_len, data, len, want);
	return omr_ct_equal(want, 44, received, strlen(received));
}

int omr_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return 0;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

/* ---- parsing ---- */

void omr_format_duration(long long ms, char *out, size_t len)
{
	static const struct {
		long long ms;
		const char *one, *many;
	} units[] = { { 86400000, "day", "days" }, { 3600000, "hour", "hours" },
		      { 60000, "minute", "minutes" }, { 1000, "second", "seconds" } };
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ms >= units[i].ms && ms % units[i].ms == 0) {
			long long n = ms / units[i].ms;
			snprintf(out, len, "%lld %s", n, n == 1 ? units[i].one : units[i].many);
			return;
		}
	snprintf(out, len, "%lld ms", ms);
}

int omr_parse_ll(const char *s, long long *v_r)
{
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*v_r = v;
	return 0;
}

int omr_parse_duration_ms(const char *s, long long *ms_r)
{
	char *end;
	double v;
	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	double mult;
	if (!*end || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mult = 60000;
	else if (strcmp(end, "h") == 0)
		mult = 3600000;
	else if (strcmp(end, "d") == 0)
		mult = 86400000;
	else
		return -1;
	v *= mult;
	if (v > 9.0e15)
		return -1;
	*ms_r = (long long)v;
	return 0;
}

/* ---- files and paths ---- */

char *omr_read_file(const char *path, size_t max, size_t *len_r, char **err_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct omr_buf b;
	char chunk[8192];

	if (fd == -1) {
		omr_err(err_r, "%s: %s", path, strerror(errno));
		return NULL;
	}
	omr_buf_init(&b);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			omr_err(err_r, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			omr_err(err_r, "%s: larger than %zu bytes", path, max);
			goto fail;
		}
		omr_buf_append(&b, chunk, (size_t)n);
	}
	close(fd);
	return omr_buf_steal(&b, len_r);
fail:
	close(fd);
	omr_buf_free(&b);
	return NULL;
}

char *omr_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return omr_strdup(".");
	if (slash == path)
		return omr_strdup("/");
	return omr_strndup(path, (size_t)(slash - path));
}

char *omr_path_join(const char *dir, const char *path)
{
	if (path[0] == '/' || !dir || !*dir)
		return omr_strdup(path);
	return omr_asprintf("%s/%s", dir, path);
}

char **omr_strv_dup(char *const *v)
{
	size_t n = 0;
	char **out;
	if (!v)
		return NULL;
	while (v[n])
		n++;
	out = omr_calloc(n + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		out[i] = omr_strdup(v[i]);
	return out;
}

void omr_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int omr_strv_has(char *const *v, const char *s)
{
	for (size_t i = 0; v && s && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}
