/*
 * Outgoing emails (sent_emails) and each provider's attempt at them
 * (send_attempts), written once over the cursor (store/db.h). An outcome,
 * once sent or refused, is final: the UPDATE that records one never touches
 * such a row again.
 */
#include <stdio.h>
#include <string.h>

#include "store/alerts.h"
#include "store/db.h"
#include "store/db_ops.h"
#include "store/sending.h"

/* ON CONFLICT DO NOTHING: a taken key does not abort the caller's transaction. */
static struct db_sql sql_insert =
    DB_SQL("INSERT INTO sent_emails (id, workspace_id, contact_id, idempotency_key, message_id,"
           " from_email, to_email, subject, body_text, body_html, status, content_id, created_at,"
           " from_name, reply_to)"
           " VALUES (?1, ?2, NULLIF(?3, ''), ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'queued', ?11, ?12, ?13,"
           " ?14)"
           " ON CONFLICT (workspace_id, idempotency_key) DO NOTHING");
static struct db_sql sql_by_key =
    DB_SQL("SELECT id FROM sent_emails WHERE workspace_id = ?1 AND idempotency_key = ?2");

int store_sent_email_insert(struct store *st, const char *workspace_id,
                            const struct sent_email *row, char id[STORE_ID_LEN], bool *created,
                            struct errinfo *e)
{
    *created = false;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_insert, "queueing an email");
    if (!rc) {
        db_bind_str(&c, 1, row->id);
        db_bind_str(&c, 2, workspace_id);
        db_bind_str(&c, 3, row->contact_id);
        db_bind_str(&c, 4, row->idempotency_key);
        db_bind_str(&c, 5, row->message_id);
        db_bind_str(&c, 6, row->from_email);
        db_bind_str(&c, 7, row->to_email);
        db_bind_str(&c, 8, row->subject);
        db_bind_str(&c, 9, row->body_text);
        db_bind_str(&c, 10, row->body_html);
        db_bind_str(&c, 11, row->content_id);
        db_bind_i64(&c, 12, row->created_at);
        db_bind_opt(&c, 13, row->from_name);
        db_bind_opt(&c, 14, row->reply_to);
        rc = db_run(&c);
    }
    if (!rc && db_changes(&c) == 1) {
        snprintf(id, STORE_ID_LEN, "%s", row->id);
        *created = true;
        return db_leave(&c, 0);
    }
    if (!rc)
        rc = db_prepare(&c, &sql_by_key, "finding a queued email");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, row->idempotency_key);
        rc = db_step(&c);
        if (rc == DB_ROW) {
            db_col_copy(&c, 0, id, STORE_ID_LEN);
            rc = 0;
        } else if (rc == DB_DONE) {
            rc = failf(e, ERR_CONFLICT, "the idempotency key is taken");
        }
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_set_job =
    DB_SQL("UPDATE sent_emails SET job_id = ?3 WHERE workspace_id = ?1 AND id = ?2");

int store_sent_email_set_job(struct store *st, const char *workspace_id, const char *id,
                             int64_t job_id, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_set_job, "linking an email to its job");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        db_bind_i64(&c, 3, job_id);
        rc = db_run(&c);
    }
    return db_leave(&c, rc);
}

#define SENT_COLS                                                                                  \
    "id, COALESCE(contact_id, ''), idempotency_key, message_id, from_email, to_email, subject,"    \
    " body_text, body_html, status, provider, provider_message_id, error, content_id,"             \
    " COALESCE(job_id, 0), created_at, COALESCE(sent_at, 0), from_name, reply_to"

static void read_sent(struct db_cur *c, struct arena *a, void *row)
{
    struct sent_email *o = row;
    memset(o, 0, sizeof(*o));
    db_col_copy(c, 0, o->id, sizeof(o->id));
    db_col_copy(c, 1, o->contact_id, sizeof(o->contact_id));
    o->idempotency_key = db_col_dup(c, 2, a);
    o->message_id = db_col_dup(c, 3, a);
    o->from_email = db_col_dup(c, 4, a);
    o->to_email = db_col_dup(c, 5, a);
    o->subject = db_col_dup(c, 6, a);
    o->body_text = db_col_dup(c, 7, a);
    o->body_html = db_col_opt(c, 8, a);
    db_col_copy(c, 9, o->status, sizeof(o->status));
    o->provider = db_col_opt(c, 10, a);
    o->provider_message_id = db_col_opt(c, 11, a);
    o->error = db_col_opt(c, 12, a);
    o->content_id = db_col_opt(c, 13, a);
    o->job_id = db_col_i64(c, 14);
    o->created_at = db_col_i64(c, 15);
    o->sent_at = db_col_i64(c, 16);
    o->from_name = db_col_opt(c, 17, a);
    o->reply_to = db_col_opt(c, 18, a);
}

static struct db_sql sql_get =
    DB_SQL("SELECT " SENT_COLS " FROM sent_emails WHERE workspace_id = ?1 AND id = ?2");

int store_sent_email_get(struct store *st, const char *workspace_id, const char *id,
                         struct arena *a, struct sent_email *out, struct errinfo *e)
{
    return db_get_by_id(st, &sql_get, workspace_id, id, read_sent, a, out, "reading a sent email",
                        "sent email", e);
}

#define SENT_FILTER                                                                                \
    " FROM sent_emails WHERE workspace_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR contact_id = ?2)"  \
    " AND (CAST(?3 AS TEXT) IS NULL OR status = ?3)"

static struct db_sql sql_list = DB_SQL("SELECT " SENT_COLS ", COUNT(*) OVER ()" SENT_FILTER
                                       " ORDER BY created_at DESC, id DESC LIMIT ?4 OFFSET ?5");
static struct db_sql sql_count = DB_SQL("SELECT COUNT(*)" SENT_FILTER);

int store_sent_email_list(struct store *st, const char *workspace_id,
                          const struct sent_email_query *q, struct arena *a,
                          struct sent_email **rows, size_t *n, int64_t *total, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_list, "listing sent emails");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, q->contact_id);
        db_bind_str(&c, 3, q->status);
        db_bind_i64(&c, 4, q->limit > 0 ? q->limit : 25);
        db_bind_i64(&c, 5, q->offset);
        rc = db_read_all(&c, read_sent, a, (void **)rows, sizeof(**rows), n, 19, total);
    }
    /* A page past the end still reports how many there are. */
    if (!rc && *n == 0 && q->offset > 0 &&
        !(rc = db_prepare(&c, &sql_count, "counting sent emails"))) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, q->contact_id);
        db_bind_str(&c, 3, q->status);
        if ((rc = db_step(&c)) == DB_ROW) {
            *total = db_col_i64(&c, 0);
            rc = 0;
        }
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_finish =
    DB_SQL("UPDATE sent_emails SET status = ?3, provider = ?4, provider_message_id = ?5,"
           " error = ?6, sent_at = NULLIF(CAST(?7 AS BIGINT), 0) WHERE workspace_id = ?1"
           " AND id = ?2 AND status NOT IN ('sent', 'refused', 'suppressed')");

int store_sent_email_finish(struct store *st, const char *workspace_id, const char *id,
                            const char *status, const char *provider,
                            const char *provider_message_id, const char *error, int64_t sent_at,
                            bool *changed, struct errinfo *e)
{
    *changed = false;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_finish, "recording a send outcome");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        db_bind_str(&c, 3, status);
        db_bind_str(&c, 4, provider);
        db_bind_str(&c, 5, provider_message_id);
        db_bind_str(&c, 6, error);
        db_bind_i64(&c, 7, sent_at);
        rc = db_run(&c);
        *changed = !rc && db_changes(&c) > 0;
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_attempt_add =
    DB_SQL("INSERT INTO send_attempts (workspace_id, sent_email_id, provider, outcome, status,"
           " provider_message_id, error, started_at, finished_at)"
           " VALUES (?1, ?2, ?3, ?4, NULLIF(CAST(?5 AS INTEGER), 0), ?6, ?7, ?8, ?9)");

int store_send_attempt_add(struct store *st, const char *workspace_id, const char *sent_email_id,
                           const struct send_attempt *at, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_attempt_add, "recording a send attempt");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, sent_email_id);
        db_bind_str(&c, 3, at->provider);
        db_bind_str(&c, 4, at->outcome);
        db_bind_i64(&c, 5, at->status);
        db_bind_str(&c, 6, at->provider_message_id);
        db_bind_str(&c, 7, at->error);
        db_bind_i64(&c, 8, at->started_at);
        db_bind_i64(&c, 9, at->finished_at);
        rc = db_run(&c);
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_attempt_list = DB_SQL(
    "SELECT provider, outcome, COALESCE(status, 0), provider_message_id, error, started_at,"
    " finished_at FROM send_attempts WHERE workspace_id = ?1 AND sent_email_id = ?2 ORDER BY id");

static void read_attempt(struct db_cur *c, struct arena *a, void *row)
{
    struct send_attempt *at = row;
    db_col_copy(c, 0, at->provider, sizeof(at->provider));
    db_col_copy(c, 1, at->outcome, sizeof(at->outcome));
    at->status = db_col_int(c, 2);
    at->provider_message_id = db_col_opt(c, 3, a);
    at->error = db_col_opt(c, 4, a);
    at->started_at = db_col_i64(c, 5);
    at->finished_at = db_col_i64(c, 6);
}

int store_send_attempt_list(struct store *st, const char *workspace_id, const char *sent_email_id,
                            struct arena *a, struct send_attempt **rows, size_t *n,
                            struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_attempt_list, "listing send attempts");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, sent_email_id);
        rc = db_read_all(&c, read_attempt, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_attempt_counts =
    DB_SQL("SELECT COUNT(*), COUNT(*) FILTER (WHERE outcome <> 'sent') FROM send_attempts"
           " WHERE workspace_id = ?1 AND finished_at >= ?2");

int store_send_attempt_counts(struct store *st, const char *workspace_id, int64_t since,
                              int64_t *total, int64_t *failed, struct errinfo *e)
{
    *total = *failed = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_attempt_counts, "counting send attempts");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_i64(&c, 2, since);
        rc = db_step(&c);
    }
    if (rc == DB_ROW) {
        *total = db_col_i64(&c, 0);
        *failed = db_col_i64(&c, 1);
        rc = 0;
    }
    return db_leave(&c, rc);
}

static struct db_sql sql_locate =
    DB_SQL("SELECT workspace_id, id, COALESCE(contact_id, '') FROM sent_emails"
           " WHERE id = ?1 OR (provider = ?2 AND provider_message_id = ?3) LIMIT 1");

static struct db_sql sql_match =
    DB_SQL("SELECT id, COALESCE(contact_id, '') FROM sent_emails WHERE workspace_id = ?1"
           " AND (message_id = ?2 OR (?2 IS NULL AND lower(to_email) = lower(CAST(?3 AS TEXT)) AND "
           "created_at >= ?4))"
           " ORDER BY created_at DESC LIMIT 1");

int store_sent_email_match(struct store *st, const char *workspace_id, const char *message_id,
                           const char *to_email, int64_t since, char sent_email_id[STORE_ID_LEN],
                           char contact_id[STORE_ID_LEN], struct errinfo *e)
{
    sent_email_id[0] = contact_id[0] = '\0';
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    /* By the id first; the recipient only when the id says nothing. */
    for (int pass = 0; pass < 2 && !rc && !sent_email_id[0]; pass++) {
        const char *id = pass == 0 ? message_id : NULL;
        if (pass == 0 && (!id || !*id))
            continue;
        if (pass == 1 && (!to_email || !*to_email))
            break;
        rc = db_prepare(&c, &sql_match, "finding the email a report is about");
        if (rc)
            break;
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        db_bind_str(&c, 3, to_email ? to_email : "");
        db_bind_i64(&c, 4, since);
        rc = db_step(&c);
        if (rc == DB_ROW) {
            db_col_copy(&c, 0, sent_email_id, STORE_ID_LEN);
            db_col_copy(&c, 1, contact_id, STORE_ID_LEN);
            rc = 0;
        } else if (rc == DB_DONE) {
            rc = 0;
        }
    }
    if (!rc && !sent_email_id[0])
        rc = failf(e, ERR_NOT_FOUND, "no sent email matches the report");
    return db_leave(&c, rc);
}

int store_sent_email_locate(struct store *st, const char *id, const char *provider,
                            const char *provider_message_id, char workspace_id[STORE_ID_LEN],
                            char sent_email_id[STORE_ID_LEN], char contact_id[STORE_ID_LEN],
                            struct errinfo *e)
{
    workspace_id[0] = sent_email_id[0] = contact_id[0] = '\0';
    const char *by_id = id && *id ? id : "";
    const char *by_pmid = provider_message_id ? provider_message_id : "";
    struct db_cur c;
    int rc = db_enter(&c, st, NULL, DB_SETTINGS, e);
    if (rc)
        return rc;
    /* PostgreSQL's policy sent_by_provider_event shows the row to whoever
     * knows one of its ids. */
    rc = db_set(&c, "sent_email_id", by_id);
    if (!rc)
        rc = db_set(&c, "provider", provider ? provider : "");
    if (!rc)
        rc = db_set(&c, "provider_message_id", by_pmid);
    if (!rc)
        rc = db_prepare(&c, &sql_locate, "finding the email of a provider's event");
    if (!rc) {
        db_bind_str(&c, 1, by_id);
        db_bind_str(&c, 2, provider ? provider : "");
        db_bind_str(&c, 3, by_pmid[0] ? by_pmid : NULL);
        rc = db_step(&c);
        if (rc == DB_ROW) {
            db_col_copy(&c, 0, workspace_id, STORE_ID_LEN);
            db_col_copy(&c, 1, sent_email_id, STORE_ID_LEN);
            db_col_copy(&c, 2, contact_id, STORE_ID_LEN);
            rc = 0;
        } else if (rc == DB_DONE) {
            rc = failf(e, ERR_NOT_FOUND, "no sent email matches the event");
        }
    }
    return db_leave(&c, rc);
}
