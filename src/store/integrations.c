/*
 * Connected mailboxes (email_integrations), written once over the cursor
 * (store/db.h). Tokens arrive sealed (base/crypto.h) and are stored as the
 * bytes they are (a BLOB, a bytea); this file never sees them in clear.
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/db.h"
#include "store/db_ops.h"
#include "store/integrations.h"

#define INTEGRATION_COLS                                                                           \
    "id, workspace_id, user_id, provider, account_email, access_token_enc, refresh_token_enc,"     \
    " COALESCE(token_expires_at, 0), COALESCE(history_id, ''), COALESCE(last_sync_at, 0), status," \
    " COALESCE(last_error, ''), created_at, updated_at"

/*
 * One row per (workspace, provider, account): connecting the same mailbox
 * again updates it. A NULL refresh token keeps the stored one, because a
 * provider may grant a new access token without a new refresh token. On
 * PostgreSQL the account is compared without case (the unique index is on
 * lower(account_email)).
 */
#define PUT_SET                                                                                    \
    " user_id = excluded.user_id, access_token_enc = excluded.access_token_enc,"                   \
    " refresh_token_enc = COALESCE(excluded.refresh_token_enc, i.refresh_token_enc),"              \
    " token_expires_at = excluded.token_expires_at, history_id = excluded.history_id,"             \
    " last_sync_at = excluded.last_sync_at, status = excluded.status,"                             \
    " last_error = excluded.last_error, updated_at = excluded.updated_at"                          \
    " RETURNING id"
#define PUT_INTO                                                                                   \
    "INSERT INTO email_integrations AS i (id, workspace_id, user_id, provider, account_email,"     \
    " access_token_enc, refresh_token_enc, token_expires_at, history_id, last_sync_at, status,"    \
    " last_error, created_at, updated_at)"
static struct db_sql sql_put = DB_SQL2(
    PUT_INTO " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULLIF(?8, 0), ?9, NULLIF(?10, 0), ?11, ?12,"
             " ?13, ?13)"
             " ON CONFLICT (workspace_id, provider, account_email) DO UPDATE SET" PUT_SET,
    PUT_INTO " VALUES ($1, $2, $3, $4, $5, $6::bytea, $7::bytea, NULLIF($8::bigint, 0), $9,"
             " NULLIF($10::bigint, 0), $11, $12, $13::bigint, $13::bigint)"
             " ON CONFLICT (workspace_id, provider, lower(account_email)) DO UPDATE SET" PUT_SET);
static struct db_sql sql_get = DB_SQL("SELECT " INTEGRATION_COLS " FROM email_integrations"
                                      " WHERE workspace_id = ?1 AND id = ?2");
static struct db_sql sql_list =
    DB_SQL("SELECT " INTEGRATION_COLS " FROM email_integrations"
           " WHERE workspace_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR provider = ?2)"
           " ORDER BY created_at, id");

static void integration_row(struct db_cur *c, struct arena *a, void *row)
{
    struct integration *in = row;
    memset(in, 0, sizeof(*in));
    db_col_copy(c, 0, in->id, sizeof(in->id));
    db_col_copy(c, 1, in->workspace_id, sizeof(in->workspace_id));
    db_col_copy(c, 2, in->user_id, sizeof(in->user_id));
    db_col_copy(c, 3, in->provider, sizeof(in->provider));
    db_col_copy(c, 4, in->account_email, sizeof(in->account_email));
    in->access_enc = db_col_blob(c, 5, a, &in->access_enc_len);
    in->refresh_enc = db_col_blob(c, 6, a, &in->refresh_enc_len);
    in->token_expires_at = db_col_i64(c, 7);
    db_col_copy(c, 8, in->history_id, sizeof(in->history_id));
    in->last_sync_at = db_col_i64(c, 9);
    db_col_copy(c, 10, in->status, sizeof(in->status));
    db_col_copy(c, 11, in->last_error, sizeof(in->last_error));
    in->created_at = db_col_i64(c, 12);
    in->updated_at = db_col_i64(c, 13);
}

int store_integration_put(struct store *st, const char *workspace_id, struct integration *in,
                          int64_t now, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_put, "saving a mailbox connection");
    if (!rc) {
        char id[STORE_ID_LEN];
        crypto_uuid(id);
        db_bind_str(&c, 1, id);
        db_bind_opt(&c, 2, workspace_id);
        db_bind_opt(&c, 3, in->user_id);
        db_bind_opt(&c, 4, in->provider);
        db_bind_opt(&c, 5, in->account_email);
        db_bind_blob(&c, 6, in->access_enc, in->access_enc_len);
        db_bind_blob(&c, 7, in->refresh_enc, in->refresh_enc_len);
        db_bind_i64(&c, 8, in->token_expires_at);
        db_bind_opt(&c, 9, in->history_id);
        db_bind_i64(&c, 10, in->last_sync_at);
        db_bind_str(&c, 11, in->status[0] ? in->status : "connected");
        db_bind_opt(&c, 12, in->last_error);
        db_bind_i64(&c, 13, now);
        rc = db_step(&c);
        if (rc == DB_ROW) {
            db_col_copy(&c, 0, in->id, sizeof(in->id));
            snprintf(in->workspace_id, sizeof(in->workspace_id), "%s", workspace_id);
            in->updated_at = now;
            rc = db_run(&c);
        }
    }
    rc = db_leave(&c, rc);
    if (rc == ERR_CONFLICT)
        return failf(e, ERR_INVALID, "a mailbox field has a value the database refuses");
    return rc;
}

int store_integration_get(struct store *st, const char *workspace_id, const char *id,
                          struct arena *a, struct integration *out, struct errinfo *e)
{
    return db_get_by_id(st, &sql_get, workspace_id, id, integration_row, a, out,
                        "reading a mailbox connection", "integration", e);
}

int store_integration_list(struct store *st, const char *workspace_id, const char *provider,
                           struct arena *a, struct integration **rows, size_t *n, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_list, "listing mailbox connections");
    if (!rc) {
        db_bind_opt(&c, 1, workspace_id);
        db_bind_opt(&c, 2, provider);
        rc = db_read_all(&c, integration_row, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    }
    return db_leave(&c, rc);
}
