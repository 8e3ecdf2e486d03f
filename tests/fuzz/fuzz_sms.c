/* Fuzz harness: what an SMSC sends to the SMS plugin, and its text
 * handling. One input goes through every parser of plugins/sms:
 *   - sms_pdu_parse (libsmpp34 underneath), as it is and with its
 *     command_length made to match, so that the body is reached;
 *   - sms_receipt_parse and sms_receipt_status (receipt text);
 *   - sms_udh_parse (a user data header) with its invariants;
 *   - sms_decode in the data coding of the first octet: the result must
 *     be valid UTF-8;
 *   - sms_e164 on the input as a string;
 *   - and, when the input is UTF-8, sms_split_text: every part fits one
 *     SMS and the parts decode back to the input exactly.
 * Seeds in corpus/sms: deliver_sm MO and receipts (UDH, TLVs), a
 * submit_sm_resp, receipt texts, GSM and UTF-8 texts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/sms/sms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
			: (*p & 0xF8) == 0xF0 ? 3 : -1;
		if (n < 0)
			return 0;
		for (int i = 1; i <= n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return 0;
		p += n + 1;
	}
	return 1;
}

static void fuzz_pdu(const uint8_t *data, size_t size)
{
	struct sms_pdu p;
	char err[300];
	uint8_t *copy;
	sms_pdu_parse(data, size, &p, err, sizeof(err));
	if (size < SMS_HEADER || size > SMS_PDU_MAX)
		return;
	copy = malloc(size);
	memcpy(copy, data, size);
	copy[0] = (uint8_t)(size >> 24);
	copy[1] = (uint8_t)(size >> 16);
	copy[2] = (uint8_t)(size >> 8);
	copy[3] = (uint8_t)size;
	if (sms_pdu_parse(copy, size, &p, err, sizeof(err)) == OMR_OK) {
		if (p.data_len > sizeof(p.data) || strlen(p.source) >= sizeof(p.source) ||
		    strlen(p.message_id) >= sizeof(p.message_id))
			abort();
		if (p.sar.total && (!p.sar.seq || p.sar.seq > p.sar.total))
			abort();
	}
	free(copy);
}

static void fuzz_text(const uint8_t *data, size_t size, const char *s)
{
	struct sms_receipt r;
	struct sms_concat c;
	char e164[20];
	if (sms_receipt_parse((const char *)data, size, &r) == OMR_OK)
		(void)sms_receipt_status(r.stat, -1);
	size_t h = sms_udh_parse(data, size, &c);
	if (h > size || (h && c.total && (!c.seq || c.seq > c.total)))
		abort();
	if (size) {
		char *t = sms_decode(data[0], data + 1, size - 1);
		if (!utf8_ok(t))
			abort();
		free(t);
	}
	if (sms_e164(s, size ? data[0] % 3 : 0, "31", e164, sizeof(e164)) == OMR_OK &&
	    (e164[0] != '+' || strlen(e164) < 9 || strlen(e164) > 16))
		abort();
}

static void fuzz_split(const char *s)
{
	struct sms_split sp;
	const char *err;
	if (!utf8_ok(s) || sms_split_text(s, 7, &sp, &err) != OMR_OK)
		return;
	size_t cap = strlen(s) * 2 + 16, at = 0;
	uint8_t *all = malloc(cap);
	for (size_t i = 0; i < sp.nparts; i++) {
		struct sms_concat c;
		size_t h = 0;
		if (sp.parts[i].len > (sp.dcs == SMS_DCS_GSM ? SMS_SEPTETS_MAX : SMS_PART_MAX))
			abort();
		if (sp.nparts > 1) {
			h = sms_udh_parse(sp.parts[i].data, sp.parts[i].len, &c);
			if (h != 6 || c.total != sp.nparts || c.seq != i + 1 || c.ref != 7)
				abort();
		}
		memcpy(all + at, sp.parts[i].data + h, sp.parts[i].len - h);
		at += sp.parts[i].len - h;
	}
	char *back = sms_decode(sp.dcs, all, at);
	if (strcmp(back, s) != 0)
		abort(); /* the parts read back as the text */
	free(back);
	free(all);
	sms_split_free(&sp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	fuzz_pdu(data, size);
	fuzz_text(data, size, s);
	if (size <= 4000 && strlen(s) == size)
		fuzz_split(s);
	free(s);
	return 0;
}
