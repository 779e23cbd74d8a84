/*
 * libcurl adapter for outbound requests.
 */
#include "net/httpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/crypto.h"
#include "base/mem.h"

enum { HTTPC_DEFAULT_TIMEOUT_MS = 10000, HTTPC_DEFAULT_MAX = 4 * 1024 * 1024 };

/* Per-thread handles for requests that ask for reuse: a handle keeps its
 * connections (and TLS sessions) open between requests to the same host. */
static pthread_key_t cached_key;
static pthread_once_t cached_once = PTHREAD_ONCE_INIT;

static void cached_free(void *p)
{
    curl_easy_cleanup(p);
}

static void cached_key_make(void)
{
    pthread_key_create(&cached_key, cached_free);
}

int httpc_global_init(void)
{
    pthread_once(&cached_once, cached_key_make);
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : ERR_INTERNAL;
}

/* A handle for rq: the thread's cached one (reset) or a new one. */
static CURL *handle_get(const struct httpc_req *rq)
{
    if (!rq->reuse)
        return curl_easy_init();
    pthread_once(&cached_once, cached_key_make);
    CURL *c = pthread_getspecific(cached_key);
    if (c) {
        curl_easy_reset(c);
        return c;
    }
    c = curl_easy_init();
    if (c)
        pthread_setspecific(cached_key, c);
    return c;
}

struct sink {
    struct buf *b;
    int err;
};

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    struct sink *s = user;
    size_t len = size * n;
    if (buf_append(s->b, p, len) != 0) {
        s->err = ERR_TOO_BIG;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    return len;
}

void httpc_resp_release(struct httpc_resp *r)
{
    buf_release(&r->body);
}

int httpc_do(const struct httpc_req *rq, struct httpc_resp *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    buf_init(&out->body, rq->max_reply ? rq->max_reply : HTTPC_DEFAULT_MAX);
    if (strncasecmp(rq->url, "http://", 7) != 0 && strncasecmp(rq->url, "https://", 8) != 0)
        return failf(e, ERR_INVALID, "not an http(s) URL");
    CURL *c = handle_get(rq);
    if (!c)
        return failf(e, ERR_INTERNAL, "cannot create an HTTP client handle");
    struct curl_slist *hdrs = NULL;
    for (int i = 0; i < HTTPC_MAX_HEADERS && rq->headers[i]; i++)
        hdrs = curl_slist_append(hdrs, rq->headers[i]);
    struct curl_slist *pin = NULL;
    if (rq->resolve) {
        /* libcurl parses no entry whose host is an IPv6 literal, and needs
         * none: it connects to the literal the URL names. */
        if (rq->resolve[0] != '[') {
            pin = curl_slist_append(NULL, rq->resolve);
            curl_easy_setopt(c, CURLOPT_RESOLVE, pin);
        }
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    }
    struct sink s = {&out->body, 0};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, rq->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     rq->timeout_ms ? rq->timeout_ms : (long)HTTPC_DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "leadflow");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    const char *method = rq->method ? rq->method : "GET";
    if (rq->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    else if (strcmp(method, "POST") == 0 && !rq->body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");

    CURLcode cc = curl_easy_perform(c);
    int rc = 0;
    if (cc != CURLE_OK) {
        if (s.err)
            rc = failf(e, ERR_TOO_BIG, "reply from %s is larger than %zu bytes", rq->url,
                       out->body.max);
        else
            rc = failf(e, ERR_TEMPORARY, "request to %s failed: %s", rq->url,
                       errbuf[0] ? errbuf : curl_easy_strerror(cc));
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        if (ct)
            snprintf(out->content_type, sizeof(out->content_type), "%s", ct);
        curl_off_t ra = 0;
        if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
            out->retry_after_s = ra > 86400 ? 86400 : (long)ra;
        struct curl_header *h = NULL;
        if (rq->want_header &&
            curl_easy_header(c, rq->want_header, 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h)
            snprintf(out->header_value, sizeof(out->header_value), "%s", h->value);
    }
    curl_slist_free_all(hdrs);
    if (rq->resolve) {
        curl_easy_setopt(c, CURLOPT_RESOLVE, NULL);
        curl_easy_setopt(c, CURLOPT_NOPROXY, NULL);
        curl_slist_free_all(pin);
    }
    if (!rq->reuse)
        curl_easy_cleanup(c);
    return rc;
}

int httpc_form_escape(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
        unsigned char ch = *p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            rc = buf_putc(b, (char)ch);
        } else {
            char t[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            rc = buf_append(b, t, 3);
        }
    }
    return rc;
}

int httpc_basic_auth(struct buf *out, const char *client_id, const char *client_secret)
{
    struct buf cred;
    buf_init(&cred, out->max);
    int rc = httpc_form_escape(&cred, client_id);
    rc |= buf_putc(&cred, ':');
    rc |= httpc_form_escape(&cred, client_secret ? client_secret : "");
    size_t need = 4 * ((cred.len + 2) / 3) + 1;
    char *b64 = rc ? NULL : xmalloc(need);
    buf_reset(out);
    if (b64) {
        crypto_b64((const uint8_t *)cred.data, cred.len, b64, need);
        rc = buf_puts(out, "Authorization: Basic ");
        rc |= buf_puts(out, b64);
        crypto_wipe(b64, need);
        free(b64);
    }
    if (cred.data)
        crypto_wipe(cred.data, cred.len);
    buf_release(&cred);
    return rc ? ERR_TOO_BIG : 0;
}

/* ---- SMTP submission ------------------------------------------------------ */

struct reader {
    const char *p;
    size_t left;
};

static size_t on_read(char *out, size_t size, size_t n, void *user)
{
    struct reader *r = user;
    size_t len = size * n;
    if (len > r->left)
        len = r->left;
    memcpy(out, r->p, len);
    r->p += len;
    r->left -= len;
    return len;
}

int httpc_smtp_send(const struct httpc_smtp *m, long *reply_code, struct errinfo *e)
{
    *reply_code = 0;
    bool smtps = strncasecmp(m->url, "smtps://", 8) == 0;
    if (!smtps && strncasecmp(m->url, "smtp://", 7) != 0)
        return failf(e, ERR_INVALID, "not an smtp(s) URL");
    CURL *c = curl_easy_init();
    if (!c)
        return failf(e, ERR_INTERNAL, "cannot create an SMTP client handle");
    struct curl_slist *rcpts = NULL;
    for (size_t i = 0; m->rcpts[i]; i++)
        rcpts = curl_slist_append(rcpts, m->rcpts[i]);
    struct reader r = {m->message, m->message_len};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, m->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    /* smtp://: STARTTLS when the server offers it; smtps:// is TLS from the start. */
    if (!smtps)
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long timeout_ms = m->timeout_ms ? m->timeout_ms : (long)HTTPC_DEFAULT_TIMEOUT_MS;
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
    /* CURLOPT_TIMEOUT_MS ends the transfer, but not the QUIT that
     * curl_easy_cleanup sends: libcurl waits for its reply up to the
     * connection's response timeout (120 s by default), which ignores the
     * transfer's. Bounding every reply by the same limit (in whole seconds:
     * libcurl 7.88 has no millisecond form) keeps a send, QUIT included,
     * under timeout_ms plus that much again. */
    curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, (timeout_ms + 999) / 1000);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, m->from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &r);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->message_len);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, reply_code);
    int rc = 0;
    if (cc != CURLE_OK) {
        if (cc == CURLE_LOGIN_DENIED)
            *reply_code = 0; /* our credentials, not the message: another provider may do */
        rc = failf(e, ERR_TEMPORARY, "SMTP submission failed: %s (last reply %ld)",
                   errbuf[0] ? errbuf : curl_easy_strerror(cc), *reply_code);
    }
    curl_slist_free_all(rcpts);
    curl_easy_cleanup(c);
    return rc;
}
