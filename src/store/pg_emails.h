/*
 * Private to the PostgreSQL backend: the email-area functions of struct
 * store_ops implemented so far (contracts in store.h), and their initializer.
 */
#ifndef LEADFLOW_STORE_PG_EMAILS_H
#define LEADFLOW_STORE_PG_EMAILS_H

#include "store/store.h"

int pg_workspace_stats(struct store *st, const char *workspace_id, int64_t now,
                       struct workspace_stats *out, struct errinfo *e);
int pg_workspace_version(struct store *st, const char *workspace_id, int64_t *version,
                         struct errinfo *e);

#define PG_EMAIL_OPS                                                                               \
    .workspace_stats = pg_workspace_stats, .workspace_version = pg_workspace_version

#endif
