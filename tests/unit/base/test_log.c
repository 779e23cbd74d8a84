/*
 * Tests for src/base/log.c: one JSON object per line with ts, level, event
 * and msg; request_id only while one is set; level filtering; extra fields.
 * Lines go to a pipe (log_set_fd) and are parsed back with jansson.
 */
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "unit/unit.h"

enum { LOG_MSG_MAX_FOR_TEST = 4000 }; /* below log.c's message cap of 4096 */

struct fix {
    int fds[2];
    char *text;
    json_t *lines[32];
    size_t n;
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    assert_int_equal(pipe(f->fds), 0);
    log_set_fd(f->fds[1]);
    log_set_level(LOG_DEBUG);
    clock_set_fake(1234567890123);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    log_set_fd(2);
    if (f->fds[1] >= 0)
        close(f->fds[1]);
    close(f->fds[0]);
    for (size_t i = 0; i < f->n; i++)
        json_decref(f->lines[i]);
    free(f->text);
    free(f);
    return 0;
}

/* Closes the write end, reads every line and parses each as one JSON object. */
static void collect(struct fix *f)
{
    log_set_fd(2);
    close(f->fds[1]);
    f->fds[1] = -1;
    f->text = unit_read_fd(f->fds[0]);
    size_t len = strlen(f->text);
    if (len)
        assert_int_equal(f->text[len - 1], '\n');
    char *p = f->text;
    while (*p) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        *nl = '\0';
        assert_true(f->n < 32);
        json_t *v = unit_json(p);
        assert_true(json_is_object(v));
        f->lines[f->n++] = v;
        p = nl + 1;
    }
}

static const char *field(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void test_line_shape(void **state)
{
    struct fix *f = *state;
    log_msg(LOG_INFO, "test.event", "hello %d", 42);
    collect(f);
    assert_int_equal(f->n, 1);
    json_t *o = f->lines[0];
    assert_string_equal(field(o, "ts"), "2009-02-13T23:31:30.123Z");
    assert_string_equal(field(o, "level"), "info");
    assert_string_equal(field(o, "event"), "test.event");
    assert_string_equal(field(o, "msg"), "hello 42");
    assert_null(json_object_get(o, "request_id"));
    assert_int_equal(json_object_size(o), 4);
}

static void test_levels_and_macros(void **state)
{
    struct fix *f = *state;
    log_debug("e.debug", "d");
    log_info("e.info", "i");
    log_warn("e.warn", "w");
    log_error("e.error", "e");
    collect(f);
    assert_int_equal(f->n, 4);
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(field(f->lines[i], "level"), names[i]);
}

static void test_request_id(void **state)
{
    struct fix *f = *state;
    assert_null(log_request_id());
    log_set_request_id("req-123");
    assert_string_equal(log_request_id(), "req-123");
    log_info("a", "with id");
    log_set_request_id(NULL);
    assert_null(log_request_id());
    log_info("b", "without id");
    log_set_request_id("0123456789012345678901234567890123456789-and-more");
    log_info("c", "long id");
    log_set_request_id("");
    log_info("d", "empty id");
    collect(f);
    assert_int_equal(f->n, 4);
    assert_string_equal(field(f->lines[0], "request_id"), "req-123");
    assert_null(json_object_get(f->lines[1], "request_id"));
    /* Copied into a fixed slot: truncated, still valid JSON. */
    assert_string_equal(field(f->lines[2], "request_id"),
                        "012345678901234567890123456789012345678");
    assert_null(json_object_get(f->lines[3], "request_id"));
}

static void test_level_filter(void **state)
{
    struct fix *f = *state;
    log_set_level(LOG_WARN);
    assert_false(log_enabled(LOG_DEBUG));
    assert_false(log_enabled(LOG_INFO));
    assert_true(log_enabled(LOG_WARN));
    assert_true(log_enabled(LOG_ERROR));
    log_debug("x.debug", "no");
    log_info("x.info", "no");
    log_warn("x.warn", "yes");
    log_error("x.error", "yes");
    struct log_line l;
    assert_false(log_begin(&l, LOG_INFO, "x.builder"));
    log_str(&l, "k", "v"); /* harmless on a line that is off */
    log_end(&l, "nothing");
    collect(f);
    assert_int_equal(f->n, 2);
    assert_string_equal(field(f->lines[0], "event"), "x.warn");
    assert_string_equal(field(f->lines[1], "event"), "x.error");
}

static void test_extra_fields(void **state)
{
    struct fix *f = *state;
    struct log_line l;
    assert_true(log_begin(&l, LOG_INFO, "http.access"));
    log_str(&l, "path", "/api/\"x\"\n");
    log_int(&l, "status", 404);
    log_int(&l, "big", INT64_MIN);
    log_end(&l, "done in %d ms", 3);
    collect(f);
    assert_int_equal(f->n, 1);
    json_t *o = f->lines[0];
    assert_string_equal(field(o, "path"), "/api/\"x\"\n");
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 404);
    assert_true(json_integer_value(json_object_get(o, "big")) == INT64_MIN);
    assert_string_equal(field(o, "msg"), "done in 3 ms");
}

static void test_message_escaped_one_line(void **state)
{
    struct fix *f = *state;
    log_info("esc", "line1\nline2 \"quoted\" \x01 bad utf8 \xff");
    log_info("next", "second");
    collect(f);
    assert_int_equal(f->n, 2); /* the embedded newline did not split the line */
    assert_string_equal(field(f->lines[0], "msg"),
                        "line1\nline2 \"quoted\" \x01 bad utf8 \xef\xbf\xbd");
}

static void test_long_line_not_lost(void **state)
{
    struct fix *f = *state;
    size_t n = 20000;
    char *big = malloc(n + 1);
    memset(big, 'p', n);
    big[n] = '\0';
    log_set_request_id("req-long");
    struct log_line l;
    assert_true(log_begin(&l, LOG_INFO, "http.request"));
    log_str(&l, "path", big);
    log_int(&l, "status", 200);
    log_end(&l, "GET %s", big);
    /* Each control character grows sixfold when escaped. */
    memset(big, '\x01', LOG_MSG_MAX_FOR_TEST);
    big[LOG_MSG_MAX_FOR_TEST] = '\0';
    log_warn("x.escaped", "%s", big);
    log_info("after", "next line");
    free(big);
    collect(f);
    assert_int_equal(f->n, 3);
    assert_string_equal(field(f->lines[0], "event"), "http.request");
    assert_string_equal(field(f->lines[0], "request_id"), "req-long");
    assert_string_equal(field(f->lines[0], "ts"), "2009-02-13T23:31:30.123Z");
    assert_contains(field(f->lines[0], "msg"), "too long");
    assert_string_equal(field(f->lines[1], "event"), "x.escaped");
    assert_string_equal(field(f->lines[1], "level"), "warn");
    assert_string_equal(field(f->lines[2], "msg"), "next line");
}

static void test_level_parse(void **state)
{
    enum log_level l = LOG_ERROR;
    assert_int_equal(log_level_parse("debug", &l), 0);
    assert_int_equal(l, LOG_DEBUG);
    assert_int_equal(log_level_parse("warn", &l), 0);
    assert_int_equal(l, LOG_WARN);
    assert_int_equal(log_level_parse("error", &l), 0);
    assert_int_equal(l, LOG_ERROR);
    assert_int_equal(log_level_parse("info", &l), 0);
    assert_int_equal(l, LOG_INFO);
    assert_int_equal(log_level_parse("warning", &l), ERR_INVALID);
    assert_int_equal(log_level_parse("", &l), ERR_INVALID);
    assert_int_equal(l, LOG_INFO);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest tests[] = {
    T(test_line_shape),         T(test_levels_and_macros), T(test_request_id),
    T(test_level_filter),       T(test_extra_fields),      T(test_message_escaped_one_line),
    T(test_long_line_not_lost), T(test_level_parse),
};

UNIT_GROUP(unit_base_log, "base/log", tests);
