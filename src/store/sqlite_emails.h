/*
 * Private to the SQLite backend: the email pipeline's functions of struct
 * store_ops (contracts in store.h) and their initializer for the ops table.
 */
#ifndef LEADFLOW_STORE_SQLITE_EMAILS_H
#define LEADFLOW_STORE_SQLITE_EMAILS_H

#include "store/sqlite_int.h"

int sq_tx_begin(struct store *st, struct errinfo *e);
int sq_tx_commit(struct store *st, struct errinfo *e);
void sq_tx_rollback(struct store *st);
int sq_tx_lock_workspace(struct store *st, const char *workspace_id, struct errinfo *e);
int sq_contact_link(struct store *st, const char *workspace_id, const char *email, const char *name,
                    const char *job_title, const char *company, int64_t now, char id[STORE_ID_LEN],
                    bool *created, struct errinfo *e);
int sq_contact_activity(struct store *st, const char *workspace_id, const char *contact_id,
                        int64_t since_ms, size_t max, struct arena *a, struct activity **acts,
                        size_t *n, char job_title[STORE_NAME_MAX], char status[16],
                        struct errinfo *e);
int sq_contact_score_save(struct store *st, const char *workspace_id, const char *contact_id,
                          const struct score *s, const char *reasons_json, int64_t now,
                          int *previous, int *total, struct errinfo *e);
int sq_contact_status_advance(struct store *st, const char *workspace_id, const char *contact_id,
                              const char *status, int64_t now, bool *changed, struct errinfo *e);
int sq_contact_score_history(struct store *st, const char *workspace_id, const char *contact_id,
                             int limit, struct arena *a, struct score_change **rows, size_t *n,
                             struct errinfo *e);
int sq_hot_leads(struct store *st, const char *workspace_id, int min_score, int limit, int offset,
                 struct arena *a, struct hot_lead **rows, size_t *n, int64_t *total,
                 struct errinfo *e);
int sq_email_insert(struct store *st, const char *workspace_id, const struct email_row *row,
                    bool *inserted, struct errinfo *e);
int sq_email_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                 struct email_row *out, struct errinfo *e);
int sq_email_list(struct store *st, const char *workspace_id, const struct email_query *q,
                  struct arena *a, struct email_row **rows, size_t *n, int64_t *total,
                  struct errinfo *e);
int sq_email_latest(struct store *st, const char *workspace_id, const char *contact_id,
                    struct arena *a, struct email_row *out, struct errinfo *e);
int sq_workspace_stats(struct store *st, const char *workspace_id, int64_t now,
                       struct workspace_stats *out, struct errinfo *e);

int sq_workspace_version(struct store *st, const char *workspace_id, int64_t *version,
                         struct errinfo *e);

#define SQ_EMAIL_OPS                                                                               \
    .tx_begin = sq_tx_begin, .tx_commit = sq_tx_commit, .tx_rollback = sq_tx_rollback,             \
    .tx_lock_workspace = sq_tx_lock_workspace, .contact_link = sq_contact_link,                    \
    .contact_activity = sq_contact_activity, .contact_score_save = sq_contact_score_save,          \
    .contact_status_advance = sq_contact_status_advance,                                           \
    .contact_score_history = sq_contact_score_history, .hot_leads = sq_hot_leads,                  \
    .email_insert = sq_email_insert, .email_get = sq_email_get, .email_list = sq_email_list,       \
    .email_latest = sq_email_latest, .workspace_stats = sq_workspace_stats,                        \
    .workspace_version = sq_workspace_version

#endif
