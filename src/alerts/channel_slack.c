/*
 * The Slack channel: the alert as an incoming-webhook POST {"text": ...}
 * to the channel's URL, through the SSRF guard.
 */
#include <jansson.h>
#include <string.h>

#include "alerts/channel.h"
#include "base/buf.h"
#include "base/json.h"
#include "store/alerts.h"

enum { TEXT_MAX = 64 * 1024 };

static int slack_validate(json_t *ch, json_t *clean, const char *field, struct errinfo *e)
{
    const char *target = json_string_value(json_object_get(ch, "target"));
    int rc = channel_check_target(target, field, e);
    if (rc)
        return rc;
    json_object_set_new(clean, "target", json_string(target));
    return 0;
}

static void slack_deliver(const struct channel_send *s, struct channel_attempt *at)
{
    if (!s->target) {
        *at = (struct channel_attempt){.permanent = true, .error = "the channel has no target"};
        return;
    }
    const struct alert_row *al = s->alert;
    struct arena *a = s->a;
    struct buf b;
    struct jw w;
    buf_init(&b, TEXT_MAX);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "text",
            arena_printf(a, "[%s] %s\n%s", al->severity, al->title, al->body ? al->body : ""));
    jw_obj_end(&w);
    if (jw_finish(&w) == 0)
        channel_post_json(s->target, buf_str(&b), NULL, a, at);
    else
        at->error = "the alert is too long for a Slack message";
    buf_release(&b);
}

const struct alert_channel channel_slack = {
    .name = "slack",
    .validate = slack_validate,
    .deliver = slack_deliver,
};
