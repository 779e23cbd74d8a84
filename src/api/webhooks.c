/*
 * Providers' event webhooks (mail/events.h): POST /api/webhooks/sendgrid
 * (SendGrid's Event Webhook, ECDSA-signed) and POST /api/webhooks/resend
 * (Resend's, signed by Svix). No session: the signature is the
 * authentication, checked over the raw body before anything is parsed. A
 * provider whose key is not configured gets 404; a bad or stale signature
 * 401. Events of emails not found are counted and skipped.
 */
#include <string.h>

#include "api/api.h"
#include "base/clock.h"
#include "base/log.h"
#include "http/reply.h"
#include "mail/events.h"

static int apply_all(struct http_req *req, struct http_reply *rep, struct provider_event *evs,
                     size_t n, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    size_t applied = 0;
    for (size_t i = 0; i < n; i++) {
        bool matched;
        int rc = provider_event_apply(ctx->store, &evs[i], req->arena, &matched, e);
        if (rc)
            return rc; /* the provider retries the whole delivery */
        applied += matched;
    }
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kint(&w, "received", (int64_t)n);
    jw_kint(&w, "applied", (int64_t)applied);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

static int sendgrid_events(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const char *key = ctx->cfg->sendgrid_webhook_key;
    if (!key || !*key)
        return failf(e, ERR_NOT_FOUND, "the SendGrid event webhook is not configured");
    const char *body = req->body.data ? req->body.data : "";
    if (!provider_sendgrid_verify(key,
                                  http_req_header(req, "X-Twilio-Email-Event-Webhook-Signature"),
                                  http_req_header(req, "X-Twilio-Email-Event-Webhook-Timestamp"),
                                  body, req->body.len, clock_now_ms() / 1000))
        return failf(e, ERR_UNAUTHORIZED, "the event signature is missing, wrong or stale");
    struct provider_event *evs;
    size_t n;
    int rc = provider_events_sendgrid(body, req->body.len, req->arena, &evs, &n, e);
    return rc ? rc : apply_all(req, rep, evs, n, e);
}

static int resend_events(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const char *secret = ctx->cfg->resend_webhook_secret;
    if (!secret || !*secret)
        return failf(e, ERR_NOT_FOUND, "the Resend webhook is not configured");
    const char *body = req->body.data ? req->body.data : "";
    if (!provider_svix_verify(
            secret, http_req_header(req, "svix-id"), http_req_header(req, "svix-timestamp"),
            http_req_header(req, "svix-signature"), body, req->body.len, clock_now_ms() / 1000))
        return failf(e, ERR_UNAUTHORIZED, "the event signature is missing, wrong or stale");
    struct provider_event *evs;
    size_t n;
    int rc = provider_events_resend(body, req->body.len, req->arena, &evs, &n, e);
    return rc ? rc : apply_all(req, rep, evs, n, e);
}

const struct route api_webhooks_routes[] = {
    {HTTP_POST, "/api/webhooks/sendgrid", ROUTE_PUBLIC, sendgrid_events},
    {HTTP_POST, "/api/webhooks/resend", ROUTE_PUBLIC, resend_events},
};

const size_t api_webhooks_nroutes = sizeof(api_webhooks_routes) / sizeof(api_webhooks_routes[0]);
