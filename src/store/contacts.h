/*
 * Store: contacts, their activity, scores and score history, hot leads, timeline events: the rows
 * as callers see them and the store_* calls, each with its contract.
 */
#ifndef LEADFLOW_STORE_CONTACTS_H
#define LEADFLOW_STORE_CONTACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The lead score's figures (ai/score.h computes them; the store keeps them). */
enum {
    SCORE_WINDOW_DAYS = 30,
    SCORE_HOT = 80,
    SCORE_WARM = 60,
    SCORE_REASONS_MAX = 6,
    SCORE_REASON_LEN = 96,
};

/* One thing the contact did (or, ACT_SENT, an email we sent them), newest
 * first in the input. */
enum activity_kind { ACT_EMAIL, ACT_REPLY, ACT_OPEN, ACT_CLICK, ACT_SENT };

struct activity {
    int kind; /* enum activity_kind; bot opens and clicks are left out by the caller */
    int64_t at_ms;
    unsigned intents;       /* emails: enum intent bits */
    double sentiment_score; /* emails: [-1, 1] */
    int has_sentiment;
};

/* A computed score: the five parts, the total and the reasons. */
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

/* A contact as stored; tags is a JSON array text (arena memory). */
struct contact {
    char id[STORE_ID_LEN];
    char workspace_id[STORE_ID_LEN];
    char email[STORE_EMAIL_MAX];
    char name[STORE_NAME_MAX];
    char company[STORE_NAME_MAX];
    char job_title[STORE_NAME_MAX];
    char status[16];
    const char *tags;
    const char *score_reasons; /* JSON array of strings (arena memory) */
    int ai_score;
    double score_engagement, score_sentiment, score_intent, score_role, score_status;
    double sentiment;
    bool has_sentiment;
    int64_t last_interaction, unsubscribed_at, created_at, updated_at;
};

/* Fields to write on create or update; a field is written when its bit is
 * in set (a NULL value then clears it). */
enum contact_field {
    CF_EMAIL = 1 << 0,
    CF_NAME = 1 << 1,
    CF_COMPANY = 1 << 2,
    CF_JOB_TITLE = 1 << 3,
    CF_STATUS = 1 << 4,
    CF_TAGS = 1 << 5,
};

struct contact_fields {
    unsigned set;
    const char *email, *name, *company, *job_title, *status;
    const char *tags; /* JSON array text */
};

enum contact_sort {
    CS_CREATED,
    CS_UPDATED,
    CS_SCORE,
    CS_NAME,
    CS_EMAIL,
    CS_LAST_INTERACTION,
    CS_COUNT
};

struct contact_query {
    const char *status; /* NULL: any */
    int min_score;      /* -1: none */
    int max_score;      /* -1: none */
    const char *tag;    /* NULL: any */
    const char *text;   /* full-text search over email, name, company, title */
    enum contact_sort sort;
    bool desc;
    int limit, offset;
};

/* A contact on the hot-leads list, with its newest email. */
struct hot_lead {
    struct contact c;
    char last_email_id[STORE_ID_LEN]; /* "" when the contact has no email */
    const char *last_subject;
    int64_t last_email_at;
    unsigned last_intents;
};

/* One change of a contact's score. */
struct score_change {
    int score, previous;
    double engagement, sentiment, intent, role, status;
    const char *reason;
    int64_t at;
};

/* An open, click, unsubscribe or bounce of a sent email, as a contact's
 * timeline shows it (the subject is the sent email's, NULL when it is gone). */
struct email_event {
    int64_t id;
    char kind[16];
    const char *sent_email_id, *subject, *url, *user_agent, *bot_reason;
    bool is_bot;
    int64_t at;
};

/* Contacts of a workspace. ERR_CONFLICT when the email is taken in the
 * workspace; ERR_NOT_FOUND for an id that is not in the workspace. */
int store_contact_create(struct store *st, const char *workspace_id, const struct contact_fields *f,
                         int64_t now, struct arena *a, struct contact *out, struct errinfo *e);

/* Calls fn(arg, email, id) for every contact of the workspace (the
 * strings live during the call). */
typedef void (*store_email_fn)(void *arg, const char *email, const char *id);
int store_contact_emails(struct store *st, const char *workspace_id, store_email_fn fn, void *arg,
                         struct errinfo *e);

int store_contact_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                      struct contact *out, struct errinfo *e);

int store_contact_update(struct store *st, const char *workspace_id, const char *id,
                         const struct contact_fields *f, int64_t now, struct arena *a,
                         struct contact *out, struct errinfo *e);

int store_contact_delete(struct store *st, const char *workspace_id, const char *id,
                         struct errinfo *e);

/* A page of contacts matching q, and the number matching in all. */
int store_contact_list(struct store *st, const char *workspace_id, const struct contact_query *q,
                       struct arena *a, struct contact **rows, size_t *n, int64_t *total,
                       struct errinfo *e);

/*
 * The workspace's contact with this email, created when absent (with the
 * name, job title and company given; an existing contact's empty name,
 * title or company is filled in, never overwritten). *created says which.
 */
int store_contact_link(struct store *st, const char *workspace_id, const char *email,
                       const char *name, const char *job_title, const char *company, int64_t now,
                       char id[STORE_ID_LEN], bool *created, struct errinfo *e);

/* The contact's activity since since_ms, newest first (at most max rows),
 * with its job title and status (into the given buffers). */
int store_contact_activity(struct store *st, const char *workspace_id, const char *contact_id,
                           int64_t since_ms, size_t max, struct arena *a, struct activity **acts,
                           size_t *n, char job_title[STORE_NAME_MAX], char status[16],
                           struct errinfo *e);

/* Stores the five components, total and reasons (a JSON array); writes a
 * score_history row when the total changed. *previous gets the old total
 * and *total (may be NULL) the stored one: s->total plus the contact's
 * campaign points, within 0..100. */
int store_contact_score_save(struct store *st, const char *workspace_id, const char *contact_id,
                             const struct score *s, const char *reasons_json, int64_t now,
                             int *previous, int *total, struct errinfo *e);

/* Moves the status forward (contact < prospect < lead < customer; it never
 * moves back); *changed says whether it did. */
int store_contact_status_advance(struct store *st, const char *workspace_id, const char *contact_id,
                                 const char *status, int64_t now, bool *changed, struct errinfo *e);

int store_contact_score_history(struct store *st, const char *workspace_id, const char *contact_id,
                                int limit, struct arena *a, struct score_change **rows, size_t *n,
                                struct errinfo *e);

/* Contacts with ai_score >= min_score, best first (ties: latest interaction). */
int store_hot_leads(struct store *st, const char *workspace_id, int min_score, int limit,
                    int offset, struct arena *a, struct hot_lead **rows, size_t *n, int64_t *total,
                    struct errinfo *e);

/* The contact's email events, newest first (at most limit); ERR_NOT_FOUND
 * when the contact is not in the workspace. */
int store_contact_events(struct store *st, const char *workspace_id, const char *contact_id,
                         int limit, struct arena *a, struct email_event **rows, size_t *n,
                         struct errinfo *e);

/* Sets the contact's unsubscribed_at unless it is set (*changed says
 * whether it was); ERR_NOT_FOUND when the contact is not in the workspace. */
int store_contact_unsubscribe(struct store *st, const char *workspace_id, const char *contact_id,
                              int64_t now, bool *changed, struct errinfo *e);

/* Clears the contact's unsubscribed_at when it is set (*changed says
 * whether it was); ERR_NOT_FOUND when the contact is not in the workspace. */
int store_contact_resubscribe(struct store *st, const char *workspace_id, const char *contact_id,
                              int64_t now, bool *changed, struct errinfo *e);

/* Adds delta to the contact's campaign points (kept in -100..100 and
 * added to the computed score, within 0..100) and stores the new total
 * (score_history gets a row when it changed). */
int store_contact_score_adjust(struct store *st, const char *workspace_id, const char *contact_id,
                               int delta, int64_t now, int *before, int *after, struct errinfo *e);

#endif
