/*
 * Tests for src/store/db.c and the two cursors behind it (sqlite.c, pg.c):
 * the same statements run on SQLite and, when $LEADFLOW_PG_DIR names a
 * cluster of scripts/pg.sh, on PostgreSQL: binding, stepping, reading every
 * column type, changes, unique violations, and a transaction rolled back.
 */
#include <stdio.h>
#include <stdlib.h>

#include "store/db.h"
#include "store/store.h"
#include "unit/unit.h"

static struct db_sql sql_create =
    DB_SQL2("CREATE TABLE IF NOT EXISTS db_cur_test (id TEXT PRIMARY KEY, n INTEGER, x REAL,"
            " b INTEGER, note TEXT, data BLOB)",
            "CREATE TABLE IF NOT EXISTS db_cur_test (id text PRIMARY KEY, n bigint,"
            " x double precision, b boolean, note text, data bytea)");
static struct db_sql sql_clear = DB_SQL("DELETE FROM db_cur_test");
static struct db_sql sql_insert = DB_SQL("INSERT INTO db_cur_test (id, n, x, b, note, data)"
                                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
static struct db_sql sql_list = DB_SQL("SELECT id, n, x, b, note, data, COUNT(*) OVER ()"
                                       " FROM db_cur_test WHERE n >= ?1 OR n IS NULL"
                                       " ORDER BY id");
static struct db_sql sql_bump = DB_SQL("UPDATE db_cur_test SET n = n + 1 WHERE id = ?1");
static struct db_sql sql_quoted = DB_SQL("SELECT '?1', ?1");
static struct db_sql sql_only_sqlite = DB_SQL_SQLITE("SELECT 1");
static struct db_sql sql_only_pg = DB_SQL_PG("SELECT 1");

struct row {
    char id[8];
    int64_t n;
    double x;
    bool b;
    const char *note; /* NULL for NULL */
    const uint8_t *data;
    size_t len;
};

static void read_row(struct db_cur *c, struct arena *a, void *out)
{
    struct row *r = out;
    db_col_copy(c, 0, r->id, sizeof(r->id));
    r->n = db_col_null(c, 1) ? -1 : db_col_i64(c, 1);
    r->x = db_col_dbl(c, 2);
    r->b = db_col_bool(c, 3);
    r->note = db_col_opt(c, 4, a);
    r->data = db_col_blob(c, 5, a, &r->len);
}

static int insert(struct store *st, const char *id, int64_t n, const char *note, struct errinfo *e,
                  bool *unique)
{
    struct db_cur c;
    int rc = db_enter(&c, st, "ws-1", DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_insert, "inserting");
    if (!rc) {
        static const uint8_t bytes[] = {0, 1, 0xfe, 0xff};
        db_bind_str(&c, 1, id);
        if (n >= 0)
            db_bind_i64(&c, 2, n);
        db_bind_dbl(&c, 3, 0.25 * (double)n);
        db_bind_bool(&c, 4, n % 2 == 1);
        db_bind_opt(&c, 5, note);
        db_bind_blob(&c, 6, n == 1 ? bytes : NULL, sizeof(bytes));
        rc = db_run(&c);
        *unique = db_unique(&c);
    }
    return db_leave(&c, rc);
}

/* Runs the whole sequence on the store at url. */
static void exercise(const char *url)
{
    struct errinfo e;
    errinfo_clear(&e);
    struct store *st = store_open(url, &e);
    assert_non_null(st);
    struct db_cur c;
    assert_int_equal(db_enter(&c, st, NULL, DB_MANY, &e), 0);
    int rc = db_prepare(&c, &sql_create, "creating");
    if (!rc)
        rc = db_run(&c);
    if (!rc)
        rc = db_prepare(&c, &sql_clear, "clearing");
    if (!rc)
        rc = db_run(&c);
    assert_int_equal(db_leave(&c, rc), 0);

    bool unique = false;
    assert_int_equal(insert(st, "a", 1, "one", &e, &unique), 0);
    assert_int_equal(insert(st, "b", 2, "", &e, &unique), 0);
    assert_int_equal(insert(st, "c", -1, NULL, &e, &unique), 0);
    assert_int_equal(insert(st, "a", 5, NULL, &e, &unique), ERR_CONFLICT);
    assert_true(unique);
    assert_non_null(strstr(e.msg, "inserting: "));

    /* A transaction rolled back leaves nothing. */
    assert_int_equal(db_enter(&c, st, "ws-1", DB_TX, &e), 0);
    assert_int_equal(db_prepare(&c, &sql_insert, "inserting"), 0);
    db_bind_str(&c, 1, "z");
    assert_int_equal(db_run(&c), 0);
    assert_int_equal(db_leave(&c, ERR_INVALID), ERR_INVALID);

    /* A bump of a row, then of none: changes counts them. */
    assert_int_equal(db_enter(&c, st, "ws-1", DB_MANY, &e), 0);
    assert_int_equal(db_prepare(&c, &sql_bump, "bumping"), 0);
    db_bind_str(&c, 1, "b");
    assert_int_equal(db_run(&c), 0);
    assert_int_equal(db_changes(&c), 1);
    assert_int_equal(db_prepare(&c, &sql_bump, "bumping"), 0);
    db_bind_str(&c, 1, "nope");
    assert_int_equal(db_run_one(&c, "row"), ERR_NOT_FOUND);
    assert_string_equal(e.msg, "row not found");
    assert_int_equal(db_leave(&c, 0), 0);

    struct arena a;
    arena_init(&a, NULL, 0);
    struct row *rows = NULL;
    size_t n = 0;
    int64_t total = 0;
    assert_int_equal(db_enter(&c, st, "ws-1", DB_ONE, &e), 0);
    rc = db_prepare(&c, &sql_list, "listing");
    if (!rc) {
        db_bind_i64(&c, 1, 2);
        rc = db_read_all(&c, read_row, &a, (void **)&rows, sizeof(*rows), &n, 6, &total);
    }
    assert_int_equal(db_leave(&c, rc), 0);
    assert_int_equal(n, 2);
    assert_int_equal(total, 2);
    assert_string_equal(rows[0].id, "b");
    assert_int_equal(rows[0].n, 3);
    assert_true(rows[0].x == 0.5);
    assert_false(rows[0].b);
    assert_null(rows[0].note); /* "" bound by db_bind_opt is NULL */
    assert_null(rows[0].data);
    assert_string_equal(rows[1].id, "c");
    assert_int_equal(rows[1].n, -1);

    assert_int_equal(db_enter(&c, st, NULL, DB_ONE, &e), 0);
    rc = db_prepare(&c, &sql_list, "listing");
    if (!rc) {
        db_bind_i64(&c, 1, 0);
        n = 0;
        rc = db_read_all(&c, read_row, &a, (void **)&rows, sizeof(*rows), &n, 6, &total);
    }
    assert_int_equal(db_leave(&c, rc), 0);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].note, "one");
    assert_true(rows[0].b);
    assert_int_equal(rows[0].len, 4);
    assert_int_equal(rows[0].data[2], 0xfe);

    /* ?1 inside a literal stays as it is. */
    assert_int_equal(db_enter(&c, st, NULL, DB_ONE, &e), 0);
    assert_int_equal(db_prepare(&c, &sql_quoted, "quoting"), 0);
    db_bind_str(&c, 1, "x");
    assert_int_equal(db_step(&c), DB_ROW);
    assert_string_equal(db_col_text(&c, 0), "?1");
    assert_string_equal(db_col_text(&c, 1), "x");
    assert_int_equal(db_step(&c), DB_DONE);
    assert_int_equal(db_leave(&c, 0), 0);

    /* A statement of the other database is refused, this one's runs. */
    bool sqlite = strcmp(store_name(st), "sqlite") == 0;
    assert_int_equal(db_enter(&c, st, NULL, DB_MANY, &e), 0);
    assert_int_equal(db_prepare(&c, sqlite ? &sql_only_pg : &sql_only_sqlite, "other"),
                     ERR_INTERNAL);
    assert_int_equal(db_prepare(&c, sqlite ? &sql_only_sqlite : &sql_only_pg, "own"), 0);
    assert_int_equal(db_step(&c), DB_ROW);
    assert_int_equal(db_col_i64(&c, 0), 1);
    assert_int_equal(db_leave(&c, 0), 0);
    arena_release(&a);
    store_close(st);
}

static void test_sqlite(void **state)
{
    exercise("sqlite::memory:");
}

/* The admin URL of the scripts/pg.sh cluster in $LEADFLOW_PG_DIR, or NULL. */
static char *pg_url(void)
{
    const char *dir = getenv("LEADFLOW_PG_DIR");
    if (!dir || !*dir)
        return NULL;
    char path[512], line[512], sock[400] = "", port[16] = "";
    snprintf(path, sizeof(path), "%s/env", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "PG_SOCK=", 8) == 0 && strlen(line + 8) < sizeof(sock))
            memcpy(sock, line + 8, strlen(line + 8) + 1);
        else if (strncmp(line, "PG_PORT=", 8) == 0 && strlen(line + 8) < sizeof(port))
            memcpy(port, line + 8, strlen(line + 8) + 1);
    }
    fclose(f);
    if (!*sock || !*port)
        return NULL;
    char *url = malloc(512);
    snprintf(url, 512, "postgres://leadflow_admin@/postgres?host=%s&port=%s", sock, port);
    return url;
}

static void test_postgres(void **state)
{
    char *url = pg_url();
    if (!url)
        skip();
    exercise(url);
    free(url);
}

static void test_placeholders(void **state)
{
    static struct db_sql mixed = DB_SQL("SELECT ?2, '?9', \"?8\", ?10 FROM t WHERE a = ?1");
    static struct db_sql own = DB_SQL2("SELECT ?1", "SELECT $1::int + $3");
    int n = -1;
    assert_string_equal(db_sql_pg(&mixed, &n), "SELECT $2, '?9', \"?8\", $10 FROM t WHERE a = $1");
    assert_int_equal(n, 10);
    const char *first = db_sql_pg(&mixed, &n);
    assert_ptr_equal(db_sql_pg(&mixed, &n), first); /* made once */
    assert_string_equal(db_sql_pg(&own, &n), "SELECT $1::int + $3");
    assert_int_equal(n, 3);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_placeholders),
    cmocka_unit_test(test_sqlite),
    cmocka_unit_test(test_postgres),
};

UNIT_GROUP(unit_store_db, "store/db", tests);
