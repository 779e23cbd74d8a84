/*
 * Store: alert rules, alerts, deliveries and their figures: the rows as callers see them and the
 * store_* calls, each with its contract.
 */
#ifndef LEADFLOW_STORE_ALERTS_H
#define LEADFLOW_STORE_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* An alert rule (alerts/alerts.h); channels is a JSON array text (arena memory). */
struct alert_rule {
    char id[STORE_ID_LEN];
    char name[STORE_NAME_MAX];
    char trigger[16]; /* new_hot_lead | score_above | ... | job_dead */
    bool has_threshold;
    double threshold;
    const char *channels;
    bool enabled;
    int64_t created_at, updated_at;
};

/* Fields of a rule to write; a field is written when its bit is in set. */
enum alert_rule_field {
    ARF_NAME = 1 << 0,
    ARF_TRIGGER = 1 << 1,
    ARF_THRESHOLD = 1 << 2,
    ARF_CHANNELS = 1 << 3,
    ARF_ENABLED = 1 << 4,
};

struct alert_rule_fields {
    unsigned set;
    const char *name, *trigger;
    bool has_threshold; /* false: NULL */
    double threshold;
    const char *channels; /* JSON array text */
    bool enabled;
};

/* An alert as stored; strings are arena memory. */
struct alert_row {
    char id[STORE_ID_LEN];
    char rule_id[STORE_ID_LEN]; /* "" once the rule is deleted */
    const char *rule_name, *trigger, *dedup_key, *subject, *title, *body;
    const char *data; /* JSON object text */
    char severity[16];
    char status[16]; /* open | acked | resolved */
    int64_t suppressed;
    int64_t window_start, created_at, acked_at, resolved_at;
    char acked_by[STORE_ID_LEN], resolved_by[STORE_ID_LEN]; /* "" when none */
    int64_t read_at;                                        /* 0: unread */
};

/* A new alert for alert_open (id filled in by the caller). */
struct alert_new {
    char id[STORE_ID_LEN];
    const char *rule_id, *rule_name, *trigger, *dedup_key, *subject, *title, *body, *data;
    const char *severity;
    int64_t latency_us; /* the processor's time on the event that opened it */
};

/* One delivery attempt of an alert on a channel. */
struct alert_delivery {
    int64_t id;
    char alert_id[STORE_ID_LEN];
    char channel[16]; /* a channel's name (alerts/channel.h) */
    const char *target;
    int attempt;
    char status[16]; /* delivered | failed (retried) | dead (the last attempt failed) */
    const char *error;
    int response_code;  /* 0: none */
    int64_t latency_ms; /* delivered: from the alert's creation; -1 otherwise */
    int64_t at;
};

/* What alerts did in a workspace since a time (GET /api/alerts/metrics). */
enum { ALERT_STATS_CHANNELS = 16, ALERT_LATENCY_BUCKETS = 8 };
/* The delivery attempts of one channel (as alert_deliveries names it). */
struct alert_channel_stats {
    char channel[16];
    int64_t delivered, failed; /* failed: failed or dead */
};
struct alert_stats {
    int64_t alerts, suppressed;
    int64_t open, acked, resolved;
    /* One row per channel that has attempts in the window, in no set
     * order; channels past ALERT_STATS_CHANNELS count in attempts only. */
    struct alert_channel_stats channels[ALERT_STATS_CHANNELS];
    size_t nchannels;
    int64_t attempts;
    /* Delivery latency (the alert's creation to delivered): counts at or
     * below 100, 250, 500, 1000, 2500, 5000, 10000, 30000 ms, then +Inf
     * (cumulative, as Prometheus buckets). */
    int64_t latency_buckets[ALERT_LATENCY_BUCKETS + 1];
    int64_t latency_count, latency_p95_ms; /* -1 when nothing was delivered */
};

/* Alerts (alerts/alerts.h). Ids are looked up in the workspace. */
int store_alert_rule_create(struct store *st, const char *workspace_id,
                            const struct alert_rule_fields *f, int64_t now, struct arena *a,
                            struct alert_rule *out, struct errinfo *e);

int store_alert_rule_get(struct store *st, const char *workspace_id, const char *id,
                         struct arena *a, struct alert_rule *out, struct errinfo *e);

/* Oldest first; enabled_only leaves disabled rules out. */
int store_alert_rule_list(struct store *st, const char *workspace_id, bool enabled_only,
                          struct arena *a, struct alert_rule **rows, size_t *n, struct errinfo *e);

int store_alert_rule_update(struct store *st, const char *workspace_id, const char *id,
                            const struct alert_rule_fields *f, int64_t now, struct errinfo *e);

int store_alert_rule_delete(struct store *st, const char *workspace_id, const char *id,
                            struct errinfo *e);

/* A number that changes whenever the workspace's rules do (0: never had any). */
int store_alert_rules_version(struct store *st, const char *workspace_id, int64_t *version,
                              struct errinfo *e);

/*
 * One event for a rule and subject (in the caller's transaction): the
 * dedup window of (workspace, in->dedup_key) is opened at now for
 * window_ms unless one is open; an atomic upsert decides, so concurrent
 * events open one window. *opened: the alert in was stored; otherwise the
 * open window's alert counts one more suppressed event and alert_id
 * names it.
 */
int store_alert_open(struct store *st, const char *workspace_id, const struct alert_new *in,
                     int64_t now, int64_t window_ms, bool *opened, char alert_id[STORE_ID_LEN],
                     struct errinfo *e);

int store_alert_get(struct store *st, const char *workspace_id, const char *id, struct arena *a,
                    struct alert_row *out, struct errinfo *e);

/* Newest first; status NULL: any. */
int store_alert_list(struct store *st, const char *workspace_id, const char *status, int limit,
                     int offset, struct arena *a, struct alert_row **rows, size_t *n,
                     int64_t *total, struct errinfo *e);

/* Moves an alert whose status is one of from (comma-separated) to `to`
 * (acked | resolved), recording who and when. ERR_NOT_FOUND;
 * ERR_CONFLICT when its status is not one of from. */
int store_alert_transition(struct store *st, const char *workspace_id, const char *id,
                           const char *from, const char *to, const char *user_id, int64_t now,
                           struct errinfo *e);

/* Marks the alert read at read_at (kept when it was read already), or
 * unread with read_at 0; ERR_NOT_FOUND when it is not in the workspace. */
int store_alert_mark_read(struct store *st, const char *workspace_id, const char *id,
                          int64_t read_at, struct errinfo *e);

int store_alert_delivery_add(struct store *st, const char *workspace_id,
                             const struct alert_delivery *d, struct errinfo *e);

/* An alert's attempts, oldest first. */
int store_alert_delivery_list(struct store *st, const char *workspace_id, const char *alert_id,
                              struct arena *a, struct alert_delivery **rows, size_t *n,
                              struct errinfo *e);

int store_alert_stats(struct store *st, const char *workspace_id, int64_t since,
                      struct alert_stats *out, struct errinfo *e);

/* Send attempts of the workspace since `since`: all and the failed ones. */
int store_send_attempt_counts(struct store *st, const char *workspace_id, int64_t since,
                              int64_t *total, int64_t *failed, struct errinfo *e);

#endif
