/*
 * Tests for src/ws/handshake.c: the accept key (RFC 6455 §1.3's example),
 * which keys and headers make a handshake, and which Origins are this
 * server's.
 */
#include "base/err.h"
#include "unit/unit.h"
#include "ws/handshake.h"

static void test_accept_key(void **state)
{
    char accept[WS_ACCEPT_LEN];
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept);
    assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_key_valid(void **state)
{
    assert_true(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=="));
    assert_true(ws_key_valid("AAAAAAAAAAAAAAAAAAAAAA=="));
    assert_true(ws_key_valid("/+/+/+/+/+/+/+/+/+/+/w=="));
    assert_false(ws_key_valid(NULL));
    assert_false(ws_key_valid(""));
    assert_false(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ="));   /* 23 characters */
    assert_false(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ===")); /* 25 */
    assert_false(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ-="));  /* not padded */
    assert_false(ws_key_valid("dGhlIHNhbXBsZSBub25jZB=="));  /* stray bits: not 16 bytes */
    assert_false(ws_key_valid("dGhlIHNhbXBsZ_Bub25jZQ=="));  /* base64url, not base64 */
    assert_false(ws_key_valid("dGhlIHNhbXBs ZSBub25jZQ=="));
}

static void test_origin(void **state)
{
    const char *pub = "https://crm.example.com/base";
    assert_true(ws_origin_allowed("https://crm.example.com", pub, "10.0.0.5:8080"));
    assert_true(ws_origin_allowed("HTTPS://CRM.Example.com:443", pub, NULL));
    assert_true(ws_origin_allowed("http://127.0.0.1:8080", pub, "127.0.0.1:8080"));
    assert_true(ws_origin_allowed("http://localhost", NULL, "localhost:80"));
    assert_true(ws_origin_allowed("https://app.test:8443", NULL, "APP.test:8443"));
    assert_false(ws_origin_allowed("http://crm.example.com", pub, NULL)); /* scheme differs */
    assert_false(ws_origin_allowed("https://evil.example", pub, "127.0.0.1:8080"));
    assert_false(ws_origin_allowed("https://crm.example.com.evil.example", pub, NULL));
    assert_false(ws_origin_allowed("http://127.0.0.1:8081", pub, "127.0.0.1:8080"));
    assert_false(ws_origin_allowed("null", pub, "127.0.0.1:8080"));
    assert_false(ws_origin_allowed("https://crm.example.com/path", pub, NULL));
    assert_false(ws_origin_allowed("http://user@127.0.0.1:8080", pub, "127.0.0.1:8080"));
    assert_false(ws_origin_allowed("ftp://127.0.0.1:8080", NULL, "127.0.0.1:8080"));
    assert_false(ws_origin_allowed("", pub, ""));
    assert_false(ws_origin_allowed("http://127.0.0.1:8080", NULL, NULL));
}

static void test_check(void **state)
{
    char accept[WS_ACCEPT_LEN];
    struct errinfo e;
    struct ws_handshake h = {
        .upgrade = "WebSocket",
        .connection = "keep-alive, Upgrade",
        .version = "13",
        .key = "dGhlIHNhbXBsZSBub25jZQ==",
        .origin = NULL,
        .host = "127.0.0.1:8080",
    };
    assert_int_equal(ws_handshake_check(&h, NULL, accept, &e), 0);
    assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    h.origin = "http://127.0.0.1:8080";
    assert_int_equal(ws_handshake_check(&h, NULL, accept, &e), 0);
    h.origin = "http://evil.example";
    assert_int_equal(ws_handshake_check(&h, NULL, accept, &e), ERR_FORBIDDEN);
    assert_contains(e.msg, "Origin");
    h.origin = NULL;

    struct ws_handshake bad = h;
    bad.upgrade = "h2c";
    assert_int_equal(ws_handshake_check(&bad, NULL, accept, &e), ERR_INVALID);
    bad = h;
    bad.connection = "keep-alive";
    assert_int_equal(ws_handshake_check(&bad, NULL, accept, &e), ERR_INVALID);
    bad = h;
    bad.version = "8";
    assert_int_equal(ws_handshake_check(&bad, NULL, accept, &e), ERR_INVALID);
    assert_contains(e.msg, "13");
    bad = h;
    bad.key = NULL;
    assert_int_equal(ws_handshake_check(&bad, NULL, accept, &e), ERR_INVALID);
    /* A broken handshake is 400 even from a foreign Origin: first things first. */
    bad.origin = "http://evil.example";
    assert_int_equal(ws_handshake_check(&bad, NULL, accept, &e), ERR_INVALID);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_accept_key),
    cmocka_unit_test(test_key_valid),
    cmocka_unit_test(test_origin),
    cmocka_unit_test(test_check),
};

UNIT_GROUP(unit_ws_handshake, "ws/handshake", tests);
