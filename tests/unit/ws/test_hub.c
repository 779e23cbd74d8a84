/*
 * Tests for src/ws/hub.c over socketpairs: the greeting, events reaching
 * the workspace's clients only, the client limit, pings both ways, a client
 * that stops reading (dropped at the queue limit while the others are
 * served), a malformed frame (1002, that client only), and going away.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "unit/unit.h"
#include "ws/hub.h"

#define WS_A "11111111-1111-4111-8111-111111111111"
#define WS_B "22222222-2222-4222-8222-222222222222"

/* One frame read from the test's end of a socketpair. */
struct rframe {
    int op;
    char data[4096];
    size_t len;
};

/* Reads exactly n bytes within ms; false on EOF or time-out. */
static bool read_n(int fd, void *p, size_t n, int ms)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, ms) <= 0)
            return false;
        ssize_t k = read(fd, (char *)p + got, n - got);
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
    return true;
}

/* The next frame within ms; op -1 on EOF or time-out. */
static struct rframe next_frame(int fd, int ms)
{
    struct rframe f = {.op = -1};
    uint8_t h[2];
    if (!read_n(fd, h, 2, ms))
        return f;
    size_t n = h[1] & 0x7f;
    if (n == 126) {
        uint8_t x[2];
        assert_true(read_n(fd, x, 2, ms));
        n = (size_t)x[0] << 8 | x[1];
    }
    assert_true(n < sizeof(f.data));
    assert_true(read_n(fd, f.data, n, ms));
    f.data[n] = '\0';
    f.len = n;
    f.op = h[0] & 0x0f;
    return f;
}

/* The next text frame, answering nothing and skipping pings. */
static struct rframe next_text(int fd, int ms)
{
    for (;;) {
        struct rframe f = next_frame(fd, ms);
        if (f.op != 0x9)
            return f;
    }
}

/* Whether fd reaches EOF (the hub closed it) within ms, reading what comes first. */
static bool closed_within(int fd, int ms)
{
    char b[4096];
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, ms) <= 0)
            return false;
        ssize_t k = read(fd, b, sizeof(b));
        if (k <= 0)
            return true;
    }
}

/* A client of workspaces subscribed through the hub; returns the test's end. */
static int connect_client(struct hub *h, const char *const *ws, size_t n, const char *extra,
                          size_t nextra)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct errinfo e;
    struct hub_pending *p = hub_pending_new(h, "user-1", ws, n, &e);
    assert_non_null(p);
    hub_adopt(p, sv[0], extra, nextra);
    struct rframe hello = next_text(sv[1], 2000);
    assert_int_equal(hello.op, 0x1);
    assert_contains(hello.data, "\"type\":\"hello\"");
    return sv[1];
}

/* Sends a masked client frame. */
static void send_frame(int fd, int b0, const char *p, size_t n, bool mask)
{
    uint8_t f[256];
    assert_true(n < 126);
    size_t k = 0;
    f[k++] = (uint8_t)b0;
    f[k++] = (uint8_t)((mask ? 0x80 : 0) | n);
    if (mask) {
        memcpy(f + k, "\x01\x02\x03\x04", 4);
        k += 4;
    }
    for (size_t i = 0; i < n; i++)
        f[k++] = mask ? (uint8_t)(p[i] ^ "\x01\x02\x03\x04"[i % 4]) : (uint8_t)p[i];
    assert_int_equal(write(fd, f, k), (ssize_t)k);
}

static void wait_clients(struct hub *h, size_t n)
{
    for (int i = 0; i < 400 && hub_clients(h) != n; i++)
        usleep(5000);
    assert_int_equal(hub_clients(h), n);
}

static void test_greeting_and_events(void **state)
{
    struct errinfo e;
    struct hub_opts o = {0};
    struct hub *h = hub_new(&o, &e);
    assert_non_null(h);
    const char *a[] = {WS_A}, *b[] = {WS_B}, *ab[] = {WS_A, WS_B};
    int ca = connect_client(h, a, 1, NULL, 0);
    int cb = connect_client(h, b, 1, NULL, 0);
    int cab = connect_client(h, ab, 2, NULL, 0);
    assert_int_equal(hub_clients(h), 3);

    hub_publish(h, WS_A, "hot_lead", "{\"contactId\":\"c1\",\"score\":91}");
    hub_publish(h, WS_B, "draft_ready", NULL);
    struct rframe f = next_text(ca, 2000);
    assert_string_equal(f.data, "{\"type\":\"hot_lead\",\"workspaceId\":\"" WS_A
                                "\",\"data\":{\"contactId\":\"c1\",\"score\":91}}");
    f = next_text(cab, 2000);
    assert_contains(f.data, "hot_lead");
    f = next_text(cab, 2000);
    assert_string_equal(f.data,
                        "{\"type\":\"draft_ready\",\"workspaceId\":\"" WS_B "\",\"data\":{}}");
    f = next_text(cb, 2000);
    assert_contains(f.data, "draft_ready"); /* and not the hot_lead before it */
    hub_publish(h, "33333333-3333-4333-8333-333333333333", "hot_lead", "{}");
    hub_publish(h, WS_A, "email_processed", "{\"count\":1}");
    f = next_text(ca, 2000);
    assert_contains(f.data, "email_processed"); /* workspace 3's event went nowhere */

    hub_free(h);
    close(ca);
    close(cb);
    close(cab);
}

static void test_client_limit(void **state)
{
    struct errinfo e;
    struct hub_opts o = {.max_clients = 2};
    struct hub *h = hub_new(&o, &e);
    const char *a[] = {WS_A};
    int c1 = connect_client(h, a, 1, NULL, 0);
    struct hub_pending *p = hub_pending_new(h, "u", a, 1, &e);
    assert_non_null(p);
    assert_null(hub_pending_new(h, "u", a, 1, &e)); /* a reservation counts */
    assert_int_equal(e.code, ERR_TEMPORARY);
    hub_pending_drop(p);
    int c2 = connect_client(h, a, 1, NULL, 0);
    assert_null(hub_pending_new(h, "u", a, 1, &e));
    close(c2); /* a client that leaves frees its place */
    wait_clients(h, 1);
    p = hub_pending_new(h, "u", a, 1, &e);
    assert_non_null(p);
    hub_pending_drop(p);
    hub_free(h);
    close(c1);
}

static void test_pings(void **state)
{
    struct errinfo e;
    /* An interval long enough that the answering client, scheduled late on
     * a loaded machine, still answers within it. */
    struct hub_opts o = {.ping_ms = 300};
    struct hub *h = hub_new(&o, &e);
    const char *a[] = {WS_A};
    /* A ping already sent with the handshake is answered too. */
    int mute = connect_client(h, a, 1, "\x89\x82\0\0\0\0hi", 8);
    struct rframe f = next_frame(mute, 2000);
    assert_int_equal(f.op, 0xA);
    assert_string_equal(f.data, "hi");
    int alive = connect_client(h, a, 1, NULL, 0);
    /* The hub pings; the mute client never answers and is closed with 1008,
     * while the other one answers every ping. */
    int code = 0;
    bool gone = false;
    for (int i = 0; i < 200 && !gone; i++) {
        f = next_frame(alive, 100);
        if (f.op == 0x9)
            send_frame(alive, 0x8A, f.data, f.len, true);
        struct pollfd pfd = {mute, POLLIN, 0};
        if (poll(&pfd, 1, 0) == 1) {
            struct rframe m = next_frame(mute, 100);
            if (m.op == 0x8)
                code = (uint8_t)m.data[0] << 8 | (uint8_t)m.data[1];
            else if (m.op < 0)
                gone = true; /* end of stream after the close frame */
        }
    }
    assert_int_equal(code, 1008);
    assert_true(gone); /* the hub shut its side down and waits for ours */
    close(mute);
    for (int i = 0; i < 20 || hub_clients(h) != 1; i++) { /* a few more intervals */
        assert_true(i < 200);
        f = next_frame(alive, 100);
        if (f.op == 0x9)
            send_frame(alive, 0x8A, f.data, f.len, true);
    }
    /* The answering one is still there, and a text ping gets a text pong. */
    send_frame(alive, 0x81, "{\"type\":\"ping\"}", 15, true);
    f = next_text(alive, 2000);
    assert_string_equal(f.data, "{\"type\":\"pong\"}");
    hub_free(h);
    close(alive);
}

static void test_slow_client_is_dropped(void **state)
{
    struct errinfo e;
    struct hub_opts o = {.max_queue_bytes = 8192};
    struct hub *h = hub_new(&o, &e);
    const char *a[] = {WS_A};
    int slow = connect_client(h, a, 1, NULL, 0);
    int good = connect_client(h, a, 1, NULL, 0);
    int sz = 4096;
    setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    char data[512];
    snprintf(data, sizeof(data), "{\"pad\":\"%0400d\"}", 0);
    /* The good client reads as it goes; the slow one never does. */
    int got = 0;
    for (int i = 0; i < 2000 && hub_clients(h) == 2; i++) {
        hub_publish(h, WS_A, "email_processed", data);
        struct rframe f = next_text(good, 2000);
        assert_int_equal(f.op, 0x1);
        got++;
    }
    assert_int_equal(hub_clients(h), 1);
    assert_true(got < 2000);
    assert_true(closed_within(slow, 2000));
    hub_publish(h, WS_A, "hot_lead", "{}");
    struct rframe f = next_text(good, 2000);
    assert_contains(f.data, "hot_lead");
    hub_free(h);
    close(slow);
    close(good);
}

static void test_malformed_frame_closes_one_client(void **state)
{
    struct errinfo e;
    struct hub_opts o = {0};
    struct hub *h = hub_new(&o, &e);
    const char *a[] = {WS_A};
    int bad = connect_client(h, a, 1, NULL, 0);
    int good = connect_client(h, a, 1, NULL, 0);
    send_frame(bad, 0x81, "x", 1, false); /* unmasked */
    struct rframe f = next_frame(bad, 2000);
    assert_int_equal(f.op, 0x8);
    assert_int_equal((uint8_t)f.data[0] << 8 | (uint8_t)f.data[1], 1002);
    assert_true(closed_within(bad, 3000));
    wait_clients(h, 1);
    hub_publish(h, WS_A, "hot_lead", "{}");
    f = next_text(good, 2000);
    assert_contains(f.data, "hot_lead");
    hub_free(h);
    close(bad);
    close(good);
}

static void test_going_away(void **state)
{
    struct errinfo e;
    struct hub_opts o = {0};
    struct hub *h = hub_new(&o, &e);
    const char *a[] = {WS_A};
    int c = connect_client(h, a, 1, NULL, 0);
    /* Also a client adopted but not yet served, and a reservation never used. */
    struct hub_pending *p = hub_pending_new(h, "u", a, 1, &e);
    hub_pending_drop(p);
    hub_free(h);
    struct rframe f = next_frame(c, 2000);
    assert_int_equal(f.op, 0x8);
    assert_int_equal((uint8_t)f.data[0] << 8 | (uint8_t)f.data[1], 1001);
    assert_true(closed_within(c, 2000));
    close(c);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_greeting_and_events),
    cmocka_unit_test(test_client_limit),
    cmocka_unit_test(test_pings),
    cmocka_unit_test(test_slow_client_is_dropped),
    cmocka_unit_test(test_malformed_frame_closes_one_client),
    cmocka_unit_test(test_going_away),
};

UNIT_GROUP(unit_ws_hub, "ws/hub", tests);
