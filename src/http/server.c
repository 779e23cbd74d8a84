/*
 * libmicrohttpd adapter. A request is handled in three kinds of calls of
 * on_request(): the first only allocates the request state (queuing a reply
 * there would lose keep-alive), the middle ones receive body data, the last
 * dispatches through the router and queues the reply. A 101 reply with an
 * upgrade (WebSocket) hands the socket to its new owner once sent.
 *
 * Slow clients: the library's own timeout (MHD_OPTION_CONNECTION_TIMEOUT)
 * only counts time without traffic, which a client sending one byte a second
 * never reaches. So each connection also carries a deadline for its request
 * head, armed when it opens and when a request ends (keep-alive), cleared by
 * the first call of on_request (the head is all in); a reaper thread shuts
 * down the socket of a connection past its deadline, and the library then
 * closes it as it would any connection its client hung up.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/crypto.h"
#include "base/log.h"
#include "base/mem.h"
#include "http/reply.h"

enum { ARENA_INLINE = 8192, FREELIST_MAX = 64, REPLY_MAX = 64 * 1024 * 1024 };
#define DRAIN_MAX ((size_t)16 * 1024 * 1024)

/*
 * One open connection, from the library's start notice to its close notice.
 * deadline is a CLOCK_MONOTONIC time in ms by which the request head must be
 * in, or 0 when none runs (a request is being served, or the connection is
 * upgraded). It is written by the connection's pool thread and by the reaper,
 * hence atomic; the list is under watch_mu, which the close notice also
 * takes, so the reaper never shuts down a descriptor the library has closed
 * (and may have reused).
 */
struct conn_watch {
    struct conn_watch *prev, *next;
    atomic_llong deadline;
    int fd;
    char ip[INET6_ADDRSTRLEN];
};

struct http_server {
    struct MHD_Daemon *d;
    struct http_server_opts o;
    int port;
    char idprefix[9];
    atomic_ullong seq;
    /* the head deadline */
    pthread_mutex_t watch_mu;
    pthread_cond_t watch_cond; /* wakes the reaper to stop */
    struct conn_watch *watched;
    bool reaper_started, stopping;
    pthread_t reaper;
    unsigned reaped;       /* closed since the last log line */
    int64_t reaped_logged; /* when that line was written (ms) */
    char reaped_ip[INET6_ADDRSTRLEN];
};

/* An upgrade on its way: from the queued 101 to the handover (or its drop). */
struct upgrade {
    struct http_upgrade u;
    bool handed; /* fn ran (or drop did, when the socket could not be taken) */
};

/* The state of one request, from its first callback to its completion. */
struct reqstate {
    struct reqstate *next_free;
    struct upgrade *upgrade; /* a queued 101; freed (or dropped) on completion */
    struct http_req req;
    struct arena arena;
    struct timespec t0;
    bool too_big;
    bool replied;   /* a reply was queued before the body was read */
    size_t dropped; /* body bytes read and dropped after the limit */
    size_t limit;   /* body limit of this request */
    /* The upload route's body on its way to a file (spool_fd >= 0). */
    int spool_fd;
    uint64_t spool_size;
    int spool_errno; /* a write failed: the rest is dropped and the reply says why */
    char spool_path[4096];
    char reqid[32];
    _Alignas(16) char arena_buf[ARENA_INLINE];
};

/* Each pool thread keeps a few request states to reuse: no malloc per request.
 * The list is freed when the thread ends (free_states_key's destructor). */
static _Thread_local struct reqstate *free_states;
static _Thread_local int nfree_states;
static pthread_key_t free_states_key;
static pthread_once_t free_states_once = PTHREAD_ONCE_INIT;

static void free_states_release(void *head)
{
    struct reqstate *s = head;
    while (s) {
        struct reqstate *next = s->next_free;
        free(s);
        s = next;
    }
    free_states = NULL;
    nfree_states = 0;
}

static void free_states_init(void)
{
    pthread_key_create(&free_states_key, free_states_release);
}

static struct reqstate *state_get(void)
{
    struct reqstate *s = free_states;
    if (s) {
        free_states = s->next_free;
        nfree_states--;
        pthread_setspecific(free_states_key, free_states);
    } else {
        s = xmalloc(sizeof(*s));
    }
    memset(s, 0, offsetof(struct reqstate, arena_buf));
    s->spool_fd = -1;
    return s;
}

static void state_put(struct reqstate *s)
{
    arena_release(&s->arena);
    buf_release(&s->req.body);
    log_set_request_id(NULL);
    if (nfree_states < FREELIST_MAX) {
        s->next_free = free_states;
        free_states = s;
        nfree_states++;
        pthread_once(&free_states_once, free_states_init);
        pthread_setspecific(free_states_key, free_states);
    } else {
        free(s);
    }
}

static void sockaddr_ip(const struct sockaddr *sa, char *out, size_t size)
{
    out[0] = '\0';
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)size);
}

static _Thread_local char client_ip[INET6_ADDRSTRLEN];

static const char *conn_lookup(void *conn, enum http_lookup kind, const char *name)
{
    if (kind == HTTP_LOOKUP_CLIENT_IP) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        sockaddr_ip(ci ? ci->client_addr : NULL, client_ip, sizeof(client_ip));
        return client_ip;
    }
    enum MHD_ValueKind k = kind == HTTP_LOOKUP_HEADER  ? MHD_HEADER_KIND
                           : kind == HTTP_LOOKUP_QUERY ? MHD_GET_ARGUMENT_KIND
                                                       : MHD_COOKIE_KIND;
    return MHD_lookup_connection_value(conn, k, name);
}

static double elapsed_s(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static struct conn_watch *conn_watch_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Arms (when > 0) or clears the head deadline of conn. */
static void conn_watch_set(struct http_server *srv, struct MHD_Connection *conn, bool arm)
{
    struct conn_watch *w = conn_watch_of(conn);
    if (w)
        atomic_store(&w->deadline, arm ? mono_ms() + srv->o.header_timeout_ms : 0);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *srv = cls;
    struct conn_watch *w = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        w = XNEW(struct conn_watch);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        w->fd = ci ? ci->connect_fd : -1;
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        sockaddr_ip(ci ? ci->client_addr : NULL, w->ip, sizeof(w->ip));
        atomic_init(&w->deadline, mono_ms() + srv->o.header_timeout_ms);
        pthread_mutex_lock(&srv->watch_mu);
        w->next = srv->watched;
        if (w->next)
            w->next->prev = w;
        srv->watched = w;
        pthread_mutex_unlock(&srv->watch_mu);
        *socket_context = w;
        return;
    }
    if (!w)
        return;
    pthread_mutex_lock(&srv->watch_mu);
    if (w->prev)
        w->prev->next = w->next;
    else
        srv->watched = w->next;
    if (w->next)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&srv->watch_mu);
    free(w);
    *socket_context = NULL;
}

/* Called with watch_mu held: one line a second at most, with the count. */
static void reaper_log(struct http_server *srv, int64_t now, bool flush)
{
    if (srv->reaped == 0 || (!flush && now - srv->reaped_logged < 1000))
        return;
    log_msg(LOG_WARN, "http.header_timeout",
            "closed %u connection(s) that sent no complete request head within %u ms "
            "(the last from %s)",
            srv->reaped, srv->o.header_timeout_ms, srv->reaped_ip);
    srv->reaped = 0;
    srv->reaped_logged = now;
}

/*
 * Shuts down the sockets of connections past their head deadline. shutdown()
 * and not close(): the descriptor stays the library's, which sees the end of
 * the stream in its own loop and closes and frees the connection there.
 */
static void *reaper_main(void *arg)
{
    struct http_server *srv = arg;
    unsigned tick = srv->o.header_timeout_ms / 4;
    tick = tick < 50 ? 50 : tick > 500 ? 500 : tick;
    pthread_mutex_lock(&srv->watch_mu);
    while (!srv->stopping) {
        int64_t now = mono_ms();
        for (struct conn_watch *w = srv->watched; w; w = w->next) {
            long long d = atomic_load(&w->deadline);
            if (d == 0 || d > now || !atomic_compare_exchange_strong(&w->deadline, &d, 0))
                continue;
            if (w->fd >= 0)
                shutdown(w->fd, SHUT_RDWR);
            srv->reaped++;
            snprintf(srv->reaped_ip, sizeof(srv->reaped_ip), "%s", w->ip);
        }
        reaper_log(srv, now, false);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)tick * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&srv->watch_cond, &srv->watch_mu, &until);
    }
    reaper_log(srv, mono_ms(), true);
    pthread_mutex_unlock(&srv->watch_mu);
    return NULL;
}

/*
 * The 101 is sent: the socket becomes its new owner's. The owner gets a
 * duplicate of it, and the library is told at once that the upgraded
 * connection is closed: that frees the library's connection (its memory and
 * its place under MHD_OPTION_CONNECTION_LIMIT, which would otherwise count
 * every WebSocket for as long as it lives) while the duplicate keeps the
 * socket open: for a plain (not TLS) upgraded connection the library only
 * close()s its descriptor, it does not shut the socket down (libmicrohttpd
 * 0.9.75; tests/api/test_ws.py would see its clients cut off otherwise).
 * The cork the library may have left on for the headers is taken off, so
 * that small frames leave at once.
 */
static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    (void)conn;
    (void)con_cls;
    struct upgrade *up = cls;
    up->handed = true;
    int fd = fcntl(sock, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        log_msg(LOG_WARN, "http.upgrade_failed", "cannot take over the upgraded socket: %s",
                strerror(errno));
        up->u.drop(up->u.arg);
    } else {
        int on = 1, off = 0;
        setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        /* extra_in lives in the library's connection: used before the close. */
        up->u.fn(up->u.arg, fd, extra_in, extra_in_size);
    }
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

static enum MHD_Result queue_reply(struct http_server *srv, struct MHD_Connection *conn,
                                   struct reqstate *st, struct http_reply *rep, int route_idx)
{
    struct MHD_Response *resp;
    uint64_t size;
    /* A path that carries a token (tracking, unsubscribe, sign-in links) is
     * logged as its route's pattern: logs never hold a usable secret. */
    const struct route *route =
        route_idx >= 0 ? router_route(srv->o.router, (size_t)route_idx) : NULL;
    const char *logged = route && (route->flags & ROUTE_SECRET) ? route->pattern : st->req.path;
    if (rep->upgrade.fn && rep->status == 101) {
        size = 0;
        st->upgrade = XNEW(struct upgrade);
        st->upgrade->u = rep->upgrade;
        memset(&rep->upgrade, 0, sizeof(rep->upgrade)); /* on_completed drops it now */
        resp = MHD_create_response_for_upgrade(on_upgrade, st->upgrade);
    } else if (rep->fd >= 0) {
        size = rep->fd_size;
        resp = MHD_create_response_from_fd64(rep->fd_size, rep->fd);
        rep->fd = -1; /* the response owns it now */
    } else {
        size_t len;
        char *body = buf_detach(&rep->body, &len);
        size = len;
        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!resp)
            free(body);
    }
    if (!resp) {
        http_reply_release(rep);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "X-Request-Id", st->reqid);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (!st->upgrade) { /* a 101 has no body to describe */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
        if (strncmp(rep->content_type, "application/json", 16) == 0)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        else if (strncmp(rep->content_type, "text/html", 9) == 0) {
            MHD_add_response_header(resp, "X-Frame-Options", "DENY");
            MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
        }
    }
    for (int i = 0; i < rep->nheaders; i++)
        MHD_add_response_header(resp, rep->headers[i].name, rep->headers[i].value);
    if (st->too_big)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result r = MHD_queue_response(conn, (unsigned)rep->status, resp);
    MHD_destroy_response(resp);
    if (r != MHD_YES) {
        log_msg(LOG_WARN, "http.reply_failed", "%s %s: the %d reply could not be queued",
                st->req.method_name, logged, rep->status);
        http_reply_release(rep);
        return r;
    }

    double secs = elapsed_s(&st->t0);
    if (srv->o.metrics)
        http_metrics_observe(srv->o.metrics, route_idx, rep->status, (int)st->req.method, secs);
    struct log_line l;
    if (log_begin(&l, rep->status >= 500 ? LOG_WARN : LOG_INFO, "http.request")) {
        log_str(&l, "method", st->req.method_name);
        log_str(&l, "path", logged);
        log_int(&l, "status", rep->status);
        log_int(&l, "bytes", (int64_t)size);
        log_int(&l, "us", (int64_t)(secs * 1e6));
        log_end(&l, "%s %s %d", st->req.method_name, logged, rep->status);
    }
    http_reply_release(rep);
    return r;
}

/* A new file for the upload's body in the upload directory (mode 0600). */
static void spool_open(struct http_server *srv, struct reqstate *st)
{
    int n = snprintf(st->spool_path, sizeof(st->spool_path), "%s/upload-XXXXXX", srv->o.upload_dir);
    if (n < 0 || (size_t)n >= sizeof(st->spool_path)) {
        st->spool_errno = ENAMETOOLONG;
        st->spool_path[0] = '\0';
        return;
    }
    st->spool_fd = mkostemp(st->spool_path, O_CLOEXEC);
    if (st->spool_fd < 0) {
        st->spool_errno = errno;
        st->spool_path[0] = '\0';
    }
}

static void spool_write(struct reqstate *st, const char *data, size_t n)
{
    if (st->spool_errno)
        return;
    while (n > 0) {
        ssize_t w = write(st->spool_fd, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            st->spool_errno = w < 0 ? errno : EIO;
            return;
        }
        data += w;
        n -= (size_t)w;
        st->spool_size += (uint64_t)w;
    }
}

/* Once the request is handled (or refused): the file goes unless the
 * handler took it. */
static void spool_release(struct reqstate *st)
{
    if (st->spool_fd >= 0)
        close(st->spool_fd);
    st->spool_fd = -1;
    if (st->spool_path[0] && !st->req.body_file_kept && unlink(st->spool_path) != 0)
        log_msg(LOG_WARN, "http.upload_unlink", "cannot remove %s: %s", st->spool_path,
                strerror(errno));
    st->spool_path[0] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *srv = cls;
    struct reqstate *st = *con_cls;
    (void)version;

    if (!st) {
        st = state_get();
        *con_cls = st;
        clock_gettime(CLOCK_MONOTONIC, &st->t0);
        arena_init(&st->arena, st->arena_buf, sizeof(st->arena_buf));
        snprintf(st->reqid, sizeof(st->reqid), "%s-%llu", srv->idprefix,
                 (unsigned long long)atomic_fetch_add(&srv->seq, 1) + 1);
        struct http_req *r = &st->req;
        r->arena = &st->arena;
        r->method_name = method;
        r->method = http_method_parse(method);
        r->path = url;
        r->request_id = st->reqid;
        r->ctx = srv->o.ctx;
        r->lookup = conn_lookup;
        r->conn = conn;
        st->limit = srv->o.max_body;
        for (const char *const *u = srv->o.upload_paths; u && *u && srv->o.max_upload; u++)
            if (strcmp(url, *u) == 0)
                st->limit = srv->o.max_upload;
        bool upload = srv->o.spool_path && strcmp(url, srv->o.spool_path) == 0;
        buf_init(&r->body, st->limit);
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        int64_t n;
        if (cl && str_to_i64(str_from(cl), 0, INT64_MAX, &n) && (uint64_t)n > st->limit)
            st->too_big = true;
        if (!st->too_big && upload && srv->o.upload_dir && r->method == HTTP_POST)
            spool_open(srv, st);
        /* A declared length over the limit is refused at once, before any
         * "100 Continue"; the connection is closed after the reply. */
        conn_watch_set(srv, conn, false); /* the head is in */
        if (!st->too_big)
            return MHD_YES;
    }

    log_set_request_id(st->reqid);
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (st->replied)
            return MHD_YES; /* the 413 is queued: drop the rest */
        if (!st->too_big && st->spool_fd >= 0 && st->spool_size + n <= st->limit) {
            spool_write(st, upload_data, n);
            return MHD_YES;
        }
        if (!st->too_big && st->spool_fd < 0 && !st->spool_errno &&
            buf_append(&st->req.body, upload_data, n) == 0)
            return MHD_YES;
        if (!st->too_big && st->spool_errno)
            return MHD_YES; /* the file could not be written: the rest is dropped */
        /* Over the limit part-way (chunked or undeclared length). The library
         * cannot send a reply before the body ends, so the rest is read and
         * dropped, up to a bound past which the connection is just closed.
         * What was kept of it goes now. */
        st->too_big = true;
        spool_release(st);
        st->dropped += n;
        return st->dropped > DRAIN_MAX ? MHD_NO : MHD_YES;
    }
    if (st->replied)
        return MHD_YES;

    struct http_reply rep;
    http_reply_init(&rep, REPLY_MAX);
    int route_idx = -1;
    if (st->too_big) {
        char msg[96];
        snprintf(msg, sizeof(msg), "request body is larger than the limit of %zu bytes", st->limit);
        reply_error(&rep, ERR_TOO_BIG, msg);
        st->replied = true;
    } else if (st->spool_errno) {
        log_msg(LOG_ERROR, "http.upload_failed", "cannot store an upload in %s: %s",
                srv->o.upload_dir, strerror(st->spool_errno));
        reply_error(&rep, ERR_IO, "the upload could not be stored on the server");
    } else {
        if (st->spool_fd >= 0) {
            close(st->spool_fd);
            st->spool_fd = -1;
            st->req.body_file = st->spool_path;
            st->req.body_file_size = st->spool_size;
        }
        route_idx = router_dispatch(srv->o.router, &st->req, &rep);
    }
    spool_release(st); /* before the reply: nothing is left once the client has it */
    return queue_reply(srv, conn, st, &rep, route_idx);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct reqstate *st = *con_cls;
    if (!st)
        return;
    /* Kept alive: the next head has its own deadline (an upgraded socket
     * belongs to its new owner and has none). */
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && !st->upgrade)
        conn_watch_set(srv, conn, true);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && toe != MHD_REQUEST_TERMINATED_CLIENT_ABORT)
        log_msg(LOG_DEBUG, "http.terminated", "request ended early (reason %d)", (int)toe);
    if (st->upgrade) {
        if (!st->upgrade->handed) /* the client left before the 101 was sent */
            st->upgrade->u.drop(st->upgrade->u.arg);
        free(st->upgrade);
    }
    spool_release(st);
    state_put(st);
    *con_cls = NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Percent-decoding of the path and query values (RFC 3986 §2.1), in place.
 * "%00" is left as it is: a decoded NUL would silently cut the path short
 * ("/healthz%00junk" would reach /healthz), while the literal text simply
 * matches no route and no file.
 */
static size_t on_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *w = s;
    for (const char *r = s; *r;) {
        int hi, lo;
        if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 && (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_msg(LOG_DEBUG, "http.server", "%s", msg);
}

/* After the daemon: frees what close notices did not (there should be none). */
static void watch_release(struct http_server *srv)
{
    while (srv->watched) {
        struct conn_watch *w = srv->watched;
        srv->watched = w->next;
        free(w);
    }
    pthread_cond_destroy(&srv->watch_cond);
    pthread_mutex_destroy(&srv->watch_mu);
}

struct http_server *http_server_start(const struct http_server_opts *o, struct errinfo *e)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, o->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)o->port);
    } else if (inet_pton(AF_INET6, o->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)o->port);
        flags |= MHD_USE_IPv6;
    } else {
        failf(e, ERR_CONFIG, "listen: \"%s\" is not a numeric IPv4 or IPv6 address", o->host);
        return NULL;
    }
    unsigned threads = o->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }

    struct http_server *srv = XNEW(struct http_server);
    srv->o = *o;
    uint8_t rnd[4];
    crypto_random(rnd, sizeof(rnd));
    crypto_hex(rnd, sizeof(rnd), srv->idprefix);
    pthread_mutex_init(&srv->watch_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->watch_cond, &ca);
    pthread_condattr_destroy(&ca);

    /* The logger comes first so that MHD reports even option errors through it. */
    srv->d = MHD_start_daemon(
        flags, (uint16_t)o->port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, srv, MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, srv, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
        o->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        srv, MHD_OPTION_END);
    if (!srv->d) {
        failf(e, ERR_IO, "cannot listen on %s:%d (address in use, or not an address of this host)",
              o->host, o->port);
        watch_release(srv);
        free(srv);
        return NULL;
    }
    int rc = pthread_create(&srv->reaper, NULL, reaper_main, srv);
    if (rc != 0) {
        failf(e, ERR_IO, "cannot start the request head deadline thread: %s", strerror(rc));
        http_server_stop(srv);
        return NULL;
    }
    srv->reaper_started = true;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : o->port;
    return srv;
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_stop(struct http_server *s)
{
    if (!s)
        return;
    if (s->reaper_started) {
        pthread_mutex_lock(&s->watch_mu);
        s->stopping = true;
        pthread_cond_signal(&s->watch_cond);
        pthread_mutex_unlock(&s->watch_mu);
        pthread_join(s->reaper, NULL);
    }
    MHD_stop_daemon(s->d); /* every close notice runs in there */
    watch_release(s);
    free(s);
}
