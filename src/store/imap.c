/*
 * IMAP inbox sources (imap_sources), written once over the cursor
 * (store/db.h). The password arrives sealed (base/crypto.h) and is stored
 * as the bytes it is; this file never sees it in clear.
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/db.h"
#include "store/imap.h"

#define IMAP_COLS                                                                                  \
    "id, workspace_id, host, port, tls, username, password_enc, CAST(folders AS TEXT),"            \
    " CAST(folder_state AS TEXT), status, COALESCE(last_error, ''), COALESCE(last_sync_at, 0),"    \
    " COALESCE(last_job_id, 0), created_at, updated_at"

static struct db_sql sql_create =
    DB_SQL2("INSERT INTO imap_sources (id, workspace_id, host, port, tls, username, password_enc,"
            " folders, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            "INSERT INTO imap_sources (id, workspace_id, host, port, tls, username, password_enc,"
            " folders, created_at, updated_at) VALUES ($1, $2, $3, $4::integer, $5, $6, $7::bytea,"
            " $8::jsonb, $9::bigint, $9::bigint)");
static struct db_sql sql_get =
    DB_SQL("SELECT " IMAP_COLS " FROM imap_sources WHERE workspace_id = ?1 AND id = ?2");
static struct db_sql sql_list = DB_SQL(
    "SELECT " IMAP_COLS " FROM imap_sources WHERE workspace_id = ?1 ORDER BY created_at, id");
static struct db_sql sql_delete =
    DB_SQL("DELETE FROM imap_sources WHERE workspace_id = ?1 AND id = ?2");
static struct db_sql sql_save =
    DB_SQL2("UPDATE imap_sources SET folder_state = COALESCE(?3, folder_state), status = ?4,"
            " last_error = ?5, last_sync_at = COALESCE(NULLIF(?6, 0), last_sync_at),"
            " updated_at = ?7 WHERE workspace_id = ?1 AND id = ?2",
            "UPDATE imap_sources SET folder_state = COALESCE($3::jsonb, folder_state),"
            " status = $4, last_error = $5,"
            " last_sync_at = COALESCE(NULLIF($6::bigint, 0), last_sync_at),"
            " updated_at = $7::bigint WHERE workspace_id = $1 AND id = $2");
static struct db_sql sql_set_job =
    DB_SQL("UPDATE imap_sources SET last_job_id = ?3, updated_at = ?4"
           " WHERE workspace_id = ?1 AND id = ?2");

static void imap_row(struct db_cur *c, struct arena *a, void *row)
{
    struct imap_source *s = row;
    memset(s, 0, sizeof(*s));
    db_col_copy(c, 0, s->id, sizeof(s->id));
    db_col_copy(c, 1, s->workspace_id, sizeof(s->workspace_id));
    db_col_copy(c, 2, s->host, sizeof(s->host));
    s->port = db_col_int(c, 3);
    db_col_copy(c, 4, s->tls, sizeof(s->tls));
    db_col_copy(c, 5, s->username, sizeof(s->username));
    s->password_enc = db_col_blob(c, 6, a, &s->password_enc_len);
    s->folders = db_col_dup(c, 7, a);
    s->folder_state = db_col_dup(c, 8, a);
    db_col_copy(c, 9, s->status, sizeof(s->status));
    db_col_copy(c, 10, s->last_error, sizeof(s->last_error));
    s->last_sync_at = db_col_i64(c, 11);
    s->last_job_id = db_col_i64(c, 12);
    s->created_at = db_col_i64(c, 13);
    s->updated_at = db_col_i64(c, 14);
}

int store_imap_create(struct store *st, const char *workspace_id, struct imap_source *in,
                      int64_t now, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    crypto_uuid(in->id);
    rc = db_prepare(&c, &sql_create, "adding an IMAP source");
    if (!rc) {
        db_bind_str(&c, 1, in->id);
        db_bind_str(&c, 2, workspace_id);
        db_bind_str(&c, 3, in->host);
        db_bind_i64(&c, 4, in->port);
        db_bind_str(&c, 5, in->tls);
        db_bind_str(&c, 6, in->username);
        db_bind_blob(&c, 7, in->password_enc, in->password_enc_len);
        db_bind_str(&c, 8, in->folders);
        db_bind_i64(&c, 9, now);
        rc = db_run(&c);
    }
    bool unique = db_unique(&c);
    rc = db_leave(&c, rc);
    if (rc == ERR_CONFLICT)
        return failf(e, ERR_CONFLICT,
                     unique ? "this workspace already has an IMAP source for this host, port "
                              "and user"
                            : "an IMAP source field has a value the database refuses");
    if (!rc) {
        snprintf(in->workspace_id, sizeof(in->workspace_id), "%s", workspace_id);
        snprintf(in->status, sizeof(in->status), "new");
        in->folder_state = "{}";
        in->created_at = in->updated_at = now;
    }
    return rc;
}

int store_imap_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                   struct imap_source *out, struct errinfo *e)
{
    return db_get_by_id(st, &sql_get, workspace_id, id, imap_row, a, out, "reading an IMAP source",
                        "IMAP source", e);
}

int store_imap_list(struct store *st, const char *workspace_id, struct arena *a,
                    struct imap_source **rows, size_t *n, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_list, "listing IMAP sources");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        rc = db_read_all(&c, imap_row, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    }
    return db_leave(&c, rc);
}

/* One UPDATE or DELETE of a source by (workspace, id); binds ?3.. first. */
static int by_id(struct store *st, struct db_sql *sql, const char *workspace_id, const char *id,
                 const char *what, void (*bind)(struct db_cur *c, const void *arg), const void *arg,
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
        if (bind)
            bind(&c, arg);
        rc = db_run_one(&c, "IMAP source");
    }
    return db_leave(&c, rc);
}

int store_imap_delete(struct store *st, const char *workspace_id, const char *id, struct errinfo *e)
{
    return by_id(st, &sql_delete, workspace_id, id, "deleting an IMAP source", NULL, NULL, e);
}

struct save_args {
    const char *folder_state, *status, *last_error;
    int64_t last_sync_at, now;
};

static void bind_save(struct db_cur *c, const void *arg)
{
    const struct save_args *s = arg;
    db_bind_opt(c, 3, s->folder_state);
    db_bind_str(c, 4, s->status);
    db_bind_opt(c, 5, s->last_error);
    db_bind_i64(c, 6, s->last_sync_at);
    db_bind_i64(c, 7, s->now);
}

int store_imap_save(struct store *st, const char *workspace_id, const char *id,
                    const char *folder_state, const char *status, const char *last_error,
                    int64_t last_sync_at, int64_t now, struct errinfo *e)
{
    struct save_args s = {folder_state, status, last_error, last_sync_at, now};
    return by_id(st, &sql_save, workspace_id, id, "saving an IMAP sync", bind_save, &s, e);
}

struct job_args {
    int64_t job_id, now;
};

static void bind_job(struct db_cur *c, const void *arg)
{
    const struct job_args *j = arg;
    db_bind_i64(c, 3, j->job_id);
    db_bind_i64(c, 4, j->now);
}

int store_imap_set_job(struct store *st, const char *workspace_id, const char *id, int64_t job_id,
                       int64_t now, struct errinfo *e)
{
    struct job_args j = {job_id, now};
    return by_id(st, &sql_set_job, workspace_id, id, "recording an IMAP sync job", bind_job, &j, e);
}
