/*
 * PostgreSQL backend: contacts, with filtering, sorting, paging and search
 * (a tsvector column with a GIN index: every word of the query must be the
 * prefix of a word of the email, name, company or job title, case and common
 * diacritics folded by leadflow_fold, as FTS5 does on SQLite).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "store/pg_contacts.h"
#include "store/pg_int.h"

#define CONTACT_COLS PG_CONTACT_COLS

/* $6: the words typed, each a prefix; none (only separators) matches nothing. */
#define FILTER                                                                                     \
    " FROM contacts c WHERE c.workspace_id = $1 AND ($2::text IS NULL OR c.status = $2)"           \
    " AND ($3::int IS NULL OR c.ai_score >= $3) AND ($4::int IS NULL OR c.ai_score <= $4)"         \
    " AND ($5::text IS NULL OR c.tags @> jsonb_build_array($5::text))"                             \
    " AND ($6::text IS NULL OR c.search @@ (SELECT to_tsquery('simple',"                           \
    " string_agg(quote_literal(w) || ':*', ' & ')) FROM regexp_split_to_table(leadflow_fold($6),"  \
    " ' +') w WHERE w <> ''))"

#define LIST(order)                                                                                \
    "SELECT " CONTACT_COLS FILTER " ORDER BY " order ", c.id COLLATE \"C\""                        \
    " LIMIT $7 OFFSET $8"

/* [sort][descending?]; SQLite's order: NULLs first going up, names and
 * emails without regard to case, ties by id. */
static const char *const sql_list[CS_COUNT][2] = {
    [CS_CREATED] = {LIST("c.created_at"), LIST("c.created_at DESC")},
    [CS_UPDATED] = {LIST("c.updated_at"), LIST("c.updated_at DESC")},
    [CS_SCORE] = {LIST("c.ai_score"), LIST("c.ai_score DESC")},
    [CS_NAME] = {LIST("lower(c.name) COLLATE \"C\" NULLS FIRST"),
                 LIST("lower(c.name) COLLATE \"C\" DESC NULLS LAST")},
    [CS_EMAIL] = {LIST("lower(c.email) COLLATE \"C\""), LIST("lower(c.email) COLLATE \"C\" DESC")},
    [CS_LAST_INTERACTION] = {LIST("c.last_interaction NULLS FIRST"),
                             LIST("c.last_interaction DESC NULLS LAST")},
};
static const char sql_count[] = "SELECT COUNT(*)" FILTER;

static const char sql_get[] = "SELECT " CONTACT_COLS " FROM contacts c"
                              " WHERE c.workspace_id = $1 AND c.id = $2";
static const char sql_insert[] =
    "INSERT INTO contacts AS c (id, workspace_id, email, name, company, job_title, status, tags,"
    " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, 'prospect'),"
    " COALESCE($8::jsonb, '[]'), $9, $9) RETURNING " CONTACT_COLS;
static const char sql_update[] = "UPDATE contacts c SET"
                                 " email = CASE WHEN $3::boolean THEN $4 ELSE email END,"
                                 " name = CASE WHEN $5::boolean THEN $6 ELSE name END,"
                                 " company = CASE WHEN $7::boolean THEN $8 ELSE company END,"
                                 " job_title = CASE WHEN $9::boolean THEN $10 ELSE job_title END,"
                                 " status = CASE WHEN $11::boolean THEN $12 ELSE status END,"
                                 " tags = CASE WHEN $13::boolean THEN $14::jsonb ELSE tags END,"
                                 " updated_at = $15"
                                 " WHERE c.workspace_id = $1 AND c.id = $2 RETURNING " CONTACT_COLS;
static const char sql_delete[] = "DELETE FROM contacts WHERE workspace_id = $1 AND id = $2";

void pg_contact_row(const PGresult *r, int i, struct arena *a, struct contact *c)
{
    pg_col_copy(r, i, 0, c->id, sizeof(c->id));
    pg_col_copy(r, i, 1, c->workspace_id, sizeof(c->workspace_id));
    pg_col_copy(r, i, 2, c->email, sizeof(c->email));
    pg_col_copy(r, i, 3, c->name, sizeof(c->name));
    pg_col_copy(r, i, 4, c->company, sizeof(c->company));
    pg_col_copy(r, i, 5, c->job_title, sizeof(c->job_title));
    pg_col_copy(r, i, 6, c->status, sizeof(c->status));
    c->tags = pg_col_null(r, i, 7) ? arena_strdup(a, "[]") : pg_col_dup(r, i, 7, a);
    c->ai_score = (int)pg_col_i64(r, i, 8);
    c->score_engagement = pg_col_dbl(r, i, 9);
    c->score_sentiment = pg_col_dbl(r, i, 10);
    c->score_intent = pg_col_dbl(r, i, 11);
    c->score_role = pg_col_dbl(r, i, 12);
    c->score_status = pg_col_dbl(r, i, 13);
    c->has_sentiment = !pg_col_null(r, i, 14);
    c->sentiment = pg_col_dbl(r, i, 14);
    c->last_interaction = pg_col_i64(r, i, 15);
    c->unsubscribed_at = pg_col_i64(r, i, 16);
    c->created_at = pg_col_i64(r, i, 17);
    c->updated_at = pg_col_i64(r, i, 18);
    c->score_reasons = pg_col_dup(r, i, 19, a);
}

int pg_contact_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                   struct contact *out, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    PGresult *r;
    int rc =
        pg_once((struct pg_store *)base, workspace_id, sql_get, &p, &r, "reading a contact", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        pg_contact_row(r, 0, a, out);
    else
        rc = failf(e, ERR_NOT_FOUND, "contact not found");
    PQclear(r);
    return rc;
}

/* An integrity failure on insert or update: the per-workspace unique email,
 * or a value a CHECK refuses. */
static int write_fail(struct errinfo *e, int rc, const char *email)
{
    if (rc != ERR_CONFLICT)
        return rc;
    if (strstr(e->msg, "contacts_email"))
        return failf(e, ERR_CONFLICT, "a contact with email %s already exists in this workspace",
                     email ? email : "(this address)");
    return failf(e, ERR_INVALID, "a contact field has a value the database refuses");
}

int pg_contact_create(struct store *base, const char *workspace_id, const struct contact_fields *f,
                      int64_t now, struct arena *a, struct contact *out, struct errinfo *e)
{
    char id[STORE_ID_LEN];
    crypto_uuid(id);
    struct pg_params p = {0};
    pg_p_str(&p, id);
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, f->email);
    pg_p_str(&p, (f->set & CF_NAME) ? f->name : NULL);
    pg_p_str(&p, (f->set & CF_COMPANY) ? f->company : NULL);
    pg_p_str(&p, (f->set & CF_JOB_TITLE) ? f->job_title : NULL);
    pg_p_str(&p, (f->set & CF_STATUS) ? f->status : NULL);
    pg_p_str(&p, (f->set & CF_TAGS) ? f->tags : NULL);
    pg_p_i64(&p, now);
    PGresult *r;
    int rc =
        pg_once((struct pg_store *)base, workspace_id, sql_insert, &p, &r, "saving a contact", e);
    if (rc)
        return write_fail(e, rc, f->email);
    pg_contact_row(r, 0, a, out);
    PQclear(r);
    return 0;
}

int pg_contact_update(struct store *base, const char *workspace_id, const char *id,
                      const struct contact_fields *f, int64_t now, struct arena *a,
                      struct contact *out, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    static const unsigned bits[] = {CF_EMAIL,     CF_NAME,   CF_COMPANY,
                                    CF_JOB_TITLE, CF_STATUS, CF_TAGS};
    const char *vals[] = {f->email, f->name, f->company, f->job_title, f->status, f->tags};
    for (int i = 0; i < 6; i++) {
        pg_p_bool(&p, (f->set & bits[i]) != 0);
        pg_p_str(&p, vals[i]);
    }
    pg_p_i64(&p, now);
    PGresult *r;
    int rc =
        pg_once((struct pg_store *)base, workspace_id, sql_update, &p, &r, "saving a contact", e);
    if (rc)
        return write_fail(e, rc, f->email);
    if (PQntuples(r) > 0)
        pg_contact_row(r, 0, a, out);
    else
        rc = failf(e, ERR_NOT_FOUND, "contact not found");
    PQclear(r);
    return rc;
}

int pg_contact_delete(struct store *base, const char *workspace_id, const char *id,
                      struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    PGresult *r;
    int rc =
        pg_once((struct pg_store *)base, workspace_id, sql_delete, &p, &r, "deleting a contact", e);
    if (rc)
        return rc;
    const char *t = PQcmdTuples(r);
    if (strcmp(t, "0") == 0)
        rc = failf(e, ERR_NOT_FOUND, "contact not found");
    PQclear(r);
    return rc;
}

int pg_contact_list(struct store *base, const char *workspace_id, const struct contact_query *q,
                    struct arena *a, struct contact **rows, size_t *n, int64_t *total,
                    struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    int sort = q->sort >= 0 && q->sort < CS_COUNT ? (int)q->sort : CS_CREATED;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, q->status);
    if (q->min_score >= 0)
        pg_p_i64(&p, q->min_score);
    else
        pg_p_str(&p, NULL);
    if (q->max_score >= 0)
        pg_p_i64(&p, q->max_score);
    else
        pg_p_str(&p, NULL);
    pg_p_str(&p, q->tag);
    pg_p_opt(&p, q->text);
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    PGresult *r = NULL;
    rc = pg_exec(&x, sql_count, &p, &r, "counting contacts", e);
    if (!rc) {
        *total = pg_col_i64(r, 0, 0);
        PQclear(r);
        r = NULL;
    }
    if (!rc && *total > 0) {
        pg_p_i64(&p, q->limit);
        pg_p_i64(&p, q->offset);
        rc = pg_exec(&x, sql_list[sort][q->desc ? 1 : 0], &p, &r, "listing contacts", e);
    }
    if (!rc && r) {
        int nt = PQntuples(r);
        if (nt > q->limit)
            nt = q->limit > 0 ? q->limit : 0;
        *rows = pg_rows(a, r, sizeof(**rows));
        for (int i = 0; i < nt; i++)
            pg_contact_row(r, i, a, &(*rows)[i]);
        *n = (size_t)nt;
    }
    PQclear(r);
    return pg_leave(&x, rc, e);
}

/* ---- campaigns (what creating or tagging a contact needs) ---- */

static const char sql_triggered[] =
    "SELECT id, name, status, trigger::text, allow_reenroll, created_at, updated_at"
    " FROM drip_campaigns"
    " WHERE workspace_id = $1 AND trigger->>'type' = $2 AND status = 'active'"
    " ORDER BY created_at, id COLLATE \"C\"";

int pg_campaign_triggered(struct store *base, const char *workspace_id, const char *type,
                          struct arena *a, struct campaign **rows, size_t *n, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, type);
    PGresult *r;
    *rows = NULL;
    *n = 0;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_triggered, &p, &r,
                     "reading triggered campaigns", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++) {
        struct campaign *c = &(*rows)[i];
        pg_col_copy(r, i, 0, c->id, sizeof(c->id));
        pg_col_copy(r, i, 1, c->name, sizeof(c->name));
        pg_col_copy(r, i, 2, c->status, sizeof(c->status));
        c->trigger = pg_col_opt(r, i, 3, a);
        c->allow_reenroll = pg_col_bool(r, i, 4);
        c->created_at = pg_col_i64(r, i, 5);
        c->updated_at = pg_col_i64(r, i, 6);
    }
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

/* The drip job of each active enrollment of the contact waiting at a "wait
 * until" step (its idempotency key names the enrollment, step and sequence). */
static const char sql_wake[] =
    "UPDATE jobs SET run_at = $3, updated_at = $3 WHERE idempotency_key IN ("
    "  SELECT 'drip:' || n.id || ':' || n.current_step_id || ':' || n.step_seq"
    "  FROM campaign_enrollments n JOIN campaign_steps s"
    "   ON s.workspace_id = n.workspace_id AND s.id = n.current_step_id"
    "  WHERE n.workspace_id = $1 AND n.contact_id = $2 AND n.status = 'active'"
    "   AND s.step_type = 'wait' AND s.config->>'until' IS NOT NULL)"
    " AND workspace_id = $1 AND status = 'queued' AND run_at > $3";

int pg_enrollment_wake(struct store *base, const char *workspace_id, const char *contact_id,
                       int64_t now, int64_t *n, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, contact_id);
    pg_p_i64(&p, now);
    PGresult *r;
    *n = 0;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_wake, &p, &r,
                     "waking waiting enrollments", e);
    if (rc)
        return rc;
    *n = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

static const char sql_cancel[] =
    "UPDATE campaign_enrollments SET status = 'cancelled', reason = $4, current_step_id = NULL,"
    " next_run_at = NULL, step_seq = step_seq + 1, updated_at = $5, finished_at = $5"
    " WHERE workspace_id = $1 AND status = 'active' AND ($2::text IS NULL OR contact_id = $2)"
    " AND ($3::text IS NULL OR campaign_id = $3)";

int pg_enrollment_cancel(struct store *base, const char *workspace_id, const char *contact_id,
                         const char *campaign_id, const char *reason, int64_t now, int64_t *n,
                         struct errinfo *e)
{
    *n = 0;
    if (!contact_id && !campaign_id)
        return failf(e, ERR_INVALID, "cancelling enrollments needs a contact or a campaign");
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, contact_id);
    pg_p_str(&p, campaign_id);
    pg_p_str(&p, reason);
    pg_p_i64(&p, now);
    return pg_once_run((struct pg_store *)base, workspace_id, sql_cancel, &p, n,
                       "cancelling enrollments", e);
}
