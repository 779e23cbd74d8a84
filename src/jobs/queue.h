/*
 * The durable job queue (DESIGN.md §1 "durable before visible"): every piece
 * of work that happens later or talks to the outside world is a row in the
 * jobs table, written in the same transaction as the change that caused it.
 * Workers claim due jobs with a lease, run the handler registered for the
 * job's kind, and finish them: done, retried later with exponential backoff
 * and jitter, or dead after max_attempts (visible in GET /api/jobs?status=dead,
 * where it can be retried or discarded). A worker that dies leaves its job
 * to be claimed again when the lease runs out (a live worker's leases are
 * renewed while its handlers run, so only a dead one's run out), so handlers must be
 * idempotent (sends carry idempotency keys). A busy worker claims up to 32
 * quick jobs in one transaction and records their outcomes with its next
 * claim; a claimed job that could not start well inside its lease is left
 * for another worker.
 */
#ifndef LEADFLOW_JOBS_QUEUE_H
#define LEADFLOW_JOBS_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/store.h"

enum {
    JOB_KIND_MAX = 32,
    JOB_MAX_ATTEMPTS_DEFAULT = 5,
    JOB_LEASE_MS =
        60 * 1000, /* the default lease: a job not renewed is another worker's after this */
};

/* What to enqueue. payload is a JSON object text (NULL: "{}"). */
struct job_spec {
    const char *workspace_id; /* may be NULL for system jobs */
    const char *kind;         /* "send_email", "draft_content", ... */
    const char *payload;
    int64_t run_at;              /* 0: now */
    int max_attempts;            /* 0: JOB_MAX_ATTEMPTS_DEFAULT */
    const char *idempotency_key; /* NULL: none; an existing key enqueues nothing */
};

/* A claimed job as a handler sees it (strings live until the handler returns). */
struct job {
    int64_t id;
    char workspace_id[STORE_ID_LEN];
    char kind[JOB_KIND_MAX];
    const char *payload;
    int attempts; /* including this one */
    int max_attempts;
    int64_t run_at, created_at;
};

/*
 * Adds a job. Runs on the calling thread's connection, so inside an open
 * store transaction (tx_begin) the job commits or rolls back with the change
 * that caused it. *id gets the new id, or the existing job's id when the
 * idempotency key is already taken (then *created is false).
 */
int queue_enqueue(struct store *st, const struct job_spec *spec, int64_t *id, bool *created,
                  struct errinfo *e);

/*
 * A handler returns 0 when the job is done, ERR_TEMPORARY (or any error) to
 * be retried with backoff, ERR_INVALID when retrying cannot help (the job is
 * dead at once). e's message is kept as the job's last_error.
 */
typedef int (*job_fn)(void *ctx, struct store *st, const struct job *j, struct arena *a,
                      struct errinfo *e);

struct queue;

struct queue_opts {
    struct store *store;  /* borrowed */
    unsigned workers;     /* threads; 0: 2 */
    int64_t poll_ms;      /* how often an idle worker looks for due jobs; 0: 200 */
    const char *name;     /* worker name recorded in locked_by ("host:pid") */
    int64_t retention_ms; /* done jobs are deleted this long after they finished; 0: kept */
    int64_t lease_ms;     /* a claim's lease, renewed every third of it while the job runs;
                             0: JOB_LEASE_MS */
};

struct queue *queue_new(const struct queue_opts *o);
/* Registers the handler of a kind (before queue_start). */
void queue_register(struct queue *q, const char *kind, job_fn fn, void *ctx);
/* The first retry's delay for a kind (then doubling, with jitter); the
 * default is 1 s. Call after queue_register, before queue_start. */
void queue_set_backoff(struct queue *q, const char *kind, int64_t base_ms);
/*
 * Called after a job's death was recorded (its last attempt failed, or the
 * handler said retrying cannot help), on the worker's thread outside any
 * transaction. workspace_id is "" for a system job. Jobs that die because
 * their lease ran out on the last attempt are not reported.
 */
typedef void (*queue_dead_fn)(void *ctx, struct store *st, const char *workspace_id, int64_t id,
                              const char *kind, const char *error);
void queue_on_dead(struct queue *q, queue_dead_fn fn, void *ctx);
/* Starts the worker threads. */
int queue_start(struct queue *q, struct errinfo *e);
/* Wakes the workers now (after an enqueue in this process). */
void queue_kick(struct queue *q);
/* Stops claiming, waits for running handlers to finish, joins, frees. */
void queue_free(struct queue *q);

/*
 * One pass for tests and `leadflow worker --once`: claims and runs due jobs
 * on the calling thread until none is due; returns how many ran.
 */
int queue_run_due(struct queue *q, int max, struct errinfo *e);

/*
 * Deletes the done jobs that finished more than retention_ms before now, in
 * batches; *deleted counts them (0 when retention is off), also when a
 * later batch failed. Returns 0 or the store's error. Idle workers call it
 * once a minute; `leadflow worker --once` at the end of its pass.
 */
int queue_purge(struct queue *q, int64_t now, int64_t *deleted, struct errinfo *e);

/*
 * Appends the queue's depth in Prometheus text, read from the database (so
 * every process's jobs): leadflow_queue_depth (queued), leadflow_jobs_running
 * and leadflow_jobs_dead, each by kind. arg is the store. 0, ERR_TOO_BIG, or
 * the store's error (then nothing is appended).
 */
int queue_metrics_render(const void *arg, struct buf *out);

/* Backoff before attempt n+1 after n failures: base * 2^(n-1), capped, with
 * +-20% jitter. Exposed for tests. */
int64_t queue_backoff_ms(int attempts, uint32_t jitter_seed);

#endif
