/*
 * The route table and the router (after Redis's command table): each route
 * names a method, a path pattern with {param} segments, flags and a handler.
 * The router matches a request, checks what the flags demand before the
 * handler runs, and maps a handler's error code to the error envelope.
 * Unknown paths are 404 (or the static-file fallback), known paths with
 * another method are 405 with an Allow header.
 */
#ifndef LEADFLOW_HTTP_ROUTER_H
#define LEADFLOW_HTTP_ROUTER_H

#include <stddef.h>

#include "http/http.h"

enum route_flag {
    ROUTE_PUBLIC = 0,         /* no authentication */
    ROUTE_AUTH = 1 << 0,      /* a signed-in user or an API token */
    ROUTE_WORKSPACE = 1 << 1, /* resolves workspaceId and checks membership */
    ROUTE_WRITE = 1 << 2,     /* changes state: CSRF check, viewers refused */
    ROUTE_NOBODY = 1 << 3,    /* the route never reads a body */
    ROUTE_TEXT = 1 << 4,      /* replies are not JSON envelopes (pages, metrics) */
    ROUTE_JSON = 1 << 5,      /* the body is a JSON object, parsed into req->json */
    ROUTE_SECRET = 1 << 6,    /* the path carries a bearer token: logs show the pattern */
};

/*
 * Fills rep and returns 0, or returns an ERR_* code (with the message in e)
 * that the router turns into the error envelope.
 */
typedef int (*route_handler)(struct http_req *req, struct http_reply *rep, struct errinfo *e);

struct route {
    unsigned methods; /* enum http_method bits */
    const char *pattern;
    unsigned flags;
    route_handler fn;
};

struct router;

/* Runs for any request no route matched (static files); returns ERR_NOT_FOUND to decline. */
typedef int (*router_fallback)(void *ctx, struct http_req *req, struct http_reply *rep,
                               struct errinfo *e);

/*
 * Checks what a route's flags demand (authentication, CSRF, workspace
 * membership) before its handler runs; returns 0 to go on or an ERR_* code.
 * Without a guard, every route that is not ROUTE_PUBLIC answers 401.
 */
typedef int (*router_guard)(void *ctx, struct http_req *req, struct errinfo *e);

struct router *router_new(void);
void router_free(struct router *rt);

/* Adds n routes; the table is borrowed and must outlive the router. */
void router_add(struct router *rt, const struct route *routes, size_t n);
void router_set_fallback(struct router *rt, router_fallback fn, void *ctx);
void router_set_guard(struct router *rt, router_guard fn, void *ctx);

/* The number of routes, and route i (for metrics and generated tests). */
size_t router_count(const struct router *rt);
const struct route *router_route(const struct router *rt, size_t i);

/*
 * Finds the route for req->method and req->path, filling req->route and
 * req->params. Returns 0; ERR_NOT_FOUND when no pattern matches; ERR_METHOD
 * when a pattern matches another method, with the allowed bits in *allow.
 */
int router_match(const struct router *rt, struct http_req *req, unsigned *allow);

/*
 * Serves req into rep: match, flag checks, handler, error envelope. Always
 * leaves a complete reply in rep. Returns the index of the route the path
 * matched (also for a 405), or -1 when no route's path matched.
 */
int router_dispatch(const struct router *rt, struct http_req *req, struct http_reply *rep);

/*
 * Parses req's body as one JSON object into req->json (once; later calls
 * return the same). Returns 0 or ERR_INVALID with the reason in e.
 */
int http_req_parse_json(struct http_req *req, struct errinfo *e);

/* The Allow header value for a set of method bits ("GET, HEAD, POST"). */
void router_allow_string(unsigned methods, char *out, size_t n);

#endif
