/*
 * Outbound HTTP(S) requests (RFC 9110) for the provider clients: sign-in,
 * Gmail, the AI provider, mail providers and webhooks. Only http and https,
 * no redirects followed, a total timeout, and a named limit on the reply size.
 * This module and net/imapc.h (IMAP) are the only ones that include libcurl.
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
    long timeout_ms;         /* total; 0 means 10 s */
    size_t max_reply;        /* 0 means 4 MiB */
    const char *want_header; /* a reply header to copy into httpc_resp.header_value, or NULL */
    int reuse; /* non-zero: use the calling thread's cached handle, keeping connections alive */
    /* "host:port:address": connect to address for host:port without asking
     * DNS (CURLOPT_RESOLVE) and through no proxy, so an address checked
     * before the request is the one used. An IPv6 address is in brackets
     * ("host:443:[::1]"), and so is an IPv6 literal host ("[::1]:443:[::1]"):
     * the URL names that address already, so only the proxy is bypassed.
     * NULL: normal resolution. */
    const char *resolve;
};

struct httpc_resp {
    long status;
    struct buf body; /* owned: release with httpc_resp_release() */
    char content_type[128];
    long retry_after_s;     /* Retry-After (RFC 9110 10.2.3) in seconds; 0 when absent */
    char header_value[256]; /* the value of httpc_req.want_header; "" when absent */
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

/*
 * The header line "Authorization: Basic ..." of an OAuth client (RFC 6749
 * §2.3.1: id and secret each form-urlencoded, then joined by ":" and
 * base64-encoded) into out, replacing what it held. Returns 0, or
 * ERR_TOO_BIG when the credentials are longer than out's limit. The
 * caller wipes out after use: it holds the secret.
 */
int httpc_basic_auth(struct buf *out, const char *client_id, const char *client_secret);

/* ---- SMTP submission (RFC 5321, RFC 3207 STARTTLS, RFC 4954 AUTH) ---- */

struct httpc_smtp {
    const char *url;  /* smtp://[user:pass@]host[:port] (STARTTLS when offered) or smtps:// */
    const char *from; /* envelope sender (MAIL FROM) */
    const char *const *rcpts; /* envelope recipients (RCPT TO), NULL-terminated */
    const char *message;      /* the RFC 5322 message, CRLF line ends; borrowed */
    size_t message_len;
    long timeout_ms; /* each reply and the transfer; 0 means 10 s. A send, QUIT included, ends
                        within twice this (rounded up to a second) */
};

/*
 * Submits one message. Returns 0 when the server accepted it; otherwise
 * ERR_TEMPORARY (with *reply_code the server's last reply, 0 when none came:
 * the host could not be reached, TLS or the time ran out), or ERR_INVALID for
 * a URL that is not smtp(s). The caller judges the reply code.
 */
int httpc_smtp_send(const struct httpc_smtp *m, long *reply_code, struct errinfo *e);

#endif
