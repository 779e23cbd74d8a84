/*
 * Static file serving with path confinement. Every page carries a strict
 * Content-Security-Policy (W3C CSP Level 3): scripts and styles come from
 * files of this origin only, so web/ has no inline script, style or event
 * handler.
 */
#include "http/static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"

struct static_files {
    char *root; /* realpath of the root, no trailing slash */
    size_t rootlen;
};

struct static_files *static_files_new(const char *root, struct errinfo *e)
{
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(root, real) || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
        failf(e, ERR_CONFIG, "web_dir: \"%s\" is not a directory", root);
        return NULL;
    }
    struct static_files *sf = XNEW(struct static_files);
    sf->root = xstrdup(real);
    sf->rootlen = strlen(real);
    return sf;
}

void static_files_free(struct static_files *sf)
{
    if (!sf)
        return;
    free(sf->root);
    free(sf);
}

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".gif", "image/gif"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *type_for(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

/* A request path is safe when no segment is empty-dot, hidden or odd. */
static bool path_is_safe(const char *p)
{
    if (p[0] != '/')
        return false;
    for (const char *s = p; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == '\\')
            return false;
        if (c == '/' && s[1] == '.')
            return false; /* "..", ".", and hidden files alike */
    }
    return strlen(p) < 1024;
}

/* Opens root + rel as a regular file confined to the root. */
static int open_confined(const struct static_files *sf, const char *rel, struct stat *st)
{
    char path[PATH_MAX], real[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s", sf->root, rel);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -1;
    if (!realpath(path, real))
        return -1;
    if (strncmp(real, sf->root, sf->rootlen) != 0 || real[sf->rootlen] != '/')
        return -1;
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

int static_files_serve(void *ctx, struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct static_files *sf = ctx;
    const char *p = req->path;
    if (!sf || !path_is_safe(p))
        return ERR_NOT_FOUND;
    const char *rel = p + 1;
    size_t len = strlen(rel);
    while (len > 0 && rel[len - 1] == '/')
        len--;
    char cand[4][1100];
    int ncand = 0;
    if (len == 0) {
        snprintf(cand[ncand++], sizeof(cand[0]), "index.html");
    } else {
        snprintf(cand[ncand++], sizeof(cand[0]), "%.*s", (int)len, rel);
        snprintf(cand[ncand++], sizeof(cand[0]), "%.*s.html", (int)len, rel);
        snprintf(cand[ncand++], sizeof(cand[0]), "%.*s/index.html", (int)len, rel);
        if (strncmp(rel, "dashboard/", 10) == 0 && !strchr(rel + 10, '.'))
            snprintf(cand[ncand++], sizeof(cand[0]), "dashboard/index.html");
    }
    for (int i = 0; i < ncand; i++) {
        struct stat st;
        int fd = open_confined(sf, cand[i], &st);
        if (fd < 0)
            continue;
        rep->status = 200;
        rep->fd = fd;
        rep->fd_size = (uint64_t)st.st_size;
        rep->content_type = type_for(cand[i]);
        bool html = strstr(rep->content_type, "text/html") != NULL;
        http_reply_header(rep, "Cache-Control", html ? "no-cache" : "max-age=300");
        if (html)
            http_reply_header(rep, "Content-Security-Policy", STATIC_CSP);
        return 0;
    }
    (void)e;
    return ERR_NOT_FOUND;
}
