/*
 * Private to the SQLite backend: the contact functions of struct store_ops
 * (contracts in store.h) and their initializer for the ops table.
 */
#ifndef LEADFLOW_STORE_SQLITE_CONTACTS_H
#define LEADFLOW_STORE_SQLITE_CONTACTS_H

#include "store/sqlite_int.h"

int sq_contact_create(struct store *st, const char *workspace_id, const struct contact_fields *f,
                      int64_t now, struct arena *a, struct contact *out, struct errinfo *e);
int sq_contact_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                   struct contact *out, struct errinfo *e);
int sq_contact_update(struct store *st, const char *workspace_id, const char *id,
                      const struct contact_fields *f, int64_t now, struct arena *a,
                      struct contact *out, struct errinfo *e);
int sq_contact_delete(struct store *st, const char *workspace_id, const char *id,
                      struct errinfo *e);
int sq_contact_list(struct store *st, const char *workspace_id, const struct contact_query *q,
                    struct arena *a, struct contact **rows, size_t *n, int64_t *total,
                    struct errinfo *e);

/* The columns every contact query selects, for reading with sq_contact_row(). */
#define SQ_CONTACT_COLS                                                                            \
    "c.id, c.workspace_id, c.email, COALESCE(c.name,''), COALESCE(c.company,''),"                  \
    " COALESCE(c.job_title,''), c.status, c.tags, c.ai_score, c.score_engagement,"                 \
    " c.score_sentiment, c.score_intent, c.score_role, c.score_status, c.sentiment,"               \
    " COALESCE(c.last_interaction,0), COALESCE(c.unsubscribed_at,0), c.created_at, c.updated_at,"  \
    " c.score_reasons"

enum { SQ_CONTACT_NCOLS = 20 };

/* Reads one row of SQ_CONTACT_COLS into c (strings that vary in size go to a). */
void sq_contact_row(sqlite3_stmt *st, struct arena *a, struct contact *c);

#define SQ_CONTACT_OPS                                                                             \
    .contact_create = sq_contact_create, .contact_get = sq_contact_get,                            \
    .contact_update = sq_contact_update, .contact_delete = sq_contact_delete,                      \
    .contact_list = sq_contact_list

#endif
