/*
 * The request and reply seen by route handlers. Nothing here depends on the
 * HTTP library: http/server.c fills a struct http_req from the connection and
 * turns the struct http_reply into a response, so handlers and the router can
 * be driven directly by unit tests.
 */
#ifndef LEADFLOW_HTTP_HTTP_H
#define LEADFLOW_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/str.h"

enum http_method {
    HTTP_GET = 1 << 0,
    HTTP_HEAD = 1 << 1,
    HTTP_POST = 1 << 2,
    HTTP_PUT = 1 << 3,
    HTTP_PATCH = 1 << 4,
    HTTP_DELETE = 1 << 5,
    HTTP_OPTIONS = 1 << 6,
    HTTP_OTHER = 1 << 7,
};

enum { HTTP_MAX_PARAMS = 4, HTTP_MAX_HEADERS = 12 };

/* What the adapter can look up on the connection for the router. */
enum http_lookup {
    HTTP_LOOKUP_HEADER,
    HTTP_LOOKUP_QUERY,
    HTTP_LOOKUP_COOKIE,
    HTTP_LOOKUP_CLIENT_IP, /* the peer's address as text; the name is ignored */
};

struct route;
struct json_t;    /* jansson's value type */
struct auth_info; /* who is calling: filled by the router's guard (auth/auth.h) */

struct http_req {
    struct arena *arena; /* released when the response is done */
    enum http_method method;
    const char *method_name;
    const char *path; /* decoded path, without the query string */
    const char *request_id;
    struct buf body; /* the request body, at most the configured limit */
    /* The upload route's body is kept in a file instead (body stays empty):
     * its path, or NULL. The adapter removes the file once the reply is
     * sent, unless the handler set body_file_kept (it owns the file then). */
    const char *body_file;
    uint64_t body_file_size;
    bool body_file_kept;
    struct json_t *json; /* the parsed body of a ROUTE_JSON route; owned by the arena */
    const struct route *route;
    struct str params[HTTP_MAX_PARAMS]; /* {name} segments of the route, in order */
    int nparams;
    void *ctx;              /* the application context given to the router; borrowed */
    struct auth_info *auth; /* set by the guard for non-public routes; arena memory */
    /* Adapter hook: a header, query argument or cookie by name, or NULL. */
    const char *(*lookup)(void *conn, enum http_lookup kind, const char *name);
    void *conn;
};

struct http_header {
    const char *name;
    const char *value; /* borrowed; must live as long as the request arena */
};

/*
 * A reply that switches protocols (status 101, RFC 9110 §15.2.2, for
 * WebSocket RFC 6455 §4.2.2). Once the 101 has been sent, the adapter hands
 * the connection's socket over: fn(arg, fd, extra, nextra) owns fd from then
 * on (it closes it with close()); extra are bytes the client sent after the
 * request that the adapter had already read (copy them: they live only
 * during the call). fn runs on a server thread and must not block. When the
 * switch does not happen (an error replaced the reply, the client left
 * first), drop(arg) is called instead: exactly one of the two runs.
 */
struct http_upgrade {
    void (*fn)(void *arg, int fd, const char *extra, size_t nextra);
    void (*drop)(void *arg);
    void *arg;
};

struct http_reply {
    int status;
    const char *content_type;
    struct buf body;
    struct http_header headers[HTTP_MAX_HEADERS];
    int nheaders;
    /* A file body instead of buf: fd is owned by the reply from here on. */
    int fd;
    uint64_t fd_size;
    bool head_only; /* HEAD: send the headers of the GET reply, no body */
    /* Set (fn not NULL) with status 101: the reply owns arg until the adapter
     * takes it, and http_reply_release() drops it if nobody did. */
    struct http_upgrade upgrade;
};

const char *http_req_header(const struct http_req *r, const char *name);
const char *http_req_query(const struct http_req *r, const char *name);
/* A field of an application/x-www-form-urlencoded body (WHATWG URL
 * "application/x-www-form-urlencoded parsing": '+' is a space, %XX a byte),
 * decoded into the request's arena; NULL when absent or when it decodes to a
 * NUL byte. */
const char *http_req_form(const struct http_req *r, const char *name);
const char *http_req_cookie(const struct http_req *r, const char *name);
const char *http_req_client_ip(const struct http_req *r);

/* The method bit for a method name; HTTP_OTHER for unknown ones. */
enum http_method http_method_parse(const char *name);
const char *http_method_name(enum http_method m);

void http_reply_init(struct http_reply *rep, size_t max_body);
/* Frees the body, closes a file body and drops an upgrade nobody took. */
void http_reply_release(struct http_reply *rep);
/* Calls the pending upgrade's drop, if any, and clears it (an error reply
 * replaces a 101). */
void http_reply_drop_upgrade(struct http_reply *rep);
/* Adds a header; returns ERR_TOO_BIG past HTTP_MAX_HEADERS. */
int http_reply_header(struct http_reply *rep, const char *name, const char *value);

#endif
