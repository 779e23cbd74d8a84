/*
 * PostgreSQL backend: the workspace's counts and data version, read from the
 * rows the triggers of migrations_pg.c keep (workspace_counts,
 * workspace_email_days). Emails themselves are not implemented yet.
 */
#include <string.h>

#include "store/pg_emails.h"
#include "store/pg_int.h"

static const char sql_stats[] = "SELECT contacts, hot, warm, emails, emails_unprocessed,"
                                " (SELECT COALESCE(SUM(emails), 0) FROM workspace_email_days d"
                                "  WHERE d.workspace_id = $1 AND d.day >= $2),"
                                " (SELECT COUNT(*) FROM drip_campaigns p"
                                "  WHERE p.workspace_id = $1),"
                                " (SELECT COUNT(*) FROM drip_campaigns p"
                                "  WHERE p.workspace_id = $1 AND p.status = 'active'),"
                                " (SELECT COUNT(*) FROM generated_content g"
                                "  WHERE g.workspace_id = $1 AND g.status = 'draft')"
                                " FROM workspace_counts WHERE workspace_id = $1";
static const char sql_version[] = "SELECT version FROM workspace_counts WHERE workspace_id = $1";

int pg_workspace_stats(struct store *base, const char *workspace_id, int64_t now,
                       struct workspace_stats *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    /* The last seven days, counted in whole UTC days including today. */
    pg_p_i64(&p, now / 86400000 - 6);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_stats, &p, &r,
                     "reading the workspace's counts", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0) {
        out->contacts = pg_col_i64(r, 0, 0);
        out->hot = pg_col_i64(r, 0, 1);
        out->warm = pg_col_i64(r, 0, 2);
        out->cold = out->contacts - out->hot - out->warm;
        out->emails = pg_col_i64(r, 0, 3);
        out->emails_unprocessed = pg_col_i64(r, 0, 4);
        out->emails_week = pg_col_i64(r, 0, 5);
        out->campaigns = pg_col_i64(r, 0, 6);
        out->campaigns_active = pg_col_i64(r, 0, 7);
        out->drafts_pending = pg_col_i64(r, 0, 8);
    }
    PQclear(r);
    return 0;
}

int pg_workspace_version(struct store *base, const char *workspace_id, int64_t *version,
                         struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_version, &p, &r,
                     "reading the workspace's version", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        *version = pg_col_i64(r, 0, 0);
    else
        rc = failf(e, ERR_NOT_FOUND, "workspace not found");
    PQclear(r);
    return rc;
}
