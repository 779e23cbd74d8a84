/*
 * The storage interface. Callers use the store_* calls of the aggregate
 * headers (store/contacts.h, emails.h, jobs.h, campaigns.h, alerts.h,
 * auth.h, sending.h, integrations.h); most are written once over a cursor
 * that both backends implement (store/db.h). A backend fills a const struct
 * store_ops with that cursor and the few ops the databases need written
 * apart; the struct store it returns starts with that table, so callers
 * never see the backend's own struct. Every function that touches workspace
 * data takes the workspace id as its second argument (after the store), and
 * puts it in the WHERE clause. Backends are chosen at run time from the
 * database URL.
 *
 * A store may be used from many threads at once; backends keep what they
 * need per thread (the SQLite backend: one connection per thread).
 */
#ifndef LEADFLOW_STORE_STORE_H
#define LEADFLOW_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

struct store;

enum { STORE_ID_LEN = 37, STORE_EMAIL_MAX = 321, STORE_NAME_MAX = 201 };

/* Rows of the ops below (store/jobs.h). */
struct job_finish;
struct job_held;
struct job_new;
struct job_row;
struct store_ops;
struct json_t; /* jansson's */

/* export_rows hands each row to this (store/bulk.h: what a row holds); it
 * borrows table and row. A non-zero return stops the walk and is returned. */
typedef int (*store_row_fn)(void *arg, const char *table, struct json_t *row, struct errinfo *e);
/* import_rows takes the rows from this: it sets *table and *row (borrowed
 * until the next call), or *table = NULL after the last row. A non-zero
 * return stops the load, which then writes nothing. */
typedef int (*store_next_fn)(void *arg, const char **table, struct json_t **row, struct errinfo *e);

struct db_ops;

struct store_ops {
    const char *name; /* "sqlite", "postgres" */
    /* The backend's cursor, over which the ops both backends share are
     * written (store/db.h; private to src/store). */
    const struct db_ops *db;
    /* Opens the backend for url (the part after the scheme); NULL + e on failure. */
    struct store *(*open)(const char *target, struct errinfo *e);
    void (*close)(struct store *st);
    /* Applies every migration newer than the database; *applied counts them. */
    int (*migrate)(struct store *st, int *applied, struct errinfo *e);
    /* The newest applied migration, and the newest this build knows. */
    int (*schema_version)(struct store *st, int *have, int *known, struct errinfo *e);
    /* A cheap round trip that proves the database answers. */
    int (*ping)(struct store *st, struct errinfo *e);
    /*
     * Every row of every table of bulk_tables (store/bulk.h) that the
     * database has, table by table in that order, from one consistent
     * snapshot, one row in memory at a time. ERR_INVALID when the database
     * holds a table bulk_tables does not name (it would be left out).
     */
    int (*export_rows)(struct store *st, store_row_fn row, void *arg, struct errinfo *e);
    /*
     * Loads the rows next() yields, in one transaction: all or nothing. The
     * database must be migrated and empty: ERR_CONFLICT names a table that
     * has rows. ERR_INVALID for a table or column the schema lacks. What the
     * target derives (contact search, counters) is computed from the loaded
     * rows, and id sequences continue after the loaded ids.
     */
    int (*import_rows)(struct store *st, store_next_fn next, void *arg, struct errinfo *e);

    /*
     * Write transactions on the calling thread's connection, for batches
     * (the pipeline commits every few hundred messages). Calls in between
     * run inside the transaction.
     */
    int (*tx_begin)(struct store *st, struct errinfo *e);
    int (*tx_commit)(struct store *st, struct errinfo *e);
    void (*tx_rollback)(struct store *st);
    /* Inside tx_begin: no other transaction that asked the same for this
     * workspace runs until this one ends. Batches of the pipeline take it
     * first, so two of them never lock the workspace's counter rows and a
     * contact in opposite orders (a deadlock on PostgreSQL). SQLite's write
     * transactions are one at a time already: nothing to do. */
    int (*tx_lock_workspace)(struct store *st, const char *workspace_id, struct errinfo *e);

    /* Whether the calling thread's connection is inside tx_begin. */
    bool (*tx_active)(struct store *st);

    /* Inserts a job on the calling thread's connection: inside its open
     * transaction when there is one, never in a transaction of its own.
     * workspace_id may be NULL (a system job). When the idempotency key is
     * taken nothing is inserted: *created is false and *id is the existing
     * job's. ERR_INVALID when the payload is not JSON. */
    int (*job_insert)(struct store *st, const char *workspace_id, const struct job_new *j,
                      int64_t now, int64_t *id, bool *created, struct errinfo *e);
    /* In one write transaction (BEGIN IMMEDIATE): applies the ndone finishes
     * of done (setting each one's applied), then claims up to max due jobs:
     * queued jobs with run_at <= now (first by run_at), or running jobs whose
     * lease ran out before now (abandoned). Abandoned jobs are looked for
     * first when lost_first is set, else only when no queued job is due;
     * those on their last attempt are marked dead instead. A claim sets
     * status running, locked_by worker, locked_until now + lease_ms,
     * attempts + 1 and started_at. out (room for max) gets the claimed jobs
     * in run_at order, *n how many (0: none is due); strings are in a. */
    int (*job_claim)(struct store *st, struct job_finish *done, size_t ndone, const char *worker,
                     int64_t now, int64_t lease_ms, bool lost_first, size_t max, struct arena *a,
                     struct job_row *out, size_t *n, struct errinfo *e);
    /* Applies f alone; *applied is false when the lease was lost. */
    int (*job_finish)(struct store *st, const struct job_finish *f, int64_t now, bool *applied,
                      struct errinfo *e);
    /* In one short write transaction: extends to until the lease of each of
     * the n jobs of held that is still running under worker with the same
     * attempts (locked_by and attempts match), setting its renewed; a job
     * that finished or was claimed again is left alone. */
    int (*job_renew)(struct store *st, const char *worker, struct job_held *held, size_t n,
                     int64_t now, int64_t until, struct errinfo *e);
    /* Deletes up to limit done jobs (discarded ones too) that finished
     * before `before`, oldest first; *deleted says how many. Dead and failed
     * jobs stay until someone retries or discards them. */
    int (*job_purge)(struct store *st, int64_t before, int limit, int64_t *deleted,
                     struct errinfo *e);
};

struct store {
    const struct store_ops *ops;
    /* The most rows a batch should write in one transaction (0: no limit of
     * the backend's own). PostgreSQL keeps every version of a counter row
     * that one transaction updates again and again, and each update walks
     * them: a batch of n messages costs O(n^2) there, so its batches are short. */
    size_t batch_max;
    /* One write transaction at a time in the whole database (SQLite): the
     * job workers of a process then take turns rather than wait in the
     * database's busy handler. */
    bool one_writer;
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/*
 * Opens the database named by url: "sqlite:PATH" (PATH may be ":memory:"),
 * or "postgres://..." / "postgresql://..." (a libpq URL; src/store/pg.c).
 * Returns NULL with a one-line reason in e.
 */
struct store *store_open(const char *url, struct errinfo *e);

/* The backend's name: "sqlite" or "postgres". */
static inline const char *store_name(const struct store *st)
{
    return st->ops->name;
}

static inline void store_close(struct store *st)
{
    if (st)
        st->ops->close(st);
}

static inline int store_migrate(struct store *st, int *applied, struct errinfo *e)
{
    return st->ops->migrate(st, applied, e);
}

static inline int store_schema_version(struct store *st, int *have, int *known, struct errinfo *e)
{
    return st->ops->schema_version(st, have, known, e);
}

static inline int store_ping(struct store *st, struct errinfo *e)
{
    return st->ops->ping(st, e);
}

static inline int store_export_rows(struct store *st, store_row_fn row, void *arg,
                                    struct errinfo *e)
{
    return st->ops->export_rows(st, row, arg, e);
}

static inline int store_import_rows(struct store *st, store_next_fn next, void *arg,
                                    struct errinfo *e)
{
    return st->ops->import_rows(st, next, arg, e);
}

/*
 * Transactions on the calling thread's connection (store/tx.c). Work that
 * must only happen once the change is durable (a live event, a log line that
 * announces it) is registered with store_after_commit: it runs right after
 * the commit, in the order registered, and is dropped on rollback.
 */
int store_tx_begin(struct store *st, struct errinfo *e);
/* Commits, then runs the after-commit work; on failure nothing runs (roll back). */
int store_tx_commit(struct store *st, struct errinfo *e);
/* Rolls back and drops the after-commit work. */
void store_tx_rollback(struct store *st);

/* What store_tx_run runs: 0, an error that rolls the transaction back, or
 * STORE_TX_UNDO to roll it back with no error (nothing was to be done). */
enum { STORE_TX_UNDO = 1 };
typedef int (*store_tx_fn)(struct store *st, void *arg, struct errinfo *e);
/*
 * Runs fn in a transaction: begun, committed (0) or rolled back (fn's or the
 * commit's error), with the after-commit work run or dropped. Inside the
 * thread's open transaction fn simply runs in it, and the outer commit
 * decides. Returns fn's error, or the store's (0 after STORE_TX_UNDO).
 */
int store_tx_run(struct store *st, store_tx_fn fn, void *arg, struct errinfo *e);

/* After-commit work: data is a copy of size bytes of the caller's, freed after. */
typedef void (*store_hook_fn)(void *data);
/*
 * Runs fn(copy of data) once the thread's open transaction commits, or
 * forgets it on rollback; with no transaction open (the change was
 * committed on its own), runs it at once.
 */
void store_after_commit(struct store *st, store_hook_fn fn, const void *data, size_t size);

static inline int store_tx_lock_workspace(struct store *st, const char *workspace_id,
                                          struct errinfo *e)
{
    return st->ops->tx_lock_workspace(st, workspace_id, e);
}

static inline bool store_tx_active(struct store *st)
{
    return st->ops->tx_active(st);
}

/* The directory that holds the database's files ("." when none), into out. */
void store_data_dir(const char *url, char *out, size_t n);

#endif
