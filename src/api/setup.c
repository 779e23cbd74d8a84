/*
 * First run: on a server without users, `leadflow serve` prints a one-time
 * link to /setup/{token}. Its page asks the first owner's name and email; the
 * form (CSRF-bound to this browser by a double-submit cookie) creates the
 * owner, their organization and workspace, and signs them in. Also GET /:
 * the dashboard when signed in, else the sign-in page.
 */
#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/str.h"

enum { SETUP_RATE_PER_MIN = 30, NAME_MAX_LEN = 200, EMAIL_MAX_LEN = 254 };

#define LANDING "/dashboard/overview"
#define CSRF_COOKIE "lf_setup_csrf"
#define CSRF_COOKIE_PATH "/setup"

static int root_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct auth_ctx a = {.store = ctx->store, .cfg = ctx->cfg};
    (void)e;
    api_redirect(req, rep, 302, auth_signed_in(&a, req) ? LANDING : "/login");
    http_reply_header(rep, "Cache-Control", "no-store");
    return 0;
}

static int page_gone(struct http_reply *rep)
{
    api_html_begin(rep, 404, "Link not valid");
    buf_puts(&rep->body, "<p>This first-run link is unknown, used or expired, or this server has "
                         "an owner already. <a href=\"/login\">Sign in</a>, or restart "
                         "<code>leadflow serve</code> for a new link while no one has an "
                         "account.</p>");
    return api_html_end(rep);
}

/* The form, with what was typed (escaped) and the message of a refusal. */
static int setup_form(struct http_req *req, struct http_reply *rep, int status, const char *csrf,
                      const char *name, const char *email, const char *error)
{
    struct buf *b = &rep->body;
    api_html_begin(rep, status, "Welcome to leadflow");
    buf_puts(b, "<p>Create the first owner of this server. You will be signed in at once.</p>");
    if (error) {
        buf_puts(b, "<p role=\"alert\" class=\"error\" id=\"error\">");
        api_html_escape(b, error);
        buf_puts(b, "</p>");
    }
    buf_puts(b, "<form method=\"post\" action=\"");
    api_html_escape(b, req->path);
    buf_puts(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
    api_html_escape(b, csrf);
    buf_puts(b, "\"><label for=\"name\">Your name</label><input id=\"name\" name=\"name\" "
                "required maxlength=\"200\" autocomplete=\"name\" value=\"");
    api_html_escape(b, name ? name : "");
    buf_puts(b, "\"><label for=\"email\">Your email</label><input id=\"email\" name=\"email\" "
                "type=\"email\" required maxlength=\"254\" autocomplete=\"email\" value=\"");
    api_html_escape(b, email ? email : "");
    buf_puts(b, "\"><p><button type=\"submit\">Create owner and sign in</button></p></form>");
    return api_html_end(rep);
}

static const char *csrf_cookie(const struct api_ctx *ctx, struct http_req *req, const char *v)
{
    return auth_state_cookie(ctx->cfg, req->arena, CSRF_COOKIE, CSRF_COOKIE_PATH, v);
}

static int setup_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    if (auth_rate_check(http_req_client_ip(req), SETUP_RATE_PER_MIN, e))
        return ERR_RATE_LIMITED;
    const char *token = arena_strndup(req->arena, req->params[0].p, req->params[0].len);
    struct errinfo ce;
    errinfo_clear(&ce);
    int rc = auth_first_run_check(ctx->store, token, &ce);
    if (rc == ERR_NOT_FOUND)
        return page_gone(rep);
    if (rc)
        return failf(e, rc, "%s", ce.msg);
    char csrf[48];
    crypto_token(csrf, sizeof(csrf), 24);
    setup_form(req, rep, 200, csrf, NULL, NULL, NULL);
    http_reply_header(rep, "Set-Cookie", csrf_cookie(ctx, req, csrf));
    return 0;
}

/* s without the spaces around it (arena memory), or NULL for NULL. */
static const char *trimmed(struct arena *a, const char *s)
{
    if (!s)
        return NULL;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return arena_strndup(a, s, n);
}

/* The message for a bad name or email, or NULL when both are fine. */
static const char *check_fields(const char *name, const char *email)
{
    if (!name || !*name || strlen(name) > NAME_MAX_LEN)
        return "name is required (1 to 200 characters)";
    if (!email || strlen(email) > EMAIL_MAX_LEN || !str_is_email(email))
        return "email is not a valid email address";
    return NULL;
}

static int setup_post(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    if (auth_rate_check(http_req_client_ip(req), SETUP_RATE_PER_MIN, e))
        return ERR_RATE_LIMITED;
    const char *token = arena_strndup(req->arena, req->params[0].p, req->params[0].len);
    const char *csrf = http_req_form(req, "csrf");
    /* The form must come from the page this browser was given. */
    if (!auth_state_matches(req, CSRF_COOKIE, csrf)) {
        api_html_begin(rep, 403, "Form expired");
        buf_puts(&rep->body, "<p>This form was not opened in this browser, or it expired. Open "
                             "the first-run link again.</p>");
        return api_html_end(rep);
    }
    struct errinfo ce;
    errinfo_clear(&ce);
    int rc = auth_first_run_check(ctx->store, token, &ce);
    if (rc == ERR_NOT_FOUND)
        return page_gone(rep);
    if (rc)
        return failf(e, rc, "%s", ce.msg);
    const char *name = trimmed(req->arena, http_req_form(req, "name"));
    const char *email = trimmed(req->arena, http_req_form(req, "email"));
    const char *bad = check_fields(name, email);
    if (bad)
        return setup_form(req, rep, 400, csrf, name, email, bad);
    struct user u;
    rc = auth_first_run_finish(ctx->store, token, name, email, &u, &ce);
    if (rc == ERR_NOT_FOUND)
        return page_gone(rep);
    if (rc)
        return failf(e, rc, "%s", ce.msg);
    const char *cookie = NULL;
    rc = auth_session_start(ctx->store, ctx->cfg, req, u.id, &cookie, e);
    if (rc)
        return rc;
    log_info("auth.first_owner", "the first owner %s was created from the first-run link", u.id);
    api_redirect(req, rep, 303, LANDING);
    http_reply_header(rep, "Set-Cookie", cookie);
    http_reply_header(rep, "Set-Cookie",
                      auth_state_cookie_clear(ctx->cfg, req->arena, CSRF_COOKIE, CSRF_COOKIE_PATH));
    return 0;
}

const struct route api_setup_routes[] = {
    {HTTP_GET, "/", ROUTE_PUBLIC | ROUTE_TEXT | ROUTE_NOBODY, root_get},
    {HTTP_GET, "/setup/{token}", ROUTE_PUBLIC | ROUTE_SECRET | ROUTE_TEXT | ROUTE_NOBODY,
     setup_get},
    {HTTP_POST, "/setup/{token}", ROUTE_PUBLIC | ROUTE_SECRET | ROUTE_TEXT, setup_post},
};

const size_t api_setup_nroutes = sizeof(api_setup_routes) / sizeof(api_setup_routes[0]);
