/*
 * The email channel: the alert as a text and HTML message through the send
 * providers, to the channel's address or, without one, to every member of
 * the workspace. A bad address is permanent; a provider failure is tried
 * again with the job's backoff. Addresses on the workspace's suppression
 * list are skipped (the send chain checks it).
 */
#include <jansson.h>
#include <string.h>

#include "alerts/alerts_int.h"
#include "alerts/channel.h"
#include "base/str.h"
#include "mail/send.h"
#include "store/alerts.h"
#include "store/emails.h"

static int email_validate(json_t *ch, json_t *clean, const char *field, struct errinfo *e)
{
    const char *target = json_string_value(json_object_get(ch, "target"));
    if (target && *target && !str_is_email(target))
        return failf(e, ERR_INVALID,
                     "%s.target must be an email address (or absent: the workspace's members)",
                     field);
    if (target && *target)
        json_object_set_new(clean, "target", json_string(target));
    return 0;
}

static void email_deliver(const struct channel_send *s, struct channel_attempt *at)
{
    const struct alert_row *al = s->alert;
    const char *ws = s->ws, *target = s->target;
    int attempt = s->attempt;
    struct arena *a = s->a;
    char **to = NULL;
    size_t n = 0;
    struct errinfo e;
    errinfo_clear(&e);
    if (target && *target) {
        to = arena_alloc(a, sizeof(*to));
        to[0] = arena_strdup(a, target);
        n = 1;
    } else if (store_workspace_member_emails(s->st, ws, a, &to, &n, &e) != 0) {
        at->error = arena_strdup(a, e.msg);
        return;
    }
    if (n == 0) {
        at->error = "the workspace has no members to email";
        at->permanent = true;
        return;
    }
    /* Composed as every email is (the configured From, text and HTML parts);
     * members are not contacts, so nothing is tracked. */
    struct send_msg base = {0};
    const char *text = arena_printf(a, "%s\n\n%s\n\nSeverity: %s\nRule: %s\n", al->title,
                                    al->body ? al->body : "", al->severity, al->rule_name);
    if (send_compose(s->st, alerts_cfg.cfg, ws, text, NULL, NULL, a, &base, &e) != 0) {
        at->error = arena_strdup(a, e.msg);
        at->permanent = true;
        return;
    }
    const char *domain = strrchr(base.from_email, '@');
    size_t sent = 0;
    for (size_t i = 0; i < n; i++) {
        struct send_msg m = base;
        m.to_email = to[i];
        m.subject = arena_printf(a, "[leadflow alert] %s", al->title);
        m.idempotency_key = arena_printf(a, "alert-%s-%zu-%d", al->id, i, attempt);
        m.message_id = arena_printf(a, "alert-%s-%zu-%d%s", al->id, i, attempt, domain);
        struct send_result r;
        errinfo_clear(&e);
        int rc = send_chain_send(s->chain, s->st, ws, &m, &r, NULL, &e);
        at->status = r.status;
        if (rc == ERR_FORBIDDEN) /* a suppressed address: the others still get it */
            continue;
        if (rc) {
            at->error = arena_printf(a, "to %s: %s", to[i], e.msg);
            at->permanent = rc == ERR_INVALID;
            return;
        }
        sent++;
    }
    if (sent == 0) {
        at->error = "every recipient is on the suppression list";
        at->permanent = true;
        return;
    }
    at->ok = true;
}

const struct alert_channel channel_email = {
    .name = "email",
    .validate = email_validate,
    .deliver = email_deliver,
};
