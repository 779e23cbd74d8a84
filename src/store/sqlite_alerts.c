/*
 * SQLite backend: alert rules (a trigger bumps alert_rule_versions on
 * every write, so processes see a change by reading one row), alerts and
 * their dedup windows, delivery attempts and the statistics of
 * GET /api/alerts/metrics.
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/sqlite_alerts.h"

/* ---- rules --------------------------------------------------------------------------- */

#define RULE_COLS "id, name, trigger, threshold, channels, enabled, created_at, updated_at"

static void read_rule(sqlite3_stmt *st, struct arena *a, void *row)
{
    struct alert_rule *r = row;
    sq_col_copy(st, 0, r->id, sizeof(r->id));
    sq_col_copy(st, 1, r->name, sizeof(r->name));
    sq_col_copy(st, 2, r->trigger, sizeof(r->trigger));
    r->has_threshold = sqlite3_column_type(st, 3) != SQLITE_NULL;
    r->threshold = r->has_threshold ? sqlite3_column_double(st, 3) : 0;
    r->channels = sq_col_dup(st, 4, a);
    r->enabled = sqlite3_column_int(st, 5) != 0;
    r->created_at = sqlite3_column_int64(st, 6);
    r->updated_at = sqlite3_column_int64(st, 7);
}

static const char sql_rule_insert[] =
    "INSERT INTO alert_rules (id, workspace_id, name, trigger, threshold, channels, enabled,"
    " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, COALESCE(?6, '[]'), ?7, ?8, ?8)";

int sq_alert_rule_create(struct store *base, const char *workspace_id,
                         const struct alert_rule_fields *f, int64_t now, struct arena *a,
                         struct alert_rule *out, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    char id[STORE_ID_LEN];
    crypto_uuid(id);
    int rc = sq_stmt((struct sq_store *)base, sql_rule_insert, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, id);
    sq_bind_str(st, 2, workspace_id);
    sq_bind_str(st, 3, f->name);
    sq_bind_str(st, 4, f->trigger);
    if (f->has_threshold)
        sqlite3_bind_double(st, 5, f->threshold);
    else
        sqlite3_bind_null(st, 5);
    sq_bind_str(st, 6, f->channels);
    sqlite3_bind_int(st, 7, (f->set & ARF_ENABLED) ? f->enabled : 1);
    sqlite3_bind_int64(st, 8, now);
    rc = sq_run(st, c, "creating an alert rule", e);
    return rc ? rc : sq_alert_rule_get(base, workspace_id, id, a, out, e);
}

static const char sql_rule_get[] =
    "SELECT " RULE_COLS " FROM alert_rules WHERE workspace_id = ?1 AND id = ?2";

int sq_alert_rule_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                      struct alert_rule *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    return sq_get_by_id((struct sq_store *)base, sql_rule_get, workspace_id, id, read_rule, a, out,
                        "reading an alert rule", "alert rule", e);
}

static const char sql_rule_list[] = "SELECT " RULE_COLS " FROM alert_rules WHERE workspace_id = ?1"
                                    " AND (?2 = 0 OR enabled = 1) ORDER BY created_at, id";

int sq_alert_rule_list(struct store *base, const char *workspace_id, bool enabled_only,
                       struct arena *a, struct alert_rule **rows, size_t *n, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt((struct sq_store *)base, sql_rule_list, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sqlite3_bind_int(st, 2, enabled_only);
    return sq_read_all(st, c, read_rule, a, (void **)rows, sizeof(**rows), n, 0, NULL,
                       "listing alert rules", e);
}

static const char sql_rule_update[] =
    "UPDATE alert_rules SET name = CASE WHEN ?3 THEN ?4 ELSE name END,"
    " trigger = CASE WHEN ?5 THEN ?6 ELSE trigger END,"
    " threshold = CASE WHEN ?7 THEN ?8 ELSE threshold END,"
    " channels = CASE WHEN ?9 THEN ?10 ELSE channels END,"
    " enabled = CASE WHEN ?11 THEN ?12 ELSE enabled END, updated_at = ?13"
    " WHERE workspace_id = ?1 AND id = ?2";

int sq_alert_rule_update(struct store *base, const char *workspace_id, const char *id,
                         const struct alert_rule_fields *f, int64_t now, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt((struct sq_store *)base, sql_rule_update, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    sqlite3_bind_int(st, 3, (f->set & ARF_NAME) != 0);
    sq_bind_str(st, 4, f->name);
    sqlite3_bind_int(st, 5, (f->set & ARF_TRIGGER) != 0);
    sq_bind_str(st, 6, f->trigger);
    sqlite3_bind_int(st, 7, (f->set & ARF_THRESHOLD) != 0);
    if (f->has_threshold)
        sqlite3_bind_double(st, 8, f->threshold);
    else
        sqlite3_bind_null(st, 8);
    sqlite3_bind_int(st, 9, (f->set & ARF_CHANNELS) != 0);
    sq_bind_str(st, 10, f->channels ? f->channels : "[]");
    sqlite3_bind_int(st, 11, (f->set & ARF_ENABLED) != 0);
    sqlite3_bind_int(st, 12, f->enabled);
    sqlite3_bind_int64(st, 13, now);
    return sq_run_one(st, c, "changing an alert rule", "alert rule", e);
}

static const char sql_rule_delete[] = "DELETE FROM alert_rules WHERE workspace_id = ?1 AND id = ?2";

int sq_alert_rule_delete(struct store *base, const char *workspace_id, const char *id,
                         struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt((struct sq_store *)base, sql_rule_delete, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    return sq_run_one(st, c, "deleting an alert rule", "alert rule", e);
}

static const char sql_rules_version[] =
    "SELECT version FROM alert_rule_versions WHERE workspace_id = ?1";

int sq_alert_rules_version(struct store *base, const char *workspace_id, int64_t *version,
                           struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *version = 0;
    int rc = sq_stmt((struct sq_store *)base, sql_rules_version, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *version = sqlite3_column_int64(st, 0);
    else if (src != SQLITE_DONE)
        rc = sq_fail(e, c->db, src, "reading the alert rules' version");
    sq_done(st);
    return rc;
}

/* ---- alerts ---------------------------------------------------------------------------- */

/*
 * The dedup window: one row per (workspace, key). A new window starts when
 * the event is at or after the open one's end; otherwise the row is left
 * as it is. Every SET expression sees the row as it was, so the three
 * columns move together. RETURNING tells which alert owns the window now:
 * ours (?5) when we opened it.
 */
static const char sql_window[] =
    "INSERT INTO alert_windows (workspace_id, dedup_key, window_start, window_end, alert_id)"
    " VALUES (?1, ?2, ?3, ?3 + ?4, ?5)"
    " ON CONFLICT (workspace_id, dedup_key) DO UPDATE SET"
    " window_start = CASE WHEN excluded.window_start >= window_end"
    "   THEN excluded.window_start ELSE window_start END,"
    " window_end = CASE WHEN excluded.window_start >= window_end"
    "   THEN excluded.window_end ELSE window_end END,"
    " alert_id = CASE WHEN excluded.window_start >= window_end"
    "   THEN excluded.alert_id ELSE alert_id END"
    " RETURNING alert_id";

static const char sql_alert_insert[] =
    "INSERT INTO alerts (id, workspace_id, rule_id, rule_name, trigger, dedup_key, window_start,"
    " subject, title, body, data, severity, latency_us, created_at)"
    " VALUES (?1, ?2, (SELECT id FROM alert_rules WHERE workspace_id = ?2 AND id = ?3), ?4, ?5,"
    " ?6, ?7, ?8, ?9, ?10, COALESCE(?11, '{}'), ?12, ?13, ?7)";

static const char sql_alert_suppress[] =
    "UPDATE alerts SET suppressed = suppressed + 1 WHERE workspace_id = ?1 AND id = ?2";

int sq_alert_open(struct store *base, const char *workspace_id, const struct alert_new *in,
                  int64_t now, int64_t window_ms, bool *opened, char alert_id[STORE_ID_LEN],
                  struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *opened = false;
    alert_id[0] = '\0';
    int rc = sq_stmt(s, sql_window, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, in->dedup_key);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, window_ms);
    sq_bind_str(st, 5, in->id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        sq_col_copy(st, 0, alert_id, STORE_ID_LEN);
    else
        rc = sq_fail(e, c->db, src, "opening an alert window");
    sq_done(st);
    if (rc)
        return rc;
    if (strcmp(alert_id, in->id) != 0) {
        if ((rc = sq_stmt(s, sql_alert_suppress, &st, &c, e)))
            return rc;
        sq_bind_str(st, 1, workspace_id);
        sq_bind_str(st, 2, alert_id);
        return sq_run(st, c, "counting a suppressed alert", e);
    }
    if ((rc = sq_stmt(s, sql_alert_insert, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, in->id);
    sq_bind_str(st, 2, workspace_id);
    sq_bind_str(st, 3, in->rule_id);
    sq_bind_str(st, 4, in->rule_name);
    sq_bind_str(st, 5, in->trigger);
    sq_bind_str(st, 6, in->dedup_key);
    sqlite3_bind_int64(st, 7, now);
    sq_bind_str(st, 8, in->subject);
    sq_bind_str(st, 9, in->title);
    sq_bind_str(st, 10, in->body);
    sq_bind_str(st, 11, in->data);
    sq_bind_str(st, 12, in->severity);
    sqlite3_bind_int64(st, 13, in->latency_us);
    rc = sq_run(st, c, "storing an alert", e);
    if (!rc)
        *opened = true;
    return rc;
}

#define ALERT_COLS                                                                                 \
    "id, COALESCE(rule_id, ''), rule_name, trigger, dedup_key, subject, title, body, data,"        \
    " severity, status, suppressed, window_start, created_at, COALESCE(acked_at, 0),"              \
    " COALESCE(resolved_at, 0), COALESCE(acked_by, ''), COALESCE(resolved_by, '')"

static void read_alert(sqlite3_stmt *st, struct arena *a, void *row)
{
    struct alert_row *r = row;
    sq_col_copy(st, 0, r->id, sizeof(r->id));
    sq_col_copy(st, 1, r->rule_id, sizeof(r->rule_id));
    r->rule_name = sq_col_dup(st, 2, a);
    r->trigger = sq_col_dup(st, 3, a);
    r->dedup_key = sq_col_dup(st, 4, a);
    r->subject = sq_col_dup(st, 5, a);
    r->title = sq_col_dup(st, 6, a);
    r->body = sq_col_dup(st, 7, a);
    r->data = sq_col_dup(st, 8, a);
    sq_col_copy(st, 9, r->severity, sizeof(r->severity));
    sq_col_copy(st, 10, r->status, sizeof(r->status));
    r->suppressed = sqlite3_column_int64(st, 11);
    r->window_start = sqlite3_column_int64(st, 12);
    r->created_at = sqlite3_column_int64(st, 13);
    r->acked_at = sqlite3_column_int64(st, 14);
    r->resolved_at = sqlite3_column_int64(st, 15);
    sq_col_copy(st, 16, r->acked_by, sizeof(r->acked_by));
    sq_col_copy(st, 17, r->resolved_by, sizeof(r->resolved_by));
}

static const char sql_alert_get[] =
    "SELECT " ALERT_COLS " FROM alerts WHERE workspace_id = ?1 AND id = ?2";

int sq_alert_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                 struct alert_row *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    return sq_get_by_id((struct sq_store *)base, sql_alert_get, workspace_id, id, read_alert, a,
                        out, "reading an alert", "alert", e);
}

static const char sql_alert_list[] =
    "SELECT " ALERT_COLS ", COUNT(*) OVER () FROM alerts WHERE workspace_id = ?1"
    " AND (?2 IS NULL OR status = ?2) ORDER BY created_at DESC, id DESC LIMIT ?3 OFFSET ?4";

int sq_alert_list(struct store *base, const char *workspace_id, const char *status, int limit,
                  int offset, struct arena *a, struct alert_row **rows, size_t *n, int64_t *total,
                  struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    *total = 0;
    int rc = sq_stmt((struct sq_store *)base, sql_alert_list, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, status);
    sqlite3_bind_int(st, 3, limit);
    sqlite3_bind_int(st, 4, offset);
    return sq_read_all(st, c, read_alert, a, (void **)rows, sizeof(**rows), n, 18, total,
                       "listing alerts", e);
}

static const char sql_alert_transition[] =
    "UPDATE alerts SET status = ?4,"
    " acked_at = CASE WHEN ?4 = 'acked' THEN ?6 ELSE acked_at END,"
    " acked_by = CASE WHEN ?4 = 'acked' THEN"
    "   (SELECT id FROM user_profiles WHERE id = ?5) ELSE acked_by END,"
    " resolved_at = CASE WHEN ?4 = 'resolved' THEN ?6 ELSE resolved_at END,"
    " resolved_by = CASE WHEN ?4 = 'resolved' THEN"
    "   (SELECT id FROM user_profiles WHERE id = ?5) ELSE resolved_by END"
    " WHERE workspace_id = ?1 AND id = ?2 AND instr(',' || ?3 || ',', ',' || status || ',') > 0";
static const char sql_alert_status[] =
    "SELECT status FROM alerts WHERE workspace_id = ?1 AND id = ?2";

int sq_alert_transition(struct store *base, const char *workspace_id, const char *id,
                        const char *from, const char *to, const char *user_id, int64_t now,
                        struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_alert_transition, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    sq_bind_str(st, 3, from);
    sq_bind_str(st, 4, to);
    sq_bind_str(st, 5, user_id);
    sqlite3_bind_int64(st, 6, now);
    int src = sqlite3_step(st);
    bool changed = src == SQLITE_DONE && sqlite3_changes(c->db) > 0;
    if (src != SQLITE_DONE)
        rc = sq_fail(e, c->db, src, "changing an alert");
    sq_done(st);
    if (rc || changed)
        return rc;
    if ((rc = sq_stmt(s, sql_alert_status, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        rc = failf(e, ERR_CONFLICT, "the alert is already %s",
                   (const char *)sqlite3_column_text(st, 0));
    else if (src == SQLITE_DONE)
        rc = failf(e, ERR_NOT_FOUND, "alert not found");
    else
        rc = sq_fail(e, c->db, src, "reading an alert");
    sq_done(st);
    return rc;
}

static const char sql_delivery_add[] =
    "INSERT INTO alert_deliveries (workspace_id, alert_id, channel, target, attempt, status, error,"
    " response_code, latency_ms, at)"
    " SELECT ?1, id, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 FROM alerts WHERE workspace_id = ?1 AND id = "
    "?2";

int sq_alert_delivery_add(struct store *base, const char *workspace_id,
                          const struct alert_delivery *d, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt((struct sq_store *)base, sql_delivery_add, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, d->alert_id);
    sq_bind_str(st, 3, d->channel);
    sq_bind_str(st, 4, d->target);
    sqlite3_bind_int(st, 5, d->attempt);
    sq_bind_str(st, 6, d->status);
    sq_bind_str(st, 7, d->error);
    if (d->response_code)
        sqlite3_bind_int(st, 8, d->response_code);
    else
        sqlite3_bind_null(st, 8);
    if (d->latency_ms >= 0)
        sqlite3_bind_int64(st, 9, d->latency_ms);
    else
        sqlite3_bind_null(st, 9);
    sqlite3_bind_int64(st, 10, d->at);
    return sq_run(st, c, "recording an alert delivery", e);
}

static const char sql_delivery_list[] =
    "SELECT id, alert_id, channel, target, attempt, status, error, COALESCE(response_code, 0),"
    " COALESCE(latency_ms, -1), at FROM alert_deliveries WHERE workspace_id = ?1 AND alert_id = ?2"
    " ORDER BY id";

static void read_delivery(sqlite3_stmt *st, struct arena *a, void *row)
{
    struct alert_delivery *d = row;
    d->id = sqlite3_column_int64(st, 0);
    sq_col_copy(st, 1, d->alert_id, sizeof(d->alert_id));
    sq_col_copy(st, 2, d->channel, sizeof(d->channel));
    d->target = sqlite3_column_type(st, 3) == SQLITE_NULL ? NULL : sq_col_dup(st, 3, a);
    d->attempt = sqlite3_column_int(st, 4);
    sq_col_copy(st, 5, d->status, sizeof(d->status));
    d->error = sqlite3_column_type(st, 6) == SQLITE_NULL ? NULL : sq_col_dup(st, 6, a);
    d->response_code = sqlite3_column_int(st, 7);
    d->latency_ms = sqlite3_column_int64(st, 8);
    d->at = sqlite3_column_int64(st, 9);
}

int sq_alert_delivery_list(struct store *base, const char *workspace_id, const char *alert_id,
                           struct arena *a, struct alert_delivery **rows, size_t *n,
                           struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt((struct sq_store *)base, sql_delivery_list, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, alert_id);
    return sq_read_all(st, c, read_delivery, a, (void **)rows, sizeof(**rows), n, 0, NULL,
                       "listing alert deliveries", e);
}

static const char sql_stats_alerts[] =
    "SELECT COUNT(*), COALESCE(SUM(suppressed), 0), COALESCE(SUM(status = 'open'), 0),"
    " COALESCE(SUM(status = 'acked'), 0), COALESCE(SUM(status = 'resolved'), 0)"
    " FROM alerts WHERE workspace_id = ?1 AND created_at >= ?2";
static const char sql_stats_deliveries[] =
    "SELECT channel, COALESCE(SUM(status = 'delivered'), 0), COALESCE(SUM(status <> 'delivered'), "
    "0),"
    " COUNT(*), COALESCE(SUM(latency_ms <= 100), 0), COALESCE(SUM(latency_ms <= 250), 0),"
    " COALESCE(SUM(latency_ms <= 500), 0), COALESCE(SUM(latency_ms <= 1000), 0),"
    " COALESCE(SUM(latency_ms <= 2500), 0), COALESCE(SUM(latency_ms <= 5000), 0),"
    " COALESCE(SUM(latency_ms <= 10000), 0), COALESCE(SUM(latency_ms <= 30000), 0),"
    " COUNT(latency_ms)"
    " FROM alert_deliveries WHERE workspace_id = ?1 AND at >= ?2 GROUP BY channel";
static const char sql_stats_p95[] =
    "SELECT latency_ms FROM alert_deliveries WHERE workspace_id = ?1 AND at >= ?2"
    " AND latency_ms IS NOT NULL ORDER BY latency_ms LIMIT 1 OFFSET ?3";

static int channel_index(const char *ch)
{
    static const char *const names[ALERT_CHANNELS] = {"email", "slack", "webhook", "in_app"};
    for (int i = 0; i < ALERT_CHANNELS; i++)
        if (strcmp(ch, names[i]) == 0)
            return i;
    return -1;
}

int sq_alert_stats(struct store *base, const char *workspace_id, int64_t since,
                   struct alert_stats *out, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    memset(out, 0, sizeof(*out));
    out->latency_p95_ms = -1;
    int rc = sq_stmt(s, sql_stats_alerts, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sqlite3_bind_int64(st, 2, since);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        out->alerts = sqlite3_column_int64(st, 0);
        out->suppressed = sqlite3_column_int64(st, 1);
        out->open = sqlite3_column_int64(st, 2);
        out->acked = sqlite3_column_int64(st, 3);
        out->resolved = sqlite3_column_int64(st, 4);
    } else {
        rc = sq_fail(e, c->db, src, "counting alerts");
    }
    sq_done(st);
    if (rc || (rc = sq_stmt(s, sql_stats_deliveries, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sqlite3_bind_int64(st, 2, since);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int ch = channel_index((const char *)sqlite3_column_text(st, 0));
        if (ch >= 0) {
            out->delivered[ch] = sqlite3_column_int64(st, 1);
            out->failed[ch] = sqlite3_column_int64(st, 2);
        }
        out->attempts += sqlite3_column_int64(st, 3);
        for (int b = 0; b < ALERT_LATENCY_BUCKETS; b++)
            out->latency_buckets[b] += sqlite3_column_int64(st, 4 + b);
        out->latency_count += sqlite3_column_int64(st, 12);
    }
    out->latency_buckets[ALERT_LATENCY_BUCKETS] = out->latency_count;
    if (src != SQLITE_DONE)
        rc = sq_fail(e, c->db, src, "counting alert deliveries");
    sq_done(st);
    if (rc || out->latency_count == 0)
        return rc;
    /* The nearest-rank 95th percentile. */
    int64_t rank = (out->latency_count * 95 + 99) / 100;
    if ((rc = sq_stmt(s, sql_stats_p95, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, rank - 1);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        out->latency_p95_ms = sqlite3_column_int64(st, 0);
    else if (src != SQLITE_DONE)
        rc = sq_fail(e, c->db, src, "reading the alert latency");
    sq_done(st);
    return rc;
}
