/*
 * Who is calling, and may they: server-side sessions (an opaque random id in
 * an HttpOnly cookie, stored hashed, sliding expiry), API tokens (Bearer,
 * stored hashed, bound to one workspace), one-time sign-in links, CSRF tokens
 * for cookie-authenticated writes, and the router guard that checks a
 * route's flags before its handler runs (STYLE.md habit 10).
 */
#ifndef LEADFLOW_AUTH_AUTH_H
#define LEADFLOW_AUTH_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/config.h"
#include "http/http.h"
#include "store/auth.h"
#include "store/store.h"

enum {
    AUTH_SESSION_IDLE_MS = 14LL * 24 * 3600 * 1000, /* sliding expiry */
    AUTH_TOKEN_LEN = 64,                            /* a token as text, with NUL */
};

#define AUTH_SESSION_MAX_MS (30LL * 24 * 3600 * 1000) /* absolute session lifetime */
#define AUTH_LINK_TTL_MS (15LL * 60 * 1000)           /* one-time links */
#define AUTH_SETUP_TTL_MS (60LL * 60 * 1000)          /* the first-run link */
#define AUTH_COOKIE "lf_session"
#define AUTH_CSRF_HEADER "X-CSRF-Token"
#define AUTH_TOKEN_PREFIX "lf_"

struct auth_info {
    char user_id[STORE_ID_LEN];
    char workspace_id[STORE_ID_LEN]; /* set for ROUTE_WORKSPACE routes */
    int role;                        /* the caller's role there */
    bool via_token;                  /* Bearer API token, not a session */
    char token_workspace[STORE_ID_LEN];
    char session_hash[65];
    char csrf[48];
};

/* What the guard needs; borrowed for the life of the server. */
struct auth_ctx {
    struct store *store;
    const struct config *cfg;
};

/* A router_guard: authentication, CSRF, workspace membership and role. */
int auth_guard(void *ctx, struct http_req *req, struct errinfo *e);

/* Hex SHA-256 of a secret token, the form in which tokens are stored. */
void auth_hash_token(const char *token, char out[65]);

/* Forgets every credential and role the guard has cached, in every thread:
 * call it after ending a session, revoking a token or changing a membership. */
void auth_cache_invalidate(void);

/*
 * Starts a session for user_id: fills cookie (the Set-Cookie value, arena
 * memory) and returns 0, or an ERR_* code.
 */
int auth_session_start(struct store *st, const struct config *cfg, struct http_req *req,
                       const char *user_id, const char **cookie, struct errinfo *e);

/* The Set-Cookie value that removes the session cookie. */
const char *auth_cookie_clear(const struct config *cfg);

/*
 * Binding of an OAuth state to the browser that started the flow (a guard
 * against login CSRF, RFC 6749 §10.12): the state itself is kept in a
 * short-lived HttpOnly, SameSite=Lax cookie (Secure on an https PUBLIC_URL)
 * named name under path, and the callback must bring it back.
 *
 * auth_state_cookie returns the Set-Cookie value that stores state (arena
 * memory); auth_state_cookie_clear the one that removes it.
 */
#define AUTH_STATE_TTL_S 600
const char *auth_state_cookie(const struct config *cfg, struct arena *a, const char *name,
                              const char *path, const char *state);
const char *auth_state_cookie_clear(const struct config *cfg, struct arena *a, const char *name,
                                    const char *path);

/*
 * True when the request carries cookie name with exactly the value state
 * (compared in constant time); false when either is missing or they differ.
 */
bool auth_state_matches(const struct http_req *req, const char *name, const char *state);

/* A one-time sign-in URL for email's user (15 minutes, single use) into url. */
int auth_link_create(struct store *st, const struct config *cfg, const char *email, char *url,
                     size_t n, struct errinfo *e);

/*
 * First sign-in bootstrap, idempotent: when u belongs to no organization,
 * creates "<name>'s Organization" with u as owner and a default workspace.
 */
int auth_bootstrap(struct store *st, const struct user *u, bool *created, struct errinfo *e);

/*
 * First run. On a database without users, auth_first_run_link makes a new
 * one-time link (base_url/setup/<token>, valid AUTH_SETUP_TTL_MS, single
 * use; every earlier one stops working) into url; with users, url is "".
 * auth_first_run_check: 0 when token may still create the first owner,
 * else ERR_NOT_FOUND (unknown, used, expired, or users exist).
 * auth_first_run_finish spends token and creates the owner (name, email)
 * with an organization and workspace, in one transaction; ERR_NOT_FOUND as
 * for check, ERR_CONFLICT never (there is no other user).
 */
int auth_first_run_link(struct store *st, const char *base_url, char *url, size_t n,
                        struct errinfo *e);
int auth_first_run_check(struct store *st, const char *token, struct errinfo *e);
int auth_first_run_finish(struct store *st, const char *token, const char *name, const char *email,
                          struct user *out, struct errinfo *e);

/* Whether the request carries a live session cookie. */
bool auth_signed_in(struct auth_ctx *a, const struct http_req *req);

/* A new API token for the workspace: the secret into token (shown once). */
int auth_token_create(struct store *st, const char *workspace_id, const char *user_id,
                      const char *name, char token[AUTH_TOKEN_LEN], struct api_token *out,
                      struct errinfo *e);

/*
 * A fixed-window rate limit per client address for the sign-in routes:
 * returns ERR_RATE_LIMITED when ip has made more than limit calls within the
 * current minute.
 */
int auth_rate_check(const char *ip, int limit, struct errinfo *e);

/* A local path safe to redirect to after sign-in ("/..." but not "//..."). */
bool auth_safe_next(const char *next);

#endif
