/*
 * Private to the SQLite backend: the generated-content functions of struct
 * store_ops (contracts in store.h) and their initializer for the ops table.
 */
#ifndef LEADFLOW_STORE_SQLITE_CONTENT_H
#define LEADFLOW_STORE_SQLITE_CONTENT_H

#include "store/sqlite_int.h"

int sq_content_insert(struct store *st, const char *workspace_id, struct content *c, int64_t now,
                      struct errinfo *e);
int sq_content_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                   struct content *out, struct errinfo *e);
int sq_content_list(struct store *st, const char *workspace_id, const struct content_query *q,
                    struct arena *a, struct content **rows, size_t *n, int64_t *total,
                    struct errinfo *e);
int sq_content_edit(struct store *st, const char *workspace_id, const char *id, const char *subject,
                    const char *body, const char *call_to_action, int64_t now, struct errinfo *e);
int sq_content_transition(struct store *st, const char *workspace_id, const char *id, unsigned from,
                          enum content_status to, const char *reviewed_by,
                          const char *sent_email_id, int64_t now, struct errinfo *e);
int sq_content_hot_crossing(struct store *st, const char *workspace_id, const char *contact_id,
                            int min_score, int64_t *history_id, struct errinfo *e);

#define SQ_CONTENT_OPS                                                                             \
    .content_insert = sq_content_insert, .content_get = sq_content_get,                            \
    .content_list = sq_content_list, .content_edit = sq_content_edit,                              \
    .content_transition = sq_content_transition, .content_hot_crossing = sq_content_hot_crossing

#endif
