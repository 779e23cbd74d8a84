/*
 * ID-token verification (OpenID Connect Core 1.0 §3.1.3.7) over a JWKS
 * (RFC 7517): the JWS (RFC 7515) must be RS256, signed by the key named in
 * its "kid", and its claims must name the expected issuer and audience, be
 * unexpired and carry the expected nonce. This is the only file that
 * includes cjose.
 */
#ifndef LEADFLOW_AUTH_JWT_H
#define LEADFLOW_AUTH_JWT_H

#include <stdint.h>

#include "base/err.h"

struct id_claims {
    char sub[256];
    char email[320]; /* "" when the token carries no usable address */
    char name[200];
    char picture[512];
    int email_verified; /* 1, 0, or -1 when absent */
};

struct jwt_expect {
    const char *issuer;
    const char *audience; /* the client id */
    const char *nonce;
    int64_t now_s;
    int64_t leeway_s; /* clock skew allowed for exp and iat */
};

/*
 * Verifies token against the JWKS document jwks (JSON text). Returns 0 and
 * fills out; ERR_NOT_FOUND when the token's kid is not in jwks (the caller
 * may refresh the JWKS and try again); ERR_UNAUTHORIZED with the reason in e
 * for every other failure.
 */
int jwt_verify_id_token(const char *token, const char *jwks, const struct jwt_expect *x,
                        struct id_claims *out, struct errinfo *e);

#endif
