/*
 * Private to the SQLite backend: the outgoing-email functions of struct
 * store_ops (sent_emails and send_attempts; contracts in store.h) and their
 * initializer for the ops table.
 */
#ifndef LEADFLOW_STORE_SQLITE_SEND_H
#define LEADFLOW_STORE_SQLITE_SEND_H

#include "store/sqlite_int.h"

bool sq_tx_active(struct store *st);
int sq_sent_email_insert(struct store *st, const char *workspace_id, const struct sent_email *row,
                         char id[STORE_ID_LEN], bool *created, struct errinfo *e);
int sq_sent_email_set_job(struct store *st, const char *workspace_id, const char *id,
                          int64_t job_id, struct errinfo *e);
int sq_sent_email_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                      struct sent_email *out, struct errinfo *e);
int sq_sent_email_list(struct store *st, const char *workspace_id, const struct sent_email_query *q,
                       struct arena *a, struct sent_email **rows, size_t *n, int64_t *total,
                       struct errinfo *e);
int sq_sent_email_finish(struct store *st, const char *workspace_id, const char *id,
                         const char *status, const char *provider, const char *provider_message_id,
                         const char *error, int64_t sent_at, bool *changed, struct errinfo *e);
int sq_send_attempt_add(struct store *st, const char *workspace_id, const char *sent_email_id,
                        const struct send_attempt *at, struct errinfo *e);
int sq_send_attempt_list(struct store *st, const char *workspace_id, const char *sent_email_id,
                         struct arena *a, struct send_attempt **rows, size_t *n, struct errinfo *e);

#define SQ_SEND_OPS                                                                                \
    .tx_active = sq_tx_active, .sent_email_insert = sq_sent_email_insert,                          \
    .sent_email_set_job = sq_sent_email_set_job, .sent_email_get = sq_sent_email_get,              \
    .sent_email_list = sq_sent_email_list, .sent_email_finish = sq_sent_email_finish,              \
    .send_attempt_add = sq_send_attempt_add, .send_attempt_list = sq_send_attempt_list

#endif
