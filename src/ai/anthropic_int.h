/*
 * The pure parts of the Anthropic Messages API provider (src/ai/anthropic.c),
 * exposed for the unit tests: the request body, the reading of a reply and
 * the strict check of the analysis or the draft the model wrote, and the
 * retry schedule. None of these touch the network, the clock or global state.
 */
#ifndef LEADFLOW_AI_ANTHROPIC_INT_H
#define LEADFLOW_AI_ANTHROPIC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ai/ai.h"
#include "base/buf.h"
#include "base/err.h"

enum {
    ANTHROPIC_MAX_TEXT = 8 * 1024,        /* bytes of email text sent to the model */
    ANTHROPIC_MAX_SUBJECT = 512,          /* bytes of subject sent */
    ANTHROPIC_MAX_REPLY = 256 * 1024,     /* bytes of API reply accepted */
    ANTHROPIC_BACKOFF_BASE_MS = 500,      /* first retry waits 250-500 ms, then doubles */
    ANTHROPIC_BACKOFF_MAX_MS = 8000,      /* no wait of our own choosing is longer */
    ANTHROPIC_RETRY_AFTER_MAX_MS = 30000, /* a longer retry-after means: give up now */
    ANTHROPIC_MAX_FIELD = 256,            /* bytes of a contact's name, title, company */
    ANTHROPIC_MAX_SNIPPET = 1024,         /* bytes of an email's text shown to the drafter */
};

/*
 * Copies s (UTF-8 text from outside) to out, at most max bytes, cut at a
 * character boundary; invalid bytes become U+FFFD and control characters
 * other than tab and newline are dropped, so the result is valid UTF-8 that
 * jansson accepts. out is reset first. Returns true when s was cut.
 */
bool anthropic_clean_text(const char *s, size_t max, struct buf *out);

/*
 * The JSON body of a Messages API request that asks model for the analysis
 * of one email (subject may be NULL, text may be NULL). The email goes into
 * the user message as data: a JSON object whose strings are escaped so that
 * they cannot close the delimiters around it. Returns a malloc'd
 * NUL-terminated string (free() it).
 */
char *anthropic_request_body(const char *model, int64_t max_tokens, int64_t thinking_budget,
                             const char *subject, const char *text);

/*
 * Reads the analysis from the text the model wrote: one JSON object, alone or
 * inside a ``` or ```json fence, with only white space around it. Validated
 * strictly: exactly the keys intents (one or more known intent names),
 * sentiment (a known label), sentiment_score (a number in [-1, 1]) and
 * urgency (a known label). Fills out (provider "anthropic") and returns 0, or
 * ERR_INVALID with the reason in e (out is then untouched).
 */
int anthropic_parse_analysis(const char *text, size_t len, struct analysis *out, struct errinfo *e);

/*
 * Reads a 200 reply body of the Messages API: a message whose content blocks
 * hold the model's text (thinking blocks are skipped) and whose stop_reason
 * is end_turn or stop_sequence; the text blocks are joined and handed to
 * anthropic_parse_analysis(). Returns 0 or ERR_INVALID with the reason in e.
 */
int anthropic_parse_reply(const char *body, size_t len, struct analysis *out, struct errinfo *e);

/*
 * The JSON body of a Messages API request that asks model for a follow-up
 * email to the contact described by in. The contact goes into the user
 * message as data (a JSON object between <contact> lines, escaped like the
 * email of anthropic_request_body()); the instructions are only in the
 * system prompt. Returns a malloc'd NUL-terminated string (free() it).
 */
char *anthropic_draft_request_body(const char *model, int64_t max_tokens, int64_t thinking_budget,
                                   const struct draft_input *in);

/*
 * Reads the draft from the text the model wrote (one JSON object, as for
 * anthropic_parse_analysis()). Validated strictly: exactly the keys
 * subjects (DRAFT_SUBJECTS distinct one-line strings of 1 to
 * DRAFT_SUBJECT_MAX bytes), body (1 to DRAFT_BODY_MAX bytes, with
 * DRAFT_MODEL_WORDS_MIN to DRAFT_MODEL_WORDS_MAX words) and callToAction (1
 * to DRAFT_CTA_MAX bytes). Fills out (strings in a, provider "anthropic")
 * and returns 0, or ERR_INVALID with the reason in e (out is then untouched).
 */
int anthropic_parse_draft(const char *text, size_t len, struct arena *a, struct draft *out,
                          struct errinfo *e);

/* anthropic_parse_reply() for a draft: the reply's text through anthropic_parse_draft(). */
int anthropic_parse_draft_reply(const char *body, size_t len, struct arena *a, struct draft *out,
                                struct errinfo *e);

/*
 * The error type of an error reply ({"type":"error","error":{"type":...}}),
 * copied into out (e.g. "rate_limit_error"); "unknown" when the body is not
 * one.
 */
void anthropic_error_type(const char *body, size_t len, char *out, size_t outsize);

/* True for a status worth another try: 429, and 5xx (529 overloaded too). */
bool anthropic_status_retryable(long status);

/*
 * How long to wait before retry number attempt (0 for the first retry):
 * retry_after_ms when the server said so (-1: it did not); else exponential
 * backoff from ANTHROPIC_BACKOFF_BASE_MS, capped at ANTHROPIC_BACKOFF_MAX_MS,
 * with "equal jitter" from rnd (half fixed, half random). Returns -1 when the
 * server asks for a wait longer than ANTHROPIC_RETRY_AFTER_MAX_MS.
 */
long anthropic_retry_delay_ms(int attempt, long retry_after_ms, uint32_t rnd);

#endif
