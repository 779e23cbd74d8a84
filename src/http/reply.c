/*
 * The error table and the JSON envelope. This is the only place where an
 * error code becomes an HTTP status (STYLE.md habit 4).
 */
#include "http/reply.h"

#include <string.h>

static const struct {
    int status;
    const char *code;
} err_table[ERR_COUNT] = {
    [0] = {200, "OK"},
    [-ERR_INVALID] = {400, "VALIDATION_ERROR"},
    [-ERR_UNAUTHORIZED] = {401, "UNAUTHORIZED"},
    [-ERR_FORBIDDEN] = {403, "FORBIDDEN"},
    [-ERR_NOT_FOUND] = {404, "NOT_FOUND"},
    [-ERR_CONFLICT] = {409, "CONFLICT"},
    [-ERR_RATE_LIMITED] = {429, "RATE_LIMITED"},
    [-ERR_TOO_BIG] = {413, "PAYLOAD_TOO_LARGE"},
    [-ERR_METHOD] = {405, "METHOD_NOT_ALLOWED"},
    [-ERR_INTERNAL] = {500, "INTERNAL"},
    [-ERR_DB] = {500, "INTERNAL"},
    [-ERR_IO] = {500, "INTERNAL"},
    [-ERR_CONFIG] = {500, "INTERNAL"},
    [-ERR_TEMPORARY] = {503, "UNAVAILABLE"},
    [-ERR_UNSUPPORTED] = {501, "NOT_IMPLEMENTED"},
};

int reply_status_for(int code)
{
    if (code > 0 || code <= -ERR_COUNT)
        return 500;
    return err_table[-code].status;
}

const char *reply_code_for(int code)
{
    if (code > 0 || code <= -ERR_COUNT)
        return "INTERNAL";
    return err_table[-code].code;
}

void reply_ok_begin(struct http_reply *rep, int status, struct jw *w)
{
    rep->status = status;
    rep->content_type = "application/json";
    buf_reset(&rep->body);
    jw_init(w, &rep->body);
    jw_obj_begin(w);
    jw_kbool(w, "success", true);
    jw_key(w, "data");
}

int reply_ok_end(struct http_reply *rep, struct jw *w)
{
    jw_obj_end(w);
    int rc = jw_finish(w);
    if (rc) {
        reply_error(rep, rc == ERR_TOO_BIG ? ERR_TOO_BIG : ERR_INTERNAL,
                    rc == ERR_TOO_BIG ? "the reply is larger than the server allows"
                                      : "the reply could not be encoded");
    }
    return rc;
}

void reply_error(struct http_reply *rep, int code, const char *message)
{
    struct jw w;
    http_reply_drop_upgrade(rep); /* an error is never a 101 */
    rep->status = reply_status_for(code);
    rep->content_type = "application/json";
    buf_reset(&rep->body);
    if (rep->fd >= 0) {
        http_reply_release(rep);
        buf_init(&rep->body, rep->body.max);
    }
    /* Error bodies are small; the message is capped so this always fits. */
    if (rep->body.max < 8192)
        rep->body.max = 8192;
    jw_init(&w, &rep->body);
    jw_obj_begin(&w);
    jw_kbool(&w, "success", false);
    jw_key(&w, "error");
    jw_obj_begin(&w);
    jw_kstr(&w, "code", reply_code_for(code));
    jw_key(&w, "message");
    jw_strn(&w, message, strnlen(message, 512));
    jw_obj_end(&w);
    jw_obj_end(&w);
}
