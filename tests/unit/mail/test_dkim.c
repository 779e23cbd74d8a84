/*
 * Tests for src/mail/dkim.c: relaxed header and body canonicalization with
 * the examples of RFC 6376 §3.4.5 and the edge cases of §3.4.4 (empty body,
 * missing final CRLF, trailing empty lines), the signature header's tags,
 * the key record, and the key files a signer refuses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/crypto.h"
#include "base/err.h"
#include "mail/dkim.h"
#include "unit/unit.h"

/* A key made for this test only (openssl genpkey -algorithm ED25519). */
static const char ed_key[] = "-----BEGIN PRIVATE KEY-----\n"
                             "MC4CAQAwBQYDK2VwBCIEICK057sC+kg1916DzF2r/sJfhA2Be40lX2SkynJbzp78\n"
                             "-----END PRIVATE KEY-----\n";
static const char ed_pub[] = "rJgikdxkeDRdpu/JvoDN40qPxlgH/yNH0KQbkRXG5ng=";

static void canon_header(const char *in, const char *want)
{
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(dkim_canon_header(in, strlen(in), &b), 0);
    assert_string_equal(buf_str(&b), want);
    buf_release(&b);
}

static void canon_body(const char *in, const char *want)
{
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(dkim_canon_body(in, strlen(in), &b), 0);
    assert_string_equal(buf_str(&b), want);
    buf_release(&b);
}

static void test_header_rfc_example(void **state)
{
    (void)state;
    /* RFC 6376 §3.4.5, relaxed. */
    canon_header("A: X\r\n", "a:X\r\n");
    canon_header("B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n");
}

static void test_header_cases(void **state)
{
    (void)state;
    canon_header("Subject:   many\t \tspaces   here  ", "subject:many spaces here\r\n");
    canon_header("Message-ID: <a@b>", "message-id:<a@b>\r\n");
    canon_header("To: \"Ana\"\r\n <ana@example.org>\r\n", "to:\"Ana\" <ana@example.org>\r\n");
    canon_header("X-Empty:\r\n", "x-empty:\r\n");
    canon_header("X-Empty:   \r\n", "x-empty:\r\n");
}

static void test_body_rfc_example(void **state)
{
    (void)state;
    /* RFC 6376 §3.4.5, relaxed. */
    canon_body(" C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n");
}

static void test_body_cases(void **state)
{
    (void)state;
    canon_body("", "");         /* empty stays empty (§3.4.4, errata 3986) */
    canon_body("\r\n\r\n", ""); /* only empty lines: empty */
    canon_body(" \t\r\n", "");  /* a line of spaces is empty */
    canon_body("no final line end", "no final line end\r\n");
    canon_body("a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"); /* inner empty lines stay */
    canon_body("a \r\n \r\nb\t\r\n\r\n", "a\r\n\r\nb\r\n");
    canon_body("bare\nlf\n", "bare\r\nlf\r\n");
}

static char *write_key(const char *text, mode_t mode)
{
    char *path = strdup("/tmp/leadflow-dkim-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    chmod(path, mode);
    return path;
}

static struct dkim_signer *signer(const char *path, const char *domain, struct errinfo *e, int *rc)
{
    struct config cfg;
    config_init(&cfg);
    struct errinfo ce;
    errinfo_clear(&ce);
    assert_int_equal(config_set(&cfg, "dkim_key_file", path, "test", &ce), 0);
    assert_int_equal(config_set(&cfg, "dkim_selector", "sel", "test", &ce), 0);
    if (domain)
        assert_int_equal(config_set(&cfg, "dkim_domain", domain, "test", &ce), 0);
    struct dkim_signer *s = NULL;
    *rc = dkim_signer_new(&cfg, &s, e);
    config_release(&cfg);
    return s;
}

static void test_sign_ed25519(void **state)
{
    (void)state;
    assert_int_equal(crypto_init(), 0);
    char *path = write_key(ed_key, 0600);
    struct errinfo e;
    errinfo_clear(&e);
    int rc;
    struct dkim_signer *s = signer(path, NULL, &e, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(s);
    assert_string_equal(dkim_signer_algorithm(s), "ed25519-sha256");

    const char msg[] = "From: a@Example.COM\r\nTo: b@example.org\r\nSubject: hi\r\n"
                       "X-Other: not signed\r\n\r\n";
    struct arena a;
    arena_init(&a, NULL, 0);
    const char *out;
    size_t len;
    assert_int_equal(
        dkim_sign(s, msg, strlen(msg), "a@Example.COM", 1700000000, &a, &out, &len, &e), 0);
    assert_true(strncmp(out,
                        "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; "
                        "d=example.com; s=sel;\r\n\tt=1700000000; h=From:To:Subject:From;\r\n"
                        "\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\tb=",
                        strlen("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; "
                               "d=example.com; s=sel;\r\n\tt=1700000000; h=From:To:Subject:From;"
                               "\r\n\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\tb=")) ==
                0);
    /* The message follows the signature unchanged. */
    assert_true(len > strlen(msg));
    assert_memory_equal(out + len - strlen(msg), msg, strlen(msg));
    /* b= is an Ed25519 signature: 64 bytes, 88 base64 characters. */
    const char *b = strstr(out, "\tb=") + 3;
    assert_int_equal(strcspn(b, "\r"), 88);

    assert_int_equal(dkim_sign(s, "no header block", 15, "a@example.com", 1, &a, &out, &len, &e),
                     ERR_INVALID);
    assert_int_equal(dkim_sign(s, msg, strlen(msg), "nodomain", 1, &a, &out, &len, &e),
                     ERR_INVALID);

    struct buf r;
    buf_init(&r, 4096);
    assert_int_equal(dkim_record(s, "example.com", &r, &e), 0);
    char want[256];
    snprintf(want, sizeof(want),
             "sel._domainkey.example.com. IN TXT ( \"v=DKIM1; k=ed25519; p=%s\" )\n", ed_pub);
    assert_string_equal(buf_str(&r), want);
    buf_release(&r);
    arena_release(&a);
    dkim_signer_free(s);
    unlink(path);
    free(path);
}

static void test_domain_setting(void **state)
{
    (void)state;
    assert_int_equal(crypto_init(), 0);
    char *path = write_key(ed_key, 0400);
    struct errinfo e;
    errinfo_clear(&e);
    int rc;
    struct dkim_signer *s = signer(path, "Mail.Example.NET", &e, &rc);
    assert_int_equal(rc, 0);
    char d[DKIM_DOMAIN_MAX + 1];
    assert_int_equal(dkim_signer_domain(s, "a@example.com", d, sizeof(d), &e), 0);
    assert_string_equal(d, "mail.example.net");
    dkim_signer_free(s);
    unlink(path);
    free(path);
}

static void test_refused_keys(void **state)
{
    (void)state;
    assert_int_equal(crypto_init(), 0);
    struct errinfo e;
    errinfo_clear(&e);
    int rc;
    char *open_key = write_key(ed_key, 0640);
    assert_null(signer(open_key, NULL, &e, &rc));
    assert_int_equal(rc, ERR_CONFIG);
    assert_non_null(strstr(e.msg, "group or others"));
    unlink(open_key);
    free(open_key);

    char *junk = write_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 0600);
    assert_null(signer(junk, NULL, &e, &rc));
    assert_int_equal(rc, ERR_CONFIG);
    assert_non_null(strstr(e.msg, "not an unencrypted PEM private key"));
    unlink(junk);
    free(junk);

    assert_null(signer("/nonexistent/dkim.pem", NULL, &e, &rc));
    assert_int_equal(rc, ERR_CONFIG);
    assert_non_null(strstr(e.msg, "cannot open"));

    char *good = write_key(ed_key, 0600);
    assert_null(signer(good, "not a domain!", &e, &rc));
    assert_int_equal(rc, ERR_CONFIG);
    unlink(good);
    free(good);

    /* No key file: no signer, and no error. */
    struct config cfg;
    config_init(&cfg);
    struct dkim_signer *s = (struct dkim_signer *)1;
    assert_int_equal(dkim_signer_new(&cfg, &s, &e), 0);
    assert_null(s);
    config_release(&cfg);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_header_rfc_example), cmocka_unit_test(test_header_cases),
    cmocka_unit_test(test_body_rfc_example),   cmocka_unit_test(test_body_cases),
    cmocka_unit_test(test_sign_ed25519),       cmocka_unit_test(test_domain_setting),
    cmocka_unit_test(test_refused_keys),
};

UNIT_GROUP(unit_mail_dkim, "mail/dkim", tests);
