/*
 * SendGrid v3 Mail Send: POST {LEADFLOW_SENDGRID_API_URL}/v3/mail/send with
 * a Bearer key; 202 Accepted carries the message id in X-Message-Id. SendGrid
 * takes no idempotency key, so ours travels in custom_args (it comes back in
 * event webhooks); a send repeated after a crash is not deduplicated there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/mem.h"
#include "mail/send_int.h"
#include "net/httpc.h"

struct sendgrid {
    struct sender base;
    char *url;
    char *auth;
    long timeout_ms;
};

static void write_mailbox(struct jw *w, const char *email, const char *name)
{
    jw_obj_begin(w);
    jw_kstr(w, "email", email);
    if (name && *name)
        jw_kstr(w, "name", name);
    jw_obj_end(w);
}

int send_sendgrid_body(const struct send_msg *m, struct buf *out)
{
    struct jw w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "personalizations");
    jw_arr_begin(&w);
    jw_obj_begin(&w);
    jw_key(&w, "to");
    jw_arr_begin(&w);
    write_mailbox(&w, m->to_email, m->to_name);
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_arr_end(&w);
    jw_key(&w, "from");
    write_mailbox(&w, m->from_email, m->from_name);
    if (m->reply_to) {
        jw_key(&w, "reply_to");
        write_mailbox(&w, m->reply_to, NULL);
    }
    jw_kstr(&w, "subject", m->subject);
    jw_key(&w, "content");
    jw_arr_begin(&w);
    jw_obj_begin(&w);
    jw_kstr(&w, "type", "text/plain");
    jw_kstr(&w, "value", m->text ? m->text : "");
    jw_obj_end(&w);
    if (m->html) {
        jw_obj_begin(&w);
        jw_kstr(&w, "type", "text/html");
        jw_kstr(&w, "value", m->html);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    if (m->list_unsubscribe_url) {
        char v[2048];
        snprintf(v, sizeof(v), "<%s>", m->list_unsubscribe_url);
        jw_key(&w, "headers");
        jw_obj_begin(&w);
        jw_kstr(&w, "List-Unsubscribe", v);
        jw_kstr(&w, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        jw_obj_end(&w);
    }
    if (m->idempotency_key) {
        jw_key(&w, "custom_args");
        jw_obj_begin(&w);
        jw_kstr(&w, "idempotency_key", m->idempotency_key);
        jw_obj_end(&w);
    }
    jw_obj_end(&w);
    return jw_finish(&w);
}

static int sendgrid_send(struct sender *s, const struct send_msg *m, struct send_result *r,
                         struct errinfo *e)
{
    struct sendgrid *g = (struct sendgrid *)s;
    struct buf body;
    buf_init(&body, SEND_BODY_MAX);
    int rc = send_sendgrid_body(m, &body);
    if (rc) {
        buf_release(&body);
        return failf(e, ERR_INVALID, "the message is too large for SendGrid");
    }
    struct httpc_req rq = {
        .method = "POST",
        .url = g->url,
        .headers = {g->auth, "Content-Type: application/json", NULL},
        .body = buf_str(&body),
        .body_len = body.len,
        .timeout_ms = g->timeout_ms,
        .max_reply = SEND_REPLY_MAX,
        .want_header = "X-Message-Id",
        .reuse = 1,
    };
    struct httpc_resp resp;
    struct errinfo he;
    errinfo_clear(&he);
    rc = httpc_do(&rq, &resp, &he);
    buf_release(&body);
    if (rc) {
        httpc_resp_release(&resp);
        return failf(e, rc == ERR_TOO_BIG ? ERR_TEMPORARY : rc, "sendgrid: %s", he.msg);
    }
    r->status = (int)resp.status;
    rc = send_http_outcome(resp.status);
    if (rc == 0) {
        snprintf(r->provider_message_id, sizeof(r->provider_message_id), "%s", resp.header_value);
    } else {
        char why[160];
        send_error_message(resp.body.data, resp.body.len, why, sizeof(why));
        /* A bad sender is how the account is set up: another provider may take it. */
        bool sender = send_error_names_sender(resp.body.data, resp.body.len);
        if (rc == ERR_INVALID && sender)
            rc = ERR_TEMPORARY;
        send_http_fault(resp.status, resp.retry_after_s, sender, r);
        failf(e, rc, "sendgrid: HTTP %ld%s%s", resp.status, why[0] ? ": " : "", why);
    }
    httpc_resp_release(&resp);
    return rc;
}

static void sendgrid_free(struct sender *s)
{
    struct sendgrid *g = (struct sendgrid *)s;
    free(g->url);
    free(g->auth);
    free(g);
}

static const struct send_ops sendgrid_ops = {
    .name = "sendgrid",
    .send = sendgrid_send,
    .free = sendgrid_free,
};

struct sender *send_sendgrid_new(const struct config *cfg)
{
    if (!cfg->sendgrid_api_key || !cfg->sendgrid_api_url)
        return NULL;
    struct sendgrid *g = xcalloc(1, sizeof(*g));
    g->base.ops = &sendgrid_ops;
    size_t n = strlen(cfg->sendgrid_api_url);
    while (n > 0 && cfg->sendgrid_api_url[n - 1] == '/')
        n--;
    struct buf b;
    buf_init(&b, 4096);
    buf_printf(&b, "%.*s/v3/mail/send", (int)n, cfg->sendgrid_api_url);
    g->url = buf_detach(&b, NULL);
    buf_printf(&b, "Authorization: Bearer %s", cfg->sendgrid_api_key);
    g->auth = buf_detach(&b, NULL);
    g->timeout_ms = (long)cfg->send_timeout_ms;
    return &g->base;
}
