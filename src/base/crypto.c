/*
 * Crypto helpers over libsodium and OpenSSL.
 */
#include "base/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

int crypto_init(void)
{
    return sodium_init() < 0 ? ERR_INTERNAL : 0;
}

void crypto_random(void *out, size_t n)
{
    randombytes_buf(out, n);
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

void crypto_uuid(char out[UUID_STR_LEN])
{
    uint8_t b[16];
    randombytes_buf(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    char hex[33];
    crypto_hex(b, sizeof(b), hex);
    snprintf(out, UUID_STR_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
}

void crypto_sha256(const void *data, size_t n, uint8_t out[SHA256_LEN])
{
    unsigned int len = SHA256_LEN;
    EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
}

void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                        uint8_t out[SHA256_LEN])
{
    unsigned int len = SHA256_LEN;
    HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &len);
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
