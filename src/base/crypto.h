/*
 * Crypto helpers: random tokens and ids (libsodium), SHA-256 and
 * HMAC-SHA256 (OpenSSL, FIPS 180-4 / RFC 2104), constant-time comparison,
 * hex and base64url (RFC 4648 §5, no padding) encoding.
 * crypto_init() must run once before any other call (it is thread-safe).
 */
#ifndef LEADFLOW_BASE_CRYPTO_H
#define LEADFLOW_BASE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SHA256_LEN = 32, UUID_STR_LEN = 37 /* 36 + NUL */ };

/* Returns 0, or ERR_INTERNAL when the random source cannot be used. */
int crypto_init(void);

void crypto_random(void *out, size_t n);

/* Writes nbytes random bytes as base64url into out (size >= 4*nbytes/3+2). */
void crypto_token(char *out, size_t outsize, size_t nbytes);

/* A random RFC 4122 version-4 UUID, lower-case, into out[UUID_STR_LEN]. */
void crypto_uuid(char out[UUID_STR_LEN]);

void crypto_sha256(const void *data, size_t n, uint8_t out[SHA256_LEN]);
void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                        uint8_t out[SHA256_LEN]);

/* true when a and b (both n bytes) are equal, in time independent of content. */
bool crypto_equal(const void *a, const void *b, size_t n);

/* Lower-case hex of n bytes into out (size >= 2n+1). */
void crypto_hex(const uint8_t *in, size_t n, char *out);

/* base64url without padding; out needs 4*ceil(n/3)+1 bytes. Returns length. */
size_t crypto_b64url(const uint8_t *in, size_t n, char *out, size_t outsize);

#endif
