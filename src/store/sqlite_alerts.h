/*
 * Private to the SQLite backend: the alert functions of struct store_ops
 * (contracts in store.h: rules and their version, alerts with their dedup
 * windows, delivery attempts, per-workspace statistics) and their
 * initializer for the ops table.
 */
#ifndef LEADFLOW_STORE_SQLITE_ALERTS_H
#define LEADFLOW_STORE_SQLITE_ALERTS_H

#include "store/sqlite_int.h"

int sq_alert_rule_create(struct store *st, const char *workspace_id,
                         const struct alert_rule_fields *f, int64_t now, struct arena *a,
                         struct alert_rule *out, struct errinfo *e);
int sq_alert_rule_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                      struct alert_rule *out, struct errinfo *e);
int sq_alert_rule_list(struct store *st, const char *workspace_id, bool enabled_only,
                       struct arena *a, struct alert_rule **rows, size_t *n, struct errinfo *e);
int sq_alert_rule_update(struct store *st, const char *workspace_id, const char *id,
                         const struct alert_rule_fields *f, int64_t now, struct errinfo *e);
int sq_alert_rule_delete(struct store *st, const char *workspace_id, const char *id,
                         struct errinfo *e);
int sq_alert_rules_version(struct store *st, const char *workspace_id, int64_t *version,
                           struct errinfo *e);
int sq_alert_open(struct store *st, const char *workspace_id, const struct alert_new *in,
                  int64_t now, int64_t window_ms, bool *opened, char alert_id[STORE_ID_LEN],
                  struct errinfo *e);
int sq_alert_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                 struct alert_row *out, struct errinfo *e);
int sq_alert_list(struct store *st, const char *workspace_id, const char *status, int limit,
                  int offset, struct arena *a, struct alert_row **rows, size_t *n, int64_t *total,
                  struct errinfo *e);
int sq_alert_transition(struct store *st, const char *workspace_id, const char *id,
                        const char *from, const char *to, const char *user_id, int64_t now,
                        struct errinfo *e);
int sq_alert_delivery_add(struct store *st, const char *workspace_id,
                          const struct alert_delivery *d, struct errinfo *e);
int sq_alert_delivery_list(struct store *st, const char *workspace_id, const char *alert_id,
                           struct arena *a, struct alert_delivery **rows, size_t *n,
                           struct errinfo *e);
int sq_alert_stats(struct store *st, const char *workspace_id, int64_t since,
                   struct alert_stats *out, struct errinfo *e);

#define SQ_ALERT_OPS                                                                               \
    .alert_rule_create = sq_alert_rule_create, .alert_rule_get = sq_alert_rule_get,                \
    .alert_rule_list = sq_alert_rule_list, .alert_rule_update = sq_alert_rule_update,              \
    .alert_rule_delete = sq_alert_rule_delete, .alert_rules_version = sq_alert_rules_version,      \
    .alert_open = sq_alert_open, .alert_get = sq_alert_get, .alert_list = sq_alert_list,           \
    .alert_transition = sq_alert_transition, .alert_delivery_add = sq_alert_delivery_add,          \
    .alert_delivery_list = sq_alert_delivery_list, .alert_stats = sq_alert_stats

#endif
