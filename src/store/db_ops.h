/*
 * Private to src/store: the ops both backends share, written once over the
 * cursor (store/db.h) in src/store/<aggregate>.c, and the initializers that
 * put them in both tables of struct store_ops (contracts in store.h).
 */
#ifndef LEADFLOW_STORE_DB_OPS_H
#define LEADFLOW_STORE_DB_OPS_H

#include "store/store.h"

/* integrations.c */
int db_integration_put(struct store *st, const char *workspace_id, struct integration *in,
                       int64_t now, struct errinfo *e);
int db_integration_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                       struct integration *out, struct errinfo *e);
int db_integration_list(struct store *st, const char *workspace_id, const char *provider,
                        struct arena *a, struct integration **rows, size_t *n, struct errinfo *e);

#define DB_INTEGRATION_OPS                                                                         \
    .integration_put = db_integration_put, .integration_get = db_integration_get,                  \
    .integration_list = db_integration_list

#endif
