/*
 * Small helpers shared by the API handlers.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "base/clock.h"
#include "http/reply.h"
#include "net/httpc.h"

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

int api_reply_flag(struct http_reply *rep, const char *key)
{
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kbool(&w, key, true);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}
