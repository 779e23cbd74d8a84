/*
 * The Anthropic Messages API provider (POST /v1/messages, anthropic-version
 * 2023-06-01, extended thinking): the wire format only. The prompts, the
 * strict check of the model's answer, the retries and the fallback to the
 * offline analyzer or drafter are the ones every remote provider shares
 * (ai/remote.h).
 */
#include "ai/anthropic_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

static char *request_json(const char *model, int64_t max_tokens, int64_t thinking_budget,
                          const struct remote_prompt *p)
{
    json_t *msg = json_object();
    json_object_set_new(msg, "role", json_string("user"));
    json_object_set_new(msg, "content", json_string(p->user));
    json_t *messages = json_array();
    json_array_append_new(messages, msg);

    json_t *thinking = json_object();
    json_object_set_new(thinking, "type", json_string("enabled"));
    json_object_set_new(thinking, "budget_tokens", json_integer(thinking_budget));

    json_t *root = json_object();
    json_object_set_new(root, "model", json_string(model));
    json_object_set_new(root, "max_tokens", json_integer(max_tokens));
    json_object_set_new(root, "thinking", thinking);
    json_object_set_new(root, "system", json_string(p->system));
    json_object_set_new(root, "messages", messages);
    char *body = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!body)
        abort();
    return body;
}

char *anthropic_request_body(const char *model, int64_t max_tokens, int64_t thinking_budget,
                             const char *subject, const char *text)
{
    struct remote_prompt p;
    remote_prompt_analysis(&p, subject, text);
    char *body = request_json(model, max_tokens, thinking_budget, &p);
    remote_prompt_release(&p);
    return body;
}

char *anthropic_draft_request_body(const char *model, int64_t max_tokens, int64_t thinking_budget,
                                   const struct draft_input *in)
{
    struct remote_prompt p;
    remote_prompt_draft(&p, in);
    char *body = request_json(model, max_tokens, thinking_budget, &p);
    remote_prompt_release(&p);
    return body;
}

/*
 * The model's text from a 200 reply body of the Messages API: an assistant
 * message that stopped at end_turn or a stop sequence; its text blocks are
 * joined into text (thinking blocks are skipped).
 */
int anthropic_reply_text(const char *body, size_t len, struct buf *text, struct errinfo *e)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!root)
        return failf(e, ERR_INVALID, "the reply is not JSON: %s", jerr.text);
    int rc = 0;
    const char *type = json_string_value(json_object_get(root, "type"));
    const char *role = json_string_value(json_object_get(root, "role"));
    const char *stop = json_string_value(json_object_get(root, "stop_reason"));
    json_t *content = json_object_get(root, "content");
    if (!type || strcmp(type, "message") != 0 || !role || strcmp(role, "assistant") != 0) {
        rc = failf(e, ERR_INVALID, "the reply is not an assistant message");
        goto done;
    }
    if (!stop || (strcmp(stop, "end_turn") != 0 && strcmp(stop, "stop_sequence") != 0)) {
        rc = failf(e, ERR_INVALID, "the reply stopped early (stop_reason %.32s)",
                   stop ? stop : "missing");
        goto done;
    }
    if (!json_is_array(content)) {
        rc = failf(e, ERR_INVALID, "the reply has no content list");
        goto done;
    }
    size_t i, ntext = 0;
    json_t *block;
    json_array_foreach(content, i, block)
    {
        const char *bt = json_string_value(json_object_get(block, "type"));
        if (!bt || strcmp(bt, "text") != 0)
            continue; /* thinking, redacted_thinking: the model's notes, not its answer */
        json_t *t = json_object_get(block, "text");
        if (!json_is_string(t) ||
            buf_append(text, json_string_value(t), json_string_length(t)) != 0) {
            rc = failf(e, ERR_INVALID, "content[%zu] has no usable text", i);
            goto done;
        }
        ntext++;
    }
    if (ntext == 0)
        rc = failf(e, ERR_INVALID, "the reply has no text block");
done:
    json_decref(root);
    return rc;
}

/* ---- the provider --------------------------------------------------------- */

struct anthropic {
    struct remote r; /* first: a struct ai * points here */
    int64_t thinking_budget;
};

static char *anthropic_request(const struct remote *r, const struct remote_call *c)
{
    const struct anthropic *a = (const struct anthropic *)r;
    return request_json(r->model, r->max_tokens, a->thinking_budget, c->prompt);
}

const struct remote_api anthropic_api = {
    .name = "anthropic",
    .event = "ai.anthropic_fallback",
    .title = "the Anthropic API",
    .key_setting = "LEADFLOW_ANTHROPIC_API_KEY",
    .url_setting = "LEADFLOW_ANTHROPIC_API_URL",
    .request = anthropic_request,
    .reply_text = anthropic_reply_text,
};

static const struct ai_ops anthropic_ops = {
    .name = "anthropic",
    .analyze = remote_analyze,
    .free = remote_free,
    .draft = remote_draft,
};

/* Checks what a call needs; 0 or ERR_CONFIG (the key's value is never shown). */
static int anthropic_check_config(const struct config *cfg, struct errinfo *e)
{
    int rc;
    if ((rc = remote_check_setting("anthropic_api_key", cfg->anthropic_api_key, true, e)) ||
        (rc = remote_check_setting("anthropic_api_url", cfg->anthropic_api_url, true, e)) ||
        (rc = remote_check_setting("anthropic_model", cfg->anthropic_model, true, e)))
        return rc;
    if (cfg->anthropic_max_tokens <= cfg->anthropic_thinking_budget)
        return failf(e, ERR_CONFIG,
                     "anthropic_max_tokens (%lld) must exceed anthropic_thinking_budget (%lld)",
                     (long long)cfg->anthropic_max_tokens,
                     (long long)cfg->anthropic_thinking_budget);
    return 0;
}

struct ai *ai_anthropic_new(const struct config *cfg, struct ai *fallback, struct errinfo *e)
{
    if (!fallback) {
        failf(e, ERR_INTERNAL, "the Anthropic provider needs a fallback");
        return NULL;
    }
    if (anthropic_check_config(cfg, e) != 0)
        return NULL;
    struct anthropic *a = XNEW(struct anthropic);
    remote_init(&a->r, &anthropic_ops, &anthropic_api, fallback, cfg->anthropic_api_url,
                "/v1/messages", "x-api-key: ", cfg->anthropic_api_key, cfg->anthropic_model);
    a->r.extra_header = "anthropic-version: 2023-06-01";
    a->r.max_tokens = cfg->anthropic_max_tokens;
    a->r.timeout_ms = cfg->anthropic_timeout_ms;
    a->r.max_retries = cfg->anthropic_max_retries;
    a->thinking_budget = cfg->anthropic_thinking_budget;
    return &a->r.base;
}
