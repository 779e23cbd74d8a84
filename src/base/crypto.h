/*
 * Crypto helpers: random tokens and ids (libsodium), SHA-256 and
 * HMAC-SHA256 (OpenSSL, FIPS 180-4 / RFC 2104), constant-time comparison,
 * hex and base64url (RFC 4648 §5) encoding, and sealing secrets at rest with
 * XChaCha20-Poly1305 (libsodium's IETF AEAD construction), and signing
 * keys for DKIM: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017, RFC 6376 §3.3.1)
 * and Ed25519 over a SHA-256 digest (RFC 8032, RFC 8463).
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
/* The same for base64 (RFC 4648 §4: "+" and "/"), padding allowed. */
int crypto_b64_decode(const char *in, size_t n, uint8_t *out, size_t outsize, size_t *outlen);

/*
 * Whether sig (a DER ECDSA signature) signs the SHA-256 of the bytes of a
 * followed by those of b, with spki (a DER SubjectPublicKeyInfo of an
 * elliptic-curve key, P-256 only). false for anything malformed.
 */
bool crypto_ecdsa_p256_verify(const uint8_t *spki, size_t spki_len, const uint8_t *sig,
                              size_t sig_len, const void *a, size_t alen, const void *b,
                              size_t blen);

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

/* ---- Signing keys (DKIM) ---- */

struct errinfo;
struct crypto_key; /* opaque: a parsed private key */

enum crypto_key_type { CRYPTO_KEY_RSA = 1, CRYPTO_KEY_ED25519 = 2 };

enum {
    CRYPTO_RSA_MIN_BITS = 1024, /* RFC 8301 §3.2: shorter keys must not be used */
    CRYPTO_RSA_MAX_BITS = 8192,
    CRYPTO_SIG_MAX = CRYPTO_RSA_MAX_BITS / 8, /* bytes of the longest signature */
    CRYPTO_PUBKEY_MAX = 2048,                 /* bytes of the longest public key */
};

/*
 * Parses a PEM private key (PKCS#8 "PRIVATE KEY", or "RSA PRIVATE KEY"), n
 * bytes at pem, into *out (free with crypto_key_free). Returns 0;
 * ERR_INVALID when the text is not an unencrypted PEM private key;
 * ERR_UNSUPPORTED for a key that is neither RSA nor Ed25519, or an RSA key
 * outside CRYPTO_RSA_MIN_BITS..CRYPTO_RSA_MAX_BITS. The message says which.
 */
int crypto_key_from_pem(const char *pem, size_t n, struct crypto_key **out, struct errinfo *e);
void crypto_key_free(struct crypto_key *k);

enum crypto_key_type crypto_key_type(const struct crypto_key *k);
int crypto_key_bits(const struct crypto_key *k);

/*
 * Signs the SHA-256 digest of n bytes at data as DKIM does for the key's
 * type: RSASSA-PKCS1-v1_5 (rsa-sha256) or PureEdDSA Ed25519 over the 32-byte
 * digest (ed25519-sha256, RFC 8463 §3). sig needs CRYPTO_SIG_MAX bytes;
 * *siglen gets the length. Returns 0, or ERR_INTERNAL when the library fails.
 */
int crypto_key_sign_sha256(const struct crypto_key *k, const void *data, size_t n, uint8_t *sig,
                           size_t sigsize, size_t *siglen, struct errinfo *e);

/*
 * The public half as a DKIM key record's p= wants it (before base64): the
 * DER SubjectPublicKeyInfo for RSA, the raw 32 bytes for Ed25519 (RFC 8463
 * §4). out needs CRYPTO_PUBKEY_MAX bytes. Returns 0 or ERR_INTERNAL.
 */
int crypto_key_public(const struct crypto_key *k, uint8_t *out, size_t outsize, size_t *outlen,
                      struct errinfo *e);

#endif
