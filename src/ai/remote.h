/*
 * What every provider that asks a language model over HTTP shares (the
 * Anthropic Messages API, OpenAI-compatible chat completions): the prompts,
 * the strict check of the JSON object the model wrote (an analysis or a
 * draft), the retry schedule, the call loop with its retries, and the
 * fallback to the offline analyzer or drafter with one log line. A provider
 * supplies only its wire format (struct remote_api). The pure parts are
 * exposed for the unit tests; they touch no network, clock or global state.
 */
#ifndef LEADFLOW_AI_REMOTE_H
#define LEADFLOW_AI_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ai/ai.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"

enum {
    REMOTE_MAX_TEXT = 8 * 1024,        /* bytes of email text sent to the model */
    REMOTE_MAX_SUBJECT = 512,          /* bytes of subject sent */
    REMOTE_MAX_REPLY = 256 * 1024,     /* bytes of API reply accepted */
    REMOTE_BACKOFF_BASE_MS = 500,      /* first retry waits 250-500 ms, then doubles */
    REMOTE_BACKOFF_MAX_MS = 8000,      /* no wait of our own choosing is longer */
    REMOTE_RETRY_AFTER_MAX_MS = 30000, /* a longer Retry-After means: give up now */
    REMOTE_MAX_FIELD = 256,            /* bytes of a contact's name, title, company */
    REMOTE_MAX_SNIPPET = 1024,         /* bytes of an email's text shown to the drafter */
    REMOTE_MAX_CONFIG_TEXT = 4096,     /* bytes of a configured URL, key or model name */
};

/* What a call asks for. */
enum remote_kind { REMOTE_ANALYSIS, REMOTE_DRAFT };

/*
 * The two messages of a request: the instructions (system, static text) and
 * the data (user: an intro line, a JSON object between <email> or <contact>
 * lines, escaped so that it cannot spell its delimiters).
 */
struct remote_prompt {
    enum remote_kind kind;
    const char *system; /* static */
    char *user;         /* owned: remote_prompt_release() */
};

/*
 * Copies s (UTF-8 text from outside) to out, at most max bytes, cut at a
 * character boundary; invalid bytes become U+FFFD and control characters
 * other than tab and newline are dropped, so the result is valid UTF-8 that
 * jansson accepts. out is reset first. Returns true when s was cut.
 */
bool remote_clean_text(const char *s, size_t max, struct buf *out);

/* The prompt asking for the analysis of one email (subject and text may be
 * NULL; the text is cut to REMOTE_MAX_TEXT bytes and marked "truncated"). */
void remote_prompt_analysis(struct remote_prompt *p, const char *subject, const char *text);

/* The prompt asking for a follow-up email to the contact described by in. */
void remote_prompt_draft(struct remote_prompt *p, const struct draft_input *in);

void remote_prompt_release(struct remote_prompt *p);

/*
 * Reads the analysis from the text the model wrote: one JSON object, alone or
 * inside a ``` or ```json fence, with only white space around it. Validated
 * strictly: exactly the keys intents (one or more known intent names),
 * sentiment (a known label), sentiment_score (a number in [-1, 1]) and
 * urgency (a known label). Fills out (provider: the static text given) and
 * returns 0, or ERR_INVALID with the reason in e (out is then untouched).
 */
int remote_parse_analysis(const char *text, size_t len, const char *provider, struct analysis *out,
                          struct errinfo *e);

/*
 * Reads the draft from the text the model wrote (one JSON object, as for
 * remote_parse_analysis()). Validated strictly: exactly the keys subjects
 * (DRAFT_SUBJECTS distinct one-line strings of 1 to DRAFT_SUBJECT_MAX
 * bytes), body (1 to DRAFT_BODY_MAX bytes, with DRAFT_MODEL_WORDS_MIN to
 * DRAFT_MODEL_WORDS_MAX words) and callToAction (1 to DRAFT_CTA_MAX bytes).
 * Fills out (strings in a) and returns 0, or ERR_INVALID with the reason in
 * e (out is then untouched).
 */
int remote_parse_draft(const char *text, size_t len, const char *provider, struct arena *a,
                       struct draft *out, struct errinfo *e);

/* The JSON Schema of what kind asks for (the shape the two parsers above
 * accept, as far as JSON Schema can say it). A new reference. */
struct json_t *remote_schema(enum remote_kind kind);

/*
 * The error type of an error reply ({"error":{"type":...}} or, failing
 * that, a string {"error":{"code":...}}), copied into out (e.g.
 * "rate_limit_error"); "unknown" when the body is neither. Only letters,
 * digits and '_' are copied, so the result is safe to log.
 */
void remote_error_type(const char *body, size_t len, char *out, size_t outsize);

/* True for a status worth another try: 429, and 5xx (529 overloaded too). */
bool remote_status_retryable(long status);

/*
 * How long to wait before retry number attempt (0 for the first retry):
 * retry_after_ms when the server said so (-1: it did not); else exponential
 * backoff from REMOTE_BACKOFF_BASE_MS, capped at REMOTE_BACKOFF_MAX_MS,
 * with "equal jitter" from rnd (half fixed, half random). Returns -1 when the
 * server asks for a wait longer than REMOTE_RETRY_AFTER_MAX_MS.
 */
long remote_retry_delay_ms(int attempt, long retry_after_ms, uint32_t rnd);

/* ---- the provider ----------------------------------------------------------- */

struct remote;

/* One call in flight: what it asks and which form of request the provider
 * sends (0 first; a provider's adapt hook may move to another). */
struct remote_call {
    const struct remote_prompt *prompt;
    int variant;
};

/* What one HTTP model API is: its wire format. */
struct remote_api {
    const char *name;        /* the provider, as results name it: "anthropic" */
    const char *event;       /* the fallback line's event: "ai.anthropic_fallback" */
    const char *title;       /* in log messages: "the Anthropic API" */
    const char *key_setting; /* named when the server refuses the key (401, 403) */
    const char *url_setting; /* named, with the model, when the server answers 404 */
    /* The JSON body of the request for c (malloc'd, NUL-terminated). */
    char *(*request)(const struct remote *r, const struct remote_call *c);
    /* The model's text from a 200 reply body, appended to text; 0 or
     * ERR_INVALID with the reason in e. */
    int (*reply_text)(const char *body, size_t len, struct buf *text, struct errinfo *e);
    /*
     * Optional: sees every reply's status (and an error reply's body) before
     * it is judged. Returns true when it changed c so that the request should
     * be sent again at once (not counted as a retry); it must return true at
     * most once per call.
     */
    bool (*adapt)(const struct remote *r, struct remote_call *c, long status, const char *body,
                  size_t len);
};

/* A provider: embed first in the provider's own struct. Fixed at creation,
 * so one provider serves many threads. */
struct remote {
    struct ai base; /* first: a struct ai * points here */
    const struct remote_api *api;
    struct ai *fallback;      /* borrowed */
    char *url;                /* where requests are POSTed */
    char *auth_header;        /* "Name: KEY", or NULL: the only place the key is kept */
    const char *extra_header; /* a static header line the API requires, or NULL */
    char *model;
    int64_t max_tokens;
    int64_t timeout_ms;  /* per request */
    int64_t max_retries; /* after 429, 5xx and time-outs */
};

/*
 * Sets up r (the embedded part of a provider whose ops are ops): the URL is
 * base_url without trailing slashes followed by path; the key is sent in the
 * header line auth_prefix + key (NULL or an empty key: no such header). The
 * caller checked the lengths (REMOTE_MAX_CONFIG_TEXT).
 */
void remote_init(struct remote *r, const struct ai_ops *ops, const struct remote_api *api,
                 struct ai *fallback, const char *base_url, const char *path,
                 const char *auth_prefix, const char *key, const char *model);

/* The ai_ops free method of a provider allocated whole (XNEW) with its
 * struct remote first: frees what remote_init() set up (the key is wiped
 * first), then the provider. */
void remote_free(struct ai *ai);

/*
 * Checks one setting of a provider (name is the config key, for the
 * message): set when required, no line break (it may go into a header),
 * at most REMOTE_MAX_CONFIG_TEXT bytes. Returns 0 or ERR_CONFIG; the value
 * is never shown.
 */
int remote_check_setting(const char *name, const char *value, bool required, struct errinfo *e);

/*
 * Reads a 200 reply body through api->reply_text and the strict parsers
 * above. Return 0 or ERR_INVALID with the reason in e.
 */
int remote_read_analysis(const struct remote_api *api, const char *body, size_t len,
                         struct analysis *out, struct errinfo *e);
int remote_read_draft(const struct remote_api *api, const char *body, size_t len, struct arena *a,
                      struct draft *out, struct errinfo *e);

/* The ai_ops methods every remote provider uses: a call with retries, the
 * fallback on any failure. */
int remote_analyze(struct ai *ai, const char *subject, const char *text, struct analysis *out,
                   struct errinfo *e);
int remote_draft(struct ai *ai, const struct draft_input *in, struct arena *a, struct draft *out,
                 struct errinfo *e);

#endif
