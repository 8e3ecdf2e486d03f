/*
 * omr_tls: TLS server contexts for the listeners (the edge, the admin API,
 * the webhooks), made from one listener's `tls:` section.
 *
 * The same function builds the context at start, at `omniroute -t` (the
 * configuration check loads every certificate and key and checks that
 * they match) and at a reload. A listener keeps the context it serves new
 * connections with and swaps in a new one on SIGHUP; a connection keeps
 * the context (and certificate) it was accepted with, so nothing open is
 * dropped. libwebsockets makes its own context for the edge: the edge
 * copies ours into it (omr_tls_ctx_adopt), on its own thread.
 *
 * Ownership: a context returned here belongs to the caller
 * (omr_tls_ctx_free). Any thread, but one context is used by one thread.
 */
#ifndef OMR_TLS_H
#define OMR_TLS_H

struct ssl_ctx_st; /* OpenSSL's SSL_CTX */

enum omr_tls_version {
	OMR_TLS_12, /* TLS 1.2 and 1.3 */
	OMR_TLS_13, /* TLS 1.3 only */
};

/* A listener's `tls:` section (strings owned by the configuration). */
struct omr_tls_conf {
	char *cert;      /* PEM: the certificate, then its chain; NULL: no TLS */
	char *key;       /* PEM private key, not encrypted */
	int min_version; /* enum omr_tls_version */
	char *ciphers;   /* TLS 1.2 cipher list (OpenSSL syntax); 1.3 keeps OpenSSL's */
	char *client_ca; /* PEM CA certificates: clients must show a certificate one of
			    them signed; NULL: none is asked for */
};

/* The default cipher list for TLS 1.2: forward secrecy and AEAD only
 * (Mozilla's "intermediate" without DHE). */
#define OMR_TLS_CIPHERS                                                                  \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                       \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                       \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* 1 when the section asks for TLS (NULL or no certificate: plain). */
int omr_tls_enabled(const struct omr_tls_conf *c);

/* A server context from c: the files are read now and the key is checked
 * against the certificate. NULL, with *err_r saying which file and what is
 * wrong with it. */
struct ssl_ctx_st *omr_tls_ctx_new(const struct omr_tls_conf *c, char **err_r);
void omr_tls_ctx_free(struct ssl_ctx_st *ctx);

/* Make dst (a context someone else made and owns: libwebsockets') serve
 * like src from now on: protocol versions, options, ciphers, certificate,
 * chain and key. Connections already accepted keep what they had. */
int omr_tls_ctx_adopt(struct ssl_ctx_st *dst, struct ssl_ctx_st *src, char **err_r);

/* When ctx's certificate expires (unix time), or 0. */
long long omr_tls_ctx_not_after(struct ssl_ctx_st *ctx);

/* "subject CN, expires DATE" of ctx's certificate, for the log (owned by
 * the caller). */
char *omr_tls_ctx_describe(struct ssl_ctx_st *ctx);

#endif
