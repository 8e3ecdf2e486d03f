/*
 * sms: the SMS channel over SMPP 3.4 (an operator's or aggregator's SMSC).
 *
 * Files, in reading order:
 *   sms.c    configuration, -t checks, life cycle, the descriptor
 *   link.c   one SMPP session: TCP (or TLS) on the daemon's loop, framing,
 *            bind, enquire_link, reconnect with backoff, unbind at stop
 *   out.c    submit_sm: messages split into parts, a send window, a rate,
 *            retries of temporary errors, progress kept in Redis
 *   in.c     deliver_sm: MO messages (concatenated parts reassembled) and
 *            delivery receipts
 *   pdu.c    PDUs in and out (libsmpp34 packs and unpacks), receipt text
 *   gsm.c    GSM 03.38 and UCS-2, splitting with UDH, E.164 numbers
 *
 * Everything runs on the daemon's main loop; nothing blocks. The state
 * (struct sms_state) owns the links, the outbound queue and the pending
 * reassemblies; the config is borrowed from the host.
 *
 * Protocol and behaviour: docs/channels/sms.md.
 */
#ifndef OMR_PLUGIN_SMS_H
#define OMR_PLUGIN_SMS_H

#include <stddef.h>
#include <stdint.h>

#include <omniroute/plugin.h>

/* ---- gsm.c: alphabets, splitting, numbers (pure; fuzzed) ---- */

#define SMS_DCS_GSM 0x00
#define SMS_DCS_IA5 0x01
#define SMS_DCS_LATIN1 0x03
#define SMS_DCS_UCS2 0x08
#define SMS_PART_MAX 140     /* octets of one part's short_message incl. UDH ... */
#define SMS_SEPTETS_MAX 160  /* ... except GSM, sent unpacked: one septet an octet */
#define SMS_PARTS_MAX 255

struct sms_part_data {
	uint8_t data[SMS_SEPTETS_MAX + 8]; /* UDH (if any) then the text */
	size_t len;
};

/* A text cut into parts: GSM 03.38 (unpacked septets, escapes for the
 * extension table) when every character is in the alphabet, else UCS-2
 * (UTF-16BE). More than one part: each starts with a concatenation UDH
 * (IEI 0, 8-bit reference ref). Owned by the caller; sms_split_free. */
struct sms_split {
	uint8_t dcs;
	size_t nparts;
	struct sms_part_data *parts;
};

/* OMR_OK, or OMR_ERROR for text that is not UTF-8 or needs more than
 * SMS_PARTS_MAX parts (why in err, a static string). */
int sms_split_text(const char *utf8, uint8_t ref, struct sms_split *out, const char **err);
void sms_split_free(struct sms_split *s);

/* The text of a short message in UTF-8 (malloc'ed, NUL-terminated):
 * data_coding dcs over len octets (GSM unpacked septets, IA5, Latin-1,
 * UCS-2; others are shown as a note). Never fails. */
char *sms_decode(uint8_t dcs, const uint8_t *data, size_t len);

/* A user data header at the start of data (esm_class UDHI): the
 * concatenation it names, if any. Returns the octets of the UDH (its
 * length octet included) or 0 when malformed (longer than data, an
 * element running past it, a concatenation with total 0 or seq 0 or seq >
 * total). *total is 0 when the UDH names no concatenation. */
struct sms_concat {
	unsigned ref;
	unsigned total;
	unsigned seq;
};
size_t sms_udh_parse(const uint8_t *data, size_t len, struct sms_concat *c);

/* A number in E.164 ("+31612345678") in out (at least 17 octets):
 * "+..." and "00..." are international, "0..." national (country code
 * cc, digits), ton 1 international, ton 2 national; spaces, dots,
 * dashes and brackets are dropped. OMR_ERROR when it is no number or
 * not 8-15 digits with its country code. */
int sms_e164(const char *in, int ton, const char *cc, char *out, size_t outlen);

/* ---- pdu.c: PDUs (libsmpp34) and receipts (pure; fuzzed) ---- */

#define SMS_HEADER 16
#define SMS_PDU_MAX 4096   /* command_length above this: the link is broken */

/* One PDU from the SMSC, as much as we use of it. Strings are
 * NUL-terminated copies; data points into the PDU's own buffer. */
struct sms_pdu {
	uint32_t command_id, status, seq;
	char message_id[66];            /* submit_sm_resp */
	char source[22], dest[22];      /* deliver_sm */
	uint8_t source_ton, esm_class, dcs;
	uint8_t data[1100];             /* short_message or message_payload */
	size_t data_len;
	char receipted_id[66];          /* TLV receipted_message_id */
	int message_state;              /* TLV message_state, -1 when absent */
	struct sms_concat sar;          /* sar_* TLVs (total 0: none) */
};

/* Parse one whole PDU (len octets, command_length included).
 * OMR_ERROR with why in err (err_len octets): the caller logs it and
 * decides (answer generic_nack, or drop the link). */
int sms_pdu_parse(const uint8_t *buf, size_t len, struct sms_pdu *p, char *err, size_t err_len);

/* Builders: the PDU into buf (at least SMS_PDU_MAX octets); the length,
 * or -1 (a field too long). */
struct sms_bind_args {
	uint32_t command_id;  /* BIND_TRANSCEIVER, _TRANSMITTER, _RECEIVER */
	const char *system_id, *password, *system_type;
	uint8_t ton, npi;
	const char *address_range;
};
int sms_pdu_bind(uint8_t *buf, uint32_t seq, const struct sms_bind_args *a);
struct sms_submit_args {
	const char *source;
	uint8_t source_ton, source_npi;
	const char *dest;     /* international digits, no + */
	uint8_t esm_class, dcs, registered_delivery;
	const uint8_t *data;
	size_t len;
};
int sms_pdu_submit(uint8_t *buf, uint32_t seq, const struct sms_submit_args *a);
/* A PDU of only a header (enquire_link, unbind, their resps, generic_nack). */
int sms_pdu_header(uint8_t *buf, uint32_t command_id, uint32_t status, uint32_t seq);
int sms_pdu_deliver_resp(uint8_t *buf, uint32_t status, uint32_t seq);
const char *sms_status_name(uint32_t status);
/* 1 for a command_status worth trying again later (throttled, queue
 * full, system error, ...). */
int sms_status_temporary(uint32_t status);

/* A delivery receipt: "id:IIII sub:001 dlvrd:001 submit date:... done
 * date:... stat:DELIVRD err:000 text:..." (SMPP 3.4 appendix B; keys in
 * any case and order; only id, stat and err are used). */
struct sms_receipt {
	char id[66];
	char stat[16];
	char err[16];
};
int sms_receipt_parse(const char *text, size_t len, struct sms_receipt *r);
/* stat (or a message_state TLV value) -> "delivered" / "failed" / NULL
 * (says nothing: ENROUTE, ACCEPTD). */
const char *sms_receipt_status(const char *stat, int message_state);

#endif
