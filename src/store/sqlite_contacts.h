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

#define SQ_CONTACT_OPS                                                                             \
    .contact_create = sq_contact_create, .contact_get = sq_contact_get,                            \
    .contact_update = sq_contact_update, .contact_delete = sq_contact_delete,                      \
    .contact_list = sq_contact_list

#endif
