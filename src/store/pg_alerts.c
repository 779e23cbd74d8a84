/*
 * PostgreSQL backend: alert rules (the trigger of migration 11 bumps
 * alert_rule_versions on every write, so processes see a change by reading
 * one row), alerts and their dedup windows, delivery attempts and the
 * statistics of GET /api/alerts/metrics. Semantics follow sqlite_alerts.c.
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/pg_alerts.h"
#include "store/pg_int.h"

/* ---- rules --------------------------------------------------------------------------- */

#define RULE_COLS "id, name, trigger, threshold, channels::text, enabled, created_at, updated_at"

static void read_rule(const PGresult *r, int i, struct arena *a, struct alert_rule *o)
{
    memset(o, 0, sizeof(*o));
    pg_col_copy(r, i, 0, o->id, sizeof(o->id));
    pg_col_copy(r, i, 1, o->name, sizeof(o->name));
    pg_col_copy(r, i, 2, o->trigger, sizeof(o->trigger));
    o->has_threshold = !pg_col_null(r, i, 3);
    o->threshold = pg_col_dbl(r, i, 3);
    o->channels = pg_col_dup(r, i, 4, a);
    o->enabled = pg_col_bool(r, i, 5);
    o->created_at = pg_col_i64(r, i, 6);
    o->updated_at = pg_col_i64(r, i, 7);
}

/* Reads the one row of a statement that names a rule: ERR_NOT_FOUND when none. */
static int rule_result(struct pg_store *s, const char *workspace_id, const char *sql,
                       const struct pg_params *p, struct arena *a, struct alert_rule *out,
                       const char *what, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    PGresult *r;
    int rc = pg_once(s, workspace_id, sql, p, &r, what, e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        read_rule(r, 0, a, out);
    else
        rc = failf(e, ERR_NOT_FOUND, "alert rule not found");
    PQclear(r);
    return rc;
}

static const char sql_rule_insert[] =
    "INSERT INTO alert_rules (id, workspace_id, name, trigger, threshold, channels, enabled,"
    " created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5::float8, COALESCE($6::jsonb, '[]'), $7::boolean, $8, $8)"
    " RETURNING " RULE_COLS;

int pg_alert_rule_create(struct store *base, const char *workspace_id,
                         const struct alert_rule_fields *f, int64_t now, struct arena *a,
                         struct alert_rule *out, struct errinfo *e)
{
    char id[STORE_ID_LEN];
    crypto_uuid(id);
    struct pg_params p = {0};
    pg_p_str(&p, id);
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, f->name);
    pg_p_str(&p, f->trigger);
    if (f->has_threshold)
        pg_p_dbl(&p, f->threshold);
    else
        pg_p_str(&p, NULL);
    pg_p_str(&p, f->channels);
    pg_p_bool(&p, (f->set & ARF_ENABLED) ? f->enabled : true);
    pg_p_i64(&p, now);
    return rule_result((struct pg_store *)base, workspace_id, sql_rule_insert, &p, a, out,
                       "creating an alert rule", e);
}

static const char sql_rule_get[] =
    "SELECT " RULE_COLS " FROM alert_rules WHERE workspace_id = $1 AND id = $2";

int pg_alert_rule_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                      struct alert_rule *out, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    return rule_result((struct pg_store *)base, workspace_id, sql_rule_get, &p, a, out,
                       "reading an alert rule", e);
}

static const char sql_rule_list[] = "SELECT " RULE_COLS " FROM alert_rules WHERE workspace_id = $1"
                                    " AND (NOT $2::boolean OR enabled) ORDER BY created_at, id";

int pg_alert_rule_list(struct store *base, const char *workspace_id, bool enabled_only,
                       struct arena *a, struct alert_rule **rows, size_t *n, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_bool(&p, enabled_only);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_rule_list, &p, &r,
                     "listing alert rules", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++)
        read_rule(r, i, a, &(*rows)[i]);
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

static const char sql_rule_update[] =
    "UPDATE alert_rules SET name = CASE WHEN $3::boolean THEN $4::text ELSE name END,"
    " trigger = CASE WHEN $5::boolean THEN $6::text ELSE trigger END,"
    " threshold = CASE WHEN $7::boolean THEN $8::float8 ELSE threshold END,"
    " channels = CASE WHEN $9::boolean THEN $10::jsonb ELSE channels END,"
    " enabled = CASE WHEN $11::boolean THEN $12::boolean ELSE enabled END,"
    " updated_at = $13::bigint WHERE workspace_id = $1 AND id = $2";

int pg_alert_rule_update(struct store *base, const char *workspace_id, const char *id,
                         const struct alert_rule_fields *f, int64_t now, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    pg_p_bool(&p, (f->set & ARF_NAME) != 0);
    pg_p_str(&p, f->name);
    pg_p_bool(&p, (f->set & ARF_TRIGGER) != 0);
    pg_p_str(&p, f->trigger);
    pg_p_bool(&p, (f->set & ARF_THRESHOLD) != 0);
    if (f->has_threshold)
        pg_p_dbl(&p, f->threshold);
    else
        pg_p_str(&p, NULL);
    pg_p_bool(&p, (f->set & ARF_CHANNELS) != 0);
    pg_p_str(&p, f->channels ? f->channels : "[]");
    pg_p_bool(&p, (f->set & ARF_ENABLED) != 0);
    pg_p_bool(&p, f->enabled);
    pg_p_i64(&p, now);
    int64_t rows = 0;
    int rc = pg_once_run((struct pg_store *)base, workspace_id, sql_rule_update, &p, &rows,
                         "changing an alert rule", e);
    if (!rc && rows == 0)
        rc = failf(e, ERR_NOT_FOUND, "alert rule not found");
    return rc;
}

static const char sql_rule_delete[] = "DELETE FROM alert_rules WHERE workspace_id = $1 AND id = $2";

int pg_alert_rule_delete(struct store *base, const char *workspace_id, const char *id,
                         struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    int64_t rows = 0;
    int rc = pg_once_run((struct pg_store *)base, workspace_id, sql_rule_delete, &p, &rows,
                         "deleting an alert rule", e);
    if (!rc && rows == 0)
        rc = failf(e, ERR_NOT_FOUND, "alert rule not found");
    return rc;
}

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

/* ---- alerts ---------------------------------------------------------------------------- */

/*
 * The dedup window is one row per (workspace, key). An event at or after the
 * open window's end (or the first one) starts a new window owned by our alert
 * ($5), and ins stores the alert; within the window the row is left alone
 * and w returns nothing. Either way ON CONFLICT ... DO UPDATE locks the row,
 * so concurrent events on one key take turns and each sees the row the one
 * before it left: exactly one of them opens a window. (Leaving the row alone
 * rather than rewriting it matters in a long batch: each rewrite of a row in
 * one transaction makes the next lookup of it walk one version more.)
 */
static const char sql_open[] =
    "WITH w AS (INSERT INTO alert_windows AS aw"
    " (workspace_id, dedup_key, window_start, window_end, alert_id)"
    " VALUES ($1, $2, $3::bigint, $3::bigint + $4::bigint, $5)"
    " ON CONFLICT (workspace_id, dedup_key) DO UPDATE SET"
    " window_start = excluded.window_start, window_end = excluded.window_end,"
    " alert_id = excluded.alert_id WHERE excluded.window_start >= aw.window_end"
    " RETURNING alert_id),"
    " ins AS (INSERT INTO alerts (id, workspace_id, rule_id, rule_name, trigger, dedup_key,"
    " window_start, subject, title, body, data, severity, latency_us, created_at)"
    " SELECT $5::text, $1::text,"
    " (SELECT id FROM alert_rules WHERE workspace_id = $1 AND id = $6::text), $7::text,"
    " $8::text, $2::text, $3::bigint, $9::text, $10::text, $11::text,"
    " COALESCE($12::jsonb, '{}'), $13::text, $14::bigint, $3::bigint"
    " FROM w WHERE w.alert_id = $5 RETURNING id)"
    " SELECT COUNT(*) FROM ins";

/*
 * Within the window: the owner counts one more suppressed event. A statement
 * of its own, so its snapshot is taken once we hold the window's lock: it
 * sees the window as the last writer left it, and that writer's alert.
 */
static const char sql_suppress[] =
    "WITH o AS (SELECT alert_id FROM alert_windows WHERE workspace_id = $1 AND dedup_key = $2),"
    " u AS (UPDATE alerts a SET suppressed = a.suppressed + 1 FROM o"
    " WHERE a.workspace_id = $1 AND a.id = o.alert_id)"
    " SELECT alert_id FROM o";

int pg_alert_open(struct store *base, const char *workspace_id, const struct alert_new *in,
                  int64_t now, int64_t window_ms, bool *opened, char alert_id[STORE_ID_LEN],
                  struct errinfo *e)
{
    *opened = false;
    alert_id[0] = '\0';
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, in->dedup_key);
    pg_p_i64(&p, now);
    pg_p_i64(&p, window_ms);
    pg_p_str(&p, in->id);
    pg_p_str(&p, in->rule_id);
    pg_p_str(&p, in->rule_name);
    pg_p_str(&p, in->trigger);
    pg_p_str(&p, in->subject);
    pg_p_str(&p, in->title);
    pg_p_str(&p, in->body);
    pg_p_str(&p, in->data);
    pg_p_str(&p, in->severity);
    pg_p_i64(&p, in->latency_us);
    PGresult *r;
    if ((rc = pg_exec(&x, sql_open, &p, &r, "storing an alert", e)))
        return pg_leave(&x, rc, e);
    *opened = pg_col_i64(r, 0, 0) > 0;
    PQclear(r);
    if (*opened) {
        snprintf(alert_id, STORE_ID_LEN, "%s", in->id);
        return pg_leave(&x, 0, e);
    }
    struct pg_params q = {0};
    pg_p_str(&q, workspace_id);
    pg_p_str(&q, in->dedup_key);
    if (!(rc = pg_exec(&x, sql_suppress, &q, &r, "counting a suppressed alert", e))) {
        if (PQntuples(r) > 0)
            pg_col_copy(r, 0, 0, alert_id, STORE_ID_LEN);
        PQclear(r);
    }
    return pg_leave(&x, rc, e);
}

#define ALERT_COLS                                                                                 \
    "id, COALESCE(rule_id, ''), rule_name, trigger, dedup_key, subject, title, body, data::text,"  \
    " severity, status, suppressed, window_start, created_at, COALESCE(acked_at, 0),"              \
    " COALESCE(resolved_at, 0), COALESCE(acked_by, ''), COALESCE(resolved_by, '')"

static void read_alert(const PGresult *r, int i, struct arena *a, struct alert_row *o)
{
    memset(o, 0, sizeof(*o));
    pg_col_copy(r, i, 0, o->id, sizeof(o->id));
    pg_col_copy(r, i, 1, o->rule_id, sizeof(o->rule_id));
    o->rule_name = pg_col_dup(r, i, 2, a);
    o->trigger = pg_col_dup(r, i, 3, a);
    o->dedup_key = pg_col_dup(r, i, 4, a);
    o->subject = pg_col_dup(r, i, 5, a);
    o->title = pg_col_dup(r, i, 6, a);
    o->body = pg_col_dup(r, i, 7, a);
    o->data = pg_col_dup(r, i, 8, a);
    pg_col_copy(r, i, 9, o->severity, sizeof(o->severity));
    pg_col_copy(r, i, 10, o->status, sizeof(o->status));
    o->suppressed = pg_col_i64(r, i, 11);
    o->window_start = pg_col_i64(r, i, 12);
    o->created_at = pg_col_i64(r, i, 13);
    o->acked_at = pg_col_i64(r, i, 14);
    o->resolved_at = pg_col_i64(r, i, 15);
    pg_col_copy(r, i, 16, o->acked_by, sizeof(o->acked_by));
    pg_col_copy(r, i, 17, o->resolved_by, sizeof(o->resolved_by));
}

static const char sql_alert_get[] =
    "SELECT " ALERT_COLS " FROM alerts WHERE workspace_id = $1 AND id = $2";

int pg_alert_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                 struct alert_row *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_alert_get, &p, &r,
                     "reading an alert", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        read_alert(r, 0, a, out);
    else
        rc = failf(e, ERR_NOT_FOUND, "alert not found");
    PQclear(r);
    return rc;
}

/* As SQLite's: a page past the end reports a total of 0. */
static const char sql_alert_list[] =
    "SELECT " ALERT_COLS ", COUNT(*) OVER () FROM alerts WHERE workspace_id = $1"
    " AND ($2::text IS NULL OR status = $2) ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4";

int pg_alert_list(struct store *base, const char *workspace_id, const char *status, int limit,
                  int offset, struct arena *a, struct alert_row **rows, size_t *n, int64_t *total,
                  struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, status);
    pg_p_i64(&p, limit);
    pg_p_i64(&p, offset);
    PGresult *r;
    int rc =
        pg_once((struct pg_store *)base, workspace_id, sql_alert_list, &p, &r, "listing alerts", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++) {
        read_alert(r, i, a, &(*rows)[i]);
        *total = pg_col_i64(r, i, 18);
    }
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

static const char sql_alert_transition[] =
    "UPDATE alerts SET status = $4::text,"
    " acked_at = CASE WHEN $4::text = 'acked' THEN $6::bigint ELSE acked_at END,"
    " acked_by = CASE WHEN $4::text = 'acked' THEN"
    "   (SELECT id FROM user_profiles WHERE id = $5) ELSE acked_by END,"
    " resolved_at = CASE WHEN $4::text = 'resolved' THEN $6::bigint ELSE resolved_at END,"
    " resolved_by = CASE WHEN $4::text = 'resolved' THEN"
    "   (SELECT id FROM user_profiles WHERE id = $5) ELSE resolved_by END"
    " WHERE workspace_id = $1 AND id = $2 AND status = ANY (string_to_array($3::text, ','))";
static const char sql_alert_status[] =
    "SELECT status FROM alerts WHERE workspace_id = $1 AND id = $2";

int pg_alert_transition(struct store *base, const char *workspace_id, const char *id,
                        const char *from, const char *to, const char *user_id, int64_t now,
                        struct errinfo *e)
{
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    pg_p_str(&p, from);
    pg_p_str(&p, to);
    pg_p_str(&p, user_id);
    pg_p_i64(&p, now);
    int64_t rows = 0;
    if ((rc = pg_run(&x, sql_alert_transition, &p, &rows, "changing an alert", e)) || rows > 0)
        return pg_leave(&x, rc, e);
    struct pg_params q = {0};
    pg_p_str(&q, workspace_id);
    pg_p_str(&q, id);
    PGresult *r;
    if (!(rc = pg_exec(&x, sql_alert_status, &q, &r, "reading an alert", e))) {
        if (PQntuples(r) > 0)
            rc = failf(e, ERR_CONFLICT, "the alert is already %s", PQgetvalue(r, 0, 0));
        else
            rc = failf(e, ERR_NOT_FOUND, "alert not found");
        PQclear(r);
    }
    return pg_leave(&x, rc, e);
}

/* Only for an alert of the workspace: another id stores nothing, as in SQLite. */
static const char sql_delivery_add[] =
    "INSERT INTO alert_deliveries (workspace_id, alert_id, channel, target, attempt, status, error,"
    " response_code, latency_ms, at)"
    " SELECT $1, id, $3::text, $4::text, $5::int, $6::text, $7::text, $8::int, $9::bigint,"
    " $10::bigint FROM alerts WHERE workspace_id = $1 AND id = $2";

int pg_alert_delivery_add(struct store *base, const char *workspace_id,
                          const struct alert_delivery *d, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, d->alert_id);
    pg_p_str(&p, d->channel);
    pg_p_str(&p, d->target);
    pg_p_i64(&p, d->attempt);
    pg_p_str(&p, d->status);
    pg_p_str(&p, d->error);
    if (d->response_code)
        pg_p_i64(&p, d->response_code);
    else
        pg_p_str(&p, NULL);
    if (d->latency_ms >= 0)
        pg_p_i64(&p, d->latency_ms);
    else
        pg_p_str(&p, NULL);
    pg_p_i64(&p, d->at);
    return pg_once_run((struct pg_store *)base, workspace_id, sql_delivery_add, &p, NULL,
                       "recording an alert delivery", e);
}

static const char sql_delivery_list[] =
    "SELECT id, alert_id, channel, target, attempt, status, error, COALESCE(response_code, 0),"
    " COALESCE(latency_ms, -1), at FROM alert_deliveries WHERE workspace_id = $1 AND alert_id = $2"
    " ORDER BY id";

int pg_alert_delivery_list(struct store *base, const char *workspace_id, const char *alert_id,
                           struct arena *a, struct alert_delivery **rows, size_t *n,
                           struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, alert_id);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_delivery_list, &p, &r,
                     "listing alert deliveries", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++) {
        struct alert_delivery *d = &(*rows)[i];
        memset(d, 0, sizeof(*d));
        d->id = pg_col_i64(r, i, 0);
        pg_col_copy(r, i, 1, d->alert_id, sizeof(d->alert_id));
        pg_col_copy(r, i, 2, d->channel, sizeof(d->channel));
        d->target = pg_col_opt(r, i, 3, a);
        d->attempt = (int)pg_col_i64(r, i, 4);
        pg_col_copy(r, i, 5, d->status, sizeof(d->status));
        d->error = pg_col_opt(r, i, 6, a);
        d->response_code = (int)pg_col_i64(r, i, 7);
        d->latency_ms = pg_col_i64(r, i, 8);
        d->at = pg_col_i64(r, i, 9);
    }
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

static const char sql_stats_alerts[] =
    "SELECT COUNT(*), COALESCE(SUM(suppressed), 0), COUNT(*) FILTER (WHERE status = 'open'),"
    " COUNT(*) FILTER (WHERE status = 'acked'), COUNT(*) FILTER (WHERE status = 'resolved')"
    " FROM alerts WHERE workspace_id = $1 AND created_at >= $2";
static const char sql_stats_deliveries[] =
    "SELECT channel, COUNT(*) FILTER (WHERE status = 'delivered'),"
    " COUNT(*) FILTER (WHERE status <> 'delivered'), COUNT(*),"
    " COUNT(*) FILTER (WHERE latency_ms <= 100), COUNT(*) FILTER (WHERE latency_ms <= 250),"
    " COUNT(*) FILTER (WHERE latency_ms <= 500), COUNT(*) FILTER (WHERE latency_ms <= 1000),"
    " COUNT(*) FILTER (WHERE latency_ms <= 2500), COUNT(*) FILTER (WHERE latency_ms <= 5000),"
    " COUNT(*) FILTER (WHERE latency_ms <= 10000), COUNT(*) FILTER (WHERE latency_ms <= 30000),"
    " COUNT(latency_ms)"
    " FROM alert_deliveries WHERE workspace_id = $1 AND at >= $2 GROUP BY channel";
static const char sql_stats_p95[] =
    "SELECT latency_ms FROM alert_deliveries WHERE workspace_id = $1 AND at >= $2"
    " AND latency_ms IS NOT NULL ORDER BY latency_ms LIMIT 1 OFFSET $3";

int pg_alert_stats(struct store *base, const char *workspace_id, int64_t since,
                   struct alert_stats *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    out->latency_p95_ms = -1;
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_i64(&p, since);
    PGresult *r;
    if ((rc = pg_exec(&x, sql_stats_alerts, &p, &r, "counting alerts", e)))
        return pg_leave(&x, rc, e);
    out->alerts = pg_col_i64(r, 0, 0);
    out->suppressed = pg_col_i64(r, 0, 1);
    out->open = pg_col_i64(r, 0, 2);
    out->acked = pg_col_i64(r, 0, 3);
    out->resolved = pg_col_i64(r, 0, 4);
    PQclear(r);
    if ((rc = pg_exec(&x, sql_stats_deliveries, &p, &r, "counting alert deliveries", e)))
        return pg_leave(&x, rc, e);
    for (int i = 0; i < PQntuples(r); i++) {
        if (out->nchannels < ALERT_STATS_CHANNELS) {
            struct alert_channel_stats *ch = &out->channels[out->nchannels++];
            pg_col_copy(r, i, 0, ch->channel, sizeof(ch->channel));
            ch->delivered = pg_col_i64(r, i, 1);
            ch->failed = pg_col_i64(r, i, 2);
        }
        out->attempts += pg_col_i64(r, i, 3);
        for (int b = 0; b < ALERT_LATENCY_BUCKETS; b++)
            out->latency_buckets[b] += pg_col_i64(r, i, 4 + b);
        out->latency_count += pg_col_i64(r, i, 12);
    }
    out->latency_buckets[ALERT_LATENCY_BUCKETS] = out->latency_count;
    PQclear(r);
    if (out->latency_count == 0)
        return pg_leave(&x, 0, e);
    /* The nearest-rank 95th percentile. */
    int64_t rank = (out->latency_count * 95 + 99) / 100;
    struct pg_params q = p;
    pg_p_i64(&q, rank - 1);
    if (!(rc = pg_exec(&x, sql_stats_p95, &q, &r, "reading the alert latency", e))) {
        if (PQntuples(r) > 0)
            out->latency_p95_ms = pg_col_i64(r, 0, 0);
        PQclear(r);
    }
    return pg_leave(&x, rc, e);
}
