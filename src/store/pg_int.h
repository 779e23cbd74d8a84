/*
 * Private to the PostgreSQL backend (src/store/pg*.c): the store, its
 * connection pool, statements prepared per connection, and the helpers every
 * op uses. An op runs on one pooled connection; workspace data is read and
 * written inside a transaction that first sets leadflow.workspace_id (with
 * set_config(..., true): it ends with the transaction), so Row Level Security
 * checks every row a second time.
 */
#ifndef LEADFLOW_STORE_PG_INT_H
#define LEADFLOW_STORE_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/alerts.h"
#include "store/auth.h"
#include "store/campaigns.h"
#include "store/contacts.h"
#include "store/emails.h"
#include "store/integrations.h"
#include "store/jobs.h"
#include "store/sending.h"
#include "store/store.h"

enum {
    PG_POOL_MAX = 16,        /* connections per process */
    PG_POOL_WAIT_MS = 10000, /* how long an op waits for a free connection */
    PG_CACHE_SLOTS = 256,    /* prepared statements per connection */
    PG_PARAMS_MAX = 24,
    PG_BATCH_MAX = 500, /* struct store's batch_max */
};

struct pg_conn {
    struct pg_conn *next_free;
    struct pg_store *owner;
    PGconn *db;
    const char *prepared[PG_CACHE_SLOTS]; /* the address of a static SQL text per slot */
    /* leadflow.workspace_id as set in the thread's open transaction (tx_begin
     * to commit), "" when none: an op of the same workspace sets it no more. */
    char tx_ws[STORE_ID_LEN];
};

struct pg_store {
    struct store base; /* first: the ops table */
    char *conninfo;
    pthread_mutex_t mu;
    pthread_cond_t freed;
    struct pg_conn *free; /* idle connections */
    size_t open;          /* connections open (idle or in use) */
    pthread_key_t tx_key; /* the calling thread's connection inside tx_begin..commit */
};

/* One op's hold on a connection (see pg_enter). */
struct pg_ctx {
    struct pg_store *s;
    struct pg_conn *c;
    bool own; /* taken from the pool for this op (not the thread's transaction) */
    bool tx;  /* this op began a transaction that pg_leave ends */
};

/*
 * Takes the connection for an op: the thread's own while it is inside
 * tx_begin, else one from the pool. With workspace_id (may be NULL) the
 * statements that follow run in a transaction with leadflow.workspace_id set
 * to it (one is begun unless the thread's is open); with tx true a
 * transaction is begun even without a workspace. End with pg_leave.
 */
int pg_enter(struct pg_store *s, const char *workspace_id, bool tx, struct pg_ctx *x,
             struct errinfo *e);
/* Commits (rc == 0) or rolls back what pg_enter began, gives the connection
 * back; returns rc, or the commit's error. */
int pg_leave(struct pg_ctx *x, int rc, struct errinfo *e);
/* Sets leadflow.workspace_id for the rest of the transaction x is in. */
int pg_set_workspace(struct pg_ctx *x, const char *workspace_id, struct errinfo *e);
/* Sets another leadflow.* setting (name without the prefix) for the transaction. */
int pg_set_local(struct pg_ctx *x, const char *name, const char *value, struct errinfo *e);

/* Text parameters of a statement ($1..$n); numbers are formatted into buf. */
struct pg_params {
    int n;
    const char *v[PG_PARAMS_MAX];
    char buf[PG_PARAMS_MAX][24];
};

void pg_p_str(struct pg_params *p, const char *s); /* s (borrowed) or NULL */
/* NULL when s is NULL or "" */
void pg_p_i64(struct pg_params *p, int64_t v);

/*
 * Runs the statement sql (a static text: its address names the prepared
 * statement on each connection) with params p (may be NULL). On success *res
 * holds the result (PQclear it); on failure *res is NULL and e says
 * "what: message" with the code from pg_fail.
 */
int pg_exec(struct pg_ctx *x, const char *sql, const struct pg_params *p, PGresult **res,
            const char *what, struct errinfo *e);
/*
 * pg_exec with leadflow.<name> set to value for it, in one round trip (a
 * pipeline). Outside a transaction (pg_enter with no workspace and tx
 * false on a pooled connection) the pipeline is the transaction; inside
 * one, unset_after turns the setting off again after the statement.
 */
int pg_exec_set(struct pg_ctx *x, const char *name, const char *value, bool unset_after,
                const char *sql, const struct pg_params *p, PGresult **res, const char *what,
                struct errinfo *e);
/* pg_exec for a statement whose result is not needed; *rows (may be NULL)
 * gets the number of rows it changed or returned. */
int pg_run(struct pg_ctx *x, const char *sql, const struct pg_params *p, int64_t *rows,
           const char *what, struct errinfo *e);

/* Maps a failed result (or connection, when res is NULL) to ERR_*: unique and
 * other integrity violations ERR_CONFLICT, bad data ERR_INVALID, serialization
 * failures, deadlocks and lost connections ERR_TEMPORARY, else ERR_DB. */
int pg_fail(struct errinfo *e, PGconn *db, const PGresult *res, const char *what);
/* The SQLSTATE of a failed result ("" when none). */
const char *pg_sqlstate(const PGresult *res);

/* Column readers: NULL reads as "" or 0. */
void pg_col_copy(const PGresult *r, int row, int col, char *out, size_t n);
const char *pg_col_dup(const PGresult *r, int row, int col, struct arena *a);
int64_t pg_col_i64(const PGresult *r, int row, int col);
double pg_col_dbl(const PGresult *r, int row, int col);
bool pg_col_bool(const PGresult *r, int row, int col);
bool pg_col_null(const PGresult *r, int row, int col);
/* A text column in a, NULL for SQL NULL. */
const char *pg_col_opt(const PGresult *r, int row, int col, struct arena *a);

/* An op this backend does not have yet: ERR_UNSUPPORTED (HTTP 501
 * NOT_IMPLEMENTED) "not available on PostgreSQL yet: op". */
int pg_todo(struct errinfo *e, const char *op);

#endif
