/*
 * The parts of the cursor (store/db.h) that are the same on both backends:
 * PostgreSQL's form of a statement written for SQLite, and the read and
 * write loops every op uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/db.h"

/* Copies text, ?N becoming $N (outside quoted literals and names), into
 * out; returns the highest N of ?N and $N. */
static int placeholders(const char *text, char *out)
{
    int max = 0;
    char quote = 0;
    for (const char *p = text; *p; p++) {
        char ch = *p;
        if (quote) {
            if (ch == quote)
                quote = 0;
        } else if (ch == '\'' || ch == '"') {
            quote = ch;
        } else if ((ch == '?' || ch == '$') && p[1] >= '0' && p[1] <= '9') {
            int n = (int)strtol(p + 1, NULL, 10);
            if (n > max)
                max = n;
            ch = '$';
        }
        *out++ = ch;
    }
    *out = '\0';
    return max;
}

const char *db_sql_pg(struct db_sql *sql, int *nparams)
{
    const char *pg = atomic_load_explicit(&sql->pg_derived, memory_order_acquire);
    if (pg) {
        *nparams = atomic_load_explicit(&sql->pg_nparams, memory_order_relaxed) - 1;
        return pg;
    }
    /* First use: threads may race here; one text wins, the others are freed.
     * The count is the same whoever computes it. */
    const char *from = sql->pg ? sql->pg : sql->text;
    char *copy = xmalloc(strlen(from) + 1);
    int n = placeholders(from, copy);
    atomic_store(&sql->pg_nparams, n + 1);
    const char *expected = NULL;
    if (!atomic_compare_exchange_strong(&sql->pg_derived, &expected, copy))
        free(copy);
    *nparams = n;
    return atomic_load_explicit(&sql->pg_derived, memory_order_acquire);
}

void db_col_copy(struct db_cur *c, int i, char *out, size_t n)
{
    size_t len = 0;
    const char *v = c->ops->col_text(c, i, &len);
    if (!v)
        len = 0;
    if (len >= n)
        len = n ? n - 1 : 0;
    if (n) {
        if (len)
            memcpy(out, v, len);
        out[len] = '\0';
    }
}

const char *db_col_dup(struct db_cur *c, int i, struct arena *a)
{
    size_t len = 0;
    const char *v = c->ops->col_text(c, i, &len);
    return arena_strndup(a, v ? v : "", v ? len : 0);
}

const char *db_col_opt(struct db_cur *c, int i, struct arena *a)
{
    size_t len = 0;
    const char *v = c->ops->col_text(c, i, &len);
    return v ? arena_strndup(a, v, len) : NULL;
}

int db_run(struct db_cur *c)
{
    int rc;
    while ((rc = db_step(c)) == DB_ROW)
        ;
    return rc;
}

int db_run_one(struct db_cur *c, const char *noun)
{
    int rc = db_run(c);
    if (!rc && db_changes(c) == 0)
        rc = failf(c->e, ERR_NOT_FOUND, "%s not found", noun);
    return rc;
}

int db_read_one(struct db_cur *c, db_row_fn read, struct arena *a, void *out, const char *noun)
{
    int rc = db_step(c);
    if (rc == DB_ROW) {
        read(c, a, out);
        return 0;
    }
    return rc == DB_DONE ? failf(c->e, ERR_NOT_FOUND, "%s not found", noun) : rc;
}

int db_read_all(struct db_cur *c, db_row_fn read, struct arena *a, void **rows, size_t sz,
                size_t *n, int total_col, int64_t *total)
{
    size_t cap = 0;
    int rc;
    while ((rc = db_step(c)) == DB_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            void *grown = arena_alloc(a, ncap * sz);
            if (*n)
                memcpy(grown, *rows, *n * sz);
            *rows = grown;
            cap = ncap;
        }
        void *slot = (char *)*rows + *n * sz;
        memset(slot, 0, sz);
        read(c, a, slot);
        if (total)
            *total = db_col_i64(c, total_col);
        (*n)++;
    }
    return rc;
}

int db_get_by_id(struct store *st, struct db_sql *sql, const char *workspace_id, const char *id,
                 db_row_fn read, struct arena *a, void *out, const char *what, const char *noun,
                 struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, sql, what);
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_str(&c, 2, id);
        rc = db_read_one(&c, read, a, out, noun);
    }
    return db_leave(&c, rc);
}
