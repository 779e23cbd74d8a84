/*
 * The durable job queue (contract in jobs/queue.h): enqueue on the caller's
 * connection, worker threads that claim one due job at a time with a lease,
 * run its handler outside any transaction and finish it (done, again later
 * with backoff, or dead). An idle worker sleeps on a condition variable for
 * poll_ms (the scheduler's tick: delayed jobs and retries come due then);
 * queue_kick wakes it at once. A renewer thread extends the leases of the
 * jobs this process's workers hold every third of a lease, so a handler that
 * runs long keeps its job; a process that dies stops renewing, and its jobs
 * are taken over when their leases run out.
 */
#include "jobs/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/jobs.h"

enum {
    BACKOFF_BASE_MS = 1000,
    BACKOFF_CAP_MS = 60 * 60 * 1000,
    WORKERS_DEFAULT = 2,
    POLL_MS_DEFAULT = 200,
    MAX_ATTEMPTS_LIMIT = 100,
    IDEMPOTENCY_KEY_MAX = 255,
    WORKER_NAME_MAX = 128,
    ARENA_STACK = 4096,
    LOST_CHECK_MS = 1000,   /* a busy worker looks for abandoned jobs first this often */
    BATCH_MAX = 32,         /* jobs claimed in one transaction */
    FAST_MS = 5,            /* a batch whose handlers all took less may grow */
    LEASE_MARGIN_DIV = 12,  /* a claimed job not started in the last 1/12 of its lease waits */
    RENEW_DIV = 3,          /* leases are renewed every third of a lease */
    PURGE_EVERY_MS = 60000, /* how often an idle worker deletes expired done jobs */
    PURGE_BATCH = 1000,     /* rows per delete, so writers never wait long */
    PURGE_BATCHES = 50,     /* at most this many per pass; the next pass goes on */
};

struct handler {
    char kind[JOB_KIND_MAX];
    job_fn fn;
    void *ctx;
    int64_t backoff_ms; /* 0: BACKOFF_BASE_MS */
};

struct worker;

struct queue {
    struct store *st;
    unsigned nworkers;
    int64_t poll_ms;
    int64_t lease_ms;
    int64_t retention_ms;
    char name[WORKER_NAME_MAX];
    struct handler *handlers;
    size_t nhandlers;
    queue_dead_fn on_dead;
    void *on_dead_ctx;

    pthread_mutex_t mu; /* guards stopping, kicks, the workers and what they hold */
    pthread_cond_t wake;
    bool stopping;
    uint64_t kicks;
    struct worker **workers; /* the claiming threads, whose leases the renewer extends */
    size_t nworkerlist;
    pthread_t renewer;
    bool renewing;     /* the renewer thread was started */
    bool renew_stop;   /* set once the workers are joined: the renewer ends */
    int64_t purged_ms; /* when a worker last deleted expired jobs (monotonic) */

    /* SQLite has one writer at a time, and its busy handler sleeps whole
     * milliseconds: this process's workers take turns on a mutex instead
     * (write_lock; on PostgreSQL they claim at the same time). */
    pthread_mutex_t write_mu;

    pthread_t *threads;
    unsigned nthreads;
};

/*
 * What one claiming thread carries between claims: the finishes of the jobs
 * it ran last, written in the same transaction as its next claim, and how
 * many jobs to claim at once. That starts at one and doubles (to BATCH_MAX)
 * while the handlers of a batch all return within FAST_MS: a busy queue of
 * quick jobs then costs one transaction per batch, not one per job.
 */
struct worker {
    struct queue *q;
    struct job_finish done[BATCH_MAX];
    char errors[BATCH_MAX][ERRINFO_MSG_MAX];
    /* Of each finished job, for the dead-job hook. */
    char workspaces[BATCH_MAX][STORE_ID_LEN];
    char kinds[BATCH_MAX][JOB_KIND_MAX];
    size_t ndone;
    size_t batch;
    /* The jobs of the current batch: claimed, running or finished with the
     * finish not yet written. Guarded by q->mu (the renewer reads it). */
    struct job_held held[BATCH_MAX];
    size_t nheld;
    int64_t lost_checked_ms; /* when this worker last looked for abandoned jobs first */
};

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static int64_t backoff_from(int64_t base, int attempts, uint32_t jitter_seed)
{
    int64_t d = base;
    for (int i = 1; i < attempts && d < BACKOFF_CAP_MS; i++)
        d *= 2;
    if (d > BACKOFF_CAP_MS)
        d = BACKOFF_CAP_MS;
    /* 80% to 120% of the step, so that jobs that failed together spread out. */
    return d * (800 + (int64_t)(jitter_seed % 401)) / 1000;
}

int64_t queue_backoff_ms(int attempts, uint32_t jitter_seed)
{
    return backoff_from(BACKOFF_BASE_MS, attempts, jitter_seed);
}

int queue_enqueue(struct store *st, const struct job_spec *spec, int64_t *id, bool *created,
                  struct errinfo *e)
{
    size_t klen = spec->kind ? strlen(spec->kind) : 0;
    if (klen == 0 || klen >= JOB_KIND_MAX)
        return failf(e, ERR_INVALID, "a job kind is 1 to %d characters", JOB_KIND_MAX - 1);
    if (spec->max_attempts < 0 || spec->max_attempts > MAX_ATTEMPTS_LIMIT)
        return failf(e, ERR_INVALID, "max_attempts must be 1 to %d", MAX_ATTEMPTS_LIMIT);
    if (spec->idempotency_key &&
        (!*spec->idempotency_key || strlen(spec->idempotency_key) > IDEMPOTENCY_KEY_MAX))
        return failf(e, ERR_INVALID, "an idempotency key is 1 to %d characters",
                     IDEMPOTENCY_KEY_MAX);
    int64_t now = clock_now_ms();
    struct job_new j = {
        .kind = spec->kind,
        .payload = spec->payload ? spec->payload : "{}",
        .idempotency_key = spec->idempotency_key,
        .run_at = spec->run_at ? spec->run_at : now,
        .max_attempts = spec->max_attempts ? spec->max_attempts : JOB_MAX_ATTEMPTS_DEFAULT,
    };
    int64_t id_;
    bool created_;
    return store_job_insert(st, spec->workspace_id, &j, now, id ? id : &id_,
                            created ? created : &created_, e);
}

static void write_lock(struct queue *q)
{
    if (q->st->one_writer)
        pthread_mutex_lock(&q->write_mu);
}

static void write_unlock(struct queue *q)
{
    if (q->st->one_writer)
        pthread_mutex_unlock(&q->write_mu);
}

struct queue *queue_new(const struct queue_opts *o)
{
    struct queue *q = XNEW(struct queue);
    q->st = o->store;
    q->nworkers = o->workers ? o->workers : WORKERS_DEFAULT;
    q->poll_ms = o->poll_ms > 0 ? o->poll_ms : POLL_MS_DEFAULT;
    q->lease_ms = o->lease_ms > 0 ? o->lease_ms : JOB_LEASE_MS;
    q->retention_ms = o->retention_ms > 0 ? o->retention_ms : 0;
    q->purged_ms = -PURGE_EVERY_MS;
    if (o->name && *o->name) {
        snprintf(q->name, sizeof(q->name), "%s", o->name);
    } else {
        char host[64] = "localhost";
        gethostname(host, sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        snprintf(q->name, sizeof(q->name), "%s:%ld", host, (long)getpid());
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_mutex_init(&q->write_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->wake, &ca);
    pthread_condattr_destroy(&ca);
    return q;
}

void queue_register(struct queue *q, const char *kind, job_fn fn, void *ctx)
{
    for (size_t i = 0; i < q->nhandlers; i++) {
        if (strcmp(q->handlers[i].kind, kind) == 0) {
            q->handlers[i].fn = fn;
            q->handlers[i].ctx = ctx;
            return;
        }
    }
    q->handlers = xrealloc(q->handlers, (q->nhandlers + 1) * sizeof(*q->handlers));
    struct handler *h = &q->handlers[q->nhandlers++];
    snprintf(h->kind, sizeof(h->kind), "%s", kind);
    h->fn = fn;
    h->ctx = ctx;
    h->backoff_ms = 0;
}

void queue_set_backoff(struct queue *q, const char *kind, int64_t base_ms)
{
    for (size_t i = 0; i < q->nhandlers; i++)
        if (strcmp(q->handlers[i].kind, kind) == 0)
            q->handlers[i].backoff_ms = base_ms > 0 ? base_ms : 0;
}

void queue_on_dead(struct queue *q, queue_dead_fn fn, void *ctx)
{
    q->on_dead = fn;
    q->on_dead_ctx = ctx;
}

static const struct handler *handler_for(const struct queue *q, const char *kind)
{
    for (size_t i = 0; i < q->nhandlers; i++)
        if (strcmp(q->handlers[i].kind, kind) == 0)
            return &q->handlers[i];
    return NULL;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Runs a claimed job and decides how it ends, into f (error text into err). */
static void run_job(struct queue *q, const struct job_row *row, struct arena *a,
                    struct job_finish *f, char err[ERRINFO_MSG_MAX])
{
    struct job j = {
        .id = row->id,
        .payload = row->payload,
        .attempts = row->attempts,
        .max_attempts = row->max_attempts,
        .run_at = row->run_at,
        .created_at = row->created_at,
    };
    snprintf(j.workspace_id, sizeof(j.workspace_id), "%s", row->workspace_id);
    snprintf(j.kind, sizeof(j.kind), "%s", row->kind);

    struct errinfo je;
    errinfo_clear(&je);
    const struct handler *h = handler_for(q, j.kind);
    int rc = h ? h->fn(h->ctx, q->st, &j, a, &je)
               : failf(&je, ERR_TEMPORARY, "no handler for kind %s in this process", j.kind);
    int64_t now = clock_now_ms();
    memset(f, 0, sizeof(*f));
    f->id = j.id;
    f->worker = q->name;
    f->attempts = j.attempts;
    if (rc == 0) {
        f->status = "done";
        log_debug("job.done", "job %lld (%s) done", (long long)j.id, j.kind);
        return;
    }
    if (!je.msg[0])
        failf(&je, rc, "the handler failed (%s)", err_name(rc));
    snprintf(err, ERRINFO_MSG_MAX, "%s", je.msg);
    f->error = err;
    if (rc != ERR_INVALID && j.attempts < j.max_attempts) {
        f->status = "queued";
        uint32_t seed =
            (uint32_t)mix64((uint64_t)j.id ^ ((uint64_t)now << 20) ^ (uint64_t)j.attempts);
        f->run_at = now + backoff_from(h && h->backoff_ms ? h->backoff_ms : BACKOFF_BASE_MS,
                                       j.attempts, seed);
        log_info("job.retry", "job %lld (%s) failed on attempt %d of %d, again in %lld ms: %s",
                 (long long)j.id, j.kind, j.attempts, j.max_attempts, (long long)(f->run_at - now),
                 je.msg);
    } else {
        f->status = "dead";
        log_warn("job.dead", "job %lld (%s) is dead after attempt %d of %d: %s", (long long)j.id,
                 j.kind, j.attempts, j.max_attempts, je.msg);
    }
}

/* Tells the dead-job hook about the deaths that were recorded. */
static void report_dead(struct worker *w)
{
    struct queue *q = w->q;
    for (size_t i = 0; q->on_dead && i < w->ndone; i++)
        if (w->done[i].applied && strcmp(w->done[i].status, "dead") == 0)
            q->on_dead(q->on_dead_ctx, q->st, w->workspaces[i], w->done[i].id, w->kinds[i],
                       w->done[i].error ? w->done[i].error : "");
}

static void log_lost(const struct job_finish *done, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!done[i].applied)
            log_warn("job.lease_lost",
                     "job %lld: its lease ran out and another worker claimed it; this run's "
                     "outcome (%s) is dropped",
                     (long long)done[i].id, done[i].status);
}

static void worker_attach(struct worker *w)
{
    struct queue *q = w->q;
    pthread_mutex_lock(&q->mu);
    q->workers = xrealloc(q->workers, (q->nworkerlist + 1) * sizeof(*q->workers));
    q->workers[q->nworkerlist++] = w;
    pthread_mutex_unlock(&q->mu);
}

static void worker_detach(struct worker *w)
{
    struct queue *q = w->q;
    pthread_mutex_lock(&q->mu);
    for (size_t i = 0; i < q->nworkerlist; i++) {
        if (q->workers[i] == w) {
            q->workers[i] = q->workers[--q->nworkerlist];
            break;
        }
    }
    pthread_mutex_unlock(&q->mu);
}

/* What the worker holds from now on: the n rows it just claimed. */
static void worker_hold(struct worker *w, const struct job_row *rows, size_t n)
{
    pthread_mutex_lock(&w->q->mu);
    for (size_t i = 0; i < n; i++)
        w->held[i] = (struct job_held){.id = rows[i].id, .attempts = rows[i].attempts};
    w->nheld = n;
    pthread_mutex_unlock(&w->q->mu);
}

/*
 * Writes the pending finishes and claims the next due jobs (at most max) in
 * one transaction, then runs them in order. *ran counts the jobs that ran.
 */
static int worker_step(struct worker *w, size_t max, int *ran, struct errinfo *e)
{
    struct queue *q = w->q;
    *ran = 0;
    if (w->batch == 0)
        w->batch = 1;
    size_t want = w->batch < max ? w->batch : max;
    int64_t now = clock_now_ms();
    /* Abandoned jobs are rare and wait a whole lease anyway: a busy worker
     * looks for them first once a second (an idle one every time). */
    bool lost_first = now - w->lost_checked_ms >= LOST_CHECK_MS || now < w->lost_checked_ms;
    if (lost_first)
        w->lost_checked_ms = now;
    char stack[ARENA_STACK];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    struct job_row rows[BATCH_MAX];
    size_t n = 0;
    write_lock(q);
    int rc = store_job_claim(q->st, w->done, w->ndone, q->name, now, q->lease_ms, lost_first, want,
                             &a, rows, &n, e);
    write_unlock(q);
    if (!rc)
        worker_hold(w, rows, n);
    if (rc) {
        arena_release(&a);
        return rc; /* the finishes stay pending: the next step writes them */
    }
    log_lost(w->done, w->ndone);
    report_dead(w);
    w->ndone = 0;

    double slowest = 0;
    for (size_t i = 0; i < n; i++) {
        /* A job that waited behind slow ones in its batch and whose lease is
         * nearly over is left alone: another worker may claim it once the
         * lease runs out, and it must not run twice at once. */
        if (clock_now_ms() > now + q->lease_ms - q->lease_ms / LEASE_MARGIN_DIV) {
            log_warn("job.lease_expiring", "job %lld: its lease ends before it could start",
                     (long long)rows[i].id);
            continue;
        }
        double t0 = mono_ms();
        run_job(q, &rows[i], &a, &w->done[w->ndone], w->errors[w->ndone]);
        snprintf(w->workspaces[w->ndone], STORE_ID_LEN, "%s", rows[i].workspace_id);
        snprintf(w->kinds[w->ndone], JOB_KIND_MAX, "%s", rows[i].kind);
        w->ndone++;
        double took = mono_ms() - t0;
        if (took > slowest)
            slowest = took;
        (*ran)++;
    }
    arena_release(&a);
    if (n > 0)
        w->batch = slowest < FAST_MS ? (w->batch * 2 < BATCH_MAX ? w->batch * 2 : BATCH_MAX) : 1;
    return 0;
}

/* Writes pending finishes on their own (when the worker stops). */
static void worker_flush(struct worker *w)
{
    if (w->ndone == 0)
        return;
    struct queue *q = w->q;
    struct errinfo e;
    errinfo_clear(&e);
    size_t n = 0;
    struct job_row none[1];
    write_lock(q);
    int rc = store_job_claim(q->st, w->done, w->ndone, q->name, clock_now_ms(), q->lease_ms, false,
                             0, NULL, none, &n, &e);
    write_unlock(q);
    if (!rc)
        worker_hold(w, NULL, 0);
    if (rc)
        log_warn("job.finish_failed", "cannot record the outcome of %zu jobs: %s", w->ndone, e.msg);
    else
        log_lost(w->done, w->ndone);
    if (!rc)
        report_dead(w);
    w->ndone = 0;
}

int queue_run_due(struct queue *q, int max, struct errinfo *e)
{
    struct worker *w = xcalloc(1, sizeof(*w));
    w->q = q;
    worker_attach(w);
    int n = 0, rc = 0;
    for (;;) {
        if (max > 0 && n >= max)
            break;
        int ran = 0;
        size_t room = max > 0 ? (size_t)(max - n) : BATCH_MAX;
        if ((rc = worker_step(w, room, &ran, e)) != 0 || ran == 0)
            break;
        n += ran;
    }
    worker_flush(w);
    worker_detach(w);
    free(w);
    return rc ? rc : n;
}

int queue_purge(struct queue *q, int64_t now, int64_t *deleted, struct errinfo *e)
{
    *deleted = 0;
    if (q->retention_ms <= 0)
        return 0;
    int rc = 0;
    for (int i = 0; i < PURGE_BATCHES; i++) {
        int64_t n = 0;
        write_lock(q);
        rc = store_job_purge(q->st, now - q->retention_ms, PURGE_BATCH, &n, e);
        write_unlock(q);
        if (rc)
            break;
        *deleted += n;
        if (n < PURGE_BATCH)
            break;
    }
    if (*deleted > 0)
        log_info("jobs.purged", "deleted %lld done jobs finished over %lld hours ago",
                 (long long)*deleted, (long long)(q->retention_ms / 3600000));
    return rc;
}

/* One idle worker a minute deletes expired done jobs. */
static void maybe_purge(struct queue *q)
{
    if (q->retention_ms <= 0)
        return;
    int64_t now = (int64_t)mono_ms();
    pthread_mutex_lock(&q->mu);
    bool due = now - q->purged_ms >= PURGE_EVERY_MS;
    if (due)
        q->purged_ms = now;
    pthread_mutex_unlock(&q->mu);
    if (!due)
        return;
    struct errinfo e;
    errinfo_clear(&e);
    int64_t deleted;
    if (queue_purge(q, clock_now_ms(), &deleted, &e) != 0)
        log_warn("jobs.purge_failed", "cannot delete expired jobs: %s", e.msg);
}

static bool should_stop(struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    bool stop = q->stopping;
    pthread_mutex_unlock(&q->mu);
    return stop;
}

static void *worker_main(void *arg)
{
    struct worker *w = xcalloc(1, sizeof(*w));
    w->q = arg;
    struct queue *q = w->q;
    worker_attach(w);
    pthread_mutex_lock(&q->mu);
    uint64_t seen = q->kicks;
    pthread_mutex_unlock(&q->mu);
    while (!should_stop(q)) {
        int ran = 0;
        struct errinfo e;
        errinfo_clear(&e);
        int rc = worker_step(w, BATCH_MAX, &ran, &e);
        if (rc)
            log_warn("job.claim_failed", "cannot claim jobs: %s", e.msg);
        if (ran > 0)
            continue;
        maybe_purge(q);
        /* Nothing due (or the database is busy): sleep until a kick, a stop or the tick. */
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += q->poll_ms / 1000;
        until.tv_nsec += (long)(q->poll_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&q->mu);
        while (!q->stopping && q->kicks == seen)
            if (pthread_cond_timedwait(&q->wake, &q->mu, &until) == ETIMEDOUT)
                break;
        seen = q->kicks;
        pthread_mutex_unlock(&q->mu);
    }
    worker_flush(w);
    worker_detach(w);
    free(w);
    return NULL;
}

/* Extends the leases of every job this process's workers hold, in one write. */
static void renew_held(struct queue *q)
{
    struct job_held held[BATCH_MAX * 8];
    size_t n = 0;
    pthread_mutex_lock(&q->mu);
    for (size_t i = 0; i < q->nworkerlist; i++)
        for (size_t k = 0; k < q->workers[i]->nheld && n < sizeof(held) / sizeof(held[0]); k++)
            held[n++] = q->workers[i]->held[k];
    pthread_mutex_unlock(&q->mu);
    if (n == 0)
        return;
    struct errinfo e;
    errinfo_clear(&e);
    int64_t now = clock_now_ms();
    write_lock(q);
    int rc = store_job_renew(q->st, q->name, held, n, now, now + q->lease_ms, &e);
    write_unlock(q);
    if (rc) {
        log_warn("job.renew_failed", "cannot renew the leases of %zu jobs: %s", n, e.msg);
        return;
    }
    /* A job that is no longer ours here finished since the copy, or its lease
     * ran out before this renewal (another worker may be running it). */
    for (size_t i = 0; i < n; i++)
        if (!held[i].renewed)
            log_debug("job.renew_skipped", "job %lld: not renewed (finished or lost)",
                      (long long)held[i].id);
}

/* Every lease_ms / RENEW_DIV until the queue stops. */
static void *renewer_main(void *arg)
{
    struct queue *q = arg;
    int64_t every = q->lease_ms / RENEW_DIV;
    for (;;) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += every / 1000;
        until.tv_nsec += (long)(every % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&q->mu);
        while (!q->renew_stop)
            if (pthread_cond_timedwait(&q->wake, &q->mu, &until) == ETIMEDOUT)
                break;
        bool stop = q->renew_stop;
        pthread_mutex_unlock(&q->mu);
        if (stop)
            return NULL;
        renew_held(q);
    }
}

int queue_start(struct queue *q, struct errinfo *e)
{
    if (q->threads)
        return failf(e, ERR_INTERNAL, "the queue's workers are already running");
    int err = pthread_create(&q->renewer, NULL, renewer_main, q);
    if (err != 0)
        return failf(e, ERR_INTERNAL, "cannot start the lease renewer: %s", strerror(err));
    q->renewing = true;
    q->threads = xcalloc(q->nworkers, sizeof(*q->threads));
    for (unsigned i = 0; i < q->nworkers; i++) {
        err = pthread_create(&q->threads[i], NULL, worker_main, q);
        if (err != 0) {
            failf(e, ERR_INTERNAL, "cannot start a job worker: %s", strerror(err));
            return ERR_INTERNAL; /* queue_free joins the ones that started */
        }
        q->nthreads++;
    }
    log_info("jobs.started", "%u job workers (%s), polling every %lld ms, leases of %lld ms",
             q->nworkers, q->name, (long long)q->poll_ms, (long long)q->lease_ms);
    return 0;
}

void queue_kick(struct queue *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->kicks++;
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->mu);
}

void queue_free(struct queue *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stopping = true;
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->mu);
    for (unsigned i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
    /* Last: the handlers that were still running kept their leases. */
    pthread_mutex_lock(&q->mu);
    q->renew_stop = true;
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->mu);
    if (q->renewing)
        pthread_join(q->renewer, NULL);
    free(q->threads);
    free(q->workers);
    free(q->handlers);
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->write_mu);
    pthread_mutex_destroy(&q->mu);
    free(q);
}
