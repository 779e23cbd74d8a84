/*
 * The IMAP client over libcurl (net/imapc.h). libcurl logs in (SASL or
 * LOGIN), selects the folder of a URL (checking ;UIDVALIDITY=) and fetches
 * a message's literal for a ;UID= URL; the other commands are custom
 * requests whose untagged replies (lines without literals) come back as
 * text to parse here.
 */
#include "net/imapc.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/mem.h"

enum {
    LIST_REPLY_MAX = 32 * 1024 * 1024, /* the UID FLAGS lines of ~800,000 messages */
    STATUS_REPLY_MAX = 64 * 1024,
    STORE_CHUNK = 200,          /* UIDs per STORE command */
    DEFAULT_TIMEOUT_MS = 60000, /* per call */
    CONNECT_TIMEOUT_MS = 10000,
};

struct imapc {
    CURL *curl;
    char base[IMAPC_BASE_MAX];
    char user[256];
    char where[IMAPC_BASE_MAX]; /* host:port, for messages */
    struct buf *sink;
    bool too_big;
    char errbuf[CURL_ERROR_SIZE];
};

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    struct imapc *c = arg;
    size_t len = size * n;
    if (buf_append(c->sink, p, len) != 0) {
        c->too_big = true;
        return 0;
    }
    return len;
}

struct imapc *imapc_new(const struct imapc_opts *o, struct errinfo *e)
{
    struct imapc *c = XNEW(struct imapc);
    if (!(c->curl = curl_easy_init())) {
        free(c);
        failf(e, ERR_INTERNAL, "cannot create an IMAP client handle");
        return NULL;
    }
    bool v6 = strchr(o->host, ':') != NULL;
    snprintf(c->base, sizeof(c->base), "%s://%s%s%s:%d/", o->tls == IMAPC_TLS ? "imaps" : "imap",
             v6 ? "[" : "", o->host, v6 ? "]" : "", o->port);
    snprintf(c->user, sizeof(c->user), "%s", o->user);
    snprintf(c->where, sizeof(c->where), "%s%s%s:%d", v6 ? "[" : "", o->host, v6 ? "]" : "",
             o->port);
    long timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    CURL *h = c->curl;
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "imap,imaps");
    curl_easy_setopt(h, CURLOPT_USERNAME, o->user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, o->password);
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     (long)(o->tls == IMAPC_STARTTLS ? CURLUSESSL_ALL : CURLUSESSL_NONE));
    if (o->ca_file && *o->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : (long)CONNECT_TIMEOUT_MS);
    /* Bounds each reply, LOGOUT's at cleanup included (see httpc_smtp_send). */
    curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, (timeout_ms + 999) / 1000);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    return c;
}

void imapc_free(struct imapc *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

/* base + the escaped folder + ;UIDVALIDITY= and ;UID= when not 0. */
static int folder_url(struct imapc *c, const char *folder, uint32_t uidvalidity, uint32_t uid,
                      char *out, size_t n, struct errinfo *e)
{
    char *esc = folder ? curl_easy_escape(c->curl, folder, 0) : NULL;
    if (folder && !esc)
        return failf(e, ERR_INTERNAL, "cannot escape a folder name");
    int len = snprintf(out, n, "%s%s", c->base, esc ? esc : "");
    curl_free(esc);
    if (len > 0 && (size_t)len < n && uidvalidity)
        len += snprintf(out + len, n - (size_t)len, ";UIDVALIDITY=%u", uidvalidity);
    if (len > 0 && (size_t)len < n && uid)
        len += snprintf(out + len, n - (size_t)len, ";UID=%u", uid);
    if (len < 0 || (size_t)len >= n)
        return failf(e, ERR_INVALID, "the folder name is too long");
    return 0;
}

/* One call: url with an optional custom command, the reply into sink. */
static int perform(struct imapc *c, const char *url, const char *command, const char *folder,
                   struct buf *sink, struct errinfo *e)
{
    buf_reset(sink);
    c->sink = sink;
    c->too_big = false;
    c->errbuf[0] = '\0';
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, command);
    CURLcode cc = curl_easy_perform(c->curl);
    c->sink = NULL;
    if (cc == CURLE_OK)
        return 0;
    const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_LOGIN_DENIED:
        /* libcurl says so for a refused SELECT too. */
        if (strstr(why, "Select failed"))
            return failf(e, ERR_NOT_FOUND, "the IMAP server cannot open folder %.100s",
                         folder ? folder : "");
        return failf(e, ERR_UNAUTHORIZED,
                     "the IMAP server refused the login of %.100s: check the user name and "
                     "password (or app password)",
                     c->user);
    case CURLE_REMOTE_FILE_NOT_FOUND:
        if (strstr(why, "UIDVALIDITY"))
            return failf(e, ERR_CONFLICT, "the UIDVALIDITY of folder %.100s changed",
                         folder ? folder : "");
        return failf(e, ERR_NOT_FOUND, "folder %.100s: %.120s", folder ? folder : "", why);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
        return failf(e, ERR_TEMPORARY, "the IMAP server %.100s cannot be reached: %.150s", c->where,
                     why);
    case CURLE_QUOTE_ERROR:
        return failf(e, ERR_INVALID, "the IMAP server refused %.60s", command ? command : "");
    case CURLE_WRITE_ERROR:
        if (c->too_big)
            return failf(e, ERR_TOO_BIG, "the IMAP reply is over %zu bytes", sink->max);
        break;
    case CURLE_USE_SSL_FAILED:
        return failf(e, ERR_FORBIDDEN, "the IMAP server does not offer STARTTLS: %.150s", why);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return failf(e, ERR_FORBIDDEN, "the IMAP server's TLS certificate is not trusted: %.150s",
                     why);
    default:
        break;
    }
    return failf(e, ERR_TEMPORARY, "IMAP %.40s failed: %.160s", command ? command : "FETCH", why);
}

/* The number after "KEY " in s (a STATUS item), 0 when absent. */
static uint32_t item(const char *s, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = s; (p = strstr(p, key)) != NULL; p += k) {
        if ((p == s || p[-1] == '(' || p[-1] == ' ') && p[k] == ' ') {
            unsigned long v = strtoul(p + k + 1, NULL, 10);
            return v > UINT32_MAX ? 0 : (uint32_t)v;
        }
    }
    return 0;
}

int imapc_status(struct imapc *c, const char *folder, struct imapc_status *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    char url[IMAPC_BASE_MAX], cmd[IMAPC_FOLDER_MAX + 64];
    int rc = folder_url(c, NULL, 0, 0, url, sizeof(url), e);
    if (rc)
        return rc;
    snprintf(cmd, sizeof(cmd), "STATUS \"%s\" (MESSAGES UIDVALIDITY UIDNEXT)", folder);
    struct buf b;
    buf_init(&b, STATUS_REPLY_MAX);
    rc = perform(c, url, cmd, folder, &b, e);
    if (rc == ERR_INVALID)
        rc = failf(e, ERR_NOT_FOUND, "the IMAP server has no folder %.100s", folder);
    if (!rc) {
        const char *s = strstr(buf_str(&b), "* STATUS ");
        const char *items = s ? strchr(s, '(') : NULL;
        if (items) {
            out->messages = strstr(items, "MESSAGES ") ? item(items, "MESSAGES") : UINT32_MAX;
            out->uidvalidity = item(items, "UIDVALIDITY");
            out->uidnext = item(items, "UIDNEXT");
        }
        if (!out->uidvalidity)
            rc = failf(e, ERR_TEMPORARY, "the IMAP server did not tell the UIDVALIDITY of %.100s",
                       folder);
    }
    buf_release(&b);
    return rc;
}

/* Reads "* N FETCH (... UID u ... FLAGS (...) ...)" lines into msgs. */
static void parse_fetch(char *text, uint32_t after, size_t max, struct arena *a,
                        struct imapc_msg **msgs, size_t *n)
{
    size_t lines = 1;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    size_t cap = lines < max ? lines : max;
    *msgs = arena_alloc(a, (cap ? cap : 1) * sizeof(**msgs));
    *n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\r\n", &save); line && *n < cap;
         line = strtok_r(NULL, "\r\n", &save)) {
        const char *f = strstr(line, " FETCH (");
        if (strncmp(line, "* ", 2) != 0 || !f)
            continue;
        uint32_t uid = item(f + 7, "UID");
        if (uid <= after) /* "after+1:*" names the last message even below after */
            continue;
        const char *flags = strstr(f, "FLAGS (");
        const char *end = flags ? strchr(flags, ')') : NULL;
        bool seen = false;
        for (const char *p = flags; p && p < end; p++)
            if (*p == '\\' && strncasecmp(p, "\\Seen", 5) == 0) {
                seen = true;
                break;
            }
        (*msgs)[(*n)++] = (struct imapc_msg){uid, seen};
    }
}

int imapc_list(struct imapc *c, const char *folder, uint32_t uidvalidity, uint32_t after,
               size_t max, struct arena *a, struct imapc_msg **msgs, size_t *n, struct errinfo *e)
{
    *msgs = NULL;
    *n = 0;
    if (after == UINT32_MAX)
        return 0;
    char url[IMAPC_BASE_MAX + IMAPC_FOLDER_MAX * 3], cmd[64];
    int rc = folder_url(c, folder, uidvalidity, 0, url, sizeof(url), e);
    if (rc)
        return rc;
    snprintf(cmd, sizeof(cmd), "UID FETCH %u:* (UID FLAGS)", after + 1);
    struct buf b;
    buf_init(&b, LIST_REPLY_MAX);
    rc = perform(c, url, cmd, folder, &b, e);
    if (!rc && b.len) {
        (void)buf_str(&b); /* terminates b.data */
        parse_fetch(b.data, after, max, a, msgs, n);
    }
    buf_release(&b);
    return rc;
}

int imapc_fetch(struct imapc *c, const char *folder, uint32_t uidvalidity, uint32_t uid,
                struct buf *raw, struct errinfo *e)
{
    char url[IMAPC_BASE_MAX + IMAPC_FOLDER_MAX * 3];
    int rc = folder_url(c, folder, uidvalidity, uid, url, sizeof(url), e);
    if (!rc)
        rc = perform(c, url, NULL, folder, raw, e);
    return rc;
}

int imapc_unsee(struct imapc *c, const char *folder, uint32_t uidvalidity, const uint32_t *uids,
                size_t n, struct errinfo *e)
{
    char url[IMAPC_BASE_MAX + IMAPC_FOLDER_MAX * 3];
    int rc = folder_url(c, folder, uidvalidity, 0, url, sizeof(url), e);
    struct buf cmd, reply;
    buf_init(&cmd, 64 + STORE_CHUNK * 11);
    buf_init(&reply, STATUS_REPLY_MAX);
    for (size_t i = 0; !rc && i < n; i += STORE_CHUNK) {
        buf_reset(&cmd);
        buf_puts(&cmd, "UID STORE ");
        for (size_t k = i; k < n && k < i + STORE_CHUNK; k++)
            buf_printf(&cmd, "%s%u", k > i ? "," : "", uids[k]);
        buf_puts(&cmd, " -FLAGS.SILENT (\\Seen)");
        rc = perform(c, url, buf_str(&cmd), folder, &reply, e);
    }
    buf_release(&cmd);
    buf_release(&reply);
    return rc;
}
