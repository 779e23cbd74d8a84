/*
 * Request counters and latency histograms per route.
 */
#include "http/metrics.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/mem.h"

static const double bucket_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                       0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
enum { NBUCKETS = sizeof(bucket_bounds) / sizeof(bucket_bounds[0]) };

/* Status codes get their own counter; others count under "other". */
static const int codes[] = {200, 201, 204, 301, 302, 303, 304, 400, 401,
                            403, 404, 405, 409, 413, 429, 500, 501, 503};
enum { NCODES = sizeof(codes) / sizeof(codes[0]) + 1 };

static const int method_bits[] = {1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7};
static const char *const method_names[] = {"GET",   "HEAD",   "POST",    "PUT",
                                           "PATCH", "DELETE", "OPTIONS", "OTHER"};
enum { NMETHODS = 8 };

struct slot {
    _Atomic uint64_t count[NMETHODS][NCODES];
    _Atomic uint64_t buckets[NBUCKETS + 1]; /* the last is +Inf */
    _Atomic uint64_t sum_us;
    _Atomic uint64_t total;
};

struct gauge {
    const char *name, *help;
    double (*fn)(const void *arg);
    const void *arg;
};

struct section {
    int (*fn)(const void *arg, struct buf *out);
    const void *arg;
};

struct http_metrics {
    const struct router *rt;
    size_t nslots; /* routes + static + unmatched */
    struct slot *slots;
    struct gauge gauges[HTTP_METRICS_GAUGES];
    size_t ngauges;
    struct section sections[HTTP_METRICS_SECTIONS];
    size_t nsections;
};

struct http_metrics *http_metrics_new(const struct router *rt)
{
    struct http_metrics *m = XNEW(struct http_metrics);
    m->rt = rt;
    m->nslots = router_count(rt) + 1;
    m->slots = xcalloc(m->nslots, sizeof(struct slot));
    return m;
}

void http_metrics_free(struct http_metrics *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

void http_metrics_observe(struct http_metrics *m, int route_idx, int status, int method,
                          double seconds)
{
    size_t si =
        route_idx < 0 || (size_t)route_idx >= m->nslots - 1 ? m->nslots - 1 : (size_t)route_idx;
    struct slot *s = &m->slots[si];
    int ci = NCODES - 1, mi = NMETHODS - 1;
    for (int i = 0; i < NCODES - 1; i++)
        if (codes[i] == status)
            ci = i;
    for (int i = 0; i < NMETHODS; i++)
        if (method_bits[i] == method)
            mi = i;
    atomic_fetch_add_explicit(&s->count[mi][ci], 1, memory_order_relaxed);
    int b = 0;
    while (b < NBUCKETS && seconds > bucket_bounds[b])
        b++;
    atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, (uint64_t)(seconds * 1e6), memory_order_relaxed);
    atomic_fetch_add_explicit(&s->total, 1, memory_order_relaxed);
}

void http_metrics_add_gauge(struct http_metrics *m, const char *name, const char *help,
                            double (*fn)(const void *arg), const void *arg)
{
    if (m->ngauges < HTTP_METRICS_GAUGES)
        m->gauges[m->ngauges++] = (struct gauge){name, help, fn, arg};
}

void http_metrics_add_section(struct http_metrics *m, int (*fn)(const void *arg, struct buf *out),
                              const void *arg)
{
    if (m->nsections < HTTP_METRICS_SECTIONS)
        m->sections[m->nsections++] = (struct section){fn, arg};
}

static const char *slot_name(const struct http_metrics *m, size_t i)
{
    return i < m->nslots - 1 ? router_route(m->rt, i)->pattern : "unmatched";
}

int http_metrics_render(const struct http_metrics *m, struct buf *out)
{
    int rc = 0;
    rc |= buf_puts(out, "# HELP leadflow_http_requests_total HTTP requests served.\n"
                        "# TYPE leadflow_http_requests_total counter\n");
    for (size_t i = 0; i < m->nslots; i++) {
        const struct slot *s = &m->slots[i];
        for (int mi = 0; mi < NMETHODS; mi++) {
            for (int ci = 0; ci < NCODES; ci++) {
                uint64_t n = atomic_load_explicit(&s->count[mi][ci], memory_order_relaxed);
                if (!n)
                    continue;
                char code[8];
                if (ci < NCODES - 1)
                    snprintf(code, sizeof(code), "%d", codes[ci]);
                else
                    snprintf(code, sizeof(code), "other");
                rc |= buf_printf(out,
                                 "leadflow_http_requests_total{route=\"%s\",method=\"%s\","
                                 "code=\"%s\"} %llu\n",
                                 slot_name(m, i), method_names[mi], code, (unsigned long long)n);
            }
        }
    }
    rc |= buf_puts(out, "# HELP leadflow_http_request_duration_seconds Time to build a reply.\n"
                        "# TYPE leadflow_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->nslots; i++) {
        const struct slot *s = &m->slots[i];
        uint64_t total = atomic_load_explicit(&s->total, memory_order_relaxed);
        if (!total)
            continue;
        const char *name = slot_name(m, i);
        uint64_t cum = 0;
        for (int b = 0; b <= NBUCKETS; b++) {
            cum += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
            if (b < NBUCKETS)
                rc |= buf_printf(out,
                                 "leadflow_http_request_duration_seconds_bucket{route=\"%s\","
                                 "le=\"%g\"} %llu\n",
                                 name, bucket_bounds[b], (unsigned long long)cum);
            else
                rc |= buf_printf(out,
                                 "leadflow_http_request_duration_seconds_bucket{route=\"%s\","
                                 "le=\"+Inf\"} %llu\n",
                                 name, (unsigned long long)cum);
        }
        rc |=
            buf_printf(out, "leadflow_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name,
                       (double)atomic_load_explicit(&s->sum_us, memory_order_relaxed) / 1e6);
        rc |= buf_printf(out, "leadflow_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                         name, (unsigned long long)total);
    }
    for (size_t i = 0; i < m->ngauges; i++) {
        const struct gauge *g = &m->gauges[i];
        rc |= buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.15g\n", g->name, g->help,
                         g->name, g->name, g->fn(g->arg));
    }
    for (size_t i = 0; i < m->nsections; i++)
        rc |= m->sections[i].fn(m->sections[i].arg, out) ? 1 : 0;
    return rc ? ERR_TOO_BIG : 0;
}
