/*
 * The cross-process event bus (store/bus.h) on PostgreSQL LISTEN/NOTIFY.
 *
 * One thread owns one connection (not the store's pool: a LISTENing
 * connection must stay open, and a pooled one would take notifications
 * meant for nobody). It waits on the connection's socket and an eventfd:
 * the socket brings other processes' notifications, the eventfd says events
 * were queued here. Queued events go out in one statement per batch,
 *   SELECT count(pg_notify('leadflow_events', p)) FROM unnest($1::text[]) p
 * which is one transaction: the parts of an event arrive together and in
 * order. A lost connection is opened again with backoff (0.1 s doubling to
 * 5 s); events queued meanwhile wait for it.
 */
#include "store/bus.h"

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"

enum {
    BUS_SENDERS = 32, /* senders whose parted events are reassembled at once */
    BUS_BATCH = 512,  /* events per statement */
    BUS_ID_MAX = 64,  /* longest workspace id or event type accepted */
    BUS_BACKOFF_MIN_MS = 100,
    BUS_BACKOFF_MAX_MS = 5000,
    BUS_CLOSE_WAIT_MS = 1000,
};
#define BUS_EVENT_MAX ((size_t)1 << 30) /* bytes of one event, or of one batch */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char channel_listen[] = "LISTEN leadflow_events";
static const char sql_notify[] =
    "SELECT count(pg_notify('leadflow_events', p)) FROM unnest($1::text[]) AS p";

struct sender {
    int pid; /* 0: free */
    uint64_t used;
    struct bus_rx rx;
};

struct bus {
    char *conninfo;
    events_sink_fn deliver;
    void *arg;
    int wake; /* eventfd */
    pthread_t thread;

    pthread_mutex_t mu; /* guards the ring, stopping and the counters */
    char *ring[BUS_MAX_PENDING];
    size_t head, count; /* the thread sends from head; publishers add after count */
    bool stopping;
    int64_t stop_by; /* mono_ms deadline for sending what is queued at close */
    bool connected;
    uint64_t sent, received, dropped;
    int64_t last_drop_log;

    /* The thread's own. */
    PGconn *db;
    struct sender senders[BUS_SENDERS];
    uint64_t tick;
};

/* ---- wire form ---- */

/* How much of t[off..len) the next part takes: at most BUS_CHUNK bytes, cut
 * before a UTF-8 continuation byte (the text of a notification must be
 * valid). Never 0 when bytes are left. */
static size_t part_len(const char *t, size_t off, size_t len)
{
    size_t cut = len - off > BUS_CHUNK ? BUS_CHUNK : len - off;
    size_t c = cut;
    while (off + c < len && c > 0 && ((unsigned char)t[off + c] & 0xC0) == 0x80)
        c--;
    return c > 0 ? c : cut;
}

size_t bus_encode(const char *workspace_id, const char *type, const char *data_json,
                  void (*fn)(void *arg, const char *payload, size_t len), void *arg)
{
    struct buf text;
    buf_init(&text, BUS_EVENT_MAX);
    buf_printf(&text, "%s\t%s\t%s", workspace_id, type, data_json);
    const char *t = text.data;
    size_t len = text.len;

    /* Count the parts first: each payload says how many there are. */
    size_t n = 0;
    for (size_t off = 0; off < len; off += part_len(t, off, len))
        n++;
    char head[32];
    struct buf p;
    buf_init(&p, BUS_CHUNK + 64);
    size_t k = 0;
    for (size_t off = 0; k < n;) {
        size_t cut = part_len(t, off, len);
        k++;
        int hn = snprintf(head, sizeof(head), "%zu/%zu\t", k, n);
        buf_reset(&p);
        buf_append(&p, head, (size_t)hn);
        buf_append(&p, t + off, cut);
        fn(arg, p.data, p.len);
        off += cut;
    }
    buf_release(&p);
    buf_release(&text);
    return n;
}

static bool plain_id(const char *s, size_t n)
{
    if (n == 0 || n >= BUS_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int rx_fail(struct bus_rx *rx)
{
    rx->len = 0;
    rx->next = 0;
    return -1;
}

int bus_rx_take(struct bus_rx *rx, const char *payload, const char **ws, const char **type,
                const char **data)
{
    char *end;
    errno = 0;
    unsigned long k = strtoul(payload, &end, 10);
    if (errno || end == payload || *end != '/')
        return rx_fail(rx);
    const char *np = end + 1;
    unsigned long n = strtoul(np, &end, 10);
    if (errno || end == np || *end != '\t' || k < 1 || k > n || n > 1024)
        return rx_fail(rx);
    const char *part = end + 1;
    if (k == 1)
        rx->len = 0;
    else if (rx->next != k)
        return rx_fail(rx);
    size_t plen = strlen(part);
    if (rx->len + plen + 1 > rx->cap) {
        rx->cap = (rx->len + plen + 1) * 2;
        rx->text = xrealloc(rx->text, rx->cap);
    }
    memcpy(rx->text + rx->len, part, plen);
    rx->len += plen;
    rx->text[rx->len] = '\0';
    if (k < n) {
        rx->next = (unsigned)k + 1;
        return 0;
    }
    rx->next = 0;
    char *t1 = strchr(rx->text, '\t');
    char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    if (!t2 || !plain_id(rx->text, (size_t)(t1 - rx->text)) ||
        !plain_id(t1 + 1, (size_t)(t2 - t1 - 1)))
        return rx_fail(rx);
    json_t *j = json_loads(t2 + 1, 0, NULL); /* an object, as every publisher writes */
    bool is_obj = json_is_object(j);
    json_decref(j);
    if (!is_obj)
        return rx_fail(rx);
    *t1 = '\0';
    *t2 = '\0';
    *ws = rx->text;
    *type = t1 + 1;
    *data = t2 + 1;
    return 1;
}

void bus_rx_release(struct bus_rx *rx)
{
    free(rx->text);
    memset(rx, 0, sizeof(*rx));
}

/* ---- the thread ---- */

/* Appends one payload to a text[] literal being built: "..." with \ and " escaped. */
static void array_add(void *arg, const char *payload, size_t len)
{
    struct buf *b = arg;
    buf_putc(b, b->len > 1 ? ',' : '{');
    buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        if (payload[i] == '"' || payload[i] == '\\')
            buf_putc(b, '\\');
        buf_putc(b, payload[i]);
    }
    buf_putc(b, '"');
}

static void bus_disconnect(struct bus *b, const char *why)
{
    if (!b->db)
        return;
    size_t len = strcspn(why, "\n");
    log_msg(LOG_WARN, "bus.disconnected",
            "lost the database connection of the live event bus (%.*s); reconnecting", (int)len,
            why);
    PQfinish(b->db);
    b->db = NULL;
    pthread_mutex_lock(&b->mu);
    b->connected = false;
    pthread_mutex_unlock(&b->mu);
}

static int bus_connect(struct bus *b, struct errinfo *e)
{
    PGconn *db = PQconnectdb(b->conninfo);
    if (PQstatus(db) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(db);
        failf(e, ERR_TEMPORARY, "cannot connect to PostgreSQL: %.*s", (int)strcspn(msg, "\n"), msg);
        PQfinish(db);
        return ERR_TEMPORARY;
    }
    PGresult *r = PQexec(db, channel_listen);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        const char *msg = PQerrorMessage(db);
        failf(e, ERR_DB, "LISTEN leadflow_events: %.*s", (int)strcspn(msg, "\n"), msg);
        PQclear(r);
        PQfinish(db);
        return ERR_DB;
    }
    PQclear(r);
    if (PQsetnonblocking(db, 0) != 0) {
        PQfinish(db);
        return failf(e, ERR_DB, "cannot set the bus connection to blocking mode");
    }
    b->db = db;
    pthread_mutex_lock(&b->mu);
    b->connected = true;
    pthread_mutex_unlock(&b->mu);
    return 0;
}

/* Sends one batch of queued events; false when the connection failed. */
static bool bus_send(struct bus *b)
{
    char *batch[BUS_BATCH];
    pthread_mutex_lock(&b->mu);
    size_t n = b->count < BUS_BATCH ? b->count : BUS_BATCH;
    for (size_t i = 0; i < n; i++)
        batch[i] = b->ring[(b->head + i) % BUS_MAX_PENDING];
    pthread_mutex_unlock(&b->mu);
    if (n == 0)
        return true;

    struct buf arr;
    buf_init(&arr, BUS_EVENT_MAX);
    for (size_t i = 0; i < n; i++) {
        char *t1 = strchr(batch[i], '\t');
        char *t2 = strchr(t1 + 1, '\t');
        *t1 = *t2 = '\0';
        bus_encode(batch[i], t1 + 1, t2 + 1, array_add, &arr);
        *t1 = *t2 = '\t';
    }
    buf_putc(&arr, '}');
    const char *vals[1] = {arr.data};
    PGresult *r = PQexecParams(b->db, sql_notify, 1, NULL, vals, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok && PQstatus(b->db) == CONNECTION_OK) {
        /* The database refused the batch itself (it never should): drop it, or it
         * would be refused forever. */
        log_msg(LOG_ERROR, "bus.refused", "the database refused %zu live events: %.*s", n,
                (int)strcspn(PQerrorMessage(b->db), "\n"), PQerrorMessage(b->db));
        ok = true;
    }
    PQclear(r);
    buf_release(&arr);
    if (!ok) {
        bus_disconnect(b, PQerrorMessage(b->db));
        return false;
    }
    pthread_mutex_lock(&b->mu);
    for (size_t i = 0; i < n; i++) {
        free(b->ring[b->head]);
        b->ring[b->head] = NULL;
        b->head = (b->head + 1) % BUS_MAX_PENDING;
    }
    b->count -= n;
    b->sent += n;
    pthread_mutex_unlock(&b->mu);
    return true;
}

static struct bus_rx *sender_rx(struct bus *b, int pid)
{
    struct sender *oldest = &b->senders[0];
    b->tick++;
    for (size_t i = 0; i < BUS_SENDERS; i++) {
        struct sender *s = &b->senders[i];
        if (s->pid == pid) {
            s->used = b->tick;
            return &s->rx;
        }
        if (s->used < oldest->used)
            oldest = s;
    }
    oldest->pid = pid;
    oldest->used = b->tick;
    oldest->rx.len = 0;
    oldest->rx.next = 0;
    return &oldest->rx;
}

static void bus_receive(struct bus *b)
{
    if (!PQconsumeInput(b->db)) {
        bus_disconnect(b, PQerrorMessage(b->db));
        return;
    }
    int self = PQbackendPID(b->db);
    PGnotify *nt;
    uint64_t got = 0;
    while ((nt = PQnotifies(b->db)) != NULL) {
        if (nt->be_pid != self && strcmp(nt->relname, "leadflow_events") == 0) {
            const char *ws, *type, *data;
            int rc = bus_rx_take(sender_rx(b, nt->be_pid), nt->extra, &ws, &type, &data);
            if (rc < 0)
                log_msg(LOG_WARN, "bus.malformed",
                        "ignored a malformed live event from database process %d", nt->be_pid);
            if (rc > 0 && b->deliver) {
                b->deliver(b->arg, ws, type, data);
                got++;
            }
        }
        PQfreemem(nt);
    }
    if (got) {
        pthread_mutex_lock(&b->mu);
        b->received += got;
        pthread_mutex_unlock(&b->mu);
    }
}

static void *bus_main(void *arg)
{
    struct bus *b = arg;
    int64_t backoff = BUS_BACKOFF_MIN_MS;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        bool stopping = b->stopping;
        size_t queued = b->count;
        int64_t stop_by = b->stop_by;
        pthread_mutex_unlock(&b->mu);
        if (stopping && (queued == 0 || mono_ms() >= stop_by))
            break;
        if (!b->db) {
            struct errinfo e;
            errinfo_clear(&e);
            if (bus_connect(b, &e) == 0) {
                log_msg(LOG_INFO, "bus.connected", "live events fan out through the database");
                backoff = BUS_BACKOFF_MIN_MS;
                continue;
            }
            if (stopping)
                break;
            struct pollfd w = {.fd = b->wake, .events = POLLIN};
            poll(&w, 1, (int)backoff);
            backoff = backoff * 2 > BUS_BACKOFF_MAX_MS ? BUS_BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        if (queued > 0) {
            if (bus_send(b))
                bus_receive(b); /* what arrived during the round trip */
            continue;
        }
        struct pollfd fds[2] = {
            {.fd = PQsocket(b->db), .events = POLLIN},
            {.fd = b->wake, .events = POLLIN},
        };
        if (poll(fds, 2, 1000) < 0 && errno != EINTR)
            break;
        if (fds[1].revents & POLLIN) {
            uint64_t v;
            if (read(b->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
                break;
        }
        if (fds[0].revents & (POLLIN | POLLERR | POLLHUP))
            bus_receive(b);
    }
    return NULL;
}

/* ---- the interface ---- */

struct bus *bus_open(const char *db_url, events_sink_fn deliver, void *arg, struct errinfo *e)
{
    errinfo_clear(e);
    if (strncmp(db_url, "postgres://", 11) != 0 && strncmp(db_url, "postgresql://", 13) != 0)
        return NULL;
    struct bus *b = XNEW(struct bus);
    b->conninfo = xstrdup(db_url);
    b->deliver = deliver;
    b->arg = arg;
    pthread_mutex_init(&b->mu, NULL);
    b->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->wake < 0) {
        failf(e, ERR_IO, "eventfd: %s", strerror(errno));
        goto fail;
    }
    if (bus_connect(b, e) != 0)
        goto fail;
    if (pthread_create(&b->thread, NULL, bus_main, b) != 0) {
        failf(e, ERR_INTERNAL, "cannot start the live event bus thread");
        PQfinish(b->db);
        goto fail;
    }
    return b;
fail:
    if (b->wake >= 0)
        close(b->wake);
    pthread_mutex_destroy(&b->mu);
    free(b->conninfo);
    free(b);
    return NULL;
}

static void bus_wake(struct bus *b)
{
    uint64_t one = 1;
    ssize_t w = write(b->wake, &one, sizeof(one));
    (void)w; /* EAGAIN: the counter is already non-zero, the thread wakes anyway */
}

void bus_close(struct bus *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->stopping = true;
    b->stop_by = mono_ms() + BUS_CLOSE_WAIT_MS;
    pthread_mutex_unlock(&b->mu);
    bus_wake(b);
    pthread_join(b->thread, NULL);
    if (b->db)
        PQfinish(b->db);
    for (size_t i = 0; i < b->count; i++)
        free(b->ring[(b->head + i) % BUS_MAX_PENDING]);
    for (size_t i = 0; i < BUS_SENDERS; i++)
        bus_rx_release(&b->senders[i].rx);
    close(b->wake);
    pthread_mutex_destroy(&b->mu);
    free(b->conninfo);
    free(b);
}

void bus_publish(void *bus, const char *workspace_id, const char *type, const char *data_json)
{
    struct bus *b = bus;
    size_t wl = strlen(workspace_id), tl = strlen(type);
    if (!plain_id(workspace_id, wl) || !plain_id(type, tl))
        return;
    size_t dl = strlen(data_json);
    char *ev = xmalloc(wl + tl + dl + 3);
    memcpy(ev, workspace_id, wl);
    ev[wl] = '\t';
    memcpy(ev + wl + 1, type, tl);
    ev[wl + 1 + tl] = '\t';
    memcpy(ev + wl + tl + 2, data_json, dl + 1);

    bool log_drop = false;
    pthread_mutex_lock(&b->mu);
    if (b->count == BUS_MAX_PENDING) {
        b->dropped++;
        int64_t now = mono_ms();
        if (now - b->last_drop_log >= 10000) {
            b->last_drop_log = now;
            log_drop = true;
        }
    } else {
        b->ring[(b->head + b->count) % BUS_MAX_PENDING] = ev;
        b->count++;
        ev = NULL;
    }
    pthread_mutex_unlock(&b->mu);
    free(ev);
    if (log_drop)
        log_msg(LOG_WARN, "bus.dropped",
                "%d live events wait for the database already: newer ones are dropped",
                BUS_MAX_PENDING);
    bus_wake(b);
}

void bus_stats(struct bus *b, struct bus_stats *out)
{
    pthread_mutex_lock(&b->mu);
    out->connected = b->connected;
    out->sent = b->sent;
    out->received = b->received;
    out->dropped = b->dropped;
    pthread_mutex_unlock(&b->mu);
}
