/*
 * The WebSocket hub. One push thread owns every upgraded socket: it waits in
 * epoll on the clients and on an eventfd, which publishers and the HTTP
 * server's upgrade callback write after adding to one of two lists under a
 * mutex. An event is encoded once, into a reference-counted frame that every
 * subscriber's queue points at; a client whose unsent bytes pass the limit
 * is dropped, so a dashboard that stops reading costs at most that much.
 * Frames a client sends are read through ws/conn.h; pings go out every
 * ping_ms, and a client that sent nothing for a whole interval after a ping
 * is closed.
 */
#include "ws/hub.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "ws/conn.h"

enum {
    HUB_ID_MAX = 64,     /* a workspace or user id with its NUL (ids are 36 characters) */
    READ_CHUNK = 16384,  /* read from a client at once */
    READS_PER_WAKE = 4,  /* then the others get their turn */
    EPOLL_BATCH = 256,   /* events taken per epoll_wait */
    IOV_FRAMES = 64,     /* frames written per writev */
    LINGER_MS = 2000,    /* after our close frame is queued, how long the client has to close */
    SWEEP_MS = 250,      /* how often closing clients are looked at */
    EVENTS_MAX = 65536,  /* published and not yet sent: past it, new events are dropped */
    EVENT_BATCH = 64,    /* events sent to the clients in one pass */
    EVENT_MAX = 1 << 20, /* bytes of one encoded event */
};

/* One encoded frame, shared by every queue it is in. Touched only by the
 * push thread once published (the mutex hands it over), so refs is plain. */
struct frame {
    unsigned refs;
    size_t len;
    uint8_t data[];
};

struct client {
    struct hub *h;
    int fd;
    size_t slot; /* index in hub.clients */
    char user_id[HUB_ID_MAX];
    char (*ws)[HUB_ID_MAX]; /* subscribed workspaces */
    size_t nws;
    struct frame **q; /* a ring of frames to send */
    size_t qcap, qhead, qn;
    size_t qoff;   /* bytes of the first frame already sent */
    size_t queued; /* bytes not sent yet */
    struct ws_reader rd;
    int64_t since, last_rx;
    uint32_t events;  /* registered with epoll */
    bool closing;     /* our close frame is queued: nothing after it */
    bool lingering;   /* and sent: waiting for the client to close */
    bool peer_closed; /* the client sent a close frame */
    int64_t close_by; /* when a closing client is cut off, whatever it does */
    bool dead;
    struct client *next_dead;
};

struct hub_pending {
    struct hub *h;
    struct hub_pending *next;
    int fd;
    char *extra;
    size_t nextra;
    char user_id[HUB_ID_MAX];
    char (*ws)[HUB_ID_MAX];
    size_t nws;
};

struct event {
    struct event *next;
    char ws[HUB_ID_MAX];
    struct frame *f;
};

struct hub {
    struct hub_opts o;
    int ep, efd;
    pthread_t thread;
    pthread_mutex_t mu;
    /* under mu */
    struct event *ev_head, *ev_tail;
    size_t nev;
    struct hub_pending *adopt;
    bool stop;
    unsigned long events_dropped;
    /* any thread */
    atomic_size_t reserved; /* connected + pending: what max_clients bounds */
    atomic_size_t connected;
    /* the push thread only */
    struct client **clients;
    size_t n, cap;
    struct client *dead; /* closed this round, freed at its end */
    size_t nclosing;
    struct frame *ping, *pong_text;
    int64_t prev_ping, next_ping;
    uint8_t rbuf[READ_CHUNK];
};

/* The hub's timers (pings, closing deadlines) run on the monotonic clock:
 * they measure intervals, and must not jump with the wall clock. */
static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- frames ---------------------------------------------------------------- */

static struct frame *frame_from(const struct buf *b)
{
    struct frame *f = xmalloc(sizeof(*f) + b->len);
    f->refs = 1;
    f->len = b->len;
    memcpy(f->data, b->data, b->len);
    return f;
}

/* One frame with opcode and payload; NULL when it cannot be encoded. */
static struct frame *frame_encode(int opcode, const void *p, size_t n)
{
    struct buf b;
    buf_init(&b, n + WS_FRAME_HEADER_MAX);
    struct frame *f = ws_frame_encode(opcode, p, n, &b) == 0 ? frame_from(&b) : NULL;
    buf_release(&b);
    return f;
}

static void frame_unref(struct frame *f)
{
    if (f && --f->refs == 0)
        free(f);
}

/* ---- clients ----------------------------------------------------------------- */

static void wake(struct hub *h)
{
    uint64_t one = 1;
    ssize_t k = write(h->efd, &one, sizeof(one));
    (void)k; /* a full counter still wakes the thread */
}

static void set_events(struct hub *h, struct client *c, uint32_t events)
{
    if (c->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(h->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->events = events;
}

/* Ends a client at once: its socket is closed, its memory freed after this
 * round (epoll may still hand over an event for it). */
static void client_kill(struct hub *h, struct client *c, const char *why)
{
    if (c->dead)
        return;
    c->dead = true;
    if (c->closing)
        h->nclosing--;
    epoll_ctl(h->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    struct client *last = h->clients[--h->n];
    last->slot = c->slot;
    h->clients[c->slot] = last;
    c->next_dead = h->dead;
    h->dead = c;
    atomic_fetch_sub(&h->connected, 1);
    atomic_fetch_sub(&h->reserved, 1);
    if (why)
        log_msg(LOG_INFO, "ws.closed", "WebSocket client of user %s closed: %s", c->user_id, why);
    else
        log_msg(LOG_DEBUG, "ws.closed", "WebSocket client of user %s left", c->user_id);
}

static void client_free(struct client *c)
{
    for (size_t i = 0; i < c->qn; i++)
        frame_unref(c->q[(c->qhead + i) % c->qcap]);
    free(c->q);
    free(c->ws);
    ws_reader_release(&c->rd);
    free(c);
}

static void free_dead(struct hub *h)
{
    while (h->dead) {
        struct client *c = h->dead;
        h->dead = c->next_dead;
        client_free(c);
    }
}

/* Puts f (one more reference) at the end of c's queue; false when that
 * would pass the client's limit. */
static bool enqueue(struct hub *h, struct client *c, struct frame *f)
{
    if (c->queued + f->len > h->o.max_queue_bytes)
        return false;
    if (c->qn == c->qcap) {
        size_t cap = c->qcap ? c->qcap * 2 : 4;
        struct frame **q = xmalloc(cap * sizeof(*q));
        for (size_t i = 0; i < c->qn; i++)
            q[i] = c->q[(c->qhead + i) % c->qcap];
        free(c->q);
        c->q = q;
        c->qcap = cap;
        c->qhead = 0;
    }
    c->q[(c->qhead + c->qn++) % c->qcap] = f;
    f->refs++;
    c->queued += f->len;
    return true;
}

static void start_linger(struct hub *h, struct client *c)
{
    /* The close frame is out. Closing now, with bytes of the client unread,
     * would make the kernel answer with a reset that can destroy the close
     * frame before the client reads it: send FIN and wait for the client's
     * (until close_by). */
    shutdown(c->fd, SHUT_WR);
    c->lingering = true;
    set_events(h, c, EPOLLIN | EPOLLRDHUP);
}

/* Writes what c has queued, as far as the socket takes it. */
static void client_flush(struct hub *h, struct client *c)
{
    while (c->qn > 0) {
        struct iovec iov[IOV_FRAMES];
        int niov = 0;
        for (size_t i = 0; i < c->qn && niov < IOV_FRAMES; i++) {
            struct frame *f = c->q[(c->qhead + i) % c->qcap];
            size_t skip = i == 0 ? c->qoff : 0;
            iov[niov].iov_base = f->data + skip;
            iov[niov].iov_len = f->len - skip;
            niov++;
        }
        /* sendmsg, not writev: a client gone is EPIPE here, never a SIGPIPE. */
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
        ssize_t k = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(h, c, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
            return;
        }
        if (k < 0) {
            client_kill(h, c, NULL); /* the client is gone (reset, broken pipe) */
            return;
        }
        size_t left = (size_t)k;
        c->queued -= left;
        while (left > 0) {
            struct frame *f = c->q[c->qhead];
            size_t rest = f->len - c->qoff;
            if (left < rest) {
                c->qoff += left;
                break;
            }
            left -= rest;
            c->qoff = 0;
            c->qhead = (c->qhead + 1) % c->qcap;
            c->qn--;
            frame_unref(f);
        }
    }
    if (c->closing && !c->lingering)
        start_linger(h, c);
    else if (!c->lingering)
        set_events(h, c, EPOLLIN | EPOLLRDHUP);
}

/* Queues f for c without writing; drops c (false) when it is too far behind. */
static bool client_queue(struct hub *h, struct client *c, struct frame *f)
{
    if (c->dead || c->closing)
        return false;
    if (enqueue(h, c, f))
        return true;
    char why[96];
    snprintf(why, sizeof(why), "it stopped reading (%zu bytes waiting, the limit is %zu)",
             c->queued, h->o.max_queue_bytes);
    client_kill(h, c, why);
    return false;
}

/* Writes c's queue unless its socket is full (then epoll says when it is not). */
static void client_kick(struct hub *h, struct client *c)
{
    if (!c->dead && !(c->events & EPOLLOUT))
        client_flush(h, c);
}

/* Queues f for c and writes. */
static void client_send(struct hub *h, struct client *c, struct frame *f)
{
    if (client_queue(h, c, f))
        client_kick(h, c);
}

/* Queues our close frame (nothing more is sent after it) and flushes. */
static void client_close(struct hub *h, struct client *c, int code, const char *why)
{
    if (c->dead || c->closing)
        return;
    /* Frames not started are dropped; one half written must be finished,
     * or the close frame would land inside it. */
    size_t keep = c->qoff > 0 ? 1 : 0;
    while (c->qn > keep) {
        size_t last = (c->qhead + c->qn - 1) % c->qcap;
        c->queued -= c->q[last]->len;
        frame_unref(c->q[last]);
        c->qn--;
    }
    struct buf b;
    buf_init(&b, WS_CONTROL_MAX + WS_FRAME_HEADER_MAX);
    struct frame *f = ws_frame_encode_close(code, why, &b) == 0 ? frame_from(&b) : NULL;
    buf_release(&b);
    if (why)
        log_msg(LOG_INFO, "ws.closing", "closing a WebSocket client of user %s (%d): %s",
                c->user_id, code, why);
    if (!f || !enqueue(h, c, f)) {
        frame_unref(f);
        client_kill(h, c, NULL);
        return;
    }
    frame_unref(f); /* the queue holds it */
    c->closing = true;
    c->close_by = mono_ms() + LINGER_MS;
    h->nclosing++;
    client_flush(h, c);
}

/* Whether s is the text {"type":"ping"} (any spacing, other members allowed). */
static bool is_ping_text(const uint8_t *s, size_t n)
{
    json_error_t err;
    json_t *v = json_loadb((const char *)s, n, 0, &err);
    const char *type = json_string_value(json_object_get(v, "type"));
    bool ping = type && strcmp(type, "ping") == 0;
    json_decref(v);
    return ping;
}

/* A whole message from a client (ws_msg_fn). */
static int on_message(void *arg, const struct ws_msg *m)
{
    struct client *c = arg;
    struct hub *h = c->h;
    switch (m->opcode) {
    case WS_PING: {
        struct frame *f = frame_encode(WS_PONG, m->data, m->len);
        if (f) {
            client_send(h, c, f);
            frame_unref(f);
        }
        return 0;
    }
    case WS_CLOSE:
        c->peer_closed = true;
        return m->close_code ? m->close_code : WS_CLOSE_NORMAL; /* echo it (§5.5.1) */
    case WS_TEXT:
        if (m->len <= 256 && is_ping_text(m->data, m->len))
            client_send(h, c, h->pong_text);
        return 0; /* the dashboard has nothing else to say */
    default:
        return 0; /* a pong: that it came is what counts */
    }
}

/* What the log and the close frame say for a code the reader returned. */
static const char *close_reason(int code)
{
    switch (code) {
    case WS_CLOSE_PROTOCOL:
        return "malformed frame";
    case WS_CLOSE_TOO_BIG:
        return "message too big";
    case WS_CLOSE_UNSUPPORTED:
        return "binary data is not accepted";
    case WS_CLOSE_INVALID_PAYLOAD:
        return "text that is not UTF-8";
    default:
        return "internal error";
    }
}

static void client_read(struct hub *h, struct client *c)
{
    for (int i = 0; i < READS_PER_WAKE && !c->dead; i++) {
        ssize_t k = read(c->fd, h->rbuf, sizeof(h->rbuf));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (k <= 0) {
            client_kill(h, c, NULL);
            return;
        }
        c->last_rx = mono_ms();
        if (c->closing)
            continue; /* after our close frame, what the client says does not matter */
        int code = ws_reader_feed(&c->rd, h->rbuf, (size_t)k, on_message, c);
        if (code && !c->dead)
            client_close(h, c, code, c->peer_closed ? NULL : close_reason(code));
    }
}

/* Subscribes the client a pending reservation stands for; frees p. */
static void client_add(struct hub *h, struct hub_pending *p, int64_t now)
{
    struct client *c = XNEW(struct client);
    c->h = h;
    c->fd = p->fd;
    memcpy(c->user_id, p->user_id, sizeof(c->user_id));
    c->ws = p->ws;
    c->nws = p->nws;
    p->ws = NULL;
    c->since = c->last_rx = now;
    ws_reader_init(&c->rd, h->o.max_msg_bytes);
    int fl = fcntl(c->fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK))
        fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(h->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        log_msg(LOG_WARN, "ws.add_failed", "cannot watch a WebSocket client: %s", strerror(errno));
        close(c->fd);
        client_free(c);
        atomic_fetch_sub(&h->reserved, 1);
        free(p->extra);
        free(p);
        return;
    }
    c->events = ev.events;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->clients = xrealloc(h->clients, h->cap * sizeof(*h->clients));
    }
    c->slot = h->n;
    h->clients[h->n++] = c;
    atomic_fetch_add(&h->connected, 1);

    /* The greeting tells the dashboard what it will hear about; it is also
     * the sign that the subscription is in place. */
    struct buf b;
    buf_init(&b, 4096 + c->nws * (HUB_ID_MAX + 4));
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "type", "hello");
    jw_key(&w, "data");
    jw_obj_begin(&w);
    jw_key(&w, "workspaces");
    jw_arr_begin(&w);
    for (size_t i = 0; i < c->nws; i++)
        jw_str(&w, c->ws[i]);
    jw_arr_end(&w);
    jw_kint(&w, "pingMs", h->o.ping_ms);
    jw_obj_end(&w);
    jw_obj_end(&w);
    struct frame *hello = jw_finish(&w) == 0 ? frame_encode(WS_TEXT, b.data, b.len) : NULL;
    buf_release(&b);
    if (hello) {
        client_send(h, c, hello);
        frame_unref(hello);
    }
    if (p->nextra && !c->dead) {
        int code = ws_reader_feed(&c->rd, (const uint8_t *)p->extra, p->nextra, on_message, c);
        if (code && !c->dead)
            client_close(h, c, code, c->peer_closed ? NULL : close_reason(code));
    }
    free(p->extra);
    free(p);
}

static bool subscribed(const struct client *c, const char *ws)
{
    for (size_t i = 0; i < c->nws; i++)
        if (strcmp(c->ws[i], ws) == 0)
            return true;
    return false;
}

/*
 * Sends the events taken in one wake-up to their workspaces' clients: each
 * client gets all of its events in one write, since a write to a socket
 * costs far more than the bytes in it (the kernel's per-packet work). A
 * plain scan: tens of thousands of clients cost well under a millisecond.
 */
static void fan_out(struct hub *h, struct event *const *evs, size_t nev)
{
    for (size_t i = 0; i < h->n;) {
        struct client *c = h->clients[i];
        bool any = false;
        for (size_t k = 0; k < nev && !c->dead; k++)
            if (subscribed(c, evs[k]->ws))
                any |= client_queue(h, c, evs[k]->f);
        if (any)
            client_kick(h, c);
        if (i < h->n && h->clients[i] == c)
            i++; /* else c was dropped and the last client moved into slot i */
    }
}

/* Pings every client, and closes those that did not answer the last ping. */
static void ping_round(struct hub *h, int64_t now)
{
    for (size_t i = 0; i < h->n;) {
        struct client *c = h->clients[i];
        if (!c->closing && h->prev_ping && c->since < h->prev_ping && c->last_rx < h->prev_ping)
            client_close(h, c, WS_CLOSE_POLICY, "no answer to ping");
        else
            client_send(h, c, h->ping);
        if (i < h->n && h->clients[i] == c)
            i++;
    }
    h->prev_ping = now;
    h->next_ping = now + h->o.ping_ms;
}

/* Cuts off closing clients past their time (one that does not read its
 * close frame, or does not close after it). */
static void closing_sweep(struct hub *h, int64_t now)
{
    for (size_t i = 0; i < h->n && h->nclosing > 0;) {
        struct client *c = h->clients[i];
        if (c->closing && now >= c->close_by)
            client_kill(h, c, NULL);
        if (i < h->n && h->clients[i] == c)
            i++;
    }
}

/* Takes what other threads handed over; returns false when the hub stops. */
static bool take_inbox(struct hub *h, int64_t now)
{
    uint64_t count;
    ssize_t k = read(h->efd, &count, sizeof(count));
    (void)k;
    pthread_mutex_lock(&h->mu);
    struct hub_pending *adopt = h->adopt;
    struct event *ev = h->ev_head;
    h->adopt = NULL;
    h->ev_head = h->ev_tail = NULL;
    h->nev = 0;
    bool stop = h->stop;
    pthread_mutex_unlock(&h->mu);

    /* The list is newest first: reverse it so clients are added in order. */
    struct hub_pending *rev = NULL;
    while (adopt) {
        struct hub_pending *next = adopt->next;
        adopt->next = rev;
        rev = adopt;
        adopt = next;
    }
    while (rev) {
        struct hub_pending *next = rev->next;
        client_add(h, rev, now);
        rev = next;
    }
    while (ev) {
        struct event *batch[EVENT_BATCH];
        size_t n = 0;
        for (; ev && n < EVENT_BATCH; ev = ev->next)
            batch[n++] = ev;
        fan_out(h, batch, n);
        for (size_t i = 0; i < n; i++) {
            frame_unref(batch[i]->f);
            free(batch[i]);
        }
    }
    return !stop;
}

static void *push_main(void *arg)
{
    struct hub *h = arg;
    struct epoll_event evs[EPOLL_BATCH];
    h->next_ping = mono_ms() + h->o.ping_ms;
    bool running = true;
    while (running) {
        int64_t now = mono_ms();
        int64_t wait = h->next_ping - now;
        if (h->nclosing && wait > SWEEP_MS)
            wait = SWEEP_MS;
        int n = epoll_wait(h->ep, evs, EPOLL_BATCH, wait < 0 ? 0 : (int)wait);
        if (n < 0 && errno != EINTR) {
            log_msg(LOG_ERROR, "ws.epoll", "epoll_wait failed: %s", strerror(errno));
            usleep(10000);
        }
        now = mono_ms();
        for (int i = 0; i < n; i++) {
            struct client *c = evs[i].data.ptr;
            if (!c) {
                running = take_inbox(h, now);
                continue;
            }
            if (c->dead)
                continue;
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                client_read(h, c);
            if (!c->dead && (evs[i].events & EPOLLOUT))
                client_flush(h, c);
        }
        now = mono_ms();
        if (now >= h->next_ping)
            ping_round(h, now);
        if (h->nclosing)
            closing_sweep(h, now);
        free_dead(h);
    }
    return NULL;
}

/* ---- the interface -------------------------------------------------------------- */

struct hub *hub_new(const struct hub_opts *o, struct errinfo *e)
{
    struct hub *h = XNEW(struct hub);
    h->o = *o;
    if (!h->o.max_clients)
        h->o.max_clients = 20000;
    if (!h->o.max_queue_bytes)
        h->o.max_queue_bytes = 1 << 20;
    if (h->o.ping_ms <= 0)
        h->o.ping_ms = 30000;
    if (!h->o.max_msg_bytes)
        h->o.max_msg_bytes = WS_MSG_DEFAULT_MAX;
    static const char pong[] = "{\"type\":\"pong\"}";
    h->ping = frame_encode(WS_PING, "", 0);
    h->pong_text = frame_encode(WS_TEXT, pong, sizeof(pong) - 1);
    pthread_mutex_init(&h->mu, NULL);
    h->ep = epoll_create1(EPOLL_CLOEXEC);
    h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (h->ep < 0 || h->efd < 0 || epoll_ctl(h->ep, EPOLL_CTL_ADD, h->efd, &ev) != 0 ||
        pthread_create(&h->thread, NULL, push_main, h) != 0) {
        failf(e, ERR_IO, "cannot start the WebSocket hub: %s", strerror(errno));
        if (h->ep >= 0)
            close(h->ep);
        if (h->efd >= 0)
            close(h->efd);
        frame_unref(h->ping);
        frame_unref(h->pong_text);
        pthread_mutex_destroy(&h->mu);
        free(h);
        return NULL;
    }
    return h;
}

static void pending_free(struct hub_pending *p)
{
    free(p->ws);
    free(p->extra);
    free(p);
}

void hub_free(struct hub *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_mutex_unlock(&h->mu);
    wake(h);
    pthread_join(h->thread, NULL);

    /* Going away: a close frame to each client that has room for it. */
    struct buf b;
    buf_init(&b, 64);
    ws_frame_encode_close(WS_CLOSE_GOING_AWAY, "server stopping", &b);
    while (h->n > 0) {
        struct client *c = h->clients[h->n - 1];
        if (!c->closing && c->qoff == 0) {
            ssize_t k = send(c->fd, b.data, b.len, MSG_DONTWAIT | MSG_NOSIGNAL);
            (void)k;
        }
        client_kill(h, c, NULL);
    }
    buf_release(&b);
    free_dead(h);
    free(h->clients);
    while (h->adopt) {
        struct hub_pending *p = h->adopt;
        h->adopt = p->next;
        close(p->fd);
        pending_free(p);
    }
    while (h->ev_head) {
        struct event *ev = h->ev_head;
        h->ev_head = ev->next;
        frame_unref(ev->f);
        free(ev);
    }
    frame_unref(h->ping);
    frame_unref(h->pong_text);
    close(h->ep);
    close(h->efd);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

void hub_publish(void *hub, const char *workspace_id, const char *type, const char *data_json)
{
    struct hub *h = hub;
    if (!h || !workspace_id || !type || strlen(workspace_id) >= HUB_ID_MAX)
        return;
    struct buf b;
    buf_init(&b, EVENT_MAX);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "type", type);
    jw_kstr(&w, "workspaceId", workspace_id);
    jw_key(&w, "data");
    const char *data = data_json && *data_json ? data_json : "{}";
    jw_raw(&w, data, strlen(data));
    jw_obj_end(&w);
    struct frame *f = jw_finish(&w) == 0 ? frame_encode(WS_TEXT, b.data, b.len) : NULL;
    buf_release(&b);
    if (!f) {
        log_msg(LOG_WARN, "ws.event_too_big", "a %s event is over %d bytes; not sent", type,
                EVENT_MAX);
        return;
    }
    struct event *ev = XNEW(struct event);
    snprintf(ev->ws, sizeof(ev->ws), "%s", workspace_id);
    ev->f = f;
    pthread_mutex_lock(&h->mu);
    bool full = h->nev >= EVENTS_MAX || h->stop;
    unsigned long dropped = full ? ++h->events_dropped : 0;
    if (!full) {
        if (h->ev_tail)
            h->ev_tail->next = ev;
        else
            h->ev_head = ev;
        h->ev_tail = ev;
        h->nev++;
    }
    pthread_mutex_unlock(&h->mu);
    if (full) {
        frame_unref(f);
        free(ev);
        if ((dropped & (dropped - 1)) == 0) /* 1, 2, 4, 8...: the log is not flooded */
            log_msg(LOG_WARN, "ws.events_dropped",
                    "the WebSocket hub is behind; %lu events dropped so far", dropped);
        return;
    }
    wake(h);
}

size_t hub_clients(const struct hub *h)
{
    return h ? atomic_load(&((struct hub *)h)->connected) : 0;
}

struct hub_pending *hub_pending_new(struct hub *h, const char *user_id,
                                    const char *const *workspace_ids, size_t n, struct errinfo *e)
{
    size_t now = atomic_fetch_add(&h->reserved, 1);
    if (now >= h->o.max_clients) {
        atomic_fetch_sub(&h->reserved, 1);
        failf(e, ERR_TEMPORARY, "too many live connections (%u); try again later",
              h->o.max_clients);
        return NULL;
    }
    struct hub_pending *p = XNEW(struct hub_pending);
    p->h = h;
    p->fd = -1;
    snprintf(p->user_id, sizeof(p->user_id), "%s", user_id ? user_id : "");
    p->ws = xcalloc(n ? n : 1, sizeof(*p->ws));
    for (size_t i = 0; i < n; i++)
        if (workspace_ids[i] && strlen(workspace_ids[i]) < HUB_ID_MAX)
            memcpy(p->ws[p->nws++], workspace_ids[i], strlen(workspace_ids[i]) + 1);
    return p;
}

void hub_adopt(void *pending, int fd, const char *extra, size_t nextra)
{
    struct hub_pending *p = pending;
    struct hub *h = p->h;
    p->fd = fd;
    if (nextra) {
        p->extra = xmalloc(nextra);
        memcpy(p->extra, extra, nextra);
        p->nextra = nextra;
    }
    pthread_mutex_lock(&h->mu);
    p->next = h->adopt;
    h->adopt = p;
    pthread_mutex_unlock(&h->mu);
    wake(h);
}

void hub_pending_drop(void *pending)
{
    struct hub_pending *p = pending;
    if (!p)
        return;
    atomic_fetch_sub(&p->h->reserved, 1);
    pending_free(p);
}
