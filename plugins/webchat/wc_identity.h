/*
 * wc_identity: the signed identity of a web site's logged-in user
 * (docs/channels/webchat.md#signed-identity).
 *
 * The site signs {sub: its customer id, email, name?, exp} as a JSON Web
 * Token with HS256 (HMAC-SHA256) and a secret it shares with omniroute
 * (the plugin's identity_secret); the widget hands the token over in
 * hello. This file only parses and checks a token: no state, no I/O, so
 * that it can be fuzzed on its own (tests/fuzz/fuzz_wc_identity.c).
 */
#ifndef WC_IDENTITY_H
#define WC_IDENTITY_H

#include <stddef.h>

#define WC_IDENTITY_TOKEN_MAX 4096  /* bytes of a whole token */
#define WC_IDENTITY_SUB_MAX 128     /* bytes of the site's customer id */
#define WC_IDENTITY_TTL_MAX (30LL * 24 * 3600) /* exp at most this far ahead, seconds */

/* What a valid token says; all NUL-terminated. */
struct wc_identity {
	char sub[WC_IDENTITY_SUB_MAX + 1];
	char email[255];
	char name[201];     /* "" when the token has none */
	long long exp;      /* unix seconds */
};

enum wc_identity_result {
	WC_IDENTITY_OK = 0,
	WC_IDENTITY_MALFORMED,  /* not three base64url parts of JSON objects, or too long */
	WC_IDENTITY_ALG,        /* the header's alg is not HS256 */
	WC_IDENTITY_SIGNATURE,  /* the signature does not match */
	WC_IDENTITY_CLAIMS,     /* sub, email, name or exp missing or not valid */
	WC_IDENTITY_EXPIRED,    /* exp is past */
};

/* Check token (len bytes, need not be NUL-terminated) against key at
 * now_s. The signature is checked (in constant time) before the claims
 * are read. On WC_IDENTITY_OK *out holds the claims; otherwise *out is
 * zeroed. */
enum wc_identity_result wc_identity_verify(const char *token, size_t len, const void *key,
					   size_t key_len, long long now_s,
					   struct wc_identity *out);

/* A short English reason for a result, for the visitor's error frame. */
const char *wc_identity_why(enum wc_identity_result r);

/* base64 (url 0: RFC 4648 section 4, padded to fours; url 1: base64url
 * without padding) of len bytes into out, which holds len * 3 / 4 + 1
 * bytes; 1, or 0 on anything else (other characters, whitespace, stray
 * padding, non-zero left-over bits). */
int wc_base64_decode(const char *in, size_t len, int url, unsigned char *out, size_t *out_len);

/* The e-mail rule the chat uses for typed addresses too: 1-254 bytes of
 * printable ASCII without spaces, with an @. */
int wc_identity_email_ok(const char *s);

#endif
