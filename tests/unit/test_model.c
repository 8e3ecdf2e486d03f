/* Unit tests: inbound validation and the hash <-> JSON mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "omr_model.h"
#include "omr_jscan.h"
#include "omr_panel.h"
#include "omr_util.h"

static const struct omr_model_limits lim = { .text_max = 100, .attachments_max = 2 };

static void test_normalise_ok(void **state)
{
	struct omr_inbound ev = {
		.channel_msg_id = "v_1:m1", .address = "v_1", .text = "hallo", .name = "Anna",
		.email = "anna@example.com",
	};
	struct omr_inbound_norm n;
	char *err = NULL;
	assert_int_equal(omr_inbound_normalise(&ev, &lim, &n, &err), 0);
	assert_string_equal(n.attachments, "[]");
	assert_string_equal(n.attrs, "{}");
	assert_string_equal(n.meta, "{}");
	assert_string_equal(n.thread, "v_1"); /* defaults to the address */
	assert_string_equal(n.kind, "message");
	assert_true(n.ts_ms > 1700000000000LL);
	omr_inbound_norm_free(&n);

	json_t *att = json_pack("[{s:s,s:s,s:i}]", "type", "image/png", "name", "x.png", "size", 10);
	json_t *attrs = json_pack("{s:s}", "language", "nl");
	struct omr_inbound ev2 = {
		.channel_msg_id = "wamid.1", .address = "31612345678", .text = "",
		.attachments = att, .attrs = attrs, .thread = "t1", .kind = "auto", .ts_ms = 5,
	};
	assert_int_equal(omr_inbound_normalise(&ev2, &lim, &n, &err), 0);
	assert_non_null(strstr(n.attachments, "image/png"));
	assert_string_equal(n.attrs, "{\"language\":\"nl\"}");
	assert_string_equal(n.thread, "t1");
	assert_string_equal(n.kind, "auto");
	assert_int_equal(n.ts_ms, 5);
	omr_inbound_norm_free(&n);
	json_decref(att);
	json_decref(attrs);
	free(err);
}

static void test_normalise_bad(void **state)
{
	char long_text[200];
	memset(long_text, 'a', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	json_t *three = json_pack("[{s:s},{s:s},{s:s}]", "type", "a", "type", "b", "type", "c");
	json_t *untyped = json_pack("[{s:s}]", "name", "x");
	json_t *notobj = json_pack("[i]", 1);
	json_t *arr = json_array();
	static const struct {
		const char *id, *addr, *text, *email, *kind, *want;
		int att;
	} cases[] = {
		{ NULL, "a", "x", NULL, NULL, "channel message id", 0 },
		{ "has space", "a", "x", NULL, NULL, "channel message id", 0 },
		{ "id", NULL, "x", NULL, NULL, "customer address", 0 },
		{ "id", "a\x01", "x", NULL, NULL, "customer address", 0 },
		{ "id", "a", "\xff\xfe", NULL, NULL, "not valid UTF-8", 0 },
		{ "id", "a", "", NULL, NULL, "empty message", 0 },
		{ "id", "a", "x", "not-an-email", NULL, "e-mail", 0 },
		{ "id", "a", "x", NULL, "telepathy", "unknown event kind", 0 },
		{ "id", "a", "x", NULL, NULL, "too many attachments", 1 },
		{ "id", "a", "x", NULL, NULL, "needs at least a 'type'", 2 },
		{ "id", "a", "x", NULL, NULL, "needs at least a 'type'", 3 },
		{ "id", "a", "x", NULL, NULL, "attributes must be an object", 4 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct omr_inbound ev = {
			.channel_msg_id = cases[i].id, .address = cases[i].addr, .text = cases[i].text,
			.email = cases[i].email, .kind = cases[i].kind,
			.attachments = cases[i].att == 1 ? three : cases[i].att == 2 ? untyped
				     : cases[i].att == 3 ? notobj : NULL,
			.attrs = cases[i].att == 4 ? arr : NULL,
		};
		struct omr_inbound_norm n;
		char *err = NULL;
		if (omr_inbound_normalise(&ev, &lim, &n, &err) == 0)
			fail_msg("case %zu accepted", i);
		if (!strstr(err, cases[i].want))
			fail_msg("case %zu: '%s' does not mention '%s'", i, err, cases[i].want);
		free(err);
	}
	struct omr_inbound ev = { .channel_msg_id = "id", .address = "a", .text = long_text };
	struct omr_inbound_norm n;
	char *err = NULL;
	assert_int_equal(omr_inbound_normalise(&ev, &lim, &n, &err), -1);
	assert_non_null(strstr(err, "too long"));
	free(err);
	json_decref(three);
	json_decref(untyped);
	json_decref(notobj);
	json_decref(arr);
}

/* Build a fake HGETALL reply. */
static redisReply *str_reply(const char *s)
{
	redisReply *r = omr_calloc(1, sizeof(*r));
	r->type = REDIS_REPLY_STRING;
	r->str = omr_strdup(s);
	r->len = strlen(s);
	return r;
}

static redisReply *hash_reply(const char *const *kv, size_t n)
{
	redisReply *r = omr_calloc(1, sizeof(*r));
	r->type = REDIS_REPLY_ARRAY;
	r->elements = n;
	r->element = omr_calloc(n, sizeof(*r->element));
	for (size_t i = 0; i < n; i++)
		r->element[i] = str_reply(kv[i]);
	return r;
}

static void reply_free(redisReply *r)
{
	for (size_t i = 0; i < r->elements; i++)
		reply_free(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

static void test_from_hash(void **state)
{
	static const char *const conv[] = {
		"id", "c_1", "created_at", "1700000000000", "public", "1", "attrs",
		"{\"language\":\"nl\"}", "msg_count", "3", "status", "queued", "tags", "not json",
		"closed_at", "x",
	};
	redisReply *r = hash_reply(conv, sizeof(conv) / sizeof(conv[0]));
	json_t *j = omr_model_from_hash(OMR_MODEL_CONVERSATION, r);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "c_1");
	assert_int_equal(json_integer_value(json_object_get(j, "created_at")), 1700000000000LL);
	assert_true(json_is_true(json_object_get(j, "public")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "attrs"),
							      "language")), "nl");
	assert_int_equal(json_integer_value(json_object_get(j, "msg_count")), 3);
	assert_true(json_is_null(json_object_get(j, "tags")));      /* bad JSON -> null */
	assert_true(json_is_null(json_object_get(j, "closed_at"))); /* bad number -> null */
	json_decref(j);
	reply_free(r);

	static const char *const odd[] = { "id", "c_1", "dangling" };
	r = hash_reply(odd, 3);
	assert_null(omr_model_from_hash(OMR_MODEL_CONVERSATION, r));
	reply_free(r);

	static const char *const msg[] = { "text", "caf\xc3\xa9", "attachments", "[]", "bad",
					   "\xff" };
	r = hash_reply(msg, 6);
	j = omr_model_from_hash(OMR_MODEL_MESSAGE, r);
	assert_string_equal(json_string_value(json_object_get(j, "text")), "caf\xc3\xa9");
	assert_true(json_is_array(json_object_get(j, "attachments")));
	/* a non-UTF-8 value from a foreign writer becomes U+FFFD, not a crash */
	assert_string_equal(json_string_value(json_object_get(j, "bad")), "\xef\xbf\xbd");
	json_decref(j);
	reply_free(r);
}

/* A value kept as text goes where the mark is, and only where it is the
 * whole of a string value found once: a customer who writes the mark
 * (or a part of it) gets their text back as text. */
static void test_dumps_splice(void **state)
{
	const char *mark = "omr-text-0123456789abcdef0123456789abcdef";
	(void)state;
	json_t *f = json_pack("{s:s,s:{s:s}}", "type", "assigned", "customer", "previous", mark);
	char *t = omr_model_dumps_splice(f, mark, "[{\"id\":\"c_1\"}]");
	assert_non_null(t);
	json_t *back = json_loads(t, 0, NULL);
	assert_non_null(back);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
				    json_object_get(json_object_get(back, "customer"), "previous"), 0),
				    "id")), "c_1");
	json_decref(back);
	free(t);
	/* inside a longer string: not the mark */
	json_object_set_new(f, "text", json_string("see omr-text-0123456789abcdef0123456789abcdef!"));
	t = omr_model_dumps_splice(f, mark, "[]");
	assert_non_null(t);
	back = json_loads(t, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(back, "text")),
			    "see omr-text-0123456789abcdef0123456789abcdef!");
	assert_true(json_is_array(json_object_get(json_object_get(back, "customer"), "previous")));
	json_decref(back);
	free(t);
	/* twice as a whole value (someone wrote it): nothing is guessed */
	json_object_set_new(f, "text", json_string(mark));
	assert_null(omr_model_dumps_splice(f, mark, "[]"));
	/* not there */
	json_t *g = json_pack("{s:s}", "type", "x");
	assert_null(omr_model_dumps_splice(g, mark, "[]"));
	json_decref(g);
	json_decref(f);
}

static void test_key_ok(void **state)
{
	assert_true(omr_model_key_ok("abc:def", 64));
	assert_false(omr_model_key_ok("", 64));
	assert_false(omr_model_key_ok(NULL, 64));
	assert_false(omr_model_key_ok("a b", 64));
	assert_false(omr_model_key_ok("a\nb", 64));
	assert_false(omr_model_key_ok("\xc3\xa9", 64));
	assert_false(omr_model_key_ok("abcd", 3));
	assert_true(omr_model_key_ok("abc", 3));
}

static void test_mail_ok(void **state)
{
	(void)state;
	assert_true(omr_mail_addr_ok("bob@example.org"));
	assert_true(omr_mail_addr_ok("carol.de-vries+offerte@sub.example.com"));
	assert_true(omr_mail_addr_ok("a@b"));
	assert_true(omr_mail_addr_ok("o'hara!#$%&*/=?^_`{|}~@x-y.example"));
	assert_false(omr_mail_addr_ok(NULL));
	assert_false(omr_mail_addr_ok(""));
	assert_false(omr_mail_addr_ok("bob"));
	assert_false(omr_mail_addr_ok("@example.org"));
	assert_false(omr_mail_addr_ok("bob@"));
	assert_false(omr_mail_addr_ok("bob@example.org\r\nBcc: x@y"));
	assert_false(omr_mail_addr_ok("bob@example.org\n"));
	assert_false(omr_mail_addr_ok("bob smith@example.org"));
	assert_false(omr_mail_addr_ok("<bob@example.org>"));
	assert_false(omr_mail_addr_ok("Bob <bob@example.org>"));
	assert_false(omr_mail_addr_ok("bob@example.org,x@y"));
	assert_false(omr_mail_addr_ok("bob@x@example.org"));
	assert_false(omr_mail_addr_ok(".bob@example.org"));
	assert_false(omr_mail_addr_ok("bob.@example.org"));
	assert_false(omr_mail_addr_ok("b..ob@example.org"));
	assert_false(omr_mail_addr_ok("bob@.example.org"));
	assert_false(omr_mail_addr_ok("bob@example.org."));
	assert_false(omr_mail_addr_ok("bob@example..org"));
	assert_false(omr_mail_addr_ok("bob@-example.org"));
	assert_false(omr_mail_addr_ok("bob@example-.org"));
	assert_false(omr_mail_addr_ok("b\xc3\xb8" "b@example.org"));
	assert_false(omr_mail_addr_ok("\"bob\"@example.org"));
	char local[70], all[300];
	memset(local, 'a', 64);
	strcpy(local + 64, "@x");
	assert_true(omr_mail_addr_ok(local));
	local[64] = 'a';
	strcpy(local + 65, "@x");
	assert_false(omr_mail_addr_ok(local));
	strcpy(all, "a@");
	memset(all + 2, 'b', 252);
	all[254] = '\0';
	assert_true(omr_mail_addr_ok(all));
	all[254] = 'b';
	all[255] = '\0';
	assert_false(omr_mail_addr_ok(all));
}

/* The customer panel's summary, by the rules view.lib applied before it
 * moved to the daemon (omr_panel.c). */
static json_t *panel(const char *balance, const char *const *changes, size_t nc,
		     const char *const *earlier, size_t ne, long long low)
{
	redisReply *c = hash_reply(changes, nc), *e = hash_reply(earlier, ne);
	json_t *p = omr_panel_new(balance, c, e, low);
	/* the quick reading of the texts gives what decoding them whole gives */
	json_t *ref = omr_panel_reference(balance, c, e, low);
	assert_true(json_equal(p, ref));
	json_decref(ref);
	reply_free(c);
	reply_free(e);
	return p;
}

static void assert_panel(json_t *p, const char *want)
{
	json_t *w = json_loads(want, 0, NULL);
	assert_non_null(w);
	if (!json_equal(p, w)) {
		char *got = json_dumps(p, JSON_SORT_KEYS);
		fail_msg("panel %s, want %s", got, want);
	}
	json_decref(w);
	json_decref(p);
}

static void test_panel(void **state)
{
	(void)state;
	/* no change, no earlier conversation: new; an unreadable balance is 0 */
	assert_panel(panel(NULL, NULL, 0, NULL, 0, -10),
		     "{\"trend\":\"steady\",\"standing\":\"new\",\"reasons\":[],\"promises\":[]}");
	assert_panel(panel("x", NULL, 0, NULL, 0, 1),
		     "{\"trend\":\"steady\",\"standing\":\"at risk\",\"reasons\":[],\"promises\":[]}");
	/* the trend sums the points (numbers or numeric text); what is not
	 * JSON counts as a change of nothing */
	const char *up[] = { "{\"points\":3}", "{\"points\":\" -1 \"}", "nope", "[1]",
			     "{\"points\":\"2x\"}" };
	assert_panel(panel("5", up, 5, NULL, 0, -10),
		     "{\"trend\":\"up\",\"standing\":\"good\",\"reasons\":[],\"promises\":[]}");
	const char *down[] = { "{\"points\":-2}" };
	assert_panel(panel("5", down, 1, NULL, 0, -10),
		     "{\"trend\":\"down\",\"standing\":\"slipping\",\"reasons\":[],\"promises\":[]}");
	assert_panel(panel("-11", down, 1, NULL, 0, -10),
		     "{\"trend\":\"down\",\"standing\":\"at risk\",\"reasons\":[],\"promises\":[]}");
	const char *zero[] = { "{\"points\":1}", "{\"points\":-1}" };
	assert_panel(panel("0", zero, 2, NULL, 0, -10),
		     "{\"trend\":\"steady\",\"standing\":\"good\",\"reasons\":[],\"promises\":[]}");

	/* newest first: the last three distinct reasons; a promise (follow_up)
	 * stays open until a later conversation with its reason ends otherwise */
	const char *earlier[] = {
		"{\"id\":\"c7\",\"status\":\"open\"}",
		"{\"id\":\"c6\",\"closed_at\":60,\"wrapup\":{\"reason\":\"billing\",\"outcome\":\"resolved\"}}",
		"{\"id\":\"c5\",\"created_at\":50,\"wrapup\":{\"reason\":\"moving\",\"outcome\":\"follow_up\",\"agent\":\"bob\"}}",
		"{\"id\":\"c4\",\"closed_at\":40,\"wrapup\":{\"reason\":\"billing\",\"outcome\":\"follow_up\"}}",
		"{\"id\":\"c3\",\"closed_at\":30,\"wrapup\":{\"reason\":\"wifi\",\"outcome\":\"follow_up\",\"agent\":7}}",
		"{\"id\":\"c2\",\"closed_at\":20,\"wrapup\":{\"reason\":\"refund\",\"outcome\":\"resolved\"}}",
		"{\"id\":\"c1\",\"closed_at\":10,\"wrapup\":\"not an object\"}",
		"{\"id\":\"c0\",\"closed_at\":5,\"wrapup\":{\"outcome\":\"follow_up\"}}",
	};
	assert_panel(panel("1", NULL, 0, earlier, 8, -10),
		     "{\"trend\":\"steady\",\"standing\":\"new\","
		     "\"reasons\":[\"billing\",\"moving\",\"wifi\"],"
		     "\"promises\":[{\"conversation\":\"c5\",\"reason\":\"moving\",\"at\":50,\"agent\":\"bob\"},"
		     "{\"conversation\":\"c3\",\"reason\":\"wifi\",\"at\":30}]}");

	/* an entry of an older version, its wrap-up amid the rest; one whose
	 * wrap-up is not JSON where it should be is read whole; text that is
	 * no JSON at all is passed over */
	const char *old[] = {
		"not json, \"wrapup\" said",
		"{\"wrapup\":{\"reason\":\"late\",\"outcome\":\"follow_up\"},\"id\":\"c9\",\"closed_at\":90}",
		"{\"id\":\"c8\",\"wrapup\":{\"reason\":\"lost\"},\"x\":1,\"wrapup\":{\"reason\":\"ignored\"}}",
	};
	assert_panel(panel("1", NULL, 0, old, 3, -10),
		     "{\"trend\":\"steady\",\"standing\":\"new\",\"reasons\":[\"late\",\"ignored\"],"
		     "\"promises\":[{\"conversation\":\"c9\",\"reason\":\"late\",\"at\":90}]}");

	/* what the quick reading leaves to jansson: an escaped key (it names
	 * what it spells: points 9, a first reason the later ones replace), a
	 * string with escapes, a name twice (the last counts), a wrap-up that
	 * is no object, nesting deeper than it reads, points as text */
	const char *pts[] = { "{\"points\":\"2\",\"points\":-4}", "{\"p\\u006fints\":9}" };
	const char *odd[] = {
		"{\"id\":\"a\",\"closed_at\":9,\"wrapup\":{\"reason\":\"r\\u00e9\",\"outcome\":\"follow_up\",\"agent\":\"\\\"q\"}}",
		"{\"id\":\"b\",\"wrapup\":{\"re\\u0061son\":\"esc\",\"reason\":\"x\",\"reason\":\"y\"}}",
		"{\"id\":\"c\",\"wrapup\":null}",
		"{\"id\":\"d\",\"wrapup\":{\"reason\":\"deep\",\"n\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}",
	};
	assert_panel(panel("0", pts, 2, odd, 4, -10),
		     "{\"trend\":\"up\",\"standing\":\"good\",\"reasons\":[\"r\u00e9\",\"y\",\"deep\"],"
		     "\"promises\":[{\"conversation\":\"a\",\"reason\":\"r\u00e9\",\"at\":9,\"agent\":\"\\\"q\"}]}");
}

/* omr_jscan: the members asked for, as spans; what it does not take for
 * plain is refused (the caller falls back on jansson), never read past */
static int scan(const char *text, size_t len, struct omr_jscan_span *out)
{
	static const char *const keys[] = { "a", "b", NULL };
	out[0] = out[1] = (struct omr_jscan_span){ NULL, 0 };
	return omr_jscan_members(text, text + len, keys, out);
}

static void test_jscan(void **state)
{
	struct omr_jscan_span v[2];
	(void)state;
	const char *t = " { \"x\" : [1, {\"a\": 2}], \"a\" : \"s\\\"t\", \"b\":{\"c\":[]} , \"a\":7 } ";
	assert_int_equal(scan(t, strlen(t), v), 1);
	assert_int_equal(v[0].n, 1); /* the last "a" */
	assert_memory_equal(v[0].p, "7", 1);
	assert_int_equal(v[1].n, 8);
	assert_memory_equal(v[1].p, "{\"c\":[]}", 8);
	int bad = 0;
	json_t *j = omr_jscan_value(v[1], &bad);
	assert_false(bad);
	assert_true(json_is_array(json_object_get(j, "c")));
	json_decref(j);
	assert_int_equal(scan("{}", 2, v), 1);
	assert_null(v[0].p);
	/* refused: no object, trailing text, an escaped key, unterminated,
	 * a lone backslash at the end, too deep, a member without value */
	const char *no[] = { "[1]", "\"a\"", "{\"a\":1} x", "{\"\\u0061\":1}", "{\"a\":\"x",
			     "{\"a\":\"x\\", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}", "", "{" };
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		assert_int_equal(scan(no[i], strlen(no[i]), v), 0);
	char deep[2 * OMR_JSCAN_DEPTH + 16];
	size_t n = 0;
	n += (size_t)snprintf(deep, sizeof(deep), "{\"a\":");
	for (int i = 0; i < OMR_JSCAN_DEPTH; i++)
		deep[n++] = '[';
	for (int i = 0; i < OMR_JSCAN_DEPTH; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	assert_int_equal(scan(deep, n, v), 0);
	/* the text's end is where the span says, not a NUL: a value cut short
	 * at end is refused */
	assert_int_equal(scan("{\"a\":12}", 6, v), 0);
	assert_int_equal(scan("{\"a\":12}", 8, v), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise_ok),
		cmocka_unit_test(test_normalise_bad),
		cmocka_unit_test(test_from_hash),
		cmocka_unit_test(test_key_ok),
		cmocka_unit_test(test_mail_ok),
		cmocka_unit_test(test_dumps_splice),
		cmocka_unit_test(test_panel),
		cmocka_unit_test(test_jscan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
