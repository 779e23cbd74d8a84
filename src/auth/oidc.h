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

#include "base/arena.h"
#include "base/config.h"
#include "store/store.h"

struct oidc;

/* cfg and st are borrowed for the life of the returned object. */
struct oidc *oidc_new(const struct config *cfg, struct store *st);
void oidc_free(struct oidc *o);

/* True when an issuer and a client id are configured. */
bool oidc_configured(const struct oidc *o);

/*
 * Starts a sign-in: stores state, nonce and verifier, and returns the
 * provider's authorization URL (arena memory) in *url. next is the local
 * path to land on afterwards (checked by the caller).
 */
int oidc_begin(struct oidc *o, const char *next, struct arena *a, const char **url,
               struct errinfo *e);

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

#endif
