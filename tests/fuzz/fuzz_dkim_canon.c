/*
 * libFuzzer target for DKIM relaxed canonicalization (mail/dkim.h, RFC 6376
 * §3.4.2 and §3.4.4). The input is a body and a header field. The checks:
 * the output has the form the RFC gives (CRLF line ends, no WSP at a line's
 * end or twice in a row, no empty line at the end; a lower-case name then
 * ':'), and canonicalizing again changes nothing.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "fuzz.h"
#include "mail/dkim.h"

static bool wsp(char c)
{
    return c == ' ' || c == '\t';
}

static void check_body(const char *in, size_t n)
{
    struct buf a, b;
    buf_init(&a, 2 * n + 4);
    buf_init(&b, 2 * n + 4);
    FUZZ_CHECK(dkim_canon_body(in, n, &a) == 0);
    const char *p = a.data ? a.data : "";
    if (a.len) {
        FUZZ_CHECK(a.len >= 2 && p[a.len - 2] == '\r' && p[a.len - 1] == '\n');
        if (a.len >= 4 && p[a.len - 4] == '\r' && p[a.len - 3] == '\n')
            fuzz_fail("canonical body ends in an empty line", p, a.len);
    }
    for (size_t i = 0; i < a.len; i++) {
        if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
            fuzz_fail("canonical body has a bare LF", p, a.len);
        /* A CR not before LF is a byte of the line, not its end. */
        if (p[i] == '\r' && i + 1 < a.len && p[i + 1] == '\n' && i > 0 && wsp(p[i - 1]))
            fuzz_fail("canonical body has WSP at a line end", p, a.len);
        if (p[i] == '\t' || (p[i] == ' ' && i > 0 && p[i - 1] == ' '))
            fuzz_fail("canonical body has a tab or two spaces", p, a.len);
    }
    FUZZ_CHECK(dkim_canon_body(p, a.len, &b) == 0);
    if (b.len != a.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
        fuzz_fail("canonical body changes when canonicalized again", p, a.len);
    buf_release(&a);
    buf_release(&b);
}

static void check_header(const char *in, size_t n)
{
    /* A header field has no line end but before WSP (folding) and at its end. */
    struct buf a, b;
    buf_init(&a, 2 * n + 4);
    buf_init(&b, 2 * n + 4);
    FUZZ_CHECK(dkim_canon_header(in, n, &a) == 0);
    const char *p = a.data;
    FUZZ_CHECK(a.len >= 3 && p[a.len - 2] == '\r' && p[a.len - 1] == '\n');
    const char *colon = memchr(p, ':', a.len);
    FUZZ_CHECK(colon != NULL);
    for (const char *q = p; q < colon; q++)
        if (*q >= 'A' && *q <= 'Z')
            fuzz_fail("canonical header name has upper case", p, a.len);
    for (const char *q = colon + 1; q < p + a.len - 2; q++) {
        if (*q == '\r' || *q == '\n' || *q == '\t')
            fuzz_fail("canonical header value has CR, LF or a tab", p, a.len);
        if (*q == ' ' && (q == colon + 1 || q[-1] == ' ' || q + 1 == p + a.len - 2))
            fuzz_fail("canonical header value has extra spaces", p, a.len);
    }
    if (memchr(in, ':', n) && !memchr(p, '\r', (size_t)(colon - p))) {
        FUZZ_CHECK(dkim_canon_header(p, a.len, &b) == 0);
        if (b.len != a.len || memcmp(a.data, b.data, a.len) != 0)
            fuzz_fail("canonical header changes when canonicalized again", p, a.len);
    }
    buf_release(&a);
    buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_body((const char *)data, size);
    check_header((const char *)data, size);
    return 0;
}
