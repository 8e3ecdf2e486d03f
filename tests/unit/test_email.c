/* Unit tests: the e-mail channel's pure parts (format=flowed, visible
 * text, HTML to text, MIME edge cases, IMAP responses and URLs, the LMTP
 * session's data and its bounds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../plugins/email/imap.h"
#include "../../plugins/email/lmtp.h"
#include "../../plugins/email/mime.h"
#include "../../plugins/email/text.h"

static void test_unflow(void **state)
{
	static const struct {
		const char *in;
		int delsp;
		const char *out;
	} cases[] = {
		{ "one \ntwo\n", 0, "one two\n" },
		{ "one \ntwo\n", 1, "onetwo\n" },
		{ "a \nb \nc\nd\n", 0, "a b c\nd\n" },
		{ "-- \nsig\n", 0, "-- \nsig\n" },               /* the signature line is hard */
		{ " From me\n", 0, "From me\n" },                /* space stuffing */
		{ "> quoted \n> more\nnew\n", 0, "> quoted more\nnew\n" },
		{ "> a \n>> b\n", 0, "> a \n>> b\n" },           /* depth change ends it */
		{ "crlf \r\nnext\r\n", 0, "crlf next\n" },
		{ "open end ", 0, "open end \n" },
		{ "", 0, "" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = em_unflow(cases[i].in, cases[i].delsp);
		if (strcmp(got, cases[i].out) != 0)
			fail_msg("case %zu: %s -> [%s], want [%s]", i, cases[i].in, got, cases[i].out);
		free(got);
	}
}

static void test_visible(void **state)
{
	(void)state;
	char *t = em_visible_text("Thanks!\n\nOn Mon, 23 Nov 2026, Shop wrote:\n> old\n");
	assert_string_equal(t, "Thanks!");
	free(t);
	t = em_visible_text("Yes.\n\n-----Original Message-----\nFrom: x\n");
	assert_string_equal(t, "Yes.");
	free(t);
	t = em_visible_text("Body\n-- \nJan\n+31 6 1234\n");
	assert_string_equal(t, "Body");
	free(t);
	/* only a quote: nothing would be left, so all of it stays */
	t = em_visible_text("> only quoted\n");
	assert_string_equal(t, "> only quoted");
	free(t);
}

static void test_html(void **state)
{
	(void)state;
	static const char h[] = "<html><head><style>p{}</style><script>x()</script></head>"
				"<body><p>Hello&nbsp;&amp; caf&eacute; &#8364;5</p>"
				"<ul><li>one</li><li>two</li></ul>"
				"<a href=\"https://example.com/x\">link</a></body></html>";
	char *t = em_html_to_text(h, strlen(h));
	assert_non_null(strstr(t, "Hello & caf\xc3\xa9 \xe2\x82\xac" "5")); /* nbsp: a space */
	assert_non_null(strstr(t, "one"));
	assert_non_null(strstr(t, "https://example.com/x"));
	assert_null(strstr(t, "x()"));
	assert_null(strstr(t, "p{}"));
	free(t);
}

static void parse(const char *raw, struct em_msg *m)
{
	static const struct em_limits lim = { .text_max = 65536, .attachment_max = 1 << 20,
					      .attachments_max = 10 };
	char *err = NULL;
	em_mime_init();
	if (em_parse(raw, strlen(raw), &lim, m, &err) < 0)
		fail_msg("em_parse: %s", err);
}

static void test_mime(void **state)
{
	struct em_msg m;
	(void)state;
	/* format=flowed; delsp */
	parse("From: A <a@x.example>\r\nSubject: s\r\nReturn-Path: <>\r\n"
	      "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\n\r\n"
	      "long wo \r\nrd\r\n", &m);
	assert_string_equal(m.text, "long word");
	assert_string_equal(m.return_path, "");
	assert_string_equal(m.from_name, "A");
	em_msg_free(&m);
	/* declares US-ASCII, is UTF-8 */
	parse("From: b@x.example\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
	      "\xc3\xa9\xc3\xa9n\r\n", &m);
	assert_string_equal(m.text, "\xc3\xa9\xc3\xa9n");
	assert_null(m.return_path);
	em_msg_free(&m);
	/* declares nothing, is Windows-1252 */
	parse("From: b@x.example\r\n\r\n\x80 5\r\n", &m);
	assert_string_equal(m.text, "\xe2\x82\xac 5");
	em_msg_free(&m);
	/* Apple Mail: text, attachment, more text; a blank tail part vanishes */
	parse("From: c@x.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
	      "--b\r\nContent-Type: text/plain\r\n\r\nbefore\r\n"
	      "--b\r\nContent-Type: image/png; name=p.png\r\nContent-Disposition: inline; "
	      "filename=p.png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n"
	      "--b\r\nContent-Type: text/plain\r\n\r\nafter\r\n"
	      "--b\r\nContent-Type: text/plain\r\n\r\n\r\n\r\n--b--\r\n", &m);
	assert_string_equal(m.text, "before\n\nafter");
	assert_int_equal(json_array_size(m.attachments), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(m.attachments, 0),
							      "name")), "p.png");
	em_msg_free(&m);
}

static void test_cut(void **state)
{
	static const struct em_limits lim = { .text_max = 100, .attachment_max = 1024,
					      .attachments_max = 2 };
	struct em_msg m;
	char *err = NULL, raw[600];
	(void)state;
	em_mime_init();
	int n = snprintf(raw, sizeof(raw), "From: a@x.example\r\n\r\n");
	memset(raw + n, 'a', 300);
	raw[n + 300] = '\0';
	assert_int_equal(em_parse(raw, strlen(raw), &lim, &m, &err), 0);
	assert_true(m.text_cut);
	assert_true(strlen(m.full_text) <= 100);
	em_msg_free(&m);
	raw[n + 90] = '\0';
	assert_int_equal(em_parse(raw, strlen(raw), &lim, &m, &err), 0);
	assert_false(m.text_cut);
	assert_int_equal(strlen(m.full_text), 90);
	em_msg_free(&m);
}

static void test_imap_status(void **state)
{
	unsigned long long v = 0, n = 0;
	(void)state;
	static const char ok[] = "* STATUS INBOX (UIDNEXT 42 UIDVALIDITY 1795620871)\r\n";
	assert_int_equal(em_imap_parse_status(ok, strlen(ok), &v, &n), 0);
	assert_true(v == 1795620871ULL && n == 42);
	static const char quoted[] = "* STATUS \"Support (NL)\" (UIDVALIDITY 7 UIDNEXT 1)\r\n";
	assert_int_equal(em_imap_parse_status(quoted, strlen(quoted), &v, &n), 0);
	assert_true(v == 7 && n == 1);
	/* a literal: {13}CRLF and thirteen bytes that may hold anything */
	static const char literal[] = "* STATUS {13}\r\nBox (UIDNEXT) (UIDVALIDITY 9 UIDNEXT 3)\r\n";
	assert_int_equal(em_imap_parse_status(literal, strlen(literal), &v, &n), 0);
	assert_true(v == 9 && n == 3);
	static const char cut[] = "* STATUS {99}\r\nBox (UIDVALIDITY 9 UIDNEXT 3)\r\n";
	assert_int_equal(em_imap_parse_status(cut, strlen(cut), &v, &n), -1);
	static const char *bad[] = {
		"* STATUS INBOX (UIDNEXT 42)\r\n",
		"* STATUS INBOX (UIDNEXT x UIDVALIDITY 1)\r\n",
		"* STATUS INBOX (UIDNEXT 99999999999999999999 UIDVALIDITY 1)\r\n",
		"* OK nothing\r\n",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(em_imap_parse_status(bad[i], strlen(bad[i]), &v, &n), -1);
}

static void test_imap_search(void **state)
{
	unsigned long long u[8];
	(void)state;
	static const char r[] = "* SEARCH 9 4 7 4 12\r\n";
	assert_int_equal(em_imap_parse_search(r, strlen(r), 4, u, 8), 3);
	assert_true(u[0] == 7 && u[1] == 9 && u[2] == 12);
	assert_int_equal(em_imap_parse_search(r, strlen(r), 0, u, 2), 2);
	assert_true(u[0] == 4 && u[1] == 7);
	/* "n:*" answers the last message even when it is older than n */
	static const char last[] = "* SEARCH 5\r\n";
	assert_int_equal(em_imap_parse_search(last, strlen(last), 5, u, 8), 0);
	static const char none[] = "* SEARCH\r\n";
	assert_int_equal(em_imap_parse_search(none, strlen(none), 0, u, 8), 0);
	static const char junk[] = "* SEARCH 3 x4 5\r\n* OK\r\n";
	assert_int_equal(em_imap_parse_search(junk, strlen(junk), 0, u, 8), 1);
}

static void test_imap_url(void **state)
{
	char *err = NULL;
	(void)state;
	assert_int_equal(em_imap_url_check("imaps://mail.example.com/INBOX", &err), 0);
	assert_int_equal(em_imap_url_check("imap://127.0.0.1:1143/Support%20NL", &err), 0);
	static const char *bad[] = {
		"http://x/INBOX", "imap://host", "imap://host/", "imap:///INBOX",
		"imap://u:p@host/INBOX", "imap://host/INBOX;UID=1", "imap://host/IN BOX",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (em_imap_url_check(bad[i], &err) != -1 || !err)
			fail_msg("%s accepted", bad[i]);
		free(err);
		err = NULL;
	}
}

/* ---- LMTP ---- */

static const struct lmtp_limits lmtp_lim = { .max_size = 1 << 20, .max_rcpt = 4,
					      .max_errors = 20 };

/* Feed s in pieces of `piece` bytes until the session stops (a message,
 * the end); the result of the last feed. */
static enum lmtp_result lmtp_feed_pieces(struct lmtp *l, const char *s, size_t n, size_t piece)
{
	enum lmtp_result r = LMTP_MORE;
	size_t off = 0, used;
	while (off < n && r == LMTP_MORE) {
		size_t k = n - off < piece ? n - off : piece;
		r = lmtp_feed(l, s + off, k, &used);
		off += used;
		if (r == LMTP_MORE && used != k)
			fail_msg("took %zu of %zu bytes", used, k);
	}
	return r;
}

/* A session after LHLO, MAIL, two RCPTs and DATA, its output cleared. */
static struct lmtp *lmtp_in_data(const struct lmtp_limits *lim)
{
	static const char head[] = "LHLO mta.example\r\nMAIL FROM:<a@x.example>\r\n"
				   "RCPT TO:<s@y.example>\r\nRCPT TO:<t@y.example>\r\nDATA\r\n";
	struct lmtp *l = lmtp_new(lim, "test.example");
	size_t olen;
	lmtp_greet(l);
	assert_int_equal(lmtp_feed_pieces(l, head, strlen(head), sizeof(head)), LMTP_MORE);
	const char *out = lmtp_out(l, &olen);
	assert_non_null(strstr(out, "354 "));
	lmtp_out_clear(l);
	return l;
}

/* The data of a message: line ends made CRLF, dot-stuffing undone, however
 * the input is cut into pieces. */
static void test_lmtp_data(void **state)
{
	static const struct {
		const char *in, *data;
	} cases[] = {
		{ "a\r\nb\r\n.\r\n", "a\r\nb\r\n" },
		{ "a\nb\n.\n", "a\r\nb\r\n" },                        /* bare LF */
		{ "..x\r\n.\r\n", ".x\r\n" },                          /* dot-stuffed */
		{ ".x\r\n.\r\n", "x\r\n" },                            /* a lone leading dot goes */
		{ "..\r\n.\r\n", ".\r\n" },
		{ "a\rb\r\n.\r\n", "a\rb\r\n" },                       /* a bare CR stays */
		{ "\r\r\n.\r\n", "\r\r\n" },
		{ ".\rx\r\n.\r\n", "\rx\r\n" },
		{ "\r\n\r\n.\r\n", "\r\n\r\n" },
		{ "x.\r\n. \r\n.\r\n", "x.\r\n \r\n" },
		{ ".\r\n", "" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t piece = 1; piece <= 8; piece++) {
			struct lmtp *l = lmtp_in_data(&lmtp_lim);
			size_t len;
			if (lmtp_feed_pieces(l, cases[i].in, strlen(cases[i].in), piece) != LMTP_MESSAGE)
				fail_msg("case %zu, pieces of %zu: no message", i, piece);
			char *d = lmtp_take_data(l, &len);
			if (len != strlen(cases[i].data) || memcmp(d, cases[i].data, len) != 0)
				fail_msg("case %zu, pieces of %zu: [%.*s]", i, piece, (int)len, d);
			free(d);
			lmtp_free(l);
		}
	}
}

/* A message of exactly max_size bytes is taken; one byte more is refused
 * with 552 for every recipient, and the session goes on. */
static void test_lmtp_size(void **state)
{
	struct lmtp_limits lim = { .max_size = 1024, .max_rcpt = 4, .max_errors = 20 };
	char in[2048];
	size_t len, olen;
	(void)state;
	for (int extra = 0; extra <= 1; extra++) {
		struct lmtp *l = lmtp_in_data(&lim);
		/* max_size - 2 (+ extra) bytes in lines of 100, and CRLF */
		size_t n = 0, body = lim.max_size - 2 + (size_t)extra;
		for (size_t i = 0; i < body; i++)
			in[n++] = i % 100 == 98 ? '\r' : i % 100 == 99 ? '\n' : 'x';
		n += (size_t)snprintf(in + n, sizeof(in) - n, "\r\n.\r\nNOOP\r\n");
		enum lmtp_result r = lmtp_feed_pieces(l, in, n, 7);
		if (!extra) {
			assert_int_equal(r, LMTP_MESSAGE);
			free(lmtp_take_data(l, &len));
			assert_int_equal(len, lim.max_size);
		} else {
			assert_int_equal(r, LMTP_MORE);
			const char *out = lmtp_out(l, &olen);
			assert_string_equal(out, "552 5.3.4 message larger than 1024 bytes\r\n"
						 "552 5.3.4 message larger than 1024 bytes\r\n"
						 "250 2.0.0 ok\r\n");
		}
		lmtp_free(l);
	}
}

/* VmHWM (the peak resident size) of this process in KiB; -1 if unknown. */
static long peak_rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* A line with no end, 200 MiB of it in 64 KiB pieces, as a command and as
 * message data: the session never holds more than max_size and a command
 * line. Over max_size the data is dropped as it comes, nothing is kept
 * until the final dot, and every recipient gets 552. */
static void test_lmtp_endless_line(void **state)
{
	enum { PIECE = 64 * 1024 };
	static const size_t total = (size_t)200 << 20, slack = 16384;
	static char piece[PIECE];
	size_t used, olen;
	(void)state;
	memset(piece, 'a', sizeof(piece));
	long peak0 = peak_rss_kib();

	struct lmtp *l = lmtp_new(&lmtp_lim, "test.example");
	lmtp_greet(l);
	lmtp_out_clear(l);
	for (size_t off = 0; off < total / 8; off += PIECE) {
		assert_int_equal(lmtp_feed(l, piece, PIECE, &used), LMTP_MORE);
		assert_int_equal(used, PIECE);
		if (lmtp_buffered(l) > slack)
			fail_msg("a command line: %zu bytes held after %zu", lmtp_buffered(l),
				 off + PIECE);
	}
	assert_int_equal(lmtp_feed(l, "\r\n", 2, &used), LMTP_MORE);
	assert_string_equal(lmtp_out(l, &olen), "500 5.5.2 line too long\r\n");
	lmtp_free(l);

	l = lmtp_in_data(&lmtp_lim);
	for (size_t off = 0; off < total; off += PIECE) {
		assert_int_equal(lmtp_feed(l, piece, PIECE, &used), LMTP_MORE);
		assert_int_equal(used, PIECE);
		if (lmtp_buffered(l) > lmtp_lim.max_size + slack)
			fail_msg("message data: %zu bytes held after %zu", lmtp_buffered(l),
				 off + PIECE);
	}
	if (lmtp_buffered(l) > slack)
		fail_msg("over max_size the data is still held: %zu bytes", lmtp_buffered(l));
	static const char end[] = "\r\n.\r\nMAIL FROM:<b@x.example>\r\n";
	assert_int_equal(lmtp_feed(l, end, strlen(end), &used), LMTP_MORE);
	assert_int_equal(used, strlen(end));
	assert_string_equal(lmtp_out(l, &olen), "552 5.3.4 message larger than 1048576 bytes\r\n"
						"552 5.3.4 message larger than 1048576 bytes\r\n"
						"250 2.1.0 sender ok\r\n");
	lmtp_free(l);

	long peak = peak_rss_kib();
	if (peak0 > 0 && peak - peak0 > 32 * 1024)
		fail_msg("the peak resident size grew by %ld KiB", peak - peak0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unflow),       cmocka_unit_test(test_visible),
		cmocka_unit_test(test_html),         cmocka_unit_test(test_mime),
		cmocka_unit_test(test_imap_status),  cmocka_unit_test(test_imap_search),
		cmocka_unit_test(test_imap_url),     cmocka_unit_test(test_cut),
		cmocka_unit_test(test_lmtp_data),    cmocka_unit_test(test_lmtp_size),
		cmocka_unit_test(test_lmtp_endless_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
