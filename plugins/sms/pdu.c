/*
 * pdu: SMPP 3.4 PDUs in and out, and the text of delivery receipts.
 *
 * Bodies are packed and unpacked by Debian's libsmpp34; this file checks
 * what comes from the wire before handing it over (a whole PDU, a sane
 * command_length), copies out only what the plugin uses, and frees what
 * the library allocated (TLV lists). Header-only PDUs are written and read
 * here directly. Pure functions on buffers: fuzzed by tests/fuzz/fuzz_sms.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>
#include <smpp34.h>
#include <smpp34_structs.h>
#include <smpp34_params.h>

#include "sms.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* a C-octet string field of libsmpp34 (fixed array) copied NUL-terminated */
static void copy_cstr(char *dst, size_t dlen, const uint8_t *src, size_t slen)
{
	size_t n = strnlen((const char *)src, slen);
	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static void pdu_tlvs(struct sms_pdu *p, const tlv_t *head)
{
	const tlv_t *t;
	smpp34_tlv_for_each(t, head) {
		size_t n = t->length > MAX_TLV_SIZE ? MAX_TLV_SIZE : t->length;
		switch (t->tag) {
		case TLVID_receipted_message_id:
			copy_cstr(p->receipted_id, sizeof(p->receipted_id), t->value.octet, n);
			break;
		case TLVID_message_state:
			p->message_state = t->value.val08;
			break;
		case TLVID_message_payload:
			if (!p->data_len && n <= sizeof(p->data)) {
				memcpy(p->data, t->value.octet, n);
				p->data_len = n;
			}
			break;
		case TLVID_sar_msg_ref_num:
			p->sar.ref = t->value.val16;
			break;
		case TLVID_sar_total_segments:
			p->sar.total = t->value.val08;
			break;
		case TLVID_sar_segment_seqnum:
			p->sar.seq = t->value.val08;
			break;
		default:
			break;
		}
	}
	if (p->sar.total && (!p->sar.seq || p->sar.seq > p->sar.total))
		memset(&p->sar, 0, sizeof(p->sar)); /* nonsense: read as one message */
}

/* A C-octet string of at most max octets (NUL included) at *at. */
static int skip_cstr(const uint8_t *buf, size_t len, size_t *at, size_t max)
{
	for (size_t i = 0; i < max && *at + i < len; i++)
		if (!buf[*at + i]) {
			*at += i + 1;
			return OMR_OK;
		}
	return OMR_ERROR;
}

/* The size a deliver_sm TLV must have for libsmpp34 (which reads it by
 * its tag): exact for numbers, at most for octets. */
static int tlv_size_ok(uint16_t tag, uint16_t n)
{
	static const struct {
		uint16_t tag, exact, max;
	} t[] = {
		{ TLVID_user_message_reference, 2, 0 }, { TLVID_source_port, 2, 0 },
		{ TLVID_destination_port, 2, 0 },       { TLVID_sar_msg_ref_num, 2, 0 },
		{ TLVID_sar_total_segments, 1, 0 },     { TLVID_sar_segment_seqnum, 1, 0 },
		{ TLVID_user_response_code, 1, 0 },     { TLVID_privacy_indicator, 1, 0 },
		{ TLVID_payload_type, 1, 0 },           { TLVID_language_indicator, 1, 0 },
		{ TLVID_its_session_info, 2, 0 },       { TLVID_message_state, 1, 0 },
		{ TLVID_set_dpf, 1, 0 },                { TLVID_source_network_type, 1, 0 },
		{ TLVID_callback_num, 0, 19 },          { TLVID_source_subaddress, 0, 23 },
		{ TLVID_dest_subaddress, 0, 23 },       { TLVID_network_error_code, 0, 3 },
		{ TLVID_receipted_message_id, 0, 65 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].tag == tag)
			return t[i].exact ? n == t[i].exact : n <= t[i].max;
	return n <= MAX_TLV_SIZE;
}

/* libsmpp34 leaks the TLV it was reading when a deliver_sm turns out
 * malformed there: its TLVs are checked here first, so that it never
 * fails inside them. */
static int pdu_deliver_sane(const uint8_t *buf, size_t len)
{
	size_t at = SMS_HEADER;
	if (skip_cstr(buf, len, &at, 6) || (at += 2) > len || skip_cstr(buf, len, &at, 21) ||
	    (at += 2) > len || skip_cstr(buf, len, &at, 21) || (at += 3) > len ||
	    skip_cstr(buf, len, &at, 1) || skip_cstr(buf, len, &at, 1) || (at += 5) > len)
		return OMR_ERROR;
	at += buf[at - 1]; /* sm_length */
	while (at < len) {
		if (at + 4 > len)
			return OMR_ERROR;
		uint16_t tag = (uint16_t)(buf[at] << 8 | buf[at + 1]);
		uint16_t n = (uint16_t)(buf[at + 2] << 8 | buf[at + 3]);
		if (at + 4 + n > len || !tlv_size_ok(tag, n))
			return OMR_ERROR;
		at += 4u + n;
	}
	return at == len ? OMR_OK : OMR_ERROR;
}

static int pdu_deliver(const uint8_t *buf, size_t len, struct sms_pdu *p, char *err, size_t elen)
{
	deliver_sm_t d;
	memset(&d, 0, sizeof(d));
	if (pdu_deliver_sane(buf, len) != OMR_OK) {
		snprintf(err, elen, "a deliver_sm whose fields or TLVs run past its length");
		return OMR_ERROR;
	}
	if (smpp34_unpack(DELIVER_SM, &d, buf, (int)len) != 0) {
		destroy_tlv(d.tlv);
		snprintf(err, elen, "a deliver_sm libsmpp34 cannot read: %.200s", smpp34_strerror);
		return OMR_ERROR;
	}
	copy_cstr(p->source, sizeof(p->source), d.source_addr, sizeof(d.source_addr));
	copy_cstr(p->dest, sizeof(p->dest), d.destination_addr, sizeof(d.destination_addr));
	p->source_ton = d.source_addr_ton;
	p->esm_class = d.esm_class;
	p->dcs = d.data_coding;
	if (d.sm_length > sizeof(d.short_message)) {
		destroy_tlv(d.tlv);
		snprintf(err, elen, "a deliver_sm with sm_length %u", d.sm_length);
		return OMR_ERROR;
	}
	memcpy(p->data, d.short_message, d.sm_length);
	p->data_len = d.sm_length;
	pdu_tlvs(p, d.tlv);
	destroy_tlv(d.tlv);
	return OMR_OK;
}

int sms_pdu_parse(const uint8_t *buf, size_t len, struct sms_pdu *p, char *err, size_t elen)
{
	memset(p, 0, sizeof(*p));
	p->message_state = -1;
	if (len < SMS_HEADER || len > SMS_PDU_MAX || be32(buf) != len) {
		snprintf(err, elen, "a PDU of %zu octets whose command_length says %u", len,
			 len >= 4 ? be32(buf) : 0);
		return OMR_ERROR;
	}
	p->command_id = be32(buf + 4);
	p->status = be32(buf + 8);
	p->seq = be32(buf + 12);
	switch (p->command_id) {
	case DELIVER_SM:
		return pdu_deliver(buf, len, p, err, elen);
	case SUBMIT_SM_RESP:
		if (len > SMS_HEADER) {
			/* a C-octet string of up to 65; not checked by a library
			 * that reads a refusal's empty body just as well */
			copy_cstr(p->message_id, sizeof(p->message_id), buf + SMS_HEADER,
				  len - SMS_HEADER);
		}
		return OMR_OK;
	default:
		/* the rest is read by its header alone: binds' resps, enquire_link,
		 * unbind, generic_nack, and what we answer with generic_nack */
		return OMR_OK;
	}
}

int sms_pdu_header(uint8_t *buf, uint32_t command_id, uint32_t status, uint32_t seq)
{
	put32(buf, SMS_HEADER);
	put32(buf + 4, command_id);
	put32(buf + 8, status);
	put32(buf + 12, seq);
	return SMS_HEADER;
}

int sms_pdu_deliver_resp(uint8_t *buf, uint32_t status, uint32_t seq)
{
	sms_pdu_header(buf, DELIVER_SM_RESP, status, seq);
	buf[SMS_HEADER] = 0; /* message_id: unused, empty */
	put32(buf, SMS_HEADER + 1);
	return SMS_HEADER + 1;
}

#define SET_CSTR(field, s)                                            \
	do {                                                          \
		if (strlen(s) >= sizeof(field))                       \
			return -1;                                    \
		memcpy((field), (s), strlen(s) + 1);                  \
	} while (0)

int sms_pdu_bind(uint8_t *buf, uint32_t seq, const struct sms_bind_args *a)
{
	/* the three binds have the same body */
	bind_transceiver_t b;
	int len = 0;
	memset(&b, 0, sizeof(b));
	b.command_id = a->command_id;
	b.sequence_number = seq;
	SET_CSTR(b.system_id, a->system_id);
	SET_CSTR(b.password, a->password ? a->password : "");
	SET_CSTR(b.system_type, a->system_type ? a->system_type : "");
	SET_CSTR(b.address_range, a->address_range ? a->address_range : "");
	b.interface_version = SMPP_VERSION;
	b.addr_ton = a->ton;
	b.addr_npi = a->npi;
	if (smpp34_pack(a->command_id, buf, SMS_PDU_MAX, &len, &b) != 0)
		return -1;
	return len;
}

int sms_pdu_submit(uint8_t *buf, uint32_t seq, const struct sms_submit_args *a)
{
	submit_sm_t s;
	int len = 0;
	memset(&s, 0, sizeof(s));
	s.command_id = SUBMIT_SM;
	s.sequence_number = seq;
	SET_CSTR(s.source_addr, a->source);
	SET_CSTR(s.destination_addr, a->dest);
	s.source_addr_ton = a->source_ton;
	s.source_addr_npi = a->source_npi;
	s.dest_addr_ton = 1; /* international */
	s.dest_addr_npi = 1; /* E.164 */
	s.esm_class = a->esm_class;
	s.data_coding = a->dcs;
	s.registered_delivery = a->registered_delivery;
	if (a->len > 254)
		return -1;
	s.sm_length = (uint8_t)a->len;
	memcpy(s.short_message, a->data, a->len);
	if (smpp34_pack(SUBMIT_SM, buf, SMS_PDU_MAX, &len, &s) != 0)
		return -1;
	return len;
}

static const struct {
	uint32_t status;
	const char *name;
	int temporary;
} sms_statuses[] = {
	{ ESME_ROK, "ESME_ROK", 0 },
	{ ESME_RINVMSGLEN, "ESME_RINVMSGLEN", 0 },
	{ ESME_RINVCMDLEN, "ESME_RINVCMDLEN", 0 },
	{ ESME_RINVCMDID, "ESME_RINVCMDID", 0 },
	{ ESME_RINVBNDSTS, "ESME_RINVBNDSTS", 1 },
	{ ESME_RALYBND, "ESME_RALYBND", 0 },
	{ ESME_RSYSERR, "ESME_RSYSERR", 1 },
	{ ESME_RINVSRCADR, "ESME_RINVSRCADR", 0 },
	{ ESME_RINVDSTADR, "ESME_RINVDSTADR", 0 },
	{ ESME_RBINDFAIL, "ESME_RBINDFAIL", 0 },
	{ ESME_RINVPASWD, "ESME_RINVPASWD", 0 },
	{ ESME_RINVSYSID, "ESME_RINVSYSID", 0 },
	{ ESME_RMSGQFUL, "ESME_RMSGQFUL", 1 },
	{ ESME_RINVESMCLASS, "ESME_RINVESMCLASS", 0 },
	{ ESME_RSUBMITFAIL, "ESME_RSUBMITFAIL", 0 },
	{ ESME_RINVSRCTON, "ESME_RINVSRCTON", 0 },
	{ ESME_RINVDSTTON, "ESME_RINVDSTTON", 0 },
	{ ESME_RTHROTTLED, "ESME_RTHROTTLED", 1 },
	{ ESME_RX_T_APPN, "ESME_RX_T_APPN", 1 },
	{ ESME_RX_P_APPN, "ESME_RX_P_APPN", 0 },
	{ ESME_RUNKNOWNERR, "ESME_RUNKNOWNERR", 1 },
};
#define SMS_NSTATUSES (sizeof(sms_statuses) / sizeof(sms_statuses[0]))

const char *sms_status_name(uint32_t status)
{
	for (size_t i = 0; i < SMS_NSTATUSES; i++)
		if (sms_statuses[i].status == status)
			return sms_statuses[i].name;
	return status >= 0x400 && status <= 0x4FF ? "vendor error" : "error";
}

int sms_status_temporary(uint32_t status)
{
	for (size_t i = 0; i < SMS_NSTATUSES; i++)
		if (sms_statuses[i].status == status)
			return sms_statuses[i].temporary;
	return 0;
}

/* value of "key:" in a receipt text (case-insensitive, at a word start),
 * up to the next space, into out */
static int receipt_field(const char *text, size_t len, const char *key, char *out, size_t olen)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i + kl <= len; i++) {
		if ((i == 0 || text[i - 1] == ' ') && strncasecmp(text + i, key, kl) == 0) {
			size_t j = i + kl, n = 0;
			while (j < len && text[j] != ' ' && text[j] && n + 1 < olen)
				out[n++] = text[j++];
			if (j < len && text[j] != ' ' && text[j])
				return OMR_ERROR; /* longer than any such value */
			out[n] = 0;
			return OMR_OK;
		}
	}
	return OMR_ERROR;
}

int sms_receipt_parse(const char *text, size_t len, struct sms_receipt *r)
{
	memset(r, 0, sizeof(*r));
	if (receipt_field(text, len, "id:", r->id, sizeof(r->id)) != OMR_OK || !r->id[0])
		return OMR_ERROR;
	if (receipt_field(text, len, "stat:", r->stat, sizeof(r->stat)) != OMR_OK)
		r->stat[0] = 0;
	if (receipt_field(text, len, "err:", r->err, sizeof(r->err)) != OMR_OK)
		r->err[0] = 0;
	for (char *c = r->stat; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	return OMR_OK;
}

const char *sms_receipt_status(const char *stat, int message_state)
{
	static const struct {
		const char *stat;
		int state;
		const char *status;
	} map[] = {
		{ "DELIVRD", 2, "delivered" }, { "EXPIRED", 3, "failed" }, { "DELETED", 4, "failed" },
		{ "UNDELIV", 5, "failed" },    { "ACCEPTD", 6, NULL },      { "UNKNOWN", 7, NULL },
		{ "REJECTD", 8, "failed" },    { "ENROUTE", 1, NULL },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (message_state == map[i].state || (stat && strcmp(stat, map[i].stat) == 0))
			return map[i].status;
	return NULL;
}
