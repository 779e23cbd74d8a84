/*
 * The pure parts of the OpenAI-compatible chat completions provider
 * (src/ai/openai.c), exposed for the unit tests: the request body and the
 * reading of a reply. None of these touch the network or the clock.
 */
#ifndef LEADFLOW_AI_OPENAI_INT_H
#define LEADFLOW_AI_OPENAI_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "ai/ai.h"
#include "ai/remote.h"
#include "base/buf.h"
#include "base/err.h"

/* The wire format (name "openai", fallback event "ai.openai_fallback"). */
extern const struct remote_api openai_api;

/*
 * The JSON body of a chat completions request for p: model, the system and
 * user messages, max_tokens (left out when 0) and response_format: a strict
 * json_schema (remote_schema()) when schema is true, else json_object.
 * Returns a malloc'd NUL-terminated string (free() it).
 */
char *openai_request_body(const char *model, int64_t max_tokens, const struct remote_prompt *p,
                          bool schema);

/*
 * The model's text from a 200 reply body: choices[0].message.content of a
 * choice that finished with "stop". A refusal (message.refusal), an answer
 * cut at max_tokens (finish_reason "length") or stopped for another reason
 * is ERR_INVALID with the reason in e (the refusal's words are not copied).
 * The text is appended to text.
 */
int openai_reply_text(const char *body, size_t len, struct buf *text, struct errinfo *e);

#endif
