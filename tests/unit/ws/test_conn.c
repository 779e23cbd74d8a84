/*
 * Tests for src/ws/conn.c: the frame reader's rules of RFC 6455 §5 (masking,
 * reserved bits, opcodes, fragmentation, control frames, limits, UTF-8,
 * close payloads), input cut anywhere, and the frames the server encodes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/err.h"
#include "unit/unit.h"
#include "ws/conn.h"

enum { MAX_MSGS = 16 };

/* What the reader handed over. */
struct seen {
    int n;
    int op[MAX_MSGS];
    char data[MAX_MSGS][256];
    size_t len[MAX_MSGS];
    int close_code[MAX_MSGS];
};

static int collect(void *arg, const struct ws_msg *m)
{
    struct seen *s = arg;
    if (s->n < MAX_MSGS) {
        s->op[s->n] = m->opcode;
        s->len[s->n] = m->len;
        snprintf(s->data[s->n], sizeof(s->data[0]), "%.*s", (int)(m->len < 255 ? m->len : 255),
                 (const char *)m->data);
        s->close_code[s->n] = m->close_code;
    }
    s->n++;
    return m->opcode == WS_CLOSE ? WS_CLOSE_NORMAL : 0;
}

/* Appends one client frame (masked unless told otherwise) to out. */
static void frame(struct buf *out, int b0, const void *payload, size_t n, bool mask)
{
    uint8_t h[14];
    size_t hl = 0;
    h[hl++] = (uint8_t)b0;
    uint8_t m = mask ? 0x80 : 0;
    if (n < 126) {
        h[hl++] = m | (uint8_t)n;
    } else if (n < 65536) {
        h[hl++] = m | 126;
        h[hl++] = (uint8_t)(n >> 8);
        h[hl++] = (uint8_t)n;
    } else {
        h[hl++] = m | 127;
        for (int i = 7; i >= 0; i--)
            h[hl++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    if (mask) {
        memcpy(h + hl, key, 4);
        hl += 4;
    }
    assert_int_equal(buf_append(out, h, hl), 0);
    const uint8_t *p = payload;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = mask ? p[i] ^ key[i % 4] : p[i];
        assert_int_equal(buf_append(out, &c, 1), 0);
    }
}

#define FIN 0x80

/* Feeds all of b at once; returns the reader's answer. */
static int feed_all(struct ws_reader *r, const struct buf *b, struct seen *s)
{
    return ws_reader_feed(r, (const uint8_t *)b->data, b->len, collect, s);
}

static void test_text_message(void **state)
{
    struct ws_reader r;
    struct seen s = {0};
    struct buf b;
    buf_init(&b, 1 << 20);
    ws_reader_init(&r, 0);
    frame(&b, FIN | WS_TEXT, "{\"type\":\"ping\"}", 15, true);
    frame(&b, FIN | WS_PING, "hi", 2, true);
    frame(&b, FIN | WS_PONG, "", 0, true);
    assert_int_equal(feed_all(&r, &b, &s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.op[0], WS_TEXT);
    assert_string_equal(s.data[0], "{\"type\":\"ping\"}");
    assert_int_equal(s.op[1], WS_PING);
    assert_string_equal(s.data[1], "hi");
    assert_int_equal(s.op[2], WS_PONG);
    assert_int_equal(s.len[2], 0);
    assert_null(r.frames); /* nothing held between frames */
    ws_reader_release(&r);
    buf_release(&b);
}

static void test_byte_by_byte(void **state)
{
    struct ws_reader r;
    struct seen s = {0};
    struct buf b;
    buf_init(&b, 1 << 20);
    ws_reader_init(&r, 0);
    char big[300];
    memset(big, 'a', sizeof(big));
    frame(&b, FIN | WS_TEXT, big, sizeof(big), true); /* 16-bit length */
    size_t first = b.len;
    frame(&b, FIN | WS_TEXT, "\xc3\xa9t\xc3\xa9", 6, true);
    for (size_t i = 0; i < b.len; i++) {
        assert_int_equal(ws_reader_feed(&r, (const uint8_t *)b.data + i, 1, collect, &s), 0);
        if (i + 1 == first || i + 1 == b.len)
            assert_null(r.frames); /* between frames: nothing held */
        else
            assert_non_null(r.frames); /* inside one: the context is kept */
    }
    assert_int_equal(s.n, 2);
    assert_int_equal(s.len[0], 300);
    assert_string_equal(s.data[1], "\xc3\xa9t\xc3\xa9");
    assert_null(r.frames);
    ws_reader_release(&r);
    buf_release(&b);
}

static void test_fragments_with_a_ping_between(void **state)
{
    struct ws_reader r;
    struct seen s = {0};
    struct buf b;
    buf_init(&b, 1 << 20);
    ws_reader_init(&r, 0);
    frame(&b, WS_TEXT, "{\"type\":", 8, true);
    frame(&b, FIN | WS_PING, "x", 1, true); /* control frames may come between fragments */
    frame(&b, WS_CONTINUATION, "\"ping\"", 6, true);
    frame(&b, FIN | WS_CONTINUATION, "}", 1, true);
    assert_int_equal(feed_all(&r, &b, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.op[0], WS_PING);
    assert_int_equal(s.op[1], WS_TEXT);
    assert_string_equal(s.data[1], "{\"type\":\"ping\"}");
    ws_reader_release(&r);
    buf_release(&b);
}

/* One bad input: the close code it gets, and that nothing came through. */
static void expect_code(const struct buf *b, size_t max, int code)
{
    struct ws_reader r;
    struct seen s = {0};
    ws_reader_init(&r, max);
    assert_int_equal(feed_all(&r, b, &s), code);
    assert_int_equal(s.n, 0);
    /* Stopped for good: more input is not read. */
    assert_int_equal(ws_reader_feed(&r, (const uint8_t *)"\x81\x80\0\0\0\0", 6, collect, &s), code);
    assert_int_equal(s.n, 0);
    ws_reader_release(&r);
}

static void test_protocol_errors(void **state)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    frame(&b, FIN | WS_TEXT, "x", 1, false); /* unmasked */
    expect_code(&b, 0, WS_CLOSE_PROTOCOL);
    buf_reset(&b);
    frame(&b, FIN | 0x40 | WS_TEXT, "x", 1, true); /* RSV1 */
    expect_code(&b, 0, WS_CLOSE_PROTOCOL);
    buf_reset(&b);
    frame(&b, FIN | 0x3, "x", 1, true); /* reserved opcode */
    expect_code(&b, 0, WS_CLOSE_PROTOCOL);
    buf_reset(&b);
    frame(&b, FIN | 0xB, "x", 1, true); /* reserved control opcode */
    expect_code(&b, 0, WS_CLOSE_PROTOCOL);
    buf_reset(&b);
    frame(&b, FIN | WS_CONTINUATION, "x", 1, true); /* nothing to continue */
    expect_code(&b, 0, WS_CLOSE_PROTOCOL);
    buf_reset(&b);
    frame(&b, WS_TEXT, "a", 1, true);
    frame(&b, FIN | WS_TEXT, "b", 1, true); /* a new message inside one */
    expect_code(&b, 0, WS_CLOSE_PROTOCOL);
    buf_reset(&b);
    frame(&b, WS_PING, "x", 1, true); /* fragmented control frame */
    expect_code(&b, 0, WS_CLOSE_PROTOCOL);
    buf_reset(&b);
    char long_ping[126] = {0};
    frame(&b, FIN | WS_PING, long_ping, sizeof(long_ping), true); /* control over 125 */
    expect_code(&b, 0, WS_CLOSE_PROTOCOL);
    buf_reset(&b);
    /* A 64-bit length for a payload that fits 16 bits: not the shortest form. */
    assert_int_equal(buf_append(&b, "\x81\xff\0\0\0\0\0\0\0\x05\0\0\0\0hello", 19), 0);
    expect_code(&b, 0, WS_CLOSE_PROTOCOL);
    buf_release(&b);
}

static void test_limits(void **state)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    char x[200];
    memset(x, 'x', sizeof(x));
    /* The header decides (once a payload byte is there): a frame declared over the limit. */
    assert_int_equal(buf_append(&b, "\x81\xfe\x01\x00\0\0\0\0x", 9), 0);
    expect_code(&b, 100, WS_CLOSE_TOO_BIG);
    buf_reset(&b);
    frame(&b, FIN | WS_TEXT, x, 100, true); /* exactly the limit: fine */
    {
        struct ws_reader r;
        struct seen s = {0};
        ws_reader_init(&r, 100);
        assert_int_equal(feed_all(&r, &b, &s), 0);
        assert_int_equal(s.n, 1);
        ws_reader_release(&r);
    }
    buf_reset(&b);
    frame(&b, WS_TEXT, x, 60, true);
    frame(&b, FIN | WS_CONTINUATION, x, 60, true); /* fragments add up */
    expect_code(&b, 100, WS_CLOSE_TOO_BIG);
    buf_release(&b);
}

static void test_payload_rules(void **state)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    frame(&b, FIN | WS_BINARY, "\x01\x02", 2, true);
    expect_code(&b, 0, WS_CLOSE_UNSUPPORTED);
    static const char *const bad_utf8[] = {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                           "\xe2\x82"};
    for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
        buf_reset(&b);
        frame(&b, FIN | WS_TEXT, bad_utf8[i], strlen(bad_utf8[i]), true);
        expect_code(&b, 0, WS_CLOSE_INVALID_PAYLOAD);
    }
    buf_release(&b);
}

static void test_close_frames(void **state)
{
    struct ws_reader r;
    struct seen s = {0};
    struct buf b;
    buf_init(&b, 1 << 20);
    ws_reader_init(&r, 0);
    frame(&b, FIN | WS_CLOSE,
          "\x03\xe8"
          "bye",
          5, true);
    assert_int_equal(feed_all(&r, &b, &s), WS_CLOSE_NORMAL); /* what collect answered */
    assert_int_equal(s.n, 1);
    assert_int_equal(s.close_code[0], 1000);
    assert_string_equal(s.data[0], "bye");
    ws_reader_release(&r);

    memset(&s, 0, sizeof(s));
    ws_reader_init(&r, 0);
    buf_reset(&b);
    frame(&b, FIN | WS_CLOSE, "", 0, true); /* no code at all is allowed */
    assert_int_equal(feed_all(&r, &b, &s), WS_CLOSE_NORMAL);
    assert_int_equal(s.close_code[0], 0);
    ws_reader_release(&r);

    buf_reset(&b);
    frame(&b, FIN | WS_CLOSE, "\x03", 1, true); /* half a code */
    expect_code(&b, 0, WS_CLOSE_PROTOCOL);
    buf_reset(&b);
    frame(&b, FIN | WS_CLOSE, "\x03\xed", 2, true); /* 1005 is never sent */
    expect_code(&b, 0, WS_CLOSE_PROTOCOL);
    buf_reset(&b);
    frame(&b, FIN | WS_CLOSE, "\x03\xe8\xff", 3, true); /* reason not UTF-8 */
    expect_code(&b, 0, WS_CLOSE_INVALID_PAYLOAD);
    buf_release(&b);
}

static void test_encode(void **state)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(ws_frame_encode(WS_TEXT, "hi", 2, &b), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "\x81\x02hi", 4);
    buf_reset(&b);
    char big[70000];
    memset(big, 'z', sizeof(big));
    assert_int_equal(ws_frame_encode(WS_TEXT, big, 200, &b), 0);
    assert_int_equal(b.len, 204);
    assert_memory_equal(b.data, "\x81\x7e\x00\xc8", 4);
    buf_reset(&b);
    assert_int_equal(ws_frame_encode(WS_TEXT, big, sizeof(big), &b), 0);
    assert_int_equal(b.len, sizeof(big) + 10);
    assert_memory_equal(b.data, "\x81\x7f\0\0\0\0\0\x01\x11\x70", 10);
    buf_reset(&b);
    assert_int_equal(ws_frame_encode(WS_PING, "", 0, &b), 0);
    assert_memory_equal(b.data, "\x89\x00", 2);
    buf_reset(&b);
    assert_int_equal(ws_frame_encode(WS_PING, big, 126, &b), ERR_INVALID);
    assert_int_equal(ws_frame_encode(0x3, "x", 1, &b), ERR_INVALID);
    assert_int_equal(b.len, 0);
    /* A close reason is cut to fit, never inside a UTF-8 sequence. */
    char reason[200];
    for (size_t i = 0; i + 1 < sizeof(reason); i += 2)
        memcpy(reason + i, "\xc3\xa9", 2);
    reason[sizeof(reason) - 1] = '\0';
    assert_int_equal(ws_frame_encode_close(1009, reason, &b), 0);
    assert_int_equal((uint8_t)b.data[1], 2 + 122); /* 61 whole "é" */
    assert_memory_equal(b.data + 2, "\x03\xf1", 2);
    /* Too small a buffer: nothing is left half written. */
    struct buf small;
    buf_init(&small, 100);
    assert_int_equal(ws_frame_encode(WS_TEXT, big, 200, &small), ERR_TOO_BIG);
    assert_int_equal(small.len, 0);
    buf_release(&small);
    buf_release(&b);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_text_message),
    cmocka_unit_test(test_byte_by_byte),
    cmocka_unit_test(test_fragments_with_a_ping_between),
    cmocka_unit_test(test_protocol_errors),
    cmocka_unit_test(test_limits),
    cmocka_unit_test(test_payload_rules),
    cmocka_unit_test(test_close_frames),
    cmocka_unit_test(test_encode),
};

UNIT_GROUP(unit_ws_conn, "ws/conn", tests);
