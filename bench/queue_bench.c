/*
 * The job queue's throughput through the real code (jobs/queue.c on the
 * SQLite store): no-op jobs enqueued, claimed with a lease, run and finished.
 *   1. enqueue-then-drain: N jobs enqueued in transactions of BATCH, then W
 *      worker threads drain them;
 *   2. concurrent: one producer thread enqueues N jobs in transactions of
 *      CBATCH (kicking the workers after each) while W workers consume.
 * Prints one line per figure; bench/queue.sh compares them with BullMQ.
 *
 * usage: queue-bench DIR [JOBS [WORKERS [BATCH [CBATCH]]]]
 *
 * For several processes on one database (bench/pg.sh), on either backend:
 *   queue-bench --db URL enqueue JOBS [BATCH]   enqueues no-op jobs and exits
 *   queue-bench --db URL drain [WORKERS]        runs jobs until none came for
 *       IDLE_MS, then prints "ran N jobs, first F, last L" (F and L: wall-clock
 *       milliseconds of the first and last job run, comparable across processes)
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "jobs/queue.h"

static atomic_long ran;

static int noop(void *ctx, struct store *st, const struct job *j, struct arena *a,
                struct errinfo *e)
{
    atomic_fetch_add_explicit(&ran, 1, memory_order_relaxed);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const struct errinfo *e)
{
    fprintf(stderr, "queue-bench: %s: %s\n", what, e ? e->msg : "failed");
    exit(1);
}

static struct store *open_db(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "sqlite:%s/%s", dir, name);
    struct errinfo e;
    errinfo_clear(&e);
    struct store *st = store_open(path, &e);
    int applied = 0;
    if (!st || store_migrate(st, &applied, &e) != 0)
        die("opening the database", &e);
    return st;
}

static void enqueue_batches(struct store *st, struct queue *kick, long n, long batch)
{
    struct errinfo e;
    errinfo_clear(&e);
    for (long i = 0; i < n; i += batch) {
        if (store_tx_begin(st, &e) != 0)
            die("tx_begin", &e);
        for (long k = i; k < i + batch && k < n; k++) {
            struct job_spec s = {.kind = "noop", .payload = "{\"n\":1}"};
            if (queue_enqueue(st, &s, NULL, NULL, &e) != 0)
                die("enqueue", &e);
        }
        if (store_tx_commit(st, &e) != 0)
            die("tx_commit", &e);
        if (kick)
            queue_kick(kick);
    }
}

static void wait_ran(long n)
{
    while (atomic_load(&ran) < n)
        usleep(200);
}

/* name NULL: host:pid, as in the server (processes sharing a database need their own). */
static struct queue *start_queue(struct store *st, unsigned workers, const char *name)
{
    struct queue_opts o = {.store = st, .workers = workers, .poll_ms = 200, .name = name};
    struct queue *q = queue_new(&o);
    queue_register(q, "noop", noop, NULL);
    struct errinfo e;
    errinfo_clear(&e);
    if (queue_start(q, &e) != 0)
        die("queue_start", &e);
    return q;
}

/* Every job done exactly once, as the table says. */
static void check_done(const char *dir, const char *name, long n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    sqlite3 *db;
    sqlite3_stmt *st;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT COUNT(*), SUM(attempts) FROM jobs WHERE status = 'done'", -1,
                           &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        fprintf(stderr, "queue-bench: cannot read %s\n", path);
        exit(1);
    }
    long done = (long)sqlite3_column_int64(st, 0), attempts = (long)sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (done != n || attempts != n || atomic_load(&ran) != n) {
        fprintf(stderr, "queue-bench: %ld jobs: %ld done, %ld attempts, %ld runs\n", n, done,
                attempts, atomic_load(&ran));
        exit(1);
    }
}

struct producer {
    struct store *st;
    struct queue *q;
    long n, batch;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    enqueue_batches(p->st, p->q, p->n, p->batch);
    return NULL;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum { IDLE_MS = 1000 };

static struct store *open_url(const char *url)
{
    struct errinfo e;
    errinfo_clear(&e);
    struct store *st = store_open(url, &e);
    if (!st)
        die("opening the database", &e);
    return st;
}

/* queue-bench --db URL enqueue|drain ... */
static int multi_process(int argc, char **argv)
{
    struct store *st = open_url(argv[2]);
    const char *mode = argv[3];
    if (strcmp(mode, "enqueue") == 0 && argc >= 5) {
        long n = strtol(argv[4], NULL, 10);
        long batch = argc > 5 ? strtol(argv[5], NULL, 10) : 1000;
        if (n < 1 || batch < 1)
            die("JOBS and BATCH must be positive", NULL);
        double t0 = now_s();
        enqueue_batches(st, NULL, n, batch);
        printf("enqueued %ld jobs in %.2f s\n", n, now_s() - t0);
        store_close(st);
        return 0;
    }
    if (strcmp(mode, "drain") != 0) {
        fprintf(stderr, "queue-bench: unknown mode %s\n", mode);
        return 2;
    }
    unsigned workers = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 2;
    struct queue *q = start_queue(st, workers, NULL);
    long seen = 0;
    int64_t first = 0, last = 0, since = wall_ms();
    for (;;) {
        usleep(2000);
        long r = atomic_load(&ran);
        int64_t now = wall_ms();
        if (r != seen) {
            if (!first)
                first = now;
            seen = r;
            last = since = now;
        } else if (now - since >= IDLE_MS && (seen > 0 || now - since >= 10 * IDLE_MS)) {
            break;
        }
    }
    queue_free(q);
    store_close(st);
    printf("ran %ld jobs, first %lld, last %lld\n", atomic_load(&ran), (long long)first,
           (long long)last);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "--db") == 0) {
        log_set_level(LOG_WARN);
        return multi_process(argc, argv);
    }
    if (argc < 2) {
        fprintf(stderr, "usage: queue-bench DIR [JOBS [WORKERS [BATCH [CBATCH]]]]\n");
        return 2;
    }
    const char *dir = argv[1];
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 100000;
    unsigned workers = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 2;
    long batch = argc > 4 ? strtol(argv[4], NULL, 10) : 1000;
    long cbatch = argc > 5 ? strtol(argv[5], NULL, 10) : 100;
    if (n < 1 || workers < 1 || batch < 1 || cbatch < 1) {
        fprintf(stderr, "queue-bench: JOBS, WORKERS and the batches must be positive\n");
        return 2;
    }
    log_set_level(LOG_WARN);

    /* 1. enqueue, then drain */
    struct store *st = open_db(dir, "drain.db");
    double t0 = now_s();
    enqueue_batches(st, NULL, n, batch);
    double t1 = now_s();
    struct queue *q = start_queue(st, workers, "bench");
    wait_ran(n);
    double t2 = now_s();
    queue_free(q);
    store_close(st);
    check_done(dir, "drain.db", n);
    printf("enqueue %ld jobs (transactions of %ld): %.2f s, %.0f jobs/s\n", n, batch, t1 - t0,
           n / (t1 - t0));
    printf("drain %ld jobs (%u workers): %.2f s, %.0f jobs/s\n", n, workers, t2 - t1,
           n / (t2 - t1));
    printf("enqueue-then-drain: %.2f s, %.0f jobs/s\n", t2 - t0, n / (t2 - t0));

    /* 2. produce and consume at once */
    atomic_store(&ran, 0);
    st = open_db(dir, "concurrent.db");
    q = start_queue(st, workers, "bench");
    struct producer p = {st, q, n, cbatch};
    pthread_t t;
    t0 = now_s();
    if (pthread_create(&t, NULL, produce, &p) != 0)
        die("starting the producer", NULL);
    pthread_join(t, NULL);
    double tp = now_s();
    wait_ran(n);
    t2 = now_s();
    queue_free(q);
    store_close(st);
    check_done(dir, "concurrent.db", n);
    printf("concurrent produce/consume %ld jobs (1 producer, transactions of %ld; %u workers): "
           "%.2f s (producer done at %.2f s), %.0f jobs/s\n",
           n, cbatch, workers, t2 - t0, tp - t0, n / (t2 - t0));
    return 0;
}
