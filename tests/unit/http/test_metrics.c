/*
 * Tests for src/http/metrics.c: counters per route, method and status, and
 * the latency histogram in the Prometheus text format (cumulative buckets,
 * +Inf equal to _count).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "http/metrics.h"
#include "unit/unit.h"

static int h_unused(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    return 0;
}

static const struct route routes[] = {
    {HTTP_GET | HTTP_HEAD, "/a", ROUTE_PUBLIC, h_unused},
    {HTTP_POST, "/b", ROUTE_PUBLIC, h_unused},
    {HTTP_GET, "/idle", ROUTE_PUBLIC, h_unused},
};

struct fix {
    struct router *rt;
    struct http_metrics *m;
    struct buf out;
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    f->rt = router_new();
    router_add(f->rt, routes, 3);
    f->m = http_metrics_new(f->rt);
    buf_init(&f->out, 1 << 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    buf_release(&f->out);
    http_metrics_free(f->m);
    router_free(f->rt);
    free(f);
    return 0;
}

static void observe_sample(struct http_metrics *m)
{
    http_metrics_observe(m, 0, 200, HTTP_GET, 0.0003);
    http_metrics_observe(m, 0, 200, HTTP_GET, 0.001); /* on a bound: le is inclusive */
    http_metrics_observe(m, 0, 200, HTTP_GET, 0.002);
    http_metrics_observe(m, 0, 404, HTTP_GET, 0.7);
    http_metrics_observe(m, 0, 418, HTTP_GET, 0.01); /* no counter of its own */
    http_metrics_observe(m, 0, 200, HTTP_HEAD, 0.0001);
    http_metrics_observe(m, 1, 201, HTTP_POST, 3.0);
    http_metrics_observe(m, -1, 404, HTTP_GET, 0.01);
    http_metrics_observe(m, 99, 404, HTTP_GET, 0.02); /* out of range: unmatched */
    http_metrics_observe(m, 1, 200, 0, 0.1);          /* unknown method */
}

/* True when text has exactly this line. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

#define assert_line(text, line)                                                                    \
    do {                                                                                           \
        if (!has_line(text, line))                                                                 \
            fail_msg("no line \"%s\" in:\n%s", line, text);                                        \
    } while (0)

static void test_counters(void **state)
{
    struct fix *f = *state;
    observe_sample(f->m);
    assert_int_equal(http_metrics_render(f->m, &f->out), 0);
    const char *t = buf_str(&f->out);
    assert_line(t, "# TYPE leadflow_http_requests_total counter");
    assert_line(t, "leadflow_http_requests_total{route=\"/a\",method=\"GET\",code=\"200\"} 3");
    assert_line(t, "leadflow_http_requests_total{route=\"/a\",method=\"GET\",code=\"404\"} 1");
    assert_line(t, "leadflow_http_requests_total{route=\"/a\",method=\"GET\",code=\"other\"} 1");
    assert_line(t, "leadflow_http_requests_total{route=\"/a\",method=\"HEAD\",code=\"200\"} 1");
    assert_line(t, "leadflow_http_requests_total{route=\"/b\",method=\"POST\",code=\"201\"} 1");
    assert_line(t, "leadflow_http_requests_total{route=\"/b\",method=\"OTHER\",code=\"200\"} 1");
    assert_line(t,
                "leadflow_http_requests_total{route=\"unmatched\",method=\"GET\",code=\"404\"} 2");
    /* Nothing for a route without traffic, nor for zero counters. */
    assert_not_contains(t, "route=\"/idle\"");
    assert_not_contains(t, "} 0\nleadflow_http_requests_total");
}

static void test_histogram_lines(void **state)
{
    struct fix *f = *state;
    observe_sample(f->m);
    assert_int_equal(http_metrics_render(f->m, &f->out), 0);
    const char *t = buf_str(&f->out);
    assert_line(t, "# TYPE leadflow_http_request_duration_seconds histogram");
#define B(le, n) "leadflow_http_request_duration_seconds_bucket{route=\"/a\",le=\"" le "\"} " #n
    assert_line(t, B("0.0005", 2));
    assert_line(t, B("0.001", 3));
    assert_line(t, B("0.0025", 4));
    assert_line(t, B("0.005", 4));
    assert_line(t, B("0.01", 5));
    assert_line(t, B("0.5", 5));
    assert_line(t, B("1", 6));
    assert_line(t, B("2.5", 6));
    assert_line(t, B("+Inf", 6));
#undef B
    assert_line(t, "leadflow_http_request_duration_seconds_count{route=\"/a\"} 6");
    assert_line(t, "leadflow_http_request_duration_seconds_bucket{route=\"/b\",le=\"2.5\"} 1");
    assert_line(t, "leadflow_http_request_duration_seconds_bucket{route=\"/b\",le=\"+Inf\"} 2");
    assert_line(t, "leadflow_http_request_duration_seconds_count{route=\"/b\"} 2");
    assert_line(t,
                "leadflow_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.01\"} 1");
    assert_line(
        t, "leadflow_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"0.025\"} 2");

    const char *sum = strstr(t, "leadflow_http_request_duration_seconds_sum{route=\"/a\"} ");
    assert_non_null(sum);
    double s =
        strtod(sum + strlen("leadflow_http_request_duration_seconds_sum{route=\"/a\"} "), NULL);
    if (fabs(s - 0.7134) > 1e-5)
        fail_msg("sum for /a is %f, want 0.7134", s);
}

/* Every histogram: le grows, counts never fall, +Inf equals _count. */
static void test_histogram_consistent(void **state)
{
    struct fix *f = *state;
    observe_sample(f->m);
    assert_int_equal(http_metrics_render(f->m, &f->out), 0);
    const char *bucket = "leadflow_http_request_duration_seconds_bucket{route=\"";
    const char *count = "leadflow_http_request_duration_seconds_count{route=\"";
    char route[64] = "";
    double last_le = -1;
    unsigned long long last = 0, inf = 0;
    int histograms = 0;
    for (const char *p = buf_str(&f->out); *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        if (strncmp(p, bucket, strlen(bucket)) == 0) {
            const char *r = p + strlen(bucket);
            const char *q = strstr(r, "\",le=\"");
            assert_non_null(q);
            if ((size_t)(q - r) != strlen(route) || strncmp(r, route, strlen(route)) != 0) {
                snprintf(route, sizeof(route), "%.*s", (int)(q - r), r);
                last_le = -1;
                last = 0;
                histograms++;
            }
            const char *lev = q + 6;
            double le = strncmp(lev, "+Inf", 4) == 0 ? INFINITY : strtod(lev, NULL);
            unsigned long long n = strtoull(strstr(lev, "} ") + 2, NULL, 10);
            if (le <= last_le || n < last)
                fail_msg("route %s: bucket %g with %llu after %g with %llu", route, le, n, last_le,
                         last);
            last_le = le;
            last = n;
            if (isinf(le))
                inf = n;
        } else if (strncmp(p, count, strlen(count)) == 0) {
            assert_true(isinf(last_le));
            unsigned long long n = strtoull(strstr(p, "} ") + 2, NULL, 10);
            assert_int_equal(n, inf);
        }
        p = nl + 1;
    }
    assert_int_equal(histograms, 3); /* /a, /b, unmatched */
}

static void test_empty(void **state)
{
    struct fix *f = *state;
    assert_int_equal(http_metrics_render(f->m, &f->out), 0);
    const char *t = buf_str(&f->out);
    assert_contains(t, "# TYPE leadflow_http_requests_total counter");
    for (const char *p = t; *p;) {
        if (*p != '#')
            fail_msg("a sample line without traffic: %s", p);
        p = strchr(p, '\n') + 1;
    }
}

static void test_render_limit(void **state)
{
    struct fix *f = *state;
    observe_sample(f->m);
    struct buf small;
    buf_init(&small, 200);
    assert_int_equal(http_metrics_render(f->m, &small), ERR_TOO_BIG);
    buf_release(&small);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest tests[] = {
    T(test_counters), T(test_histogram_lines), T(test_histogram_consistent),
    T(test_empty),    T(test_render_limit),
};

UNIT_GROUP(unit_http_metrics, "http/metrics", tests);
