/*
 * PostgreSQL backend: the jobs table behind jobs/queue.h. Inserts join the
 * caller's transaction; a claim is one transaction that applies the finishes
 * of the jobs the worker ran last, then takes due rows with FOR UPDATE SKIP
 * LOCKED, so concurrent workers never wait for each other's rows. Claiming,
 * finishing and purging work across workspaces: only these statements set
 * leadflow.queue, the setting the jobs table's `queue` policy admits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_int.h"
#include "store/pg_jobs.h"

/* The columns of struct job_row, in read_row()'s order. A queued job that has
 * failed before shows as "failed": it waits for its retry. */
#define JOB_COLS_OF(t)                                                                             \
    t "id, COALESCE(" t "workspace_id, ''), " t "kind,"                                            \
      " CASE WHEN " t "status = 'queued' AND " t "attempts > 0 THEN 'failed' ELSE " t              \
      "status END,"                                                                                \
      " " t "payload::text, " t "last_error, " t "attempts, " t "max_attempts, " t "run_at, " t    \
      "started_at, " t "finished_at, " t "created_at, " t "updated_at"
#define JOB_COLS JOB_COLS_OF("")

static const char sql_insert[] =
    "INSERT INTO jobs (workspace_id, kind, payload, run_at, max_attempts, idempotency_key,"
    " created_at, updated_at) VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $7)"
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id";
static const char sql_by_key[] = "SELECT id FROM jobs WHERE idempotency_key = $1";
/* A job that ends done keeps no error of an earlier attempt (as in SQLite). */
static const char sql_finish[] =
    "UPDATE jobs SET status = $4::text,"
    " run_at = CASE WHEN $4::text = 'queued' THEN $5::bigint ELSE run_at END,"
    " last_error = CASE WHEN $4::text = 'done' THEN $6::text"
    " ELSE COALESCE($6::text, last_error) END, locked_by = NULL, locked_until = NULL,"
    " finished_at = CASE WHEN $4::text = 'queued' THEN NULL ELSE $7::bigint END,"
    " updated_at = $7::bigint"
    " WHERE id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3";
/*
 * The rows to change are picked once, in a MATERIALIZED CTE: in "WHERE id IN
 * (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)" the planner may rescan the
 * subquery, each rescan skipping the rows the last one locked, and change
 * more than n rows.
 */
static const char sql_expire[] =
    "WITH lost AS MATERIALIZED (SELECT id FROM jobs WHERE status = 'running'"
    " AND locked_until < $1 AND attempts >= max_attempts FOR UPDATE SKIP LOCKED)"
    " UPDATE jobs j SET status = 'dead',"
    " last_error = 'the worker stopped during the last attempt (its lease ran out)',"
    " locked_by = NULL, locked_until = NULL, finished_at = $1, updated_at = $1"
    " FROM lost WHERE j.id = lost.id";
#define CLAIM(pick)                                                                                \
    "WITH picked AS MATERIALIZED (" pick " LIMIT $4 FOR UPDATE SKIP LOCKED)"                       \
    " UPDATE jobs j SET status = 'running', locked_by = $1, locked_until = $3,"                    \
    " attempts = j.attempts + 1, started_at = $2, updated_at = $2 FROM picked"                     \
    " WHERE j.id = picked.id RETURNING " JOB_COLS_OF("j.")
static const char sql_claim_lost[] =
    CLAIM("SELECT id FROM jobs WHERE status = 'running' AND locked_until < $2"
          " ORDER BY locked_until");
static const char sql_claim_due[] =
    CLAIM("SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $2 ORDER BY run_at, id");

static const char sql_renew[] =
    "UPDATE jobs SET locked_until = $4::bigint, updated_at = $5::bigint"
    " WHERE id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3";

/* Through the partial index jobs_done: only finished rows are in it. */
static const char sql_purge[] =
    "WITH old AS MATERIALIZED (SELECT id FROM jobs WHERE status = 'done' AND finished_at < $1"
    " ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
    " DELETE FROM jobs j USING old WHERE j.id = old.id";

static void read_row(const PGresult *r, int i, struct arena *a, struct job_row *out)
{
    memset(out, 0, sizeof(*out));
    out->id = pg_col_i64(r, i, 0);
    pg_col_copy(r, i, 1, out->workspace_id, sizeof(out->workspace_id));
    pg_col_copy(r, i, 2, out->kind, sizeof(out->kind));
    pg_col_copy(r, i, 3, out->status, sizeof(out->status));
    out->payload = pg_col_dup(r, i, 4, a);
    out->last_error = pg_col_opt(r, i, 5, a);
    out->attempts = (int)pg_col_i64(r, i, 6);
    out->max_attempts = (int)pg_col_i64(r, i, 7);
    out->run_at = pg_col_i64(r, i, 8);
    out->started_at = pg_col_i64(r, i, 9);
    out->finished_at = pg_col_i64(r, i, 10);
    out->created_at = pg_col_i64(r, i, 11);
    out->updated_at = pg_col_i64(r, i, 12);
}

/* Enters for a statement of the queue itself: a transaction with
 * leadflow.queue on (every workspace's jobs, and system jobs). */
static int enter_queue(struct pg_store *s, struct pg_ctx *x, struct errinfo *e)
{
    int rc = pg_enter(s, NULL, true, x, e);
    if (!rc && (rc = pg_set_local(x, "queue", "on", e)))
        rc = pg_leave(x, rc, e);
    return rc;
}

/* Leaves what enter_queue began; inside the caller's transaction the
 * setting is turned off again, so the rest of it stays under the workspace
 * policy alone. */
static int leave_queue(struct pg_ctx *x, int rc, struct errinfo *e)
{
    if (!rc && !x->tx)
        rc = pg_set_local(x, "queue", "", e);
    return pg_leave(x, rc, e);
}

int pg_job_insert(struct store *base, const char *workspace_id, const struct job_new *j,
                  int64_t now, int64_t *id, bool *created, struct errinfo *e)
{
    struct pg_store *s = (struct pg_store *)base;
    *created = false;
    *id = 0;
    struct pg_ctx x;
    /* A system job has no workspace: only the queue's policy admits it, set
     * for its statements alone (pg_exec_set: no transaction of its own
     * outside the caller's, the setting off again inside it). */
    int rc = pg_enter(s, workspace_id, false, &x, e);
    if (rc)
        return rc;
    bool sys = !workspace_id;
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, j->kind);
    pg_p_str(&p, j->payload ? j->payload : "{}");
    pg_p_i64(&p, j->run_at);
    pg_p_i64(&p, j->max_attempts);
    pg_p_str(&p, j->idempotency_key);
    pg_p_i64(&p, now);
    PGresult *r;
    rc = sys ? pg_exec_set(&x, "queue", "on", !x.own, sql_insert, &p, &r, "enqueuing a job", e)
             : pg_exec(&x, sql_insert, &p, &r, "enqueuing a job", e);
    if (rc) {
        if (rc == ERR_INVALID && strstr(e->msg, "json"))
            rc = failf(e, ERR_INVALID, "the job's payload is not JSON");
        else if (rc == ERR_CONFLICT && strstr(e->msg, "foreign key"))
            rc = failf(e, ERR_NOT_FOUND, "no such workspace");
    } else {
        if (PQntuples(r) > 0) {
            *id = pg_col_i64(r, 0, 0);
            *created = true;
        }
        PQclear(r);
    }
    if (!rc && !*created) {
        /* The key is taken: the existing job is the answer. */
        struct pg_params k = {0};
        pg_p_str(&k, j->idempotency_key);
        rc = sys ? pg_exec_set(&x, "queue", "on", !x.own, sql_by_key, &k, &r, "reading a job", e)
                 : pg_exec(&x, sql_by_key, &k, &r, "reading a job", e);
        if (!rc) {
            if (PQntuples(r) > 0)
                *id = pg_col_i64(r, 0, 0);
            else /* another workspace's job holds it: the policy hides it */
                rc = failf(e, ERR_CONFLICT, "the job's idempotency key is taken");
            PQclear(r);
        }
    }
    return pg_leave(&x, rc, e);
}

static int finish_one(struct pg_ctx *x, const struct job_finish *f, int64_t now, bool *applied,
                      struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_i64(&p, f->id);
    pg_p_str(&p, f->worker);
    pg_p_i64(&p, f->attempts);
    pg_p_str(&p, f->status);
    pg_p_i64(&p, f->run_at);
    pg_p_str(&p, f->error);
    pg_p_i64(&p, now);
    int64_t rows = 0;
    int rc = pg_run(x, sql_finish, &p, &rows, "finishing a job", e);
    *applied = rc == 0 && rows == 1;
    return rc;
}

/* One claim statement: up to max - *n more rows into out. */
static int claim_with(struct pg_ctx *x, const char *sql, const char *worker, int64_t now,
                      int64_t lease_ms, size_t max, struct arena *a, struct job_row *out, size_t *n,
                      struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, worker);
    pg_p_i64(&p, now);
    pg_p_i64(&p, now + lease_ms);
    pg_p_i64(&p, (int64_t)(max - *n));
    PGresult *r;
    int rc = pg_exec(x, sql, &p, &r, "claiming jobs", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    for (int i = 0; i < nt && *n < max; i++) /* the LIMIT makes the bound always hold */
        read_row(r, i, a, &out[(*n)++]);
    PQclear(r);
    return 0;
}

/* Abandoned jobs: those on their last attempt end dead, then the others are claimed. */
static int claim_lost(struct pg_ctx *x, const char *worker, int64_t now, int64_t lease_ms,
                      size_t max, struct arena *a, struct job_row *out, size_t *n,
                      struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_i64(&p, now);
    int rc = pg_run(x, sql_expire, &p, NULL, "ending lost jobs", e);
    return rc ? rc : claim_with(x, sql_claim_lost, worker, now, lease_ms, max, a, out, n, e);
}

static int by_run_at(const void *pa, const void *pb)
{
    const struct job_row *a = pa, *b = pb;
    if (a->run_at != b->run_at)
        return a->run_at < b->run_at ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/*
 * A claim's transaction: the queue's policy, and no sorting. The claims read
 * the due index (migration 12) in order and stop after LIMIT rows; but on a
 * table whose statistics are stale (a burst of jobs into a new or quiet
 * table, before autovacuum analyzes it) the planner believes a few rows
 * match and sorts them all instead, which costs O(backlog) per claim.
 */
static const char sql_claim_settings[] =
    "SELECT set_config('leadflow.queue', 'on', true), set_config('enable_sort', 'off', true)";

int pg_job_claim(struct store *base, struct job_finish *done, size_t ndone, const char *worker,
                 int64_t now, int64_t lease_ms, bool lost_first, size_t max, struct arena *a,
                 struct job_row *out, size_t *n, struct errinfo *e)
{
    *n = 0;
    for (size_t i = 0; i < ndone; i++)
        done[i].applied = false;
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, NULL, true, &x, e);
    if (rc)
        return rc;
    if ((rc = pg_run(&x, sql_claim_settings, NULL, NULL, "starting a claim", e)))
        return pg_leave(&x, rc, e);
    for (size_t i = 0; !rc && i < ndone; i++)
        rc = finish_one(&x, &done[i], now, &done[i].applied, e);
    if (!rc && lost_first && max > 0)
        rc = claim_lost(&x, worker, now, lease_ms, max, a, out, n, e);
    if (!rc && *n < max)
        rc = claim_with(&x, sql_claim_due, worker, now, lease_ms, max, a, out, n, e);
    if (!rc && *n == 0 && !lost_first && max > 0)
        rc = claim_lost(&x, worker, now, lease_ms, max, a, out, n, e);
    rc = leave_queue(&x, rc, e);
    if (rc) {
        *n = 0;
        for (size_t i = 0; i < ndone; i++)
            done[i].applied = false;
        return rc;
    }
    /* RETURNING gives no order: the caller runs them as the queue is ordered. */
    qsort(out, *n, sizeof(*out), by_run_at);
    return 0;
}

int pg_job_finish(struct store *base, const struct job_finish *f, int64_t now, bool *applied,
                  struct errinfo *e)
{
    *applied = false;
    struct pg_ctx x;
    int rc = enter_queue((struct pg_store *)base, &x, e);
    if (rc)
        return rc;
    bool ok = false;
    rc = finish_one(&x, f, now, &ok, e);
    rc = leave_queue(&x, rc, e);
    *applied = rc == 0 && ok;
    return rc;
}

int pg_job_renew(struct store *base, const char *worker, struct job_held *held, size_t n,
                 int64_t now, int64_t until, struct errinfo *e)
{
    for (size_t i = 0; i < n; i++)
        held[i].renewed = false;
    struct pg_ctx x;
    int rc = enter_queue((struct pg_store *)base, &x, e);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < n; i++) {
        struct pg_params p = {0};
        pg_p_i64(&p, held[i].id);
        pg_p_str(&p, worker);
        pg_p_i64(&p, held[i].attempts);
        pg_p_i64(&p, until);
        pg_p_i64(&p, now);
        int64_t rows = 0;
        rc = pg_run(&x, sql_renew, &p, &rows, "renewing a job's lease", e);
        held[i].renewed = rc == 0 && rows == 1;
    }
    rc = leave_queue(&x, rc, e);
    if (rc)
        for (size_t i = 0; i < n; i++)
            held[i].renewed = false;
    return rc;
}

int pg_job_purge(struct store *base, int64_t before, int limit, int64_t *deleted, struct errinfo *e)
{
    *deleted = 0;
    struct pg_ctx x;
    int rc = enter_queue((struct pg_store *)base, &x, e);
    if (rc)
        return rc;
    struct pg_params p = {0};
    pg_p_i64(&p, before);
    pg_p_i64(&p, limit);
    rc = pg_run(&x, sql_purge, &p, deleted, "deleting finished jobs", e);
    return leave_queue(&x, rc, e);
}
