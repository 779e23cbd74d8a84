/*
 * Store: the durable job queue (jobs/queue.h is its user-facing API): the rows as callers see
 * them and the store_* calls. Insert, claim, finish and purge are written per backend (SKIP
 * LOCKED, the queue's row policy): their contracts are at their slots in struct store_ops.
 */
#ifndef LEADFLOW_STORE_JOBS_H
#define LEADFLOW_STORE_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* A job as stored (jobs/queue.h); strings are arena memory. */
struct job_row {
    int64_t id;
    char workspace_id[STORE_ID_LEN]; /* "" for a system job */
    char kind[32];
    char status[8];         /* queued | running | done | failed | dead */
    const char *payload;    /* JSON object text */
    const char *last_error; /* NULL when none */
    const char *progress;   /* JSON object text a long job keeps up to date; NULL when none */
    int attempts, max_attempts;
    int64_t run_at, started_at, finished_at, created_at, updated_at; /* 0: none */
};

/* A job to insert (jobs/queue.h checks the values first). */
struct job_new {
    const char *kind;
    const char *payload;         /* JSON object text */
    const char *idempotency_key; /* NULL: none */
    int64_t run_at;
    int max_attempts;
};

/* How a claimed job ended. It is written only while the worker still holds
 * the lease (locked_by and attempts match the row); applied tells whether it was. */
struct job_finish {
    int64_t id;
    const char *worker;
    int attempts;
    const char *status; /* done | queued (again at run_at) | dead */
    int64_t run_at;
    const char *error; /* last_error; NULL: none */
    bool applied;      /* out */
};

/* A job a worker is running, whose lease it renews (job_renew). */
struct job_held {
    int64_t id;
    int attempts;
    bool renewed; /* out */
};

static inline int store_job_insert(struct store *st, const char *workspace_id,
                                   const struct job_new *j, int64_t now, int64_t *id, bool *created,
                                   struct errinfo *e)
{
    return st->ops->job_insert(st, workspace_id, j, now, id, created, e);
}

static inline int store_job_claim(struct store *st, struct job_finish *done, size_t ndone,
                                  const char *worker, int64_t now, int64_t lease_ms,
                                  bool lost_first, size_t max, struct arena *a, struct job_row *out,
                                  size_t *n, struct errinfo *e)
{
    return st->ops->job_claim(st, done, ndone, worker, now, lease_ms, lost_first, max, a, out, n,
                              e);
}

static inline int store_job_finish(struct store *st, const struct job_finish *f, int64_t now,
                                   bool *applied, struct errinfo *e)
{
    return st->ops->job_finish(st, f, now, applied, e);
}

static inline int store_job_renew(struct store *st, const char *worker, struct job_held *held,
                                  size_t n, int64_t now, int64_t until, struct errinfo *e)
{
    return st->ops->job_renew(st, worker, held, n, now, until, e);
}

/* A page of the workspace's jobs, newest first, as the API shows them: a
 * queued job that has failed before is "failed" (waiting for its retry).
 * status NULL: any; else queued | running | done | failed | dead. */
int store_job_list(struct store *st, const char *workspace_id, const char *status, int limit,
                   int offset, struct arena *a, struct job_row **rows, size_t *n, int64_t *total,
                   struct errinfo *e);

/* How many jobs of a kind are in a status, across every workspace. */
struct job_depth {
    char kind[32];
    char status[8]; /* queued | running | dead */
    int64_t count;
};

/* The queue's depth for /metrics: the queued, running and dead jobs of
 * every workspace, counted by kind and status (ordered so). */
int store_job_depth(struct store *st, struct arena *a, struct job_depth **rows, size_t *n,
                    struct errinfo *e);

/* A dead or failed job: retry queues it now with attempts 0; discard
 * ends it as done with last_error "discarded" (the row stays until the
 * retention ends, so its idempotency key stays taken). out is the job after the change.
 * ERR_NOT_FOUND when the job is not the workspace's; ERR_CONFLICT when
 * it is neither dead nor failed. */
int store_job_retry(struct store *st, const char *workspace_id, int64_t id, int64_t now,
                    struct arena *a, struct job_row *out, struct errinfo *e);

int store_job_discard(struct store *st, const char *workspace_id, int64_t id, int64_t now,
                      struct arena *a, struct job_row *out, struct errinfo *e);

/* One of the workspace's jobs; ERR_NOT_FOUND when it is not the workspace's. */
int store_job_get(struct store *st, const char *workspace_id, int64_t id, struct arena *a,
                  struct job_row *out, struct errinfo *e);

/* Records how far a running job got (progress: a JSON object text). Runs on
 * the calling thread's connection, so inside a transaction it commits with
 * the work it describes. ERR_NOT_FOUND when the job is not the workspace's. */
int store_job_progress(struct store *st, const char *workspace_id, int64_t id, const char *progress,
                       int64_t now, struct errinfo *e);

/* The oldest of the workspace's queued or running jobs of kind whose
 * payload has value at its top-level string field, into *id (0: none). */
int store_job_active(struct store *st, const char *workspace_id, const char *kind,
                     const char *field, const char *value, int64_t *id, struct errinfo *e);

static inline int store_job_purge(struct store *st, int64_t before, int limit, int64_t *deleted,
                                  struct errinfo *e)
{
    return st->ops->job_purge(st, before, limit, deleted, e);
}

#endif
