/*
 * Tests for src/store/sqlite.c: opening file and in-memory databases,
 * migrations (applied once, recorded, a newer schema refused), ping, and the
 * errors for a missing directory and a file that is not a database, and the
 * workspace version seen without a read while no commit was published. The
 * tests tamper with files through sqlite3 directly.
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/emails.h"
#include "store/migrations.h"
#include "store/store.h"
#include "unit/unit.h"

struct fix {
    char *dir;
    char *db;  /* file path */
    char *url; /* "sqlite:" + db */
    struct errinfo e;
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    f->dir = unit_tmpdir();
    f->db = unit_path(f->dir, "x.db");
    size_t n = strlen(f->db) + 8;
    f->url = malloc(n);
    snprintf(f->url, n, "sqlite:%s", f->db);
    errinfo_clear(&f->e);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    unit_rmtree(f->dir);
    free(f->url);
    free(f->db);
    free(f->dir);
    free(f);
    return 0;
}

static struct store *open_ok(struct fix *f, const char *url)
{
    struct store *st = store_open(url, &f->e);
    if (!st)
        fail_msg("store_open(%s): %s", url, f->e.msg);
    return st;
}

static int last_version(void)
{
    return sqlite_migrations[sqlite_nmigrations - 1].version;
}

static void test_migrations_table(void **state)
{
    /* Versions only grow: the list is the contract migrate relies on. */
    assert_true(sqlite_nmigrations >= 1);
    for (size_t i = 0; i < sqlite_nmigrations; i++) {
        assert_true(sqlite_migrations[i].version > 0);
        if (i > 0)
            assert_true(sqlite_migrations[i].version > sqlite_migrations[i - 1].version);
        assert_non_null(sqlite_migrations[i].name);
        assert_true(sqlite3_complete(sqlite_migrations[i].sql));
    }
}

static void test_migrate_file(void **state)
{
    struct fix *f = *state;
    struct store *st = open_ok(f, f->url);
    assert_string_equal(store_name(st), "sqlite");
    int have = -1, known = -1, applied = -1;
    assert_int_equal(store_schema_version(st, &have, &known, &f->e), 0);
    assert_int_equal(have, 0);
    assert_int_equal(known, last_version());

    assert_int_equal(store_migrate(st, &applied, &f->e), 0);
    assert_int_equal(applied, (int)sqlite_nmigrations);
    assert_true(applied >= 1);
    assert_int_equal(store_migrate(st, &applied, &f->e), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(store_schema_version(st, &have, &known, &f->e), 0);
    assert_int_equal(have, known);
    assert_int_equal(store_ping(st, &f->e), 0);
    store_close(st);

    /* Persisted: a second open has nothing to do. */
    st = open_ok(f, f->url);
    assert_int_equal(store_migrate(st, &applied, &f->e), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(store_schema_version(st, &have, &known, &f->e), 0);
    assert_int_equal(have, known);
    store_close(st);

    /* And the file really holds the schema and the record of it. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), max(version) FROM schema_migrations",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), (int)sqlite_nmigrations);
    assert_int_equal(sqlite3_column_int(s, 1), last_version());
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM contacts", -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static void test_memory(void **state)
{
    struct fix *f = *state;
    struct store *a = open_ok(f, "sqlite::memory:");
    struct store *b = open_ok(f, "sqlite::memory:");
    int applied = -1, have, known;
    assert_int_equal(store_migrate(a, &applied, &f->e), 0);
    assert_int_equal(applied, (int)sqlite_nmigrations);
    assert_int_equal(store_ping(a, &f->e), 0);
    /* Two in-memory stores are two databases. */
    assert_int_equal(store_schema_version(b, &have, &known, &f->e), 0);
    assert_int_equal(have, 0);
    assert_int_equal(store_migrate(b, &applied, &f->e), 0);
    assert_int_equal(applied, (int)sqlite_nmigrations);
    assert_int_equal(store_migrate(a, &applied, &f->e), 0);
    assert_int_equal(applied, 0);
    store_close(a);
    store_close(b);
    store_close(NULL);
}

static void test_missing_directory(void **state)
{
    struct fix *f = *state;
    char *url = unit_path(f->url, "no/such/dir/x.db");
    assert_null(store_open(url, &f->e));
    assert_int_equal(f->e.code, ERR_DB);
    assert_contains(f->e.msg, "cannot open database");
    assert_contains(f->e.msg, url + 7);
    assert_contains(f->e.msg, "unable to open");
    free(url);
}

static void test_not_a_database(void **state)
{
    struct fix *f = *state;
    char garbage[8192];
    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (char)('a' + i % 26);
    unit_write_file(f->db, garbage, sizeof(garbage));
    assert_null(store_open(f->url, &f->e));
    assert_int_equal(f->e.code, ERR_DB);
    assert_contains(f->e.msg, f->db);
    assert_contains(f->e.msg, "not a database");
}

static void exec_or_fail(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

static void test_newer_schema_refused(void **state)
{
    struct fix *f = *state;
    struct store *st = open_ok(f, f->url);
    int applied;
    assert_int_equal(store_migrate(st, &applied, &f->e), 0);
    store_close(st);

    /* A later leadflow migrated this database further. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    char sql[200];
    snprintf(sql, sizeof(sql),
             "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, 'future', 0)",
             last_version() + 1);
    exec_or_fail(db, sql);
    sqlite3_close(db);

    st = open_ok(f, f->url);
    int have, known;
    assert_int_equal(store_schema_version(st, &have, &known, &f->e), 0);
    assert_int_equal(have, last_version() + 1);
    assert_int_equal(known, last_version());
    applied = -1;
    errinfo_clear(&f->e);
    assert_int_equal(store_migrate(st, &applied, &f->e), ERR_DB);
    assert_int_equal(applied, 0);
    assert_contains(f->e.msg, "newer");
    store_close(st);
}

/* A commit through another connection (as another process makes: the
 * same shared WAL index) moves the stamp, so the version read again. */
static void test_version_follows_other_connections(void **state)
{
    struct fix *f = *state;
    struct store *st = open_ok(f, f->url);
    int applied;
    assert_int_equal(store_migrate(st, &applied, &f->e), 0);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    exec_or_fail(db,
                 "INSERT INTO organizations (id, name, created_at) VALUES ('o', 'o', 0);"
                 "INSERT INTO workspaces (id, org_id, name, created_at) VALUES ('w', 'o', 'w', 0)");
    int64_t v0, v1, v2;
    assert_int_equal(store_workspace_version(st, "w", &v0, &f->e), 0);
    uint64_t s1[2], s2[2];
    assert_true(st->ops->data_stamp(st, s1));
    assert_int_equal(store_workspace_version(st, "w", &v1, &f->e), 0);
    assert_true(st->ops->data_stamp(st, s2));
    assert_true(v1 == v0 && s1[0] == s2[0] && s1[1] == s2[1]);
    exec_or_fail(db, "INSERT INTO contacts (id, workspace_id, email, created_at, updated_at)"
                     " VALUES ('c', 'w', 'a@b.test', 0, 0)");
    assert_true(st->ops->data_stamp(st, s2));
    assert_false(s1[0] == s2[0] && s1[1] == s2[1]);
    assert_int_equal(store_workspace_version(st, "w", &v2, &f->e), 0);
    assert_true(v2 > v1);
    /* The WAL starting over (a checkpoint that truncates it) still moves it. */
    exec_or_fail(db, "PRAGMA wal_checkpoint(TRUNCATE);"
                     "UPDATE contacts SET name = 'n' WHERE id = 'c'");
    assert_true(st->ops->data_stamp(st, s1));
    assert_false(s1[0] == s2[0] && s1[1] == s2[1]);
    int64_t v3;
    assert_int_equal(store_workspace_version(st, "w", &v3, &f->e), 0);
    assert_true(v3 > v2);
    sqlite3_close(db);
    store_close(st);
}

/* Reading the stamp keeps the process's hold on the WAL index: had it
 * dropped SQLite's POSIX locks on the -shm file (closing any descriptor of
 * the file does), another process would take itself for the last user, and
 * truncate or remove the file under this process's maps. Here a child
 * process finds the file locked by this one, writes and closes; the -shm
 * file is still the same file. */
static void test_stamp_keeps_the_wal_index_held(void **state)
{
    struct fix *f = *state;
    struct store *st = open_ok(f, f->url);
    int applied;
    assert_int_equal(store_migrate(st, &applied, &f->e), 0);
    uint64_t s1[2], s2[2];
    assert_true(st->ops->data_stamp(st, s1));
    char shm[4096];
    snprintf(shm, sizeof(shm), "%s-shm", f->db);
    struct stat before, after;
    assert_int_equal(stat(shm, &before), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The parent still holds a lock on the file (SQLite's "in use" mark). */
        int fd = open(shm, O_RDONLY | O_CLOEXEC);
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        if (fd < 0 || fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK || fl.l_pid != getppid())
            _exit(2);
        close(fd);
        sqlite3 *db = NULL;
        int ok = sqlite3_open(f->db, &db) == SQLITE_OK &&
                 sqlite3_exec(db,
                              "INSERT INTO organizations (id, name, created_at)"
                              " VALUES ('child', 'child', 0)",
                              NULL, NULL, NULL) == SQLITE_OK;
        ok = sqlite3_close(db) == SQLITE_OK && ok;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(stat(shm, &after), 0);
    assert_true(after.st_ino == before.st_ino && after.st_size >= before.st_size);
    /* The child's commit is seen through the stamp. */
    assert_true(st->ops->data_stamp(st, s2));
    assert_false(s1[0] == s2[0] && s1[1] == s2[1]);
    store_close(st);
}

static void test_bad_urls(void **state)
{
    struct fix *f = *state;
    assert_null(store_open("mysql://x/y", &f->e));
    assert_int_equal(f->e.code, ERR_CONFIG);
    errinfo_clear(&f->e);
    /* A PostgreSQL URL goes to libpq: a server that is not there is a clear,
     * temporary error (a socket directory that does not exist: no DNS). */
    assert_null(store_open("postgres:///db?host=/nonexistent-leadflow-dir", &f->e));
    assert_int_equal(f->e.code, ERR_TEMPORARY);
    assert_contains(f->e.msg, "PostgreSQL");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_migrations_table),
    T(test_migrate_file),
    T(test_memory),
    T(test_stamp_keeps_the_wal_index_held),
    T(test_missing_directory),
    T(test_not_a_database),
    T(test_newer_schema_refused),
    T(test_bad_urls),
    T(test_version_follows_other_connections),
};

UNIT_GROUP(unit_store_sqlite, "store/sqlite", tests);
