/*
 * The suppression list (suppressions) and the log of entries taken off it
 * (suppression_removals), written once over the cursor (store/db.h).
 * Addresses are stored lower-cased; one entry per address in a workspace.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "store/db.h"
#include "store/sending.h"

static void lower_copy(char *out, size_t n, const char *s)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

static struct db_sql sql_add =
    DB_SQL("INSERT INTO suppressions (id, workspace_id, email, reason, note, contact_id,"
           " sent_email_id, created_by, created_at)"
           " VALUES (?1, ?2, ?3, ?4, ?5, NULLIF(?6, ''), NULLIF(?7, ''), NULLIF(?8, ''), ?9)"
           " ON CONFLICT (workspace_id, email) DO NOTHING");

int store_suppression_add(struct store *st, const char *workspace_id, struct suppression *s,
                          bool *created, struct errinfo *e)
{
    *created = false;
    char email[STORE_EMAIL_MAX];
    lower_copy(email, sizeof(email), s->email);
    if (!s->id[0])
        crypto_uuid(s->id);
    if (!s->created_at)
        s->created_at = clock_now_ms();
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_add, "adding a suppressed address");
    if (!rc) {
        db_bind_str(&c, 1, s->id);
        db_bind_str(&c, 2, workspace_id);
        db_bind_str(&c, 3, email);
        db_bind_str(&c, 4, s->reason);
        db_bind_opt(&c, 5, s->note);
        db_bind_str(&c, 6, s->contact_id);
        db_bind_str(&c, 7, s->sent_email_id);
        db_bind_str(&c, 8, s->created_by);
        db_bind_i64(&c, 9, s->created_at);
        rc = db_run(&c);
        *created = !rc && db_changes(&c) == 1;
    }
    return db_leave(&c, rc);
}

#define SUP_COLS                                                                                   \
    "id, email, reason, note, COALESCE(contact_id, ''), COALESCE(sent_email_id, ''),"              \
    " COALESCE(created_by, ''), created_at"

static void read_sup(struct db_cur *c, struct arena *a, void *row)
{
    struct suppression *o = row;
    memset(o, 0, sizeof(*o));
    db_col_copy(c, 0, o->id, sizeof(o->id));
    o->email = db_col_dup(c, 1, a);
    db_col_copy(c, 2, o->reason, sizeof(o->reason));
    o->note = db_col_opt(c, 3, a);
    db_col_copy(c, 4, o->contact_id, sizeof(o->contact_id));
    db_col_copy(c, 5, o->sent_email_id, sizeof(o->sent_email_id));
    db_col_copy(c, 6, o->created_by, sizeof(o->created_by));
    o->created_at = db_col_i64(c, 7);
}

static struct db_sql sql_find =
    DB_SQL("SELECT " SUP_COLS " FROM suppressions WHERE workspace_id = ?1 AND email = ?2");

int store_suppression_find(struct store *st, const char *workspace_id, const char *email,
                           struct arena *a, struct suppression *out, struct errinfo *e)
{
    char lower[STORE_EMAIL_MAX];
    lower_copy(lower, sizeof(lower), email);
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_find, "checking the suppression list");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, lower);
        rc = db_read_one(&c, read_sup, a, out, "suppressed address");
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_get =
    DB_SQL("SELECT " SUP_COLS " FROM suppressions WHERE workspace_id = ?1 AND id = ?2");

int store_suppression_get(struct store *st, const char *workspace_id, const char *id,
                          struct arena *a, struct suppression *out, struct errinfo *e)
{
    return db_get_by_id(st, &sql_get, workspace_id, id, read_sup, a, out,
                        "reading a suppressed address", "suppressed address", e);
}

/* instr and strpos: the same test, spelled by each database. */
#define SUP_FILTER(find)                                                                           \
    " FROM suppressions WHERE workspace_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR reason = ?2)"     \
    " AND (CAST(?3 AS TEXT) IS NULL OR " find "(email, ?3) > 0)"
#define SUP_PAGE " ORDER BY created_at DESC, id DESC LIMIT ?4 OFFSET ?5"

static struct db_sql sql_list =
    DB_SQL2("SELECT " SUP_COLS ", COUNT(*) OVER ()" SUP_FILTER("instr") SUP_PAGE,
            "SELECT " SUP_COLS ", COUNT(*) OVER ()" SUP_FILTER("strpos") SUP_PAGE);
static struct db_sql sql_count =
    DB_SQL2("SELECT COUNT(*)" SUP_FILTER("instr"), "SELECT COUNT(*)" SUP_FILTER("strpos"));

int store_suppression_list(struct store *st, const char *workspace_id,
                           const struct suppression_query *q, struct arena *a,
                           struct suppression **rows, size_t *n, int64_t *total, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    char email[STORE_EMAIL_MAX];
    lower_copy(email, sizeof(email), q->email);
    const char *like = q->email && *q->email ? email : NULL;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_list, "listing suppressed addresses");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, q->reason);
        db_bind_str(&c, 3, like);
        db_bind_i64(&c, 4, q->limit > 0 ? q->limit : 25);
        db_bind_i64(&c, 5, q->offset);
        rc = db_read_all(&c, read_sup, a, (void **)rows, sizeof(**rows), n, 8, total);
    }
    /* A page past the end still reports how many there are. */
    if (!rc && *n == 0 && q->offset > 0 &&
        !(rc = db_prepare(&c, &sql_count, "counting suppressed addresses"))) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, q->reason);
        db_bind_str(&c, 3, like);
        if ((rc = db_step(&c)) == DB_ROW) {
            *total = db_col_i64(&c, 0);
            rc = 0;
        }
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_log =
    DB_SQL("INSERT INTO suppression_removals (workspace_id, email, reason, removed_reason,"
           " removed_by, suppressed_at, removed_at)"
           " SELECT workspace_id, email, reason, ?3, ?4, created_at, ?5 FROM suppressions"
           " WHERE workspace_id = ?1 AND id = ?2");
static struct db_sql sql_remove =
    DB_SQL("DELETE FROM suppressions WHERE workspace_id = ?1 AND id = ?2");

int store_suppression_remove(struct store *st, const char *workspace_id, const char *id,
                             const char *removed_reason, const char *user_id, int64_t now,
                             struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_TX, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_log, "logging a removed suppression");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        db_bind_str(&c, 3, removed_reason);
        db_bind_opt(&c, 4, user_id);
        db_bind_i64(&c, 5, now);
        rc = db_run_one(&c, "suppressed address");
    }
    if (!rc && !(rc = db_prepare(&c, &sql_remove, "removing a suppressed address"))) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        rc = db_run_one(&c, "suppressed address");
    }
    return db_leave(&c, rc);
}
