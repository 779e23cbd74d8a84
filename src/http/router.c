/*
 * Route matching and dispatch. Patterns are split into segments once, when
 * routes are added; matching a request walks the path without copying it.
 */
#include "http/router.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/mem.h"
#include "http/reply.h"

enum { ROUTE_MAX_SEGS = 10 };

struct seg {
    struct str lit; /* literal segment, or the suffix after a {param} */
    bool param;     /* {name}[suffix] */
};

struct compiled {
    const struct route *r;
    struct seg segs[ROUTE_MAX_SEGS];
    int nsegs;
};

struct router {
    struct compiled *routes;
    size_t n, cap;
    router_fallback fallback;
    void *fallback_ctx;
    router_guard guard;
    void *guard_ctx;
};

struct router *router_new(void)
{
    return XNEW(struct router);
}

void router_free(struct router *rt)
{
    if (!rt)
        return;
    free(rt->routes);
    free(rt);
}

static void compile(struct compiled *c, const struct route *r)
{
    struct str s = str_from(r->pattern), seg;
    memset(c, 0, sizeof(*c));
    c->r = r;
    if (s.len == 0 || s.p[0] != '/')
        abort(); /* a pattern must start with '/': a bug in a route table */
    s.p++;
    s.len--;
    if (s.len == 0)
        return; /* "/" has no segments */
    bool more;
    do {
        more = str_split(&s, '/', &seg);
        if (c->nsegs == ROUTE_MAX_SEGS)
            abort();
        struct seg *g = &c->segs[c->nsegs++];
        if (seg.len > 1 && seg.p[0] == '{') {
            const char *close = memchr(seg.p, '}', seg.len);
            if (!close)
                abort();
            g->param = true;
            g->lit.p = close + 1;
            g->lit.len = seg.len - (size_t)(close + 1 - seg.p);
        } else {
            g->lit = seg;
        }
    } while (more);
}

void router_add(struct router *rt, const struct route *routes, size_t n)
{
    if (rt->n + n > rt->cap) {
        rt->cap = (rt->n + n) * 2;
        rt->routes = xrealloc(rt->routes, rt->cap * sizeof(*rt->routes));
    }
    for (size_t i = 0; i < n; i++)
        compile(&rt->routes[rt->n++], &routes[i]);
}

void router_set_fallback(struct router *rt, router_fallback fn, void *ctx)
{
    rt->fallback = fn;
    rt->fallback_ctx = ctx;
}

void router_set_guard(struct router *rt, router_guard fn, void *ctx)
{
    rt->guard = fn;
    rt->guard_ctx = ctx;
}

size_t router_count(const struct router *rt)
{
    return rt->n;
}

const struct route *router_route(const struct router *rt, size_t i)
{
    return i < rt->n ? rt->routes[i].r : NULL;
}

/* Matches path segments against c; fills params on success. */
static bool match_path(const struct compiled *c, struct str path, struct str *params, int *np)
{
    struct str seg;
    int i = 0, n = 0;
    if (path.len == 0 || path.p[0] != '/')
        return false;
    path.p++;
    path.len--;
    if (path.len == 0)
        return c->nsegs == 0;
    bool more;
    do {
        more = str_split(&path, '/', &seg);
        if (i >= c->nsegs)
            return false;
        const struct seg *g = &c->segs[i++];
        if (!g->param) {
            if (!str_eq(seg, g->lit))
                return false;
            continue;
        }
        /* {param}suffix: a non-empty value followed by the literal suffix. */
        if (seg.len <= g->lit.len)
            return false;
        struct str tail = {seg.p + seg.len - g->lit.len, g->lit.len};
        if (!str_eq(tail, g->lit))
            return false;
        if (n < HTTP_MAX_PARAMS)
            params[n++] = (struct str){seg.p, seg.len - g->lit.len};
    } while (more);
    if (i != c->nsegs)
        return false;
    *np = n;
    return true;
}

/* The index of the matching route; for ERR_METHOD, *path_idx is the first
 * route whose path matched (so a 405 is counted under that route). */
static int match_index(const struct router *rt, struct http_req *req, unsigned *allow,
                       int *path_idx)
{
    struct str path = str_from(req->path);
    unsigned m = req->method == HTTP_HEAD ? HTTP_GET | HTTP_HEAD : req->method;
    *allow = 0;
    for (size_t i = 0; i < rt->n; i++) {
        const struct compiled *c = &rt->routes[i];
        struct str params[HTTP_MAX_PARAMS];
        int np = 0;
        if (!match_path(c, path, params, &np))
            continue;
        if (!(c->r->methods & m)) {
            if (!*allow)
                *path_idx = (int)i;
            *allow |= c->r->methods;
            continue;
        }
        req->route = c->r;
        memcpy(req->params, params, sizeof(params));
        req->nparams = np;
        return (int)i;
    }
    return *allow ? ERR_METHOD : ERR_NOT_FOUND;
}

int router_match(const struct router *rt, struct http_req *req, unsigned *allow)
{
    int path_idx = -1;
    int rc = match_index(rt, req, allow, &path_idx);
    return rc < 0 ? rc : 0;
}

void router_allow_string(unsigned methods, char *out, size_t n)
{
    static const enum http_method order[] = {HTTP_GET,   HTTP_HEAD,   HTTP_POST,   HTTP_PUT,
                                             HTTP_PATCH, HTTP_DELETE, HTTP_OPTIONS};
    size_t used = 0;
    out[0] = '\0';
    if (methods & HTTP_GET)
        methods |= HTTP_HEAD;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (!(methods & order[i]))
            continue;
        int k =
            snprintf(out + used, n - used, "%s%s", used ? ", " : "", http_method_name(order[i]));
        if (k < 0 || (size_t)k >= n - used) {
            out[used] = '\0'; /* drop the name that did not fit whole */
            break;
        }
        used += (size_t)k;
    }
}

static void json_cleanup(void *p)
{
    json_decref(p);
}

/*
 * Parses the body of a ROUTE_JSON request: it must be declared as JSON and be
 * one JSON object. Errors say where the text went wrong.
 */
int http_req_parse_json(struct http_req *req, struct errinfo *e)
{
    if (req->json)
        return 0;
    const char *ct = http_req_header(req, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0 || (ct[16] && ct[16] != ';'))
        return failf(e, ERR_INVALID, "the body must be JSON (Content-Type: application/json)");
    json_error_t jerr;
    json_t *v = json_loadb(req->body.data ? req->body.data : "", req->body.len,
                           JSON_REJECT_DUPLICATES, &jerr);
    if (!v)
        return failf(e, ERR_INVALID, "malformed JSON at line %d, column %d: %s", jerr.line,
                     jerr.column, jerr.text);
    arena_cleanup_add(req->arena, json_cleanup, v);
    if (!json_is_object(v))
        return failf(e, ERR_INVALID, "the body must be a JSON object");
    req->json = v;
    return 0;
}

/* Fills rep with the error envelope for rc; hides internal details. */
static void dispatch_error(struct http_req *req, struct http_reply *rep, int rc,
                           const struct errinfo *e)
{
    int status = reply_status_for(rc);
    if (status >= 500) {
        log_msg(LOG_ERROR, "http.handler_error", "%s %s failed (%s): %s", req->method_name,
                req->path, err_name(rc), e->msg[0] ? e->msg : "no detail");
        char msg[160];
        snprintf(msg, sizeof(msg), "internal error; the server log has the details (request %s)",
                 req->request_id ? req->request_id : "-");
        reply_error(rep, rc, msg);
        return;
    }
    reply_error(rep, rc, e->msg[0] ? e->msg : err_name(rc));
}

int router_dispatch(const struct router *rt, struct http_req *req, struct http_reply *rep)
{
    struct errinfo e;
    unsigned allow = 0;
    errinfo_clear(&e);
    int path_idx = -1;
    int idx = match_index(rt, req, &allow, &path_idx);
    if (idx == ERR_METHOD) {
        char *a = arena_alloc(req->arena, 80);
        router_allow_string(allow, a, 80);
        failf(&e, ERR_METHOD, "%s is not allowed on %s (allowed: %s)", req->method_name, req->path,
              a);
        dispatch_error(req, rep, ERR_METHOD, &e);
        http_reply_header(rep, "Allow", a);
        return path_idx;
    }
    if (idx == ERR_NOT_FOUND) {
        int rc = ERR_NOT_FOUND;
        if (rt->fallback && (req->method == HTTP_GET || req->method == HTTP_HEAD))
            rc = rt->fallback(rt->fallback_ctx, req, rep, &e);
        if (rc == ERR_NOT_FOUND && !e.msg[0])
            failf(&e, ERR_NOT_FOUND, "no route for %s %s", req->method_name, req->path);
        if (rc)
            dispatch_error(req, rep, rc, &e);
        return -1;
    }
    const struct route *r = req->route;
    int rc = 0;
    if (r->flags & (ROUTE_AUTH | ROUTE_WORKSPACE | ROUTE_WRITE)) {
        if (rt->guard)
            rc = rt->guard(rt->guard_ctx, req, &e);
        else
            rc = failf(&e, ERR_UNAUTHORIZED, "sign-in required");
    }
    if (!rc && (r->flags & ROUTE_JSON))
        rc = http_req_parse_json(req, &e);
    if (!rc)
        rc = r->fn(req, rep, &e);
    if (rc)
        dispatch_error(req, rep, rc, &e);
    return idx;
}
