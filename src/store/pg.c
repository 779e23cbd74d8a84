/*
 * The PostgreSQL backend of struct store_ops (libpq): a small pool of
 * connections per process, statements prepared per connection on first use,
 * a transaction per op that touches workspace data with leadflow.workspace_id
 * set inside it (Row Level Security: migrations_pg.c), the cursor the
 * shared ops are written over (store/db.h), and the migration runner. This is
 * the only file that opens connections; pg_*.c hold what only PostgreSQL does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/db.h"
#include "store/db_ops.h"
#include "store/migrations.h"
#include "store/pg_bulk.h"
#include "store/pg_int.h"
#include "store/pg_jobs.h"

#define PG_UNIQUE_VIOLATION "23505"

/* Serializes concurrent `leadflow migrate` runs (pg_advisory_xact_lock key). */
#define PG_MIGRATE_LOCK "7462021"

static void notice_quiet(void *arg, const char *msg)
{
    (void)arg;
    log_debug("store.pg_notice", "%s", msg);
}

int pg_todo(struct errinfo *e, const char *op)
{
    return failf(e, ERR_UNSUPPORTED, "not available on PostgreSQL yet: %s", op);
}

const char *pg_sqlstate(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

int pg_fail(struct errinfo *e, PGconn *db, const PGresult *res, const char *what)
{
    const char *state = pg_sqlstate(res);
    int code = ERR_DB;
    if (strncmp(state, "23", 2) == 0)
        code = ERR_CONFLICT;
    else if (strncmp(state, "22", 2) == 0)
        code = ERR_INVALID;
    else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
             strcmp(state, "55P03") == 0 || strncmp(state, "08", 2) == 0 ||
             strncmp(state, "57P", 3) == 0 || (db && PQstatus(db) != CONNECTION_OK))
        code = ERR_TEMPORARY;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg || !*msg)
        msg = db ? PQerrorMessage(db) : "no connection";
    /* libpq messages end with a newline (and may hold a DETAIL line). */
    size_t len = strcspn(msg, "\n");
    return failf(e, code, "%s: %.*s", what, (int)len, msg);
}

/* ---- the pool ---- */

static int conn_open(struct pg_store *s, struct pg_conn **out, struct errinfo *e)
{
    PGconn *db = PQconnectdb(s->conninfo);
    if (PQstatus(db) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(db);
        size_t len = strcspn(msg, "\n");
        failf(e, ERR_TEMPORARY, "cannot connect to PostgreSQL: %.*s", (int)len, msg);
        PQfinish(db);
        return ERR_TEMPORARY;
    }
    PQsetNoticeProcessor(db, notice_quiet, NULL);
    struct pg_conn *c = XNEW(struct pg_conn);
    c->db = db;
    c->owner = s;
    *out = c;
    return 0;
}

static void conn_close(struct pg_conn *c)
{
    if (!c)
        return;
    PQfinish(c->db);
    free(c);
}

static int pool_take(struct pg_store *s, struct pg_conn **out, struct errinfo *e)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += PG_POOL_WAIT_MS / 1000;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->free) {
            *out = s->free;
            s->free = s->free->next_free;
            pthread_mutex_unlock(&s->mu);
            return 0;
        }
        if (s->open < PG_POOL_MAX) {
            s->open++;
            pthread_mutex_unlock(&s->mu);
            int rc = conn_open(s, out, e);
            if (rc) {
                pthread_mutex_lock(&s->mu);
                s->open--;
                pthread_cond_signal(&s->freed);
                pthread_mutex_unlock(&s->mu);
            }
            return rc;
        }
        if (pthread_cond_timedwait(&s->freed, &s->mu, &until) == ETIMEDOUT) {
            pthread_mutex_unlock(&s->mu);
            return failf(e, ERR_TEMPORARY, "all %d database connections are busy", PG_POOL_MAX);
        }
    }
}

/* Gives c back; a connection that broke, or is still inside a transaction
 * (nothing should leave one open), is closed instead. */
static void pool_give(struct pg_store *s, struct pg_conn *c)
{
    bool keep = PQstatus(c->db) == CONNECTION_OK && PQtransactionStatus(c->db) == PQTRANS_IDLE &&
                PQpipelineStatus(c->db) == PQ_PIPELINE_OFF;
    if (!keep) {
        conn_close(c);
        c = NULL;
    }
    pthread_mutex_lock(&s->mu);
    if (c) {
        c->next_free = s->free;
        s->free = c;
    } else {
        s->open--;
    }
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->mu);
}

/* ---- statements ---- */

/* Runs sql (no parameters; may hold several statements) with the simple protocol. */
static int exec_simple(struct pg_conn *c, const char *sql, const char *what, struct errinfo *e)
{
    PGresult *r = PQexec(c->db, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : pg_fail(e, c->db, r, what);
    PQclear(r);
    return rc;
}

/* The slot (and name) of sql's prepared statement on c: *known when it is
 * prepared there already, else the free slot it is to take; -1 when full. */
static int stmt_slot(const struct pg_conn *c, const char *sql, char name[16], bool *known)
{
    size_t h = (size_t)(((uintptr_t)sql >> 3) * 0x9e3779b97f4a7c15ULL);
    for (size_t i = 0; i < PG_CACHE_SLOTS; i++) {
        size_t slot = (h + i) % PG_CACHE_SLOTS;
        if (c->prepared[slot] && c->prepared[slot] != sql)
            continue;
        snprintf(name, 16, "lf%zu", slot);
        *known = c->prepared[slot] == sql;
        return (int)slot;
    }
    return -1;
}

/* The name of sql's prepared statement on c, preparing it on first use. */
static int prepare(struct pg_conn *c, const char *sql, int nparams, char name[16],
                   struct errinfo *e)
{
    bool known;
    int slot = stmt_slot(c, sql, name, &known);
    if (slot < 0)
        return failf(e, ERR_INTERNAL, "statement cache is full");
    if (known)
        return 0;
    PGresult *r = PQprepare(c->db, name, sql, nparams, NULL);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_fail(e, c->db, r, "prepare");
    PQclear(r);
    if (!rc)
        c->prepared[slot] = sql;
    return rc;
}

/*
 * Pipelines (libpq's pipeline mode): several statements go out together and
 * their results come back in one round trip instead of one each. Statements
 * before the sync run in one transaction: an explicit one when BEGIN is
 * among them, else an implicit one that ends at the sync (committed, or
 * rolled back after an error). set_config(..., true) holds until its end.
 */
static const char sql_set_local[] = "SELECT set_config($1, $2, true)";

struct pipe {
    struct pg_conn *c;
    int sent;             /* queries whose results are to be read */
    bool broken;          /* a send failed: the connection is unusable */
    int prep_slot;        /* the statement slot prepared in this pipeline, or -1 */
    const char *prep_sql; /* ... and its text */
    int prep_index;       /* which query of the pipeline the prepare is */
    int result_index;     /* the query whose result pipe_end hands back (-1: the last) */
    bool unique;          /* the failure was a unique violation */
};

static void pipe_begin(struct pipe *pp, struct pg_conn *c)
{
    memset(pp, 0, sizeof(*pp));
    pp->c = c;
    pp->prep_slot = -1;
    pp->result_index = -1;
    pp->broken = !PQenterPipelineMode(c->db);
}

static void pipe_params(struct pipe *pp, const char *sql, int n, const char *const *v)
{
    if (!pp->broken && !PQsendQueryParams(pp->c->db, sql, n, NULL, v, NULL, NULL, 0))
        pp->broken = true;
    pp->sent++;
}

static void pipe_setting(struct pipe *pp, const char *name, const char *value)
{
    const char *v[2] = {name, value};
    pipe_params(pp, sql_set_local, 2, v);
}

/* sql as a prepared statement (prepared in the same pipeline on first use). */
static void pipe_prepared(struct pipe *pp, const char *sql, const struct pg_params *p)
{
    char name[16];
    bool known;
    int n = p ? p->n : 0;
    int slot = stmt_slot(pp->c, sql, name, &known);
    if (slot < 0) { /* the cache is full: an unnamed statement */
        pipe_params(pp, sql, n, p ? p->v : NULL);
        pp->result_index = pp->sent - 1;
        return;
    }
    if (!known) {
        if (!pp->broken && !PQsendPrepare(pp->c->db, name, sql, n, NULL))
            pp->broken = true;
        pp->prep_slot = slot;
        pp->prep_sql = sql;
        pp->prep_index = pp->sent++;
    }
    if (!pp->broken && !PQsendQueryPrepared(pp->c->db, name, n, p ? p->v : NULL, NULL, NULL, 0))
        pp->broken = true;
    pp->result_index = pp->sent++;
}

/*
 * Syncs and reads every result. The prepared statement's result (else the
 * last query's) goes to *last (may be NULL: cleared) when all succeeded; else
 * the first failure is in e.
 */
static int pipe_end(struct pipe *pp, PGresult **last, const char *what, struct errinfo *e)
{
    PGconn *db = pp->c->db;
    if (last)
        *last = NULL;
    if (pp->broken || !PQpipelineSync(db))
        return pg_fail(e, db, NULL, what); /* pool_give closes the connection */
    int rc = 0;
    PGresult *keep = NULL;
    int want = pp->result_index >= 0 ? pp->result_index : pp->sent - 1;
    for (int i = 0; i < pp->sent; i++) {
        PGresult *r = PQgetResult(db);
        if (!r) { /* the connection was lost */
            if (!rc)
                rc = pg_fail(e, db, NULL, what);
            break;
        }
        ExecStatusType st = PQresultStatus(r);
        /* A statement prepared is kept by the session whatever happens to
         * the transaction: note it even when a later query fails. */
        if (pp->prep_slot >= 0 && i == pp->prep_index && st == PGRES_COMMAND_OK)
            pp->c->prepared[pp->prep_slot] = pp->prep_sql;
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            if (!rc && st != PGRES_PIPELINE_ABORTED) {
                rc = pg_fail(e, db, r, what);
                pp->unique = strcmp(pg_sqlstate(r), PG_UNIQUE_VIOLATION) == 0;
            }
            PQclear(r);
        } else if (i == want && last) {
            keep = r;
        } else {
            PQclear(r);
        }
        while ((r = PQgetResult(db)) != NULL) /* the end of this query's results */
            PQclear(r);
    }
    PGresult *sync = PQgetResult(db);
    bool synced = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    PQclear(sync);
    if ((!synced || !PQexitPipelineMode(db)) && !rc)
        rc = pg_fail(e, db, NULL, what);
    if (rc) {
        PQclear(keep);
        return rc;
    }
    if (last)
        *last = keep;
    else
        PQclear(keep);
    return 0;
}

/* pg_exec, and *unique (may be NULL) tells a unique violation. */
static int exec_prepared(struct pg_ctx *x, const char *sql, const struct pg_params *p,
                         PGresult **res, const char *what, bool *unique, struct errinfo *e)
{
    *res = NULL;
    char name[16];
    int n = p ? p->n : 0;
    int rc = prepare(x->c, sql, n, name, e);
    if (rc)
        return rc;
    PGresult *r = PQexecPrepared(x->c->db, name, n, p ? p->v : NULL, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rc = pg_fail(e, x->c->db, r, what);
        if (unique)
            *unique = strcmp(pg_sqlstate(r), PG_UNIQUE_VIOLATION) == 0;
        PQclear(r);
        return rc;
    }
    *res = r;
    return 0;
}

int pg_exec(struct pg_ctx *x, const char *sql, const struct pg_params *p, PGresult **res,
            const char *what, struct errinfo *e)
{
    return exec_prepared(x, sql, p, res, what, NULL, e);
}

/* The rows a statement changed (INSERT, UPDATE, DELETE) or returned. */
static int64_t rows_of(PGresult *r)
{
    const char *t = PQcmdTuples(r);
    return *t ? strtoll(t, NULL, 10) : PQntuples(r);
}

int pg_run(struct pg_ctx *x, const char *sql, const struct pg_params *p, int64_t *rows,
           const char *what, struct errinfo *e)
{
    PGresult *r;
    int rc = pg_exec(x, sql, p, &r, what, e);
    if (rc)
        return rc;
    if (rows) {
        *rows = rows_of(r);
    }
    PQclear(r);
    return 0;
}

int pg_exec_set(struct pg_ctx *x, const char *name, const char *value, bool unset_after,
                const char *sql, const struct pg_params *p, PGresult **res, const char *what,
                struct errinfo *e)
{
    char full[64];
    snprintf(full, sizeof(full), "leadflow.%s", name);
    struct pipe pp;
    pipe_begin(&pp, x->c);
    pipe_setting(&pp, full, value);
    pipe_prepared(&pp, sql, p);
    if (unset_after)
        pipe_setting(&pp, full, "");
    return pipe_end(&pp, res, what, e);
}

void pg_p_str(struct pg_params *p, const char *s)
{
    if (p->n < PG_PARAMS_MAX)
        p->v[p->n++] = s;
}

void pg_p_i64(struct pg_params *p, int64_t v)
{
    if (p->n >= PG_PARAMS_MAX)
        return;
    snprintf(p->buf[p->n], sizeof(p->buf[0]), "%lld", (long long)v);
    p->v[p->n] = p->buf[p->n];
    p->n++;
}

void pg_col_copy(const PGresult *r, int row, int col, char *out, size_t n)
{
    snprintf(out, n, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

const char *pg_col_dup(const PGresult *r, int row, int col, struct arena *a)
{
    if (PQgetisnull(r, row, col))
        return arena_strdup(a, "");
    return arena_strndup(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

int64_t pg_col_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double pg_col_dbl(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

bool pg_col_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

bool pg_col_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) != 0;
}

const char *pg_col_opt(const PGresult *r, int row, int col, struct arena *a)
{
    return PQgetisnull(r, row, col) ? NULL : pg_col_dup(r, row, col, a);
}

/* ---- transactions and the workspace setting ---- */

int pg_set_local(struct pg_ctx *x, const char *name, const char *value, struct errinfo *e)
{
    /* Inside the thread's transaction the workspace stays set from op to op
     * (a batch of the pipeline: three ops per message, one workspace). */
    bool ws = !x->own && strcmp(name, "workspace_id") == 0;
    if (ws && value && strcmp(x->c->tx_ws, value) == 0)
        return 0;
    char full[64];
    snprintf(full, sizeof(full), "leadflow.%s", name);
    struct pg_params p = {0};
    pg_p_str(&p, full);
    pg_p_str(&p, value ? value : "");
    int rc = pg_run(x, sql_set_local, &p, NULL, "setting the workspace", e);
    if (ws) {
        if (!rc && value && strlen(value) < sizeof(x->c->tx_ws))
            memcpy(x->c->tx_ws, value, strlen(value) + 1);
        else
            x->c->tx_ws[0] = '\0';
    }
    return rc;
}

int pg_set_workspace(struct pg_ctx *x, const char *workspace_id, struct errinfo *e)
{
    return pg_set_local(x, "workspace_id", workspace_id, e);
}

int pg_enter(struct pg_store *s, const char *workspace_id, bool tx, struct pg_ctx *x,
             struct errinfo *e)
{
    memset(x, 0, sizeof(*x));
    x->s = s;
    x->c = pthread_getspecific(s->tx_key);
    if (!x->c) {
        int rc = pool_take(s, &x->c, e);
        if (rc)
            return rc;
        x->own = true;
        if (workspace_id) { /* BEGIN and the setting in one round trip */
            struct pipe pp;
            pipe_begin(&pp, x->c);
            pipe_params(&pp, "BEGIN", 0, NULL);
            pipe_setting(&pp, "leadflow.workspace_id", workspace_id);
            rc = pipe_end(&pp, NULL, "beginning a transaction", e);
            x->tx = true;
            return rc ? pg_leave(x, rc, e) : 0;
        }
        if (tx) {
            rc = exec_simple(x->c, "BEGIN", "beginning a transaction", e);
            if (rc) {
                pool_give(s, x->c);
                x->c = NULL;
                return rc;
            }
            x->tx = true;
        }
    }
    int rc = workspace_id ? pg_set_workspace(x, workspace_id, e) : 0;
    return rc ? pg_leave(x, rc, e) : 0;
}

int pg_leave(struct pg_ctx *x, int rc, struct errinfo *e)
{
    if (!x->c)
        return rc;
    if (x->tx) {
        if (rc) {
            struct errinfo ignored;
            exec_simple(x->c, "ROLLBACK", "rolling back", &ignored);
        } else {
            rc = exec_simple(x->c, "COMMIT", "committing", e);
        }
    }
    if (x->own)
        pool_give(x->s, x->c);
    x->c = NULL;
    return rc;
}

static int pg_tx_begin(struct store *base, struct errinfo *e)
{
    struct pg_store *s = (struct pg_store *)base;
    if (pthread_getspecific(s->tx_key))
        return failf(e, ERR_INTERNAL, "a transaction is already open on this thread");
    struct pg_conn *c = NULL;
    int rc = pool_take(s, &c, e);
    if (!rc)
        rc = exec_simple(c, "BEGIN", "beginning a transaction", e);
    if (rc) {
        if (c)
            pool_give(s, c);
        return rc;
    }
    c->tx_ws[0] = '\0';
    pthread_setspecific(s->tx_key, c);
    return 0;
}

static int tx_end(struct pg_store *s, const char *sql, struct errinfo *e)
{
    struct pg_conn *c = pthread_getspecific(s->tx_key);
    if (!c)
        return failf(e, ERR_INTERNAL, "no transaction is open on this thread");
    pthread_setspecific(s->tx_key, NULL);
    c->tx_ws[0] = '\0';
    int rc = exec_simple(c, sql, sql, e);
    if (rc) {
        struct errinfo ignored;
        exec_simple(c, "ROLLBACK", "rolling back", &ignored);
    }
    pool_give(s, c);
    return rc;
}

static int pg_tx_commit(struct store *base, struct errinfo *e)
{
    return tx_end((struct pg_store *)base, "COMMIT", e);
}

static void pg_tx_rollback(struct store *base)
{
    struct errinfo ignored;
    tx_end((struct pg_store *)base, "ROLLBACK", &ignored);
}

/* A transaction-scoped advisory lock on the workspace (the two-key form, a
 * space of its own: the one-key locks serialize migrations). */
static const char sql_lock_workspace[] =
    "SELECT pg_advisory_xact_lock(19526, hashtext($1))"; /* 19526: "LF" */

static int pg_tx_lock_workspace(struct store *base, const char *workspace_id, struct errinfo *e)
{
    struct pg_store *s = (struct pg_store *)base;
    if (!pthread_getspecific(s->tx_key))
        return failf(e, ERR_INTERNAL, "tx_lock_workspace outside a transaction");
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    struct pg_ctx x;
    int rc = pg_enter(s, NULL, false, &x, e);
    if (!rc)
        rc = pg_run(&x, sql_lock_workspace, &p, NULL, "locking the workspace", e);
    return pg_leave(&x, rc, e);
}

static bool pg_tx_active(struct store *base)
{
    return pthread_getspecific(((struct pg_store *)base)->tx_key) != NULL;
}

/* A thread that ends inside a transaction: the connection is closed (its
 * transaction rolls back) and leaves the pool. */
static void tx_thread_exit(void *p)
{
    struct pg_conn *c = p;
    pool_give(c->owner, c);
}

/* ---- open, close, ping ---- */

static void pg_close(struct store *base)
{
    struct pg_store *s = (struct pg_store *)base;
    pthread_key_delete(s->tx_key);
    while (s->free) {
        struct pg_conn *c = s->free;
        s->free = c->next_free;
        conn_close(c);
    }
    pthread_cond_destroy(&s->freed);
    pthread_mutex_destroy(&s->mu);
    free(s->conninfo);
    free(s);
}

/* Whether every slot of the ops table is filled (a NULL one would crash a caller). */
static int ops_complete(const struct store_ops *ops, struct errinfo *e)
{
    typedef void (*fnptr)(void);
    size_t first = offsetof(struct store_ops, open);
    size_t n = (sizeof(*ops) - first) / sizeof(fnptr);
    for (size_t i = 0; i < n; i++) {
        fnptr f;
        memcpy(&f, (const char *)ops + first + i * sizeof(fnptr), sizeof(f));
        if (!f)
            return failf(e, ERR_INTERNAL,
                         "the PostgreSQL backend lacks store op #%zu: run scripts/pg_todo.py", i);
    }
    return 0;
}

static struct store *pg_open(const char *target, struct errinfo *e)
{
    if (ops_complete(&store_pg_ops, e))
        return NULL;
    struct pg_store *s = XNEW(struct pg_store);
    s->base.ops = &store_pg_ops;
    s->base.batch_max = PG_BATCH_MAX;
    s->conninfo = xstrdup(target);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->freed, NULL);
    if (pthread_key_create(&s->tx_key, tx_thread_exit) != 0) {
        failf(e, ERR_INTERNAL, "cannot create a thread key");
        pthread_cond_destroy(&s->freed);
        pthread_mutex_destroy(&s->mu);
        free(s->conninfo);
        free(s);
        return NULL;
    }
    /* Connect now, so a bad URL fails at start-up. */
    struct pg_conn *c;
    if (pool_take(s, &c, e) != 0) {
        pg_close(&s->base);
        return NULL;
    }
    pool_give(s, c);
    return &s->base;
}

static const char sql_ping[] = "SELECT 1";

static int pg_ping(struct store *base, struct errinfo *e)
{
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, NULL, false, &x, e);
    if (rc)
        return rc;
    rc = pg_run(&x, sql_ping, NULL, NULL, "ping", e);
    return pg_leave(&x, rc, e);
}

/* ---- migrations ---- */

static const char sql_has_versions[] = "SELECT to_regclass('schema_migrations') IS NOT NULL";
static const char sql_version[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
static const char sql_version_add[] =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)";
static const char create_versions[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)";

static int known_version(void)
{
    return pg_nmigrations ? pg_migrations[pg_nmigrations - 1].version : 0;
}

static int read_version(struct pg_ctx *x, int *have, struct errinfo *e)
{
    PGresult *r;
    *have = 0;
    int rc = pg_exec(x, sql_has_versions, NULL, &r, "reading the schema version", e);
    if (rc)
        return rc;
    bool exists = pg_col_bool(r, 0, 0);
    PQclear(r);
    if (!exists)
        return 0;
    rc = pg_exec(x, sql_version, NULL, &r, "reading the schema version", e);
    if (rc)
        return rc;
    *have = (int)pg_col_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

static int pg_schema_version(struct store *base, int *have, int *known, struct errinfo *e)
{
    struct pg_ctx x;
    *known = known_version();
    *have = 0;
    int rc = pg_enter((struct pg_store *)base, NULL, false, &x, e);
    if (rc)
        return rc;
    rc = read_version(&x, have, e);
    return pg_leave(&x, rc, e);
}

static int apply_one(struct pg_store *s, const struct migration *m, bool *done, struct errinfo *e)
{
    char what[160];
    snprintf(what, sizeof(what), "migration %d (%s)", m->version, m->name);
    struct pg_ctx x;
    *done = false;
    int rc = pg_enter(s, NULL, true, &x, e);
    if (rc)
        return rc;
    rc = exec_simple(x.c, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", what, e);
    if (!rc)
        rc = exec_simple(x.c, create_versions, what, e);
    int have = 0;
    if (!rc)
        rc = read_version(&x, &have, e); /* another process may have applied it */
    if (!rc && have < m->version) {
        rc = exec_simple(x.c, m->sql, what, e);
        struct pg_params p = {0};
        pg_p_i64(&p, m->version);
        pg_p_str(&p, m->name);
        pg_p_i64(&p, clock_now_ms());
        if (!rc)
            rc = pg_run(&x, sql_version_add, &p, NULL, what, e);
        *done = rc == 0;
    }
    return pg_leave(&x, rc, e);
}

static int pg_migrate(struct store *base, int *applied, struct errinfo *e)
{
    struct pg_store *s = (struct pg_store *)base;
    int have, known;
    *applied = 0;
    int rc = pg_schema_version(base, &have, &known, e);
    if (rc)
        return rc;
    if (have > known)
        return failf(e, ERR_DB,
                     "database schema version %d is newer than this leadflow knows (%d); "
                     "upgrade leadflow",
                     have, known);
    for (size_t i = 0; i < pg_nmigrations; i++) {
        const struct migration *m = &pg_migrations[i];
        if (m->version <= have)
            continue;
        bool done;
        rc = apply_one(s, m, &done, e);
        if (rc) {
            /* The server's role may not create tables: that is the owner's job. */
            if (strstr(e->msg, "permission denied") || strstr(e->msg, "must be owner"))
                return failf(e, ERR_DB,
                             "the database schema is at version %d, this leadflow needs %d, and "
                             "this role may not change it: run `leadflow migrate --db URL` with "
                             "the owner role's URL first",
                             have, known);
            return rc;
        }
        if (done) {
            (*applied)++;
            log_info("store.migrated", "applied migration %d: %s", m->version, m->name);
        }
    }
    return 0;
}

/* ---- the cursor (store/db.h) ---- */

/* libpq hands back whole results: a step moves through the rows of one. */
struct pg_cur {
    struct pg_ctx x;     /* the op's connection (unless one) */
    struct pg_conn *one; /* DB_ONE outside the thread's transaction: a pooled
                            connection, the statement pipelined with the setting */
    const char *one_ws;  /* ... the workspace to set */
    bool one_ran;        /* ... its statement went out */
    const char *sql;     /* PostgreSQL's text of the prepared statement */
    struct pg_params p;  /* its parameters, p.n of them */
    PGresult *res;       /* its result once run */
    int row;             /* the row a step is at */
    bool ran;            /* it ran (res is its result) */
    char *owned[4];      /* parameter texts to free with the statement */
    int nowned;
};

_Static_assert(sizeof(struct pg_cur) <= DB_CUR_STATE, "struct pg_cur fits struct db_cur");

static struct pg_cur *pg_cur(struct db_cur *c)
{
    return (struct pg_cur *)c->u.bytes;
}

static void cur_clear(struct pg_cur *q)
{
    PQclear(q->res);
    q->res = NULL;
    for (int i = 0; i < q->nowned; i++)
        free(q->owned[i]);
    q->nowned = 0;
    q->ran = false;
}

static int cur_enter(struct db_cur *c, const char *workspace_id, enum db_mode mode)
{
    struct pg_store *s = (struct pg_store *)c->st;
    struct pg_cur *q = pg_cur(c);
    memset(q, 0, sizeof(*q));
    /* One statement of a workspace on a pooled connection: the setting and
     * the statement go out in one pipeline at the first step, one round trip
     * in an implicit transaction instead of four (BEGIN, set_config, the
     * statement, COMMIT). */
    if (mode == DB_ONE && workspace_id && !pthread_getspecific(s->tx_key)) {
        q->one_ws = workspace_id;
        return pool_take(s, &q->one, c->e);
    }
    return pg_enter(s, workspace_id, mode == DB_TX || mode == DB_SETTINGS, &q->x, c->e);
}

static int cur_leave(struct db_cur *c, int rc)
{
    struct pg_cur *q = pg_cur(c);
    cur_clear(q);
    if (q->one) {
        pool_give((struct pg_store *)c->st, q->one);
        q->one = NULL;
        return rc;
    }
    return pg_leave(&q->x, rc, c->e);
}

static int cur_prepare(struct db_cur *c, struct db_sql *sql)
{
    struct pg_cur *q = pg_cur(c);
    cur_clear(q);
    if (q->one && q->one_ran)
        return failf(c->e, ERR_INTERNAL, "%s: a second statement in a one-statement op", c->what);
    int n;
    q->sql = db_sql_pg(sql, &n);
    if (!*q->sql)
        return failf(c->e, ERR_INTERNAL, "%s: a SQLite statement on PostgreSQL", c->what);
    if (n > PG_PARAMS_MAX)
        return failf(c->e, ERR_INTERNAL, "%s: too many parameters", c->what);
    memset(q->p.v, 0, sizeof(q->p.v));
    q->p.n = n;
    return 0;
}

static void cur_bind_str(struct db_cur *c, int i, const char *s)
{
    struct pg_cur *q = pg_cur(c);
    if (i >= 1 && i <= q->p.n)
        q->p.v[i - 1] = s;
}

static void cur_bind_i64(struct db_cur *c, int i, int64_t v)
{
    struct pg_cur *q = pg_cur(c);
    if (i < 1 || i > q->p.n)
        return;
    snprintf(q->p.buf[i - 1], sizeof(q->p.buf[0]), "%lld", (long long)v);
    q->p.v[i - 1] = q->p.buf[i - 1];
}

static void cur_bind_dbl(struct db_cur *c, int i, double v)
{
    struct pg_cur *q = pg_cur(c);
    if (i < 1 || i > q->p.n)
        return;
    snprintf(q->p.buf[i - 1], sizeof(q->p.buf[0]), "%.17g", v);
    q->p.v[i - 1] = q->p.buf[i - 1];
}

static void cur_bind_bool(struct db_cur *c, int i, bool v)
{
    cur_bind_str(c, i, v ? "true" : "false");
}

/* Parameters travel as text: bytes go in as bytea's hex input form. */
static void cur_bind_blob(struct db_cur *c, int i, const uint8_t *p, size_t n)
{
    struct pg_cur *q = pg_cur(c);
    if (!p || q->nowned == (int)(sizeof(q->owned) / sizeof(q->owned[0]))) {
        cur_bind_str(c, i, NULL);
        return;
    }
    char *hex = xmalloc(2 * n + 3);
    hex[0] = '\\';
    hex[1] = 'x';
    crypto_hex(p, n, hex + 2);
    q->owned[q->nowned++] = hex;
    cur_bind_str(c, i, hex);
}

static int cur_step(struct db_cur *c)
{
    struct pg_cur *q = pg_cur(c);
    if (q->ran) {
        if (q->row < PQntuples(q->res))
            q->row++;
        return q->row < PQntuples(q->res) ? DB_ROW : DB_DONE;
    }
    int rc;
    if (q->one) {
        struct pipe pp;
        pipe_begin(&pp, q->one);
        pipe_setting(&pp, "leadflow.workspace_id", q->one_ws);
        pipe_prepared(&pp, q->sql, &q->p);
        q->one_ran = true;
        rc = pipe_end(&pp, &q->res, c->what, c->e);
        c->unique = pp.unique;
    } else {
        rc = exec_prepared(&q->x, q->sql, &q->p, &q->res, c->what, &c->unique, c->e);
    }
    if (rc)
        return rc;
    q->ran = true;
    q->row = 0;
    return PQntuples(q->res) > 0 ? DB_ROW : DB_DONE;
}

static const char *cur_col_text(struct db_cur *c, int i, size_t *len)
{
    struct pg_cur *q = pg_cur(c);
    if (PQgetisnull(q->res, q->row, i)) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = (size_t)PQgetlength(q->res, q->row, i);
    return PQgetvalue(q->res, q->row, i);
}

static int64_t cur_col_i64(struct db_cur *c, int i)
{
    return pg_col_i64(pg_cur(c)->res, pg_cur(c)->row, i);
}

static double cur_col_dbl(struct db_cur *c, int i)
{
    return pg_col_dbl(pg_cur(c)->res, pg_cur(c)->row, i);
}

static bool cur_col_bool(struct db_cur *c, int i)
{
    return pg_col_bool(pg_cur(c)->res, pg_cur(c)->row, i);
}

static bool cur_col_null(struct db_cur *c, int i)
{
    return pg_col_null(pg_cur(c)->res, pg_cur(c)->row, i);
}

static const uint8_t *cur_col_blob(struct db_cur *c, int i, struct arena *a, size_t *n)
{
    struct pg_cur *q = pg_cur(c);
    *n = 0;
    if (PQgetisnull(q->res, q->row, i))
        return NULL;
    size_t len = 0;
    unsigned char *raw =
        PQunescapeBytea((const unsigned char *)PQgetvalue(q->res, q->row, i), &len);
    uint8_t *copy = arena_alloc(a, len ? len : 1);
    if (raw && len)
        memcpy(copy, raw, len);
    if (raw)
        PQfreemem(raw);
    else
        len = 0;
    *n = len;
    return copy;
}

static int64_t cur_changes(struct db_cur *c)
{
    struct pg_cur *q = pg_cur(c);
    return q->res ? rows_of(q->res) : 0;
}

static int cur_set(struct db_cur *c, const char *name, const char *value)
{
    struct pg_cur *q = pg_cur(c);
    if (q->one)
        return failf(c->e, ERR_INTERNAL, "a setting in a one-statement op");
    return pg_set_local(&q->x, name, value, c->e);
}

static const struct db_ops pg_db_ops = {
    .kind = DB_PG,
    .enter = cur_enter,
    .leave = cur_leave,
    .prepare = cur_prepare,
    .bind_str = cur_bind_str,
    .bind_i64 = cur_bind_i64,
    .bind_dbl = cur_bind_dbl,
    .bind_bool = cur_bind_bool,
    .bind_blob = cur_bind_blob,
    .step = cur_step,
    .col_text = cur_col_text,
    .col_i64 = cur_col_i64,
    .col_dbl = cur_col_dbl,
    .col_bool = cur_col_bool,
    .col_null = cur_col_null,
    .col_blob = cur_col_blob,
    .changes = cur_changes,
    .set = cur_set,
};

const struct store_ops store_pg_ops = {
    .name = "postgres",
    .db = &pg_db_ops,
    .open = pg_open,
    .close = pg_close,
    .migrate = pg_migrate,
    .schema_version = pg_schema_version,
    .ping = pg_ping,
    .tx_begin = pg_tx_begin,
    .tx_commit = pg_tx_commit,
    .tx_rollback = pg_tx_rollback,
    .tx_lock_workspace = pg_tx_lock_workspace,
    .tx_active = pg_tx_active,
    PG_BULK_OPS,
    PG_JOB_OPS,
};
