/*
 * Tests for src/base/clock.c: the fake clock and RFC 3339 formatting,
 * including instants before the epoch.
 */
#include <stdio.h>
#include <time.h>

#include "base/clock.h"
#include "unit/unit.h"

static void test_fake_clock(void **state)
{
    clock_set_fake(1234567890123);
    assert_true(clock_now_ms() == 1234567890123);
    assert_true(clock_now_ms() == 1234567890123); /* it does not move */
    clock_set_fake(-5000);
    assert_true(clock_now_ms() == -5000);
    clock_set_fake(0);
    int64_t real = clock_now_ms();
    int64_t sys = (int64_t)time(NULL) * 1000;
    assert_true(real > sys - 5000 && real < sys + 5000);
}

static void assert_format(int64_t ms, const char *want)
{
    char out[32];
    memset(out, 'x', sizeof(out));
    clock_format(ms, out, sizeof(out));
    if (strcmp(out, want) != 0)
        fail_msg("%lld formatted as %s, want %s", (long long)ms, out, want);
}

static void test_format(void **state)
{
    assert_format(0, "1970-01-01T00:00:00.000Z");
    assert_format(1, "1970-01-01T00:00:00.001Z");
    assert_format(1234567890123, "2009-02-13T23:31:30.123Z");
    assert_format(951782400000, "2000-02-29T00:00:00.000Z");
    assert_format(253402300799999, "9999-12-31T23:59:59.999Z");
}

static void test_format_negative(void **state)
{
    assert_format(-1, "1969-12-31T23:59:59.999Z");
    assert_format(-999, "1969-12-31T23:59:59.001Z");
    assert_format(-1000, "1969-12-31T23:59:59.000Z");
    assert_format(-1001, "1969-12-31T23:59:58.999Z");
    assert_format(-86400000, "1969-12-31T00:00:00.000Z");
}

/* The civil-date arithmetic agrees with gmtime_r across the years 1900-9999. */
static void test_format_matches_gmtime(void **state)
{
    uint64_t x = 88172645463325252ULL; /* xorshift: the same values on every run */
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t ms = (int64_t)(x % 255611376000000ULL) - 2208988800000LL;
        time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
        int frac = (int)(ms - (int64_t)secs * 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        char want[64];
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
        assert_format(ms, want);
    }
}

static void test_format_truncates(void **state)
{
    char out[11];
    clock_format(0, out, sizeof(out));
    assert_string_equal(out, "1970-01-01");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fake_clock),       cmocka_unit_test(test_format),
    cmocka_unit_test(test_format_negative),  cmocka_unit_test(test_format_matches_gmtime),
    cmocka_unit_test(test_format_truncates),
};

UNIT_GROUP(unit_base_clock, "base/clock", tests);
