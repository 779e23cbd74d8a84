/*
 * Connected mailboxes: connect Gmail (OAuth 2.0 authorization code flow with
 * PKCE for the gmail.readonly scope and offline access), queue syncs of it
 * into the workspace (202 with the jobs: mail/gmail.h), and list a workspace's connections (never
 * their tokens).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "auth/oidc.h"
#include "base/log.h"
#include "http/reply.h"
#include "jobs/queue.h"
#include "mail/gmail.h"
#include "net/httpc.h"
#include "store/auth.h"
#include "store/integrations.h"
#include "store/jobs.h"

#define CALLBACK_PATH "/api/integrations/gmail/callback"
#define LANDING "/dashboard/overview"

/* Binds a connection's state to the browser that started it (see
 * auth_state_cookie); only the callback needs it back. */
#define STATE_COOKIE "lf_gmail_state"
#define STATE_COOKIE_PATH "/api/integrations/gmail"

static void write_integration(struct jw *w, const struct integration *in)
{
    jw_obj_begin(w);
    jw_kstr(w, "id", in->id);
    jw_kstr(w, "workspaceId", in->workspace_id);
    jw_kstr(w, "provider", in->provider);
    jw_kstr(w, "accountEmail", in->account_email);
    jw_kstr(w, "status", in->status);
    api_time(w, "lastSyncAt", in->last_sync_at);
    jw_kstr(w, "lastError", in->last_error[0] ? in->last_error : NULL);
    api_time(w, "createdAt", in->created_at);
    api_time(w, "updatedAt", in->updated_at);
    jw_obj_end(w);
}

static int integrations_list(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct integration *rows;
    size_t n;
    int rc =
        store_integration_list(ctx->store, req->auth->workspace_id, NULL, req->arena, &rows, &n, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++)
        write_integration(&w, &rows[i]);
    return api_list_end(rep, &w, NULL, 0);
}

static bool wants_json(const struct http_req *req)
{
    const char *accept = http_req_header(req, "Accept");
    return accept && strstr(accept, "application/json");
}

static int authorize_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const struct auth_info *ai = req->auth;
    /* A GET, so the router's write check does not apply: connecting a
     * mailbox changes the workspace all the same. */
    if (ai->role < ROLE_MEMBER)
        return failf(e, ERR_FORBIDDEN, "viewers cannot connect a mailbox to this workspace");
    if (!oidc_configured(ctx->oidc))
        return failf(e, ERR_UNSUPPORTED,
                     "connecting Gmail needs the Google sign-in settings (LEADFLOW_OIDC_ISSUER, "
                     "_CLIENT_ID, _CLIENT_SECRET)");
    struct oauth_state s;
    memset(&s, 0, sizeof(s));
    snprintf(s.purpose, sizeof(s.purpose), "gmail");
    snprintf(s.workspace_id, sizeof(s.workspace_id), "%s", ai->workspace_id);
    snprintf(s.user_id, sizeof(s.user_id), "%s", ai->user_id);
    snprintf(s.next, sizeof(s.next), "%s", LANDING);
    static const char *const params[] = {
        "access_type", "offline", "prompt", "consent", "include_granted_scopes", "true", NULL,
    };
    struct oidc_authz z = {
        .scope = "openid email " GMAIL_SCOPE_READONLY,
        .callback_path = CALLBACK_PATH,
        .params = params,
    };
    const char *url = NULL, *state = NULL;
    struct errinfo oe;
    errinfo_clear(&oe);
    int rc = oidc_authorize(ctx->oidc, &z, &s, req->arena, &url, &state, &oe);
    if (rc) {
        log_warn("gmail.authorize_failed", "cannot start a Gmail connection: %s", oe.msg);
        return failf(e, rc == ERR_UNSUPPORTED ? rc : ERR_TEMPORARY,
                     "the sign-in provider cannot be reached; try again");
    }
    http_reply_header(
        rep, "Set-Cookie",
        auth_state_cookie(ctx->cfg, req->arena, STATE_COOKIE, STATE_COOKIE_PATH, state));
    if (!wants_json(req))
        return api_redirect(req, rep, 302, url);
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kstr(&w, "url", url);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

/* Back to the dashboard with a reason it can show (always a local path). */
static int callback_error(struct http_req *req, struct http_reply *rep, const char *message)
{
    struct buf b;
    buf_init(&b, 2048);
    buf_puts(&b, LANDING "?gmail=error&error=");
    httpc_form_escape(&b, message);
    api_redirect(req, rep, 302, buf_str(&b));
    buf_release(&b);
    return 0;
}

static void gmail_env(const struct api_ctx *ctx, const char *token_url, bool basic,
                      struct gmail_env *env)
{
    memset(env, 0, sizeof(*env));
    env->store = ctx->store;
    env->secret_key = ctx->cfg->secret_key;
    env->client.api_url = ctx->cfg->gmail_api_url;
    env->client.token_url = token_url;
    env->client.client_id = ctx->cfg->oidc_client_id;
    env->client.client_secret = ctx->cfg->oidc_client_secret;
    env->client.auth_basic = basic;
}

static int callback_bound(struct http_req *req, struct http_reply *rep, const char *state)
{
    const struct api_ctx *ctx = req->ctx;
    const struct auth_info *ai = req->auth;
    struct oauth_state s;
    struct errinfo oe;
    errinfo_clear(&oe);
    /* The state is taken first (single use), so only this person's own
     * attempt gets the provider's words shown. */
    if (oidc_take(ctx->oidc, state, &s, &oe) != 0)
        return callback_error(req, rep,
                              "this Gmail connection is unknown, used or expired; start again");
    if (strcmp(s.purpose, "gmail") != 0 || strcmp(s.user_id, ai->user_id) != 0 ||
        (ai->via_token && strcmp(ai->token_workspace, s.workspace_id) != 0)) {
        log_warn("gmail.callback_refused", "user %s brought back a %s state that is not theirs",
                 ai->user_id, s.purpose[0] ? s.purpose : "signin");
        return callback_error(req, rep,
                              "this Gmail connection was not started by you; start again");
    }
    const char *perr = http_req_query(req, "error");
    if (perr) {
        char msg[200];
        snprintf(msg, sizeof(msg), "Google did not grant access: %.100s", perr);
        return callback_error(req, rep, msg);
    }
    int role = ROLE_NONE;
    int rc = store_member_role(ctx->store, s.workspace_id, ai->user_id, &role, &oe);
    if (rc || role < ROLE_MEMBER)
        return callback_error(req, rep, "you can no longer connect a mailbox to this workspace");

    struct oidc_tokens t;
    rc = oidc_exchange(ctx->oidc, http_req_query(req, "code"), s.verifier, CALLBACK_PATH,
                       req->arena, &t, &oe);
    struct integration in;
    char token_url[1024] = "";
    bool basic = true;
    if (!rc)
        rc = oidc_token_endpoint(ctx->oidc, token_url, sizeof(token_url), &basic, &oe);
    if (!rc) {
        struct gmail_env env;
        gmail_env(ctx, token_url, basic, &env);
        rc = gmail_connect(&env, s.workspace_id, ai->user_id, t.access_token, t.refresh_token,
                           t.expires_in, req->arena, &in, &oe);
    }
    if (rc) {
        log_warn("gmail.connect_failed", "workspace %s: %s", s.workspace_id, oe.msg);
        return callback_error(req, rep,
                              rc == ERR_INVALID || rc == ERR_UNAUTHORIZED
                                  ? oe.msg
                                  : "Gmail could not be connected; try again");
    }
    log_info("gmail.connected", "workspace %s connected mailbox %s (%s)", s.workspace_id, in.id,
             in.account_email);
    return api_redirect(req, rep, 302, LANDING "?gmail=connected");
}

static int callback_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    (void)e;
    /* Besides the owner check on the stored state, the callback must come
     * from the browser that started the connection, like a sign-in's. A
     * refusal here neither spends nor reveals the state. */
    const char *state = http_req_query(req, "state");
    if (!auth_state_matches(req, STATE_COOKIE, state)) {
        log_warn("gmail.callback_refused", "user %s: callback without this browser's state cookie",
                 req->auth->user_id);
        return callback_error(req, rep,
                              "this Gmail connection was not started in this browser; start again");
    }
    int rc = callback_bound(req, rep, state);
    http_reply_header(
        rep, "Set-Cookie",
        auth_state_cookie_clear(ctx->cfg, req->arena, STATE_COOKIE, STATE_COOKIE_PATH));
    return rc;
}

/* Reads the optional integrationId and maxMessages of a sync request. */
static int sync_args(struct http_req *req, const char **id, int *max, struct errinfo *e)
{
    json_t *v = json_object_get(req->json, "integrationId");
    *id = NULL;
    if (v && !json_is_null(v)) {
        *id = json_string_value(v);
        if (!*id)
            return failf(e, ERR_INVALID, "integrationId must be a string");
        if (strlen(*id) >= STORE_ID_LEN)
            return failf(e, ERR_NOT_FOUND, "integration not found");
    }
    v = json_object_get(req->json, "maxMessages");
    *max = GMAIL_SYNC_DEFAULT;
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > GMAIL_SYNC_MAX)
            return failf(e, ERR_INVALID, "maxMessages must be a whole number from 1 to %d",
                         GMAIL_SYNC_MAX);
        *max = (int)json_integer_value(v);
    }
    return 0;
}

static int sync_post(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const char *ws = req->auth->workspace_id;
    const char *id = NULL;
    int max = GMAIL_SYNC_DEFAULT;
    int rc = sync_args(req, &id, &max, e);
    if (rc)
        return rc;
    struct integration *rows = NULL;
    size_t n = 0;
    if (id) {
        rows = arena_alloc(req->arena, sizeof(*rows));
        rc = store_integration_get(ctx->store, ws, id, req->arena, rows, e);
        n = 1;
        if (!rc && strcmp(rows[0].provider, "gmail") != 0)
            rc = failf(e, ERR_NOT_FOUND, "integration not found");
        if (!rc && strcmp(rows[0].status, "disconnected") == 0)
            rc = failf(e, ERR_CONFLICT, "this mailbox is disconnected; connect it again");
    } else {
        rc = store_integration_list(ctx->store, ws, "gmail", req->arena, &rows, &n, e);
        size_t w = 0;
        for (size_t i = 0; !rc && i < n; i++)
            if (strcmp(rows[i].status, "disconnected") != 0)
                rows[w++] = rows[i];
        n = w;
        if (!rc && n == 0)
            rc = failf(e, ERR_NOT_FOUND, "no Gmail mailbox is connected to this workspace");
    }
    if (rc)
        return rc;

    char token_url[1024] = "";
    bool basic = true;
    if (oidc_configured(ctx->oidc)) {
        struct errinfo te;
        errinfo_clear(&te);
        if (oidc_token_endpoint(ctx->oidc, token_url, sizeof(token_url), &basic, &te) != 0) {
            log_warn("gmail.sync_failed", "no token endpoint: %s", te.msg);
            return failf(e, ERR_TEMPORARY, "the sign-in provider cannot be reached; try again");
        }
    }
    /* One job per mailbox; a mailbox already syncing answers its job. */
    struct job_row *jobs = arena_calloc(req->arena, n * sizeof(*jobs));
    bool kick = false;
    for (size_t i = 0; i < n && !rc; i++) {
        struct gmail_job_spec spec = {
            .integration_id = rows[i].id,
            .max_messages = max,
            .token_url = token_url[0] ? token_url : NULL,
            .auth_basic = basic,
        };
        int64_t job = 0;
        bool created = false;
        rc = gmail_enqueue(ctx->store, ws, &spec, &job, &created, e);
        kick |= created;
        if (!rc)
            rc = store_job_get(ctx->store, ws, job, req->arena, &jobs[i], e);
    }
    if (kick && ctx->queue)
        queue_kick(ctx->queue);
    if (rc)
        return rc;
    http_reply_header(rep, "Location",
                      arena_printf(req->arena, "/api/jobs/%lld", (long long)jobs[0].id));
    struct jw w;
    reply_ok_begin(rep, 202, &w);
    jw_obj_begin(&w);
    jw_key(&w, "jobs");
    jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        api_job_write(&w, &jobs[i]);
    jw_arr_end(&w);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

enum { WS = ROUTE_AUTH | ROUTE_WORKSPACE };

const struct route api_gmail_routes[] = {
    {HTTP_GET, "/api/integrations", WS, integrations_list},
    {HTTP_GET, "/api/integrations/gmail/authorize", WS, authorize_get},
    /* The workspace comes from the stored state, not the query. */
    {HTTP_GET, "/api/integrations/gmail/callback", ROUTE_AUTH | ROUTE_TEXT, callback_get},
    {HTTP_POST, "/api/integrations/gmail/sync", WS | ROUTE_WRITE | ROUTE_JSON, sync_post},
};

const size_t api_gmail_nroutes = sizeof(api_gmail_routes) / sizeof(api_gmail_routes[0]);
