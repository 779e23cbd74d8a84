/*
 * Resend: POST {LEADFLOW_RESEND_API_URL}/emails with a Bearer key and an
 * Idempotency-Key header (Resend answers a repeated key with the first
 * result for 24 hours, so a send repeated after a crash is not delivered
 * twice); 200 {"id"}. Errors are {"statusCode","name","message"}.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/mem.h"
#include "mail/send_int.h"
#include "net/httpc.h"

struct resend {
    struct sender base;
    char *url;
    char *auth;
    long timeout_ms;
};

int send_resend_body(const struct send_msg *m, struct buf *out)
{
    struct buf addr;
    buf_init(&addr, 4096);
    struct jw w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    int rc = send_format_address(&addr, m->from_name, m->from_email);
    jw_kstr(&w, "from", buf_str(&addr));
    buf_reset(&addr);
    rc = rc ? rc : send_format_address(&addr, m->to_name, m->to_email);
    jw_key(&w, "to");
    jw_arr_begin(&w);
    jw_str(&w, buf_str(&addr));
    jw_arr_end(&w);
    buf_release(&addr);
    if (m->reply_to)
        jw_kstr(&w, "reply_to", m->reply_to);
    jw_kstr(&w, "subject", m->subject);
    jw_kstr(&w, "text", m->text ? m->text : "");
    if (m->html)
        jw_kstr(&w, "html", m->html);
    jw_key(&w, "headers");
    jw_obj_begin(&w);
    if (m->list_unsubscribe_url) {
        char v[2048];
        snprintf(v, sizeof(v), "<%s>", m->list_unsubscribe_url);
        jw_kstr(&w, "List-Unsubscribe", v);
        jw_kstr(&w, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
    }
    jw_obj_end(&w);
    jw_obj_end(&w);
    int wrc = jw_finish(&w);
    return rc ? rc : wrc;
}

static int resend_send(struct sender *s, const struct send_msg *m, struct send_result *r,
                       struct errinfo *e)
{
    struct resend *x = (struct resend *)s;
    struct buf body;
    buf_init(&body, SEND_BODY_MAX);
    int rc = send_resend_body(m, &body);
    if (rc) {
        buf_release(&body);
        return failf(e, ERR_INVALID, "the message is too large for Resend");
    }
    char idem[300] = "";
    if (m->idempotency_key)
        snprintf(idem, sizeof(idem), "Idempotency-Key: %s", m->idempotency_key);
    struct httpc_req rq = {
        .method = "POST",
        .url = x->url,
        .headers = {x->auth, "Content-Type: application/json", idem[0] ? idem : NULL, NULL},
        .body = buf_str(&body),
        .body_len = body.len,
        .timeout_ms = x->timeout_ms,
        .max_reply = SEND_REPLY_MAX,
        .reuse = 1,
    };
    struct httpc_resp resp;
    struct errinfo he;
    errinfo_clear(&he);
    rc = httpc_do(&rq, &resp, &he);
    buf_release(&body);
    if (rc) {
        httpc_resp_release(&resp);
        return failf(e, rc == ERR_TOO_BIG ? ERR_TEMPORARY : rc, "resend: %s", he.msg);
    }
    r->status = (int)resp.status;
    rc = send_http_outcome(resp.status);
    if (rc == 0) {
        json_t *root = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
        const char *id = json_string_value(json_object_get(root, "id"));
        if (id)
            snprintf(r->provider_message_id, sizeof(r->provider_message_id), "%s", id);
        else
            rc = failf(e, ERR_TEMPORARY, "resend: HTTP %ld without an id", resp.status);
        json_decref(root);
    } else {
        char why[160];
        send_error_message(resp.body.data, resp.body.len, why, sizeof(why));
        /* A bad sender is how the account is set up: another provider may take it. */
        bool sender = send_error_names_sender(resp.body.data, resp.body.len);
        if (rc == ERR_INVALID && sender)
            rc = ERR_TEMPORARY;
        send_http_fault(resp.status, resp.retry_after_s, sender, r);
        failf(e, rc, "resend: HTTP %ld%s%s", resp.status, why[0] ? ": " : "", why);
    }
    httpc_resp_release(&resp);
    return rc;
}

static void resend_free(struct sender *s)
{
    struct resend *x = (struct resend *)s;
    free(x->url);
    free(x->auth);
    free(x);
}

static const struct send_ops resend_ops = {
    .name = "resend",
    .send = resend_send,
    .free = resend_free,
};

struct sender *send_resend_new(const struct config *cfg)
{
    if (!cfg->resend_api_key || !cfg->resend_api_url)
        return NULL;
    struct resend *x = xcalloc(1, sizeof(*x));
    x->base.ops = &resend_ops;
    size_t n = strlen(cfg->resend_api_url);
    while (n > 0 && cfg->resend_api_url[n - 1] == '/')
        n--;
    struct buf b;
    buf_init(&b, 4096);
    buf_printf(&b, "%.*s/emails", (int)n, cfg->resend_api_url);
    x->url = buf_detach(&b, NULL);
    buf_printf(&b, "Authorization: Bearer %s", cfg->resend_api_key);
    x->auth = buf_detach(&b, NULL);
    x->timeout_ms = (long)cfg->send_timeout_ms;
    return &x->base;
}
