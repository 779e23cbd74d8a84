/*
 * The HTTP/1.1 server (RFC 9112) on libmicrohttpd: epoll, a thread pool,
 * connection limits (in all and per client address), an inactivity timeout
 * and a deadline for each request head, a request body limit (413), request
 * ids and access logs. One upload route's body can be streamed to a file. This is the only file
 * that includes the HTTP library.
 */
#ifndef LEADFLOW_HTTP_SERVER_H
#define LEADFLOW_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "http/metrics.h"
#include "http/router.h"

struct http_server_opts {
    const char *host; /* numeric IPv4 or IPv6 address */
    int port;         /* 0 picks a free port (see http_server_port) */
    unsigned threads; /* 0: one per core */
    unsigned max_connections;
    unsigned max_per_ip; /* connections from one client address; 0: no limit */
    unsigned timeout_s;  /* a connection without traffic for this long is closed */
    /* A connection whose request head (request line and headers) has not all
     * arrived this long after it opened, or after its previous request ended,
     * is closed, however slowly it keeps sending. Must be > 0. */
    unsigned header_timeout_ms;
    size_t max_body;
    /* These paths (NULL-terminated; the list may be NULL) take bodies up to
     * max_upload instead. */
    const char *const *upload_paths;
    size_t max_upload;
    /* When both are set, a POST to spool_path (one of upload_paths) has its
     * body written to a new file in upload_dir as it arrives
     * (http_req.body_file) rather than kept in memory. */
    const char *spool_path;
    const char *upload_dir;
    const struct router *router;  /* borrowed */
    struct http_metrics *metrics; /* borrowed; may be NULL */
    void *ctx;                    /* handed to handlers as req->ctx */
};

struct http_server;

/* Starts listening and serving; returns NULL with the reason in e. */
struct http_server *http_server_start(const struct http_server_opts *o, struct errinfo *e);
/* The bound port (useful when port 0 was asked for). */
int http_server_port(const struct http_server *s);
/* Stops accepting, finishes or closes connections, frees s. */
void http_server_stop(struct http_server *s);

#endif
