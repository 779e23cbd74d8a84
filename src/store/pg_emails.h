/*
 * Private to the PostgreSQL backend: the email pipeline's functions of
 * struct store_ops (contracts in store.h) and their initializer.
 */
#ifndef LEADFLOW_STORE_PG_EMAILS_H
#define LEADFLOW_STORE_PG_EMAILS_H

#include "store/store.h"

int pg_contact_link(struct store *st, const char *workspace_id, const char *email, const char *name,
                    const char *job_title, const char *company, int64_t now, char id[STORE_ID_LEN],
                    bool *created, struct errinfo *e);
int pg_contact_activity(struct store *st, const char *workspace_id, const char *contact_id,
                        int64_t since_ms, size_t max, struct arena *a, struct activity **acts,
                        size_t *n, char job_title[STORE_NAME_MAX], char status[16],
                        struct errinfo *e);
int pg_contact_score_save(struct store *st, const char *workspace_id, const char *contact_id,
                          const struct score *s, const char *reasons_json, int64_t now,
                          int *previous, int *total, struct errinfo *e);
int pg_contact_status_advance(struct store *st, const char *workspace_id, const char *contact_id,
                              const char *status, int64_t now, bool *changed, struct errinfo *e);
int pg_contact_score_history(struct store *st, const char *workspace_id, const char *contact_id,
                             int limit, struct arena *a, struct score_change **rows, size_t *n,
                             struct errinfo *e);
int pg_hot_leads(struct store *st, const char *workspace_id, int min_score, int limit, int offset,
                 struct arena *a, struct hot_lead **rows, size_t *n, int64_t *total,
                 struct errinfo *e);
int pg_email_insert(struct store *st, const char *workspace_id, const struct email_row *row,
                    bool *inserted, struct errinfo *e);
int pg_email_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                 struct email_row *out, struct errinfo *e);
int pg_email_list(struct store *st, const char *workspace_id, const struct email_query *q,
                  struct arena *a, struct email_row **rows, size_t *n, int64_t *total,
                  struct errinfo *e);
int pg_email_latest(struct store *st, const char *workspace_id, const char *contact_id,
                    struct arena *a, struct email_row *out, struct errinfo *e);
int pg_workspace_stats(struct store *st, const char *workspace_id, int64_t now,
                       struct workspace_stats *out, struct errinfo *e);
int pg_workspace_version(struct store *st, const char *workspace_id, int64_t *version,
                         struct errinfo *e);

#define PG_EMAIL_OPS                                                                               \
    .contact_link = pg_contact_link, .contact_activity = pg_contact_activity,                      \
    .contact_score_save = pg_contact_score_save,                                                   \
    .contact_status_advance = pg_contact_status_advance,                                           \
    .contact_score_history = pg_contact_score_history, .hot_leads = pg_hot_leads,                  \
    .email_insert = pg_email_insert, .email_get = pg_email_get, .email_list = pg_email_list,       \
    .email_latest = pg_email_latest, .workspace_stats = pg_workspace_stats,                        \
    .workspace_version = pg_workspace_version

#endif
