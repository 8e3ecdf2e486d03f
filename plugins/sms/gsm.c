/*
 * gsm: the alphabets of SMS and the cutting of long texts, and E.164.
 *
 * GSM 03.38 travels in SMPP unpacked: one septet an octet (the SMSC packs
 * it for the air), 160 in one message, 153 in each part of a
 * concatenated one (the UDH takes 7 septets' room). Characters of the
 * extension table (€ [ ] { } ~ ^ | \ and form feed) take two septets, an
 * escape and the character, which are never cut apart. UCS-2 (UTF-16BE,
 * surrogate pairs for characters beyond the BMP, never cut apart): 70
 * units in one message, 67 in a part. Pure functions: fuzzed by
 * tests/fuzz/fuzz_sms.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sms.h"

#define GSM_ESC 0x1B

/* GSM 03.38 basic table: septet -> Unicode */
static const uint16_t gsm_basic[128] = {
	0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC,
	0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5,
	0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,
	0x03A3, 0x0398, 0x039E, 0x00A0, 0x00C6, 0x00E6, 0x00DF, 0x00C9,
	0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027,
	0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
	0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,
	0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F,
	0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,
	0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F,
	0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
	0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,
	0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,
	0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F,
	0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,
	0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

/* the extension table: escape + septet -> Unicode */
static const struct {
	uint8_t septet;
	uint16_t cp;
} gsm_ext[] = {
	{ 0x0A, 0x000C }, { 0x14, 0x005E }, { 0x28, 0x007B }, { 0x29, 0x007D }, { 0x2F, 0x005C },
	{ 0x3C, 0x005B }, { 0x3D, 0x007E }, { 0x3E, 0x005D }, { 0x40, 0x007C }, { 0x65, 0x20AC },
};
#define GSM_NEXT (sizeof(gsm_ext) / sizeof(gsm_ext[0]))

/* The septets of one code point (1 or 2 in out), or 0 when it is not in
 * the alphabet. 0x1B (the escape itself) is not a character. */
static int gsm_of(uint32_t cp, uint8_t out[2])
{
	for (size_t i = 0; i < GSM_NEXT; i++)
		if (gsm_ext[i].cp == cp) {
			out[0] = GSM_ESC;
			out[1] = gsm_ext[i].septet;
			return 2;
		}
	for (int s = 0; s < 128; s++)
		if (s != GSM_ESC && gsm_basic[s] == cp) {
			out[0] = (uint8_t)s;
			return 1;
		}
	return 0;
}

/* Next code point of UTF-8 at *p (advanced), or -1 for malformed input
 * (overlong, surrogates, beyond U+10FFFF, cut short). */
static long utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t cp;
	int n;
	if (s[0] < 0x80) {
		*p = s + 1;
		return s[0];
	}
	if ((s[0] & 0xE0) == 0xC0) {
		cp = s[0] & 0x1F;
		n = 1;
	} else if ((s[0] & 0xF0) == 0xE0) {
		cp = s[0] & 0x0F;
		n = 2;
	} else if ((s[0] & 0xF8) == 0xF0) {
		cp = s[0] & 0x07;
		n = 3;
	} else {
		return -1;
	}
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	*p = s + n + 1;
	return (long)cp;
}

static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* The whole text as one stream of units (septets or UTF-16 units) with
 * the places where it may be cut. Owned by the caller. */
struct sms_units {
	uint8_t *u;      /* septets, or UTF-16BE octets (2 a unit) */
	uint8_t *cut;    /* cut[i]: a part may start at unit i */
	size_t n;        /* units */
	int ucs2;
};

static int sms_units_of(const char *utf8, struct sms_units *su)
{
	size_t max = strlen(utf8) * 2 + 1; /* units: never more than 2 per input octet */
	const unsigned char *p = (const unsigned char *)utf8;
	memset(su, 0, sizeof(*su));
	su->u = omr_plugin_calloc(max, 2);
	su->cut = omr_plugin_calloc(max, 1);
	for (int pass = 0; pass < 2; pass++) {
		int whole = 1;
		su->n = 0;
		su->ucs2 = pass;
		p = (const unsigned char *)utf8;
		while (*p) {
			long cp = utf8_next(&p);
			uint8_t g[2];
			int k;
			if (cp < 0)
				return OMR_ERROR;
			if (!pass) {
				if (!(k = gsm_of((uint32_t)cp, g))) {
					whole = 0; /* not GSM: start again as UCS-2 */
					break;
				}
				su->cut[su->n] = 1;
				for (int i = 0; i < k; i++)
					su->u[su->n++] = g[i];
				continue;
			}
			su->cut[su->n] = 1;
			if (cp >= 0x10000) {
				uint32_t v = (uint32_t)cp - 0x10000;
				uint32_t hi = 0xD800 | (v >> 10), lo = 0xDC00 | (v & 0x3FF);
				su->u[2 * su->n] = (uint8_t)(hi >> 8);
				su->u[2 * su->n + 1] = (uint8_t)hi;
				su->n++;
				su->u[2 * su->n] = (uint8_t)(lo >> 8);
				su->u[2 * su->n + 1] = (uint8_t)lo;
			} else {
				su->u[2 * su->n] = (uint8_t)(cp >> 8);
				su->u[2 * su->n + 1] = (uint8_t)cp;
			}
			su->n++;
		}
		if (whole)
			return OMR_OK;
	}
	return OMR_OK;
}

int sms_split_text(const char *utf8, uint8_t ref, struct sms_split *out, const char **err)
{
	struct sms_units su;
	size_t single, per, start = 0, count = 0;
	memset(out, 0, sizeof(*out));
	if (sms_units_of(utf8, &su) != OMR_OK) {
		*err = "the text is not UTF-8";
		goto fail;
	}
	out->dcs = su.ucs2 ? SMS_DCS_UCS2 : SMS_DCS_GSM;
	single = su.ucs2 ? 70 : 160;
	per = su.ucs2 ? 67 : 153;
	/* first count the parts (cuts only where a character starts) */
	size_t *starts = omr_plugin_calloc(su.n + 2, sizeof(*starts));
	if (su.n <= single) {
		starts[count++] = 0;
	} else {
		while (start < su.n) {
			size_t end = start + per;
			if (end >= su.n) {
				end = su.n;
			} else {
				while (end > start + 1 && !su.cut[end])
					end--;
			}
			starts[count++] = start;
			start = end;
		}
	}
	starts[count] = su.n;
	if (count > SMS_PARTS_MAX) {
		free(starts);
		*err = "the text is too long for one SMS (more than 255 parts)";
		goto fail;
	}
	out->nparts = count;
	out->parts = omr_plugin_calloc(count, sizeof(*out->parts));
	for (size_t i = 0; i < count; i++) {
		struct sms_part_data *pd = &out->parts[i];
		size_t w = su.ucs2 ? 2 : 1;
		if (count > 1) {
			const uint8_t udh[6] = { 5, 0, 3, ref, (uint8_t)count, (uint8_t)(i + 1) };
			memcpy(pd->data, udh, 6);
			pd->len = 6;
		}
		memcpy(pd->data + pd->len, su.u + starts[i] * w, (starts[i + 1] - starts[i]) * w);
		pd->len += (starts[i + 1] - starts[i]) * w;
	}
	free(starts);
	free(su.u);
	free(su.cut);
	return OMR_OK;
fail:
	free(su.u);
	free(su.cut);
	return OMR_ERROR;
}

void sms_split_free(struct sms_split *s)
{
	free(s->parts);
	s->parts = NULL;
	s->nparts = 0;
}

static size_t sms_decode_gsm(const uint8_t *d, size_t len, char *o)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t s = d[i] & 0x7F;
		uint32_t cp;
		if (s == GSM_ESC) {
			if (i + 1 >= len)
				break; /* a lone escape at the end */
			uint8_t e = d[++i] & 0x7F;
			cp = gsm_basic[e]; /* an unknown escape reads as the basic character */
			for (size_t k = 0; k < GSM_NEXT; k++)
				if (gsm_ext[k].septet == e)
					cp = gsm_ext[k].cp;
		} else {
			cp = gsm_basic[s];
		}
		n += utf8_put(o + n, cp);
	}
	return n;
}

static size_t sms_decode_ucs2(const uint8_t *d, size_t len, char *o)
{
	size_t n = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		uint32_t u = ((uint32_t)d[i] << 8) | d[i + 1];
		if (u >= 0xD800 && u <= 0xDBFF && i + 3 < len) {
			uint32_t lo = ((uint32_t)d[i + 2] << 8) | d[i + 3];
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				n += utf8_put(o + n, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
				i += 2;
				continue;
			}
		}
		if (u >= 0xD800 && u <= 0xDFFF)
			u = 0xFFFD; /* a lone surrogate */
		if (u)
			n += utf8_put(o + n, u);
	}
	return n;
}

/* 0 GSM, 1 octets (binary), 2 UCS-2, 3 Latin-1, 4 IA5 */
static int sms_alphabet(uint8_t dcs)
{
	if (dcs == SMS_DCS_GSM)
		return 0;
	if (dcs == SMS_DCS_IA5)
		return 4;
	if (dcs == 0x02 || dcs == 0x04)
		return 1;
	if (dcs == SMS_DCS_UCS2)
		return 2;
	if (dcs < 0x10)
		return 3; /* Latin-1, JIS, Cyrillic, ...: read as Latin-1 */
	if ((dcs & 0xC0) == 0x00) /* GSM 03.38 general data coding */
		return (int[]){ 0, 1, 2, 1 }[(dcs >> 2) & 3];
	if ((dcs & 0xF0) == 0xF0)
		return dcs & 0x04 ? 1 : 0;
	if ((dcs & 0xF0) == 0xE0)
		return 2;
	return 0; /* message waiting groups: GSM */
}

char *sms_decode(uint8_t dcs, const uint8_t *data, size_t len)
{
	char *o = omr_plugin_calloc(len * 4 + 64, 1); /* at most 3 UTF-8 octets an input octet */
	size_t n = 0;
	switch (sms_alphabet(dcs)) {
	case 0:
		n = sms_decode_gsm(data, len, o);
		break;
	case 2:
		n = sms_decode_ucs2(data, len, o);
		break;
	case 1:
		n = (size_t)snprintf(o, 64, "[binary message, %zu octets]", len);
		break;
	default:
		for (size_t i = 0; i < len; i++)
			if (data[i])
				n += utf8_put(o + n, data[i] < 0x80 || dcs != SMS_DCS_IA5 ? data[i] : 0xFFFD);
		break;
	}
	o[n] = 0;
	return o;
}

size_t sms_udh_parse(const uint8_t *data, size_t len, struct sms_concat *c)
{
	size_t udhl, i;
	memset(c, 0, sizeof(*c));
	if (len < 1 || (udhl = data[0]) + 1u > len || udhl < 2)
		return 0;
	for (i = 1; i < udhl + 1;) {
		uint8_t iei, iel;
		if (i + 2 > udhl + 1)
			return 0;
		iei = data[i];
		iel = data[i + 1];
		if (i + 2 + iel > udhl + 1)
			return 0;
		const uint8_t *v = data + i + 2;
		if (iei == 0x00 || iei == 0x08) {
			if (iel != (iei ? 4 : 3))
				return 0;
			c->ref = iei ? ((unsigned)v[0] << 8 | v[1]) : v[0];
			c->total = v[iel - 2];
			c->seq = v[iel - 1];
			if (!c->total || !c->seq || c->seq > c->total)
				return 0;
		}
		i += 2u + iel;
	}
	return udhl + 1;
}

int sms_e164(const char *in, int ton, const char *cc, char *out, size_t outlen)
{
	char d[40];
	size_t n = 0;
	int intl = ton == 1, natl = ton == 2;
	const char *p = in;
	while (*p == ' ')
		p++;
	if (*p == '+') {
		intl = 1;
		p++;
	}
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n + 1 >= sizeof(d))
				return OMR_ERROR;
			d[n++] = *p;
		} else if (!strchr(" .-()/", *p)) {
			return OMR_ERROR;
		}
	}
	d[n] = 0;
	const char *digits = d;
	if (strncmp(digits, "00", 2) == 0) {
		intl = 1;
		digits += 2;
	} else if (!intl && digits[0] == '0') {
		natl = 1;
		digits += 1;
	}
	if (natl && !intl) {
		if (!cc || !*cc)
			return OMR_ERROR;
		if (strlen(cc) + strlen(digits) + 2 > outlen)
			return OMR_ERROR;
		snprintf(out, outlen, "+%s%s", cc, digits);
	} else {
		if (strlen(digits) + 2 > outlen)
			return OMR_ERROR;
		snprintf(out, outlen, "+%s", digits); /* unknown TON, no prefix: already international */
	}
	n = strlen(out) - 1;
	if (n < 8 || n > 15 || out[1] == '0')
		return OMR_ERROR;
	return OMR_OK;
}
