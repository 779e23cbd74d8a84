/*
 * Tests for src/base/json.c, the streaming writer: commas and nesting,
 * escaping (RFC 8259 §7), UTF-8 validation with U+FFFD replacement, numbers,
 * and the errors jw_finish() reports. Output is checked byte for byte and
 * parsed back with jansson.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>

#include "base/err.h"
#include "base/json.h"
#include "unit/unit.h"

struct fix {
    struct buf b;
    struct jw w;
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    buf_init(&f->b, 1 << 16);
    jw_init(&f->w, &f->b);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    buf_release(&f->b);
    free(f);
    return 0;
}

/* Checks that w finished cleanly with exactly want, which jansson accepts. */
static void assert_json(struct fix *f, const char *want)
{
    assert_int_equal(jw_finish(&f->w), 0);
    assert_string_equal(buf_str(&f->b), want);
    json_decref(unit_json(buf_str(&f->b)));
}

/* Writes s as a string value and returns what jansson reads back. */
static json_t *roundtrip_str(struct fix *f, const char *s, size_t n)
{
    jw_strn(&f->w, s, n);
    assert_int_equal(jw_finish(&f->w), 0);
    json_t *v = unit_json(buf_str(&f->b));
    assert_true(json_is_string(v));
    return v;
}

static void test_nesting_and_commas(void **state)
{
    struct fix *f = *state;
    struct jw *w = &f->w;
    jw_obj_begin(w);
    jw_kint(w, "a", 1);
    jw_key(w, "b");
    jw_arr_begin(w);
    jw_int(w, 1);
    jw_int(w, 2);
    jw_obj_begin(w);
    jw_key(w, "c");
    jw_null(w);
    jw_obj_end(w);
    jw_arr_end(w);
    jw_key(w, "d");
    jw_obj_begin(w);
    jw_obj_end(w);
    jw_key(w, "e");
    jw_arr_begin(w);
    jw_arr_end(w);
    jw_kbool(w, "f", true);
    jw_kbool(w, "g", false);
    jw_kstr(w, "h", "x");
    jw_kstr(w, "i", NULL);
    jw_key(w, "j");
    jw_raw(w, "{\"r\":[1]}", 9);
    jw_obj_end(w);
    assert_json(f, "{\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":{},\"e\":[],\"f\":true,"
                   "\"g\":false,\"h\":\"x\",\"i\":null,\"j\":{\"r\":[1]}}");
}

static void test_arrays_of_arrays(void **state)
{
    struct fix *f = *state;
    struct jw *w = &f->w;
    jw_arr_begin(w);
    jw_arr_begin(w);
    jw_arr_end(w);
    jw_arr_begin(w);
    jw_int(w, 1);
    jw_arr_end(w);
    jw_arr_begin(w);
    jw_arr_begin(w);
    jw_str(w, "2");
    jw_arr_end(w);
    jw_raw(w, "3", 1);
    jw_arr_end(w);
    jw_arr_end(w);
    assert_json(f, "[[],[1],[[\"2\"],3]]");
}

static void test_scalar_top_level(void **state)
{
    struct fix *f = *state;
    jw_str(&f->w, "just a string");
    assert_json(f, "\"just a string\"");
}

static void test_escaping(void **state)
{
    struct fix *f = *state;
    const char in[] = "q\"b\\s/\n\r\t\x01\x1f\x7f\b\f end";
    json_t *v = roundtrip_str(f, in, sizeof(in) - 1);
    assert_string_equal(buf_str(&f->b),
                        "\"q\\\"b\\\\s/\\n\\r\\t\\u0001\\u001f\\u007f\\u0008\\u000c end\"");
    assert_string_equal(json_string_value(v), in);
    json_decref(v);
}

static void test_embedded_nul(void **state)
{
    struct fix *f = *state;
    jw_strn(&f->w, "a\0b", 3);
    assert_int_equal(jw_finish(&f->w), 0);
    assert_string_equal(buf_str(&f->b), "\"a\\u0000b\"");
    json_t *v = json_loads(buf_str(&f->b), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    assert_non_null(v);
    assert_int_equal(json_string_length(v), 3);
    assert_memory_equal(json_string_value(v), "a\0b", 3);
    json_decref(v);
}

static void test_keys_are_escaped(void **state)
{
    struct fix *f = *state;
    jw_obj_begin(&f->w);
    jw_kint(&f->w, "we\"ird\nkey", 1);
    jw_obj_end(&f->w);
    assert_json(f, "{\"we\\\"ird\\nkey\":1}");
}

static void test_valid_utf8_kept(void **state)
{
    struct fix *f = *state;
    /* é (2 bytes), € (3), U+FFFF (3), 😀 (4), U+10FFFF (4): copied as they are. */
    const char in[] = "\xc3\xa9 \xe2\x82\xac \xef\xbf\xbf \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
    json_t *v = roundtrip_str(f, in, sizeof(in) - 1);
    assert_string_equal(json_string_value(v), in);
    json_decref(v);
}

static void check_replaced(const char *in, const char *want_inside)
{
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(json_escape(&b, in, strlen(in)), 0);
    if (strcmp(buf_str(&b), want_inside) != 0) {
        fail_msg("escaping %zu bytes gave \"%s\", want \"%s\"", strlen(in), buf_str(&b),
                 want_inside);
    }
    buf_release(&b);
}

#define FFFD "\xef\xbf\xbd"

static void test_invalid_utf8_replaced(void **state)
{
    check_replaced("a\xff"
                   "b",
                   "a" FFFD "b");
    check_replaced("\x80", FFFD);                   /* lone continuation byte */
    check_replaced("x\xc3", "x" FFFD);              /* truncated at the end */
    check_replaced("\xe2\x82x", FFFD FFFD "x");     /* truncated in the middle */
    check_replaced("\xf0\x9f\x98", FFFD FFFD FFFD); /* 4-byte form cut short */
    check_replaced("\xfe\xff", FFFD FFFD);
}

static void test_overlong_and_surrogates_rejected(void **state)
{
    check_replaced("\xc0\xaf", FFFD FFFD);                   /* overlong '/' */
    check_replaced("\xc1\xbf", FFFD FFFD);                   /* overlong U+007F */
    check_replaced("\xe0\x80\xaf", FFFD FFFD FFFD);          /* overlong, 3 bytes */
    check_replaced("\xe0\x9f\xbf", FFFD FFFD FFFD);          /* U+07FF as 3 bytes */
    check_replaced("\xf0\x82\x82\xac", FFFD FFFD FFFD FFFD); /* overlong €, 4 bytes */
    check_replaced("\xed\xa0\x80", FFFD FFFD FFFD);          /* U+D800 */
    check_replaced("\xed\xbf\xbf", FFFD FFFD FFFD);          /* U+DFFF */
    check_replaced("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* U+110000 */
    check_replaced("\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD);
    /* Right next to the rejected ranges, still valid. */
    check_replaced("\xed\x9f\xbf", "\xed\x9f\xbf"); /* U+D7FF */
    check_replaced("\xee\x80\x80", "\xee\x80\x80"); /* U+E000 */
    check_replaced("\xe0\xa0\x80", "\xe0\xa0\x80"); /* U+0800 */
}

static void test_replaced_output_is_valid_json(void **state)
{
    struct fix *f = *state;
    const char in[] = "ok \xff\xc0\xaf\xed\xa0\x80 \"done\"";
    json_t *v = roundtrip_str(f, in, sizeof(in) - 1);
    assert_string_equal(json_string_value(v), "ok " FFFD FFFD FFFD FFFD FFFD FFFD " \"done\"");
    json_decref(v);
}

static void test_integers(void **state)
{
    struct fix *f = *state;
    jw_arr_begin(&f->w);
    jw_int(&f->w, 0);
    jw_int(&f->w, -1);
    jw_int(&f->w, INT64_MAX);
    jw_int(&f->w, INT64_MIN);
    jw_arr_end(&f->w);
    assert_json(f, "[0,-1,9223372036854775807,-9223372036854775808]");
    json_t *v = unit_json(buf_str(&f->b));
    assert_true(json_integer_value(json_array_get(v, 2)) == INT64_MAX);
    assert_true(json_integer_value(json_array_get(v, 3)) == INT64_MIN);
    json_decref(v);
}

static void test_doubles(void **state)
{
    struct fix *f = *state;
    static const double vals[] = {
        0.1, 1.5, -2.25, 1e300, 5e-324, 0.30000000000000004, 123456789.123456789};
    jw_arr_begin(&f->w);
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
        jw_double(&f->w, vals[i]);
    jw_double(&f->w, NAN);
    jw_double(&f->w, INFINITY);
    jw_double(&f->w, -INFINITY);
    jw_arr_end(&f->w);
    assert_int_equal(jw_finish(&f->w), 0);
    const char *out = buf_str(&f->b);
    /* The shortest form that reads back exactly, not %.17g noise. */
    assert_true(strncmp(out, "[0.1,1.5,-2.25,", 15) == 0);
    assert_contains(out, ",null,null,null]");
    json_t *v = unit_json(out);
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        json_t *x = json_array_get(v, i);
        assert_true(json_is_real(x));
        if (json_real_value(x) != vals[i])
            fail_msg("%.17g came back as %.17g", vals[i], json_real_value(x));
    }
    assert_true(json_is_null(json_array_get(v, 7)));
    assert_true(json_is_null(json_array_get(v, 9)));
    json_decref(v);
}

static void test_depth_limit(void **state)
{
    struct fix *f = *state;
    /* JW_MAX_DEPTH - 1 levels fit... */
    for (int i = 0; i < JW_MAX_DEPTH - 1; i++)
        jw_arr_begin(&f->w);
    for (int i = 0; i < JW_MAX_DEPTH - 1; i++)
        jw_arr_end(&f->w);
    assert_int_equal(jw_finish(&f->w), 0);
    json_decref(unit_json(buf_str(&f->b)));

    /* ...one more is an error, and stays one. */
    struct buf b;
    struct jw w;
    buf_init(&b, 1 << 16);
    jw_init(&w, &b);
    for (int i = 0; i < JW_MAX_DEPTH; i++)
        jw_arr_begin(&w);
    for (int i = 0; i < JW_MAX_DEPTH; i++)
        jw_arr_end(&w);
    assert_int_equal(jw_finish(&w), ERR_INVALID);
    buf_release(&b);
}

static void test_unbalanced(void **state)
{
    struct fix *f = *state;
    jw_obj_end(&f->w); /* nothing open */
    assert_int_equal(jw_finish(&f->w), ERR_INVALID);

    struct buf b;
    struct jw w;
    buf_init(&b, 1024);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kint(&w, "a", 1); /* never closed */
    assert_int_equal(jw_finish(&w), ERR_INVALID);

    buf_reset(&b);
    jw_init(&w, &b);
    jw_arr_begin(&w);
    jw_arr_end(&w);
    jw_arr_end(&w); /* one close too many */
    assert_int_equal(jw_finish(&w), ERR_INVALID);
    buf_release(&b);
}

static void test_mismatched_close(void **state)
{
    struct fix *f = *state;
    /* "{]" is not JSON: closing with the other bracket is bad nesting. */
    jw_obj_begin(&f->w);
    jw_arr_end(&f->w);
    assert_int_equal(jw_finish(&f->w), ERR_INVALID);

    struct buf b;
    struct jw w;
    buf_init(&b, 1024);
    jw_init(&w, &b);
    jw_arr_begin(&w);
    jw_obj_begin(&w);
    jw_arr_end(&w);
    jw_obj_end(&w);
    assert_int_equal(jw_finish(&w), ERR_INVALID);

    /* A key whose value never came: {"a":} */
    buf_reset(&b);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "a");
    jw_obj_end(&w);
    assert_int_equal(jw_finish(&w), ERR_INVALID);
    buf_release(&b);
}

/* Runs one misuse of the writer and expects ERR_INVALID from jw_finish(). */
static void expect_invalid(void (*write)(struct jw *w), const char *what)
{
    struct buf b;
    struct jw w;
    buf_init(&b, 1024);
    jw_init(&w, &b);
    write(&w);
    if (jw_finish(&w) != ERR_INVALID)
        fail_msg("%s: jw_finish() accepted %s", what, buf_str(&b));
    buf_release(&b);
}

static void key_in_array(struct jw *w)
{
    jw_arr_begin(w);
    jw_kint(w, "a", 1);
    jw_arr_end(w);
}

static void value_without_key(struct jw *w)
{
    jw_obj_begin(w);
    jw_int(w, 1);
    jw_obj_end(w);
}

static void value_after_value(struct jw *w)
{
    jw_obj_begin(w);
    jw_kint(w, "a", 1);
    jw_int(w, 2);
    jw_obj_end(w);
}

static void two_keys(struct jw *w)
{
    jw_obj_begin(w);
    jw_key(w, "a");
    jw_kint(w, "b", 1);
    jw_obj_end(w);
}

static void top_level_key(struct jw *w)
{
    jw_kint(w, "a", 1);
}

static void dangling_top_level_key(struct jw *w)
{
    jw_key(w, "a");
}

static void two_top_level_values(struct jw *w)
{
    jw_obj_begin(w);
    jw_obj_end(w);
    jw_int(w, 1);
}

static void test_misuse_is_invalid(void **state)
{
    expect_invalid(key_in_array, "a key in an array");
    expect_invalid(value_without_key, "a value in an object without a key");
    expect_invalid(value_after_value, "two values for one key");
    expect_invalid(two_keys, "a key without a value");
    expect_invalid(top_level_key, "a key outside any object");
    expect_invalid(dangling_top_level_key, "a lone key");
    expect_invalid(two_top_level_values, "two top-level values");
}

static void test_buffer_limit(void **state)
{
    struct buf b;
    struct jw w;
    buf_init(&b, 16);
    jw_init(&w, &b);
    jw_arr_begin(&w);
    jw_str(&w, "0123456789");
    size_t len = b.len;
    jw_str(&w, "this does not fit");
    jw_arr_end(&w);
    assert_int_equal(jw_finish(&w), ERR_TOO_BIG);
    /* Sticky: nothing more was written after the first refusal. */
    jw_int(&w, 1);
    assert_int_equal(jw_finish(&w), ERR_TOO_BIG);
    assert_true(b.len <= 16);
    assert_true(b.len >= len);
    buf_release(&b);
}

static void test_escape_limit(void **state)
{
    struct buf b;
    buf_init(&b, 8);
    /* Each control byte grows to six: the limit is checked on the output. */
    assert_int_equal(json_escape(&b, "\x01\x02", 2), ERR_TOO_BIG);
    assert_true(b.len <= 8);
    buf_release(&b);
    buf_init(&b, 8);
    assert_int_equal(json_escape(&b, "abcdefgh", 8), 0);
    assert_int_equal(json_escape(&b, "i", 1), ERR_TOO_BIG);
    assert_string_equal(buf_str(&b), "abcdefgh");
    buf_release(&b);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest tests[] = {
    T(test_nesting_and_commas),
    T(test_arrays_of_arrays),
    T(test_scalar_top_level),
    T(test_escaping),
    T(test_embedded_nul),
    T(test_keys_are_escaped),
    T(test_valid_utf8_kept),
    T(test_invalid_utf8_replaced),
    T(test_overlong_and_surrogates_rejected),
    T(test_replaced_output_is_valid_json),
    T(test_integers),
    T(test_doubles),
    T(test_depth_limit),
    T(test_unbalanced),
    T(test_mismatched_close),
    cmocka_unit_test(test_misuse_is_invalid),
    T(test_buffer_limit),
    T(test_escape_limit),
};

UNIT_GROUP(unit_base_json, "base/json", tests);
