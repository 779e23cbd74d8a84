/*
 * Webhook steps: the signature (HMAC-SHA256 over "timestamp.body", sent as
 * X-Leadflow-Signature: sha256=<hex> with X-Leadflow-Timestamp) and the
 * SSRF guard. The host is resolved here, every address checked, and the
 * checked address pinned for the request (httpc_req.resolve), so a DNS
 * answer that changes between the check and the connection cannot reach
 * an internal address. Redirects are never followed (net/httpc.h): a 3xx
 * counts as a failure. IPv6 forms that carry an IPv4 address get the IPv4
 * rules. A step or a channel is checked when saved too (literal addresses
 * and localhost; names when sent).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/crypto.h"
#include "base/mem.h"
#include "drip/drip_int.h"

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

/*
 * The IPv4 addresses an IPv6 address carries, into v4; returns how many
 * (0 when none). Every form that reaches an IPv4 host counts, so the IPv4 rules
 * apply to it: IPv4-compatible ::a.b.c.d (RFC 4291 2.5.5.1, which ::1 and
 * :: are too), IPv4-mapped ::ffff:a.b.c.d, IPv4-translated
 * ::ffff:0:a.b.c.d (RFC 2765), NAT64 64:ff9b::/96 (RFC 6052), 6to4
 * 2002::/16 (RFC 3056), Teredo 2001::/32 (RFC 4380: the server, and the
 * client stored inverted; private when either is) and ISATAP
 * ::5efe:a.b.c.d interface ids (RFC 5214).
 */
static int v6_embedded_v4(const uint8_t *a, uint8_t v4[3][4])
{
    static const uint8_t zero[12] = {0};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    int n = 0;
    if (memcmp(a, zero, 12) == 0 ||                                     /* ::a.b.c.d */
        (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff) || /* mapped */
        (memcmp(a, zero, 8) == 0 && a[8] == 0xff && a[9] == 0xff && a[10] == 0 &&
         a[11] == 0) ||                                                      /* translated */
        memcmp(a, nat64, 12) == 0 ||                                         /* NAT64 */
        ((a[8] & 0xfd) == 0 && a[9] == 0 && a[10] == 0x5e && a[11] == 0xfe)) /* ISATAP */
        memcpy(v4[n++], a + 12, 4);
    if (a[0] == 0x20 && a[1] == 0x02) /* 6to4 */
        memcpy(v4[n++], a + 2, 4);
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) { /* Teredo */
        memcpy(v4[n++], a + 4, 4);
        for (int i = 0; i < 4; i++)
            v4[n][i] = (uint8_t)~a[12 + i];
        n++;
    }
    return n;
}

static bool addr_private(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return v4_private((const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
    if (sa->sa_family != AF_INET6)
        return true;
    const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    if ((a[0] & 0xfe) == 0xfc ||                   /* fc00::/7 unique local */
        (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
        (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) || /* fec0::/10 site-local (deprecated) */
        a[0] == 0xff ||                            /* multicast */
        (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) ||        /* documentation */
        (a[0] == 0x01 && a[1] == 0x00 && memcmp(a + 2, "\0\0\0\0\0\0", 6) == 0)) /* discard */
        return true;
    uint8_t v4[3][4];
    int nv4 = v6_embedded_v4(a, v4);
    for (int i = 0; i < nv4; i++)
        if (v4_private(v4[i]))
            return true;
    /* The rest of 64:ff9b::/32 is for NAT64 inside a network (RFC 8215). */
    return nv4 == 0 && a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b;
}

/* The host (without brackets) and port of an http(s) URL; *literal6: an IPv6 literal. */
static int url_host(const char *url, char *host, size_t hn, char *port, size_t pn, bool *literal6,
                    struct errinfo *e)
{
    const char *p;
    if (strncmp(url, "https://", 8) == 0) {
        p = url + 8;
        snprintf(port, pn, "443");
    } else if (strncmp(url, "http://", 7) == 0) {
        p = url + 7;
        snprintf(port, pn, "80");
    } else {
        return failf(e, ERR_INVALID, "the webhook URL must be http or https");
    }
    size_t auth = strcspn(p, "/?#");
    if (memchr(p, '@', auth))
        return failf(e, ERR_INVALID, "the webhook URL must not carry credentials");
    const char *hs = p, *he;
    *literal6 = *p == '[';
    if (*literal6) {
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
    if (hlen == 0 || hlen >= hn)
        return failf(e, ERR_INVALID, "the webhook URL has no host");
    memcpy(host, hs, hlen);
    host[hlen] = '\0';
    if (*p == ':') {
        size_t plen = strspn(p + 1, "0123456789");
        if (plen == 0 || plen >= pn || plen > 5 || strtol(p + 1, NULL, 10) > 65535)
            return failf(e, ERR_INVALID, "the webhook URL has a bad port");
        memcpy(port, p + 1, plen);
        port[plen] = '\0';
    }
    return 0;
}

static int refused(const char *host, struct errinfo *e)
{
    return failf(e, ERR_FORBIDDEN,
                 "the webhook host %s has a private, loopback or link-local address "
                 "(set LEADFLOW_WEBHOOK_ALLOW_PRIVATE=1 to allow)",
                 host);
}

/* RFC 6761 6.3: localhost and every name under it are the loopback. */
static bool is_localhost(const char *host)
{
    size_t n = strlen(host);
    if (n && host[n - 1] == '.')
        n--;
    return (n == 9 && strncasecmp(host, "localhost", 9) == 0) ||
           (n > 10 && strncasecmp(host + n - 10, ".localhost", 10) == 0);
}

int drip_webhook_check(const char *url, bool allow_private, struct errinfo *e)
{
    char host[256], port[8];
    bool literal6;
    int rc = url_host(url, host, sizeof(host), port, sizeof(port), &literal6, e);
    if (rc || allow_private)
        return rc;
    if (is_localhost(host))
        return refused(host, e);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return 0; /* a name: checked when the webhook is sent */
    if (addr_private(res->ai_addr))
        rc = refused(host, e);
    freeaddrinfo(res);
    return rc;
}

int drip_webhook_target(const char *url, bool allow_private, char *pin, size_t n, struct errinfo *e)
{
    char host[256], port[8];
    bool literal6;
    int rc = url_host(url, host, sizeof(host), port, sizeof(port), &literal6, e);
    if (rc)
        return rc;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0 || !res)
        return failf(e, ERR_TEMPORARY, "cannot resolve the webhook host %s: %s", host,
                     gai_strerror(gai));
    for (struct addrinfo *ai = res; ai && !rc; ai = ai->ai_next)
        if (!allow_private && addr_private(ai->ai_addr))
            rc = refused(host, e);
    if (!rc) {
        char addr[INET6_ADDRSTRLEN] = "";
        const struct sockaddr *sa = res->ai_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof(addr));
        else
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, sizeof(addr));
        /* An IPv6 literal keeps its brackets in the host part too (net/httpc.h). */
        if (sa->sa_family == AF_INET6)
            snprintf(pin, n, literal6 ? "[%s]:%s:[%s]" : "%s:%s:[%s]", host, port, addr);
        else
            snprintf(pin, n, "%s:%s:%s", host, port, addr);
    }
    freeaddrinfo(res);
    return rc;
}

static bool allow_private_cfg;

void drip_configure(const struct config *cfg)
{
    allow_private_cfg = cfg->webhook_allow_private;
}

bool drip_private_allowed(void)
{
    return allow_private_cfg;
}
