/*
 * The lead score (DESIGN.md §6). Every activity in the window counts with a
 * weight that falls linearly from 1 (now) to 0.25 (SCORE_WINDOW_DAYS ago),
 * so recent interest outweighs old interest without forgetting it.
 *
 * Engagement weighs what an email asks, not only that it came: an email
 * that asks to buy (pricing, a meeting) is worth more than one that asks a
 * question, which is worth more than a note. And a buyer who writes again
 * and again before we have answered (a run of emails after our last one,
 * within SCORE_BURST_DAYS, with a buying signal among them) is pressing:
 * every email of the run after the first adds BURST_POINTS. One email, or
 * several without a buying signal, gets no such bonus, so one-off mild
 * interest stays where it was.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ai/ai.h"
#include "ai/score.h"
#include "store/contacts.h"

enum { DAY_MS = 24 * 60 * 60 * 1000, SCORE_BURST_DAYS = 7 };

static const double engagement_cap = 40, sentiment_max = 20;

/* Intents that ask to buy, and those that show interest short of it. */
static const unsigned buying = INTENT_PRICING_INQUIRY | INTENT_MEETING_REQUEST;
static const unsigned interest = INTENT_QUESTION | INTENT_FEATURE_REQUEST | INTENT_FOLLOW_UP;

/* Points per activity before the recency weight: an email or a reply gains
 * 4 when it asks to buy, 2 when it shows other interest. */
static double activity_points(const struct activity *a)
{
    double extra = (a->intents & buying) ? 4 : (a->intents & interest) ? 2 : 0;
    switch (a->kind) {
    case ACT_REPLY:
        return 10 + extra;
    case ACT_EMAIL:
        return 8 + extra;
    case ACT_CLICK:
        return 4;
    case ACT_OPEN:
        return 2;
    default:
        return 0;
    }
}

/* What each email after the first of an unanswered run with a buying signal adds. */
static const double burst_points = 4;

static double recency_weight(int64_t age_ms)
{
    const double window = (double)SCORE_WINDOW_DAYS * DAY_MS;
    if (age_ms < 0)
        age_ms = 0;
    if ((double)age_ms > window)
        return 0;
    return 1.0 - 0.75 * ((double)age_ms / window);
}

/* Intent quality points of a set of intents: the best one counts. */
static int intent_points(unsigned intents)
{
    if (intents & (INTENT_PRICING_INQUIRY | INTENT_MEETING_REQUEST))
        return 20;
    if (intents & INTENT_FEATURE_REQUEST)
        return 15;
    if (intents & (INTENT_QUESTION | INTENT_FOLLOW_UP))
        return 10;
    if (intents & INTENT_GENERAL)
        return 5;
    return 0;
}

static int status_points(const char *status)
{
    if (!status)
        return 0;
    if (strcmp(status, "customer") == 0)
        return 10;
    if (strcmp(status, "lead") == 0)
        return 7;
    if (strcmp(status, "prospect") == 0)
        return 4;
    if (strcmp(status, "contact") == 0)
        return 1;
    return 0;
}

/* Whole words of a title, lower-cased, for matching "cto" without "director". */
struct words {
    char w[16][24];
    int n;
};

static void split_words(const char *s, struct words *out)
{
    out->n = 0;
    while (*s && out->n < 16) {
        while (*s && !isalnum((unsigned char)*s))
            s++;
        size_t len = 0;
        while (*s && isalnum((unsigned char)*s)) {
            if (len + 1 < sizeof(out->w[0]))
                out->w[out->n][len++] = (char)tolower((unsigned char)*s);
            s++;
        }
        if (len) {
            out->w[out->n][len] = '\0';
            out->n++;
        }
    }
}

static bool has_word(const struct words *w, const char *const *list)
{
    for (int i = 0; i < w->n; i++)
        for (const char *const *p = list; *p; p++)
            if (strcmp(w->w[i], *p) == 0)
                return true;
    return false;
}

int score_role_points(const char *job_title)
{
    static const char *const top[] = {
        "ceo", "cto",   "cfo",   "coo",      "cmo",        "cio",     "ciso",      "cro",
        "cpo", "chief", "owner", "chairman", "chairwoman", "founder", "cofounder", NULL};
    static const char *const senior[] = {"vp",       "svp",  "evp",  "avp",
                                         "director", "head", "vice", NULL};
    static const char *const mid[] = {"manager", "lead", "supervisor", NULL};
    static const char *const president[] = {"president", NULL};
    static const char *const vice[] = {"vice", NULL};

    if (!job_title || !*job_title)
        return 0;
    struct words w;
    split_words(job_title, &w);
    if (w.n == 0)
        return 0;
    if (has_word(&w, top))
        return 10;
    if (has_word(&w, president) && !has_word(&w, vice))
        return 10;
    if (has_word(&w, senior))
        return 8;
    if (has_word(&w, mid))
        return 5;
    return 2;
}

const char *score_tier(int total)
{
    if (total >= SCORE_HOT)
        return "hot";
    if (total >= SCORE_WARM)
        return "warm";
    return "cold";
}

/* "today", "yesterday", "3 days ago". */
static void ago(char *out, size_t n, int64_t age_ms)
{
    int64_t days = age_ms > 0 ? age_ms / DAY_MS : 0;
    if (days == 0)
        snprintf(out, n, "today");
    else if (days == 1)
        snprintf(out, n, "yesterday");
    else
        snprintf(out, n, "%lld days ago", (long long)days);
}

/* The next free reason slot, or NULL when all are used. */
static char *reason_slot(struct score *s)
{
    return s->nreasons < SCORE_REASONS_MAX ? s->reasons[s->nreasons++] : NULL;
}

#define ADD_REASON(s, ...)                                                                         \
    do {                                                                                           \
        char *slot_ = reason_slot(s);                                                              \
        if (slot_)                                                                                 \
            snprintf(slot_, SCORE_REASON_LEN, __VA_ARGS__);                                        \
    } while (0)

/* The reason for the best intent, with when it was seen. */
static void intent_reason(struct score *s, unsigned intents, int64_t age_ms)
{
    char when[32];
    ago(when, sizeof(when), age_ms);
    if (intents & INTENT_PRICING_INQUIRY)
        ADD_REASON(s, "asked about pricing %s", when);
    else if (intents & INTENT_MEETING_REQUEST)
        ADD_REASON(s, "asked for a meeting %s", when);
    else if (intents & INTENT_FEATURE_REQUEST)
        ADD_REASON(s, "requested a feature %s", when);
    else if (intents & INTENT_QUESTION)
        ADD_REASON(s, "asked a question %s", when);
    else if (intents & INTENT_FOLLOW_UP)
        ADD_REASON(s, "followed up %s", when);
}

void score_compute(const struct score_input *in, struct score *out)
{
    memset(out, 0, sizeof(*out));
    double engagement = 0, wsum = 0, ssum = 0, burst = 0;
    int best_intent = 0, emails = 0, replies = 0, opens = 0, clicks = 0;
    unsigned best_intents = 0, complaint = 0;
    int64_t best_age = 0, complaint_age = 0;
    /* The run of emails since our last one (newest first: until an ACT_SENT). */
    bool answered = false, run_buys = false;
    int run = 0;

    for (size_t i = 0; i < in->nacts; i++) {
        const struct activity *a = &in->acts[i];
        int64_t age = in->now_ms - a->at_ms;
        double w = recency_weight(age);
        if (a->kind == ACT_SENT) {
            answered = true;
            continue;
        }
        if (w <= 0)
            continue;
        if (a->at_ms > out->last_activity_ms)
            out->last_activity_ms = a->at_ms;
        engagement += activity_points(a) * w;
        if (!answered && (a->kind == ACT_EMAIL || a->kind == ACT_REPLY) &&
            age <= (int64_t)SCORE_BURST_DAYS * DAY_MS) {
            if (run++ > 0)
                burst += burst_points * w;
            run_buys = run_buys || (a->intents & buying);
        }
        if (a->kind == ACT_OPEN) {
            opens++;
            continue;
        }
        if (a->kind == ACT_CLICK) {
            clicks++;
            continue;
        }
        if (a->kind == ACT_REPLY)
            replies++;
        else
            emails++;
        if (a->has_sentiment) {
            ssum += a->sentiment_score * w;
            wsum += w;
        }
        int p = intent_points(a->intents);
        /* Newest first: a later equal-best intent does not replace the newer one. */
        if (p > best_intent) {
            best_intent = p;
            best_intents = a->intents;
            best_age = age;
        }
        if ((a->intents & INTENT_COMPLAINT) && !complaint) {
            complaint = 1;
            complaint_age = age;
        }
    }

    if (run >= 2 && run_buys)
        engagement += burst;
    else
        run = 0;
    out->engagement = engagement > engagement_cap ? engagement_cap : engagement;
    if (wsum > 0) {
        out->has_sentiment = 1;
        out->sentiment_mean = ssum / wsum;
        if (out->sentiment_mean > 1)
            out->sentiment_mean = 1;
        if (out->sentiment_mean < -1)
            out->sentiment_mean = -1;
        out->sentiment = (out->sentiment_mean + 1) / 2 * sentiment_max;
    }
    out->intent = best_intent;
    out->role = score_role_points(in->job_title);
    out->status = status_points(in->status);
    double sum = out->engagement + out->sentiment + out->intent + out->role + out->status;
    out->total = (int)lround(sum);
    if (out->total > 100)
        out->total = 100;
    if (out->total < 0)
        out->total = 0;

    /* Reasons, the strongest signal first. */
    if (best_intent >= 10)
        intent_reason(out, best_intents, best_age);
    if (out->role >= 5)
        ADD_REASON(out, "%s", in->job_title);
    if (emails + replies > 0)
        ADD_REASON(out, "%d email%s in the last %d days", emails + replies,
                   emails + replies == 1 ? "" : "s", SCORE_WINDOW_DAYS);
    if (run >= 2)
        ADD_REASON(out, "wrote %d times before we answered", run);
    if (replies > 0)
        ADD_REASON(out, "replied to us %d time%s", replies, replies == 1 ? "" : "s");
    if (opens + clicks > 0)
        ADD_REASON(out, "opened %d email%s, clicked %d link%s", opens, opens == 1 ? "" : "s",
                   clicks, clicks == 1 ? "" : "s");
    if (out->has_sentiment && out->sentiment_mean >= 0.3)
        ADD_REASON(out, "positive tone");
    else if (out->has_sentiment && out->sentiment_mean <= -0.3)
        ADD_REASON(out, "negative tone");
    if (complaint) {
        char when[32];
        ago(when, sizeof(when), complaint_age);
        ADD_REASON(out, "complained %s", when);
    }
    if (in->status && strcmp(in->status, "customer") == 0)
        ADD_REASON(out, "already a customer");
}
