/*
 * Helpers shared by the unit tests: temporary directories and files, JSON
 * parsing with a readable failure, reading a pipe to the end.
 */
#include "unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

char *unit_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/leadflow-unit-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl))
        fail_msg("mkdtemp %s: %s", tmpl, strerror(errno));
    char *p = strdup(tmpl);
    assert_non_null(p);
    return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void unit_rmtree(const char *path)
{
    if (path)
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *unit_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void unit_write_file(const char *path, const char *data, size_t n)
{
    if (n == (size_t)-1)
        n = strlen(data);
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot create %s: %s", path, strerror(errno));
    size_t w = fwrite(data, 1, n, f);
    if (fclose(f) != 0 || w != n)
        fail_msg("cannot write %s", path);
}

struct json_t *unit_json(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
    if (!v)
        fail_msg("not valid JSON (%s at line %d column %d): %s", err.text, err.line, err.column,
                 text);
    return v;
}

char *unit_read_fd(int fd)
{
    size_t len = 0, cap = 4096;
    char *p = malloc(cap);
    assert_non_null(p);
    for (;;) {
        if (cap - len < 2) {
            cap *= 2;
            p = realloc(p, cap);
            assert_non_null(p);
        }
        ssize_t k = read(fd, p + len, cap - len - 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    p[len] = '\0';
    return p;
}
