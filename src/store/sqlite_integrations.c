/*
 * SQLite backend: connected mailboxes (email_integrations). Tokens arrive
 * sealed (base/crypto.h) and are stored as the BLOBs they are; this file
 * never sees them in clear.
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/sqlite_integrations.h"

#define INTEGRATION_COLS                                                                           \
    "id, workspace_id, user_id, provider, account_email, access_token_enc, refresh_token_enc,"     \
    " COALESCE(token_expires_at,0), COALESCE(history_id,''), COALESCE(last_sync_at,0), status,"    \
    " COALESCE(last_error,''), created_at, updated_at"

/*
 * One row per (workspace, provider, account): connecting the same mailbox
 * again updates it. A NULL refresh token keeps the stored one, because a
 * provider may grant a new access token without a new refresh token.
 */
static const char sql_put[] =
    "INSERT INTO email_integrations (id, workspace_id, user_id, provider, account_email,"
    " access_token_enc, refresh_token_enc, token_expires_at, history_id, last_sync_at, status,"
    " last_error, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)"
    " ON CONFLICT (workspace_id, provider, account_email) DO UPDATE SET"
    " user_id = excluded.user_id, access_token_enc = excluded.access_token_enc,"
    " refresh_token_enc = COALESCE(excluded.refresh_token_enc, refresh_token_enc),"
    " token_expires_at = excluded.token_expires_at, history_id = excluded.history_id,"
    " last_sync_at = excluded.last_sync_at, status = excluded.status,"
    " last_error = excluded.last_error, updated_at = excluded.updated_at"
    " RETURNING id";
static const char sql_get[] = "SELECT " INTEGRATION_COLS " FROM email_integrations"
                              " WHERE workspace_id = ?1 AND id = ?2";
static const char sql_list[] = "SELECT " INTEGRATION_COLS " FROM email_integrations"
                               " WHERE workspace_id = ?1 AND (?2 IS NULL OR provider = ?2)"
                               " ORDER BY created_at, id";

/* Binds s, or NULL when s is NULL or empty. */
static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t n)
{
    if (p)
        sqlite3_bind_blob64(st, i, p, n, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* BLOB column i copied into a (NULL with *n = 0 when NULL). */
static const uint8_t *col_blob(sqlite3_stmt *st, int i, struct arena *a, size_t *n)
{
    *n = 0;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    const void *p = sqlite3_column_blob(st, i);
    size_t len = (size_t)sqlite3_column_bytes(st, i);
    uint8_t *copy = arena_alloc(a, len ? len : 1);
    if (len)
        memcpy(copy, p, len);
    *n = len;
    return copy;
}

static void integration_row(sqlite3_stmt *st, struct arena *a, void *row)
{
    struct integration *in = row;
    memset(in, 0, sizeof(*in));
    sq_col_copy(st, 0, in->id, sizeof(in->id));
    sq_col_copy(st, 1, in->workspace_id, sizeof(in->workspace_id));
    sq_col_copy(st, 2, in->user_id, sizeof(in->user_id));
    sq_col_copy(st, 3, in->provider, sizeof(in->provider));
    sq_col_copy(st, 4, in->account_email, sizeof(in->account_email));
    in->access_enc = col_blob(st, 5, a, &in->access_enc_len);
    in->refresh_enc = col_blob(st, 6, a, &in->refresh_enc_len);
    in->token_expires_at = sqlite3_column_int64(st, 7);
    sq_col_copy(st, 8, in->history_id, sizeof(in->history_id));
    in->last_sync_at = sqlite3_column_int64(st, 9);
    sq_col_copy(st, 10, in->status, sizeof(in->status));
    sq_col_copy(st, 11, in->last_error, sizeof(in->last_error));
    in->created_at = sqlite3_column_int64(st, 12);
    in->updated_at = sqlite3_column_int64(st, 13);
}

int sq_integration_put(struct store *base, const char *workspace_id, struct integration *in,
                       int64_t now, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_put, &st, &c, e);
    if (rc)
        return rc;
    char id[STORE_ID_LEN];
    crypto_uuid(id);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    bind_text(st, 2, workspace_id);
    bind_text(st, 3, in->user_id);
    bind_text(st, 4, in->provider);
    bind_text(st, 5, in->account_email);
    bind_blob(st, 6, in->access_enc, in->access_enc_len);
    bind_blob(st, 7, in->refresh_enc, in->refresh_enc_len);
    if (in->token_expires_at)
        sqlite3_bind_int64(st, 8, in->token_expires_at);
    bind_text(st, 9, in->history_id);
    if (in->last_sync_at)
        sqlite3_bind_int64(st, 10, in->last_sync_at);
    sqlite3_bind_text(st, 11, in->status[0] ? in->status : "connected", -1, SQLITE_STATIC);
    bind_text(st, 12, in->last_error);
    sqlite3_bind_int64(st, 13, now);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        sq_col_copy(st, 0, in->id, sizeof(in->id));
        snprintf(in->workspace_id, sizeof(in->workspace_id), "%s", workspace_id);
        in->updated_at = now;
        src = sqlite3_step(st);
    }
    if (src != SQLITE_DONE) {
        rc = sq_fail(e, c->db, src, "saving a mailbox connection");
        if (rc == ERR_CONFLICT)
            rc = failf(e, ERR_INVALID, "a mailbox field has a value the database refuses");
    }
    sq_done(st);
    return rc;
}

int sq_integration_get(struct store *base, const char *workspace_id, const char *id,
                       struct arena *a, struct integration *out, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_get, &st, &c, e);
    if (rc)
        return rc;
    bind_text(st, 1, workspace_id);
    bind_text(st, 2, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        integration_row(st, a, out);
    else if (src == SQLITE_DONE)
        rc = failf(e, ERR_NOT_FOUND, "integration not found");
    else
        rc = sq_fail(e, c->db, src, "reading a mailbox connection");
    sq_done(st);
    return rc;
}

int sq_integration_list(struct store *base, const char *workspace_id, const char *provider,
                        struct arena *a, struct integration **rows, size_t *n, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt(s, sql_list, &st, &c, e);
    if (rc)
        return rc;
    bind_text(st, 1, workspace_id);
    bind_text(st, 2, provider);
    return sq_read_all(st, c, integration_row, a, (void **)rows, sizeof(**rows), n, 0, NULL,
                       "listing mailbox connections", e);
}
