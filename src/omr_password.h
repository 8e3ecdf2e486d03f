/*
 * omr_password: agent password hashes, PBKDF2-HMAC-SHA256 (OpenSSL).
 * Format: "$pbkdf2-sha256$ITERATIONS$SALT_B64$HASH_B64" (unpadded base64).
 */
#ifndef OMR_PASSWORD_H
#define OMR_PASSWORD_H

#include <stddef.h>

#define OMR_PASSWORD_ITERATIONS 210000

/* New hash of `password`; malloc'ed string or NULL on failure. */
char *omr_password_hash(const char *password, unsigned iterations, char **err_r);
/* 1: matches; 0: does not; -1: malformed hash (err_r set). */
int omr_password_verify(const char *hash, const char *password, char **err_r);
/* 0 if `hash` is well formed, else -1 with a reason. */
int omr_password_check_format(const char *hash, char **err_r);

/*
 * Agent login tokens (single sign-on set-ups): agents.yaml keeps
 * "$sha256$<64 hex digits>", the SHA-256 of the token. A token is
 * presented without an agent id, so it is looked up among all agents
 * rather than verified against one; a salted, slow hash (as for
 * passwords) would cost one derivation per agent per attempt, and buys
 * nothing for a secret of 128 random bits or more, which no fast hash
 * makes guessable (GitHub stores its tokens the same way). So a token
 * must carry at least 16 random bytes: the length is checked here (at
 * least OMR_TOKEN_MIN characters, what 16 bytes take in base64url), the
 * randomness cannot be; `omniroute --hash-token --generate` makes 32.
 */
#define OMR_TOKEN_PREFIX "$sha256$"
#define OMR_TOKEN_MIN 22
#define OMR_TOKEN_MAX 1024
#define OMR_TOKEN_RANDOM 32 /* bytes of a generated token */

/* SHA-256 of a presented token; 0, or -1 when its length is out of
 * bounds (it can then match no stored hash). */
int omr_token_digest(const char *token, unsigned char digest[32]);
/* The stored form of `token`; malloc'ed, or NULL with a reason. */
char *omr_token_hash(const char *token, char **err_r);
/* The digest inside a stored form; 0, or -1 with a reason. */
int omr_token_parse(const char *stored, unsigned char digest[32], char **err_r);
/* A new token: OMR_TOKEN_RANDOM random bytes in unpadded base64url;
 * malloc'ed, or NULL with a reason. */
char *omr_token_generate(char **err_r);

#endif
