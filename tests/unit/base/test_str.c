/*
 * Tests for src/base/str.c: splitting, comparison, integer parsing at the
 * edges of int64_t, copying with truncation, the email check.
 */
#include <stdint.h>

#include "base/str.h"
#include "unit/unit.h"

static void assert_str(struct str s, const char *want)
{
    if (!str_eq_cstr(s, want))
        fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

static void test_split(void **state)
{
    struct str s = str_from("a,b,,c"), head;
    assert_true(str_split(&s, ',', &head));
    assert_str(head, "a");
    assert_true(str_split(&s, ',', &head));
    assert_str(head, "b");
    assert_true(str_split(&s, ',', &head));
    assert_str(head, "");
    assert_false(str_split(&s, ',', &head));
    assert_str(head, "c");
    assert_int_equal(s.len, 0);
}

static void test_split_edges(void **state)
{
    struct str s = str_from("noseparator"), head;
    assert_false(str_split(&s, '/', &head));
    assert_str(head, "noseparator");
    assert_int_equal(s.len, 0);

    s = str_from("");
    assert_false(str_split(&s, '/', &head));
    assert_int_equal(head.len, 0);

    s = str_from("x/");
    assert_true(str_split(&s, '/', &head));
    assert_str(head, "x");
    assert_int_equal(s.len, 0); /* an empty last item follows */
    assert_false(str_split(&s, '/', &head));
    assert_int_equal(head.len, 0);

    /* The separator past len is not seen. */
    s = (struct str){"ab/cd", 2};
    assert_false(str_split(&s, '/', &head));
    assert_str(head, "ab");
}

static void test_eq(void **state)
{
    assert_true(str_eq(STR_LIT("abc"), str_from("abc")));
    assert_false(str_eq(STR_LIT("abc"), STR_LIT("abd")));
    assert_false(str_eq(STR_LIT("abc"), STR_LIT("ab")));
    assert_true(str_eq(str_from(NULL), STR_LIT("")));
    assert_true(str_eq((struct str){"abc", 2}, STR_LIT("ab")));
    assert_true(str_eq_cstr(STR_LIT("x"), "x"));
    assert_false(str_eq_cstr(STR_LIT("x"), "xx"));
    assert_true(str_eq_nocase(STR_LIT("Content-Type"), "content-TYPE"));
    assert_false(str_eq_nocase(STR_LIT("Content-Type"), "content-typ"));
    assert_true(str_eq_nocase(STR_LIT(""), ""));
    assert_true(str_starts_with(STR_LIT("/api/contacts"), "/api/"));
    assert_true(str_starts_with(STR_LIT("/api"), ""));
    assert_false(str_starts_with(STR_LIT("/ap"), "/api"));
}

static bool parse(const char *s, int64_t *out)
{
    return str_to_i64(str_from(s), INT64_MIN, INT64_MAX, out);
}

static void test_to_i64(void **state)
{
    int64_t v = 0;
    assert_true(parse("0", &v));
    assert_int_equal(v, 0);
    assert_true(parse("-0", &v));
    assert_int_equal(v, 0);
    assert_true(parse("+17", &v));
    assert_int_equal(v, 17);
    assert_true(parse("-17", &v));
    assert_int_equal(v, -17);
    assert_true(parse("007", &v));
    assert_int_equal(v, 7);
    assert_true(parse("9223372036854775807", &v));
    assert_true(v == INT64_MAX);
    assert_true(parse("-9223372036854775808", &v));
    assert_true(v == INT64_MIN);
    assert_true(parse("+9223372036854775807", &v));
    assert_true(v == INT64_MAX);
}

static void test_to_i64_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "-",
        "+",
        "+-1",
        "--1",
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999",
        "-99999999999999999999",
        "12a",
        "a12",
        " 1",
        "1 ",
        "0x10",
        "1.5",
        "1e3",
        "١", /* an Arabic-Indic digit is not a decimal digit here */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 12345;
        if (parse(bad[i], &v))
            fail_msg("\"%s\" parsed as %lld", bad[i], (long long)v);
        assert_int_equal(v, 12345); /* *out untouched on failure */
    }
}

static void test_to_i64_range(void **state)
{
    int64_t v = 0;
    assert_false(str_to_i64(str_from("5"), 0, 4, &v));
    assert_false(str_to_i64(str_from("-1"), 0, 4, &v));
    assert_true(str_to_i64(str_from("4"), 0, 4, &v));
    assert_int_equal(v, 4);
    assert_true(str_to_i64(str_from("5"), 5, 5, &v));
    assert_int_equal(v, 5);
    /* Only the first len bytes count. */
    assert_true(str_to_i64((struct str){"123456", 3}, 0, 1000, &v));
    assert_int_equal(v, 123);
}

static void test_copy_truncates(void **state)
{
    char out[4];
    memset(out, 'x', sizeof(out));
    str_copy(out, sizeof(out), STR_LIT("hello"));
    assert_string_equal(out, "hel");
    str_copy(out, sizeof(out), STR_LIT("abc"));
    assert_string_equal(out, "abc");
    str_copy(out, sizeof(out), STR_LIT("ab"));
    assert_string_equal(out, "ab");
    str_copy(out, 1, STR_LIT("abc"));
    assert_string_equal(out, "");
    str_copy(out, sizeof(out), (struct str){"abcdef", 2});
    assert_string_equal(out, "ab");
}

static void test_is_email(void **state)
{
    assert_true(str_is_email("a@b.co"));
    assert_false(str_has_control("Grüße, Ana", false));
    assert_true(str_has_control("a\vb", true));
    assert_true(str_has_control("a\nb", true));
    assert_true(str_has_control("a\x7f", true));
    assert_false(str_has_control("a\tb", true));
    assert_true(str_has_control("a\tb", false));
    assert_true(str_is_email("first.last+tag@mail.example.com"));
    static const char *const bad[] = {
        "",           "plain",     "@b.co",    "a@",       "a@b",         "a@.co",
        "a@b.",       "a@@b.co",   "a b@c.de", "a@b..co",  "a..b@c.de",   "<a@b.co>",
        "a@b.co,c@d", "a\"b@c.de", "a@b.co\n", "a;b@c.de", "a@[1.2.3.4]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (str_is_email(bad[i]))
            fail_msg("\"%s\" was accepted as an email address", bad[i]);

    char local[72];
    memset(local, 'a', 65);
    memcpy(local + 65, "@b.co", 6); /* a 65-byte local part: over RFC 5321's 64 */
    assert_false(str_is_email(local));
    memcpy(local + 64, "@b.co", 6);
    assert_true(str_is_email(local));
}

static void test_utf8_whole(void **state)
{
    static const struct {
        const char *s;
        size_t n, want;
    } cases[] = {
        {"", 0, 0},
        {"abc", 3, 3},
        {"caf\xc3\xa9", 5, 5},       /* ends with a whole é: kept */
        {"caf\xc3\xa9", 4, 3},       /* é cut after its lead byte */
        {"\xe4\xbc\x9a", 3, 3},      /* 会 whole */
        {"\xe4\xbc\x9a", 2, 0},      /* cut after two of three bytes */
        {"a\xe2\x80\x93", 4, 4},     /* a dash, whole */
        {"a\xe2\x80\x93", 3, 1},     /* the dash cut */
        {"\xf0\x9f\x98\x80", 4, 4},  /* an emoji, whole */
        {"x\xf0\x9f\x98\x80", 4, 1}, /* cut after three of four */
        {"x\xf0", 2, 1},             /* a lone lead byte at the end */
        {"\x80\x80", 2, 0},          /* only continuation bytes */
        {"ab\x80", 3, 2},            /* a stray continuation byte */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t got = str_utf8_whole(cases[i].s, cases[i].n);
        if (got != cases[i].want)
            fail_msg("case %zu: %zu, want %zu", i, got, cases[i].want);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_utf8_whole),   cmocka_unit_test(test_split),
    cmocka_unit_test(test_split_edges),  cmocka_unit_test(test_eq),
    cmocka_unit_test(test_to_i64),       cmocka_unit_test(test_to_i64_rejects),
    cmocka_unit_test(test_to_i64_range), cmocka_unit_test(test_copy_truncates),
    cmocka_unit_test(test_is_email),
};

UNIT_GROUP(unit_base_str, "base/str", tests);
