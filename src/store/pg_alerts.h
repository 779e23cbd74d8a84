/*
 * Private to the PostgreSQL backend: the alert functions of struct store_ops
 * implemented so far (contracts in store.h), and their initializer.
 */
#ifndef LEADFLOW_STORE_PG_ALERTS_H
#define LEADFLOW_STORE_PG_ALERTS_H

#include "store/store.h"

int pg_alert_rules_version(struct store *st, const char *workspace_id, int64_t *version,
                           struct errinfo *e);

#define PG_ALERT_OPS .alert_rules_version = pg_alert_rules_version

#endif
