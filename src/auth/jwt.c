/*
 * cjose adapter: JWS signature check with the algorithm pinned to RS256,
 * then the claim checks, done here on the verified payload.
 */
#include "auth/jwt.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Finds the JWK with kid in the JWKS text; NULL when absent. */
static cjose_jwk_t *jwks_find(const char *jwks, const char *kid, struct errinfo *e, int *rc)
{
    json_error_t jerr;
    json_t *doc = json_loads(jwks, 0, &jerr);
    json_t *keys = doc ? json_object_get(doc, "keys") : NULL;
    cjose_jwk_t *found = NULL;
    *rc = ERR_NOT_FOUND;
    if (!json_is_array(keys)) {
        *rc = failf(e, ERR_UNAUTHORIZED, "the provider's key set is not a JWKS document");
        json_decref(doc);
        return NULL;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *kkid = json_string_value(json_object_get(k, "kid"));
        const char *kty = json_string_value(json_object_get(k, "kty"));
        if (!kkid || strcmp(kkid, kid) != 0 || !kty || strcmp(kty, "RSA") != 0)
            continue;
        char *text = json_dumps(k, JSON_COMPACT);
        cjose_err cerr;
        found = text ? cjose_jwk_import(text, strlen(text), &cerr) : NULL;
        free(text);
        *rc = found ? 0 : failf(e, ERR_UNAUTHORIZED, "the provider's key %s is unusable", kid);
        break;
    }
    json_decref(doc);
    return found;
}

static void copy_claim(json_t *claims, const char *name, char *out, size_t n)
{
    const char *v = json_string_value(json_object_get(claims, name));
    snprintf(out, n, "%s", v ? v : "");
}

static int check_claims(json_t *c, const struct jwt_expect *x, struct errinfo *e)
{
    const char *iss = json_string_value(json_object_get(c, "iss"));
    if (!iss || strcmp(iss, x->issuer) != 0)
        return failf(e, ERR_UNAUTHORIZED, "the token was issued by another issuer");
    json_t *aud = json_object_get(c, "aud");
    int aud_ok = 0;
    size_t naud = 1;
    if (json_is_string(aud)) {
        aud_ok = strcmp(json_string_value(aud), x->audience) == 0;
    } else if (json_is_array(aud)) {
        size_t i;
        json_t *a;
        naud = json_array_size(aud);
        json_array_foreach(aud, i, a)
        {
            if (json_is_string(a) && strcmp(json_string_value(a), x->audience) == 0)
                aud_ok = 1;
        }
    }
    if (!aud_ok)
        return failf(e, ERR_UNAUTHORIZED, "the token is meant for another client");
    if (naud > 1) {
        const char *azp = json_string_value(json_object_get(c, "azp"));
        if (!azp || strcmp(azp, x->audience) != 0)
            return failf(e, ERR_UNAUTHORIZED, "the token's authorized party is another client");
    }
    json_t *exp = json_object_get(c, "exp");
    if (!json_is_integer(exp) && !json_is_real(exp))
        return failf(e, ERR_UNAUTHORIZED, "the token has no expiry");
    if ((int64_t)json_number_value(exp) + x->leeway_s < x->now_s)
        return failf(e, ERR_UNAUTHORIZED, "the token has expired");
    json_t *iat = json_object_get(c, "iat");
    if (json_is_number(iat) && (int64_t)json_number_value(iat) - x->leeway_s > x->now_s)
        return failf(e, ERR_UNAUTHORIZED, "the token was issued in the future");
    const char *nonce = json_string_value(json_object_get(c, "nonce"));
    if (!nonce || !x->nonce || strcmp(nonce, x->nonce) != 0)
        return failf(e, ERR_UNAUTHORIZED, "the token's nonce does not match this sign-in");
    const char *sub = json_string_value(json_object_get(c, "sub"));
    if (!sub || !*sub || strlen(sub) >= 256)
        return failf(e, ERR_UNAUTHORIZED, "the token names no subject");
    return 0;
}

int jwt_verify_id_token(const char *token, const char *jwks, const struct jwt_expect *x,
                        struct id_claims *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    cjose_err cerr;
    cjose_jws_t *jws = cjose_jws_import(token, strlen(token), &cerr);
    if (!jws)
        return failf(e, ERR_UNAUTHORIZED, "the ID token is not a signed JWT");
    int rc = 0;
    cjose_jwk_t *jwk = NULL;
    json_t *claims = NULL;
    cjose_header_t *hdr = cjose_jws_get_protected(jws);
    const char *alg = hdr ? cjose_header_get(hdr, CJOSE_HDR_ALG, &cerr) : NULL;
    const char *kid = hdr ? cjose_header_get(hdr, CJOSE_HDR_KID, &cerr) : NULL;
    if (!alg || strcmp(alg, "RS256") != 0) {
        rc = failf(e, ERR_UNAUTHORIZED, "the ID token's algorithm %s is not RS256",
                   alg ? alg : "(none)");
        goto out;
    }
    if (!kid) {
        rc = failf(e, ERR_UNAUTHORIZED, "the ID token names no key (kid)");
        goto out;
    }
    jwk = jwks_find(jwks, kid, e, &rc);
    if (!jwk) {
        if (rc == ERR_NOT_FOUND)
            failf(e, ERR_NOT_FOUND, "the ID token is signed with an unknown key %s", kid);
        goto out;
    }
    if (cjose_jwk_get_kty(jwk, &cerr) != CJOSE_JWK_KTY_RSA || !cjose_jws_verify(jws, jwk, &cerr)) {
        rc = failf(e, ERR_UNAUTHORIZED, "the ID token's signature is not valid");
        goto out;
    }
    uint8_t *plain = NULL;
    size_t plen = 0;
    if (!cjose_jws_get_plaintext(jws, &plain, &plen, &cerr)) {
        rc = failf(e, ERR_UNAUTHORIZED, "the ID token has no payload");
        goto out;
    }
    json_error_t jerr;
    claims = json_loadb((const char *)plain, plen, 0, &jerr);
    if (!json_is_object(claims)) {
        rc = failf(e, ERR_UNAUTHORIZED, "the ID token's claims are not a JSON object");
        goto out;
    }
    rc = check_claims(claims, x, e);
    if (rc)
        goto out;
    copy_claim(claims, "sub", out->sub, sizeof(out->sub));
    /* An ID token need not carry the email (OpenID Connect Core 5.4): the
     * caller then asks the userinfo endpoint. */
    const char *email = json_string_value(json_object_get(claims, "email"));
    if (email && strchr(email, '@') && strlen(email) < sizeof(out->email))
        copy_claim(claims, "email", out->email, sizeof(out->email));
    copy_claim(claims, "name", out->name, sizeof(out->name));
    copy_claim(claims, "picture", out->picture, sizeof(out->picture));
    json_t *ev = json_object_get(claims, "email_verified");
    out->email_verified = json_is_boolean(ev) ? json_is_true(ev) : -1;
out:
    json_decref(claims);
    if (jwk)
        cjose_jwk_release(jwk);
    cjose_jws_release(jws);
    return rc;
}
