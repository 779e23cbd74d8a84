/*
 * Alert rules (a trigger bumps alert_rule_versions on every write, so
 * processes see a change by reading one row), alerts and their dedup
 * windows, delivery attempts and the statistics of GET /api/alerts/metrics,
 * written once over the cursor (store/db.h). Only opening an alert differs
 * by database: how the dedup window's upsert tells who owns it.
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/alerts.h"
#include "store/db.h"
#include "store/db_ops.h"

/* ---- rules --------------------------------------------------------------------------- */

#define RULE_COLS                                                                                  \
    "id, name, trigger, threshold, CAST(channels AS TEXT), enabled, created_at, updated_at"

static void read_rule(struct db_cur *c, struct arena *a, void *row)
{
    struct alert_rule *r = row;
    memset(r, 0, sizeof(*r));
    db_col_copy(c, 0, r->id, sizeof(r->id));
    db_col_copy(c, 1, r->name, sizeof(r->name));
    db_col_copy(c, 2, r->trigger, sizeof(r->trigger));
    r->has_threshold = !db_col_null(c, 3);
    r->threshold = r->has_threshold ? db_col_dbl(c, 3) : 0;
    r->channels = db_col_dup(c, 4, a);
    r->enabled = db_col_bool(c, 5);
    r->created_at = db_col_i64(c, 6);
    r->updated_at = db_col_i64(c, 7);
}

#define RULE_INSERT(channels)                                                                      \
    "INSERT INTO alert_rules (id, workspace_id, name, trigger, threshold, channels, enabled,"      \
    " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, CAST(?5 AS DOUBLE PRECISION),"               \
    " COALESCE(" channels ", '[]'), CAST(?7 AS BOOLEAN), ?8, ?8) RETURNING " RULE_COLS
static struct db_sql sql_rule_insert = DB_SQL2(RULE_INSERT("?6"), RULE_INSERT("CAST(?6 AS jsonb)"));

int store_alert_rule_create(struct store *st, const char *workspace_id,
                            const struct alert_rule_fields *f, int64_t now, struct arena *a,
                            struct alert_rule *out, struct errinfo *e)
{
    char id[STORE_ID_LEN];
    crypto_uuid(id);
    memset(out, 0, sizeof(*out));
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_rule_insert, "creating an alert rule");
    if (!rc) {
        db_bind_str(&c, 1, id);
        db_bind_str(&c, 2, workspace_id);
        db_bind_str(&c, 3, f->name);
        db_bind_str(&c, 4, f->trigger);
        if (f->has_threshold)
            db_bind_dbl(&c, 5, f->threshold);
        db_bind_str(&c, 6, f->channels);
        db_bind_bool(&c, 7, (f->set & ARF_ENABLED) ? f->enabled : true);
        db_bind_i64(&c, 8, now);
        rc = db_read_one(&c, read_rule, a, out, "alert rule");
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_rule_get =
    DB_SQL("SELECT " RULE_COLS " FROM alert_rules WHERE workspace_id = ?1 AND id = ?2");

int store_alert_rule_get(struct store *st, const char *workspace_id, const char *id,
                         struct arena *a, struct alert_rule *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    return db_get_by_id(st, &sql_rule_get, workspace_id, id, read_rule, a, out,
                        "reading an alert rule", "alert rule", e);
}

static struct db_sql sql_rule_list =
    DB_SQL("SELECT " RULE_COLS " FROM alert_rules WHERE workspace_id = ?1"
           " AND (NOT CAST(?2 AS BOOLEAN) OR enabled) ORDER BY created_at, id");

int store_alert_rule_list(struct store *st, const char *workspace_id, bool enabled_only,
                          struct arena *a, struct alert_rule **rows, size_t *n, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_rule_list, "listing alert rules");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_bool(&c, 2, enabled_only);
        rc = db_read_all(&c, read_rule, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    }
    return db_leave(&c, rc);
}

/* ?3, ?5, ...: whether the field after it is set. */
#define RULE_UPDATE(channels)                                                                      \
    "UPDATE alert_rules SET name = CASE WHEN CAST(?3 AS BOOLEAN) THEN ?4 ELSE name END,"           \
    " trigger = CASE WHEN CAST(?5 AS BOOLEAN) THEN ?6 ELSE trigger END,"                           \
    " threshold = CASE WHEN CAST(?7 AS BOOLEAN) THEN CAST(?8 AS DOUBLE PRECISION)"                 \
    " ELSE threshold END,"                                                                         \
    " channels = CASE WHEN CAST(?9 AS BOOLEAN) THEN " channels " ELSE channels END,"               \
    " enabled = CASE WHEN CAST(?11 AS BOOLEAN) THEN CAST(?12 AS BOOLEAN) ELSE enabled END,"        \
    " updated_at = CAST(?13 AS BIGINT) WHERE workspace_id = ?1 AND id = ?2"
static struct db_sql sql_rule_update =
    DB_SQL2(RULE_UPDATE("?10"), RULE_UPDATE("CAST(?10 AS jsonb)"));

int store_alert_rule_update(struct store *st, const char *workspace_id, const char *id,
                            const struct alert_rule_fields *f, int64_t now, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_rule_update, "changing an alert rule");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        db_bind_bool(&c, 3, (f->set & ARF_NAME) != 0);
        db_bind_str(&c, 4, f->name);
        db_bind_bool(&c, 5, (f->set & ARF_TRIGGER) != 0);
        db_bind_str(&c, 6, f->trigger);
        db_bind_bool(&c, 7, (f->set & ARF_THRESHOLD) != 0);
        if (f->has_threshold)
            db_bind_dbl(&c, 8, f->threshold);
        db_bind_bool(&c, 9, (f->set & ARF_CHANNELS) != 0);
        db_bind_str(&c, 10, f->channels ? f->channels : "[]");
        db_bind_bool(&c, 11, (f->set & ARF_ENABLED) != 0);
        db_bind_bool(&c, 12, f->enabled);
        db_bind_i64(&c, 13, now);
        rc = db_run_one(&c, "alert rule");
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_rule_delete =
    DB_SQL("DELETE FROM alert_rules WHERE workspace_id = ?1 AND id = ?2");

int store_alert_rule_delete(struct store *st, const char *workspace_id, const char *id,
                            struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_rule_delete, "deleting an alert rule");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        rc = db_run_one(&c, "alert rule");
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_rules_version =
    DB_SQL("SELECT version FROM alert_rule_versions WHERE workspace_id = ?1");

int store_alert_rules_version(struct store *st, const char *workspace_id, int64_t *version,
                              struct errinfo *e)
{
    *version = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_rules_version, "reading the alert rules' version");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        if ((rc = db_step(&c)) == DB_ROW)
            *version = db_col_i64(&c, 0);
        rc = rc < 0 ? rc : 0;
    }
    return db_leave(&c, rc);
}

/* ---- alerts ---------------------------------------------------------------------------- */

/*
 * SQLite. The dedup window: one row per (workspace, key). A new window
 * starts when the event is at or after the open one's end; otherwise the
 * row is left as it is. Every SET expression sees the row as it was, so the
 * three columns move together. RETURNING tells which alert owns the window
 * now: ours (?5) when we opened it. (SQLite writes one transaction at a
 * time, so the window, the alert and the count need no more than that.)
 */
static struct db_sql sql_window = DB_SQL_SQLITE(
    "INSERT INTO alert_windows (workspace_id, dedup_key, window_start, window_end, alert_id)"
    " VALUES (?1, ?2, ?3, ?3 + ?4, ?5)"
    " ON CONFLICT (workspace_id, dedup_key) DO UPDATE SET"
    " window_start = CASE WHEN excluded.window_start >= window_end"
    "   THEN excluded.window_start ELSE window_start END,"
    " window_end = CASE WHEN excluded.window_start >= window_end"
    "   THEN excluded.window_end ELSE window_end END,"
    " alert_id = CASE WHEN excluded.window_start >= window_end"
    "   THEN excluded.alert_id ELSE alert_id END"
    " RETURNING alert_id");
static struct db_sql sql_alert_insert = DB_SQL_SQLITE(
    "INSERT INTO alerts (id, workspace_id, rule_id, rule_name, trigger, dedup_key, window_start,"
    " subject, title, body, data, severity, latency_us, created_at)"
    " VALUES (?1, ?2, (SELECT id FROM alert_rules WHERE workspace_id = ?2 AND id = ?3), ?4, ?5,"
    " ?6, ?7, ?8, ?9, ?10, COALESCE(?11, '{}'), ?12, ?13, ?7)");
static struct db_sql sql_alert_suppress = DB_SQL_SQLITE(
    "UPDATE alerts SET suppressed = suppressed + 1 WHERE workspace_id = ?1 AND id = ?2");

static int open_sqlite(struct db_cur *c, const char *workspace_id, const struct alert_new *in,
                       int64_t now, int64_t window_ms, bool *opened, char alert_id[STORE_ID_LEN])
{
    int rc = db_prepare(c, &sql_window, "opening an alert window");
    if (rc)
        return rc;
    db_bind_str(c, 1, workspace_id);
    db_bind_str(c, 2, in->dedup_key);
    db_bind_i64(c, 3, now);
    db_bind_i64(c, 4, window_ms);
    db_bind_str(c, 5, in->id);
    if ((rc = db_step(c)) != DB_ROW)
        return rc < 0 ? rc : failf(c->e, ERR_DB, "opening an alert window: no row");
    db_col_copy(c, 0, alert_id, STORE_ID_LEN);
    if (strcmp(alert_id, in->id) != 0) {
        if ((rc = db_prepare(c, &sql_alert_suppress, "counting a suppressed alert")))
            return rc;
        db_bind_str(c, 1, workspace_id);
        db_bind_str(c, 2, alert_id);
        return db_run(c);
    }
    if ((rc = db_prepare(c, &sql_alert_insert, "storing an alert")))
        return rc;
    db_bind_str(c, 1, in->id);
    db_bind_str(c, 2, workspace_id);
    db_bind_str(c, 3, in->rule_id);
    db_bind_str(c, 4, in->rule_name);
    db_bind_str(c, 5, in->trigger);
    db_bind_str(c, 6, in->dedup_key);
    db_bind_i64(c, 7, now);
    db_bind_str(c, 8, in->subject);
    db_bind_str(c, 9, in->title);
    db_bind_str(c, 10, in->body);
    db_bind_str(c, 11, in->data);
    db_bind_str(c, 12, in->severity);
    db_bind_i64(c, 13, in->latency_us);
    rc = db_run(c);
    *opened = rc == 0;
    return rc;
}

/*
 * PostgreSQL. An event at or after the open window's end (or the first one)
 * starts a new window owned by our alert (?5), and ins stores the alert;
 * within the window the row is left alone and w returns nothing. Either way
 * ON CONFLICT ... DO UPDATE locks the row, so concurrent events on one key
 * take turns and each sees the row the one before it left: exactly one of
 * them opens a window. (Leaving the row alone rather than rewriting it
 * matters in a long batch: each rewrite of a row in one transaction makes
 * the next lookup of it walk one version more.)
 */
static struct db_sql sql_open = DB_SQL_PG(
    "WITH w AS (INSERT INTO alert_windows AS aw"
    " (workspace_id, dedup_key, window_start, window_end, alert_id)"
    " VALUES (?1, ?2, ?3::bigint, ?3::bigint + ?4::bigint, ?5)"
    " ON CONFLICT (workspace_id, dedup_key) DO UPDATE SET"
    " window_start = excluded.window_start, window_end = excluded.window_end,"
    " alert_id = excluded.alert_id WHERE excluded.window_start >= aw.window_end"
    " RETURNING alert_id),"
    " ins AS (INSERT INTO alerts (id, workspace_id, rule_id, rule_name, trigger, dedup_key,"
    " window_start, subject, title, body, data, severity, latency_us, created_at)"
    " SELECT ?5::text, ?1::text,"
    " (SELECT id FROM alert_rules WHERE workspace_id = ?1 AND id = ?6::text), ?7::text,"
    " ?8::text, ?2::text, ?3::bigint, ?9::text, ?10::text, ?11::text,"
    " COALESCE(?12::jsonb, '{}'), ?13::text, ?14::bigint, ?3::bigint"
    " FROM w WHERE w.alert_id = ?5 RETURNING id)"
    " SELECT COUNT(*) FROM ins");
/*
 * Within the window: the owner counts one more suppressed event. A statement
 * of its own, so its snapshot is taken once we hold the window's lock: it
 * sees the window as the last writer left it, and that writer's alert.
 */
static struct db_sql sql_suppress = DB_SQL_PG(
    "WITH o AS (SELECT alert_id FROM alert_windows WHERE workspace_id = ?1 AND dedup_key = ?2),"
    " u AS (UPDATE alerts a SET suppressed = a.suppressed + 1 FROM o"
    " WHERE a.workspace_id = ?1 AND a.id = o.alert_id)"
    " SELECT alert_id FROM o");

static int open_pg(struct db_cur *c, const char *workspace_id, const struct alert_new *in,
                   int64_t now, int64_t window_ms, bool *opened, char alert_id[STORE_ID_LEN])
{
    int rc = db_prepare(c, &sql_open, "storing an alert");
    if (rc)
        return rc;
    db_bind_str(c, 1, workspace_id);
    db_bind_str(c, 2, in->dedup_key);
    db_bind_i64(c, 3, now);
    db_bind_i64(c, 4, window_ms);
    db_bind_str(c, 5, in->id);
    db_bind_str(c, 6, in->rule_id);
    db_bind_str(c, 7, in->rule_name);
    db_bind_str(c, 8, in->trigger);
    db_bind_str(c, 9, in->subject);
    db_bind_str(c, 10, in->title);
    db_bind_str(c, 11, in->body);
    db_bind_str(c, 12, in->data);
    db_bind_str(c, 13, in->severity);
    db_bind_i64(c, 14, in->latency_us);
    if ((rc = db_step(c)) < 0)
        return rc;
    *opened = rc == DB_ROW && db_col_i64(c, 0) > 0;
    if (*opened) {
        snprintf(alert_id, STORE_ID_LEN, "%s", in->id);
        return 0;
    }
    if ((rc = db_prepare(c, &sql_suppress, "counting a suppressed alert")))
        return rc;
    db_bind_str(c, 1, workspace_id);
    db_bind_str(c, 2, in->dedup_key);
    if ((rc = db_step(c)) == DB_ROW)
        db_col_copy(c, 0, alert_id, STORE_ID_LEN);
    return rc < 0 ? rc : 0;
}

int store_alert_open(struct store *st, const char *workspace_id, const struct alert_new *in,
                     int64_t now, int64_t window_ms, bool *opened, char alert_id[STORE_ID_LEN],
                     struct errinfo *e)
{
    *opened = false;
    alert_id[0] = '\0';
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    if (st->ops->db->kind == DB_SQLITE)
        rc = open_sqlite(&c, workspace_id, in, now, window_ms, opened, alert_id);
    else
        rc = open_pg(&c, workspace_id, in, now, window_ms, opened, alert_id);
    return db_leave(&c, rc);
}

#define ALERT_COLS                                                                                 \
    "id, COALESCE(rule_id, ''), rule_name, trigger, dedup_key, subject, title, body,"              \
    " CAST(data AS TEXT), severity, status, suppressed, window_start, created_at,"                 \
    " COALESCE(acked_at, 0), COALESCE(resolved_at, 0), COALESCE(acked_by, ''),"                    \
    " COALESCE(resolved_by, ''), COALESCE(read_at, 0)"

static void read_alert(struct db_cur *c, struct arena *a, void *row)
{
    struct alert_row *r = row;
    memset(r, 0, sizeof(*r));
    db_col_copy(c, 0, r->id, sizeof(r->id));
    db_col_copy(c, 1, r->rule_id, sizeof(r->rule_id));
    r->rule_name = db_col_dup(c, 2, a);
    r->trigger = db_col_dup(c, 3, a);
    r->dedup_key = db_col_dup(c, 4, a);
    r->subject = db_col_dup(c, 5, a);
    r->title = db_col_dup(c, 6, a);
    r->body = db_col_dup(c, 7, a);
    r->data = db_col_dup(c, 8, a);
    db_col_copy(c, 9, r->severity, sizeof(r->severity));
    db_col_copy(c, 10, r->status, sizeof(r->status));
    r->suppressed = db_col_i64(c, 11);
    r->window_start = db_col_i64(c, 12);
    r->created_at = db_col_i64(c, 13);
    r->acked_at = db_col_i64(c, 14);
    r->resolved_at = db_col_i64(c, 15);
    db_col_copy(c, 16, r->acked_by, sizeof(r->acked_by));
    db_col_copy(c, 17, r->resolved_by, sizeof(r->resolved_by));
    r->read_at = db_col_i64(c, 18);
}

static struct db_sql sql_alert_get =
    DB_SQL("SELECT " ALERT_COLS " FROM alerts WHERE workspace_id = ?1 AND id = ?2");

int store_alert_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                    struct alert_row *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    return db_get_by_id(st, &sql_alert_get, workspace_id, id, read_alert, a, out,
                        "reading an alert", "alert", e);
}

/* A page past the end reports a total of 0. */
static struct db_sql sql_alert_list =
    DB_SQL("SELECT " ALERT_COLS ", COUNT(*) OVER () FROM alerts WHERE workspace_id = ?1"
           " AND (CAST(?2 AS TEXT) IS NULL OR status = ?2) ORDER BY created_at DESC, id DESC"
           " LIMIT ?3 OFFSET ?4");

int store_alert_list(struct store *st, const char *workspace_id, const char *status, int limit,
                     int offset, struct arena *a, struct alert_row **rows, size_t *n,
                     int64_t *total, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_alert_list, "listing alerts");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, status);
        db_bind_i64(&c, 3, limit);
        db_bind_i64(&c, 4, offset);
        rc = db_read_all(&c, read_alert, a, (void **)rows, sizeof(**rows), n, 19, total);
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_alert_read =
    DB_SQL("UPDATE alerts SET read_at = CASE WHEN CAST(?3 AS BIGINT) = 0 THEN NULL"
           " ELSE COALESCE(read_at, CAST(?3 AS BIGINT)) END WHERE workspace_id = ?1 AND id = ?2");

int store_alert_mark_read(struct store *st, const char *workspace_id, const char *id,
                          int64_t read_at, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_alert_read, "marking an alert read");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        db_bind_i64(&c, 3, read_at);
        rc = db_run_one(&c, "alert");
    }
    return db_leave(&c, rc);
}

/* ?3: the statuses it may move from, comma-separated. */
#define ALERT_TRANSITION(from_list)                                                                \
    "UPDATE alerts SET status = CAST(?4 AS TEXT),"                                                 \
    " acked_at = CASE WHEN CAST(?4 AS TEXT) = 'acked' THEN CAST(?6 AS BIGINT) ELSE acked_at END,"  \
    " acked_by = CASE WHEN CAST(?4 AS TEXT) = 'acked' THEN"                                        \
    "   (SELECT id FROM user_profiles WHERE id = ?5) ELSE acked_by END,"                           \
    " resolved_at = CASE WHEN CAST(?4 AS TEXT) = 'resolved' THEN CAST(?6 AS BIGINT)"               \
    " ELSE resolved_at END,"                                                                       \
    " resolved_by = CASE WHEN CAST(?4 AS TEXT) = 'resolved' THEN"                                  \
    "   (SELECT id FROM user_profiles WHERE id = ?5) ELSE resolved_by END"                         \
    " WHERE workspace_id = ?1 AND id = ?2 AND " from_list
static struct db_sql sql_alert_transition =
    DB_SQL2(ALERT_TRANSITION("instr(',' || ?3 || ',', ',' || status || ',') > 0"),
            ALERT_TRANSITION("status = ANY (string_to_array(CAST(?3 AS TEXT), ','))"));
static struct db_sql sql_alert_status =
    DB_SQL("SELECT status FROM alerts WHERE workspace_id = ?1 AND id = ?2");

int store_alert_transition(struct store *st, const char *workspace_id, const char *id,
                           const char *from, const char *to, const char *user_id, int64_t now,
                           struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_alert_transition, "changing an alert");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        db_bind_str(&c, 3, from);
        db_bind_str(&c, 4, to);
        db_bind_str(&c, 5, user_id);
        db_bind_i64(&c, 6, now);
        rc = db_run(&c);
    }
    if (rc || db_changes(&c) > 0)
        return db_leave(&c, rc);
    if (!(rc = db_prepare(&c, &sql_alert_status, "reading an alert"))) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        rc = db_step(&c);
        if (rc == DB_ROW)
            rc = failf(e, ERR_CONFLICT, "the alert is already %s", db_col_text(&c, 0));
        else if (rc == DB_DONE)
            rc = failf(e, ERR_NOT_FOUND, "alert not found");
    }
    return db_leave(&c, rc);
}

/* Only for an alert of the workspace: another id stores nothing. */
static struct db_sql sql_delivery_add = DB_SQL(
    "INSERT INTO alert_deliveries (workspace_id, alert_id, channel, target, attempt, status, error,"
    " response_code, latency_ms, at)"
    " SELECT ?1, id, CAST(?3 AS TEXT), CAST(?4 AS TEXT), CAST(?5 AS INTEGER), CAST(?6 AS TEXT),"
    " CAST(?7 AS TEXT), CAST(?8 AS INTEGER), CAST(?9 AS BIGINT), CAST(?10 AS BIGINT)"
    " FROM alerts WHERE workspace_id = ?1 AND id = ?2");

int store_alert_delivery_add(struct store *st, const char *workspace_id,
                             const struct alert_delivery *d, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_delivery_add, "recording an alert delivery");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, d->alert_id);
        db_bind_str(&c, 3, d->channel);
        db_bind_str(&c, 4, d->target);
        db_bind_i64(&c, 5, d->attempt);
        db_bind_str(&c, 6, d->status);
        db_bind_str(&c, 7, d->error);
        if (d->response_code)
            db_bind_i64(&c, 8, d->response_code);
        if (d->latency_ms >= 0)
            db_bind_i64(&c, 9, d->latency_ms);
        db_bind_i64(&c, 10, d->at);
        rc = db_run(&c);
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_delivery_list = DB_SQL(
    "SELECT id, alert_id, channel, target, attempt, status, error, COALESCE(response_code, 0),"
    " COALESCE(latency_ms, -1), at FROM alert_deliveries WHERE workspace_id = ?1 AND alert_id = ?2"
    " ORDER BY id");

static void read_delivery(struct db_cur *c, struct arena *a, void *row)
{
    struct alert_delivery *d = row;
    d->id = db_col_i64(c, 0);
    db_col_copy(c, 1, d->alert_id, sizeof(d->alert_id));
    db_col_copy(c, 2, d->channel, sizeof(d->channel));
    d->target = db_col_opt(c, 3, a);
    d->attempt = db_col_int(c, 4);
    db_col_copy(c, 5, d->status, sizeof(d->status));
    d->error = db_col_opt(c, 6, a);
    d->response_code = db_col_int(c, 7);
    d->latency_ms = db_col_i64(c, 8);
    d->at = db_col_i64(c, 9);
}

int store_alert_delivery_list(struct store *st, const char *workspace_id, const char *alert_id,
                              struct arena *a, struct alert_delivery **rows, size_t *n,
                              struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_delivery_list, "listing alert deliveries");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, alert_id);
        rc = db_read_all(&c, read_delivery, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_stats_alerts =
    DB_SQL("SELECT COUNT(*), COALESCE(SUM(suppressed), 0), COUNT(*) FILTER (WHERE status = 'open'),"
           " COUNT(*) FILTER (WHERE status = 'acked'), COUNT(*) FILTER (WHERE status = 'resolved')"
           " FROM alerts WHERE workspace_id = ?1 AND created_at >= ?2");
static struct db_sql sql_stats_deliveries = DB_SQL(
    "SELECT channel, COUNT(*) FILTER (WHERE status = 'delivered'),"
    " COUNT(*) FILTER (WHERE status <> 'delivered'), COUNT(*),"
    " COUNT(*) FILTER (WHERE latency_ms <= 100), COUNT(*) FILTER (WHERE latency_ms <= 250),"
    " COUNT(*) FILTER (WHERE latency_ms <= 500), COUNT(*) FILTER (WHERE latency_ms <= 1000),"
    " COUNT(*) FILTER (WHERE latency_ms <= 2500), COUNT(*) FILTER (WHERE latency_ms <= 5000),"
    " COUNT(*) FILTER (WHERE latency_ms <= 10000), COUNT(*) FILTER (WHERE latency_ms <= 30000),"
    " COUNT(latency_ms)"
    " FROM alert_deliveries WHERE workspace_id = ?1 AND at >= ?2 GROUP BY channel");
static struct db_sql sql_stats_p95 =
    DB_SQL("SELECT latency_ms FROM alert_deliveries WHERE workspace_id = ?1 AND at >= ?2"
           " AND latency_ms IS NOT NULL ORDER BY latency_ms LIMIT 1 OFFSET ?3");

int store_alert_stats(struct store *st, const char *workspace_id, int64_t since,
                      struct alert_stats *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    out->latency_p95_ms = -1;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_stats_alerts, "counting alerts");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_i64(&c, 2, since);
        if ((rc = db_step(&c)) == DB_ROW) {
            out->alerts = db_col_i64(&c, 0);
            out->suppressed = db_col_i64(&c, 1);
            out->open = db_col_i64(&c, 2);
            out->acked = db_col_i64(&c, 3);
            out->resolved = db_col_i64(&c, 4);
        }
        rc = rc < 0 ? rc : 0;
    }
    if (!rc && !(rc = db_prepare(&c, &sql_stats_deliveries, "counting alert deliveries"))) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_i64(&c, 2, since);
        while ((rc = db_step(&c)) == DB_ROW) {
            if (out->nchannels < ALERT_STATS_CHANNELS) {
                struct alert_channel_stats *ch = &out->channels[out->nchannels++];
                db_col_copy(&c, 0, ch->channel, sizeof(ch->channel));
                ch->delivered = db_col_i64(&c, 1);
                ch->failed = db_col_i64(&c, 2);
            }
            out->attempts += db_col_i64(&c, 3);
            for (int b = 0; b < ALERT_LATENCY_BUCKETS; b++)
                out->latency_buckets[b] += db_col_i64(&c, 4 + b);
            out->latency_count += db_col_i64(&c, 12);
        }
        out->latency_buckets[ALERT_LATENCY_BUCKETS] = out->latency_count;
    }
    if (rc || out->latency_count == 0)
        return db_leave(&c, rc);
    /* The nearest-rank 95th percentile. */
    int64_t rank = (out->latency_count * 95 + 99) / 100;
    if (!(rc = db_prepare(&c, &sql_stats_p95, "reading the alert latency"))) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_i64(&c, 2, since);
        db_bind_i64(&c, 3, rank - 1);
        if ((rc = db_step(&c)) == DB_ROW)
            out->latency_p95_ms = db_col_i64(&c, 0);
        rc = rc < 0 ? rc : 0;
    }
    return db_leave(&c, rc);
}
