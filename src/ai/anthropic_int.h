/*
 * The pure parts of the Anthropic Messages API provider (src/ai/anthropic.c),
 * exposed for the unit tests: the request bodies and the reading of a reply.
 * What every remote provider shares (the prompts, the strict check of the
 * model's answer, the retry schedule) is in ai/remote.h. None of these touch
 * the network, the clock or global state.
 */
#ifndef LEADFLOW_AI_ANTHROPIC_INT_H
#define LEADFLOW_AI_ANTHROPIC_INT_H

#include <stdint.h>

#include "ai/ai.h"
#include "ai/remote.h"
#include "base/buf.h"
#include "base/err.h"

/* The Messages API's wire format (its name "anthropic", its fallback event
 * "ai.anthropic_fallback"). */
extern const struct remote_api anthropic_api;

/*
 * The JSON body of a Messages API request that asks model for the analysis
 * of one email (remote_prompt_analysis(): subject may be NULL, text may be
 * NULL) with extended thinking. Returns a malloc'd NUL-terminated string
 * (free() it).
 */
char *anthropic_request_body(const char *model, int64_t max_tokens, int64_t thinking_budget,
                             const char *subject, const char *text);

/* The same for a follow-up email to the contact described by in
 * (remote_prompt_draft()). */
char *anthropic_draft_request_body(const char *model, int64_t max_tokens, int64_t thinking_budget,
                                   const struct draft_input *in);

/*
 * The model's text from a 200 reply body of the Messages API: an assistant
 * message that stopped at end_turn or a stop sequence; its text blocks are
 * appended to text (thinking blocks are skipped). Returns 0 or ERR_INVALID
 * with the reason in e. remote_read_analysis(&anthropic_api, ...) reads the
 * analysis in such a reply.
 */
int anthropic_reply_text(const char *body, size_t len, struct buf *text, struct errinfo *e);

#endif
