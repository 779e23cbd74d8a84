/*
 * Users, organizations and workspaces, sessions, OAuth states, one-time
 * sign-in links and API tokens, written once over the cursor (store/db.h).
 * These tables carry no workspace (no Row Level Security on PostgreSQL)
 * except api_tokens: a token is created, listed and revoked inside its
 * workspace, and found by the hash of its secret (the policy token_by_hash).
 */
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"
#include "store/auth.h"
#include "store/db.h"
#include "store/db_ops.h"
#include "store/emails.h"

/* ---- users ---- */

#define USER_COLS                                                                                  \
    "id, email, COALESCE(name,''), COALESCE(avatar_url,''), created_at, COALESCE(last_login_at,0)"

/* SQLite compares emails without case by the column's collation. */
static struct db_sql sql_user_by_email =
    DB_SQL2("SELECT " USER_COLS " FROM user_profiles WHERE email = ?1",
            "SELECT " USER_COLS " FROM user_profiles WHERE lower(email) = lower(?1)");
static struct db_sql sql_user_by_id =
    DB_SQL("SELECT " USER_COLS " FROM user_profiles WHERE id = ?1");
static struct db_sql sql_user_by_sub =
    DB_SQL("SELECT " USER_COLS " FROM user_profiles WHERE oidc_issuer = ?1 AND oidc_subject = ?2");
static struct db_sql sql_user_list =
    DB_SQL2("SELECT " USER_COLS " FROM user_profiles ORDER BY email",
            "SELECT " USER_COLS " FROM user_profiles ORDER BY lower(email)");
#define USER_INSERT                                                                                \
    "INSERT INTO user_profiles (id, email, name, avatar_url, oidc_issuer, oidc_subject,"           \
    " created_at, last_login_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
static struct db_sql sql_user_insert = DB_SQL(USER_INSERT);
/* A sign-in that races another one for the same person inserts nothing. */
static struct db_sql sql_user_insert_quiet = DB_SQL(USER_INSERT " ON CONFLICT DO NOTHING");
static struct db_sql sql_user_login =
    DB_SQL("UPDATE user_profiles SET last_login_at = ?2, oidc_issuer = COALESCE(oidc_issuer, ?3),"
           " oidc_subject = COALESCE(oidc_subject, ?4), name = COALESCE(name, ?5),"
           " avatar_url = COALESCE(?6, avatar_url) WHERE id = ?1");

static void user_row(struct db_cur *c, struct arena *a, void *row)
{
    (void)a;
    struct user *u = row;
    db_col_copy(c, 0, u->id, sizeof(u->id));
    db_col_copy(c, 1, u->email, sizeof(u->email));
    db_col_copy(c, 2, u->name, sizeof(u->name));
    db_col_copy(c, 3, u->avatar_url, sizeof(u->avatar_url));
    u->created_at = db_col_i64(c, 4);
    u->last_login_at = db_col_i64(c, 5);
}

/* A one-statement op of the static sql with up to two text parameters
 * (p2 NULL: one), read by read into out; ERR_NOT_FOUND "noun". */
static int read_by(struct store *st, struct db_sql *sql, const char *p1, const char *p2,
                   db_row_fn read, void *out, const char *what, const char *not_found,
                   struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, NULL, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, sql, what);
    if (!rc) {
        db_bind_opt(&c, 1, p1);
        if (p2)
            db_bind_opt(&c, 2, p2);
        rc = db_step(&c);
        if (rc == DB_ROW) {
            read(&c, NULL, out);
            rc = 0;
        } else if (rc == DB_DONE) {
            rc = failf(e, ERR_NOT_FOUND, "%s", not_found);
        }
    }
    return db_leave(&c, rc);
}

static int user_query(struct store *st, struct db_sql *sql, const char *p1, const char *p2,
                      struct user *out, struct errinfo *e)
{
    return read_by(st, sql, p1, p2, user_row, out, "reading a user", "no such user", e);
}

static int user_insert(struct store *st, struct db_sql *sql, const char *email, const char *name,
                       const char *picture, const char *issuer, const char *subject, int64_t now,
                       int64_t login, struct user *out, struct errinfo *e)
{
    char id[STORE_ID_LEN];
    crypto_uuid(id);
    struct db_cur c;
    int rc = db_enter(&c, st, NULL, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, sql, "creating a user");
    if (!rc) {
        db_bind_opt(&c, 1, id);
        db_bind_opt(&c, 2, email);
        db_bind_opt(&c, 3, name);
        db_bind_opt(&c, 4, picture);
        db_bind_opt(&c, 5, issuer);
        db_bind_opt(&c, 6, subject);
        db_bind_i64(&c, 7, now);
        if (login)
            db_bind_i64(&c, 8, login);
        rc = db_run(&c);
        if (!rc && db_changes(&c) == 0)
            rc = ERR_CONFLICT;
    }
    rc = db_leave(&c, rc);
    if (rc == ERR_CONFLICT)
        return failf(e, ERR_CONFLICT, "a user with email %s already exists", email);
    return rc ? rc : user_query(st, &sql_user_by_id, id, NULL, out, e);
}

int store_user_create(struct store *st, const char *email, const char *name, int64_t now,
                      struct user *out, struct errinfo *e)
{
    return user_insert(st, &sql_user_insert, email, name, NULL, NULL, NULL, now, 0, out, e);
}

int store_user_by_email(struct store *st, const char *email, struct user *out, struct errinfo *e)
{
    return user_query(st, &sql_user_by_email, email, NULL, out, e);
}

int store_user_by_id(struct store *st, const char *id, struct user *out, struct errinfo *e)
{
    return user_query(st, &sql_user_by_id, id, NULL, out, e);
}

int store_user_oidc_login(struct store *st, const char *issuer, const char *subject,
                          const char *email, const char *name, const char *picture, int64_t now,
                          struct user *out, struct errinfo *e)
{
    int rc = user_query(st, &sql_user_by_sub, issuer, subject, out, e);
    if (rc == ERR_NOT_FOUND)
        rc = user_query(st, &sql_user_by_email, email, NULL, out, e);
    if (rc == ERR_NOT_FOUND) {
        rc = user_insert(st, &sql_user_insert_quiet, email, name, picture, issuer, subject, now,
                         now, out, e);
        if (rc != ERR_CONFLICT)
            return rc;
        /* Created by a concurrent sign-in of the same person: use that row. */
        rc = user_query(st, &sql_user_by_email, email, NULL, out, e);
    }
    if (rc)
        return rc;
    struct db_cur c;
    if ((rc = db_enter(&c, st, NULL, DB_ONE, e)))
        return rc;
    rc = db_prepare(&c, &sql_user_login, "recording a sign-in");
    if (!rc) {
        db_bind_opt(&c, 1, out->id);
        db_bind_i64(&c, 2, now);
        db_bind_opt(&c, 3, issuer);
        db_bind_opt(&c, 4, subject);
        db_bind_opt(&c, 5, name);
        db_bind_opt(&c, 6, picture);
        rc = db_run(&c);
    }
    out->last_login_at = now;
    return db_leave(&c, rc);
}

/* A whole op listing the rows of the static sql (?1 = p1 when not NULL). */
static int list_by(struct store *st, const char *workspace_id, struct db_sql *sql, const char *p1,
                   db_row_fn read, struct arena *a, void **rows, size_t sz, size_t *n,
                   const char *what, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, sql, what);
    if (!rc) {
        if (p1)
            db_bind_opt(&c, 1, p1);
        rc = db_read_all(&c, read, a, rows, sz, n, 0, NULL);
    }
    return db_leave(&c, rc);
}

int store_user_list(struct store *st, struct arena *a, struct user **rows, size_t *n,
                    struct errinfo *e)
{
    return list_by(st, NULL, &sql_user_list, NULL, user_row, a, (void **)rows, sizeof(**rows), n,
                   "listing users", e);
}

/* ---- organizations, workspaces, membership ---- */

/* The user's row lock makes concurrent bootstraps on PostgreSQL run one
 * after the other; SQLite's BEGIN IMMEDIATE does the same. */
static struct db_sql sql_user_lock =
    DB_SQL2("SELECT 1 FROM user_profiles WHERE id = ?1",
            "SELECT 1 FROM user_profiles WHERE id = ?1 FOR UPDATE");
static struct db_sql sql_member_count =
    DB_SQL("SELECT COUNT(*) FROM user_organizations WHERE user_id = ?1");
static struct db_sql sql_org_insert =
    DB_SQL("INSERT INTO organizations (id, name, created_at) VALUES (?1, ?2, ?3)");
static struct db_sql sql_member_insert = DB_SQL(
    "INSERT INTO user_organizations (user_id, org_id, role, created_at) VALUES (?1, ?2, ?3, ?4)");
static struct db_sql sql_ws_insert =
    DB_SQL("INSERT INTO workspaces (id, org_id, name, created_at) VALUES (?1, ?2, ?3, ?4)");
static struct db_sql sql_user_orgs = DB_SQL(
    "SELECT o.id, o.name, m.role FROM user_organizations m JOIN organizations o ON o.id = m.org_id"
    " WHERE m.user_id = ?1 ORDER BY o.created_at, o.id");
static struct db_sql sql_user_workspaces = DB_SQL(
    "SELECT w.id, w.org_id, w.name, m.role FROM user_organizations m"
    " JOIN workspaces w ON w.org_id = m.org_id WHERE m.user_id = ?1 ORDER BY w.created_at, w.id");
static struct db_sql sql_member_role =
    DB_SQL("SELECT m.role FROM workspaces w JOIN user_organizations m ON m.org_id = w.org_id"
           " WHERE w.id = ?1 AND m.user_id = ?2");
static struct db_sql sql_ws_owner =
    DB_SQL("SELECT m.user_id FROM workspaces w JOIN user_organizations m ON m.org_id = w.org_id"
           " WHERE w.id = ?1 AND m.role = 'owner' ORDER BY m.created_at LIMIT 1");
static struct db_sql sql_member_emails =
    DB_SQL("SELECT u.email FROM workspaces w JOIN user_organizations uo ON uo.org_id = w.org_id"
           " JOIN user_profiles u ON u.id = uo.user_id WHERE w.id = ?1 ORDER BY u.email");

/* Runs the prepared insert with four text-or-time parameters. */
static int insert4(struct db_cur *c, struct db_sql *sql, const char *what, const char *p1,
                   const char *p2, const char *p3, int64_t now)
{
    int rc = db_prepare(c, sql, what);
    if (rc)
        return rc;
    db_bind_opt(c, 1, p1);
    db_bind_opt(c, 2, p2);
    if (p3) {
        db_bind_opt(c, 3, p3);
        db_bind_i64(c, 4, now);
    } else {
        db_bind_i64(c, 3, now);
    }
    return db_run(c);
}

int store_user_bootstrap(struct store *st, const char *user_id, const char *org_name, int64_t now,
                         bool *created, struct errinfo *e)
{
    *created = false;
    struct db_cur c;
    int rc = db_enter(&c, st, NULL, DB_TX, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_user_lock, "locking the user");
    if (!rc) {
        db_bind_opt(&c, 1, user_id);
        rc = db_step(&c);
        rc = rc == DB_DONE ? failf(e, ERR_NOT_FOUND, "no such user") : rc < 0 ? rc : 0;
    }
    int64_t count = 0;
    if (!rc && !(rc = db_prepare(&c, &sql_member_count, "reading memberships"))) {
        db_bind_opt(&c, 1, user_id);
        if ((rc = db_step(&c)) == DB_ROW) {
            count = db_col_i64(&c, 0);
            rc = 0;
        }
    }
    if (rc || count > 0)
        return db_leave(&c, rc);

    char org_id[STORE_ID_LEN], ws_id[STORE_ID_LEN];
    crypto_uuid(org_id);
    crypto_uuid(ws_id);
    rc = insert4(&c, &sql_org_insert, "creating the organization", org_id, org_name, NULL, now);
    if (!rc)
        rc = insert4(&c, &sql_member_insert, "adding the owner", user_id, org_id, "owner", now);
    /* On PostgreSQL the new workspace's counters row is written by a trigger,
     * under the workspace policy: the transaction works in the new workspace. */
    if (!rc)
        rc = db_set(&c, "workspace_id", ws_id);
    if (!rc)
        rc = insert4(&c, &sql_ws_insert, "creating the default workspace", ws_id, org_id,
                     "Default Workspace", now);
    rc = db_leave(&c, rc);
    *created = rc == 0;
    return rc;
}

static void org_row(struct db_cur *c, struct arena *a, void *row)
{
    (void)a;
    struct org_row *o = row;
    db_col_copy(c, 0, o->id, sizeof(o->id));
    db_col_copy(c, 1, o->name, sizeof(o->name));
    o->role = role_parse(db_col_text(c, 2));
}

int store_user_orgs(struct store *st, const char *user_id, struct arena *a, struct org_row **rows,
                    size_t *n, struct errinfo *e)
{
    return list_by(st, NULL, &sql_user_orgs, user_id, org_row, a, (void **)rows, sizeof(**rows), n,
                   "listing organizations", e);
}

static void ws_row(struct db_cur *c, struct arena *a, void *row)
{
    (void)a;
    struct ws_row *w = row;
    db_col_copy(c, 0, w->id, sizeof(w->id));
    db_col_copy(c, 1, w->org_id, sizeof(w->org_id));
    db_col_copy(c, 2, w->name, sizeof(w->name));
    w->role = role_parse(db_col_text(c, 3));
}

int store_user_workspaces(struct store *st, const char *user_id, struct arena *a,
                          struct ws_row **rows, size_t *n, struct errinfo *e)
{
    return list_by(st, NULL, &sql_user_workspaces, user_id, ws_row, a, (void **)rows,
                   sizeof(**rows), n, "listing workspaces", e);
}

static void role_row(struct db_cur *c, struct arena *a, void *out)
{
    (void)a;
    *(int *)out = role_parse(db_col_text(c, 0));
}

int store_member_role(struct store *st, const char *workspace_id, const char *user_id, int *role,
                      struct errinfo *e)
{
    *role = ROLE_NONE;
    return read_by(st, &sql_member_role, workspace_id, user_id, role_row, role,
                   "checking membership", "workspace not found", e);
}

static void id_row(struct db_cur *c, struct arena *a, void *out)
{
    (void)a;
    db_col_copy(c, 0, out, STORE_ID_LEN);
}

int store_workspace_owner(struct store *st, const char *workspace_id, char user_id[STORE_ID_LEN],
                          struct errinfo *e)
{
    return read_by(st, &sql_ws_owner, workspace_id, NULL, id_row, user_id,
                   "finding the workspace owner", "workspace not found", e);
}

static void email_row(struct db_cur *c, struct arena *a, void *out)
{
    *(char **)out = (char *)db_col_dup(c, 0, a);
}

int store_workspace_member_emails(struct store *st, const char *workspace_id, struct arena *a,
                                  char ***emails, size_t *n, struct errinfo *e)
{
    return list_by(st, NULL, &sql_member_emails, workspace_id, email_row, a, (void **)emails,
                   sizeof(**emails), n, "reading members", e);
}

/* ---- sender identity ---- */

static struct db_sql sql_sender_get =
    DB_SQL("SELECT sender_name, sender_email, reply_to FROM workspaces WHERE id = ?1");
static struct db_sql sql_sender_set = DB_SQL(
    "UPDATE workspaces SET sender_name = ?2, sender_email = ?3, reply_to = ?4 WHERE id = ?1");

static void sender_row(struct db_cur *c, struct arena *a, void *out)
{
    struct sender_identity *o = out;
    o->name = db_col_opt(c, 0, a);
    o->email = db_col_opt(c, 1, a);
    o->reply_to = db_col_opt(c, 2, a);
}

int store_workspace_sender_get(struct store *st, const char *workspace_id, struct arena *a,
                               struct sender_identity *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_sender_get, "reading the sender identity");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        rc = db_read_one(&c, sender_row, a, out, "workspace");
    }
    return db_leave(&c, rc);
}

int store_workspace_sender_set(struct store *st, const char *workspace_id,
                               const struct sender_identity *in, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_sender_set, "setting the sender identity");
    if (!rc) {
        db_bind_str(&c, 1, workspace_id);
        db_bind_opt(&c, 2, in->name);
        db_bind_opt(&c, 3, in->email);
        db_bind_opt(&c, 4, in->reply_to);
        rc = db_run_one(&c, "workspace");
    }
    return db_leave(&c, rc);
}

/* ---- sessions ---- */

#define SESSION_COLS                                                                               \
    "id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at,"                          \
    " COALESCE(revoked_at, 0), COALESCE(user_agent,''), COALESCE(ip,'')"

static struct db_sql sql_session_insert =
    DB_SQL("INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at,"
           " expires_at, user_agent, ip) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
static struct db_sql sql_session_get =
    DB_SQL("SELECT " SESSION_COLS " FROM sessions WHERE id_hash = ?1");
static struct db_sql sql_session_touch =
    DB_SQL("UPDATE sessions SET last_seen_at = ?2, expires_at = ?3 WHERE id_hash = ?1"
           " AND revoked_at IS NULL");
static struct db_sql sql_session_revoke =
    DB_SQL("UPDATE sessions SET revoked_at = ?3 WHERE id_hash = ?2 AND user_id = ?1"
           " AND revoked_at IS NULL");
static struct db_sql sql_session_list =
    DB_SQL("SELECT " SESSION_COLS " FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL"
           " AND expires_at > ?2 ORDER BY last_seen_at DESC");

static void session_row(struct db_cur *c, struct arena *a, void *row)
{
    (void)a;
    struct session_row *s = row;
    db_col_copy(c, 0, s->id_hash, sizeof(s->id_hash));
    db_col_copy(c, 1, s->user_id, sizeof(s->user_id));
    db_col_copy(c, 2, s->csrf, sizeof(s->csrf));
    s->created_at = db_col_i64(c, 3);
    s->last_seen_at = db_col_i64(c, 4);
    s->expires_at = db_col_i64(c, 5);
    s->revoked_at = db_col_i64(c, 6);
    db_col_copy(c, 7, s->user_agent, sizeof(s->user_agent));
    db_col_copy(c, 8, s->ip, sizeof(s->ip));
}

int store_session_create(struct store *st, const struct session_row *sr, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, NULL, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_session_insert, "creating a session");
    if (!rc) {
        db_bind_opt(&c, 1, sr->id_hash);
        db_bind_opt(&c, 2, sr->user_id);
        db_bind_opt(&c, 3, sr->csrf);
        db_bind_i64(&c, 4, sr->created_at);
        db_bind_i64(&c, 5, sr->last_seen_at);
        db_bind_i64(&c, 6, sr->expires_at);
        db_bind_opt(&c, 7, sr->user_agent);
        db_bind_opt(&c, 8, sr->ip);
        rc = db_run(&c);
    }
    return db_leave(&c, rc);
}

int store_session_get(struct store *st, const char *id_hash, struct session_row *out,
                      struct errinfo *e)
{
    return read_by(st, &sql_session_get, id_hash, NULL, session_row, out, "reading a session",
                   "no such session", e);
}

/* A one-statement write of the static sql: ntext texts from ?1 (p1, p2),
 * then ntimes times (t1, t2); ERR_NOT_FOUND "not_found" (when not NULL)
 * when it changed nothing. */
static int write_by(struct store *st, const char *workspace_id, struct db_sql *sql, int ntext,
                    const char *p1, const char *p2, int ntimes, int64_t t1, int64_t t2,
                    const char *what, const char *not_found, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, sql, what);
    if (!rc) {
        db_bind_opt(&c, 1, p1);
        if (ntext > 1)
            db_bind_opt(&c, 2, p2);
        db_bind_i64(&c, ntext + 1, t1);
        if (ntimes > 1)
            db_bind_i64(&c, ntext + 2, t2);
        rc = db_run(&c);
        if (!rc && not_found && db_changes(&c) == 0)
            rc = failf(e, ERR_NOT_FOUND, "%s", not_found);
    }
    return db_leave(&c, rc);
}

int store_session_touch(struct store *st, const char *id_hash, int64_t seen, int64_t expires,
                        struct errinfo *e)
{
    return write_by(st, NULL, &sql_session_touch, 1, id_hash, NULL, 2, seen, expires,
                    "renewing a session", NULL, e);
}

int store_session_revoke(struct store *st, const char *user_id, const char *id_hash, int64_t now,
                         struct errinfo *e)
{
    return write_by(st, NULL, &sql_session_revoke, 2, user_id, id_hash, 1, now, 0,
                    "revoking a session", "session not found", e);
}

int store_session_list(struct store *st, const char *user_id, int64_t now, struct arena *a,
                       struct session_row **rows, size_t *n, struct errinfo *e)
{
    *rows = NULL;
    *n = 0;
    struct db_cur c;
    int rc = db_enter(&c, st, NULL, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_session_list, "listing sessions");
    if (!rc) {
        db_bind_opt(&c, 1, user_id);
        db_bind_i64(&c, 2, now);
        rc = db_read_all(&c, session_row, a, (void **)rows, sizeof(**rows), n, 0, NULL);
    }
    return db_leave(&c, rc);
}

/* ---- OAuth states and one-time links ---- */

static struct db_sql sql_state_put = DB_SQL(
    "INSERT INTO oauth_states (state_hash, nonce, code_verifier, next_path, expires_at,"
    " purpose, workspace_id, user_id) VALUES (?1, ?2, ?3, ?4, ?5, COALESCE(?6, 'signin'), ?7, ?8)");
static struct db_sql sql_state_take = DB_SQL("DELETE FROM oauth_states WHERE state_hash = ?1"
                                             " RETURNING nonce, code_verifier, next_path,"
                                             " expires_at, purpose, workspace_id, user_id");
static struct db_sql sql_state_gc = DB_SQL("DELETE FROM oauth_states WHERE expires_at < ?1");
static struct db_sql sql_link_put = DB_SQL("INSERT INTO login_links (token_hash, user_id, "
                                           "created_at, expires_at) VALUES (?1, ?2, ?3, ?4)");
static struct db_sql sql_link_take =
    DB_SQL("UPDATE login_links SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL"
           " AND expires_at > ?2 RETURNING user_id");

int store_oauth_state_put(struct store *st, const char *state_hash, const struct oauth_state *o,
                          struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, NULL, DB_MANY, e);
    if (rc)
        return rc;
    /* Abandoned attempts are removed as new ones arrive. */
    rc = db_prepare(&c, &sql_state_gc, "removing old sign-in attempts");
    if (!rc) {
        db_bind_i64(&c, 1, o->expires_at - 3600 * 1000);
        rc = db_run(&c);
    }
    if (!rc)
        rc = db_prepare(&c, &sql_state_put, "storing a sign-in attempt");
    if (!rc) {
        db_bind_opt(&c, 1, state_hash);
        db_bind_opt(&c, 2, o->nonce);
        db_bind_opt(&c, 3, o->verifier);
        db_bind_str(&c, 4, o->next);
        db_bind_i64(&c, 5, o->expires_at);
        db_bind_opt(&c, 6, o->purpose);
        db_bind_opt(&c, 7, o->workspace_id);
        db_bind_opt(&c, 8, o->user_id);
        rc = db_run(&c);
    }
    return db_leave(&c, rc);
}

static void state_row(struct db_cur *c, struct arena *a, void *row)
{
    (void)a;
    struct oauth_state *out = row;
    db_col_copy(c, 0, out->nonce, sizeof(out->nonce));
    db_col_copy(c, 1, out->verifier, sizeof(out->verifier));
    db_col_copy(c, 2, out->next, sizeof(out->next));
    out->expires_at = db_col_i64(c, 3);
    db_col_copy(c, 4, out->purpose, sizeof(out->purpose));
    db_col_copy(c, 5, out->workspace_id, sizeof(out->workspace_id));
    db_col_copy(c, 6, out->user_id, sizeof(out->user_id));
}

/* A one-statement op whose RETURNING row is read, then the write finished. */
static int take(struct db_cur *c, db_row_fn read, void *out, const char *not_found)
{
    int rc = db_step(c);
    if (rc == DB_DONE)
        return failf(c->e, ERR_NOT_FOUND, "%s", not_found);
    if (rc < 0)
        return rc;
    read(c, NULL, out);
    return db_run(c);
}

int store_oauth_state_take(struct store *st, const char *state_hash, struct oauth_state *out,
                           struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, NULL, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_state_take, "taking a sign-in attempt");
    if (!rc) {
        db_bind_opt(&c, 1, state_hash);
        rc = take(&c, state_row, out, "unknown or already used sign-in attempt");
    }
    return db_leave(&c, rc);
}

int store_login_link_put(struct store *st, const char *token_hash, const char *user_id, int64_t now,
                         int64_t expires, struct errinfo *e)
{
    return write_by(st, NULL, &sql_link_put, 2, token_hash, user_id, 2, now, expires,
                    "storing a sign-in link", NULL, e);
}

int store_login_link_take(struct store *st, const char *token_hash, int64_t now,
                          char user_id[STORE_ID_LEN], struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, NULL, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_link_take, "using a sign-in link");
    if (!rc) {
        db_bind_opt(&c, 1, token_hash);
        db_bind_i64(&c, 2, now);
        rc = take(&c, id_row, user_id, "this sign-in link is unknown, used or expired");
    }
    return db_leave(&c, rc);
}

/* ---- first run ---- */

static struct db_sql sql_user_any = DB_SQL("SELECT 1 FROM user_profiles LIMIT 1");
static struct db_sql sql_setup_clear = DB_SQL("DELETE FROM setup_links");
static struct db_sql sql_setup_put = DB_SQL("INSERT INTO setup_links (token_hash, created_at,"
                                            " expires_at) VALUES (?1, ?2, ?3)");
static struct db_sql sql_setup_valid = DB_SQL(
    "SELECT 1 FROM setup_links WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2");
static struct db_sql sql_setup_take =
    DB_SQL("UPDATE setup_links SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL"
           " AND expires_at > ?2");

int store_users_exist(struct store *st, bool *any, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, NULL, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_user_any, "looking for users");
    if (!rc) {
        rc = db_step(&c);
        *any = rc == DB_ROW;
        rc = rc < 0 ? rc : 0;
    }
    return db_leave(&c, rc);
}

int store_setup_link_reset(struct store *st, const char *token_hash, int64_t now, int64_t expires,
                           struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, NULL, DB_MANY, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_setup_clear, "removing old first-run links");
    if (!rc)
        rc = db_run(&c);
    if (!rc)
        rc = db_prepare(&c, &sql_setup_put, "storing a first-run link");
    if (!rc) {
        db_bind_opt(&c, 1, token_hash);
        db_bind_i64(&c, 2, now);
        db_bind_i64(&c, 3, expires);
        rc = db_run(&c);
    }
    return db_leave(&c, rc);
}

int store_setup_link_check(struct store *st, const char *token_hash, int64_t now, struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, NULL, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_setup_valid, "checking a first-run link");
    if (!rc) {
        db_bind_opt(&c, 1, token_hash);
        db_bind_i64(&c, 2, now);
        rc = db_step(&c);
        if (rc == DB_DONE)
            rc = failf(e, ERR_NOT_FOUND, "this first-run link is unknown, used or expired");
        else if (rc == DB_ROW)
            rc = 0;
    }
    return db_leave(&c, rc);
}

int store_setup_link_take(struct store *st, const char *token_hash, int64_t now, struct errinfo *e)
{
    return write_by(st, NULL, &sql_setup_take, 1, token_hash, NULL, 1, now, 0,
                    "using a first-run link", "this first-run link is unknown, used or expired", e);
}

/* ---- API tokens ---- */

#define TOKEN_COLS                                                                                 \
    "id, workspace_id, user_id, name, created_at, COALESCE(last_used_at,0), "                      \
    "COALESCE(revoked_at,0)"

static struct db_sql sql_token_insert =
    DB_SQL("INSERT INTO api_tokens (id, workspace_id, user_id, name, token_hash, created_at)"
           " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
static struct db_sql sql_token_find =
    DB_SQL("SELECT " TOKEN_COLS " FROM api_tokens WHERE token_hash = ?1");
static struct db_sql sql_token_revoke =
    DB_SQL("UPDATE api_tokens SET revoked_at = ?3 WHERE workspace_id = ?1 AND id = ?2"
           " AND revoked_at IS NULL");
static struct db_sql sql_token_list =
    DB_SQL("SELECT " TOKEN_COLS " FROM api_tokens WHERE workspace_id = ?1 ORDER BY created_at");

static void token_row(struct db_cur *c, struct arena *a, void *row)
{
    (void)a;
    struct api_token *t = row;
    db_col_copy(c, 0, t->id, sizeof(t->id));
    db_col_copy(c, 1, t->workspace_id, sizeof(t->workspace_id));
    db_col_copy(c, 2, t->user_id, sizeof(t->user_id));
    db_col_copy(c, 3, t->name, sizeof(t->name));
    t->created_at = db_col_i64(c, 4);
    t->last_used_at = db_col_i64(c, 5);
    t->revoked_at = db_col_i64(c, 6);
}

int store_api_token_create(struct store *st, const char *workspace_id, const char *user_id,
                           const char *name, const char *token_hash, int64_t now,
                           struct api_token *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    crypto_uuid(out->id);
    snprintf(out->workspace_id, sizeof(out->workspace_id), "%s", workspace_id);
    snprintf(out->user_id, sizeof(out->user_id), "%s", user_id);
    snprintf(out->name, sizeof(out->name), "%s", name);
    out->created_at = now;
    struct db_cur c;
    int rc = db_enter(&c, st, workspace_id, DB_ONE, e);
    if (rc)
        return rc;
    rc = db_prepare(&c, &sql_token_insert, "creating an API token");
    if (!rc) {
        db_bind_opt(&c, 1, out->id);
        db_bind_opt(&c, 2, workspace_id);
        db_bind_opt(&c, 3, user_id);
        db_bind_opt(&c, 4, name);
        db_bind_opt(&c, 5, token_hash);
        db_bind_i64(&c, 6, now);
        rc = db_run(&c);
    }
    return db_leave(&c, rc);
}

int store_api_token_find(struct store *st, const char *token_hash, struct api_token *out,
                         struct errinfo *e)
{
    struct db_cur c;
    int rc = db_enter(&c, st, NULL, DB_SETTINGS, e);
    if (rc)
        return rc;
    /* PostgreSQL's policy token_by_hash shows the row to whoever knows the hash. */
    rc = db_set(&c, "token_hash", token_hash);
    if (!rc)
        rc = db_prepare(&c, &sql_token_find, "reading an API token");
    if (!rc) {
        db_bind_opt(&c, 1, token_hash);
        rc = db_read_one(&c, token_row, NULL, out, "API token");
        if (rc == ERR_NOT_FOUND)
            rc = failf(e, ERR_NOT_FOUND, "no such API token");
    }
    return db_leave(&c, rc);
}

int store_api_token_revoke(struct store *st, const char *workspace_id, const char *id, int64_t now,
                           struct errinfo *e)
{
    return write_by(st, workspace_id, &sql_token_revoke, 2, workspace_id, id, 1, now, 0,
                    "revoking an API token", "API token not found", e);
}

int store_api_token_list(struct store *st, const char *workspace_id, struct arena *a,
                         struct api_token **rows, size_t *n, struct errinfo *e)
{
    return list_by(st, workspace_id, &sql_token_list, workspace_id, token_row, a, (void **)rows,
                   sizeof(**rows), n, "listing API tokens", e);
}
