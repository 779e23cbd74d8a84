/*
 * PostgreSQL backend: alerts (migration 11). So far only the version of a
 * workspace's rules, which every email and score change reads (alerts.c
 * caches the rules by it); the rules themselves are not implemented yet.
 */
#include "store/pg_alerts.h"
#include "store/pg_int.h"

static const char sql_rules_version[] =
    "SELECT version FROM alert_rule_versions WHERE workspace_id = $1";

int pg_alert_rules_version(struct store *base, const char *workspace_id, int64_t *version,
                           struct errinfo *e)
{
    *version = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_rules_version, &p, &r,
                     "reading the alert rules' version", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        *version = pg_col_i64(r, 0, 0);
    PQclear(r);
    return 0;
}
