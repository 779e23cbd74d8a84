/*
 * SQLite backend: export_rows and import_rows (store/bulk.h). Export reads
 * each table's stored columns (pragma table_info: not the generated ones,
 * which the loading database computes) inside one read transaction (a WAL
 * snapshot);
 * import inserts row by row inside one write transaction, and SQLite's own
 * triggers keep the full-text index and the counters as rows arrive.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "store/bulk.h"
#include "store/sqlite_bulk.h"

enum { COLS_MAX = 64, COL_NAME_MAX = 64, KEYS_MAX = 4096 };

static const char sql_tables[] = "SELECT name FROM sqlite_schema WHERE type = 'table'";
static const char sql_table_sql[] = "SELECT sql FROM sqlite_schema WHERE type = 'table'"
                                    " AND name = ?1";

/* The columns of a table as the schema declares them. */
struct table_cols {
    int n;
    char name[COLS_MAX][COL_NAME_MAX];
    bool json[COLS_MAX]; /* JSON text: the schema checks it with json_valid() */
    bool blob[COLS_MAX]; /* declared BLOB */
};

/* Whether the CREATE TABLE text checks col with json_valid(col): the schema's
 * mark of a JSON column (migrations_sqlite.c). */
static bool is_json_column(const char *create_sql, const char *col)
{
    char needle[COL_NAME_MAX + 16];
    snprintf(needle, sizeof(needle), "json_valid(%s)", col);
    return strstr(create_sql, needle) != NULL;
}

/* The CREATE TABLE text of name into out; ERR_NOT_FOUND when no such table. */
static int table_sql(sqlite3 *db, const char *name, struct buf *out, struct errinfo *e)
{
    sqlite3_stmt *st;
    int src = sqlite3_prepare_v2(db, sql_table_sql, -1, &st, NULL);
    if (src != SQLITE_OK)
        return sq_fail(e, db, src, "reading the schema");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
    int rc = 0;
    buf_reset(out);
    if (src == SQLITE_ROW) {
        const char *sql = (const char *)sqlite3_column_text(st, 0);
        rc = buf_puts(out, sql ? sql : "");
    } else {
        rc = src == SQLITE_DONE ? failf(e, ERR_NOT_FOUND, "no table %s", name)
                                : sq_fail(e, db, src, "reading the schema");
    }
    sqlite3_finalize(st);
    return rc;
}

static int table_cols(sqlite3 *db, const char *name, struct table_cols *tc, struct errinfo *e)
{
    struct buf create;
    buf_init(&create, 1 << 20);
    int rc = table_sql(db, name, &create, e);
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT name, upper(type) FROM pragma_table_info('%s')", name);
    sqlite3_stmt *st = NULL;
    int src = rc ? SQLITE_OK : sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (!rc && src != SQLITE_OK)
        rc = sq_fail(e, db, src, "reading the schema");
    tc->n = 0;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        if (tc->n == COLS_MAX) {
            rc = failf(e, ERR_INTERNAL, "table %s has more than %d columns", name, COLS_MAX);
            break;
        }
        const char *col = (const char *)sqlite3_column_text(st, 0);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        snprintf(tc->name[tc->n], COL_NAME_MAX, "%s", col ? col : "");
        tc->json[tc->n] = is_json_column(buf_str(&create), tc->name[tc->n]);
        tc->blob[tc->n] = type && strcmp(type, "BLOB") == 0;
        tc->n++;
    }
    if (!rc && src != SQLITE_DONE)
        rc = sq_fail(e, db, src, "reading the schema");
    sqlite3_finalize(st);
    buf_release(&create);
    return rc;
}

static int col_index(const struct table_cols *tc, const char *name)
{
    for (int i = 0; i < tc->n; i++)
        if (strcmp(tc->name[i], name) == 0)
            return i;
    return -1;
}

static bool table_exists(sqlite3 *db, const char *name)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    struct errinfo ignored;
    bool found = table_sql(db, name, &b, &ignored) == 0;
    buf_release(&b);
    return found;
}

/* ---- export ---- */

static const char hex_digits[] = "0123456789abcdef";

/* A BLOB as the string "\x" + hex (PostgreSQL's bytea text form). */
static json_t *blob_json(const unsigned char *p, size_t n)
{
    struct buf b;
    buf_init(&b, 2 * n + 3);
    buf_puts(&b, "\\x");
    for (size_t i = 0; i < n; i++) {
        char pair[2] = {hex_digits[p[i] >> 4], hex_digits[p[i] & 15]};
        buf_append(&b, pair, 2);
    }
    json_t *v = json_stringn(buf_str(&b), b.len);
    buf_release(&b);
    return v;
}

/* Column i of the current row of st as JSON; NULL (with e) when it cannot be. */
static json_t *col_json(sqlite3_stmt *st, int i, bool json_col, const char *table,
                        struct errinfo *e)
{
    const char *col = sqlite3_column_name(st, i);
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL:
        return json_null();
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT: {
        json_t *v = json_real(sqlite3_column_double(st, i));
        if (!v)
            failf(e, ERR_INVALID, "%s.%s holds a number JSON cannot carry", table, col);
        return v;
    }
    case SQLITE_BLOB:
        return blob_json(sqlite3_column_blob(st, i), (size_t)sqlite3_column_bytes(st, i));
    default:
        break;
    }
    const char *text = (const char *)sqlite3_column_text(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    json_t *v;
    if (json_col) {
        json_error_t je;
        v = json_loadb(text, n, JSON_DECODE_ANY, &je);
        if (!v)
            failf(e, ERR_INVALID, "%s.%s holds text that is not JSON: %s", table, col, je.text);
    } else {
        v = json_stringn(text, n);
        if (!v)
            failf(e, ERR_INVALID, "%s.%s holds text that is not UTF-8", table, col);
    }
    return v;
}

static int export_table(sqlite3 *db, const char *table, store_row_fn row, void *arg,
                        struct errinfo *e)
{
    struct table_cols tc;
    int rc = table_cols(db, table, &tc, e);
    if (rc)
        return rc;
    struct buf sql;
    buf_init(&sql, 1 << 16);
    buf_puts(&sql, "SELECT ");
    for (int i = 0; i < tc.n; i++)
        buf_printf(&sql, "%s\"%s\"", i ? ", " : "", tc.name[i]);
    buf_printf(&sql, " FROM \"%s\"", table);
    sqlite3_stmt *st;
    int src = sqlite3_prepare_v2(db, buf_str(&sql), -1, &st, NULL);
    buf_release(&sql);
    if (src != SQLITE_OK)
        return sq_fail(e, db, src, table);
    int ncols = sqlite3_column_count(st);
    bool json_col[COLS_MAX] = {false};
    for (int i = 0; i < ncols && i < COLS_MAX; i++) {
        int k = col_index(&tc, sqlite3_column_name(st, i));
        json_col[i] = k >= 0 && tc.json[k];
    }
    if (ncols > COLS_MAX)
        rc = failf(e, ERR_INTERNAL, "table %s has more than %d columns", table, COLS_MAX);
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *obj = json_object();
        for (int i = 0; !rc && i < ncols; i++) {
            json_t *v = col_json(st, i, json_col[i], table, e);
            if (!v)
                rc = e->code;
            else
                json_object_set_new(obj, sqlite3_column_name(st, i), v);
        }
        if (!rc)
            rc = row(arg, table, obj, e);
        json_decref(obj);
    }
    if (!rc && src != SQLITE_DONE)
        rc = sq_fail(e, db, src, table);
    sqlite3_finalize(st);
    return rc;
}

/* ERR_INVALID when the database holds a table the stream would leave out. */
static int check_known_tables(sqlite3 *db, struct errinfo *e)
{
    sqlite3_stmt *st;
    int src = sqlite3_prepare_v2(db, sql_tables, -1, &st, NULL);
    if (src != SQLITE_OK)
        return sq_fail(e, db, src, "reading the schema");
    int rc = 0;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name && !bulk_table_internal(name) && !bulk_table_find(name))
            rc = failf(e, ERR_INVALID,
                       "table %s is not one export knows (src/store/bulk.c): it would be left out",
                       name);
    }
    if (!rc && src != SQLITE_DONE)
        rc = sq_fail(e, db, src, "reading the schema");
    sqlite3_finalize(st);
    return rc;
}

int sq_export_rows(struct store *base, store_row_fn row, void *arg, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    struct sq_conn *c;
    int rc = sq_conn_get(s, &c, e);
    if (rc)
        return rc;
    /* One read transaction: every table from the same WAL snapshot. */
    rc = sq_exec(s, "BEGIN", e);
    if (rc)
        return rc;
    rc = check_known_tables(c->db, e);
    for (size_t i = 0; !rc && i < bulk_ntables; i++)
        if (table_exists(c->db, bulk_tables[i].name))
            rc = export_table(c->db, bulk_tables[i].name, row, arg, e);
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL); /* it only read */
    return rc;
}

/* ---- import ---- */

/* The INSERT for rows of one table with one set of keys, in that order. */
struct loader {
    sqlite3 *db;
    const struct bulk_table *table;
    struct table_cols tc;
    sqlite3_stmt *st;
    struct buf keys;     /* the keys the statement was made for, "a,b,c," */
    struct buf row_keys; /* the keys of the row at hand */
    int col[COLS_MAX];   /* the table column of each key */
    int nkeys;
};

static int hex_val(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Binds "\x" + hex as a BLOB. */
static int bind_hex(sqlite3_stmt *st, int idx, const char *s, size_t n, const char *what,
                    struct errinfo *e)
{
    if (n < 2 || s[0] != '\\' || s[1] != 'x' || n % 2 != 0)
        return failf(e, ERR_INVALID, "%s: a blob must be written \\x followed by hex", what);
    size_t len = (n - 2) / 2;
    unsigned char *p = xmalloc(len ? len : 1);
    for (size_t i = 0; i < len; i++) {
        int hi = hex_val(s[2 + 2 * i]), lo = hex_val(s[3 + 2 * i]);
        if (hi < 0 || lo < 0) {
            free(p);
            return failf(e, ERR_INVALID, "%s: a blob must be written \\x followed by hex", what);
        }
        p[i] = (unsigned char)(hi << 4 | lo);
    }
    sqlite3_bind_blob64(st, idx, p, len, free);
    return 0;
}

static int bind_value(struct loader *l, int idx, int col, json_t *v, struct errinfo *e)
{
    sqlite3_stmt *st = l->st;
    char what[160];
    snprintf(what, sizeof(what), "%s.%s", l->table->name, l->tc.name[col]);
    if (json_is_null(v)) {
        sqlite3_bind_null(st, idx);
        return 0;
    }
    if (l->tc.json[col]) {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text)
            return failf(e, ERR_INVALID, "%s: cannot write the JSON value", what);
        sqlite3_bind_text(st, idx, text, -1, free);
        return 0;
    }
    switch (json_typeof(v)) {
    case JSON_TRUE:
    case JSON_FALSE:
        sqlite3_bind_int(st, idx, json_is_true(v));
        return 0;
    case JSON_INTEGER:
        sqlite3_bind_int64(st, idx, json_integer_value(v));
        return 0;
    case JSON_REAL:
        sqlite3_bind_double(st, idx, json_real_value(v));
        return 0;
    case JSON_STRING:
        if (l->tc.blob[col])
            return bind_hex(st, idx, json_string_value(v), json_string_length(v), what, e);
        sqlite3_bind_text64(st, idx, json_string_value(v), json_string_length(v), SQLITE_STATIC,
                            SQLITE_UTF8);
        return 0;
    default:
        return failf(e, ERR_INVALID, "%s: an object or array for a column that is not JSON", what);
    }
}

/* Points l at table (its columns), when it is not already. */
static int loader_table(struct loader *l, const struct bulk_table *t, struct errinfo *e)
{
    if (l->table == t)
        return 0;
    sqlite3_finalize(l->st);
    l->st = NULL;
    buf_reset(&l->keys);
    l->table = t;
    int rc = table_cols(l->db, t->name, &l->tc, e);
    if (rc == ERR_NOT_FOUND)
        return failf(e, ERR_INVALID, "table %s does not exist in this database", t->name);
    return rc;
}

/* Prepares the INSERT for the keys of row, unless the last row had the same. */
static int loader_prepare(struct loader *l, json_t *row, struct errinfo *e)
{
    buf_reset(&l->row_keys);
    const char *key;
    json_t *v;
    json_object_foreach(row, key, v)
    {
        if (buf_puts(&l->row_keys, key) || buf_putc(&l->row_keys, ','))
            return failf(e, ERR_TOO_BIG, "a row of %s has too many columns", l->table->name);
    }
    if (l->st && l->keys.len == l->row_keys.len &&
        memcmp(buf_str(&l->keys), buf_str(&l->row_keys), l->keys.len) == 0)
        return 0;
    sqlite3_finalize(l->st);
    l->st = NULL;
    buf_reset(&l->keys);
    struct buf sql;
    buf_init(&sql, 1 << 16);
    /* A row of a derived table replaces the one the triggers made. */
    buf_printf(&sql, "INSERT %sINTO \"%s\" (",
               (l->table->flags & BULK_DERIVED) ? "OR REPLACE " : "", l->table->name);
    l->nkeys = 0;
    int rc = 0;
    json_object_foreach(row, key, v)
    {
        int col = col_index(&l->tc, key);
        if (col < 0) {
            rc = failf(e, ERR_INVALID, "table %s has no column \"%.60s\" in this database",
                       l->table->name, key);
            break;
        }
        if (l->nkeys == COLS_MAX) {
            rc = failf(e, ERR_INVALID, "a row of %s has too many columns", l->table->name);
            break;
        }
        buf_printf(&sql, "%s\"%s\"", l->nkeys ? ", " : "", l->tc.name[col]);
        l->col[l->nkeys++] = col;
    }
    if (!rc && l->nkeys == 0)
        rc = failf(e, ERR_INVALID, "a row of %s has no column", l->table->name);
    if (!rc) {
        buf_puts(&sql, ") VALUES (");
        for (int i = 0; i < l->nkeys; i++)
            buf_printf(&sql, "%s?%d", i ? ", " : "", i + 1);
        buf_puts(&sql, ")");
        int src = sqlite3_prepare_v2(l->db, buf_str(&sql), -1, &l->st, NULL);
        if (src != SQLITE_OK)
            rc = sq_fail(e, l->db, src, l->table->name);
    }
    buf_release(&sql);
    if (!rc)
        rc = buf_append(&l->keys, buf_str(&l->row_keys), l->row_keys.len);
    return rc;
}

static int load_row(struct loader *l, json_t *row, struct errinfo *e)
{
    if (!json_is_object(row))
        return failf(e, ERR_INVALID, "a row of %s is not a JSON object", l->table->name);
    int rc = loader_prepare(l, row, e);
    if (rc)
        return rc;
    int i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(row, key, v)
    {
        rc = bind_value(l, i + 1, l->col[i], v, e);
        if (rc)
            break;
        i++;
    }
    if (!rc) {
        int src = sqlite3_step(l->st);
        if (src != SQLITE_DONE) {
            char what[96];
            snprintf(what, sizeof(what), "inserting into %s", l->table->name);
            rc = sq_fail(e, l->db, src, what);
        }
    }
    sqlite3_reset(l->st);
    sqlite3_clear_bindings(l->st);
    return rc;
}

/* ERR_CONFLICT naming the first table that has a row. */
static int check_empty(sqlite3 *db, struct errinfo *e)
{
    for (size_t i = 0; i < bulk_ntables; i++) {
        const char *name = bulk_tables[i].name;
        if (!table_exists(db, name))
            continue;
        char sql[128];
        snprintf(sql, sizeof(sql), "SELECT EXISTS (SELECT 1 FROM \"%s\")", name);
        sqlite3_stmt *st;
        int src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (src != SQLITE_OK)
            return sq_fail(e, db, src, name);
        src = sqlite3_step(st);
        bool rows = src == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
        sqlite3_finalize(st);
        if (src != SQLITE_ROW)
            return sq_fail(e, db, src, name);
        if (rows)
            return failf(e, ERR_CONFLICT, "the database is not empty: table %s has rows", name);
    }
    return 0;
}

int sq_import_rows(struct store *base, store_next_fn next, void *arg, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    struct sq_conn *c;
    int rc = sq_conn_get(s, &c, e);
    if (rc)
        return rc;
    rc = sq_exec(s, "BEGIN IMMEDIATE", e);
    if (rc)
        return rc;
    struct loader l = {.db = c->db};
    buf_init(&l.keys, KEYS_MAX);
    buf_init(&l.row_keys, KEYS_MAX);
    rc = check_empty(c->db, e);
    while (!rc) {
        const char *table = NULL;
        json_t *row = NULL;
        rc = next(arg, &table, &row, e);
        if (rc || !table)
            break;
        const struct bulk_table *t = bulk_table_find(table);
        if (!t) {
            rc = failf(e, ERR_INVALID, "unknown table %.60s", table);
            break;
        }
        rc = loader_table(&l, t, e);
        if (!rc)
            rc = load_row(&l, row, e);
    }
    sqlite3_finalize(l.st);
    buf_release(&l.keys);
    buf_release(&l.row_keys);
    if (!rc)
        rc = sq_exec(s, bulk_recount_sql, e);
    if (!rc)
        rc = sq_exec(s, "COMMIT", e);
    if (rc)
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}
