/*
 * Tests for src/http/http.c: method names, the request accessors over the
 * adapter's lookup hook, and the reply's header limit.
 */
#include "http/http.h"
#include "unit/unit.h"

static void test_methods(void **state)
{
    static const struct {
        const char *name;
        enum http_method m;
    } v[] = {
        {"GET", HTTP_GET},         {"HEAD", HTTP_HEAD},   {"POST", HTTP_POST},
        {"PUT", HTTP_PUT},         {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE},
        {"OPTIONS", HTTP_OPTIONS},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(http_method_parse(v[i].name), v[i].m);
        assert_string_equal(http_method_name(v[i].m), v[i].name);
    }
    assert_int_equal(http_method_parse("get"), HTTP_OTHER); /* methods are case-sensitive */
    assert_int_equal(http_method_parse("TRACE"), HTTP_OTHER);
    assert_int_equal(http_method_parse(""), HTTP_OTHER);
    assert_string_equal(http_method_name(HTTP_OTHER), "OTHER");
    assert_string_equal(http_method_name(HTTP_GET | HTTP_POST), "OTHER");
}

static enum http_lookup last_kind;
static const char *last_name;

static const char *lookup(void *conn, enum http_lookup kind, const char *name)
{
    last_kind = kind;
    last_name = name;
    switch (kind) {
    case HTTP_LOOKUP_HEADER:
        return strcmp(name, "Host") == 0 ? "example.com" : NULL;
    case HTTP_LOOKUP_QUERY:
        return strcmp(name, "workspaceId") == 0 ? "ws1" : NULL;
    case HTTP_LOOKUP_COOKIE:
        return strcmp(name, "sid") == 0 ? conn : NULL;
    case HTTP_LOOKUP_CLIENT_IP:
        return "192.0.2.1";
    }
    return NULL;
}

static void test_accessors(void **state)
{
    struct http_req r;
    memset(&r, 0, sizeof(r));
    /* Without a lookup hook everything is absent. */
    assert_null(http_req_header(&r, "Host"));
    assert_null(http_req_query(&r, "x"));
    assert_null(http_req_cookie(&r, "sid"));
    assert_string_equal(http_req_client_ip(&r), "");

    r.lookup = lookup;
    r.conn = "cookie-value";
    assert_string_equal(http_req_header(&r, "Host"), "example.com");
    assert_int_equal(last_kind, HTTP_LOOKUP_HEADER);
    assert_null(http_req_header(&r, "X-None"));
    assert_string_equal(http_req_query(&r, "workspaceId"), "ws1");
    assert_int_equal(last_kind, HTTP_LOOKUP_QUERY);
    assert_string_equal(http_req_cookie(&r, "sid"), "cookie-value");
    assert_int_equal(last_kind, HTTP_LOOKUP_COOKIE);
    assert_string_equal(http_req_client_ip(&r), "192.0.2.1");
    assert_int_equal(last_kind, HTTP_LOOKUP_CLIENT_IP);
}

static void test_reply_headers(void **state)
{
    struct http_reply rep;
    http_reply_init(&rep, 100);
    assert_int_equal(rep.status, 200);
    assert_int_equal(rep.fd, -1);
    assert_int_equal(rep.body.max, 100);
    for (int i = 0; i < HTTP_MAX_HEADERS; i++)
        assert_int_equal(http_reply_header(&rep, "X-N", "v"), 0);
    assert_int_equal(http_reply_header(&rep, "X-Over", "v"), ERR_TOO_BIG);
    assert_int_equal(rep.nheaders, HTTP_MAX_HEADERS);
    assert_string_equal(rep.headers[0].name, "X-N");
    http_reply_release(&rep);
    http_reply_release(&rep); /* twice is harmless */
}

/* Fields of an application/x-www-form-urlencoded body. */
static void test_form_fields(void **state)
{
    struct arena a;
    arena_init(&a, NULL, 0);
    struct http_req r;
    memset(&r, 0, sizeof(r));
    r.arena = &a;
    assert_null(http_req_form(&r, "name")); /* no body */
    buf_init(&r.body, 1024);
    const char *body = "csrf=ab-C_9&name=Ada+Lovelace&email=ada%40example.test&empty=&flag"
                       "&pct=100%25%zz%4&nul=a%00b&na%6De2=x&name=second";
    buf_puts(&r.body, body);
    assert_string_equal(http_req_form(&r, "csrf"), "ab-C_9");
    assert_string_equal(http_req_form(&r, "name"), "Ada Lovelace"); /* the first one */
    assert_string_equal(http_req_form(&r, "email"), "ada@example.test");
    assert_string_equal(http_req_form(&r, "empty"), "");
    assert_string_equal(http_req_form(&r, "flag"), "");
    assert_string_equal(http_req_form(&r, "pct"), "100%%zz%4"); /* bad escapes stay */
    assert_null(http_req_form(&r, "nul"));                      /* no NUL in a field */
    assert_string_equal(http_req_form(&r, "name2"), "x");       /* names are decoded too */
    assert_null(http_req_form(&r, "missing"));
    assert_null(http_req_form(&r, "emai"));
    buf_release(&r.body);
    arena_release(&a);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_methods),
    cmocka_unit_test(test_form_fields),
    cmocka_unit_test(test_accessors),
    cmocka_unit_test(test_reply_headers),
};

UNIT_GROUP(unit_http_http, "http/http", tests);
