/*
 * The OpenAI-compatible chat completions provider (POST {base}/chat/completions
 * as OpenAI documents it; Ollama, llama.cpp's server and vLLM speak it too):
 * the wire format only. The answer is constrained by a strict JSON Schema
 * (response_format json_schema); a server that refuses that with a 400 is
 * asked for json_object instead, and after one such request succeeds the
 * whole process asks for json_object. The prompts, the strict check of the
 * model's answer, the retries and the fallback to the offline analyzer or
 * drafter are shared with the other remote providers (ai/remote.h).
 */
#include "ai/openai_int.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"

/*
 * Set once a request with json_object succeeded after the server refused
 * json_schema: the server will not change its mind within a process, so
 * later calls skip the refused form. Process-wide, as the configuration is.
 */
static atomic_bool schema_refused;

static json_t *message(const char *role, const char *content)
{
    json_t *m = json_object();
    json_object_set_new(m, "role", json_string(role));
    json_object_set_new(m, "content", json_string(content));
    return m;
}

char *openai_request_body(const char *model, int64_t max_tokens, const struct remote_prompt *p,
                          bool schema)
{
    json_t *messages = json_array();
    json_array_append_new(messages, message("system", p->system));
    json_array_append_new(messages, message("user", p->user));
    json_t *format = json_object();
    if (schema) {
        json_t *js = json_object();
        json_object_set_new(
            js, "name",
            json_string(p->kind == REMOTE_DRAFT ? "follow_up_email" : "email_analysis"));
        json_object_set_new(js, "strict", json_true());
        json_object_set_new(js, "schema", remote_schema(p->kind));
        json_object_set_new(format, "type", json_string("json_schema"));
        json_object_set_new(format, "json_schema", js);
    } else {
        json_object_set_new(format, "type", json_string("json_object"));
    }
    json_t *root = json_object();
    json_object_set_new(root, "model", json_string(model));
    json_object_set_new(root, "messages", messages);
    if (max_tokens > 0)
        json_object_set_new(root, "max_tokens", json_integer(max_tokens));
    json_object_set_new(root, "response_format", format);
    char *body = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!body)
        abort();
    return body;
}

int openai_reply_text(const char *body, size_t len, struct buf *text, struct errinfo *e)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!root)
        return failf(e, ERR_INVALID, "the reply is not JSON: %s", jerr.text);
    int rc = 0;
    json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");
    const char *finish = json_string_value(json_object_get(choice, "finish_reason"));
    const char *refusal = json_string_value(json_object_get(msg, "refusal"));
    json_t *content = json_object_get(msg, "content");
    if (!json_is_object(msg)) {
        rc = failf(e, ERR_INVALID, "the reply has no choices[0].message");
    } else if (refusal && *refusal) {
        /* the model's own words about the email stay out of the logs */
        rc = failf(e, ERR_INVALID, "the model refused to answer (message.refusal)");
    } else if (finish && strcmp(finish, "length") == 0) {
        rc = failf(e, ERR_INVALID, "the answer was cut at max_tokens (finish_reason length)");
    } else if (!finish || strcmp(finish, "stop") != 0) {
        rc = failf(e, ERR_INVALID, "the answer stopped early (finish_reason %.32s)",
                   finish ? finish : "missing");
    } else if (!json_is_string(content) || json_string_length(content) == 0) {
        rc = failf(e, ERR_INVALID, "choices[0].message.content is not a text");
    } else if (buf_append(text, json_string_value(content), json_string_length(content)) != 0) {
        rc = failf(e, ERR_INVALID, "choices[0].message.content is too long");
    }
    json_decref(root);
    return rc;
}

/* ---- the provider --------------------------------------------------------- */

enum { FORMAT_SCHEMA, FORMAT_OBJECT }; /* struct remote_call.variant */

static char *openai_request(const struct remote *r, const struct remote_call *c)
{
    bool schema = c->variant == FORMAT_SCHEMA && !atomic_load(&schema_refused);
    return openai_request_body(r->model, r->max_tokens, c->prompt, schema);
}

static bool openai_adapt(const struct remote *r, struct remote_call *c, long status,
                         const char *body, size_t len)
{
    (void)r, (void)body, (void)len;
    if (c->variant == FORMAT_SCHEMA && status == 400 && !atomic_load(&schema_refused)) {
        c->variant = FORMAT_OBJECT; /* ask again, for json_object */
        return true;
    }
    if (c->variant == FORMAT_OBJECT && status == 200 && !atomic_exchange(&schema_refused, true))
        log_warn("ai.openai_json_object",
                 "the server refused response_format json_schema (HTTP 400) and accepted "
                 "json_object; asking for json_object from now on");
    return false;
}

const struct remote_api openai_api = {
    .name = "openai",
    .event = "ai.openai_fallback",
    .title = "the OpenAI-compatible server",
    .key_setting = "LEADFLOW_OPENAI_API_KEY",
    .url_setting = "LEADFLOW_OPENAI_BASE_URL",
    .request = openai_request,
    .reply_text = openai_reply_text,
    .adapt = openai_adapt,
};

static const struct ai_ops openai_ops = {
    .name = "openai",
    .analyze = remote_analyze,
    .free = remote_free,
    .draft = remote_draft,
};

/* Checks what a call needs; 0 or ERR_CONFIG (the key's value is never shown). */
static int openai_check_config(const struct config *cfg, struct errinfo *e)
{
    int rc;
    if ((rc = remote_check_setting("openai_api_key", cfg->openai_api_key, false, e)) ||
        (rc = remote_check_setting("openai_base_url", cfg->openai_base_url, true, e)))
        return rc;
    return remote_check_setting("openai_model (LEADFLOW_OPENAI_MODEL)", cfg->openai_model, true, e);
}

struct ai *ai_openai_new(const struct config *cfg, struct ai *fallback, struct errinfo *e)
{
    if (!fallback) {
        failf(e, ERR_INTERNAL, "the OpenAI-compatible provider needs a fallback");
        return NULL;
    }
    if (openai_check_config(cfg, e) != 0)
        return NULL;
    struct remote *r = XNEW(struct remote);
    remote_init(r, &openai_ops, &openai_api, fallback, cfg->openai_base_url, "/chat/completions",
                "Authorization: Bearer ", cfg->openai_api_key, cfg->openai_model);
    r->max_tokens = cfg->openai_max_tokens;
    r->timeout_ms = cfg->openai_timeout_ms;
    r->max_retries = cfg->openai_max_retries;
    return &r->base;
}
