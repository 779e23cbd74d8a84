/*
 * Sessions, API tokens, sign-in links, CSRF and the router guard.
 */
#include "auth/auth.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "http/router.h"
#include "store/auth.h"

void auth_hash_token(const char *token, char out[65])
{
    uint8_t h[SHA256_LEN];
    crypto_sha256(token, strlen(token), h);
    crypto_hex(h, sizeof(h), out);
}

static bool is_https(const struct config *cfg)
{
    return cfg->public_url && strncmp(cfg->public_url, "https://", 8) == 0;
}

int auth_session_start(struct store *st, const struct config *cfg, struct http_req *req,
                       const char *user_id, const char **cookie, struct errinfo *e)
{
    char token[AUTH_TOKEN_LEN];
    struct session_row s;
    memset(&s, 0, sizeof(s));
    crypto_token(token, sizeof(token), 32);
    auth_hash_token(token, s.id_hash);
    crypto_token(s.csrf, sizeof(s.csrf), 24);
    snprintf(s.user_id, sizeof(s.user_id), "%s", user_id);
    int64_t now = clock_now_ms();
    s.created_at = now;
    s.last_seen_at = now;
    s.expires_at = now + AUTH_SESSION_IDLE_MS;
    const char *ua = http_req_header(req, "User-Agent");
    snprintf(s.user_agent, sizeof(s.user_agent), "%s", ua ? ua : "");
    snprintf(s.ip, sizeof(s.ip), "%s", http_req_client_ip(req));
    int rc = store_session_create(st, &s, e);
    if (rc)
        return rc;
    *cookie = arena_printf(req->arena, "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%lld%s",
                           AUTH_COOKIE, token, (long long)(AUTH_SESSION_MAX_MS / 1000),
                           is_https(cfg) ? "; Secure" : "");
    log_info("auth.session_started", "session started for user %s", user_id);
    return 0;
}

const char *auth_cookie_clear(const struct config *cfg)
{
    return is_https(cfg) ? AUTH_COOKIE "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure"
                         : AUTH_COOKIE "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0";
}

const char *auth_state_cookie(const struct config *cfg, struct arena *a, const char *name,
                              const char *path, const char *state)
{
    return arena_printf(a, "%s=%s; Path=%s; HttpOnly; SameSite=Lax; Max-Age=%d%s", name, state,
                        path, AUTH_STATE_TTL_S, is_https(cfg) ? "; Secure" : "");
}

const char *auth_state_cookie_clear(const struct config *cfg, struct arena *a, const char *name,
                                    const char *path)
{
    return arena_printf(a, "%s=; Path=%s; HttpOnly; SameSite=Lax; Max-Age=0%s", name, path,
                        is_https(cfg) ? "; Secure" : "");
}

bool auth_state_matches(const struct http_req *req, const char *name, const char *state)
{
    const char *cookie = http_req_cookie(req, name);
    if (!cookie || !state || !*state)
        return false;
    size_t n = strlen(state);
    /* The lengths are not secret (every state has the same one); the
     * content is compared without an early exit. */
    return strlen(cookie) == n && crypto_equal(cookie, state, n);
}

int auth_link_create(struct store *st, const struct config *cfg, const char *email, char *url,
                     size_t n, struct errinfo *e)
{
    struct user u;
    int rc = store_user_by_email(st, email, &u, e);
    if (rc == ERR_NOT_FOUND)
        return failf(e, ERR_NOT_FOUND, "no user %s (add one with: leadflow user add %s)", email,
                     email);
    if (rc)
        return rc;
    char token[AUTH_TOKEN_LEN], hash[65];
    crypto_token(token, sizeof(token), 32);
    auth_hash_token(token, hash);
    int64_t now = clock_now_ms();
    rc = store_login_link_put(st, hash, u.id, now, now + AUTH_LINK_TTL_MS, e);
    if (rc)
        return rc;
    snprintf(url, n, "%s/auth/link/%s", cfg->public_url, token);
    return 0;
}

int auth_bootstrap(struct store *st, const struct user *u, bool *created, struct errinfo *e)
{
    char org[STORE_NAME_MAX + 32];
    const char *who = u->name[0] ? u->name : u->email;
    size_t n = strcspn(who, "@");
    snprintf(org, sizeof(org), "%.*s's Organization", (int)(n > 150 ? 150 : n), who);
    return store_user_bootstrap(st, u->id, org, clock_now_ms(), created, e);
}

int auth_first_run_link(struct store *st, const char *base_url, char *url, size_t n,
                        struct errinfo *e)
{
    bool any = true;
    int rc = store_users_exist(st, &any, e);
    if (rc)
        return rc;
    url[0] = '\0';
    if (any)
        return 0;
    char token[AUTH_TOKEN_LEN], hash[65];
    crypto_token(token, sizeof(token), 32);
    auth_hash_token(token, hash);
    int64_t now = clock_now_ms();
    rc = store_setup_link_reset(st, hash, now, now + AUTH_SETUP_TTL_MS, e);
    if (rc)
        return rc;
    snprintf(url, n, "%s/setup/%s", base_url, token);
    return 0;
}

int auth_first_run_check(struct store *st, const char *token, struct errinfo *e)
{
    bool any = true;
    int rc = store_users_exist(st, &any, e);
    if (rc)
        return rc;
    if (any)
        return failf(e, ERR_NOT_FOUND, "this server has an owner already: sign in instead");
    char hash[65];
    auth_hash_token(token, hash);
    return store_setup_link_check(st, hash, clock_now_ms(), e);
}

struct first_run {
    const char *hash, *name, *email;
    struct user *out;
};

/* In one transaction: the link is spent, the database is still without
 * users, the owner and their organization are created. */
static int first_run_tx(struct store *st, void *arg, struct errinfo *e)
{
    struct first_run *f = arg;
    int64_t now = clock_now_ms();
    int rc = store_setup_link_take(st, f->hash, now, e);
    bool any = true, created;
    if (!rc)
        rc = store_users_exist(st, &any, e);
    if (!rc && any)
        rc = failf(e, ERR_NOT_FOUND, "this server has an owner already: sign in instead");
    if (!rc)
        rc = store_user_create(st, f->email, f->name, now, f->out, e);
    if (!rc)
        rc = auth_bootstrap(st, f->out, &created, e);
    return rc;
}

int auth_first_run_finish(struct store *st, const char *token, const char *name, const char *email,
                          struct user *out, struct errinfo *e)
{
    char hash[65];
    auth_hash_token(token, hash);
    struct first_run f = {hash, name, email, out};
    return store_tx_run(st, first_run_tx, &f, e);
}

int auth_token_create(struct store *st, const char *workspace_id, const char *user_id,
                      const char *name, char token[AUTH_TOKEN_LEN], struct api_token *out,
                      struct errinfo *e)
{
    char raw[AUTH_TOKEN_LEN - 4], hash[65];
    crypto_token(raw, sizeof(raw), 32);
    snprintf(token, AUTH_TOKEN_LEN, "%s%s", AUTH_TOKEN_PREFIX, raw);
    auth_hash_token(token, hash);
    return store_api_token_create(st, workspace_id, user_id, name, hash, clock_now_ms(), out, e);
}

bool auth_safe_next(const char *next)
{
    if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\')
        return false;
    for (const char *p = next; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '\\' || *p == 0x7f)
            return false;
    return strlen(next) < 512;
}

/* ---- rate limits ---- */

enum { RATE_SLOTS = 1024 };

static struct {
    pthread_mutex_t mu;
    struct {
        int64_t window;
        int count;
    } slot[RATE_SLOTS];
} rate = {PTHREAD_MUTEX_INITIALIZER, {{0, 0}}};

int auth_rate_check(const char *ip, int limit, struct errinfo *e)
{
    uint8_t h[SHA256_LEN];
    crypto_sha256(ip, strlen(ip), h);
    size_t i = ((size_t)h[0] << 8 | h[1]) % RATE_SLOTS;
    int64_t window = clock_now_ms() / 60000;
    pthread_mutex_lock(&rate.mu);
    /* One slot per address hash: a collision shares a budget, which only
     * makes the limit stricter for the two addresses involved. (Resetting the
     * count when another address arrives would let two colliding addresses
     * taking turns through without limit.) */
    if (rate.slot[i].window != window) {
        rate.slot[i].window = window;
        rate.slot[i].count = 0;
    }
    int count = ++rate.slot[i].count;
    pthread_mutex_unlock(&rate.mu);
    if (count > limit)
        return failf(e, ERR_RATE_LIMITED, "too many sign-in attempts; try again in a minute");
    return 0;
}

/* ---- the guard ---- */

/*
 * A per-thread cache of what the guard read from the database: a token's or
 * a session's row by its hash, and a member's role in a workspace. Each
 * request would otherwise pay two or three lookups before its handler runs.
 * An entry lives LEADFLOW_AUTH_CACHE_MS (0 turns the cache off); any revocation in this process (a
 * session ended, a token revoked) bumps a generation that empties every
 * thread's cache at once, so a revoked credential stops working here at
 * once and, for changes made by another process, within the TTL.
 */
enum { AUTH_CACHE_SLOTS = 128 };

struct auth_cached {
    char key[65 + STORE_ID_LEN]; /* hash, or workspace id + user id; "" = free */
    unsigned gen;
    int64_t until;
    bool is_session;
    struct api_token t;
    struct session_row s;
    int role;
};

static atomic_uint auth_gen = 1;
static _Thread_local struct auth_cached auth_cache[AUTH_CACHE_SLOTS];

void auth_cache_invalidate(void)
{
    atomic_fetch_add(&auth_gen, 1);
}

static struct auth_cached *cache_slot(const char *key)
{
    unsigned h = 2166136261u;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &auth_cache[h % AUTH_CACHE_SLOTS];
}

/* The live entry for key, or NULL. */
static struct auth_cached *cache_get(const struct auth_ctx *a, const char *key, int64_t now)
{
    if (a->cfg->auth_cache_ms <= 0)
        return NULL;
    struct auth_cached *c = cache_slot(key);
    if (c->gen != atomic_load(&auth_gen) || c->until <= now || strcmp(c->key, key) != 0)
        return NULL;
    return c;
}

/* The slot for key, claimed for a new entry (it expires at once when the
 * cache is off). */
static struct auth_cached *cache_put(const struct auth_ctx *a, const char *key, int64_t now)
{
    struct auth_cached *c = cache_slot(key);
    snprintf(c->key, sizeof(c->key), "%s", key);
    c->gen = atomic_load(&auth_gen);
    c->until = now + a->cfg->auth_cache_ms;
    return c;
}

static int authenticate_token(struct auth_ctx *a, const char *token, struct auth_info *ai,
                              struct errinfo *e)
{
    char hash[65];
    int64_t now = clock_now_ms();
    auth_hash_token(token, hash);
    struct auth_cached *c = cache_get(a, hash, now);
    struct api_token t;
    if (c && !c->is_session) {
        t = c->t;
    } else {
        int rc = store_api_token_find(a->store, hash, &t, e);
        if (rc == ERR_NOT_FOUND || (!rc && t.revoked_at))
            return failf(e, ERR_UNAUTHORIZED, "the API token is not valid");
        if (rc)
            return rc;
        c = cache_put(a, hash, now);
        c->is_session = false;
        c->t = t;
    }
    snprintf(ai->user_id, sizeof(ai->user_id), "%s", t.user_id);
    snprintf(ai->token_workspace, sizeof(ai->token_workspace), "%s", t.workspace_id);
    ai->via_token = true;
    return 0;
}

static int authenticate_session(struct auth_ctx *a, const char *cookie, struct auth_info *ai,
                                struct errinfo *e)
{
    struct session_row s;
    int64_t now = clock_now_ms();
    auth_hash_token(cookie, ai->session_hash);
    struct auth_cached *c = cache_get(a, ai->session_hash, now);
    if (c && c->is_session) {
        s = c->s;
    } else {
        int rc = store_session_get(a->store, ai->session_hash, &s, e);
        if (rc == ERR_NOT_FOUND || (!rc && s.revoked_at))
            return failf(e, ERR_UNAUTHORIZED, "your session has ended; sign in again");
        if (rc)
            return rc;
        c = cache_put(a, ai->session_hash, now);
        c->is_session = true;
        c->s = s;
    }
    if (s.expires_at <= now)
        return failf(e, ERR_UNAUTHORIZED, "your session has ended; sign in again");
    /* Sliding expiry, written at most once a minute, never past the cap. */
    if (now - s.last_seen_at > 60000) {
        int64_t expires = now + AUTH_SESSION_IDLE_MS;
        if (expires > s.created_at + AUTH_SESSION_MAX_MS)
            expires = s.created_at + AUTH_SESSION_MAX_MS;
        struct errinfo ignored;
        if (store_session_touch(a->store, ai->session_hash, now, expires, &ignored) == 0) {
            c->s.last_seen_at = now;
            c->s.expires_at = expires;
        }
    }
    snprintf(ai->user_id, sizeof(ai->user_id), "%s", s.user_id);
    snprintf(ai->csrf, sizeof(ai->csrf), "%s", s.csrf);
    return 0;
}

/* The user's role in the workspace, through the cache. */
static int member_role(struct auth_ctx *a, const char *ws, const char *user_id, int *role,
                       struct errinfo *e)
{
    char key[65 + STORE_ID_LEN];
    int64_t now = clock_now_ms();
    snprintf(key, sizeof(key), "%s/%s", ws, user_id);
    struct auth_cached *c = cache_get(a, key, now);
    if (c) {
        *role = c->role;
        return 0;
    }
    int rc = store_member_role(a->store, ws, user_id, role, e);
    if (rc)
        return rc;
    c = cache_put(a, key, now);
    c->is_session = false;
    memset(&c->t, 0, sizeof(c->t));
    c->role = *role;
    return 0;
}

/* Finds workspaceId in the query string, else in the JSON body. */
static const char *find_workspace_id(struct http_req *req, struct errinfo *e, int *rc)
{
    const char *ws = http_req_query(req, "workspaceId");
    *rc = 0;
    if (ws)
        return ws;
    if (req->body.len == 0)
        return NULL;
    *rc = http_req_parse_json(req, e);
    if (*rc)
        return NULL;
    return json_string_value(json_object_get(req->json, "workspaceId"));
}

int auth_guard(void *ctx, struct http_req *req, struct errinfo *e)
{
    struct auth_ctx *a = ctx;
    unsigned flags = req->route->flags;
    struct auth_info *ai = arena_calloc(req->arena, sizeof(*ai));
    int rc;

    const char *authz = http_req_header(req, "Authorization");
    const char *cookie = http_req_cookie(req, AUTH_COOKIE);
    if (authz && strncasecmp(authz, "Bearer ", 7) == 0)
        rc = authenticate_token(a, authz + 7, ai, e);
    else if (authz)
        rc = failf(e, ERR_UNAUTHORIZED, "the Authorization header must be Bearer <token>");
    else if (cookie && *cookie)
        rc = authenticate_session(a, cookie, ai, e);
    else
        rc = failf(e, ERR_UNAUTHORIZED, "sign-in required");
    if (rc)
        return rc;

    bool writes = (flags & ROUTE_WRITE) || !(req->method & (HTTP_GET | HTTP_HEAD));
    if (writes && !ai->via_token) {
        const char *sent = http_req_header(req, AUTH_CSRF_HEADER);
        size_t n = strlen(ai->csrf);
        if (!sent || strlen(sent) != n || !crypto_equal(sent, ai->csrf, n))
            return failf(e, ERR_FORBIDDEN, "missing or wrong %s header", AUTH_CSRF_HEADER);
    }

    if (flags & ROUTE_WORKSPACE) {
        const char *ws = find_workspace_id(req, e, &rc);
        if (rc)
            return rc;
        if (!ws || !*ws)
            return failf(e, ERR_INVALID, "workspaceId is required");
        /* Unknown, foreign and malformed ids all get the same answer. */
        if (strlen(ws) >= STORE_ID_LEN)
            return failf(e, ERR_NOT_FOUND, "workspace not found");
        if (ai->via_token && strcmp(ws, ai->token_workspace) != 0)
            return failf(e, ERR_NOT_FOUND, "workspace not found");
        rc = member_role(a, ws, ai->user_id, &ai->role, e);
        if (rc == ERR_NOT_FOUND)
            return failf(e, ERR_NOT_FOUND, "workspace not found");
        if (rc)
            return rc;
        if (writes && ai->role < ROLE_MEMBER)
            return failf(e, ERR_FORBIDDEN, "viewers cannot change this workspace");
        snprintf(ai->workspace_id, sizeof(ai->workspace_id), "%s", ws);
    }
    req->auth = ai;
    return 0;
}

bool auth_signed_in(struct auth_ctx *a, const struct http_req *req)
{
    const char *cookie = http_req_cookie(req, AUTH_COOKIE);
    struct auth_info ai;
    struct errinfo e;
    errinfo_clear(&e);
    return cookie && *cookie && authenticate_session(a, cookie, &ai, &e) == 0;
}
