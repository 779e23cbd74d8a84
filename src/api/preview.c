/*
 * POST /api/emails/preview: what an email would look like when sent (a
 * draft, or a subject and text with merge fields for a contact), rendered
 * by the path that sends (send_preview). POST /api/emails/test-send sends
 * that rendering to the signed-in user's own address through the providers,
 * and answers with the outcome.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "drip/drip.h"
#include "http/reply.h"
#include "mail/send.h"
#include "store/auth.h"
#include "store/contacts.h"
#include "store/sending.h"

enum { TEXT_MAX = 512 * 1024, SUBJECT_MAX = 998 };

static const char *fill_contact(void *arg, const char *tpl, const char *unsub, struct arena *a)
{
    return drip_merge(arg, tpl, unsub, a);
}

/* The rendered message of the body's draftId, or of its contactId,
 * subject, text and html; to_* override the recipient (a test send). */
static int render(struct http_req *req, const char *to_email, const char *to_name,
                  struct send_msg *m, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct arena *a = req->arena;
    const char *ws = req->auth->workspace_id;
    const char *draft_id, *contact_id, *subject = NULL, *text = NULL, *html = NULL;
    int rc = api_body_string(req->json, "draftId", false, STORE_ID_LEN - 1, &draft_id, e);
    if (!rc)
        rc = api_body_string(req->json, "contactId", false, STORE_ID_LEN - 1, &contact_id, e);
    if (rc)
        return rc;
    if (!draft_id == !contact_id)
        return failf(e, ERR_INVALID, "give draftId, or contactId with subject and text");
    send_fill_fn fill = NULL;
    struct contact *ct = arena_alloc(a, sizeof(*ct));
    if (draft_id) {
        struct content c;
        rc = store_content_get(ctx->store, ws, draft_id, a, &c, e);
        if (rc == ERR_NOT_FOUND)
            return failf(e, ERR_NOT_FOUND, "draft not found");
        if (rc)
            return rc;
        subject = c.subject;
        text = c.body;
        contact_id = arena_strdup(a, c.contact_id);
    } else {
        rc = api_body_string(req->json, "subject", true, SUBJECT_MAX, &subject, e);
        if (!rc)
            rc = api_body_string(req->json, "text", true, TEXT_MAX, &text, e);
        if (!rc)
            rc = api_body_string(req->json, "html", false, TEXT_MAX, &html, e);
        if (rc)
            return rc;
        fill = fill_contact;
    }
    rc = store_contact_get(ctx->store, ws, contact_id, a, ct, e);
    if (rc == ERR_NOT_FOUND)
        return failf(e, ERR_NOT_FOUND, "contact not found");
    if (rc)
        return rc;
    return send_preview(ctx->store, ctx->cfg, ws, to_email ? to_email : ct->email,
                        to_email ? to_name : ct->name, subject, text, html, fill, ct, a, m, e);
}

static void write_msg(struct jw *w, const struct send_msg *m, struct arena *a)
{
    struct buf b;
    buf_init(&b, 2048);
    jw_obj_begin(w);
    jw_kstr(w, "subject", m->subject);
    jw_kstr(w, "text", m->text);
    jw_kstr(w, "html", m->html);
    send_format_address(&b, m->from_name, m->from_email);
    const char *from = arena_strdup(a, buf_str(&b));
    buf_reset(&b);
    send_format_address(&b, m->to_name, m->to_email);
    const char *to = arena_strdup(a, buf_str(&b));
    buf_release(&b);
    jw_kstr(w, "from", from);
    jw_kstr(w, "to", to);
    jw_key(w, "headers");
    jw_obj_begin(w);
    jw_kstr(w, "From", from);
    jw_kstr(w, "To", to);
    jw_kstr(w, "Subject", m->subject);
    jw_kstr(w, "List-Unsubscribe", arena_printf(a, "<%s>", m->list_unsubscribe_url));
    jw_kstr(w, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
    jw_obj_end(w);
}

static int preview(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    struct send_msg m;
    int rc = render(req, NULL, NULL, &m, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    write_msg(&w, &m, req->arena);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

static int test_send(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct user u;
    int rc = store_user_by_id(ctx->store, req->auth->user_id, &u, e);
    struct send_msg m;
    if (!rc)
        rc = render(req, u.email, u.name, &m, e);
    if (rc)
        return rc;
    m.subject = arena_printf(req->arena, "[Test] %s", m.subject);
    struct send_result r;
    struct errinfo se;
    errinfo_clear(&se);
    /* Through the chain as every email goes (the suppression list too), but
     * recorded nowhere: it is no email to a contact. */
    rc = send_chain_send(ctx->send_chain, ctx->store, req->auth->workspace_id, &m, &r, NULL, &se);
    if (rc == ERR_FORBIDDEN)
        return failf(e, ERR_FORBIDDEN, "%s", se.msg);
    /* A provider's failure is the answer, not an error of the request: the
     * user sees why (a provider's own message; no secret is in it). */
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    write_msg(&w, &m, req->arena);
    jw_kbool(&w, "sent", rc == 0);
    jw_kstr(&w, "provider", r.provider[0] ? r.provider : NULL);
    jw_kstr(&w, "providerMessageId",
            rc == 0 && r.provider_message_id[0] ? r.provider_message_id : NULL);
    jw_kstr(&w, "error", rc ? se.msg : NULL);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

enum { WS = ROUTE_AUTH | ROUTE_WORKSPACE };

const struct route api_preview_routes[] = {
    {HTTP_POST, "/api/emails/preview", WS | ROUTE_JSON, preview},
    {HTTP_POST, "/api/emails/test-send", WS | ROUTE_WRITE | ROUTE_JSON, test_send},
};

const size_t api_preview_nroutes = sizeof(api_preview_routes) / sizeof(api_preview_routes[0]);
