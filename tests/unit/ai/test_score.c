/*
 * Tests for src/ai/score.c: each of the five components at its edges, the
 * recency weight, the tiers, the role table, and the reasons.
 */
#include <math.h>
#include <stdint.h>

#include "ai/ai.h"
#include "ai/score.h"
#include "store/contacts.h"
#include "unit/unit.h"

enum { DAY = 24 * 60 * 60 * 1000 };
static const int64_t NOW = 1790000000000LL;

static struct activity email(int64_t days_ago, unsigned intents, double sentiment)
{
    return (struct activity){ACT_EMAIL, NOW - days_ago * DAY, intents, sentiment, 1};
}

static bool has_reason(const struct score *s, const char *want)
{
    for (int i = 0; i < s->nreasons; i++)
        if (strcmp(s->reasons[i], want) == 0)
            return true;
    return false;
}

static void print_reasons(const struct score *s)
{
    for (int i = 0; i < s->nreasons; i++)
        print_message("reason %d: %s\n", i, s->reasons[i]);
}

static void test_nothing_scores_status_only(void **state)
{
    struct score_input in = {NULL, 0, NULL, "prospect", NOW};
    struct score s;
    score_compute(&in, &s);
    assert_true(s.engagement == 0 && s.sentiment == 0 && s.intent == 0 && s.role == 0);
    assert_true(s.status == 4);
    assert_int_equal(s.total, 4);
    assert_false(s.has_sentiment);
    assert_int_equal(s.nreasons, 0);
    assert_string_equal(score_tier(s.total), "cold");
}

static void test_status_points(void **state)
{
    const char *names[] = {"customer", "lead", "prospect", "contact", "bogus"};
    const double want[] = {10, 7, 4, 1, 0};
    for (size_t i = 0; i < 5; i++) {
        struct score_input in = {NULL, 0, NULL, names[i], NOW};
        struct score s;
        score_compute(&in, &s);
        assert_true(s.status == want[i]);
    }
}

static void test_role_table(void **state)
{
    struct {
        const char *title;
        int points;
    } cases[] = {
        {"CEO", 10},
        {"Founder & CEO", 10},
        {"Co-Founder", 10},
        {"Chief Revenue Officer", 10},
        {"President", 10},
        {"Owner", 10},
        {"Vice President of Sales", 8},
        {"VP, Engineering", 8},
        {"SVP Operations", 8},
        {"Director of Procurement", 8},
        {"Head of Data", 8},
        {"Operations Manager", 5},
        {"Team Lead, Platform", 5},
        {"Data Analyst", 2},
        {"Account Executive", 2},
        {"", 0},
        {NULL, 0},
        /* Whole words only: "director" holds "cto", "collector" holds "cto" too. */
        {"Art Director", 8},
        {"Debt Collector", 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = score_role_points(cases[i].title);
        if (got != cases[i].points)
            fail_msg("%s: got %d, want %d", cases[i].title ? cases[i].title : "(null)", got,
                     cases[i].points);
    }
}

static void test_engagement_is_capped_and_recency_weighted(void **state)
{
    struct activity fresh[10], old[10];
    for (int i = 0; i < 10; i++) {
        fresh[i] = email(0, INTENT_GENERAL, 0);
        old[i] = email(29, INTENT_GENERAL, 0);
    }
    struct score s;
    struct score_input in = {fresh, 10, NULL, "prospect", NOW};
    score_compute(&in, &s);
    assert_true(s.engagement == 40); /* 10 x 8 = 80, capped */

    in.acts = fresh;
    in.nacts = 1;
    score_compute(&in, &s);
    assert_true(fabs(s.engagement - 8) < 1e-9);

    in.acts = old;
    score_compute(&in, &s);
    double old_one = s.engagement;
    assert_true(old_one > 2 && old_one < 8); /* weighted down, not to nothing */

    struct activity outside = email(31, INTENT_PRICING_INQUIRY, 1);
    in.acts = &outside;
    score_compute(&in, &s);
    assert_true(s.engagement == 0 && s.intent == 0 && !s.has_sentiment);
}

static void test_replies_opens_clicks(void **state)
{
    struct activity a[] = {
        {ACT_REPLY, NOW, INTENT_GENERAL, 0, 1},
        {ACT_OPEN, NOW, 0, 0, 0},
        {ACT_CLICK, NOW, 0, 0, 0},
    };
    struct score_input in = {a, 3, NULL, "contact", NOW};
    struct score s;
    score_compute(&in, &s);
    assert_true(fabs(s.engagement - 16) < 1e-9);
    print_reasons(&s);
    assert_true(has_reason(&s, "replied to us 1 time"));
    assert_true(has_reason(&s, "opened 1 email, clicked 1 link"));
}

static void test_sentiment_maps_to_0_20(void **state)
{
    struct activity pos = email(0, INTENT_GENERAL, 1.0), neg = email(0, INTENT_GENERAL, -1.0),
                    mid = email(0, INTENT_GENERAL, 0.0);
    struct score_input in = {&pos, 1, NULL, "prospect", NOW};
    struct score s;
    score_compute(&in, &s);
    assert_true(fabs(s.sentiment - 20) < 1e-9);
    assert_true(has_reason(&s, "positive tone"));
    in.acts = &neg;
    score_compute(&in, &s);
    assert_true(fabs(s.sentiment) < 1e-9);
    assert_true(has_reason(&s, "negative tone"));
    in.acts = &mid;
    score_compute(&in, &s);
    assert_true(fabs(s.sentiment - 10) < 1e-9);
}

static void test_recent_sentiment_weighs_more(void **state)
{
    /* Newest first: an angry email today after a happy one 28 days ago. */
    struct activity a[] = {email(0, INTENT_COMPLAINT, -1.0), email(28, INTENT_GENERAL, 1.0)};
    struct score_input in = {a, 2, NULL, "customer", NOW};
    struct score s;
    score_compute(&in, &s);
    assert_true(s.sentiment_mean < -0.2);
    assert_true(s.sentiment < 10);
    assert_true(has_reason(&s, "complained today"));
}

static void test_intent_quality_best_wins(void **state)
{
    struct {
        unsigned intents;
        double points;
    } cases[] = {
        {INTENT_PRICING_INQUIRY, 20}, {INTENT_MEETING_REQUEST, 20},
        {INTENT_FEATURE_REQUEST, 15}, {INTENT_QUESTION, 10},
        {INTENT_FOLLOW_UP, 10},       {INTENT_GENERAL, 5},
        {INTENT_COMPLAINT, 0},        {INTENT_COMPLAINT | INTENT_QUESTION, 10},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct activity a = email(1, cases[i].intents, 0);
        struct score_input in = {&a, 1, NULL, "prospect", NOW};
        struct score s;
        score_compute(&in, &s);
        if (s.intent != cases[i].points)
            fail_msg("intents 0x%x: got %.0f, want %.0f", cases[i].intents, s.intent,
                     cases[i].points);
    }
    struct activity a[] = {email(0, INTENT_GENERAL, 0), email(2, INTENT_PRICING_INQUIRY, 0)};
    struct score_input in = {a, 2, NULL, "prospect", NOW};
    struct score s;
    score_compute(&in, &s);
    assert_true(s.intent == 20);
    print_reasons(&s);
    assert_string_equal(s.reasons[0], "asked about pricing 2 days ago");
}

static void test_hot_lead_end_to_end(void **state)
{
    struct activity a[] = {
        email(0, INTENT_MEETING_REQUEST, 0.8),
        email(1, INTENT_PRICING_INQUIRY | INTENT_QUESTION, 0.6),
        {ACT_REPLY, NOW - 3LL * DAY, INTENT_FOLLOW_UP, 0.5, 1},
        email(6, INTENT_QUESTION, 0.4),
    };
    struct score_input in = {a, 4, "VP of Sales", "lead", NOW};
    struct score s;
    score_compute(&in, &s);
    print_reasons(&s);
    assert_true(s.engagement > 30 && s.engagement <= 40);
    assert_true(s.intent == 20 && s.role == 8 && s.status == 7);
    assert_true(s.total >= SCORE_HOT);
    assert_string_equal(score_tier(s.total), "hot");
    assert_int_equal(s.total,
                     (int)lround(s.engagement + s.sentiment + s.intent + s.role + s.status));
    assert_string_equal(s.reasons[0], "asked for a meeting today");
    assert_true(has_reason(&s, "VP of Sales"));
    assert_true(has_reason(&s, "4 emails in the last 30 days"));
    assert_int_equal(s.last_activity_ms, NOW);
}

static void test_tiers(void **state)
{
    assert_string_equal(score_tier(100), "hot");
    assert_string_equal(score_tier(80), "hot");
    assert_string_equal(score_tier(79), "warm");
    assert_string_equal(score_tier(60), "warm");
    assert_string_equal(score_tier(59), "cold");
    assert_string_equal(score_tier(0), "cold");
}

static void test_future_dates_count_as_now(void **state)
{
    struct activity a = email(-3, INTENT_GENERAL, 0); /* a clock skewed sender */
    struct score_input in = {&a, 1, NULL, "prospect", NOW};
    struct score s;
    score_compute(&in, &s);
    assert_true(fabs(s.engagement - 8) < 1e-9);
    assert_true(s.total >= 0 && s.total <= 100);
}

/* The buyer who writes four times in six days before we answer: pricing for
 * 200 seats, a meeting about the contract, the next steps to sign, the order
 * form (intents as the offline analyzer reads them). */
static void buyer_burst(struct activity a[4])
{
    a[0] = email(0, INTENT_GENERAL, 0);   /* "please send the order form" */
    a[1] = email(2, INTENT_FOLLOW_UP, 0); /* "what are the next steps to sign" */
    a[2] = email(4, INTENT_MEETING_REQUEST, 0);
    a[3] = email(6, INTENT_PRICING_INQUIRY, 0);
}

static void test_repeated_buying_signals_are_hot(void **state)
{
    struct activity a[4];
    buyer_burst(a);
    struct score_input in = {a, 4, "VP of Sales", "prospect", NOW};
    struct score s;
    score_compute(&in, &s);
    print_reasons(&s);
    print_message("buyer: %d (engagement %.1f)\n", s.total, s.engagement);
    assert_true(s.total >= SCORE_HOT);
    assert_string_equal(score_tier(s.total), "hot");
    assert_true(s.engagement <= 40 && s.sentiment == 10 && s.intent == 20 && s.role == 8);
    assert_true(has_reason(&s, "wrote 4 times before we answered"));
}

static void test_buying_email_outweighs_a_note(void **state)
{
    struct activity buy = email(0, INTENT_PRICING_INQUIRY, 0);
    struct activity ask = email(0, INTENT_QUESTION, 0);
    struct activity note = email(0, INTENT_GENERAL, 0);
    struct activity reply = {ACT_REPLY, NOW, INTENT_MEETING_REQUEST, 0, 1};
    struct score_input in = {&buy, 1, NULL, "lead", NOW};
    struct score s;
    score_compute(&in, &s);
    assert_true(fabs(s.engagement - 12) < 1e-9);
    in.acts = &ask;
    score_compute(&in, &s);
    assert_true(fabs(s.engagement - 10) < 1e-9);
    in.acts = &note;
    score_compute(&in, &s);
    assert_true(fabs(s.engagement - 8) < 1e-9);
    in.acts = &reply;
    score_compute(&in, &s);
    assert_true(fabs(s.engagement - 14) < 1e-9);
}

static void test_burst_needs_a_buying_signal_and_no_answer(void **state)
{
    struct activity a[5];
    buyer_burst(a);
    struct score s;
    struct score_input in = {a, 4, NULL, "lead", NOW};
    /* Two emails within the burst window: one bonus. */
    in.acts = a + 2;
    in.nacts = 2;
    score_compute(&in, &s);
    double w6 = 1.0 - 0.75 * 6 / 30, w4 = 1.0 - 0.75 * 4 / 30;
    assert_true(fabs(s.engagement - (12 * w4 + 12 * w6 + 4 * w6)) < 1e-9);
    assert_true(has_reason(&s, "wrote 2 times before we answered"));

    /* Our answer after the meeting request: the run is the two newest
     * emails, with no buying signal, so no bonus. */
    a[0] = email(0, INTENT_GENERAL, 0);
    a[1] = email(2, INTENT_FOLLOW_UP, 0);
    a[2] = (struct activity){ACT_SENT, NOW - 3LL * DAY, 0, 0, 0};
    a[3] = email(4, INTENT_MEETING_REQUEST, 0);
    a[4] = email(6, INTENT_PRICING_INQUIRY, 0);
    in.acts = a;
    in.nacts = 5;
    score_compute(&in, &s);
    double w2 = 1.0 - 0.75 * 2 / 30;
    assert_true(fabs(s.engagement - (8 + 10 * w2 + 12 * w4 + 12 * w6)) < 1e-9);
    assert_false(has_reason(&s, "wrote 2 times before we answered"));
    assert_true(has_reason(&s, "4 emails in the last 30 days")); /* ours is not one */

    /* Notes without a buying signal, however many: no bonus. */
    struct activity notes[3] = {email(0, INTENT_GENERAL, 0), email(1, INTENT_QUESTION, 0),
                                email(2, INTENT_GENERAL, 0)};
    in.acts = notes;
    in.nacts = 3;
    score_compute(&in, &s);
    double w1 = 1.0 - 0.75 * 1 / 30;
    assert_true(fabs(s.engagement - (8 + 10 * w1 + 8 * w2)) < 1e-9);

    /* Emails older than the burst window do not make a run. */
    struct activity slow[2] = {email(0, INTENT_PRICING_INQUIRY, 0),
                               email(10, INTENT_PRICING_INQUIRY, 0)};
    in.acts = slow;
    in.nacts = 2;
    score_compute(&in, &s);
    assert_true(fabs(s.engagement - (12 + 12 * (1.0 - 0.75 * 10 / 30))) < 1e-9);
}

static void test_one_off_interest_is_not_hot(void **state)
{
    /* A single pricing question from a founder, warm about the product. */
    struct activity one = email(0, INTENT_PRICING_INQUIRY, 0.8);
    struct score_input in = {&one, 1, "Founder & CEO", "lead", NOW};
    struct score s;
    score_compute(&in, &s);
    assert_true(s.total < SCORE_HOT);
    /* A single question from a VP. */
    struct activity q = email(0, INTENT_QUESTION, 0.3);
    in.acts = &q;
    in.job_title = "VP of Sales";
    score_compute(&in, &s);
    assert_string_equal(score_tier(s.total), "cold");
    /* Two mild emails a week apart, opened mail in between. */
    struct activity mild[3] = {email(0, INTENT_QUESTION, 0.2),
                               {ACT_OPEN, NOW - DAY, 0, 0, 0},
                               email(8, INTENT_GENERAL, 0.2)};
    in.acts = mild;
    in.nacts = 3;
    score_compute(&in, &s);
    assert_true(s.total < SCORE_WARM);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_nothing_scores_status_only),
    cmocka_unit_test(test_status_points),
    cmocka_unit_test(test_role_table),
    cmocka_unit_test(test_engagement_is_capped_and_recency_weighted),
    cmocka_unit_test(test_replies_opens_clicks),
    cmocka_unit_test(test_sentiment_maps_to_0_20),
    cmocka_unit_test(test_recent_sentiment_weighs_more),
    cmocka_unit_test(test_intent_quality_best_wins),
    cmocka_unit_test(test_hot_lead_end_to_end),
    cmocka_unit_test(test_tiers),
    cmocka_unit_test(test_future_dates_count_as_now),
    cmocka_unit_test(test_repeated_buying_signals_are_hot),
    cmocka_unit_test(test_buying_email_outweighs_a_note),
    cmocka_unit_test(test_burst_needs_a_buying_signal_and_no_answer),
    cmocka_unit_test(test_one_off_interest_is_not_hot),
};

UNIT_GROUP(unit_ai_score, "ai/score", tests);
