/*
 * Sign-in routes: the OpenID Connect redirect and callback, one-time links,
 * sign-out, the first-login bootstrap, the caller's profile, sessions and
 * API tokens.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "auth/oidc.h"
#include "base/clock.h"
#include "base/log.h"
#include "http/reply.h"
#include "store/auth.h"

enum { SIGNIN_RATE_PER_MIN = 30 };

#define LANDING "/dashboard/overview"

/* The cookie that binds a sign-in's state to the browser that started it;
 * only /auth/callback needs it back. */
#define STATE_COOKIE "lf_signin_state"
#define STATE_COOKIE_PATH "/auth"

/* Sets the session cookie for u and redirects to next. */
static int finish_sign_in(struct http_req *req, struct http_reply *rep, const struct user *u,
                          const char *next)
{
    const struct api_ctx *ctx = req->ctx;
    struct errinfo e;
    errinfo_clear(&e);
    bool created;
    const char *cookie = NULL;
    int rc = auth_bootstrap(ctx->store, u, &created, &e);
    if (!rc)
        rc = auth_session_start(ctx->store, ctx->cfg, req, u->id, &cookie, &e);
    if (rc) {
        log_error("auth.sign_in_failed", "sign-in of %s failed: %s", u->email, e.msg);
        return api_redirect_login_error(req, rep, "sign-in failed on the server; try again");
    }
    api_redirect(req, rep, 302, auth_safe_next(next) ? next : LANDING);
    http_reply_header(rep, "Set-Cookie", cookie);
    return 0;
}

static int login_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    if (auth_rate_check(http_req_client_ip(req), SIGNIN_RATE_PER_MIN, e))
        return ERR_RATE_LIMITED;
    if (!oidc_configured(ctx->oidc))
        return api_redirect_login_error(req, rep,
                                        "no sign-in provider is configured; ask for a sign-in link "
                                        "(leadflow user login-link EMAIL)");
    const char *next = http_req_query(req, "next");
    const char *url = NULL, *state = NULL;
    struct errinfo oe;
    errinfo_clear(&oe);
    int rc =
        oidc_begin(ctx->oidc, auth_safe_next(next) ? next : LANDING, req->arena, &url, &state, &oe);
    if (rc) {
        log_warn("auth.login_failed", "cannot start sign-in: %s", oe.msg);
        return api_redirect_login_error(req, rep, "the sign-in provider cannot be reached");
    }
    api_redirect(req, rep, 302, url);
    http_reply_header(
        rep, "Set-Cookie",
        auth_state_cookie(ctx->cfg, req->arena, STATE_COOKIE, STATE_COOKIE_PATH, state));
    return 0;
}

/* Which ways to sign in this server offers, for the sign-in page (public:
 * it says only whether a provider is configured, never its settings). */
static int providers_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    bool oidc = oidc_configured(ctx->oidc);
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kbool(&w, "oidc", oidc);
    jw_kstr(&w, "oidcLoginUrl", oidc ? "/auth/login?provider=google" : NULL);
    jw_obj_end(&w);
    (void)e;
    return reply_ok_end(rep, &w);
}

/* The callback of a browser proven to have started this sign-in. */
static int callback_bound(struct http_req *req, struct http_reply *rep, const char *state)
{
    const struct api_ctx *ctx = req->ctx;
    const char *perr = http_req_query(req, "error");
    if (perr) {
        /* The provider's text is shown only for this browser's own attempt,
         * so a crafted link cannot put words on the sign-in page. */
        struct errinfo ce;
        errinfo_clear(&ce);
        if (oidc_cancel(ctx->oidc, state, &ce) != 0)
            return api_redirect_login_error(req, rep, "sign-in was refused; start again");
        const char *desc = http_req_query(req, "error_description");
        char msg[300];
        snprintf(msg, sizeof(msg), "the sign-in provider said: %.100s%s%.150s", perr,
                 desc ? ": " : "", desc ? desc : "");
        return api_redirect_login_error(req, rep, msg);
    }
    struct user u;
    const char *next = NULL;
    struct errinfo oe;
    errinfo_clear(&oe);
    int rc = oidc_finish(ctx->oidc, http_req_query(req, "code"), state, req->arena, &u, &next, &oe);
    if (rc) {
        log_warn("auth.callback_refused", "sign-in refused: %s", oe.msg);
        return api_redirect_login_error(
            req, rep,
            rc == ERR_UNAUTHORIZED || rc == ERR_INVALID ? oe.msg : "sign-in failed; try again");
    }
    log_info("auth.signed_in", "user %s signed in with the identity provider", u.id);
    return finish_sign_in(req, rep, &u, next);
}

static int callback_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    if (auth_rate_check(http_req_client_ip(req), SIGNIN_RATE_PER_MIN, e))
        return ERR_RATE_LIMITED;
    /* A callback is honoured only in the browser that started the sign-in:
     * otherwise a link carrying someone else's code and state would sign
     * this browser in as them (login CSRF). The refusal comes before any
     * lookup, so it neither spends the state nor tells whether it exists;
     * the state stays usable by the browser holding the cookie until it
     * expires. */
    const char *state = http_req_query(req, "state");
    if (!auth_state_matches(req, STATE_COOKIE, state)) {
        log_warn("auth.callback_refused", "sign-in callback without this browser's state cookie");
        return api_redirect_login_error(req, rep,
                                        "this sign-in was not started in this browser; start "
                                        "again from the sign-in page");
    }
    int rc = callback_bound(req, rep, state);
    /* The state is spent now, whatever the outcome. */
    http_reply_header(
        rep, "Set-Cookie",
        auth_state_cookie_clear(ctx->cfg, req->arena, STATE_COOKIE, STATE_COOKIE_PATH));
    return rc;
}

static int link_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    if (auth_rate_check(http_req_client_ip(req), SIGNIN_RATE_PER_MIN, e))
        return ERR_RATE_LIMITED;
    char token[AUTH_TOKEN_LEN], hash[65], user_id[STORE_ID_LEN];
    str_copy(token, sizeof(token), req->params[0]);
    auth_hash_token(token, hash);
    struct errinfo le;
    errinfo_clear(&le);
    int rc = store_login_link_take(ctx->store, hash, clock_now_ms(), user_id, &le);
    struct user u;
    if (!rc)
        rc = store_user_by_id(ctx->store, user_id, &u, &le);
    if (rc)
        return api_redirect_login_error(req, rep,
                                        rc == ERR_NOT_FOUND
                                            ? "this sign-in link is unknown, used or expired"
                                            : "sign-in failed; try again");
    log_info("auth.signed_in", "user %s signed in with a one-time link", u.id);
    return finish_sign_in(req, rep, &u, LANDING);
}

static int logout_post(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const struct auth_info *ai = req->auth;
    if (!ai->via_token) {
        int rc = store_session_revoke(ctx->store, ai->user_id, ai->session_hash, clock_now_ms(), e);
        auth_cache_invalidate();
        if (rc && rc != ERR_NOT_FOUND)
            return rc;
    }
    http_reply_header(rep, "Set-Cookie", auth_cookie_clear(ctx->cfg));
    return api_reply_flag(rep, "signedOut");
}

/* Writes the profile, organizations and workspaces of the caller. */
static int write_me(struct http_req *req, struct jw *w, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const struct auth_info *ai = req->auth;
    struct store *st = ctx->store;
    struct user u;
    struct org_row *orgs;
    struct ws_row *wss;
    size_t norgs, nws;
    int rc = store_user_by_id(st, ai->user_id, &u, e);
    if (!rc)
        rc = store_user_orgs(st, ai->user_id, req->arena, &orgs, &norgs, e);
    if (!rc)
        rc = store_user_workspaces(st, ai->user_id, req->arena, &wss, &nws, e);
    if (rc)
        return rc;
    jw_key(w, "user");
    jw_obj_begin(w);
    jw_kstr(w, "id", u.id);
    jw_kstr(w, "email", u.email);
    jw_kstr(w, "name", u.name[0] ? u.name : NULL);
    jw_kstr(w, "avatarUrl", u.avatar_url[0] ? u.avatar_url : NULL);
    api_time(w, "createdAt", u.created_at);
    api_time(w, "lastLoginAt", u.last_login_at);
    jw_obj_end(w);
    jw_key(w, "organizations");
    jw_arr_begin(w);
    for (size_t i = 0; i < norgs; i++) {
        jw_obj_begin(w);
        jw_kstr(w, "id", orgs[i].id);
        jw_kstr(w, "name", orgs[i].name);
        jw_kstr(w, "role", role_name(orgs[i].role));
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_key(w, "workspaces");
    jw_arr_begin(w);
    for (size_t i = 0; i < nws; i++) {
        /* An API token sees only its own workspace. */
        if (ai->via_token && strcmp(wss[i].id, ai->token_workspace) != 0)
            continue;
        jw_obj_begin(w);
        jw_kstr(w, "id", wss[i].id);
        jw_kstr(w, "organizationId", wss[i].org_id);
        jw_kstr(w, "name", wss[i].name);
        jw_kstr(w, "role", role_name(wss[i].role));
        jw_obj_end(w);
    }
    jw_arr_end(w);
    if (!ai->via_token)
        jw_kstr(w, "csrfToken", ai->csrf);
    return 0;
}

/* Replies with the caller's profile; created, when not NULL, is reported too. */
static int reply_me(struct http_req *req, struct http_reply *rep, int status, const bool *created,
                    struct errinfo *e)
{
    struct jw w;
    reply_ok_begin(rep, status, &w);
    jw_obj_begin(&w);
    if (created)
        jw_kbool(&w, "created", *created);
    int rc = write_me(req, &w, e);
    if (rc)
        return rc;
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

static int me_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return reply_me(req, rep, 200, NULL, e);
}

static int initialize_post(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct user u;
    int rc = store_user_by_id(ctx->store, req->auth->user_id, &u, e);
    bool created = false;
    if (!rc)
        rc = auth_bootstrap(ctx->store, &u, &created, e);
    return rc ? rc : reply_me(req, rep, created ? 201 : 200, &created, e);
}

static int sessions_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const struct auth_info *ai = req->auth;
    struct session_row *rows;
    size_t n;
    int rc = store_session_list(ctx->store, ai->user_id, clock_now_ms(), req->arena, &rows, &n, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++) {
        jw_obj_begin(&w);
        jw_kstr(&w, "id", rows[i].id_hash);
        jw_kbool(&w, "current", strcmp(rows[i].id_hash, ai->session_hash) == 0);
        api_time(&w, "createdAt", rows[i].created_at);
        api_time(&w, "lastSeenAt", rows[i].last_seen_at);
        api_time(&w, "expiresAt", rows[i].expires_at);
        jw_kstr(&w, "userAgent", rows[i].user_agent);
        jw_kstr(&w, "ip", rows[i].ip);
        jw_obj_end(&w);
    }
    return api_list_end(rep, &w, NULL, 0);
}

static int session_delete(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[65];
    str_copy(id, sizeof(id), req->params[0]);
    int rc = store_session_revoke(ctx->store, req->auth->user_id, id, clock_now_ms(), e);
    if (rc)
        return rc;
    auth_cache_invalidate();
    return api_reply_flag(rep, "revoked");
}

static void write_token(struct jw *w, const struct api_token *t)
{
    jw_kstr(w, "id", t->id);
    jw_kstr(w, "workspaceId", t->workspace_id);
    jw_kstr(w, "name", t->name);
    api_time(w, "createdAt", t->created_at);
    api_time(w, "lastUsedAt", t->last_used_at);
    api_time(w, "revokedAt", t->revoked_at);
}

static int tokens_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct api_token *rows;
    size_t n;
    int rc = store_api_token_list(ctx->store, req->auth->workspace_id, req->arena, &rows, &n, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++) {
        jw_obj_begin(&w);
        write_token(&w, &rows[i]);
        jw_obj_end(&w);
    }
    return api_list_end(rep, &w, NULL, 0);
}

static int tokens_post(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const char *name = json_string_value(json_object_get(req->json, "name"));
    if (!name || !*name || strlen(name) > 100)
        return failf(e, ERR_INVALID, "name is required (1 to 100 characters)");
    char token[AUTH_TOKEN_LEN];
    struct api_token t;
    int rc = auth_token_create(ctx->store, req->auth->workspace_id, req->auth->user_id, name, token,
                               &t, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 201, &w);
    jw_obj_begin(&w);
    write_token(&w, &t);
    jw_kstr(&w, "token", token);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

static int token_delete(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    if (req->params[0].len >= sizeof(id))
        return failf(e, ERR_NOT_FOUND, "API token not found");
    str_copy(id, sizeof(id), req->params[0]);
    int rc = store_api_token_revoke(ctx->store, req->auth->workspace_id, id, clock_now_ms(), e);
    if (rc)
        return rc;
    auth_cache_invalidate();
    return api_reply_flag(rep, "revoked");
}

const struct route api_auth_routes[] = {
    {HTTP_GET, "/auth/login", ROUTE_PUBLIC | ROUTE_TEXT, login_get},
    {HTTP_GET, "/auth/callback", ROUTE_PUBLIC | ROUTE_TEXT, callback_get},
    {HTTP_GET, "/api/auth/providers", ROUTE_PUBLIC, providers_get},
    {HTTP_GET, "/auth/link/{token}", ROUTE_PUBLIC | ROUTE_SECRET | ROUTE_TEXT, link_get},
    {HTTP_POST, "/auth/logout", ROUTE_AUTH | ROUTE_WRITE, logout_post},
    {HTTP_POST, "/api/auth/initialize-user", ROUTE_AUTH | ROUTE_WRITE, initialize_post},
    {HTTP_GET, "/api/auth/me", ROUTE_AUTH, me_get},
    {HTTP_GET, "/api/auth/sessions", ROUTE_AUTH, sessions_get},
    {HTTP_DELETE, "/api/auth/sessions/{id}", ROUTE_AUTH | ROUTE_WRITE, session_delete},
    {HTTP_GET, "/api/tokens", ROUTE_AUTH | ROUTE_WORKSPACE, tokens_get},
    {HTTP_POST, "/api/tokens", ROUTE_AUTH | ROUTE_WORKSPACE | ROUTE_WRITE | ROUTE_JSON,
     tokens_post},
    {HTTP_DELETE, "/api/tokens/{id}", ROUTE_AUTH | ROUTE_WORKSPACE | ROUTE_WRITE, token_delete},
};

const size_t api_auth_nroutes = sizeof(api_auth_routes) / sizeof(api_auth_routes[0]);
