/*
 * WebSocket fan-out bench: opens CLIENTS WebSocket connections to GET /ws
 * (one epoll loop, non-blocking sockets, at most INFLIGHT handshakes at a
 * time), waits for every greeting, then imports an mbox through
 * POST /api/emails/import (a real product path: the messages make a
 * contact hot) and measures, for each client, the time from sending the
 * import until its email_processed and hot_lead events have arrived.
 * Prints p50, p99 and max over the clients, and the server's RSS (from
 * /proc/PID/status) idle, with every client connected, and after the event.
 *
 * For scale it first measures this machine's floor in the same run: one
 * thread writing one 100-byte frame to each of CLIENTS loopback TCP sockets,
 * no hub, timed from the first write to the last (what a fan-out to CLIENTS
 * pays whatever the server does). The hot_lead p99 is also printed as a
 * ratio to that floor, with a RESULT line for bench/table.py.
 *
 * With WS_BENCH_ALERT=1 (the workspace has an in-app rule on new hot
 * leads) each client also waits for the "alert" event, timed the same way:
 * event -> last dashboard through the alert processor.
 *
 * usage: ws-bench PORT SERVER_PID SESSION_COOKIE WORKSPACE_ID API_TOKEN MBOX [CLIENTS]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    INFLIGHT = 200, /* handshakes at once: each holds an HTTP connection until upgraded */
    CBUF = 2048,    /* per client: the 101 headers, or a frame being read */
    TIMEOUT_S = 60,
};

enum state { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_READY, ST_DONE };

struct client {
    int fd;
    enum state st;
    bool upgraded; /* the 101 headers are read */
    size_t len;
    double t_processed, t_hot, t_alert; /* ms after the import was sent; 0: not yet */
    char buf[CBUF];
};

static struct client *clients;
static int nclients, port, ep;
static bool want_alert; /* WS_BENCH_ALERT=1: wait for the "alert" event too */
static char request[2048];
static size_t request_len;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void die(const char *what)
{
    fprintf(stderr, "ws-bench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void fail(const char *msg)
{
    fprintf(stderr, "ws-bench: FAIL: %s\n", msg);
    exit(1);
}

static long rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static struct sockaddr_in server_addr(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile (nearest rank) of n sorted values. */
static double pct(const double *v, int n, double p)
{
    int i = (int)(p / 100.0 * n + 0.999999) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* One thread writing one 100-byte frame to each of pairs loopback sockets,
 * no hub: milliseconds from the first write to the last. */
static double loopback_floor_ms(int pairs)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 4096) ||
        getsockname(ls, (struct sockaddr *)&a, &al))
        die("floor: listen");
    int *cl = calloc((size_t)pairs, sizeof(int)), *sv = calloc((size_t)pairs, sizeof(int));
    if (!cl || !sv)
        die("floor: out of memory");
    for (int i = 0; i < pairs; i++) {
        cl[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (cl[i] < 0 || connect(cl[i], (struct sockaddr *)&a, sizeof(a)))
            die("floor: connect");
        sv[i] = accept(ls, NULL, NULL);
        if (sv[i] < 0)
            die("floor: accept");
        setsockopt(sv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    char msg[100];
    memset(msg, 'x', sizeof(msg));
    double t0 = now_ms();
    for (int i = 0; i < pairs; i++)
        if (write(sv[i], msg, sizeof(msg)) != (ssize_t)sizeof(msg))
            die("floor: write");
    double ms = now_ms() - t0;
    for (int i = 0; i < pairs; i++) {
        close(cl[i]);
        close(sv[i]);
    }
    close(ls);
    free(cl);
    free(sv);
    return ms;
}

static void start_connect(struct client *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket (raise the open-file limit)");
    struct sockaddr_in a = server_addr();
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)
        die("connect");
    c->st = ST_CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev))
        die("epoll_ctl");
}

/* Consumes whole frames in c->buf; records the events' arrival. */
static void parse_frames(struct client *c, double t0)
{
    size_t off = 0;
    while (c->len - off >= 2) {
        const uint8_t *p = (const uint8_t *)c->buf + off;
        size_t n = p[1] & 0x7f, hl = 2;
        if (n == 126) {
            if (c->len - off < 4)
                break;
            n = (size_t)p[2] << 8 | p[3];
            hl = 4;
        } else if (n == 127) {
            fail("a frame over 64 KiB");
        }
        if (hl + n > CBUF)
            fail("a frame larger than the client buffer");
        if (c->len - off < hl + n)
            break;
        const char *payload = (const char *)p + hl;
        if ((p[0] & 0x0f) == 0x1) {
            if (c->st == ST_HANDSHAKE && memmem(payload, n, "\"type\":\"hello\"", 14))
                c->st = ST_READY;
            double t = now_ms() - t0;
            if (t0 > 0 && !c->t_processed && memmem(payload, n, "\"type\":\"email_processed\"", 24))
                c->t_processed = t;
            if (t0 > 0 && !c->t_hot && memmem(payload, n, "\"type\":\"hot_lead\"", 17))
                c->t_hot = t;
            if (t0 > 0 && !c->t_alert && memmem(payload, n, "\"type\":\"alert\"", 14))
                c->t_alert = t;
        }
        off += hl + n;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
}

/* Handles readiness of one client; returns true when it became ready or done. */
static bool on_client(struct client *c, uint32_t events, double t0)
{
    if (c->st == ST_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            errno = err;
            die("connect");
        }
        if (write(c->fd, request, request_len) != (ssize_t)request_len)
            die("write handshake");
        c->st = ST_HANDSHAKE;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        return false;
    }
    enum state before = c->st;
    for (;;) {
        ssize_t k = read(c->fd, c->buf + c->len, CBUF - c->len);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (k <= 0)
            fail("the server closed a WebSocket");
        c->len += (size_t)k;
        if (!c->upgraded) {
            char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
            if (!end)
                continue;
            if (strncmp(c->buf, "HTTP/1.1 101", 12) != 0) {
                c->buf[c->len < 200 ? c->len : 200] = '\0';
                fprintf(stderr, "ws-bench: handshake refused: %s\n", c->buf);
                exit(1);
            }
            size_t head = (size_t)(end - c->buf) + 4;
            memmove(c->buf, c->buf + head, c->len - head);
            c->len -= head;
            c->upgraded = true;
        }
        parse_frames(c, t0);
    }
    if (c->st == ST_READY && c->t_hot && c->t_processed && (!want_alert || c->t_alert)) {
        c->st = ST_DONE;
        return true;
    }
    return before == ST_HANDSHAKE && c->st == ST_READY;
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path);
    struct stat sb;
    fstat(fileno(f), &sb);
    char *p = malloc((size_t)sb.st_size + 1);
    *n = fread(p, 1, (size_t)sb.st_size, f);
    fclose(f);
    return p;
}

static void print_latency(const char *what, double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    printf("%-16s %d clients: p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (first %.2f ms)\n", what, n,
           pct(v, n, 50), pct(v, n, 99), v[n - 1], v[0]);
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: ws-bench PORT SERVER_PID SESSION_COOKIE WORKSPACE_ID API_TOKEN "
                        "MBOX [CLIENTS]\n");
        return 2;
    }
    port = atoi(argv[1]);
    int pid = atoi(argv[2]);
    const char *cookie = argv[3], *ws = argv[4], *token = argv[5];
    nclients = argc > 7 ? atoi(argv[7]) : 10000;
    const char *wa = getenv("WS_BENCH_ALERT");
    want_alert = wa && strcmp(wa, "1") == 0;
    size_t mbox_len;
    char *mbox = read_file(argv[6], &mbox_len);

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)nclients + 64) {
        fprintf(stderr, "ws-bench: the open-file limit (%llu) is too low for %d clients\n",
                (unsigned long long)rl.rlim_cur, nclients);
        return 1;
    }

    /* The floor holds two descriptors per socket; with a lower limit it is
     * measured on fewer sockets and scaled to CLIENTS. */
    int pairs = nclients;
    if ((rlim_t)pairs * 2 + 64 > rl.rlim_cur)
        pairs = (int)((rl.rlim_cur - 64) / 2);
    double floor_ms = loopback_floor_ms(pairs) * nclients / pairs;
    printf("loopback floor   one thread, one 100-byte write to each of %d TCP sockets, no hub: "
           "%.2f ms%s\n",
           nclients, floor_ms, pairs < nclients ? " (scaled from fewer sockets)" : "");
    request_len = (size_t)snprintf(request, sizeof(request),
                                   "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                   "Sec-WebSocket-Version: 13\r\nCookie: lf_session=%s\r\n\r\n",
                                   port, cookie);
    clients = calloc((size_t)nclients, sizeof(*clients));
    ep = epoll_create1(EPOLL_CLOEXEC);
    long rss_idle = rss_kb(pid);

    /* Connect, INFLIGHT handshakes at a time. */
    double t_start = now_ms();
    int started = 0, ready = 0, inflight = 0;
    struct epoll_event evs[512];
    while (ready < nclients) {
        while (started < nclients && inflight < INFLIGHT) {
            start_connect(&clients[started++]);
            inflight++;
        }
        int n = epoll_wait(ep, evs, 512, 1000);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            if (on_client(evs[i].data.ptr, evs[i].events, 0)) {
                ready++;
                inflight--;
            }
        }
        if (now_ms() - t_start > TIMEOUT_S * 1e3)
            fail("the clients did not all connect in time");
    }
    double t_conn = now_ms() - t_start;
    usleep(300000); /* let the server settle */
    long rss_conn = rss_kb(pid);
    printf("connected        %d clients in %.2f s (%.0f handshakes/s)\n", nclients, t_conn / 1e3,
           nclients / (t_conn / 1e3));

    /* The event: an import that makes a contact hot. */
    char head[1024];
    int hl = snprintf(head, sizeof(head),
                      "POST /api/emails/import?workspaceId=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                      "Authorization: Bearer %s\r\nContent-Type: application/mbox\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      ws, port, token, mbox_len);
    int hfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = server_addr();
    if (hfd < 0 || connect(hfd, (struct sockaddr *)&a, sizeof(a)))
        die("connect for the import");
    double t0 = now_ms();
    if (write(hfd, head, (size_t)hl) != hl || write(hfd, mbox, mbox_len) != (ssize_t)mbox_len)
        die("send the import");
    fcntl(hfd, F_SETFL, O_NONBLOCK);
    struct epoll_event hev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, hfd, &hev);
    double t_reply = 0;
    char reply[4096];
    size_t reply_len = 0;
    int done = 0;
    while (done < nclients) {
        int n = epoll_wait(ep, evs, 512, 1000);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct client *c = evs[i].data.ptr;
            if (!c) {
                ssize_t k = read(hfd, reply + reply_len, sizeof(reply) - 1 - reply_len);
                if (k > 0 && !t_reply)
                    t_reply = now_ms() - t0;
                if (k > 0)
                    reply_len += (size_t)k;
                if (k == 0 || (k < 0 && errno != EAGAIN)) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, hfd, NULL);
                    reply[reply_len] = '\0';
                    /* 200: imported in the request; 202: an import_emails job,
                     * whose events the clients wait for all the same. */
                    if (strncmp(reply, "HTTP/1.1 200", 12) != 0 &&
                        strncmp(reply, "HTTP/1.1 202", 12) != 0) {
                        fprintf(stderr, "ws-bench: the import failed: %.300s\n", reply);
                        return 1;
                    }
                }
                continue;
            }
            if (on_client(c, evs[i].events, t0))
                done++;
        }
        if (now_ms() - t0 > TIMEOUT_S * 1e3)
            fail("not every client got the events in time");
    }
    long rss_after = rss_kb(pid);
    close(hfd);

    double *proc = malloc(sizeof(double) * (size_t)nclients);
    double *hot = malloc(sizeof(double) * (size_t)nclients);
    double *alert = malloc(sizeof(double) * (size_t)nclients);
    for (int i = 0; i < nclients; i++) {
        proc[i] = clients[i].t_processed;
        hot[i] = clients[i].t_hot;
        alert[i] = clients[i].t_alert;
    }
    printf("import reply     %.2f ms after the request\n", t_reply);
    print_latency("email_processed", proc, nclients);
    print_latency("hot_lead", hot, nclients);
    if (want_alert)
        print_latency("alert", alert, nclients);
    printf("server RSS       idle %.1f MB, %d clients %.1f MB (%.1f KB each), after the event "
           "%.1f MB\n",
           rss_idle / 1024.0, nclients, rss_conn / 1024.0, (double)(rss_conn - rss_idle) / nclients,
           rss_after / 1024.0);
    double p99 = pct(hot, nclients, 99);
    printf("targets          hot_lead p99 < 20 ms: %s (%.2f ms); RSS < 200 MB: %s (%.1f MB)\n",
           p99 < 20 ? "met" : "NOT met", p99, rss_after < 200 * 1024 ? "met" : "NOT met",
           rss_after / 1024.0);
    if (!want_alert) {
        printf("fan-out / floor  hot_lead p99 %.2f ms / floor %.2f ms = %.2fx (goal <= 1.5x)\n",
               p99, floor_ms, p99 / floor_ms);
        printf("RESULT\tWebSocket floor, %d sockets (ms)\t%.2f\t-\tlower\n", nclients, floor_ms);
        printf("RESULT\tWebSocket hot_lead p99, %d clients (ms)\t%.2f\t-\tlower\n", nclients, p99);
        printf("RESULT\tWebSocket fan-out p99 / floor, %d clients (x)\t%.2f\t1.5\tlower\n",
               nclients, p99 / floor_ms);
    }
    for (int i = 0; i < nclients; i++)
        close(clients[i].fd);
    free(proc);
    free(hot);
    free(alert);
    free(clients);
    free(mbox);
    return 0;
}
