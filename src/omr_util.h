/*
 * omr_util: small helpers shared by the whole daemon: allocation that
 * aborts on exhaustion (like Redis' zmalloc: a daemon that cannot allocate
 * a few bytes cannot recover meaningfully), a growable buffer, a hash map,
 * identifiers, time, UTF-8 checks and constant-time comparison.
 */
#ifndef OMR_UTIL_H
#define OMR_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <omniroute/dlist.h>

#define OMR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define OMR_UNUSED(x) ((void)(x))

void *omr_malloc(size_t n);
void *omr_calloc(size_t n, size_t size);
void *omr_realloc(void *p, size_t n);
char *omr_strdup(const char *s);
char *omr_strndup(const char *s, size_t n);
char *omr_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *omr_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* free(*p) and set *p = NULL: no reachable pointer to freed memory. */
#define omr_free_and_null(p) do { free(*(p)); *(p) = NULL; } while (0)

/* Set *err_r (if err_r is not NULL) to a malloc'ed message; returns -1. */
int omr_err(char **err_r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Growable byte buffer, always NUL-terminated. */
struct omr_buf {
	char *data;
	size_t len;
	size_t cap;
};
void omr_buf_init(struct omr_buf *b);
void omr_buf_free(struct omr_buf *b);
void omr_buf_reset(struct omr_buf *b);
void omr_buf_append(struct omr_buf *b, const void *data, size_t len);
void omr_buf_puts(struct omr_buf *b, const char *s);
void omr_buf_printf(struct omr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the data to the caller (who frees it) and reset the buffer. */
char *omr_buf_steal(struct omr_buf *b, size_t *len_r);
/* One figure in Prometheus' text format, named omniroute_<name>; help is
 * one line. */
void omr_metric(struct omr_buf *b, const char *name, const char *type, const char *help,
		unsigned long long value);

/* Hash map from byte-string keys to pointers. Keys are copied. */
struct omr_map;
struct omr_map *omr_map_new(void);
/* free_value is called on values at omr_map_free/omr_map_del, may be NULL. */
void omr_map_free(struct omr_map *m, void (*free_value)(void *));
void *omr_map_get(const struct omr_map *m, const void *key, size_t klen);
/* Returns the previous value (not freed) or NULL. */
void *omr_map_put(struct omr_map *m, const void *key, size_t klen, void *value);
void *omr_map_del(struct omr_map *m, const void *key, size_t klen);
size_t omr_map_count(const struct omr_map *m);
/* Iterate; the callback must not modify the map. Stops when it returns non-zero. */
void omr_map_foreach(const struct omr_map *m,
		     int (*fn)(void *arg, const void *key, size_t klen, void *value), void *arg);
#define omr_map_gets(m, s) omr_map_get((m), (s), strlen(s))
#define omr_map_puts(m, s, v) omr_map_put((m), (s), strlen(s), (v))
#define omr_map_dels(m, s) omr_map_del((m), (s), strlen(s))

/* Time. */
int64_t omr_now_ms(void);        /* wall clock, ms since the epoch */
void omr_day(char *buf, size_t len); /* today, UTC: "2026-11-25" (reports by day) */
int64_t omr_mono_ms(void);       /* monotonic */
/* A channel's name as the stores and links carry it: 1..64 of [a-z0-9_-]. */
int omr_channel_name_ok(const char *s, size_t len);
/* A host name or address: 1..255 characters of [A-Za-z0-9.:_-]. */
int omr_host_ok(const char *h, size_t len);
/* "host:port" or "[v6]:port" with omr_host_ok and a port in 1..65535:
 * 0 with host (NUL-terminated) and port, else -1. */
int omr_hostport_split(const char *s, char host[256], int *port);

/* Identifiers: prefix + 10 chars of base32 time (ms) + 2 of the microsecond
 * within it + 10 chars of random (50 bits), lexically ordered by creation
 * time on one node (to the microsecond), e.g.
 * "c_1m89a290s1jaehpkme1x4q".
 * Written to buf (at least OMR_ID_MAX bytes). */
#define OMR_ID_MAX 40
const char *omr_id_new(char *buf, const char *prefix);

/* Fill buf with cryptographically random bytes; returns 0 or -1. */
int omr_random_bytes(void *buf, size_t len);
void omr_hex(const unsigned char *in, size_t len, char *out /* 2*len+1 */);
/* The value of a hex digit (either case), or -1. */
int omr_hex_value(int c);
/* Percent-encoding (RFC 3986): all but unreserved characters. Caller frees. */
char *omr_url_encode(const char *s);

/* Characters (code points) of a UTF-8 string. */
size_t omr_utf8_chars(const char *s);
/* 1 if s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
int omr_utf8_valid(const char *s, size_t len);
/* The code point of the UTF-8 character at s (len > 0 bytes left) and its
 * length in *len_r; -1 (length 1) for a byte that starts no valid one. */
long omr_utf8_decode(const char *s, size_t len, size_t *len_r);
/* HMAC-SHA256 as lower-case hex (64 characters and a NUL). */
void omr_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
			 char out[65]);
/* A received signature ("sha256=<hex>" or "<hex>", any case) checked in
 * constant time against HMAC-SHA256(key, data); 1 if it matches. */
int omr_signature_ok(const char *received, const void *key, size_t key_len, const void *data,
		     size_t len);
/* HMAC-SHA256 as base64 (44 characters and a NUL), as X signs. */
void omr_hmac_sha256_base64(const void *key, size_t key_len, const void *data, size_t len,
			    char out[45]);
/* "sha256=<base64>" checked in constant time against HMAC-SHA256(key, data). */
int omr_signature_b64_ok(const char *received, const void *key, size_t key_len,
			 const void *data, size_t len);
/* Constant-time comparison of two byte strings; 1 if equal. */
int omr_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Parse a duration "250ms", "5s", "2m", "1h", "1d" or a bare number of
 * seconds into milliseconds; returns 0 or -1. */
int omr_parse_duration_ms(const char *s, long long *ms_r);
/* A duration for people: "24 hours", "90 minutes", "3 seconds". */
void omr_format_duration(long long ms, char *out, size_t len);
/* Parse a decimal integer, the whole string; returns 0 or -1. */
int omr_parse_ll(const char *s, long long *v_r);
/* NULL-terminated string lists: a deep copy (NULL for NULL), its free, and
 * whether one holds s */
char **omr_strv_dup(char *const *v);
void omr_strv_free(char **v);
int omr_strv_has(char *const *v, const char *s);

/* Read a whole file (up to max bytes); returns malloc'ed NUL-terminated data. */
char *omr_read_file(const char *path, size_t max, size_t *len_r, char **err_r);
/* Directory part of a path, malloc'ed ("." for none). */
char *omr_dirname(const char *path);
/* Join a relative path to a directory (absolute paths are returned as is). */
char *omr_path_join(const char *dir, const char *path);

#endif
