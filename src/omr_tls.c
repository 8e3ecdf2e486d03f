/*
 * omr_tls: see omr_tls.h.
 *
 * Every failure names the file and says what is wrong with it in words an
 * operator can act on; OpenSSL's own reason is added in parentheses. A key
 * protected by a passphrase is refused (nobody is there to type it): the
 * passphrase callback says so instead of letting OpenSSL prompt on the
 * terminal.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "omr_tls.h"
#include "omr_util.h"

/* What a session resumed with a client certificate is bound to. */
static const unsigned char omr_tls_sid_ctx[] = "omniroute";

int omr_tls_enabled(const struct omr_tls_conf *c)
{
	return c && c->cert;
}

/* OpenSSL's reason for the last failure, or "" (the queue is emptied). */
static const char *omr_tls_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return r ? r : "unknown reason";
}

static int omr_tls_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/* A missing or unreadable file is told as such, not as a PEM error. */
static int omr_tls_readable(const char *what, const char *path, char **err_r)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return omr_err(err_r, "cannot read the %s %s: %s", what, path, strerror(errno));
	fclose(f);
	return 0;
}

static int omr_tls_load_cert(SSL_CTX *ctx, const char *path, char **err_r)
{
	if (omr_tls_readable("certificate", path, err_r) < 0)
		return -1;
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1)
		return omr_err(err_r, "the certificate %s cannot be used: it must hold a PEM "
			       "certificate (BEGIN CERTIFICATE), then its chain (%s)", path,
			       omr_tls_reason());
	return 0;
}

static int omr_tls_load_key(SSL_CTX *ctx, const char *path, const char *cert, char **err_r)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	EVP_PKEY *pk;
	BIO *bio;
	int rc = 0;

	if (omr_tls_readable("private key", path, err_r) < 0)
		return -1;
	ERR_clear_error();
	bio = BIO_new_file(path, "r");
	pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, omr_tls_no_passphrase, NULL) : NULL;
	BIO_free(bio);
	if (!pk)
		return omr_err(err_r, "the private key %s cannot be used: it must hold an unencrypted "
			       "PEM private key (BEGIN PRIVATE KEY) (%s)", path, omr_tls_reason());
	if (!x || X509_check_private_key(x, pk) != 1)
		rc = omr_err(err_r, "the private key %s does not match the certificate %s", path,
			     cert);
	else if (SSL_CTX_use_PrivateKey(ctx, pk) != 1)
		rc = omr_err(err_r, "the private key %s cannot be used (%s)", path, omr_tls_reason());
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return rc;
}

/* Clients must show a certificate signed by one of these. */
static int omr_tls_load_client_ca(SSL_CTX *ctx, const char *path, char **err_r)
{
	STACK_OF(X509_NAME) *names;

	if (omr_tls_readable("client CA file", path, err_r) < 0)
		return -1;
	ERR_clear_error();
	names = SSL_load_client_CA_file(path);
	if (!names || SSL_CTX_load_verify_locations(ctx, path, NULL) != 1) {
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		return omr_err(err_r, "the client CA file %s cannot be used: it must hold PEM CA "
			       "certificates (%s)", path, omr_tls_reason());
	}
	SSL_CTX_set_client_CA_list(ctx, names); /* takes names */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_session_id_context(ctx, omr_tls_sid_ctx, sizeof(omr_tls_sid_ctx) - 1);
	return 0;
}

static int omr_tls_settings(SSL_CTX *ctx, const struct omr_tls_conf *c, char **err_r)
{
	const char *ciphers = c->ciphers ? c->ciphers : OMR_TLS_CIPHERS;
	int min = c->min_version == OMR_TLS_13 ? TLS1_3_VERSION : TLS1_2_VERSION;

	if (SSL_CTX_set_min_proto_version(ctx, min) != 1)
		return omr_err(err_r, "cannot set the lowest TLS version (%s)", omr_tls_reason());
	/* no compression (CRIME), no renegotiation (a cheap way to make a
	 * server work), our order of ciphers rather than the client's */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* an idle connection gives its buffers back (thousands of consoles) */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_default_passwd_cb(ctx, omr_tls_no_passphrase);
	ERR_clear_error();
	if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1)
		return omr_err(err_r, "ciphers '%s' names no cipher OpenSSL knows (%s)", ciphers,
			       omr_tls_reason());
	return 0;
}

SSL_CTX *omr_tls_ctx_new(const struct omr_tls_conf *c, char **err_r)
{
	SSL_CTX *ctx;

	if (!omr_tls_enabled(c) || !c->key) {
		omr_err(err_r, "a certificate and a private key are both needed");
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		omr_err(err_r, "cannot make a TLS context (%s)", omr_tls_reason());
		return NULL;
	}
	if (omr_tls_settings(ctx, c, err_r) < 0 || omr_tls_load_cert(ctx, c->cert, err_r) < 0 ||
	    omr_tls_load_key(ctx, c->key, c->cert, err_r) < 0 ||
	    (c->client_ca && omr_tls_load_client_ca(ctx, c->client_ca, err_r) < 0)) {
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return NULL;
	}
	return ctx;
}

void omr_tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

/* src's TLS 1.2 ciphers as a list OpenSSL reads back (1.3 suites are
 * set apart and left at OpenSSL's defaults). */
static char *omr_tls_cipher_list(SSL_CTX *src)
{
	STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(src);
	struct omr_buf b;

	omr_buf_init(&b);
	for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
		const SSL_CIPHER *ci = sk_SSL_CIPHER_value(sk, i);
		if (strcmp(SSL_CIPHER_get_version(ci), "TLSv1.3") == 0)
			continue;
		omr_buf_printf(&b, "%s%s", b.len ? ":" : "", SSL_CIPHER_get_name(ci));
	}
	return b.data ? b.data : omr_strdup("");
}

int omr_tls_ctx_adopt(SSL_CTX *dst, SSL_CTX *src, char **err_r)
{
	STACK_OF(X509) *chain = NULL;
	char *ciphers = omr_tls_cipher_list(src);
	int rc = 0;

	ERR_clear_error();
	SSL_CTX_set_min_proto_version(dst, SSL_CTX_get_min_proto_version(src));
	SSL_CTX_set_max_proto_version(dst, SSL_CTX_get_max_proto_version(src));
	SSL_CTX_set_options(dst, SSL_CTX_get_options(src));
	SSL_CTX_set_mode(dst, SSL_CTX_get_mode(src));
	SSL_CTX_get0_chain_certs(src, &chain);
	/* The certificate first (it drops a key that does not match it),
	 * then its key and chain. A certificate of another key type (RSA
	 * after EC) would sit beside the old one: see docs/operations.md. */
	if ((*ciphers && SSL_CTX_set_cipher_list(dst, ciphers) != 1) ||
	    SSL_CTX_use_certificate(dst, SSL_CTX_get0_certificate(src)) != 1 ||
	    SSL_CTX_use_PrivateKey(dst, SSL_CTX_get0_privatekey(src)) != 1 ||
	    SSL_CTX_set1_chain(dst, chain) != 1 || SSL_CTX_check_private_key(dst) != 1)
		rc = omr_err(err_r, "cannot take the new certificate and key (%s)", omr_tls_reason());
	free(ciphers);
	return rc;
}

long long omr_tls_ctx_not_after(SSL_CTX *ctx)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	struct tm tm;
	if (!x || ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return 0;
	return (long long)timegm(&tm);
}

char *omr_tls_ctx_describe(SSL_CTX *ctx)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	char cn[256] = "?", until[64] = "?";
	BIO *mem;
	int n;

	if (!x)
		return omr_strdup("no certificate");
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
				      sizeof(cn)) < 0)
		snprintf(cn, sizeof(cn), "(no common name)");
	mem = BIO_new(BIO_s_mem());
	if (mem && ASN1_TIME_print(mem, X509_get0_notAfter(x)) == 1 &&
	    (n = BIO_read(mem, until, (int)sizeof(until) - 1)) > 0)
		until[n] = '\0';
	BIO_free(mem);
	ERR_clear_error();
	return omr_asprintf("certificate CN=%s, valid until %s%s", cn, until,
			    X509_cmp_current_time(X509_get0_notAfter(x)) < 0 ? " (EXPIRED)" : "");
}
