/*
 * Private to the PostgreSQL backend: the connected-mailbox functions of
 * struct store_ops (contracts in store.h) and their initializer.
 */
#ifndef LEADFLOW_STORE_PG_INTEGRATIONS_H
#define LEADFLOW_STORE_PG_INTEGRATIONS_H

#include "store/store.h"

int pg_integration_put(struct store *st, const char *workspace_id, struct integration *in,
                       int64_t now, struct errinfo *e);
int pg_integration_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                       struct integration *out, struct errinfo *e);
int pg_integration_list(struct store *st, const char *workspace_id, const char *provider,
                        struct arena *a, struct integration **rows, size_t *n, struct errinfo *e);

#define PG_INTEGRATION_OPS                                                                         \
    .integration_put = pg_integration_put, .integration_get = pg_integration_get,                  \
    .integration_list = pg_integration_list

#endif
