/*
 * Sign-in with any OpenID Connect provider (OpenID Connect Core 1.0,
 * Discovery 1.0): OAuth 2.0 authorization code flow (RFC 6749 §4.1) with PKCE
 * S256 (RFC 7636), state and nonce. The provider is found by discovery from
 * the configured issuer; its metadata and keys are cached, and the keys are
 * fetched again when a token names a key id not seen before.
 */
#ifndef LEADFLOW_AUTH_OIDC_H
#define LEADFLOW_AUTH_OIDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/config.h"
#include "store/auth.h"
#include "store/store.h"

struct oidc;

/* cfg and st are borrowed for the life of the returned object. */
struct oidc *oidc_new(const struct config *cfg, struct store *st);
void oidc_free(struct oidc *o);

/* True when an issuer and a client id are configured. */
bool oidc_configured(const struct oidc *o);

/*
 * Starts a sign-in: stores state, nonce and verifier, and returns the
 * provider's authorization URL in *url and the state in *state (both arena
 * memory; the caller binds the state to the browser). next is the local
 * path to land on afterwards (checked by the caller).
 */
int oidc_begin(struct oidc *o, const char *next, struct arena *a, const char **url,
               const char **state, struct errinfo *e);

/*
 * Completes a sign-in from the callback's code and state: the state is
 * taken (single use), the code exchanged with the verifier, the ID token
 * verified; the user is found or created. *next gets the stored landing
 * path (arena memory). Errors carry a reason fit to show the person.
 */
int oidc_finish(struct oidc *o, const char *code, const char *state, struct arena *a,
                struct user *out, const char **next, struct errinfo *e);

/*
 * Ends a sign-in the provider refused (?error=...): the state is taken like
 * in oidc_finish, so only a real attempt of this browser gets the provider's
 * message shown. Returns 0, or ERR_UNAUTHORIZED for an unknown state.
 */
int oidc_cancel(struct oidc *o, const char *state, struct errinfo *e);

/*
 * Authorization for access beyond sign-in (a mailbox): the same provider and
 * client, another scope, redirect path and extra parameters. Sign-in
 * (oidc_finish, oidc_cancel) refuses states made here, and the reverse.
 */
struct oidc_authz {
    const char *scope;         /* space-separated; include "openid" */
    const char *callback_path; /* under PUBLIC_URL, e.g. "/api/integrations/gmail/callback" */
    const char *const *params; /* extra name, value, name, value, ..., NULL */
};

/* What a token endpoint granted (RFC 6749 §5.1); strings in arena memory. */
struct oidc_tokens {
    const char *access_token;
    const char *refresh_token; /* NULL when none was granted */
    const char *scope;         /* NULL when not sent */
    int64_t expires_in;        /* seconds; 0 when not sent */
};

/*
 * Starts an authorization: s->purpose, workspace_id, user_id and next are
 * the caller's; nonce, verifier and expiry are filled in here, and s is
 * stored under a new state, returned in *state. *url is the provider's
 * authorization URL with PKCE S256 (both arena memory). ERR_UNSUPPORTED
 * when no provider is configured, ERR_TEMPORARY when its discovery fails.
 */
int oidc_authorize(struct oidc *o, const struct oidc_authz *z, struct oauth_state *s,
                   struct arena *a, const char **url, const char **state, struct errinfo *e);

/*
 * Takes the stored attempt for state (single use) whatever its purpose; the
 * caller checks purpose and owner. ERR_UNAUTHORIZED when it is unknown, used
 * or expired.
 */
int oidc_take(struct oidc *o, const char *state, struct oauth_state *out, struct errinfo *e);

/*
 * Exchanges an authorization code (with its PKCE verifier, and the same
 * callback path as the request) at the token endpoint. ERR_UNAUTHORIZED
 * with the provider's error when it refuses; ERR_TEMPORARY when it cannot be
 * reached or fails.
 */
int oidc_exchange(struct oidc *o, const char *code, const char *verifier, const char *callback_path,
                  struct arena *a, struct oidc_tokens *out, struct errinfo *e);

/* The provider's token endpoint (from discovery) into out, and in *basic
 * whether clients authenticate there with HTTP Basic (client_secret_basic)
 * rather than in the form (client_secret_post). */
int oidc_token_endpoint(struct oidc *o, char *out, size_t n, bool *basic, struct errinfo *e);

#endif
