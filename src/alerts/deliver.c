/*
 * The alert_deliver job: one channel of one alert. Slack gets an incoming
 * webhook POST {"text": ...}; a webhook gets the alert as JSON signed with
 * HMAC-SHA256 over "timestamp.body" (drip's signer); both go through
 * drip's SSRF guard, pinned to the address it checked. Email goes through
 * the send providers to the channel's address or the workspace's members.
 * Every attempt is recorded in alert_deliveries: delivered, failed (tried
 * again with the job's backoff) or dead (the last attempt, or a failure
 * that retrying cannot help: a refused address, a 4xx other than 408/429).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "alerts/alerts_int.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "drip/drip.h"
#include "jobs/queue.h"
#include "mail/send.h"
#include "net/httpc.h"
#include "store/alerts.h"
#include "store/emails.h"

enum { REPLY_MAX = 64 * 1024, TEXT_MAX = 64 * 1024 };

/* How one attempt went. */
struct attempt {
    bool ok, permanent;
    long status;
    const char *error;
};

/* POSTs body to url through the SSRF guard. */
static void post_json(const char *url, const char *body, const char *const *extra, struct arena *a,
                      struct attempt *at)
{
    char pin[512];
    struct errinfo te;
    errinfo_clear(&te);
    int rc = drip_webhook_target(url, alerts_cfg.allow_private, pin, sizeof(pin), &te);
    if (rc) {
        at->error = arena_strdup(a, te.msg);
        at->permanent = rc != ERR_TEMPORARY;
        return;
    }
    struct httpc_req rq = {
        .method = "POST",
        .url = url,
        .headers = {"Content-Type: application/json"},
        .body = body,
        .body_len = strlen(body),
        .timeout_ms = ALERT_WEBHOOK_TIMEOUT_MS,
        .max_reply = REPLY_MAX,
        .resolve = pin,
    };
    for (size_t i = 0; extra && extra[i] && i + 2 < HTTPC_MAX_HEADERS; i++)
        rq.headers[i + 1] = extra[i];
    struct httpc_resp resp;
    errinfo_clear(&te);
    rc = httpc_do(&rq, &resp, &te);
    at->status = resp.status;
    httpc_resp_release(&resp);
    if (rc) {
        at->error = arena_strdup(a, te.msg);
        return;
    }
    if (at->status >= 200 && at->status < 300) {
        at->ok = true;
        return;
    }
    at->error =
        arena_printf(a, "%s answered %ld%s", url, at->status,
                     at->status >= 300 && at->status < 400 ? " (redirects are not followed)" : "");
    at->permanent = at->status < 500 && at->status != 408 && at->status != 429;
}

static void deliver_slack(const struct alert_row *al, const char *url, struct arena *a,
                          struct attempt *at)
{
    struct buf b;
    struct jw w;
    buf_init(&b, TEXT_MAX);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "text",
            arena_printf(a, "[%s] %s\n%s", al->severity, al->title, al->body ? al->body : ""));
    jw_obj_end(&w);
    if (jw_finish(&w) == 0)
        post_json(url, buf_str(&b), NULL, a, at);
    else
        at->error = "the alert is too long for a Slack message";
    buf_release(&b);
}

static void deliver_webhook(const struct alert_row *al, const char *ws, const char *url,
                            const char *secret, int64_t now, struct arena *a, struct attempt *at)
{
    struct buf b;
    struct jw w;
    char created[32];
    clock_format(al->created_at, created, sizeof(created));
    buf_init(&b, TEXT_MAX);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "event", "alert");
    jw_kstr(&w, "workspaceId", ws);
    jw_key(&w, "alert");
    jw_obj_begin(&w);
    jw_kstr(&w, "id", al->id);
    jw_kstr(&w, "ruleId", al->rule_id[0] ? al->rule_id : NULL);
    jw_kstr(&w, "ruleName", al->rule_name);
    jw_kstr(&w, "trigger", al->trigger);
    jw_kstr(&w, "subject", al->subject);
    jw_kstr(&w, "title", al->title);
    jw_kstr(&w, "body", al->body);
    jw_kstr(&w, "severity", al->severity);
    jw_kstr(&w, "createdAt", created);
    jw_key(&w, "data");
    jw_raw(&w, al->data, strlen(al->data));
    jw_obj_end(&w);
    jw_kint(&w, "timestamp", now / 1000);
    jw_obj_end(&w);
    if (jw_finish(&w) != 0) {
        at->error = "the alert is too long for a webhook";
        buf_release(&b);
        return;
    }
    char ts[24], sig[80];
    snprintf(ts, sizeof(ts), "%lld", (long long)(now / 1000));
    drip_webhook_signature(secret, ts, b.data, b.len, sig, sizeof(sig));
    const char *extra[] = {arena_printf(a, "X-Leadflow-Timestamp: %s", ts),
                           arena_printf(a, "X-Leadflow-Signature: %s", sig),
                           arena_printf(a, "X-Leadflow-Delivery: alert:%s", al->id), NULL};
    post_json(url, buf_str(&b), extra, a, at);
    buf_release(&b);
}

static void deliver_email(struct send_chain *chain, struct store *st, const struct alert_row *al,
                          const char *ws, const char *target, int attempt, struct arena *a,
                          struct attempt *at)
{
    char **to = NULL;
    size_t n = 0;
    struct errinfo e;
    errinfo_clear(&e);
    if (target && *target) {
        to = arena_alloc(a, sizeof(*to));
        to[0] = arena_strdup(a, target);
        n = 1;
    } else if (store_workspace_member_emails(st, ws, a, &to, &n, &e) != 0) {
        at->error = arena_strdup(a, e.msg);
        return;
    }
    if (n == 0) {
        at->error = "the workspace has no members to email";
        at->permanent = true;
        return;
    }
    const char *from_name = NULL, *from_addr = "noreply@localhost";
    if (alerts_cfg.cfg)
        send_parse_from(alerts_cfg.cfg->mail_from, a, &from_name, &from_addr, &e);
    const char *domain = strrchr(from_addr, '@');
    for (size_t i = 0; i < n; i++) {
        struct send_msg m = {
            .from_email = from_addr,
            .from_name = from_name,
            .to_email = to[i],
            .subject = arena_printf(a, "[leadflow alert] %s", al->title),
            .text = arena_printf(a, "%s\n\n%s\n\nSeverity: %s\nRule: %s\n", al->title,
                                 al->body ? al->body : "", al->severity, al->rule_name),
            .idempotency_key = arena_printf(a, "alert-%s-%zu-%d", al->id, i, attempt),
            .message_id = arena_printf(a, "alert-%s-%zu-%d%s", al->id, i, attempt,
                                       domain ? domain : "@localhost"),
        };
        struct send_result r;
        errinfo_clear(&e);
        int rc = send_chain_send(chain, NULL, ws, NULL, &m, &r, &e);
        at->status = r.status;
        if (rc) {
            at->error = arena_printf(a, "to %s: %s", to[i], e.msg);
            at->permanent = rc == ERR_INVALID;
            return;
        }
    }
    at->ok = true;
}

static int deliver_job(void *ctx, struct store *st, const struct job *j, struct arena *a,
                       struct errinfo *e)
{
    struct send_chain *chain = ctx;
    const char *ws = j->workspace_id;
    json_t *p = json_loads(j->payload ? j->payload : "", 0, NULL);
    arena_cleanup_add(a, (void (*)(void *))json_decref, p);
    const char *alert_id = json_string_value(json_object_get(p, "alertId"));
    json_t *ch = json_object_get(p, "channel");
    const char *type = json_string_value(json_object_get(ch, "type"));
    const char *target = json_string_value(json_object_get(ch, "target"));
    const char *secret = json_string_value(json_object_get(ch, "secret"));
    int ci = alert_channel_index(type);
    if (!alert_id || !ws[0] || ci < 0 || strlen(alert_id) >= STORE_ID_LEN)
        return failf(e, ERR_INVALID, "alert_deliver: the payload names no alert and channel");
    struct alert_row al;
    int rc = store_alert_get(st, ws, alert_id, a, &al, e);
    if (rc == ERR_NOT_FOUND)
        return 0; /* deleted with its workspace */
    if (rc)
        return rc;

    int64_t now = clock_now_ms();
    struct attempt at = {0};
    if (strcmp(type, "slack") == 0 && target)
        deliver_slack(&al, target, a, &at);
    else if (strcmp(type, "webhook") == 0 && target && secret)
        deliver_webhook(&al, ws, target, secret, now, a, &at);
    else if (strcmp(type, "email") == 0)
        deliver_email(chain, st, &al, ws, target, j->attempts, a, &at);
    else if (strcmp(type, "in_app") == 0)
        at.ok = true;
    else
        at = (struct attempt){.permanent = true, .error = "the channel has no target"};

    bool last = j->attempts >= j->max_attempts || at.permanent;
    int64_t done = clock_now_ms();
    struct alert_delivery d = {
        .target = target,
        .attempt = j->attempts,
        .error = at.ok ? NULL : at.error,
        .response_code = (int)at.status,
        .latency_ms = at.ok ? done - al.created_at : -1,
        .at = done,
    };
    snprintf(d.alert_id, sizeof(d.alert_id), "%s", al.id);
    snprintf(d.channel, sizeof(d.channel), "%s", type);
    snprintf(d.status, sizeof(d.status), "%s", at.ok ? "delivered" : last ? "dead" : "failed");
    alerts_count_delivery(ci, at.ok);
    struct errinfo re;
    if (store_alert_delivery_add(st, ws, &d, &re) != 0)
        log_warn("alert.delivery_not_recorded", "alert %s on %s, attempt %d: not recorded: %s",
                 al.id, type, j->attempts, re.msg);
    if (at.ok)
        return 0;
    log_warn("alert.delivery_failed", "alert %s on %s, attempt %d of %d: %s", al.id, type,
             j->attempts, j->max_attempts, at.error ? at.error : "failed");
    return failf(e, at.permanent ? ERR_INVALID : ERR_TEMPORARY, "%s on %s: %s", al.id, type,
                 at.error ? at.error : "failed");
}

void alerts_register(struct queue *q, const struct config *cfg, struct send_chain *chain)
{
    alerts_configure(cfg);
    queue_register(q, ALERT_JOB_KIND, deliver_job, chain);
    queue_set_backoff(q, ALERT_JOB_KIND, cfg->alert_backoff_ms);
    queue_on_dead(q, alerts_on_job_dead, NULL);
    if (chain)
        send_chain_on_failure(chain, alerts_on_send_failure);
}
