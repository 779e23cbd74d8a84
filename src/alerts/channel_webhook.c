/*
 * The webhook channel: the alert as JSON, signed with HMAC-SHA256 over
 * "timestamp.body" (drip's signer, the same headers as a drip webhook),
 * POSTed to the channel's URL through the SSRF guard. Its secret is the
 * signature's key.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "alerts/channel.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "drip/drip.h"
#include "store/alerts.h"

enum { TEXT_MAX = 64 * 1024, SECRET_MIN = 16, SECRET_MAX = 256 };

static int webhook_validate(json_t *ch, json_t *clean, const char *field, struct errinfo *e)
{
    const char *target = json_string_value(json_object_get(ch, "target"));
    int rc = channel_check_target(target, field, e);
    if (rc)
        return rc;
    json_object_set_new(clean, "target", json_string(target));
    const char *secret = json_string_value(json_object_get(ch, "secret"));
    if (!secret || strlen(secret) < SECRET_MIN || strlen(secret) > SECRET_MAX)
        return failf(e, ERR_INVALID,
                     "%s.secret must be %d to %d characters (the key of the HMAC-SHA256 "
                     "signature)",
                     field, SECRET_MIN, SECRET_MAX);
    json_object_set_new(clean, "secret", json_string(secret));
    return 0;
}

static void webhook_deliver(const struct channel_send *s, struct channel_attempt *at)
{
    if (!s->target || !s->secret) {
        *at = (struct channel_attempt){.permanent = true, .error = "the channel has no target"};
        return;
    }
    const struct alert_row *al = s->alert;
    const char *ws = s->ws;
    int64_t now = s->now;
    struct arena *a = s->a;
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
    drip_webhook_signature(s->secret, ts, b.data, b.len, sig, sizeof(sig));
    const char *extra[] = {arena_printf(a, "X-Leadflow-Timestamp: %s", ts),
                           arena_printf(a, "X-Leadflow-Signature: %s", sig),
                           arena_printf(a, "X-Leadflow-Delivery: alert:%s", al->id), NULL};
    channel_post_json(s->target, buf_str(&b), extra, a, at);
    buf_release(&b);
}

const struct alert_channel channel_webhook = {
    .name = "webhook",
    .has_secret = true,
    .validate = webhook_validate,
    .deliver = webhook_deliver,
};
