/*
 * The alert_deliver job: one channel of one alert, delivered by the
 * channel's kind (alerts/channel.h, one file per channel). Every attempt
 * is recorded in alert_deliveries: delivered, failed (tried again with the
 * job's backoff) or dead (the last attempt, or a failure that retrying
 * cannot help: a refused address, a 4xx other than 408/429).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "alerts/alerts.h"
#include "alerts/alerts_int.h"
#include "alerts/channel.h"
#include "base/clock.h"
#include "base/log.h"
#include "jobs/queue.h"
#include "mail/send.h"
#include "store/alerts.h"

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
    int ci = channel_index(type);
    if (!alert_id || !ws[0] || ci < 0 || strlen(alert_id) >= STORE_ID_LEN)
        return failf(e, ERR_INVALID, "alert_deliver: the payload names no alert and channel");
    struct alert_row al;
    int rc = store_alert_get(st, ws, alert_id, a, &al, e);
    if (rc == ERR_NOT_FOUND)
        return 0; /* deleted with its workspace */
    if (rc)
        return rc;

    struct channel_send send = {
        .chain = chain,
        .st = st,
        .ws = ws,
        .alert = &al,
        .target = target,
        .secret = secret,
        .attempt = j->attempts,
        .now = clock_now_ms(),
        .a = a,
    };
    struct channel_attempt at = {0};
    channel_kinds[ci]->deliver(&send, &at);

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
