/*
 * Tests for src/http/static.c on a temporary web root: how paths resolve
 * (x, x.html, x/index.html, the dashboard's client-side routes), content
 * types, and confinement: "..", hidden files and a symlink that leads out of
 * the root are all ERR_NOT_FOUND.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/reply.h"
#include "http/router.h"
#include "http/static.h"
#include "unit/unit.h"

struct fix {
    char *tmp;  /* holds root/ and things outside it */
    char *root; /* the web root */
    struct static_files *sf;
    struct arena arena;
    struct http_req req;
    struct http_reply rep;
};

static void put(const char *dir, const char *rel, const char *text)
{
    char *p = unit_path(dir, rel);
    unit_write_file(p, text, (size_t)-1);
    free(p);
}

static void mkdir_in(const char *dir, const char *rel)
{
    char *p = unit_path(dir, rel);
    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
}

static void symlink_in(const char *dir, const char *rel, const char *target)
{
    char *p = unit_path(dir, rel);
    assert_int_equal(symlink(target, p), 0);
    free(p);
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    f->tmp = unit_tmpdir();
    f->root = unit_path(f->tmp, "root");
    assert_int_equal(mkdir(f->root, 0755), 0);
    put(f->root, "index.html", "<h1>home</h1>");
    put(f->root, "a.css", "body{}");
    put(f->root, "app.js", "let x;");
    put(f->root, "page.html", "<p>page</p>");
    put(f->root, "data.json", "{}");
    put(f->root, "logo.svg", "<svg/>");
    put(f->root, "noext", "raw");
    put(f->root, ".hidden", "secret");
    mkdir_in(f->root, "sub");
    put(f->root, "sub/index.html", "<p>sub</p>");
    put(f->root, "sub/.secret", "secret");
    mkdir_in(f->root, "dashboard");
    put(f->root, "dashboard/index.html", "<p>dashboard</p>");
    put(f->root, "dashboard/app.js", "dash");
    mkdir_in(f->root, "emptydir");
    mkdir_in(f->root, ".git");
    put(f->root, ".git/config", "secret");
    put(f->tmp, "outside.txt", "outside secret");
    mkdir_in(f->tmp, "outdir");
    put(f->tmp, "outdir/x.txt", "outside secret");
    symlink_in(f->root, "link.txt", "../outside.txt");
    symlink_in(f->root, "abslink.txt", f->tmp); /* a directory outside, by absolute path */
    symlink_in(f->root, "outdir", "../outdir");
    symlink_in(f->root, "inlink.css", "a.css"); /* a symlink inside the root is fine */

    struct errinfo e;
    f->sf = static_files_new(f->root, &e);
    if (!f->sf)
        fail_msg("static_files_new: %s", e.msg);
    arena_init(&f->arena, NULL, 0);
    http_reply_init(&f->rep, 4096);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    http_reply_release(&f->rep);
    arena_release(&f->arena);
    static_files_free(f->sf);
    unit_rmtree(f->tmp);
    free(f->root);
    free(f->tmp);
    free(f);
    return 0;
}

static int serve(struct fix *f, const char *method, const char *path)
{
    http_reply_release(&f->rep);
    http_reply_init(&f->rep, 4096);
    memset(&f->req, 0, sizeof(f->req));
    f->req.arena = &f->arena;
    f->req.method = http_method_parse(method);
    f->req.method_name = method;
    f->req.path = path;
    struct errinfo e;
    errinfo_clear(&e);
    return static_files_serve(f->sf, &f->req, &f->rep, &e);
}

static const char *header(struct fix *f, const char *name)
{
    for (int i = 0; i < f->rep.nheaders; i++)
        if (strcmp(f->rep.headers[i].name, name) == 0)
            return f->rep.headers[i].value;
    return NULL;
}

/* Serves path and checks the file body and content type. */
static void assert_file(struct fix *f, const char *path, const char *body, const char *type)
{
    int rc = serve(f, "GET", path);
    if (rc != 0)
        fail_msg("%s: rc %d, want the file with \"%s\"", path, rc, body);
    assert_int_equal(f->rep.status, 200);
    assert_true(f->rep.fd >= 0);
    assert_int_equal(f->rep.fd_size, strlen(body));
    char got[256];
    ssize_t n = pread(f->rep.fd, got, sizeof(got) - 1, 0);
    assert_true(n >= 0);
    got[n] = '\0';
    if (strcmp(got, body) != 0)
        fail_msg("%s served \"%s\", want \"%s\"", path, got, body);
    assert_string_equal(f->rep.content_type, type);
}

static void assert_not_found(struct fix *f, const char *path)
{
    int rc = serve(f, "GET", path);
    if (rc != ERR_NOT_FOUND)
        fail_msg("%s: rc %d (fd %d), want ERR_NOT_FOUND", path, rc, f->rep.fd);
    assert_int_equal(f->rep.fd, -1);
}

#define HTML "text/html; charset=utf-8"

static void test_resolution(void **state)
{
    struct fix *f = *state;
    assert_file(f, "/", "<h1>home</h1>", HTML);
    assert_file(f, "/index.html", "<h1>home</h1>", HTML);
    assert_file(f, "/page", "<p>page</p>", HTML);
    assert_file(f, "/page.html", "<p>page</p>", HTML);
    assert_file(f, "/sub", "<p>sub</p>", HTML);
    assert_file(f, "/sub/", "<p>sub</p>", HTML);
    assert_file(f, "/sub/index.html", "<p>sub</p>", HTML);
    assert_file(f, "/inlink.css", "body{}", "text/css; charset=utf-8");
    assert_not_found(f, "/missing");
    assert_not_found(f, "/missing.html");
    assert_not_found(f, "/emptydir");
    assert_not_found(f, "/emptydir/");
    assert_not_found(f, "/sub/missing");
}

static void test_dashboard_routes(void **state)
{
    struct fix *f = *state;
    assert_file(f, "/dashboard", "<p>dashboard</p>", HTML);
    assert_file(f, "/dashboard/", "<p>dashboard</p>", HTML);
    assert_file(f, "/dashboard/overview", "<p>dashboard</p>", HTML);
    assert_file(f, "/dashboard/contacts/123", "<p>dashboard</p>", HTML);
    assert_file(f, "/dashboard/app.js", "dash", "text/javascript; charset=utf-8");
    /* A missing asset is a 404, not the page. */
    assert_not_found(f, "/dashboard/missing.js");
    assert_not_found(f, "/dashboardx/overview");
}

static void test_content_types(void **state)
{
    struct fix *f = *state;
    assert_file(f, "/a.css", "body{}", "text/css; charset=utf-8");
    assert_string_equal(header(f, "Cache-Control"), "max-age=300");
    assert_file(f, "/app.js", "let x;", "text/javascript; charset=utf-8");
    assert_file(f, "/data.json", "{}", "application/json");
    assert_file(f, "/logo.svg", "<svg/>", "image/svg+xml");
    assert_file(f, "/noext", "raw", "application/octet-stream");
    assert_file(f, "/", "<h1>home</h1>", HTML);
    assert_string_equal(header(f, "Cache-Control"), "no-cache");
}

static void test_confinement(void **state)
{
    struct fix *f = *state;
    static const char *const bad[] = {
        "/../outside.txt",
        "/sub/../a.css", /* inside the root after all, but ".." is never followed */
        "/./a.css",
        "/sub/./index.html",
        "/..",
        "/.hidden",
        "/sub/.secret",
        "/.git/config",
        "/.git",
        "/link.txt",
        "/outdir/x.txt",
        "/abslink.txt/outside.txt",
        "a.css",
        "",
        "/a.css\\",
        "/sub\\index.html",
        "/a\x01.css",
        "/a.css\x7f",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_not_found(f, bad[i]);
}

static void test_long_path(void **state)
{
    struct fix *f = *state;
    char path[2048];
    path[0] = '/';
    memset(path + 1, 'a', sizeof(path) - 2);
    path[sizeof(path) - 1] = '\0';
    assert_not_found(f, path);
}

static void test_new_errors(void **state)
{
    struct errinfo e;
    errinfo_clear(&e);
    assert_null(static_files_new("/nonexistent/leadflow/web", &e));
    assert_int_equal(e.code, ERR_CONFIG);
    assert_contains(e.msg, "/nonexistent/leadflow/web");

    char *dir = unit_tmpdir();
    char *file = unit_path(dir, "file");
    unit_write_file(file, "x", (size_t)-1);
    errinfo_clear(&e);
    assert_null(static_files_new(file, &e));
    assert_contains(e.msg, "is not a directory");
    unit_rmtree(dir);
    free(file);
    free(dir);

    struct http_req req;
    struct http_reply rep;
    memset(&req, 0, sizeof(req));
    req.path = "/";
    http_reply_init(&rep, 64);
    assert_int_equal(static_files_serve(NULL, &req, &rep, &e), ERR_NOT_FOUND);
    http_reply_release(&rep);
}

/* As the server uses it: the router's fallback for unmatched GET and HEAD. */
static void test_as_router_fallback(void **state)
{
    struct fix *f = *state;
    struct router *rt = router_new();
    router_set_fallback(rt, static_files_serve, f->sf);
    memset(&f->req, 0, sizeof(f->req));
    f->req.arena = &f->arena;
    f->req.method = HTTP_HEAD;
    f->req.method_name = "HEAD";
    f->req.path = "/a.css";
    assert_int_equal(router_dispatch(rt, &f->req, &f->rep), -1);
    assert_int_equal(f->rep.status, 200);
    assert_true(f->rep.fd >= 0);

    http_reply_release(&f->rep);
    http_reply_init(&f->rep, 4096);
    f->req.method = HTTP_GET;
    f->req.method_name = "GET";
    f->req.path = "/.hidden";
    router_dispatch(rt, &f->req, &f->rep);
    assert_int_equal(f->rep.status, 404);
    assert_int_equal(f->rep.fd, -1);
    assert_contains(buf_str(&f->rep.body), "\"NOT_FOUND\"");
    router_free(rt);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest tests[] = {
    T(test_resolution),         T(test_dashboard_routes), T(test_content_types),
    T(test_confinement),        T(test_long_path),        cmocka_unit_test(test_new_errors),
    T(test_as_router_fallback),
};

UNIT_GROUP(unit_http_static, "http/static", tests);
