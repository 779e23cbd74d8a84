/*
 * Webhook steps: the signature (HMAC-SHA256 over "timestamp.body", sent as
 * X-Leadflow-Signature: sha256=<hex> with X-Leadflow-Timestamp) and the
 * SSRF guard. The host is resolved here, every address checked, and the
 * checked address pinned for the request (httpc_req.resolve), so a DNS
 * answer that changes between the check and the connection cannot reach
 * an internal address. Redirects are never followed (net/httpc.h): a 3xx
 * counts as a failure.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/crypto.h"
#include "base/mem.h"
#include "drip/drip.h"

void drip_webhook_signature(const char *secret, const char *timestamp, const char *body,
                            size_t body_len, char *out, size_t n)
{
    size_t tlen = strlen(timestamp);
    char *msg = xmalloc(tlen + 1 + body_len + 1);
    memcpy(msg, timestamp, tlen);
    msg[tlen] = '.';
    memcpy(msg + tlen + 1, body, body_len);
    uint8_t mac[SHA256_LEN];
    crypto_hmac_sha256(secret, strlen(secret), msg, tlen + 1 + body_len, mac);
    free(msg);
    char hex[2 * SHA256_LEN + 1];
    crypto_hex(mac, SHA256_LEN, hex);
    snprintf(out, n, "sha256=%s", hex);
}

static bool v4_private(const uint8_t *a)
{
    return a[0] == 0 || a[0] == 10 || a[0] == 127 || /* this, private, loopback */
           (a[0] == 100 && (a[1] & 0xc0) == 64) ||   /* 100.64/10 CGNAT */
           (a[0] == 169 && a[1] == 254) ||           /* link-local, cloud metadata */
           (a[0] == 172 && (a[1] & 0xf0) == 16) ||   /* 172.16/12 */
           (a[0] == 192 && a[1] == 168) ||           /* 192.168/16 */
           (a[0] == 192 && a[1] == 0 && (a[2] == 0 || a[2] == 2)) || /* IETF, TEST-NET-1 */
           (a[0] == 198 && (a[1] & 0xfe) == 18) ||                   /* 198.18/15 benchmarking */
           a[0] >= 224;                                              /* multicast, reserved */
}

static bool addr_private(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return v4_private((const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
    if (sa->sa_family != AF_INET6)
        return true;
    const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    static const uint8_t zero[10] = {0};
    if (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff)
        return v4_private(a + 12); /* ::ffff:a.b.c.d */
    bool unspecified_or_loopback = memcmp(a, zero, 10) == 0 && a[10] == 0 && a[11] == 0 &&
                                   a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1;
    return unspecified_or_loopback || (a[0] & 0xfe) == 0xfc || /* fc00::/7 unique local */
           (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||          /* fe80::/10 link-local */
           a[0] == 0xff ||                                     /* multicast */
           (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) || /* documentation */
           (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b);   /* NAT64 */
}

int drip_webhook_target(const char *url, bool allow_private, char *pin, size_t n, struct errinfo *e)
{
    const char *p;
    const char *port = NULL;
    if (strncmp(url, "https://", 8) == 0) {
        p = url + 8;
        port = "443";
    } else if (strncmp(url, "http://", 7) == 0) {
        p = url + 7;
        port = "80";
    } else {
        return failf(e, ERR_INVALID, "the webhook URL must be http or https");
    }
    size_t auth = strcspn(p, "/?#");
    if (memchr(p, '@', auth))
        return failf(e, ERR_INVALID, "the webhook URL must not carry credentials");
    char host[256], portbuf[8];
    const char *hs = p, *he;
    if (*p == '[') {
        he = memchr(p, ']', auth);
        if (!he)
            return failf(e, ERR_INVALID, "the webhook URL has a bad IPv6 host");
        hs = p + 1;
        p = he + 1;
    } else {
        he = p;
        while (he < hs + auth && *he != ':')
            he++;
        p = he;
    }
    size_t hlen = (size_t)(he - hs);
    if (hlen == 0 || hlen >= sizeof(host))
        return failf(e, ERR_INVALID, "the webhook URL has no host");
    memcpy(host, hs, hlen);
    host[hlen] = '\0';
    if (*p == ':') {
        size_t plen = strspn(p + 1, "0123456789");
        if (plen == 0 || plen > 5 || strtol(p + 1, NULL, 10) > 65535)
            return failf(e, ERR_INVALID, "the webhook URL has a bad port");
        memcpy(portbuf, p + 1, plen);
        portbuf[plen] = '\0';
        port = portbuf;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0 || !res)
        return failf(e, ERR_TEMPORARY, "cannot resolve the webhook host %s: %s", host,
                     gai_strerror(gai));
    int rc = 0;
    for (struct addrinfo *ai = res; ai && !rc; ai = ai->ai_next)
        if (!allow_private && addr_private(ai->ai_addr))
            rc = failf(e, ERR_FORBIDDEN,
                       "the webhook host %s has a private, loopback or link-local address "
                       "(set LEADFLOW_WEBHOOK_ALLOW_PRIVATE=1 to allow)",
                       host);
    if (!rc) {
        char addr[INET6_ADDRSTRLEN] = "";
        const struct sockaddr *sa = res->ai_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof(addr));
        else
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, sizeof(addr));
        if (sa->sa_family == AF_INET6)
            snprintf(pin, n, "%s:%s:[%s]", host, port, addr);
        else
            snprintf(pin, n, "%s:%s:%s", host, port, addr);
    }
    freeaddrinfo(res);
    return rc;
}
