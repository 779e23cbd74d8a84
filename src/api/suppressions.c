/*
 * The suppression list (mail/suppress.h): list it, add an address (a
 * manual entry needs a note saying why), take one off with a reason, which
 * is logged.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/str.h"
#include "http/reply.h"
#include "mail/suppress.h"
#include "store/sending.h"

enum { PAGE_SIZE_DEFAULT = 25, PAGE_SIZE_MAX = 200, NOTE_MAX = 500 };

static int reason_error(const char *field, struct errinfo *e)
{
    struct buf b;
    buf_init(&b, 256);
    for (size_t i = 0; i < suppress_nreasons; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", suppress_reasons[i]);
    int rc = failf(e, ERR_INVALID, "%s must be one of %s", field, buf_str(&b));
    buf_release(&b);
    return rc;
}

static void write_sup(struct jw *w, const struct suppression *s)
{
    jw_obj_begin(w);
    jw_kstr(w, "id", s->id);
    jw_kstr(w, "email", s->email);
    jw_kstr(w, "reason", s->reason);
    jw_kstr(w, "note", s->note);
    jw_kstr(w, "contactId", s->contact_id[0] ? s->contact_id : NULL);
    jw_kstr(w, "sentEmailId", s->sent_email_id[0] ? s->sent_email_id : NULL);
    jw_kstr(w, "createdBy", s->created_by[0] ? s->created_by : NULL);
    api_time(w, "createdAt", s->created_at);
    jw_obj_end(w);
}

static int sup_list(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct api_page pg;
    int rc = api_page_parse(req, PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT, &pg, e);
    if (rc)
        return rc;
    struct suppression_query q = {.limit = (int)pg.size, .offset = (int)api_page_offset(&pg)};
    q.reason = http_req_query(req, "reason");
    if (q.reason && !suppress_reason_known(q.reason))
        return reason_error("reason", e);
    q.email = http_req_query(req, "email");
    if (q.email && strlen(q.email) >= STORE_EMAIL_MAX)
        return failf(e, ERR_INVALID, "email is longer than %d bytes", STORE_EMAIL_MAX - 1);
    struct suppression *rows;
    size_t n;
    int64_t total;
    rc = store_suppression_list(ctx->store, req->auth->workspace_id, &q, req->arena, &rows, &n,
                                &total, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++)
        write_sup(&w, &rows[i]);
    return api_list_end(rep, &w, &pg, total);
}

static int sup_add(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const char *ws = req->auth->workspace_id;
    const char *email, *reason, *note;
    int rc = api_body_string(req->json, "email", true, STORE_EMAIL_MAX - 1, &email, e);
    if (!rc)
        rc = api_body_string(req->json, "reason", false, 16, &reason, e);
    if (!rc)
        rc = api_body_string(req->json, "note", false, NOTE_MAX, &note, e);
    if (rc)
        return rc;
    if (!str_is_email(email))
        return failf(e, ERR_INVALID, "email must be an email address");
    if (!reason)
        reason = "manual";
    if (!suppress_reason_known(reason))
        return reason_error("reason", e);
    if (note && str_has_control(note, false))
        return failf(e, ERR_INVALID, "note must not contain control characters");
    if (strcmp(reason, "manual") == 0 && (!note || !*note))
        return failf(e, ERR_INVALID, "note is required for a manual entry: say why");
    struct suppression s;
    memset(&s, 0, sizeof(s));
    s.email = email;
    snprintf(s.reason, sizeof(s.reason), "%s", reason);
    s.note = note;
    snprintf(s.created_by, sizeof(s.created_by), "%s", req->auth->user_id);
    bool created;
    rc = store_suppression_add(ctx->store, ws, &s, &created, e);
    struct suppression out;
    if (!rc)
        rc = store_suppression_find(ctx->store, ws, email, req->arena, &out, e);
    if (rc)
        return rc;
    if (!created)
        return failf(e, ERR_CONFLICT, "%s is already on the suppression list (%s)", out.email,
                     out.reason);
    struct jw w;
    reply_ok_begin(rep, 201, &w);
    write_sup(&w, &out);
    return reply_ok_end(rep, &w);
}

static int sup_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    struct suppression s;
    int rc = api_path_id(req, "suppressed address", id, e);
    if (!rc)
        rc = store_suppression_get(ctx->store, req->auth->workspace_id, id, req->arena, &s, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    write_sup(&w, &s);
    return reply_ok_end(rep, &w);
}

static int sup_remove(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    struct suppression s;
    int rc = api_path_id(req, "suppressed address", id, e);
    if (!rc) /* another workspace's entry is a 404, whatever the reason says */
        rc = store_suppression_get(ctx->store, req->auth->workspace_id, id, req->arena, &s, e);
    if (rc)
        return rc;
    const char *why = http_req_query(req, "reason");
    if (!why || !*why)
        return failf(e, ERR_INVALID, "reason is required: say why the address may be sent to");
    if (strlen(why) > NOTE_MAX)
        return failf(e, ERR_INVALID, "reason is longer than %d bytes", NOTE_MAX);
    if (str_has_control(why, false))
        return failf(e, ERR_INVALID, "reason must not contain control characters");
    rc = store_suppression_remove(ctx->store, req->auth->workspace_id, id, why, req->auth->user_id,
                                  clock_now_ms(), e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kstr(&w, "id", id);
    jw_kbool(&w, "deleted", true);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

enum { WS = ROUTE_AUTH | ROUTE_WORKSPACE, WR = WS | ROUTE_WRITE };

const struct route api_suppressions_routes[] = {
    {HTTP_GET, "/api/suppressions", WS, sup_list},
    {HTTP_POST, "/api/suppressions", WR | ROUTE_JSON, sup_add},
    {HTTP_GET, "/api/suppressions/{id}", WS, sup_get},
    {HTTP_DELETE, "/api/suppressions/{id}", WR, sup_remove},
};

const size_t api_suppressions_nroutes =
    sizeof(api_suppressions_routes) / sizeof(api_suppressions_routes[0]);
