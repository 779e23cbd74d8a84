/*
 * GET /healthz: liveness, with a database round trip.
 * GET /metrics: Prometheus text exposition format 0.0.4.
 */
#include <stdio.h>

#include "api/api.h"
#include "base/clock.h"
#include "http/reply.h"
#include "version.h"

static int health_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    int rc = store_ping(ctx->store, e);
    if (rc)
        return failf(e, ERR_TEMPORARY, "database is not answering: %s", e->msg);
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kstr(&w, "status", "ok");
    jw_kstr(&w, "database", store_name(ctx->store));
    jw_kstr(&w, "version", LEADFLOW_VERSION);
    jw_kint(&w, "uptimeSeconds", (clock_now_ms() - ctx->started_ms) / 1000);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

static int metrics_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    struct buf *b = &rep->body;
    rep->content_type = "text/plain; version=0.0.4; charset=utf-8";
    int rc = buf_printf(b,
                        "# HELP leadflow_build_info Build information.\n"
                        "# TYPE leadflow_build_info gauge\n"
                        "leadflow_build_info{version=\"%s\",database=\"%s\"} 1\n"
                        "# HELP leadflow_uptime_seconds Seconds since the server started.\n"
                        "# TYPE leadflow_uptime_seconds gauge\n"
                        "leadflow_uptime_seconds %lld\n",
                        LEADFLOW_VERSION, store_name(ctx->store),
                        (long long)((clock_now_ms() - ctx->started_ms) / 1000));
    if (!rc && ctx->metrics)
        rc = http_metrics_render(ctx->metrics, b);
    if (rc)
        return failf(e, ERR_INTERNAL, "metrics text does not fit the reply buffer");
    return 0;
}

const struct route api_health_routes[] = {
    {HTTP_GET, "/healthz", ROUTE_PUBLIC, health_get},
    {HTTP_GET, "/metrics", ROUTE_PUBLIC | ROUTE_TEXT, metrics_get},
};

const size_t api_health_nroutes = sizeof(api_health_routes) / sizeof(api_health_routes[0]);
