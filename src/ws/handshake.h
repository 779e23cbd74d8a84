/*
 * The server's side of the WebSocket opening handshake (RFC 6455 §4.2):
 * which upgrade requests to accept, the Sec-WebSocket-Accept value, and
 * whether an Origin names this server. Browsers send the session cookie
 * with a WebSocket opened by any page, so the Origin is what stops another
 * site from reading a user's live events (cross-site WebSocket hijacking).
 * Nothing here depends on the HTTP library: the caller passes the headers.
 */
#ifndef LEADFLOW_WS_HANDSHAKE_H
#define LEADFLOW_WS_HANDSHAKE_H

#include <stdbool.h>

#include "base/err.h"

enum { WS_ACCEPT_LEN = 29 /* 28 base64 characters + NUL */ };

/* The request headers the handshake looks at; NULL when absent. */
struct ws_handshake {
    const char *upgrade;    /* Upgrade */
    const char *connection; /* Connection */
    const char *version;    /* Sec-WebSocket-Version */
    const char *key;        /* Sec-WebSocket-Key */
    const char *origin;     /* Origin */
    const char *host;       /* Host */
};

/*
 * Checks an upgrade request. Returns 0 with the Sec-WebSocket-Accept value
 * in accept; ERR_INVALID when it is not a version 13 WebSocket handshake
 * (no "Upgrade: websocket", no "Connection: Upgrade", another version, a
 * Sec-WebSocket-Key that is not 16 bytes in base64); ERR_FORBIDDEN when an
 * Origin is sent and is not this server's (see ws_origin_allowed).
 */
int ws_handshake_check(const struct ws_handshake *h, const char *public_url,
                       char accept[WS_ACCEPT_LEN], struct errinfo *e);

/* Whether key is 16 bytes in base64 (24 characters, "==" at the end). */
bool ws_key_valid(const char *key);

/* base64(SHA-1(key + the RFC 6455 GUID)) into accept. */
void ws_accept_key(const char *key, char accept[WS_ACCEPT_LEN]);

/*
 * Whether origin ("scheme://host[:port]") is this server: the origin of
 * public_url (the configured base URL), or http(s) with the authority the
 * request was sent to (host, the Host header). Scheme and host compare
 * without case, and a default port (80, 443) equals no port. "null" and
 * anything with a path are refused.
 */
bool ws_origin_allowed(const char *origin, const char *public_url, const char *host);

#endif
