/* Unit tests: omr_util, omr_password, Redis URL parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "omr_password.h"
#include "omr_redis.h"
#include "omr_retry.h"
#include "omr_util.h"
#include "omr_webhook.h"

static void test_utf8(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		int valid;
	} cases[] = {
		{ "", 0, 1 },
		{ "hello", 5, 1 },
		{ "caf\xc3\xa9", 5, 1 },                  /* é */
		{ "\xe2\x82\xac", 3, 1 },                 /* € */
		{ "\xf0\x9f\x98\x80", 4, 1 },             /* emoji */
		{ "\xc3", 1, 0 },                         /* truncated */
		{ "\xe2\x82", 2, 0 },                     /* truncated */
		{ "\xc0\xaf", 2, 0 },                     /* overlong / */
		{ "\xe0\x80\xaf", 3, 0 },                 /* overlong */
		{ "\xed\xa0\x80", 3, 0 },                 /* surrogate */
		{ "\xf4\x90\x80\x80", 4, 0 },             /* > U+10FFFF */
		{ "\xff", 1, 0 },
		{ "a\x80z", 3, 0 },                       /* stray continuation */
		{ "a\0b", 3, 1 },                         /* NUL is valid UTF-8 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (omr_utf8_valid(cases[i].s, cases[i].len) != cases[i].valid)
			fail_msg("case %zu: expected %d", i, cases[i].valid);
	}
}

static void test_duration(void **state)
{
	static const struct {
		const char *s;
		int ok;
		long long ms;
	} cases[] = {
		{ "250ms", 0, 250 }, { "5s", 0, 5000 }, { "5", 0, 5000 }, { "2m", 0, 120000 },
		{ "1h", 0, 3600000 }, { "7d", 0, 604800000 }, { "1.5s", 0, 1500 },
		{ "", -1, 0 }, { "s", -1, 0 }, { "5x", -1, 0 }, { "-1s", -1, 0 },
		{ "99999999999999999d", -1, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long ms = -1;
		int rc = omr_parse_duration_ms(cases[i].s, &ms);
		if (rc != cases[i].ok || (rc == 0 && ms != cases[i].ms))
			fail_msg("'%s': rc %d ms %lld", cases[i].s, rc, ms);
	}
}

static void test_parse_ll(void **state)
{
	long long v;
	assert_int_equal(omr_parse_ll("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(omr_parse_ll("-7", &v), 0);
	assert_int_equal(v, -7);
	assert_int_equal(omr_parse_ll("", &v), -1);
	assert_int_equal(omr_parse_ll("4x", &v), -1);
	assert_int_equal(omr_parse_ll("99999999999999999999", &v), -1);
}

static void test_ids(void **state)
{
	char a[OMR_ID_MAX], b[OMR_ID_MAX];
	omr_id_new(a, "c_");
	omr_id_new(b, "c_");
	assert_int_equal(strlen(a), 24);
	assert_memory_equal(a, "c_", 2);
	assert_string_not_equal(a, b);
	/* time-ordered to the microsecond: the time part (ms, then µs) of
	 * a later id is not smaller, also when many are made in one ms */
	assert_true(memcmp(a, b, 14) <= 0);
	for (int i = 0; i < 2000; i++) {
		omr_id_new(b, "c_");
		assert_true(memcmp(a, b, 14) <= 0);
		memcpy(a, b, sizeof(a));
	}
	for (const char *p = a + 2; *p; p++)
		assert_non_null(strchr("0123456789abcdefghjkmnpqrstvwxyz", *p));
}

static void test_map(void **state)
{
	struct omr_map *m = omr_map_new();
	char key[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_null(omr_map_puts(m, key, (void *)(intptr_t)(i + 1)));
	}
	assert_int_equal(omr_map_count(m), 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal((intptr_t)omr_map_gets(m, key), i + 1);
	}
	assert_int_equal((intptr_t)omr_map_puts(m, "k5", (void *)7), 6);
	assert_int_equal((intptr_t)omr_map_dels(m, "k5"), 7);
	assert_null(omr_map_gets(m, "k5"));
	assert_null(omr_map_dels(m, "nope"));
	assert_int_equal(omr_map_count(m), 999);
	uint64_t id = 12345;
	omr_map_put(m, &id, sizeof(id), (void *)99);
	assert_int_equal((intptr_t)omr_map_get(m, &id, sizeof(id)), 99);
	omr_map_free(m, NULL);
}

static void test_buf(void **state)
{
	struct omr_buf b;
	size_t len;
	omr_buf_init(&b);
	omr_buf_puts(&b, "a");
	omr_buf_printf(&b, "%d-%s", 42, "x");
	for (int i = 0; i < 1000; i++)
		omr_buf_append(&b, "z", 1);
	assert_int_equal(b.len, 1005);
	assert_memory_equal(b.data, "a42-xz", 6);
	char *s = omr_buf_steal(&b, &len);
	assert_int_equal(len, 1005);
	assert_int_equal(s[len], '\0');
	assert_null(b.data);
	free(s);
}

static void test_ct_equal(void **state)
{
	assert_true(omr_ct_equal("abc", 3, "abc", 3));
	assert_false(omr_ct_equal("abc", 3, "abd", 3));
	assert_false(omr_ct_equal("abc", 3, "abcd", 4));
	assert_true(omr_ct_equal("", 0, "", 0));
}

static void test_paths(void **state)
{
	char *s = omr_dirname("/etc/omniroute/omniroute.yaml");
	assert_string_equal(s, "/etc/omniroute");
	free(s);
	s = omr_dirname("omniroute.yaml");
	assert_string_equal(s, ".");
	free(s);
	s = omr_path_join("/etc/omniroute", "routing.yaml");
	assert_string_equal(s, "/etc/omniroute/routing.yaml");
	free(s);
	s = omr_path_join("/etc/omniroute", "/abs/x");
	assert_string_equal(s, "/abs/x");
	free(s);
}

static void test_redis_url(void **state)
{
	struct omr_redis_target t;
	char *err = NULL;

	assert_int_equal(omr_redis_target_parse("redis://localhost", &t, &err), 0);
	assert_string_equal(t.host, "localhost");
	assert_int_equal(t.port, 6379);
	omr_redis_target_free(&t);

	assert_int_equal(omr_redis_target_parse("redis://:s3cret@10.0.0.5:6380/2", &t, &err), 0);
	assert_string_equal(t.host, "10.0.0.5");
	assert_int_equal(t.port, 6380);
	assert_int_equal(t.db, 2);
	assert_string_equal(t.password, "s3cret");
	assert_null(t.username);
	omr_redis_target_free(&t);

	/* an ACL user: redis://user:password@ (the password may hold ':') */
	assert_int_equal(omr_redis_target_parse("redis://omr:pa:ss@10.0.0.5:6380", &t, &err), 0);
	assert_string_equal(t.username, "omr");
	assert_string_equal(t.password, "pa:ss");
	assert_string_equal(t.host, "10.0.0.5");
	struct omr_redis_target copy;
	omr_redis_target_copy(&copy, &t);
	assert_string_equal(copy.username, "omr");
	omr_redis_target_free(&copy);
	omr_redis_target_free(&t);
	assert_int_equal(omr_redis_target_parse("redis://s3cret@h", &t, &err), 0);
	assert_null(t.username);
	assert_string_equal(t.password, "s3cret");
	omr_redis_target_free(&t);

	assert_int_equal(omr_redis_target_parse("unix:/run/redis.sock?db=3", &t, &err), 0);
	assert_string_equal(t.path, "/run/redis.sock");
	assert_int_equal(t.db, 3);
	omr_redis_target_free(&t);

	assert_int_equal(omr_redis_target_parse("unix:///run/redis.sock", &t, &err), 0);
	assert_string_equal(t.path, "/run/redis.sock");
	omr_redis_target_free(&t);

	static const char *bad[] = { "http://x", "redis://", "redis://h:0", "redis://h:99999",
				     "redis://h/x", "unix:relative", "unix:/x?db=z", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (omr_redis_target_parse(bad[i], &t, &err) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_non_null(strstr(err, "bad Redis URL"));
	}
	free(err);
}

static void test_password(void **state)
{
	char *err = NULL;
	char *h = omr_password_hash("s3cret", 1000, &err);
	assert_non_null(h);
	assert_int_equal(strncmp(h, "$pbkdf2-sha256$1000$", 20), 0);
	assert_int_equal(omr_password_verify(h, "s3cret", &err), 1);
	assert_int_equal(omr_password_verify(h, "s3cret ", &err), 0);
	assert_int_equal(omr_password_verify(h, "", &err), 0);
	assert_int_equal(omr_password_check_format(h, &err), 0);
	free(h);
	static const char *bad[] = { "plain", "$pbkdf2-sha256$10$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAA",
				     "$pbkdf2-sha256$1000$$AAAA", "$pbkdf2-sha256$1000$!!!!$AAAA",
				     "$pbkdf2-sha256$x$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAA" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (omr_password_check_format(bad[i], &err) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(omr_password_verify(bad[i], "x", &err), -1);
	}
	free(err);
}

/* RFC 4231 test case 2, as providers sign: hex (Meta) and base64 (X). */
static void test_token(void **state)
{
	static const char *const bad[] = {
		"clear-text-token-0123456789",                /* not a hash */
		"$sha256$",                                   /* no digest */
		"$sha256$0123",                               /* short */
		"$sha256$zz11111111111111111111111111111111111111111111111111111111111111",
		"$sha256$1111111111111111111111111111111111111111111111111111111111111111a",
		"$SHA256$1111111111111111111111111111111111111111111111111111111111111111",
	};
	unsigned char d[32], e[32];
	char *err = NULL, *h, *t;

	/* the stored form is "$sha256$" and the hex SHA-256 (as sha256sum) */
	h = omr_token_hash("alice-token-0123456789", &err);
	assert_string_equal(h, "$sha256$965b04f03a8200d4bff70f6df635c1d4d3e9c9a1d164d415efc95b9304bfbaf2");
	assert_int_equal(omr_token_parse(h, d, &err), 0);
	assert_int_equal(omr_token_digest("alice-token-0123456789", e), 0);
	assert_memory_equal(d, e, 32);
	free(h);
	/* upper-case hex is the same digest */
	assert_int_equal(omr_token_parse("$sha256$965B04F03A8200D4BFF70F6DF635C1D4D3E9C9A1D164D415EFC95B9304BFBAF2",
					 e, &err), 0);
	assert_memory_equal(d, e, 32);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (omr_token_parse(bad[i], d, &err) == 0)
			fail_msg("stored token \"%s\" accepted", bad[i]);
		if (i == 0) /* a clear-text token is never echoed: it is the secret */
			assert_null(strstr(err, "0123456789"));
		free(err);
		err = NULL;
	}
	/* fewer than 22 characters (16 bytes in base64url) is no token */
	assert_null(omr_token_hash("0123456789abcdefghij", &err));
	free(err);
	err = NULL;
	assert_int_equal(omr_token_digest("0123456789abcdefghij", d), -1);
	assert_int_equal(omr_token_digest(NULL, d), -1);
	/* generated: 32 random bytes, base64url without padding */
	t = omr_token_generate(&err);
	assert_int_equal(strlen(t), 43);
	assert_int_equal(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	h = omr_token_generate(&err);
	assert_string_not_equal(t, h);
	free(h);
	h = omr_token_hash(t, &err);
	assert_non_null(h);
	free(h);
	free(t);
}

static void test_signatures(void **state)
{
	static const char key[] = "Jefe", data[] = "what do ya want for nothing?";
	static const char hex[] = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	char out[65], b64[45];
	omr_hmac_sha256_hex(key, 4, data, strlen(data), out);
	assert_string_equal(out, hex);
	omr_hmac_sha256_base64(key, 4, data, strlen(data), b64);
	assert_string_equal(b64, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
	assert_true(omr_signature_ok("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
				     key, 4, data, strlen(data)));
	assert_true(omr_signature_ok("SHA256=5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843",
				     key, 4, data, strlen(data)));
	assert_false(omr_signature_ok("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3844",
				      key, 4, data, strlen(data)));
	assert_false(omr_signature_ok("sha256=5bdc", key, 4, data, strlen(data)));
	assert_false(omr_signature_ok("", key, 4, data, strlen(data)));
	assert_false(omr_signature_ok(NULL, key, 4, data, strlen(data)));
	assert_true(omr_signature_b64_ok("sha256=W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=", key, 4,
					 data, strlen(data)));
	assert_false(omr_signature_b64_ok("sha256=W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEQ=", key,
					  4, data, strlen(data)));
	assert_false(omr_signature_b64_ok("sha256=", key, 4, data, strlen(data)));
	assert_false(omr_signature_b64_ok(NULL, key, 4, data, strlen(data)));
	/* the hex form is not accepted where base64 is expected */
	assert_false(omr_signature_b64_ok(hex, key, 4, data, strlen(data)));
}

static void test_meta_challenge(void **state)
{
	const char *c = omr_webhook_meta_challenge("subscribe", "tok", "1158201444", "tok");
	assert_non_null(c);
	assert_string_equal(c, "1158201444");
	assert_null(omr_webhook_meta_challenge("subscribe", "tok2", "1", "tok"));
	assert_null(omr_webhook_meta_challenge("subscribe", "to", "1", "tok"));
	assert_null(omr_webhook_meta_challenge("unsubscribe", "tok", "1", "tok"));
	assert_null(omr_webhook_meta_challenge("subscribe", "tok", "", "tok"));
	assert_null(omr_webhook_meta_challenge("subscribe", "tok", "<script>x</script> y", "tok"));
	assert_null(omr_webhook_meta_challenge(NULL, "tok", "1", "tok"));
	assert_null(omr_webhook_meta_challenge("subscribe", NULL, "1", "tok"));
	char longc[200];
	memset(longc, '7', sizeof(longc) - 1);
	longc[sizeof(longc) - 1] = '\0';
	assert_null(omr_webhook_meta_challenge("subscribe", "tok", longc, "tok"));
}

/* X's CRC answer signs the token: only tokens that cannot be a JSON body
 * are answered. */
static void test_crc_token(void **state)
{
	static const char *const good[] = {
		"OTA5ZjBlNzYtNGQ1Yi00N2Q4LWE5MjQtYjVmZGQ0YzM4ZmY1", "challenge-123", "a+b/c==",
		"a_b-c", "x",
	};
	static const char *const bad[] = {
		"", "{\"for_user_id\":\"1\"}", "[1]", " abc", "abc ", "a.b", "a%2Bb", "a\nb",
		"\xc3\xa9t\xc3\xa9", "\"x\"",
	};
	char longt[OMR_WEBHOOK_CRC_TOKEN_MAX + 2];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(omr_webhook_crc_token_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (omr_webhook_crc_token_ok(bad[i]))
			fail_msg("CRC token \"%s\" accepted", bad[i]);
	assert_false(omr_webhook_crc_token_ok(NULL));
	memset(longt, 'A', sizeof(longt) - 1);
	longt[sizeof(longt) - 1] = '\0';
	assert_false(omr_webhook_crc_token_ok(longt));
	longt[OMR_WEBHOOK_CRC_TOKEN_MAX] = '\0';
	assert_true(omr_webhook_crc_token_ok(longt));
}

static void test_retry_delay(void **state)
{
	/* doubling from the first delay, jitter +-25% (0.5: none) */
	assert_int_equal(omr_retry_delay(2, NULL, 1000, 60000, 0.5), 1000);
	assert_int_equal(omr_retry_delay(3, NULL, 1000, 60000, 0.5), 2000);
	assert_int_equal(omr_retry_delay(5, NULL, 1000, 60000, 0.5), 8000);
	assert_int_equal(omr_retry_delay(2, NULL, 1000, 60000, 0.0), 750);
	assert_int_equal(omr_retry_delay(2, NULL, 1000, 60000, 0.999), 1249);
	/* capped */
	assert_int_equal(omr_retry_delay(20, NULL, 1000, 60000, 0.5), 60000);
	/* the provider's Retry-After (seconds) wins, capped too */
	assert_int_equal(omr_retry_delay(2, "3", 1000, 60000, 0.5), 3000);
	assert_int_equal(omr_retry_delay(2, "0", 1000, 60000, 0.5), 0);
	assert_int_equal(omr_retry_delay(2, "86400", 1000, 60000, 0.5), 60000);
	/* an HTTP date or junk: the doubling delay */
	assert_int_equal(omr_retry_delay(2, "Wed, 21 Oct 2026 07:28:00 GMT", 1000, 60000, 0.5), 1000);
	assert_int_equal(omr_retry_delay(2, "-5", 1000, 60000, 0.5), 1000);
	assert_int_equal(omr_retry_delay(2, "99999999999999999999999", 1000, 60000, 0.5), 1000);
}

static void test_format_duration(void **state)
{
	char b[48];
	omr_format_duration(86400000, b, sizeof(b));
	assert_string_equal(b, "1 day");
	omr_format_duration(24LL * 3600000, b, sizeof(b));
	assert_string_equal(b, "1 day");
	omr_format_duration(90 * 60000, b, sizeof(b));
	assert_string_equal(b, "90 minutes");
	omr_format_duration(4000, b, sizeof(b));
	assert_string_equal(b, "4 seconds");
	omr_format_duration(1500, b, sizeof(b));
	assert_string_equal(b, "1500 ms");
	omr_format_duration(7200000, b, sizeof(b));
	assert_string_equal(b, "2 hours");
}

static void test_utf8_chars(void **state)
{
	assert_int_equal(omr_utf8_chars(""), 0);
	assert_int_equal(omr_utf8_chars("abc"), 3);
	assert_int_equal(omr_utf8_chars("caf\xc3\xa9"), 4);
	assert_int_equal(omr_utf8_chars("\xf0\x9f\x98\x80!"), 2);
	assert_int_equal(omr_utf8_chars(NULL), 0);
}

struct dl_item {
	int v;
	struct omr_dlink link;
};

/* the values on l, head to tail, and tail to head (each link's prev must
 * mirror its next) */
static void dl_expect(const struct omr_dlist *l, const int *want, size_t n)
{
	size_t i = 0;
	const struct omr_dlink *before = NULL;
	for (const struct omr_dlink *k = l->head; k; before = k, k = k->next, i++) {
		assert_true(i < n);
		assert_int_equal(OMR_DLIST_ITEM(k, struct dl_item, link)->v, want[i]);
		assert_ptr_equal(k->prev, before);
	}
	assert_ptr_equal(l->tail, before);
	assert_int_equal(i, n);
	for (const struct omr_dlink *k = l->tail; k; k = k->prev) {
		assert_true(i > 0);
		assert_int_equal(OMR_DLIST_ITEM(k, struct dl_item, link)->v, want[--i]);
	}
	assert_int_equal(i, 0);
	assert_true((l->head == NULL) == (l->tail == NULL));
}

static void test_dlist(void **state)
{
	struct omr_dlist l = { NULL, NULL };
	struct dl_item it[4] = { { 0, { NULL, NULL } }, { 1, { NULL, NULL } },
				 { 2, { NULL, NULL } }, { 3, { NULL, NULL } } };
	dl_expect(&l, NULL, 0);
	assert_false(omr_dlist_has(&l, &it[0].link));
	omr_dlist_push_tail(&l, &it[1].link);
	omr_dlist_push_tail(&l, &it[2].link);
	omr_dlist_push_head(&l, &it[0].link);
	omr_dlist_push_tail(&l, &it[3].link);
	dl_expect(&l, (const int[]){ 0, 1, 2, 3 }, 4);
	assert_true(omr_dlist_has(&l, &it[0].link) && omr_dlist_has(&l, &it[3].link));
	/* the middle, the head, the tail, the last */
	omr_dlist_remove(&l, &it[2].link);
	dl_expect(&l, (const int[]){ 0, 1, 3 }, 3);
	assert_null(it[2].link.prev);
	assert_null(it[2].link.next);
	assert_false(omr_dlist_has(&l, &it[2].link));
	omr_dlist_remove(&l, &it[0].link);
	dl_expect(&l, (const int[]){ 1, 3 }, 2);
	omr_dlist_remove(&l, &it[3].link);
	dl_expect(&l, (const int[]){ 1 }, 1);
	assert_true(omr_dlist_has(&l, &it[1].link));
	omr_dlist_remove(&l, &it[1].link);
	dl_expect(&l, NULL, 0);
	assert_false(omr_dlist_has(&l, &it[1].link));
	/* removing what is on no list changes nothing */
	omr_dlist_push_tail(&l, &it[0].link);
	omr_dlist_push_tail(&l, &it[3].link);
	omr_dlist_remove(&l, &it[1].link);
	omr_dlist_remove(&l, &it[3].link);
	omr_dlist_remove(&l, &it[3].link);
	dl_expect(&l, (const int[]){ 0 }, 1);
	omr_dlist_remove(&l, &it[0].link);
	/* removed while walking: the walk takes next first */
	for (int i = 0; i < 4; i++)
		omr_dlist_push_head(&l, &it[i].link);
	for (struct omr_dlink *k = l.head, *next; k; k = next) {
		next = k->next;
		if (OMR_DLIST_ITEM(k, struct dl_item, link)->v % 2)
			omr_dlist_remove(&l, k);
	}
	dl_expect(&l, (const int[]){ 2, 0 }, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8),       cmocka_unit_test(test_duration),
		cmocka_unit_test(test_parse_ll),   cmocka_unit_test(test_ids),
		cmocka_unit_test(test_map),        cmocka_unit_test(test_buf),
		cmocka_unit_test(test_ct_equal),   cmocka_unit_test(test_paths),
		cmocka_unit_test(test_redis_url),  cmocka_unit_test(test_password),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_signatures), cmocka_unit_test(test_meta_challenge),
		cmocka_unit_test(test_crc_token),
		cmocka_unit_test(test_retry_delay), cmocka_unit_test(test_utf8_chars),
		cmocka_unit_test(test_format_duration), cmocka_unit_test(test_dlist),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
