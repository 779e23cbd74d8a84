/*
 * Tests for src/mail/track.c: tokens (round trip, any changed byte or
 * character refused, another key refused, only http(s) click URLs, the
 * documented format), the tracked rendering (link rewriting with every
 * quoting, what is left alone, pixel and footer placement) and the bot rules.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/config.h"
#include "base/crypto.h"
#include "mail/track.h"
#include "unit/unit.h"

#define WS "0b6f3c1e-8a2d-4c5e-9f10-112233445566"
#define SENT "01890a5d-ac96-774b-bcce-b302099a8057"
#define CONTACT "7d4e2f90-1b3c-4a5d-8e6f-a0b1c2d3e4f5"
#define SECRET "unit-test-secret-key-0123456789abcdef"
#define PUBLIC "https://crm.example.com"

struct fixture {
    struct config cfg;
    struct arena a;
};

static int setup(void **state)
{
    assert_int_equal(crypto_init(), 0);
    struct fixture *f = calloc(1, sizeof(*f));
    struct errinfo e;
    errinfo_clear(&e);
    config_init(&f->cfg);
    assert_int_equal(config_set(&f->cfg, "secret_key", SECRET, "t", &e), 0);
    assert_int_equal(config_set(&f->cfg, "public_url", PUBLIC, "t", &e), 0);
    assert_int_equal(config_finish(&f->cfg, &e), 0);
    arena_init(&f->a, NULL, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    arena_release(&f->a);
    config_release(&f->cfg);
    free(f);
    return 0;
}

static struct track_claim claim(int kind, const char *url)
{
    struct track_claim c = {.kind = kind, .url = url};
    snprintf(c.workspace_id, sizeof(c.workspace_id), "%s", WS);
    snprintf(c.sent_email_id, sizeof(c.sent_email_id), "%s", SENT);
    snprintf(c.contact_id, sizeof(c.contact_id), "%s", CONTACT);
    return c;
}

static int verify(struct fixture *f, const char *token, struct track_claim *out)
{
    struct errinfo e;
    errinfo_clear(&e);
    return track_verify(&f->cfg, token, &f->a, out, &e);
}

static void test_token_round_trip(void **state)
{
    struct fixture *f = *state;
    static const int kinds[] = {TRACK_OPEN, TRACK_CLICK, TRACK_UNSUBSCRIBE};
    for (size_t i = 0; i < 3; i++) {
        const char *url =
            kinds[i] == TRACK_CLICK ? "https://example.org/pricing?plan=team&x=1#top" : NULL;
        struct track_claim c = claim(kinds[i], url), out;
        const char *tok = track_token(&f->cfg, &c, &f->a);
        assert_non_null(tok);
        for (const char *p = tok; *p; p++)
            assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                               *p) != NULL);
        assert_int_equal(verify(f, tok, &out), 0);
        assert_int_equal(out.kind, kinds[i]);
        assert_string_equal(out.workspace_id, WS);
        assert_string_equal(out.sent_email_id, SENT);
        assert_string_equal(out.contact_id, CONTACT);
        if (url)
            assert_string_equal(out.url, url);
        else
            assert_null(out.url);
        /* Deterministic: a retried render sends the same links. */
        assert_string_equal(track_token(&f->cfg, &c, &f->a), tok);
    }
    /* Open tokens are short: 66 bytes, 88 characters. */
    struct track_claim o = claim(TRACK_OPEN, NULL);
    assert_int_equal(strlen(track_token(&f->cfg, &o, &f->a)), 88);
}

static void test_token_any_change_refused(void **state)
{
    struct fixture *f = *state;
    struct track_claim c = claim(TRACK_CLICK, "https://example.org/a"), out;
    const char *tok = track_token(&f->cfg, &c, &f->a);
    size_t n = strlen(tok);
    uint8_t raw[256];
    size_t rawlen;
    assert_int_equal(crypto_b64url_decode(tok, n, raw, sizeof(raw), &rawlen), 0);
    /* Every bit of every byte of the decoded token. */
    for (size_t i = 0; i < rawlen; i++) {
        for (int bit = 0; bit < 8; bit++) {
            uint8_t copy[256];
            char text[400];
            memcpy(copy, raw, rawlen);
            copy[i] ^= (uint8_t)(1u << bit);
            crypto_b64url(copy, rawlen, text, sizeof(text));
            assert_int_equal(verify(f, text, &out), ERR_NOT_FOUND);
        }
    }
    /* Every character of the text replaced by each other base64url character. */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *text = arena_strdup(&f->a, tok);
    for (size_t i = 0; i < n; i++) {
        char was = text[i];
        for (const char *a = alphabet; *a; a++) {
            if (*a == was)
                continue;
            text[i] = *a;
            assert_int_equal(verify(f, text, &out), ERR_NOT_FOUND);
        }
        text[i] = was;
    }
    assert_int_equal(verify(f, text, &out), 0);
    /* Cut short, lengthened, padded, empty. */
    assert_int_equal(verify(f, arena_strndup(&f->a, tok, n - 1), &out), ERR_NOT_FOUND);
    assert_int_equal(verify(f, arena_printf(&f->a, "%sA", tok), &out), ERR_NOT_FOUND);
    assert_int_equal(verify(f, arena_printf(&f->a, "%s=", tok), &out), ERR_NOT_FOUND);
    assert_int_equal(verify(f, "", &out), ERR_NOT_FOUND);
    assert_int_equal(verify(f, "not a token!", &out), ERR_NOT_FOUND);
}

static void test_token_other_key_refused(void **state)
{
    struct fixture *f = *state;
    struct track_claim c = claim(TRACK_UNSUBSCRIBE, NULL), out;
    const char *tok = track_token(&f->cfg, &c, &f->a);
    struct config other;
    struct errinfo e;
    errinfo_clear(&e);
    config_init(&other);
    assert_int_equal(
        config_set(&other, "secret_key", "another-secret-key-0123456789abcdefgh", "t", &e), 0);
    assert_int_equal(track_verify(&other, tok, &f->a, &out, &e), ERR_NOT_FOUND);
    config_release(&other);
}

/* A token signed as track.h documents, for payloads track_token refuses to make. */
static const char *forge(struct fixture *f, const uint8_t *payload, size_t n)
{
    uint8_t key[SHA256_LEN], tag[SHA256_LEN], buf[4200];
    static const char label[] = "leadflow track v1";
    crypto_hmac_sha256(SECRET, strlen(SECRET), label, strlen(label), key);
    crypto_hmac_sha256(key, sizeof(key), payload, n, tag);
    memcpy(buf, payload, n);
    memcpy(buf + n, tag, TRACK_TAG_LEN);
    char *out = arena_alloc(&f->a, 6000);
    crypto_b64url(buf, n + TRACK_TAG_LEN, out, 6000);
    return out;
}

static size_t payload(uint8_t *p, int kind, const char *url)
{
    static const uint8_t ids[48] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    p[0] = 1;
    p[1] = (uint8_t)kind;
    memcpy(p + 2, ids, sizeof(ids));
    size_t n = 2 + sizeof(ids);
    if (url) {
        memcpy(p + n, url, strlen(url));
        n += strlen(url);
    }
    return n;
}

static void test_token_format_documented(void **state)
{
    struct fixture *f = *state;
    uint8_t p[4200];
    struct track_claim out;
    size_t n = payload(p, 'c', "https://example.org/x");
    assert_int_equal(verify(f, forge(f, p, n), &out), 0);
    assert_int_equal(out.kind, TRACK_CLICK);
    assert_string_equal(out.workspace_id, "01020304-0506-0708-090a-0b0c0d0e0f10");
    assert_string_equal(out.sent_email_id, "00000000-0000-0000-0000-000000000000");
    assert_string_equal(out.url, "https://example.org/x");
    /* The same bytes through track_token give the same text. */
    struct track_claim c = out;
    assert_string_equal(track_token(&f->cfg, &c, &f->a), forge(f, p, n));
    /* Another version, an unknown kind, a URL on an open: refused though signed. */
    p[0] = 2;
    assert_int_equal(verify(f, forge(f, p, n), &out), ERR_NOT_FOUND);
    n = payload(p, 'x', NULL);
    assert_int_equal(verify(f, forge(f, p, n), &out), ERR_NOT_FOUND);
    n = payload(p, 'o', "https://example.org/x");
    assert_int_equal(verify(f, forge(f, p, n), &out), ERR_NOT_FOUND);
    n = payload(p, 'c', NULL);
    assert_int_equal(verify(f, forge(f, p, n), &out), ERR_NOT_FOUND);
}

static const char *const bad_urls[] = {
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example/x",
    "/relative/path",
    "ftp://example.org/file",
    "mailto:someone@example.org",
    "http:/example.org",
    "http:///example.org",
    "https://",
    "https://?q=1",
    " https://example.org",
    "https://exa mple.org",
    "https://example.org/\r\nSet-Cookie: x=1",
    "https://example.org/\"onmouseover=\"x",
    "https://example.org\\@evil.example",
    "https://example.org/caf\xc3\xa9",
    "",
};

static void test_click_urls_only_http(void **state)
{
    struct fixture *f = *state;
    uint8_t p[4200];
    struct track_claim out;
    for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
        struct track_claim c = claim(TRACK_CLICK, bad_urls[i]);
        assert_false(track_url_ok(bad_urls[i], strlen(bad_urls[i])));
        assert_null(track_token(&f->cfg, &c, &f->a));
        /* Even signed with the right key, verify refuses to hand it out. */
        size_t n = payload(p, 'c', bad_urls[i]);
        assert_int_equal(verify(f, forge(f, p, n), &out), ERR_NOT_FOUND);
    }
    assert_true(track_url_ok("http://example.org", 18));
    assert_true(track_url_ok("HTTPS://Example.org/a?b=c&d=%20#e", 33));
    /* Too long to sign: left untracked. */
    char longurl[TRACK_URL_MAX + 2];
    memset(longurl, 'a', sizeof(longurl) - 1);
    memcpy(longurl, "https://x.org/", 14);
    longurl[sizeof(longurl) - 1] = '\0';
    assert_false(track_url_ok(longurl, strlen(longurl)));
    /* Ids must be UUIDs; a URL on an open is refused. */
    struct track_claim c = claim(TRACK_OPEN, "https://example.org");
    assert_null(track_token(&f->cfg, &c, &f->a));
    c = claim(TRACK_OPEN, NULL);
    snprintf(c.contact_id, sizeof(c.contact_id), "%s", "not-a-uuid");
    assert_null(track_token(&f->cfg, &c, &f->a));
    c = claim(TRACK_OPEN, NULL);
    snprintf(c.contact_id, sizeof(c.contact_id), "%s", "7D4E2F90-1B3C-4A5D-8E6F-A0B1C2D3E4F5");
    assert_null(track_token(&f->cfg, &c, &f->a));
}

struct rendered {
    const char *text, *html, *unsub;
};

static struct rendered render(struct fixture *f, const char *text, const char *html)
{
    struct rendered r;
    struct errinfo e;
    errinfo_clear(&e);
    assert_int_equal(
        track_render(&f->cfg, WS, SENT, CONTACT, text, html, &f->a, &r.text, &r.html, &r.unsub, &e),
        0);
    return r;
}

/* The URL behind the n-th (from 0) click link of html. */
static const char *nth_click(struct fixture *f, const char *html, int n)
{
    const char *p = html;
    for (int i = 0; i <= n; i++) {
        p = strstr(p, PUBLIC "/t/c/");
        if (!p)
            return NULL;
        p += strlen(PUBLIC "/t/c/");
    }
    size_t len = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
    struct track_claim c;
    if (verify(f, arena_strndup(&f->a, p, len), &c) != 0 || c.kind != TRACK_CLICK)
        return NULL;
    return c.url;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_render_rewrites_links(void **state)
{
    struct fixture *f = *state;
    const char *html =
        "<html><body><p>Hi <a href=\"https://example.org/one\">one</a>,"
        " <A class='x' HREF='http://example.org/two?a=1&amp;b=2'>two</A>,"
        " <a href=https://example.org/three>three</a>,"
        " <a title=\"say href='http://evil.example'\" href = \" https://example.org/four \">4</a>"
        "</p></body></html>";
    struct rendered r = render(f, "Hi", html);
    assert_int_equal(count(r.html, PUBLIC "/t/c/"), 4);
    assert_string_equal(nth_click(f, r.html, 0), "https://example.org/one");
    assert_string_equal(nth_click(f, r.html, 1), "http://example.org/two?a=1&b=2");
    assert_string_equal(nth_click(f, r.html, 2), "https://example.org/three");
    assert_string_equal(nth_click(f, r.html, 3), "https://example.org/four");
    /* Everything around the links is kept as written. */
    assert_contains(r.html, "<A class='x' HREF=\"" PUBLIC "/t/c/");
    assert_contains(r.html, "\">two</A>,");
    assert_contains(r.html, "title=\"say href='http://evil.example'\" href = \"" PUBLIC "/t/c/");
    assert_not_contains(r.html, "example.org/one");
}

static void test_render_leaves_other_links(void **state)
{
    struct fixture *f = *state;
    const char *html = "<body><a href=\"mailto:sales@example.org\">mail</a>"
                       "<a href=\"#top\">top</a><a href='/relative'>rel</a>"
                       "<a href=\"javascript:alert(1)\">js</a><a href=\"//evil.example/\">proto</a>"
                       "<a href=\"https://example.org/&eacute;\">entity</a>"
                       "<link href=\"https://example.org/style.css\" rel=\"stylesheet\">"
                       "<img src=\"https://example.org/logo.png\">"
                       "<!-- <a href=\"https://example.org/comment\">c</a> -->"
                       "<style>a[href=\"https://example.org/css\"]{color:red}</style>"
                       "<a>no href</a><a href>empty</a>"
                       "</body>";
    struct rendered r = render(f, "x", html);
    assert_int_equal(count(r.html, PUBLIC "/t/c/"), 0);
    for (const char *keep[] = {"mailto:sales@example.org", "href=\"#top\"", "href='/relative'",
                               "javascript:alert(1)", "//evil.example/", "&eacute;",
                               "https://example.org/style.css", "https://example.org/logo.png",
                               "https://example.org/comment", "https://example.org/css", NULL},
                    **k = keep;
         *k; k++)
        assert_contains(r.html, *k);
}

static void test_render_pixel_and_footer(void **state)
{
    struct fixture *f = *state;
    struct rendered r =
        render(f, "Hello Jane,\nsee you.", "<html><BODY><p>Hi</p></Body>\n</html>\n");
    /* List-Unsubscribe URL: an unsubscribe token for this email and contact. */
    assert_true(strncmp(r.unsub, PUBLIC "/u/", strlen(PUBLIC "/u/")) == 0);
    struct track_claim c;
    assert_int_equal(verify(f, r.unsub + strlen(PUBLIC "/u/"), &c), 0);
    assert_int_equal(c.kind, TRACK_UNSUBSCRIBE);
    assert_string_equal(c.sent_email_id, SENT);
    assert_string_equal(c.contact_id, CONTACT);
    /* Text: the body, a blank line, the footer. */
    char *want = arena_printf(&f->a, "Hello Jane,\nsee you.\n\nUnsubscribe: %s\n", r.unsub);
    assert_string_equal(r.text, want);
    /* HTML: footer, then the pixel, right before </body>. */
    const char *img = strstr(r.html, "<img src=\"" PUBLIC "/t/o/");
    assert_non_null(img);
    const char *close = strstr(r.html, "</Body>");
    const char *foot = strstr(r.html, "Unsubscribe: <a href=\"");
    assert_true(foot && foot < img && img < close);
    assert_contains(r.html, "</Body>\n</html>\n");
    assert_int_equal(count(r.html, "<img"), 1);
    assert_contains(foot, r.unsub);
    const char *tok = img + strlen("<img src=\"" PUBLIC "/t/o/");
    size_t len = strcspn(tok, ".");
    assert_int_equal(verify(f, arena_strndup(&f->a, tok, len), &c), 0);
    assert_int_equal(c.kind, TRACK_OPEN);
    assert_true(strncmp(tok + len, ".gif\"", 5) == 0);
    assert_contains(img, "width=\"1\" height=\"1\"");
}

static void test_render_without_body_or_html(void **state)
{
    struct fixture *f = *state;
    /* No </body>: the footer and pixel go at the end; the last </body> wins. */
    struct rendered r = render(f, "Line\n", "<p>Hi <a href=\"https://example.org\">x</a></p>");
    assert_true(strncmp(r.html, "<p>Hi <a href=\"" PUBLIC "/t/c/", 20) == 0);
    const char *img = strstr(r.html, "<img");
    assert_non_null(img);
    assert_true(img[strlen(img) - 1] == '>' && !strstr(img, "</p>"));
    assert_string_equal(r.text, arena_printf(&f->a, "Line\n\nUnsubscribe: %s\n", r.unsub));
    r = render(f, "", "<body>a</body><p>x</p><body>b</body>");
    assert_true(strstr(r.html, "<img") > strstr(r.html, ">b"));
    /* No HTML part: none is made; the text gets the footer. */
    r = render(f, "Plain only", NULL);
    assert_null(r.html);
    assert_string_equal(r.text, arena_printf(&f->a, "Plain only\n\nUnsubscribe: %s\n", r.unsub));
    /* An unterminated quote: the rest is copied as it is. */
    r = render(f, "x", "<a href=\"https://example.org/open");
    assert_contains(r.html, "<a href=\"https://example.org/open");
}

static void test_render_refuses_bad_ids(void **state)
{
    struct fixture *f = *state;
    const char *t, *h, *u;
    struct errinfo e;
    errinfo_clear(&e);
    assert_int_equal(
        track_render(&f->cfg, WS, "queued-1", CONTACT, "x", NULL, &f->a, &t, &h, &u, &e),
        ERR_INVALID);
}

/* Random HTML from pieces that stress the scanner: every render succeeds,
 * has one pixel, and every click link in it verifies to an http(s) URL. */
static void test_render_random_html(void **state)
{
    struct fixture *f = *state;
    static const char *const pieces[] = {"<a href=\"https://example.org/x\">",
                                         "<a href='http://e.org/?a=1&amp;b=2'>",
                                         "<A HREF=https://u.org>",
                                         "<a href=\"javascript:x\">",
                                         "<a",
                                         " href",
                                         "=",
                                         "\"",
                                         "'",
                                         ">",
                                         "<",
                                         "</a>",
                                         "<!--",
                                         "-->",
                                         "<script>",
                                         "</script>",
                                         "<style>",
                                         "</BODY>",
                                         "<body>",
                                         "&amp;",
                                         "&#104;ttps://",
                                         "&#x3a;",
                                         "text ",
                                         "\n",
                                         " ",
                                         "/",
                                         "<area href=\"https://m.org\">",
                                         "<a title=\"href='https://n.org'\" href=\"mailto:a@b.c\">",
                                         "<!doctype html>",
                                         "&"};
    enum { N = sizeof(pieces) / sizeof(pieces[0]) };
    unsigned seed = 12345;
    int total = 0;
    char html[2048];
    for (int round = 0; round < 3000; round++) {
        size_t len = 0;
        int parts = (int)(seed % 24);
        for (int i = 0; i < parts; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *piece = pieces[(seed >> 16) % N];
            size_t n = strlen(piece);
            if (len + n >= sizeof(html))
                break;
            memcpy(html + len, piece, n);
            len += n;
        }
        seed = seed * 1103515245u + 12345u;
        html[len] = '\0';
        struct rendered r = render(f, "t", html);
        assert_int_equal(count(r.html, PUBLIC "/t/o/"), 1);
        int links = count(r.html, PUBLIC "/t/c/");
        total += links;
        for (int i = 0; i < links; i++) {
            const char *url = nth_click(f, r.html, i);
            if (!url)
                fail_msg("round %d: link %d of %s does not verify", round, i, r.html);
            assert_true(track_url_ok(url, strlen(url)));
        }
        arena_release(&f->a);
    }
    assert_true(total > 500); /* the pieces do make links */
}

struct bot_case {
    const char *ua;
    bool head, prefetch;
    int64_t since_sent_ms; /* -1: sent_at unknown */
    const char *reason;    /* NULL: a person */
};

static const struct bot_case bot_cases[] = {
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1 Safari/605.1.15",
     false, false, 60000, NULL},
    {"Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
     false, false, 60000, NULL},
    {"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)", false, false, -1,
     NULL},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
     false, false, 2000, NULL},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
     false, false, 1999, "too_soon"},
    {"Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36", false, false, 0, "too_soon"},
    {"Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36", true, false, 60000, "head"},
    {"Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36", false, true, 60000, "prefetch"},
    {"", false, false, 60000, "no_user_agent"},
    {"   ", false, false, 60000, "no_user_agent"},
    {NULL, false, false, 60000, "no_user_agent"},
    {"Barracuda Sentinel (EE)", false, false, 60000, "scanner:barracuda"},
    {"Mozilla/5.0 (compatible; Mimecast-LinkScanner)", false, false, 60000, "scanner:mimecast"},
    {"Mozilla/5.0 ProofPoint URL Defense", false, false, 60000, "scanner:proofpoint"},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "BingPreview/1.0b",
     false, false, 60000, "scanner:bingpreview"},
    {"urlscan.io/1.0", false, false, 60000, "scanner:urlscan"},
    {"curl/7.88.1", false, false, 60000, "scanner:curl"},
    {"python-requests/2.31.0", false, false, 60000, "scanner:python-requests"},
    {"Go-http-client/1.1", false, false, 60000, "scanner:go-http-client"},
    {"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", false, false, 60000,
     "scanner:slackbot"},
    {"facebookexternalhit/1.1", false, false, 60000, "scanner:facebookexternalhit"},
    {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36", false,
     false, 60000, "scanner:headlesschrome"},
};

static void test_bot_rules(void **state)
{
    const int64_t now = 1700000000000;
    for (size_t i = 0; i < sizeof(bot_cases) / sizeof(bot_cases[0]); i++) {
        const struct bot_case *c = &bot_cases[i];
        struct track_request r = {
            .user_agent = c->ua, .ip = "192.0.2.1", .head = c->head, .prefetch = c->prefetch};
        int64_t sent = c->since_sent_ms < 0 ? 0 : now - c->since_sent_ms;
        const char *got = track_bot_reason(&r, sent, now);
        if (!c->reason && got)
            fail_msg("case %zu (%s): a person, but got %s", i, c->ua ? c->ua : "(null)", got);
        if (c->reason && (!got || strcmp(got, c->reason) != 0))
            fail_msg("case %zu (%s): want %s, got %s", i, c->ua ? c->ua : "(null)", c->reason,
                     got ? got : "a person");
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest tests[] = {
    T(test_token_round_trip),
    T(test_token_any_change_refused),
    T(test_token_other_key_refused),
    T(test_token_format_documented),
    T(test_click_urls_only_http),
    T(test_render_rewrites_links),
    T(test_render_leaves_other_links),
    T(test_render_pixel_and_footer),
    T(test_render_without_body_or_html),
    T(test_render_refuses_bad_ids),
    T(test_render_random_html),
    T(test_bot_rules),
};

UNIT_GROUP(unit_mail_track, "mail/track", tests);
