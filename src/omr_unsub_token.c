/*
 * omr_unsub_token: the tokens and links of e-mail unsubscribe (see
 * omr_unsub.h). Pure functions: no I/O, no state.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_config.h"
#include "omr_unsub.h"
#include "omr_util.h"

#define OMR_UNSUB_LABEL "omniroute unsubscribe\n"
#define OMR_UNSUB_PAYLOAD_MAX 512
#define OMR_UNSUB_AHEAD_S 86400   /* clocks of nodes differ; more ahead is not ours */

/* An address as the channels keep them: printable, no white space, UTF-8 */
static int omr_unsub_address_ok(const char *s, size_t n)
{
	if (n == 0 || n > 320 || !omr_utf8_valid(s, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* The signed bytes: the label, then the payload */
static void omr_unsub_sign(const void *key, size_t key_len, const char *payload, size_t n,
			   char sig[65])
{
	char buf[sizeof(OMR_UNSUB_LABEL) + OMR_UNSUB_PAYLOAD_MAX];
	size_t l = strlen(OMR_UNSUB_LABEL);
	memcpy(buf, OMR_UNSUB_LABEL, l);
	memcpy(buf + l, payload, n);
	omr_hmac_sha256_hex(key, key_len, buf, l + n, sig);
}

char *omr_unsub_token(const void *key, size_t key_len, const char *channel, const char *address,
		      int64_t made_s)
{
	char payload[OMR_UNSUB_PAYLOAD_MAX], sig[65];
	if (!channel || !address || !omr_channel_name_ok(channel, strlen(channel)) ||
	    !omr_unsub_address_ok(address, strlen(address)) || made_s <= 0)
		return NULL;
	int n = snprintf(payload, sizeof(payload), "1\n%s\n%s\n%lld", channel, address,
			 (long long)made_s);
	if (n < 0 || (size_t)n >= sizeof(payload))
		return NULL;
	omr_unsub_sign(key, key_len, payload, (size_t)n, sig);
	char *t = omr_malloc((size_t)n * 2 + 1 + 64 + 1);
	omr_hex((const unsigned char *)payload, (size_t)n, t);
	t[n * 2] = '.';
	memcpy(t + n * 2 + 1, sig, 65);
	return t;
}

/* "1\n<channel>\n<address>\n<made>" (n bytes, no NUL in it) into r */
static int omr_unsub_parse(const char *p, size_t n, struct omr_unsub_ref *r)
{
	const char *f[4], *end = p + n;
	size_t len[4];
	f[0] = p;
	for (int i = 0; i < 4; i++) {
		const char *nl = i < 3 ? memchr(f[i], '\n', (size_t)(end - f[i])) : end;
		if (!nl)
			return -1;
		len[i] = (size_t)(nl - f[i]);
		if (i < 3)
			f[i + 1] = nl + 1;
	}
	char made[24];
	long long v;
	if (len[0] != 1 || f[0][0] != '1' || !omr_channel_name_ok(f[1], len[1]) ||
	    !omr_unsub_address_ok(f[2], len[2]) || len[3] == 0 || len[3] >= sizeof(made) ||
	    memchr(f[3], '\n', len[3]))
		return -1;
	memcpy(made, f[3], len[3]);
	made[len[3]] = '\0';
	if (made[0] < '1' || made[0] > '9' || omr_parse_ll(made, &v) < 0 || v <= 0)
		return -1;
	memcpy(r->channel, f[1], len[1]);
	memcpy(r->address, f[2], len[2]);
	r->made = v;
	return 0;
}

enum omr_unsub_check omr_unsub_check(const void *key, size_t key_len, const char *token, size_t len,
				     int64_t now_s, int64_t valid_s, struct omr_unsub_ref *r)
{
	char payload[OMR_UNSUB_PAYLOAD_MAX];
	memset(r, 0, sizeof(*r));
	if (len > OMR_UNSUB_TOKEN_MAX)
		return OMR_UNSUB_TOO_LONG;
	const char *dot = memchr(token, '.', len);
	size_t hexlen = dot ? (size_t)(dot - token) : 0;
	if (!dot || hexlen == 0 || hexlen % 2 || hexlen / 2 > sizeof(payload) ||
	    len - hexlen - 1 != 64)
		return OMR_UNSUB_BAD;
	/* lower-case hex only: one spelling of each token */
	if (strspn(token, "0123456789abcdef") < hexlen)
		return OMR_UNSUB_BAD;
	for (size_t i = 0; i < hexlen; i += 2) {
		int hi = omr_hex_value(token[i]), lo = omr_hex_value(token[i + 1]);
		if (hi == 0 && lo == 0)
			return OMR_UNSUB_BAD; /* no NUL in the payload */
		payload[i / 2] = (char)(hi << 4 | lo);
	}
	char sig[65], want[65];
	memcpy(sig, dot + 1, 64);
	sig[64] = '\0';
	omr_unsub_sign(key, key_len, payload, hexlen / 2, want);
	if (!omr_ct_equal(want, 64, sig, 64) || omr_unsub_parse(payload, hexlen / 2, r) < 0) {
		memset(r, 0, sizeof(*r));
		return OMR_UNSUB_BAD;
	}
	if (r->made > now_s + OMR_UNSUB_AHEAD_S || now_s - r->made > valid_s)
		return OMR_UNSUB_EXPIRED;
	return OMR_UNSUB_OK;
}

const char *omr_unsub_why(enum omr_unsub_check c)
{
	switch (c) {
	case OMR_UNSUB_OK:
		return "ok";
	case OMR_UNSUB_EXPIRED:
		return "the link has expired";
	case OMR_UNSUB_TOO_LONG:
		return "the token is too long";
	default:
		return "the link is malformed or was not made by us";
	}
}

/* ---- with the configuration ---- */

int omr_unsub_enabled(const struct omr_config *cfg, const char *channel)
{
	return cfg->unsubscribe.secret && (cfg->unsubscribe.url || cfg->unsubscribe.mailto) &&
	       channel && strcmp(channel, cfg->unsubscribe.channel) == 0;
}

json_t *omr_unsub_links(const struct omr_config *cfg, const char *channel, const char *address,
			int64_t now_s)
{
	if (!omr_unsub_enabled(cfg, channel))
		return NULL;
	const char *secret = cfg->unsubscribe.secret;
	char *t = omr_unsub_token(secret, strlen(secret), channel, address, now_s);
	if (!t)
		return NULL;
	json_t *links = json_object();
	const char *base = cfg->unsubscribe.url;
	char *v;
	if (base) {
		size_t bl = strlen(base);
		while (bl && base[bl - 1] == '/')
			bl--;
		v = omr_asprintf("%.*s" OMR_UNSUB_PATH "?t=%s", (int)bl, base, t);
		json_object_set_new(links, "url", json_string(v));
		free(v);
	}
	if (cfg->unsubscribe.mailto) {
		v = omr_asprintf("mailto:%s?subject=" OMR_UNSUB_SUBJECT "%s", cfg->unsubscribe.mailto, t);
		json_object_set_new(links, "mailto", json_string(v));
		free(v);
	}
	free(t);
	return links;
}

enum omr_unsub_check omr_unsub_verify(const struct omr_config *cfg, const char *token, size_t len,
				      int64_t now_s, struct omr_unsub_ref *r)
{
	const char *secret = cfg->unsubscribe.secret;
	if (!secret) {
		memset(r, 0, sizeof(*r));
		return OMR_UNSUB_BAD;
	}
	enum omr_unsub_check c = omr_unsub_check(secret, strlen(secret), token, len, now_s,
						 cfg->unsubscribe.valid_for / 1000, r);
	if (c != OMR_UNSUB_TOO_LONG && c != OMR_UNSUB_BAD &&
	    strcmp(r->channel, cfg->unsubscribe.channel) != 0) {
		memset(r, 0, sizeof(*r));
		return OMR_UNSUB_BAD;
	}
	return c;
}

int omr_unsub_subject(const struct omr_config *cfg, const char *channel, const char *subject,
		      int64_t now_s, struct omr_unsub_ref *r)
{
	const char *p;
	if (!subject || !omr_unsub_enabled(cfg, channel) || !(p = strstr(subject, OMR_UNSUB_SUBJECT)))
		return 0;
	p += strlen(OMR_UNSUB_SUBJECT);
	size_t n = strspn(p, "0123456789abcdef.");
	return omr_unsub_verify(cfg, p, n, now_s, r) == OMR_UNSUB_OK &&
	       strcmp(r->channel, channel) == 0;
}
