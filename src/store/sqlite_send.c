/*
 * SQLite backend: outgoing emails (sent_emails) and each provider's attempt
 * at them (send_attempts). An outcome, once sent or refused, is final: the
 * UPDATE that records one never touches such a row again.
 */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_send.h"

/* Text column i in arena memory, NULL for SQL NULL. */
static const char *col_opt(sqlite3_stmt *st, int i, struct arena *a)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    return sq_col_dup(st, i, a);
}

bool sq_tx_active(struct store *base)
{
    struct sq_conn *c;
    struct errinfo ignored;
    if (sq_conn_get((struct sq_store *)base, &c, &ignored) != 0)
        return false;
    return !sqlite3_get_autocommit(c->db);
}

static const char sql_insert[] =
    "INSERT INTO sent_emails (id, workspace_id, contact_id, idempotency_key, message_id,"
    " from_email, to_email, subject, body_text, body_html, status, content_id, created_at)"
    " VALUES (?1, ?2, NULLIF(?3, ''), ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'queued', ?11, ?12)"
    " ON CONFLICT (workspace_id, idempotency_key) DO NOTHING";
static const char sql_by_key[] =
    "SELECT id FROM sent_emails WHERE workspace_id = ?1 AND idempotency_key = ?2";

int sq_sent_email_insert(struct store *base, const char *workspace_id, const struct sent_email *row,
                         char id[STORE_ID_LEN], bool *created, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *created = false;
    int rc = sq_stmt(s, sql_insert, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, row->id);
    sq_bind_str(st, 2, workspace_id);
    sq_bind_str(st, 3, row->contact_id);
    sq_bind_str(st, 4, row->idempotency_key);
    sq_bind_str(st, 5, row->message_id);
    sq_bind_str(st, 6, row->from_email);
    sq_bind_str(st, 7, row->to_email);
    sq_bind_str(st, 8, row->subject);
    sq_bind_str(st, 9, row->body_text);
    sq_bind_str(st, 10, row->body_html);
    sq_bind_str(st, 11, row->content_id);
    sqlite3_bind_int64(st, 12, row->created_at);
    if ((rc = sq_run(st, c, "queueing an email", e)))
        return rc;
    if (sqlite3_changes(c->db) == 1) {
        snprintf(id, STORE_ID_LEN, "%s", row->id);
        *created = true;
        return 0;
    }
    if ((rc = sq_stmt(s, sql_by_key, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, row->idempotency_key);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        sq_col_copy(st, 0, id, STORE_ID_LEN);
    else
        rc = src == SQLITE_DONE ? failf(e, ERR_CONFLICT, "the idempotency key is taken")
                                : sq_fail(e, c->db, src, "finding a queued email");
    sq_done(st);
    return rc;
}

static const char sql_set_job[] =
    "UPDATE sent_emails SET job_id = ?3 WHERE workspace_id = ?1 AND id = ?2";

int sq_sent_email_set_job(struct store *base, const char *workspace_id, const char *id,
                          int64_t job_id, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt((struct sq_store *)base, sql_set_job, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    sqlite3_bind_int64(st, 3, job_id);
    return sq_run(st, c, "linking an email to its job", e);
}

#define SENT_COLS                                                                                  \
    "id, COALESCE(contact_id, ''), idempotency_key, message_id, from_email, to_email, subject,"    \
    " body_text, body_html, status, provider, provider_message_id, error, content_id,"             \
    " COALESCE(job_id, 0), created_at, COALESCE(sent_at, 0)"

static void read_sent(sqlite3_stmt *st, struct arena *a, void *row)
{
    struct sent_email *o = row;
    memset(o, 0, sizeof(*o));
    sq_col_copy(st, 0, o->id, sizeof(o->id));
    sq_col_copy(st, 1, o->contact_id, sizeof(o->contact_id));
    o->idempotency_key = sq_col_dup(st, 2, a);
    o->message_id = sq_col_dup(st, 3, a);
    o->from_email = sq_col_dup(st, 4, a);
    o->to_email = sq_col_dup(st, 5, a);
    o->subject = sq_col_dup(st, 6, a);
    o->body_text = sq_col_dup(st, 7, a);
    o->body_html = col_opt(st, 8, a);
    sq_col_copy(st, 9, o->status, sizeof(o->status));
    o->provider = col_opt(st, 10, a);
    o->provider_message_id = col_opt(st, 11, a);
    o->error = col_opt(st, 12, a);
    o->content_id = col_opt(st, 13, a);
    o->job_id = sqlite3_column_int64(st, 14);
    o->created_at = sqlite3_column_int64(st, 15);
    o->sent_at = sqlite3_column_int64(st, 16);
}

static const char sql_get[] =
    "SELECT " SENT_COLS " FROM sent_emails WHERE workspace_id = ?1 AND id = ?2";

int sq_sent_email_get(struct store *base, const char *workspace_id, const char *id, struct arena *a,
                      struct sent_email *out, struct errinfo *e)
{
    return sq_get_by_id((struct sq_store *)base, sql_get, workspace_id, id, read_sent, a, out,
                        "reading a sent email", "sent email", e);
}

static const char sql_list[] =
    "SELECT " SENT_COLS ", COUNT(*) OVER () FROM sent_emails WHERE workspace_id = ?1"
    " AND (?2 IS NULL OR contact_id = ?2) AND (?3 IS NULL OR status = ?3)"
    " ORDER BY created_at DESC, id DESC LIMIT ?4 OFFSET ?5";
static const char sql_count[] =
    "SELECT COUNT(*) FROM sent_emails WHERE workspace_id = ?1"
    " AND (?2 IS NULL OR contact_id = ?2) AND (?3 IS NULL OR status = ?3)";

int sq_sent_email_list(struct store *base, const char *workspace_id,
                       const struct sent_email_query *q, struct arena *a, struct sent_email **rows,
                       size_t *n, int64_t *total, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    *total = 0;
    int rc = sq_stmt(s, sql_list, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, q->contact_id);
    sq_bind_str(st, 3, q->status);
    sqlite3_bind_int(st, 4, q->limit > 0 ? q->limit : 25);
    sqlite3_bind_int(st, 5, q->offset);
    *rows = arena_alloc(a, sizeof(**rows) * (size_t)(q->limit > 0 ? q->limit : 25));
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        read_sent(st, a, &(*rows)[*n]);
        *total = sqlite3_column_int64(st, 17);
        (*n)++;
    }
    if (src != SQLITE_DONE)
        rc = sq_fail(e, c->db, src, "listing sent emails");
    sq_done(st);
    if (rc || *n > 0 || q->offset == 0)
        return rc;
    /* A page past the end still reports how many there are. */
    if ((rc = sq_stmt(s, sql_count, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, q->contact_id);
    sq_bind_str(st, 3, q->status);
    if ((src = sqlite3_step(st)) == SQLITE_ROW)
        *total = sqlite3_column_int64(st, 0);
    else
        rc = sq_fail(e, c->db, src, "counting sent emails");
    sq_done(st);
    return rc;
}

static const char sql_finish[] =
    "UPDATE sent_emails SET status = ?3, provider = ?4, provider_message_id = ?5, error = ?6,"
    " sent_at = NULLIF(?7, 0) WHERE workspace_id = ?1 AND id = ?2"
    " AND status NOT IN ('sent', 'refused')";

int sq_sent_email_finish(struct store *base, const char *workspace_id, const char *id,
                         const char *status, const char *provider, const char *provider_message_id,
                         const char *error, int64_t sent_at, bool *changed, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *changed = false;
    int rc = sq_stmt((struct sq_store *)base, sql_finish, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, id);
    sq_bind_str(st, 3, status);
    sq_bind_str(st, 4, provider);
    sq_bind_str(st, 5, provider_message_id);
    sq_bind_str(st, 6, error);
    sqlite3_bind_int64(st, 7, sent_at);
    if ((rc = sq_run(st, c, "recording a send outcome", e)))
        return rc;
    *changed = sqlite3_changes(c->db) > 0;
    return 0;
}

static const char sql_attempt_add[] =
    "INSERT INTO send_attempts (workspace_id, sent_email_id, provider, outcome, status,"
    " provider_message_id, error, started_at, finished_at)"
    " VALUES (?1, ?2, ?3, ?4, NULLIF(?5, 0), ?6, ?7, ?8, ?9)";

int sq_send_attempt_add(struct store *base, const char *workspace_id, const char *sent_email_id,
                        const struct send_attempt *at, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt((struct sq_store *)base, sql_attempt_add, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, sent_email_id);
    sq_bind_str(st, 3, at->provider);
    sq_bind_str(st, 4, at->outcome);
    sqlite3_bind_int(st, 5, at->status);
    sq_bind_str(st, 6, at->provider_message_id);
    sq_bind_str(st, 7, at->error);
    sqlite3_bind_int64(st, 8, at->started_at);
    sqlite3_bind_int64(st, 9, at->finished_at);
    return sq_run(st, c, "recording a send attempt", e);
}

static const char sql_attempt_list[] =
    "SELECT provider, outcome, COALESCE(status, 0), provider_message_id, error, started_at,"
    " finished_at FROM send_attempts WHERE workspace_id = ?1 AND sent_email_id = ?2 ORDER BY id";

static void read_attempt(sqlite3_stmt *st, struct arena *a, void *row)
{
    struct send_attempt *at = row;
    sq_col_copy(st, 0, at->provider, sizeof(at->provider));
    sq_col_copy(st, 1, at->outcome, sizeof(at->outcome));
    at->status = sqlite3_column_int(st, 2);
    at->provider_message_id = col_opt(st, 3, a);
    at->error = col_opt(st, 4, a);
    at->started_at = sqlite3_column_int64(st, 5);
    at->finished_at = sqlite3_column_int64(st, 6);
}

int sq_send_attempt_list(struct store *base, const char *workspace_id, const char *sent_email_id,
                         struct arena *a, struct send_attempt **rows, size_t *n, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt((struct sq_store *)base, sql_attempt_list, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, sent_email_id);
    return sq_read_all(st, c, read_attempt, a, (void **)rows, sizeof(**rows), n, 0, NULL,
                       "listing send attempts", e);
}
