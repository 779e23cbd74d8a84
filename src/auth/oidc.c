/*
 * OpenID Connect relying party: discovery, authorization request, code
 * exchange and ID-token verification.
 */
#include "auth/oidc.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/jwt.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/mem.h"
#include "net/httpc.h"
#include "store/auth.h"

enum { OIDC_STATE_TTL_MS = 10 * 60 * 1000, OIDC_META_TTL_MS = 3600 * 1000 };

struct oidc {
    const struct config *cfg;
    struct store *st;
    pthread_mutex_t mu;
    /* Discovery metadata, cached. */
    char *issuer, *authorize_url, *token_url, *jwks_url;
    char *userinfo_url; /* NULL when the provider publishes none */
    bool auth_basic;    /* client_secret_basic at the token endpoint, else _post */
    int64_t meta_at;
    /* The JWKS document, cached. */
    char *jwks;
    int64_t jwks_at;
};

struct oidc *oidc_new(const struct config *cfg, struct store *st)
{
    struct oidc *o = XNEW(struct oidc);
    o->cfg = cfg;
    o->st = st;
    pthread_mutex_init(&o->mu, NULL);
    return o;
}

void oidc_free(struct oidc *o)
{
    if (!o)
        return;
    free(o->issuer);
    free(o->authorize_url);
    free(o->token_url);
    free(o->jwks_url);
    free(o->userinfo_url);
    free(o->jwks);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

bool oidc_configured(const struct oidc *o)
{
    return o->cfg->oidc_issuer && o->cfg->oidc_client_id;
}

static char *dup_field(json_t *doc, const char *key)
{
    const char *v = json_string_value(json_object_get(doc, key));
    return v && (strncmp(v, "https://", 8) == 0 || strncmp(v, "http://", 7) == 0) ? xstrdup(v)
                                                                                  : NULL;
}

/*
 * Whether to authenticate with HTTP Basic (client_secret_basic) rather than
 * in the form (client_secret_post): Basic when the provider lists it, or
 * lists nothing, since it is then the default (OpenID Connect Discovery 3;
 * RFC 6749 §2.3.1 requires servers to support it).
 */
static bool wants_basic(json_t *methods)
{
    if (!json_is_array(methods))
        return true;
    size_t i;
    json_t *m;
    bool post = false;
    json_array_foreach(methods, i, m)
    {
        const char *v = json_string_value(m);
        if (v && strcmp(v, "client_secret_basic") == 0)
            return true;
        if (v && strcmp(v, "client_secret_post") == 0)
            post = true;
    }
    /* Neither listed: a method leadflow does not speak; Basic is what the
     * RFC makes every server accept, so try it. */
    return !post;
}

/* Fetches the discovery document when the cache is empty or stale. Called
 * with o->mu held. */
static int discover_locked(struct oidc *o, struct errinfo *e)
{
    int64_t now = clock_now_ms();
    if (o->meta_at && now - o->meta_at < OIDC_META_TTL_MS)
        return 0;
    /* An issuer may end with "/" (Auth0's do); the well-known path is
     * appended without doubling it (OpenID Connect Discovery 4), while the
     * issuer itself is compared below exactly as configured. */
    char url[1024];
    const char *iss_cfg = o->cfg->oidc_issuer;
    size_t n = strlen(iss_cfg);
    while (n > 0 && iss_cfg[n - 1] == '/')
        n--;
    snprintf(url, sizeof(url), "%.*s/.well-known/openid-configuration", (int)n, iss_cfg);
    struct httpc_req rq = {.url = url, .headers = {"Accept: application/json"}};
    struct httpc_resp resp;
    int rc = httpc_do(&rq, &resp, e);
    if (!rc && resp.status != 200)
        rc = failf(e, ERR_TEMPORARY, "the sign-in provider's discovery answered %ld", resp.status);
    json_t *doc = NULL;
    if (!rc) {
        json_error_t jerr;
        doc = json_loadb(buf_str(&resp.body), resp.body.len, 0, &jerr);
        if (!json_is_object(doc))
            rc = failf(e, ERR_TEMPORARY, "the sign-in provider's discovery is not JSON");
    }
    if (!rc) {
        char *iss = json_string_value(json_object_get(doc, "issuer"))
                        ? xstrdup(json_string_value(json_object_get(doc, "issuer")))
                        : NULL;
        char *az = dup_field(doc, "authorization_endpoint");
        char *tok = dup_field(doc, "token_endpoint");
        char *jw = dup_field(doc, "jwks_uri");
        if (!iss || strcmp(iss, o->cfg->oidc_issuer) != 0 || !az || !tok || !jw) {
            rc = failf(e, ERR_TEMPORARY,
                       "the sign-in provider's discovery is incomplete or names another issuer");
            free(iss);
            free(az);
            free(tok);
            free(jw);
        } else {
            free(o->issuer);
            free(o->authorize_url);
            free(o->token_url);
            free(o->jwks_url);
            free(o->userinfo_url);
            o->userinfo_url = dup_field(doc, "userinfo_endpoint");
            o->auth_basic =
                wants_basic(json_object_get(doc, "token_endpoint_auth_methods_supported"));
            o->issuer = iss;
            o->authorize_url = az;
            o->token_url = tok;
            o->jwks_url = jw;
            o->meta_at = now;
        }
    }
    json_decref(doc);
    httpc_resp_release(&resp);
    return rc;
}

/* Fetches the JWKS; with force, only when the last fetch is 10 s old. */
static int fetch_jwks_locked(struct oidc *o, bool force, struct errinfo *e)
{
    int64_t now = clock_now_ms();
    if (o->jwks && !force && now - o->jwks_at < OIDC_META_TTL_MS)
        return 0;
    if (o->jwks && force && now - o->jwks_at < 10000)
        return 0;
    struct httpc_req rq = {.url = o->jwks_url, .headers = {"Accept: application/json"}};
    struct httpc_resp resp;
    int rc = httpc_do(&rq, &resp, e);
    if (!rc && resp.status != 200)
        rc = failf(e, ERR_TEMPORARY, "the sign-in provider's key set answered %ld", resp.status);
    if (!rc) {
        free(o->jwks);
        o->jwks = xstrdup(buf_str(&resp.body));
        o->jwks_at = now;
    }
    httpc_resp_release(&resp);
    return rc;
}

static int append_param(struct buf *b, const char *name, const char *value, bool first)
{
    int rc = buf_puts(b, first ? "" : "&");
    rc |= buf_puts(b, name);
    rc |= buf_putc(b, '=');
    rc |= httpc_form_escape(b, value);
    return rc ? ERR_TOO_BIG : 0;
}

static void redirect_uri(const struct oidc *o, char *out, size_t n)
{
    snprintf(out, n, "%s/auth/callback", o->cfg->public_url);
}

int oidc_begin(struct oidc *o, const char *next, struct arena *a, const char **url,
               const char **state_out, struct errinfo *e)
{
    if (!oidc_configured(o))
        return failf(e, ERR_UNSUPPORTED, "no sign-in provider is configured");
    pthread_mutex_lock(&o->mu);
    int rc = discover_locked(o, e);
    char authorize[1024];
    if (!rc)
        snprintf(authorize, sizeof(authorize), "%s", o->authorize_url);
    pthread_mutex_unlock(&o->mu);
    if (rc)
        return rc;

    char state[AUTH_TOKEN_LEN], state_hash[65];
    struct oauth_state s;
    memset(&s, 0, sizeof(s));
    crypto_token(state, sizeof(state), 32);
    crypto_token(s.nonce, sizeof(s.nonce), 24);
    crypto_token(s.verifier, sizeof(s.verifier), 48);
    snprintf(s.next, sizeof(s.next), "%s", next);
    s.expires_at = clock_now_ms() + OIDC_STATE_TTL_MS;
    auth_hash_token(state, state_hash);
    rc = store_oauth_state_put(o->st, state_hash, &s, e);
    if (rc)
        return rc;

    uint8_t digest[SHA256_LEN];
    char challenge[64], cb[600];
    crypto_sha256(s.verifier, strlen(s.verifier), digest);
    crypto_b64url(digest, sizeof(digest), challenge, sizeof(challenge));
    redirect_uri(o, cb, sizeof(cb));

    struct buf b;
    buf_init(&b, 8192);
    rc = buf_puts(&b, authorize);
    rc |= buf_putc(&b, strchr(authorize, '?') ? '&' : '?');
    rc |= append_param(&b, "response_type", "code", true);
    rc |= append_param(&b, "client_id", o->cfg->oidc_client_id, false);
    rc |= append_param(&b, "redirect_uri", cb, false);
    rc |= append_param(&b, "scope", "openid email profile", false);
    rc |= append_param(&b, "state", state, false);
    rc |= append_param(&b, "nonce", s.nonce, false);
    rc |= append_param(&b, "code_challenge", challenge, false);
    rc |= append_param(&b, "code_challenge_method", "S256", false);
    if (!rc) {
        *url = arena_strdup(a, buf_str(&b));
        *state_out = arena_strdup(a, state);
    }
    buf_release(&b);
    return rc ? failf(e, ERR_INTERNAL, "the authorization URL is too long") : 0;
}

/*
 * POSTs a token request: body holds the grant's parameters; the client's
 * credentials are added here the way discovery said (Basic or in the form).
 * The body and header are wiped afterwards: they hold the secret.
 */
static int token_post(struct oidc *o, const char *token_url, struct buf *body,
                      struct httpc_resp *resp, struct errinfo *e)
{
    pthread_mutex_lock(&o->mu);
    bool basic = o->auth_basic;
    pthread_mutex_unlock(&o->mu);
    const char *secret = o->cfg->oidc_client_secret;
    memset(resp, 0, sizeof(*resp)); /* released by the caller even on an early error */
    struct buf authz;
    buf_init(&authz, 4096);
    int rc = 0;
    if (secret && basic) {
        rc = httpc_basic_auth(&authz, o->cfg->oidc_client_id, secret);
    } else {
        rc = append_param(body, "client_id", o->cfg->oidc_client_id, false);
        if (secret)
            rc |= append_param(body, "client_secret", secret, false);
    }
    if (rc) {
        buf_release(&authz);
        return failf(e, ERR_INVALID, "the client credentials or the code are too long");
    }
    struct httpc_req rq = {
        .method = "POST",
        .url = token_url,
        .headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json",
                    authz.len ? buf_str(&authz) : NULL},
        .body = buf_str(body),
        .body_len = body->len,
    };
    rc = httpc_do(&rq, resp, e);
    crypto_wipe(body->data, body->len);
    if (authz.data)
        crypto_wipe(authz.data, authz.len);
    buf_release(&authz);
    return rc;
}

/* Exchanges the code for tokens; the ID token and the access token (NULL
 * when none was sent) into *id_token and *access_token (arena memory). */
static int exchange_code(struct oidc *o, const char *token_url, const char *code,
                         const char *verifier, struct arena *a, const char **id_token,
                         const char **access_token, struct errinfo *e)
{
    char cb[600];
    redirect_uri(o, cb, sizeof(cb));
    struct buf body;
    buf_init(&body, 16384);
    int rc = append_param(&body, "grant_type", "authorization_code", true);
    rc |= append_param(&body, "code", code, false);
    rc |= append_param(&body, "redirect_uri", cb, false);
    rc |= append_param(&body, "code_verifier", verifier, false);
    if (rc) {
        buf_release(&body);
        return failf(e, ERR_INVALID, "the sign-in code is too long");
    }
    struct httpc_resp resp;
    rc = token_post(o, token_url, &body, &resp, e);
    buf_release(&body);
    json_t *doc = NULL;
    if (!rc) {
        json_error_t jerr;
        doc = json_loadb(buf_str(&resp.body), resp.body.len, 0, &jerr);
        if (resp.status != 200) {
            const char *err = json_string_value(json_object_get(doc, "error"));
            rc = failf(e, ERR_UNAUTHORIZED, "the provider refused the sign-in code (%s)",
                       err ? err : "no reason given");
        } else {
            const char *t = json_string_value(json_object_get(doc, "id_token"));
            const char *at = json_string_value(json_object_get(doc, "access_token"));
            if (!t)
                rc = failf(e, ERR_UNAUTHORIZED, "the provider returned no ID token");
            else
                *id_token = arena_strdup(a, t);
            *access_token = at && *at ? arena_strdup(a, at) : NULL;
        }
    }
    json_decref(doc);
    httpc_resp_release(&resp);
    return rc;
}

/*
 * Completes claims from the userinfo endpoint (OpenID Connect Core 5.3) when
 * the ID token carries no verified email: email, email_verified, name and
 * picture are taken from there. The answer must be about the same subject
 * as the ID token (5.3.2), or it could put another person's address on
 * this sign-in.
 */
static int fetch_userinfo(const char *url, const char *access_token, struct arena *a,
                          struct id_claims *c, struct errinfo *e)
{
    const char *authz = arena_printf(a, "Authorization: Bearer %s", access_token);
    struct httpc_req rq = {.url = url, .headers = {"Accept: application/json", authz}};
    struct httpc_resp resp;
    int rc = httpc_do(&rq, &resp, e);
    json_t *doc = NULL;
    if (!rc && resp.status != 200)
        rc = failf(e, resp.status >= 500 ? ERR_TEMPORARY : ERR_UNAUTHORIZED,
                   "the provider's userinfo endpoint answered %ld", resp.status);
    if (!rc) {
        json_error_t jerr;
        doc = json_loadb(buf_str(&resp.body), resp.body.len, 0, &jerr);
        if (!json_is_object(doc))
            rc = failf(e, ERR_UNAUTHORIZED,
                       "the provider's userinfo answer is not a JSON object (signed or encrypted "
                       "userinfo is not supported)");
    }
    const char *sub = rc ? NULL : json_string_value(json_object_get(doc, "sub"));
    if (!rc && (!sub || strcmp(sub, c->sub) != 0))
        rc = failf(e, ERR_UNAUTHORIZED,
                   "the provider's userinfo is about another subject than the ID token");
    if (!rc) {
        const char *email = json_string_value(json_object_get(doc, "email"));
        json_t *ev = json_object_get(doc, "email_verified");
        const char *evs = json_string_value(ev);
        /* Some providers send the boolean as a string. */
        int verified = json_is_boolean(ev) ? json_is_true(ev) : evs ? strcmp(evs, "true") == 0 : -1;
        if (email && strchr(email, '@') && strlen(email) < sizeof(c->email)) {
            snprintf(c->email, sizeof(c->email), "%s", email);
            c->email_verified = verified;
        }
        const char *name = json_string_value(json_object_get(doc, "name"));
        const char *picture = json_string_value(json_object_get(doc, "picture"));
        if (name && !c->name[0])
            snprintf(c->name, sizeof(c->name), "%s", name);
        if (picture && !c->picture[0])
            snprintf(c->picture, sizeof(c->picture), "%s", picture);
    }
    json_decref(doc);
    httpc_resp_release(&resp);
    return rc;
}

/* Takes the stored attempt for state (single use). */
static int take_state(struct oidc *o, const char *state, struct oauth_state *s, struct errinfo *e)
{
    char state_hash[65];
    auth_hash_token(state, state_hash);
    int rc = store_oauth_state_take(o->st, state_hash, s, e);
    if (rc == ERR_NOT_FOUND)
        return failf(e, ERR_UNAUTHORIZED, "this sign-in is unknown or was already used");
    return rc;
}

/* States made by oidc_authorize (a mailbox connection) cannot sign anyone in. */
static bool is_signin(const struct oauth_state *s)
{
    return s->purpose[0] == '\0' || strcmp(s->purpose, "signin") == 0;
}

int oidc_finish(struct oidc *o, const char *code, const char *state, struct arena *a,
                struct user *out, const char **next, struct errinfo *e)
{
    if (!oidc_configured(o))
        return failf(e, ERR_UNSUPPORTED, "no sign-in provider is configured");
    if (!code || !*code || !state || !*state)
        return failf(e, ERR_INVALID, "the provider's answer lacks code or state");
    struct oauth_state s;
    int rc = take_state(o, state, &s, e);
    if (rc)
        return rc;
    if (!is_signin(&s))
        return failf(e, ERR_UNAUTHORIZED, "this sign-in is unknown or was already used");
    int64_t now = clock_now_ms();
    if (s.expires_at <= now)
        return failf(e, ERR_UNAUTHORIZED, "this sign-in took too long; start again");

    pthread_mutex_lock(&o->mu);
    rc = discover_locked(o, e);
    char token_url[1024] = "", issuer[1024] = "", userinfo_url[1024] = "";
    if (!rc) {
        snprintf(token_url, sizeof(token_url), "%s", o->token_url);
        snprintf(issuer, sizeof(issuer), "%s", o->issuer);
        snprintf(userinfo_url, sizeof(userinfo_url), "%s", o->userinfo_url ? o->userinfo_url : "");
    }
    pthread_mutex_unlock(&o->mu);
    const char *id_token = NULL, *access_token = NULL;
    if (!rc)
        rc = exchange_code(o, token_url, code, s.verifier, a, &id_token, &access_token, e);
    if (rc)
        return rc;

    struct jwt_expect x = {
        .issuer = issuer,
        .audience = o->cfg->oidc_client_id,
        .nonce = s.nonce,
        .now_s = now / 1000,
        .leeway_s = 60,
    };
    struct id_claims claims;
    for (int attempt = 0; attempt < 2; attempt++) {
        pthread_mutex_lock(&o->mu);
        rc = fetch_jwks_locked(o, attempt > 0, e);
        char *jwks = rc ? NULL : xstrdup(o->jwks);
        pthread_mutex_unlock(&o->mu);
        if (rc)
            return rc;
        rc = jwt_verify_id_token(id_token, jwks, &x, &claims, e);
        free(jwks);
        if (rc != ERR_NOT_FOUND)
            break; /* an unknown kid gets one fresh fetch of the key set */
    }
    if (rc == ERR_NOT_FOUND)
        rc = ERR_UNAUTHORIZED;
    if (rc)
        return rc;
    /* Providers may leave the email out of the ID token and serve it from
     * userinfo instead (OpenID Connect Core 5.4). */
    if ((!claims.email[0] || claims.email_verified != 1) && userinfo_url[0] && access_token) {
        rc = fetch_userinfo(userinfo_url, access_token, a, &claims, e);
        if (rc)
            return rc;
    }
    if (!claims.email[0])
        return failf(e, ERR_UNAUTHORIZED, "the provider gave no email address for this account");
    /* An account may be matched by email, so the address must be verified:
     * an absent claim is refused like a false one. */
    if (claims.email_verified != 1)
        return failf(e, ERR_UNAUTHORIZED, "the provider has not verified this email address");
    rc = store_user_oidc_login(o->st, issuer, claims.sub, claims.email, claims.name, claims.picture,
                               now, out, e);
    if (!rc)
        *next = arena_strdup(a, s.next);
    return rc;
}

int oidc_cancel(struct oidc *o, const char *state, struct errinfo *e)
{
    struct oauth_state s;
    if (!state || !*state)
        return failf(e, ERR_UNAUTHORIZED, "this sign-in is unknown or was already used");
    int rc = take_state(o, state, &s, e);
    if (!rc && !is_signin(&s))
        rc = failf(e, ERR_UNAUTHORIZED, "this sign-in is unknown or was already used");
    return rc;
}

/* ---- authorization for more than sign-in ---- */

/* Copies the discovered endpoints the caller needs (either may be NULL). */
static int endpoints(struct oidc *o, char *authorize, char *token, size_t n, struct errinfo *e)
{
    if (!oidc_configured(o))
        return failf(e, ERR_UNSUPPORTED, "no sign-in provider is configured");
    pthread_mutex_lock(&o->mu);
    int rc = discover_locked(o, e);
    if (!rc && authorize)
        snprintf(authorize, n, "%s", o->authorize_url);
    if (!rc && token)
        snprintf(token, n, "%s", o->token_url);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int oidc_token_endpoint(struct oidc *o, char *out, size_t n, bool *basic, struct errinfo *e)
{
    int rc = endpoints(o, NULL, out, n, e);
    pthread_mutex_lock(&o->mu);
    *basic = o->auth_basic;
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int oidc_authorize(struct oidc *o, const struct oidc_authz *z, struct oauth_state *s,
                   struct arena *a, const char **url, const char **state_out, struct errinfo *e)
{
    char authorize[1024];
    int rc = endpoints(o, authorize, NULL, sizeof(authorize), e);
    if (rc)
        return rc;
    char state[AUTH_TOKEN_LEN], state_hash[65];
    crypto_token(state, sizeof(state), 32);
    crypto_token(s->nonce, sizeof(s->nonce), 24);
    crypto_token(s->verifier, sizeof(s->verifier), 48);
    s->expires_at = clock_now_ms() + OIDC_STATE_TTL_MS;
    auth_hash_token(state, state_hash);
    rc = store_oauth_state_put(o->st, state_hash, s, e);
    if (rc)
        return rc;

    uint8_t digest[SHA256_LEN];
    char challenge[64], cb[600];
    crypto_sha256(s->verifier, strlen(s->verifier), digest);
    crypto_b64url(digest, sizeof(digest), challenge, sizeof(challenge));
    snprintf(cb, sizeof(cb), "%s%s", o->cfg->public_url, z->callback_path);

    struct buf b;
    buf_init(&b, 8192);
    rc = buf_puts(&b, authorize);
    rc |= buf_putc(&b, strchr(authorize, '?') ? '&' : '?');
    rc |= append_param(&b, "response_type", "code", true);
    rc |= append_param(&b, "client_id", o->cfg->oidc_client_id, false);
    rc |= append_param(&b, "redirect_uri", cb, false);
    rc |= append_param(&b, "scope", z->scope, false);
    rc |= append_param(&b, "state", state, false);
    rc |= append_param(&b, "nonce", s->nonce, false);
    rc |= append_param(&b, "code_challenge", challenge, false);
    rc |= append_param(&b, "code_challenge_method", "S256", false);
    for (const char *const *p = z->params; p && p[0] && p[1]; p += 2)
        rc |= append_param(&b, p[0], p[1], false);
    if (!rc) {
        *url = arena_strdup(a, buf_str(&b));
        *state_out = arena_strdup(a, state);
    }
    buf_release(&b);
    return rc ? failf(e, ERR_INTERNAL, "the authorization URL is too long") : 0;
}

int oidc_take(struct oidc *o, const char *state, struct oauth_state *out, struct errinfo *e)
{
    if (!state || !*state)
        return failf(e, ERR_UNAUTHORIZED, "this authorization is unknown or was already used");
    int rc = take_state(o, state, out, e);
    if (rc == ERR_UNAUTHORIZED)
        return failf(e, ERR_UNAUTHORIZED, "this authorization is unknown or was already used");
    if (!rc && out->expires_at <= clock_now_ms())
        return failf(e, ERR_UNAUTHORIZED, "this authorization took too long; start again");
    return rc;
}

static const char *json_str_dup(json_t *doc, const char *key, struct arena *a)
{
    const char *v = json_string_value(json_object_get(doc, key));
    return v && *v ? arena_strdup(a, v) : NULL;
}

int oidc_exchange(struct oidc *o, const char *code, const char *verifier, const char *callback_path,
                  struct arena *a, struct oidc_tokens *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    if (!code || !*code)
        return failf(e, ERR_INVALID, "the provider's answer lacks a code");
    char token_url[1024], cb[600];
    int rc = endpoints(o, NULL, token_url, sizeof(token_url), e);
    if (rc)
        return rc;
    snprintf(cb, sizeof(cb), "%s%s", o->cfg->public_url, callback_path);
    struct buf body;
    buf_init(&body, 16384);
    rc = append_param(&body, "grant_type", "authorization_code", true);
    rc |= append_param(&body, "code", code, false);
    rc |= append_param(&body, "redirect_uri", cb, false);
    rc |= append_param(&body, "code_verifier", verifier, false);
    if (rc) {
        buf_release(&body);
        return failf(e, ERR_INVALID, "the authorization code is too long");
    }
    struct httpc_resp resp;
    rc = token_post(o, token_url, &body, &resp, e);
    buf_release(&body);
    json_t *doc = NULL;
    if (!rc) {
        json_error_t jerr;
        doc = json_loadb(buf_str(&resp.body), resp.body.len, 0, &jerr);
        const char *err = json_string_value(json_object_get(doc, "error"));
        if (resp.status >= 500)
            rc = failf(e, ERR_TEMPORARY, "the provider's token endpoint answered %ld", resp.status);
        else if (resp.status != 200)
            rc = failf(e, ERR_UNAUTHORIZED, "the provider refused the authorization code (%.60s)",
                       err ? err : "no reason given");
        else if (!(out->access_token = json_str_dup(doc, "access_token", a)))
            rc = failf(e, ERR_UNAUTHORIZED, "the provider returned no access token");
    }
    if (!rc) {
        out->refresh_token = json_str_dup(doc, "refresh_token", a);
        out->scope = json_str_dup(doc, "scope", a);
        json_t *exp = json_object_get(doc, "expires_in");
        out->expires_in = json_is_integer(exp) ? json_integer_value(exp) : 0;
    }
    json_decref(doc);
    httpc_resp_release(&resp);
    return rc;
}
