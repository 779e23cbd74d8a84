/*
 * DKIM signing (RFC 6376 §3.5, §3.7, §5) with relaxed/relaxed
 * canonicalization, rsa-sha256 and ed25519-sha256 (RFC 8463). The key is
 * parsed and used through base/crypto.h; this file only builds the bytes
 * that are hashed and the header that carries the result.
 */
#include "mail/dkim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crypto.h"
#include "base/mem.h"

struct dkim_signer {
    struct crypto_key *key;
    char selector[DKIM_SELECTOR_MAX + 1];
    char domain[DKIM_DOMAIN_MAX + 1]; /* "" when the From address's domain is used */
};

/* The header fields signed, in h= order (RFC 6376 §5.4.1 recommends these).
 * From is listed once more than it occurs: §8.15 over-signing. */
static const char *const signed_fields[] = {
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
};

enum { MAX_FIELDS = 128 };

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* A DNS label or dotted name: letters, digits, '-' and (for names) '.'. */
static bool valid_dns(const char *s, bool dots, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || s[0] == '.' || s[0] == '-' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || (dots && c == '.' && s[i + 1] != '.');
        if (!ok)
            return false;
    }
    return true;
}

static void lower_copy(char *dst, const char *src, size_t size)
{
    size_t i = 0;
    for (; src[i] && i + 1 < size; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
    dst[i] = '\0';
}

/* Reads the key file, refusing one that others could read or change. */
static int read_key_file(const char *path, struct buf *pem, struct errinfo *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return failf(e, ERR_CONFIG, "dkim_key_file: %s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return failf(e, ERR_CONFIG, "dkim_key_file: %s: not a regular file", path);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return failf(e, ERR_CONFIG,
                     "dkim_key_file: %s: group or others may access it (mode %04o); refused: "
                     "chmod 600 %s",
                     path, (unsigned)(st.st_mode & 07777), path);
    }
    char chunk[4096];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            close(fd);
            return failf(e, ERR_CONFIG, "dkim_key_file: %s: cannot read: %s", path,
                         strerror(errno));
        }
        if (r == 0)
            break;
        if (buf_append(pem, chunk, (size_t)r) != 0) {
            close(fd);
            crypto_wipe(chunk, sizeof(chunk));
            return failf(e, ERR_CONFIG, "dkim_key_file: %s: larger than %d bytes", path,
                         DKIM_KEY_FILE_MAX);
        }
    }
    close(fd);
    crypto_wipe(chunk, sizeof(chunk));
    return 0;
}

int dkim_signer_new(const struct config *cfg, struct dkim_signer **out, struct errinfo *e)
{
    *out = NULL;
    if (!cfg->dkim_key_file || !cfg->dkim_key_file[0])
        return 0;
    if (!cfg->dkim_selector || !cfg->dkim_selector[0])
        return failf(e, ERR_CONFIG,
                     "dkim_selector (LEADFLOW_DKIM_SELECTOR) is required with dkim_key_file");
    if (!valid_dns(cfg->dkim_selector, true, DKIM_SELECTOR_MAX))
        return failf(e, ERR_CONFIG, "dkim_selector: \"%s\" is not a DNS name", cfg->dkim_selector);
    if (cfg->dkim_domain && cfg->dkim_domain[0] &&
        !valid_dns(cfg->dkim_domain, true, DKIM_DOMAIN_MAX))
        return failf(e, ERR_CONFIG, "dkim_domain: \"%s\" is not a domain name", cfg->dkim_domain);
    struct buf pem;
    buf_init(&pem, DKIM_KEY_FILE_MAX);
    int rc = read_key_file(cfg->dkim_key_file, &pem, e);
    struct crypto_key *key = NULL;
    if (rc == 0) {
        rc = crypto_key_from_pem(pem.data ? pem.data : "", pem.len, &key, e);
        if (rc)
            rc = failf(e, ERR_CONFIG, "dkim_key_file: %s: %s", cfg->dkim_key_file, e->msg);
    }
    if (pem.data)
        crypto_wipe(pem.data, pem.len);
    buf_release(&pem);
    if (rc)
        return rc;
    struct dkim_signer *s = xcalloc(1, sizeof(*s));
    s->key = key;
    lower_copy(s->selector, cfg->dkim_selector, sizeof(s->selector));
    if (cfg->dkim_domain)
        lower_copy(s->domain, cfg->dkim_domain, sizeof(s->domain));
    *out = s;
    return 0;
}

void dkim_signer_free(struct dkim_signer *s)
{
    if (!s)
        return;
    crypto_key_free(s->key);
    free(s);
}

const char *dkim_signer_algorithm(const struct dkim_signer *s)
{
    return crypto_key_type(s->key) == CRYPTO_KEY_RSA ? "rsa-sha256" : "ed25519-sha256";
}

int dkim_signer_domain(const struct dkim_signer *s, const char *from_email, char *out,
                       size_t outsize, struct errinfo *e)
{
    const char *d = s->domain;
    if (!d[0]) {
        const char *at = from_email ? strrchr(from_email, '@') : NULL;
        if (!at || !valid_dns(at + 1, true, DKIM_DOMAIN_MAX))
            return failf(e, ERR_INVALID, "dkim: the From address \"%s\" has no domain to sign for",
                         from_email ? from_email : "");
        d = at + 1;
    }
    if (strlen(d) >= outsize)
        return failf(e, ERR_INVALID, "dkim: the domain %s is too long", d);
    lower_copy(out, d, outsize);
    return 0;
}

int dkim_canon_header(const char *field, size_t n, struct buf *out)
{
    while (n > 0 && (field[n - 1] == '\n' || field[n - 1] == '\r'))
        n--;
    const char *colon = memchr(field, ':', n);
    size_t name_end = colon ? (size_t)(colon - field) : n;
    while (name_end > 0 && is_wsp(field[name_end - 1]))
        name_end--;
    for (size_t i = 0; i < name_end; i++) {
        char c = field[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (buf_putc(out, c))
            return ERR_TOO_BIG;
    }
    if (buf_putc(out, ':'))
        return ERR_TOO_BIG;
    if (colon) {
        /* Unfold (drop CR and LF), make each run of WSP one space, and drop
         * WSP after the colon and at the end. */
        bool space = false, started = false;
        for (size_t i = (size_t)(colon - field) + 1; i < n; i++) {
            char c = field[i];
            if (c == '\r' || c == '\n')
                continue;
            if (is_wsp(c)) {
                space = started;
                continue;
            }
            if (space && buf_putc(out, ' '))
                return ERR_TOO_BIG;
            if (buf_putc(out, c))
                return ERR_TOO_BIG;
            space = false;
            started = true;
        }
    }
    return buf_append(out, "\r\n", 2);
}

int dkim_canon_body(const char *body, size_t n, struct buf *out)
{
    size_t blank = 0; /* empty lines seen but not yet written */
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(body + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - body) : n; /* the line is body[i..end) */
        size_t next = nl ? end + 1 : n;
        if (end > i && body[end - 1] == '\r' && nl)
            end--;
        size_t last = end;
        while (last > i && is_wsp(body[last - 1]))
            last--;
        if (last == i) {
            blank++;
            i = next;
            continue;
        }
        for (; blank > 0; blank--)
            if (buf_append(out, "\r\n", 2))
                return ERR_TOO_BIG;
        bool space = false;
        for (size_t j = i; j < last; j++) {
            if (is_wsp(body[j])) {
                space = true;
                continue;
            }
            if (space && buf_putc(out, ' '))
                return ERR_TOO_BIG;
            space = false;
            if (buf_putc(out, body[j]))
                return ERR_TOO_BIG;
        }
        if (buf_append(out, "\r\n", 2))
            return ERR_TOO_BIG;
        i = next;
    }
    return 0;
}

struct field {
    const char *p;
    size_t n; /* with its CRLF */
    bool used;
};

/* Splits the header block into fields (a field's continuation lines start
 * with WSP). Returns the count, at most MAX_FIELDS. */
static size_t split_fields(const char *h, size_t n, struct field *f)
{
    size_t k = 0, i = 0;
    while (i < n && k < MAX_FIELDS) {
        size_t start = i;
        do {
            const char *nl = memchr(h + i, '\n', n - i);
            i = nl ? (size_t)(nl - h) + 1 : n;
        } while (i < n && is_wsp(h[i]));
        f[k++] = (struct field){h + start, i - start, false};
    }
    return k;
}

/* The last unused instance of name (RFC 6376 §5.4.2: bottom up). */
static struct field *find_field(struct field *f, size_t nf, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = nf; i-- > 0;) {
        if (f[i].used || f[i].n <= len)
            continue;
        size_t j = len;
        while (j < f[i].n && is_wsp(f[i].p[j]))
            j++;
        if (j < f[i].n && f[i].p[j] == ':' && strncasecmp(f[i].p, name, len) == 0)
            return &f[i];
    }
    return NULL;
}

int dkim_sign(const struct dkim_signer *s, const char *msg, size_t len, const char *from_email,
              int64_t now_s, struct arena *a, const char **out, size_t *outlen, struct errinfo *e)
{
    if (len > DKIM_MSG_MAX)
        return failf(e, ERR_TOO_BIG, "dkim: the message is over %d bytes", DKIM_MSG_MAX);
    char domain[DKIM_DOMAIN_MAX + 1];
    int rc = dkim_signer_domain(s, from_email, domain, sizeof(domain), e);
    if (rc)
        return rc;
    /* The header block ends at the first empty line. */
    size_t hlen, body;
    const char *sep = NULL;
    for (size_t i = 0; i + 1 < len; i++)
        if (msg[i] == '\n' &&
            (msg[i + 1] == '\n' || (msg[i + 1] == '\r' && i + 2 < len && msg[i + 2] == '\n'))) {
            sep = msg + i;
            break;
        }
    if (!sep)
        return failf(e, ERR_INVALID, "dkim: the message has no header block");
    hlen = (size_t)(sep - msg) + 1;
    body = hlen + (msg[hlen] == '\r' ? 2 : 1);

    struct buf cb;
    buf_init(&cb, len + 2);
    rc = dkim_canon_body(msg + body, len - body, &cb);
    uint8_t bh[SHA256_LEN];
    crypto_sha256(cb.data ? cb.data : "", cb.len, bh);
    buf_release(&cb);
    if (rc)
        return failf(e, ERR_TOO_BIG, "dkim: the message is too big to sign");
    char bh64[64];
    crypto_b64(bh, sizeof(bh), bh64, sizeof(bh64));

    struct field fields[MAX_FIELDS];
    size_t nf = split_fields(msg, hlen, fields);
    struct buf hh, names;
    buf_init(&hh, len + 4096);
    buf_init(&names, 1024);
    for (size_t i = 0; i < sizeof(signed_fields) / sizeof(signed_fields[0]); i++) {
        struct field *f = find_field(fields, nf, signed_fields[i]);
        if (!f)
            continue;
        f->used = true;
        rc = dkim_canon_header(f->p, f->n, &hh);
        if (!rc)
            rc = buf_printf(&names, "%s%s", names.len ? ":" : "", signed_fields[i]);
        if (rc)
            break;
    }
    if (!rc)
        rc = buf_puts(&names, ":From");
    /* The signature field itself, with b= empty and no final CRLF (§3.7). */
    struct buf sig;
    buf_init(&sig, 8192);
    if (!rc)
        rc = buf_printf(&sig,
                        "DKIM-Signature: v=1; a=%s; c=relaxed/relaxed; d=%s; s=%s;\r\n"
                        "\tt=%lld; h=%s;\r\n"
                        "\tbh=%s;\r\n"
                        "\tb=",
                        dkim_signer_algorithm(s), domain, s->selector, (long long)now_s, names.data,
                        bh64);
    if (!rc) {
        rc = dkim_canon_header(sig.data, sig.len, &hh);
        if (!rc)
            hh.len -= 2; /* the canonical form without its CRLF */
    }
    buf_release(&names);
    uint8_t raw[CRYPTO_SIG_MAX];
    size_t rawlen = 0;
    if (!rc) {
        rc = crypto_key_sign_sha256(s->key, hh.data, hh.len, raw, sizeof(raw), &rawlen, e);
        if (rc)
            rc = failf(e, rc, "dkim: %s", e->msg);
    } else {
        rc = failf(e, ERR_TOO_BIG, "dkim: the header is too big to sign");
    }
    buf_release(&hh);
    if (!rc) {
        char b64[CRYPTO_SIG_MAX * 4 / 3 + 8];
        crypto_b64(raw, rawlen, b64, sizeof(b64));
        if (buf_puts(&sig, b64) || buf_append(&sig, "\r\n", 2))
            rc = failf(e, ERR_TOO_BIG, "dkim: the signature is too big");
    }
    if (!rc) {
        char *m = arena_alloc(a, sig.len + len + 1);
        memcpy(m, sig.data, sig.len);
        memcpy(m + sig.len, msg, len);
        m[sig.len + len] = '\0';
        *out = m;
        *outlen = sig.len + len;
    }
    buf_release(&sig);
    return rc;
}

int dkim_record(const struct dkim_signer *s, const char *domain, struct buf *out, struct errinfo *e)
{
    uint8_t pub[CRYPTO_PUBKEY_MAX];
    size_t publen;
    int rc = crypto_key_public(s->key, pub, sizeof(pub), &publen, e);
    if (rc)
        return rc;
    char p64[CRYPTO_PUBKEY_MAX * 4 / 3 + 8];
    crypto_b64(pub, publen, p64, sizeof(p64));
    char txt[sizeof(p64) + 64];
    snprintf(txt, sizeof(txt), "v=DKIM1; k=%s; p=%s",
             crypto_key_type(s->key) == CRYPTO_KEY_RSA ? "rsa" : "ed25519", p64);
    rc = buf_printf(out, "%s._domainkey.%s. IN TXT (", s->selector, domain);
    /* A TXT character-string holds at most 255 bytes; longer text is split
     * and receivers join the strings (RFC 6376 §3.6.2.2). */
    size_t n = strlen(txt);
    for (size_t i = 0; i < n && !rc; i += 250)
        rc = buf_printf(out, " \"%.*s\"", (int)(n - i < 250 ? n - i : 250), txt + i);
    if (!rc)
        rc = buf_puts(out, " )\n");
    return rc ? failf(e, ERR_TOO_BIG, "dkim: the record does not fit") : 0;
}
