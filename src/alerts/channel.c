/*
 * The table of alert channels (alerts/channel.h) and what the channels
 * share: the lookup by name, the URL check, and a JSON POST through the
 * SSRF guard. A new channel is one file (alerts/channel_<name>.c) and its
 * line here, in the declarations and in the table.
 */
#include "alerts/channel.h"

#include <stdio.h>
#include <string.h>

#include "alerts/alerts_int.h"
#include "drip/drip.h"
#include "net/httpc.h"

enum { REPLY_MAX = 64 * 1024 };

/* One line each here and in the table (as nginx's module list). */
extern const struct alert_channel channel_email;
extern const struct alert_channel channel_slack;
extern const struct alert_channel channel_webhook;
extern const struct alert_channel channel_inapp;

const struct alert_channel *const channel_kinds[] = {
    &channel_email,
    &channel_slack,
    &channel_webhook,
    &channel_inapp,
};

const size_t channel_nkinds = sizeof(channel_kinds) / sizeof(channel_kinds[0]);

_Static_assert(sizeof(channel_kinds) / sizeof(channel_kinds[0]) <= CHANNEL_KINDS_MAX,
               "CHANNEL_KINDS_MAX is smaller than the table of channels");

int channel_index(const char *name)
{
    for (size_t i = 0; name && i < channel_nkinds; i++)
        if (strcmp(name, channel_kinds[i]->name) == 0)
            return (int)i;
    return -1;
}

const struct alert_channel *channel_find(const char *name)
{
    int i = channel_index(name);
    return i < 0 ? NULL : channel_kinds[i];
}

int channel_lookup(const char *name, const char *field, const struct alert_channel **out,
                   struct errinfo *e)
{
    if ((*out = channel_find(name)))
        return 0;
    char names[256];
    size_t len = 0;
    names[0] = '\0';
    for (size_t i = 0; i < channel_nkinds && len < sizeof(names); i++)
        len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "",
                                channel_kinds[i]->name);
    return failf(e, ERR_INVALID, "%s must be one of %s", field, names);
}

bool channel_is_http_url(const char *s)
{
    return s && (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) &&
           strlen(s) <= CHANNEL_URL_MAX && !strpbrk(s, " \t\r\n");
}

int channel_check_target(const char *target, const char *field, struct errinfo *e)
{
    if (!channel_is_http_url(target))
        return failf(e, ERR_INVALID, "%s.target must be the http or https URL to POST to", field);
    struct errinfo te;
    errinfo_clear(&te);
    if (drip_webhook_check(target, alerts_cfg.allow_private, &te) != 0)
        return failf(e, ERR_INVALID, "%s.target: %s", field, te.msg);
    return 0;
}

void channel_post_json(const char *url, const char *body, const char *const *extra, struct arena *a,
                       struct channel_attempt *at)
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
