/*
 * Private to the PostgreSQL backend: the drip campaign functions of struct
 * store_ops (contracts in store.h: campaigns, steps, enrollments, execution
 * logs, metrics, campaign score points) and their initializer for the ops
 * table. The trigger, enrollment wake-up and cancel ops are in pg_contacts.c.
 */
#ifndef LEADFLOW_STORE_PG_CAMPAIGNS_H
#define LEADFLOW_STORE_PG_CAMPAIGNS_H

#include "store/store.h"

int pg_campaign_create(struct store *st, const char *workspace_id, const struct campaign_fields *f,
                       int64_t now, struct arena *a, struct campaign *out, struct errinfo *e);
int pg_campaign_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                    struct campaign *out, struct errinfo *e);
int pg_campaign_list(struct store *st, const char *workspace_id, const char *status, int limit,
                     int offset, struct arena *a, struct campaign **rows, size_t *n, int64_t *total,
                     struct errinfo *e);
int pg_campaign_update(struct store *st, const char *workspace_id, const char *id,
                       const struct campaign_fields *f, int64_t now, struct errinfo *e);
int pg_campaign_delete(struct store *st, const char *workspace_id, const char *id,
                       struct errinfo *e);
int pg_campaign_set_status(struct store *st, const char *workspace_id, const char *id,
                           const char *from, const char *to, int64_t now, struct errinfo *e);
int pg_campaign_steps(struct store *st, const char *workspace_id, const char *campaign_id,
                      struct arena *a, struct campaign_step **rows, size_t *n, struct errinfo *e);
int pg_campaign_step_get(struct store *st, const char *workspace_id, const char *step_id,
                         struct arena *a, struct campaign_step *out, struct errinfo *e);
int pg_campaign_steps_replace(struct store *st, const char *workspace_id, const char *campaign_id,
                              const struct campaign_step *steps, size_t n, int64_t now,
                              struct errinfo *e);
int pg_enrollment_insert(struct store *st, const char *workspace_id, const char *campaign_id,
                         const char *contact_id, bool allow_reenroll, const char *first_step,
                         int64_t next_run_at, int64_t now, char id[STORE_ID_LEN],
                         const char **reason, struct errinfo *e);
int pg_enrollment_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                      struct enrollment *out, struct errinfo *e);
int pg_enrollment_list(struct store *st, const char *workspace_id, const char *campaign_id,
                       const char *status, int limit, int offset, struct arena *a,
                       struct enrollment **rows, size_t *n, int64_t *total, struct errinfo *e);
int pg_enrollment_move(struct store *st, const char *workspace_id, const char *id, int64_t seq,
                       const struct enrollment_move *m, int64_t now, bool *applied,
                       struct errinfo *e);
int pg_exec_log_add(struct store *st, const char *workspace_id, const char *campaign_id,
                    const struct exec_log *l, struct errinfo *e);
int pg_exec_log_list(struct store *st, const char *workspace_id, const char *campaign_id,
                     const char *enrollment_id, int limit, int offset, struct arena *a,
                     struct exec_log **rows, size_t *n, int64_t *total, struct errinfo *e);
int pg_campaign_metrics(struct store *st, const char *workspace_id, const char *campaign_id,
                        struct arena *a, struct step_metrics **rows, size_t *n, struct errinfo *e);
int pg_email_engagement(struct store *st, const char *workspace_id, const char *sent_email_id,
                        struct email_engagement *out, struct errinfo *e);
int pg_contact_score_adjust(struct store *st, const char *workspace_id, const char *contact_id,
                            int delta, int64_t now, int *before, int *after, struct errinfo *e);
int pg_campaign_status(struct store *st, const char *workspace_id, const char *id, char status[16],
                       struct errinfo *e);

int pg_campaign_triggered(struct store *st, const char *workspace_id, const char *type,
                          struct arena *a, struct campaign **rows, size_t *n, struct errinfo *e);
int pg_enrollment_wake(struct store *st, const char *workspace_id, const char *contact_id,
                       int64_t now, int64_t *n, struct errinfo *e);
int pg_enrollment_cancel(struct store *st, const char *workspace_id, const char *contact_id,
                         const char *campaign_id, const char *reason, int64_t now, int64_t *n,
                         struct errinfo *e);

#define PG_CAMPAIGN_OPS                                                                            \
    .campaign_create = pg_campaign_create, .campaign_triggered = pg_campaign_triggered,            \
    .enrollment_wake = pg_enrollment_wake, .enrollment_cancel = pg_enrollment_cancel,              \
    .campaign_get = pg_campaign_get, .campaign_list = pg_campaign_list,                            \
    .campaign_update = pg_campaign_update, .campaign_delete = pg_campaign_delete,                  \
    .campaign_set_status = pg_campaign_set_status, .campaign_steps = pg_campaign_steps,            \
    .campaign_step_get = pg_campaign_step_get,                                                     \
    .campaign_steps_replace = pg_campaign_steps_replace,                                           \
    .enrollment_insert = pg_enrollment_insert, .enrollment_get = pg_enrollment_get,                \
    .enrollment_list = pg_enrollment_list, .enrollment_move = pg_enrollment_move,                  \
    .exec_log_add = pg_exec_log_add, .exec_log_list = pg_exec_log_list,                            \
    .campaign_metrics = pg_campaign_metrics, .email_engagement = pg_email_engagement,              \
    .contact_score_adjust = pg_contact_score_adjust, .campaign_status = pg_campaign_status

#endif
