/*
 * libFuzzer target for the WebSocket frame reader (ws/conn.h), the path the
 * hub feeds every byte a client sends through. The first input byte picks
 * the message limit and how the rest is cut into reads; the rest is what a
 * client sent. Every message handed over must be whole, within the limit,
 * of a kind the reader promises, and (text) valid UTF-8; the reader must
 * stop for good with a close code it documents; its count of bytes held
 * inside wslay must stay within wslay's buffer; the same bytes fed at once
 * must give the same result. Then the input's tail is encoded as a server
 * frame and its header checked against RFC 6455 §5.2.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "fuzz.h"
#include "ws/conn.h"

/* Buffered bytes wslay keeps (its ibuf) plus the largest header it parsed
 * ahead of any payload. */
#define HELD_MAX (4096 + 14)

struct run {
    size_t max_msg;
    unsigned messages;
    uint64_t hash; /* of everything handed over, to compare two runs */
};

static bool utf8_ok(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
        if (c >= 0x80 && (c & 0xF8) == 0xF8)
            return false;
        if (n - i < len)
            return false;
        uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

static int on_msg(void *arg, const struct ws_msg *m)
{
    struct run *r = arg;
    r->messages++;
    FUZZ_CHECK(m->opcode == WS_TEXT || m->opcode == WS_CLOSE || m->opcode == WS_PING ||
               m->opcode == WS_PONG);
    FUZZ_CHECK(m->len == 0 || m->data != NULL);
    if (m->opcode == WS_TEXT) {
        FUZZ_CHECK(m->len <= r->max_msg);
        if (!utf8_ok(m->data, m->len))
            fuzz_fail("text message is not UTF-8", (const char *)m->data, m->len);
    } else {
        FUZZ_CHECK(m->len <= WS_CONTROL_MAX);
    }
    if (m->opcode == WS_CLOSE)
        FUZZ_CHECK(m->close_code == 0 || (m->close_code >= 1000 && m->close_code <= 4999));
    r->hash = r->hash * 1099511628211u + (uint64_t)m->opcode * 31u + m->len;
    for (size_t i = 0; i < m->len; i++)
        r->hash = (r->hash ^ m->data[i]) * 1099511628211u;
    /* Like the hub: a close ends the reading, echoing the code. */
    return m->opcode == WS_CLOSE ? (m->close_code ? m->close_code : WS_CLOSE_NORMAL) : 0;
}

static bool code_documented(int code)
{
    return code == 0 || code == WS_CLOSE_PROTOCOL || code == WS_CLOSE_UNSUPPORTED ||
           code == WS_CLOSE_INVALID_PAYLOAD || code == WS_CLOSE_TOO_BIG ||
           (code >= 1000 && code <= 4999); /* a close code the client sent, echoed */
}

/* Feeds in chunks of `step` bytes (0: all at once); returns the final code. */
static int feed(const uint8_t *p, size_t n, size_t max_msg, size_t step, struct run *r)
{
    struct ws_reader rd;
    ws_reader_init(&rd, max_msg);
    memset(r, 0, sizeof(*r));
    r->max_msg = rd.max_msg;
    int code = 0;
    size_t off = 0;
    while (off < n) {
        size_t k = step && step < n - off ? step : n - off;
        int rc = ws_reader_feed(&rd, p + off, k, on_msg, r);
        FUZZ_CHECK(code_documented(rc));
        if (code)
            FUZZ_CHECK(rc == code); /* stopped for good */
        code = rc;
        if (!code) {
            FUZZ_CHECK(rd.held <= HELD_MAX);
            FUZZ_CHECK(rd.frames != NULL || rd.held == 0);
        }
        off += k;
    }
    if (code) {
        unsigned before = r->messages;
        FUZZ_CHECK(ws_reader_feed(&rd, p, n, on_msg, r) == code);
        FUZZ_CHECK(r->messages == before);
    }
    ws_reader_release(&rd);
    return code;
}

/* Checks an encoded server frame's header against its payload. */
static void check_encoded(const uint8_t *payload, size_t n)
{
    struct buf b;
    buf_init(&b, n + WS_FRAME_HEADER_MAX);
    int rc = ws_frame_encode(WS_TEXT, payload, n, &b);
    FUZZ_CHECK(rc == 0);
    const uint8_t *f = (const uint8_t *)b.data;
    FUZZ_CHECK(f[0] == 0x81);
    FUZZ_CHECK((f[1] & 0x80) == 0); /* servers do not mask */
    size_t len = f[1] & 0x7F, hl = 2;
    if (len == 126) {
        len = (size_t)f[2] << 8 | f[3];
        hl = 4;
        FUZZ_CHECK(len >= 126);
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | f[2 + i];
        hl = 10;
        FUZZ_CHECK(len >= 65536);
    }
    FUZZ_CHECK(len == n && b.len == hl + n);
    FUZZ_CHECK(n == 0 || memcmp(f + hl, payload, n) == 0);
    buf_release(&b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[] = {0, 1, 16, 125, 126, 1000, 65535, 65536};
    static const size_t steps[] = {0, 1, 2, 3, 7, 64, 1000, 4097};
    if (size < 1)
        return 0;
    size_t max_msg = limits[data[0] & 7];
    size_t step = steps[(data[0] >> 3) & 7];
    const uint8_t *p = data + 1;
    size_t n = size - 1;

    struct run cut, whole;
    int code = feed(p, n, max_msg, step, &cut);
    int code_whole = feed(p, n, max_msg, 0, &whole);
    /* How the bytes were cut into reads changes nothing. */
    FUZZ_CHECK(code == code_whole);
    FUZZ_CHECK(cut.messages == whole.messages && cut.hash == whole.hash);

    check_encoded(p, n);
    return 0;
}
