/*
 * Store: outgoing emails, provider attempts, tracking events and generated drafts: the rows as
 * callers see them and the store_* calls, each with its contract.
 */
#ifndef LEADFLOW_STORE_SENDING_H
#define LEADFLOW_STORE_SENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The states of a generated draft (ai/content.h), as bits for "one of". */
enum content_status {
    CONTENT_DRAFT = 1 << 0,
    CONTENT_APPROVED = 1 << 1,
    CONTENT_REJECTED = 1 << 2,
    CONTENT_SENT = 1 << 3,
};

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
    const char *provider;             /* offline | anthropic | openai */
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
    char status[16]; /* queued | sent | failed | refused | suppressed */
    const char *provider, *provider_message_id, *error, *content_id;
    int64_t job_id; /* 0: none */
    int64_t created_at, sent_at;
    const char *from_name, *reply_to; /* as queued; NULL: none */
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

/* Inserts row (id filled in by the caller) unless (workspace,
 * idempotency_key) exists: then *created is false and id gets the
 * existing row's id. */
int store_sent_email_insert(struct store *st, const char *workspace_id,
                            const struct sent_email *row, char id[STORE_ID_LEN], bool *created,
                            struct errinfo *e);

int store_sent_email_set_job(struct store *st, const char *workspace_id, const char *id,
                             int64_t job_id, struct errinfo *e);

int store_sent_email_get(struct store *st, const char *workspace_id, const char *id,
                         struct arena *a, struct sent_email *out, struct errinfo *e);

int store_sent_email_list(struct store *st, const char *workspace_id,
                          const struct sent_email_query *q, struct arena *a,
                          struct sent_email **rows, size_t *n, int64_t *total, struct errinfo *e);

/* Records an outcome: status, provider, provider message id, error and
 * sent_at (NULL or 0 store NULL). A row already sent, refused or
 * suppressed is left alone (*changed false): an outcome is final. */
int store_sent_email_finish(struct store *st, const char *workspace_id, const char *id,
                            const char *status, const char *provider,
                            const char *provider_message_id, const char *error, int64_t sent_at,
                            bool *changed, struct errinfo *e);

/* Where a provider's event belongs: the sent email whose id is id (when
 * not NULL), else the one provider took with provider_message_id, in any
 * workspace. Fills workspace_id, the email's id and its contact ("" when
 * none). ERR_NOT_FOUND when neither names one. */
int store_sent_email_locate(struct store *st, const char *id, const char *provider,
                            const char *provider_message_id, char workspace_id[STORE_ID_LEN],
                            char sent_email_id[STORE_ID_LEN], char contact_id[STORE_ID_LEN],
                            struct errinfo *e);

/*
 * The workspace's sent email a returned report is about: the one whose
 * message_id is message_id (no brackets; NULL or "": not known), else the
 * newest sent to to_email (case aside; NULL: not known) since since (ms).
 * ERR_NOT_FOUND when none.
 */
int store_sent_email_match(struct store *st, const char *workspace_id, const char *message_id,
                           const char *to_email, int64_t since, char sent_email_id[STORE_ID_LEN],
                           char contact_id[STORE_ID_LEN], struct errinfo *e);

int store_send_attempt_add(struct store *st, const char *workspace_id, const char *sent_email_id,
                           const struct send_attempt *at, struct errinfo *e);

/* The email's attempts, oldest first. */
int store_send_attempt_list(struct store *st, const char *workspace_id, const char *sent_email_id,
                            struct arena *a, struct send_attempt **rows, size_t *n,
                            struct errinfo *e);

/* Stores a new draft (status draft): fills c->id, created_at, updated_at
 * from now; ERR_NOT_FOUND when the contact is not in the workspace. */
int store_content_insert(struct store *st, const char *workspace_id, struct content *c, int64_t now,
                         struct errinfo *e);

int store_content_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                      struct content *out, struct errinfo *e);

/* A page of drafts matching q, newest first, and the number matching in all. */
int store_content_list(struct store *st, const char *workspace_id, const struct content_query *q,
                       struct arena *a, struct content **rows, size_t *n, int64_t *total,
                       struct errinfo *e);

/* Changes the subject, body and call to action (NULL: unchanged) of a
 * draft or an approved draft, which becomes a draft again. ERR_NOT_FOUND;
 * ERR_CONFLICT in any other status. */
int store_content_edit(struct store *st, const char *workspace_id, const char *id,
                       const char *subject, const char *body, const char *call_to_action,
                       int64_t now, struct errinfo *e);

/* Moves a draft whose status is one of from (enum content_status bits) to
 * status to, recording the reviewer (may be NULL) and the sent email (may
 * be NULL). ERR_NOT_FOUND; ERR_CONFLICT when the status is not one of from. */
int store_content_transition(struct store *st, const char *workspace_id, const char *id,
                             unsigned from, enum content_status to, const char *reviewed_by,
                             const char *sent_email_id, int64_t now, struct errinfo *e);

/* The id of the contact's newest score_history row that crossed into
 * hot (previous < min_score <= score); 0 when there is none. */
int store_content_hot_crossing(struct store *st, const char *workspace_id, const char *contact_id,
                               int min_score, int64_t *history_id, struct errinfo *e);

/* The sent email's contact ("" when it has none) and the time a provider
 * accepted it (0 before that); ERR_NOT_FOUND when not in the workspace. */
int store_sent_email_tracking(struct store *st, const char *workspace_id, const char *sent_email_id,
                              char contact_id[STORE_ID_LEN], int64_t *sent_at, struct errinfo *e);

/* The opens and clicks of a sent email: counts of people and of bots, the
 * last time a person opened or clicked (0: never), and the newest events
 * (at most limit, newest first; events in a). */
struct email_event;
struct sent_engagement {
    int64_t opens, bot_opens, last_open_at;
    int64_t clicks, bot_clicks, last_click_at;
    struct email_event *events;
    size_t nevents;
};
int store_sent_email_engagement(struct store *st, const char *workspace_id,
                                const char *sent_email_id, int limit, struct arena *a,
                                struct sent_engagement *out, struct errinfo *e);

/* Appends an email_events row; kind is open|click|unsubscribe|bounce,
 * bot_reason NULL for a person (is_bot follows it). A sent email or a
 * contact no longer in the workspace is stored as NULL. */
int store_email_event_add(struct store *st, const char *workspace_id, const char *sent_email_id,
                          const char *contact_id, const char *kind, const char *url,
                          const char *user_agent, const char *ip, const char *bot_reason,
                          int64_t now, struct errinfo *e);

/* An address on the workspace's suppression list: no email goes to it. */
struct suppression {
    char id[STORE_ID_LEN];
    const char *email;                /* lower-cased */
    char reason[16];                  /* bounce | complaint | unsubscribe | manual */
    const char *note;                 /* NULL when none */
    char contact_id[STORE_ID_LEN];    /* "" when none */
    char sent_email_id[STORE_ID_LEN]; /* the email that bounced or was complained of; "" */
    char created_by[STORE_ID_LEN];    /* the user of a manual entry; "" */
    int64_t created_at;
};

struct suppression_query {
    const char *reason; /* NULL: any */
    const char *email;  /* NULL: any; a substring of the address */
    int limit, offset;  /* newest first */
};

/* Puts s->email (lower-cased by the store) on the list unless it is there
 * already: then *created is false and s is left as given. s->id is filled
 * in by the store when empty; created_at 0 is now. */
int store_suppression_add(struct store *st, const char *workspace_id, struct suppression *s,
                          bool *created, struct errinfo *e);

/* The entry of an address (any case); ERR_NOT_FOUND when it is not listed. */
int store_suppression_find(struct store *st, const char *workspace_id, const char *email,
                           struct arena *a, struct suppression *out, struct errinfo *e);

int store_suppression_get(struct store *st, const char *workspace_id, const char *id,
                          struct arena *a, struct suppression *out, struct errinfo *e);

int store_suppression_list(struct store *st, const char *workspace_id,
                           const struct suppression_query *q, struct arena *a,
                           struct suppression **rows, size_t *n, int64_t *total, struct errinfo *e);

/* Takes the entry off the list and logs why (removed_reason, by user_id,
 * which may be NULL), in one transaction. ERR_NOT_FOUND. */
int store_suppression_remove(struct store *st, const char *workspace_id, const char *id,
                             const char *removed_reason, const char *user_id, int64_t now,
                             struct errinfo *e);

#endif
