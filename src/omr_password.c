/*
 * omr_password: see omr_password.h. Verification cost is dominated by the
 * iteration count, which is stored in the hash, so it can be raised later
 * without invalidating existing hashes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

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
