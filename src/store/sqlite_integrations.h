/*
 * Private to the SQLite backend: the connected-mailbox functions of struct
 * store_ops (contracts in store.h) and their initializer for the ops table.
 */
#ifndef LEADFLOW_STORE_SQLITE_INTEGRATIONS_H
#define LEADFLOW_STORE_SQLITE_INTEGRATIONS_H

#include "store/sqlite_int.h"

int sq_integration_put(struct store *st, const char *workspace_id, struct integration *in,
                       int64_t now, struct errinfo *e);
int sq_integration_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                       struct integration *out, struct errinfo *e);
int sq_integration_list(struct store *st, const char *workspace_id, const char *provider,
                        struct arena *a, struct integration **rows, size_t *n, struct errinfo *e);

#define SQ_INTEGRATION_OPS                                                                         \
    .integration_put = sq_integration_put, .integration_get = sq_integration_get,                  \
    .integration_list = sq_integration_list

#endif
