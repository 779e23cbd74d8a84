/*
 * Open and click tracking and one-click unsubscribe (RFC 8058): signed
 * tokens, the tracked rendering of an outgoing email (a small HTML scanner
 * that rewrites <a>/<area> hrefs, the open pixel, the unsubscribe footer),
 * the bot rules, and recording events with the score refresh they cause.
 */
#include "mail/track.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/crypto.h"
#include "base/log.h"
#include "crm/crm.h"
#include "store/campaigns.h"
#include "store/contacts.h"
#include "store/sending.h"

enum {
    TOKEN_VERSION = 1,
    UUID_BYTES = 16,
    HEAD_LEN = 2 + 3 * UUID_BYTES, /* version, kind, three ids */
    PAYLOAD_MAX = HEAD_LEN + TRACK_URL_MAX + TRACK_TAG_LEN,
    TOKEN_TEXT_MAX = (PAYLOAD_MAX + 2) / 3 * 4 + 1,
    RENDER_MAX = 64 * 1024 * 1024, /* the tracked HTML or text of one email */
};

static const char key_label[] = "leadflow track v1";

/* The signing key: HMAC of a label under the secret, so that tokens and
 * every other use of the secret key never share a key. */
static void sign_key(const char *secret, uint8_t key[SHA256_LEN])
{
    crypto_hmac_sha256(secret, strlen(secret), key_label, sizeof(key_label) - 1, key);
}

static void sign(const char *secret, const uint8_t *p, size_t n, uint8_t tag[SHA256_LEN])
{
    uint8_t key[SHA256_LEN];
    sign_key(secret, key);
    crypto_hmac_sha256(key, sizeof(key), p, n, tag);
    crypto_wipe(key, sizeof(key));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* A lower-case UUID as its 16 bytes; false for anything else. */
static bool uuid_parse(const char *s, uint8_t out[UUID_BYTES])
{
    if (strlen(s) != 36)
        return false;
    size_t j = 0;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i++] != '-')
                return false;
            continue;
        }
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[j++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return true;
}

static void uuid_format(const uint8_t in[UUID_BYTES], char out[37])
{
    char hex[33];
    crypto_hex(in, UUID_BYTES, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

bool track_url_ok(const char *url, size_t n)
{
    size_t skip;
    if (n >= 8 && strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    else if (n >= 7 && strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else
        return false;
    if (n > TRACK_URL_MAX || n == skip)
        return false;
    /* A host must follow: "http:///x" and "http://?x" are not links. */
    if (strchr("/?#@:", url[skip]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\')
            return false;
    }
    return true;
}

static bool kind_ok(int kind)
{
    return kind == TRACK_OPEN || kind == TRACK_CLICK || kind == TRACK_UNSUBSCRIBE;
}

const char *track_token(const struct config *cfg, const struct track_claim *c, struct arena *a)
{
    if (!cfg->secret_key || !cfg->secret_key[0] || !kind_ok(c->kind))
        return NULL;
    size_t urllen = c->url ? strlen(c->url) : 0;
    if (c->kind == TRACK_CLICK ? !track_url_ok(c->url ? c->url : "", urllen) : urllen != 0)
        return NULL;
    uint8_t p[PAYLOAD_MAX];
    p[0] = TOKEN_VERSION;
    p[1] = (uint8_t)c->kind;
    if (!uuid_parse(c->workspace_id, p + 2) || !uuid_parse(c->sent_email_id, p + 2 + UUID_BYTES) ||
        !uuid_parse(c->contact_id, p + 2 + 2 * UUID_BYTES))
        return NULL;
    size_t n = HEAD_LEN;
    if (urllen)
        memcpy(p + n, c->url, urllen);
    n += urllen;
    uint8_t tag[SHA256_LEN];
    sign(cfg->secret_key, p, n, tag);
    memcpy(p + n, tag, TRACK_TAG_LEN);
    n += TRACK_TAG_LEN;
    char *out = arena_alloc(a, TOKEN_TEXT_MAX);
    crypto_b64url(p, n, out, TOKEN_TEXT_MAX);
    return out;
}

int track_verify(const struct config *cfg, const char *token, struct arena *a,
                 struct track_claim *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    size_t tlen = token ? strlen(token) : 0;
    uint8_t p[PAYLOAD_MAX];
    size_t n = 0;
    if (!cfg->secret_key || !cfg->secret_key[0] || tlen == 0 || tlen >= TOKEN_TEXT_MAX ||
        crypto_b64url_decode(token, tlen, p, sizeof(p), &n) != 0 || n < HEAD_LEN + TRACK_TAG_LEN)
        return failf(e, ERR_NOT_FOUND, "unknown link");
    /* Only the canonical spelling is accepted: padding or stray low bits in
     * the last character would otherwise give one token several names. */
    char again[TOKEN_TEXT_MAX];
    if (crypto_b64url(p, n, again, sizeof(again)) != tlen || memcmp(again, token, tlen) != 0)
        return failf(e, ERR_NOT_FOUND, "unknown link");
    uint8_t tag[SHA256_LEN];
    size_t body = n - TRACK_TAG_LEN;
    sign(cfg->secret_key, p, body, tag);
    if (!crypto_equal(tag, p + body, TRACK_TAG_LEN))
        return failf(e, ERR_NOT_FOUND, "unknown link");
    size_t urllen = body - HEAD_LEN;
    const char *url = (const char *)p + HEAD_LEN;
    if (p[0] != TOKEN_VERSION || !kind_ok(p[1]) ||
        (p[1] == TRACK_CLICK ? !track_url_ok(url, urllen) : urllen != 0))
        return failf(e, ERR_NOT_FOUND, "unknown link");
    out->kind = p[1];
    uuid_format(p + 2, out->workspace_id);
    uuid_format(p + 2 + UUID_BYTES, out->sent_email_id);
    uuid_format(p + 2 + 2 * UUID_BYTES, out->contact_id);
    out->url = urllen ? arena_strndup(a, url, urllen) : NULL;
    return 0;
}

/* --- rendering ------------------------------------------------------------ */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * An attribute value as the browser reads it: character references decoded
 * and surrounding white space trimmed, into out (at most outsize - 1 bytes).
 * "&" that starts no reference stays "&" (as in "?a=1&b=2"); a reference to
 * anything but printable ASCII, or a named one not listed, makes the value
 * unusable (false), and the link is then left as written.
 */
static bool attr_decode(const char *v, size_t n, char *out, size_t outsize, size_t *outlen)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    while (n > 0 && is_space(*v))
        v++, n--;
    while (n > 0 && is_space(v[n - 1]))
        n--;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c == '&') {
            size_t j = i + 1;
            bool num = j < n && v[j] == '#';
            if (num)
                j++;
            bool hex = num && j < n && (v[j] == 'x' || v[j] == 'X');
            if (hex)
                j++;
            size_t start = j;
            while (j < n && is_alnum(v[j]) && j - start < 10)
                j++;
            if (j < n && v[j] == ';' && j > start) {
                size_t len = j - start;
                long code = -1;
                if (num) {
                    char digits[12];
                    memcpy(digits, v + start, len);
                    digits[len] = '\0';
                    char *end;
                    code = strtol(digits, &end, hex ? 16 : 10);
                    if (*end)
                        return false;
                } else {
                    for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++)
                        if (strlen(named[k].name) == len &&
                            strncmp(named[k].name, v + start, len) == 0)
                            code = named[k].c;
                }
                if (code < 0x20 || code > 0x7e)
                    return false;
                c = (char)code;
                i = j;
            }
        }
        if (o + 1 >= outsize)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    *outlen = o;
    return true;
}

struct render {
    const struct config *cfg;
    struct track_claim claim; /* kind and ids set; url per link */
    struct arena *a;
    struct buf *out;
};

/* Appends the click URL for a link (already checked) as an attribute value. */
static int put_click(struct render *r, const char *url)
{
    r->claim.kind = TRACK_CLICK;
    r->claim.url = url;
    const char *tok = track_token(r->cfg, &r->claim, r->a);
    if (!tok)
        return ERR_INVALID;
    int rc = buf_putc(r->out, '"');
    if (!rc)
        rc = buf_html_escape(r->out, r->cfg->public_url, strlen(r->cfg->public_url));
    if (!rc)
        rc = buf_printf(r->out, "/t/c/%s\"", tok);
    return rc;
}

static bool name_is(const char *p, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* The first case-insensitive occurrence of needle in [p, end), or NULL. */
static const char *find_nocase(const char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    for (; p + n <= end; p++)
        if (strncasecmp(p, needle, n) == 0)
            return p;
    return NULL;
}

/*
 * Copies html to r->out with the href of every <a> and <area> tag that is
 * an http(s) link replaced by its click URL. Tags are read as HTML reads
 * them: quoted values may hold '>', comments and the insides of <script>
 * and <style> are copied untouched, and only a tag's first href counts.
 */
static int rewrite_links(struct render *r, const char *html, size_t len)
{
    const char *p = html, *end = html + len, *copied = html;
    char url[TRACK_URL_MAX + 1];
    int rc = 0;
    while (!rc && p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt)
            break;
        p = lt + 1;
        if (end - p >= 3 && strncmp(p, "!--", 3) == 0) {
            const char *close = find_nocase(p + 3, end, "-->");
            p = close ? close + 3 : end;
            continue;
        }
        const char *name = p;
        while (p < end && is_alnum(*p))
            p++;
        size_t namelen = (size_t)(p - name);
        if (namelen == 0)
            continue; /* "</x", "<!doctype", "< 3": not a start tag */
        bool link = name_is(name, namelen, "a") || name_is(name, namelen, "area");
        bool rewritten = false;
        /* Attributes, up to the '>' that is outside any quotes. */
        while (p < end && *p != '>') {
            if (is_space(*p) || *p == '/') {
                p++;
                continue;
            }
            const char *an = p;
            while (p < end && !is_space(*p) && *p != '=' && *p != '>' && *p != '/')
                p++;
            size_t anlen = (size_t)(p - an);
            if (anlen == 0) {
                p++; /* a stray '=' */
                continue;
            }
            while (p < end && is_space(*p))
                p++;
            if (p >= end || *p != '=')
                continue; /* an attribute without a value */
            p++;
            while (p < end && is_space(*p))
                p++;
            /* The value is [vstart, vend); [from, after) is what a new value replaces. */
            const char *from = p, *vstart, *vend, *after;
            if (p < end && (*p == '"' || *p == '\'')) {
                const char *q = memchr(p + 1, *p, (size_t)(end - p - 1));
                if (!q)
                    return buf_append(r->out, copied, (size_t)(end - copied)); /* unterminated */
                vstart = p + 1;
                vend = q;
                after = q + 1;
            } else {
                vstart = p;
                while (p < end && !is_space(*p) && *p != '>')
                    p++;
                vend = p;
                after = p;
            }
            p = after;
            if (!link || rewritten || !name_is(an, anlen, "href"))
                continue;
            rewritten = true;
            size_t ulen;
            if (!attr_decode(vstart, (size_t)(vend - vstart), url, sizeof(url), &ulen) ||
                !track_url_ok(url, ulen))
                continue;
            rc = buf_append(r->out, copied, (size_t)(from - copied));
            if (!rc)
                rc = put_click(r, url);
            copied = after;
            if (rc)
                break;
        }
        if (rc)
            break;
        if (p < end)
            p++; /* the '>' */
        if (name_is(name, namelen, "script") || name_is(name, namelen, "style")) {
            const char *close =
                find_nocase(p, end, name_is(name, namelen, "script") ? "</script" : "</style");
            p = close ? close : end;
        }
    }
    if (!rc)
        rc = buf_append(r->out, copied, (size_t)(end - copied));
    return rc;
}

/* The last "</body" of s (any case), or NULL. */
static const char *last_body_close(const char *s, size_t n)
{
    const char *found = NULL, *p = s, *end = s + n;
    while ((p = find_nocase(p, end, "</body")) != NULL) {
        found = p;
        p += 6;
    }
    return found;
}

int track_render(const struct config *cfg, const char *workspace_id, const char *sent_email_id,
                 const char *contact_id, const char *text, const char *html, struct arena *a,
                 const char **text_out, const char **html_out, const char **unsubscribe_url,
                 struct errinfo *e)
{
    struct render r = {cfg, {0}, a, NULL};
    if (!cfg->public_url || !cfg->secret_key || !cfg->secret_key[0])
        return failf(e, ERR_CONFIG, "tracking needs public_url and secret_key");
    if (strlen(workspace_id) >= sizeof(r.claim.workspace_id) ||
        strlen(sent_email_id) >= sizeof(r.claim.sent_email_id) ||
        strlen(contact_id) >= sizeof(r.claim.contact_id))
        return failf(e, ERR_INVALID, "tracking needs UUIDs for the workspace, email and contact");
    snprintf(r.claim.workspace_id, sizeof(r.claim.workspace_id), "%s", workspace_id);
    snprintf(r.claim.sent_email_id, sizeof(r.claim.sent_email_id), "%s", sent_email_id);
    snprintf(r.claim.contact_id, sizeof(r.claim.contact_id), "%s", contact_id);

    r.claim.kind = TRACK_UNSUBSCRIBE;
    const char *utok = track_token(cfg, &r.claim, a);
    r.claim.kind = TRACK_OPEN;
    const char *otok = track_token(cfg, &r.claim, a);
    if (!utok || !otok)
        return failf(e, ERR_INVALID, "tracking needs UUIDs for the workspace, email and contact");
    const char *unsub = arena_printf(a, "%s/u/%s", cfg->public_url, utok);

    struct buf b;
    buf_init(&b, RENDER_MAX);
    r.out = &b;
    const char *t = text ? text : "";
    size_t tlen = strlen(t);
    int rc = buf_append(&b, t, tlen);
    /* A body that already holds the link (a campaign's {{unsubscribe_url}})
     * gets no second one: the footer is added once. */
    bool has_unsub = strstr(t, unsub) != NULL;
    if (!rc && tlen > 0 && !has_unsub)
        rc = buf_puts(&b, t[tlen - 1] == '\n' ? "\n" : "\n\n");
    if (!rc && !has_unsub)
        rc = buf_printf(&b, "Unsubscribe: %s\n", unsub);
    if (rc) {
        buf_release(&b);
        return failf(e, ERR_TOO_BIG, "the text part is over %d bytes", RENDER_MAX);
    }
    *text_out = arena_strndup(a, b.data, b.len);
    *html_out = NULL;
    *unsubscribe_url = unsub;
    if (!html) {
        buf_release(&b);
        return 0;
    }

    buf_reset(&b);
    rc = rewrite_links(&r, html, strlen(html));
    if (!rc) {
        /* Footer, then pixel, before the last </body> (or at the end). */
        const char *close = last_body_close(b.data ? b.data : "", b.len);
        size_t at = close ? (size_t)(close - b.data) : b.len;
        struct buf tail;
        buf_init(&tail, RENDER_MAX);
        rc = buf_append(&tail, b.data ? b.data + at : "", b.len - at);
        b.len = at;
        if (b.data)
            b.data[at] = '\0';
        bool html_unsub = strstr(html, unsub) != NULL;
        if (!rc && !html_unsub)
            rc = buf_puts(&b, "<p style=\"margin:24px 0 0;font-size:12px;color:#6b7280\">"
                              "Unsubscribe: <a href=\"");
        if (!rc && !html_unsub)
            rc = buf_html_escape(&b, unsub, strlen(unsub));
        if (!rc && !html_unsub)
            rc = buf_puts(&b, "\" style=\"color:#6b7280\">");
        if (!rc && !html_unsub)
            rc = buf_html_escape(&b, unsub, strlen(unsub));
        if (!rc && !html_unsub)
            rc = buf_puts(&b, "</a></p>");
        if (!rc)
            rc = buf_puts(&b, "<img src=\"");
        if (!rc)
            rc = buf_html_escape(&b, cfg->public_url, strlen(cfg->public_url));
        if (!rc)
            rc = buf_printf(&b,
                            "/t/o/%s.gif\" width=\"1\" height=\"1\" alt=\"\" "
                            "style=\"display:block;border:0;width:1px;height:1px\">",
                            otok);
        if (!rc)
            rc = buf_append(&b, tail.data ? tail.data : "", tail.len);
        buf_release(&tail);
    }
    if (rc) {
        buf_release(&b);
        return failf(e, ERR_TOO_BIG, "the tracked HTML part is over %d bytes", RENDER_MAX);
    }
    *html_out = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_release(&b);
    return 0;
}

/* --- bots ----------------------------------------------------------------- */

/* Lower-case pieces of user agents that are never a person reading mail. */
static const struct {
    const char *needle, *reason;
} scanners[] = {
    {"barracuda", "scanner:barracuda"},
    {"mimecast", "scanner:mimecast"},
    {"proofpoint", "scanner:proofpoint"},
    {"bingpreview", "scanner:bingpreview"},
    {"urlscan", "scanner:urlscan"},
    {"curl/", "scanner:curl"},
    {"wget/", "scanner:wget"},
    {"python-requests", "scanner:python-requests"},
    {"python-urllib", "scanner:python-urllib"},
    {"aiohttp", "scanner:aiohttp"},
    {"go-http-client", "scanner:go-http-client"},
    {"okhttp", "scanner:okhttp"},
    {"java/", "scanner:java"},
    {"apache-httpclient", "scanner:apache-httpclient"},
    {"libwww-perl", "scanner:libwww-perl"},
    {"node-fetch", "scanner:node-fetch"},
    {"axios/", "scanner:axios"},
    {"slackbot", "scanner:slackbot"},
    {"slack-imgproxy", "scanner:slackbot"},
    {"facebookexternalhit", "scanner:facebookexternalhit"},
    {"twitterbot", "scanner:twitterbot"},
    {"linkedinbot", "scanner:linkedinbot"},
    {"discordbot", "scanner:discordbot"},
    {"telegrambot", "scanner:telegrambot"},
    {"whatsapp", "scanner:whatsapp"},
    {"skypeuripreview", "scanner:skypeuripreview"},
    {"headlesschrome", "scanner:headlesschrome"},
    {"phantomjs", "scanner:phantomjs"},
    {"googlebot", "scanner:googlebot"},
    {"bingbot", "scanner:bingbot"},
    {"spider", "scanner:crawler"},
    {"crawler", "scanner:crawler"},
};

const char *track_bot_reason(const struct track_request *r, int64_t sent_at, int64_t now)
{
    if (r->head)
        return "head";
    if (r->prefetch)
        return "prefetch";
    const char *ua = r->user_agent;
    while (ua && is_space(*ua))
        ua++;
    if (!ua || !*ua)
        return "no_user_agent";
    /* GoogleImageProxy fetches when a person opens the mail in Gmail. */
    if (!strcasestr(ua, "googleimageproxy"))
        for (size_t i = 0; i < sizeof(scanners) / sizeof(scanners[0]); i++)
            if (strcasestr(ua, scanners[i].needle))
                return scanners[i].reason;
    if (sent_at > 0 && now - sent_at < TRACK_BOT_WINDOW_MS)
        return "too_soon";
    return NULL;
}

/* --- recording ------------------------------------------------------------ */

enum { UA_MAX = 512 };

/* The user agent as stored: at most UA_MAX bytes. */
static const char *ua_stored(const char *ua, char buf[UA_MAX + 1])
{
    if (!ua)
        return NULL;
    snprintf(buf, UA_MAX + 1, "%s", ua);
    return buf;
}

/* One open or click, written in one transaction. */
struct record {
    const struct track_claim *c;
    const struct track_request *r;
    const char *contact, *why;
    int64_t now;
    struct arena *a;
};

static int record_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct record *x = arg;
    const struct track_claim *c = x->c;
    char ua[UA_MAX + 1];
    int rc = store_email_event_add(st, c->workspace_id, c->sent_email_id, x->contact,
                                   c->kind == TRACK_OPEN ? "open" : "click", c->url,
                                   ua_stored(x->r->user_agent, ua), x->r->ip, x->why, x->now, e);
    /* Only people count: a bot's open or click changes nothing else. */
    if (rc || x->why || !x->contact[0])
        return rc;
    const char *source = c->kind == TRACK_OPEN ? "an open" : "a click";
    rc = crm_rescore(st, c->workspace_id, x->contact, source, x->now, x->a, NULL, NULL, e);
    if (rc == ERR_NOT_FOUND)
        return 0; /* deleted meanwhile */
    struct crm_change ch = {.workspace_id = c->workspace_id,
                            .contact_id = x->contact,
                            .what = c->kind == TRACK_OPEN ? CRM_OPEN : CRM_CLICK,
                            .source = source,
                            .now = x->now};
    return rc ? rc : crm_contact_changed(st, &ch, e);
}

int track_record(struct store *st, const struct track_claim *c, const struct track_request *r,
                 int64_t now, struct arena *a, const char **bot_reason, struct errinfo *e)
{
    if (c->kind != TRACK_OPEN && c->kind != TRACK_CLICK)
        return failf(e, ERR_INVALID, "only opens and clicks are recorded here");
    char contact[STORE_ID_LEN];
    int64_t sent_at;
    int rc = store_sent_email_tracking(st, c->workspace_id, c->sent_email_id, contact, &sent_at, e);
    if (rc)
        return rc;
    const char *why = track_bot_reason(r, sent_at, now);
    if (bot_reason)
        *bot_reason = why;
    struct record x = {c, r, contact, why, now, a};
    return store_tx_run(st, record_tx, &x, e);
}

/* One unsubscribe, written in one transaction. */
struct unsub {
    const struct track_claim *c;
    const struct track_request *r;
    int64_t now;
    bool *changed;
};

static int unsubscribe_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct unsub *x = arg;
    const struct track_claim *c = x->c;
    int rc = crm_contact_unsubscribe(st, c->workspace_id, c->contact_id, "an unsubscribe", x->now,
                                     x->changed, e);
    if (rc || !*x->changed)
        return rc;
    char ua[UA_MAX + 1];
    return store_email_event_add(st, c->workspace_id, c->sent_email_id, c->contact_id,
                                 "unsubscribe", NULL, ua_stored(x->r->user_agent, ua), x->r->ip,
                                 NULL, x->now, e);
}

int track_unsubscribe(struct store *st, const struct track_claim *c, const struct track_request *r,
                      int64_t now, bool *changed, struct errinfo *e)
{
    *changed = false;
    if (c->kind != TRACK_UNSUBSCRIBE)
        return failf(e, ERR_INVALID, "not an unsubscribe link");
    struct unsub x = {c, r, now, changed};
    int rc = store_tx_run(st, unsubscribe_tx, &x, e);
    if (rc)
        *changed = false;
    return rc;
}
