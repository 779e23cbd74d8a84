/*
 * Private to src/store: a cursor over the calling op's database connection,
 * the same on SQLite (sqlite.c) and PostgreSQL (pg.c), so that an op whose
 * SQL the two databases agree on is written once (store/db_ops.h lists them).
 * Statements are static struct db_sql: SQLite's text with ?N placeholders,
 * and PostgreSQL's own text where the databases differ.
 */
#ifndef LEADFLOW_STORE_DB_H
#define LEADFLOW_STORE_DB_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "store/store.h"

/*
 * A statement. text is the SQLite form, with ?N placeholders; pg is
 * PostgreSQL's form where it differs, else NULL. PostgreSQL runs its form
 * with ?N turned into $N (derived once, at first use; $N may be written as
 * such). Declare each one static: its address names the statement prepared
 * on each connection.
 */
struct db_sql {
    const char *text;
    const char *pg;
    _Atomic(const char *) pg_derived; /* pg, or text with $N (never freed) */
    atomic_int pg_nparams;            /* the highest $N in it, + 1 (0: not yet known) */
};

#define DB_SQL(sqlite_text)                                                                        \
    {                                                                                              \
        .text = (sqlite_text)                                                                      \
    }
#define DB_SQL2(sqlite_text, pg_text)                                                              \
    {                                                                                              \
        .text = (sqlite_text), .pg = (pg_text)                                                     \
    }
/* A statement of one database only (an op that keeps a path per database);
 * preparing it on the other is ERR_INTERNAL. */
#define DB_SQL_SQLITE(sqlite_text)                                                                 \
    {                                                                                              \
        .text = (sqlite_text), .pg = ""                                                            \
    }
#define DB_SQL_PG(pg_text)                                                                         \
    {                                                                                              \
        .text = NULL, .pg = (pg_text)                                                              \
    }

/* PostgreSQL's text of sql and its number of parameters (derived on first use). */
const char *db_sql_pg(struct db_sql *sql, int *nparams);

/* What an op declares it runs (db_enter). */
enum db_mode {
    /* One statement. On PostgreSQL, outside the thread's transaction, it goes
     * out in one round trip with the workspace setting (an implicit transaction). */
    DB_ONE,
    /* Several statements: on PostgreSQL, with a workspace, in one transaction
     * (the thread's, or one begun for the op); on SQLite each commits alone. */
    DB_MANY,
    /* Several statements in one transaction on both (SQLite: BEGIN IMMEDIATE,
     * unless the thread is inside tx_begin). */
    DB_TX,
    /* Several statements, in one transaction on PostgreSQL even without a
     * workspace, so that what db_set sets holds for all of them; on SQLite
     * as DB_MANY (no settings, no lock taken). */
    DB_SETTINGS,
};

enum { DB_DONE = 0, DB_ROW = 1, DB_CUR_STATE = 1024 };

struct db_cur;

/* Each backend's cursor (struct store_ops.db). Column and parameter numbers:
 * columns from 0, parameters from 1 (as ?N). */
struct db_ops {
    /* Which database: for what the two spell differently beyond SQL text
     * (the words of a full-text query). */
    enum db_kind { DB_SQLITE, DB_PG } kind;
    int (*enter)(struct db_cur *c, const char *workspace_id, enum db_mode mode);
    int (*leave)(struct db_cur *c, int rc);
    int (*prepare)(struct db_cur *c, struct db_sql *sql);
    void (*bind_str)(struct db_cur *c, int i, const char *s); /* borrowed until the step */
    void (*bind_i64)(struct db_cur *c, int i, int64_t v);
    void (*bind_dbl)(struct db_cur *c, int i, double v);
    void (*bind_bool)(struct db_cur *c, int i, bool v);
    void (*bind_blob)(struct db_cur *c, int i, const uint8_t *p, size_t n); /* p NULL: NULL */
    int (*step)(struct db_cur *c);
    const char *(*col_text)(struct db_cur *c, int i, size_t *len); /* NULL for NULL */
    int64_t (*col_i64)(struct db_cur *c, int i);
    double (*col_dbl)(struct db_cur *c, int i);
    bool (*col_bool)(struct db_cur *c, int i);
    bool (*col_null)(struct db_cur *c, int i);
    /* A copy in a; NULL with *n = 0 for NULL. */
    const uint8_t *(*col_blob)(struct db_cur *c, int i, struct arena *a, size_t *n);
    int64_t (*changes)(struct db_cur *c); /* rows the last statement changed */
    /* Sets leadflow.<name> for the rest of the transaction (PostgreSQL's
     * row security reads it); nothing on SQLite. */
    int (*set)(struct db_cur *c, const char *name, const char *value);
};

/*
 * One op's hold on the database: db_enter, then per statement db_prepare,
 * db_bind_*, db_step and db_col_*, then db_leave. Errors go to the errinfo
 * given to db_enter, as "what: message" (what from db_prepare) with the
 * backend's code: ERR_CONFLICT for integrity violations (db_unique tells a
 * unique one), ERR_TEMPORARY for busy or lost, else ERR_DB.
 */
struct db_cur {
    const struct db_ops *ops;
    struct store *st;
    struct errinfo *e;
    const char *what; /* the prepared statement's, for errors */
    bool unique;      /* the last step failed on a unique constraint */
    union {
        max_align_t align;
        unsigned char bytes[DB_CUR_STATE];
    } u; /* the backend's own */
};

/* Takes the connection; workspace_id (may be NULL) scopes what follows. */
static inline int db_enter(struct db_cur *c, struct store *st, const char *workspace_id,
                           enum db_mode mode, struct errinfo *e)
{
    c->ops = st->ops->db;
    c->st = st;
    c->e = e;
    c->what = "";
    c->unique = false;
    return c->ops->enter(c, workspace_id, mode);
}

/* Commits (rc == 0) or rolls back what db_enter began and gives the
 * connection back; returns rc or the commit's error. */
static inline int db_leave(struct db_cur *c, int rc)
{
    return c->ops->leave(c, rc);
}

/* Readies sql (ending the statement before); what names it in errors. */
static inline int db_prepare(struct db_cur *c, struct db_sql *sql, const char *what)
{
    c->what = what;
    c->unique = false;
    return c->ops->prepare(c, sql);
}

static inline void db_bind_str(struct db_cur *c, int i, const char *s)
{
    c->ops->bind_str(c, i, s);
}

/* s, or NULL when s is NULL or empty. */
static inline void db_bind_opt(struct db_cur *c, int i, const char *s)
{
    c->ops->bind_str(c, i, s && *s ? s : NULL);
}

static inline void db_bind_null(struct db_cur *c, int i)
{
    c->ops->bind_str(c, i, NULL);
}

static inline void db_bind_i64(struct db_cur *c, int i, int64_t v)
{
    c->ops->bind_i64(c, i, v);
}

static inline void db_bind_dbl(struct db_cur *c, int i, double v)
{
    c->ops->bind_dbl(c, i, v);
}

static inline void db_bind_bool(struct db_cur *c, int i, bool v)
{
    c->ops->bind_bool(c, i, v);
}

static inline void db_bind_blob(struct db_cur *c, int i, const uint8_t *p, size_t n)
{
    c->ops->bind_blob(c, i, p, n);
}

/* DB_ROW (a row to read), DB_DONE, or a negative ERR_*. */
static inline int db_step(struct db_cur *c)
{
    return c->ops->step(c);
}

static inline const char *db_col_text(struct db_cur *c, int i)
{
    return c->ops->col_text(c, i, NULL);
}

static inline int64_t db_col_i64(struct db_cur *c, int i)
{
    return c->ops->col_i64(c, i);
}

static inline int db_col_int(struct db_cur *c, int i)
{
    return (int)c->ops->col_i64(c, i);
}

static inline double db_col_dbl(struct db_cur *c, int i)
{
    return c->ops->col_dbl(c, i);
}

static inline bool db_col_bool(struct db_cur *c, int i)
{
    return c->ops->col_bool(c, i);
}

static inline bool db_col_null(struct db_cur *c, int i)
{
    return c->ops->col_null(c, i);
}

static inline const uint8_t *db_col_blob(struct db_cur *c, int i, struct arena *a, size_t *n)
{
    return c->ops->col_blob(c, i, a, n);
}

static inline int64_t db_changes(struct db_cur *c)
{
    return c->ops->changes(c);
}

/* Sets leadflow.<name> (e.g. "workspace_id") for the rest of the op's
 * transaction (DB_TX or DB_SETTINGS, or a workspace given to db_enter). */
static inline int db_set(struct db_cur *c, const char *name, const char *value)
{
    return c->ops->set(c, name, value);
}

/* Whether the last step failed on a unique constraint (else ERR_CONFLICT
 * is another integrity rule). */
static inline bool db_unique(const struct db_cur *c)
{
    return c->unique;
}

/* Copies text column i into out (size n), "" for NULL. */
void db_col_copy(struct db_cur *c, int i, char *out, size_t n);
/* Text column i in a ("" for NULL). */
const char *db_col_dup(struct db_cur *c, int i, struct arena *a);
/* Text column i in a, NULL for NULL. */
const char *db_col_opt(struct db_cur *c, int i, struct arena *a);

/* Reads the current row into out, a struct of the caller's type; strings
 * that do not fit the struct go in a. */
typedef void (*db_row_fn)(struct db_cur *c, struct arena *a, void *out);

/* Steps the prepared statement to its end (rows it returns are skipped). */
int db_run(struct db_cur *c);
/* db_run(), then ERR_NOT_FOUND "noun not found" when it changed no row. */
int db_run_one(struct db_cur *c, const char *noun);
/* One row read into out; ERR_NOT_FOUND "noun not found" when there is none. */
int db_read_one(struct db_cur *c, db_row_fn read, struct arena *a, void *out, const char *noun);
/*
 * Every row, each read into a new zeroed element (of size sz) of the arena
 * array *rows, counted in *n. When total is not NULL it is set from the
 * integer column total_col (a COUNT(*) OVER () of a paged list).
 */
int db_read_all(struct db_cur *c, db_row_fn read, struct arena *a, void **rows, size_t sz,
                size_t *n, int total_col, int64_t *total);

/* A whole op of one statement with ?1 = workspace_id and ?2 = id, read by
 * db_read_one. */
int db_get_by_id(struct store *st, struct db_sql *sql, const char *workspace_id, const char *id,
                 db_row_fn read, struct arena *a, void *out, const char *what, const char *noun,
                 struct errinfo *e);

#endif
