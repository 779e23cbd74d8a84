/*
 * Tests for src/jobs/queue.c (and the SQLite jobs table behind it), on a real
 * database file in a temporary directory: enqueue inside transactions and
 * with idempotency keys, claim order and delays (on the fake clock), retries
 * with backoff, dead jobs, abandoned leases, exactly-once under threads, and
 * a stop that waits for the running handler. The tests read the table with
 * sqlite3 directly.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/events.h"
#include "jobs/progress.h"
#include "jobs/queue.h"
#include "store/jobs.h"
#include "unit/unit.h"

enum { T0 = 1700000000000LL };

struct fix {
    char *dir;
    char *db; /* file path */
    struct store *st;
    struct errinfo e;
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    f->dir = unit_tmpdir();
    f->db = unit_path(f->dir, "q.db");
    char url[4200];
    snprintf(url, sizeof(url), "sqlite:%s", f->db);
    errinfo_clear(&f->e);
    f->st = store_open(url, &f->e);
    if (!f->st)
        fail_msg("store_open: %s", f->e.msg);
    int applied = 0;
    if (store_migrate(f->st, &applied, &f->e) != 0)
        fail_msg("migrate: %s", f->e.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    clock_set_fake(0);
    store_close(f->st);
    unit_rmtree(f->dir);
    free(f->db);
    free(f->dir);
    free(f);
    return 0;
}

/* One integer from the database file, through a connection of its own. */
static int64_t db_int(struct fix *f, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* One text value (copied into out) from the database file. */
static const char *db_text(struct fix *f, const char *sql, char *out, size_t n)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *v = sqlite3_column_text(st, 0);
    snprintf(out, n, "%s", v ? (const char *)v : "(null)");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static void db_exec(struct fix *f, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static int64_t enqueue(struct fix *f, const char *kind, int64_t run_at, int max_attempts)
{
    struct job_spec s = {
        .kind = kind, .payload = "{\"n\":1}", .run_at = run_at, .max_attempts = max_attempts};
    int64_t id = 0;
    bool created = false;
    if (queue_enqueue(f->st, &s, &id, &created, &f->e) != 0)
        fail_msg("enqueue: %s", f->e.msg);
    assert_true(created);
    assert_true(id > 0);
    return id;
}

static struct queue *new_queue(struct fix *f, unsigned workers, const char *name)
{
    struct queue_opts o = {.store = f->st, .workers = workers, .poll_ms = 20, .name = name};
    return queue_new(&o);
}

/* What the handlers below saw. */
struct rec {
    atomic_int calls;
    int fail_first; /* fail this many calls (ERR_TEMPORARY) */
    int fail_code;  /* when failing always: this code */
    int64_t ids[64];
    int attempts[64];
};

static int rec_fn(void *ctx, struct store *st, const struct job *j, struct arena *a,
                  struct errinfo *e)
{
    struct rec *r = ctx;
    int n = atomic_fetch_add(&r->calls, 1);
    if (n < 64) {
        r->ids[n] = j->id;
        r->attempts[n] = j->attempts;
    }
    assert_string_equal(j->payload, "{\"n\":1}");
    if (r->fail_code)
        return failf(e, r->fail_code, "boom %d", n + 1);
    if (n < r->fail_first)
        return failf(e, ERR_TEMPORARY, "not yet (call %d)", n + 1);
    return 0;
}

static void test_enqueue_in_rolled_back_transaction_leaves_no_job(void **state)
{
    struct fix *f = *state;
    assert_int_equal(store_tx_begin(f->st, &f->e), 0);
    enqueue(f, "k", 0, 0);
    store_tx_rollback(f->st);
    assert_int_equal(db_int(f, "SELECT COUNT(*) FROM jobs"), 0);

    assert_int_equal(store_tx_begin(f->st, &f->e), 0);
    enqueue(f, "k", 0, 0);
    assert_int_equal(store_tx_commit(f->st, &f->e), 0);
    assert_int_equal(db_int(f, "SELECT COUNT(*) FROM jobs"), 1);
    assert_int_equal(db_int(f, "SELECT max_attempts FROM jobs"), JOB_MAX_ATTEMPTS_DEFAULT);
}

static void test_idempotency_key_enqueues_once(void **state)
{
    struct fix *f = *state;
    struct job_spec s = {.kind = "send_email", .payload = "{}", .idempotency_key = "send:1"};
    int64_t id1 = 0, id2 = 0;
    bool c1 = false, c2 = true;
    assert_int_equal(queue_enqueue(f->st, &s, &id1, &c1, &f->e), 0);
    assert_int_equal(queue_enqueue(f->st, &s, &id2, &c2, &f->e), 0);
    assert_true(c1);
    assert_false(c2);
    assert_true(id1 > 0);
    assert_int_equal(id1, id2);
    assert_int_equal(db_int(f, "SELECT COUNT(*) FROM jobs"), 1);
    /* Without a key, the same job twice is two jobs. */
    s.idempotency_key = NULL;
    assert_int_equal(queue_enqueue(f->st, &s, &id1, &c1, &f->e), 0);
    assert_int_equal(queue_enqueue(f->st, &s, &id2, &c2, &f->e), 0);
    assert_true(c1 && c2 && id1 != id2);
}

static void test_enqueue_refuses_bad_specs(void **state)
{
    struct fix *f = *state;
    struct job_spec s = {.kind = ""};
    assert_int_equal(queue_enqueue(f->st, &s, NULL, NULL, &f->e), ERR_INVALID);
    s.kind = "a-kind-name-that-is-much-too-long-to-keep";
    assert_int_equal(queue_enqueue(f->st, &s, NULL, NULL, &f->e), ERR_INVALID);
    s.kind = "k";
    s.payload = "{not json";
    assert_int_equal(queue_enqueue(f->st, &s, NULL, NULL, &f->e), ERR_INVALID);
    assert_contains(f->e.msg, "JSON");
    s.payload = NULL;
    s.max_attempts = -1;
    assert_int_equal(queue_enqueue(f->st, &s, NULL, NULL, &f->e), ERR_INVALID);
    assert_int_equal(db_int(f, "SELECT COUNT(*) FROM jobs"), 0);
}

static void test_claims_in_run_at_order(void **state)
{
    struct fix *f = *state;
    clock_set_fake(T0);
    int64_t c = enqueue(f, "k", T0 - 10, 0);
    int64_t a = enqueue(f, "k", T0 - 30, 0);
    int64_t b = enqueue(f, "k", T0 - 20, 0);
    struct rec r = {0};
    struct queue *q = new_queue(f, 1, NULL);
    queue_register(q, "k", rec_fn, &r);
    assert_int_equal(queue_run_due(q, 0, &f->e), 3);
    queue_free(q);
    assert_int_equal(r.calls, 3);
    assert_int_equal(r.ids[0], a);
    assert_int_equal(r.ids[1], b);
    assert_int_equal(r.ids[2], c);
    assert_int_equal(db_int(f, "SELECT COUNT(*) FROM jobs WHERE status = 'done'"
                               " AND finished_at IS NOT NULL AND locked_by IS NULL"),
                     3);
}

static void test_delayed_job_waits_for_run_at(void **state)
{
    struct fix *f = *state;
    clock_set_fake(T0);
    enqueue(f, "k", T0 + 5000, 0);
    struct rec r = {0};
    struct queue *q = new_queue(f, 1, NULL);
    queue_register(q, "k", rec_fn, &r);
    assert_int_equal(queue_run_due(q, 0, &f->e), 0);
    clock_set_fake(T0 + 4999);
    assert_int_equal(queue_run_due(q, 0, &f->e), 0);
    clock_set_fake(T0 + 5000);
    assert_int_equal(queue_run_due(q, 0, &f->e), 1);
    assert_int_equal(queue_run_due(q, 0, &f->e), 0);
    queue_free(q);
    assert_int_equal(r.calls, 1);
}

static void test_retry_with_backoff_then_success(void **state)
{
    struct fix *f = *state;
    clock_set_fake(T0);
    int64_t id = enqueue(f, "k", 0, 5);
    struct rec r = {.fail_first = 2};
    struct queue *q = new_queue(f, 1, NULL);
    queue_register(q, "k", rec_fn, &r);
    char buf[256];

    assert_int_equal(queue_run_due(q, 0, &f->e), 1); /* attempt 1 fails */
    assert_string_equal(db_text(f, "SELECT status FROM jobs", buf, sizeof(buf)), "queued");
    assert_string_equal(db_text(f, "SELECT last_error FROM jobs", buf, sizeof(buf)),
                        "not yet (call 1)");
    int64_t run_at = db_int(f, "SELECT run_at FROM jobs");
    assert_in_range(run_at - T0, 800, 1200);
    assert_int_equal(db_int(f, "SELECT attempts FROM jobs"), 1);
    assert_int_equal(queue_run_due(q, 0, &f->e), 0); /* not due yet */

    clock_set_fake(run_at);
    assert_int_equal(queue_run_due(q, 0, &f->e), 1); /* attempt 2 fails */
    int64_t run_at2 = db_int(f, "SELECT run_at FROM jobs");
    assert_in_range(run_at2 - run_at, 1600, 2400);

    clock_set_fake(run_at2);
    assert_int_equal(queue_run_due(q, 0, &f->e), 1); /* attempt 3 succeeds */
    queue_free(q);
    assert_string_equal(db_text(f, "SELECT status FROM jobs", buf, sizeof(buf)), "done");
    /* A job that succeeded has no error to show, whatever its earlier attempts said. */
    assert_string_equal(
        db_text(f, "SELECT COALESCE(last_error, 'none') FROM jobs", buf, sizeof(buf)), "none");
    assert_int_equal(db_int(f, "SELECT attempts FROM jobs"), 3);
    assert_int_equal(db_int(f, "SELECT finished_at FROM jobs"), run_at2);
    assert_int_equal(r.calls, 3);
    assert_int_equal(r.ids[2], id);
    assert_int_equal(r.attempts[0], 1);
    assert_int_equal(r.attempts[2], 3);
}

static void test_dead_after_max_attempts(void **state)
{
    struct fix *f = *state;
    clock_set_fake(T0);
    enqueue(f, "k", 0, 3);
    struct rec r = {.fail_code = ERR_TEMPORARY};
    struct queue *q = new_queue(f, 1, NULL);
    queue_register(q, "k", rec_fn, &r);
    int64_t now = T0;
    for (int i = 0; i < 5; i++) {
        queue_run_due(q, 0, &f->e);
        now += 3600 * 1000 * 2; /* past any backoff */
        clock_set_fake(now);
    }
    queue_free(q);
    char buf[256];
    assert_int_equal(r.calls, 3);
    assert_string_equal(db_text(f, "SELECT status FROM jobs", buf, sizeof(buf)), "dead");
    assert_string_equal(db_text(f, "SELECT last_error FROM jobs", buf, sizeof(buf)), "boom 3");
    assert_int_equal(db_int(f, "SELECT attempts FROM jobs"), 3);
    assert_true(db_int(f, "SELECT finished_at FROM jobs") > 0);
}

static void test_invalid_is_dead_at_once(void **state)
{
    struct fix *f = *state;
    enqueue(f, "k", 0, 5);
    struct rec r = {.fail_code = ERR_INVALID};
    struct queue *q = new_queue(f, 1, NULL);
    queue_register(q, "k", rec_fn, &r);
    assert_int_equal(queue_run_due(q, 0, &f->e), 1);
    queue_free(q);
    char buf[256];
    assert_string_equal(db_text(f, "SELECT status FROM jobs", buf, sizeof(buf)), "dead");
    assert_int_equal(db_int(f, "SELECT attempts FROM jobs"), 1);
}

static void test_kind_without_handler_is_retried(void **state)
{
    struct fix *f = *state;
    clock_set_fake(T0);
    enqueue(f, "nobody_runs_this", 0, 2);
    struct queue *q = new_queue(f, 1, NULL);
    assert_int_equal(queue_run_due(q, 0, &f->e), 1);
    char buf[256];
    assert_string_equal(db_text(f, "SELECT status FROM jobs", buf, sizeof(buf)), "queued");
    assert_string_equal(db_text(f, "SELECT last_error FROM jobs", buf, sizeof(buf)),
                        "no handler for kind nobody_runs_this in this process");
    clock_set_fake(T0 + 3600 * 1000);
    assert_int_equal(queue_run_due(q, 0, &f->e), 1);
    queue_free(q);
    assert_string_equal(db_text(f, "SELECT status FROM jobs", buf, sizeof(buf)), "dead");
}

static void test_abandoned_lease_is_reclaimed_and_late_finish_ignored(void **state)
{
    struct fix *f = *state;
    clock_set_fake(T0);
    int64_t id = enqueue(f, "k", 0, 5);

    /* Worker "old" claims the job and then goes silent. */
    struct arena a;
    arena_init(&a, NULL, 0);
    struct job_row row;
    size_t n = 0;
    assert_int_equal(
        store_job_claim(f->st, NULL, 0, "old", T0, JOB_LEASE_MS, false, 1, &a, &row, &n, &f->e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(row.id, id);
    assert_int_equal(row.attempts, 1);
    assert_string_equal(row.status, "running");

    struct rec r = {0};
    struct queue *q = new_queue(f, 1, "new");
    queue_register(q, "k", rec_fn, &r);
    clock_set_fake(T0 + JOB_LEASE_MS);
    assert_int_equal(queue_run_due(q, 0, &f->e), 0); /* the lease still holds */
    clock_set_fake(T0 + JOB_LEASE_MS + 1);
    assert_int_equal(queue_run_due(q, 0, &f->e), 1);
    queue_free(q);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.attempts[0], 2);
    char buf[256];
    assert_string_equal(db_text(f, "SELECT status FROM jobs", buf, sizeof(buf)), "done");

    /* The old worker wakes up and reports a failure: it no longer holds the job. */
    struct job_finish late = {
        .id = id, .worker = "old", .attempts = 1, .status = "dead", .error = "late"};
    bool applied = true;
    assert_int_equal(store_job_finish(f->st, &late, T0 + JOB_LEASE_MS + 2, &applied, &f->e), 0);
    assert_false(applied);
    assert_string_equal(db_text(f, "SELECT status FROM jobs", buf, sizeof(buf)), "done");
    assert_string_equal(db_text(f, "SELECT COALESCE(last_error, '') FROM jobs", buf, sizeof(buf)),
                        "");
    arena_release(&a);
}

static void test_lease_lost_on_last_attempt_is_dead(void **state)
{
    struct fix *f = *state;
    clock_set_fake(T0);
    enqueue(f, "k", 0, 1);
    struct arena a;
    arena_init(&a, NULL, 0);
    struct job_row row;
    size_t n = 0;
    assert_int_equal(
        store_job_claim(f->st, NULL, 0, "old", T0, JOB_LEASE_MS, false, 1, &a, &row, &n, &f->e), 0);
    assert_int_equal(n, 1);
    struct rec r = {0};
    struct queue *q = new_queue(f, 1, "new");
    queue_register(q, "k", rec_fn, &r);
    clock_set_fake(T0 + JOB_LEASE_MS + 1);
    assert_int_equal(queue_run_due(q, 0, &f->e), 0);
    queue_free(q);
    assert_int_equal(r.calls, 0);
    char buf[256];
    assert_string_equal(db_text(f, "SELECT status FROM jobs", buf, sizeof(buf)), "dead");
    assert_contains(db_text(f, "SELECT last_error FROM jobs", buf, sizeof(buf)), "lease ran out");
    arena_release(&a);
}

enum { MANY = 3000 };

struct counts {
    atomic_int per_id[MANY + 1];
    atomic_int total;
};

static int count_fn(void *ctx, struct store *st, const struct job *j, struct arena *a,
                    struct errinfo *e)
{
    struct counts *c = ctx;
    if (j->id < 1 || j->id > MANY)
        return failf(e, ERR_INVALID, "unexpected id %lld", (long long)j->id);
    atomic_fetch_add(&c->per_id[j->id], 1);
    atomic_fetch_add(&c->total, 1);
    return 0;
}

struct producer {
    struct fix *f;
    struct queue *q;
    int from, to;
};

/* Enqueues jobs in small transactions while the workers run. */
static void *produce(void *arg)
{
    struct producer *p = arg;
    struct errinfo e;
    for (int i = p->from; i < p->to; i += 50) {
        if (store_tx_begin(p->f->st, &e) != 0)
            return "tx_begin failed";
        for (int k = i; k < i + 50 && k < p->to; k++) {
            struct job_spec s = {.kind = "count", .payload = "{}"};
            if (queue_enqueue(p->f->st, &s, NULL, NULL, &e) != 0)
                return "enqueue failed";
        }
        if (store_tx_commit(p->f->st, &e) != 0)
            return "tx_commit failed";
        queue_kick(p->q);
    }
    return NULL;
}

static void test_threads_run_each_job_exactly_once(void **state)
{
    struct fix *f = *state;
    struct counts *c = calloc(1, sizeof(*c));
    /* Half enqueued before the workers start, half while they run. */
    assert_int_equal(store_tx_begin(f->st, &f->e), 0);
    for (int i = 0; i < MANY / 2; i++) {
        struct job_spec s = {.kind = "count", .payload = "{}"};
        assert_int_equal(queue_enqueue(f->st, &s, NULL, NULL, &f->e), 0);
    }
    assert_int_equal(store_tx_commit(f->st, &f->e), 0);
    struct queue *q = new_queue(f, 4, NULL);
    queue_register(q, "count", count_fn, c);
    assert_int_equal(queue_start(q, &f->e), 0);
    struct producer p = {f, q, MANY / 2, MANY};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
    void *res = NULL;
    pthread_join(t, &res);
    if (res)
        fail_msg("producer: %s", (const char *)res);
    for (int i = 0; i < 3000 && atomic_load(&c->total) < MANY; i++)
        usleep(10 * 1000);
    queue_free(q);
    assert_int_equal(atomic_load(&c->total), MANY);
    for (int i = 1; i <= MANY; i++)
        if (atomic_load(&c->per_id[i]) != 1)
            fail_msg("job %d ran %d times", i, atomic_load(&c->per_id[i]));
    assert_int_equal(db_int(f, "SELECT COUNT(*) FROM jobs WHERE status = 'done'"), MANY);
    free(c);
}

struct slow {
    atomic_int started, finished;
    int sleep_ms; /* 0: 300 */
};

static int slow_fn(void *ctx, struct store *st, const struct job *j, struct arena *a,
                   struct errinfo *e)
{
    struct slow *s = ctx;
    atomic_store(&s->started, 1);
    usleep((useconds_t)(s->sleep_ms ? s->sleep_ms : 300) * 1000);
    atomic_store(&s->finished, 1);
    return 0;
}

static void test_free_waits_for_running_handler(void **state)
{
    struct fix *f = *state;
    struct slow s = {0};
    struct queue *q = new_queue(f, 2, NULL);
    queue_register(q, "slow", slow_fn, &s);
    assert_int_equal(queue_start(q, &f->e), 0);
    struct job_spec spec = {.kind = "slow"};
    assert_int_equal(queue_enqueue(f->st, &spec, NULL, NULL, &f->e), 0);
    queue_kick(q);
    for (int i = 0; i < 500 && !atomic_load(&s.started); i++)
        usleep(2 * 1000);
    assert_true(atomic_load(&s.started));
    queue_free(q);
    assert_true(atomic_load(&s.finished));
    char buf[64];
    assert_string_equal(db_text(f, "SELECT status FROM jobs", buf, sizeof(buf)), "done");
}

/*
 * A handler that runs for three leases keeps its job: the renewer extends the
 * lease, so another worker that looks for abandoned jobs finds none, and the
 * job runs once and ends done.
 */
static void test_renewed_lease_is_not_claimable_while_running(void **state)
{
    struct fix *f = *state;
    enum { LEASE = 300 };
    struct slow s = {0};
    struct queue_opts o = {
        .store = f->st, .workers = 1, .poll_ms = 20, .name = "first", .lease_ms = LEASE};
    struct queue *q = queue_new(&o);
    queue_register(q, "slow", slow_fn, &s);
    s.sleep_ms = 3 * LEASE;
    struct job_spec spec = {.kind = "slow"};
    assert_int_equal(queue_enqueue(f->st, &spec, NULL, NULL, &f->e), 0);
    assert_int_equal(queue_start(q, &f->e), 0);
    queue_kick(q);
    for (int i = 0; i < 500 && !atomic_load(&s.started); i++)
        usleep(2 * 1000);
    assert_true(atomic_load(&s.started));
    /* Another worker looks for due and abandoned jobs all along. */
    int tries = 0;
    while (!atomic_load(&s.finished)) {
        struct job_row row;
        size_t n = 9;
        char stack[1024];
        struct arena a;
        arena_init(&a, stack, sizeof(stack));
        assert_int_equal(store_job_claim(f->st, NULL, 0, "second", clock_now_ms(), LEASE, true, 1,
                                         &a, &row, &n, &f->e),
                         0);
        arena_release(&a);
        assert_int_equal(n, 0);
        tries++;
        usleep(20 * 1000);
    }
    queue_free(q);
    assert_true(tries > 10);
    char buf[64];
    assert_string_equal(db_text(f, "SELECT status FROM jobs", buf, sizeof(buf)), "done");
    assert_int_equal(db_int(f, "SELECT attempts FROM jobs"), 1);
}

/* A worker that stops renewing (it died) loses its job once the lease runs out. */
static void test_unrenewed_lease_is_taken_over(void **state)
{
    struct fix *f = *state;
    clock_set_fake(T0);
    int64_t id = enqueue(f, "slow", 0, 3);
    struct job_row row;
    size_t n = 0;
    char stack[1024];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    assert_int_equal(
        store_job_claim(f->st, NULL, 0, "dead", T0, 1000, false, 1, &a, &row, &n, &f->e), 0);
    assert_int_equal(n, 1);
    struct job_held h = {.id = id, .attempts = 1};
    assert_int_equal(store_job_renew(f->st, "dead", &h, 1, T0 + 500, T0 + 1500, &f->e), 0);
    assert_true(h.renewed);
    /* Someone else's name, or a stale attempt, renews nothing. */
    struct job_held other = {.id = id, .attempts = 1};
    assert_int_equal(store_job_renew(f->st, "else", &other, 1, T0 + 500, T0 + 9000, &f->e), 0);
    assert_false(other.renewed);
    assert_int_equal(
        store_job_claim(f->st, NULL, 0, "live", T0 + 1200, 1000, true, 1, &a, &row, &n, &f->e), 0);
    assert_int_equal(n, 0); /* renewed to T0 + 1500 */
    assert_int_equal(
        store_job_claim(f->st, NULL, 0, "live", T0 + 1501, 1000, true, 1, &a, &row, &n, &f->e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(row.attempts, 2);
    h.renewed = true;
    assert_int_equal(store_job_renew(f->st, "dead", &h, 1, T0 + 1600, T0 + 2600, &f->e), 0);
    assert_false(h.renewed); /* the lease is the new worker's */
    arena_release(&a);
}

static void test_backoff_doubles_with_jitter_and_a_cap(void **state)
{
    (void)state;
    assert_int_equal(queue_backoff_ms(1, 0), 800);
    assert_int_equal(queue_backoff_ms(1, 400), 1200);
    assert_int_equal(queue_backoff_ms(1, 200), 1000);
    assert_int_equal(queue_backoff_ms(0, 200), 1000);
    assert_int_equal(queue_backoff_ms(2, 200), 2000);
    assert_int_equal(queue_backoff_ms(5, 200), 16000);
    assert_int_equal(queue_backoff_ms(13, 200), 3600000);
    assert_int_equal(queue_backoff_ms(1000, 200), 3600000);
    for (uint32_t seed = 0; seed < 5000; seed += 7)
        assert_in_range(queue_backoff_ms(3, seed), 3200, 4800);
}

/* A workspace row for the API's store functions (jobs of a workspace). */
static void add_workspace(struct fix *f, const char *id)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO organizations (id, name, created_at) VALUES ('org-%s', 'Org', 1);"
             "INSERT INTO workspaces (id, org_id, name, created_at) VALUES ('%s', 'org-%s', 'W',"
             " 1);",
             id, id, id);
    db_exec(f, sql);
}

/* The live events a test saw. */
struct seen {
    int n;
    char ws[64], type[32], data[512];
};

static void seen_sink(void *arg, const char *workspace_id, const char *type, const char *data)
{
    struct seen *s = arg;
    s->n++;
    snprintf(s->ws, sizeof(s->ws), "%s", workspace_id);
    snprintf(s->type, sizeof(s->type), "%s", type);
    snprintf(s->data, sizeof(s->data), "%s", data);
}

static int64_t enqueue_in(struct fix *f, const char *ws, const char *payload)
{
    struct job_spec s = {.workspace_id = ws, .kind = "sync", .payload = payload};
    int64_t id = 0;
    bool created = false;
    if (queue_enqueue(f->st, &s, &id, &created, &f->e) != 0)
        fail_msg("enqueue: %s", f->e.msg);
    return id;
}

/* Progress recorded in a transaction is announced once it commits, and
 * neither kept nor announced when it rolls back. */
static void test_progress_is_announced_after_the_commit(void **state)
{
    struct fix *f = *state;
    add_workspace(f, "w1");
    struct seen seen = {0};
    events_set_sink(seen_sink, &seen);
    struct job j = {.id = enqueue_in(f, "w1", "{}"), .workspace_id = "w1", .kind = "sync"};

    assert_int_equal(store_tx_begin(f->st, &f->e), 0);
    assert_int_equal(job_progress_record(f->st, &j, "{\"n\":1}", "running", &f->e), 0);
    store_tx_rollback(f->st);
    assert_int_equal(seen.n, 0);
    char sql[128], out[256];
    snprintf(sql, sizeof(sql), "SELECT progress FROM jobs WHERE id = %lld", (long long)j.id);
    assert_string_equal(db_text(f, sql, out, sizeof(out)), "(null)");

    assert_int_equal(store_tx_begin(f->st, &f->e), 0);
    assert_int_equal(job_progress_record(f->st, &j, "{\"n\":2}", "running", &f->e), 0);
    assert_int_equal(seen.n, 0);
    assert_int_equal(store_tx_commit(f->st, &f->e), 0);
    events_set_sink(NULL, NULL);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.ws, "w1");
    assert_string_equal(seen.type, "job_progress");
    char want[256];
    snprintf(want, sizeof(want),
             "{\"id\":\"%lld\",\"kind\":\"sync\",\"status\":\"running\",\"progress\":{\"n\":2}}",
             (long long)j.id);
    assert_string_equal(seen.data, want);
    assert_string_equal(db_text(f, sql, out, sizeof(out)), "{\"n\":2}");

    /* How a run ends, as the event tells it. */
    j.attempts = 1;
    j.max_attempts = 3;
    assert_string_equal(job_progress_outcome(&j, 0), "done");
    assert_string_equal(job_progress_outcome(&j, ERR_TEMPORARY), "failed");
    assert_string_equal(job_progress_outcome(&j, ERR_INVALID), "dead");
    j.attempts = 3;
    assert_string_equal(job_progress_outcome(&j, ERR_TEMPORARY), "dead");
}

/* A queued or running job is found by a field of its payload; an ended one is not. */
static void test_active_job_is_found_by_a_payload_field(void **state)
{
    struct fix *f = *state;
    add_workspace(f, "w1");
    add_workspace(f, "w2");
    int64_t a = enqueue_in(f, "w1", "{\"mailbox\":\"m1\"}");
    enqueue_in(f, "w1", "{\"mailbox\":\"m2\"}");
    int64_t id = -1;
    assert_int_equal(store_job_active(f->st, "w1", "sync", "mailbox", "m1", &id, &f->e), 0);
    assert_int_equal(id, a);
    assert_int_equal(store_job_active(f->st, "w1", "other", "mailbox", "m1", &id, &f->e), 0);
    assert_int_equal(id, 0);
    assert_int_equal(store_job_active(f->st, "w2", "sync", "mailbox", "m1", &id, &f->e), 0);
    assert_int_equal(id, 0);
    assert_int_equal(store_job_active(f->st, "w1", "sync", "mailbox", "m3", &id, &f->e), 0);
    assert_int_equal(id, 0);
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE jobs SET status = 'done' WHERE id = %lld", (long long)a);
    db_exec(f, sql);
    assert_int_equal(store_job_active(f->st, "w1", "sync", "mailbox", "m1", &id, &f->e), 0);
    assert_int_equal(id, 0);
}

/* A purge the database refuses is an error with its reason (not a count of
 * deleted jobs), and the jobs deleted before it are still counted. */
static void test_purge_failure_is_an_error(void **state)
{
    struct fix *f = *state;
    clock_set_fake(T0);
    for (int i = 0; i < 3; i++)
        enqueue(f, "k", T0 - 10, 0);
    struct rec r = {0};
    struct queue_opts o = {.store = f->st, .workers = 1, .poll_ms = 20, .retention_ms = 1000};
    struct queue *q = queue_new(&o);
    queue_register(q, "k", rec_fn, &r);
    assert_int_equal(queue_run_due(q, 0, &f->e), 3);

    int64_t deleted = -1;
    assert_int_equal(queue_purge(q, T0 + 500, &deleted, &f->e), 0);
    assert_int_equal(deleted, 0); /* not expired yet */
    db_exec(f, "CREATE TRIGGER no_purge BEFORE DELETE ON jobs"
               " BEGIN SELECT RAISE(ABORT, 'purge refused here'); END");
    deleted = -1;
    errinfo_clear(&f->e);
    int rc = queue_purge(q, T0 + 60000, &deleted, &f->e);
    assert_true(rc < 0);
    assert_int_equal(deleted, 0);
    assert_non_null(strstr(f->e.msg, "purge refused here"));
    db_exec(f, "DROP TRIGGER no_purge");
    errinfo_clear(&f->e);
    assert_int_equal(queue_purge(q, T0 + 60000, &deleted, &f->e), 0);
    assert_int_equal(deleted, 3);
    queue_free(q);
    assert_int_equal(db_int(f, "SELECT COUNT(*) FROM jobs"), 0);
}

static void test_list_retry_and_discard(void **state)
{
    struct fix *f = *state;
    add_workspace(f, "wa");
    add_workspace(f, "wb");
    clock_set_fake(T0);
    struct job_spec s = {.workspace_id = "wa", .kind = "nobody", .max_attempts = 1};
    int64_t dead_id, failed_id, queued_id;
    assert_int_equal(queue_enqueue(f->st, &s, &dead_id, NULL, &f->e), 0);
    s.max_attempts = 3;
    assert_int_equal(queue_enqueue(f->st, &s, &failed_id, NULL, &f->e), 0);
    struct queue *q = new_queue(f, 1, NULL);
    assert_int_equal(queue_run_due(q, 0, &f->e), 2);
    queue_free(q);
    s.run_at = T0 + 3600 * 1000;
    assert_int_equal(queue_enqueue(f->st, &s, &queued_id, NULL, &f->e), 0);

    struct arena a;
    arena_init(&a, NULL, 0);
    struct job_row *rows;
    size_t n;
    int64_t total;
    assert_int_equal(store_job_list(f->st, "wa", NULL, 10, 0, &a, &rows, &n, &total, &f->e), 0);
    assert_int_equal(total, 3);
    assert_int_equal(n, 3);
    assert_int_equal(rows[0].id, queued_id); /* newest first */
    assert_string_equal(rows[0].status, "queued");
    assert_string_equal(rows[1].status, "failed");
    assert_string_equal(rows[2].status, "dead");
    assert_string_equal(rows[2].last_error, "no handler for kind nobody in this process");
    assert_int_equal(store_job_list(f->st, "wa", "failed", 10, 0, &a, &rows, &n, &total, &f->e), 0);
    assert_true(n == 1 && rows[0].id == failed_id);
    assert_int_equal(store_job_list(f->st, "wa", "queued", 10, 0, &a, &rows, &n, &total, &f->e), 0);
    assert_true(n == 1 && rows[0].id == queued_id);
    assert_int_equal(store_job_list(f->st, "wb", NULL, 10, 0, &a, &rows, &n, &total, &f->e), 0);
    assert_true(n == 0 && total == 0);

    struct job_row j;
    assert_int_equal(store_job_retry(f->st, "wb", dead_id, T0 + 5, &a, &j, &f->e), ERR_NOT_FOUND);
    assert_int_equal(store_job_retry(f->st, "wa", queued_id, T0 + 5, &a, &j, &f->e), ERR_CONFLICT);
    assert_int_equal(store_job_retry(f->st, "wa", dead_id, T0 + 5, &a, &j, &f->e), 0);
    assert_string_equal(j.status, "queued");
    assert_int_equal(j.attempts, 0);
    assert_int_equal(j.run_at, T0 + 5);
    assert_int_equal(store_job_discard(f->st, "wa", failed_id, T0 + 6, &a, &j, &f->e), 0);
    assert_string_equal(j.status, "done");
    assert_string_equal(j.last_error, "discarded");
    assert_int_equal(j.finished_at, T0 + 6);
    assert_int_equal(store_job_discard(f->st, "wa", failed_id, T0 + 7, &a, &j, &f->e),
                     ERR_CONFLICT);
    assert_int_equal(store_job_discard(f->st, "wb", failed_id, T0 + 7, &a, &j, &f->e),
                     ERR_NOT_FOUND);
    arena_release(&a);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_enqueue_in_rolled_back_transaction_leaves_no_job, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_idempotency_key_enqueues_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_enqueue_refuses_bad_specs, setup, teardown),
    cmocka_unit_test_setup_teardown(test_claims_in_run_at_order, setup, teardown),
    cmocka_unit_test_setup_teardown(test_delayed_job_waits_for_run_at, setup, teardown),
    cmocka_unit_test_setup_teardown(test_retry_with_backoff_then_success, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dead_after_max_attempts, setup, teardown),
    cmocka_unit_test_setup_teardown(test_invalid_is_dead_at_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_kind_without_handler_is_retried, setup, teardown),
    cmocka_unit_test_setup_teardown(test_abandoned_lease_is_reclaimed_and_late_finish_ignored,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_lease_lost_on_last_attempt_is_dead, setup, teardown),
    cmocka_unit_test_setup_teardown(test_threads_run_each_job_exactly_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_free_waits_for_running_handler, setup, teardown),
    cmocka_unit_test_setup_teardown(test_renewed_lease_is_not_claimable_while_running, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_unrenewed_lease_is_taken_over, setup, teardown),
    cmocka_unit_test(test_backoff_doubles_with_jitter_and_a_cap),
    cmocka_unit_test_setup_teardown(test_list_retry_and_discard, setup, teardown),
    cmocka_unit_test_setup_teardown(test_purge_failure_is_an_error, setup, teardown),
    cmocka_unit_test_setup_teardown(test_progress_is_announced_after_the_commit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_active_job_is_found_by_a_payload_field, setup, teardown),
};

UNIT_GROUP(unit_jobs_queue, "jobs/queue", tests);
