/*
 * Sending email: queue one to a contact (POST /api/emails/send), list what
 * was sent, and read one with each provider's attempt. The routes are
 * registered before /api/emails/{id}, whose pattern would take "sent".
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "base/crypto.h"
#include "base/str.h"
#include "http/reply.h"
#include "jobs/queue.h"
#include "mail/send.h"
#include "store/contacts.h"
#include "store/sending.h"

enum {
    PAGE_SIZE_DEFAULT = 25,
    PAGE_SIZE_MAX = 200,
    TEXT_MAX = 512 * 1024, /* bytes of each body part */
    KEY_MAX = 200,
    EVENTS_MAX = 100, /* opens and clicks shown with a sent email */
};

static const char *const statuses[] = {"queued", "sent", "failed", "refused", "suppressed"};

static int outbox_send(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    json_t *b = req->json;
    struct outbox_item it = {.workspace_id = req->auth->workspace_id};
    const char *key;
    int rc = api_body_string(b, "contactId", true, STORE_ID_LEN - 1, &it.contact_id, e);
    if (!rc)
        rc = api_body_string(b, "subject", true, 998, &it.subject, e);
    if (!rc)
        rc = api_body_string(b, "text", true, TEXT_MAX, &it.text, e);
    if (!rc)
        rc = api_body_string(b, "html", false, TEXT_MAX, &it.html, e);
    if (!rc)
        rc = api_body_string(b, "idempotencyKey", false, KEY_MAX, &key, e);
    if (rc)
        return rc;
    if (!*it.subject)
        return failf(e, ERR_INVALID, "subject must not be empty");
    if (str_has_control(it.subject, true))
        return failf(e, ERR_INVALID, "subject must not contain line breaks or control characters");
    char generated[UUID_STR_LEN];
    if (!key || !*key) {
        crypto_uuid(generated);
        key = generated;
    }
    it.idempotency_key = key;
    char id[STORE_ID_LEN];
    bool created = false;
    rc = outbox_queue(ctx->store, ctx->cfg, &it, id, &created, e);
    if (rc == ERR_NOT_FOUND)
        return failf(e, ERR_NOT_FOUND, "contact not found");
    if (rc)
        return rc;
    const char *status = "queued";
    struct sent_email row;
    if (!created && store_sent_email_get(ctx->store, it.workspace_id, id, req->arena, &row, e) == 0)
        status = arena_strdup(req->arena, row.status);
    if (created && ctx->queue)
        queue_kick(ctx->queue);
    struct jw w;
    reply_ok_begin(rep, 202, &w);
    jw_obj_begin(&w);
    jw_kstr(&w, "id", id);
    jw_kstr(&w, "status", status);
    jw_kbool(&w, "created", created);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

static void write_sent(struct jw *w, const struct sent_email *r, bool full)
{
    jw_obj_begin(w);
    jw_kstr(w, "id", r->id);
    jw_kstr(w, "contactId", r->contact_id[0] ? r->contact_id : NULL);
    jw_kstr(w, "idempotencyKey", r->idempotency_key);
    jw_kstr(w, "messageId", r->message_id);
    jw_kstr(w, "from", r->from_email);
    jw_kstr(w, "to", r->to_email);
    jw_kstr(w, "subject", r->subject);
    jw_kstr(w, "status", r->status);
    jw_kstr(w, "provider", r->provider);
    jw_kstr(w, "providerMessageId", r->provider_message_id);
    jw_kstr(w, "error", r->error);
    jw_kstr(w, "contentId", r->content_id);
    api_time(w, "createdAt", r->created_at);
    api_time(w, "sentAt", r->sent_at);
    if (full) {
        jw_kstr(w, "text", r->body_text);
        jw_kstr(w, "html", r->body_html);
    }
}

static int outbox_list(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct api_page pg;
    int rc = api_page_parse(req, PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT, &pg, e);
    if (rc)
        return rc;
    struct sent_email_query q = {.limit = (int)pg.size, .offset = (int)api_page_offset(&pg)};
    q.contact_id = http_req_query(req, "contactId");
    if (q.contact_id && strlen(q.contact_id) >= STORE_ID_LEN)
        return failf(e, ERR_INVALID, "contactId is not a contact id");
    q.status = http_req_query(req, "status");
    if (q.status) {
        bool known = false;
        for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
            known = known || strcmp(q.status, statuses[i]) == 0;
        if (!known)
            return failf(e, ERR_INVALID,
                         "status must be one of queued, sent, failed, refused, suppressed");
    }
    struct sent_email *rows;
    size_t n;
    int64_t total;
    rc = store_sent_email_list(ctx->store, req->auth->workspace_id, &q, req->arena, &rows, &n,
                               &total, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++) {
        write_sent(&w, &rows[i], false);
        jw_obj_end(&w);
    }
    return api_list_end(rep, &w, &pg, total);
}

static void write_counts(struct jw *w, const char *key, int64_t people, int64_t bots, int64_t last)
{
    jw_key(w, key);
    jw_obj_begin(w);
    jw_kint(w, "count", people);
    jw_kint(w, "botCount", bots);
    api_time(w, "lastAt", last);
    jw_obj_end(w);
}

/* "opens" and "clicks" (people and bots counted apart) and the newest
 * of those events. */
static void write_engagement(struct jw *w, const struct sent_engagement *en)
{
    write_counts(w, "opens", en->opens, en->bot_opens, en->last_open_at);
    write_counts(w, "clicks", en->clicks, en->bot_clicks, en->last_click_at);
    jw_key(w, "events");
    jw_arr_begin(w);
    for (size_t i = 0; i < en->nevents; i++) {
        const struct email_event *v = &en->events[i];
        jw_obj_begin(w);
        jw_kstr(w, "kind", v->kind);
        jw_kstr(w, "url", v->url && *v->url ? v->url : NULL);
        jw_kbool(w, "bot", v->is_bot);
        jw_kstr(w, "botReason", v->bot_reason && *v->bot_reason ? v->bot_reason : NULL);
        api_time(w, "at", v->at);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

static int outbox_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    int rc = api_path_id(req, "sent email", id, e);
    if (rc)
        return rc;
    struct store *st = ctx->store;
    const char *ws = req->auth->workspace_id;
    struct sent_email r;
    rc = store_sent_email_get(st, ws, id, req->arena, &r, e);
    struct send_attempt *at = NULL;
    size_t n = 0;
    if (!rc)
        rc = store_send_attempt_list(st, ws, id, req->arena, &at, &n, e);
    struct sent_engagement en;
    if (!rc)
        rc = store_sent_email_engagement(st, ws, id, EVENTS_MAX, req->arena, &en, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    write_sent(&w, &r, true);
    jw_key(&w, "attempts");
    jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        jw_obj_begin(&w);
        jw_kstr(&w, "provider", at[i].provider);
        jw_kstr(&w, "outcome", at[i].outcome);
        if (at[i].status)
            jw_kint(&w, "status", at[i].status);
        else
            jw_kstr(&w, "status", NULL);
        jw_kstr(&w, "providerMessageId", at[i].provider_message_id);
        jw_kstr(&w, "error", at[i].error);
        api_time(&w, "startedAt", at[i].started_at);
        api_time(&w, "finishedAt", at[i].finished_at);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    write_engagement(&w, &en);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

enum { WS = ROUTE_AUTH | ROUTE_WORKSPACE };

const struct route api_outbox_routes[] = {
    {HTTP_POST, "/api/emails/send", WS | ROUTE_WRITE | ROUTE_JSON, outbox_send},
    {HTTP_GET, "/api/emails/sent", WS, outbox_list},
    {HTTP_GET, "/api/emails/sent/{id}", WS, outbox_get},
};

const size_t api_outbox_nroutes = sizeof(api_outbox_routes) / sizeof(api_outbox_routes[0]);
