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
    int step = o->step_pages > 0 ? o->step_pages : STORE_BACKUP_STEP_PAGES;
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

int store_backup(const char *db_url, const char *dest, const struct store_backup_opts *o,
                 struct errinfo *e)
{
    if (strncmp(db_url, "postgres://", 11) == 0 || strncmp(db_url, "postgresql://", 13) == 0)
        return failf(e, ERR_UNSUPPORTED,
                     "the database is PostgreSQL: back it up with pg_dump (pg_dump -Fc -f FILE "
                     "URL; restore with pg_restore)");
    if (strncmp(db_url, "sqlite:", 7) != 0 || strstr(db_url, ":memory:"))
        return failf(e, ERR_UNSUPPORTED, "%s: only a SQLite database file can be backed up",
                     db_url);
    const char *path = db_url + 7;
    if (!o->replace && access(dest, F_OK) == 0)
        return failf(e, ERR_CONFLICT, "%s exists (pass --force to replace it)", dest);
    sqlite3 *src = NULL;
    int rc = backup_open_source(path, &src, e);
    if (rc)
        return rc;

    size_t n = strlen(dest) + 16;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.tmp-XXXXXX", dest);
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0) {
        rc = failf(e, ERR_IO, "%s: cannot create the backup file: %s", dest, strerror(errno));
        goto out;
    }
    close(fd);
    sqlite3 *dst = NULL;
    int orc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL);
    if (orc != SQLITE_OK)
        rc = failf(e, ERR_DB, "%s: cannot open the backup file: %s", tmp,
                   dst ? sqlite3_errmsg(dst) : sqlite3_errstr(orc));
    else
        rc = backup_copy(src, dst, dest, o, e);
    if (sqlite3_close(dst) != SQLITE_OK && !rc)
        rc = failf(e, ERR_DB, "%s: cannot close the backup file", tmp);
    if (!rc)
        rc = backup_publish(tmp, dest, o->replace, e);
    if (rc)
        unlink(tmp);
    else
        sync_parent_dir(dest);
out:
    sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
    sqlite3_close_v2(src);
    free(tmp);
    return rc;
}
