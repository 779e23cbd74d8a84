/*
 * Outbound HTTP(S) requests (RFC 9110) for the provider clients: sign-in,
 * Gmail, the AI provider, mail providers and webhooks. Only http and https,
 * no redirects followed, a total timeout, and a named limit on the reply size.
 * This module is the only one that includes libcurl.
 */
#ifndef LEADFLOW_NET_HTTPC_H
#define LEADFLOW_NET_HTTPC_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

enum { HTTPC_MAX_HEADERS = 16 };

struct httpc_req {
    const char *method; /* "GET" (default when NULL), "POST", ... */
    const char *url;
    const char *headers[HTTPC_MAX_HEADERS]; /* "Name: value", NULL-terminated */
    const char *body;                       /* borrowed; may be NULL */
    size_t body_len;
    long timeout_ms;  /* total; 0 means 10 s */
    size_t max_reply; /* 0 means 4 MiB */
};

struct httpc_resp {
    long status;
    struct buf body; /* owned: release with httpc_resp_release() */
    char content_type[128];
    long retry_after_s; /* Retry-After (RFC 9110 10.2.3) in seconds; 0 when absent */
};

/* Makes process-wide library set-up; call once at start, before threads. */
int httpc_global_init(void);

/*
 * Performs the request. Returns 0 when a reply arrived (any status: check
 * out->status), ERR_TEMPORARY when the host could not be reached or the time
 * ran out, ERR_TOO_BIG when the reply is over the limit, ERR_INVALID for a
 * URL that is not http(s). out is always initialized.
 */
int httpc_do(const struct httpc_req *rq, struct httpc_resp *out, struct errinfo *e);

void httpc_resp_release(struct httpc_resp *r);

/* Appends s to b with application/x-www-form-urlencoded escaping. */
int httpc_form_escape(struct buf *b, const char *s);

#endif
