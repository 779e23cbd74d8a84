/*
 * PostgreSQL backend: connected mailboxes (email_integrations). Tokens arrive
 * sealed (base/crypto.h) and are stored as the bytea they are; this file
 * never sees them in clear. Parameters travel as text, so a token goes in as
 * bytea's hex input form and comes back through PQunescapeBytea.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/mem.h"
#include "store/pg_int.h"
#include "store/pg_integrations.h"

#define INTEGRATION_COLS                                                                           \
    "id, workspace_id, user_id, provider, account_email, access_token_enc, refresh_token_enc,"     \
    " COALESCE(token_expires_at, 0), COALESCE(history_id, ''), COALESCE(last_sync_at, 0), status," \
    " COALESCE(last_error, ''), created_at, updated_at"

/*
 * One row per (workspace, provider, account), the account compared without
 * case (the unique index is on lower(account_email)): connecting the same
 * mailbox again updates it. A NULL refresh token keeps the stored one,
 * because a provider may grant a new access token without a new refresh token.
 */
static const char sql_put[] =
    "INSERT INTO email_integrations AS i (id, workspace_id, user_id, provider, account_email,"
    " access_token_enc, refresh_token_enc, token_expires_at, history_id, last_sync_at, status,"
    " last_error, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6::bytea, $7::bytea, NULLIF($8::bigint, 0), $9,"
    " NULLIF($10::bigint, 0), $11, $12, $13::bigint, $13::bigint)"
    " ON CONFLICT (workspace_id, provider, lower(account_email)) DO UPDATE SET"
    " user_id = excluded.user_id, access_token_enc = excluded.access_token_enc,"
    " refresh_token_enc = COALESCE(excluded.refresh_token_enc, i.refresh_token_enc),"
    " token_expires_at = excluded.token_expires_at, history_id = excluded.history_id,"
    " last_sync_at = excluded.last_sync_at, status = excluded.status,"
    " last_error = excluded.last_error, updated_at = excluded.updated_at"
    " RETURNING id";
static const char sql_get[] = "SELECT " INTEGRATION_COLS " FROM email_integrations"
                              " WHERE workspace_id = $1 AND id = $2";
static const char sql_list[] = "SELECT " INTEGRATION_COLS " FROM email_integrations"
                               " WHERE workspace_id = $1 AND ($2::text IS NULL OR provider = $2)"
                               " ORDER BY created_at, id";

/* bytea's hex input form of n bytes ("\x..."), or NULL for no bytes;
 * free() it. */
static char *bytea_text(const uint8_t *p, size_t n)
{
    if (!p)
        return NULL;
    char *out = xmalloc(2 * n + 3);
    out[0] = '\\';
    out[1] = 'x';
    crypto_hex(p, n, out + 2);
    return out;
}

/* A bytea column copied into a (NULL with *n = 0 when NULL). */
static const uint8_t *col_bytea(const PGresult *r, int i, int col, struct arena *a, size_t *n)
{
    *n = 0;
    if (pg_col_null(r, i, col))
        return NULL;
    size_t len = 0;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, col), &len);
    uint8_t *copy = arena_alloc(a, len ? len : 1);
    if (raw && len)
        memcpy(copy, raw, len);
    if (raw)
        PQfreemem(raw);
    else
        len = 0;
    *n = len;
    return copy;
}

static void read_integration(const PGresult *r, int i, struct arena *a, struct integration *in)
{
    memset(in, 0, sizeof(*in));
    pg_col_copy(r, i, 0, in->id, sizeof(in->id));
    pg_col_copy(r, i, 1, in->workspace_id, sizeof(in->workspace_id));
    pg_col_copy(r, i, 2, in->user_id, sizeof(in->user_id));
    pg_col_copy(r, i, 3, in->provider, sizeof(in->provider));
    pg_col_copy(r, i, 4, in->account_email, sizeof(in->account_email));
    in->access_enc = col_bytea(r, i, 5, a, &in->access_enc_len);
    in->refresh_enc = col_bytea(r, i, 6, a, &in->refresh_enc_len);
    in->token_expires_at = pg_col_i64(r, i, 7);
    pg_col_copy(r, i, 8, in->history_id, sizeof(in->history_id));
    in->last_sync_at = pg_col_i64(r, i, 9);
    pg_col_copy(r, i, 10, in->status, sizeof(in->status));
    pg_col_copy(r, i, 11, in->last_error, sizeof(in->last_error));
    in->created_at = pg_col_i64(r, i, 12);
    in->updated_at = pg_col_i64(r, i, 13);
}

int pg_integration_put(struct store *base, const char *workspace_id, struct integration *in,
                       int64_t now, struct errinfo *e)
{
    char id[STORE_ID_LEN];
    crypto_uuid(id);
    char *access = bytea_text(in->access_enc, in->access_enc_len);
    char *refresh = bytea_text(in->refresh_enc, in->refresh_enc_len);
    struct pg_params p = {0};
    pg_p_str(&p, id);
    pg_p_opt(&p, workspace_id);
    pg_p_opt(&p, in->user_id);
    pg_p_opt(&p, in->provider);
    pg_p_opt(&p, in->account_email);
    pg_p_str(&p, access);
    pg_p_str(&p, refresh);
    pg_p_i64(&p, in->token_expires_at);
    pg_p_opt(&p, in->history_id);
    pg_p_i64(&p, in->last_sync_at);
    pg_p_str(&p, in->status[0] ? in->status : "connected");
    pg_p_opt(&p, in->last_error);
    pg_p_i64(&p, now);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_put, &p, &r,
                     "saving a mailbox connection", e);
    free(access);
    free(refresh);
    if (rc == ERR_CONFLICT)
        return failf(e, ERR_INVALID, "a mailbox field has a value the database refuses");
    if (rc)
        return rc;
    if (PQntuples(r) > 0) {
        pg_col_copy(r, 0, 0, in->id, sizeof(in->id));
        snprintf(in->workspace_id, sizeof(in->workspace_id), "%s", workspace_id);
        in->updated_at = now;
    }
    PQclear(r);
    return 0;
}

int pg_integration_get(struct store *base, const char *workspace_id, const char *id,
                       struct arena *a, struct integration *out, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_opt(&p, workspace_id);
    pg_p_opt(&p, id);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_get, &p, &r,
                     "reading a mailbox connection", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        read_integration(r, 0, a, out);
    else
        rc = failf(e, ERR_NOT_FOUND, "integration not found");
    PQclear(r);
    return rc;
}

int pg_integration_list(struct store *base, const char *workspace_id, const char *provider,
                        struct arena *a, struct integration **rows, size_t *n, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct pg_params p = {0};
    pg_p_opt(&p, workspace_id);
    pg_p_opt(&p, provider);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_list, &p, &r,
                     "listing mailbox connections", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++)
        read_integration(r, i, a, &(*rows)[i]);
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}
