/*
 * SQLite backend: generated content (drafts written for a contact, reviewed
 * by a person, then sent). Status changes are one conditional UPDATE each,
 * so two reviewers acting at once cannot both move the same draft.
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/sqlite_content.h"

/* The bit of enum content_status for a status column or parameter. */
#define STATUS_BIT(x)                                                                              \
    "(CASE " x " WHEN 'draft' THEN 1 WHEN 'approved' THEN 2 WHEN 'rejected' THEN 4"                \
    " WHEN 'sent' THEN 8 ELSE 0 END)"

#define CONTENT_COLS                                                                               \
    "g.id, g.workspace_id, g.contact_id, g.status, g.subjects, g.subject, g.body,"                 \
    " COALESCE(g.call_to_action,''), COALESCE(g.provider,''), COALESCE(g.reason,''),"              \
    " COALESCE(g.score_at_draft,-1), COALESCE(g.sent_email_id,''), COALESCE(g.reviewed_by,''),"    \
    " COALESCE(g.reviewed_at,0), g.created_at, g.updated_at, c.email, COALESCE(c.name,''),"        \
    " COALESCE(s.status,''), COALESCE(s.provider,''), COALESCE(s.sent_at,0)"
#define CONTENT_FROM                                                                               \
    " FROM generated_content g JOIN contacts c"                                                    \
    " ON c.workspace_id = g.workspace_id AND c.id = g.contact_id"                                  \
    " LEFT JOIN sent_emails s ON s.workspace_id = g.workspace_id AND s.id = g.sent_email_id"
#define CONTENT_FILTER                                                                             \
    " WHERE g.workspace_id = ?1 AND (?2 = 0 OR (?2 & " STATUS_BIT(                                 \
        "g.status") ") != 0)"                                                                      \
                    " AND (?3 IS NULL OR g.contact_id = ?3)"

static const char sql_insert[] =
    "INSERT INTO generated_content (id, workspace_id, contact_id, status, subjects, subject, body,"
    " call_to_action, provider, reason, score_at_draft, created_at, updated_at)"
    " SELECT ?1, ?2, id, 'draft', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11 FROM contacts"
    " WHERE workspace_id = ?2 AND id = ?3";
static const char sql_get[] =
    "SELECT " CONTENT_COLS CONTENT_FROM " WHERE g.workspace_id = ?1 AND g.id = ?2";
static const char sql_count[] = "SELECT COUNT(*)" CONTENT_FROM CONTENT_FILTER;
static const char sql_list[] = "SELECT " CONTENT_COLS CONTENT_FROM CONTENT_FILTER
                               " ORDER BY g.created_at DESC, g.rowid DESC LIMIT ?4 OFFSET ?5";
static const char sql_status[] =
    "SELECT status FROM generated_content WHERE workspace_id = ?1 AND id = ?2";
static const char sql_edit[] =
    "UPDATE generated_content SET subject = COALESCE(?3, subject), body = COALESCE(?4, body),"
    " call_to_action = COALESCE(?5, call_to_action), status = 'draft', reviewed_by = NULL,"
    " reviewed_at = NULL, updated_at = ?6"
    " WHERE workspace_id = ?1 AND id = ?2 AND status IN ('draft','approved')";
static const char sql_transition[] =
    "UPDATE generated_content SET status = ?4, reviewed_by = COALESCE(?5, reviewed_by),"
    " reviewed_at = CASE WHEN ?5 IS NULL THEN reviewed_at ELSE ?7 END,"
    " sent_email_id = COALESCE(?6, sent_email_id), updated_at = ?7"
    " WHERE workspace_id = ?1 AND id = ?2 AND (?3 & " STATUS_BIT("status") ") != 0";
static const char sql_crossing[] =
    "SELECT id FROM score_history WHERE workspace_id = ?1 AND contact_id = ?2"
    " AND previous < ?3 AND score >= ?3 ORDER BY created_at DESC, id DESC LIMIT 1";

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

static void content_row(sqlite3_stmt *st, struct arena *a, void *row)
{
    struct content *c = row;
    sq_col_copy(st, 0, c->id, sizeof(c->id));
    sq_col_copy(st, 1, c->workspace_id, sizeof(c->workspace_id));
    sq_col_copy(st, 2, c->contact_id, sizeof(c->contact_id));
    sq_col_copy(st, 3, c->status, sizeof(c->status));
    c->subjects = sq_col_dup(st, 4, a);
    c->subject = sq_col_dup(st, 5, a);
    c->body = sq_col_dup(st, 6, a);
    c->call_to_action = sq_col_dup(st, 7, a);
    c->provider = sq_col_dup(st, 8, a);
    c->reason = sq_col_dup(st, 9, a);
    c->score_at_draft = sqlite3_column_int(st, 10);
    sq_col_copy(st, 11, c->sent_email_id, sizeof(c->sent_email_id));
    sq_col_copy(st, 12, c->reviewed_by, sizeof(c->reviewed_by));
    c->reviewed_at = sqlite3_column_int64(st, 13);
    c->created_at = sqlite3_column_int64(st, 14);
    c->updated_at = sqlite3_column_int64(st, 15);
    c->contact_email = sq_col_dup(st, 16, a);
    c->contact_name = sq_col_dup(st, 17, a);
    c->delivery_status = sq_col_dup(st, 18, a);
    c->delivery_provider = sq_col_dup(st, 19, a);
    c->delivered_at = sqlite3_column_int64(st, 20);
}

/* Runs a statement that returns no rows; *changes gets the rows it changed. */
static int step_done(sqlite3_stmt *st, struct sq_conn *c, const char *what, int *changes,
                     struct errinfo *e)
{
    int src = sqlite3_step(st);
    int rc = src == SQLITE_DONE ? 0 : sq_fail(e, c->db, src, what);
    if (changes)
        *changes = rc ? 0 : sqlite3_changes(c->db);
    sq_done(st);
    return rc;
}

int sq_content_insert(struct store *base, const char *workspace_id, struct content *in, int64_t now,
                      struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_insert, &st, &c, e);
    if (rc)
        return rc;
    crypto_uuid(in->id);
    snprintf(in->workspace_id, sizeof(in->workspace_id), "%s", workspace_id);
    snprintf(in->status, sizeof(in->status), "draft");
    sq_bind_str(st, 1, in->id);
    sq_bind_str(st, 2, workspace_id);
    sq_bind_str(st, 3, in->contact_id);
    sq_bind_str(st, 4, in->subjects);
    sq_bind_str(st, 5, in->subject);
    sq_bind_str(st, 6, in->body);
    sq_bind_str(st, 7, in->call_to_action);
    sq_bind_str(st, 8, in->provider);
    sq_bind_str(st, 9, in->reason);
    if (in->score_at_draft >= 0)
        sqlite3_bind_int(st, 10, in->score_at_draft);
    else
        sqlite3_bind_null(st, 10);
    sqlite3_bind_int64(st, 11, now);
    if ((rc = sq_run_one(st, c, "storing a draft", "contact", e)))
        return rc;
    in->created_at = in->updated_at = now;
    in->reviewed_at = 0;
    in->sent_email_id[0] = in->reviewed_by[0] = '\0';
    return 0;
}

int sq_content_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                   struct content *out, struct errinfo *e)
{
    return sq_get_by_id((struct sq_store *)base, sql_get, workspace_id, id, content_row, a, out,
                        "reading a draft", "draft", e);
}

static void bind_filter(sqlite3_stmt *st, const char *workspace_id, const struct content_query *q)
{
    sq_bind_str(st, 1, workspace_id);
    sqlite3_bind_int(st, 2, (int)q->status);
    sq_bind_str(st, 3, q->contact_id);
}

int sq_content_list(struct store *base, const char *workspace_id, const struct content_query *q,
                    struct arena *a, struct content **rows, size_t *n, int64_t *total,
                    struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    *total = 0;
    int rc = sq_stmt(s, sql_count, &st, &c, e);
    if (rc)
        return rc;
    bind_filter(st, workspace_id, q);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *total = sqlite3_column_int64(st, 0);
    else
        rc = sq_fail(e, c->db, src, "counting drafts");
    sq_done(st);
    if (rc || *total == 0)
        return rc;

    if ((rc = sq_stmt(s, sql_list, &st, &c, e)))
        return rc;
    bind_filter(st, workspace_id, q);
    sqlite3_bind_int(st, 4, q->limit);
    sqlite3_bind_int(st, 5, q->offset);
    *rows = arena_alloc(a, sizeof(**rows) * (size_t)(q->limit > 0 ? q->limit : 1));
    while ((int)*n < q->limit && (src = sqlite3_step(st)) == SQLITE_ROW)
        content_row(st, a, &(*rows)[(*n)++]);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        rc = sq_fail(e, c->db, src, "listing drafts");
    sq_done(st);
    return rc;
}

/* After an update that changed nothing: ERR_NOT_FOUND, or ERR_CONFLICT naming the status. */
static int why_unchanged(struct sq_store *s, const char *workspace_id, const char *id,
                         const char *action, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_status, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        rc = failf(e, ERR_CONFLICT, "a draft that is %.16s cannot be %s",
                   (const char *)sqlite3_column_text(st, 0), action);
    else if (src == SQLITE_DONE)
        rc = failf(e, ERR_NOT_FOUND, "draft not found");
    else
        rc = sq_fail(e, c->db, src, "reading a draft");
    sq_done(st);
    return rc;
}

int sq_content_edit(struct store *base, const char *workspace_id, const char *id,
                    const char *subject, const char *body, const char *call_to_action, int64_t now,
                    struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_edit, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    sq_bind_str(st, 3, subject);
    sq_bind_str(st, 4, body);
    sq_bind_str(st, 5, call_to_action);
    sqlite3_bind_int64(st, 6, now);
    int changes;
    if ((rc = step_done(st, c, "editing a draft", &changes, e)))
        return rc;
    return changes ? 0 : why_unchanged(s, workspace_id, id, "edited", e);
}

int sq_content_transition(struct store *base, const char *workspace_id, const char *id,
                          unsigned from, enum content_status to, const char *reviewed_by,
                          const char *sent_email_id, int64_t now, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    const char *name = status_name(to);
    if (!name)
        return failf(e, ERR_INTERNAL, "unknown draft status %d", (int)to);
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_transition, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    sqlite3_bind_int(st, 3, (int)from);
    sq_bind_str(st, 4, name);
    sq_bind_str(st, 5, reviewed_by && *reviewed_by ? reviewed_by : NULL);
    sq_bind_str(st, 6, sent_email_id && *sent_email_id ? sent_email_id : NULL);
    sqlite3_bind_int64(st, 7, now);
    int changes;
    if ((rc = step_done(st, c, "changing a draft's status", &changes, e)))
        return rc;
    if (changes)
        return 0;
    const char *action = to == CONTENT_APPROVED   ? "approved"
                         : to == CONTENT_REJECTED ? "rejected"
                         : to == CONTENT_SENT     ? "sent"
                                                  : "changed";
    return why_unchanged(s, workspace_id, id, action, e);
}

int sq_content_hot_crossing(struct store *base, const char *workspace_id, const char *contact_id,
                            int min_score, int64_t *history_id, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *history_id = 0;
    int rc = sq_stmt(s, sql_crossing, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, contact_id);
    sqlite3_bind_int(st, 3, min_score);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *history_id = sqlite3_column_int64(st, 0);
    else if (src != SQLITE_DONE)
        rc = sq_fail(e, c->db, src, "reading score history");
    sq_done(st);
    return rc;
}
