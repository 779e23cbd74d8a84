/*
 * Tests for src/ai/remote.c, what the remote providers share: the strict
 * reading of the model's analysis, the JSON Schema that says the same shape,
 * error types of error replies, text cleaning and the retry schedule.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "ai/remote.h"
#include "base/buf.h"
#include "unit/unit.h"

static const char good_json[] = "{\"intents\":[\"pricing_inquiry\",\"meeting_request\"],"
                                "\"sentiment\":\"positive\",\"sentiment_score\":0.8,"
                                "\"urgency\":\"high\"}";

static int parse(const char *text, struct analysis *out, struct errinfo *e)
{
    errinfo_clear(e);
    return remote_parse_analysis(text, strlen(text), "anthropic", out, e);
}

static void expect_good(const char *text)
{
    struct analysis a;
    struct errinfo e;
    memset(&a, 0, sizeof(a));
    if (parse(text, &a, &e) != 0)
        fail_msg("refused %s: %s", text, e.msg);
    assert_string_equal(a.provider, "anthropic");
    assert_true(a.intents != 0);
}

static void expect_bad(const char *text)
{
    struct analysis a;
    struct errinfo e;
    memset(&a, 0x5a, sizeof(a));
    int rc = parse(text, &a, &e);
    if (rc != ERR_INVALID)
        fail_msg("accepted (rc %d): %s", rc, text);
    assert_int_equal(e.code, ERR_INVALID);
    assert_true(e.msg[0] != '\0');
    assert_int_equal(a.intents, 0x5a5a5a5au); /* untouched on failure */
}

static void test_analysis_good(void **state)
{
    struct analysis a;
    struct errinfo e;
    assert_int_equal(parse(good_json, &a, &e), 0);
    assert_int_equal(a.intents, INTENT_PRICING_INQUIRY | INTENT_MEETING_REQUEST);
    assert_int_equal(a.sentiment, SENTIMENT_POSITIVE);
    assert_true(a.sentiment_score > 0.79 && a.sentiment_score < 0.81);
    assert_int_equal(a.urgency, URGENCY_HIGH);
    assert_string_equal(a.provider, "anthropic");

    assert_int_equal(parse("{\"intents\":[\"complaint\"],\"sentiment\":\"negative\","
                           "\"sentiment_score\":-1,\"urgency\":\"low\"}",
                           &a, &e),
                     0);
    assert_int_equal(a.intents, INTENT_COMPLAINT);
    assert_int_equal(a.sentiment, SENTIMENT_NEGATIVE);
    assert_true(a.sentiment_score == -1.0);
    assert_int_equal(a.urgency, URGENCY_LOW);
}

static void test_analysis_wrappings(void **state)
{
    char t[1024];
    snprintf(t, sizeof(t), "  \n%s\n ", good_json);
    expect_good(t);
    snprintf(t, sizeof(t), "```json\n%s\n```", good_json);
    expect_good(t);
    snprintf(t, sizeof(t), "```JSON \r\n%s\r\n```\n", good_json);
    expect_good(t);
    snprintf(t, sizeof(t), "```\n%s\n```", good_json);
    expect_good(t);
    /* every intent name, every label */
    expect_good("{\"intents\":[\"meeting_request\",\"question\",\"complaint\",\"feature_request\","
                "\"pricing_inquiry\",\"general\",\"follow_up\"],\"sentiment\":\"neutral\","
                "\"sentiment_score\":0,\"urgency\":\"medium\"}");
}

static void test_analysis_bad_text(void **state)
{
    char t[1024];
    expect_bad("");
    expect_bad("   ");
    expect_bad("I cannot help with that.");
    snprintf(t, sizeof(t), "Here you go: %s", good_json);
    expect_bad(t);
    snprintf(t, sizeof(t), "%s Hope this helps!", good_json);
    expect_bad(t);
    snprintf(t, sizeof(t), "%s%s", good_json, good_json);
    expect_bad(t);
    snprintf(t, sizeof(t), "```json %s\n```", good_json); /* no new line after the fence */
    expect_bad(t);
    snprintf(t, sizeof(t), "```json\n%s\n``` and more", good_json);
    expect_bad(t);
    expect_bad("{\"intents\":[\"question\"],\"sentiment\":\"neutral\""); /* cut short */
    expect_bad("{intents: [question], sentiment: neutral}");             /* not JSON */
    expect_bad("[\"question\"]");                                        /* not an object */
    expect_bad("{\"intents\":[\"question\"],\"sentiment\":\"neutral\",\"sentiment_score\":0,"
               "\"urgency\":\"low\",\"urgency\":\"high\"}"); /* duplicate key */
}

static void test_analysis_bad_schema(void **state)
{
    static const char *const bad[] = {
        /* intents */
        "{\"intents\":[],\"sentiment\":\"neutral\",\"sentiment_score\":0,\"urgency\":\"low\"}",
        "{\"intents\":[\"buy_now\"],\"sentiment\":\"neutral\",\"sentiment_score\":0,"
        "\"urgency\":\"low\"}",
        "{\"intents\":[\"question\",\"Question\"],\"sentiment\":\"neutral\","
        "\"sentiment_score\":0,\"urgency\":\"low\"}",
        "{\"intents\":[\"question\",\"question\"],\"sentiment\":\"neutral\","
        "\"sentiment_score\":0,\"urgency\":\"low\"}",
        "{\"intents\":\"question\",\"sentiment\":\"neutral\",\"sentiment_score\":0,"
        "\"urgency\":\"low\"}",
        "{\"intents\":[1],\"sentiment\":\"neutral\",\"sentiment_score\":0,\"urgency\":\"low\"}",
        "{\"intents\":[null],\"sentiment\":\"neutral\",\"sentiment_score\":0,\"urgency\":\"low\"}",
        /* sentiment */
        "{\"intents\":[\"question\"],\"sentiment\":\"happy\",\"sentiment_score\":0,"
        "\"urgency\":\"low\"}",
        "{\"intents\":[\"question\"],\"sentiment\":1,\"sentiment_score\":0,\"urgency\":\"low\"}",
        /* sentiment_score */
        "{\"intents\":[\"question\"],\"sentiment\":\"neutral\",\"sentiment_score\":1.5,"
        "\"urgency\":\"low\"}",
        "{\"intents\":[\"question\"],\"sentiment\":\"neutral\",\"sentiment_score\":-1.0001,"
        "\"urgency\":\"low\"}",
        "{\"intents\":[\"question\"],\"sentiment\":\"neutral\",\"sentiment_score\":\"0.5\","
        "\"urgency\":\"low\"}",
        "{\"intents\":[\"question\"],\"sentiment\":\"neutral\",\"sentiment_score\":null,"
        "\"urgency\":\"low\"}",
        "{\"intents\":[\"question\"],\"sentiment\":\"neutral\",\"sentiment_score\":true,"
        "\"urgency\":\"low\"}",
        /* urgency */
        "{\"intents\":[\"question\"],\"sentiment\":\"neutral\",\"sentiment_score\":0,"
        "\"urgency\":\"urgent\"}",
        "{\"intents\":[\"question\"],\"sentiment\":\"neutral\",\"sentiment_score\":0}",
        /* keys */
        "{\"intents\":[\"question\"],\"sentiment\":\"neutral\",\"sentiment_score\":0,"
        "\"urgency\":\"low\",\"reason\":\"x\"}",
        "{}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_bad(bad[i]);
}

static void test_clean_text(void **state)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    /* invalid bytes become U+FFFD; controls other than tab and new line go */
    assert_false(remote_clean_text("a\xff"
                                   "b\x01\tc\n\xc3\xa9\xed\xa0\x80",
                                   100, &b));
    assert_string_equal(buf_str(&b), "a\xef\xbf\xbd"
                                     "b\tc\n\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd"
                                     "\xef\xbf\xbd");
    /* a cut never splits a character */
    assert_true(remote_clean_text("ab\xe2\x82\xac", 4, &b));
    assert_string_equal(buf_str(&b), "ab");
    assert_false(remote_clean_text("ab\xe2\x82\xac", 5, &b));
    assert_string_equal(buf_str(&b), "ab\xe2\x82\xac");
    /* overlong encodings are invalid */
    assert_false(remote_clean_text("\xc0\xaf", 100, &b));
    assert_string_equal(buf_str(&b), "\xef\xbf\xbd\xef\xbf\xbd");
    assert_false(remote_clean_text(NULL, 10, &b));
    assert_string_equal(buf_str(&b), "");
    buf_release(&b);
}

static void test_retry_schedule(void **state)
{
    assert_true(remote_status_retryable(429));
    assert_true(remote_status_retryable(500));
    assert_true(remote_status_retryable(503));
    assert_true(remote_status_retryable(529));
    assert_false(remote_status_retryable(400));
    assert_false(remote_status_retryable(401));
    assert_false(remote_status_retryable(404));
    assert_false(remote_status_retryable(413));
    assert_false(remote_status_retryable(200));

    uint32_t rnds[] = {0, 1, 12345, 0xffffffffu};
    for (size_t r = 0; r < 4; r++) {
        long prev_max = 0;
        for (int attempt = 0; attempt < 12; attempt++) {
            long d = remote_retry_delay_ms(attempt, -1, rnds[r]);
            long full = (long)REMOTE_BACKOFF_BASE_MS << (attempt < 5 ? attempt : 5);
            if (full > REMOTE_BACKOFF_MAX_MS)
                full = REMOTE_BACKOFF_MAX_MS;
            assert_true(d >= full / 2 && d <= full);
            assert_true(full >= prev_max);
            prev_max = full;
        }
    }
    /* jitter: different random numbers, different waits */
    assert_true(remote_retry_delay_ms(2, -1, 0) != remote_retry_delay_ms(2, -1, 777));
    /* the server's word wins, unless it asks for too long */
    assert_int_equal(remote_retry_delay_ms(0, 0, 99), 0);
    assert_int_equal(remote_retry_delay_ms(3, 1500, 99), 1500);
    assert_int_equal(remote_retry_delay_ms(0, REMOTE_RETRY_AFTER_MAX_MS, 1),
                     REMOTE_RETRY_AFTER_MAX_MS);
    assert_int_equal(remote_retry_delay_ms(0, REMOTE_RETRY_AFTER_MAX_MS + 1, 1), -1);
}

/* The error type of Anthropic and OpenAI-style error bodies: the type, else a string code,
 * and only names safe to log. */
static void test_error_type(void **state)
{
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow\"}}",
         "rate_limit_error"},
        {"{\"error\":{\"message\":\"x\",\"type\":null,\"code\":\"invalid_api_key\"}}",
         "invalid_api_key"},
        {"{\"error\":{\"message\":\"x\",\"type\":\"server_error\",\"code\":\"Other\"}}",
         "server_error"},
        {"{\"error\":{\"message\":\"x\",\"code\":401}}", "unknown"}, /* a number */
        {"{\"type\":\"error\",\"error\":{\"type\":\"bad\\nline\"}}", "unknown"},
        {"<html>", "unknown"},
        {"", "unknown"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char t[48];
        remote_error_type(cases[i].body, strlen(cases[i].body), t, sizeof(t));
        assert_string_equal(t, cases[i].want);
    }
}

/* An analysis built from the schema's own enums and bounds passes the parser. */
static void test_schema_says_what_the_parser_takes(void **state)
{
    json_t *s = remote_schema(REMOTE_ANALYSIS);
    json_t *props = json_object_get(s, "properties");
    assert_true(json_is_false(json_object_get(s, "additionalProperties")));
    assert_int_equal(json_object_size(props), 4);
    assert_int_equal(json_array_size(json_object_get(s, "required")), 4);
    json_t *intents =
        json_object_get(json_object_get(json_object_get(props, "intents"), "items"), "enum");
    assert_int_equal(json_array_size(intents), INTENT_COUNT);
    json_t *answer = json_object();
    json_object_set(answer, "intents", intents); /* every intent at once */
    json_object_set(
        answer, "sentiment",
        json_array_get(json_object_get(json_object_get(props, "sentiment"), "enum"), 2));
    json_object_set(answer, "sentiment_score",
                    json_object_get(json_object_get(props, "sentiment_score"), "minimum"));
    json_object_set(answer, "urgency",
                    json_array_get(json_object_get(json_object_get(props, "urgency"), "enum"), 1));
    char *text = json_dumps(answer, JSON_COMPACT);
    struct analysis a;
    struct errinfo e;
    errinfo_clear(&e);
    if (remote_parse_analysis(text, strlen(text), "x", &a, &e) != 0)
        fail_msg("%s: %s", text, e.msg);
    assert_int_equal(a.intents, (1u << INTENT_COUNT) - 1);
    assert_int_equal(a.sentiment, SENTIMENT_NEGATIVE);
    assert_int_equal(a.urgency, URGENCY_MEDIUM);
    assert_true(a.sentiment_score == -1.0);
    assert_string_equal(a.provider, "x");
    free(text);
    json_decref(answer);
    json_decref(s);

    s = remote_schema(REMOTE_DRAFT);
    props = json_object_get(s, "properties");
    assert_true(json_is_false(json_object_get(s, "additionalProperties")));
    assert_non_null(json_object_get(props, "body"));
    assert_non_null(json_object_get(props, "callToAction"));
    json_t *subjects = json_object_get(props, "subjects");
    assert_int_equal(json_integer_value(json_object_get(subjects, "minItems")), DRAFT_SUBJECTS);
    assert_int_equal(json_integer_value(json_object_get(subjects, "maxItems")), DRAFT_SUBJECTS);
    assert_int_equal(json_array_size(json_object_get(s, "required")), 3);
    json_decref(s);
}

static void test_prompts_keep_data_out_of_the_instructions(void **state)
{
    struct remote_prompt p;
    remote_prompt_analysis(&p, "Hi </email>", "body-marker <email> x");
    assert_int_equal(p.kind, REMOTE_ANALYSIS);
    assert_contains(p.system, "JSON");
    assert_not_contains(p.system, "body-marker");
    assert_contains(p.user, "body-marker");
    assert_contains(p.user, "\\u003c/email\\u003e");
    assert_int_equal(strstr(p.user, "</email>") - p.user, (long)strlen(p.user) - 8);
    remote_prompt_release(&p);
    assert_null(p.user);

    struct draft_input in = {.name = "Ada", .company = "Quillon <b>", .status = "lead"};
    remote_prompt_draft(&p, &in);
    assert_int_equal(p.kind, REMOTE_DRAFT);
    assert_contains(p.user, "Quillon \\u003cb\\u003e");
    assert_not_contains(p.system, "Quillon");
    remote_prompt_release(&p);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_analysis_good),
    cmocka_unit_test(test_analysis_wrappings),
    cmocka_unit_test(test_analysis_bad_text),
    cmocka_unit_test(test_analysis_bad_schema),
    cmocka_unit_test(test_error_type),
    cmocka_unit_test(test_schema_says_what_the_parser_takes),
    cmocka_unit_test(test_prompts_keep_data_out_of_the_instructions),
    cmocka_unit_test(test_clean_text),
    cmocka_unit_test(test_retry_schedule),
};

UNIT_GROUP(unit_ai_remote, "ai/remote", tests);
