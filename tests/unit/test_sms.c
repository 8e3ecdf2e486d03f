/* Unit tests: the SMS channel's pure parts (plugins/sms/gsm.c, pdu.c):
 * where texts are cut and in which alphabet, decoding, user data headers,
 * E.164 numbers, receipt texts, PDUs built and read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <smpp34.h>

#include "../../plugins/sms/sms.h"

static char *repeat(const char *s, size_t n)
{
	char *o = calloc(strlen(s) * n + 1, 1);
	for (size_t i = 0; i < n; i++)
		strcat(o, s);
	return o;
}

/* the text again from the parts, checking each part's UDH */
static char *rejoin(const struct sms_split *sp)
{
	uint8_t all[8192];
	size_t at = 0;
	for (size_t i = 0; i < sp->nparts; i++) {
		struct sms_concat c;
		size_t h = 0;
		if (sp->nparts > 1) {
			h = sms_udh_parse(sp->parts[i].data, sp->parts[i].len, &c);
			assert_int_equal(h, 6);
			assert_int_equal(c.total, sp->nparts);
			assert_int_equal(c.seq, i + 1);
		}
		memcpy(all + at, sp->parts[i].data + h, sp->parts[i].len - h);
		at += sp->parts[i].len - h;
	}
	return sms_decode(sp->dcs, all, at);
}

static void test_split(void **state)
{
	static const struct {
		const char *unit;
		size_t times;
		uint8_t dcs;
		size_t parts;
		size_t first_len; /* octets of part 1, UDH included */
	} cases[] = {
		{ "a", 160, SMS_DCS_GSM, 1, 160 },      /* one GSM message */
		{ "a", 161, SMS_DCS_GSM, 2, 6 + 153 },  /* then 153 a part */
		{ "a", 306, SMS_DCS_GSM, 2, 6 + 153 },
		{ "a", 307, SMS_DCS_GSM, 3, 6 + 153 },
		{ "\xE2\x82\xAC", 80, SMS_DCS_GSM, 1, 160 },  /* € is two septets */
		{ "\xE2\x82\xAC", 81, SMS_DCS_GSM, 2, 6 + 152 }, /* never cut in an escape */
		{ "\xC3\xA9", 160, SMS_DCS_GSM, 1, 160 },  /* é is in the alphabet */
		{ "\xC3\xAA", 70, SMS_DCS_UCS2, 1, 140 },  /* ê is not: UCS-2 */
		{ "\xC3\xAA", 71, SMS_DCS_UCS2, 2, 6 + 134 },
		{ "\xF0\x9F\x98\x80", 35, SMS_DCS_UCS2, 1, 140 },  /* emoji: surrogate pairs */
		{ "\xF0\x9F\x98\x80", 36, SMS_DCS_UCS2, 2, 6 + 132 }, /* never cut in a pair */
		{ "", 1, SMS_DCS_GSM, 1, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sms_split sp;
		const char *err = NULL;
		char *text = repeat(cases[i].unit, cases[i].times);
		assert_int_equal(sms_split_text(text, 9, &sp, &err), OMR_OK);
		if (sp.dcs != cases[i].dcs || sp.nparts != cases[i].parts ||
		    sp.parts[0].len != cases[i].first_len)
			fail_msg("case %zu: dcs %u parts %zu first %zu", i, sp.dcs, sp.nparts,
				 sp.parts[0].len);
		char *back = rejoin(&sp);
		assert_string_equal(back, text);
		free(back);
		sms_split_free(&sp);
		free(text);
	}
}

static void test_split_refused(void **state)
{
	struct sms_split sp;
	const char *err = NULL;
	char *huge = repeat("a", 153 * 255 + 1);
	(void)state;
	assert_int_equal(sms_split_text("bad \xC3", 1, &sp, &err), OMR_ERROR);
	assert_string_equal(err, "the text is not UTF-8");
	assert_int_equal(sms_split_text("\xED\xA0\x80", 1, &sp, &err), OMR_ERROR); /* a surrogate */
	assert_int_equal(sms_split_text(huge, 1, &sp, &err), OMR_ERROR);
	free(huge);
}

static void test_decode(void **state)
{
	static const struct {
		uint8_t dcs;
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{ 0x00, "\x00\x01\x1b\x65\x1b\x3c\x1b", 7, "@\xC2\xA3\xE2\x82\xAC[" }, /* lone ESC dropped */
		{ 0x00, "\x1b\x41", 2, "A" },       /* an unknown escape: the basic character */
		{ 0x08, "\xd8\x3d\xde\x00", 4, "\xF0\x9F\x98\x80" },
		{ 0x08, "\xd8\x3d\x00\x41", 4, "\xEF\xBF\xBD" "A" }, /* a lone surrogate */
		{ 0x08, "\x00\x41\x00", 3, "A" },                     /* an odd octet */
		{ 0x03, "caf\xe9", 4, "caf\xC3\xA9" },                /* Latin-1 */
		{ 0x04, "\x01\x02", 2, "[binary message, 2 octets]" },
		{ 0xF0, "Hi", 2, "Hi" },                              /* class 0, GSM */
		{ 0x18, "\x00\x41", 2, "A" },                         /* general group, UCS-2 */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = sms_decode(cases[i].dcs, (const uint8_t *)cases[i].in, cases[i].len);
		if (strcmp(got, cases[i].out) != 0)
			fail_msg("case %zu: got '%s'", i, got);
		free(got);
	}
}

static void test_udh(void **state)
{
	static const struct {
		const char *in;
		size_t len, want;
		unsigned ref, total, seq;
	} cases[] = {
		{ "\x05\x00\x03\x2a\x03\x02xx", 8, 6, 0x2a, 3, 2 },
		{ "\x06\x08\x04\x01\x02\x02\x01", 7, 7, 0x102, 2, 1 },     /* 16-bit reference */
		{ "\x09\x0a\x02\xff\xff\x00\x03\x01\x02\x01", 10, 10, 1, 2, 1 }, /* another IE first */
		{ "\x03\x24\x01\x00", 4, 4, 0, 0, 0 },  /* no concatenation */
		{ "\x0a\x00\x03\x01", 4, 0, 0, 0, 0 },  /* longer than the data */
		{ "\x05\x00\x04\x01\x02\x01", 6, 0, 0, 0, 0 }, /* an element past the header */
		{ "\x05\x00\x03\x01\x02\x03", 6, 0, 0, 0, 0 }, /* part 3 of 2 */
		{ "\x05\x00\x03\x01\x00\x00", 6, 0, 0, 0, 0 }, /* of 0 */
		{ "\x05\x00\x02\x01\x02\x00", 6, 0, 0, 0, 0 }, /* a short concatenation element */
		{ "", 0, 0, 0, 0, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sms_concat c;
		size_t h = sms_udh_parse((const uint8_t *)cases[i].in, cases[i].len, &c);
		if (h != cases[i].want || (h && (c.ref != cases[i].ref || c.total != cases[i].total ||
						 c.seq != cases[i].seq)))
			fail_msg("case %zu: %zu %u %u/%u", i, h, c.ref, c.seq, c.total);
	}
}

static void test_e164(void **state)
{
	static const struct {
		const char *in;
		int ton;
		const char *out; /* NULL: refused */
	} cases[] = {
		{ "+31 6 1234 5678", 0, "+31612345678" }, { "0612345678", 0, "+31612345678" },
		{ "0031612345678", 0, "+31612345678" },   { "31612345678", 1, "+31612345678" },
		{ "612345678", 2, "+31612345678" },       { "(020) 555-0199", 0, "+31205550199" },
		{ "0031612345678", 1, "+31612345678" },   { "12", 0, NULL },
		{ "Acme", 5, NULL },                      { "+0612345678", 0, NULL },
		{ "+1234567890123456", 0, NULL },         { "", 0, NULL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[20];
		int rc = sms_e164(cases[i].in, cases[i].ton, "31", out, sizeof(out));
		if (cases[i].out ? rc != OMR_OK || strcmp(out, cases[i].out) != 0 : rc == OMR_OK)
			fail_msg("case %zu (%s): %d %s", i, cases[i].in, rc, rc == OMR_OK ? out : "");
	}
}

static void test_receipt(void **state)
{
	static const struct {
		const char *in;
		const char *id, *status;
	} cases[] = {
		{ "id:0A1B2C sub:001 dlvrd:001 submit date:2412011200 done date:2412011201 "
		  "stat:DELIVRD err:000 text:Hallo", "0A1B2C", "delivered" },
		{ "ID:77 Stat:undeliv Err:001", "77", "failed" },
		{ "id:5 stat:ENROUTE", "5", NULL },
		{ "id:5 stat:EXPIRED", "5", "failed" },
		{ "stat:DELIVRD", NULL, NULL },                          /* no id */
		{ "id: stat:DELIVRD", NULL, NULL },                      /* an empty id */
		{ "xid:9 stat:DELIVRD", NULL, NULL },                    /* not at a word start */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sms_receipt r;
		int rc = sms_receipt_parse(cases[i].in, strlen(cases[i].in), &r);
		if (!cases[i].id) {
			assert_int_equal(rc, OMR_ERROR);
			continue;
		}
		assert_int_equal(rc, OMR_OK);
		assert_string_equal(r.id, cases[i].id);
		const char *st = sms_receipt_status(r.stat, -1);
		if (cases[i].status ? !st || strcmp(st, cases[i].status) : st != NULL)
			fail_msg("case %zu: %s", i, st ? st : "(none)");
	}
	assert_string_equal(sms_receipt_status(NULL, 2), "delivered"); /* message_state TLV */
	assert_string_equal(sms_receipt_status(NULL, 8), "failed");
	assert_null(sms_receipt_status(NULL, 6));
}

static void test_pdu(void **state)
{
	uint8_t buf[SMS_PDU_MAX];
	struct sms_pdu p;
	char err[300];
	struct sms_submit_args a = { .source = "3197010203040", .source_ton = 1, .source_npi = 1,
				     .dest = "31612345678", .dcs = 8,
				     .data = (const uint8_t *)"\x00\x41", .len = 2 };
	(void)state;
	int n = sms_pdu_submit(buf, 42, &a);
	assert_true(n > SMS_HEADER);
	assert_int_equal(sms_pdu_parse(buf, (size_t)n, &p, err, sizeof(err)), OMR_OK);
	assert_int_equal(p.command_id, SUBMIT_SM);
	assert_int_equal(p.seq, 42);
	a.dest = "123456789012345678901"; /* 21 digits: more than SMPP takes */
	assert_int_equal(sms_pdu_submit(buf, 43, &a), -1);
	struct sms_bind_args b = { .command_id = BIND_TRANSCEIVER, .system_id = "omniroute",
				   .password = "secret12" };
	assert_true(sms_pdu_bind(buf, 1, &b) > SMS_HEADER);
	b.password = "123456789";
	assert_int_equal(sms_pdu_bind(buf, 1, &b), -1);
	/* a whole PDU only: command_length must be the length */
	n = sms_pdu_header(buf, ENQUIRE_LINK, 0, 7);
	assert_int_equal(sms_pdu_parse(buf, (size_t)n, &p, err, sizeof(err)), OMR_OK);
	assert_int_equal(sms_pdu_parse(buf, (size_t)n - 1, &p, err, sizeof(err)), OMR_ERROR);
	/* submit_sm_resp: the message_id */
	n = sms_pdu_header(buf, SUBMIT_SM_RESP, 0, 8);
	memcpy(buf + n, "M77", 4);
	buf[3] = (uint8_t)(n + 4);
	assert_int_equal(sms_pdu_parse(buf, (size_t)n + 4, &p, err, sizeof(err)), OMR_OK);
	assert_string_equal(p.message_id, "M77");
	assert_true(sms_status_temporary(ESME_RTHROTTLED));
	assert_false(sms_status_temporary(ESME_RINVDSTADR));
	assert_string_equal(sms_status_name(ESME_RTHROTTLED), "ESME_RTHROTTLED");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),   cmocka_unit_test(test_split_refused),
		cmocka_unit_test(test_decode),  cmocka_unit_test(test_udh),
		cmocka_unit_test(test_e164),    cmocka_unit_test(test_receipt),
		cmocka_unit_test(test_pdu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
