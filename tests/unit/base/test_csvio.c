/*
 * Tests for src/base/csvio.c: the delimiter found from the header row, the
 * byte-order mark, RFC 4180 quoting, blank lines as empty records (so that
 * record numbers are row numbers), the column limit, and written cells
 * (quoting, the leading ' of formula-looking cells).
 */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/csvio.h"
#include "base/err.h"
#include "unit/unit.h"

static void test_detect(void **state)
{
    assert_int_equal(csvio_detect("a,b;c,d\n", 8), ',');
    assert_int_equal(csvio_detect("a;b;c,d\n1,2,3,4,5\n", 19), ';');
    assert_int_equal(csvio_detect("\xEF\xBB\xBF"
                                  "a\tb\tc\n",
                                  9),
                     '\t');
    assert_int_equal(csvio_detect("\"a;b;c\",d\n", 10), ','); /* quoted ; do not count */
    assert_int_equal(csvio_detect("email\n", 6), ',');
    assert_int_equal(csvio_detect("", 0), ',');
}

struct got {
    size_t records[8], nfields[8];
    char cells[8][4][32];
    size_t n;
};

static int collect(void *arg, size_t record, char *const *fields, const size_t *lens, size_t n)
{
    struct got *g = arg;
    if (g->n == 8)
        return ERR_INTERNAL;
    g->records[g->n] = record;
    g->nfields[g->n] = n;
    for (size_t i = 0; i < n && i < 4; i++) {
        assert_int_equal(strlen(fields[i]), lens[i]);
        snprintf(g->cells[g->n][i], sizeof(g->cells[0][0]), "%s", fields[i]);
    }
    g->n++;
    return 0;
}

static void test_parse(void **state)
{
    static const char text[] = "\xEF\xBB\xBF"
                               "Email;Name\r\n"
                               "a@x.example;\"Smith; \"\"Jo\"\"\"\r\n"
                               "\r\n"
                               "b@x.example;\"two\nlines\"\n"
                               "c@x.example;  padded  ";
    struct got g = {0};
    struct errinfo e;
    errinfo_clear(&e);
    assert_int_equal(csvio_parse(text, sizeof(text) - 1, 0, 4, collect, &g, &e), 0);
    assert_int_equal(g.n, 5);
    assert_int_equal(g.records[0], 1);
    assert_string_equal(g.cells[0][0], "Email"); /* the byte-order mark is not in it */
    assert_string_equal(g.cells[1][1], "Smith; \"Jo\"");
    assert_int_equal(g.records[2], 3);
    assert_int_equal(g.nfields[2], 0); /* the blank line */
    assert_int_equal(g.records[3], 4);
    assert_string_equal(g.cells[3][1], "two\nlines");
    assert_string_equal(g.cells[4][1], "padded"); /* spaces around unquoted cells go */
}

static void test_too_many_columns(void **state)
{
    struct got g = {0};
    struct errinfo e;
    errinfo_clear(&e);
    assert_int_equal(csvio_parse("a,b\n1,2,3\n", 10, ',', 2, collect, &g, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "row 2 has more than 2 columns"));
    assert_int_equal(g.n, 1);
}

static void test_put_cell(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"two\nlines", "\"two\nlines\""},
        {"=SUM(A1)", "\"'=SUM(A1)\""},
        {"+1 555", "\"'+1 555\""},
        {"-x", "\"'-x\""},
        {"@home", "\"'@home\""},
        {" padded ", "\" padded \""},
        {"a;b", "a;b"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, 100);
        assert_int_equal(csvio_put_cell(&b, cases[i].in, ','), 0);
        assert_string_equal(buf_str(&b), cases[i].out);
        buf_release(&b);
    }
    struct buf small;
    buf_init(&small, 3);
    assert_int_equal(csvio_put_cell(&small, "too long", ','), ERR_TOO_BIG);
    buf_release(&small);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_detect),
    cmocka_unit_test(test_parse),
    cmocka_unit_test(test_too_many_columns),
    cmocka_unit_test(test_put_cell),
};

UNIT_GROUP(unit_base_csvio, "base/csvio", tests);
