/*
 * The jobs table as a workspace sees it (GET /api/jobs, retry, discard),
 * written once over the cursor (store/db.h). Enqueuing, claiming, finishing
 * and purging stay with each backend (sqlite_jobs.c, pg_jobs.c): they work
 * across workspaces, and PostgreSQL claims with FOR UPDATE SKIP LOCKED under
 * a policy of its own.
 */
#include <stdio.h>
#include <string.h>

#include "store/db.h"
#include "store/db_ops.h"
#include "store/jobs.h"

/* The columns of struct job_row, in read_row()'s order. A queued job that has
 * failed before shows as "failed": it waits for its retry. */
#define JOB_COLS                                                                                   \
    "id, COALESCE(workspace_id, ''), kind,"                                                        \
    " CASE WHEN status = 'queued' AND attempts > 0 THEN 'failed' ELSE status END,"                 \
    " CAST(payload AS TEXT), last_error, attempts, max_attempts, run_at, started_at, finished_at," \
    " created_at, updated_at, CAST(progress AS TEXT)"

#define RETRYABLE " AND (status IN ('dead', 'failed') OR (status = 'queued' AND attempts > 0))"
static struct db_sql sql_retry =
    DB_SQL("UPDATE jobs SET status = 'queued', attempts = 0, run_at = ?3, locked_by = NULL,"
           " locked_until = NULL, finished_at = NULL, updated_at = ?3"
           " WHERE workspace_id = ?1 AND id = ?2" RETRYABLE " RETURNING " JOB_COLS);
static struct db_sql sql_discard =
    DB_SQL("UPDATE jobs SET status = 'done', last_error = 'discarded', locked_by = NULL,"
           " locked_until = NULL, finished_at = ?3, updated_at = ?3"
           " WHERE workspace_id = ?1 AND id = ?2" RETRYABLE " RETURNING " JOB_COLS);
static struct db_sql sql_get =
    DB_SQL("SELECT " JOB_COLS " FROM jobs WHERE workspace_id = ?1 AND id = ?2");
static struct db_sql sql_progress =
    DB_SQL2("UPDATE jobs SET progress = ?3, updated_at = ?4 WHERE workspace_id = ?1 AND id = ?2",
            "UPDATE jobs SET progress = CAST(?3 AS jsonb), updated_at = ?4"
            " WHERE workspace_id = ?1 AND id = ?2");
static struct db_sql sql_active =
    DB_SQL2("SELECT id FROM jobs WHERE workspace_id = ?1 AND kind = ?2"
            " AND status IN ('queued', 'running') AND json_extract(payload, '$.' || ?3) = ?4"
            " ORDER BY id LIMIT 1",
            "SELECT id FROM jobs WHERE workspace_id = ?1 AND kind = ?2"
            " AND status IN ('queued', 'running') AND payload->>CAST(?3 AS text) = ?4"
            " ORDER BY id LIMIT 1");
static struct db_sql sql_exists = DB_SQL("SELECT 1 FROM jobs WHERE workspace_id = ?1 AND id = ?2");

#define LIST(where)                                                                                \
    DB_SQL("SELECT " JOB_COLS " FROM jobs WHERE workspace_id = ?1" where                           \
           " ORDER BY id DESC LIMIT ?2 OFFSET ?3")
#define COUNT(where) DB_SQL("SELECT COUNT(*) FROM jobs WHERE workspace_id = ?1" where)

/* The API's statuses and the rows each one means. */
static struct {
    const char *status; /* NULL: any */
    struct db_sql list, count;
} filters[] = {
    {NULL, LIST(""), COUNT("")},
    {"queued", LIST(" AND status = 'queued' AND attempts = 0"),
     COUNT(" AND status = 'queued' AND attempts = 0")},
    {"running", LIST(" AND status = 'running'"), COUNT(" AND status = 'running'")},
    {"done", LIST(" AND status = 'done'"), COUNT(" AND status = 'done'")},
    {"failed", LIST(" AND (status = 'failed' OR (status = 'queued' AND attempts > 0))"),
     COUNT(" AND (status = 'failed' OR (status = 'queued' AND attempts > 0))")},
    {"dead", LIST(" AND status = 'dead'"), COUNT(" AND status = 'dead'")},
};

static void read_row(struct db_cur *c, struct arena *a, void *row)
{
    struct job_row *out = row;
    memset(out, 0, sizeof(*out));
    out->id = db_col_i64(c, 0);
    db_col_copy(c, 1, out->workspace_id, sizeof(out->workspace_id));
    db_col_copy(c, 2, out->kind, sizeof(out->kind));
    db_col_copy(c, 3, out->status, sizeof(out->status));
    out->payload = db_col_dup(c, 4, a);
    out->last_error = db_col_opt(c, 5, a);
    out->attempts = db_col_int(c, 6);
    out->max_attempts = db_col_int(c, 7);
    out->run_at = db_col_i64(c, 8);
    out->started_at = db_col_i64(c, 9);
    out->finished_at = db_col_i64(c, 10);
    out->created_at = db_col_i64(c, 11);
    out->updated_at = db_col_i64(c, 12);
    out->progress = db_col_opt(c, 13, a);
}

int store_job_list(struct store *st, const char *workspace_id, const char *status, int limit,
                   int offset, struct arena *a, struct job_row **rows, size_t *n, int64_t *total,
                   struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    *total = 0;
    size_t fi = 0;
    while (fi < sizeof(filters) / sizeof(filters[0]) &&
           !(status ? filters[fi].status && strcmp(filters[fi].status, status) == 0
                    : !filters[fi].status))
        fi++;
    if (fi == sizeof(filters) / sizeof(filters[0]))
        return failf(e, ERR_INVALID, "status must be one of queued, running, done, failed, dead");

    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &filters[fi].count, "counting jobs");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        if ((rc = db_step(&c)) == DB_ROW)
            *total = db_col_i64(&c, 0);
        rc = rc < 0 ? rc : 0;
    }
    if (!rc && *total > offset && !(rc = db_prepare(&c, &filters[fi].list, "listing jobs"))) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_i64(&c, 2, limit > 0 ? limit : 0);
        db_bind_i64(&c, 3, offset > 0 ? offset : 0);
        rc = db_read_all(&c, read_row, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    }
    return db_leave(&c, rc);
}

/* A retry or a discard: the row after the change, else why there was none. */
static int change_dead(struct store *st, struct db_sql *sql, const char *workspace_id, int64_t id,
                       int64_t now, struct arena *a, struct job_row *out, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_MANY, e);
    if (rc)
        return rc;
    if ((rc = db_prepare(&c, sql, "changing a job")))
        return db_leave(&c, rc);
    db_bind_str(&c, 1, workspace_id);
    db_bind_i64(&c, 2, id);
    db_bind_i64(&c, 3, now);
    rc = db_step(&c);
    if (rc == DB_ROW) {
        read_row(&c, a, out);
        return db_leave(&c, db_run(&c));
    }
    if (rc < 0 || (rc = db_prepare(&c, &sql_exists, "reading a job")))
        return db_leave(&c, rc);
    db_bind_str(&c, 1, workspace_id);
    db_bind_i64(&c, 2, id);
    rc = db_step(&c);
    if (rc == DB_ROW)
        rc = failf(e, ERR_CONFLICT, "only a dead or failed job can be retried or discarded");
    else if (rc == DB_DONE)
        rc = failf(e, ERR_NOT_FOUND, "job not found");
    return db_leave(&c, rc);
}

int store_job_retry(struct store *st, const char *workspace_id, int64_t id, int64_t now,
                    struct arena *a, struct job_row *out, struct errinfo *e)
{
    return change_dead(st, &sql_retry, workspace_id, id, now, a, out, e);
}

int store_job_discard(struct store *st, const char *workspace_id, int64_t id, int64_t now,
                      struct arena *a, struct job_row *out, struct errinfo *e)
{
    return change_dead(st, &sql_discard, workspace_id, id, now, a, out, e);
}

static struct db_sql sql_depth =
    DB_SQL("SELECT kind, status, COUNT(*) FROM jobs WHERE status IN ('queued', 'running', 'dead')"
           " GROUP BY kind, status ORDER BY kind, status");

static void read_depth(struct db_cur *c, struct arena *a, void *row)
{
    (void)a;
    struct job_depth *d = row;
    db_col_copy(c, 0, d->kind, sizeof(d->kind));
    db_col_copy(c, 1, d->status, sizeof(d->status));
    d->count = db_col_i64(c, 2);
}

int store_job_depth(struct store *st, struct arena *a, struct job_depth **rows, size_t *n,
                    struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, NULL, DB_SETTINGS, e);
    if (rc)
        return rc;
    /* PostgreSQL's queue policy shows every workspace's jobs to the queue. */
    rc = db_set(&c, "queue", "on");
    if (!rc)
        rc = db_prepare(&c, &sql_depth, "counting jobs");
    if (!rc)
        rc = db_read_all(&c, read_depth, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    return db_leave(&c, rc);
}

int store_job_get(struct store *st, const char *workspace_id, int64_t id, struct arena *a,
                  struct job_row *out, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    if ((rc = db_prepare(&c, &sql_get, "reading a job")))
        return db_leave(&c, rc);
    db_bind_str(&c, 1, workspace_id);
    db_bind_i64(&c, 2, id);
    return db_leave(&c, db_read_one(&c, read_row, a, out, "job"));
}

int store_job_progress(struct store *st, const char *workspace_id, int64_t id, const char *progress,
                       int64_t now, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    if ((rc = db_prepare(&c, &sql_progress, "recording a job's progress")))
        return db_leave(&c, rc);
    db_bind_str(&c, 1, workspace_id);
    db_bind_i64(&c, 2, id);
    db_bind_str(&c, 3, progress);
    db_bind_i64(&c, 4, now);
    return db_leave(&c, db_run_one(&c, "job"));
}

int store_job_active(struct store *st, const char *workspace_id, const char *kind,
                     const char *field, const char *value, int64_t *id, struct errinfo *e)
{
    *id = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    if ((rc = db_prepare(&c, &sql_active, "looking for a job in progress")))
        return db_leave(&c, rc);
    db_bind_str(&c, 1, workspace_id);
    db_bind_str(&c, 2, kind);
    db_bind_str(&c, 3, field);
    db_bind_str(&c, 4, value);
    rc = db_step(&c);
    if (rc == DB_ROW) {
        *id = db_col_i64(&c, 0);
        rc = db_run(&c);
    }
    return db_leave(&c, rc);
}
