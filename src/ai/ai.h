/*
 * The AI provider interface. A provider is a struct whose first member is
 * its method table (struct ai_ops). Three providers: the offline analyzer
 * (deterministic rules, no network; always available), the Anthropic
 * Messages API and any OpenAI-compatible chat completions server; the two
 * remote ones (ai/remote.h) fall back to the offline analyzer when they fail.
 * Every provider returns the same struct analysis, validated before use.
 * Providers also draft follow-up emails (struct draft) for the content
 * module (ai/content.h).
 */
#ifndef LEADFLOW_AI_AI_H
#define LEADFLOW_AI_AI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/config.h"
#include "base/err.h"
#include "store/emails.h"

enum sentiment { SENTIMENT_NEGATIVE = -1, SENTIMENT_NEUTRAL = 0, SENTIMENT_POSITIVE = 1 };
enum urgency { URGENCY_LOW = 0, URGENCY_MEDIUM = 1, URGENCY_HIGH = 2 };

struct analysis {
    unsigned intents;       /* enum intent bits; never 0 (general when nothing else) */
    int sentiment;          /* enum sentiment */
    double sentiment_score; /* in [-1, 1] */
    int urgency;            /* enum urgency */
    const char *provider;   /* "offline", "anthropic" or "openai" (static text) */
};

const char *sentiment_name(int s);
int sentiment_parse(const char *name); /* -2 when unknown */
const char *urgency_name(int u);
int urgency_parse(const char *name); /* -1 when unknown */

/* What a drafter knows about the contact it writes to (all borrowed). */
struct draft_email {
    const char *subject;   /* may be NULL */
    const char *snippet;   /* the start of the text, spaces folded; may be NULL */
    unsigned intents;      /* enum intent bits */
    const char *sentiment; /* positive | neutral | negative, or NULL */
    int64_t received_at;
};

enum {
    DRAFT_SUBJECTS = 3,
    DRAFT_EMAILS_MAX = 5,  /* recent emails a drafter is shown, newest first */
    DRAFT_REASONS_MAX = 8, /* score reasons shown */
    DRAFT_WORDS_MIN = 150, /* the body the offline drafter writes */
    DRAFT_WORDS_MAX = 200,
    DRAFT_MODEL_WORDS_MIN = 120, /* what a model's body may have before it is refused */
    DRAFT_MODEL_WORDS_MAX = 230,
    DRAFT_SUBJECT_MAX = 200, /* bytes */
    DRAFT_BODY_MAX = 20000,
    DRAFT_CTA_MAX = 500,
};

struct draft_input {
    const char *name, *email, *job_title, *company; /* "" or NULL when unknown */
    const char *status;                             /* prospect | lead | customer | contact */
    int score;
    const char *const *reasons; /* why the score is what it is */
    size_t nreasons;
    const struct draft_email *emails; /* newest first */
    size_t nemails;
};

/* A draft: three distinct subject lines, a body, a call to action (arena memory). */
struct draft {
    const char *subjects[DRAFT_SUBJECTS];
    const char *body;
    const char *call_to_action;
    const char *provider; /* "offline", "anthropic" or "openai" (static text) */
};

struct ai;

struct ai_ops {
    const char *name;
    /*
     * Analyzes one email: subject (may be NULL) and its new text (may be
     * empty). Fills out; returns 0. A provider that falls back fills out
     * from the offline analyzer and still returns 0.
     */
    int (*analyze)(struct ai *ai, const char *subject, const char *text, struct analysis *out,
                   struct errinfo *e);
    void (*free)(struct ai *ai);
    /*
     * Writes a follow-up email for one contact into out (strings in a).
     * Returns 0; a provider that falls back fills out from the offline
     * drafter. NULL: the provider has no drafter of its own and ai_draft()
     * uses the offline one.
     */
    int (*draft)(struct ai *ai, const struct draft_input *in, struct arena *a, struct draft *out,
                 struct errinfo *e);
};

struct ai {
    const struct ai_ops *ops;
};

/* The offline analyzer as a pure function: deterministic, thread-safe,
 * allocation-free. */
void ai_offline_analyze(const char *subject, const char *text, struct analysis *out);

/*
 * The offline drafter as a pure function: deterministic templates filled
 * from in (company, role, the last email's intent: pricing, meeting,
 * complaint...), three distinct subjects, a body of DRAFT_WORDS_MIN to
 * DRAFT_WORDS_MAX words. Strings go to a. Thread-safe.
 */
void ai_offline_draft(const struct draft_input *in, struct arena *a, struct draft *out);

/* Words in text (runs of characters between spaces, tabs and line breaks). */
size_t ai_word_count(const char *text);

/* The offline analyzer as a provider (static, free is a no-op). */
struct ai *ai_offline_new(void);

/*
 * The Anthropic Messages API provider (base URL, key, model, thinking budget
 * and timeout from cfg); falls back to fallback (borrowed) when a call fails.
 * NULL with e when the configuration is incomplete.
 */
struct ai *ai_anthropic_new(const struct config *cfg, struct ai *fallback, struct errinfo *e);

/*
 * An OpenAI-compatible chat completions server (base URL, model, optional
 * key, max_tokens, timeout and retries from cfg); falls back to fallback
 * (borrowed) when a call fails. NULL with e when the configuration is
 * incomplete.
 */
struct ai *ai_openai_new(const struct config *cfg, struct ai *fallback, struct errinfo *e);

/*
 * The provider the configuration asks for (ai_provider: offline, anthropic
 * or openai; when unset, Anthropic if its API key is set, else offline). A
 * provider whose settings are unusable is logged and replaced by the offline
 * analyzer. Never NULL. Thread-safe once made.
 */
struct ai *ai_new(const struct config *cfg);

enum subject_kind { SUBJECT_NEW, SUBJECT_REPLY, SUBJECT_AUTO };

/*
 * What a subject line is: SUBJECT_REPLY for a reply's or a forward's ("Re:",
 * "RE[2]:", "AW:", "SV:", "Fwd:", "WG:", "Odp:", after "[EXTERNAL]"-like
 * tags), SUBJECT_AUTO for an automatic reply's ("Automatic reply:", "Out of
 * Office:", "Abwesenheitsnotiz:", "Réponse automatique :"...), else
 * SUBJECT_NEW (NULL too).
 */
int ai_subject_kind(const char *subject);

/*
 * Analyzes one email with the provider. The subject of a reply or a forward
 * is not read: it repeats the first subject of the thread, most often ours,
 * so it says nothing of what the sender asks now ("Re: Can we schedule a
 * call?" over "Thanks, that answers it."); the new text does. A subject the
 * sender wrote counts (a provider may weigh it above a body word).
 */
static inline int ai_analyze(struct ai *ai, const char *subject, const char *text,
                             struct analysis *out, struct errinfo *e)
{
    if (ai_subject_kind(subject) != SUBJECT_NEW)
        subject = NULL;
    return ai->ops->analyze(ai, subject, text, out, e);
}

static inline int ai_draft(struct ai *ai, const struct draft_input *in, struct arena *a,
                           struct draft *out, struct errinfo *e)
{
    if (!ai->ops->draft) {
        ai_offline_draft(in, a, out);
        return 0;
    }
    return ai->ops->draft(ai, in, a, out, e);
}

static inline void ai_free(struct ai *ai)
{
    if (ai)
        ai->ops->free(ai);
}

/*
 * Reads a job title and a company from an email signature block (and the
 * sender's display name and address, which help tell the name line from the
 * title line). Writes "" when not found. Titles like "VP of Sales",
 * "Head of Procurement | Acme GmbH", "CTO, Initech".
 */
void signature_extract(const char *signature, const char *from_name, const char *from_email,
                       char *title, size_t title_size, char *company, size_t company_size);

#endif
