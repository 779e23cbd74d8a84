/*
 * Tests for src/base/crypto.c with published vectors: SHA-256 (FIPS 180-2
 * appendix B), HMAC-SHA256 (RFC 4231), base64url (RFC 4648 §10, without
 * padding); and the shape of random UUIDs (RFC 4122 §4.4) and tokens;
 * sealing (round trip, and refusal of changed values, other secrets and
 * other associated data).
 */
#include <stdio.h>

#include "base/crypto.h"
#include "base/err.h"
#include "unit/unit.h"

static int setup(void **state)
{
    assert_int_equal(crypto_init(), 0);
    return 0;
}

static void assert_hex(const uint8_t *digest, size_t n, const char *want)
{
    char hex[2 * 64 + 1];
    crypto_hex(digest, n, hex);
    assert_string_equal(hex, want);
}

static void test_sha256_vectors(void **state)
{
    uint8_t d[SHA256_LEN];
    crypto_sha256("abc", 3, d);
    assert_hex(d, sizeof(d), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    crypto_sha256("", 0, d);
    assert_hex(d, sizeof(d), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    crypto_sha256(two, strlen(two), d);
    assert_hex(d, sizeof(d), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_hmac_rfc4231(void **state)
{
    uint8_t d[SHA256_LEN];
    /* Test case 1 */
    uint8_t key1[20];
    memset(key1, 0x0b, sizeof(key1));
    crypto_hmac_sha256(key1, sizeof(key1), "Hi There", 8, d);
    assert_hex(d, sizeof(d), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* Test case 2 */
    const char *data2 = "what do ya want for nothing?";
    crypto_hmac_sha256("Jefe", 4, data2, strlen(data2), d);
    assert_hex(d, sizeof(d), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* Test case 6: a key longer than the block size is hashed first. */
    uint8_t key6[131];
    memset(key6, 0xaa, sizeof(key6));
    const char *data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    crypto_hmac_sha256(key6, sizeof(key6), data6, strlen(data6), d);
    assert_hex(d, sizeof(d), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* Keys are kept prepared per thread: the same answers whichever keys came
 * before, with more keys in turn than the thread keeps. */
static void test_hmac_prepared_keys(void **state)
{
    uint8_t d[SHA256_LEN], key1[20], key6[131];
    memset(key1, 0x0b, sizeof(key1));
    memset(key6, 0xaa, sizeof(key6));
    const char *data2 = "what do ya want for nothing?";
    const char *data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    for (int round = 0; round < 3; round++) {
        for (int other = 0; other < 5 * round; other++) {
            char k[24];
            snprintf(k, sizeof(k), "other-%d", other);
            crypto_hmac_sha256(k, strlen(k), "x", 1, d);
        }
        crypto_hmac_sha256(key1, sizeof(key1), "Hi There", 8, d);
        assert_hex(d, sizeof(d),
                   "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        crypto_hmac_sha256("Jefe", 4, data2, strlen(data2), d);
        assert_hex(d, sizeof(d),
                   "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        crypto_hmac_sha256(key1, sizeof(key1), "Hi There", 8, d);
        assert_hex(d, sizeof(d),
                   "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        crypto_hmac_sha256(key6, sizeof(key6), data6, strlen(data6), d);
        assert_hex(d, sizeof(d),
                   "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }
    /* A key longer than the thread keeps: HMAC under its SHA-256 (RFC 2104). */
    uint8_t big[1000], hashed[SHA256_LEN], want[SHA256_LEN];
    memset(big, 0x5c, sizeof(big));
    crypto_sha256(big, sizeof(big), hashed);
    crypto_hmac_sha256(hashed, sizeof(hashed), "Hi There", 8, want);
    crypto_hmac_sha256(big, sizeof(big), "Hi There", 8, d);
    assert_memory_equal(d, want, sizeof(d));
}

static void test_equal(void **state)
{
    uint8_t a[32], b[32];
    memset(a, 7, sizeof(a));
    memset(b, 7, sizeof(b));
    assert_true(crypto_equal(a, b, sizeof(a)));
    b[31] ^= 1;
    assert_false(crypto_equal(a, b, sizeof(a)));
    b[31] ^= 1;
    b[0] ^= 0x80;
    assert_false(crypto_equal(a, b, sizeof(a)));
    assert_true(crypto_equal(a, b, 0));
}

static void test_hex(void **state)
{
    const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(in) + 1];
    memset(out, 'x', sizeof(out));
    crypto_hex(in, sizeof(in), out);
    assert_string_equal(out, "00017f80abff");
    crypto_hex(in, 0, out);
    assert_string_equal(out, "");
}

static void test_b64url_rfc4648(void **state)
{
    static const struct {
        const char *in, *out;
    } v[] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char out[16];
        size_t n = crypto_b64url((const uint8_t *)v[i].in, strlen(v[i].in), out, sizeof(out));
        assert_string_equal(out, v[i].out);
        assert_int_equal(n, strlen(v[i].out));
    }
}

static void test_b64url_alphabet(void **state)
{
    /* 0xfb 0xff 0xbf is "+/+/" in standard base64: "-_-_" in the URL alphabet. */
    const uint8_t in[] = {0xfb, 0xff, 0xbf};
    char out[8];
    assert_int_equal(crypto_b64url(in, sizeof(in), out, sizeof(out)), 4);
    assert_string_equal(out, "-_-_");
    /* Too small an output buffer writes an empty string and returns 0. */
    char tiny[4] = "zzz";
    assert_int_equal(crypto_b64url(in, sizeof(in), tiny, sizeof(tiny)), 0);
    assert_string_equal(tiny, "");
}

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void test_b64_rfc4648(void **state)
{
    (void)state;
    /* RFC 4648 §10, padded, and the standard alphabet's + and /. */
    char out[16];
    assert_int_equal(crypto_b64((const uint8_t *)"fo", 2, out, sizeof(out)), 4);
    assert_string_equal(out, "Zm8=");
    assert_int_equal(crypto_b64((const uint8_t *)"foobar", 6, out, sizeof(out)), 8);
    assert_string_equal(out, "Zm9vYmFy");
    const uint8_t in[] = {0xfb, 0xff};
    assert_int_equal(crypto_b64(in, sizeof(in), out, sizeof(out)), 4);
    assert_string_equal(out, "+/8=");
    char tiny[4];
    assert_int_equal(crypto_b64(in, sizeof(in), tiny, sizeof(tiny)), 0);
    assert_string_equal(tiny, "");
}

static void test_uuid_format(void **state)
{
    char prev[UUID_STR_LEN] = "";
    for (int k = 0; k < 200; k++) {
        char u[UUID_STR_LEN];
        crypto_uuid(u);
        assert_int_equal(strlen(u), 36);
        for (int i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                assert_int_equal(u[i], '-');
            else if (!is_lower_hex(u[i]))
                fail_msg("bad character '%c' at %d in %s", u[i], i, u);
        }
        assert_int_equal(u[14], '4');           /* version 4 */
        assert_non_null(strchr("89ab", u[19])); /* variant 10xx */
        assert_string_not_equal(u, prev);
        memcpy(prev, u, sizeof(u));
    }
}

static void test_uuid7_is_time_ordered(void **state)
{
    /* 2026-11-20T17:00:00Z = 0x01a1f9e69280 ms. */
    char a[UUID_STR_LEN], b[UUID_STR_LEN], later[UUID_STR_LEN];
    crypto_uuid7(1795194000000LL, a);
    crypto_uuid7(1795194000000LL, b);
    crypto_uuid7(1795194000001LL, later);
    assert_memory_equal(a, "01a1f9e6-9280-7", 15); /* time, then version 7 */
    assert_non_null(strchr("89ab", a[19]));        /* variant 10xx */
    assert_string_not_equal(a, b);                 /* random bits differ in one ms */
    assert_true(strcmp(later, a) > 0 && strcmp(later, b) > 0);
    /* More ids than one refill of the random pool: all distinct. */
    char prev[UUID_STR_LEN] = "";
    for (int i = 0; i < 600; i++) {
        char u[UUID_STR_LEN];
        crypto_uuid7(1795194000000LL + i, u);
        assert_true(strcmp(u, prev) > 0);
        memcpy(prev, u, sizeof(u));
    }
}

static bool is_b64url(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static void test_token(void **state)
{
    char a[128], b[128];
    crypto_token(a, sizeof(a), 32);
    crypto_token(b, sizeof(b), 32);
    assert_int_equal(strlen(a), 43); /* 32 bytes: ceil(32 * 4 / 3) */
    assert_string_not_equal(a, b);
    for (size_t i = 0; a[i]; i++)
        if (!is_b64url(a[i]))
            fail_msg("bad character '%c' in token %s", a[i], a);
    crypto_token(a, sizeof(a), 48);
    assert_int_equal(strlen(a), 64);
    crypto_token(a, sizeof(a), 16);
    assert_int_equal(strlen(a), 22);
}

static void test_random_fills(void **state)
{
    uint8_t zero[64], r[64];
    memset(zero, 0, sizeof(zero));
    memset(r, 0, sizeof(r));
    crypto_random(r, sizeof(r));
    assert_false(crypto_equal(r, zero, sizeof(r))); /* 2^-512 to fail by chance */
}

static void test_b64url_decode(void **state)
{
    uint8_t out[16];
    size_t n = 99;
    assert_int_equal(crypto_b64url_decode("Zm9vYmFy", 8, out, sizeof(out), &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);
    /* Padding at the end is accepted (the Gmail API sends it). */
    assert_int_equal(crypto_b64url_decode("Zm9vYg==", 8, out, sizeof(out), &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "foob", 4);
    assert_int_equal(crypto_b64url_decode("-_-_", 4, out, sizeof(out), &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "\xfb\xff\xbf", 3);
    assert_int_equal(crypto_b64url_decode("", 0, out, sizeof(out), &n), 0);
    assert_int_equal(n, 0);
    /* The standard alphabet's + and / are not base64url. */
    assert_int_equal(crypto_b64url_decode("+/+/", 4, out, sizeof(out), &n), ERR_INVALID);
    assert_int_equal(crypto_b64url_decode("Zm9v!mFy", 8, out, sizeof(out), &n), ERR_INVALID);
    assert_int_equal(crypto_b64url_decode("Zm9vY", 5, out, sizeof(out), &n), ERR_INVALID);
    assert_int_equal(crypto_b64url_decode("Zm9vYmFy", 8, out, 5, &n), ERR_TOO_BIG);
}

static const char secret[] = "a secret key of the test, long enough";
static const char ad[] = "workspace-1\ngmail";

static void test_seal_round_trip(void **state)
{
    const char *plain = "ya29.a0-access-token";
    size_t n = strlen(plain), slen, olen;
    uint8_t sealed[128], again[128], out[128];
    assert_int_equal(crypto_seal(secret, plain, n, ad, strlen(ad), sealed, sizeof(sealed), &slen),
                     0);
    assert_int_equal(slen, n + CRYPTO_SEAL_OVERHEAD);
    assert_null(memmem(sealed, slen, plain, n)); /* not in clear */
    assert_int_equal(crypto_open(secret, sealed, slen, ad, strlen(ad), out, sizeof(out), &olen), 0);
    assert_int_equal(olen, n);
    assert_memory_equal(out, plain, n);
    /* A random nonce: the same value seals differently each time. */
    assert_int_equal(crypto_seal(secret, plain, n, ad, strlen(ad), again, sizeof(again), &slen), 0);
    assert_memory_not_equal(sealed, again, slen);
    /* The empty value round-trips too. */
    assert_int_equal(crypto_seal(secret, "", 0, ad, strlen(ad), sealed, sizeof(sealed), &slen), 0);
    assert_int_equal(slen, CRYPTO_SEAL_OVERHEAD);
    assert_int_equal(crypto_open(secret, sealed, slen, ad, strlen(ad), out, sizeof(out), &olen), 0);
    assert_int_equal(olen, 0);
}

static void test_seal_tamper(void **state)
{
    const char *plain = "1//refresh-token";
    size_t n = strlen(plain), slen, olen;
    uint8_t sealed[128], out[128];
    assert_int_equal(crypto_seal(secret, plain, n, ad, strlen(ad), sealed, sizeof(sealed), &slen),
                     0);
    /* Every single flipped bit, anywhere, is refused. */
    for (size_t i = 0; i < slen; i++) {
        for (int bit = 0; bit < 8; bit++) {
            sealed[i] ^= (uint8_t)(1 << bit);
            olen = 7;
            assert_int_equal(
                crypto_open(secret, sealed, slen, ad, strlen(ad), out, sizeof(out), &olen),
                ERR_INVALID);
            assert_int_equal(olen, 0);
            sealed[i] ^= (uint8_t)(1 << bit);
        }
    }
    /* Cut short, or too short to be a sealed value. */
    assert_int_equal(crypto_open(secret, sealed, slen - 1, ad, strlen(ad), out, sizeof(out), &olen),
                     ERR_INVALID);
    assert_int_equal(crypto_open(secret, sealed, 3, ad, strlen(ad), out, sizeof(out), &olen),
                     ERR_INVALID);
    assert_int_equal(crypto_open(secret, sealed, slen, ad, strlen(ad), out, sizeof(out), &olen), 0);
}

static void test_seal_wrong_ad_or_secret(void **state)
{
    const char *plain = "token";
    size_t n = strlen(plain), slen, olen;
    uint8_t sealed[64], out[64];
    assert_int_equal(crypto_seal(secret, plain, n, ad, strlen(ad), sealed, sizeof(sealed), &slen),
                     0);
    const char *other = "workspace-2\ngmail";
    assert_int_equal(
        crypto_open(secret, sealed, slen, other, strlen(other), out, sizeof(out), &olen),
        ERR_INVALID);
    assert_int_equal(crypto_open(secret, sealed, slen, NULL, 0, out, sizeof(out), &olen),
                     ERR_INVALID);
    assert_int_equal(
        crypto_open("another secret", sealed, slen, ad, strlen(ad), out, sizeof(out), &olen),
        ERR_INVALID);
    /* No secret, or no room: refused rather than done badly. */
    assert_int_equal(crypto_seal("", plain, n, ad, strlen(ad), sealed, sizeof(sealed), &slen),
                     ERR_INVALID);
    assert_int_equal(crypto_seal(secret, plain, n, ad, strlen(ad), sealed, n, &slen), ERR_INVALID);
    assert_int_equal(crypto_open(secret, sealed, slen, ad, strlen(ad), out, 2, &olen), ERR_INVALID);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, NULL)

static const struct CMUnitTest tests[] = {
    T(test_sha256_vectors),  T(test_hmac_rfc4231), T(test_hmac_prepared_keys),
    T(test_equal),           T(test_hex),          T(test_b64url_rfc4648),
    T(test_b64url_alphabet), T(test_uuid_format),  T(test_uuid7_is_time_ordered),
    T(test_token),           T(test_random_fills), T(test_b64url_decode),
    T(test_seal_round_trip), T(test_seal_tamper),  T(test_seal_wrong_ad_or_secret),
    T(test_b64_rfc4648),
};

UNIT_GROUP(unit_base_crypto, "base/crypto", tests);
