/*
 * Static files of the dashboard (web/), served for GET and HEAD requests no
 * route matched. Paths are resolved inside the root only: no "..", no hidden
 * files, no symlink leading out. "/x" is tried as x, x.html and x/index.html;
 * any path under /dashboard/ without a file of its own gets
 * dashboard/index.html, so the dashboard's client-side routes load.
 */
#ifndef LEADFLOW_HTTP_STATIC_H
#define LEADFLOW_HTTP_STATIC_H

#include "http/http.h"

struct static_files;

/* The Content-Security-Policy of every HTML page served. */
#define STATIC_CSP                                                                                 \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "             \
    "form-action 'self'"

/* Returns NULL (with the reason in e) when root is not a readable directory. */
struct static_files *static_files_new(const char *root, struct errinfo *e);
void static_files_free(struct static_files *sf);

/* A router fallback: fills rep with the file, or returns ERR_NOT_FOUND. */
int static_files_serve(void *sf, struct http_req *req, struct http_reply *rep, struct errinfo *e);

#endif
