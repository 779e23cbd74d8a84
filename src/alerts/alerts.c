/*
 * The alert processor (contract in alerts/alerts.h): rule checks, the
 * per-process rule cache, matching events against rules, opening alerts
 * with their delivery jobs, publishing them after the commit, and the
 * process's counters for /metrics.
 */
#include "alerts/alerts.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ai/ai.h"
#include "ai/score.h"
#include "alerts/alerts_int.h"
#include "alerts/channel.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/events.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "jobs/queue.h"
#include "store/alerts.h"
#include "store/contacts.h"
#include "store/emails.h"

enum {
    NAME_MAX_LEN = 200,
    RULES_TTL_MS = 1000, /* a cached rule list is checked against the store this often */
    CACHE_BUCKETS = 256,
    EVENT_JSON_MAX = 64 * 1024,
};

static const char *const trigger_names[ALERT_TRIGGERS] = {
    "new_hot_lead", "score_above", "score_below",   "sentiment_drop",
    "complaint",    "reply",       "send_failures", "job_dead"};

const char *alert_trigger_name(int trigger)
{
    return trigger >= 0 && trigger < ALERT_TRIGGERS ? trigger_names[trigger] : NULL;
}

int alert_trigger_parse(const char *name)
{
    for (int i = 0; name && i < ALERT_TRIGGERS; i++)
        if (strcmp(name, trigger_names[i]) == 0)
            return i;
    return -1;
}

/* ---- settings and counters ----------------------------------------------------------- */

struct alerts_settings alerts_cfg = {
    .dedup_ms = 300000,
    .max_attempts = 3,
    .backoff_ms = 1000,
};

void alerts_configure(const struct config *cfg)
{
    alerts_cfg.dedup_ms = cfg->alert_dedup_ms;
    alerts_cfg.max_attempts = (int)cfg->alert_max_attempts;
    alerts_cfg.backoff_ms = cfg->alert_backoff_ms;
    alerts_cfg.allow_private = cfg->webhook_allow_private;
    alerts_cfg.cfg = cfg;
}

static const double proc_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                     0.025,  0.05,    0.1,    0.25,  0.5,    1.0};
enum { PROC_BUCKETS = sizeof(proc_bounds) / sizeof(proc_bounds[0]) };

static struct {
    _Atomic uint64_t events, processed, suppressed;
    _Atomic uint64_t delivered[CHANNEL_KINDS_MAX], failed[CHANNEL_KINDS_MAX];
    _Atomic uint64_t buckets[PROC_BUCKETS + 1];
    _Atomic uint64_t sum_ns, count;
} counters;

void alerts_count_delivery(int channel, bool delivered)
{
    if (channel < 0 || (size_t)channel >= channel_nkinds)
        return;
    atomic_fetch_add_explicit(delivered ? &counters.delivered[channel] : &counters.failed[channel],
                              1, memory_order_relaxed);
}

static void observe(double seconds)
{
    int b = 0;
    while (b < PROC_BUCKETS && seconds > proc_bounds[b])
        b++;
    atomic_fetch_add_explicit(&counters.buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&counters.sum_ns, (uint64_t)(seconds * 1e9), memory_order_relaxed);
    atomic_fetch_add_explicit(&counters.count, 1, memory_order_relaxed);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int alerts_metrics_render(const void *arg, struct buf *out)
{
    (void)arg;
    int rc = 0;
    rc |= buf_printf(out,
                     "# HELP leadflow_alerts_processed_total Events that matched an alert rule.\n"
                     "# TYPE leadflow_alerts_processed_total counter\n"
                     "leadflow_alerts_processed_total %llu\n"
                     "# HELP leadflow_alerts_suppressed_total Matching events inside an open "
                     "dedup window (no new alert).\n"
                     "# TYPE leadflow_alerts_suppressed_total counter\n"
                     "leadflow_alerts_suppressed_total %llu\n",
                     (unsigned long long)atomic_load(&counters.processed),
                     (unsigned long long)atomic_load(&counters.suppressed));
    rc |= buf_puts(out, "# HELP leadflow_alerts_delivered_total Alert deliveries that succeeded.\n"
                        "# TYPE leadflow_alerts_delivered_total counter\n");
    for (size_t i = 0; i < channel_nkinds; i++)
        rc |= buf_printf(out, "leadflow_alerts_delivered_total{channel=\"%s\"} %llu\n",
                         channel_kinds[i]->name,
                         (unsigned long long)atomic_load(&counters.delivered[i]));
    rc |= buf_puts(out, "# HELP leadflow_alerts_failed_total Alert delivery attempts that failed.\n"
                        "# TYPE leadflow_alerts_failed_total counter\n");
    for (size_t i = 0; i < channel_nkinds; i++)
        rc |= buf_printf(out, "leadflow_alerts_failed_total{channel=\"%s\"} %llu\n",
                         channel_kinds[i]->name,
                         (unsigned long long)atomic_load(&counters.failed[i]));
    rc |= buf_puts(out, "# HELP leadflow_alerts_processing_seconds Time the alert processor took "
                        "on an event that matched a rule.\n"
                        "# TYPE leadflow_alerts_processing_seconds histogram\n");
    uint64_t cum = 0;
    for (int b = 0; b <= PROC_BUCKETS; b++) {
        cum += atomic_load(&counters.buckets[b]);
        if (b < PROC_BUCKETS)
            rc |= buf_printf(out, "leadflow_alerts_processing_seconds_bucket{le=\"%g\"} %llu\n",
                             proc_bounds[b], (unsigned long long)cum);
        else
            rc |= buf_printf(out, "leadflow_alerts_processing_seconds_bucket{le=\"+Inf\"} %llu\n",
                             (unsigned long long)cum);
    }
    rc |= buf_printf(out,
                     "leadflow_alerts_processing_seconds_sum %.9f\n"
                     "leadflow_alerts_processing_seconds_count %llu\n",
                     (double)atomic_load(&counters.sum_ns) / 1e9,
                     (unsigned long long)atomic_load(&counters.count));
    return rc ? ERR_TOO_BIG : 0;
}

int alerts_health(const struct alert_stats *s, double *error_rate)
{
    int64_t failed = 0;
    for (size_t i = 0; i < s->nchannels; i++)
        failed += s->channels[i].failed;
    double rate = s->attempts > 0 ? 100.0 * (double)failed / (double)s->attempts : 0;
    if (error_rate)
        *error_rate = rate;
    int latency = s->latency_p95_ms < 0 || s->latency_p95_ms <= 500 ? 100
                  : s->latency_p95_ms <= 1000                       ? 75
                                                                    : 50;
    double err = 100.0 - 10.0 * rate;
    if (err < 0)
        err = 0;
    return (int)lround(((double)latency + err) / 2.0);
}

void alerts_stats_channel(const struct alert_stats *s, const char *channel, int64_t *delivered,
                          int64_t *failed)
{
    *delivered = *failed = 0;
    for (size_t i = 0; i < s->nchannels; i++)
        if (strcmp(s->channels[i].channel, channel) == 0) {
            *delivered = s->channels[i].delivered;
            *failed = s->channels[i].failed;
        }
}

/* ---- rules from JSON ------------------------------------------------------------------ */

/* A secret on a channel without one: the message names those that take one. */
static int no_secret(const char *field, struct errinfo *e)
{
    char names[128];
    size_t len = 0;
    names[0] = '\0';
    for (size_t i = 0; i < channel_nkinds && len < sizeof(names); i++)
        if (channel_kinds[i]->has_secret)
            len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", len ? " or " : "",
                                    channel_kinds[i]->name);
    return failf(e, ERR_INVALID, "%s: only a %s channel takes a secret", field, names);
}

/*
 * A channel sent with the mask for its secret (as GET showed it) gets the
 * stored secret back: of the stored channel of the same type at the same
 * position, else of the one with the same type and target. stored: the
 * rule's channels (NULL when creating one).
 */
static int keep_secret(json_t *ch, const struct alert_channel *kind, size_t i, const char *stored,
                       const char *field, struct errinfo *e)
{
    json_object_del(ch, "secretSet"); /* what GET adds; never stored */
    const char *secret = json_string_value(json_object_get(ch, "secret"));
    if (!kind->has_secret || !secret || strcmp(secret, ALERT_SECRET_MASK) != 0)
        return 0;
    json_t *old = stored ? json_loads(stored, 0, NULL) : NULL;
    json_t *from = json_array_get(old, i);
    const char *target = json_string_value(json_object_get(ch, "target"));
    if (!json_equal(json_object_get(from, "type"), json_object_get(ch, "type"))) {
        from = NULL;
        size_t k;
        json_t *o;
        json_array_foreach(old, k, o)
        {
            const char *t = json_string_value(json_object_get(o, "target"));
            if (!from && json_equal(json_object_get(o, "type"), json_object_get(ch, "type")) &&
                target && t && strcmp(t, target) == 0)
                from = o;
        }
    }
    json_t *keep = json_object_get(from, "secret");
    int rc = 0;
    if (json_is_string(keep))
        json_object_set(ch, "secret", keep);
    else
        rc = failf(e, ERR_INVALID,
                   "%s.secret is the mask %s but no stored %s channel is at that position or "
                   "has that target: send the secret itself",
                   field, ALERT_SECRET_MASK, kind->name);
    json_decref(old);
    return rc;
}

const char *alerts_channels_public(const char *channels, struct arena *a)
{
    json_t *v = json_loads(channels, 0, NULL);
    if (!json_is_array(v)) {
        json_decref(v);
        return channels;
    }
    size_t i;
    json_t *ch;
    json_array_foreach(v, i, ch)
    {
        const struct alert_channel *kind =
            channel_find(json_string_value(json_object_get(ch, "type")));
        if (!json_is_object(ch) || !kind || !kind->has_secret)
            continue;
        json_secret_mask(ch);
    }
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    const char *out = arena_strdup(a, text ? text : "[]");
    free(text);
    return out;
}

/*
 * Checks channels (a JSON array), each through its kind, and writes its
 * compact form into a. stored: the rule's channels when changing one.
 */
static int read_channels(json_t *v, const char *stored, struct arena *a, const char **out,
                         struct errinfo *e)
{
    if (!json_is_array(v) || json_array_size(v) > ALERT_CHANNELS_MAX)
        return failf(e, ERR_INVALID, "channels must be an array of at most %d channels",
                     ALERT_CHANNELS_MAX);
    json_t *clean = json_array();
    size_t i;
    json_t *ch;
    int rc = 0;
    json_array_foreach(v, i, ch)
    {
        char f[32], tf[40];
        snprintf(f, sizeof(f), "channels[%zu]", i);
        snprintf(tf, sizeof(tf), "%s.type", f);
        const char *type = json_string_value(json_object_get(ch, "type"));
        const struct alert_channel *kind = NULL;
        if (!json_is_object(ch))
            type = NULL;
        if ((rc = channel_lookup(type, tf, &kind, e)))
            break;
        json_t *tv = json_object_get(ch, "target");
        if (tv && !json_is_null(tv) && !json_is_string(tv)) {
            rc = failf(e, ERR_INVALID, "%s.target must be a string", f);
            break;
        }
        if ((rc = keep_secret(ch, kind, i, stored, f, e)))
            break;
        json_t *c = json_object();
        json_object_set_new(c, "type", json_string(type));
        json_t *sv = json_object_get(ch, "secret");
        if (!(rc = kind->validate(ch, c, f, e)) && !kind->has_secret && sv && !json_is_null(sv))
            rc = no_secret(f, e);
        if (rc) {
            json_decref(c);
            break;
        }
        json_array_append_new(clean, c);
    }
    if (!rc) {
        char *text = json_dumps(clean, JSON_COMPACT);
        *out = arena_strdup(a, text ? text : "[]");
        free(text);
    }
    json_decref(clean);
    return rc;
}

int alerts_rule_read(json_t *body, const struct alert_rule *base, struct arena *a,
                     struct alert_rule_fields *f, struct errinfo *e)
{
    memset(f, 0, sizeof(*f));
    if (base) {
        f->name = base->name;
        f->trigger = base->trigger;
        f->has_threshold = base->has_threshold;
        f->threshold = base->threshold;
        f->channels = base->channels;
        f->enabled = base->enabled;
    } else {
        f->enabled = true;
        f->channels = "[{\"type\":\"in_app\"}]";
    }
    json_t *v = json_object_get(body, "name");
    if (v) {
        const char *s = json_string_value(v);
        if (!s || !*s || strlen(s) > NAME_MAX_LEN || strlen(s) != json_string_length(v))
            return failf(e, ERR_INVALID, "name must be a string of 1 to %d characters",
                         NAME_MAX_LEN);
        f->set |= ARF_NAME;
        f->name = s;
    } else if (!base) {
        return failf(e, ERR_INVALID, "name is required");
    }
    if ((v = json_object_get(body, "trigger"))) {
        if (alert_trigger_parse(json_string_value(v)) < 0)
            return failf(e, ERR_INVALID,
                         "trigger must be one of new_hot_lead, score_above, score_below, "
                         "sentiment_drop, complaint, reply, send_failures, job_dead");
        f->set |= ARF_TRIGGER;
        f->trigger = json_string_value(v);
    } else if (!base) {
        return failf(e, ERR_INVALID, "trigger is required");
    }
    bool threshold_given = false;
    if ((v = json_object_get(body, "threshold"))) {
        if (!json_is_null(v) && !json_is_number(v))
            return failf(e, ERR_INVALID, "threshold must be a number or null");
        f->set |= ARF_THRESHOLD;
        f->has_threshold = json_is_number(v);
        f->threshold = json_is_number(v) ? json_number_value(v) : 0;
        threshold_given = true;
    }
    if ((v = json_object_get(body, "channels"))) {
        int rc = read_channels(v, base ? base->channels : NULL, a, &f->channels, e);
        if (rc)
            return rc;
        f->set |= ARF_CHANNELS;
    } else if (!base) {
        f->set |= ARF_CHANNELS;
    }
    if ((v = json_object_get(body, "enabled"))) {
        if (!json_is_boolean(v))
            return failf(e, ERR_INVALID, "enabled must be true or false");
        f->set |= ARF_ENABLED;
        f->enabled = json_is_true(v);
    }

    /* The threshold as the trigger reads it. A trigger that changed drops a
     * threshold it does not use, unless one was given with it. */
    int t = alert_trigger_parse(f->trigger);
    double th = f->threshold;
    switch (t) {
    case ALERT_SCORE_ABOVE:
    case ALERT_SCORE_BELOW:
        if (!f->has_threshold)
            return failf(e, ERR_INVALID, "threshold is required for %s: a score from 1 to 100",
                         f->trigger);
        if (!(th >= 1 && th <= 100) || th != floor(th))
            return failf(e, ERR_INVALID, "threshold for %s must be a whole score from 1 to 100",
                         f->trigger);
        break;
    case ALERT_SENTIMENT_DROP:
        if (f->has_threshold && !(th > 0 && th <= 2))
            return failf(e, ERR_INVALID,
                         "threshold for sentiment_drop must be a drop in sentiment from 0 "
                         "(exclusive) to 2 (default 0.5)");
        break;
    case ALERT_SEND_FAILURES:
        if (f->has_threshold && !(th > 0 && th <= 100))
            return failf(e, ERR_INVALID,
                         "threshold for send_failures must be a failure rate in percent from 0 "
                         "(exclusive) to 100 (default 50)");
        break;
    default:
        if (f->has_threshold && threshold_given)
            return failf(e, ERR_INVALID, "threshold is not used by the %s trigger", f->trigger);
        if (f->has_threshold) {
            f->has_threshold = false;
            f->set |= ARF_THRESHOLD;
        }
        break;
    }
    return 0;
}

/* ---- the rule cache --------------------------------------------------------------------- */

struct crule {
    char id[STORE_ID_LEN];
    char name[STORE_NAME_MAX];
    int trigger;
    bool has_threshold;
    double threshold;
    char *channels; /* JSON array text */
};

struct wsc {
    struct wsc *next;
    char ws[STORE_ID_LEN];
    int64_t version;
    uint64_t gen;
    double checked; /* monotonic seconds */
    unsigned mask;  /* 1 << trigger of the enabled rules */
    size_t n;
    struct crule *rules;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct wsc *cache[CACHE_BUCKETS];
static _Atomic uint64_t rules_gen = 1;

void alerts_rules_changed(void)
{
    atomic_fetch_add(&rules_gen, 1);
}

static struct wsc **cache_slot(const char *ws)
{
    size_t h = 5381;
    for (const char *p = ws; *p; p++)
        h = h * 33 + (unsigned char)*p;
    struct wsc **pp = &cache[h % CACHE_BUCKETS];
    while (*pp && strcmp((*pp)->ws, ws) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* Copies the rules of w whose trigger is in mask into a (under cache_mu). */
static void copy_rules(const struct wsc *w, unsigned mask, struct arena *a, struct crule **out,
                       size_t *n)
{
    *n = 0;
    *out = NULL;
    if (!(w->mask & mask))
        return;
    *out = arena_alloc(a, w->n * sizeof(**out));
    for (size_t i = 0; i < w->n; i++) {
        if (!(mask & (1u << w->rules[i].trigger)))
            continue;
        (*out)[*n] = w->rules[i];
        (*out)[*n].channels = arena_strdup(a, w->rules[i].channels);
        (*n)++;
    }
}

/*
 * The workspace's enabled rules whose trigger is in mask, into a. The
 * cached list is used while it is younger than RULES_TTL_MS and no rule
 * was written in this process since; else the store's version is read, and
 * the rules only when it changed.
 */
static int rules_for(struct store *st, const char *ws, unsigned mask, struct arena *a,
                     struct crule **out, size_t *n, struct errinfo *e)
{
    uint64_t gen = atomic_load(&rules_gen);
    double now = mono_s();
    pthread_mutex_lock(&cache_mu);
    struct wsc *w = *cache_slot(ws);
    if (w && w->gen == gen && now - w->checked < RULES_TTL_MS / 1000.0) {
        copy_rules(w, mask, a, out, n);
        pthread_mutex_unlock(&cache_mu);
        return 0;
    }
    pthread_mutex_unlock(&cache_mu);

    int64_t version;
    int rc = store_alert_rules_version(st, ws, &version, e);
    if (rc)
        return rc;
    pthread_mutex_lock(&cache_mu);
    w = *cache_slot(ws);
    if (w && w->version == version) {
        w->gen = gen;
        w->checked = now;
        copy_rules(w, mask, a, out, n);
        pthread_mutex_unlock(&cache_mu);
        return 0;
    }
    pthread_mutex_unlock(&cache_mu);

    struct alert_rule *rows = NULL;
    size_t nrows = 0;
    if (version > 0 && (rc = store_alert_rule_list(st, ws, true, a, &rows, &nrows, e)))
        return rc;
    struct crule *rules = nrows ? xcalloc(nrows, sizeof(*rules)) : NULL;
    unsigned m = 0;
    size_t k = 0;
    for (size_t i = 0; i < nrows; i++) {
        int t = alert_trigger_parse(rows[i].trigger);
        if (t < 0)
            continue;
        struct crule *r = &rules[k++];
        snprintf(r->id, sizeof(r->id), "%s", rows[i].id);
        snprintf(r->name, sizeof(r->name), "%s", rows[i].name);
        r->trigger = t;
        r->has_threshold = rows[i].has_threshold;
        r->threshold = rows[i].threshold;
        r->channels = xstrdup(rows[i].channels);
        m |= 1u << t;
    }
    pthread_mutex_lock(&cache_mu);
    struct wsc **pp = cache_slot(ws);
    if (!*pp) {
        *pp = xcalloc(1, sizeof(**pp));
        snprintf((*pp)->ws, sizeof((*pp)->ws), "%s", ws);
    }
    w = *pp;
    for (size_t i = 0; i < w->n; i++)
        free(w->rules[i].channels);
    free(w->rules);
    w->rules = rules;
    w->n = k;
    w->mask = m;
    w->version = version;
    w->gen = gen;
    w->checked = now;
    copy_rules(w, mask, a, out, n);
    pthread_mutex_unlock(&cache_mu);
    return 0;
}

/* ---- publishing after the commit -------------------------------------------------------- */

/* An "alert" event waiting for the commit of the alert it announces. */
struct alert_event {
    char ws[STORE_ID_LEN];
    char json[];
};

static void alert_event_publish(void *data)
{
    const struct alert_event *ev = data;
    events_publish(ev->ws, "alert", ev->json);
}

/* ---- opening alerts ------------------------------------------------------------------------ */

/* What an event says, once it matched a rule. */
struct event {
    const char *subject; /* contact id or metric name */
    const char *title, *body;
    const char *severity;
    const char *data; /* JSON object text */
};

static const char *severity_of(int trigger)
{
    switch (trigger) {
    case ALERT_SEND_FAILURES:
    case ALERT_JOB_DEAD:
        return "critical";
    case ALERT_SCORE_BELOW:
    case ALERT_SENTIMENT_DROP:
    case ALERT_COMPLAINT:
        return "warning";
    default:
        return "info";
    }
}

/* The "alert" event of a new alert (what GET /api/alerts shows of it). */
static void event_json(struct buf *b, const struct alert_new *in, int64_t now)
{
    struct jw w;
    char at[32];
    clock_format(now, at, sizeof(at));
    jw_init(&w, b);
    jw_obj_begin(&w);
    jw_kstr(&w, "id", in->id);
    jw_kstr(&w, "ruleId", in->rule_id);
    jw_kstr(&w, "ruleName", in->rule_name);
    jw_kstr(&w, "trigger", in->trigger);
    jw_kstr(&w, "subject", in->subject);
    jw_kstr(&w, "title", in->title);
    jw_kstr(&w, "body", in->body);
    jw_kstr(&w, "severity", in->severity);
    jw_kstr(&w, "status", "open");
    jw_kstr(&w, "createdAt", at);
    jw_key(&w, "data");
    jw_raw(&w, in->data, strlen(in->data));
    jw_obj_end(&w);
    jw_finish(&w);
}

/*
 * Queues the channels of a new alert: one alert_deliver job per channel
 * that leaves the process (keyed by alert and channel index, so it is
 * queued once), and those delivered in the process (in_app) recorded as
 * delivered.
 */
static int queue_channels(struct store *st, const char *ws, const struct crule *r,
                          const char *alert_id, int64_t now, struct arena *a, struct errinfo *e)
{
    json_t *chans = json_loads(r->channels, 0, NULL);
    size_t i;
    json_t *ch;
    int rc = 0;
    json_array_foreach(chans, i, ch)
    {
        const char *type = json_string_value(json_object_get(ch, "type"));
        int ci = channel_index(type);
        if (ci < 0)
            continue;
        if (channel_kinds[ci]->in_process) {
            struct alert_delivery d = {.attempt = 1, .latency_ms = 0, .at = now};
            snprintf(d.alert_id, sizeof(d.alert_id), "%s", alert_id);
            snprintf(d.channel, sizeof(d.channel), "%s", channel_kinds[ci]->name);
            snprintf(d.status, sizeof(d.status), "delivered");
            if ((rc = store_alert_delivery_add(st, ws, &d, e)))
                break;
            alerts_count_delivery(ci, true);
            continue;
        }
        json_t *p = json_object();
        json_object_set_new(p, "alertId", json_string(alert_id));
        json_object_set_new(p, "index", json_integer((json_int_t)i));
        json_object_set(p, "channel", ch);
        char *payload = json_dumps(p, JSON_COMPACT);
        json_decref(p);
        struct job_spec spec = {
            .workspace_id = ws,
            .kind = ALERT_JOB_KIND,
            .payload = payload,
            .max_attempts = alerts_cfg.max_attempts,
            .idempotency_key = arena_printf(a, "alert:%s:%zu", alert_id, i),
        };
        rc = queue_enqueue(st, &spec, NULL, NULL, e);
        free(payload);
        if (rc)
            break;
    }
    json_decref(chans);
    return rc;
}

/* One matching event for rule r, in the open transaction. */
static int fire(struct store *st, const char *ws, const struct crule *r, const struct event *ev,
                double t0, struct arena *a, char opened_id[STORE_ID_LEN], struct errinfo *e)
{
    int64_t now = clock_now_ms();
    struct alert_new in = {
        .rule_id = r->id,
        .rule_name = r->name,
        .trigger = trigger_names[r->trigger],
        .dedup_key = arena_printf(a, "%s:%s", r->id, ev->subject),
        .subject = ev->subject,
        .title = ev->title,
        .body = ev->body,
        .data = ev->data ? ev->data : "{}",
        .severity = ev->severity ? ev->severity : severity_of(r->trigger),
    };
    crypto_uuid7(now, in.id);
    in.latency_us = (int64_t)((mono_s() - t0) * 1e6);
    bool opened = false;
    char owner[STORE_ID_LEN];
    int rc = store_alert_open(st, ws, &in, now, alerts_cfg.dedup_ms, &opened, owner, e);
    if (rc)
        return rc;
    atomic_fetch_add_explicit(&counters.processed, 1, memory_order_relaxed);
    if (!opened) {
        atomic_fetch_add_explicit(&counters.suppressed, 1, memory_order_relaxed);
        observe(mono_s() - t0);
        return 0;
    }
    if ((rc = queue_channels(st, ws, r, in.id, now, a, e)))
        return rc;
    if (opened_id)
        snprintf(opened_id, STORE_ID_LEN, "%s", in.id);
    struct buf b;
    buf_init(&b, EVENT_JSON_MAX);
    event_json(&b, &in, now);
    size_t len = strlen(buf_str(&b)) + 1;
    struct alert_event *ev_out = arena_alloc(a, sizeof(*ev_out) + len);
    snprintf(ev_out->ws, sizeof(ev_out->ws), "%s", ws);
    memcpy(ev_out->json, buf_str(&b), len);
    store_after_commit(st, alert_event_publish, ev_out, sizeof(*ev_out) + len);
    buf_release(&b);
    observe(mono_s() - t0);
    log_info("alert.opened", "alert %s (%s, rule %s) for %s: %s", in.id, in.trigger, r->id,
             ev->subject, ev->title);
    return 0;
}

/* The rules of one event, fired in one transaction. */
struct firing {
    const char *ws;
    const struct crule *rules;
    size_t n;
    bool (*match)(const struct crule *r, const void *arg);
    const void *arg;
    void (*describe)(const struct crule *r, const void *arg, struct arena *a, struct event *ev);
    double t0;
    struct arena *a;
};

static int fire_all(struct store *st, void *arg, struct errinfo *e)
{
    const struct firing *f = arg;
    int rc = 0;
    for (size_t i = 0; i < f->n && !rc; i++) {
        if (!f->match(&f->rules[i], f->arg))
            continue;
        struct event ev = {0};
        f->describe(&f->rules[i], f->arg, f->a, &ev);
        rc = fire(st, f->ws, &f->rules[i], &ev, f->t0, f->a, NULL, e);
    }
    return rc;
}

/* Runs fire for each rule of rules that match(rule, arg) says fires, in a
 * transaction (the caller's, when it has one open). */
static int fire_matching(struct store *st, const char *ws, const struct crule *rules, size_t n,
                         bool (*match)(const struct crule *r, const void *arg), const void *arg,
                         void (*describe)(const struct crule *r, const void *arg, struct arena *a,
                                          struct event *ev),
                         double t0, struct arena *a, struct errinfo *e)
{
    bool any = false;
    for (size_t i = 0; i < n && !any; i++)
        any = match(&rules[i], arg);
    if (!any)
        return 0;
    struct firing f = {ws, rules, n, match, arg, describe, t0, a};
    return store_tx_run(st, fire_all, &f, e);
}

/* One kind of event: the triggers it can fire; prepare (may be NULL) reads
 * into arg what match needs, once some rule of those triggers exists; match
 * and describe as for fire_matching(). */
struct event_kind {
    unsigned mask;
    int (*prepare)(struct store *st, const char *ws, const struct crule *rules, size_t n,
                   struct arena *a, void *arg, struct errinfo *e);
    bool (*match)(const struct crule *r, const void *arg);
    void (*describe)(const struct crule *r, const void *arg, struct arena *a, struct event *ev);
};

/* Fires the workspace's rules that the event arg of kind k matches; the
 * time to the alert counts from this call. */
static int fire_event(struct store *st, const char *ws, const struct event_kind *k, void *arg,
                      struct errinfo *e)
{
    double t0 = mono_s();
    char stack[8192];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    struct crule *rules;
    size_t n;
    int rc = rules_for(st, ws, k->mask, &a, &rules, &n, e);
    if (!rc && n && k->prepare)
        rc = k->prepare(st, ws, rules, n, &a, arg, e);
    if (!rc && n)
        rc = fire_matching(st, ws, rules, n, k->match, arg, k->describe, t0, &a, e);
    arena_release(&a);
    return rc;
}

/* What a test notification needs inside its transaction. */
struct test_fire {
    const char *ws;
    const struct crule *r;
    const struct event *ev;
    double t0;
    struct arena *a;
    char *alert_id;
};

static int test_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct test_fire *t = arg;
    t->alert_id[0] = '\0';
    int rc = fire(st, t->ws, t->r, t->ev, t->t0, t->a, t->alert_id, e);
    if (!rc && !t->alert_id[0])
        rc = failf(e, ERR_INTERNAL, "the test alert was not opened");
    return rc;
}

int alerts_rule_test(struct store *st, const char *workspace_id, const char *rule_id,
                     char alert_id[STORE_ID_LEN], struct errinfo *e)
{
    double t0 = mono_s();
    struct arena a;
    arena_init(&a, NULL, 0);
    struct alert_rule row;
    int rc = store_alert_rule_get(st, workspace_id, rule_id, &a, &row, e);
    int t = rc ? -1 : alert_trigger_parse(row.trigger);
    if (!rc && t < 0)
        rc = failf(e, ERR_INTERNAL, "the rule's trigger %s is unknown", row.trigger);
    if (rc) {
        arena_release(&a);
        return rc;
    }
    struct crule r = {.trigger = t,
                      .has_threshold = row.has_threshold,
                      .threshold = row.threshold,
                      .channels = (char *)row.channels};
    snprintf(r.id, sizeof(r.id), "%s", row.id);
    snprintf(r.name, sizeof(r.name), "%s", row.name);
    char subject[STORE_ID_LEN + 8];
    char uuid[STORE_ID_LEN];
    crypto_uuid7(clock_now_ms(), uuid);
    /* A subject of its own: a test is never folded into an earlier alert. */
    snprintf(subject, sizeof(subject), "test:%s", uuid);
    struct event ev = {
        .subject = subject,
        .title = arena_printf(&a, "Test notification: %s", row.name),
        .body = arena_printf(&a,
                             "A test of the rule \"%s\" (%s), sent on request. Nothing "
                             "happened to a contact.",
                             row.name, row.trigger),
        .severity = "info",
        .data = "{\"test\":true}",
    };
    struct test_fire tf = {workspace_id, &r, &ev, t0, &a, alert_id};
    rc = store_tx_run(st, test_tx, &tf, e);
    arena_release(&a);
    return rc;
}

/* A contact's display name into a: "Name <email>", the email, or the id. */
static const char *contact_label(struct store *st, const char *ws, const char *contact_id,
                                 struct arena *a)
{
    struct contact c;
    struct errinfo e;
    if (store_contact_get(st, ws, contact_id, a, &c, &e) != 0)
        return contact_id;
    return c.name[0] ? arena_printf(a, "%s <%s>", c.name, c.email) : arena_strdup(a, c.email);
}

/* ---- scores ---------------------------------------------------------------------------------- */

struct score_ev {
    struct store *st;
    const char *ws, *contact_id;
    int previous, score;
    const char *label; /* filled in on the first describe */
};

static bool score_match(const struct crule *r, const void *arg)
{
    const struct score_ev *s = arg;
    int th = (int)r->threshold;
    switch (r->trigger) {
    case ALERT_NEW_HOT_LEAD:
        return s->previous < SCORE_HOT && s->score >= SCORE_HOT;
    case ALERT_SCORE_ABOVE:
        return s->previous < th && s->score >= th;
    case ALERT_SCORE_BELOW:
        return s->previous >= th && s->score < th;
    default:
        return false;
    }
}

static void score_describe(const struct crule *r, const void *arg, struct arena *a,
                           struct event *ev)
{
    struct score_ev *s = (struct score_ev *)arg;
    if (!s->label)
        s->label = contact_label(s->st, s->ws, s->contact_id, a);
    ev->subject = s->contact_id;
    if (r->trigger == ALERT_NEW_HOT_LEAD)
        ev->title = arena_printf(a, "New hot lead: %s (score %d)", s->label, s->score);
    else
        ev->title = arena_printf(a, "%s: score %s %d (now %d)", s->label,
                                 r->trigger == ALERT_SCORE_ABOVE ? "reached" : "fell below",
                                 (int)r->threshold, s->score);
    ev->body = arena_printf(a, "The lead score of %s went from %d to %d.", s->label, s->previous,
                            s->score);
    ev->data = arena_printf(a, "{\"contactId\":\"%s\",\"previous\":%d,\"score\":%d}", s->contact_id,
                            s->previous, s->score);
}

int alerts_on_score(struct store *st, const char *workspace_id, const char *contact_id,
                    int previous, int score, struct errinfo *e)
{
    static const struct event_kind kind = {1u << ALERT_NEW_HOT_LEAD | 1u << ALERT_SCORE_ABOVE |
                                               1u << ALERT_SCORE_BELOW,
                                           NULL, score_match, score_describe};
    if (previous == score)
        return 0;
    struct score_ev s = {st, workspace_id, contact_id, previous, score, NULL};
    return fire_event(st, workspace_id, &kind, &s, e);
}

/* ---- emails ---------------------------------------------------------------------------------- */

struct email_ev {
    struct store *st;
    const char *ws;
    const struct email_row *row;
    double before; /* the contact's sentiment before this email (0: none yet) */
};

static double drop_threshold(const struct crule *r)
{
    return r->has_threshold ? r->threshold : 0.5;
}

static bool email_match(const struct crule *r, const void *arg)
{
    const struct email_ev *m = arg;
    switch (r->trigger) {
    case ALERT_COMPLAINT:
        return (m->row->intent_bits & INTENT_COMPLAINT) != 0;
    case ALERT_REPLY:
        return m->row->in_reply_to && m->row->in_reply_to[0];
    case ALERT_SENTIMENT_DROP:
        return m->row->sentiment && m->row->sentiment_score < 0 &&
               m->before - m->row->sentiment_score >= drop_threshold(r);
    default:
        return false;
    }
}

static void email_describe(const struct crule *r, const void *arg, struct arena *a,
                           struct event *ev)
{
    const struct email_ev *m = arg;
    const struct email_row *row = m->row;
    const char *who = row->from_name && *row->from_name
                          ? arena_printf(a, "%s <%s>", row->from_name, row->from_email)
                          : row->from_email;
    const char *subj = row->subject && *row->subject ? row->subject : "(no subject)";
    ev->subject = row->contact_id;
    switch (r->trigger) {
    case ALERT_COMPLAINT:
        ev->title = arena_printf(a, "Complaint from %s: %s", who, subj);
        break;
    case ALERT_REPLY:
        ev->title = arena_printf(a, "Reply from %s: %s", who, subj);
        break;
    default:
        ev->title = arena_printf(a, "Sentiment dropped: %s (%.2f, was %.2f)", who,
                                 row->sentiment_score, m->before);
        break;
    }
    size_t blen = row->body_text ? strlen(row->body_text) : 0;
    ev->body = blen > 280 ? arena_printf(a, "%.277s...", row->body_text)
                          : arena_strdup(a, row->body_text ? row->body_text : "");
    struct buf b;
    struct jw w;
    buf_init(&b, 8192);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "contactId", row->contact_id);
    jw_kstr(&w, "emailId", row->id);
    jw_kstr(&w, "from", row->from_email);
    jw_kstr(&w, "emailSubject", row->subject);
    jw_key(&w, "sentimentScore");
    jw_double(&w, row->sentiment_score);
    jw_obj_end(&w);
    ev->data = jw_finish(&w) == 0 ? arena_strdup(a, buf_str(&b)) : "{}";
    buf_release(&b);
}

/* A sentiment-drop rule needs the contact's sentiment before this email. */
static int email_prepare(struct store *st, const char *ws, const struct crule *rules, size_t n,
                         struct arena *a, void *arg, struct errinfo *e)
{
    (void)e;
    struct email_ev *m = arg;
    for (size_t i = 0; i < n; i++) {
        if (rules[i].trigger != ALERT_SENTIMENT_DROP || !m->row->sentiment)
            continue;
        struct contact c;
        struct errinfo ce;
        if (store_contact_get(st, ws, m->row->contact_id, a, &c, &ce) == 0 && c.has_sentiment)
            m->before = c.sentiment;
        break;
    }
    return 0;
}

int alerts_on_email(struct store *st, const char *workspace_id, const struct email_row *row,
                    struct errinfo *e)
{
    static const struct event_kind kind = {1u << ALERT_COMPLAINT | 1u << ALERT_REPLY |
                                               1u << ALERT_SENTIMENT_DROP,
                                           email_prepare, email_match, email_describe};
    if (!row->contact_id[0] || !row->direction || strcmp(row->direction, "inbound") != 0)
        return 0;
    struct email_ev m = {st, workspace_id, row, 0};
    return fire_event(st, workspace_id, &kind, &m, e);
}

/* ---- sending -----------------------------------------------------------------------------------
 */

struct send_ev {
    int64_t total, failed;
    double rate; /* percent */
};

static bool send_match(const struct crule *r, const void *arg)
{
    const struct send_ev *s = arg;
    double th = r->has_threshold ? r->threshold : 50;
    return r->trigger == ALERT_SEND_FAILURES && s->total >= ALERT_SEND_MIN_ATTEMPTS &&
           s->rate >= th;
}

static void send_describe(const struct crule *r, const void *arg, struct arena *a, struct event *ev)
{
    const struct send_ev *s = arg;
    ev->subject = "send_failures";
    ev->title = arena_printf(a, "Email sending is failing: %.0f%% of %lld attempts", s->rate,
                             (long long)s->total);
    ev->body = arena_printf(a,
                            "%lld of the last %lld send attempts in %lld minutes failed "
                            "(threshold %.0f%%).",
                            (long long)s->failed, (long long)s->total,
                            (long long)(alerts_cfg.dedup_ms / 60000),
                            r->has_threshold ? r->threshold : 50.0);
    ev->data = arena_printf(a, "{\"attempts\":%lld,\"failed\":%lld,\"rate\":%.2f}",
                            (long long)s->total, (long long)s->failed, s->rate);
}

/* The failure rate over the dedup window. */
static int send_prepare(struct store *st, const char *ws, const struct crule *rules, size_t n,
                        struct arena *a, void *arg, struct errinfo *e)
{
    (void)rules;
    (void)n;
    (void)a;
    struct send_ev *s = arg;
    int rc = store_send_attempt_counts(st, ws, clock_now_ms() - alerts_cfg.dedup_ms, &s->total,
                                       &s->failed, e);
    s->rate = s->total ? 100.0 * (double)s->failed / (double)s->total : 0;
    return rc;
}

int alerts_on_send_failure(struct store *st, const char *workspace_id, struct errinfo *e)
{
    static const struct event_kind kind = {1u << ALERT_SEND_FAILURES, send_prepare, send_match,
                                           send_describe};
    struct send_ev s = {0};
    return fire_event(st, workspace_id, &kind, &s, e);
}

/* ---- the job queue ----------------------------------------------------------------------------
 */

struct dead_ev {
    int64_t id;
    const char *kind, *error;
};

static bool dead_match(const struct crule *r, const void *arg)
{
    (void)arg;
    return r->trigger == ALERT_JOB_DEAD;
}

static void dead_describe(const struct crule *r, const void *arg, struct arena *a, struct event *ev)
{
    (void)r;
    const struct dead_ev *d = arg;
    ev->subject = arena_printf(a, "job_dead:%s", d->kind);
    ev->title = arena_printf(a, "A %s job is dead", d->kind);
    ev->body =
        arena_printf(a, "Job %lld (%s) failed for good: %s", (long long)d->id, d->kind, d->error);
    struct buf b;
    struct jw w;
    buf_init(&b, 4096);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kint(&w, "jobId", d->id);
    jw_kstr(&w, "kind", d->kind);
    jw_kstr(&w, "error", d->error);
    jw_obj_end(&w);
    ev->data = jw_finish(&w) == 0 ? arena_strdup(a, buf_str(&b)) : "{}";
    buf_release(&b);
}

void alerts_on_job_dead(void *ctx, struct store *st, const char *workspace_id, int64_t id,
                        const char *kind, const char *error)
{
    (void)ctx;
    /* A delivery of an alert that died must not raise another alert. */
    if (!workspace_id || !workspace_id[0] || strcmp(kind, ALERT_JOB_KIND) == 0)
        return;
    static const struct event_kind dead = {1u << ALERT_JOB_DEAD, NULL, dead_match, dead_describe};
    struct errinfo e;
    errinfo_clear(&e);
    struct dead_ev d = {id, kind, error};
    if (fire_event(st, workspace_id, &dead, &d, &e))
        log_warn("alert.job_dead_failed", "job %lld died, but its alert failed: %s", (long long)id,
                 e.msg);
}
