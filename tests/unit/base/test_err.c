/*
 * Tests for src/base/err.c: failf(), errinfo_clear() and err_name().
 */
#include "base/err.h"
#include "unit/unit.h"

static void test_failf_fills_and_returns(void **state)
{
    struct errinfo e;
    errinfo_clear(&e);
    assert_int_equal(e.code, 0);
    assert_string_equal(e.msg, "");
    int rc = failf(&e, ERR_NOT_FOUND, "contact %s in %d", "abc", 7);
    assert_int_equal(rc, ERR_NOT_FOUND);
    assert_int_equal(e.code, ERR_NOT_FOUND);
    assert_string_equal(e.msg, "contact abc in 7");
    errinfo_clear(&e);
    assert_int_equal(e.code, 0);
    assert_string_equal(e.msg, "");
}

static void test_failf_may_quote_its_own_message(void **state)
{
    struct errinfo e;
    failf(&e, ERR_IO, "No such file or directory");
    failf(&e, ERR_IO, "mailbox %s: %s", "a.mbox", e.msg);
    assert_string_equal(e.msg, "mailbox a.mbox: No such file or directory");
}

static void test_failf_null_errinfo(void **state)
{
    assert_int_equal(failf(NULL, ERR_INVALID, "ignored %d", 1), ERR_INVALID);
    errinfo_clear(NULL);
}

static void test_failf_truncates(void **state)
{
    struct errinfo e;
    char long_msg[1000];
    memset(long_msg, 'm', sizeof(long_msg) - 1);
    long_msg[sizeof(long_msg) - 1] = '\0';
    assert_int_equal(failf(&e, ERR_IO, "%s", long_msg), ERR_IO);
    assert_int_equal(strlen(e.msg), ERRINFO_MSG_MAX - 1);
}

static void test_err_name(void **state)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        {ERR_OK, "ok"},
        {ERR_INVALID, "invalid"},
        {ERR_UNAUTHORIZED, "unauthorized"},
        {ERR_FORBIDDEN, "forbidden"},
        {ERR_NOT_FOUND, "not_found"},
        {ERR_CONFLICT, "conflict"},
        {ERR_RATE_LIMITED, "rate_limited"},
        {ERR_TOO_BIG, "too_big"},
        {ERR_METHOD, "method_not_allowed"},
        {ERR_INTERNAL, "internal"},
        {ERR_DB, "database"},
        {ERR_IO, "io"},
        {ERR_CONFIG, "config"},
        {ERR_TEMPORARY, "temporary"},
        {ERR_UNSUPPORTED, "unsupported"},
    };
    assert_int_equal(sizeof(names) / sizeof(names[0]), ERR_COUNT);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_string_equal(err_name(names[i].code), names[i].name);
    assert_string_equal(err_name(1), "unknown");
    assert_string_equal(err_name(-ERR_COUNT), "unknown");
    assert_string_equal(err_name(-1000), "unknown");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_failf_fills_and_returns),
    cmocka_unit_test(test_failf_may_quote_its_own_message),
    cmocka_unit_test(test_failf_null_errinfo),
    cmocka_unit_test(test_failf_truncates),
    cmocka_unit_test(test_err_name),
};

UNIT_GROUP(unit_base_err, "base/err", tests);
