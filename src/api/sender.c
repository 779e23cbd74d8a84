/*
 * The workspace's sender identity: the From name and address and the
 * Reply-To its emails go out with (every path: API sends, approved drafts,
 * campaign and alert emails; send_compose in mail/send.h). Unset, emails
 * go out from the configured From (LEADFLOW_MAIL_FROM). Any member reads
 * it; admins change it.
 */
#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "base/str.h"
#include "http/reply.h"
#include "store/auth.h"

static void write_sender(struct jw *w, const struct sender_identity *s)
{
    jw_obj_begin(w);
    jw_kstr(w, "name", s->name);
    jw_kstr(w, "email", s->email);
    jw_kstr(w, "replyTo", s->reply_to);
    jw_obj_end(w);
}

static int sender_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct sender_identity s;
    int rc = store_workspace_sender_get(ctx->store, req->auth->workspace_id, req->arena, &s, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    write_sender(&w, &s);
    return reply_ok_end(rep, &w);
}

/* An optional address member: "" and null clear it. */
static int address_member(json_t *body, const char *key, const char **out, struct errinfo *e)
{
    int rc = api_body_string(body, key, false, STORE_EMAIL_MAX - 1, out, e);
    if (rc || !*out || !**out) {
        *out = NULL;
        return rc;
    }
    if (!str_is_email(*out) || str_has_control(*out, false))
        return failf(e, ERR_INVALID, "%s must be an email address", key);
    return 0;
}

static int sender_put(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    if (req->auth->role < ROLE_ADMIN)
        return failf(e, ERR_FORBIDDEN, "the sender identity is set by workspace admins");
    struct sender_identity s = {0};
    int rc = api_body_string(req->json, "name", false, STORE_NAME_MAX - 1, &s.name, e);
    if (!rc)
        rc = address_member(req->json, "email", &s.email, e);
    if (!rc)
        rc = address_member(req->json, "replyTo", &s.reply_to, e);
    if (rc)
        return rc;
    if (s.name && !*s.name)
        s.name = NULL;
    if (s.name && str_has_control(s.name, false))
        return failf(e, ERR_INVALID, "name must not contain line breaks or control characters");
    if (s.name && !s.email)
        return failf(e, ERR_INVALID, "name needs email: the name goes with the address");
    rc = store_workspace_sender_set(ctx->store, req->auth->workspace_id, &s, e);
    return rc ? rc : sender_get(req, rep, e);
}

enum { WS = ROUTE_AUTH | ROUTE_WORKSPACE, WR = WS | ROUTE_WRITE };

const struct route api_sender_routes[] = {
    {HTTP_GET, "/api/workspace/sender", WS, sender_get},
    {HTTP_PUT, "/api/workspace/sender", WR | ROUTE_JSON, sender_put},
};

const size_t api_sender_nroutes = sizeof(api_sender_routes) / sizeof(api_sender_routes[0]);
