/*
 * Alerts (alerts/alerts.h): rules (list, create, change, delete), alerts
 * by status with their delivery attempts, ack and resolve, and the
 * workspace's alert metrics with the health score of DESIGN.md §6. Every
 * id is looked up in the caller's workspace, so another workspace's id is
 * 404 like a missing one.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "alerts/alerts.h"
#include "alerts/channel.h"
#include "api/api.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "http/reply.h"
#include "jobs/queue.h"
#include "store/alerts.h"

enum { PAGE_SIZE_DEFAULT = 50, PAGE_SIZE_MAX = 200, METRICS_WINDOW_H = 24 };

/* Every answer with a rule: its channels' secrets are write-only. */
static void write_rule(struct jw *w, const struct alert_rule *r, struct arena *a)
{
    jw_obj_begin(w);
    jw_kstr(w, "id", r->id);
    jw_kstr(w, "name", r->name);
    jw_kstr(w, "trigger", r->trigger);
    jw_key(w, "threshold");
    if (r->has_threshold)
        jw_double(w, r->threshold);
    else
        jw_null(w);
    jw_key(w, "channels");
    const char *channels = alerts_channels_public(r->channels, a);
    jw_raw(w, channels, strlen(channels));
    jw_kbool(w, "enabled", r->enabled);
    api_time(w, "createdAt", r->created_at);
    api_time(w, "updatedAt", r->updated_at);
    jw_obj_end(w);
}

static int reply_rule(struct http_req *req, struct http_reply *rep, int status, const char *id,
                      struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct alert_rule r;
    int rc = store_alert_rule_get(ctx->store, req->auth->workspace_id, id, req->arena, &r, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, status, &w);
    write_rule(&w, &r, req->arena);
    return reply_ok_end(rep, &w);
}

static int rules_list(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct alert_rule *rows;
    size_t n;
    int rc =
        store_alert_rule_list(ctx->store, req->auth->workspace_id, false, req->arena, &rows, &n, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++)
        write_rule(&w, &rows[i], req->arena);
    return api_list_end(rep, &w, NULL, 0);
}

static int rules_create(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct alert_rule_fields f;
    int rc = alerts_rule_read(req->json, NULL, req->arena, &f, e);
    if (rc)
        return rc;
    struct alert_rule r;
    rc = store_alert_rule_create(ctx->store, req->auth->workspace_id, &f, clock_now_ms(),
                                 req->arena, &r, e);
    if (rc)
        return rc;
    alerts_rules_changed();
    struct jw w;
    reply_ok_begin(rep, 201, &w);
    write_rule(&w, &r, req->arena);
    return reply_ok_end(rep, &w);
}

static int rules_patch(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    struct alert_rule base;
    struct alert_rule_fields f;
    int rc = api_path_id(req, "alert rule", id, e);
    if (!rc)
        rc = store_alert_rule_get(ctx->store, req->auth->workspace_id, id, req->arena, &base, e);
    if (!rc)
        rc = alerts_rule_read(req->json, &base, req->arena, &f, e);
    if (!rc && f.set == 0)
        rc = failf(e, ERR_INVALID,
                   "nothing to change: give name, trigger, threshold, channels or enabled");
    if (!rc)
        rc =
            store_alert_rule_update(ctx->store, req->auth->workspace_id, id, &f, clock_now_ms(), e);
    if (rc)
        return rc;
    alerts_rules_changed();
    return reply_rule(req, rep, 200, id, e);
}

static int rules_delete(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    int rc = api_path_id(req, "alert rule", id, e);
    if (!rc)
        rc = store_alert_rule_delete(ctx->store, req->auth->workspace_id, id, e);
    if (rc)
        return rc;
    alerts_rules_changed();
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kstr(&w, "id", id);
    jw_kbool(&w, "deleted", true);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

static void write_alert(struct jw *w, const struct alert_row *a, const struct alert_delivery *d,
                        size_t nd, bool with_deliveries)
{
    jw_obj_begin(w);
    jw_kstr(w, "id", a->id);
    jw_kstr(w, "ruleId", a->rule_id[0] ? a->rule_id : NULL);
    jw_kstr(w, "ruleName", a->rule_name);
    jw_kstr(w, "trigger", a->trigger);
    jw_kstr(w, "subject", a->subject);
    jw_kstr(w, "title", a->title);
    jw_kstr(w, "body", a->body);
    jw_kstr(w, "severity", a->severity);
    jw_kstr(w, "status", a->status);
    jw_kint(w, "suppressed", a->suppressed);
    jw_key(w, "data");
    jw_raw(w, a->data, strlen(a->data));
    api_time(w, "createdAt", a->created_at);
    api_time(w, "ackedAt", a->acked_at);
    jw_kstr(w, "ackedBy", a->acked_by[0] ? a->acked_by : NULL);
    api_time(w, "resolvedAt", a->resolved_at);
    jw_kstr(w, "resolvedBy", a->resolved_by[0] ? a->resolved_by : NULL);
    api_time(w, "readAt", a->read_at);
    if (with_deliveries) {
        jw_key(w, "deliveries");
        jw_arr_begin(w);
        for (size_t i = 0; i < nd; i++) {
            jw_obj_begin(w);
            jw_kstr(w, "channel", d[i].channel);
            jw_kstr(w, "target", d[i].target);
            jw_kint(w, "attempt", d[i].attempt);
            jw_kstr(w, "status", d[i].status);
            jw_kstr(w, "error", d[i].error);
            if (d[i].response_code)
                jw_kint(w, "responseCode", d[i].response_code);
            else
                jw_kstr(w, "responseCode", NULL);
            if (d[i].latency_ms >= 0)
                jw_kint(w, "latencyMs", d[i].latency_ms);
            else
                jw_kstr(w, "latencyMs", NULL);
            api_time(w, "at", d[i].at);
            jw_obj_end(w);
        }
        jw_arr_end(w);
    }
    jw_obj_end(w);
}

static int alerts_list(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct api_page pg;
    int rc = api_page_parse(req, PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT, &pg, e);
    if (rc)
        return rc;
    const char *status = http_req_query(req, "status");
    if (status && strcmp(status, "open") != 0 && strcmp(status, "acked") != 0 &&
        strcmp(status, "resolved") != 0)
        return failf(e, ERR_INVALID, "status must be one of open, acked, resolved");
    const char *ws = req->auth->workspace_id;
    struct alert_row *rows;
    size_t n;
    int64_t total;
    rc = store_alert_list(ctx->store, ws, status, (int)pg.size, (int)api_page_offset(&pg),
                          req->arena, &rows, &n, &total, e);
    if (rc)
        return rc;
    struct jw w;
    api_list_begin(rep, &w);
    for (size_t i = 0; i < n; i++) {
        struct alert_delivery *d;
        size_t nd;
        if ((rc = store_alert_delivery_list(ctx->store, ws, rows[i].id, req->arena, &d, &nd, e)))
            return rc;
        write_alert(&w, &rows[i], d, nd, true);
    }
    return api_list_end(rep, &w, &pg, total);
}

/* The alert id with its deliveries. */
static int reply_alert(struct http_req *req, struct http_reply *rep, const char *id, int status,
                       struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const char *ws = req->auth->workspace_id;
    struct alert_row a;
    struct alert_delivery *d = NULL;
    size_t nd = 0;
    int rc = store_alert_get(ctx->store, ws, id, req->arena, &a, e);
    if (!rc)
        rc = store_alert_delivery_list(ctx->store, ws, id, req->arena, &d, &nd, e);
    if (rc)
        return rc;
    struct jw w;
    reply_ok_begin(rep, status, &w);
    write_alert(&w, &a, d, nd, true);
    return reply_ok_end(rep, &w);
}

static int transition(struct http_req *req, struct http_reply *rep, const char *from,
                      const char *to, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    const char *ws = req->auth->workspace_id;
    char id[STORE_ID_LEN];
    int rc = api_path_id(req, "alert", id, e);
    if (!rc)
        rc = store_alert_transition(ctx->store, ws, id, from, to, req->auth->user_id,
                                    clock_now_ms(), e);
    return rc ? rc : reply_alert(req, rep, id, 200, e);
}

static int alerts_ack(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return transition(req, rep, "open", "acked", e);
}

static int alerts_resolve(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return transition(req, rep, "open,acked", "resolved", e);
}

/* Read or unread: a mark for the dashboards, beside the open/acked/resolved
 * status. */
static int mark_read(struct http_req *req, struct http_reply *rep, bool read, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN];
    int rc = api_path_id(req, "alert", id, e);
    if (!rc)
        rc = store_alert_mark_read(ctx->store, req->auth->workspace_id, id,
                                   read ? clock_now_ms() : 0, e);
    return rc ? rc : reply_alert(req, rep, id, 200, e);
}

static int alerts_read(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return mark_read(req, rep, true, e);
}

static int alerts_unread(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return mark_read(req, rep, false, e);
}

/* A test notification: a real alert of the rule, delivered on its channels. */
static int rules_test(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    char id[STORE_ID_LEN], alert_id[STORE_ID_LEN];
    int rc = api_path_id(req, "alert rule", id, e);
    if (!rc)
        rc = alerts_rule_test(ctx->store, req->auth->workspace_id, id, alert_id, e);
    if (!rc && ctx->queue)
        queue_kick(ctx->queue);
    return rc ? rc : reply_alert(req, rep, alert_id, 201, e);
}

static int alerts_metrics(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    int64_t hours;
    int rc = api_query_int(req, "hours", 1, 24 * 90, METRICS_WINDOW_H, &hours, e);
    if (rc)
        return rc;
    int64_t now = clock_now_ms();
    struct alert_stats s;
    rc = store_alert_stats(ctx->store, req->auth->workspace_id, now - hours * 3600000, &s, e);
    if (rc)
        return rc;
    double error_rate;
    int health = alerts_health(&s, &error_rate);
    static const int bounds[ALERT_LATENCY_BUCKETS] = {100,  250,  500,   1000,
                                                      2500, 5000, 10000, 30000};
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kint(&w, "windowHours", hours);
    jw_kint(&w, "processed", s.alerts + s.suppressed);
    jw_kint(&w, "alerts", s.alerts);
    jw_kint(&w, "suppressed", s.suppressed);
    jw_key(&w, "byStatus");
    jw_obj_begin(&w);
    jw_kint(&w, "open", s.open);
    jw_kint(&w, "acked", s.acked);
    jw_kint(&w, "resolved", s.resolved);
    jw_obj_end(&w);
    /* Every channel of the table, in its order, 0 when it had no attempts. */
    int64_t delivered[CHANNEL_KINDS_MAX], failed[CHANNEL_KINDS_MAX];
    for (size_t i = 0; i < channel_nkinds; i++)
        alerts_stats_channel(&s, channel_kinds[i]->name, &delivered[i], &failed[i]);
    jw_key(&w, "delivered");
    jw_obj_begin(&w);
    for (size_t i = 0; i < channel_nkinds; i++)
        jw_kint(&w, channel_kinds[i]->name, delivered[i]);
    jw_obj_end(&w);
    jw_key(&w, "failed");
    jw_obj_begin(&w);
    for (size_t i = 0; i < channel_nkinds; i++)
        jw_kint(&w, channel_kinds[i]->name, failed[i]);
    jw_obj_end(&w);
    jw_kint(&w, "attempts", s.attempts);
    jw_key(&w, "errorRate");
    jw_double(&w, error_rate);
    jw_key(&w, "latency");
    jw_obj_begin(&w);
    jw_kint(&w, "count", s.latency_count);
    if (s.latency_p95_ms >= 0)
        jw_kint(&w, "p95Ms", s.latency_p95_ms);
    else
        jw_kstr(&w, "p95Ms", NULL);
    jw_key(&w, "buckets");
    jw_arr_begin(&w);
    for (int b = 0; b <= ALERT_LATENCY_BUCKETS; b++) {
        jw_obj_begin(&w);
        if (b < ALERT_LATENCY_BUCKETS)
            jw_kint(&w, "leMs", bounds[b]);
        else
            jw_kstr(&w, "leMs", "+Inf");
        jw_kint(&w, "count", s.latency_buckets[b]);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_kint(&w, "healthScore", health);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

enum { WS = ROUTE_AUTH | ROUTE_WORKSPACE, WR = WS | ROUTE_WRITE };

/* /api/alerts/rules and /api/alerts/metrics come before /api/alerts/{id}/... */
const struct route api_alerts_routes[] = {
    {HTTP_GET, "/api/alerts/rules", WS, rules_list},
    {HTTP_POST, "/api/alerts/rules", WR | ROUTE_JSON, rules_create},
    {HTTP_PATCH, "/api/alerts/rules/{id}", WR | ROUTE_JSON, rules_patch},
    {HTTP_DELETE, "/api/alerts/rules/{id}", WR, rules_delete},
    {HTTP_POST, "/api/alerts/rules/{id}/test", WR, rules_test},
    {HTTP_GET, "/api/alerts/metrics", WS, alerts_metrics},
    {HTTP_GET, "/api/alerts", WS, alerts_list},
    {HTTP_POST, "/api/alerts/{id}/ack", WR, alerts_ack},
    {HTTP_POST, "/api/alerts/{id}/resolve", WR, alerts_resolve},
    {HTTP_POST, "/api/alerts/{id}/read", WR, alerts_read},
    {HTTP_POST, "/api/alerts/{id}/unread", WR, alerts_unread},
};

const size_t api_alerts_nroutes = sizeof(api_alerts_routes) / sizeof(api_alerts_routes[0]);
