/*
 * HTTP request metrics in the Prometheus text format (version 0.0.4):
 * leadflow_http_requests_total{route,method,code} and the latency histogram
 * leadflow_http_request_duration_seconds{route}. Counters are lock-free
 * atomics, so observing a request costs a few relaxed increments.
 */
#ifndef LEADFLOW_HTTP_METRICS_H
#define LEADFLOW_HTTP_METRICS_H

#include <stddef.h>

#include "base/buf.h"
#include "http/router.h"

struct http_metrics;

/* One slot per route of rt, plus "unmatched" (static files and 404s); rt is borrowed. */
struct http_metrics *http_metrics_new(const struct router *rt);
void http_metrics_free(struct http_metrics *m);

/* route_idx: the router's index, or -1 for a request no route matched. */
void http_metrics_observe(struct http_metrics *m, int route_idx, int status, int method,
                          double seconds);

/*
 * A gauge owned by another module (leadflow_ws_clients), read by fn(arg)
 * each time the metrics are rendered; fn must be thread-safe. name and help
 * are borrowed (static text). Add gauges before the server starts; past
 * HTTP_METRICS_GAUGES more are ignored.
 */
enum { HTTP_METRICS_GAUGES = 8 };
void http_metrics_add_gauge(struct http_metrics *m, const char *name, const char *help,
                            double (*fn)(const void *arg), const void *arg);

/*
 * A block of metrics another module renders itself (the alert counters),
 * appended after the gauges each time; fn must be thread-safe and return
 * 0 or ERR_TOO_BIG. Past HTTP_METRICS_SECTIONS more are ignored.
 */
enum { HTTP_METRICS_SECTIONS = 4 };
void http_metrics_add_section(struct http_metrics *m, int (*fn)(const void *arg, struct buf *out),
                              const void *arg);

/* Appends the metrics text; returns 0 or ERR_TOO_BIG. */
int http_metrics_render(const struct http_metrics *m, struct buf *out);

#endif
