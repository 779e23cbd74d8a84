/*
 * SMTP submission (RFC 5321) through the libcurl adapter: the message is
 * built by GMime (mail/mime.h), STARTTLS is used when an smtp:// server
 * offers it, smtps:// is TLS throughout, and AUTH comes from the URL's user
 * and password. A 5xx reply is permanent; a 4xx reply, a refused connection
 * or a time-out is temporary. With a DKIM key configured, the serialised
 * message is signed (RFC 6376, mail/dkim.h) just before it is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/mem.h"
#include "mail/dkim.h"
#include "mail/mime.h"
#include "mail/send_int.h"
#include "net/httpc.h"

struct smtp {
    struct sender base;
    char *url;
    long timeout_ms;
    struct dkim_signer *dkim; /* NULL: not signed */
};

static int smtp_send(struct sender *s, const struct send_msg *m, struct send_result *r,
                     struct errinfo *e)
{
    struct smtp *x = (struct smtp *)s;
    char stack[8192];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    const char *msg;
    size_t len;
    int64_t now = clock_now_ms();
    int rc = mime_build(m, now, &a, &msg, &len, e);
    if (rc == 0 && x->dkim)
        rc = dkim_sign(x->dkim, msg, len, m->from_email, now / 1000, &a, &msg, &len, e);
    if (rc) {
        arena_release(&a);
        return rc;
    }
    char from[STORE_EMAIL_MAX + 2], to[STORE_EMAIL_MAX + 2];
    snprintf(from, sizeof(from), "<%s>", m->from_email);
    snprintf(to, sizeof(to), "<%s>", m->to_email);
    const char *rcpts[] = {to, NULL};
    struct httpc_smtp rq = {
        .url = x->url,
        .from = from,
        .rcpts = rcpts,
        .message = msg,
        .message_len = len,
        .timeout_ms = x->timeout_ms,
    };
    long code = 0;
    struct errinfo he;
    errinfo_clear(&he);
    rc = httpc_smtp_send(&rq, &code, &he);
    arena_release(&a);
    r->status = (int)code;
    if (rc == 0) {
        /* SMTP has no message id of its own to give back: ours is the one. */
        snprintf(r->provider_message_id, sizeof(r->provider_message_id), "%s",
                 m->message_id ? m->message_id : "");
        return 0;
    }
    /* 530, 534, 535 and 538 refuse our credentials, not the recipient:
     * the server's failure, like a 4xx. */
    bool auth = code == 530 || code == 534 || code == 535 || code == 538;
    r->config_error = auth;
    return failf(e, code >= 500 && code < 600 && !auth ? ERR_INVALID : ERR_TEMPORARY, "smtp: %s",
                 he.msg);
}

static void smtp_free(struct sender *s)
{
    struct smtp *x = (struct smtp *)s;
    free(x->url);
    dkim_signer_free(x->dkim);
    free(x);
}

static const struct send_ops smtp_ops = {
    .name = "smtp",
    .send = smtp_send,
    .free = smtp_free,
};

int send_smtp_new(const struct config *cfg, struct sender **out, struct errinfo *e)
{
    *out = NULL;
    if (!cfg->smtp_url)
        return 0;
    struct dkim_signer *dkim;
    int rc = dkim_signer_new(cfg, &dkim, e);
    if (rc)
        return rc;
    struct smtp *x = xcalloc(1, sizeof(*x));
    x->base.ops = &smtp_ops;
    x->url = xstrdup(cfg->smtp_url);
    x->timeout_ms = (long)cfg->send_timeout_ms;
    x->dkim = dkim;
    *out = &x->base;
    return 0;
}
