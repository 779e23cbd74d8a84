/*
 * Private to the SQLite backend (src/store/sqlite*.c): the store and
 * per-thread connection structs, the statement cache and error mapping.
 */
#ifndef LEADFLOW_STORE_SQLITE_INT_H
#define LEADFLOW_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/alerts.h"
#include "store/auth.h"
#include "store/campaigns.h"
#include "store/contacts.h"
#include "store/emails.h"
#include "store/integrations.h"
#include "store/jobs.h"
#include "store/sending.h"
#include "store/store.h"

enum { SQ_BUSY_MS = 5000, SQ_CACHE_SLOTS = 128 };

struct sq_cached {
    const char *sql; /* the address of a static SQL text is the key */
    sqlite3_stmt *stmt;
};

struct sq_conn {
    struct sq_conn *next; /* in the store's list of open connections */
    struct sq_store *owner;
    sqlite3 *db;
    struct sq_cached cache[SQ_CACHE_SLOTS];
};

struct sq_store {
    struct store base; /* first: the ops table */
    char *path;
    pthread_key_t key;
    pthread_mutex_t mu;
    struct sq_conn *conns;
    /* The WAL index (the -shm file) as SQLite maps it for stamp_db, a
     * connection kept open for this alone, once a stamp is first asked for;
     * NULL before or when it cannot be had. */
    const void *_Atomic shm;
    sqlite3 *stamp_db; /* under mu */
    bool shm_tried;    /* under mu */
};

/* The calling thread's connection, opened on first use. */
int sq_conn_get(struct sq_store *s, struct sq_conn **out, struct errinfo *e);

/*
 * The calling thread's prepared statement for sql, which must be a string
 * with static storage (its address is the cache key). Call sq_done() after.
 */
int sq_stmt(struct sq_store *s, const char *sql, sqlite3_stmt **out, struct sq_conn **cp,
            struct errinfo *e);
void sq_done(sqlite3_stmt *st);

/* Maps a SQLite result code to ERR_* (busy: ERR_TEMPORARY, constraint:
 * ERR_CONFLICT, else ERR_DB), with "what: message" in e. */
int sq_fail(struct errinfo *e, sqlite3 *db, int rc, const char *what);

/* Copies text column i into out (size n), "" for NULL. */
void sq_col_copy(sqlite3_stmt *st, int i, char *out, size_t n);
/* Text column i in arena memory ("" for NULL). */
const char *sq_col_dup(sqlite3_stmt *st, int i, struct arena *a);
/* Binds s (borrowed until the step) or NULL. */
void sq_bind_str(sqlite3_stmt *st, int i, const char *s);

/* Runs sql (no parameters) on the thread's connection. */
int sq_exec(struct sq_store *s, const char *sql, struct errinfo *e);

/* Steps st (from sq_stmt() on connection c, its parameters bound) to its
 * end and calls sq_done(st): 0, or sq_fail(what). */
int sq_run(sqlite3_stmt *st, struct sq_conn *c, const char *what, struct errinfo *e);

#endif
