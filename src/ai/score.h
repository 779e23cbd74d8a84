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

#include "store/contacts.h"

struct score_input {
    const struct activity *acts; /* the last SCORE_WINDOW_DAYS, newest first */
    size_t nacts;
    const char *job_title; /* may be NULL */
    const char *status;    /* prospect | lead | customer | contact */
    int64_t now_ms;
};

void score_compute(const struct score_input *in, struct score *out);

/* "hot", "warm" or "cold". */
const char *score_tier(int total);

/* Role points of a job title: 10 C-level/founder/owner/president, 8 VP/director/head,
 * 5 manager/lead, 2 another title, 0 none. */
int score_role_points(const char *job_title);

#endif
