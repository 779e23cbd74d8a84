/*
 * Tests for src/http/reply.c: the one table from ERR_* to HTTP status and API
 * code (DESIGN.md §4), the error envelope and the success envelope.
 */
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "http/reply.h"
#include "unit/unit.h"

static void test_status_table(void **state)
{
    static const struct {
        int code, status;
        const char *api;
    } table[] = {
        {ERR_OK, 200, "OK"},
        {ERR_INVALID, 400, "VALIDATION_ERROR"},
        {ERR_UNAUTHORIZED, 401, "UNAUTHORIZED"},
        {ERR_FORBIDDEN, 403, "FORBIDDEN"},
        {ERR_NOT_FOUND, 404, "NOT_FOUND"},
        {ERR_CONFLICT, 409, "CONFLICT"},
        {ERR_RATE_LIMITED, 429, "RATE_LIMITED"},
        {ERR_TOO_BIG, 413, "PAYLOAD_TOO_LARGE"},
        {ERR_METHOD, 405, "METHOD_NOT_ALLOWED"},
        {ERR_INTERNAL, 500, "INTERNAL"},
        {ERR_DB, 500, "INTERNAL"},
        {ERR_IO, 500, "INTERNAL"},
        {ERR_CONFIG, 500, "INTERNAL"},
        {ERR_TEMPORARY, 503, "UNAVAILABLE"},
        {ERR_UNSUPPORTED, 501, "NOT_IMPLEMENTED"},
    };
    /* Every code has a row: a new ERR_* must be added here and in reply.c. */
    assert_int_equal(sizeof(table) / sizeof(table[0]), ERR_COUNT);
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (reply_status_for(table[i].code) != table[i].status)
            fail_msg("%s: status %d, want %d", err_name(table[i].code),
                     reply_status_for(table[i].code), table[i].status);
        assert_string_equal(reply_code_for(table[i].code), table[i].api);
    }
    assert_int_equal(reply_status_for(1), 500);
    assert_int_equal(reply_status_for(-ERR_COUNT), 500);
    assert_int_equal(reply_status_for(-1000), 500);
    assert_string_equal(reply_code_for(-1000), "INTERNAL");
    assert_string_equal(reply_code_for(7), "INTERNAL");
}

/* Parses rep's body as an error envelope and checks its shape. */
static json_t *error_envelope(const struct http_reply *rep, const char *code)
{
    json_t *v = unit_json(buf_str(&rep->body));
    assert_true(json_is_object(v));
    assert_int_equal(json_object_size(v), 2);
    assert_true(json_is_false(json_object_get(v, "success")));
    json_t *err = json_object_get(v, "error");
    assert_true(json_is_object(err));
    assert_int_equal(json_object_size(err), 2);
    assert_string_equal(json_string_value(json_object_get(err, "code")), code);
    assert_true(json_is_string(json_object_get(err, "message")));
    return v;
}

static const char *message_of(json_t *v)
{
    return json_string_value(json_object_get(json_object_get(v, "error"), "message"));
}

static void test_error_envelope(void **state)
{
    struct http_reply rep;
    http_reply_init(&rep, 4096);
    buf_puts(&rep.body, "partial data that must go");
    reply_error(&rep, ERR_NOT_FOUND, "no such \"contact\"\n");
    assert_int_equal(rep.status, 404);
    assert_string_equal(rep.content_type, "application/json");
    json_t *v = error_envelope(&rep, "NOT_FOUND");
    assert_string_equal(message_of(v), "no such \"contact\"\n");
    json_decref(v);

    reply_error(&rep, ERR_TEMPORARY, "busy");
    assert_int_equal(rep.status, 503);
    v = error_envelope(&rep, "UNAVAILABLE");
    json_decref(v);
    http_reply_release(&rep);
}

static void test_error_fits_small_limit(void **state)
{
    struct http_reply rep;
    http_reply_init(&rep, 16); /* smaller than any envelope */
    char msg[2000];
    memset(msg, 'm', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    reply_error(&rep, ERR_TOO_BIG, msg);
    assert_int_equal(rep.status, 413);
    json_t *v = error_envelope(&rep, "PAYLOAD_TOO_LARGE");
    assert_int_equal(strlen(message_of(v)), 512); /* capped */
    json_decref(v);
    http_reply_release(&rep);
}

static void test_error_replaces_file_body(void **state)
{
    struct http_reply rep;
    http_reply_init(&rep, 4096);
    int fds[2];
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(pipe(fds), 0);
    rep.fd = fds[0];
    rep.fd_size = 10;
    reply_error(&rep, ERR_INTERNAL, "x");
    assert_int_equal(rep.fd, -1);
    assert_int_equal(rep.status, 500);
    /* The reply closed the read end: writing now fails with EPIPE. */
    assert_int_equal(write(fds[1], "x", 1), -1);
    close(fds[1]);
    json_decref(error_envelope(&rep, "INTERNAL"));
    http_reply_release(&rep);
}

static void test_ok_envelope(void **state)
{
    struct http_reply rep;
    struct jw w;
    http_reply_init(&rep, 4096);
    buf_puts(&rep.body, "junk");
    reply_ok_begin(&rep, 201, &w);
    jw_obj_begin(&w);
    jw_kstr(&w, "id", "c1");
    jw_obj_end(&w);
    assert_int_equal(reply_ok_end(&rep, &w), 0);
    assert_int_equal(rep.status, 201);
    assert_string_equal(rep.content_type, "application/json");
    assert_string_equal(buf_str(&rep.body), "{\"success\":true,\"data\":{\"id\":\"c1\"}}");
    json_decref(unit_json(buf_str(&rep.body)));

    /* data, then a meta object, as list endpoints write it. */
    reply_ok_begin(&rep, 200, &w);
    jw_arr_begin(&w);
    jw_int(&w, 1);
    jw_arr_end(&w);
    jw_key(&w, "meta");
    jw_obj_begin(&w);
    jw_kint(&w, "total", 1);
    jw_obj_end(&w);
    assert_int_equal(reply_ok_end(&rep, &w), 0);
    json_t *v = unit_json(buf_str(&rep.body));
    assert_true(json_is_true(json_object_get(v, "success")));
    assert_int_equal(json_array_size(json_object_get(v, "data")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "meta"), "total")), 1);
    json_decref(v);
    http_reply_release(&rep);
}

static void test_ok_too_big_becomes_413(void **state)
{
    struct http_reply rep;
    struct jw w;
    http_reply_init(&rep, 64);
    reply_ok_begin(&rep, 200, &w);
    jw_str(&w, "a string that is far too long for a sixty-four byte reply body limit");
    assert_int_equal(reply_ok_end(&rep, &w), ERR_TOO_BIG);
    assert_int_equal(rep.status, 413);
    json_decref(error_envelope(&rep, "PAYLOAD_TOO_LARGE"));
    http_reply_release(&rep);
}

static void test_ok_bad_nesting_becomes_500(void **state)
{
    struct http_reply rep;
    struct jw w;
    http_reply_init(&rep, 4096);
    reply_ok_begin(&rep, 200, &w);
    jw_arr_begin(&w); /* never closed */
    jw_int(&w, 1);
    assert_int_equal(reply_ok_end(&rep, &w), ERR_INVALID);
    assert_int_equal(rep.status, 500);
    json_decref(error_envelope(&rep, "INTERNAL"));
    http_reply_release(&rep);
}

static void count_drop(void *arg)
{
    (*(int *)arg)++;
}

static void never_called(void *arg, int fd, const char *extra, size_t nextra)
{
    fail_msg("the upgrade ran");
}

/* A pending 101 that an error replaces, or that nobody takes, is dropped once. */
static void test_error_drops_an_upgrade(void **state)
{
    int drops = 0;
    struct http_reply rep;
    http_reply_init(&rep, 4096);
    rep.status = 101;
    rep.upgrade = (struct http_upgrade){never_called, count_drop, &drops};
    reply_error(&rep, ERR_TEMPORARY, "busy");
    assert_int_equal(drops, 1);
    assert_null(rep.upgrade.fn);
    assert_int_equal(rep.status, 503);
    http_reply_release(&rep);
    assert_int_equal(drops, 1);

    http_reply_init(&rep, 4096);
    rep.status = 101;
    rep.upgrade = (struct http_upgrade){never_called, count_drop, &drops};
    http_reply_release(&rep);
    assert_int_equal(drops, 2);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_status_table),
    cmocka_unit_test(test_error_envelope),
    cmocka_unit_test(test_error_fits_small_limit),
    cmocka_unit_test(test_error_replaces_file_body),
    cmocka_unit_test(test_ok_envelope),
    cmocka_unit_test(test_ok_too_big_becomes_413),
    cmocka_unit_test(test_ok_bad_nesting_becomes_500),
    cmocka_unit_test(test_error_drops_an_upgrade),
};

UNIT_GROUP(unit_http_reply, "http/reply", tests);
