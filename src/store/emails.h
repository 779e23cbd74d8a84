/*
 * Store: processed emails and the workspace counters built from them: the rows as callers see
 * them and the store_* calls, each with its contract.
 */
#ifndef LEADFLOW_STORE_EMAILS_H
#define LEADFLOW_STORE_EMAILS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Intents of an email; several may apply (a bit set). */
enum intent {
    INTENT_MEETING_REQUEST = 1 << 0,
    INTENT_QUESTION = 1 << 1,
    INTENT_COMPLAINT = 1 << 2,
    INTENT_FEATURE_REQUEST = 1 << 3,
    INTENT_PRICING_INQUIRY = 1 << 4,
    INTENT_GENERAL = 1 << 5,
    INTENT_FOLLOW_UP = 1 << 6,
};
enum { INTENT_COUNT = 7 };

/* The name of one intent bit ("meeting_request"), or NULL. */
const char *intent_name(unsigned bit);
/* The bit of a name, or 0. */
unsigned intent_parse(const char *name);

/* An email as stored; strings are arena memory ("" or NULL when absent). */
struct email_row {
    char id[STORE_ID_LEN];
    char contact_id[STORE_ID_LEN]; /* "" when linked to no contact */
    const char *message_id, *in_reply_to, *thread_id;
    const char *from_email, *from_name;
    const char *to_emails; /* JSON array of addresses */
    const char *subject, *body_text;
    const char *direction; /* inbound | outbound */
    const char *source;    /* import | upload | gmail | demo */
    unsigned intent_bits;  /* enum intent (ai/ai.h) */
    const char *sentiment; /* positive | neutral | negative; NULL before analysis */
    double sentiment_score;
    const char *urgency;  /* low | medium | high */
    const char *provider; /* the analyzer that produced the fields above */
    int attachments;
    int64_t received_at, processed_at, created_at;
};

struct email_query {
    const char *contact_id; /* NULL: any */
    const char *intent;     /* NULL: any; one intent name */
    const char *sentiment;  /* NULL: any */
    const char *text;       /* substring of subject or sender; NULL: none */
    int limit, offset;      /* newest first */
};

/* Counts for the dashboard's overview. */
struct workspace_stats {
    int64_t contacts, hot, warm, cold;
    int64_t emails, emails_week, emails_unprocessed;
    int64_t campaigns, campaigns_active;
    int64_t drafts_pending;
};

/* Emails. insert: *inserted is false when (workspace, message_id) exists. */
int store_email_insert(struct store *st, const char *workspace_id, const struct email_row *row,
                       bool *inserted, struct errinfo *e);

int store_email_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                    struct email_row *out, struct errinfo *e);

int store_email_list(struct store *st, const char *workspace_id, const struct email_query *q,
                     struct arena *a, struct email_row **rows, size_t *n, int64_t *total,
                     struct errinfo *e);

/* The newest email of a contact (subject and time), for lead cards. */
int store_email_latest(struct store *st, const char *workspace_id, const char *contact_id,
                       struct arena *a, struct email_row *out, struct errinfo *e);

/* Email addresses of the workspace's members: mail from them is outbound. */
int store_workspace_member_emails(struct store *st, const char *workspace_id, struct arena *a,
                                  char ***emails, size_t *n, struct errinfo *e);

int store_workspace_stats(struct store *st, const char *workspace_id, int64_t now,
                          struct workspace_stats *out, struct errinfo *e);

/* A number that changes whenever the workspace's contacts or emails do:
 * replies built from them can be reused while it stays the same. */
int store_workspace_version(struct store *st, const char *workspace_id, int64_t *version,
                            struct errinfo *e);

#endif
