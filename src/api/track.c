/*
 * Public tracking routes (no session; the signed token is the credential):
 *   GET  /t/o/{token}.gif  the open pixel: always the same 43-byte GIF
 *   GET  /t/c/{token}      click: 302 to the URL signed into the token
 *   GET  /u/{token}        the unsubscribe page (a form that POSTs back)
 *   POST /u/{token}        RFC 8058 one-click unsubscribe
 * Pages are built here with every value escaped.
 */
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "base/clock.h"
#include "base/log.h"
#include "mail/track.h"
#include "store/contacts.h"

/* The smallest transparent GIF (as nginx's empty_gif module serves it). */
static const unsigned char pixel_gif[43] = {
    'G',  'I',  'F',  '8',  '9',  'a',  0x01, 0x00, 0x01, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, '!',  0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, ',',  0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, ';'};

/* Whether a header says the browser fetches ahead of a person (link
 * prefetch, previews): Purpose / Sec-Purpose / X-Purpose / X-Moz. */
static bool is_prefetch(const struct http_req *req)
{
    static const char *const names[] = {"Purpose", "Sec-Purpose", "X-Purpose", "X-Moz"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = http_req_header(req, names[i]);
        if (v && (strcasestr(v, "prefetch") || strcasestr(v, "preview")))
            return true;
    }
    return false;
}

static struct track_request request_of(const struct http_req *req)
{
    return (struct track_request){
        .user_agent = http_req_header(req, "User-Agent"),
        .ip = http_req_client_ip(req),
        .head = req->method == HTTP_HEAD,
        .prefetch = is_prefetch(req),
    };
}

/* Verifies the route's {token} as a token of kind; false for anything else. */
static bool claim_of(struct http_req *req, int kind, struct track_claim *c)
{
    const struct api_ctx *ctx = req->ctx;
    struct errinfo e;
    errinfo_clear(&e);
    const char *token = arena_strndup(req->arena, req->params[0].p, req->params[0].len);
    return track_verify(ctx->cfg, token, req->arena, c, &e) == 0 && c->kind == kind;
}

/* The answer to a link that is not ours (forged, altered, cut short) or
 * whose contact is gone: the same page either way, and never a redirect. */
static int page_not_found(struct http_reply *rep)
{
    api_html_begin(rep, 404, "Link not found");
    buf_puts(&rep->body, "<p>This link is not valid. It may have been cut short when it was "
                         "copied: try opening it from the email again.</p>");
    return api_html_end(rep);
}

static int open_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    /* The pixel is the same for every token, valid or not: its answer must
     * not tell anyone whether a token is real. */
    rep->status = 200;
    rep->content_type = "image/gif";
    buf_reset(&rep->body);
    buf_append(&rep->body, pixel_gif, sizeof(pixel_gif));
    http_reply_header(rep, "Cache-Control", "no-store");
    struct track_claim c;
    if (!claim_of(req, TRACK_OPEN, &c))
        return 0;
    struct track_request tr = request_of(req);
    struct errinfo re;
    errinfo_clear(&re);
    int rc = track_record(ctx->store, &c, &tr, clock_now_ms(), req->arena, NULL, &re);
    if (rc && rc != ERR_NOT_FOUND)
        log_warn("track.record_failed", "recording an open of %s failed: %s", c.sent_email_id,
                 re.msg);
    return 0;
}

static int click_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct track_claim c;
    if (!claim_of(req, TRACK_CLICK, &c))
        return page_not_found(rep);
    struct track_request tr = request_of(req);
    struct errinfo re;
    errinfo_clear(&re);
    int rc = track_record(ctx->store, &c, &tr, clock_now_ms(), req->arena, NULL, &re);
    if (rc && rc != ERR_NOT_FOUND)
        log_warn("track.record_failed", "recording a click of %s failed: %s", c.sent_email_id,
                 re.msg);
    /* The person still gets where the link goes: the URL was signed by us. */
    api_redirect(req, rep, 302, c.url);
    http_reply_header(rep, "Cache-Control", "no-store");
    http_reply_header(rep, "Referrer-Policy", "no-referrer");
    return 0;
}

/* The unsubscribe form: it POSTs the RFC 8058 body back to the same URL. */
static void unsubscribe_form(struct http_req *req, struct http_reply *rep, const char *email)
{
    struct buf *b = &rep->body;
    buf_puts(b, "<p>Stop emails to <strong>");
    api_html_escape(b, email);
    buf_puts(b, "</strong>?</p><form method=\"post\" action=\"");
    api_html_escape(b, req->path);
    buf_puts(b, "\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
                "<button type=\"submit\">Unsubscribe</button></form>"
                "<p class=\"muted\">Nothing changes until you press the button.</p>");
}

static int unsubscribe_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct track_claim c;
    if (!claim_of(req, TRACK_UNSUBSCRIBE, &c))
        return page_not_found(rep);
    struct contact ct;
    int rc = store_contact_get(ctx->store, c.workspace_id, c.contact_id, req->arena, &ct, e);
    if (rc == ERR_NOT_FOUND)
        return page_not_found(rep);
    if (rc)
        return rc;
    if (ct.unsubscribed_at) {
        api_html_begin(rep, 200, "You are unsubscribed");
        buf_puts(&rep->body, "<p><strong>");
        api_html_escape(&rep->body, ct.email);
        buf_puts(&rep->body, "</strong> gets no more emails from us.</p>");
        return api_html_end(rep);
    }
    api_html_begin(rep, 200, "Unsubscribe");
    unsubscribe_form(req, rep, ct.email);
    return api_html_end(rep);
}

/*
 * RFC 8058 one-click: mailbox providers POST "List-Unsubscribe=One-Click"
 * (form-urlencoded or multipart), the page's form POSTs the same, and some
 * clients POST nothing. The body is not checked: the signed token is the
 * whole credential, and refusing an odd encoding would keep mailing someone
 * who asked to stop.
 */
static int unsubscribe_post(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct track_claim c;
    if (!claim_of(req, TRACK_UNSUBSCRIBE, &c))
        return page_not_found(rep);
    struct track_request tr = request_of(req);
    bool changed;
    int rc = track_unsubscribe(ctx->store, &c, &tr, clock_now_ms(), &changed, e);
    if (rc == ERR_NOT_FOUND)
        return page_not_found(rep);
    if (rc)
        return rc;
    if (changed)
        log_info("track.unsubscribed", "contact %s unsubscribed", c.contact_id);
    api_html_begin(rep, 200, "You are unsubscribed");
    buf_puts(&rep->body, "<p>You will get no more emails from us.</p>");
    return api_html_end(rep);
}

const struct route api_track_routes[] = {
    {HTTP_GET, "/t/o/{token}.gif", ROUTE_PUBLIC | ROUTE_SECRET | ROUTE_TEXT | ROUTE_NOBODY,
     open_get},
    {HTTP_GET, "/t/c/{token}", ROUTE_PUBLIC | ROUTE_SECRET | ROUTE_TEXT | ROUTE_NOBODY, click_get},
    {HTTP_GET, "/u/{token}", ROUTE_PUBLIC | ROUTE_SECRET | ROUTE_TEXT | ROUTE_NOBODY,
     unsubscribe_get},
    {HTTP_POST, "/u/{token}", ROUTE_PUBLIC | ROUTE_SECRET | ROUTE_TEXT, unsubscribe_post},
};

const size_t api_track_nroutes = sizeof(api_track_routes) / sizeof(api_track_routes[0]);
