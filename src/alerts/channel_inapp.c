/*
 * The in-app channel: the dashboards. Every alert is published to the
 * workspace's dashboards anyway, so this channel is recorded as delivered
 * when the alert opens, without a job.
 */
#include <jansson.h>

#include "alerts/channel.h"

static int inapp_validate(json_t *ch, json_t *clean, const char *field, struct errinfo *e)
{
    const char *target = json_string_value(json_object_get(ch, "target"));
    if (target && *target)
        return failf(e, ERR_INVALID, "%s: an in_app channel takes no target", field);
    return 0;
}

/* Only reached by a job queued for it by hand: nothing to send. */
static void inapp_deliver(const struct channel_send *s, struct channel_attempt *at)
{
    at->ok = true;
}

const struct alert_channel channel_inapp = {
    .name = "in_app",
    .in_process = true,
    .validate = inapp_validate,
    .deliver = inapp_deliver,
};
