/*
 * The 0-100 lead score (DESIGN.md §6): engagement 0-40, sentiment 0-20,
 * intent quality 0-20, role 0-10, status progression 0-10, each kept so the
 * dashboard can say why. A pure function of the contact's recent activity,
 * so both the pipeline and later event handlers recompute it the same way.
 */
#ifndef LEADFLOW_AI_SCORE_H
#define LEADFLOW_AI_SCORE_H

#include <stddef.h>
#include <stdint.h>

enum {
    SCORE_WINDOW_DAYS = 30,
    SCORE_HOT = 80,
    SCORE_WARM = 60,
    SCORE_REASONS_MAX = 6,
    SCORE_REASON_LEN = 96,
};

/* One thing the contact did, newest first in the input. */
enum activity_kind { ACT_EMAIL, ACT_REPLY, ACT_OPEN, ACT_CLICK };

struct activity {
    int kind; /* enum activity_kind; bot opens and clicks are left out by the caller */
    int64_t at_ms;
    unsigned intents;       /* emails: enum intent bits */
    double sentiment_score; /* emails: [-1, 1] */
    int has_sentiment;
};

struct score_input {
    const struct activity *acts; /* the last SCORE_WINDOW_DAYS, newest first */
    size_t nacts;
    const char *job_title; /* may be NULL */
    const char *status;    /* prospect | lead | customer | contact */
    int64_t now_ms;
};

struct score {
    double engagement, sentiment, intent, role, status;
    int total;                /* rounded sum, 0-100 */
    double sentiment_mean;    /* recency-weighted mean of the emails' sentiment */
    int has_sentiment;        /* 0 when no email in the window had one */
    int64_t last_activity_ms; /* the newest activity, 0 when none */
    /* One-line reasons, most important first: "asked about pricing 2 days ago". */
    char reasons[SCORE_REASONS_MAX][SCORE_REASON_LEN];
    int nreasons;
};

void score_compute(const struct score_input *in, struct score *out);

/* "hot", "warm" or "cold". */
const char *score_tier(int total);

/* Role points of a job title: 10 C-level/founder/owner/president, 8 VP/director/head,
 * 5 manager/lead, 2 another title, 0 none. */
int score_role_points(const char *job_title);

#endif
