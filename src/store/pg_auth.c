/*
 * PostgreSQL backend: users, organizations and workspaces, sessions, OAuth
 * states, one-time sign-in links and API tokens. These tables carry no
 * workspace (no Row Level Security) except api_tokens: a token is created,
 * listed and revoked inside its workspace, and found by the hash of its
 * secret (the policy token_by_hash).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "store/pg_auth.h"
#include "store/pg_int.h"

/* Changed rows of an INSERT/UPDATE/DELETE result. */
static int64_t changed(const PGresult *r)
{
    const char *t = PQcmdTuples((PGresult *)r);
    return *t ? strtoll(t, NULL, 10) : 0;
}

/* ---- users ---- */

#define USER_COLS                                                                                  \
    "id, email, COALESCE(name,''), COALESCE(avatar_url,''), created_at, COALESCE(last_login_at,0)"

static const char sql_user_by_email[] =
    "SELECT " USER_COLS " FROM user_profiles WHERE lower(email) = lower($1)";
static const char sql_user_by_id[] = "SELECT " USER_COLS " FROM user_profiles WHERE id = $1";
static const char sql_user_by_sub[] =
    "SELECT " USER_COLS " FROM user_profiles WHERE oidc_issuer = $1 AND oidc_subject = $2";
static const char sql_user_list[] = "SELECT " USER_COLS " FROM user_profiles ORDER BY lower(email)";
static const char sql_user_insert[] =
    "INSERT INTO user_profiles (id, email, name, avatar_url, oidc_issuer, oidc_subject,"
    " created_at, last_login_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/* A sign-in that races another one for the same person inserts nothing. */
static const char sql_user_insert_quiet[] =
    "INSERT INTO user_profiles (id, email, name, avatar_url, oidc_issuer, oidc_subject,"
    " created_at, last_login_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING";
static const char sql_user_login[] =
    "UPDATE user_profiles SET last_login_at = $2, oidc_issuer = COALESCE(oidc_issuer, $3),"
    " oidc_subject = COALESCE(oidc_subject, $4), name = COALESCE(name, $5),"
    " avatar_url = COALESCE($6, avatar_url) WHERE id = $1";

static void user_row(const PGresult *r, int i, struct user *u)
{
    pg_col_copy(r, i, 0, u->id, sizeof(u->id));
    pg_col_copy(r, i, 1, u->email, sizeof(u->email));
    pg_col_copy(r, i, 2, u->name, sizeof(u->name));
    pg_col_copy(r, i, 3, u->avatar_url, sizeof(u->avatar_url));
    u->created_at = pg_col_i64(r, i, 4);
    u->last_login_at = pg_col_i64(r, i, 5);
}

static int user_query(struct pg_store *s, const char *sql, const char *p1, const char *p2,
                      struct user *out, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_opt(&p, p1);
    if (p2)
        pg_p_opt(&p, p2);
    PGresult *r;
    int rc = pg_once(s, NULL, sql, &p, &r, "reading a user", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        user_row(r, 0, out);
    else
        rc = failf(e, ERR_NOT_FOUND, "no such user");
    PQclear(r);
    return rc;
}

static int user_insert(struct pg_store *s, const char *sql, const char *email, const char *name,
                       const char *picture, const char *issuer, const char *subject, int64_t now,
                       int64_t login, struct user *out, struct errinfo *e)
{
    char id[STORE_ID_LEN];
    crypto_uuid(id);
    struct pg_params p = {0};
    pg_p_opt(&p, id);
    pg_p_opt(&p, email);
    pg_p_opt(&p, name);
    pg_p_opt(&p, picture);
    pg_p_opt(&p, issuer);
    pg_p_opt(&p, subject);
    pg_p_i64(&p, now);
    if (login)
        pg_p_i64(&p, login);
    else
        pg_p_str(&p, NULL);
    PGresult *r;
    int rc = pg_once(s, NULL, sql, &p, &r, "creating a user", e);
    if (rc == ERR_CONFLICT)
        return failf(e, ERR_CONFLICT, "a user with email %s already exists", email);
    if (rc)
        return rc;
    int64_t n = changed(r);
    PQclear(r);
    if (n == 0)
        return failf(e, ERR_CONFLICT, "a user with email %s already exists", email);
    return user_query(s, sql_user_by_id, id, NULL, out, e);
}

int pg_user_create(struct store *base, const char *email, const char *name, int64_t now,
                   struct user *out, struct errinfo *e)
{
    return user_insert((struct pg_store *)base, sql_user_insert, email, name, NULL, NULL, NULL, now,
                       0, out, e);
}

int pg_user_by_email(struct store *base, const char *email, struct user *out, struct errinfo *e)
{
    return user_query((struct pg_store *)base, sql_user_by_email, email, NULL, out, e);
}

int pg_user_by_id(struct store *base, const char *id, struct user *out, struct errinfo *e)
{
    return user_query((struct pg_store *)base, sql_user_by_id, id, NULL, out, e);
}

int pg_user_oidc_login(struct store *base, const char *issuer, const char *subject,
                       const char *email, const char *name, const char *picture, int64_t now,
                       struct user *out, struct errinfo *e)
{
    struct pg_store *s = (struct pg_store *)base;
    int rc = user_query(s, sql_user_by_sub, issuer, subject, out, e);
    if (rc == ERR_NOT_FOUND)
        rc = user_query(s, sql_user_by_email, email, NULL, out, e);
    if (rc == ERR_NOT_FOUND) {
        rc = user_insert(s, sql_user_insert_quiet, email, name, picture, issuer, subject, now, now,
                         out, e);
        if (rc != ERR_CONFLICT)
            return rc;
        /* Created by a concurrent sign-in of the same person: use that row. */
        rc = user_query(s, sql_user_by_email, email, NULL, out, e);
    }
    if (rc)
        return rc;
    struct pg_params p = {0};
    pg_p_opt(&p, out->id);
    pg_p_i64(&p, now);
    pg_p_opt(&p, issuer);
    pg_p_opt(&p, subject);
    pg_p_opt(&p, name);
    pg_p_opt(&p, picture);
    PGresult *r;
    rc = pg_once(s, NULL, sql_user_login, &p, &r, "recording a sign-in", e);
    PQclear(r);
    out->last_login_at = now;
    return rc;
}

int pg_user_list(struct store *base, struct arena *a, struct user **rows, size_t *n,
                 struct errinfo *e)
{
    PGresult *r;
    *rows = NULL;
    *n = 0;
    int rc = pg_once((struct pg_store *)base, NULL, sql_user_list, NULL, &r, "listing users", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++)
        user_row(r, i, &(*rows)[i]);
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

/* ---- organizations, workspaces, membership ---- */

static const char sql_user_lock[] = "SELECT 1 FROM user_profiles WHERE id = $1 FOR UPDATE";
static const char sql_member_count[] = "SELECT COUNT(*) FROM user_organizations WHERE user_id = $1";
static const char sql_org_insert[] =
    "INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)";
static const char sql_member_insert[] =
    "INSERT INTO user_organizations (user_id, org_id, role, created_at) VALUES ($1, $2, $3, $4)";
static const char sql_ws_insert[] =
    "INSERT INTO workspaces (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)";
static const char sql_user_orgs[] =
    "SELECT o.id, o.name, m.role FROM user_organizations m JOIN organizations o ON o.id = m.org_id"
    " WHERE m.user_id = $1 ORDER BY o.created_at, o.id";
static const char sql_user_workspaces[] =
    "SELECT w.id, w.org_id, w.name, m.role FROM user_organizations m"
    " JOIN workspaces w ON w.org_id = m.org_id WHERE m.user_id = $1 ORDER BY w.created_at, w.id";
static const char sql_member_role[] =
    "SELECT m.role FROM workspaces w JOIN user_organizations m ON m.org_id = w.org_id"
    " WHERE w.id = $1 AND m.user_id = $2";
static const char sql_ws_owner[] =
    "SELECT m.user_id FROM workspaces w JOIN user_organizations m ON m.org_id = w.org_id"
    " WHERE w.id = $1 AND m.role = 'owner' ORDER BY m.created_at LIMIT 1";
static const char sql_member_emails[] =
    "SELECT u.email FROM workspaces w JOIN user_organizations uo ON uo.org_id = w.org_id"
    " JOIN user_profiles u ON u.id = uo.user_id WHERE w.id = $1 ORDER BY u.email";

int pg_user_bootstrap(struct store *base, const char *user_id, const char *org_name, int64_t now,
                      bool *created, struct errinfo *e)
{
    struct pg_store *s = (struct pg_store *)base;
    *created = false;
    struct pg_ctx x;
    int rc = pg_enter(s, NULL, true, &x, e);
    if (rc)
        return rc;
    /* The user's row lock makes concurrent calls run one after the other:
     * the second one sees the first one's membership. */
    struct pg_params p = {0};
    pg_p_str(&p, user_id);
    PGresult *r = NULL;
    int64_t count = 0;
    rc = pg_exec(&x, sql_user_lock, &p, &r, "locking the user", e);
    if (!rc && PQntuples(r) == 0)
        rc = failf(e, ERR_NOT_FOUND, "no such user");
    PQclear(r);
    if (!rc)
        rc = pg_exec(&x, sql_member_count, &p, &r, "reading memberships", e);
    if (!rc) {
        count = pg_col_i64(r, 0, 0);
        PQclear(r);
    }
    if (rc || count > 0)
        return pg_leave(&x, rc, e);

    char org_id[STORE_ID_LEN], ws_id[STORE_ID_LEN];
    crypto_uuid(org_id);
    crypto_uuid(ws_id);
    p = (struct pg_params){0};
    pg_p_str(&p, org_id);
    pg_p_str(&p, org_name);
    pg_p_i64(&p, now);
    rc = pg_run(&x, sql_org_insert, &p, NULL, "creating the organization", e);
    p = (struct pg_params){0};
    pg_p_str(&p, user_id);
    pg_p_str(&p, org_id);
    pg_p_str(&p, "owner");
    pg_p_i64(&p, now);
    if (!rc)
        rc = pg_run(&x, sql_member_insert, &p, NULL, "adding the owner", e);
    /* The new workspace's counters row is written by a trigger, under the
     * workspace policy: the transaction works in the new workspace. */
    if (!rc)
        rc = pg_set_workspace(&x, ws_id, e);
    p = (struct pg_params){0};
    pg_p_str(&p, ws_id);
    pg_p_str(&p, org_id);
    pg_p_str(&p, "Default Workspace");
    pg_p_i64(&p, now);
    if (!rc)
        rc = pg_run(&x, sql_ws_insert, &p, NULL, "creating the default workspace", e);
    rc = pg_leave(&x, rc, e);
    *created = rc == 0;
    return rc;
}

int pg_user_orgs(struct store *base, const char *user_id, struct arena *a, struct org_row **rows,
                 size_t *n, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, user_id);
    PGresult *r;
    *rows = NULL;
    *n = 0;
    int rc =
        pg_once((struct pg_store *)base, NULL, sql_user_orgs, &p, &r, "listing organizations", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++) {
        struct org_row *o = &(*rows)[i];
        pg_col_copy(r, i, 0, o->id, sizeof(o->id));
        pg_col_copy(r, i, 1, o->name, sizeof(o->name));
        o->role = role_parse(PQgetvalue(r, i, 2));
    }
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

int pg_user_workspaces(struct store *base, const char *user_id, struct arena *a,
                       struct ws_row **rows, size_t *n, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, user_id);
    PGresult *r;
    *rows = NULL;
    *n = 0;
    int rc = pg_once((struct pg_store *)base, NULL, sql_user_workspaces, &p, &r,
                     "listing workspaces", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++) {
        struct ws_row *w = &(*rows)[i];
        pg_col_copy(r, i, 0, w->id, sizeof(w->id));
        pg_col_copy(r, i, 1, w->org_id, sizeof(w->org_id));
        pg_col_copy(r, i, 2, w->name, sizeof(w->name));
        w->role = role_parse(PQgetvalue(r, i, 3));
    }
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

int pg_member_role(struct store *base, const char *workspace_id, const char *user_id, int *role,
                   struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    pg_p_str(&p, user_id);
    PGresult *r;
    *role = ROLE_NONE;
    int rc =
        pg_once((struct pg_store *)base, NULL, sql_member_role, &p, &r, "checking membership", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        *role = role_parse(PQgetvalue(r, 0, 0));
    else
        rc = failf(e, ERR_NOT_FOUND, "workspace not found");
    PQclear(r);
    return rc;
}

int pg_workspace_owner(struct store *base, const char *workspace_id, char user_id[STORE_ID_LEN],
                       struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, NULL, sql_ws_owner, &p, &r,
                     "finding the workspace owner", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        pg_col_copy(r, 0, 0, user_id, STORE_ID_LEN);
    else
        rc = failf(e, ERR_NOT_FOUND, "workspace not found");
    PQclear(r);
    return rc;
}

int pg_workspace_member_emails(struct store *base, const char *workspace_id, struct arena *a,
                               char ***emails, size_t *n, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_str(&p, workspace_id);
    PGresult *r;
    *emails = NULL;
    *n = 0;
    int rc =
        pg_once((struct pg_store *)base, NULL, sql_member_emails, &p, &r, "reading members", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *emails = pg_rows(a, r, sizeof(**emails));
    for (int i = 0; i < nt; i++)
        (*emails)[i] = (char *)pg_col_dup(r, i, 0, a);
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

/* ---- sessions ---- */

#define SESSION_COLS                                                                               \
    "id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at,"                          \
    " COALESCE(revoked_at, 0), COALESCE(user_agent,''), COALESCE(ip,'')"

static const char sql_session_insert[] =
    "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at,"
    " user_agent, ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
static const char sql_session_get[] = "SELECT " SESSION_COLS " FROM sessions WHERE id_hash = $1";
static const char sql_session_touch[] =
    "UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id_hash = $1"
    " AND revoked_at IS NULL";
static const char sql_session_revoke[] =
    "UPDATE sessions SET revoked_at = $3 WHERE id_hash = $2 AND user_id = $1"
    " AND revoked_at IS NULL";
static const char sql_session_list[] =
    "SELECT " SESSION_COLS " FROM sessions WHERE user_id = $1 AND revoked_at IS NULL"
    " AND expires_at > $2 ORDER BY last_seen_at DESC";

static void session_row(const PGresult *r, int i, struct session_row *s)
{
    pg_col_copy(r, i, 0, s->id_hash, sizeof(s->id_hash));
    pg_col_copy(r, i, 1, s->user_id, sizeof(s->user_id));
    pg_col_copy(r, i, 2, s->csrf, sizeof(s->csrf));
    s->created_at = pg_col_i64(r, i, 3);
    s->last_seen_at = pg_col_i64(r, i, 4);
    s->expires_at = pg_col_i64(r, i, 5);
    s->revoked_at = pg_col_i64(r, i, 6);
    pg_col_copy(r, i, 7, s->user_agent, sizeof(s->user_agent));
    pg_col_copy(r, i, 8, s->ip, sizeof(s->ip));
}

int pg_session_create(struct store *base, const struct session_row *sr, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_opt(&p, sr->id_hash);
    pg_p_opt(&p, sr->user_id);
    pg_p_opt(&p, sr->csrf);
    pg_p_i64(&p, sr->created_at);
    pg_p_i64(&p, sr->last_seen_at);
    pg_p_i64(&p, sr->expires_at);
    pg_p_opt(&p, sr->user_agent);
    pg_p_opt(&p, sr->ip);
    return pg_once_run((struct pg_store *)base, NULL, sql_session_insert, &p, NULL,
                       "creating a session", e);
}

int pg_session_get(struct store *base, const char *id_hash, struct session_row *out,
                   struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_opt(&p, id_hash);
    PGresult *r;
    int rc =
        pg_once((struct pg_store *)base, NULL, sql_session_get, &p, &r, "reading a session", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        session_row(r, 0, out);
    else
        rc = failf(e, ERR_NOT_FOUND, "no such session");
    PQclear(r);
    return rc;
}

int pg_session_touch(struct store *base, const char *id_hash, int64_t seen, int64_t expires,
                     struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_opt(&p, id_hash);
    pg_p_i64(&p, seen);
    pg_p_i64(&p, expires);
    return pg_once_run((struct pg_store *)base, NULL, sql_session_touch, &p, NULL,
                       "renewing a session", e);
}

int pg_session_revoke(struct store *base, const char *user_id, const char *id_hash, int64_t now,
                      struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_opt(&p, user_id);
    pg_p_opt(&p, id_hash);
    pg_p_i64(&p, now);
    int64_t n = 0;
    int rc = pg_once_run((struct pg_store *)base, NULL, sql_session_revoke, &p, &n,
                         "revoking a session", e);
    return !rc && n == 0 ? failf(e, ERR_NOT_FOUND, "session not found") : rc;
}

int pg_session_list(struct store *base, const char *user_id, int64_t now, struct arena *a,
                    struct session_row **rows, size_t *n, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_opt(&p, user_id);
    pg_p_i64(&p, now);
    PGresult *r;
    *rows = NULL;
    *n = 0;
    int rc =
        pg_once((struct pg_store *)base, NULL, sql_session_list, &p, &r, "listing sessions", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++)
        session_row(r, i, &(*rows)[i]);
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

/* ---- OAuth states and one-time links ---- */

static const char sql_state_put[] =
    "INSERT INTO oauth_states (state_hash, nonce, code_verifier, next_path, expires_at,"
    " purpose, workspace_id, user_id) VALUES ($1, $2, $3, $4, $5, COALESCE($6, 'signin'), $7, $8)";
static const char sql_state_take[] = "DELETE FROM oauth_states WHERE state_hash = $1"
                                     " RETURNING nonce, code_verifier, next_path, expires_at,"
                                     " purpose, workspace_id, user_id";
static const char sql_state_gc[] = "DELETE FROM oauth_states WHERE expires_at < $1";
static const char sql_link_put[] =
    "INSERT INTO login_links (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
static const char sql_link_take[] =
    "UPDATE login_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL"
    " AND expires_at > $2 RETURNING user_id";

int pg_oauth_state_put(struct store *base, const char *state_hash, const struct oauth_state *o,
                       struct errinfo *e)
{
    struct pg_store *s = (struct pg_store *)base;
    /* Abandoned attempts are removed as new ones arrive. */
    struct pg_params p = {0};
    pg_p_i64(&p, o->expires_at - 3600 * 1000);
    int rc = pg_once_run(s, NULL, sql_state_gc, &p, NULL, "removing old sign-in attempts", e);
    if (rc)
        return rc;
    p = (struct pg_params){0};
    pg_p_opt(&p, state_hash);
    pg_p_opt(&p, o->nonce);
    pg_p_opt(&p, o->verifier);
    pg_p_str(&p, o->next);
    pg_p_i64(&p, o->expires_at);
    pg_p_opt(&p, o->purpose);
    pg_p_opt(&p, o->workspace_id);
    pg_p_opt(&p, o->user_id);
    return pg_once_run(s, NULL, sql_state_put, &p, NULL, "storing a sign-in attempt", e);
}

int pg_oauth_state_take(struct store *base, const char *state_hash, struct oauth_state *out,
                        struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_opt(&p, state_hash);
    PGresult *r;
    int rc = pg_once((struct pg_store *)base, NULL, sql_state_take, &p, &r,
                     "taking a sign-in attempt", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0) {
        pg_col_copy(r, 0, 0, out->nonce, sizeof(out->nonce));
        pg_col_copy(r, 0, 1, out->verifier, sizeof(out->verifier));
        pg_col_copy(r, 0, 2, out->next, sizeof(out->next));
        out->expires_at = pg_col_i64(r, 0, 3);
        pg_col_copy(r, 0, 4, out->purpose, sizeof(out->purpose));
        pg_col_copy(r, 0, 5, out->workspace_id, sizeof(out->workspace_id));
        pg_col_copy(r, 0, 6, out->user_id, sizeof(out->user_id));
    } else {
        rc = failf(e, ERR_NOT_FOUND, "unknown or already used sign-in attempt");
    }
    PQclear(r);
    return rc;
}

int pg_login_link_put(struct store *base, const char *token_hash, const char *user_id, int64_t now,
                      int64_t expires, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_opt(&p, token_hash);
    pg_p_opt(&p, user_id);
    pg_p_i64(&p, now);
    pg_p_i64(&p, expires);
    return pg_once_run((struct pg_store *)base, NULL, sql_link_put, &p, NULL,
                       "storing a sign-in link", e);
}

int pg_login_link_take(struct store *base, const char *token_hash, int64_t now,
                       char user_id[STORE_ID_LEN], struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_opt(&p, token_hash);
    pg_p_i64(&p, now);
    PGresult *r;
    int rc =
        pg_once((struct pg_store *)base, NULL, sql_link_take, &p, &r, "using a sign-in link", e);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        pg_col_copy(r, 0, 0, user_id, STORE_ID_LEN);
    else
        rc = failf(e, ERR_NOT_FOUND, "this sign-in link is unknown, used or expired");
    PQclear(r);
    return rc;
}

/* ---- API tokens ---- */

#define TOKEN_COLS                                                                                 \
    "id, workspace_id, user_id, name, created_at, COALESCE(last_used_at,0), "                      \
    "COALESCE(revoked_at,0)"

static const char sql_token_insert[] =
    "INSERT INTO api_tokens (id, workspace_id, user_id, name, token_hash, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6)";
static const char sql_token_find[] = "SELECT " TOKEN_COLS " FROM api_tokens WHERE token_hash = $1";
static const char sql_token_revoke[] =
    "UPDATE api_tokens SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2"
    " AND revoked_at IS NULL";
static const char sql_token_list[] =
    "SELECT " TOKEN_COLS " FROM api_tokens WHERE workspace_id = $1 ORDER BY created_at";

static void token_row(const PGresult *r, int i, struct api_token *t)
{
    pg_col_copy(r, i, 0, t->id, sizeof(t->id));
    pg_col_copy(r, i, 1, t->workspace_id, sizeof(t->workspace_id));
    pg_col_copy(r, i, 2, t->user_id, sizeof(t->user_id));
    pg_col_copy(r, i, 3, t->name, sizeof(t->name));
    t->created_at = pg_col_i64(r, i, 4);
    t->last_used_at = pg_col_i64(r, i, 5);
    t->revoked_at = pg_col_i64(r, i, 6);
}

int pg_api_token_create(struct store *base, const char *workspace_id, const char *user_id,
                        const char *name, const char *token_hash, int64_t now,
                        struct api_token *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    crypto_uuid(out->id);
    snprintf(out->workspace_id, sizeof(out->workspace_id), "%s", workspace_id);
    snprintf(out->user_id, sizeof(out->user_id), "%s", user_id);
    snprintf(out->name, sizeof(out->name), "%s", name);
    out->created_at = now;
    struct pg_params p = {0};
    pg_p_opt(&p, out->id);
    pg_p_opt(&p, workspace_id);
    pg_p_opt(&p, user_id);
    pg_p_opt(&p, name);
    pg_p_opt(&p, token_hash);
    pg_p_i64(&p, now);
    return pg_once_run((struct pg_store *)base, workspace_id, sql_token_insert, &p, NULL,
                       "creating an API token", e);
}

int pg_api_token_find(struct store *base, const char *token_hash, struct api_token *out,
                      struct errinfo *e)
{
    struct pg_ctx x;
    int rc = pg_enter((struct pg_store *)base, NULL, true, &x, e);
    if (rc)
        return rc;
    rc = pg_set_local(&x, "token_hash", token_hash, e);
    struct pg_params p = {0};
    pg_p_opt(&p, token_hash);
    PGresult *r = NULL;
    if (!rc)
        rc = pg_exec(&x, sql_token_find, &p, &r, "reading an API token", e);
    if (!rc && PQntuples(r) > 0)
        token_row(r, 0, out);
    else if (!rc)
        rc = failf(e, ERR_NOT_FOUND, "no such API token");
    PQclear(r);
    return pg_leave(&x, rc, e);
}

int pg_api_token_revoke(struct store *base, const char *workspace_id, const char *id, int64_t now,
                        struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_opt(&p, workspace_id);
    pg_p_opt(&p, id);
    pg_p_i64(&p, now);
    int64_t n = 0;
    int rc = pg_once_run((struct pg_store *)base, workspace_id, sql_token_revoke, &p, &n,
                         "revoking an API token", e);
    return !rc && n == 0 ? failf(e, ERR_NOT_FOUND, "API token not found") : rc;
}

int pg_api_token_list(struct store *base, const char *workspace_id, struct arena *a,
                      struct api_token **rows, size_t *n, struct errinfo *e)
{
    struct pg_params p = {0};
    pg_p_opt(&p, workspace_id);
    PGresult *r;
    *rows = NULL;
    *n = 0;
    int rc = pg_once((struct pg_store *)base, workspace_id, sql_token_list, &p, &r,
                     "listing API tokens", e);
    if (rc)
        return rc;
    int nt = PQntuples(r);
    *rows = pg_rows(a, r, sizeof(**rows));
    for (int i = 0; i < nt; i++)
        token_row(r, i, &(*rows)[i]);
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}
