/* Fuzz harness: the web chat's signed identity tokens (wc_identity.c).
 * The input is tried twice: as a whole token under a fixed key (the
 * base64url and header parsers, the signature check), and as a payload
 * that the harness signs itself, so that the claims parser behind the
 * signature is reached too. A token may only be accepted with a sub, an
 * e-mail address and an exp in the future. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/webchat/wc_identity.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key[] = "fuzz-identity-secret-0123456789abcdef";
#define NOW 1800000000LL

static void b64url(const unsigned char *in, size_t len, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
			     (i + 2 < len ? in[i + 2] : 0);
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		if (i + 1 < len)
			out[o++] = a[(v >> 6) & 63];
		if (i + 2 < len)
			out[o++] = a[v & 63];
	}
	out[o] = '\0';
}

static void accepted_is_sane(enum wc_identity_result r, const struct wc_identity *id)
{
	if (r == WC_IDENTITY_OK) {
		if (!id->sub[0] || !strchr(id->email, '@') || id->exp <= NOW)
			abort();
	} else if (id->sub[0] || id->email[0] || id->exp) {
		abort(); /* a refused token leaves nothing behind */
	}
	if (!wc_identity_why(r)[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char tok[3 * WC_IDENTITY_TOKEN_MAX];
	struct wc_identity id;
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	size_t n;

	accepted_is_sane(wc_identity_verify((const char *)data, size, key, strlen(key), NOW, &id),
			 &id);
	if (size > WC_IDENTITY_TOKEN_MAX)
		return 0;
	strcpy(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."); /* {"alg":"HS256","typ":"JWT"} */
	n = strlen(tok);
	b64url(data, size, tok + n);
	n = strlen(tok);
	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)tok, n, md, &mdlen);
	tok[n++] = '.';
	b64url(md, 32, tok + n);
	accepted_is_sane(wc_identity_verify(tok, strlen(tok), key, strlen(key), NOW, &id), &id);
	return 0;
}
