/*
 * PostgreSQL backend: export_rows and import_rows (store/bulk.h).
 *
 * Export reads in one REPEATABLE READ, READ ONLY transaction, each table
 * through row_to_json in single-row mode (one row in memory at a time). The
 * workspace tables are read under their policies, workspace by workspace
 * with leadflow.workspace_id set to each in turn, and with leadflow.queue on
 * for the jobs of no workspace (the jobs table's `queue` policy): so export
 * works as the application role as well as the owner.
 *
 * Import loads batches of rows with INSERT ... SELECT FROM
 * json_populate_recordset(NULL::table, $1): PostgreSQL converts each JSON
 * value to its column's type (0/1 and true/false to boolean, arrays and
 * objects to jsonb, "\x..." to bytea), and computes the generated columns.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "store/bulk.h"
#include "store/pg_bulk.h"
#include "store/pg_int.h"

enum {
    COLS_MAX = 64,
    COL_NAME_MAX = 64,
    BATCH_ROWS = 1000,     /* rows per INSERT */
    BATCH_BYTES = 8 << 20, /* JSON text per INSERT, past which it is sent early */
    BATCH_MAX = 512 << 20, /* the most one batch may hold (a row is at most this) */
    SQL_MAX = 1 << 16,     /* a statement built here */
};

/* A table of the database as the catalog describes it. */
struct table_info {
    const struct bulk_table *t;
    bool exists;
    bool rls;         /* Row Level Security enabled: read workspace by workspace */
    bool forced;      /* ... and forced on the owner too */
    bool triggers;    /* has enabled triggers of its own (not constraint triggers) */
    bool ws_nullable; /* workspace_id may be NULL (jobs: system jobs) */
    bool lifted;      /* import: FORCE and the triggers are off until restore() */
    int ncols;        /* the columns a row carries: all but the generated ones */
    char col[COLS_MAX][COL_NAME_MAX];
    char identity[COL_NAME_MAX]; /* the identity column, "" when none */
};

static const char sql_table_info[] =
    "SELECT a.attname, a.attidentity <> '', c.relrowsecurity, c.relforcerowsecurity,"
    " EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal"
    "   AND g.tgenabled <> 'D'),"
    " COALESCE((SELECT NOT w.attnotnull FROM pg_attribute w WHERE w.attrelid = c.oid"
    "   AND w.attname = 'workspace_id' AND NOT w.attisdropped), false)"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
    " WHERE n.nspname = current_schema() AND c.relname = $1 AND c.relkind IN ('r', 'p')"
    " AND a.attgenerated = '' ORDER BY a.attnum";
static const char sql_tables[] =
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1";
static const char sql_workspaces[] = "SELECT id FROM workspaces ORDER BY id";

/* Runs sql (no parameters; may hold several statements). */
static int exec_simple(PGconn *db, const char *sql, const char *what, struct errinfo *e)
{
    PGresult *r = PQexec(db, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : pg_fail(e, db, r, what);
    PQclear(r);
    return rc;
}

/* Appends name as a quoted identifier. */
static void put_ident(struct buf *b, const char *name)
{
    buf_putc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            buf_putc(b, '"');
        buf_putc(b, *p);
    }
    buf_putc(b, '"');
}

/* "col", "col", ... of the table's columns. */
static void put_cols(struct buf *b, const struct table_info *ti)
{
    for (int i = 0; i < ti->ncols; i++) {
        if (i)
            buf_puts(b, ", ");
        put_ident(b, ti->col[i]);
    }
}

static int table_info(struct pg_ctx *x, const struct bulk_table *t, struct table_info *ti,
                      struct errinfo *e)
{
    memset(ti, 0, sizeof(*ti));
    ti->t = t;
    struct pg_params p = {0};
    pg_p_str(&p, t->name);
    PGresult *r;
    int rc = pg_exec(x, sql_table_info, &p, &r, "reading the schema", e);
    if (rc)
        return rc;
    int n = PQntuples(r);
    if (n > COLS_MAX) {
        PQclear(r);
        return failf(e, ERR_INTERNAL, "table %s has more than %d columns", t->name, COLS_MAX);
    }
    ti->exists = n > 0;
    for (int i = 0; i < n; i++) {
        pg_col_copy(r, i, 0, ti->col[i], COL_NAME_MAX);
        if (pg_col_bool(r, i, 1))
            pg_col_copy(r, i, 0, ti->identity, COL_NAME_MAX);
    }
    ti->ncols = n;
    if (n) {
        ti->rls = pg_col_bool(r, 0, 2);
        ti->forced = pg_col_bool(r, 0, 3);
        ti->triggers = pg_col_bool(r, 0, 4);
        ti->ws_nullable = pg_col_bool(r, 0, 5);
    }
    PQclear(r);
    return 0;
}

/* ---- export ---- */

/* Stops the query under way (after row() failed) and drains its results. */
static void cancel_query(PGconn *db)
{
    PGcancel *cancel = PQgetCancel(db);
    if (cancel) {
        char err[256];
        PQcancel(cancel, err, sizeof(err));
        PQfreeCancel(cancel);
    }
}

/* Runs sql (one text parameter, or none when param is NULL), whose rows are
 * one JSON text each, and hands them to row() as they arrive. */
static int stream_rows(PGconn *db, const char *sql, const char *param, const char *table,
                       store_row_fn row, void *arg, struct errinfo *e)
{
    if (!PQsendQueryParams(db, sql, param ? 1 : 0, NULL, param ? &param : NULL, NULL, NULL, 0))
        return pg_fail(e, db, NULL, table);
    if (!PQsetSingleRowMode(db))
        return failf(e, ERR_INTERNAL, "%s: cannot read row by row", table);
    int rc = 0;
    PGresult *r;
    while ((r = PQgetResult(db)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (rc) {
            /* Already failed: only draining what the server still sends. */
        } else if (st == PGRES_SINGLE_TUPLE) {
            json_error_t je;
            json_t *v = json_loadb(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), 0, &je);
            if (!v)
                rc = failf(e, ERR_INTERNAL, "%s: row_to_json gave text jansson cannot read: %s",
                           table, je.text);
            else
                rc = row(arg, table, v, e);
            json_decref(v);
            if (rc)
                cancel_query(db);
        } else if (st != PGRES_TUPLES_OK) {
            rc = pg_fail(e, db, r, table);
        }
        PQclear(r);
    }
    return rc;
}

static int export_table(struct pg_ctx *x, const struct table_info *ti, const PGresult *ws,
                        store_row_fn row, void *arg, struct errinfo *e)
{
    struct buf sql;
    buf_init(&sql, SQL_MAX);
    buf_puts(&sql, "SELECT row_to_json(r)::text FROM (SELECT ");
    put_cols(&sql, ti);
    buf_puts(&sql, " FROM ");
    put_ident(&sql, ti->t->name);
    PGconn *db = x->c->db;
    int rc = 0;
    if (!ti->rls) {
        buf_puts(&sql, ") r");
        rc = stream_rows(db, buf_str(&sql), NULL, ti->t->name, row, arg, e);
        buf_release(&sql);
        return rc;
    }
    struct buf sql_null;
    buf_init(&sql_null, SQL_MAX);
    buf_printf(&sql_null, "%s WHERE workspace_id IS NULL) r", buf_str(&sql));
    buf_puts(&sql, " WHERE workspace_id = $1) r");
    for (int i = 0; !rc && i < PQntuples(ws); i++) {
        const char *id = PQgetvalue(ws, i, 0);
        rc = pg_set_workspace(x, id, e);
        if (!rc)
            rc = stream_rows(db, buf_str(&sql), id, ti->t->name, row, arg, e);
    }
    /* Rows of no workspace: only the jobs policy admits any (leadflow.queue). */
    if (!rc && ti->ws_nullable)
        rc = pg_set_workspace(x, "", e);
    if (!rc && ti->ws_nullable)
        rc = stream_rows(db, buf_str(&sql_null), NULL, ti->t->name, row, arg, e);
    buf_release(&sql_null);
    buf_release(&sql);
    return rc;
}

/* ERR_INVALID when the database holds a table the stream would leave out. */
static int check_known_tables(struct pg_ctx *x, struct errinfo *e)
{
    PGresult *r;
    int rc = pg_exec(x, sql_tables, NULL, &r, "reading the schema", e);
    if (rc)
        return rc;
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, 0);
        if (!bulk_table_internal(name) && !bulk_table_find(name))
            rc = failf(e, ERR_INVALID,
                       "table %s is not one export knows (src/store/bulk.c): it would be left out",
                       name);
    }
    PQclear(r);
    return rc;
}

int pg_export_rows(struct store *base, store_row_fn row, void *arg, struct errinfo *e)
{
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, NULL, true, &x, e);
    if (rc)
        return rc;
    /* One snapshot for every table and workspace. */
    rc = exec_simple(x.c->db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                     "starting the export", e);
    if (!rc)
        rc = pg_set_local(&x, "queue", "on", e);
    if (!rc)
        rc = check_known_tables(&x, e);
    PGresult *ws = NULL;
    if (!rc)
        rc = pg_exec(&x, sql_workspaces, NULL, &ws, "listing the workspaces", e);
    struct table_info *ti = XNEW(struct table_info);
    for (size_t i = 0; !rc && i < bulk_ntables; i++) {
        rc = table_info(&x, &bulk_tables[i], ti, e);
        if (!rc && ti->exists)
            rc = export_table(&x, ti, ws, row, arg, e);
    }
    free(ti);
    PQclear(ws);
    return pg_leave(&x, rc, e);
}

/* ---- import ----
 *
 * Row Level Security is FORCED on the workspace tables: even their owner
 * reads and writes only the rows of the workspace leadflow.workspace_id
 * names. A load that set the workspace batch by batch could still neither
 * check that the target is empty, nor recount the counters, nor move the id
 * sequences past the loaded ids, all of which span workspaces. So import
 * runs as the role that owns the tables (the one that ran `leadflow
 * migrate`; the application role owns nothing and is refused), and inside
 * its one transaction it lifts FORCE (ALTER TABLE ... NO FORCE ROW LEVEL
 * SECURITY: an owner is then exempt from the policies, as PostgreSQL makes
 * owners by default) and disables the tables' own triggers (DISABLE TRIGGER
 * USER; foreign keys stay checked). Firing the counter triggers row by row
 * would update one workspace_counts row once per email inside one
 * transaction, and PostgreSQL walks every earlier version of that row on
 * each update: quadratic time. The counters are recounted at the end
 * instead (bulk_recount_sql). Both changes are undone before COMMIT.
 * ALTER TABLE holds an ACCESS EXCLUSIVE lock until the transaction ends, so
 * no other session reads or writes a table while its policies are lifted,
 * and an error or a lost connection rolls the ALTERs back with the rows.
 */

/* ALTER TABLE name <what>. */
static int alter_table(PGconn *db, const char *name, const char *what, struct errinfo *e)
{
    struct buf sql;
    buf_init(&sql, SQL_MAX);
    buf_puts(&sql, "ALTER TABLE ");
    put_ident(&sql, name);
    buf_printf(&sql, " %s", what);
    PGresult *r = PQexec(db, buf_str(&sql));
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        char ctx[96];
        snprintf(ctx, sizeof(ctx), "preparing table %s", name);
        rc = pg_fail(e, db, r, ctx);
        if (strcmp(pg_sqlstate(r), "42501") == 0) { /* insufficient_privilege */
            char why[ERRINFO_MSG_MAX];
            snprintf(why, sizeof(why), "%s", e->msg);
            rc = failf(e, ERR_FORBIDDEN,
                       "import-db must connect as the role that owns the tables (the one that "
                       "ran leadflow migrate): %s",
                       why);
        }
    }
    PQclear(r);
    buf_release(&sql);
    return rc;
}

static int lift(PGconn *db, struct table_info *tis, struct errinfo *e)
{
    for (size_t i = 0; i < bulk_ntables; i++) {
        struct table_info *ti = &tis[i];
        if (!ti->exists || (!ti->forced && !ti->triggers))
            continue;
        int rc = alter_table(db, ti->t->name,
                             ti->forced && ti->triggers ? "NO FORCE ROW LEVEL SECURITY, "
                                                          "DISABLE TRIGGER USER"
                             : ti->forced               ? "NO FORCE ROW LEVEL SECURITY"
                                                        : "DISABLE TRIGGER USER",
                             e);
        if (rc)
            return rc;
        ti->lifted = true;
    }
    return 0;
}

static int restore(PGconn *db, struct table_info *tis, struct errinfo *e)
{
    for (size_t i = 0; i < bulk_ntables; i++) {
        struct table_info *ti = &tis[i];
        if (!ti->lifted)
            continue;
        int rc = alter_table(db, ti->t->name,
                             ti->forced && ti->triggers ? "FORCE ROW LEVEL SECURITY, "
                                                          "ENABLE TRIGGER USER"
                             : ti->forced               ? "FORCE ROW LEVEL SECURITY"
                                                        : "ENABLE TRIGGER USER",
                             e);
        if (rc)
            return rc;
        ti->lifted = false;
    }
    return 0;
}

/* ERR_CONFLICT naming the first table that has a row (FORCE lifted: the
 * owner sees every workspace's rows). */
static int check_empty(PGconn *db, const struct table_info *tis, struct errinfo *e)
{
    for (size_t i = 0; i < bulk_ntables; i++) {
        if (!tis[i].exists)
            continue;
        struct buf sql;
        buf_init(&sql, SQL_MAX);
        buf_puts(&sql, "SELECT EXISTS (SELECT 1 FROM ");
        put_ident(&sql, tis[i].t->name);
        buf_puts(&sql, ")");
        PGresult *r = PQexec(db, buf_str(&sql));
        buf_release(&sql);
        int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : pg_fail(e, db, r, tis[i].t->name);
        bool rows = !rc && pg_col_bool(r, 0, 0);
        PQclear(r);
        if (rc)
            return rc;
        if (rows)
            return failf(e, ERR_CONFLICT, "the database is not empty: table %s has rows",
                         tis[i].t->name);
    }
    return 0;
}

/*
 * Rows of one table on their way to one INSERT: a JSON array of objects.
 * One INSERT is in flight while the next batch is read and built: libpq
 * copies the parameter when it sends, so the buffer is refilled at once,
 * and reading the stream overlaps the server's work.
 */
struct batch {
    PGconn *db;
    const struct table_info *ti;
    struct buf json;
    int n;
    const struct table_info *in_flight; /* the table of the INSERT sent; NULL when none */
};

static int dump_to_buf(const char *p, size_t n, void *arg)
{
    return buf_append(arg, p, n) ? -1 : 0;
}

/* Waits for the INSERT in flight, if any. */
static int batch_collect(struct batch *b, struct errinfo *e)
{
    if (!b->in_flight)
        return 0;
    int rc = 0;
    PGresult *r;
    while ((r = PQgetResult(b->db)) != NULL) {
        if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK) {
            char what[96];
            snprintf(what, sizeof(what), "inserting into %s", b->in_flight->t->name);
            rc = pg_fail(e, b->db, r, what);
        }
        PQclear(r);
    }
    b->in_flight = NULL;
    return rc;
}

/* Sends the rows gathered (after the INSERT before them has succeeded). */
static int batch_flush(struct batch *b, struct errinfo *e)
{
    int rc = batch_collect(b, e);
    if (rc || !b->n)
        return rc;
    const struct table_info *ti = b->ti;
    if (buf_putc(&b->json, ']'))
        return failf(e, ERR_TOO_BIG, "a batch of %s rows is too big", ti->t->name);
    struct buf sql;
    buf_init(&sql, SQL_MAX);
    buf_puts(&sql, "INSERT INTO ");
    put_ident(&sql, ti->t->name);
    buf_puts(&sql, " (");
    put_cols(&sql, ti);
    /* OVERRIDING SYSTEM VALUE: the ids of identity columns are the loaded ones. */
    buf_puts(&sql, ") OVERRIDING SYSTEM VALUE SELECT ");
    put_cols(&sql, ti);
    buf_puts(&sql, " FROM json_populate_recordset(NULL::");
    put_ident(&sql, ti->t->name);
    buf_puts(&sql, ", $1::json)");
    const char *param = buf_str(&b->json);
    if (PQsendQueryParams(b->db, buf_str(&sql), 1, NULL, &param, NULL, NULL, 0))
        b->in_flight = ti;
    else
        rc = pg_fail(e, b->db, NULL, ti->t->name);
    buf_release(&sql);
    buf_reset(&b->json);
    b->n = 0;
    return rc;
}

/* Appends row to the batch; ERR_INVALID for a column the table lacks. */
static int batch_add(struct batch *b, json_t *row, struct errinfo *e)
{
    const struct table_info *ti = b->ti;
    if (!json_is_object(row))
        return failf(e, ERR_INVALID, "a row of %s is not a JSON object", ti->t->name);
    const char *key;
    json_t *v;
    json_object_foreach(row, key, v)
    {
        int i = 0;
        while (i < ti->ncols && strcmp(ti->col[i], key) != 0)
            i++;
        if (i == ti->ncols)
            return failf(e, ERR_INVALID, "table %s has no column \"%.60s\" in this database",
                         ti->t->name, key);
    }
    if (buf_putc(&b->json, b->n ? ',' : '[') ||
        json_dump_callback(row, dump_to_buf, &b->json, JSON_COMPACT) != 0)
        return failf(e, ERR_TOO_BIG, "a row of %s is too big", ti->t->name);
    b->n++;
    return 0;
}

/* Moves each identity sequence past the largest loaded id. */
static int move_sequences(PGconn *db, const struct table_info *tis, struct errinfo *e)
{
    for (size_t i = 0; i < bulk_ntables; i++) {
        const struct table_info *ti = &tis[i];
        if (!ti->exists || !ti->identity[0])
            continue;
        struct buf table, sql;
        buf_init(&table, SQL_MAX);
        buf_init(&sql, SQL_MAX);
        put_ident(&table, ti->t->name);
        buf_puts(&sql, "SELECT setval(pg_get_serial_sequence($1, $2), max(");
        put_ident(&sql, ti->identity);
        buf_printf(&sql, ")) FROM %s HAVING max(", buf_str(&table));
        put_ident(&sql, ti->identity);
        buf_puts(&sql, ") IS NOT NULL");
        const char *params[2] = {buf_str(&table), ti->identity};
        PGresult *r = PQexecParams(db, buf_str(&sql), 2, NULL, params, NULL, NULL, 0);
        int rc =
            PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : pg_fail(e, db, r, "moving the id sequences");
        PQclear(r);
        buf_release(&sql);
        buf_release(&table);
        if (rc)
            return rc;
    }
    return 0;
}

static int load_rows(PGconn *db, struct table_info *tis, store_next_fn next, void *arg,
                     struct errinfo *e)
{
    struct batch b = {.db = db};
    buf_init(&b.json, BATCH_MAX);
    int rc = 0;
    for (;;) {
        const char *table = NULL;
        json_t *row = NULL;
        rc = next(arg, &table, &row, e);
        if (rc || !table)
            break;
        const struct bulk_table *t = bulk_table_find(table);
        const struct table_info *ti = t ? &tis[t - bulk_tables] : NULL;
        if (!ti || !ti->exists) {
            rc = failf(e, ERR_INVALID, "unknown table %.60s", table);
            break;
        }
        if (b.ti != ti)
            rc = batch_flush(&b, e);
        b.ti = ti;
        if (!rc)
            rc = batch_add(&b, row, e);
        if (!rc && (b.n >= BATCH_ROWS || b.json.len >= BATCH_BYTES))
            rc = batch_flush(&b, e);
        if (rc)
            break;
    }
    if (!rc)
        rc = batch_flush(&b, e);
    /* The last INSERT, or the one in flight when something else failed. */
    int sent = batch_collect(&b, rc ? NULL : e);
    buf_release(&b.json);
    return rc ? rc : sent;
}

int pg_import_rows(struct store *base, store_next_fn next, void *arg, struct errinfo *e)
{
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, NULL, true, &x, e);
    if (rc)
        return rc;
    PGconn *db = x.c->db;
    struct table_info *tis = xcalloc(bulk_ntables, sizeof(*tis));
    /* A server still running on the database holds locks: fail, do not hang. */
    rc = exec_simple(db, "SET LOCAL lock_timeout = '10s'", "starting the import", e);
    for (size_t i = 0; !rc && i < bulk_ntables; i++)
        rc = table_info(&x, &bulk_tables[i], &tis[i], e);
    if (!rc)
        rc = lift(db, tis, e);
    if (!rc)
        rc = check_empty(db, tis, e);
    if (!rc)
        rc = load_rows(db, tis, next, arg, e);
    if (!rc)
        rc = exec_simple(db, bulk_recount_sql, "recounting the counters", e);
    if (!rc)
        rc = move_sequences(db, tis, e);
    if (!rc)
        rc = restore(db, tis, e);
    free(tis);
    return pg_leave(&x, rc, e);
}
