/*
 * Send-chain throughput: messages/s through send_chain_send() to a SendGrid
 * endpoint served by a minimal keep-alive HTTP receiver in this process
 * (one thread per connection, a fixed 202 reply), so that the figure is the
 * client's: JSON body, libcurl with a per-thread reused connection, status
 * and X-Message-Id handling. No database: attempts are not recorded.
 *
 * usage: send_bench [MESSAGES] [THREADS]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "mail/send.h"
#include "net/httpc.h"

static const char reply[] = "HTTP/1.1 202 Accepted\r\nX-Message-Id: bench-msg\r\n"
                            "Content-Length: 0\r\n\r\n";

/* Serves one keep-alive connection: each request (headers + Content-Length
 * bytes of body) gets the fixed reply. */
static void *serve_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static __thread char buf[1 << 16];
    size_t have = 0;
    for (;;) {
        char *end = memmem(buf, have, "\r\n\r\n", 4);
        if (!end) {
            if (have == sizeof(buf))
                break;
            ssize_t n = read(fd, buf + have, sizeof(buf) - have);
            if (n <= 0)
                break;
            have += (size_t)n;
            continue;
        }
        size_t head = (size_t)(end - buf) + 4, clen = 0;
        char *cl = memmem(buf, head, "Content-Length:", 15);
        if (!cl)
            cl = memmem(buf, head, "content-length:", 15);
        if (cl)
            clen = strtoul(cl + 15, NULL, 10);
        while (have < head + clen) {
            if (head + clen > sizeof(buf))
                goto out;
            ssize_t n = read(fd, buf + have, sizeof(buf) - have);
            if (n <= 0)
                goto out;
            have += (size_t)n;
        }
        if (write(fd, reply, sizeof(reply) - 1) != (ssize_t)(sizeof(reply) - 1))
            break;
        memmove(buf, buf + head + clen, have - head - clen);
        have -= head + clen;
    }
out:
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pthread_t t;
        pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
    return NULL;
}

struct worker {
    struct send_chain *chain;
    long n;
    long failed;
};

static void *send_loop(void *arg)
{
    struct worker *w = arg;
    struct send_msg m = {
        .from_email = "sales@acme.example",
        .from_name = "Acme Sales",
        .to_email = "ana@example.org",
        .to_name = "Ana Example",
        .subject = "Your pricing question",
        .text = "Hello Ana,\n\nhere are the prices you asked about. Reply any time.\n",
        .html = "<p>Hello Ana,</p><p>here are the <a href=\"https://acme.example/p\">prices</a> "
                "you asked about.</p>",
        .list_unsubscribe_url =
            "https://crm.acme.example/u/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        .idempotency_key = "0b4f8a62-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
        .message_id = "0b4f8a62-1c2d-4e5f-8a9b-0c1d2e3f4a5b@acme.example",
    };
    for (long i = 0; i < w->n; i++) {
        struct send_result r;
        struct errinfo e;
        if (send_chain_send(w->chain, NULL, "ws", &m, &r, NULL, &e) != 0) {
            w->failed++;
            if (w->failed == 1)
                fprintf(stderr, "send_bench: %s\n", e.msg);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long total = argc > 1 ? strtol(argv[1], NULL, 10) : 50000;
    int threads = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 2;
    if (total <= 0 || threads <= 0 || threads > 64) {
        fprintf(stderr, "usage: send_bench [MESSAGES] [THREADS 1-64]\n");
        return 2;
    }
    httpc_global_init();
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof(sa);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 128) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
        perror("send_bench: listen");
        return 1;
    }
    pthread_t acc;
    pthread_create(&acc, NULL, accept_loop, (void *)(intptr_t)lfd);

    struct config cfg;
    config_init(&cfg);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
    struct errinfo e;
    if (config_set(&cfg, "sendgrid_api_key", "SG.bench", "bench", &e) ||
        config_set(&cfg, "sendgrid_api_url", url, "bench", &e)) {
        fprintf(stderr, "send_bench: %s\n", e.msg);
        return 1;
    }
    struct send_chain *chain = send_chain_new(&cfg, &e);
    if (!chain) {
        fprintf(stderr, "send_bench: %s\n", e.msg);
        return 1;
    }
    struct worker w[64];
    pthread_t t[64];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){chain, total / threads + (i < total % threads), 0};
        pthread_create(&t[i], NULL, send_loop, &w[i]);
    }
    long failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        failed += w[i].failed;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("send chain: %ld messages, %d threads, %.2f s, %.0f messages/s, %ld failed\n", total,
           threads, s, (double)total / s, failed);
    send_chain_free(chain);
    config_release(&cfg);
    return failed ? 1 : 0;
}
