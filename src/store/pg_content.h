/*
 * Private to the PostgreSQL backend: the generated-content functions of
 * struct store_ops (contracts in store.h) and their initializer.
 */
#ifndef LEADFLOW_STORE_PG_CONTENT_H
#define LEADFLOW_STORE_PG_CONTENT_H

#include "store/store.h"

int pg_content_insert(struct store *st, const char *workspace_id, struct content *c, int64_t now,
                      struct errinfo *e);
int pg_content_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                   struct content *out, struct errinfo *e);
int pg_content_list(struct store *st, const char *workspace_id, const struct content_query *q,
                    struct arena *a, struct content **rows, size_t *n, int64_t *total,
                    struct errinfo *e);
int pg_content_edit(struct store *st, const char *workspace_id, const char *id, const char *subject,
                    const char *body, const char *call_to_action, int64_t now, struct errinfo *e);
int pg_content_transition(struct store *st, const char *workspace_id, const char *id, unsigned from,
                          enum content_status to, const char *reviewed_by,
                          const char *sent_email_id, int64_t now, struct errinfo *e);

#define PG_CONTENT_OPS                                                                             \
    .content_insert = pg_content_insert, .content_get = pg_content_get,                            \
    .content_list = pg_content_list, .content_edit = pg_content_edit,                              \
    .content_transition = pg_content_transition

#endif
