/*
 * PostgreSQL backend: outgoing emails (sent_emails) and each provider's
 * attempt at them (send_attempts). An outcome, once sent or refused, is final:
 * the UPDATE that records one never touches such a row again.
 */
#include <stdio.h>
#include <string.h>

#include "store/pg_int.h"
#include "store/pg_send.h"

/* ON CONFLICT DO NOTHING: a taken key does not abort the caller's transaction. */
static const char sql_insert[] =
    "INSERT INTO sent_emails (id, workspace_id, contact_id, idempotency_key, message_id,"
    " from_email, to_email, subject, body_text, body_html, status, content_id, created_at)"
    " VALUES ($1, $2, NULLIF($3, ''), $4, $5, $6, $7, $8, $9, $10, 'queued', $11, $12)"
    " ON CONFLICT (workspace_id, idempotency_key) DO NOTHING";
static const char sql_by_key[] =
    "SELECT id FROM sent_emails WHERE workspace_id = $1 AND idempotency_key = $2";

int pg_sent_email_insert(struct store *base, const char *workspace_id, const struct sent_email *row,
                         char id[STORE_ID_LEN], bool *created, struct errinfo *e)
{
    *created = false;
    struct pg_params p = {0};
    pg_p_str(&p, row->id);
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, row->contact_id);
    pg_p_str(&p, row->idempotency_key);
    pg_p_str(&p, row->message_id);
    pg_p_str(&p, row->from_email);
    pg_p_str(&p, row->to_email);
    pg_p_str(&p, row->subject);
    pg_p_str(&p, row->body_text);
    pg_p_str(&p, row->body_html);
    pg_p_str(&p, row->content_id);
    pg_p_i64(&p, row->created_at);
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    int64_t rows = 0;
    if ((rc = pg_run(&x, sql_insert, &p, &rows, "queueing an email", e)))
        return pg_leave(&x, rc, e);
    if (rows == 1) {
        snprintf(id, STORE_ID_LEN, "%s", row->id);
        *created = true;
        return pg_leave(&x, 0, e);
    }
    struct pg_params k = {0};
    pg_p_str(&k, workspace_id);
    pg_p_str(&k, row->idempotency_key);
    PGresult *r;
    if (!(rc = pg_exec(&x, sql_by_key, &k, &r, "finding a queued email", e))) {
        if (PQntuples(r) > 0)
            pg_col_copy(r, 0, 0, id, STORE_ID_LEN);
        else
            rc = failf(e, ERR_CONFLICT, "the idempotency key is taken");
        PQclear(r);
    }
    return pg_leave(&x, rc, e);
}

static const char sql_set_job[] =
    "UPDATE sent_emails SET job_id = $3 WHERE workspace_id = $1 AND id = $2";

int pg_sent_email_set_job(struct store *base, const char *workspace_id, const char *id,
                          int64_t job_id, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    pg_p_i64(&p, job_id);
    return pg_once_run((struct pg_store *)base, workspace_id, sql_set_job, &p, NULL,
                       "linking an email to its job", e);
}

#define SENT_COLS                                                                                  \
    "id, COALESCE(contact_id, ''), idempotency_key, message_id, from_email, to_email, subject,"    \
    " body_text, body_html, status, provider, provider_message_id, error, content_id,"             \
    " COALESCE(job_id, 0), created_at, COALESCE(sent_at, 0)"

static void read_sent(const PGresult *r, int i, struct arena *a, struct sent_email *o)
{
    memset(o, 0, sizeof(*o));
    pg_col_copy(r, i, 0, o->id, sizeof(o->id));
    pg_col_copy(r, i, 1, o->contact_id, sizeof(o->contact_id));
    o->idempotency_key = pg_col_dup(r, i, 2, a);
    o->message_id = pg_col_dup(r, i, 3, a);
    o->from_email = pg_col_dup(r, i, 4, a);
    o->to_email = pg_col_dup(r, i, 5, a);
    o->subject = pg_col_dup(r, i, 6, a);
    o->body_text = pg_col_dup(r, i, 7, a);
    o->body_html = pg_col_opt(r, i, 8, a);
    pg_col_copy(r, i, 9, o->status, sizeof(o->status));
    o->provider = pg_col_opt(r, i, 10, a);
    o->provider_message_id = pg_col_opt(r, i, 11, a);
    o->error = pg_col_opt(r, i, 12, a);
    o->content_id = pg_col_opt(r, i, 13, a);
    o->job_id = pg_col_i64(r, i, 14);
    o->created_at = pg_col_i64(r, i, 15);
    o->sent_at = pg_col_i64(r, i, 16);
}

static const char sql_get[] =
    "SELECT " SENT_COLS " FROM sent_emails WHERE workspace_id = $1 AND id = $2";

int pg_sent_email_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                      struct sent_email *out, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    PGresult *r;
    int rc =
        pg_once((struct pg_store *)base, workspace_id, sql_get, &p, &r, "reading a sent email", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        read_sent(r, 0, a, out);
    else
        rc = failf(e, ERR_NOT_FOUND, "sent email not found");
    PQclear(r);
    return rc;
}

#define SENT_FILTER                                                                                \
    " FROM sent_emails WHERE workspace_id = $1 AND ($2::text IS NULL OR contact_id = $2)"          \
    " AND ($3::text IS NULL OR status = $3)"

static const char sql_list[] = "SELECT " SENT_COLS ", COUNT(*) OVER ()" SENT_FILTER
                               " ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5";
static const char sql_count[] = "SELECT COUNT(*)" SENT_FILTER;

int pg_sent_email_list(struct store *base, const char *workspace_id,
                       const struct sent_email_query *q, struct arena *a, struct sent_email **rows,
                       size_t *n, int64_t *total, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    int limit = q->limit > 0 ? q->limit : 25;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, q->contact_id);
    pg_p_str(&p, q->status);
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, workspace_id, false, &x, e);
    if (rc)
        return rc;
    PGresult *r;
    struct pg_params lp = p;
    pg_p_i64(&lp, limit);
    pg_p_i64(&lp, q->offset);
    if ((rc = pg_exec(&x, sql_list, &lp, &r, "listing sent emails", e)))
        return pg_leave(&x, rc, e);
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++) {
        read_sent(r, i, a, &(*rows)[i]);
        *total = pg_col_i64(r, i, 17);
    }
    *n = (size_t)nt;
    PQclear(r);
    /* A page past the end still reports how many there are. */
    if (nt == 0 && q->offset > 0 &&
        !(rc = pg_exec(&x, sql_count, &p, &r, "counting sent emails", e))) {
        *total = pg_col_i64(r, 0, 0);
        PQclear(r);
    }
    return pg_leave(&x, rc, e);
}

static const char sql_finish[] =
    "UPDATE sent_emails SET status = $3, provider = $4, provider_message_id = $5, error = $6,"
    " sent_at = NULLIF($7::bigint, 0) WHERE workspace_id = $1 AND id = $2"
    " AND status NOT IN ('sent', 'refused')";

int pg_sent_email_finish(struct store *base, const char *workspace_id, const char *id,
                         const char *status, const char *provider, const char *provider_message_id,
                         const char *error, int64_t sent_at, bool *changed, struct errinfo *e)
{
    *changed = false;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, id);
    pg_p_str(&p, status);
    pg_p_str(&p, provider);
    pg_p_str(&p, provider_message_id);
    pg_p_str(&p, error);
    pg_p_i64(&p, sent_at);
    int64_t rows = 0;
    int rc = pg_once_run((struct pg_store *)base, workspace_id, sql_finish, &p, &rows,
                         "recording a send outcome", e);
    *changed = !rc && rows > 0;
    return rc;
}

static const char sql_attempt_add[] =
    "INSERT INTO send_attempts (workspace_id, sent_email_id, provider, outcome, status,"
    " provider_message_id, error, started_at, finished_at)"
    " VALUES ($1, $2, $3, $4, NULLIF($5::int, 0), $6, $7, $8, $9)";

int pg_send_attempt_add(struct store *base, const char *workspace_id, const char *sent_email_id,
                        const struct send_attempt *at, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, sent_email_id);
    pg_p_str(&p, at->provider);
    pg_p_str(&p, at->outcome);
    pg_p_i64(&p, at->status);
    pg_p_str(&p, at->provider_message_id);
    pg_p_str(&p, at->error);
    pg_p_i64(&p, at->started_at);
    pg_p_i64(&p, at->finished_at);
    return pg_once_run((struct pg_store *)base, workspace_id, sql_attempt_add, &p, NULL,
                       "recording a send attempt", e);
}

static const char sql_attempt_list[] =
    "SELECT provider, outcome, COALESCE(status, 0), provider_message_id, error, started_at,"
    " finished_at FROM send_attempts WHERE workspace_id = $1 AND sent_email_id = $2 ORDER BY id";

int pg_send_attempt_list(struct store *base, const char *workspace_id, const char *sent_email_id,
                         struct arena *a, struct send_attempt **rows, size_t *n, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, sent_email_id);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_attempt_list, &p, &r,
                     "listing send attempts", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++) {
        struct send_attempt *at = &(*rows)[i];
        memset(at, 0, sizeof(*at));
        pg_col_copy(r, i, 0, at->provider, sizeof(at->provider));
        pg_col_copy(r, i, 1, at->outcome, sizeof(at->outcome));
        at->status = (int)pg_col_i64(r, i, 2);
        at->provider_message_id = pg_col_opt(r, i, 3, a);
        at->error = pg_col_opt(r, i, 4, a);
        at->started_at = pg_col_i64(r, i, 5);
        at->finished_at = pg_col_i64(r, i, 6);
    }
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

static const char sql_attempt_counts[] =
    "SELECT COUNT(*), COUNT(*) FILTER (WHERE outcome <> 'sent') FROM send_attempts"
    " WHERE workspace_id = $1 AND finished_at >= $2";

int pg_send_attempt_counts(struct store *base, const char *workspace_id, int64_t since,
                           int64_t *total, int64_t *failed, struct errinfo *e)
{
    *total = *failed = 0;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_i64(&p, since);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_attempt_counts, &p, &r,
                     "counting send attempts", e);
    if (rc)
        return rc;
    *total = pg_col_i64(r, 0, 0);
    *failed = pg_col_i64(r, 0, 1);
    PQclear(r);
    return 0;
}
