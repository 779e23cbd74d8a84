/*
 * Drip campaign step executions per second through the real code
 * (drip/run.c's "drip_step" jobs on jobs/queue.c and the store), no
 * network: a campaign of tag, score, wait (1 ms) and condition steps, N
 * contacts enrolled (drip_enroll, 1000 per transaction), then W worker
 * threads run every step of every enrollment. Each execution is one job:
 * read the enrollment, step and contact, then one transaction with the
 * effect, the log row, the enrollment's move and the next job.
 * Prints the enrollment rate and the step execution rate.
 *
 * usage: drip-bench DIR [ENROLLMENTS [WORKERS]]          SQLite, DIR/drip.db
 *        drip-bench --db URL [ENROLLMENTS [WORKERS]]      either backend (URL as --db takes
 *            it); the database must be empty or migrated, with no workspace yet. A
 *            postgres:// URL is the owner's (to migrate) or leadflow_app's (migrated).
 */
#include <jansson.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/config.h"
#include "base/crypto.h"
#include "base/log.h"
#include "drip/drip.h"
#include "jobs/queue.h"
#include "store/campaigns.h"

#define WS "00000000-0000-4000-8000-00000000be0c"

/* 4 executions per enrollment: tag, score, wait, condition (both branches end). */
static const char steps_json[] =
    "[{\"type\":\"tag\",\"config\":{\"add\":[\"bench\"]}},"
    "{\"type\":\"score\",\"config\":{\"delta\":1}},"
    "{\"type\":\"wait\",\"config\":{\"duration_ms\":1}},"
    "{\"type\":\"condition\",\"config\":{\"kind\":\"has_tag\",\"value\":\"bench\"},"
    "\"true\":null,\"false\":null}]";
enum { STEPS_PER_ENROLLMENT = 4 };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const struct errinfo *e)
{
    fprintf(stderr, "drip-bench: %s: %s\n", what, e ? e->msg : "failed");
    exit(1);
}

/* A connection of its own for setup and counts, beside the store's: SQLite or libpq. */
struct raw {
    sqlite3 *sq;
    PGconn *pg;
};

static bool is_pg(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

static void raw_open(struct raw *r, const char *url)
{
    memset(r, 0, sizeof(*r));
    if (is_pg(url)) {
        r->pg = PQconnectdb(url);
        if (PQstatus(r->pg) != CONNECTION_OK) {
            fprintf(stderr, "drip-bench: cannot connect: %s", PQerrorMessage(r->pg));
            exit(1);
        }
        /* Row Level Security: the rows of the bench's workspace, for the session. */
        PGresult *res =
            PQexec(r->pg, "SELECT set_config('leadflow.workspace_id', '" WS "', false)");
        PQclear(res);
        return;
    }
    const char *path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
    if (sqlite3_open(path, &r->sq) != SQLITE_OK) {
        fprintf(stderr, "drip-bench: cannot open %s\n", path);
        exit(1);
    }
    sqlite3_busy_timeout(r->sq, 10000);
}

static void raw_close(struct raw *r)
{
    if (r->pg)
        PQfinish(r->pg);
    else
        sqlite3_close(r->sq);
}

static void raw_exec(struct raw *r, const char *sql, const char *what)
{
    if (r->pg) {
        PGresult *res = PQexec(r->pg, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "drip-bench: %s: %s", what, PQerrorMessage(r->pg));
            exit(1);
        }
        PQclear(res);
        return;
    }
    char *err = NULL;
    if (sqlite3_exec(r->sq, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "drip-bench: %s: %s\n", what, err ? err : "?");
        exit(1);
    }
}

static long long scalar(struct raw *r, const char *sql)
{
    long long v = -1;
    if (r->pg) {
        PGresult *res = PQexec(r->pg, sql);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
            v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return v;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->sq, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The workspace and n contacts (ids c00000001...), straight into the tables (setup, not
 * measured). */
static void seed(struct raw *r, long n)
{
    static const char org[] =
        "BEGIN;"
        "INSERT INTO organizations (id, name, created_at) VALUES ('bench-org', 'Bench', 0);"
        "INSERT INTO workspaces (id, org_id, name, created_at)"
        " VALUES ('" WS "', 'bench-org', 'Bench', 0);";
    char sql[1024];
    if (r->pg)
        snprintf(sql, sizeof(sql),
                 "%s INSERT INTO contacts (id, workspace_id, email, name, created_at, updated_at)"
                 " SELECT 'c' || lpad(n::text, 8, '0'), '" WS "',"
                 " 'c' || lpad(n::text, 8, '0') || '@bench.example', 'Contact ' || n, 0, 0"
                 " FROM generate_series(1, %ld) n; COMMIT;",
                 org, n);
    else
        snprintf(sql, sizeof(sql),
                 "%s WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < %ld)"
                 " INSERT INTO contacts (id, workspace_id, email, name, created_at, updated_at)"
                 " SELECT printf('c%%08d', n), '" WS "', printf('c%%08d@bench.example', n),"
                 " printf('Contact %%d', n), 0, 0 FROM i; COMMIT;",
                 org, n);
    raw_exec(r, sql, "seeding");
}

int main(int argc, char **argv)
{
    /* --db URL: the database named; else DIR/drip.db. */
    bool db = argc >= 3 && strcmp(argv[1], "--db") == 0;
    if (argc < 2 || (strcmp(argv[1], "--db") == 0 && !db)) {
        fprintf(stderr, "usage: drip-bench DIR [ENROLLMENTS [WORKERS]]\n"
                        "       drip-bench --db URL [ENROLLMENTS [WORKERS]]\n");
        return 2;
    }
    int arg = db ? 3 : 2;
    long n = argc > arg ? strtol(argv[arg], NULL, 10) : 100000;
    unsigned workers = argc > arg + 1 ? (unsigned)strtoul(argv[arg + 1], NULL, 10) : 2;
    if (n < 1 || workers < 1) {
        fprintf(stderr, "drip-bench: ENROLLMENTS and WORKERS must be positive\n");
        return 2;
    }
    log_set_level(LOG_WARN);
    if (crypto_init() != 0)
        die("crypto_init", NULL);

    char url[4200];
    if (db)
        snprintf(url, sizeof(url), "%s", argv[2]);
    else
        snprintf(url, sizeof(url), "sqlite:%s/drip.db", argv[1]);
    struct errinfo e;
    errinfo_clear(&e);
    struct store *st = store_open(url, &e);
    int applied = 0;
    if (!st || store_migrate(st, &applied, &e) != 0)
        die("opening the database", &e);
    struct raw raw;
    raw_open(&raw, url);
    seed(&raw, n);

    /* The campaign, through the API's functions. */
    char stack[16384];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    json_t *steps_in = json_loads(steps_json, 0, NULL);
    struct campaign_step *steps;
    size_t nsteps;
    struct campaign c;
    struct campaign_fields f = {.set = CAMPF_NAME, .name = "Bench"};
    if (drip_steps_build(steps_in, &a, &steps, &nsteps, &e) != 0 ||
        store_campaign_create(st, WS, &f, 0, &a, &c, &e) != 0 ||
        store_campaign_steps_replace(st, WS, c.id, steps, nsteps, 0, NULL, &e) != 0 ||
        drip_activate(st, WS, c.id, &e) != 0)
        die("creating the campaign", &e);
    json_decref(steps_in);

    /* Enrollment: DRIP_ENROLL_MAX contacts per call (one transaction each). */
    enum { CHUNK = DRIP_ENROLL_MAX };
    static char ids[CHUNK][24];
    static const char *ptrs[CHUNK];
    static struct drip_enroll_result res[CHUNK];
    double t0 = now_s();
    for (long i = 0; i < n; i += CHUNK) {
        size_t m = 0;
        for (long k = i; k < i + CHUNK && k < n; k++, m++) {
            snprintf(ids[m], sizeof(ids[m]), "c%08ld", k + 1);
            ptrs[m] = ids[m];
        }
        if (drip_enroll(st, WS, c.id, ptrs, m, res, &e) != 0)
            die("enrolling", &e);
        for (size_t k = 0; k < m; k++)
            if (res[k].reason)
                die(res[k].reason, NULL);
    }
    double t1 = now_s();

    /* The run. */
    struct config cfg;
    memset(&cfg, 0, sizeof(cfg));
    struct queue_opts o = {.store = st, .workers = workers, .poll_ms = 50, .name = "bench"};
    struct queue *q = queue_new(&o);
    drip_register(q, &cfg, NULL);
    if (queue_start(q, &e) != 0)
        die("queue_start", &e);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM campaign_enrollments WHERE workspace_id = '" WS "'"
             " AND campaign_id = '%s' AND status = 'active'",
             c.id);
    while (scalar(&raw, sql) != 0)
        usleep(100000);
    double t2 = now_s();
    queue_free(q);

    long long logs = scalar(&raw, "SELECT COUNT(*) FROM campaign_execution_logs");
    long long done = scalar(&raw, "SELECT COUNT(*) FROM campaign_enrollments WHERE status = "
                                  "'completed'");
    long long dead = scalar(&raw, "SELECT COUNT(*) FROM jobs WHERE status = 'dead'");
    raw_close(&raw);
    store_close(st);
    arena_release(&a);
    if (logs != (long long)n * STEPS_PER_ENROLLMENT || done != n || dead != 0) {
        fprintf(stderr, "drip-bench: %ld enrollments: %lld completed, %lld step logs, %lld dead\n",
                n, done, logs, dead);
        return 1;
    }
    printf("enroll %ld contacts (%d per transaction): %.2f s, %.0f enrollments/s\n", n, CHUNK,
           t1 - t0, n / (t1 - t0));
    printf("run %lld step executions (tag, score, wait, condition; %u workers): %.2f s, "
           "%.0f step executions/s\n",
           logs, workers, t2 - t1, logs / (t2 - t1));
    return 0;
}
