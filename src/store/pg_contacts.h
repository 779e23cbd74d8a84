/*
 * Private to the PostgreSQL backend: the contact functions of struct
 * store_ops (contracts in store.h) and their initializer for the ops table.
 */
#ifndef LEADFLOW_STORE_PG_CONTACTS_H
#define LEADFLOW_STORE_PG_CONTACTS_H

#include <libpq-fe.h>

#include "store/store.h"

/* The columns of struct contact (contacts aliased c), in pg_contact_row's order. */
#define PG_CONTACT_COLS                                                                            \
    "c.id, c.workspace_id, c.email, COALESCE(c.name,''), COALESCE(c.company,''),"                  \
    " COALESCE(c.job_title,''), c.status, c.tags::text, c.ai_score, c.score_engagement,"           \
    " c.score_sentiment, c.score_intent, c.score_role, c.score_status, c.sentiment,"               \
    " COALESCE(c.last_interaction,0), COALESCE(c.unsubscribed_at,0), c.created_at, c.updated_at,"  \
    " c.score_reasons::text"
enum { PG_CONTACT_NCOLS = 20 };

/* Reads row i of r (PG_CONTACT_COLS first) into c; strings in a. */
void pg_contact_row(const PGresult *r, int i, struct arena *a, struct contact *c);

int pg_contact_create(struct store *st, const char *workspace_id, const struct contact_fields *f,
                      int64_t now, struct arena *a, struct contact *out, struct errinfo *e);
int pg_contact_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                   struct contact *out, struct errinfo *e);
int pg_contact_update(struct store *st, const char *workspace_id, const char *id,
                      const struct contact_fields *f, int64_t now, struct arena *a,
                      struct contact *out, struct errinfo *e);
int pg_contact_delete(struct store *st, const char *workspace_id, const char *id,
                      struct errinfo *e);
int pg_contact_list(struct store *st, const char *workspace_id, const struct contact_query *q,
                    struct arena *a, struct contact **rows, size_t *n, int64_t *total,
                    struct errinfo *e);
int pg_campaign_triggered(struct store *st, const char *workspace_id, const char *type,
                          struct arena *a, struct campaign **rows, size_t *n, struct errinfo *e);
int pg_enrollment_wake(struct store *st, const char *workspace_id, const char *contact_id,
                       int64_t now, int64_t *n, struct errinfo *e);

int pg_enrollment_cancel(struct store *st, const char *workspace_id, const char *contact_id,
                         const char *campaign_id, const char *reason, int64_t now, int64_t *n,
                         struct errinfo *e);

#define PG_CONTACT_OPS                                                                             \
    .contact_create = pg_contact_create, .contact_get = pg_contact_get,                            \
    .contact_update = pg_contact_update, .contact_delete = pg_contact_delete,                      \
    .contact_list = pg_contact_list, .campaign_triggered = pg_campaign_triggered,                  \
    .enrollment_wake = pg_enrollment_wake, .enrollment_cancel = pg_enrollment_cancel

#endif
