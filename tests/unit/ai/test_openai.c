/*
 * Tests for src/ai/openai.c: the chat completions request body (messages,
 * max_tokens, json_schema or json_object), the reading of replies (content,
 * refusals, finish reasons, bodies that are not replies), configuration
 * checks and the provider table's choice by ai_provider.
 */
#include <jansson.h>
#include <stdlib.h>

#include "ai/openai_int.h"
#include "base/buf.h"
#include "base/config.h"
#include "unit/unit.h"

static json_t *request(const struct remote_prompt *p, int64_t max_tokens, bool schema)
{
    char *body = openai_request_body("local-model", max_tokens, p, schema);
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    free(body);
    return j;
}

static void test_request_body(void **state)
{
    struct remote_prompt p;
    remote_prompt_analysis(&p, "Pricing", "marker-5a1");
    json_t *j = request(&p, 512, true);
    assert_string_equal(json_string_value(json_object_get(j, "model")), "local-model");
    assert_int_equal(json_integer_value(json_object_get(j, "max_tokens")), 512);
    json_t *msgs = json_object_get(j, "messages");
    assert_int_equal(json_array_size(msgs), 2);
    json_t *sys = json_array_get(msgs, 0), *user = json_array_get(msgs, 1);
    assert_string_equal(json_string_value(json_object_get(sys, "role")), "system");
    assert_string_equal(json_string_value(json_object_get(sys, "content")), p.system);
    assert_string_equal(json_string_value(json_object_get(user, "role")), "user");
    assert_string_equal(json_string_value(json_object_get(user, "content")), p.user);
    json_t *rf = json_object_get(j, "response_format");
    assert_string_equal(json_string_value(json_object_get(rf, "type")), "json_schema");
    json_t *js = json_object_get(rf, "json_schema");
    assert_string_equal(json_string_value(json_object_get(js, "name")), "email_analysis");
    assert_true(json_is_true(json_object_get(js, "strict")));
    json_t *want = remote_schema(REMOTE_ANALYSIS);
    assert_true(json_equal(json_object_get(js, "schema"), want));
    json_decref(want);
    json_decref(j);

    /* json_object, and no max_tokens when it is 0 */
    j = request(&p, 0, false);
    assert_null(json_object_get(j, "max_tokens"));
    rf = json_object_get(j, "response_format");
    assert_string_equal(json_string_value(json_object_get(rf, "type")), "json_object");
    assert_null(json_object_get(rf, "json_schema"));
    json_decref(j);
    remote_prompt_release(&p);

    struct draft_input in = {.name = "Ada", .company = "Quillon", .status = "lead"};
    remote_prompt_draft(&p, &in);
    j = request(&p, 100, true);
    js = json_object_get(json_object_get(j, "response_format"), "json_schema");
    assert_string_equal(json_string_value(json_object_get(js, "name")), "follow_up_email");
    json_decref(j);
    remote_prompt_release(&p);
}

/* A chat.completion with one choice: message fields (JSON text) and a finish reason. */
static char *completion(const char *message, const char *finish)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    assert_int_equal(buf_printf(&b,
                                "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","
                                "\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
                                "\"message\":{\"role\":\"assistant\",%s},\"finish_reason\":%s}]}",
                                message, finish),
                     0);
    return buf_detach(&b, NULL);
}

static int read_reply(const char *body, struct buf *text, struct errinfo *e)
{
    buf_reset(text);
    errinfo_clear(e);
    return openai_reply_text(body, strlen(body), text, e);
}

static void test_reply_text(void **state)
{
    struct buf t;
    buf_init(&t, 1 << 16);
    struct errinfo e;
    char *body = completion("\"content\":\"{\\\"a\\\":1}\",\"refusal\":null", "\"stop\"");
    assert_int_equal(read_reply(body, &t, &e), 0);
    assert_string_equal(buf_str(&t), "{\"a\":1}");
    free(body);

    /* the whole reply through the shared parser */
    body = completion("\"content\":\"{\\\"intents\\\":[\\\"question\\\"],\\\"sentiment\\\":"
                      "\\\"neutral\\\",\\\"sentiment_score\\\":0,\\\"urgency\\\":\\\"low\\\"}\"",
                      "\"stop\"");
    struct analysis a;
    assert_int_equal(remote_read_analysis(&openai_api, body, strlen(body), &a, &e), 0);
    assert_string_equal(a.provider, "openai");
    assert_int_equal(a.intents, INTENT_QUESTION);
    free(body);

    static const struct {
        const char *message, *finish, *reason;
    } bad[] = {
        {"\"content\":null,\"refusal\":\"I can't help with that.\"", "\"stop\"", "refused"},
        {"\"content\":\"{\\\"a\\\":\"", "\"length\"", "max_tokens"},
        {"\"content\":\"{}\"", "\"content_filter\"", "content_filter"},
        {"\"content\":\"{}\"", "null", "missing"},
        {"\"content\":null", "\"stop\"", "content"},
        {"\"content\":\"\"", "\"stop\"", "content"},
        {"\"content\":42", "\"stop\"", "content"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        body = completion(bad[i].message, bad[i].finish);
        assert_int_equal(read_reply(body, &t, &e), ERR_INVALID);
        assert_contains(e.msg, bad[i].reason);
        assert_not_contains(e.msg, "help with that"); /* the refusal's words are not kept */
        free(body);
    }
    static const char *const others[] = {
        "",
        "not json",
        "{\"error\":{\"message\":\"x\",\"type\":\"server_error\"}}",
        "{\"choices\":[]}",
        "{\"choices\":[{\"finish_reason\":\"stop\"}]}",
        "[1]",
    };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        assert_int_equal(read_reply(others[i], &t, &e), ERR_INVALID);
        assert_true(e.msg[0] != '\0');
    }
    buf_release(&t);
}

static void test_config(void **state)
{
    struct config c;
    config_init(&c);
    struct errinfo e;
    errinfo_clear(&e);
    assert_null(c.ai_provider);
    assert_string_equal(c.openai_base_url, "https://api.openai.com/v1");
    assert_null(c.openai_model);
    assert_null(c.openai_api_key);
    assert_int_equal(c.openai_max_tokens, 4096);
    assert_int_equal(c.openai_timeout_ms, 60000);
    assert_int_equal(c.openai_max_retries, 2);
    assert_true(config_key_is_secret("openai_api_key"));
    assert_int_equal(config_set(&c, "ai_provider", "gpt", "t", &e), ERR_CONFIG);
    assert_contains(e.msg, "offline, anthropic, openai");
    assert_int_equal(config_set(&c, "openai_base_url", "localhost:11434", "t", &e), ERR_CONFIG);
    /* openai needs a model; anthropic needs its key */
    assert_int_equal(config_set(&c, "ai_provider", "openai", "t", &e), 0);
    assert_int_equal(config_finish(&c, &e), ERR_CONFIG);
    assert_contains(e.msg, "LEADFLOW_OPENAI_MODEL");
    assert_int_equal(config_set(&c, "openai_model", "llama3.1", "t", &e), 0);
    assert_int_equal(config_finish(&c, &e), 0);
    assert_int_equal(config_set(&c, "ai_provider", "anthropic", "t", &e), 0);
    assert_int_equal(config_finish(&c, &e), ERR_CONFIG);
    assert_contains(e.msg, "LEADFLOW_ANTHROPIC_API_KEY");
    config_release(&c);
}

static void test_provider_table(void **state)
{
    struct config c;
    config_init(&c);
    struct errinfo e;
    errinfo_clear(&e);
    struct ai *off = ai_offline_new();
    /* every name the setting takes is a provider of the table */
    static const char *const names[] = {"offline", "anthropic", "openai"};
    assert_int_equal(config_set(&c, "anthropic_api_key", "sk-ant-unit-3", "t", &e), 0);
    assert_int_equal(config_set(&c, "openai_model", "llama3.1", "t", &e), 0);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(config_set(&c, "ai_provider", names[i], "t", &e), 0);
        struct ai *ai = ai_new(&c);
        assert_string_equal(ai->ops->name, names[i]);
        ai_free(ai);
    }
    /* unset: the Anthropic key decides, as before the setting existed */
    assert_int_equal(config_set(&c, "ai_provider", "", "t", &e), 0);
    struct ai *ai = ai_new(&c);
    assert_string_equal(ai->ops->name, "anthropic");
    ai_free(ai);
    assert_int_equal(config_set(&c, "anthropic_api_key", "", "t", &e), 0);
    assert_true(ai_new(&c) == off);

    /* the constructor refuses what it cannot send */
    assert_null(ai_openai_new(&c, NULL, &e));
    assert_int_equal(config_set(&c, "openai_api_key", "sk-line\nbreak", "t", &e), 0);
    assert_null(ai_openai_new(&c, off, &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_not_contains(e.msg, "sk-line");
    assert_int_equal(config_set(&c, "ai_provider", "openai", "t", &e), 0);
    assert_true(ai_new(&c) == off); /* logged, and the offline analyzer serves */
    config_release(&c);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_request_body),
    cmocka_unit_test(test_reply_text),
    cmocka_unit_test(test_config),
    cmocka_unit_test(test_provider_table),
};

UNIT_GROUP(unit_ai_openai, "ai/openai", tests);
