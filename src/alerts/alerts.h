/*
 * Real-time alerts (DESIGN.md §6 "Alerts"). Rules of a workspace name a
 * trigger (new_hot_lead, score_above, score_below, sentiment_drop,
 * complaint, reply, send_failures, job_dead), an optional threshold and
 * delivery channels (email, slack, webhook, in_app: alerts/channel.h).
 * The pipeline, the sender and the job queue report events through the
 * alerts_on_* hooks;
 * an event that matches an enabled rule becomes an alert unless the rule
 * already alerted on the same subject (a contact, or a metric name) within
 * the dedup window (LEADFLOW_ALERT_DEDUP_MS, 5 minutes): then it is counted
 * as suppressed on the open alert. A new alert, and one "alert_deliver" job
 * per channel that leaves the process, are written in the transaction of
 * the change that caused it (the caller's, or one of their own); in_app is
 * recorded as delivered at once. After the commit every new alert is
 * published to the workspace's dashboards as an "alert" event.
 *
 * Rules are cached per process; a workspace's cache is checked against the
 * store's rule version (bumped by every rule write) at most once a second,
 * and at once after a rule write in this process (alerts_rules_changed).
 */
#ifndef LEADFLOW_ALERTS_ALERTS_H
#define LEADFLOW_ALERTS_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"
#include "base/json.h"
#include "store/alerts.h"
#include "store/emails.h"
#include "store/store.h"

struct queue;
struct send_chain;
struct json_t;

#define ALERT_JOB_KIND "alert_deliver"

enum alert_trigger {
    ALERT_NEW_HOT_LEAD,
    ALERT_SCORE_ABOVE,
    ALERT_SCORE_BELOW,
    ALERT_SENTIMENT_DROP,
    ALERT_COMPLAINT,
    ALERT_REPLY,
    ALERT_SEND_FAILURES,
    ALERT_JOB_DEAD,
    ALERT_TRIGGERS
};

enum {
    ALERT_CHANNELS_MAX = 10,         /* channels per rule */
    ALERT_SEND_MIN_ATTEMPTS = 3,     /* send_failures needs this many attempts in the window */
    ALERT_WEBHOOK_TIMEOUT_MS = 5000, /* per delivery attempt */
};

/* The trigger's name, or NULL; -1 for an unknown name. */
const char *alert_trigger_name(int trigger);
int alert_trigger_parse(const char *name);

/* Takes the settings (dedup window, attempts, backoff, webhook guard, the
 * From of alert emails) for this process; call once at start. */
void alerts_configure(const struct config *cfg);

/*
 * Reads a rule from a JSON body into f: name, trigger, threshold (a number
 * or null), channels (an array of {type, target, secret}) and enabled. With
 * base (a PATCH), absent fields keep base's values, a channel whose secret
 * is ALERT_SECRET_MASK keeps base's secret for it, and the result is
 * checked as a whole; without, name and trigger are required. Every
 * problem is ERR_INVALID with a message naming the field. Strings in a.
 */
int alerts_rule_read(struct json_t *body, const struct alert_rule *base, struct arena *a,
                     struct alert_rule_fields *f, struct errinfo *e);

/* What a rule's answer shows for a channel's secret; PATCHing it back keeps the stored one. */
#define ALERT_SECRET_MASK JSON_SECRET_MASK

/*
 * A rule's channels (JSON) as the API shows them: the secret of each
 * channel that has one (alert_channel.has_secret) is ALERT_SECRET_MASK,
 * with "secretSet". Returns channels itself or arena memory.
 */
const char *alerts_channels_public(const char *channels, struct arena *a);

/* A rule write in this process: caches look at the store's version again. */
void alerts_rules_changed(void);

/*
 * The hooks. Each runs inside the caller's open transaction when there is
 * one, else in a transaction of its own; a new alert's event is published
 * once that commits (store_after_commit). Return 0 or the store's error.
 * Contact changes reach the first two through crm/crm.h only.
 */
/* A contact's score changed from previous to score (new_hot_lead,
 * score_above and score_below fire on crossings, not on every change). */
int alerts_on_score(struct store *st, const char *workspace_id, const char *contact_id,
                    int previous, int score, struct errinfo *e);
/* A new email was stored (complaint, reply, sentiment_drop: inbound mail only). */
int alerts_on_email(struct store *st, const char *workspace_id, const struct email_row *row,
                    struct errinfo *e);
/* A send attempt failed: the failure rate of the window is looked at. */
int alerts_on_send_failure(struct store *st, const char *workspace_id, struct errinfo *e);
/* A job died (the queue's dead-job hook; alert deliveries are left out). */
void alerts_on_job_dead(void *ctx, struct store *st, const char *workspace_id, int64_t id,
                        const char *kind, const char *error);

/*
 * A test notification of the rule: a real alert ("Test notification: NAME",
 * severity info, data {"test":true}, a subject of its own so that dedup
 * never folds it) whose deliveries go through the rule's channels like any
 * other, even when the rule is disabled. Its id into alert_id. ERR_NOT_FOUND
 * when the rule is not in the workspace.
 */
int alerts_rule_test(struct store *st, const char *workspace_id, const char *rule_id,
                     char alert_id[STORE_ID_LEN], struct errinfo *e);

/*
 * Registers the alert_deliver handler with the configured attempts'
 * backoff, and the queue's dead-job hook. chain (email) is borrowed.
 */
void alerts_register(struct queue *q, const struct config *cfg, struct send_chain *chain);

/* The process's counters in the Prometheus text format (for /metrics). */
int alerts_metrics_render(const void *arg, struct buf *out);

/* round((latencyScore + errorScore) / 2) of DESIGN.md §6; *error_rate gets
 * the failed share of delivery attempts in percent. */
int alerts_health(const struct alert_stats *s, double *error_rate);

/* The attempts on channel (a name) in s: delivered and failed, 0 when none. */
void alerts_stats_channel(const struct alert_stats *s, const char *channel, int64_t *delivered,
                          int64_t *failed);

#endif
