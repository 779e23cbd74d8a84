/*
 * Crypto helpers: random tokens and ids (libsodium), SHA-256 and
 * HMAC-SHA256 (OpenSSL, FIPS 180-4 / RFC 2104), constant-time comparison,
 * hex and base64url (RFC 4648 §5) encoding, and sealing secrets at rest with
 * XChaCha20-Poly1305 (libsodium's IETF AEAD construction).
 * crypto_init() must run once before any other call (it is thread-safe).
 */
#ifndef LEADFLOW_BASE_CRYPTO_H
#define LEADFLOW_BASE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SHA256_LEN = 32, SHA1_LEN = 20, UUID_STR_LEN = 37 /* 36 + NUL */ };

/* A sealed value is this many bytes longer than the plain one: a version
 * byte, a random 24-byte nonce and a 16-byte tag. */
enum { CRYPTO_SEAL_OVERHEAD = 1 + 24 + 16 };

/* Returns 0, or ERR_INTERNAL when the random source cannot be used. */
int crypto_init(void);

void crypto_random(void *out, size_t n);

/* Writes nbytes random bytes as base64url into out (size >= 4*nbytes/3+2). */
void crypto_token(char *out, size_t outsize, size_t nbytes);

/* A random RFC 4122 version-4 UUID, lower-case, into out[UUID_STR_LEN]. */
void crypto_uuid(char out[UUID_STR_LEN]);

/* A version-7 UUID (RFC 9562 §5.7): ms since the epoch in the first 48 bits,
 * then 74 random bits. Rows keyed by it are inserted in time order, so the
 * primary-key index grows at its end instead of everywhere at once. */
void crypto_uuid7(int64_t ms, char out[UUID_STR_LEN]);

void crypto_sha256(const void *data, size_t n, uint8_t out[SHA256_LEN]);
/* SHA-1 (FIPS 180-4), only where a protocol demands it (the WebSocket
 * handshake's accept key, RFC 6455 §4.2.2); never for anything secret. */
void crypto_sha1(const void *data, size_t n, uint8_t out[SHA1_LEN]);
void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                        uint8_t out[SHA256_LEN]);

/* Overwrites n bytes at p with zeros in a way the compiler keeps (for secrets). */
void crypto_wipe(void *p, size_t n);

/* true when a and b (both n bytes) are equal, in time independent of content. */
bool crypto_equal(const void *a, const void *b, size_t n);

/* Lower-case hex of n bytes into out (size >= 2n+1). */
void crypto_hex(const uint8_t *in, size_t n, char *out);

/* base64 (RFC 4648 §4, padded); out needs 4*ceil(n/3)+1 bytes. Returns
 * the length, or 0 (out empty) when out is too small. */
size_t crypto_b64(const uint8_t *in, size_t n, char *out, size_t outsize);

/* base64url without padding; out needs 4*ceil(n/3)+1 bytes. Returns length. */
size_t crypto_b64url(const uint8_t *in, size_t n, char *out, size_t outsize);

/*
 * Decodes base64url text (padding "=" at the end allowed) into out. Returns
 * 0 with the length in *outlen, ERR_INVALID for text that is not base64url,
 * ERR_TOO_BIG when out is too small (n * 3 / 4 bytes always suffice).
 */
int crypto_b64url_decode(const char *in, size_t n, uint8_t *out, size_t outsize, size_t *outlen);

/*
 * Seals n bytes of plain for storage: encrypted and authenticated with a key
 * derived from secret (the configured secret key, any length), bound to ad
 * (the row it belongs in: opening with other ad fails). out needs
 * n + CRYPTO_SEAL_OVERHEAD bytes; *outlen gets the length. Returns 0, or
 * ERR_INVALID when secret is empty or out is too small.
 */
int crypto_seal(const char *secret, const void *plain, size_t n, const void *ad, size_t adlen,
                uint8_t *out, size_t outsize, size_t *outlen);

/*
 * Opens what crypto_seal made. out needs n - CRYPTO_SEAL_OVERHEAD bytes.
 * Returns 0 with the plain length in *outlen; ERR_INVALID when the value was
 * changed, was sealed with another secret or ad, or is not a sealed value
 * (out is then zeroed).
 */
int crypto_open(const char *secret, const uint8_t *sealed, size_t n, const void *ad, size_t adlen,
                uint8_t *out, size_t outsize, size_t *outlen);

#endif
