/*
 * The unit-test runner. Every test runs alone in a forked child (like
 * libuv's test runner): the child runs cmocka on a one-test group with the
 * test's own setup and teardown, the parent captures the child's stdout and
 * stderr through a pipe and prints one line per test, the captured output
 * only when the test failed, and last "unit: N passed, N failed".
 *
 * usage: unit-tests [FILTER]   runs the tests whose "group: test" name
 *                              contains FILTER
 *        unit-tests --list     prints the names
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit/unit.h"

static const struct unit_group *const groups[] = {
    &unit_ai_anthropic,    &unit_alerts_channel, &unit_ai_content,  &unit_ai_offline,
    &unit_ai_score,        &unit_ai_signature,   &unit_base_arena,  &unit_base_buf,
    &unit_base_clock,      &unit_base_config,    &unit_base_crypto, &unit_base_csvio,
    &unit_base_err,        &unit_base_json,      &unit_base_log,    &unit_base_str,
    &unit_http_http,       &unit_http_metrics,   &unit_http_reply,  &unit_http_router,
    &unit_http_static,     &unit_jobs_queue,     &unit_mail_inbox,  &unit_mail_mime,
    &unit_mail_reply_text, &unit_mail_track,     &unit_mail_send,   &unit_mail_breaker,
    &unit_mail_events,     &unit_mail_dkim,      &unit_store_db,    &unit_store_pg_bus,
    &unit_store_sqlite,    &unit_store_store,    &unit_store_tx,    &unit_ws_conn,
    &unit_ws_handshake,    &unit_ws_hub,         &unit_drip_drip,   &unit_drip_step,
    &unit_drip_webhook,    &unit_ai_remote,      &unit_ai_openai,   &unit_ai_model,
};

enum {
    OUTPUT_MAX = 1 << 20,   /* captured bytes kept per test */
    DEFAULT_TIMEOUT_S = 60, /* UNIT_TIMEOUT overrides */
};

struct output {
    char *p;
    size_t len, cap;
    bool truncated;
};

static void output_add(struct output *o, const char *p, size_t n)
{
    if (o->len + n > OUTPUT_MAX) {
        o->truncated = true;
        n = OUTPUT_MAX - o->len;
    }
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *q = realloc(o->p, cap);
        if (!q) {
            perror("unit-tests: realloc");
            exit(2);
        }
        o->p = q;
        o->cap = cap;
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
    o->p[o->len] = '\0';
}

/* In the child: runs the one test with cmocka and reports through resfd. */
static void run_child(const struct unit_group *g, const struct CMUnitTest *t, int outfd, int resfd)
{
    if (dup2(outfd, STDOUT_FILENO) < 0 || dup2(outfd, STDERR_FILENO) < 0)
        _exit(3);
    close(outfd);
    setvbuf(stdout, NULL, _IONBF, 0);
    setvbuf(stderr, NULL, _IONBF, 0);
    int failed = _cmocka_run_group_tests(g->name, t, 1, NULL, NULL);
    /* Only a test that came back through cmocka counts; a test that called
     * exit() itself never writes this. */
    if (failed == 0 && write(resfd, "ok", 2) != 2)
        failed = 1;
    close(resfd);
    exit(failed ? 1 : 0); /* exit, not _exit: LeakSanitizer runs at exit */
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints each captured line indented, so failures stand out from the list. */
static void print_indented(const char *p)
{
    while (*p) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        printf("    %.*s\n", n, p);
        p += n + (nl ? 1 : 0);
    }
}

/* Runs one test in a child; returns true when it passed. */
static bool run_one(const struct unit_group *g, const struct CMUnitTest *t, int timeout_s)
{
    int out[2], res[2];
    if (pipe(out) != 0 || pipe(res) != 0) {
        perror("unit-tests: pipe");
        exit(2);
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("unit-tests: fork");
        exit(2);
    }
    if (pid == 0) {
        close(out[0]);
        close(res[0]);
        run_child(g, t, out[1], res[1]);
    }
    close(out[1]);
    close(res[1]);

    struct output o = {0};
    bool timed_out = false;
    double deadline = now_s() + timeout_s;
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd pfd = {out[0], POLLIN, 0};
        int pr = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        char chunk[4096];
        ssize_t k = read(out[0], chunk, sizeof(chunk));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        output_add(&o, chunk, (size_t)k);
    }
    close(out[0]);

    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    char result[2] = {0, 0};
    bool reported = read(res[0], result, 2) == 2 && memcmp(result, "ok", 2) == 0;
    close(res[0]);

    bool passed = !timed_out && reported && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    printf("%-4s %s: %s\n", passed ? "ok" : "FAIL", g->name, t->name);
    if (!passed) {
        if (o.p)
            print_indented(o.p);
        if (o.truncated)
            printf("    [output truncated at %d bytes]\n", OUTPUT_MAX);
        if (timed_out)
            printf("    [timed out after %d s and was killed]\n", timeout_s);
        else if (WIFSIGNALED(status))
            printf("    [killed by signal %d (%s)]\n", WTERMSIG(status),
                   strsignal(WTERMSIG(status)));
        else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            printf("    [exited with status 0 without finishing the test]\n");
        else if (WIFEXITED(status))
            printf("    [exited with status %d]\n", WEXITSTATUS(status));
    }
    free(o.p);
    return passed;
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    bool list = filter && strcmp(filter, "--list") == 0;
    if (filter && (strcmp(filter, "-h") == 0 || strcmp(filter, "--help") == 0)) {
        printf("usage: %s [FILTER | --list]\n", argv[0]);
        return 0;
    }
    int timeout_s = DEFAULT_TIMEOUT_S;
    const char *t = getenv("UNIT_TIMEOUT");
    if (t && *t) {
        char *end;
        long v = strtol(t, &end, 10);
        if (*end == '\0' && v > 0 && v < 86400)
            timeout_s = (int)v;
    }
    /* As in `leadflow serve`: a write to a closed pipe is EPIPE, not death.
     * The children inherit this. */
    signal(SIGPIPE, SIG_IGN);

    int passed = 0, failed = 0;
    for (size_t gi = 0; gi < sizeof(groups) / sizeof(groups[0]); gi++) {
        const struct unit_group *g = groups[gi];
        for (size_t i = 0; i < g->n; i++) {
            const struct CMUnitTest *test = &g->tests[i];
            char name[512];
            snprintf(name, sizeof(name), "%s: %s", g->name, test->name);
            if (list) {
                printf("%s\n", name);
                continue;
            }
            if (filter && !strstr(name, filter))
                continue;
            if (run_one(g, test, timeout_s))
                passed++;
            else
                failed++;
        }
    }
    if (list)
        return 0;
    if (passed + failed == 0)
        printf("no test matches \"%s\"\n", filter ? filter : "");
    printf("unit: %d passed, %d failed\n", passed, failed);
    fflush(stdout);
    return failed || passed + failed == 0 ? 1 : 0;
}
