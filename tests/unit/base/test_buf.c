/*
 * Tests for src/base/buf.c: growth, the hard limit, NUL termination, detach
 * and reset.
 */
#include <stdlib.h>

#include "base/buf.h"
#include "base/err.h"
#include "unit/unit.h"

static void test_empty_is_empty_string(void **state)
{
    struct buf b;
    buf_init(&b, 100);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_non_null(b.data);
    assert_string_equal(buf_str(&b), "");
    buf_release(&b);
    assert_null(b.data);
    assert_int_equal(b.max, 100);
}

static void test_append_grows(void **state)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(buf_putc(&b, (char)('a' + i % 26)), 0);
    assert_int_equal(b.len, 5000);
    assert_true(b.cap >= 5001);
    assert_int_equal(b.data[5000], '\0');
    for (int i = 0; i < 5000; i++)
        assert_int_equal(b.data[i], 'a' + i % 26);
    assert_int_equal(buf_puts(&b, "xyz"), 0);
    assert_int_equal(b.len, 5003);
    assert_string_equal(b.data + 5000, "xyz");
    buf_release(&b);
}

static void test_append_binary_keeps_nul_bytes(void **state)
{
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_append(&b, "a\0b", 3), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a\0b", 4); /* and the terminating NUL */
    buf_release(&b);
}

static void test_printf_short_and_long(void **state)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
    assert_string_equal(buf_str(&b), "42-x");

    /* Longer than the 256-byte stack buffer buf_vprintf tries first. */
    char big[1001];
    memset(big, 'q', 1000);
    big[1000] = '\0';
    assert_int_equal(buf_printf(&b, "[%s]", big), 0);
    assert_int_equal(b.len, 4 + 1002);
    assert_int_equal(b.data[4], '[');
    assert_int_equal(b.data[1005], ']');
    assert_int_equal(b.data[1006], '\0');
    assert_int_equal(strlen(b.data), b.len);
    buf_release(&b);
}

static void test_max_refuses_and_keeps_contents(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_puts(&b, "hello"), 0);
    assert_int_equal(buf_puts(&b, "world!"), ERR_TOO_BIG);
    assert_string_equal(buf_str(&b), "hello");
    assert_int_equal(b.len, 5);

    assert_int_equal(buf_puts(&b, "world"), 0); /* exactly max */
    assert_string_equal(buf_str(&b), "helloworld");
    assert_int_equal(buf_putc(&b, 'x'), ERR_TOO_BIG);
    assert_int_equal(buf_printf(&b, "%s", "y"), ERR_TOO_BIG);
    assert_int_equal(buf_append(&b, "z", 1), ERR_TOO_BIG);
    assert_string_equal(buf_str(&b), "helloworld");
    assert_int_equal(b.len, 10);
    assert_true(b.cap <= 11); /* never allocates past max + NUL */
    assert_int_equal(buf_append(&b, "", 0), 0);
    buf_release(&b);
}

static void test_max_refuses_long_printf(void **state)
{
    struct buf b;
    buf_init(&b, 300);
    assert_int_equal(buf_puts(&b, "keep"), 0);
    char big[400];
    memset(big, 'r', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(buf_printf(&b, "%s", big), ERR_TOO_BIG);
    assert_string_equal(buf_str(&b), "keep");
    assert_int_equal(b.len, 4);
    buf_release(&b);
}

static void test_max_zero(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_putc(&b, 'a'), ERR_TOO_BIG);
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_string_equal(buf_str(&b), "");
    buf_release(&b);
}

static void test_huge_append_refused(void **state)
{
    struct buf b;
    buf_init(&b, 100);
    assert_int_equal(buf_puts(&b, "ab"), 0);
    /* n close to SIZE_MAX must not wrap around the limit check. */
    assert_int_equal(buf_append(&b, "x", SIZE_MAX - 1), ERR_TOO_BIG);
    assert_string_equal(buf_str(&b), "ab");
    buf_release(&b);
}

static void test_detach(void **state)
{
    struct buf b;
    buf_init(&b, 50);
    assert_int_equal(buf_puts(&b, "payload"), 0);
    size_t len = 0;
    char *p = buf_detach(&b, &len);
    assert_string_equal(p, "payload");
    assert_int_equal(len, 7);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 50);
    free(p);

    /* An empty buffer still hands out a string the caller can free. */
    p = buf_detach(&b, &len);
    assert_non_null(p);
    assert_string_equal(p, "");
    assert_int_equal(len, 0);
    free(p);
    p = buf_detach(&b, NULL);
    free(p);

    /* The buffer is usable again afterwards. */
    assert_int_equal(buf_puts(&b, "again"), 0);
    assert_string_equal(buf_str(&b), "again");
    buf_release(&b);
}

static void test_reset_keeps_storage(void **state)
{
    struct buf b;
    buf_init(&b, 1000);
    assert_int_equal(buf_puts(&b, "some text"), 0);
    char *data = b.data;
    size_t cap = b.cap;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(buf_puts(&b, "new"), 0);
    assert_string_equal(buf_str(&b), "new");
    buf_release(&b);

    struct buf e;
    buf_init(&e, 10);
    buf_reset(&e); /* reset before any append is harmless */
    assert_string_equal(buf_str(&e), "");
    buf_release(&e);
}

static void test_release_then_reuse(void **state)
{
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_puts(&b, "12345678"), 0);
    buf_release(&b);
    assert_int_equal(b.max, 8);
    assert_int_equal(buf_puts(&b, "123456789"), ERR_TOO_BIG);
    assert_int_equal(buf_puts(&b, "abc"), 0);
    assert_string_equal(buf_str(&b), "abc");
    buf_release(&b);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_empty_is_empty_string),
    cmocka_unit_test(test_append_grows),
    cmocka_unit_test(test_append_binary_keeps_nul_bytes),
    cmocka_unit_test(test_printf_short_and_long),
    cmocka_unit_test(test_max_refuses_and_keeps_contents),
    cmocka_unit_test(test_max_refuses_long_printf),
    cmocka_unit_test(test_max_zero),
    cmocka_unit_test(test_huge_append_refused),
    cmocka_unit_test(test_detach),
    cmocka_unit_test(test_reset_keeps_storage),
    cmocka_unit_test(test_release_then_reuse),
};

UNIT_GROUP(unit_base_buf, "base/buf", tests);
