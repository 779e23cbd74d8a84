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
