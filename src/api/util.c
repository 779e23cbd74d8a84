/*
 * Small helpers shared by the API handlers.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ai/score.h"
#include "api/api.h"
#include "base/clock.h"
#include "base/str.h"
#include "http/reply.h"
#include "net/httpc.h"
#include "store/contacts.h"

void api_time(struct jw *w, const char *key, int64_t ms)
{
    jw_key(w, key);
    if (ms <= 0) {
        jw_null(w);
        return;
    }
    char ts[32];
    clock_format(ms, ts, sizeof(ts));
    jw_str(w, ts);
}

int api_redirect(struct http_req *req, struct http_reply *rep, int status, const char *location)
{
    rep->status = status;
    rep->content_type = "text/plain; charset=utf-8";
    buf_reset(&rep->body);
    http_reply_header(rep, "Location", arena_strdup(req->arena, location));
    return 0;
}

int api_redirect_login_error(struct http_req *req, struct http_reply *rep, const char *message)
{
    struct buf b;
    buf_init(&b, 2048);
    buf_puts(&b, "/login?error=");
    httpc_form_escape(&b, message);
    api_redirect(req, rep, 302, buf_str(&b));
    buf_release(&b);
    return 0;
}

static const char page_csp[] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
                               " frame-ancestors 'none'; base-uri 'none'";

void api_html_escape(struct buf *b, const char *s)
{
    buf_html_escape(b, s, strlen(s)); /* past the reply's limit, the error page says so */
}

void api_html_begin(struct http_reply *rep, int status, const char *title)
{
    struct buf *b = &rep->body;
    rep->status = status;
    rep->content_type = "text/html; charset=utf-8";
    buf_reset(b);
    http_reply_header(rep, "Cache-Control", "no-store");
    http_reply_header(rep, "Content-Security-Policy", page_csp);
    http_reply_header(rep, "X-Robots-Tag", "noindex");
    buf_puts(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<meta name=\"robots\" content=\"noindex\"><title>");
    api_html_escape(b, title);
    buf_puts(b, "</title><style>body{font-family:system-ui,sans-serif;max-width:34rem;"
                "margin:4rem auto;padding:0 1rem;color:#111827;line-height:1.5}"
                "label{display:block;margin:.75rem 0 .25rem;font-weight:600}"
                "input{font:inherit;width:100%;box-sizing:border-box;padding:.5rem;"
                "border:1px solid #d1d5db;border-radius:.375rem}.error{color:#b91c1c}"
                "button{font:inherit;padding:.5rem 1.25rem;border:0;border-radius:.375rem;"
                "background:#111827;color:#fff;cursor:pointer}.muted{color:#6b7280}</style>"
                "</head><body><main><h1>");
    api_html_escape(b, title);
    buf_puts(b, "</h1>");
}

int api_html_end(struct http_reply *rep)
{
    buf_puts(&rep->body, "</main></body></html>\n");
    return 0;
}

int api_reply_flag(struct http_reply *rep, const char *key)
{
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kbool(&w, key, true);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

/* A part of the score as shown: two decimals are all that mean anything. */
static double score_part(double v)
{
    return round(v * 100) / 100;
}

void api_write_contact(struct jw *w, const struct contact *c)
{
    jw_obj_begin(w);
    jw_kstr(w, "id", c->id);
    jw_kstr(w, "workspaceId", c->workspace_id);
    jw_kstr(w, "email", c->email);
    jw_kstr(w, "name", c->name[0] ? c->name : NULL);
    jw_kstr(w, "company", c->company[0] ? c->company : NULL);
    jw_kstr(w, "jobTitle", c->job_title[0] ? c->job_title : NULL);
    jw_kstr(w, "status", c->status);
    jw_key(w, "tags");
    jw_raw(w, c->tags, strlen(c->tags));
    jw_kint(w, "score", c->ai_score);
    jw_kstr(w, "tier", score_tier(c->ai_score));
    jw_key(w, "scoreBreakdown");
    jw_obj_begin(w);
    jw_key(w, "engagement");
    jw_double(w, score_part(c->score_engagement));
    jw_key(w, "sentiment");
    jw_double(w, score_part(c->score_sentiment));
    jw_key(w, "intent");
    jw_double(w, score_part(c->score_intent));
    jw_key(w, "role");
    jw_double(w, score_part(c->score_role));
    jw_key(w, "status");
    jw_double(w, score_part(c->score_status));
    jw_obj_end(w);
    jw_key(w, "sentiment");
    if (c->has_sentiment)
        jw_double(w, c->sentiment);
    else
        jw_null(w);
    jw_key(w, "scoreReasons");
    if (c->score_reasons)
        jw_raw(w, c->score_reasons, strlen(c->score_reasons));
    else
        jw_null(w);
    api_time(w, "lastInteraction", c->last_interaction);
    api_time(w, "unsubscribedAt", c->unsubscribed_at);
    api_time(w, "createdAt", c->created_at);
    api_time(w, "updatedAt", c->updated_at);
    jw_obj_end(w);
}

/* Parses an optional integer query argument in [lo, hi]. */
int api_query_int(struct http_req *req, const char *name, int64_t lo, int64_t hi, int64_t def,
                  int64_t *out, struct errinfo *e)
{
    const char *v = http_req_query(req, name);
    *out = def;
    if (!v)
        return 0;
    if (!str_to_i64(str_from(v), lo, hi, out))
        return failf(e, ERR_INVALID, "%s must be a whole number from %lld to %lld", name,
                     (long long)lo, (long long)hi);
    return 0;
}

int api_page_parse(struct http_req *req, int64_t max_size, int64_t def_size, struct api_page *p,
                   struct errinfo *e)
{
    int rc = api_query_int(req, "page", 1, 1000000, 1, &p->page, e);
    if (!rc)
        rc = api_query_int(req, "pageSize", 1, max_size, def_size, &p->size, e);
    return rc;
}

void api_list_begin(struct http_reply *rep, struct jw *w)
{
    reply_ok_begin(rep, 200, w);
    jw_arr_begin(w);
}

int api_list_end(struct http_reply *rep, struct jw *w, const struct api_page *p, int64_t total)
{
    jw_arr_end(w);
    if (p)
        api_page_meta(w, p, total);
    return reply_ok_end(rep, w);
}

int api_path_id(struct http_req *req, const char *noun, char id[STORE_ID_LEN], struct errinfo *e)
{
    if (req->params[0].len >= STORE_ID_LEN)
        return failf(e, ERR_NOT_FOUND, "%s not found", noun);
    str_copy(id, STORE_ID_LEN, req->params[0]);
    return 0;
}

void api_page_meta(struct jw *w, const struct api_page *p, int64_t total)
{
    jw_key(w, "meta");
    jw_obj_begin(w);
    jw_kint(w, "total", total);
    jw_kint(w, "page", p->page);
    jw_kint(w, "pageSize", p->size);
    jw_obj_end(w);
}
