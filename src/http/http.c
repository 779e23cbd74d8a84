/*
 * Request accessors and reply lifecycle, independent of the HTTP library.
 */
#include "http/http.h"

#include <string.h>
#include <unistd.h>

#include "base/arena.h"

static const struct {
    enum http_method m;
    const char *name;
} methods[] = {
    {HTTP_GET, "GET"},     {HTTP_HEAD, "HEAD"},     {HTTP_POST, "POST"},       {HTTP_PUT, "PUT"},
    {HTTP_PATCH, "PATCH"}, {HTTP_DELETE, "DELETE"}, {HTTP_OPTIONS, "OPTIONS"},
};

enum http_method http_method_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(name, methods[i].name) == 0)
            return methods[i].m;
    return HTTP_OTHER;
}

const char *http_method_name(enum http_method m)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (methods[i].m == m)
            return methods[i].name;
    return "OTHER";
}

static const char *req_lookup(const struct http_req *r, enum http_lookup kind, const char *name)
{
    return r->lookup ? r->lookup(r->conn, kind, name) : NULL;
}

const char *http_req_header(const struct http_req *r, const char *name)
{
    return req_lookup(r, HTTP_LOOKUP_HEADER, name);
}

const char *http_req_query(const struct http_req *r, const char *name)
{
    return req_lookup(r, HTTP_LOOKUP_QUERY, name);
}

const char *http_req_cookie(const struct http_req *r, const char *name)
{
    return req_lookup(r, HTTP_LOOKUP_COOKIE, name);
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes one name or value of a form body into a (NULL when it decodes
 * to a NUL byte, which no field of ours may hold). */
static char *form_decode(struct arena *a, const char *p, size_t n)
{
    char *out = arena_alloc(a, n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (p[i] == '+') {
            out[k++] = ' ';
        } else if (p[i] == '%' && i + 2 < n && (hi = hex_val(p[i + 1])) >= 0 &&
                   (lo = hex_val(p[i + 2])) >= 0) {
            out[k++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[k++] = p[i];
        }
        if (k && out[k - 1] == '\0')
            return NULL;
    }
    out[k] = '\0';
    return out;
}

const char *http_req_form(const struct http_req *r, const char *name)
{
    const char *p = r->body.data, *end = p ? p + r->body.len : NULL;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *kend = eq ? eq : stop;
        char *key = form_decode(r->arena, p, (size_t)(kend - p));
        if (key && strcmp(key, name) == 0)
            return eq ? form_decode(r->arena, eq + 1, (size_t)(stop - eq - 1)) : "";
        p = stop + 1;
    }
    return NULL;
}

const char *http_req_client_ip(const struct http_req *r)
{
    const char *ip = req_lookup(r, HTTP_LOOKUP_CLIENT_IP, "");
    return ip ? ip : "";
}

void http_reply_init(struct http_reply *rep, size_t max_body)
{
    memset(rep, 0, sizeof(*rep));
    buf_init(&rep->body, max_body);
    rep->status = 200;
    rep->content_type = "application/json";
    rep->fd = -1;
}

void http_reply_drop_upgrade(struct http_reply *rep)
{
    struct http_upgrade u = rep->upgrade;
    memset(&rep->upgrade, 0, sizeof(rep->upgrade));
    if (u.fn && u.drop)
        u.drop(u.arg);
}

void http_reply_release(struct http_reply *rep)
{
    http_reply_drop_upgrade(rep);
    buf_release(&rep->body);
    if (rep->fd >= 0)
        close(rep->fd);
    rep->fd = -1;
}

int http_reply_header(struct http_reply *rep, const char *name, const char *value)
{
    if (rep->nheaders >= HTTP_MAX_HEADERS)
        return ERR_TOO_BIG;
    rep->headers[rep->nheaders].name = name;
    rep->headers[rep->nheaders].value = value;
    rep->nheaders++;
    return 0;
}
