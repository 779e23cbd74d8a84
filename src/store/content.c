/*
 * Generated content (drafts written for a contact, reviewed by a person,
 * then sent), written once over the cursor (store/db.h). Status changes are
 * one conditional UPDATE each, so two reviewers acting at once cannot both
 * move the same draft.
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/db.h"
#include "store/db_ops.h"
#include "store/sending.h"

/* The bit of enum content_status for a status column. */
#define STATUS_BIT(x)                                                                              \
    "(CASE " x " WHEN 'draft' THEN 1 WHEN 'approved' THEN 2 WHEN 'rejected' THEN 4"                \
    " WHEN 'sent' THEN 8 ELSE 0 END)"

#define CONTENT_COLS                                                                               \
    "g.id, g.workspace_id, g.contact_id, g.status, CAST(g.subjects AS TEXT), g.subject, g.body,"   \
    " COALESCE(g.call_to_action,''), COALESCE(g.provider,''), COALESCE(g.reason,''),"              \
    " COALESCE(g.score_at_draft,-1), COALESCE(g.sent_email_id,''), COALESCE(g.reviewed_by,''),"    \
    " COALESCE(g.reviewed_at,0), g.created_at, g.updated_at, c.email, COALESCE(c.name,''),"        \
    " COALESCE(s.status,''), COALESCE(s.provider,''), COALESCE(s.sent_at,0)"
#define CONTENT_FROM                                                                               \
    " FROM generated_content g JOIN contacts c"                                                    \
    " ON c.workspace_id = g.workspace_id AND c.id = g.contact_id"                                  \
    " LEFT JOIN sent_emails s ON s.workspace_id = g.workspace_id AND s.id = g.sent_email_id"
#define CONTENT_FILTER                                                                             \
    " WHERE g.workspace_id = ?1 AND (CAST(?2 AS INTEGER) = 0"                                      \
    " OR (CAST(?2 AS INTEGER) & " STATUS_BIT(                                                      \
        "g.status") ") <> 0)"                                                                      \
                    " AND (CAST(?3 AS TEXT) IS NULL OR g.contact_id = ?3)"

#define INSERT_INTO                                                                                \
    "INSERT INTO generated_content (id, workspace_id, contact_id, status, subjects, subject, "     \
    "body,"                                                                                        \
    " call_to_action, provider, reason, score_at_draft, created_at, updated_at)"
static struct db_sql sql_insert =
    DB_SQL2(INSERT_INTO " SELECT ?1, ?2, id, 'draft', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11"
                        " FROM contacts WHERE workspace_id = ?2 AND id = ?3",
            INSERT_INTO " SELECT $1, $2, id, 'draft', $4::jsonb, $5, $6, $7, $8, $9, $10::int,"
                        " $11, $11 FROM contacts WHERE workspace_id = $2 AND id = $3");
static struct db_sql sql_get =
    DB_SQL("SELECT " CONTENT_COLS CONTENT_FROM " WHERE g.workspace_id = ?1 AND g.id = ?2");
static struct db_sql sql_count = DB_SQL("SELECT COUNT(*)" CONTENT_FROM CONTENT_FILTER);
/* PostgreSQL has no rowid: ties in created_at go by id there, so two drafts
 * of the same millisecond may list in another order than on SQLite. */
static struct db_sql sql_list =
    DB_SQL2("SELECT " CONTENT_COLS CONTENT_FROM CONTENT_FILTER
            " ORDER BY g.created_at DESC, g.rowid DESC LIMIT ?4 OFFSET ?5",
            "SELECT " CONTENT_COLS CONTENT_FROM CONTENT_FILTER
            " ORDER BY g.created_at DESC, g.id DESC LIMIT ?4 OFFSET ?5");
static struct db_sql sql_status =
    DB_SQL("SELECT status FROM generated_content WHERE workspace_id = ?1 AND id = ?2");
static struct db_sql sql_edit =
    DB_SQL("UPDATE generated_content SET subject = COALESCE(?3, subject),"
           " body = COALESCE(?4, body), call_to_action = COALESCE(?5, call_to_action),"
           " status = 'draft', reviewed_by = NULL, reviewed_at = NULL, updated_at = ?6"
           " WHERE workspace_id = ?1 AND id = ?2 AND status IN ('draft','approved')");
static struct db_sql sql_transition =
    DB_SQL("UPDATE generated_content SET status = ?4, reviewed_by = COALESCE(?5, reviewed_by),"
           " reviewed_at = CASE WHEN CAST(?5 AS TEXT) IS NULL THEN reviewed_at ELSE ?7 END,"
           " sent_email_id = COALESCE(?6, sent_email_id), updated_at = ?7"
           " WHERE workspace_id = ?1 AND id = ?2"
           " AND (CAST(?3 AS INTEGER) & " STATUS_BIT("status") ") <> 0");
static struct db_sql sql_crossing =
    DB_SQL("SELECT id FROM score_history WHERE workspace_id = ?1 AND contact_id = ?2"
           " AND previous < ?3 AND score >= ?3 ORDER BY created_at DESC, id DESC LIMIT 1");

static const char *status_name(enum content_status s)
{
    switch (s) {
    case CONTENT_DRAFT:
        return "draft";
    case CONTENT_APPROVED:
        return "approved";
    case CONTENT_REJECTED:
        return "rejected";
    case CONTENT_SENT:
        return "sent";
    }
    return NULL;
}

static void content_row(struct db_cur *c, struct arena *a, void *row)
{
    struct content *g = row;
    db_col_copy(c, 0, g->id, sizeof(g->id));
    db_col_copy(c, 1, g->workspace_id, sizeof(g->workspace_id));
    db_col_copy(c, 2, g->contact_id, sizeof(g->contact_id));
    db_col_copy(c, 3, g->status, sizeof(g->status));
    g->subjects = db_col_dup(c, 4, a);
    g->subject = db_col_dup(c, 5, a);
    g->body = db_col_dup(c, 6, a);
    g->call_to_action = db_col_dup(c, 7, a);
    g->provider = db_col_dup(c, 8, a);
    g->reason = db_col_dup(c, 9, a);
    g->score_at_draft = db_col_int(c, 10);
    db_col_copy(c, 11, g->sent_email_id, sizeof(g->sent_email_id));
    db_col_copy(c, 12, g->reviewed_by, sizeof(g->reviewed_by));
    g->reviewed_at = db_col_i64(c, 13);
    g->created_at = db_col_i64(c, 14);
    g->updated_at = db_col_i64(c, 15);
    g->contact_email = db_col_dup(c, 16, a);
    g->contact_name = db_col_dup(c, 17, a);
    g->delivery_status = db_col_dup(c, 18, a);
    g->delivery_provider = db_col_dup(c, 19, a);
    g->delivered_at = db_col_i64(c, 20);
}

int store_content_insert(struct store *st, const char *workspace_id, struct content *in,
                         int64_t now, struct errinfo *e)
{
    crypto_uuid(in->id);
    snprintf(in->workspace_id, sizeof(in->workspace_id), "%s", workspace_id);
    snprintf(in->status, sizeof(in->status), "draft");
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_insert, "storing a draft");
    if (!rc) {
        db_bind_str(&c, 1, in->id);
        db_bind_str(&c, 2, workspace_id);
        db_bind_str(&c, 3, in->contact_id);
        db_bind_str(&c, 4, in->subjects);
        db_bind_str(&c, 5, in->subject);
        db_bind_str(&c, 6, in->body);
        db_bind_str(&c, 7, in->call_to_action);
        db_bind_str(&c, 8, in->provider);
        db_bind_str(&c, 9, in->reason);
        if (in->score_at_draft >= 0)
            db_bind_i64(&c, 10, in->score_at_draft);
        db_bind_i64(&c, 11, now);
        rc = db_run_one(&c, "contact");
    }
    if ((rc = db_leave(&c, rc)))
        return rc;
    in->created_at = in->updated_at = now;
    in->reviewed_at = 0;
    in->sent_email_id[0] = in->reviewed_by[0] = '\0';
    return 0;
}

int store_content_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                      struct content *out, struct errinfo *e)
{
    return db_get_by_id(st, &sql_get, workspace_id, id, content_row, a, out, "reading a draft",
                        "draft", e);
}

static void bind_filter(struct db_cur *c, const char *workspace_id, const struct content_query *q)
{
    db_bind_str(c, 1, workspace_id);
    db_bind_i64(c, 2, (int64_t)q->status);
    db_bind_str(c, 3, q->contact_id);
}

int store_content_list(struct store *st, const char *workspace_id, const struct content_query *q,
                       struct arena *a, struct content **rows, size_t *n, int64_t *total,
                       struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_count, "counting drafts");
    if (!rc) {
        bind_filter(&c, workspace_id, q);
        if ((rc = db_step(&c)) == DB_ROW) {
            *total = db_col_i64(&c, 0);
            rc = 0;
        }
    }
    if (!rc && *total > 0 && q->limit > 0 && !(rc = db_prepare(&c, &sql_list, "listing drafts"))) {
        bind_filter(&c, workspace_id, q);
        db_bind_i64(&c, 4, q->limit);
        db_bind_i64(&c, 5, q->offset);
        *rows = arena_alloc(a, sizeof(**rows) * (size_t)q->limit);
        while ((int)*n < q->limit && (rc = db_step(&c)) == DB_ROW) {
            memset(&(*rows)[*n], 0, sizeof(**rows));
            content_row(&c, a, &(*rows)[(*n)++]);
        }
        rc = rc < 0 ? rc : 0;
    }
    return db_leave(&c, rc);
}

/* After an update that changed nothing: ERR_NOT_FOUND, or ERR_CONFLICT
 * naming the status (a second op: the update's went out alone). */
static int why_unchanged(struct store *st, const char *workspace_id, const char *id,
                         const char *action, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_status, "reading a draft");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        rc = db_step(&c);
        if (rc == DB_ROW)
            rc = failf(e, ERR_CONFLICT, "a draft that is %.16s cannot be %s", db_col_text(&c, 0),
                       action);
        else if (rc == DB_DONE)
            rc = failf(e, ERR_NOT_FOUND, "draft not found");
    }
    return db_leave(&c, rc);
}

/* Runs the prepared update and ends the op; *changed: it changed a row. */
static int update(struct db_cur *c, bool *changed)
{
    int rc = db_run(c);
    *changed = !rc && db_changes(c) > 0;
    return db_leave(c, rc);
}

int store_content_edit(struct store *st, const char *workspace_id, const char *id,
                       const char *subject, const char *body, const char *call_to_action,
                       int64_t now, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    if ((rc = db_prepare(&c, &sql_edit, "editing a draft")))
        return db_leave(&c, rc);
    db_bind_str(&c, 1, workspace_id);
    db_bind_str(&c, 2, id);
    db_bind_str(&c, 3, subject);
    db_bind_str(&c, 4, body);
    db_bind_str(&c, 5, call_to_action);
    db_bind_i64(&c, 6, now);
    bool changed;
    if ((rc = update(&c, &changed)))
        return rc;
    return changed ? 0 : why_unchanged(st, workspace_id, id, "edited", e);
}

int store_content_transition(struct store *st, const char *workspace_id, const char *id,
                             unsigned from, enum content_status to, const char *reviewed_by,
                             const char *sent_email_id, int64_t now, struct errinfo *e)
{
    const char *name = status_name(to);
    if (!name)
        return failf(e, ERR_INTERNAL, "unknown draft status %d", (int)to);
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    if ((rc = db_prepare(&c, &sql_transition, "changing a draft's status")))
        return db_leave(&c, rc);
    db_bind_str(&c, 1, workspace_id);
    db_bind_str(&c, 2, id);
    db_bind_i64(&c, 3, (int64_t)from);
    db_bind_str(&c, 4, name);
    db_bind_opt(&c, 5, reviewed_by);
    db_bind_opt(&c, 6, sent_email_id);
    db_bind_i64(&c, 7, now);
    bool changed;
    if ((rc = update(&c, &changed)))
        return rc;
    if (changed)
        return 0;
    const char *action = to == CONTENT_APPROVED   ? "approved"
                         : to == CONTENT_REJECTED ? "rejected"
                         : to == CONTENT_SENT     ? "sent"
                                                  : "changed";
    return why_unchanged(st, workspace_id, id, action, e);
}

int store_content_hot_crossing(struct store *st, const char *workspace_id, const char *contact_id,
                               int min_score, int64_t *history_id, struct errinfo *e)
{
    *history_id = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_crossing, "reading score history");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, contact_id);
        db_bind_i64(&c, 3, min_score);
        if ((rc = db_step(&c)) == DB_ROW)
            *history_id = db_col_i64(&c, 0);
        rc = rc < 0 ? rc : 0;
    }
    return db_leave(&c, rc);
}
