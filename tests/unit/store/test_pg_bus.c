/*
 * Tests for src/store/pg_bus.c's wire form: an event cut into notification
 * payloads and put together again (one part, many parts, UTF-8 never split),
 * parts out of order or malformed dropped, and bus_open on SQLite (no bus,
 * no error) or an unreachable PostgreSQL (a clear error).
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/mem.h"
#include "store/bus.h"
#include "unit/unit.h"

struct parts {
    char *p[64];
    size_t n;
};

static void collect(void *arg, const char *payload, size_t len)
{
    struct parts *ps = arg;
    assert_true(ps->n < 64);
    assert_int_equal(strlen(payload), len);
    ps->p[ps->n++] = xstrdup(payload);
}

static void parts_free(struct parts *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        free(ps->p[i]);
    ps->n = 0;
}

static void test_one_part(void **state)
{
    struct parts ps = {0};
    assert_int_equal(bus_encode("ws_1", "hot_lead", "{\"a\":1}", collect, &ps), 1);
    assert_string_equal(ps.p[0], "1/1\tws_1\thot_lead\t{\"a\":1}");
    struct bus_rx rx = {0};
    const char *ws, *type, *data;
    assert_int_equal(bus_rx_take(&rx, ps.p[0], &ws, &type, &data), 1);
    assert_string_equal(ws, "ws_1");
    assert_string_equal(type, "hot_lead");
    assert_string_equal(data, "{\"a\":1}");
    bus_rx_release(&rx);
    parts_free(&ps);
}

/* A data text of n bytes: a JSON object whose string mixes ASCII and
 * multi-byte characters so that a cut at BUS_CHUNK lands inside one. */
static char *big_json(size_t n)
{
    char *s = xmalloc(n + 16);
    size_t i = 0;
    i += (size_t)sprintf(s, "{\"t\":\"");
    static const char *const pieces[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (size_t k = 0; i < n; k++) {
        const char *p = pieces[k % 4];
        memcpy(s + i, p, strlen(p));
        i += strlen(p);
    }
    memcpy(s + i, "\"}", 3);
    return s;
}

static void test_many_parts_keep_utf8(void **state)
{
    char *data = big_json(3 * BUS_CHUNK + 100);
    struct parts ps = {0};
    size_t n = bus_encode("ws_big", "alert", data, collect, &ps);
    assert_int_equal(n, 4);
    struct bus_rx rx = {0};
    const char *ws = NULL, *type = NULL, *got = NULL;
    for (size_t i = 0; i < n; i++) {
        char head[48];
        snprintf(head, sizeof(head), "%zu/%zu\t", i + 1, n);
        assert_memory_equal(ps.p[i], head, strlen(head));
        const char *body = ps.p[i] + strlen(head);
        assert_true(strlen(body) <= BUS_CHUNK);
        /* No part begins with a UTF-8 continuation byte. */
        assert_int_not_equal((unsigned char)body[0] & 0xC0, 0x80);
        int rc = bus_rx_take(&rx, ps.p[i], &ws, &type, &got);
        assert_int_equal(rc, i + 1 == n ? 1 : 0);
    }
    assert_string_equal(ws, "ws_big");
    assert_string_equal(type, "alert");
    assert_string_equal(got, data);
    bus_rx_release(&rx);
    parts_free(&ps);
    free(data);
}

static void test_out_of_order_dropped(void **state)
{
    char *data = big_json(2 * BUS_CHUNK);
    struct parts ps = {0};
    size_t n = bus_encode("w", "alert", data, collect, &ps);
    assert_int_equal(n, 3);
    struct bus_rx rx = {0};
    const char *ws, *type, *got;
    assert_int_equal(bus_rx_take(&rx, ps.p[0], &ws, &type, &got), 0);
    assert_int_equal(bus_rx_take(&rx, ps.p[2], &ws, &type, &got), -1); /* 2 was lost */
    /* A part 2 with nothing started is refused too; a new event starts cleanly. */
    assert_int_equal(bus_rx_take(&rx, ps.p[1], &ws, &type, &got), -1);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(bus_rx_take(&rx, ps.p[i], &ws, &type, &got), i + 1 == n ? 1 : 0);
    assert_string_equal(got, data);
    bus_rx_release(&rx);
    parts_free(&ps);
    free(data);
}

static void test_malformed_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "1/1",
        "x/1\tw\tt\t{}",
        "0/1\tw\tt\t{}",
        "2/1\tw\tt\t{}",
        "1/1\tw\tt",            /* no data */
        "1/1\tw\tt\t[1]",       /* data not an object */
        "1/1\tw\tt\t{",         /* not JSON */
        "1/1\tw x\tt\t{}",      /* workspace id not plain */
        "1/1\t\tt\t{}",         /* empty workspace */
        "1/1\tw\t<script>\t{}", /* type not plain */
        "1/99999\tw\tt\t{}",    /* absurd part count */
        "-1/1\tw\tt\t{}",
    };
    struct bus_rx rx = {0};
    const char *ws, *type, *data;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(bus_rx_take(&rx, bad[i], &ws, &type, &data), -1);
    assert_int_equal(bus_rx_take(&rx, "1/1\tw\tt\t{}", &ws, &type, &data), 1);
    bus_rx_release(&rx);
}

static void test_open(void **state)
{
    struct errinfo e;
    assert_null(bus_open("sqlite:/tmp/x.db", NULL, NULL, &e));
    assert_int_equal(e.code, 0);
    assert_null(bus_open("postgres:///db?host=/nonexistent-leadflow-dir", NULL, NULL, &e));
    assert_int_equal(e.code, ERR_TEMPORARY);
    assert_contains(e.msg, "PostgreSQL");
    bus_close(NULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_one_part),
    cmocka_unit_test(test_many_parts_keep_utf8),
    cmocka_unit_test(test_out_of_order_dropped),
    cmocka_unit_test(test_malformed_refused),
    cmocka_unit_test(test_open),
};

UNIT_GROUP(unit_store_pg_bus, "store/pg_bus", tests);
