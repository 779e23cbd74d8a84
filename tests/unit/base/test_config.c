/*
 * Tests for src/base/config.c: defaults, every validator, messages that name
 * origin and key but never a secret value, the INI and environment loaders,
 * config_finish() and the generated secret key file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.h"
#include "base/crypto.h"
#include "unit/unit.h"

struct fix {
    struct config c;
    struct errinfo e;
    char *dir;
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    config_init(&f->c);
    errinfo_clear(&f->e);
    f->dir = unit_tmpdir();
    assert_int_equal(crypto_init(), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    config_release(&f->c);
    unit_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void set_ok(struct fix *f, const char *key, const char *value)
{
    errinfo_clear(&f->e);
    int rc = config_set(&f->c, key, value, "test", &f->e);
    if (rc != 0)
        fail_msg("%s = \"%s\" was refused: %s", key, value, f->e.msg);
}

/* Sets a bad value; checks the error and that the message names origin and key. */
static void set_bad(struct fix *f, const char *key, const char *value)
{
    errinfo_clear(&f->e);
    int rc = config_set(&f->c, key, value, "origin.conf", &f->e);
    if (rc != ERR_CONFIG)
        fail_msg("%s = \"%s\" was accepted (rc %d)", key, value, rc);
    assert_int_equal(f->e.code, ERR_CONFIG);
    assert_true(strncmp(f->e.msg, "origin.conf: ", 13) == 0);
    char keypart[80];
    snprintf(keypart, sizeof(keypart), ": %s: ", key);
    assert_contains(f->e.msg, keypart);
}

static void test_defaults(void **state)
{
    struct fix *f = *state;
    struct config *c = &f->c;
    assert_string_equal(c->listen, "127.0.0.1:8080");
    assert_string_equal(c->db, "sqlite:leadflow.db");
    assert_null(c->public_url);
    assert_null(c->secret_key);
    assert_string_equal(c->log_level, "info");
    assert_string_equal(c->web_dir, "web");
    assert_int_equal(c->max_body_bytes, 1048576);
    assert_int_equal(c->threads, 0);
    assert_int_equal(c->max_connections, 1024);
    assert_int_equal(c->request_timeout, 30);
    assert_int_equal(c->header_timeout_ms, 10000);
    assert_int_equal(c->max_connections_per_ip, 64);
    assert_string_equal(c->oidc_issuer, "https://accounts.google.com");
    assert_null(c->oidc_client_id);
    assert_null(c->oidc_client_secret);
    assert_string_equal(c->gmail_api_url, "https://gmail.googleapis.com");
    assert_null(c->anthropic_api_key);
    assert_string_equal(c->anthropic_api_url, "https://api.anthropic.com");
    assert_string_equal(c->sendgrid_api_url, "https://api.sendgrid.com");
    assert_string_equal(c->resend_api_url, "https://api.resend.com");
    assert_null(c->smtp_url);
    assert_string_equal(c->send_order, "sendgrid,resend,smtp");
    assert_false(c->webhook_allow_private);
}

static void test_listen(void **state)
{
    struct fix *f = *state;
    set_ok(f, "listen", "0.0.0.0:80");
    assert_string_equal(f->c.listen, "0.0.0.0:80");
    set_ok(f, "listen", "[::1]:8080");
    set_ok(f, "listen", "localhost:0");
    set_ok(f, "listen", "h:65535");

    set_bad(f, "listen", "localhost");
    assert_contains(f->e.msg, "\"localhost\" is not ADDRESS:PORT");
    set_bad(f, "listen", ":80");
    set_bad(f, "listen", "host:");
    set_bad(f, "listen", "host:65536");
    set_bad(f, "listen", "host:-1");
    set_bad(f, "listen", "host:80x");
    set_bad(f, "listen", "[::1]");
    set_bad(f, "listen", "[]:80");
    set_bad(f, "listen", "[::1:80");
    set_bad(f, "listen", "");
    /* A refused value leaves the previous one. */
    assert_string_equal(f->c.listen, "h:65535");
}

static void test_db(void **state)
{
    struct fix *f = *state;
    set_ok(f, "db", "sqlite:/var/lib/leadflow/x.db");
    set_ok(f, "db", "sqlite::memory:");
    set_ok(f, "db", "postgres://app@db/leadflow");
    set_ok(f, "db", "postgresql://app@db/leadflow");
    set_bad(f, "db", "sqlite:");
    assert_contains(f->e.msg, "needs a file path");
    set_bad(f, "db", "mysql://x/y");
    assert_contains(f->e.msg, "not a database URL");
    set_bad(f, "db", "leadflow.db");
    set_bad(f, "db", "");
    assert_string_equal(f->c.db, "postgresql://app@db/leadflow");
}

static void test_urls(void **state)
{
    struct fix *f = *state;
    set_ok(f, "public_url", "https://crm.example.com");
    set_ok(f, "public_url", "http://localhost:8080/base/");
    set_ok(f, "anthropic_api_url", "http://127.0.0.1:9999");
    set_bad(f, "public_url", "ftp://example.com");
    assert_contains(f->e.msg, "is not an http:// or https:// URL");
    set_bad(f, "public_url", "https://");
    set_bad(f, "public_url", "https:///path");
    set_bad(f, "public_url", "https://exa mple.com");
    set_bad(f, "public_url", "https://example.com/\x7f");
    set_bad(f, "public_url", "example.com");
    set_bad(f, "gmail_api_url", "gopher://x");
    set_bad(f, "oidc_issuer", "accounts.google.com");
    assert_string_equal(f->c.public_url, "http://localhost:8080/base/");
    /* An empty value clears an optional URL. */
    set_ok(f, "public_url", "");
    assert_null(f->c.public_url);
}

static void test_bool(void **state)
{
    struct fix *f = *state;
    static const char *const yes[] = {"1", "true", "yes", "on", "TRUE", "Yes", "ON"};
    static const char *const no[] = {"0", "false", "no", "off", "False", "NO"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        f->c.webhook_allow_private = false;
        set_ok(f, "webhook_allow_private", yes[i]);
        assert_true(f->c.webhook_allow_private);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        f->c.webhook_allow_private = true;
        set_ok(f, "webhook_allow_private", no[i]);
        assert_false(f->c.webhook_allow_private);
    }
    f->c.webhook_allow_private = true;
    set_bad(f, "webhook_allow_private", "maybe");
    assert_contains(f->e.msg, "is not true or false");
    set_bad(f, "webhook_allow_private", "2");
    set_bad(f, "webhook_allow_private", "");
    set_bad(f, "webhook_allow_private", "yes please");
    assert_true(f->c.webhook_allow_private);
}

static void test_log_level(void **state)
{
    struct fix *f = *state;
    static const char *const ok[] = {"debug", "info", "warn", "error"};
    for (size_t i = 0; i < 4; i++) {
        set_ok(f, "log_level", ok[i]);
        assert_string_equal(f->c.log_level, ok[i]);
    }
    set_bad(f, "log_level", "verbose");
    assert_contains(f->e.msg, "not one of debug, info, warn, error");
    set_bad(f, "log_level", "");
    set_bad(f, "log_level", "warning");
    assert_string_equal(f->c.log_level, "error");
}

static void test_send_order(void **state)
{
    struct fix *f = *state;
    set_ok(f, "send_order", "smtp");
    set_ok(f, "send_order", "smtp,sendgrid");
    set_ok(f, "send_order", "resend,smtp,sendgrid");
    set_bad(f, "send_order", "smtp,smtp");
    assert_contains(f->e.msg, "each at most once");
    set_bad(f, "send_order", "smtp,mailgun");
    set_bad(f, "send_order", "smtp,,resend");
    set_bad(f, "send_order", ",smtp");
    set_bad(f, "send_order", "smtp,");
    set_bad(f, "send_order", "");
    set_bad(f, "send_order", "SMTP");
    set_bad(f, "send_order", "smtp, resend");
    assert_string_equal(f->c.send_order, "resend,smtp,sendgrid");
}

static void test_int_ranges(void **state)
{
    struct fix *f = *state;
    set_ok(f, "max_body_bytes", "1024");
    assert_int_equal(f->c.max_body_bytes, 1024);
    set_ok(f, "max_body_bytes", "1073741824");
    assert_int_equal(f->c.max_body_bytes, 1073741824);
    set_bad(f, "max_body_bytes", "1023");
    assert_contains(f->e.msg, "\"1023\" is not a whole number from 1024 to 1073741824");
    set_bad(f, "max_body_bytes", "1073741825");
    set_bad(f, "max_body_bytes", "1MB");
    set_bad(f, "max_body_bytes", "");
    assert_int_equal(f->c.max_body_bytes, 1073741824);

    set_ok(f, "threads", "0");
    set_ok(f, "threads", "256");
    set_bad(f, "threads", "257");
    set_bad(f, "threads", "-1");
    assert_int_equal(f->c.threads, 256);
    set_ok(f, "max_connections", "1");
    set_bad(f, "max_connections", "0");
    set_bad(f, "max_connections", "1000001");
    set_ok(f, "request_timeout", "3600");
    set_bad(f, "request_timeout", "3601");
    set_bad(f, "request_timeout", "99999999999999999999999");
    assert_int_equal(f->c.request_timeout, 3600);
    set_ok(f, "header_timeout_ms", "100");
    set_bad(f, "header_timeout_ms", "99");
    set_bad(f, "header_timeout_ms", "3600001");
    set_bad(f, "header_timeout_ms", "10s");
    assert_int_equal(f->c.header_timeout_ms, 100);
    set_ok(f, "max_connections_per_ip", "0");
    set_bad(f, "max_connections_per_ip", "-1");
    set_bad(f, "max_connections_per_ip", "1000001");
    assert_int_equal(f->c.max_connections_per_ip, 0);
}

static void test_secret_key(void **state)
{
    struct fix *f = *state;
    const char *short_key = "tooShortSecretValue1234567890ab"; /* 31 characters */
    set_bad(f, "secret_key", short_key);
    assert_contains(f->e.msg, "too short");
    assert_not_contains(f->e.msg, short_key);
    assert_not_contains(f->e.msg, "tooShort");
    assert_null(f->c.secret_key);

    const char *good = "0123456789abcdef0123456789abcdef"; /* 32 */
    set_ok(f, "secret_key", good);
    assert_string_equal(f->c.secret_key, good);
    set_ok(f, "secret_key", ""); /* unset again: generated at start-up */
    assert_null(f->c.secret_key);

    /* Other secrets are taken as they are. */
    set_ok(f, "anthropic_api_key", "sk-x");
    assert_string_equal(f->c.anthropic_api_key, "sk-x");
    set_ok(f, "oidc_client_secret", "s");
}

static void test_smtp_url(void **state)
{
    struct fix *f = *state;
    set_ok(f, "smtp_url", "smtp://user:pass@mail.example.com:587");
    set_ok(f, "smtp_url", "smtps://x:y@h");
    set_bad(f, "smtp_url", "http://user:hunter2@mail.example.com");
    assert_contains(f->e.msg, "(hidden)");
    assert_contains(f->e.msg, "smtp://");
    assert_not_contains(f->e.msg, "hunter2");
    assert_not_contains(f->e.msg, "mail.example.com");
    assert_string_equal(f->c.smtp_url, "smtps://x:y@h");
    set_ok(f, "smtp_url", "");
    assert_null(f->c.smtp_url);
}

static void test_unknown_key(void **state)
{
    struct fix *f = *state;
    errinfo_clear(&f->e);
    assert_int_equal(config_set(&f->c, "lisen", "x", "leadflow.conf", &f->e), ERR_CONFIG);
    assert_contains(f->e.msg, "leadflow.conf");
    assert_contains(f->e.msg, "unknown key \"lisen\"");
    /* Keys are the file spelling: the environment spelling is unknown here. */
    assert_int_equal(config_set(&f->c, "LISTEN", "x:1", "o", &f->e), ERR_CONFIG);
    assert_int_equal(config_set(&f->c, "", "x", "o", NULL), ERR_CONFIG);
}

static void test_key_is_secret(void **state)
{
    static const char *const secret[] = {"secret_key",        "oidc_client_secret",
                                         "anthropic_api_key", "sendgrid_api_key",
                                         "resend_api_key",    "smtp_url"};
    static const char *const plain[] = {"listen",         "db",  "public_url", "log_level",
                                        "oidc_client_id", "nope"};
    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
        if (!config_key_is_secret(secret[i]))
            fail_msg("%s is not marked secret", secret[i]);
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (config_key_is_secret(plain[i]))
            fail_msg("%s is marked secret", plain[i]);
}

static void test_load_file(void **state)
{
    struct fix *f = *state;
    char *path = unit_path(f->dir, "leadflow.conf");
    unit_write_file(path,
                    "; a comment\n"
                    "# another comment\n"
                    "\n"
                    "[leadflow]\n"
                    "listen = 0.0.0.0:9000\n"
                    "db=sqlite:/tmp/x.db\n"
                    "threads = 4\n"
                    "webhook_allow_private = yes\n"
                    "send_order = smtp ; inline comment\n",
                    (size_t)-1);
    assert_int_equal(config_load_file(&f->c, path, &f->e), 0);
    assert_string_equal(f->c.listen, "0.0.0.0:9000");
    assert_string_equal(f->c.db, "sqlite:/tmp/x.db");
    assert_int_equal(f->c.threads, 4);
    assert_true(f->c.webhook_allow_private);
    assert_string_equal(f->c.send_order, "smtp");
    free(path);
}

static void test_load_file_errors(void **state)
{
    struct fix *f = *state;
    char *path = unit_path(f->dir, "bad.conf");

    unit_write_file(path, "listen = 1.2.3.4:5\nlisen = 1.2.3.4:5\n", (size_t)-1);
    assert_int_equal(config_load_file(&f->c, path, &f->e), ERR_CONFIG);
    assert_contains(f->e.msg, path);
    assert_contains(f->e.msg, "unknown key \"lisen\"");

    unit_write_file(path, "threads = 2\nthis line has no equals sign\n", (size_t)-1);
    errinfo_clear(&f->e);
    assert_int_equal(config_load_file(&f->c, path, &f->e), ERR_CONFIG);
    char want[4200];
    snprintf(want, sizeof(want), "%s:2: not a valid line", path);
    assert_contains(f->e.msg, want);

    unit_write_file(path, "secret_key = shortsecretvalue\n", (size_t)-1);
    errinfo_clear(&f->e);
    assert_int_equal(config_load_file(&f->c, path, &f->e), ERR_CONFIG);
    assert_contains(f->e.msg, "secret_key");
    assert_not_contains(f->e.msg, "shortsecretvalue");

    char *missing = unit_path(f->dir, "missing.conf");
    errinfo_clear(&f->e);
    assert_int_equal(config_load_file(&f->c, missing, &f->e), ERR_CONFIG);
    assert_contains(f->e.msg, missing);
    assert_contains(f->e.msg, "cannot open");
    free(missing);
    free(path);
}

static void test_load_env(void **state)
{
    struct fix *f = *state;
    char *envp[] = {
        "PATH=/usr/bin",
        "LEADFLOW_LISTEN=0.0.0.0:9090",
        "LEADFLOW_CONFIG=/etc/leadflow.conf", /* not a key: ignored */
        "LEADFLOW_=x",
        "LEADFLOW_LOG_LEVEL=debug",
        "LEADFLOW_SECRET_KEY=abcdefghijklmnopqrstuvwxyz0123456789",
        "LEADFLOW_NOEQUALS",
        "XLEADFLOW_DB=sqlite:wrong.db",
        "LEADFLOW_DB=sqlite:env.db",
        NULL,
    };
    assert_int_equal(config_load_env(&f->c, envp, &f->e), 0);
    assert_string_equal(f->c.listen, "0.0.0.0:9090");
    assert_string_equal(f->c.log_level, "debug");
    assert_string_equal(f->c.secret_key, "abcdefghijklmnopqrstuvwxyz0123456789");
    assert_string_equal(f->c.db, "sqlite:env.db");
    assert_int_equal(config_load_env(&f->c, NULL, &f->e), 0);
}

static void test_load_env_errors(void **state)
{
    struct fix *f = *state;
    char *bad_listen[] = {"LEADFLOW_LISTEN=nope", NULL};
    assert_int_equal(config_load_env(&f->c, bad_listen, &f->e), ERR_CONFIG);
    assert_contains(f->e.msg, "LEADFLOW_LISTEN: listen: ");

    char *bad_secret[] = {"LEADFLOW_SENDGRID_API_KEY=fine", "LEADFLOW_SMTP_URL=ftp://u:topsecret@h",
                          NULL};
    errinfo_clear(&f->e);
    assert_int_equal(config_load_env(&f->c, bad_secret, &f->e), ERR_CONFIG);
    assert_contains(f->e.msg, "LEADFLOW_SMTP_URL");
    assert_not_contains(f->e.msg, "topsecret");
    assert_string_equal(f->c.sendgrid_api_key, "fine"); /* applied before the error */
}

static void test_finish(void **state)
{
    struct fix *f = *state;
    assert_int_equal(config_finish(&f->c, &f->e), 0);
    assert_string_equal(f->c.listen_host, "127.0.0.1");
    assert_int_equal(f->c.listen_port, 8080);
    assert_string_equal(f->c.public_url, "http://127.0.0.1:8080");

    struct config c;
    config_init(&c);
    assert_int_equal(config_set(&c, "listen", "[::1]:9000", "t", &f->e), 0);
    assert_int_equal(config_set(&c, "public_url", "https://crm.example.com///", "t", &f->e), 0);
    assert_int_equal(config_finish(&c, &f->e), 0);
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(c.listen_port, 9000);
    assert_string_equal(c.public_url, "https://crm.example.com");
    config_release(&c);

    config_init(&c);
    assert_int_equal(config_set(&c, "listen", "[::1]:9000", "t", &f->e), 0);
    assert_int_equal(config_finish(&c, &f->e), 0);
    assert_string_equal(c.public_url, "http://[::1]:9000");
    config_release(&c);
}

static int finish_with_times(const char *send_ms, const char *lease_ms, struct errinfo *e)
{
    struct config c;
    config_init(&c);
    errinfo_clear(e);
    assert_int_equal(config_set(&c, "send_timeout_ms", send_ms, "t", e), 0);
    assert_int_equal(config_set(&c, "job_lease_ms", lease_ms, "t", e), 0);
    int rc = config_finish(&c, e);
    config_release(&c);
    return rc;
}

/* A send (four send timeouts at worst) ends within two thirds of its lease. */
static void test_finish_send_timeout_below_lease(void **state)
{
    struct fix *f = *state;
    assert_int_equal(finish_with_times("10000", "60000", &f->e), 0);
    assert_int_equal(finish_with_times("1000", "6000", &f->e), 0);
    assert_int_equal(finish_with_times("1001", "6000", &f->e), ERR_CONFIG);
    assert_contains(f->e.msg, "send_timeout_ms (LEADFLOW_SEND_TIMEOUT_MS, 1001)");
    assert_contains(f->e.msg, "job_lease_ms (LEADFLOW_JOB_LEASE_MS, 6000)");
    assert_int_equal(finish_with_times("20000", "60000", &f->e), ERR_CONFIG);
}

static int finish_with_issuer(const char *issuer, const char *allow, struct errinfo *e)
{
    struct config c;
    config_init(&c);
    errinfo_clear(e);
    assert_int_equal(config_set(&c, "oidc_issuer", issuer, "t", e), 0);
    if (allow)
        assert_int_equal(config_set(&c, "oidc_allow_http", allow, "t", e), 0);
    int rc = config_finish(&c, e);
    config_release(&c);
    return rc;
}

static void test_finish_plain_http_issuer(void **state)
{
    struct fix *f = *state;
    static const char *const refused[] = {
        "http://idp.example.com",        "http://idp.example.com/",
        "http://10.0.0.5:8080/realm",    "http://128.0.0.1",
        "http://[2001:db8::1]:80/",      "http://127.0.0.1@evil.example",
        "http://localhost.evil.example",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (finish_with_issuer(refused[i], NULL, &f->e) != ERR_CONFIG)
            fail_msg("%s was accepted", refused[i]);
        assert_contains(f->e.msg, "LEADFLOW_OIDC_ISSUER");
        assert_contains(f->e.msg, "LEADFLOW_OIDC_ALLOW_HTTP");
        assert_int_equal(finish_with_issuer(refused[i], "1", &f->e), 0);
    }
    static const char *const allowed[] = {
        "https://idp.example.com/", "http://127.0.0.1:4444", "http://127.9.8.7/x",
        "http://localhost:8080/",   "http://[::1]:9000",     "http://LOCALHOST",
    };
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (finish_with_issuer(allowed[i], NULL, &f->e) != 0)
            fail_msg("%s was refused: %s", allowed[i], f->e.msg);
}

static void test_ensure_secret_creates_then_reads(void **state)
{
    struct fix *f = *state;
    assert_int_equal(config_ensure_secret(&f->c, f->dir, &f->e), 0);
    assert_non_null(f->c.secret_key);
    size_t n = strlen(f->c.secret_key);
    assert_true(n >= 32);
    for (size_t i = 0; i < n; i++) {
        char ch = f->c.secret_key[i];
        assert_true((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_');
    }

    char *path = unit_path(f->dir, "leadflow.key");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    FILE *kf = fopen(path, "r");
    assert_non_null(kf);
    char line[256] = "";
    assert_non_null(fgets(line, sizeof(line), kf));
    fclose(kf);
    assert_int_equal(strlen(line), n + 1);
    assert_int_equal(line[n], '\n');
    assert_memory_equal(line, f->c.secret_key, n);

    /* A second start reads the same key back. */
    struct config c2;
    config_init(&c2);
    assert_int_equal(config_ensure_secret(&c2, f->dir, &f->e), 0);
    assert_string_equal(c2.secret_key, f->c.secret_key);
    config_release(&c2);
    free(path);
}

static void test_ensure_secret_configured_wins(void **state)
{
    struct fix *f = *state;
    set_ok(f, "secret_key", "0123456789abcdef0123456789abcdef");
    assert_int_equal(config_ensure_secret(&f->c, f->dir, &f->e), 0);
    assert_string_equal(f->c.secret_key, "0123456789abcdef0123456789abcdef");
    char *path = unit_path(f->dir, "leadflow.key");
    assert_int_not_equal(access(path, F_OK), 0); /* no file written */
    free(path);
}

static void test_ensure_secret_refuses_short_file(void **state)
{
    struct fix *f = *state;
    char *path = unit_path(f->dir, "leadflow.key");
    unit_write_file(path, "shortkey\n", (size_t)-1);
    assert_int_equal(config_ensure_secret(&f->c, f->dir, &f->e), ERR_IO);
    assert_contains(f->e.msg, "too short");
    assert_contains(f->e.msg, path);
    assert_not_contains(f->e.msg, "shortkey");
    assert_null(f->c.secret_key);
    free(path);
}

static void test_ensure_secret_missing_dir(void **state)
{
    struct fix *f = *state;
    char *dir = unit_path(f->dir, "no/such/dir");
    assert_int_equal(config_ensure_secret(&f->c, dir, &f->e), ERR_IO);
    assert_contains(f->e.msg, "leadflow.key");
    assert_null(f->c.secret_key);
    free(dir);
}

/* The installed, documented config file: each key of the table once, as a
 * commented "#key = DEFAULT" line with the table's default; no other key;
 * and the file (with its few active lines) loads. */
#define CONF_TEMPLATE "dist/leadflow.conf.in"

static void test_conf_template_matches_keys(void **state)
{
    struct fix *f = *state;
    FILE *in = fopen(CONF_TEMPLATE, "r");
    if (!in)
        fail_msg("%s: cannot open (run from the repository root)", CONF_TEMPLATE);
    enum { MAX_KEYS = 256 };
    int seen[MAX_KEYS] = {0};
    size_t nkeys = 0;
    const char *name, *def;
    while (config_key_at(nkeys, &name, &def))
        nkeys++;
    assert_true(nkeys > 0 && nkeys <= MAX_KEYS);
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof(line), in)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] != '#' || line[1] < 'a' || line[1] > 'z')
            continue; /* prose ("# ..."), blank, section or active line */
        char *eq = strstr(line, " =");
        if (!eq)
            fail_msg("%s:%d: \"%s\" is neither \"# text\" nor \"#key = default\"", CONF_TEMPLATE,
                     lineno, line);
        *eq = '\0';
        const char *key = line + 1;
        const char *value = eq[2] == ' ' ? eq + 3 : eq + 2;
        size_t i = 0;
        while (config_key_at(i, &name, &def) && strcmp(name, key) != 0)
            i++;
        if (i == nkeys)
            fail_msg("%s:%d: \"%s\" is not a configuration key", CONF_TEMPLATE, lineno, key);
        if (seen[i]++)
            fail_msg("%s:%d: %s is listed twice", CONF_TEMPLATE, lineno, key);
        if (strcmp(value, def ? def : "") != 0)
            fail_msg("%s:%d: %s: the file says \"%s\", the default is \"%s\"", CONF_TEMPLATE,
                     lineno, key, value, def ? def : "");
    }
    fclose(in);
    for (size_t i = 0; i < nkeys; i++) {
        config_key_at(i, &name, &def);
        if (!seen[i])
            fail_msg("%s: %s is not documented (add \"#%s = %s\")", CONF_TEMPLATE, name, name,
                     def ? def : "");
    }
    if (config_load_file(&f->c, CONF_TEMPLATE, &f->e) != 0)
        fail_msg("%s", f->e.msg);
    assert_string_equal(f->c.db, "sqlite:/var/lib/leadflow/leadflow.db");
    assert_string_equal(f->c.listen, "127.0.0.1:8080");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest tests[] = {
    T(test_defaults),
    T(test_finish_plain_http_issuer),
    T(test_listen),
    T(test_db),
    T(test_urls),
    T(test_bool),
    T(test_log_level),
    T(test_send_order),
    T(test_int_ranges),
    T(test_secret_key),
    T(test_smtp_url),
    T(test_unknown_key),
    T(test_key_is_secret),
    T(test_load_file),
    T(test_load_file_errors),
    T(test_load_env),
    T(test_load_env_errors),
    T(test_finish),
    T(test_finish_send_timeout_below_lease),
    T(test_ensure_secret_creates_then_reads),
    T(test_ensure_secret_configured_wins),
    T(test_ensure_secret_refuses_short_file),
    T(test_ensure_secret_missing_dir),
    T(test_conf_template_matches_keys),
};

UNIT_GROUP(unit_base_config, "base/config", tests);
