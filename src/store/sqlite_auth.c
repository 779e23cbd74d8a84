/*
 * SQLite backend: users, organizations and workspaces, sessions, OAuth
 * states, one-time sign-in links and API tokens.
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/sqlite_auth.h"

/* Steps a statement that returns no rows (or ignores them). */
static int step_done(struct sq_conn *c, sqlite3_stmt *st, const char *what, struct errinfo *e)
{
    int src = sqlite3_step(st);
    int rc = (src == SQLITE_DONE || src == SQLITE_ROW) ? 0 : sq_fail(e, c->db, src, what);
    sq_done(st);
    return rc;
}

/* ---- users ---- */

static const char sql_user_by_email[] =
    "SELECT id, email, COALESCE(name,''), COALESCE(avatar_url,''), created_at,"
    " COALESCE(last_login_at,0) FROM user_profiles WHERE email = ?1";
static const char sql_user_by_id[] =
    "SELECT id, email, COALESCE(name,''), COALESCE(avatar_url,''), created_at,"
    " COALESCE(last_login_at,0) FROM user_profiles WHERE id = ?1";
static const char sql_user_by_sub[] =
    "SELECT id, email, COALESCE(name,''), COALESCE(avatar_url,''), created_at,"
    " COALESCE(last_login_at,0) FROM user_profiles WHERE oidc_issuer = ?1 AND oidc_subject = ?2";
static const char sql_user_list[] =
    "SELECT id, email, COALESCE(name,''), COALESCE(avatar_url,''), created_at,"
    " COALESCE(last_login_at,0) FROM user_profiles ORDER BY email";
static const char sql_user_insert[] =
    "INSERT INTO user_profiles (id, email, name, avatar_url, oidc_issuer, oidc_subject,"
    " created_at, last_login_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char sql_user_login[] =
    "UPDATE user_profiles SET last_login_at = ?2, oidc_issuer = COALESCE(oidc_issuer, ?3),"
    " oidc_subject = COALESCE(oidc_subject, ?4), name = COALESCE(name, ?5),"
    " avatar_url = COALESCE(?6, avatar_url) WHERE id = ?1";

static void user_row(sqlite3_stmt *st, struct arena *a, void *row)
{
    (void)a;
    struct user *u = row;
    sq_col_copy(st, 0, u->id, sizeof(u->id));
    sq_col_copy(st, 1, u->email, sizeof(u->email));
    sq_col_copy(st, 2, u->name, sizeof(u->name));
    sq_col_copy(st, 3, u->avatar_url, sizeof(u->avatar_url));
    u->created_at = sqlite3_column_int64(st, 4);
    u->last_login_at = sqlite3_column_int64(st, 5);
}

/* Runs a one-row user query with up to two text parameters. */
static int user_query(struct sq_store *s, const char *sql, const char *p1, const char *p2,
                      struct user *out, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, p1);
    if (p2)
        sq_bind_opt(st, 2, p2);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        user_row(st, NULL, out);
    else if (src == SQLITE_DONE)
        rc = failf(e, ERR_NOT_FOUND, "no such user");
    else
        rc = sq_fail(e, c->db, src, "reading a user");
    sq_done(st);
    return rc;
}

static int user_insert(struct sq_store *s, const char *email, const char *name, const char *picture,
                       const char *issuer, const char *subject, int64_t now, int64_t login,
                       struct user *out, struct errinfo *e)
{
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_user_insert, &st, &c, e);
    if (rc)
        return rc;
    char id[STORE_ID_LEN];
    crypto_uuid(id);
    sq_bind_opt(st, 1, id);
    sq_bind_opt(st, 2, email);
    sq_bind_opt(st, 3, name);
    sq_bind_opt(st, 4, picture);
    sq_bind_opt(st, 5, issuer);
    sq_bind_opt(st, 6, subject);
    sqlite3_bind_int64(st, 7, now);
    if (login)
        sqlite3_bind_int64(st, 8, login);
    int src = sqlite3_step(st);
    sq_done(st);
    if (src != SQLITE_DONE) {
        rc = sq_fail(e, c->db, src, "creating a user");
        if (rc == ERR_CONFLICT)
            failf(e, ERR_CONFLICT, "a user with email %s already exists", email);
        return rc;
    }
    return user_query(s, sql_user_by_id, id, NULL, out, e);
}

int sq_user_create(struct store *base, const char *email, const char *name, int64_t now,
                   struct user *out, struct errinfo *e)
{
    return user_insert((struct sq_store *)base, email, name, NULL, NULL, NULL, now, 0, out, e);
}

int sq_user_by_email(struct store *base, const char *email, struct user *out, struct errinfo *e)
{
    return user_query((struct sq_store *)base, sql_user_by_email, email, NULL, out, e);
}

int sq_user_by_id(struct store *base, const char *id, struct user *out, struct errinfo *e)
{
    return user_query((struct sq_store *)base, sql_user_by_id, id, NULL, out, e);
}

int sq_user_oidc_login(struct store *base, const char *issuer, const char *subject,
                       const char *email, const char *name, const char *picture, int64_t now,
                       struct user *out, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    int rc = user_query(s, sql_user_by_sub, issuer, subject, out, e);
    if (rc == ERR_NOT_FOUND)
        rc = user_query(s, sql_user_by_email, email, NULL, out, e);
    if (rc == ERR_NOT_FOUND) {
        rc = user_insert(s, email, name, picture, issuer, subject, now, now, out, e);
        if (rc != ERR_CONFLICT)
            return rc;
        /* Created by a concurrent sign-in of the same person: use that row. */
        rc = user_query(s, sql_user_by_email, email, NULL, out, e);
    }
    if (rc)
        return rc;
    sqlite3_stmt *st;
    struct sq_conn *c;
    rc = sq_stmt(s, sql_user_login, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, out->id);
    sqlite3_bind_int64(st, 2, now);
    sq_bind_opt(st, 3, issuer);
    sq_bind_opt(st, 4, subject);
    sq_bind_opt(st, 5, name);
    sq_bind_opt(st, 6, picture);
    rc = step_done(c, st, "recording a sign-in", e);
    out->last_login_at = now;
    return rc;
}

int sq_user_list(struct store *base, struct arena *a, struct user **rows, size_t *n,
                 struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt(s, sql_user_list, &st, &c, e);
    if (rc)
        return rc;
    return sq_read_all(st, c, user_row, a, (void **)rows, sizeof(**rows), n, 0, NULL,
                       "listing users", e);
}

/* ---- organizations, workspaces, membership ---- */

static const char sql_member_count[] = "SELECT COUNT(*) FROM user_organizations WHERE user_id = ?1";
static const char sql_org_insert[] =
    "INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3)";
static const char sql_member_insert[] =
    "INSERT INTO user_organizations (user_id, org_id, role, created_at) VALUES (?1, ?2, ?3, ?4)";
static const char sql_ws_insert[] =
    "INSERT INTO workspaces (id, org_id, name, created_at) VALUES (?1, ?2, ?3, ?4)";
static const char sql_user_orgs[] =
    "SELECT o.id, o.name, m.role FROM user_organizations m JOIN organizations o ON o.id = m.org_id"
    " WHERE m.user_id = ?1 ORDER BY o.created_at, o.id";
static const char sql_user_workspaces[] =
    "SELECT w.id, w.org_id, w.name, m.role FROM user_organizations m"
    " JOIN workspaces w ON w.org_id = m.org_id WHERE m.user_id = ?1 ORDER BY w.created_at, w.id";
static const char sql_member_role[] =
    "SELECT m.role FROM workspaces w JOIN user_organizations m ON m.org_id = w.org_id"
    " WHERE w.id = ?1 AND m.user_id = ?2";

int sq_user_bootstrap(struct store *base, const char *user_id, const char *org_name, int64_t now,
                      bool *created, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    *created = false;
    /* BEGIN IMMEDIATE takes the write lock first, so two concurrent calls run
     * one after the other and the second sees the first one's rows. */
    int rc = sq_exec(s, "BEGIN IMMEDIATE", e);
    if (rc)
        return rc;
    sqlite3_stmt *st;
    struct sq_conn *c;
    rc = sq_stmt(s, sql_member_count, &st, &c, e);
    if (!rc) {
        sq_bind_opt(st, 1, user_id);
        int src = sqlite3_step(st);
        int64_t count = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
        sq_done(st);
        if (count < 0)
            rc = sq_fail(e, c->db, src, "reading memberships");
        else if (count > 0)
            return sq_exec(s, "COMMIT", e);
    }
    char org_id[STORE_ID_LEN], ws_id[STORE_ID_LEN];
    crypto_uuid(org_id);
    crypto_uuid(ws_id);
    if (!rc)
        rc = sq_stmt(s, sql_org_insert, &st, &c, e);
    if (!rc) {
        sq_bind_opt(st, 1, org_id);
        sq_bind_opt(st, 2, org_name);
        sqlite3_bind_int64(st, 3, now);
        rc = step_done(c, st, "creating the organization", e);
    }
    if (!rc)
        rc = sq_stmt(s, sql_member_insert, &st, &c, e);
    if (!rc) {
        sq_bind_opt(st, 1, user_id);
        sq_bind_opt(st, 2, org_id);
        sq_bind_opt(st, 3, "owner");
        sqlite3_bind_int64(st, 4, now);
        rc = step_done(c, st, "adding the owner", e);
    }
    if (!rc)
        rc = sq_stmt(s, sql_ws_insert, &st, &c, e);
    if (!rc) {
        sq_bind_opt(st, 1, ws_id);
        sq_bind_opt(st, 2, org_id);
        sq_bind_opt(st, 3, "Default Workspace");
        sqlite3_bind_int64(st, 4, now);
        rc = step_done(c, st, "creating the default workspace", e);
    }
    if (rc) {
        struct errinfo ignored;
        sq_exec(s, "ROLLBACK", &ignored);
        return rc;
    }
    rc = sq_exec(s, "COMMIT", e);
    *created = rc == 0;
    return rc;
}

int sq_user_orgs(struct store *base, const char *user_id, struct arena *a, struct org_row **rows,
                 size_t *n, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    size_t cap = 0;
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt(s, sql_user_orgs, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, user_id);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        struct org_row *r = sq_grow(a, (void **)rows, (*n)++, &cap, sizeof(**rows));
        sq_col_copy(st, 0, r->id, sizeof(r->id));
        sq_col_copy(st, 1, r->name, sizeof(r->name));
        r->role = role_parse((const char *)sqlite3_column_text(st, 2));
    }
    rc = src == SQLITE_DONE ? 0 : sq_fail(e, c->db, src, "listing organizations");
    sq_done(st);
    return rc;
}

int sq_user_workspaces(struct store *base, const char *user_id, struct arena *a,
                       struct ws_row **rows, size_t *n, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    size_t cap = 0;
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt(s, sql_user_workspaces, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, user_id);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        struct ws_row *r = sq_grow(a, (void **)rows, (*n)++, &cap, sizeof(**rows));
        sq_col_copy(st, 0, r->id, sizeof(r->id));
        sq_col_copy(st, 1, r->org_id, sizeof(r->org_id));
        sq_col_copy(st, 2, r->name, sizeof(r->name));
        r->role = role_parse((const char *)sqlite3_column_text(st, 3));
    }
    rc = src == SQLITE_DONE ? 0 : sq_fail(e, c->db, src, "listing workspaces");
    sq_done(st);
    return rc;
}

int sq_member_role(struct store *base, const char *workspace_id, const char *user_id, int *role,
                   struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *role = ROLE_NONE;
    int rc = sq_stmt(s, sql_member_role, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, workspace_id);
    sq_bind_opt(st, 2, user_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *role = role_parse((const char *)sqlite3_column_text(st, 0));
    else if (src == SQLITE_DONE)
        rc = failf(e, ERR_NOT_FOUND, "workspace not found");
    else
        rc = sq_fail(e, c->db, src, "checking membership");
    sq_done(st);
    return rc;
}

static const char sql_ws_owner[] =
    "SELECT m.user_id FROM workspaces w JOIN user_organizations m ON m.org_id = w.org_id"
    " WHERE w.id = ?1 AND m.role = 'owner' ORDER BY m.created_at LIMIT 1";

int sq_workspace_owner(struct store *base, const char *workspace_id, char user_id[STORE_ID_LEN],
                       struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_ws_owner, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, workspace_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        sq_col_copy(st, 0, user_id, STORE_ID_LEN);
    else if (src == SQLITE_DONE)
        rc = failf(e, ERR_NOT_FOUND, "workspace not found");
    else
        rc = sq_fail(e, c->db, src, "finding the workspace owner");
    sq_done(st);
    return rc;
}

/* ---- sessions ---- */

static const char sql_session_insert[] =
    "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at,"
    " user_agent, ip) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char sql_session_get[] =
    "SELECT id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at,"
    " COALESCE(revoked_at, 0), COALESCE(user_agent,''), COALESCE(ip,'')"
    " FROM sessions WHERE id_hash = ?1";
static const char sql_session_touch[] =
    "UPDATE sessions SET last_seen_at = ?2, expires_at = ?3 WHERE id_hash = ?1"
    " AND revoked_at IS NULL";
static const char sql_session_revoke[] =
    "UPDATE sessions SET revoked_at = ?3 WHERE id_hash = ?2 AND user_id = ?1"
    " AND revoked_at IS NULL";
static const char sql_session_list[] =
    "SELECT id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at,"
    " COALESCE(revoked_at, 0), COALESCE(user_agent,''), COALESCE(ip,'')"
    " FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2"
    " ORDER BY last_seen_at DESC";

static void session_row(sqlite3_stmt *st, struct arena *a, void *row)
{
    (void)a;
    struct session_row *r = row;
    sq_col_copy(st, 0, r->id_hash, sizeof(r->id_hash));
    sq_col_copy(st, 1, r->user_id, sizeof(r->user_id));
    sq_col_copy(st, 2, r->csrf, sizeof(r->csrf));
    r->created_at = sqlite3_column_int64(st, 3);
    r->last_seen_at = sqlite3_column_int64(st, 4);
    r->expires_at = sqlite3_column_int64(st, 5);
    r->revoked_at = sqlite3_column_int64(st, 6);
    sq_col_copy(st, 7, r->user_agent, sizeof(r->user_agent));
    sq_col_copy(st, 8, r->ip, sizeof(r->ip));
}

int sq_session_create(struct store *base, const struct session_row *r, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_session_insert, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, r->id_hash);
    sq_bind_opt(st, 2, r->user_id);
    sq_bind_opt(st, 3, r->csrf);
    sqlite3_bind_int64(st, 4, r->created_at);
    sqlite3_bind_int64(st, 5, r->last_seen_at);
    sqlite3_bind_int64(st, 6, r->expires_at);
    sq_bind_opt(st, 7, r->user_agent);
    sq_bind_opt(st, 8, r->ip);
    return step_done(c, st, "creating a session", e);
}

int sq_session_get(struct store *base, const char *id_hash, struct session_row *out,
                   struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_session_get, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, id_hash);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        session_row(st, NULL, out);
    else if (src == SQLITE_DONE)
        rc = failf(e, ERR_NOT_FOUND, "no such session");
    else
        rc = sq_fail(e, c->db, src, "reading a session");
    sq_done(st);
    return rc;
}

int sq_session_touch(struct store *base, const char *id_hash, int64_t seen, int64_t expires,
                     struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_session_touch, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, id_hash);
    sqlite3_bind_int64(st, 2, seen);
    sqlite3_bind_int64(st, 3, expires);
    return step_done(c, st, "renewing a session", e);
}

int sq_session_revoke(struct store *base, const char *user_id, const char *id_hash, int64_t now,
                      struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_session_revoke, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, user_id);
    sq_bind_opt(st, 2, id_hash);
    sqlite3_bind_int64(st, 3, now);
    rc = step_done(c, st, "revoking a session", e);
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = failf(e, ERR_NOT_FOUND, "session not found");
    return rc;
}

int sq_session_list(struct store *base, const char *user_id, int64_t now, struct arena *a,
                    struct session_row **rows, size_t *n, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt(s, sql_session_list, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, user_id);
    sqlite3_bind_int64(st, 2, now);
    return sq_read_all(st, c, session_row, a, (void **)rows, sizeof(**rows), n, 0, NULL,
                       "listing sessions", e);
}

/* ---- OAuth states and one-time links ---- */

static const char sql_state_put[] =
    "INSERT INTO oauth_states (state_hash, nonce, code_verifier, next_path, expires_at,"
    " purpose, workspace_id, user_id) VALUES (?1, ?2, ?3, ?4, ?5, COALESCE(?6, 'signin'), ?7, ?8)";
static const char sql_state_take[] = "DELETE FROM oauth_states WHERE state_hash = ?1"
                                     " RETURNING nonce, code_verifier, next_path, expires_at,"
                                     " purpose, workspace_id, user_id";
static const char sql_state_gc[] = "DELETE FROM oauth_states WHERE expires_at < ?1";
static const char sql_link_put[] =
    "INSERT INTO login_links (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)";
static const char sql_link_take[] =
    "UPDATE login_links SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL"
    " AND expires_at > ?2 RETURNING user_id";

int sq_oauth_state_put(struct store *base, const char *state_hash, const struct oauth_state *o,
                       struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    /* Abandoned attempts are removed as new ones arrive. */
    int rc = sq_stmt(s, sql_state_gc, &st, &c, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, o->expires_at - 3600 * 1000);
    rc = step_done(c, st, "removing old sign-in attempts", e);
    if (!rc)
        rc = sq_stmt(s, sql_state_put, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, state_hash);
    sq_bind_opt(st, 2, o->nonce);
    sq_bind_opt(st, 3, o->verifier);
    sqlite3_bind_text(st, 4, o->next, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, o->expires_at);
    sq_bind_opt(st, 6, o->purpose);
    sq_bind_opt(st, 7, o->workspace_id);
    sq_bind_opt(st, 8, o->user_id);
    return step_done(c, st, "storing a sign-in attempt", e);
}

int sq_oauth_state_take(struct store *base, const char *state_hash, struct oauth_state *out,
                        struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_state_take, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, state_hash);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        sq_col_copy(st, 0, out->nonce, sizeof(out->nonce));
        sq_col_copy(st, 1, out->verifier, sizeof(out->verifier));
        sq_col_copy(st, 2, out->next, sizeof(out->next));
        out->expires_at = sqlite3_column_int64(st, 3);
        sq_col_copy(st, 4, out->purpose, sizeof(out->purpose));
        sq_col_copy(st, 5, out->workspace_id, sizeof(out->workspace_id));
        sq_col_copy(st, 6, out->user_id, sizeof(out->user_id));
        src = sqlite3_step(st); /* finish the DELETE */
        if (src != SQLITE_DONE)
            rc = sq_fail(e, c->db, src, "taking a sign-in attempt");
    } else if (src == SQLITE_DONE) {
        rc = failf(e, ERR_NOT_FOUND, "unknown or already used sign-in attempt");
    } else {
        rc = sq_fail(e, c->db, src, "taking a sign-in attempt");
    }
    sq_done(st);
    return rc;
}

int sq_login_link_put(struct store *base, const char *token_hash, const char *user_id, int64_t now,
                      int64_t expires, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_link_put, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, token_hash);
    sq_bind_opt(st, 2, user_id);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, expires);
    return step_done(c, st, "storing a sign-in link", e);
}

int sq_login_link_take(struct store *base, const char *token_hash, int64_t now,
                       char user_id[STORE_ID_LEN], struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_link_take, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, token_hash);
    sqlite3_bind_int64(st, 2, now);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        sq_col_copy(st, 0, user_id, STORE_ID_LEN);
        src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = sq_fail(e, c->db, src, "using a sign-in link");
    } else if (src == SQLITE_DONE) {
        rc = failf(e, ERR_NOT_FOUND, "this sign-in link is unknown, used or expired");
    } else {
        rc = sq_fail(e, c->db, src, "using a sign-in link");
    }
    sq_done(st);
    return rc;
}

/* ---- API tokens ---- */

static const char sql_token_insert[] =
    "INSERT INTO api_tokens (id, workspace_id, user_id, name, token_hash, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_token_find[] =
    "SELECT id, workspace_id, user_id, name, created_at, COALESCE(last_used_at,0),"
    " COALESCE(revoked_at,0) FROM api_tokens WHERE token_hash = ?1";
static const char sql_token_revoke[] =
    "UPDATE api_tokens SET revoked_at = ?3 WHERE workspace_id = ?1 AND id = ?2"
    " AND revoked_at IS NULL";
static const char sql_token_list[] =
    "SELECT id, workspace_id, user_id, name, created_at, COALESCE(last_used_at,0),"
    " COALESCE(revoked_at,0) FROM api_tokens WHERE workspace_id = ?1 ORDER BY created_at";

static void token_row(sqlite3_stmt *st, struct arena *a, void *row)
{
    (void)a;
    struct api_token *t = row;
    sq_col_copy(st, 0, t->id, sizeof(t->id));
    sq_col_copy(st, 1, t->workspace_id, sizeof(t->workspace_id));
    sq_col_copy(st, 2, t->user_id, sizeof(t->user_id));
    sq_col_copy(st, 3, t->name, sizeof(t->name));
    t->created_at = sqlite3_column_int64(st, 4);
    t->last_used_at = sqlite3_column_int64(st, 5);
    t->revoked_at = sqlite3_column_int64(st, 6);
}

int sq_api_token_create(struct store *base, const char *workspace_id, const char *user_id,
                        const char *name, const char *token_hash, int64_t now,
                        struct api_token *out, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_token_insert, &st, &c, e);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    crypto_uuid(out->id);
    snprintf(out->workspace_id, sizeof(out->workspace_id), "%s", workspace_id);
    snprintf(out->user_id, sizeof(out->user_id), "%s", user_id);
    snprintf(out->name, sizeof(out->name), "%s", name);
    out->created_at = now;
    sq_bind_opt(st, 1, out->id);
    sq_bind_opt(st, 2, workspace_id);
    sq_bind_opt(st, 3, user_id);
    sq_bind_opt(st, 4, name);
    sq_bind_opt(st, 5, token_hash);
    sqlite3_bind_int64(st, 6, now);
    return step_done(c, st, "creating an API token", e);
}

int sq_api_token_find(struct store *base, const char *token_hash, struct api_token *out,
                      struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_token_find, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, token_hash);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        token_row(st, NULL, out);
    else if (src == SQLITE_DONE)
        rc = failf(e, ERR_NOT_FOUND, "no such API token");
    else
        rc = sq_fail(e, c->db, src, "reading an API token");
    sq_done(st);
    return rc;
}

int sq_api_token_revoke(struct store *base, const char *workspace_id, const char *id, int64_t now,
                        struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    int rc = sq_stmt(s, sql_token_revoke, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, workspace_id);
    sq_bind_opt(st, 2, id);
    sqlite3_bind_int64(st, 3, now);
    rc = step_done(c, st, "revoking an API token", e);
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = failf(e, ERR_NOT_FOUND, "API token not found");
    return rc;
}

int sq_api_token_list(struct store *base, const char *workspace_id, struct arena *a,
                      struct api_token **rows, size_t *n, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st;
    struct sq_conn *c;
    *rows = NULL;
    *n = 0;
    int rc = sq_stmt(s, sql_token_list, &st, &c, e);
    if (rc)
        return rc;
    sq_bind_opt(st, 1, workspace_id);
    return sq_read_all(st, c, token_row, a, (void **)rows, sizeof(**rows), n, 0, NULL,
                       "listing API tokens", e);
}
