/*
 * store_backup: SQLite's online backup API (sqlite3_backup_init/step/finish)
 * over a snapshot held by one read transaction on the source, so the copy
 * is consistent however much the server writes meanwhile (store/backup.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"
#include "store/backup.h"
#include "store/sqlite_int.h"

/* Opens the source and starts the read transaction that pins the snapshot;
 * reading schema_migrations also checks that it is a leadflow database. */
static int backup_open_source(const char *path, sqlite3 **out, struct errinfo *e)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL);
    if (rc != SQLITE_OK) {
        failf(e, ERR_DB, "cannot open database %s: %s", path,
              db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return ERR_DB;
    }
    sqlite3_busy_timeout(db, SQ_BUSY_MS);
    rc = sqlite3_exec(db, "BEGIN; SELECT count(*) FROM schema_migrations", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        failf(e, ERR_DB, "%s: not a leadflow database: %s", path, sqlite3_errmsg(db));
        sqlite3_close_v2(db);
        return ERR_DB;
    }
    *out = db;
    return 0;
}

/* Copies src into the open, empty dst in steps, then checks the copy. */
static int backup_copy(sqlite3 *src, sqlite3 *dst, const char *dest,
                       const struct store_backup_opts *o, struct errinfo *e)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b)
        return failf(e, ERR_DB, "%s: cannot start the backup: %s", dest, sqlite3_errmsg(dst));
    int step = o->step_pages != 0 ? o->step_pages : STORE_BACKUP_STEP_PAGES;
    int rc;
    do {
        rc = sqlite3_backup_step(b, step);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
            sqlite3_sleep(20);
            continue;
        }
        if (o->progress && (rc == SQLITE_OK || rc == SQLITE_DONE)) {
            int total = sqlite3_backup_pagecount(b);
            o->progress(o->arg, total - sqlite3_backup_remaining(b), total);
        }
        if (rc == SQLITE_OK && o->pause_ms > 0)
            sqlite3_sleep(o->pause_ms);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
        return failf(e, ERR_DB, "%s: the backup failed: %s", dest, sqlite3_errstr(rc));
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK)
        return failf(e, ERR_DB, "%s: cannot check the copy: %s", dest, sqlite3_errmsg(dst));
    rc = sqlite3_step(st);
    const char *verdict = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    int bad = !verdict || strcmp(verdict, "ok") != 0;
    if (bad)
        failf(e, ERR_DB, "%s: the copy failed its check: %s", dest,
              verdict ? verdict : sqlite3_errmsg(dst));
    sqlite3_finalize(st);
    return bad ? ERR_DB : 0;
}

/* Flushes the directory that holds path, so that the new name survives. */
static void sync_parent_dir(const char *path)
{
    char *copy = xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

/* Gives the finished temporary file its name: without replace, link()
 * fails when dest appeared meanwhile instead of overwriting it. */
static int backup_publish(const char *tmp, const char *dest, bool replace, struct errinfo *e)
{
    if (!replace) {
        if (link(tmp, dest) == 0) {
            unlink(tmp);
            return 0;
        }
        if (errno == EEXIST)
            return failf(e, ERR_CONFLICT, "%s exists (pass --force to replace it)", dest);
        /* A file system without hard links: check, then rename. */
        if (access(dest, F_OK) == 0)
            return failf(e, ERR_CONFLICT, "%s exists (pass --force to replace it)", dest);
    }
    if (rename(tmp, dest) != 0)
        return failf(e, ERR_IO, "%s: cannot move the backup into place: %s", dest, strerror(errno));
    return 0;
}

/* The SQLite path of db_url, or NULL and an error naming the tool to use. */
static const char *sqlite_path(const char *db_url, const char *pg_tool, struct errinfo *e)
{
    if (strncmp(db_url, "postgres://", 11) == 0 || strncmp(db_url, "postgresql://", 13) == 0) {
        failf(e, ERR_UNSUPPORTED, "the database is PostgreSQL: use %s", pg_tool);
        return NULL;
    }
    if (strncmp(db_url, "sqlite:", 7) != 0 || strstr(db_url, ":memory:")) {
        failf(e, ERR_UNSUPPORTED, "%s: not a SQLite database file", db_url);
        return NULL;
    }
    return db_url + 7;
}

/* Copies src (in its read transaction) into a new file under a temporary
 * name beside dest, then gives it the name dest (replacing it only when
 * o->replace). */
static int copy_to_new_file(sqlite3 *src, const char *dest, const struct store_backup_opts *o,
                            struct errinfo *e)
{
    size_t n = strlen(dest) + 16;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.tmp-XXXXXX", dest);
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0) {
        int rc = failf(e, ERR_IO, "%s: cannot create the file: %s", dest, strerror(errno));
        free(tmp);
        return rc;
    }
    close(fd);
    sqlite3 *dst = NULL;
    int rc, orc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL);
    if (orc != SQLITE_OK)
        rc = failf(e, ERR_DB, "%s: cannot open the new file: %s", tmp,
                   dst ? sqlite3_errmsg(dst) : sqlite3_errstr(orc));
    else
        rc = backup_copy(src, dst, dest, o, e);
    /* The copy has the source's WAL flag; a file in rollback mode stands
     * alone (no -wal or -shm beside it), even on read-only media. The
     * server turns WAL on again when it opens it. */
    if (!rc && sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK)
        rc = failf(e, ERR_DB, "%s: cannot leave WAL mode: %s", dest, sqlite3_errmsg(dst));
    if (sqlite3_close(dst) != SQLITE_OK && !rc)
        rc = failf(e, ERR_DB, "%s: cannot close the new file", tmp);
    if (!rc)
        rc = backup_publish(tmp, dest, o->replace, e);
    if (rc)
        unlink(tmp);
    else
        sync_parent_dir(dest);
    free(tmp);
    return rc;
}

int store_backup(const char *db_url, const char *dest, const struct store_backup_opts *o,
                 struct errinfo *e)
{
    const char *path = sqlite_path(
        db_url, "pg_dump to back it up (pg_dump -Fc -f FILE URL; pg_restore restores it)", e);
    if (!path)
        return e->code;
    if (!o->replace && access(dest, F_OK) == 0)
        return failf(e, ERR_CONFLICT, "%s exists (pass --force to replace it)", dest);
    sqlite3 *src = NULL;
    int rc = backup_open_source(path, &src, e);
    if (rc)
        return rc;
    rc = copy_to_new_file(src, dest, o, e);
    sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
    sqlite3_close_v2(src);
    return rc;
}

/* Opens the target and takes its exclusive lock, held until it is closed:
 * BUSY at once when another connection (a running server) has it open. */
static int restore_lock_target(const char *path, sqlite3 **out, struct errinfo *e)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        failf(e, ERR_DB, "cannot open database %s: %s", path,
              db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return ERR_DB;
    }
    sqlite3_busy_timeout(db, 0);
    rc = sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT", NULL, NULL,
                      NULL);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        failf(e, ERR_CONFLICT, "%s is in use (is the server running? stop it first)", path);
    } else if (rc != SQLITE_OK) {
        failf(e, ERR_DB, "%s: %s", path, sqlite3_errmsg(db));
    } else {
        *out = db;
        return 0;
    }
    sqlite3_close_v2(db);
    return e->code;
}

int store_restore(const char *db_url, const char *src, struct errinfo *e)
{
    const char *path = sqlite_path(db_url, "pg_restore to restore what pg_dump wrote", e);
    if (!path)
        return e->code;
    sqlite3 *from = NULL;
    int rc = backup_open_source(src, &from, e);
    if (rc)
        return rc;
    /* A new database (or an empty file) is written like a backup; an
     * existing one is overwritten in place under its exclusive lock, so it
     * keeps its owner and mode, and its WAL is dealt with by SQLite. */
    struct stat sb;
    bool missing = stat(path, &sb) != 0;
    bool fresh = missing || sb.st_size == 0;
    struct store_backup_opts o = {.step_pages = -1, .replace = !missing};
    sqlite3 *to = NULL;
    if (fresh)
        rc = copy_to_new_file(from, path, &o, e);
    else if ((rc = restore_lock_target(path, &to, e)) == 0)
        rc = backup_copy(from, to, path, &o, e);
    sqlite3_exec(from, "COMMIT", NULL, NULL, NULL);
    sqlite3_close_v2(from);
    if (to && sqlite3_close(to) != SQLITE_OK && !rc)
        rc = failf(e, ERR_DB, "%s: cannot close the database", path);
    return rc;
}
