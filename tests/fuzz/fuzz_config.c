/*
 * libFuzzer target for configuration (base/config.h). The input is read
 * three ways, each on a fresh struct config finished with config_finish():
 * its lines as key=value through config_set(), the whole input as an INI
 * file through config_load_file() (a memfd), and its lines as the
 * environment through config_load_env(). Nothing may crash or leak, an error
 * must say what went wrong, and a secret value must never be echoed.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/config.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "fuzz.h"

enum { MAX_LINES = 64 };

static int ini_fd = -1;
static char ini_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    FUZZ_CHECK(devnull >= 0);
    log_set_fd(devnull);
    ini_fd = memfd_create("fuzz-config.ini", MFD_CLOEXEC);
    FUZZ_CHECK(ini_fd >= 0);
    snprintf(ini_path, sizeof(ini_path), "/proc/self/fd/%d", ini_fd);
    return 0;
}

/* What must hold after config_finish() returned rc. */
static void check_finished(const struct config *c, int rc, const struct errinfo *e)
{
    if (rc) {
        FUZZ_CHECK(rc == ERR_CONFIG && e->msg[0]);
        return;
    }
    FUZZ_CHECK(c->listen && c->db && c->log_level);
    FUZZ_CHECK(c->listen_port >= 0 && c->listen_port <= 65535);
    FUZZ_CHECK(memchr(c->listen_host, '\0', sizeof(c->listen_host)) != NULL);
    FUZZ_CHECK(c->public_url && c->public_url[0]);
    FUZZ_CHECK(c->public_url[strlen(c->public_url) - 1] != '/');
}

/*
 * A refused secret must not appear in the message. Control characters never
 * occur in the message text of their own (the key is a known name and the
 * origin is ours), so one found there was copied from the value.
 */
static void check_secret_hidden(const char *key, const char *value, const struct errinfo *e)
{
    if (!config_key_is_secret(key))
        return;
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p < 0x20 && strchr(e->msg, *p))
            fuzz_fail("config error message echoes a secret value", e->msg, strlen(e->msg));
}

static void run_set(char **lines, int n)
{
    struct config c;
    struct errinfo e;
    config_init(&c);
    for (int i = 0; i < n; i++) {
        char *eq = strchr(lines[i], '=');
        if (!eq)
            continue;
        *eq = '\0';
        errinfo_clear(&e);
        int rc = config_set(&c, lines[i], eq + 1, "fuzz", &e);
        FUZZ_CHECK(rc == 0 || (rc == ERR_CONFIG && e.msg[0]));
        if (rc)
            check_secret_hidden(lines[i], eq + 1, &e);
        *eq = '=';
    }
    errinfo_clear(&e);
    check_finished(&c, config_finish(&c, &e), &e);
    config_release(&c);
}

static void run_file(const uint8_t *data, size_t size)
{
    struct config c;
    struct errinfo e;
    FUZZ_CHECK(ftruncate(ini_fd, 0) == 0);
    FUZZ_CHECK(size == 0 || pwrite(ini_fd, data, size, 0) == (ssize_t)size);
    config_init(&c);
    errinfo_clear(&e);
    int rc = config_load_file(&c, ini_path, &e);
    FUZZ_CHECK(rc == 0 || (rc == ERR_CONFIG && e.msg[0]));
    if (!rc) {
        errinfo_clear(&e);
        check_finished(&c, config_finish(&c, &e), &e);
    }
    config_release(&c);
}

static void run_env(char **lines, int n)
{
    struct config c;
    struct errinfo e;
    char *envp[MAX_LINES + 1];
    for (int i = 0; i < n; i++)
        envp[i] = lines[i];
    envp[n] = NULL;
    config_init(&c);
    errinfo_clear(&e);
    int rc = config_load_env(&c, envp, &e);
    FUZZ_CHECK(rc == 0 || (rc == ERR_CONFIG && e.msg[0]));
    if (!rc) {
        errinfo_clear(&e);
        check_finished(&c, config_finish(&c, &e), &e);
    }
    config_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Lines as C strings: a NUL ends a line early, as it would in argv or environ. */
    char *text = xmalloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char *lines[MAX_LINES];
    int n = 0;
    for (char *p = text; p && n < MAX_LINES;) {
        char *nl = memchr(p, '\n', (size_t)(text + size - p));
        if (nl)
            *nl = '\0';
        lines[n++] = p;
        p = nl ? nl + 1 : NULL;
    }

    run_set(lines, n);
    run_file(data, size);
    run_env(lines, n);
    free(text);
    return 0;
}
