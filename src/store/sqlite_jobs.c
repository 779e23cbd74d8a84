/*
 * SQLite backend: the jobs table behind jobs/queue.h. Inserts join the
 * caller's transaction; a claim is one short BEGIN IMMEDIATE transaction
 * that also carries the finishes of the jobs the worker ran last, so a busy
 * worker writes once per batch; finishes are conditional on the lease (locked_by and
 * attempts), so a worker whose lease ran out cannot overwrite a newer claim.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_jobs.h"

/* The columns of struct job_row, in read_row()'s order. A queued job that has
 * failed before shows as "failed": it waits for its retry. */
#define JOB_COLS                                                                                   \
    "id, COALESCE(workspace_id, ''), kind,"                                                        \
    " CASE WHEN status = 'queued' AND attempts > 0 THEN 'failed' ELSE status END,"                 \
    " payload, last_error, attempts, max_attempts, run_at, started_at, finished_at, created_at,"   \
    " updated_at"

static const char sql_insert[] =
    "INSERT INTO jobs (workspace_id, kind, payload, run_at, max_attempts, idempotency_key,"
    " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id";
static const char sql_by_key[] = "SELECT id FROM jobs WHERE idempotency_key = ?1";
static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
/* A job that ends done keeps no error of an earlier attempt: the job list
 * would show a success as a failure. */
static const char sql_finish[] =
    "UPDATE jobs SET status = ?4, run_at = CASE WHEN ?4 = 'queued' THEN ?5 ELSE run_at END,"
    " last_error = CASE WHEN ?4 = 'done' THEN ?6 ELSE COALESCE(?6, last_error) END,"
    " locked_by = NULL, locked_until = NULL,"
    " finished_at = CASE WHEN ?4 = 'queued' THEN NULL ELSE ?7 END, updated_at = ?7"
    " WHERE id = ?1 AND status = 'running' AND locked_by = ?2 AND attempts = ?3";
static const char sql_expire[] =
    "UPDATE jobs SET status = 'dead',"
    " last_error = 'the worker stopped during the last attempt (its lease ran out)',"
    " locked_by = NULL, locked_until = NULL, finished_at = ?1, updated_at = ?1"
    " WHERE status = 'running' AND locked_until < ?1 AND attempts >= max_attempts";
#define CLAIM_SET                                                                                  \
    "UPDATE jobs SET status = 'running', locked_by = ?1, locked_until = ?3,"                       \
    " attempts = attempts + 1, started_at = ?2, updated_at = ?2 WHERE id IN "
static const char sql_claim_lost[] =
    CLAIM_SET "(SELECT id FROM jobs WHERE status = 'running' AND locked_until < ?2"
              " ORDER BY locked_until LIMIT ?4) RETURNING " JOB_COLS;
static const char sql_claim_due[] =
    CLAIM_SET "(SELECT id FROM jobs WHERE status = 'queued' AND run_at <= ?2"
              " ORDER BY run_at, id LIMIT ?4) RETURNING " JOB_COLS;

static int64_t col_time(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, i);
}

static void read_row(sqlite3_stmt *st, struct arena *a, struct job_row *out)
{
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(st, 0);
    sq_col_copy(st, 1, out->workspace_id, sizeof(out->workspace_id));
    sq_col_copy(st, 2, out->kind, sizeof(out->kind));
    sq_col_copy(st, 3, out->status, sizeof(out->status));
    out->payload = sq_col_dup(st, 4, a);
    out->last_error = sqlite3_column_type(st, 5) == SQLITE_NULL ? NULL : sq_col_dup(st, 5, a);
    out->attempts = sqlite3_column_int(st, 6);
    out->max_attempts = sqlite3_column_int(st, 7);
    out->run_at = col_time(st, 8);
    out->started_at = col_time(st, 9);
    out->finished_at = col_time(st, 10);
    out->created_at = col_time(st, 11);
    out->updated_at = col_time(st, 12);
}

/* Runs a cached statement without parameters that returns no rows. */
static int run_plain(struct sq_store *s, const char *sql, const char *what, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql, &st, &c, e);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    rc = src == SQLITE_DONE ? 0 : sq_fail(e, c->db, src, what);
    sq_done(st);
    return rc;
}

int sq_job_insert(struct store *base, const char *workspace_id, const struct job_new *j,
                  int64_t now, int64_t *id, bool *created, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *created = false;
    *id = 0;
    int rc = sq_stmt(s, sql_insert, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, workspace_id);
    sq_bind_str(st, 2, j->kind);
    sq_bind_str(st, 3, j->payload ? j->payload : "{}");
    sqlite3_bind_int64(st, 4, j->run_at);
    sqlite3_bind_int(st, 5, j->max_attempts);
    sq_bind_str(st, 6, j->idempotency_key);
    sqlite3_bind_int64(st, 7, now);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        *created = true;
        src = sqlite3_step(st);
    }
    if (src != SQLITE_DONE) {
        int ext = sqlite3_extended_errcode(c->db);
        if (ext == SQLITE_CONSTRAINT_CHECK)
            rc = failf(e, ERR_INVALID, "the job's payload is not JSON");
        else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
            rc = failf(e, ERR_NOT_FOUND, "no such workspace");
        else
            rc = sq_fail(e, c->db, src, "enqueuing a job");
    }
    sq_done(st);
    if (rc || *created)
        return rc;

    /* The key is taken: the existing job is the answer. */
    if ((rc = sq_stmt(s, sql_by_key, &st, &c, e)))
        return rc;
    sq_bind_str(st, 1, j->idempotency_key);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else
        rc = src == SQLITE_DONE ? failf(e, ERR_INTERNAL, "a job's idempotency key vanished")
                                : sq_fail(e, c->db, src, "reading a job");
    sq_done(st);
    return rc;
}

static int finish_one(struct sq_store *s, const struct job_finish *f, int64_t now, bool *applied,
                      struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    *applied = false;
    int rc = sq_stmt(s, sql_finish, &st, &c, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, f->id);
    sq_bind_str(st, 2, f->worker);
    sqlite3_bind_int(st, 3, f->attempts);
    sq_bind_str(st, 4, f->status);
    sqlite3_bind_int64(st, 5, f->run_at);
    sq_bind_str(st, 6, f->error);
    sqlite3_bind_int64(st, 7, now);
    int src = sqlite3_step(st);
    if (src == SQLITE_DONE)
        *applied = sqlite3_changes(c->db) == 1;
    else
        rc = sq_fail(e, c->db, src, "finishing a job");
    sq_done(st);
    return rc;
}

/* Running jobs whose lease ran out on their last attempt are dead: the
 * worker stopped (or hung) and no attempt is left. */
static int expire_lost(struct sq_store *s, int64_t now, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_expire, &st, &c, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, now);
    rc = sq_run(st, c, "ending lost jobs", e);
    return rc;
}

/* One claim statement: up to max - *n more rows into out. */
static int claim_with(struct sq_store *s, const char *sql, const char *worker, int64_t now,
                      int64_t lease_ms, size_t max, struct arena *a, struct job_row *out, size_t *n,
                      struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_str(st, 1, worker);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, now + lease_ms);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)(max - *n));
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW)
        if (*n < max) /* the LIMIT makes this always true */
            read_row(st, a, &out[(*n)++]);
    if (src != SQLITE_DONE)
        rc = sq_fail(e, c->db, src, "claiming jobs");
    sq_done(st);
    return rc;
}

/* Abandoned jobs: the dead ones first, then claims. */
static int claim_lost(struct sq_store *s, const char *worker, int64_t now, int64_t lease_ms,
                      size_t max, struct arena *a, struct job_row *out, size_t *n,
                      struct errinfo *e)
{
    int rc = expire_lost(s, now, e);
    return rc ? rc : claim_with(s, sql_claim_lost, worker, now, lease_ms, max, a, out, n, e);
}

static int by_run_at(const void *pa, const void *pb)
{
    const struct job_row *a = pa, *b = pb;
    if (a->run_at != b->run_at)
        return a->run_at < b->run_at ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

int sq_job_claim(struct store *base, struct job_finish *done, size_t ndone, const char *worker,
                 int64_t now, int64_t lease_ms, bool lost_first, size_t max, struct arena *a,
                 struct job_row *out, size_t *n, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    *n = 0;
    for (size_t i = 0; i < ndone; i++)
        done[i].applied = false;
    int rc = run_plain(s, sql_begin, "starting a claim", e);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < ndone; i++)
        rc = finish_one(s, &done[i], now, &done[i].applied, e);
    if (!rc && lost_first && max > 0)
        rc = claim_lost(s, worker, now, lease_ms, max, a, out, n, e);
    if (!rc && *n < max)
        rc = claim_with(s, sql_claim_due, worker, now, lease_ms, max, a, out, n, e);
    if (!rc && *n == 0 && !lost_first && max > 0)
        rc = claim_lost(s, worker, now, lease_ms, max, a, out, n, e);
    if (!rc)
        rc = run_plain(s, sql_commit, "committing a claim", e);
    if (rc) {
        struct errinfo ignored;
        run_plain(s, sql_rollback, "rolling back a claim", &ignored);
        *n = 0;
        for (size_t i = 0; i < ndone; i++)
            done[i].applied = false;
        return rc;
    }
    /* RETURNING gives no order: the caller runs them as the queue is ordered. */
    qsort(out, *n, sizeof(*out), by_run_at);
    return 0;
}

int sq_job_finish(struct store *base, const struct job_finish *f, int64_t now, bool *applied,
                  struct errinfo *e)
{
    return finish_one((struct sq_store *)base, f, now, applied, e);
}

static const char sql_renew[] =
    "UPDATE jobs SET locked_until = ?4, updated_at = ?5"
    " WHERE id = ?1 AND status = 'running' AND locked_by = ?2 AND attempts = ?3";

int sq_job_renew(struct store *base, const char *worker, struct job_held *held, size_t n,
                 int64_t now, int64_t until, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    for (size_t i = 0; i < n; i++)
        held[i].renewed = false;
    int rc = run_plain(s, sql_begin, "starting a lease renewal", e);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < n; i++) {
        sqlite3_stmt *st;
        struct sq_conn *c;
        if ((rc = sq_stmt(s, sql_renew, &st, &c, e)))
            break;
        sqlite3_bind_int64(st, 1, held[i].id);
        sq_bind_str(st, 2, worker);
        sqlite3_bind_int(st, 3, held[i].attempts);
        sqlite3_bind_int64(st, 4, until);
        sqlite3_bind_int64(st, 5, now);
        int src = sqlite3_step(st);
        if (src == SQLITE_DONE)
            held[i].renewed = sqlite3_changes(c->db) == 1;
        else
            rc = sq_fail(e, c->db, src, "renewing a job's lease");
        sq_done(st);
    }
    if (!rc)
        rc = run_plain(s, sql_commit, "committing a lease renewal", e);
    if (rc) {
        struct errinfo ignored;
        run_plain(s, sql_rollback, "rolling back a lease renewal", &ignored);
        for (size_t i = 0; i < n; i++)
            held[i].renewed = false;
    }
    return rc;
}

/* Through the partial index jobs_done (migration 8): only finished rows are in it. */
static const char sql_purge[] =
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status = 'done' AND finished_at < ?1"
    " ORDER BY finished_at LIMIT ?2)";

int sq_job_purge(struct store *base, int64_t before, int limit, int64_t *deleted, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_purge, &st, &c, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, before);
    sqlite3_bind_int(st, 2, limit);
    int src = sqlite3_step(st);
    if (src == SQLITE_DONE)
        *deleted = sqlite3_changes64(c->db);
    else
        rc = sq_fail(e, c->db, src, "deleting finished jobs");
    sq_done(st);
    return rc;
}
