/*
 * Tests for src/mail/events.c: the two signature checks against vectors
 * made elsewhere (Svix's published example; an ECDSA P-256 signature made
 * by python3-cryptography), stale timestamps, and the parsing of SendGrid
 * and Resend event bodies into events.
 */
#include <string.h>

#include "base/arena.h"
#include "mail/events.h"
#include "unit/unit.h"

/* From Svix's documentation of manual verification. */
static const char svix_secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
static const char svix_id[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
static const char svix_body[] = "{\"test\": 2432232314}";
static const char svix_sig[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

static void test_svix_vector(void **state)
{
    (void)state;
    size_t n = strlen(svix_body);
    assert_true(provider_svix_verify(svix_secret, svix_id, "1614265330", svix_sig, svix_body, n,
                                     1614265330));
    /* One of several signatures (a key being rotated) is enough. */
    assert_true(provider_svix_verify(
        svix_secret, svix_id, "1614265330",
        "v1,AAAA v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", svix_body, n, 1614265330));
    /* Another body, id, timestamp, or a stale timestamp: refused. */
    assert_false(provider_svix_verify(svix_secret, svix_id, "1614265330", svix_sig,
                                      "{\"test\": 2432232315}", n, 1614265330));
    assert_false(provider_svix_verify(svix_secret, "msg_other", "1614265330", svix_sig, svix_body,
                                      n, 1614265330));
    assert_false(provider_svix_verify(svix_secret, svix_id, "1614265331", svix_sig, svix_body, n,
                                      1614265330));
    assert_false(provider_svix_verify(svix_secret, svix_id, "1614265330", svix_sig, svix_body, n,
                                      1614265330 + PROVIDER_EVENT_TOLERANCE_S + 1));
    assert_false(provider_svix_verify(svix_secret, svix_id, "1614265330", "v2,whatever", svix_body,
                                      n, 1614265330));
    assert_false(
        provider_svix_verify(svix_secret, svix_id, "1614265330", "", svix_body, n, 1614265330));
}

/* Made with python3-cryptography: a P-256 key's SubjectPublicKeyInfo and
 * its signature of "1700000000" followed by the body. */
static const char sg_key[] =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEU6pnVIRkiCjVODVr5N6r65RgVVpH39spbr8K21pZm5r+fBnRLeS9Y1SI"
    "z7anDARRtA5sMM/LWIEBmmOhKYVI1g==";
static const char sg_sig[] = "MEYCIQDnWIf52tkgA8iQx14Ftc7U6LzUbD5Yt5Zny/erjDL/"
                             "IQIhAMWnSOG9IZoTgKm82Z8HqcAxZRfhPIj9ycKDnJiFpITA";
static const char sg_body[] = "[{\"event\":\"delivered\",\"idempotency_key\":\"x\"}]";
/* A P-384 key: not the curve SendGrid uses. */
static const char p384_key[] = "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEqG3mJD3TV9+"
                               "eNLGQy9vG8Z0Fr4lHMkgHF2iipUXJj5nMz1XuADXpoExqyYdF91UA"
                               "uTJbuTnxARWt05aME7DsREO/2aHxc0vWm2SIt7yYpE6ljMeqMYWLOdr3Cskel/Tr";

static void test_sendgrid_vector(void **state)
{
    (void)state;
    size_t n = strlen(sg_body);
    assert_true(provider_sendgrid_verify(sg_key, sg_sig, "1700000000", sg_body, n, 1700000000));
    assert_false(provider_sendgrid_verify(sg_key, sg_sig, "1700000001", sg_body, n, 1700000000));
    assert_false(
        provider_sendgrid_verify(sg_key, sg_sig, "1700000000", sg_body, n - 1, 1700000000));
    assert_false(provider_sendgrid_verify(sg_key, sg_sig, "1700000000", sg_body, n,
                                          1700000000 + PROVIDER_EVENT_TOLERANCE_S + 1));
    assert_false(provider_sendgrid_verify(p384_key, sg_sig, "1700000000", sg_body, n, 1700000000));
    assert_false(
        provider_sendgrid_verify("not base64!", sg_sig, "1700000000", sg_body, n, 1700000000));
    assert_false(provider_sendgrid_verify(sg_key, NULL, "1700000000", sg_body, n, 1700000000));
    assert_false(provider_sendgrid_verify(sg_key, sg_sig, NULL, sg_body, n, 1700000000));
}

static void test_parse_sendgrid(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, NULL, 0);
    struct errinfo e;
    static const char body[] =
        "[{\"event\":\"processed\",\"idempotency_key\":\"k0\"},"
        "{\"event\":\"click\",\"idempotency_key\":\"k1\",\"url\":\"https://a.example/x\","
        "\"useragent\":\"UA\",\"ip\":\"198.51.100.1\",\"timestamp\":1700000000,"
        "\"sg_message_id\":\"abc123.filter0001.1\"},"
        "{\"event\":\"bounce\",\"type\":\"blocked\",\"idempotency_key\":\"k2\"},"
        "{\"event\":\"bounce\",\"type\":\"bounce\",\"idempotency_key\":\"k3\"},"
        "{\"event\":\"spamreport\",\"sg_message_id\":\"def456.filter\"}]";
    struct provider_event *ev;
    size_t n;
    assert_int_equal(provider_events_sendgrid(body, strlen(body), &a, &ev, &n, &e), 0);
    assert_int_equal(n, 4); /* processed is not mapped */
    assert_int_equal(ev[0].kind, PEV_CLICKED);
    assert_string_equal(ev[0].sent_email_id, "k1");
    assert_string_equal(ev[0].provider_message_id, "abc123");
    assert_string_equal(ev[0].url, "https://a.example/x");
    assert_string_equal(ev[0].user_agent, "UA");
    assert_int_equal(ev[0].at, 1700000000000LL);
    assert_int_equal(ev[1].kind, PEV_DEFERRED);
    assert_int_equal(ev[2].kind, PEV_BOUNCED);
    assert_int_equal(ev[3].kind, PEV_COMPLAINED);
    assert_null(ev[3].sent_email_id);
    assert_int_equal(provider_events_sendgrid("{}", 2, &a, &ev, &n, &e), ERR_INVALID);
    arena_release(&a);
}

static void test_parse_resend(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, NULL, 0);
    struct errinfo e;
    struct provider_event *ev;
    size_t n;
    static const char click[] =
        "{\"type\":\"email.clicked\",\"data\":{\"email_id\":\"re_1\",\"click\":"
        "{\"link\":\"https://a.example/y\",\"userAgent\":\"UA\",\"ipAddress\":\"203.0.113.5\"}}}";
    assert_int_equal(provider_events_resend(click, strlen(click), &a, &ev, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].kind, PEV_CLICKED);
    assert_string_equal(ev[0].provider_message_id, "re_1");
    assert_string_equal(ev[0].url, "https://a.example/y");
    assert_string_equal(ev[0].ip, "203.0.113.5");
    static const char soft[] = "{\"type\":\"email.bounced\",\"data\":{\"email_id\":\"re_2\","
                               "\"bounce\":{\"type\":\"Transient\"}}}";
    assert_int_equal(provider_events_resend(soft, strlen(soft), &a, &ev, &n, &e), 0);
    assert_int_equal(ev[0].kind, PEV_DEFERRED);
    static const char hard[] = "{\"type\":\"email.bounced\",\"data\":{\"email_id\":\"re_3\","
                               "\"bounce\":{\"type\":\"Permanent\"}}}";
    assert_int_equal(provider_events_resend(hard, strlen(hard), &a, &ev, &n, &e), 0);
    assert_int_equal(ev[0].kind, PEV_BOUNCED);
    static const char sent[] = "{\"type\":\"email.sent\",\"data\":{\"email_id\":\"re_4\"}}";
    assert_int_equal(provider_events_resend(sent, strlen(sent), &a, &ev, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(provider_events_resend("[]", 2, &a, &ev, &n, &e), ERR_INVALID);
    arena_release(&a);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_svix_vector),
    cmocka_unit_test(test_sendgrid_vector),
    cmocka_unit_test(test_parse_sendgrid),
    cmocka_unit_test(test_parse_resend),
};

UNIT_GROUP(unit_mail_events, "mail/events", tests);
