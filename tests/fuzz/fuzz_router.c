/*
 * libFuzzer target for the router (http/router.h): a route table with
 * {param}, {param}.gif and ROUTE_JSON routes, driven by a fake request.
 * Input, as text: "METHOD PATH\nCONTENT-TYPE\nKNOBS\nBODY". KNOBS are digits
 * choosing the guard's answer, the fallback, the handler's result and the
 * reply size limit. Every reply must have a status in 100..599, and a JSON
 * reply must be a well-formed envelope.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/str.h"
#include "fuzz.h"
#include "http/http.h"
#include "http/reply.h"
#include "http/router.h"

/* The knobs of one run, read from the third line of the input. */
struct knobs {
    int guard;    /* 0 allow, else an error code */
    int fallback; /* 0 none, 1 decline, 2 serve a page, 3 refuse, 4 decline with a message */
    int handler;  /* 0 success, else an error code (or a file body) */
    size_t max_body;
};

/* The fake connection behind http_req.lookup. */
struct fake_conn {
    const char *content_type;
    struct knobs k;
    bool guard_ran;
};

static int devnull = -1;

static int handler_result(struct http_req *req, struct http_reply *rep, struct errinfo *e);

/* Checks what the router promised a handler: params, the parsed body, the guard. */
static void check_handler_req(struct http_req *req)
{
    const struct route *r = req->route;
    struct fake_conn *fc = req->conn;
    size_t plen = strlen(req->path);
    int want = 0;
    for (const char *p = r->pattern; *p; p++)
        want += *p == '{';
    if (want > HTTP_MAX_PARAMS)
        want = HTTP_MAX_PARAMS;
    FUZZ_CHECK(req->nparams == want);
    for (int i = 0; i < req->nparams; i++) {
        struct str s = req->params[i];
        FUZZ_CHECK(s.len > 0);
        FUZZ_CHECK(s.p >= req->path && s.p + s.len <= req->path + plen);
        FUZZ_CHECK(memchr(s.p, '/', s.len) == NULL);
        FUZZ_CHECK(s.p > req->path && s.p[-1] == '/'); /* a whole segment, or its head */
        FUZZ_CHECK(s.p[s.len] == '/' || s.p[s.len] == '\0' || s.p[s.len] == '.');
    }
    if (strcmp(r->pattern, "/t/{token}.gif") == 0)
        FUZZ_CHECK(strcmp(req->params[0].p + req->params[0].len, ".gif") == 0);
    if (r->flags & ROUTE_JSON)
        FUZZ_CHECK(req->json && json_is_object(req->json));
    if (r->flags & (ROUTE_AUTH | ROUTE_WORKSPACE | ROUTE_WRITE))
        FUZZ_CHECK(fc->guard_ran);
    FUZZ_CHECK(r->methods & (req->method == HTTP_HEAD ? HTTP_GET | HTTP_HEAD : req->method));
}

/* Echoes the request as JSON, as a resource handler would. */
static int h_echo(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    struct jw w;
    check_handler_req(req);
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kstr(&w, "method", req->method_name);
    jw_kstr(&w, "path", req->path);
    jw_key(&w, "params");
    jw_arr_begin(&w);
    for (int i = 0; i < req->nparams; i++)
        jw_strn(&w, req->params[i].p, req->params[i].len);
    jw_arr_end(&w);
    if (req->json) {
        char *text = json_dumps(req->json, JSON_COMPACT | JSON_ENCODE_ANY);
        FUZZ_CHECK(text != NULL);
        jw_key(&w, "body");
        jw_raw(&w, text, strlen(text));
        free(text);
    }
    jw_obj_end(&w);
    int rc = reply_ok_end(rep, &w);
    if (rc)
        return rc == ERR_TOO_BIG ? failf(e, rc, "reply too big") : failf(e, rc, "bad JSON");
    return handler_result(req, rep, e);
}

/* The open pixel: a non-JSON body. */
static int h_pixel(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    static const char gif[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!";
    check_handler_req(req);
    rep->content_type = "image/gif";
    if (buf_append(&rep->body, gif, sizeof(gif) - 1) != 0)
        return failf(e, ERR_TOO_BIG, "pixel does not fit");
    return handler_result(req, rep, e);
}

static int h_text(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    check_handler_req(req);
    rep->content_type = "text/plain; version=0.0.4";
    if (buf_printf(&rep->body, "path %s\n", req->path) != 0)
        return failf(e, ERR_TOO_BIG, "text does not fit");
    return handler_result(req, rep, e);
}

/* What the handler returns after writing its reply, by the handler knob. */
static int handler_result(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    struct fake_conn *fc = req->conn;
    switch (fc->k.handler) {
    case 0:
        return 0;
    case 1:
        return failf(e, ERR_INVALID, "field \"%s\" is wrong", req->path);
    case 2:
        return failf(e, ERR_CONFLICT, "already exists");
    case 3:
        return ERR_NOT_FOUND; /* no message */
    case 4:
        return failf(e, ERR_DB, "constraint failed on %s", req->path);
    case 5:
        /* A file body that an error replaces: the reply must close it. */
        rep->fd = dup(devnull);
        rep->fd_size = 0;
        return failf(e, ERR_IO, "read failed");
    case 6:
        return 7; /* not an ERR_* code: a bug in a handler, still a 500 */
    case 7:
        return -99;
    case 8:
        return ERR_TEMPORARY;
    default:
        return failf(e, ERR_UNSUPPORTED, "%s", "");
    }
}

static const struct route routes[] = {
    {HTTP_GET, "/", ROUTE_PUBLIC, h_echo},
    {HTTP_GET, "/healthz", ROUTE_PUBLIC, h_echo},
    {HTTP_GET, "/metrics", ROUTE_PUBLIC | ROUTE_TEXT, h_text},
    {HTTP_GET, "/t/{token}.gif", ROUTE_PUBLIC | ROUTE_NOBODY, h_pixel},
    {HTTP_GET, "/t/{token}", ROUTE_PUBLIC, h_echo},
    {HTTP_GET, "/c/{token}/{link}", ROUTE_PUBLIC | ROUTE_NOBODY, h_echo},
    {HTTP_POST, "/v1/echo", ROUTE_PUBLIC | ROUTE_JSON, h_echo},
    {HTTP_POST, "/v1/auth/login", ROUTE_PUBLIC | ROUTE_JSON, h_echo},
    {HTTP_GET, "/v1/me", ROUTE_AUTH, h_echo},
    {HTTP_GET | HTTP_POST, "/v1/workspaces", ROUTE_AUTH, h_echo},
    {HTTP_GET, "/v1/workspaces/{ws}/contacts", ROUTE_AUTH | ROUTE_WORKSPACE, h_echo},
    {HTTP_POST, "/v1/workspaces/{ws}/contacts",
     ROUTE_AUTH | ROUTE_WORKSPACE | ROUTE_WRITE | ROUTE_JSON, h_echo},
    {HTTP_GET, "/v1/workspaces/{ws}/contacts/{id}", ROUTE_AUTH | ROUTE_WORKSPACE, h_echo},
    {HTTP_PUT | HTTP_PATCH, "/v1/workspaces/{ws}/contacts/{id}",
     ROUTE_AUTH | ROUTE_WORKSPACE | ROUTE_WRITE | ROUTE_JSON, h_echo},
    {HTTP_DELETE, "/v1/workspaces/{ws}/contacts/{id}",
     ROUTE_AUTH | ROUTE_WORKSPACE | ROUTE_WRITE | ROUTE_NOBODY, h_echo},
    {HTTP_GET, "/v1/workspaces/{ws}/contacts/{id}/emails/{eid}/files/{name}.gif",
     ROUTE_AUTH | ROUTE_WORKSPACE, h_pixel}, /* more {params} than HTTP_MAX_PARAMS */
    {HTTP_OPTIONS, "/v1/{any}", ROUTE_PUBLIC | ROUTE_NOBODY, h_echo},
};

static const char *lookup(void *conn, enum http_lookup kind, const char *name)
{
    struct fake_conn *fc = conn;
    switch (kind) {
    case HTTP_LOOKUP_HEADER:
        return strcasecmp(name, "Content-Type") == 0 ? fc->content_type : NULL;
    case HTTP_LOOKUP_CLIENT_IP:
        return "127.0.0.1";
    default:
        return NULL;
    }
}

static int guard(void *ctx, struct http_req *req, struct errinfo *e)
{
    struct fake_conn *fc = req->conn;
    fc->guard_ran = true;
    switch (fc->k.guard) {
    case 0:
        return 0;
    case 1:
        return failf(e, ERR_UNAUTHORIZED, "sign-in required");
    case 2:
        return failf(e, ERR_FORBIDDEN, "viewers cannot write");
    case 3:
        return failf(e, ERR_NOT_FOUND, "no such workspace");
    case 4:
        return failf(e, ERR_RATE_LIMITED, "slow down");
    default:
        return failf(e, ERR_DB, "session lookup failed");
    }
}

static int fallback(void *ctx, struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    struct fake_conn *fc = req->conn;
    switch (fc->k.fallback) {
    case 2:
        rep->content_type = "text/html; charset=utf-8";
        return buf_puts(&rep->body, "<!doctype html><title>x</title>") ? ERR_TOO_BIG : 0;
    case 3:
        return failf(e, ERR_FORBIDDEN, "%s: outside the web directory", req->path);
    case 4:
        return failf(e, ERR_NOT_FOUND, "no file %s", req->path);
    default:
        return ERR_NOT_FOUND;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    FUZZ_CHECK(devnull >= 0);
    log_set_fd(devnull); /* the router logs 5xx replies */
    log_set_level(LOG_DEBUG);
    return 0;
}

/* Splits off the bytes before the next '\n' (all of them when there is none). */
static struct str next_line(struct str *in)
{
    struct str line;
    str_split(in, '\n', &line);
    return line;
}

/* Knob i of the knobs line: a digit stands for its value, other bytes for their code. */
static int knob(struct str s, size_t i, int mod)
{
    if (i >= s.len)
        return 0;
    unsigned char c = (unsigned char)s.p[i];
    return (c >= '0' && c <= '9' ? c - '0' : c) % mod;
}

/* Checks rep against what router_dispatch() promises. */
static void check_reply(const struct http_reply *rep, int idx, int match_rc, const struct knobs *k)
{
    FUZZ_CHECK(rep->status >= 100 && rep->status <= 599);
    FUZZ_CHECK(idx >= -1 && idx < (int)(sizeof(routes) / sizeof(routes[0])));
    FUZZ_CHECK(rep->body.len <= rep->body.max);
    FUZZ_CHECK(!rep->body.data || rep->body.data[rep->body.len] == '\0');
    FUZZ_CHECK(rep->nheaders >= 0 && rep->nheaders <= HTTP_MAX_HEADERS);
    if (match_rc == ERR_METHOD) {
        bool allow = false;
        FUZZ_CHECK(rep->status == 405 && idx >= 0);
        for (int i = 0; i < rep->nheaders; i++)
            if (strcmp(rep->headers[i].name, "Allow") == 0 && rep->headers[i].value[0])
                allow = true;
        FUZZ_CHECK(allow);
    } else if (match_rc == ERR_NOT_FOUND) {
        FUZZ_CHECK(idx == -1);
        if (k->fallback == 0)
            FUZZ_CHECK(rep->status == 404);
    } else {
        FUZZ_CHECK(match_rc == 0 && idx >= 0);
    }
    if (!rep->content_type || strncmp(rep->content_type, "application/json", 16) != 0)
        return;
    json_error_t jerr;
    json_t *v = json_loadb(rep->body.data ? rep->body.data : "", rep->body.len, 0, &jerr);
    if (!v)
        fuzz_fail("JSON reply does not parse", rep->body.data, rep->body.len);
    json_t *ok = json_object_get(v, "success");
    FUZZ_CHECK(json_is_boolean(ok));
    if (rep->status >= 400) {
        json_t *err = json_object_get(v, "error");
        FUZZ_CHECK(json_is_false(ok));
        FUZZ_CHECK(json_is_string(json_object_get(err, "code")));
        FUZZ_CHECK(json_is_string(json_object_get(err, "message")));
    } else {
        FUZZ_CHECK(json_is_true(ok) && json_object_get(v, "data"));
    }
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[] = {16, 100, 1024, 1 << 20};
    struct str in = {(const char *)data, size};
    struct str first = next_line(&in), ct = next_line(&in), kn = next_line(&in), method;
    bool has_path = str_split(&first, ' ', &method);

    struct fake_conn fc;
    memset(&fc, 0, sizeof(fc));
    fc.k.guard = knob(kn, 0, 6);
    fc.k.fallback = knob(kn, 1, 5);
    fc.k.handler = knob(kn, 2, 10);
    fc.k.max_body = limits[knob(kn, 3, 4)];

    struct router *rt = router_new();
    router_add(rt, routes, sizeof(routes) / sizeof(routes[0]));
    if (knob(kn, 4, 2) == 0)
        router_set_guard(rt, guard, NULL);
    if (fc.k.fallback)
        router_set_fallback(rt, fallback, NULL);
    FUZZ_CHECK(router_count(rt) == sizeof(routes) / sizeof(routes[0]));

    char stack[512];
    struct arena arena;
    arena_init(&arena, stack, sizeof(stack));

    /* The adapter hands over NUL-terminated strings: bytes after a NUL are lost. */
    struct http_req req;
    memset(&req, 0, sizeof(req));
    req.arena = &arena;
    req.method_name = arena_strndup(&arena, method.p, method.len);
    req.method = http_method_parse(req.method_name);
    req.path = has_path ? arena_strndup(&arena, first.p, first.len) : "";
    req.request_id = "fuzz-1";
    buf_init(&req.body, 1 << 20);
    if (in.len)
        FUZZ_CHECK(buf_append(&req.body, in.p, in.len) == 0);
    fc.content_type = ct.len ? arena_strndup(&arena, ct.p, ct.len) : NULL;
    req.lookup = lookup;
    req.conn = &fc;

    /* router_match() and router_dispatch() must agree on what matched. */
    struct http_req probe = req;
    unsigned allow = 0;
    int match_rc = router_match(rt, &probe, &allow);
    FUZZ_CHECK(match_rc == 0 || match_rc == ERR_NOT_FOUND || match_rc == ERR_METHOD);
    FUZZ_CHECK(match_rc != ERR_METHOD || allow != 0);

    struct http_reply rep;
    http_reply_init(&rep, fc.k.max_body);
    int idx = router_dispatch(rt, &req, &rep);
    if (match_rc == 0)
        FUZZ_CHECK(req.route == probe.route && req.route == router_route(rt, (size_t)idx));
    check_reply(&rep, idx, match_rc, &fc.k);
    if (fc.k.handler == 5 && rep.status >= 400)
        FUZZ_CHECK(rep.fd < 0); /* the error envelope replaced (and closed) the file body */

    http_reply_release(&rep);
    buf_release(&req.body);
    arena_release(&arena);
    router_free(rt);
    return 0;
}
