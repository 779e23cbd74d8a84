/*
 * Tests for src/mail/breaker.c: the circuit of one provider opens after the
 * threshold of failures in a row, skips it for the cool-down, lets one probe
 * through when it is over, closes on the probe's success and opens again on
 * its failure; a provider's Retry-After opens it without a failure.
 */
#include "mail/breaker.h"
#include "unit/unit.h"

enum { COOL = 1000 };

static void test_opens_after_the_threshold_in_a_row(void **state)
{
    (void)state;
    struct breaker b;
    breaker_init(&b, 3, COOL);
    assert_true(breaker_allow(&b, 0));
    breaker_failure(&b, 10);
    breaker_failure(&b, 20);
    breaker_success(&b); /* not in a row: counting starts again */
    breaker_failure(&b, 30);
    breaker_failure(&b, 40);
    assert_int_equal(breaker_state(&b, 40, NULL), BREAKER_CLOSED);
    assert_true(breaker_allow(&b, 41));
    breaker_failure(&b, 50);
    int64_t until = 0;
    assert_int_equal(breaker_state(&b, 50, &until), BREAKER_OPEN);
    assert_int_equal(until, 50 + COOL);
    assert_false(breaker_allow(&b, 51));
    assert_false(breaker_allow(&b, 50 + COOL - 1));
    breaker_destroy(&b);
}

static void test_half_open_lets_one_probe_through(void **state)
{
    (void)state;
    struct breaker b;
    breaker_init(&b, 1, COOL);
    breaker_failure(&b, 0);
    assert_false(breaker_allow(&b, COOL - 1));
    assert_int_equal(breaker_state(&b, COOL, NULL), BREAKER_HALF_OPEN);
    assert_true(breaker_allow(&b, COOL));      /* the probe */
    assert_false(breaker_allow(&b, COOL + 1)); /* the others wait for it */
    breaker_success(&b);
    assert_int_equal(breaker_state(&b, COOL + 2, NULL), BREAKER_CLOSED);
    assert_true(breaker_allow(&b, COOL + 2));
    assert_true(breaker_allow(&b, COOL + 3));
    breaker_destroy(&b);
}

static void test_a_failed_probe_opens_it_again(void **state)
{
    (void)state;
    struct breaker b;
    breaker_init(&b, 2, COOL);
    breaker_failure(&b, 0);
    breaker_failure(&b, 0);
    assert_true(breaker_allow(&b, COOL));
    breaker_failure(&b, COOL + 5);
    int64_t until = 0;
    assert_int_equal(breaker_state(&b, COOL + 6, &until), BREAKER_OPEN);
    assert_int_equal(until, 2 * COOL + 5);
    assert_false(breaker_allow(&b, 2 * COOL + 4));
    assert_true(breaker_allow(&b, 2 * COOL + 5));
    breaker_destroy(&b);
}

static void test_a_lost_probe_is_given_up_after_a_cool_down(void **state)
{
    (void)state;
    struct breaker b;
    breaker_init(&b, 1, COOL);
    breaker_failure(&b, 0);
    assert_true(breaker_allow(&b, COOL)); /* a probe that never reports */
    assert_false(breaker_allow(&b, 2 * COOL - 1));
    assert_true(breaker_allow(&b, 2 * COOL));
    breaker_destroy(&b);
}

static void test_retry_after_defers_without_a_failure(void **state)
{
    (void)state;
    struct breaker b;
    breaker_init(&b, 5, COOL);
    breaker_defer(&b, 5000);
    assert_int_equal(breaker_state(&b, 100, NULL), BREAKER_OPEN);
    assert_false(breaker_allow(&b, 4999));
    assert_true(breaker_allow(&b, 5000));
    breaker_success(&b);
    assert_int_equal(breaker_state(&b, 5001, NULL), BREAKER_CLOSED);
    /* An earlier "not before" does not shorten an open circuit. */
    breaker_failure(&b, 6000);
    breaker_failure(&b, 6000);
    breaker_failure(&b, 6000);
    breaker_failure(&b, 6000);
    breaker_failure(&b, 6000);
    breaker_defer(&b, 6100);
    int64_t until = 0;
    breaker_state(&b, 6050, &until);
    assert_int_equal(until, 6000 + COOL);
    breaker_destroy(&b);
}

static void test_threshold_zero_never_opens(void **state)
{
    (void)state;
    struct breaker b;
    breaker_init(&b, 0, COOL);
    for (int i = 0; i < 100; i++)
        breaker_failure(&b, i);
    assert_int_equal(breaker_state(&b, 100, NULL), BREAKER_CLOSED);
    assert_true(breaker_allow(&b, 100));
    assert_string_equal(breaker_state_name(BREAKER_HALF_OPEN), "half_open");
    breaker_destroy(&b);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_opens_after_the_threshold_in_a_row),
    cmocka_unit_test(test_half_open_lets_one_probe_through),
    cmocka_unit_test(test_a_failed_probe_opens_it_again),
    cmocka_unit_test(test_a_lost_probe_is_given_up_after_a_cool_down),
    cmocka_unit_test(test_retry_after_defers_without_a_failure),
    cmocka_unit_test(test_threshold_zero_never_opens),
};

UNIT_GROUP(unit_mail_breaker, "mail/breaker", tests);
