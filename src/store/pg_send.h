/*
 * Private to the PostgreSQL backend: the sending functions of struct
 * store_ops (outgoing emails and their attempts; contracts in store.h) and
 * their initializer.
 */
#ifndef LEADFLOW_STORE_PG_SEND_H
#define LEADFLOW_STORE_PG_SEND_H

#include "store/store.h"

int pg_sent_email_insert(struct store *st, const char *workspace_id, const struct sent_email *row,
                         char id[STORE_ID_LEN], bool *created, struct errinfo *e);
int pg_sent_email_set_job(struct store *st, const char *workspace_id, const char *id,
                          int64_t job_id, struct errinfo *e);
int pg_sent_email_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                      struct sent_email *out, struct errinfo *e);
int pg_sent_email_list(struct store *st, const char *workspace_id, const struct sent_email_query *q,
                       struct arena *a, struct sent_email **rows, size_t *n, int64_t *total,
                       struct errinfo *e);
int pg_sent_email_finish(struct store *st, const char *workspace_id, const char *id,
                         const char *status, const char *provider, const char *provider_message_id,
                         const char *error, int64_t sent_at, bool *changed, struct errinfo *e);
int pg_send_attempt_add(struct store *st, const char *workspace_id, const char *sent_email_id,
                        const struct send_attempt *at, struct errinfo *e);
int pg_send_attempt_list(struct store *st, const char *workspace_id, const char *sent_email_id,
                         struct arena *a, struct send_attempt **rows, size_t *n, struct errinfo *e);
int pg_send_attempt_counts(struct store *st, const char *workspace_id, int64_t since,
                           int64_t *total, int64_t *failed, struct errinfo *e);

#define PG_SEND_OPS                                                                                \
    .sent_email_insert = pg_sent_email_insert, .sent_email_set_job = pg_sent_email_set_job,        \
    .sent_email_get = pg_sent_email_get, .sent_email_list = pg_sent_email_list,                    \
    .sent_email_finish = pg_sent_email_finish, .send_attempt_add = pg_send_attempt_add,            \
    .send_attempt_list = pg_send_attempt_list, .send_attempt_counts = pg_send_attempt_counts

#endif
