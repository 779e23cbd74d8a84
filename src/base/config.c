/*
 * Configuration keys, their checks, and the INI and environment loaders.
 * The key table below is the single list of what can be configured.
 */
#include "base/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crypto.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/str.h"

enum cfg_type {
    CFG_STR,
    CFG_SECRET,
    CFG_INT,
    CFG_BOOL,
    CFG_LISTEN,
    CFG_DB,
    CFG_URL,
    CFG_LEVEL,
    CFG_SEND_ORDER,
    CFG_SMTP_URL,
    CFG_AI_PROVIDER,
};

struct cfg_key {
    const char *name;
    enum cfg_type type;
    size_t off;
    const char *def; /* default (NULL: unset) */
    int64_t min, max;
};

#define K(name, type, def)                                                                         \
    {                                                                                              \
#name, type, offsetof(struct config, name), def, 0, 0                                      \
    }
#define KI(name, def, lo, hi)                                                                      \
    {                                                                                              \
#name, CFG_INT, offsetof(struct config, name), def, lo, hi                                 \
    }

static const struct cfg_key cfg_keys[] = {
    K(listen, CFG_LISTEN, "127.0.0.1:8080"),
    K(db, CFG_DB, "sqlite:leadflow.db"),
    K(public_url, CFG_URL, NULL),
    K(secret_key, CFG_SECRET, NULL),
    K(log_level, CFG_LEVEL, "info"),
    K(web_dir, CFG_STR, "web"),
    K(demo_mailbox, CFG_STR, "data/demo/sample.mbox"),
    KI(max_body_bytes, "1048576", 1024, 1073741824),
    KI(max_upload_bytes, "26214400", 1024, 1073741824),
    K(upload_dir, CFG_STR, NULL),
    KI(threads, "0", 0, 256),
    KI(max_connections, "1024", 1, 1000000),
    KI(request_timeout, "30", 1, 3600),
    KI(header_timeout_ms, "10000", 100, 3600000),
    KI(max_connections_per_ip, "64", 0, 1000000),
    KI(auth_cache_ms, "5000", 0, 60000),
    KI(worker_threads, "2", 0, 256),
    KI(job_poll_ms, "200", 10, 60000),
    KI(job_retention_hours, "168", 0, 87600),
    KI(job_lease_ms, "60000", 1000, 3600000),
    KI(ws_max_clients, "20000", 1, 1000000),
    KI(ws_max_queue_bytes, "1048576", 1024, 1073741824),
    KI(ws_ping_ms, "30000", 50, 3600000),
    K(oidc_issuer, CFG_URL, "https://accounts.google.com"),
    K(oidc_client_id, CFG_STR, NULL),
    K(oidc_client_secret, CFG_SECRET, NULL),
    /* oidc_allow_http: accept an http:// issuer on a host other than
     * loopback (127.0.0.0/8, ::1, localhost), where tokens and keys would
     * cross the network in clear. Off by default; config_finish refuses. */
    K(oidc_allow_http, CFG_BOOL, "false"),
    K(gmail_api_url, CFG_URL, "https://gmail.googleapis.com"),
    K(imap_ca_file, CFG_STR, NULL),
    /* ai_provider: offline | anthropic | openai (the table in ai/ai.c); unset:
     * anthropic when its key is set, else offline */
    K(ai_provider, CFG_AI_PROVIDER, NULL),
    K(anthropic_api_key, CFG_SECRET, NULL),
    K(anthropic_api_url, CFG_URL, "https://api.anthropic.com"),
    K(anthropic_model, CFG_STR, "claude-sonnet-4-5"),
    KI(anthropic_max_tokens, "4096", 1025, 128000),
    KI(anthropic_thinking_budget, "2048", 1024, 127999),
    KI(anthropic_timeout_ms, "30000", 100, 600000),
    KI(anthropic_max_retries, "2", 0, 10),
    K(openai_base_url, CFG_URL, "https://api.openai.com/v1"),
    K(openai_model, CFG_STR, NULL),
    K(openai_api_key, CFG_SECRET, NULL),
    KI(openai_max_tokens, "4096", 0, 1000000),
    KI(openai_timeout_ms, "60000", 100, 600000),
    KI(openai_max_retries, "2", 0, 10),
    K(sendgrid_api_key, CFG_SECRET, NULL),
    K(sendgrid_api_url, CFG_URL, "https://api.sendgrid.com"),
    K(resend_api_key, CFG_SECRET, NULL),
    K(resend_api_url, CFG_URL, "https://api.resend.com"),
    K(smtp_url, CFG_SMTP_URL, NULL),
    /* Providers' event webhooks (mail/events.h): SendGrid's verification
     * key (base64 DER of its P-256 public key, as its settings show it) and
     * Resend's signing secret ("whsec_..."). Without one, that provider's
     * webhook answers 404. */
    K(sendgrid_webhook_key, CFG_STR, NULL),
    K(resend_webhook_secret, CFG_SECRET, NULL),
    K(send_order, CFG_SEND_ORDER, "sendgrid,resend,smtp"),
    K(mail_from, CFG_STR, "leadflow <noreply@localhost>"),
    KI(send_timeout_ms, "10000", 100, 600000),
    /* The circuit breaker of each provider (mail/breaker.h): this many
     * failures in a row skip it for the cool-down (0: never skipped). */
    KI(send_breaker_failures, "5", 0, 1000),
    KI(send_breaker_cooldown_ms, "30000", 100, 3600000),
    K(dkim_key_file, CFG_STR, NULL),
    K(dkim_selector, CFG_STR, NULL),
    K(dkim_domain, CFG_STR, NULL),
    K(webhook_allow_private, CFG_BOOL, "false"),
    KI(alert_dedup_ms, "300000", 1, 86400000),
    KI(alert_max_attempts, "3", 1, 20),
    KI(alert_backoff_ms, "1000", 1, 3600000),
};

/* The send time limit fits this many times in a job's lease (config_finish). */
enum { SEND_TIMEOUTS_PER_LEASE = 6 };

enum { CFG_NKEYS = sizeof(cfg_keys) / sizeof(cfg_keys[0]) };

static const struct cfg_key *cfg_find(const char *name)
{
    for (size_t i = 0; i < CFG_NKEYS; i++)
        if (strcmp(cfg_keys[i].name, name) == 0)
            return &cfg_keys[i];
    return NULL;
}

bool config_key_at(size_t i, const char **name, const char **def)
{
    if (i >= CFG_NKEYS)
        return false;
    *name = cfg_keys[i].name;
    *def = cfg_keys[i].def;
    return true;
}

bool config_key_is_secret(const char *key)
{
    const struct cfg_key *k = cfg_find(key);
    return k && (k->type == CFG_SECRET || k->type == CFG_SMTP_URL);
}

static char **cfg_str_slot(struct config *c, const struct cfg_key *k)
{
    return (char **)((char *)c + k->off);
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Splits "host:port" ("[v6]:port" too); true when well-formed. */
static bool parse_listen(const char *v, char *host, size_t hostsize, int *port)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v)
        return false;
    struct str h = {v, (size_t)(colon - v)};
    if (h.p[0] == '[') {
        if (h.len < 3 || h.p[h.len - 1] != ']')
            return false;
        h.p++;
        h.len -= 2;
    }
    if (h.len >= hostsize)
        return false;
    int64_t p;
    if (!str_to_i64(str_from(colon + 1), 0, 65535, &p))
        return false;
    str_copy(host, hostsize, h);
    *port = (int)p;
    return true;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool valid_url(const char *v)
{
    const char *rest;
    if (has_prefix(v, "https://"))
        rest = v + 8;
    else if (has_prefix(v, "http://"))
        rest = v + 7;
    else
        return false;
    if (*rest == '\0' || *rest == '/')
        return false;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

static bool valid_send_order(const char *v)
{
    static const char *const names[] = {"sendgrid", "resend", "smtp"};
    struct str s = str_from(v), item;
    bool seen[3] = {false, false, false};
    bool more;
    do {
        more = str_split(&s, ',', &item);
        int found = -1;
        for (int i = 0; i < 3; i++)
            if (str_eq_cstr(item, names[i]))
                found = i;
        if (found < 0 || seen[found])
            return false;
        seen[found] = true;
    } while (more);
    return true;
}

int config_set(struct config *c, const char *key, const char *value, const char *origin,
               struct errinfo *e)
{
    const struct cfg_key *k = cfg_find(key);
    if (!k)
        return failf(e, ERR_CONFIG, "%s: unknown key \"%s\"", origin, key);
    bool secret = k->type == CFG_SECRET || k->type == CFG_SMTP_URL;
    const char *shown = secret ? "(hidden)" : value;
    char host[64];
    int port;
    enum log_level lvl;

    switch (k->type) {
    case CFG_INT: {
        int64_t v;
        if (!str_to_i64(str_from(value), k->min, k->max, &v))
            return failf(e, ERR_CONFIG, "%s: %s: \"%s\" is not a whole number from %lld to %lld",
                         origin, key, value, (long long)k->min, (long long)k->max);
        *(int64_t *)((char *)c + k->off) = v;
        return 0;
    }
    case CFG_BOOL: {
        bool v;
        if (!parse_bool(value, &v))
            return failf(e, ERR_CONFIG, "%s: %s: \"%s\" is not true or false", origin, key, value);
        *(bool *)((char *)c + k->off) = v;
        return 0;
    }
    case CFG_LISTEN:
        if (!parse_listen(value, host, sizeof(host), &port))
            return failf(e, ERR_CONFIG,
                         "%s: %s: \"%s\" is not ADDRESS:PORT (port 0-65535, e.g. 127.0.0.1:8080)",
                         origin, key, value);
        break;
    case CFG_DB:
        if (has_prefix(value, "sqlite:")) {
            if (value[7] == '\0')
                return failf(e, ERR_CONFIG, "%s: %s: \"sqlite:\" needs a file path", origin, key);
        } else if (!has_prefix(value, "postgres://") && !has_prefix(value, "postgresql://")) {
            return failf(e, ERR_CONFIG,
                         "%s: %s: \"%s\" is not a database URL (sqlite:PATH or postgres://...)",
                         origin, key, value);
        }
        break;
    case CFG_URL:
        if (value[0] && !valid_url(value))
            return failf(e, ERR_CONFIG, "%s: %s: \"%s\" is not an http:// or https:// URL", origin,
                         key, value);
        break;
    case CFG_LEVEL:
        if (log_level_parse(value, &lvl) != 0)
            return failf(e, ERR_CONFIG, "%s: %s: \"%s\" is not one of debug, info, warn, error",
                         origin, key, value);
        break;
    case CFG_SEND_ORDER:
        if (!valid_send_order(value))
            return failf(e, ERR_CONFIG,
                         "%s: %s: \"%s\" must list sendgrid, resend and smtp, comma-separated, "
                         "each at most once",
                         origin, key, value);
        break;
    case CFG_SMTP_URL:
        if (value[0] && !has_prefix(value, "smtp://") && !has_prefix(value, "smtps://"))
            return failf(e, ERR_CONFIG, "%s: %s: %s is not an smtp:// or smtps:// URL", origin, key,
                         shown);
        break;
    case CFG_AI_PROVIDER:
        if (value[0] && strcmp(value, "offline") != 0 && strcmp(value, "anthropic") != 0 &&
            strcmp(value, "openai") != 0)
            return failf(e, ERR_CONFIG, "%s: %s: \"%s\" is not one of offline, anthropic, openai",
                         origin, key, value);
        break;
    case CFG_SECRET:
        if (strcmp(key, "secret_key") == 0 && value[0] && strlen(value) < 32)
            return failf(e, ERR_CONFIG, "%s: %s: too short (at least 32 characters)", origin, key);
        break;
    case CFG_STR:
        break;
    }
    char **slot = cfg_str_slot(c, k);
    free(*slot);
    *slot = value[0] ? xstrdup(value) : NULL;
    return 0;
}

void config_init(struct config *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < CFG_NKEYS; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        if (k->def && config_set(c, k->name, k->def, "default", NULL) != 0)
            abort(); /* a default that fails its own check is a bug */
    }
}

void config_release(struct config *c)
{
    for (size_t i = 0; i < CFG_NKEYS; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        if (k->type != CFG_INT && k->type != CFG_BOOL)
            free(*cfg_str_slot(c, k));
    }
    memset(c, 0, sizeof(*c));
}

struct ini_ctx {
    struct config *c;
    const char *path;
    struct errinfo *e;
    int rc;
};

static int on_ini_pair(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *x = user;
    (void)section; /* keys may sit under any section heading, e.g. [leadflow] */
    if (x->rc)
        return 0;
    x->rc = config_set(x->c, name, value, x->path, x->e);
    return x->rc == 0;
}

int config_load_file(struct config *c, const char *path, struct errinfo *e)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return failf(e, ERR_CONFIG, "%s: cannot open config file: %s", path, strerror(errno));
    struct ini_ctx x = {c, path, e, 0};
    int line = ini_parse_file(f, on_ini_pair, &x);
    fclose(f);
    if (x.rc)
        return x.rc;
    if (line != 0)
        return failf(e, ERR_CONFIG, "%s:%d: not a valid line (expected key = value)", path, line);
    return 0;
}

int config_load_env(struct config *c, char *const *envp, struct errinfo *e)
{
    for (; envp && *envp; envp++) {
        const char *kv = *envp;
        if (strncmp(kv, "LEADFLOW_", 9) != 0)
            continue;
        const char *eq = strchr(kv, '=');
        if (!eq)
            continue;
        char key[64], origin[80];
        size_t n = (size_t)(eq - kv) - 9;
        if (n == 0 || n >= sizeof(key))
            continue;
        for (size_t i = 0; i < n; i++) {
            char ch = kv[9 + i];
            key[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
        }
        key[n] = '\0';
        if (!cfg_find(key))
            continue; /* LEADFLOW_CONFIG and other non-key variables */
        snprintf(origin, sizeof(origin), "%.*s", (int)(eq - kv), kv);
        int rc = config_set(c, key, eq + 1, origin, e);
        if (rc)
            return rc;
    }
    return 0;
}

/* True when url is http:// to a host other than loopback (127.0.0.0/8,
 * ::1, localhost). */
static bool plain_http_off_host(const char *url)
{
    if (strncasecmp(url, "http://", 7) != 0)
        return false;
    const char *h = url + 7;
    size_t n = strcspn(h, "/?#");
    const char *at = memchr(h, '@', n);
    if (at) { /* user:password@host */
        n -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    char host[256];
    if (h[0] == '[') { /* [IPv6]:port */
        const char *end = memchr(h, ']', n);
        if (!end)
            return true;
        n = (size_t)(end - h - 1);
        h++;
    } else {
        const char *colon = memchr(h, ':', n);
        if (colon)
            n = (size_t)(colon - h);
    }
    if (n == 0 || n >= sizeof(host))
        return true;
    memcpy(host, h, n);
    host[n] = '\0';
    if (strcasecmp(host, "localhost") == 0)
        return false;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) != 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return !IN6_IS_ADDR_LOOPBACK(&a6);
    return true;
}

int config_finish(struct config *c, struct errinfo *e)
{
    if (!parse_listen(c->listen, c->listen_host, sizeof(c->listen_host), &c->listen_port))
        return failf(e, ERR_CONFIG, "listen: \"%s\" is not ADDRESS:PORT", c->listen);
    if (c->anthropic_max_tokens <= c->anthropic_thinking_budget)
        return failf(e, ERR_CONFIG,
                     "anthropic_max_tokens (%lld) must be larger than anthropic_thinking_budget "
                     "(%lld)",
                     (long long)c->anthropic_max_tokens, (long long)c->anthropic_thinking_budget);
    if (c->ai_provider && strcmp(c->ai_provider, "anthropic") == 0 && !c->anthropic_api_key)
        return failf(e, ERR_CONFIG,
                     "ai_provider (LEADFLOW_AI_PROVIDER) is anthropic but anthropic_api_key "
                     "(LEADFLOW_ANTHROPIC_API_KEY) is not set");
    if (c->ai_provider && strcmp(c->ai_provider, "openai") == 0 && !c->openai_model)
        return failf(e, ERR_CONFIG,
                     "ai_provider (LEADFLOW_AI_PROVIDER) is openai but openai_model "
                     "(LEADFLOW_OPENAI_MODEL) is not set: name the model the server serves");
    /* One send_email attempt tries up to three providers in turn: an HTTP
     * one waits at most send_timeout_ms, SMTP twice that (the transfer,
     * then the reply to QUIT), so four times in all. Leases are renewed
     * every third of one; an attempt that ends within two thirds of the
     * lease survives a missed renewal without another worker taking the
     * job (and sending again): 4 * send_timeout_ms <= 2/3 * job_lease_ms. */
    if (c->send_timeout_ms * SEND_TIMEOUTS_PER_LEASE > c->job_lease_ms)
        return failf(e, ERR_CONFIG,
                     "send_timeout_ms (LEADFLOW_SEND_TIMEOUT_MS, %lld) must be at most a sixth of "
                     "job_lease_ms (LEADFLOW_JOB_LEASE_MS, %lld): a send may wait four times the "
                     "send timeout, and must end well inside its job's lease",
                     (long long)c->send_timeout_ms, (long long)c->job_lease_ms);
    /* Over plain http the authorization code, the tokens and the signing
     * keys could be read or replaced on the way; only loopback (tests, a
     * provider on the same machine) is safe without saying so. */
    if (c->oidc_issuer && plain_http_off_host(c->oidc_issuer) && !c->oidc_allow_http)
        return failf(e, ERR_CONFIG,
                     "oidc_issuer (LEADFLOW_OIDC_ISSUER): \"%s\" is plain http on a host other "
                     "than loopback; use https, or set LEADFLOW_OIDC_ALLOW_HTTP=1 "
                     "(oidc_allow_http = true) to accept it",
                     c->oidc_issuer);
    if (!c->public_url) {
        char url[128];
        snprintf(url, sizeof(url), "http://%s", c->listen);
        c->public_url = xstrdup(url);
    } else {
        size_t n = strlen(c->public_url);
        while (n > 0 && c->public_url[n - 1] == '/')
            c->public_url[--n] = '\0'; /* links are built as public_url + "/path" */
    }
    return 0;
}

int config_ensure_secret(struct config *c, const char *data_dir, struct errinfo *e)
{
    if (c->secret_key)
        return 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/leadflow.key", data_dir && *data_dir ? data_dir : ".");
    char key[128];
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(key, 1, sizeof(key) - 1, f);
        fclose(f);
        key[n] = '\0';
        while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r'))
            key[--n] = '\0';
        if (n < 32)
            return failf(e, ERR_IO, "%s: secret key file is too short (%zu characters)", path, n);
        c->secret_key = xstrdup(key);
        return 0;
    }
    if (errno != ENOENT)
        return failf(e, ERR_IO, "%s: cannot read secret key file: %s", path, strerror(errno));
    crypto_token(key, sizeof(key), 48);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return failf(e, ERR_IO, "%s: cannot create secret key file: %s", path, strerror(errno));
    size_t n = strlen(key);
    key[n] = '\n';
    ssize_t w = write(fd, key, n + 1);
    key[n] = '\0';
    if (w != (ssize_t)(n + 1) || close(fd) != 0)
        return failf(e, ERR_IO, "%s: cannot write secret key file", path);
    log_info("config.secret_created", "generated a new secret key in %s", path);
    c->secret_key = xstrdup(key);
    return 0;
}
