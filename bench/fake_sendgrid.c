/*
 * A fast SendGrid Mail Send endpoint for bench/send.sh: POST /v3/mail/send
 * on 127.0.0.1 (one thread per keep-alive connection) answers 202 with an
 * X-Message-Id at once, after checking the Authorization header, and counts
 * the requests. It prints its port on the first line of stdout; when the
 * count reaches the target it writes "count first_ns last_ns" (wall-clock
 * nanoseconds of the first and the last request) to the report file.
 *
 * usage: fake_sendgrid API-KEY TARGET REPORT-FILE
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BUF_MAX = 1 << 20 };

static const char accepted[] = "HTTP/1.1 202 Accepted\r\nX-Message-Id: fake-%ld\r\n"
                               "Content-Length: 0\r\n\r\n";
static const char refused[] = "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                              "Content-Length: 49\r\n\r\n"
                              "{\"errors\":[{\"message\":\"bad key\",\"field\":null}]}\n";

static char auth[512];
static long target;
static const char *report;
static atomic_long count;
static atomic_llong first_ns;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Counts one accepted request; the one that reaches the target writes the report. */
static long count_one(void)
{
    long long t = now_ns(), zero = 0;
    atomic_compare_exchange_strong(&first_ns, &zero, t);
    long n = atomic_fetch_add(&count, 1) + 1;
    if (n == target) {
        FILE *f = fopen(report, "w");
        if (f) {
            fprintf(f, "%ld %lld %lld\n", n, (long long)atomic_load(&first_ns), t);
            fclose(f);
        }
    }
    return n;
}

static void *serve_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(BUF_MAX);
    size_t have = 0;
    while (buf) {
        char *end = memmem(buf, have, "\r\n\r\n", 4);
        if (!end) {
            if (have == BUF_MAX)
                break;
            ssize_t n = read(fd, buf + have, BUF_MAX - have);
            if (n <= 0)
                break;
            have += (size_t)n;
            continue;
        }
        size_t head = (size_t)(end - buf) + 4, clen = 0;
        char *cl = memmem(buf, head, "\r\ncontent-length:", 17);
        if (!cl)
            cl = memmem(buf, head, "\r\nContent-Length:", 17);
        if (cl)
            clen = strtoul(cl + 17, NULL, 10);
        if (head + clen > BUF_MAX)
            break;
        while (have < head + clen) {
            ssize_t n = read(fd, buf + have, BUF_MAX - have);
            if (n <= 0)
                goto out;
            have += (size_t)n;
        }
        char out[256];
        int len;
        if (memmem(buf, head, auth, strlen(auth)) && memmem(buf, head, "POST /v3/mail/send ", 19))
            len = snprintf(out, sizeof(out), accepted, count_one());
        else
            len = snprintf(out, sizeof(out), "%s", refused);
        if (write(fd, out, (size_t)len) != len)
            break;
        memmove(buf, buf + head + clen, have - head - clen);
        have -= head + clen;
    }
out:
    free(buf);
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: fake_sendgrid API-KEY TARGET REPORT-FILE\n");
        return 2;
    }
    snprintf(auth, sizeof(auth), "Bearer %s\r\n", argv[1]);
    target = strtol(argv[2], NULL, 10);
    report = argv[3];
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof(sa);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 128) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
        perror("fake_sendgrid: listen");
        return 1;
    }
    printf("%d\n", ntohs(sa.sin_port));
    fflush(stdout);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pthread_t t;
        if (pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd) != 0) {
            close(fd);
            continue;
        }
        pthread_detach(t);
    }
}
