/*
 * WebSocket opening handshake checks (RFC 6455 §4.2.1, §4.2.2) and the
 * Origin comparison (RFC 6454 §5: scheme, host and port).
 */
#include "ws/handshake.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/crypto.h"
#include "base/str.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum { KEY_LEN = 24, SCHEME_MAX = 16, AUTHORITY_MAX = 256 };

/* Whether the comma-separated header value lists token (without case). */
static bool has_token(const char *value, const char *token)
{
    if (!value)
        return false;
    struct str rest = str_from(value), item;
    bool more;
    do {
        more = str_split(&rest, ',', &item);
        while (item.len && (item.p[0] == ' ' || item.p[0] == '\t'))
            item.p++, item.len--;
        while (item.len && (item.p[item.len - 1] == ' ' || item.p[item.len - 1] == '\t'))
            item.len--;
        if (str_eq_nocase(item, token))
            return true;
    } while (more);
    return false;
}

bool ws_key_valid(const char *key)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!key || strlen(key) != KEY_LEN || key[22] != '=' || key[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++)
        if (!key[i] || !strchr(alphabet, key[i]))
            return false;
    /* The 22nd character carries the last 2 bits of the 16th byte and 4 zero bits. */
    return strchr("AQgw", key[21]) != NULL;
}

void ws_accept_key(const char *key, char accept[WS_ACCEPT_LEN])
{
    char joined[KEY_LEN + sizeof(WS_GUID)];
    snprintf(joined, sizeof(joined), "%s%s", key, WS_GUID);
    uint8_t digest[SHA1_LEN];
    crypto_sha1(joined, strlen(joined), digest);
    /* base64 with padding (RFC 4648 §4), from the base64url encoder. */
    size_t n = crypto_b64url(digest, sizeof(digest), accept, WS_ACCEPT_LEN);
    for (size_t i = 0; i < n; i++)
        accept[i] = accept[i] == '-' ? '+' : accept[i] == '_' ? '/' : accept[i];
    while (n % 4 && n + 1 < WS_ACCEPT_LEN)
        accept[n++] = '=';
    accept[n] = '\0';
}

struct origin {
    char scheme[SCHEME_MAX];
    char authority[AUTHORITY_MAX];
};

/* Lower-cases authority and drops the scheme's default port. */
static bool set_authority(struct origin *o, const char *a, size_t n)
{
    if (n == 0 || n >= sizeof(o->authority))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c <= ' ' || c >= 0x7f || c == '@' || c == '\\')
            return false; /* no user info, no spaces: a plain host[:port] */
        o->authority[i] = (char)tolower(c);
    }
    o->authority[n] = '\0';
    const char *def = strcmp(o->scheme, "http") == 0    ? ":80"
                      : strcmp(o->scheme, "https") == 0 ? ":443"
                                                        : NULL;
    size_t dl = def ? strlen(def) : 0;
    if (def && n > dl && strcmp(o->authority + n - dl, def) == 0)
        o->authority[n - dl] = '\0';
    return true;
}

/* Parses "scheme://authority", followed by a path only when path_ok. */
static bool origin_parse(const char *s, bool path_ok, struct origin *o)
{
    const char *sep = s ? strstr(s, "://") : NULL;
    if (!sep || sep == s || (size_t)(sep - s) >= sizeof(o->scheme))
        return false;
    size_t sl = (size_t)(sep - s);
    for (size_t i = 0; i < sl; i++)
        o->scheme[i] = (char)tolower((unsigned char)s[i]);
    o->scheme[sl] = '\0';
    const char *a = sep + 3;
    size_t al = strcspn(a, "/?#");
    if (a[al] && !path_ok)
        return false;
    return set_authority(o, a, al);
}

bool ws_origin_allowed(const char *origin, const char *public_url, const char *host)
{
    struct origin o, mine;
    if (!origin_parse(origin, false, &o))
        return false; /* "null" (a sandboxed page, a file) or garbage */
    if (public_url && origin_parse(public_url, true, &mine) && strcmp(o.scheme, mine.scheme) == 0 &&
        strcmp(o.authority, mine.authority) == 0)
        return true;
    if (!host || (strcmp(o.scheme, "http") != 0 && strcmp(o.scheme, "https") != 0))
        return false;
    snprintf(mine.scheme, sizeof(mine.scheme), "%s", o.scheme);
    return set_authority(&mine, host, strlen(host)) && strcmp(o.authority, mine.authority) == 0;
}

int ws_handshake_check(const struct ws_handshake *h, const char *public_url,
                       char accept[WS_ACCEPT_LEN], struct errinfo *e)
{
    if (!has_token(h->upgrade, "websocket"))
        return failf(e, ERR_INVALID, "this endpoint speaks WebSocket only (Upgrade: websocket)");
    if (!has_token(h->connection, "upgrade"))
        return failf(e, ERR_INVALID, "a WebSocket handshake needs Connection: Upgrade");
    if (!h->version || strcmp(h->version, "13") != 0)
        return failf(e, ERR_INVALID, "Sec-WebSocket-Version must be 13");
    if (!ws_key_valid(h->key))
        return failf(e, ERR_INVALID,
                     "Sec-WebSocket-Key must be 16 random bytes in base64 (24 characters)");
    if (h->origin && !ws_origin_allowed(h->origin, public_url, h->host))
        return failf(e, ERR_FORBIDDEN,
                     "WebSocket connections are accepted from this site's own "
                     "pages only (Origin does not match)");
    ws_accept_key(h->key, accept);
    return 0;
}
