/*
 * omr_password: see omr_password.h. Verification cost is dominated by the
 * iteration count, which is stored in the hash, so it can be raised later
 * without invalidating existing hashes. Tokens are hashed once with
 * SHA-256: their strength is their randomness, not the hash's cost.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "omr_password.h"
#include "omr_util.h"

#define OMR_PW_PREFIX "$pbkdf2-sha256$"
#define OMR_PW_SALT 16
#define OMR_PW_KEY 32

static size_t omr_b64_enc(const unsigned char *in, size_t len, char *out)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
	return (size_t)n;
}

static int omr_b64_dec(const char *in, size_t len, unsigned char *out, size_t max, size_t *n_r)
{
	char buf[128];
	unsigned char tmp[96];
	size_t pad = (4 - len % 4) % 4;
	if (len + pad >= sizeof(buf) || pad == 3)
		return -1;
	memcpy(buf, in, len);
	memset(buf + len, '=', pad);
	buf[len + pad] = '\0';
	int n = EVP_DecodeBlock(tmp, (const unsigned char *)buf, (int)(len + pad));
	if (n < 0)
		return -1;
	n -= (int)pad;
	if (n < 0 || (size_t)n > max)
		return -1;
	memcpy(out, tmp, (size_t)n);
	*n_r = (size_t)n;
	return 0;
}

struct omr_pw_parts {
	unsigned long iterations;
	unsigned char salt[64];
	size_t salt_len;
	unsigned char key[64];
	size_t key_len;
};

static int omr_pw_parse(const char *hash, struct omr_pw_parts *p, char **err_r)
{
	const char *s, *d1, *d2;
	char *end;
	if (strncmp(hash, OMR_PW_PREFIX, strlen(OMR_PW_PREFIX)) != 0)
		return omr_err(err_r, "not a hash made by `omniroute --hash-password` "
				      "(expected it to start with %s)", OMR_PW_PREFIX);
	s = hash + strlen(OMR_PW_PREFIX);
	p->iterations = strtoul(s, &end, 10);
	if (end == s || *end != '$' || p->iterations < 1000 || p->iterations > 10000000)
		return omr_err(err_r, "bad iteration count");
	d1 = end + 1;
	d2 = strchr(d1, '$');
	if (!d2 || omr_b64_dec(d1, (size_t)(d2 - d1), p->salt, sizeof(p->salt), &p->salt_len) < 0 ||
	    p->salt_len < 8)
		return omr_err(err_r, "bad salt");
	if (omr_b64_dec(d2 + 1, strlen(d2 + 1), p->key, sizeof(p->key), &p->key_len) < 0 ||
	    p->key_len < 16)
		return omr_err(err_r, "bad hash value");
	return 0;
}

char *omr_password_hash(const char *password, unsigned iterations, char **err_r)
{
	unsigned char salt[OMR_PW_SALT], key[OMR_PW_KEY];
	char salt64[64], key64[64];

	if (omr_random_bytes(salt, sizeof(salt)) < 0) {
		omr_err(err_r, "no random bytes");
		return NULL;
	}
	if (!PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof(salt), (int)iterations,
			       EVP_sha256(), sizeof(key), key)) {
		omr_err(err_r, "PBKDF2 failed");
		return NULL;
	}
	omr_b64_enc(salt, sizeof(salt), salt64);
	omr_b64_enc(key, sizeof(key), key64);
	return omr_asprintf(OMR_PW_PREFIX "%u$%s$%s", iterations, salt64, key64);
}

int omr_password_check_format(const char *hash, char **err_r)
{
	struct omr_pw_parts p;
	return omr_pw_parse(hash, &p, err_r);
}

int omr_password_verify(const char *hash, const char *password, char **err_r)
{
	struct omr_pw_parts p;
	unsigned char key[64];

	if (omr_pw_parse(hash, &p, err_r) < 0)
		return -1;
	if (!PKCS5_PBKDF2_HMAC(password, (int)strlen(password), p.salt, (int)p.salt_len,
			       (int)p.iterations, EVP_sha256(), (int)p.key_len, key))
		return omr_err(err_r, "PBKDF2 failed");
	return omr_ct_equal(key, p.key_len, p.key, p.key_len);
}

/* ---- tokens ---- */

int omr_token_digest(const char *token, unsigned char digest[32])
{
	size_t n = token ? strlen(token) : 0;
	if (n < OMR_TOKEN_MIN || n > OMR_TOKEN_MAX)
		return -1;
	if (!EVP_Digest(token, n, digest, NULL, EVP_sha256(), NULL))
		return -1;
	return 0;
}

char *omr_token_hash(const char *token, char **err_r)
{
	unsigned char d[32];
	char hex[65];
	size_t n = strlen(token);

	if (n < OMR_TOKEN_MIN || n > OMR_TOKEN_MAX) {
		omr_err(err_r, "a token is %d to %d characters, from at least 16 random bytes "
			       "(--generate makes one)", OMR_TOKEN_MIN, OMR_TOKEN_MAX);
		return NULL;
	}
	if (omr_token_digest(token, d) < 0) {
		omr_err(err_r, "SHA-256 failed");
		return NULL;
	}
	omr_hex(d, sizeof(d), hex);
	return omr_asprintf(OMR_TOKEN_PREFIX "%s", hex);
}

int omr_token_parse(const char *stored, unsigned char digest[32], char **err_r)
{
	size_t plen = strlen(OMR_TOKEN_PREFIX);
	const char *hex;

	/* the value is never echoed: it may be the secret itself */
	if (strncmp(stored, OMR_TOKEN_PREFIX, plen) != 0)
		return omr_err(err_r, "a clear-text token is not accepted; store its hash "
				      "(" OMR_TOKEN_PREFIX "...): use omniroute --hash-token");
	hex = stored + plen;
	if (strlen(hex) != 64)
		return omr_err(err_r, "not a hash made by omniroute --hash-token "
				      "(expected " OMR_TOKEN_PREFIX " and 64 hex digits)");
	for (size_t i = 0; i < 32; i++) {
		int hi = omr_hex_value(hex[2 * i]), lo = omr_hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return omr_err(err_r, "not a hash made by omniroute --hash-token "
					      "(expected " OMR_TOKEN_PREFIX " and 64 hex digits)");
		digest[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

char *omr_token_generate(char **err_r)
{
	unsigned char rnd[OMR_TOKEN_RANDOM];
	char out[4 * ((OMR_TOKEN_RANDOM + 2) / 3) + 1];
	size_t n;

	if (omr_random_bytes(rnd, sizeof(rnd)) < 0) {
		omr_err(err_r, "no random bytes");
		return NULL;
	}
	n = omr_b64_enc(rnd, sizeof(rnd), out);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	for (size_t i = 0; i < n; i++) /* base64url: safe in URLs and headers */
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	char *token = omr_strdup(out);
	OPENSSL_cleanse(out, sizeof(out));
	return token;
}
