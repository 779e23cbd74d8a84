/*
 * WebSocket frames (RFC 6455 §5) on libwslay's frame layer. wslay parses
 * frame headers, unmasks payloads and rejects what its parser cannot accept
 * (control frames that are long or fragmented, lengths not in their
 * shortest form); the rules of §5 it leaves to its callers are checked here.
 *
 * wslay's frame context carries a 4 KiB buffer. A server with tens of
 * thousands of mostly silent dashboards should not pay that per client, so
 * the context exists only while the reader holds bytes of an unfinished
 * frame: it is made when bytes arrive and freed when everything given to it
 * has been accounted to whole frame headers and payloads.
 */
#include "ws/conn.h"

#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "base/err.h"

/* What one frame's header took on the wire (§5.2): wslay accepts only the
 * shortest length form, so the payload length decides it. */
static uint64_t header_size(uint64_t payload_len, bool masked)
{
    uint64_t n = 2;
    if (payload_len >= 65536)
        n += 8;
    else if (payload_len >= 126)
        n += 2;
    return n + (masked ? 4 : 0);
}

/* wslay asks for input: hand over what the current feed has left. */
static ssize_t reader_recv(uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    struct ws_reader *r = user;
    if (r->in_len == 0 || len == 0)
        return -1; /* wslay: "want read" */
    size_t k = len < r->in_len ? len : r->in_len;
    memcpy(buf, r->in, k);
    r->in += k;
    r->in_len -= k;
    r->held += k;
    return (ssize_t)k;
}

static ssize_t no_send(const uint8_t *data, size_t len, int flags, void *user)
{
    (void)data;
    (void)len;
    (void)flags;
    (void)user;
    return -1;
}

static int no_genmask(uint8_t *buf, size_t len, void *user)
{
    (void)buf;
    (void)len;
    (void)user;
    return -1;
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/* Close codes a peer may send (§7.4): the defined ones and 3000-4999. */
static bool close_code_valid(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}

void ws_reader_init(struct ws_reader *r, size_t max_msg)
{
    memset(r, 0, sizeof(*r));
    r->max_msg = max_msg ? max_msg : WS_MSG_DEFAULT_MAX;
    r->msg_op = -1;
    buf_init(&r->msg, r->max_msg);
}

static void drop_frames(struct ws_reader *r)
{
    if (r->frames)
        wslay_frame_context_free(r->frames);
    r->frames = NULL;
}

void ws_reader_release(struct ws_reader *r)
{
    drop_frames(r);
    buf_release(&r->msg);
}

static int stop(struct ws_reader *r, int code)
{
    r->stopped = code;
    drop_frames(r);
    buf_release(&r->msg);
    return code;
}

/* The header of a new frame has been read: the rules of §5.2-5.5. */
static int frame_begin(struct ws_reader *r, const struct wslay_frame_iocb *io)
{
    r->in_frame = true;
    r->frame_op = io->opcode;
    r->frame_fin = io->fin;
    r->frame_len = io->payload_length;
    r->frame_off = 0;
    r->held -= header_size(io->payload_length, io->mask);
    if (!io->mask || io->rsv)
        return WS_CLOSE_PROTOCOL; /* clients mask every frame; no extension was agreed */
    switch (io->opcode) {
    case WS_CONTINUATION:
        if (r->msg_op < 0)
            return WS_CLOSE_PROTOCOL;
        if (io->payload_length > r->max_msg - r->msg.len)
            return WS_CLOSE_TOO_BIG;
        return 0;
    case WS_TEXT:
        if (r->msg_op >= 0)
            return WS_CLOSE_PROTOCOL; /* a new message before the last one ended */
        if (io->payload_length > r->max_msg)
            return WS_CLOSE_TOO_BIG;
        r->msg_op = WS_TEXT;
        return 0;
    case WS_BINARY:
        return r->msg_op >= 0 ? WS_CLOSE_PROTOCOL : WS_CLOSE_UNSUPPORTED;
    case WS_CLOSE:
    case WS_PING:
    case WS_PONG:
        r->ctl_len = 0; /* wslay refused long or fragmented control frames */
        return 0;
    default:
        return WS_CLOSE_PROTOCOL;
    }
}

/* A whole control frame. */
static int control_end(struct ws_reader *r, ws_msg_fn fn, void *arg)
{
    struct ws_msg m = {r->frame_op, r->ctl, r->ctl_len, 0};
    if (r->frame_op == WS_CLOSE) {
        if (r->ctl_len == 1)
            return WS_CLOSE_PROTOCOL;
        if (r->ctl_len >= 2) {
            m.close_code = r->ctl[0] << 8 | r->ctl[1];
            if (!close_code_valid(m.close_code))
                return WS_CLOSE_PROTOCOL;
            m.data = r->ctl + 2;
            m.len = r->ctl_len - 2;
            if (!utf8_valid(m.data, m.len))
                return WS_CLOSE_INVALID_PAYLOAD;
        }
    }
    return fn(arg, &m);
}

/* The last frame of a data message. */
static int message_end(struct ws_reader *r, ws_msg_fn fn, void *arg)
{
    const uint8_t *p = (const uint8_t *)(r->msg.data ? r->msg.data : "");
    if (!utf8_valid(p, r->msg.len))
        return WS_CLOSE_INVALID_PAYLOAD;
    struct ws_msg m = {r->msg_op, p, r->msg.len, 0};
    int rc = fn(arg, &m);
    r->msg_op = -1;
    buf_release(&r->msg); /* messages from dashboards are rare: hold nothing between them */
    return rc;
}

/* k payload bytes of the current frame. */
static int frame_chunk(struct ws_reader *r, const struct wslay_frame_iocb *io, size_t k,
                       ws_msg_fn fn, void *arg)
{
    r->held -= k;
    r->frame_off += k;
    if (k > 0) {
        if (r->frame_op >= WS_CLOSE) {
            if (k > sizeof(r->ctl) - r->ctl_len)
                return WS_CLOSE_PROTOCOL; /* wslay refuses these already */
            memcpy(r->ctl + r->ctl_len, io->data, k);
            r->ctl_len += k;
        } else if (buf_append(&r->msg, io->data, k) != 0) {
            return WS_CLOSE_TOO_BIG; /* checked at the header already */
        }
    }
    if (r->frame_off < r->frame_len)
        return 0;
    r->in_frame = false;
    if (r->frame_op >= WS_CLOSE)
        return control_end(r, fn, arg);
    return r->frame_fin ? message_end(r, fn, arg) : 0;
}

int ws_reader_feed(struct ws_reader *r, const uint8_t *p, size_t n, ws_msg_fn fn, void *arg)
{
    if (r->stopped)
        return r->stopped;
    if (n == 0)
        return 0;
    if (!r->frames) {
        struct wslay_frame_callbacks cb = {no_send, reader_recv, no_genmask};
        if (wslay_frame_context_init(&r->frames, &cb, r) != 0)
            return stop(r, WS_CLOSE_INTERNAL);
    }
    r->in = p;
    r->in_len = n;
    int stalls = 0;
    for (;;) {
        struct wslay_frame_iocb io;
        memset(&io, 0, sizeof(io));
        bool first = !r->in_frame;
        ssize_t k = wslay_frame_recv(r->frames, &io);
        if (k == WSLAY_ERR_WANT_READ) {
            if (r->in_len == 0)
                break;
            if (++stalls > 2) /* input left that wslay would not take: never expected */
                return stop(r, WS_CLOSE_INTERNAL);
            continue;
        }
        stalls = 0;
        if (k < 0)
            return stop(r, k == WSLAY_ERR_PROTO ? WS_CLOSE_PROTOCOL : WS_CLOSE_INTERNAL);
        int rc = first ? frame_begin(r, &io) : 0;
        if (!rc)
            rc = frame_chunk(r, &io, (size_t)k, fn, arg);
        if (rc)
            return stop(r, rc);
    }
    r->in = NULL;
    /* Every byte given to wslay belongs to a whole header or payload chunk,
     * and no frame is half read: the context holds nothing worth keeping. */
    if (r->held == 0 && !r->in_frame)
        drop_frames(r);
    return 0;
}

/* wslay writes a frame through this: into the caller's buffer. */
static ssize_t encode_send(const uint8_t *data, size_t len, int flags, void *user)
{
    (void)flags;
    return buf_append(user, data, len) == 0 ? (ssize_t)len : -1;
}

int ws_frame_encode(int opcode, const void *payload, size_t len, struct buf *out)
{
    bool control = opcode == WS_CLOSE || opcode == WS_PING || opcode == WS_PONG;
    if (!control && opcode != WS_TEXT && opcode != WS_BINARY)
        return ERR_INVALID;
    if (control && len > WS_CONTROL_MAX)
        return ERR_INVALID;
    size_t before = out->len;
    struct wslay_frame_callbacks cb = {encode_send, NULL, NULL};
    struct wslay_frame_context *ctx;
    if (wslay_frame_context_init(&ctx, &cb, out) != 0)
        return ERR_INTERNAL;
    struct wslay_frame_iocb io = {
        .fin = 1,
        .opcode = (uint8_t)opcode,
        .payload_length = len,
        .data = payload,
        .data_length = len,
    };
    ssize_t k = wslay_frame_send(ctx, &io);
    wslay_frame_context_free(ctx);
    if (k < 0 || (size_t)k != len) {
        out->len = before; /* nothing half written */
        if (out->data)
            out->data[before] = '\0';
        return ERR_TOO_BIG;
    }
    return 0;
}

int ws_frame_encode_close(int code, const char *reason, struct buf *out)
{
    uint8_t p[WS_CONTROL_MAX];
    size_t n = reason ? strlen(reason) : 0;
    if (n > WS_CONTROL_MAX - 2)
        n = WS_CONTROL_MAX - 2;
    while (n > 0 && ((uint8_t)reason[n] & 0xC0) == 0x80)
        n--; /* not in the middle of a UTF-8 sequence */
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    if (n)
        memcpy(p + 2, reason, n);
    return ws_frame_encode(WS_CLOSE, p, n + 2, out);
}
