/*
 * Crypto helpers over libsodium and OpenSSL.
 */
#include "base/crypto.h"

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

int crypto_init(void)
{
    return sodium_init() < 0 ? ERR_INTERNAL : 0;
}

void crypto_random(void *out, size_t n)
{
    randombytes_buf(out, n);
}

size_t crypto_b64(const uint8_t *in, size_t n, char *out, size_t outsize)
{
    size_t need = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    if (outsize < need) {
        if (outsize)
            out[0] = '\0';
        return 0;
    }
    sodium_bin2base64(out, outsize, in, n, sodium_base64_VARIANT_ORIGINAL);
    return strlen(out);
}

size_t crypto_b64url(const uint8_t *in, size_t n, char *out, size_t outsize)
{
    size_t need = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (outsize < need) {
        if (outsize)
            out[0] = '\0';
        return 0;
    }
    sodium_bin2base64(out, outsize, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return strlen(out);
}

void crypto_token(char *out, size_t outsize, size_t nbytes)
{
    uint8_t raw[64];
    if (nbytes > sizeof(raw))
        nbytes = sizeof(raw);
    randombytes_buf(raw, nbytes);
    crypto_b64url(raw, nbytes, out, outsize);
    sodium_memzero(raw, sizeof(raw));
}

/* 16 random bytes for an id, from a per-thread pool refilled 4 KB at a
 * time: one getrandom() per 256 ids instead of one per id. */
static void id_random(uint8_t b[16])
{
    static _Thread_local uint8_t pool[4096];
    static _Thread_local size_t left;
    if (left < 16) {
        randombytes_buf(pool, sizeof(pool));
        left = sizeof(pool);
    }
    memcpy(b, pool + sizeof(pool) - left, 16);
    sodium_memzero(pool + sizeof(pool) - left, 16);
    left -= 16;
}

static void uuid_format(uint8_t b[16], char out[UUID_STR_LEN])
{
    char hex[33];
    crypto_hex(b, 16, hex);
    snprintf(out, UUID_STR_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
}

void crypto_uuid(char out[UUID_STR_LEN])
{
    uint8_t b[16];
    id_random(b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    uuid_format(b, out);
}

void crypto_uuid7(int64_t ms, char out[UUID_STR_LEN])
{
    uint8_t b[16];
    id_random(b);
    uint64_t t = (uint64_t)ms;
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(t >> (40 - 8 * i));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x70);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    uuid_format(b, out);
}

void crypto_sha256(const void *data, size_t n, uint8_t out[SHA256_LEN])
{
    unsigned int len = SHA256_LEN;
    EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
}

void crypto_sha1(const void *data, size_t n, uint8_t out[SHA1_LEN])
{
    unsigned int len = SHA1_LEN;
    EVP_Digest(data, n, out, &len, EVP_sha1(), NULL);
}

/*
 * HMAC keys kept prepared per thread: an EVP_MAC_CTX holds a key's inner and
 * outer pad states, so a message under a key used lately costs a reinit (a
 * copy of those states) and the message's hashing, not the key schedule and
 * a provider fetch as a one-shot HMAC() does. A few keys per thread (the
 * tracking key and its derivation), replaced in turn; longer keys are not
 * kept.
 */
enum { HMAC_SLOTS = 4, HMAC_KEY_MAX = 256 };

struct hmac_slot {
    EVP_MAC_CTX *ctx;
    size_t keylen;
    uint8_t key[HMAC_KEY_MAX];
};

struct hmac_cache {
    EVP_MAC *mac;
    struct hmac_slot slot[HMAC_SLOTS];
    unsigned next;
};

static pthread_key_t hmac_key;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_cache_free(void *p)
{
    struct hmac_cache *hc = p;
    for (size_t i = 0; i < HMAC_SLOTS; i++) {
        EVP_MAC_CTX_free(hc->slot[i].ctx);
        crypto_wipe(hc->slot[i].key, sizeof(hc->slot[i].key));
    }
    EVP_MAC_free(hc->mac);
    free(hc);
}

static void hmac_key_init(void)
{
    if (pthread_key_create(&hmac_key, hmac_cache_free) != 0)
        abort();
}

/* The thread's context prepared with key, or NULL (then a one-shot HMAC). */
static EVP_MAC_CTX *hmac_prepared(const void *key, size_t keylen)
{
    if (keylen > HMAC_KEY_MAX)
        return NULL;
    pthread_once(&hmac_once, hmac_key_init);
    struct hmac_cache *hc = pthread_getspecific(hmac_key);
    if (!hc) {
        hc = calloc(1, sizeof(*hc));
        if (!hc || !(hc->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) ||
            pthread_setspecific(hmac_key, hc) != 0) {
            if (hc)
                EVP_MAC_free(hc->mac);
            free(hc);
            return NULL;
        }
    }
    for (size_t i = 0; i < HMAC_SLOTS; i++) {
        struct hmac_slot *s = &hc->slot[i];
        if (s->ctx && s->keylen == keylen && crypto_equal(s->key, key, keylen))
            return EVP_MAC_init(s->ctx, NULL, 0, NULL) ? s->ctx : NULL;
    }
    struct hmac_slot *s = &hc->slot[hc->next++ % HMAC_SLOTS];
    if (!s->ctx && !(s->ctx = EVP_MAC_CTX_new(hc->mac)))
        return NULL;
    s->keylen = 0;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    if (!EVP_MAC_init(s->ctx, key, keylen, params))
        return NULL;
    memcpy(s->key, key, keylen);
    s->keylen = keylen;
    return s->ctx;
}

void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                        uint8_t out[SHA256_LEN])
{
    EVP_MAC_CTX *ctx = hmac_prepared(key, keylen);
    size_t len = 0;
    if (ctx && EVP_MAC_update(ctx, data, n) && EVP_MAC_final(ctx, out, &len, SHA256_LEN) &&
        len == SHA256_LEN)
        return;
    unsigned int ulen = SHA256_LEN;
    HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &ulen);
}

void crypto_wipe(void *p, size_t n)
{
    if (p && n)
        sodium_memzero(p, n);
}

bool crypto_equal(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}

void crypto_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int crypto_b64url_decode(const char *in, size_t n, uint8_t *out, size_t outsize, size_t *outlen)
{
    while (n > 0 && in[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return ERR_INVALID;
    size_t need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (need > outsize)
        return ERR_TOO_BIG;
    const char *end = NULL;
    if (sodium_base642bin(out, outsize, in, n, NULL, outlen, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != in + n)
        return ERR_INVALID;
    return 0;
}

enum { SEAL_VERSION = 1 };
_Static_assert(CRYPTO_SEAL_OVERHEAD == 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
                                           crypto_aead_xchacha20poly1305_ietf_ABYTES,
               "CRYPTO_SEAL_OVERHEAD matches the cipher");

/* The sealing key: HMAC-SHA256 of a fixed label under the secret, so the
 * secret itself (also used to sign links) never keys the cipher. */
static void seal_key(const char *secret, uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES])
{
    static const char label[] = "leadflow sealed token v1";
    uint8_t d[SHA256_LEN];
    crypto_hmac_sha256(secret, strlen(secret), label, sizeof(label) - 1, d);
    memcpy(key, d, crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    sodium_memzero(d, sizeof(d));
}

int crypto_seal(const char *secret, const void *plain, size_t n, const void *ad, size_t adlen,
                uint8_t *out, size_t outsize, size_t *outlen)
{
    enum { NONCE = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES };
    if (!secret || !*secret || outsize < n + CRYPTO_SEAL_OVERHEAD)
        return ERR_INVALID;
    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    seal_key(secret, key);
    out[0] = SEAL_VERSION;
    randombytes_buf(out + 1, NONCE);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + NONCE, &clen, plain, n, ad, adlen, NULL,
                                               out + 1, key);
    sodium_memzero(key, sizeof(key));
    *outlen = 1 + NONCE + (size_t)clen;
    return 0;
}

int crypto_open(const char *secret, const uint8_t *sealed, size_t n, const void *ad, size_t adlen,
                uint8_t *out, size_t outsize, size_t *outlen)
{
    enum { NONCE = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES };
    *outlen = 0;
    if (!secret || !*secret || n < CRYPTO_SEAL_OVERHEAD || sealed[0] != SEAL_VERSION ||
        outsize < n - CRYPTO_SEAL_OVERHEAD)
        return ERR_INVALID;
    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    seal_key(secret, key);
    unsigned long long plen = 0;
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(out, &plen, NULL, sealed + 1 + NONCE,
                                                        n - 1 - NONCE, ad, adlen, sealed + 1, key);
    sodium_memzero(key, sizeof(key));
    if (rc != 0) {
        sodium_memzero(out, n - CRYPTO_SEAL_OVERHEAD);
        return ERR_INVALID;
    }
    *outlen = (size_t)plen;
    return 0;
}

/* ---- Signing keys ---- */

struct crypto_key {
    EVP_PKEY *pkey;
    enum crypto_key_type type;
    int bits;
};

int crypto_key_from_pem(const char *pem, size_t n, struct crypto_key **out, struct errinfo *e)
{
    *out = NULL;
    if (n > INT32_MAX)
        return failf(e, ERR_INVALID, "not a PEM private key (too long)");
    BIO *bio = BIO_new_mem_buf(pem, (int)n);
    if (!bio)
        return failf(e, ERR_INTERNAL, "out of memory reading a key");
    /* An empty passphrase callback: an encrypted key fails instead of
     * prompting on the terminal. */
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
    BIO_free(bio);
    if (!pk)
        return failf(e, ERR_INVALID,
                     "not an unencrypted PEM private key (BEGIN PRIVATE KEY or BEGIN RSA "
                     "PRIVATE KEY)");
    enum crypto_key_type type;
    int bits = EVP_PKEY_get_bits(pk);
    if (EVP_PKEY_is_a(pk, "RSA")) {
        type = CRYPTO_KEY_RSA;
        if (bits < CRYPTO_RSA_MIN_BITS || bits > CRYPTO_RSA_MAX_BITS) {
            EVP_PKEY_free(pk);
            return failf(e, ERR_UNSUPPORTED, "an RSA key of %d bits: it must have %d to %d bits",
                         bits, CRYPTO_RSA_MIN_BITS, CRYPTO_RSA_MAX_BITS);
        }
    } else if (EVP_PKEY_is_a(pk, "ED25519")) {
        type = CRYPTO_KEY_ED25519;
    } else {
        const char *name = EVP_PKEY_get0_type_name(pk);
        int rc = failf(e, ERR_UNSUPPORTED, "a key of type %s: only RSA and Ed25519 keys are used",
                       name ? name : "unknown");
        EVP_PKEY_free(pk);
        return rc;
    }
    struct crypto_key *k = xcalloc(1, sizeof(*k));
    k->pkey = pk;
    k->type = type;
    k->bits = bits;
    *out = k;
    return 0;
}

void crypto_key_free(struct crypto_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

enum crypto_key_type crypto_key_type(const struct crypto_key *k)
{
    return k->type;
}

int crypto_key_bits(const struct crypto_key *k)
{
    return k->bits;
}

int crypto_key_sign_sha256(const struct crypto_key *k, const void *data, size_t n, uint8_t *sig,
                           size_t sigsize, size_t *siglen, struct errinfo *e)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return failf(e, ERR_INTERNAL, "out of memory signing");
    int ok;
    size_t len = sigsize;
    if (k->type == CRYPTO_KEY_RSA) {
        ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
             EVP_DigestSign(ctx, sig, &len, data, n) == 1;
    } else {
        /* RFC 8463 §3: Ed25519 signs the SHA-256 digest, not the data. */
        uint8_t digest[SHA256_LEN];
        crypto_sha256(data, n, digest);
        ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
             EVP_DigestSign(ctx, sig, &len, digest, sizeof(digest)) == 1;
    }
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return failf(e, ERR_INTERNAL, "signing failed");
    *siglen = len;
    return 0;
}

int crypto_key_public(const struct crypto_key *k, uint8_t *out, size_t outsize, size_t *outlen,
                      struct errinfo *e)
{
    if (k->type == CRYPTO_KEY_ED25519) {
        size_t len = outsize;
        if (EVP_PKEY_get_raw_public_key(k->pkey, out, &len) != 1)
            return failf(e, ERR_INTERNAL, "cannot read the Ed25519 public key");
        *outlen = len;
        return 0;
    }
    int len = i2d_PUBKEY(k->pkey, NULL);
    if (len <= 0 || (size_t)len > outsize)
        return failf(e, ERR_INTERNAL, "cannot encode the RSA public key");
    uint8_t *p = out;
    i2d_PUBKEY(k->pkey, &p);
    *outlen = (size_t)len;
    return 0;
}

int crypto_b64_decode(const char *in, size_t n, uint8_t *out, size_t outsize, size_t *outlen)
{
    /* The url alphabet's own "-" and "_" are not base64: made invalid. */
    char *url = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        url[i] = in[i] == '+'                   ? '-'
                 : in[i] == '/'                 ? '_'
                 : in[i] == '-' || in[i] == '_' ? '!'
                                                : in[i];
    url[n] = '\0';
    int rc = crypto_b64url_decode(url, n, out, outsize, outlen);
    free(url);
    return rc;
}

bool crypto_ecdsa_p256_verify(const uint8_t *spki, size_t spki_len, const uint8_t *sig,
                              size_t sig_len, const void *a, size_t alen, const void *b,
                              size_t blen)
{
    const unsigned char *p = spki;
    EVP_PKEY *pk = spki_len <= LONG_MAX ? d2i_PUBKEY(NULL, &p, (long)spki_len) : NULL;
    if (!pk)
        return false;
    bool ok = false;
    char curve[64] = "";
    size_t clen = 0;
    EVP_MD_CTX *ctx = NULL;
    if (EVP_PKEY_is_a(pk, "EC") &&
        EVP_PKEY_get_utf8_string_param(pk, "group", curve, sizeof(curve), &clen) == 1 &&
        strcmp(curve, "prime256v1") == 0 && (ctx = EVP_MD_CTX_new()) != NULL)
        ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
             EVP_DigestVerifyUpdate(ctx, a, alen) == 1 &&
             EVP_DigestVerifyUpdate(ctx, b, blen) == 1 &&
             EVP_DigestVerifyFinal(ctx, sig, sig_len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ok;
}
