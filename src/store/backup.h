/*
 * Online backup of a SQLite database while the server keeps writing to it:
 * one read transaction pins a snapshot (WAL lets writers go on meanwhile)
 * and SQLite's backup API copies its pages in steps into a new file, which
 * takes the target's name only when complete. PostgreSQL has pg_dump.
 */
#ifndef LEADFLOW_STORE_BACKUP_H
#define LEADFLOW_STORE_BACKUP_H

#include <stdbool.h>

#include "base/err.h"

/* Pages copied per step of the backup API. */
enum { STORE_BACKUP_STEP_PAGES = 1024 };

/* Called after each step with the pages copied so far and the total. */
typedef void (*store_backup_progress_fn)(void *arg, int done, int total);

struct store_backup_opts {
    bool replace;   /* overwrite an existing dest */
    int step_pages; /* pages per step; 0: STORE_BACKUP_STEP_PAGES; -1: all at once */
    int pause_ms;   /* sleep between steps (0: none) */
    store_backup_progress_fn progress; /* may be NULL */
    void *arg;
};

/*
 * Copies the database of db_url ("sqlite:PATH") into dest, a consistent
 * snapshot of the moment the copy began, with mode 0600. dest is written
 * under a temporary name beside it, checked (PRAGMA quick_check) and then
 * moved into place; an existing dest is replaced only when o->replace.
 * Returns 0, ERR_UNSUPPORTED for a
 * database that is not a SQLite file (the message names pg_dump for
 * PostgreSQL), ERR_CONFLICT when dest exists, ERR_DB or ERR_IO.
 */
int store_backup(const char *db_url, const char *dest, const struct store_backup_opts *o,
                 struct errinfo *e);

/*
 * Replaces the database of db_url ("sqlite:PATH"; created, mode 0600, when
 * missing) with the leadflow database in src, through the backup API in
 * the other direction. Refuses, changing nothing, while any other process
 * has the database open (a running server): it takes the database's
 * exclusive lock first, and keeps it until the copy is checked. Returns 0,
 * ERR_UNSUPPORTED (PostgreSQL: pg_restore), ERR_CONFLICT (in use), ERR_DB.
 */
int store_restore(const char *db_url, const char *src, struct errinfo *e);

#endif
