/*
 * Tests for src/drip/webhook.c: the signature (HMAC-SHA256 over
 * "timestamp.body", vectors computed with Python's hmac module) and the
 * SSRF guard on literal addresses (no DNS is asked): IPv4 and IPv6
 * private, loopback, link-local, unspecified, CGNAT, multicast and
 * IPv4-mapped addresses are refused, and so is every IPv6 form that
 * carries a private IPv4 address (compatible, translated, NAT64, 6to4,
 * Teredo, ISATAP); public ones are pinned. The check when saved.
 */
#include "base/crypto.h"
#include "drip/drip.h"
#include "unit/unit.h"

static int setup(void **state)
{
    assert_int_equal(crypto_init(), 0);
    return 0;
}

static void test_signature_vector(void **state)
{
    const char *body = "{\"event\":\"campaign.step\"}";
    char sig[80];
    drip_webhook_signature("whsec-0123456789abcdef", "1700000000", body, strlen(body), sig,
                           sizeof(sig));
    assert_string_equal(sig,
                        "sha256=87b81a83d0c1bfa348aac15dc3d920de4cdc407f7122704611c443724a81e2bd");
    /* The timestamp is signed: another one gives another signature. */
    drip_webhook_signature("whsec-0123456789abcdef", "1700000001", body, strlen(body), sig,
                           sizeof(sig));
    assert_string_equal(sig,
                        "sha256=a34fe806a33daf2411e9f53fea387fc6d8a2d38ecb5afe3e9f0398a02f6bd5e8");
    /* Only body_len bytes of the body count. */
    char sig2[80];
    drip_webhook_signature("whsec-0123456789abcdef", "1700000000",
                           "{\"event\":\"campaign.step\"}xx", strlen(body), sig2, sizeof(sig2));
    assert_string_equal(sig2,
                        "sha256=87b81a83d0c1bfa348aac15dc3d920de4cdc407f7122704611c443724a81e2bd");
}

static int target(const char *url, bool allow, char *pin, size_t n)
{
    struct errinfo e;
    errinfo_clear(&e);
    return drip_webhook_target(url, allow, pin, n, &e);
}

static void test_private_addresses_refused(void **state)
{
    static const char *const refused[] = {
        "http://127.0.0.1/h",
        "http://127.255.255.254/h",
        "http://10.1.2.3/h",
        "http://172.16.0.1/h",
        "http://172.31.255.255/h",
        "http://192.168.1.1/h",
        "http://169.254.169.254/h",
        "http://100.64.0.1/h",
        "http://100.127.255.254/h",
        "http://0.0.0.0/h",
        "http://0.1.2.3/h",
        "http://224.0.0.1/h",
        "http://239.255.255.250/h",
        "http://255.255.255.255/h",
        "http://[::1]/h",
        "http://[::]/h",
        "http://[fe80::1]/h",
        "http://[fc00::1]/h",
        "http://[fd12:3456::1]/h",
        "http://[ff02::1]/h",
        "http://[::ffff:127.0.0.1]/h",
        "http://[::ffff:10.0.0.1]/h",
        "http://[::ffff:169.254.169.254]/h",
        "https://[::ffff:100.64.1.1]:8443/h",
        /* IPv6 forms that carry an IPv4 address get the IPv4 rules. */
        "http://[::127.0.0.1]/h", /* IPv4-compatible */
        "http://[::a9fe:a9fe]/h", /* ::169.254.169.254 */
        "http://[::10.0.0.1]/h",
        "http://[::ffff:0:7f00:1]/h", /* IPv4-translated 127.0.0.1 */
        "http://[::ffff:0:192.168.0.1]/h",
        "http://[64:ff9b::127.0.0.1]/h", /* NAT64 */
        "http://[64:ff9b::a9fe:a9fe]/h",
        "http://[64:ff9b::10.1.2.3]/h",
        "http://[64:ff9b:1::8.8.8.8]/h",        /* local-use NAT64 (RFC 8215) */
        "http://[2002:7f00:1::1]/h",            /* 6to4 of 127.0.0.1 */
        "http://[2002:a9fe:a9fe::]/h",          /* 6to4 of 169.254.169.254 */
        "http://[2002:c0a8:101::1]/h",          /* 6to4 of 192.168.1.1 */
        "http://[2001:0:808:808::80ff:fffe]/h", /* Teredo, client 127.0.0.1 */
        "http://[2001:0:a00:1::f7f7:f7f7]/h",   /* Teredo, server 10.0.0.1 */
        "http://[2606:4700::5efe:7f00:1]/h",    /* ISATAP of 127.0.0.1 */
        "http://[fec0::1]/h",                   /* site-local */
        "http://[2001:db8::1]/h",               /* documentation */
        "http://[100::1]/h",                    /* discard-only */
        "http://localhost/h",
    };
    char pin[256];
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        int rc = target(refused[i], false, pin, sizeof(pin));
        if (rc != ERR_FORBIDDEN)
            fail_msg("%s: %d, not ERR_FORBIDDEN", refused[i], rc);
        /* The setting lets them through (tests, private deployments). */
        if (target(refused[i], true, pin, sizeof(pin)) != 0)
            fail_msg("%s refused with allow_private", refused[i]);
    }
}

static void test_public_addresses_pinned(void **state)
{
    char pin[256];
    assert_int_equal(target("https://8.8.8.8/hook", false, pin, sizeof(pin)), 0);
    assert_string_equal(pin, "8.8.8.8:443:8.8.8.8");
    assert_int_equal(target("http://100.128.0.1:8080/h", false, pin, sizeof(pin)), 0);
    assert_string_equal(pin, "100.128.0.1:8080:100.128.0.1"); /* just past 100.64/10 */
    assert_int_equal(target("http://172.32.0.1/h", false, pin, sizeof(pin)), 0); /* past /12 */
    assert_int_equal(target("http://100.63.255.255/h", false, pin, sizeof(pin)), 0);
    assert_int_equal(target("https://[2606:4700:4700::1111]/h", false, pin, sizeof(pin)), 0);
    assert_string_equal(pin, "[2606:4700:4700::1111]:443:[2606:4700:4700::1111]");
    assert_int_equal(target("http://[::ffff:8.8.4.4]/h", false, pin, sizeof(pin)), 0);
    /* Public IPv4 addresses inside IPv6 forms stay public. */
    static const char *const public[] = {
        "http://[64:ff9b::8.8.8.8]/h",          "http://[2002:808:808::1]/h",
        "http://[2001:0:808:808::f7f7:fbfb]/h", /* Teredo, client 8.8.4.4 */
        "http://[::ffff:0:8.8.8.8]/h",          "http://[2a00:1450:4001:80b::200e]/h",
    };
    for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++)
        if (target(public[i], false, pin, sizeof(pin)) != 0)
            fail_msg("%s refused", public[i]);
}

/* An IPv6 literal host is bracketed in the pin as in the address part
 * (libcurl parses no bare IPv6 host: net/httpc.c leaves the entry out). */
static void test_ipv6_literal_pin(void **state)
{
    char pin[256];
    assert_int_equal(target("http://[::1]:8080/h", true, pin, sizeof(pin)), 0);
    assert_string_equal(pin, "[::1]:8080:[::1]");
    assert_int_equal(target("https://[2606:4700:4700::1111]/h", false, pin, sizeof(pin)), 0);
    assert_string_equal(pin, "[2606:4700:4700::1111]:443:[2606:4700:4700::1111]");
}

/* When a step or a channel is saved: literal addresses and localhost, no DNS. */
static void test_check_when_saved(void **state)
{
    static const char *const refused[] = {
        "http://[::127.0.0.1]/",          "http://[::a9fe:a9fe]/h",
        "http://[::ffff:0:7f00:1]/",      "http://[64:ff9b::10.0.0.1]/",
        "http://[2002:a00:1::1]/",        "http://127.0.0.1:8080/h",
        "https://169.254.169.254/latest", "http://LocalHost./h",
        "http://api.localhost/h",         "http://[::1]/",
    };
    struct errinfo e;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        errinfo_clear(&e);
        if (drip_webhook_check(refused[i], false, &e) != ERR_FORBIDDEN)
            fail_msg("%s not refused", refused[i]);
        errinfo_clear(&e);
        if (drip_webhook_check(refused[i], true, &e) != 0)
            fail_msg("%s refused with allow_private", refused[i]);
    }
    errinfo_clear(&e);
    assert_int_equal(drip_webhook_check("https://hooks.example.com/x", false, &e), 0);
    assert_int_equal(drip_webhook_check("http://[64:ff9b::8.8.8.8]/", false, &e), 0);
    assert_int_equal(drip_webhook_check("http://8.8.8.8:8080/", false, &e), 0);
    assert_int_equal(drip_webhook_check("ftp://8.8.8.8/", true, &e), ERR_INVALID);
}

static void test_bad_urls(void **state)
{
    char pin[256];
    assert_int_equal(target("ftp://8.8.8.8/", false, pin, sizeof(pin)), ERR_INVALID);
    assert_int_equal(target("http://user:pw@8.8.8.8/", false, pin, sizeof(pin)), ERR_INVALID);
    assert_int_equal(target("http:///x", false, pin, sizeof(pin)), ERR_INVALID);
    assert_int_equal(target("http://8.8.8.8:99999/", false, pin, sizeof(pin)), ERR_INVALID);
    assert_int_equal(target("http://[::1/", false, pin, sizeof(pin)), ERR_INVALID);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_signature_vector, setup),
    cmocka_unit_test(test_private_addresses_refused),
    cmocka_unit_test(test_public_addresses_pinned),
    cmocka_unit_test(test_bad_urls),
    cmocka_unit_test(test_ipv6_literal_pin),
    cmocka_unit_test(test_check_when_saved),
};

UNIT_GROUP(unit_drip_webhook, "drip/webhook", tests);
