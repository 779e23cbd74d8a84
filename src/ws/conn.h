/*
 * The framing of one WebSocket connection (RFC 6455 §5), over libwslay's
 * frame layer. A ws_reader cuts what a client sends into frames, checks
 * them (masked, no reserved bits, known opcodes, control frames whole and
 * at most 125 bytes, continuations in order, messages within a limit, text
 * and close reasons in UTF-8) and hands over whole messages.
 * ws_frame_encode() makes one unmasked server frame, so that an event is
 * encoded once for every client it goes to. src/ws/conn.c is the only file
 * that includes wslay.
 */
#ifndef LEADFLOW_WS_CONN_H
#define LEADFLOW_WS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

enum ws_opcode {
    WS_CONTINUATION = 0x0,
    WS_TEXT = 0x1,
    WS_BINARY = 0x2,
    WS_CLOSE = 0x8,
    WS_PING = 0x9,
    WS_PONG = 0xA,
};

/* Close codes (RFC 6455 §7.4.1) this server sends. */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,      /* the server stops */
    WS_CLOSE_PROTOCOL = 1002,        /* a malformed frame */
    WS_CLOSE_UNSUPPORTED = 1003,     /* binary data: the dashboard protocol is text */
    WS_CLOSE_INVALID_PAYLOAD = 1007, /* text or a close reason that is not UTF-8 */
    WS_CLOSE_POLICY = 1008,          /* a client that does not answer pings */
    WS_CLOSE_TOO_BIG = 1009,         /* a message over the limit */
    WS_CLOSE_INTERNAL = 1011,
};

enum {
    WS_CONTROL_MAX = 125,       /* payload of a ping, pong or close frame */
    WS_FRAME_HEADER_MAX = 10,   /* of an unmasked (server) frame */
    WS_MSG_DEFAULT_MAX = 65536, /* incoming message limit when none is given */
};

/* A whole message from the client. */
struct ws_msg {
    int opcode;          /* WS_TEXT, WS_CLOSE, WS_PING or WS_PONG */
    const uint8_t *data; /* the payload (of a close: its reason); valid during the call */
    size_t len;
    int close_code; /* WS_CLOSE: the code the client sent, 0 when it sent none */
};

/*
 * Called for each whole message. Returns 0 to go on, or a close code to
 * stop reading (the caller then closes with that code).
 */
typedef int (*ws_msg_fn)(void *arg, const struct ws_msg *m);

/* One client's incoming side. The fields are private to conn.c. */
struct ws_reader {
    struct wslay_frame_context *frames; /* only while bytes of a frame are held */
    size_t max_msg;
    const uint8_t *in; /* the bytes of the current ws_reader_feed() call */
    size_t in_len;
    uint64_t held;    /* bytes given to wslay and not yet part of a whole frame header or payload */
    bool in_frame;    /* a frame's header has been read */
    uint8_t frame_op; /* ...its opcode, fin bit and payload length */
    bool frame_fin;
    uint64_t frame_len, frame_off;
    int msg_op;     /* the data message being assembled (WS_TEXT), or -1 */
    struct buf msg; /* its payload so far */
    uint8_t ctl[WS_CONTROL_MAX];
    size_t ctl_len;
    int stopped; /* the close code once reading has stopped, else 0 */
};

/* max_msg: the largest message accepted (0: WS_MSG_DEFAULT_MAX). */
void ws_reader_init(struct ws_reader *r, size_t max_msg);
void ws_reader_release(struct ws_reader *r);

/*
 * Feeds n bytes the client sent; calls fn for every message they complete.
 * Returns 0, or the close code to close the connection with: 1002 for a
 * malformed frame, 1003 for binary data, 1007 for text that is not UTF-8,
 * 1009 for a message over the limit (known from the frame's header, as soon
 * as the first byte of its payload arrives), or what fn returned. After a non-zero return the
 * reader takes no more input (it returns the same code again). Between
 * frames the reader holds no buffer: an idle client costs a few words.
 */
int ws_reader_feed(struct ws_reader *r, const uint8_t *p, size_t n, ws_msg_fn fn, void *arg);

/*
 * Appends one whole unmasked frame (a server's, §5.1) to out. Returns 0,
 * ERR_INVALID for a control frame over WS_CONTROL_MAX bytes or an unknown
 * opcode, or ERR_TOO_BIG when out's limit is reached.
 */
int ws_frame_encode(int opcode, const void *payload, size_t len, struct buf *out);

/* Appends a close frame with code and a short reason (cut to fit). */
int ws_frame_encode_close(int code, const char *reason, struct buf *out);

#endif
