/*
 * wc_identity: see wc_identity.h. A token is a JSON Web Token,
 * base64url(header) "." base64url(payload) "." base64url(signature), with
 * header {"alg":"HS256"} (typ, if present, "JWT") and the signature the
 * HMAC-SHA256 of the first two parts as they are written.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "wc_identity.h"

int wc_base64_decode(const char *in, size_t len, int url, unsigned char *out, size_t *out_len)
{
	unsigned acc = 0;
	int bits = 0;
	size_t n = 0;

	if (!url && len % 4 == 0 && len && in[len - 1] == '=')
		len -= len >= 2 && in[len - 2] == '=' ? 2 : 1; /* the padding, only at the end */
	else if (!url && len % 4)
		return 0; /* standard base64 comes in fours */
	if (len % 4 == 1)
		return 0; /* no length of whole bytes */
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		int v;
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == (url ? '-' : '+'))
			v = 62;
		else if (c == (url ? '_' : '/'))
			v = 63;
		else
			return 0;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc) /* the unused low bits of the last character must be 0 */
		return 0;
	*out_len = n;
	return 1;
}

/* One part as a JSON object, or NULL. */
static json_t *wc_part_json(const char *in, size_t len)
{
	unsigned char buf[WC_IDENTITY_TOKEN_MAX];
	size_t n;
	json_t *j;

	if (!len || !wc_base64_decode(in, len, 1, buf, &n))
		return NULL;
	j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int wc_identity_email_ok(const char *s)
{
	size_t n = 0;
	if (!s || !strchr(s, '@'))
		return 0;
	for (; *s; s++, n++)
		if (n >= 254 || (unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int wc_sub_ok(const char *s)
{
	size_t n = 0;
	if (!s || !*s)
		return 0;
	for (; *s; s++, n++)
		if (n >= WC_IDENTITY_SUB_MAX || (unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static enum wc_identity_result wc_header_ok(const char *in, size_t len)
{
	json_t *h = wc_part_json(in, len);
	const char *alg, *typ;
	enum wc_identity_result r = WC_IDENTITY_OK;

	if (!h)
		return WC_IDENTITY_MALFORMED;
	alg = json_string_value(json_object_get(h, "alg"));
	typ = json_string_value(json_object_get(h, "typ"));
	if (!alg || strcmp(alg, "HS256") != 0)
		r = WC_IDENTITY_ALG; /* "none", RS256 (key confusion), ...: never */
	else if (json_object_get(h, "typ") && (!typ || strcmp(typ, "JWT") != 0))
		r = WC_IDENTITY_MALFORMED;
	else if (json_object_get(h, "crit"))
		r = WC_IDENTITY_MALFORMED; /* extensions we do not know must be refused */
	json_decref(h);
	return r;
}

static enum wc_identity_result wc_claims(const char *in, size_t len, long long now_s,
					 struct wc_identity *out)
{
	json_t *p = wc_part_json(in, len), *exp, *name;
	const char *sub, *email;
	enum wc_identity_result r = WC_IDENTITY_CLAIMS;

	if (!p)
		return WC_IDENTITY_MALFORMED;
	sub = json_string_value(json_object_get(p, "sub"));
	email = json_string_value(json_object_get(p, "email"));
	exp = json_object_get(p, "exp");
	name = json_object_get(p, "name");
	if (!wc_sub_ok(sub) || !wc_identity_email_ok(email) || !json_is_integer(exp) ||
	    (name && (!json_is_string(name) || json_string_length(name) > 200 ||
		      strlen(json_string_value(name)) != json_string_length(name))))
		goto out;
	if (json_integer_value(exp) <= now_s) {
		r = WC_IDENTITY_EXPIRED;
		goto out;
	}
	if (json_integer_value(exp) - now_s > WC_IDENTITY_TTL_MAX)
		goto out;
	snprintf(out->sub, sizeof(out->sub), "%s", sub);
	snprintf(out->email, sizeof(out->email), "%s", email);
	snprintf(out->name, sizeof(out->name), "%s", name ? json_string_value(name) : "");
	out->exp = (long long)json_integer_value(exp);
	r = WC_IDENTITY_OK;
out:
	json_decref(p);
	return r;
}

enum wc_identity_result wc_identity_verify(const char *token, size_t len, const void *key,
					   size_t key_len, long long now_s,
					   struct wc_identity *out)
{
	const char *dot1, *dot2;
	unsigned char sig[64], md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	size_t sig_len = 0;
	enum wc_identity_result r;

	memset(out, 0, sizeof(*out));
	if (!token || !len || len > WC_IDENTITY_TOKEN_MAX || !key || !key_len)
		return WC_IDENTITY_MALFORMED;
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
		return WC_IDENTITY_MALFORMED;
	r = wc_header_ok(token, (size_t)(dot1 - token));
	if (r != WC_IDENTITY_OK)
		return r;
	/* 32 bytes are 43 characters; anything longer is not ours */
	if (len - (size_t)(dot2 + 1 - token) != 43 ||
	    !wc_base64_decode(dot2 + 1, 43, 1, sig, &sig_len) || sig_len != 32)
		return WC_IDENTITY_SIGNATURE;
	if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)token,
		  (size_t)(dot2 - token), md, &md_len) || md_len != 32)
		return WC_IDENTITY_SIGNATURE;
	if (CRYPTO_memcmp(md, sig, 32) != 0)
		return WC_IDENTITY_SIGNATURE;
	r = wc_claims(dot1 + 1, (size_t)(dot2 - dot1 - 1), now_s, out);
	if (r != WC_IDENTITY_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

const char *wc_identity_why(enum wc_identity_result r)
{
	switch (r) {
	case WC_IDENTITY_OK:
		return "ok";
	case WC_IDENTITY_ALG:
		return "identity token: alg must be HS256";
	case WC_IDENTITY_SIGNATURE:
		return "identity token: bad signature";
	case WC_IDENTITY_CLAIMS:
		return "identity token: sub, email and exp are required (exp at most 30 days ahead)";
	case WC_IDENTITY_EXPIRED:
		return "identity token: expired";
	default:
		return "identity token: malformed";
	}
}
