/*
 * Store: outgoing emails, provider attempts, tracking events and generated drafts: the rows as
 * callers see them and the store_* calls (each op's contract is at its slot in struct store_ops,
 * store/store.h). Include this, never call st->ops directly.
 */
#ifndef LEADFLOW_STORE_SENDING_H
#define LEADFLOW_STORE_SENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* A generated draft as stored; strings are arena memory. */
struct content {
    char id[STORE_ID_LEN];
    char workspace_id[STORE_ID_LEN];
    char contact_id[STORE_ID_LEN];
    char status[16];      /* draft | approved | rejected | sent */
    const char *subjects; /* JSON array of the proposed subject lines */
    const char *subject;  /* the chosen one */
    const char *body;
    const char *call_to_action;       /* "" when none */
    const char *provider;             /* offline | anthropic */
    const char *reason;               /* hot_lead | warm_lead | requested */
    int score_at_draft;               /* -1 when unknown */
    char sent_email_id[STORE_ID_LEN]; /* "" until sent */
    char reviewed_by[STORE_ID_LEN];   /* the user who approved, rejected or sent it; "" */
    int64_t reviewed_at, created_at, updated_at;
    /* Of the contact, for the review queue (read, never written). */
    const char *contact_email, *contact_name;
    /* Of the sent email, once sent: queued | sent | failed | refused, the
     * provider that took it, when ("" and 0 before). */
    const char *delivery_status, *delivery_provider;
    int64_t delivered_at;
};

struct content_query {
    unsigned status;        /* enum content_status bits; 0: any */
    const char *contact_id; /* NULL: any */
    int limit, offset;      /* newest first */
};

/* An outgoing email (mail/send.h); strings are arena memory (NULL when absent). */
struct sent_email {
    char id[STORE_ID_LEN];
    char contact_id[STORE_ID_LEN]; /* "" when the contact was deleted */
    const char *idempotency_key, *message_id;
    const char *from_email, *to_email, *subject, *body_text, *body_html;
    char status[16]; /* queued | sent | failed | refused */
    const char *provider, *provider_message_id, *error, *content_id;
    int64_t job_id; /* 0: none */
    int64_t created_at, sent_at;
};

struct sent_email_query {
    const char *contact_id; /* NULL: any */
    const char *status;     /* NULL: any */
    int limit, offset;      /* newest first */
};

/* One provider's try at an outgoing email. */
struct send_attempt {
    char provider[16];
    char outcome[16]; /* sent | temporary | permanent */
    int status;       /* HTTP status or SMTP reply code; 0: none */
    const char *provider_message_id, *error;
    int64_t started_at, finished_at;
};

static inline int store_sent_email_insert(struct store *st, const char *workspace_id,
                                          const struct sent_email *row, char id[STORE_ID_LEN],
                                          bool *created, struct errinfo *e)
{
    return st->ops->sent_email_insert(st, workspace_id, row, id, created, e);
}

static inline int store_sent_email_set_job(struct store *st, const char *workspace_id,
                                           const char *id, int64_t job_id, struct errinfo *e)
{
    return st->ops->sent_email_set_job(st, workspace_id, id, job_id, e);
}

static inline int store_sent_email_get(struct store *st, const char *workspace_id, const char *id,
                                       struct arena *a, struct sent_email *out, struct errinfo *e)
{
    return st->ops->sent_email_get(st, workspace_id, id, a, out, e);
}

static inline int store_sent_email_list(struct store *st, const char *workspace_id,
                                        const struct sent_email_query *q, struct arena *a,
                                        struct sent_email **rows, size_t *n, int64_t *total,
                                        struct errinfo *e)
{
    return st->ops->sent_email_list(st, workspace_id, q, a, rows, n, total, e);
}

static inline int store_sent_email_finish(struct store *st, const char *workspace_id,
                                          const char *id, const char *status, const char *provider,
                                          const char *provider_message_id, const char *error,
                                          int64_t sent_at, bool *changed, struct errinfo *e)
{
    return st->ops->sent_email_finish(st, workspace_id, id, status, provider, provider_message_id,
                                      error, sent_at, changed, e);
}

static inline int store_send_attempt_add(struct store *st, const char *workspace_id,
                                         const char *sent_email_id, const struct send_attempt *at,
                                         struct errinfo *e)
{
    return st->ops->send_attempt_add(st, workspace_id, sent_email_id, at, e);
}

static inline int store_send_attempt_list(struct store *st, const char *workspace_id,
                                          const char *sent_email_id, struct arena *a,
                                          struct send_attempt **rows, size_t *n, struct errinfo *e)
{
    return st->ops->send_attempt_list(st, workspace_id, sent_email_id, a, rows, n, e);
}

static inline int store_content_insert(struct store *st, const char *workspace_id,
                                       struct content *c, int64_t now, struct errinfo *e)
{
    return st->ops->content_insert(st, workspace_id, c, now, e);
}

static inline int store_content_get(struct store *st, const char *workspace_id, const char *id,
                                    struct arena *a, struct content *out, struct errinfo *e)
{
    return st->ops->content_get(st, workspace_id, id, a, out, e);
}

static inline int store_content_list(struct store *st, const char *workspace_id,
                                     const struct content_query *q, struct arena *a,
                                     struct content **rows, size_t *n, int64_t *total,
                                     struct errinfo *e)
{
    return st->ops->content_list(st, workspace_id, q, a, rows, n, total, e);
}

static inline int store_content_edit(struct store *st, const char *workspace_id, const char *id,
                                     const char *subject, const char *body,
                                     const char *call_to_action, int64_t now, struct errinfo *e)
{
    return st->ops->content_edit(st, workspace_id, id, subject, body, call_to_action, now, e);
}

static inline int store_content_transition(struct store *st, const char *workspace_id,
                                           const char *id, unsigned from, enum content_status to,
                                           const char *reviewed_by, const char *sent_email_id,
                                           int64_t now, struct errinfo *e)
{
    return st->ops->content_transition(st, workspace_id, id, from, to, reviewed_by, sent_email_id,
                                       now, e);
}

static inline int store_content_hot_crossing(struct store *st, const char *workspace_id,
                                             const char *contact_id, int min_score,
                                             int64_t *history_id, struct errinfo *e)
{
    return st->ops->content_hot_crossing(st, workspace_id, contact_id, min_score, history_id, e);
}

static inline int store_sent_email_tracking(struct store *st, const char *workspace_id,
                                            const char *sent_email_id,
                                            char contact_id[STORE_ID_LEN], int64_t *sent_at,
                                            struct errinfo *e)
{
    return st->ops->sent_email_tracking(st, workspace_id, sent_email_id, contact_id, sent_at, e);
}

static inline int store_email_event_add(struct store *st, const char *workspace_id,
                                        const char *sent_email_id, const char *contact_id,
                                        const char *kind, const char *url, const char *user_agent,
                                        const char *ip, const char *bot_reason, int64_t now,
                                        struct errinfo *e)
{
    return st->ops->email_event_add(st, workspace_id, sent_email_id, contact_id, kind, url,
                                    user_agent, ip, bot_reason, now, e);
}

#endif
