/*
 * Tests for src/http/router.c, driven with fake struct http_req values (the
 * adapter's lookup hook answers from a small header table): matching,
 * {param} capture, 404 and 405 with Allow, HEAD on GET routes, the error
 * envelope for handler codes, the guard, ROUTE_JSON parsing, the fallback.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "base/log.h"
#include "http/reply.h"
#include "http/router.h"
#include "unit/unit.h"

/* What the handlers, the guard and the fallback saw. */
static struct {
    int handler, guard, fallback;
    void *guard_ctx;
    const struct route *route;
    char params[HTTP_MAX_PARAMS][64];
    int nparams;
    char json_name[64];
    int fail_code;
    const char *fail_msg;
} seen;

static int h_named(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    seen.handler++;
    seen.route = req->route;
    seen.nparams = req->nparams;
    for (int i = 0; i < req->nparams && i < HTTP_MAX_PARAMS; i++)
        str_copy(seen.params[i], sizeof(seen.params[i]), req->params[i]);
    struct jw w;
    reply_ok_begin(rep, 200, &w);
    jw_obj_begin(&w);
    jw_kstr(&w, "route", req->route->pattern);
    jw_obj_end(&w);
    return reply_ok_end(rep, &w);
}

static int h_fail(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    seen.handler++;
    if (!seen.fail_msg)
        return seen.fail_code;
    return failf(e, seen.fail_code, "%s", seen.fail_msg);
}

static int h_json(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    seen.handler++;
    assert_non_null(req->json);
    const char *name = json_string_value(json_object_get(req->json, "name"));
    snprintf(seen.json_name, sizeof(seen.json_name), "%s", name ? name : "(none)");
    rep->status = 204;
    return 0;
}

static const struct route routes[] = {
    /* 0 */ {HTTP_GET, "/", ROUTE_PUBLIC, h_named},
    /* 1 */ {HTTP_GET | HTTP_POST, "/items", ROUTE_PUBLIC, h_named},
    /* 2 */ {HTTP_GET | HTTP_PATCH, "/items/{id}", ROUTE_PUBLIC, h_named},
    /* 3 */ {HTTP_DELETE, "/items/{id}", ROUTE_PUBLIC, h_named},
    /* 4 */ {HTTP_GET, "/items/{id}/notes/{note}", ROUTE_PUBLIC, h_named},
    /* 5 */ {HTTP_GET, "/t/o/{token}.gif", ROUTE_PUBLIC | ROUTE_NOBODY, h_named},
    /* 6 */ {HTTP_GET, "/private", ROUTE_AUTH, h_named},
    /* 7 */ {HTTP_POST, "/json", ROUTE_JSON, h_json},
    /* 8 */ {HTTP_POST, "/private/json", ROUTE_AUTH | ROUTE_JSON, h_json},
    /* 9 */ {HTTP_GET, "/fail", ROUTE_PUBLIC, h_fail},
    /* 10 */ {HTTP_GET, "/ws", ROUTE_WORKSPACE, h_named},
    /* 11 */ {HTTP_POST, "/write", ROUTE_WRITE, h_named},
};
enum { NROUTES = sizeof(routes) / sizeof(routes[0]) };

struct fake_header {
    const char *name, *value;
};

struct fix {
    struct router *rt;
    struct arena arena;
    struct http_req req;
    struct http_reply rep;
    struct fake_header headers[8];
    int nheaders;
    json_t *env; /* the parsed reply body */
};

static const char *fake_lookup(void *conn, enum http_lookup kind, const char *name)
{
    struct fix *f = conn;
    if (kind != HTTP_LOOKUP_HEADER)
        return NULL;
    for (int i = 0; i < f->nheaders; i++)
        if (strcasecmp(f->headers[i].name, name) == 0)
            return f->headers[i].value;
    return NULL;
}

static void set_header(struct fix *f, const char *name, const char *value)
{
    assert_true(f->nheaders < 8);
    f->headers[f->nheaders++] = (struct fake_header){name, value};
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    f->rt = router_new();
    router_add(f->rt, routes, NROUTES);
    arena_init(&f->arena, NULL, 0);
    http_reply_init(&f->rep, 1 << 16);
    buf_init(&f->req.body, 1 << 16);
    memset(&seen, 0, sizeof(seen));
    *state = f;
    return 0;
}

/* Frees what the last request used. */
static void reset(struct fix *f)
{
    json_decref(f->env);
    f->env = NULL;
    arena_release(&f->arena);
    http_reply_release(&f->rep);
    buf_release(&f->req.body);
}

static int teardown(void **state)
{
    struct fix *f = *state;
    reset(f);
    router_free(f->rt);
    free(f);
    return 0;
}

/* Dispatches one request; headers set before the call are sent with it. */
static int dispatch(struct fix *f, const char *method, const char *path, const char *body)
{
    reset(f);
    seen.route = NULL;
    seen.handler = 0;
    memset(&f->req, 0, sizeof(f->req));
    f->req.arena = &f->arena;
    f->req.method = http_method_parse(method);
    f->req.method_name = method;
    f->req.path = path;
    f->req.request_id = "req-42";
    buf_init(&f->req.body, 1 << 16);
    if (body)
        assert_int_equal(buf_puts(&f->req.body, body), 0);
    f->req.lookup = fake_lookup;
    f->req.conn = f;
    http_reply_init(&f->rep, 1 << 16);
    return router_dispatch(f->rt, &f->req, &f->rep);
}

static json_t *envelope(struct fix *f)
{
    if (!f->env)
        f->env = unit_json(buf_str(&f->rep.body));
    return f->env;
}

/* Checks the reply is the error envelope with status and code; returns the message. */
static const char *assert_error(struct fix *f, int status, const char *code)
{
    if (f->rep.status != status)
        fail_msg("status %d, want %d; body %s", f->rep.status, status, buf_str(&f->rep.body));
    json_t *v = envelope(f);
    assert_true(json_is_false(json_object_get(v, "success")));
    json_t *err = json_object_get(v, "error");
    assert_string_equal(json_string_value(json_object_get(err, "code")), code);
    const char *msg = json_string_value(json_object_get(err, "message"));
    assert_non_null(msg);
    return msg;
}

static const char *reply_header(struct fix *f, const char *name)
{
    for (int i = 0; i < f->rep.nheaders; i++)
        if (strcasecmp(f->rep.headers[i].name, name) == 0)
            return f->rep.headers[i].value;
    return NULL;
}

/* The route the handler reported in its success envelope. */
static void assert_served_by(struct fix *f, int idx, int rc)
{
    if (rc != idx)
        fail_msg("%s %s: dispatch returned %d, want route %d (%s); body %s", f->req.method_name,
                 f->req.path, rc, idx, routes[idx].pattern, buf_str(&f->rep.body));
    assert_int_equal(seen.handler, 1);
    assert_ptr_equal(seen.route, &routes[idx]);
    assert_int_equal(f->rep.status, 200);
    json_t *v = envelope(f);
    assert_true(json_is_true(json_object_get(v, "success")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "data"), "route")),
                        routes[idx].pattern);
}

static void test_exact_match(void **state)
{
    struct fix *f = *state;
    assert_served_by(f, 0, dispatch(f, "GET", "/", NULL));
    assert_served_by(f, 1, dispatch(f, "GET", "/items", NULL));
    assert_int_equal(seen.nparams, 0);
    assert_served_by(f, 1, dispatch(f, "POST", "/items", NULL));
}

static void test_param_capture(void **state)
{
    struct fix *f = *state;
    assert_served_by(f, 2, dispatch(f, "GET", "/items/abc", NULL));
    assert_int_equal(seen.nparams, 1);
    assert_string_equal(seen.params[0], "abc");
    assert_served_by(f, 2, dispatch(f, "PATCH", "/items/a b%2F", NULL));
    assert_string_equal(seen.params[0], "a b%2F");
    /* Same pattern, another route: DELETE goes to route 3. */
    assert_served_by(f, 3, dispatch(f, "DELETE", "/items/zz", NULL));
    assert_string_equal(seen.params[0], "zz");
    assert_served_by(f, 4, dispatch(f, "GET", "/items/a1/notes/n2", NULL));
    assert_int_equal(seen.nparams, 2);
    assert_string_equal(seen.params[0], "a1");
    assert_string_equal(seen.params[1], "n2");
}

static void test_param_suffix(void **state)
{
    struct fix *f = *state;
    assert_served_by(f, 5, dispatch(f, "GET", "/t/o/tok123.gif", NULL));
    assert_int_equal(seen.nparams, 1);
    assert_string_equal(seen.params[0], "tok123");
    assert_served_by(f, 5, dispatch(f, "GET", "/t/o/a.gif.gif", NULL));
    assert_string_equal(seen.params[0], "a.gif");

    static const char *const miss[] = {"/t/o/.gif", "/t/o/tok.png",  "/t/o/tok",
                                       "/t/o/gif",  "/t/o/tok.gif/", "/t/o/tok.GIF"};
    for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++) {
        assert_int_equal(dispatch(f, "GET", miss[i], NULL), -1);
        assert_int_equal(seen.handler, 0);
        assert_error(f, 404, "NOT_FOUND");
    }
}

static void test_mismatch_is_404(void **state)
{
    struct fix *f = *state;
    static const char *const miss[] = {
        "/items/",
        "/items/abc/",
        "/items/abc/extra",
        "/itemsx",
        "/item",
        "//items",
        "",
        "items",
        "/items/abc/notes",
        "/items/abc/notes/",
        "/items//notes/x",
        "/a/b/c/d/e/f/g/h/i/j/k/l",
        "/ITEMS",
        "//",
    };
    for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++) {
        int rc = dispatch(f, "GET", miss[i], NULL);
        if (rc != -1)
            fail_msg("\"%s\" matched route %d", miss[i], rc);
        assert_int_equal(seen.handler, 0);
        const char *msg = assert_error(f, 404, "NOT_FOUND");
        assert_contains(msg, "no route for GET");
    }
}

static void test_method_not_allowed(void **state)
{
    struct fix *f = *state;
    assert_int_equal(dispatch(f, "DELETE", "/items", NULL), 1);
    assert_int_equal(seen.handler, 0);
    const char *msg = assert_error(f, 405, "METHOD_NOT_ALLOWED");
    assert_contains(msg, "DELETE is not allowed on /items");
    assert_string_equal(reply_header(f, "Allow"), "GET, HEAD, POST");

    /* The allowed methods of every route with the path. */
    assert_int_equal(dispatch(f, "PUT", "/items/x", NULL), 2);
    assert_error(f, 405, "METHOD_NOT_ALLOWED");
    assert_string_equal(reply_header(f, "Allow"), "GET, HEAD, PATCH, DELETE");

    assert_int_equal(dispatch(f, "POST", "/", NULL), 0);
    assert_string_equal(reply_header(f, "Allow"), "GET, HEAD");

    assert_int_equal(dispatch(f, "GET", "/json", NULL), 7);
    assert_string_equal(reply_header(f, "Allow"), "POST");

    assert_int_equal(dispatch(f, "BREW", "/items", NULL), 1);
    assert_error(f, 405, "METHOD_NOT_ALLOWED");
    assert_int_equal(seen.handler, 0);
}

static void test_allow_string(void **state)
{
    char out[80];
    router_allow_string(HTTP_GET | HTTP_POST, out, sizeof(out));
    assert_string_equal(out, "GET, HEAD, POST");
    router_allow_string(HTTP_DELETE | HTTP_PUT | HTTP_OPTIONS, out, sizeof(out));
    assert_string_equal(out, "PUT, DELETE, OPTIONS");
    router_allow_string(HTTP_HEAD, out, sizeof(out));
    assert_string_equal(out, "HEAD");
    router_allow_string(0, out, sizeof(out));
    assert_string_equal(out, "");
    /* Too small: whole names only, never a cut one. */
    char small[8];
    router_allow_string(HTTP_GET | HTTP_POST, small, sizeof(small));
    assert_string_equal(small, "GET");
}

static void test_head_matches_get(void **state)
{
    struct fix *f = *state;
    assert_served_by(f, 1, dispatch(f, "HEAD", "/items", NULL));
    assert_served_by(f, 4, dispatch(f, "HEAD", "/items/1/notes/2", NULL));
    /* ...but not routes without GET. */
    assert_int_equal(dispatch(f, "HEAD", "/json", NULL), 7);
    assert_error(f, 405, "METHOD_NOT_ALLOWED");
    assert_int_equal(seen.handler, 0);
}

static void test_handler_errors_mapped(void **state)
{
    struct fix *f = *state;
    static const struct {
        int code, status;
        const char *api;
    } cases[] = {
        {ERR_INVALID, 400, "VALIDATION_ERROR"},  {ERR_UNAUTHORIZED, 401, "UNAUTHORIZED"},
        {ERR_FORBIDDEN, 403, "FORBIDDEN"},       {ERR_NOT_FOUND, 404, "NOT_FOUND"},
        {ERR_CONFLICT, 409, "CONFLICT"},         {ERR_RATE_LIMITED, 429, "RATE_LIMITED"},
        {ERR_TOO_BIG, 413, "PAYLOAD_TOO_LARGE"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        seen.fail_code = cases[i].code;
        seen.fail_msg = "email is taken";
        assert_int_equal(dispatch(f, "GET", "/fail", NULL), 9);
        assert_int_equal(seen.handler, 1);
        const char *msg = assert_error(f, cases[i].status, cases[i].api);
        assert_string_equal(msg, "email is taken");
    }
    /* A code with no message gets the code's name. */
    seen.fail_code = ERR_CONFLICT;
    seen.fail_msg = NULL;
    dispatch(f, "GET", "/fail", NULL);
    assert_string_equal(assert_error(f, 409, "CONFLICT"), "conflict");
}

static void test_5xx_hides_detail(void **state)
{
    struct fix *f = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    log_set_fd(fds[1]);

    seen.fail_code = ERR_DB;
    seen.fail_msg = "UNIQUE constraint failed: secret_table.col";
    assert_int_equal(dispatch(f, "GET", "/fail", NULL), 9);
    const char *msg = assert_error(f, 500, "INTERNAL");
    assert_not_contains(msg, "secret_table");
    assert_not_contains(msg, "UNIQUE");
    assert_contains(msg, "req-42");

    seen.fail_code = ERR_TEMPORARY;
    seen.fail_msg = "upstream said: token=abc";
    dispatch(f, "GET", "/fail", NULL);
    msg = assert_error(f, 503, "UNAVAILABLE");
    assert_not_contains(msg, "token=abc");

    seen.fail_code = ERR_UNSUPPORTED;
    seen.fail_msg = "pg backend missing";
    dispatch(f, "GET", "/fail", NULL);
    assert_not_contains(assert_error(f, 501, "NOT_IMPLEMENTED"), "pg backend");

    /* The detail is not lost: it is in the server log. */
    log_set_fd(2);
    close(fds[1]);
    char *log = unit_read_fd(fds[0]);
    close(fds[0]);
    assert_contains(log, "UNIQUE constraint failed: secret_table.col");
    assert_contains(log, "http.handler_error");
    assert_contains(log, "token=abc");
    free(log);
}

static void test_private_without_guard_is_401(void **state)
{
    struct fix *f = *state;
    assert_int_equal(dispatch(f, "GET", "/private", NULL), 6);
    assert_int_equal(seen.handler, 0);
    assert_error(f, 401, "UNAUTHORIZED");
    dispatch(f, "GET", "/ws", NULL);
    assert_error(f, 401, "UNAUTHORIZED");
    dispatch(f, "POST", "/write", NULL);
    assert_error(f, 401, "UNAUTHORIZED");
    /* Authentication comes before the body is even parsed. */
    set_header(f, "Content-Type", "application/json");
    dispatch(f, "POST", "/private/json", "{not json");
    assert_error(f, 401, "UNAUTHORIZED");
    assert_int_equal(seen.handler, 0);
}

static int guard(void *ctx, struct http_req *req, struct errinfo *e)
{
    seen.guard++;
    seen.guard_ctx = ctx;
    if (http_req_header(req, "X-Allow"))
        return 0;
    return failf(e, ERR_FORBIDDEN, "guard says no");
}

static void test_guard(void **state)
{
    struct fix *f = *state;
    int marker;
    router_set_guard(f->rt, guard, &marker);

    assert_int_equal(dispatch(f, "GET", "/private", NULL), 6);
    assert_int_equal(seen.guard, 1);
    assert_ptr_equal(seen.guard_ctx, &marker);
    assert_int_equal(seen.handler, 0);
    assert_string_equal(assert_error(f, 403, "FORBIDDEN"), "guard says no");

    set_header(f, "X-Allow", "1");
    assert_served_by(f, 6, dispatch(f, "GET", "/private", NULL));
    assert_int_equal(seen.guard, 2);
    assert_served_by(f, 10, dispatch(f, "GET", "/ws", NULL));
    assert_served_by(f, 11, dispatch(f, "POST", "/write", NULL));
    assert_int_equal(seen.guard, 4);

    /* Public routes never reach the guard. */
    assert_served_by(f, 1, dispatch(f, "GET", "/items", NULL));
    dispatch(f, "POST", "/json", "{}");
    assert_int_equal(seen.guard, 4);
}

static void test_json_malformed(void **state)
{
    struct fix *f = *state;
    set_header(f, "Content-Type", "application/json");
    static const char *const bad[] = {"{bad", "", "{\"a\":1,}", "{\"a\":1,\"a\":2}", "{} {}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(dispatch(f, "POST", "/json", bad[i]), 7);
        assert_int_equal(seen.handler, 0);
        const char *msg = assert_error(f, 400, "VALIDATION_ERROR");
        assert_contains(msg, "malformed JSON");
    }
}

static void test_json_not_object(void **state)
{
    struct fix *f = *state;
    set_header(f, "Content-Type", "application/json");
    assert_int_equal(dispatch(f, "POST", "/json", "[1,2]"), 7);
    assert_int_equal(seen.handler, 0);
    assert_contains(assert_error(f, 400, "VALIDATION_ERROR"), "must be a JSON object");
    dispatch(f, "POST", "/json", "\"str\"");
    assert_error(f, 400, "VALIDATION_ERROR");
    dispatch(f, "POST", "/json", "42");
    assert_error(f, 400, "VALIDATION_ERROR");
    assert_int_equal(seen.handler, 0);
}

static void test_json_content_type(void **state)
{
    struct fix *f = *state;
    /* No Content-Type at all. */
    dispatch(f, "POST", "/json", "{\"name\":\"x\"}");
    assert_contains(assert_error(f, 400, "VALIDATION_ERROR"), "Content-Type: application/json");
    assert_int_equal(seen.handler, 0);

    static const char *const wrong[] = {"text/plain", "application/jsonp",
                                        "application/x-www-form-urlencoded", "application/jso"};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        f->nheaders = 0;
        set_header(f, "Content-Type", wrong[i]);
        dispatch(f, "POST", "/json", "{\"name\":\"x\"}");
        assert_error(f, 400, "VALIDATION_ERROR");
        assert_int_equal(seen.handler, 0);
    }
    static const char *const right[] = {"application/json", "application/json; charset=utf-8",
                                        "Application/JSON"};
    for (size_t i = 0; i < sizeof(right) / sizeof(right[0]); i++) {
        f->nheaders = 0;
        set_header(f, "content-type", right[i]);
        assert_int_equal(dispatch(f, "POST", "/json", "{\"name\":\"x\"}"), 7);
        if (seen.handler != 1)
            fail_msg("Content-Type \"%s\" refused: %s", right[i], buf_str(&f->rep.body));
    }
}

static void test_json_good(void **state)
{
    struct fix *f = *state;
    set_header(f, "Content-Type", "application/json");
    assert_int_equal(dispatch(f, "POST", "/json", "{\"name\":\"Ada \\u00e9\",\"n\":[1,2]}"), 7);
    assert_int_equal(seen.handler, 1);
    assert_int_equal(f->rep.status, 204);
    assert_string_equal(seen.json_name, "Ada \xc3\xa9");
    /* Parsed once: a second call returns the same tree. */
    struct json_t *first = f->req.json;
    assert_non_null(first);
    struct errinfo e;
    assert_int_equal(http_req_parse_json(&f->req, &e), 0);
    assert_ptr_equal(f->req.json, first);
}

static int fallback(void *ctx, struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    seen.fallback++;
    if (strcmp(req->path, "/static.txt") == 0) {
        rep->status = 200;
        rep->content_type = "text/plain";
        buf_puts(&rep->body, "static");
        return 0;
    }
    if (strcmp(req->path, "/forbidden.txt") == 0)
        return failf(e, ERR_FORBIDDEN, "not yours");
    return ERR_NOT_FOUND;
}

static void test_fallback(void **state)
{
    struct fix *f = *state;
    router_set_fallback(f->rt, fallback, NULL);

    assert_int_equal(dispatch(f, "GET", "/nothing", NULL), -1);
    assert_int_equal(seen.fallback, 1);
    assert_error(f, 404, "NOT_FOUND");
    dispatch(f, "HEAD", "/nothing", NULL);
    assert_int_equal(seen.fallback, 2);
    assert_error(f, 404, "NOT_FOUND");

    assert_int_equal(dispatch(f, "GET", "/static.txt", NULL), -1);
    assert_int_equal(seen.fallback, 3);
    assert_int_equal(f->rep.status, 200);
    assert_string_equal(buf_str(&f->rep.body), "static");

    dispatch(f, "GET", "/forbidden.txt", NULL);
    assert_string_equal(assert_error(f, 403, "FORBIDDEN"), "not yours");
    assert_int_equal(seen.fallback, 4);

    /* Only GET and HEAD fall back; matched paths never do. */
    dispatch(f, "POST", "/static.txt", NULL);
    assert_error(f, 404, "NOT_FOUND");
    dispatch(f, "DELETE", "/nothing", NULL);
    dispatch(f, "DELETE", "/items", NULL);
    assert_error(f, 405, "METHOD_NOT_ALLOWED");
    assert_served_by(f, 1, dispatch(f, "GET", "/items", NULL));
    assert_int_equal(seen.fallback, 4);
}

static void test_match_and_table(void **state)
{
    struct fix *f = *state;
    assert_int_equal(router_count(f->rt), NROUTES);
    assert_ptr_equal(router_route(f->rt, 5), &routes[5]);
    assert_null(router_route(f->rt, NROUTES));

    struct http_req req;
    unsigned allow = 0;
    memset(&req, 0, sizeof(req));
    req.method = HTTP_GET;
    req.path = "/items/7/notes/8";
    assert_int_equal(router_match(f->rt, &req, &allow), 0);
    assert_ptr_equal(req.route, &routes[4]);
    assert_int_equal(req.nparams, 2);
    assert_true(str_eq_cstr(req.params[1], "8"));

    req.path = "/zzz";
    assert_int_equal(router_match(f->rt, &req, &allow), ERR_NOT_FOUND);
    req.method = HTTP_DELETE;
    req.path = "/items";
    assert_int_equal(router_match(f->rt, &req, &allow), ERR_METHOD);
    assert_int_equal(allow, HTTP_GET | HTTP_POST);
}

static void test_more_params_than_slots(void **state)
{
    static const struct route many[] = {
        {HTTP_GET, "/m/{a}/{b}/{c}/{d}/{e}/{f}", ROUTE_PUBLIC, h_named},
    };
    struct router *rt = router_new();
    router_add(rt, many, 1);
    router_add(rt, routes, 2); /* adding twice grows the table */
    assert_int_equal(router_count(rt), 3);
    struct http_req req;
    unsigned allow;
    memset(&req, 0, sizeof(req));
    req.method = HTTP_GET;
    req.path = "/m/1/2/3/4/5/6";
    assert_int_equal(router_match(rt, &req, &allow), 0);
    assert_int_equal(req.nparams, HTTP_MAX_PARAMS);
    assert_true(str_eq_cstr(req.params[HTTP_MAX_PARAMS - 1], "4"));
    req.path = "/items";
    assert_int_equal(router_match(rt, &req, &allow), 0);
    assert_ptr_equal(req.route, &routes[1]);
    router_free(rt);
    router_free(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest tests[] = {
    T(test_exact_match),
    T(test_param_capture),
    T(test_param_suffix),
    T(test_mismatch_is_404),
    T(test_method_not_allowed),
    cmocka_unit_test(test_allow_string),
    T(test_head_matches_get),
    T(test_handler_errors_mapped),
    T(test_5xx_hides_detail),
    T(test_private_without_guard_is_401),
    T(test_guard),
    T(test_json_malformed),
    T(test_json_not_object),
    T(test_json_content_type),
    T(test_json_good),
    T(test_fallback),
    T(test_match_and_table),
    cmocka_unit_test(test_more_params_than_slots),
};

UNIT_GROUP(unit_http_router, "http/router", tests);
