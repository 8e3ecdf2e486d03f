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

#endif
