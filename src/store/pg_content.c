/*
 * PostgreSQL backend: generated content (drafts written for a contact,
 * reviewed by a person, then sent). Status changes are one conditional
 * UPDATE each, so two reviewers acting at once cannot both move the same draft.
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/pg_content.h"
#include "store/pg_int.h"

/* The bit of enum content_status for a status column. */
#define STATUS_BIT(x)                                                                              \
    "(CASE " x " WHEN 'draft' THEN 1 WHEN 'approved' THEN 2 WHEN 'rejected' THEN 4"                \
    " WHEN 'sent' THEN 8 ELSE 0 END)"

#define CONTENT_COLS                                                                               \
    "g.id, g.workspace_id, g.contact_id, g.status, g.subjects::text, g.subject, g.body,"           \
    " COALESCE(g.call_to_action,''), COALESCE(g.provider,''), COALESCE(g.reason,''),"              \
    " COALESCE(g.score_at_draft,-1), COALESCE(g.sent_email_id,''), COALESCE(g.reviewed_by,''),"    \
    " COALESCE(g.reviewed_at,0), g.created_at, g.updated_at, c.email, COALESCE(c.name,''),"        \
    " COALESCE(s.status,''), COALESCE(s.provider,''), COALESCE(s.sent_at,0)"
#define CONTENT_FROM                                                                               \
    " FROM generated_content g JOIN contacts c"                                                    \
    " ON c.workspace_id = g.workspace_id AND c.id = g.contact_id"                                  \
    " LEFT JOIN sent_emails s ON s.workspace_id = g.workspace_id AND s.id = g.sent_email_id"
#define CONTENT_FILTER                                                                             \
    " WHERE g.workspace_id = $1 AND ($2::int = 0 OR ($2::int & " STATUS_BIT(                       \
        "g.status") ") <> 0)"                                                                      \
                    " AND ($3::text IS NULL OR g.contact_id = $3)"

static const char sql_insert[] =
    "INSERT INTO generated_content (id, workspace_id, contact_id, status, subjects, subject, body,"
    " call_to_action, provider, reason, score_at_draft, created_at, updated_at)"
    " SELECT $1, $2, id, 'draft', $4::jsonb, $5, $6, $7, $8, $9, $10::int, $11, $11"
    " FROM contacts WHERE workspace_id = $2 AND id = $3";
static const char sql_get[] =
    "SELECT " CONTENT_COLS CONTENT_FROM " WHERE g.workspace_id = $1 AND g.id = $2";
static const char sql_count[] = "SELECT COUNT(*)" CONTENT_FROM CONTENT_FILTER;
/* No rowid here: ties in created_at go by id (SQLite: by rowid), so two
 * drafts of the same millisecond may list in another order than there. */
static const char sql_list[] = "SELECT " CONTENT_COLS CONTENT_FROM CONTENT_FILTER
                               " ORDER BY g.created_at DESC, g.id DESC LIMIT $4 OFFSET $5";
static const char sql_status[] =
    "SELECT status FROM generated_content WHERE workspace_id = $1 AND id = $2";
static const char sql_edit[] =
    "UPDATE generated_content SET subject = COALESCE($3, subject), body = COALESCE($4, body),"
    " call_to_action = COALESCE($5, call_to_action), status = 'draft', reviewed_by = NULL,"
    " reviewed_at = NULL, updated_at = $6"
    " WHERE workspace_id = $1 AND id = $2 AND status IN ('draft','approved')";
static const char sql_transition[] =
    "UPDATE generated_content SET status = $4, reviewed_by = COALESCE($5, reviewed_by),"
    " reviewed_at = CASE WHEN $5::text IS NULL THEN reviewed_at ELSE $7 END,"
    " sent_email_id = COALESCE($6, sent_email_id), updated_at = $7"
    " WHERE workspace_id = $1 AND id = $2 AND ($3::int & " STATUS_BIT("status") ") <> 0";

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

static void content_row(const PGresult *r, int i, struct arena *a, struct content *c)
{
    pg_col_copy(r, i, 0, c->id, sizeof(c->id));
    pg_col_copy(r, i, 1, c->workspace_id, sizeof(c->workspace_id));
    pg_col_copy(r, i, 2, c->contact_id, sizeof(c->contact_id));
    pg_col_copy(r, i, 3, c->status, sizeof(c->status));
    c->subjects = pg_col_dup(r, i, 4, a);
    c->subject = pg_col_dup(r, i, 5, a);
    c->body = pg_col_dup(r, i, 6, a);
    c->call_to_action = pg_col_dup(r, i, 7, a);
    c->provider = pg_col_dup(r, i, 8, a);
    c->reason = pg_col_dup(r, i, 9, a);
    c->score_at_draft = (int)pg_col_i64(r, i, 10);
    pg_col_copy(r, i, 11, c->sent_email_id, sizeof(c->sent_email_id));
    pg_col_copy(r, i, 12, c->reviewed_by, sizeof(c->reviewed_by));
    c->reviewed_at = pg_col_i64(r, i, 13);
    c->created_at = pg_col_i64(r, i, 14);
    c->updated_at = pg_col_i64(r, i, 15);
    c->contact_email = pg_col_dup(r, i, 16, a);
    c->contact_name = pg_col_dup(r, i, 17, a);
    c->delivery_status = pg_col_dup(r, i, 18, a);
    c->delivery_provider = pg_col_dup(r, i, 19, a);
    c->delivered_at = pg_col_i64(r, i, 20);
}

int pg_content_insert(struct store *base, const char *workspace_id, struct content *in, int64_t now,
                      struct errinfo *e)
{
    crypto_uuid(in->id);
    snprintf(in->workspace_id, sizeof(in->workspace_id), "%s", workspace_id);
    snprintf(in->status, sizeof(in->status), "draft");
    struct pg_params p = {0};
    pg_p_str(&p, in->id);
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, in->contact_id);
    pg_p_str(&p, in->subjects);
    pg_p_str(&p, in->subject);
    pg_p_str(&p, in->body);
    pg_p_str(&p, in->call_to_action);
    pg_p_str(&p, in->provider);
    pg_p_str(&p, in->reason);
    if (in->score_at_draft >= 0)
        pg_p_i64(&p, in->score_at_draft);
    else
        pg_p_str(&p, NULL);
    pg_p_i64(&p, now);
    int64_t rows = 0;
    int rc = pg_once_run((struct pg_store *)base, workspace_id, sql_insert, &p, &rows,
                         "storing a draft", e);
    if (rc)
        return rc;
    if (rows == 0)
        return failf(e, ERR_NOT_FOUND, "contact not found");
    in->created_at = in->updated_at = now;
    in->reviewed_at = 0;
    in->sent_email_id[0] = in->reviewed_by[0] = '\0';
    return 0;
}

int pg_content_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                   struct content *out, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_get, &p, &r, "reading a draft", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        content_row(r, 0, a, out);
    else
        rc = failf(e, ERR_NOT_FOUND, "draft not found");
    PQclear(r);
    return rc;
}

int pg_content_list(struct store *base, const char *workspace_id, const struct content_query *q,
                    struct arena *a, struct content **rows, size_t *n, int64_t *total,
                    struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_i64(&p, (int64_t)q->status);
    pg_p_str(&p, q->contact_id);
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    PGresult *r;
    if ((rc = pg_exec(&x, sql_count, &p, &r, "counting drafts", e)))
        return pg_leave(&x, rc, e);
    *total = pg_col_i64(r, 0, 0);
    PQclear(r);
    if (*total > 0 && q->limit > 0) {
        pg_p_i64(&p, q->limit);
        pg_p_i64(&p, q->offset);
        if (!(rc = pg_exec(&x, sql_list, &p, &r, "listing drafts", e))) {
            int nt = PQntuples(r);
            *rows = pg_rows(a, r, sizeof(**rows));
            for (int i = 0; i < nt; i++) {
                memset(&(*rows)[i], 0, sizeof(**rows));
                content_row(r, i, a, &(*rows)[i]);
            }
            *n = (size_t)nt;
            PQclear(r);
        }
    }
    return pg_leave(&x, rc, e);
}

/* After an update that changed nothing: ERR_NOT_FOUND, or ERR_CONFLICT naming the status. */
static int why_unchanged(struct pg_store *s, const char *workspace_id, const char *id,
                         const char *action, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    PGresult *r;
    int rc = pg_once(s, workspace_id, sql_status, &p, &r, "reading a draft", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        rc = failf(e, ERR_CONFLICT, "a draft that is %.16s cannot be %s", PQgetvalue(r, 0, 0),
                   action);
    else
        rc = failf(e, ERR_NOT_FOUND, "draft not found");
    PQclear(r);
    return rc;
}

int pg_content_edit(struct store *base, const char *workspace_id, const char *id,
                    const char *subject, const char *body, const char *call_to_action, int64_t now,
                    struct errinfo *e)
{
    struct pg_store *s = (struct pg_store *)base;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    pg_p_str(&p, subject);
    pg_p_str(&p, body);
    pg_p_str(&p, call_to_action);
    pg_p_i64(&p, now);
    int64_t rows = 0;
    int rc = pg_once_run(s, workspace_id, sql_edit, &p, &rows, "editing a draft", e);
    if (rc)
        return rc;
    return rows ? 0 : why_unchanged(s, workspace_id, id, "edited", e);
}

int pg_content_transition(struct store *base, const char *workspace_id, const char *id,
                          unsigned from, enum content_status to, const char *reviewed_by,
                          const char *sent_email_id, int64_t now, struct errinfo *e)
{
    struct pg_store *s = (struct pg_store *)base;
    const char *name = status_name(to);
    if (!name)
        return failf(e, ERR_INTERNAL, "unknown draft status %d", (int)to);
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    pg_p_i64(&p, (int64_t)from);
    pg_p_str(&p, name);
    pg_p_opt(&p, reviewed_by);
    pg_p_opt(&p, sent_email_id);
    pg_p_i64(&p, now);
    int64_t rows = 0;
    int rc =
        pg_once_run(s, workspace_id, sql_transition, &p, &rows, "changing a draft's status", e);
    if (rc)
        return rc;
    if (rows)
        return 0;
    const char *action = to == CONTENT_APPROVED   ? "approved"
                         : to == CONTENT_REJECTED ? "rejected"
                         : to == CONTENT_SENT     ? "sent"
                                                  : "changed";
    return why_unchanged(s, workspace_id, id, action, e);
}
