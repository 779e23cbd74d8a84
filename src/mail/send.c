/*
 * The send chain (providers in LEADFLOW_SEND_ORDER, each attempt recorded),
 * the outbox (a sent_emails row and its send_email job, written together)
 * and the send_email job handler. A provider gets the row's id as its
 * idempotency key: unique across workspaces, unlike the caller's key.
 */
#include "mail/send.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/str.h"
#include "crm/crm.h"
#include "jobs/queue.h"
#include "mail/breaker.h"
#include "mail/dkim.h"
#include "mail/send_int.h"
#include "mail/track.h"
#include "store/auth.h"
#include "store/campaigns.h"
#include "store/contacts.h"
#include "store/sending.h"

enum { SUBJECT_MAX = 998, HTML_MAX = 512 * 1024 };
/* The longest pause a provider's Retry-After imposes on it. */
#define SEND_RETRY_AFTER_MAX_MS ((int64_t)3600 * 1000)

static const char default_from[] = "leadflow <noreply@localhost>";

/* ---- helpers the providers share ---------------------------------------- */

void send_http_fault(long status, long retry_after_s, bool sender, struct send_result *r)
{
    r->config_error =
        sender || status == 401 || status == 403 || status == 404 || status == 405 || status == 407;
    r->retry_after_ms = status == 429 && retry_after_s > 0 ? (int64_t)retry_after_s * 1000 : 0;
}

int send_http_outcome(long status)
{
    if (status >= 200 && status < 300)
        return 0;
    if (status == 429 || status >= 500 || status < 400)
        return ERR_TEMPORARY;
    /* A refused key (401), an account or sender the provider will not send
     * for (403), a wrong endpoint (404, 405) or a proxy wanting credentials
     * (407) is this provider's failure, not the recipient's: the next
     * provider may well send it, and it must never count as a bounce. */
    if (status == 401 || status == 403 || status == 404 || status == 405 || status == 407)
        return ERR_TEMPORARY;
    return ERR_INVALID;
}

bool send_error_names_sender(const char *body, size_t len)
{
    if (!body || !len)
        return false;
    json_t *root = json_loadb(body, len, 0, NULL);
    bool sender = false;
    /* SendGrid names the field of each error: "from", "from.email", ... */
    json_t *errs = json_object_get(root, "errors");
    size_t i;
    json_t *one;
    json_array_foreach(errs, i, one)
    {
        const char *field = json_string_value(json_object_get(one, "field"));
        sender = sender ||
                 (field && strncmp(field, "from", 4) == 0 && (field[4] == '\0' || field[4] == '.'));
    }
    /* Resend says it in the message: "Invalid `from` field", "The example.com
     * domain is not verified". */
    const char *msg = json_string_value(json_object_get(root, "message"));
    if (msg && (strstr(msg, "`from`") || strstr(msg, "not verified")))
        sender = true;
    json_decref(root);
    return sender;
}

void send_error_message(const char *body, size_t len, char *out, size_t n)
{
    out[0] = '\0';
    if (!body || !len)
        return;
    json_t *root = json_loadb(body, len, 0, NULL);
    const char *msg = json_string_value(json_object_get(root, "message"));
    if (!msg) {
        json_t *first = json_array_get(json_object_get(root, "errors"), 0);
        msg = json_string_value(json_object_get(first, "message"));
    }
    if (msg)
        snprintf(out, n, "%s", msg);
    json_decref(root);
}

int send_format_address(struct buf *b, const char *name, const char *address)
{
    if (!name || !*name)
        return buf_puts(b, address);
    bool quote = strpbrk(name, "()<>[]:;@\\,.\"") != NULL;
    int rc = 0;
    if (quote) {
        rc = buf_putc(b, '"');
        for (const char *p = name; *p && !rc; p++) {
            if (*p == '"' || *p == '\\')
                rc = buf_putc(b, '\\');
            if (!rc)
                rc = buf_putc(b, *p);
        }
        rc = rc ? rc : buf_putc(b, '"');
    } else {
        rc = buf_puts(b, name);
    }
    return rc ? rc : buf_printf(b, " <%s>", address);
}

static bool has_line_break(const char *s)
{
    return s && strpbrk(s, "\r\n") != NULL;
}

/* local@domain with no space, bracket, quote or comma; "localhost" counts
 * as a domain (the default From), so this is looser than str_is_email. */
static bool plain_address(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || !at[1] || strchr(at + 1, '@') || strlen(s) >= STORE_EMAIL_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == 0x7f || strchr("<>()[]\\\",;:", *p))
            return false;
    return true;
}

int send_parse_from(const char *from, struct arena *a, const char **name, const char **address,
                    struct errinfo *e)
{
    *name = NULL;
    *address = NULL;
    if (!from || !*from)
        from = default_from;
    if (has_line_break(from))
        return failf(e, ERR_INVALID, "the From address contains a line break");
    const char *lt = strrchr(from, '<');
    if (!lt) {
        if (!plain_address(from))
            return failf(e, ERR_INVALID, "\"%s\" is not an email address", from);
        *address = arena_strdup(a, from);
        return 0;
    }
    const char *gt = strchr(lt, '>');
    if (!gt || gt[1] != '\0')
        return failf(e, ERR_INVALID, "\"%s\" is not \"Name <address>\"", from);
    char *addr = arena_strndup(a, lt + 1, (size_t)(gt - lt - 1));
    if (!plain_address(addr))
        return failf(e, ERR_INVALID, "\"%s\" is not an email address", addr);
    size_t nlen = (size_t)(lt - from);
    while (nlen > 0 && from[nlen - 1] == ' ')
        nlen--;
    const char *np = from;
    while (nlen > 0 && *np == ' ')
        np++, nlen--;
    if (nlen >= 2 && np[0] == '"' && np[nlen - 1] == '"')
        np++, nlen -= 2;
    *name = nlen ? arena_strndup(a, np, nlen) : NULL;
    *address = addr;
    return 0;
}

/* ---- composing: what every email gets --------------------------------------- */

/* Escaped text with its line breaks kept as <br>. */
static void html_escape(struct buf *b, const char *s, size_t n)
{
    const char *end = s + n;
    for (const char *nl; (nl = memchr(s, '\n', (size_t)(end - s))) != NULL; s = nl + 1) {
        buf_html_escape(b, s, (size_t)(nl - s));
        buf_puts(b, "<br>\n");
    }
    buf_html_escape(b, s, (size_t)(end - s));
}

const char *send_text_to_html(const char *text, const char *unsub, struct arena *a)
{
    struct buf b;
    buf_init(&b, HTML_MAX);
    buf_puts(&b, "<!doctype html><html><body><p>");
    const char *p = text ? text : "";
    while (*p) {
        const char *h = strstr(p, "http");
        while (h && strncmp(h, "http://", 7) != 0 && strncmp(h, "https://", 8) != 0)
            h = strstr(h + 4, "http");
        if (!h) {
            html_escape(&b, p, strlen(p));
            break;
        }
        html_escape(&b, p, (size_t)(h - p));
        size_t len = strcspn(h, " \t\r\n<>\"'");
        while (len > 0 && strchr(".,;:!?)", h[len - 1]))
            len--;
        /* The unsubscribe URL stays text, so that following it is not a click. */
        bool is_unsub = unsub && strlen(unsub) == len && strncmp(h, unsub, len) == 0;
        if (!is_unsub && track_url_ok(h, len)) {
            buf_puts(&b, "<a href=\"");
            html_escape(&b, h, len);
            buf_puts(&b, "\">");
            html_escape(&b, h, len);
            buf_puts(&b, "</a>");
        } else {
            html_escape(&b, h, len ? len : 4);
        }
        p = h + (len ? len : 4);
    }
    buf_puts(&b, "</p></body></html>");
    const char *out = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_release(&b);
    return out;
}

int send_compose(struct store *st, const struct config *cfg, const char *workspace_id,
                 const char *text, const char *html, const char *unsub, struct arena *a,
                 struct send_msg *m, struct errinfo *e)
{
    struct sender_identity who = {0};
    if (st && workspace_id) {
        int rc = store_workspace_sender_get(st, workspace_id, a, &who, e);
        if (rc)
            return rc;
    }
    if (who.email) {
        m->from_email = who.email;
        m->from_name = who.name;
    } else {
        int rc = send_parse_from(cfg ? cfg->mail_from : NULL, a, &m->from_name, &m->from_email, e);
        if (rc)
            return rc;
    }
    m->reply_to = who.reply_to;
    m->text = text ? text : "";
    /* Every email has both parts: the HTML part carries the open pixel and
     * the tracked links, which a text-only email could not. */
    m->html = html && *html ? html : send_text_to_html(m->text, unsub, a);
    return 0;
}

/* ---- the chain ------------------------------------------------------------ */

/* This process's figures of one provider (for /metrics). */
struct send_counts {
    atomic_llong sent, failed, bounced, skipped;
};

struct send_chain {
    struct sender *s[SEND_MAX_PROVIDERS];
    struct breaker br[SEND_MAX_PROVIDERS]; /* one circuit per provider, in memory */
    struct send_counts counts[SEND_MAX_PROVIDERS];
    size_t n;
    const struct config *cfg;   /* set by outbox_register */
    send_failure_fn on_failure; /* set by send_chain_on_failure; may be NULL */
};

void send_chain_on_failure(struct send_chain *c, send_failure_fn fn)
{
    c->on_failure = fn;
}

struct send_chain *send_chain_new(const struct config *cfg, struct errinfo *e)
{
    struct arena a;
    arena_init(&a, NULL, 0);
    const char *name, *addr;
    int rc = send_parse_from(cfg->mail_from, &a, &name, &addr, e);
    arena_release(&a);
    if (rc) {
        failf(e, ERR_CONFIG, "mail_from: %s", e->msg);
        return NULL;
    }
    struct send_chain *c = xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    struct str order = str_from(cfg->send_order ? cfg->send_order : "sendgrid,resend,smtp"), item;
    bool more;
    do {
        more = str_split(&order, ',', &item);
        struct sender *s = NULL;
        if (str_eq_cstr(item, "sendgrid"))
            s = send_sendgrid_new(cfg);
        else if (str_eq_cstr(item, "resend"))
            s = send_resend_new(cfg);
        else if (str_eq_cstr(item, "smtp") && send_smtp_new(cfg, &s, e) != 0) {
            send_chain_free(c);
            return NULL;
        }
        if (s && c->n < SEND_MAX_PROVIDERS) {
            breaker_init(&c->br[c->n], (int)cfg->send_breaker_failures,
                         cfg->send_breaker_cooldown_ms);
            c->s[c->n++] = s;
        } else if (s)
            s->ops->free(s);
    } while (more);
    /* Only SMTP signs; a key with no SMTP provider is still checked, so a
     * bad one is found at start and not when SMTP is switched on later. */
    bool smtp = false;
    for (size_t i = 0; i < c->n; i++)
        smtp = smtp || strcmp(c->s[i]->ops->name, "smtp") == 0;
    if (!smtp && cfg->dkim_key_file && cfg->dkim_key_file[0]) {
        struct dkim_signer *d;
        if (dkim_signer_new(cfg, &d, e) != 0) {
            send_chain_free(c);
            return NULL;
        }
        dkim_signer_free(d);
        log_warn("send.dkim_unused", "a DKIM key is configured but SMTP is not used: only mail "
                                     "sent over SMTP is signed");
    }
    return c;
}

void send_chain_free(struct send_chain *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        c->s[i]->ops->free(c->s[i]);
        breaker_destroy(&c->br[i]);
    }
    free(c);
}

size_t send_chain_size(const struct send_chain *c)
{
    return c ? c->n : 0;
}

/* Keeps the attempt of one provider in log (written later by the caller). */
static void keep_attempt(struct send_attempts *log, const char *provider, int rc,
                         const struct send_result *r, const struct errinfo *pe, int64_t started)
{
    if (!log || log->n >= SEND_MAX_PROVIDERS)
        return;
    size_t i = log->n++;
    struct send_attempt *at = &log->at[i];
    memset(at, 0, sizeof(*at));
    at->status = r->status;
    at->started_at = started;
    at->finished_at = clock_now_ms();
    if (rc == 0 && r->provider_message_id[0]) {
        snprintf(log->provider_message_id[i], sizeof(log->provider_message_id[i]), "%s",
                 r->provider_message_id);
        at->provider_message_id = log->provider_message_id[i];
    }
    if (rc) {
        snprintf(log->error[i], sizeof(log->error[i]), "%s", pe->msg);
        at->error = log->error[i];
    }
    snprintf(at->provider, sizeof(at->provider), "%s", provider);
    snprintf(at->outcome, sizeof(at->outcome), "%s",
             rc == 0             ? "sent"
             : rc == ERR_INVALID ? "permanent"
                                 : "temporary");
}

int send_attempts_add(struct store *st, const char *workspace_id, const char *sent_email_id,
                      const struct send_attempts *log, struct errinfo *e)
{
    for (size_t i = 0; i < log->n; i++) {
        int rc = store_send_attempt_add(st, workspace_id, sent_email_id, &log->at[i], e);
        if (rc)
            return rc;
    }
    return 0;
}

/* A provider refused our configuration: raised at once (a send_failures
 * alert), since every email would fail the same way. */
static void tell_config_error(const struct send_chain *c, struct store *st, const char *ws,
                              const char *provider, const struct send_result *r, const char *error)
{
    if (!c->on_failure || !st || !ws || !ws[0])
        return;
    struct send_failure f = {
        .provider = provider, .status = r->status, .error = error, .config = true};
    struct errinfo ae;
    if (c->on_failure(st, ws, &f, &ae) != 0)
        log_warn("email.alert_failed", "a configuration error of %s not raised: %s", provider,
                 ae.msg);
}

/* ERR_FORBIDDEN when to is on the workspace's suppression list. */
static int suppressed(struct store *st, const char *workspace_id, const char *to, struct errinfo *e)
{
    if (!st || !workspace_id || !workspace_id[0] || !to)
        return 0;
    char stack[1024];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    struct suppression s;
    struct errinfo fe;
    int rc = store_suppression_find(st, workspace_id, to, &a, &s, &fe);
    if (rc == 0)
        rc = failf(e, ERR_FORBIDDEN, "%s is on the suppression list (%s)", to, s.reason);
    else if (rc == ERR_NOT_FOUND)
        rc = 0;
    else
        rc = failf(e, ERR_TEMPORARY, "%s", fe.msg);
    arena_release(&a);
    return rc;
}

int send_chain_send(struct send_chain *c, struct store *st, const char *workspace_id,
                    const struct send_msg *m, struct send_result *r, struct send_attempts *log,
                    struct errinfo *e)
{
    memset(r, 0, sizeof(*r));
    if (log)
        log->n = 0;
    const char *fields[] = {
        m->from_email, m->from_name,           m->to_email, m->to_name, m->subject,
        m->message_id, m->list_unsubscribe_url};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (has_line_break(fields[i]))
            return failf(e, ERR_INVALID, "a header value contains a line break");
    int rc = suppressed(st, workspace_id, m->to_email, e);
    if (rc)
        return rc;
    if (!c || c->n == 0)
        return failf(e, ERR_TEMPORARY,
                     "no email provider is configured (set LEADFLOW_SENDGRID_API_KEY, "
                     "LEADFLOW_RESEND_API_KEY or LEADFLOW_SMTP_URL)");
    rc = ERR_TEMPORARY;
    size_t tried = 0;
    int64_t paused_until = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct sender *s = c->s[i];
        struct breaker *b = &c->br[i];
        int64_t started = clock_now_ms();
        if (!breaker_allow(b, started)) {
            /* Its circuit is open (failing, or a 429 asked for a pause):
             * skipped without a request, so no email waits on it. */
            int64_t until = 0;
            breaker_state(b, started, &until);
            if (!paused_until || until < paused_until)
                paused_until = until;
            atomic_fetch_add(&c->counts[i].skipped, 1);
            continue;
        }
        tried++;
        struct send_result one;
        memset(&one, 0, sizeof(one));
        struct errinfo pe;
        errinfo_clear(&pe);
        rc = s->ops->send(s, m, &one, &pe);
        if (rc != 0 && rc != ERR_INVALID)
            rc = ERR_TEMPORARY;
        keep_attempt(log, s->ops->name, rc, &one, &pe, started);
        int64_t done = clock_now_ms();
        if (rc == 0 || rc == ERR_INVALID) /* the provider works: it took or refused the email */
            breaker_success(b);
        else if (one.retry_after_ms > 0)
            breaker_defer(b, done + (one.retry_after_ms < SEND_RETRY_AFTER_MAX_MS
                                         ? one.retry_after_ms
                                         : SEND_RETRY_AFTER_MAX_MS));
        else
            breaker_failure(b, done);
        atomic_fetch_add(rc == 0             ? &c->counts[i].sent
                         : rc == ERR_INVALID ? &c->counts[i].bounced
                                             : &c->counts[i].failed,
                         1);
        *r = one;
        snprintf(r->provider, sizeof(r->provider), "%s", s->ops->name);
        if (rc && one.config_error)
            tell_config_error(c, st, workspace_id, s->ops->name, &one, pe.msg);
        if (rc == 0)
            return 0;
        failf(e, rc, "%s", pe.msg);
        if (rc == ERR_INVALID)
            return rc;
    }
    if (tried == 0)
        return failf(
            e, ERR_TEMPORARY,
            "every provider is paused (failing, or asked to wait) until %lld ms from now",
            (long long)(paused_until > clock_now_ms() ? paused_until - clock_now_ms() : 0));
    return rc;
}

int send_chain_metrics_render(const void *arg, struct buf *out)
{
    const struct send_chain *c = arg;
    if (!c || c->n == 0)
        return 0;
    static const struct {
        const char *name, *help;
        size_t off;
    } counters[] = {
        {"leadflow_emails_sent_total", "Emails a provider accepted, by provider.",
         offsetof(struct send_counts, sent)},
        {"leadflow_emails_failed_total",
         "Send attempts that failed for the moment (the provider's failure), by provider.",
         offsetof(struct send_counts, failed)},
        {"leadflow_emails_bounced_total",
         "Emails a provider refused for good (the recipient), by provider.",
         offsetof(struct send_counts, bounced)},
        {"leadflow_send_skipped_total",
         "Sends that skipped a provider because its circuit was open, by provider.",
         offsetof(struct send_counts, skipped)},
    };
    int rc = 0;
    for (size_t k = 0; k < sizeof(counters) / sizeof(counters[0]) && !rc; k++) {
        rc = buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", counters[k].name,
                        counters[k].help, counters[k].name);
        for (size_t i = 0; i < c->n && !rc; i++) {
            const atomic_llong *v =
                (const atomic_llong *)((const char *)&c->counts[i] + counters[k].off);
            rc = buf_printf(out, "%s{provider=\"%s\"} %lld\n", counters[k].name, c->s[i]->ops->name,
                            (long long)atomic_load(v));
        }
    }
    if (!rc)
        rc = buf_puts(out, "# HELP leadflow_send_circuit_state The circuit of each provider in "
                           "this process: 0 closed, 1 open (skipped), 2 half-open (probing).\n"
                           "# TYPE leadflow_send_circuit_state gauge\n");
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < c->n && !rc; i++)
        rc =
            buf_printf(out, "leadflow_send_circuit_state{provider=\"%s\"} %d\n", c->s[i]->ops->name,
                       (int)breaker_state((struct breaker *)&c->br[i], now, NULL));
    return rc ? ERR_TOO_BIG : 0;
}

/* ---- the outbox ------------------------------------------------------------ */

static int check_item(const struct outbox_item *it, struct errinfo *e)
{
    if (!it->workspace_id || !it->contact_id)
        return failf(e, ERR_INVALID, "a workspace and a contact are needed");
    if (!it->subject || !*it->subject)
        return failf(e, ERR_INVALID, "subject is required");
    if (strlen(it->subject) > SUBJECT_MAX)
        return failf(e, ERR_INVALID, "subject is longer than %d bytes", SUBJECT_MAX);
    if (has_line_break(it->subject))
        return failf(e, ERR_INVALID, "subject must not contain line breaks");
    if (!it->text)
        return failf(e, ERR_INVALID, "text is required");
    if (!it->idempotency_key || !*it->idempotency_key || strlen(it->idempotency_key) > 200)
        return failf(e, ERR_INVALID, "the idempotency key must have 1 to 200 characters");
    return 0;
}

/* The outbox row and its send_email job, written together. */
struct queued {
    const struct outbox_item *it;
    const struct sent_email *row;
    char *id;
    bool *created;
};

static int queue_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct queued *x = arg;
    const struct outbox_item *it = x->it;
    char *id = x->id;
    bool *created = x->created;
    int rc = store_sent_email_insert(st, it->workspace_id, x->row, id, created, e);
    if (rc || !*created)
        return rc;
    char payload[64], key[64];
    snprintf(payload, sizeof(payload), "{\"sentEmailId\":\"%s\"}", id);
    snprintf(key, sizeof(key), "send:%s", id);
    struct job_spec spec = {
        .workspace_id = it->workspace_id,
        .kind = "send_email",
        .payload = payload,
        .idempotency_key = key,
    };
    int64_t job_id = 0;
    bool job_created = false;
    rc = queue_enqueue(st, &spec, &job_id, &job_created, e);
    if (!rc)
        rc = store_sent_email_set_job(st, it->workspace_id, id, job_id, e);
    return rc;
}

int outbox_queue(struct store *st, const struct config *cfg, const struct outbox_item *it,
                 char id[STORE_ID_LEN], bool *created, struct errinfo *e)
{
    *created = false;
    id[0] = '\0';
    int rc = check_item(it, e);
    if (rc)
        return rc;
    char stack[4096];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    struct contact ct;
    struct send_msg m = {0};
    rc =
        send_compose(st, cfg, it->workspace_id, it->text, it->html, it->unsubscribe_url, &a, &m, e);
    if (!rc)
        rc = store_contact_get(st, it->workspace_id, it->contact_id, &a, &ct, e);
    if (!rc && ct.unsubscribed_at)
        rc = failf(e, ERR_FORBIDDEN, "the contact has unsubscribed");
    if (rc) {
        arena_release(&a);
        return rc;
    }
    struct sent_email row;
    memset(&row, 0, sizeof(row));
    if (it->id && strlen(it->id) == UUID_STR_LEN - 1)
        snprintf(row.id, sizeof(row.id), "%s", it->id);
    else
        crypto_uuid(row.id);
    snprintf(row.contact_id, sizeof(row.contact_id), "%s", it->contact_id);
    row.idempotency_key = it->idempotency_key;
    const char *domain = strrchr(m.from_email, '@') + 1;
    row.message_id = arena_printf(&a, "%s@%s", row.id, domain);
    row.from_email = m.from_email;
    row.from_name = m.from_name;
    row.reply_to = m.reply_to;
    row.to_email = ct.email;
    row.subject = it->subject;
    row.body_text = m.text;
    row.body_html = m.html;
    row.content_id = it->content_id;
    row.created_at = clock_now_ms();

    struct queued x = {it, &row, id, created};
    rc = store_tx_run(st, queue_tx, &x, e);
    if (rc)
        *created = false;
    arena_release(&a);
    return rc;
}

/* An approved draft's email and the draft's new state, written together. */
struct draft_send {
    const struct config *cfg;
    const char *ws, *id, *user_id;
    struct arena *a;
    struct content *out;
};

static int draft_send_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct draft_send *x = arg;
    struct content *out = x->out;
    int rc = store_content_get(st, x->ws, x->id, x->a, out, e);
    if (!rc && strcmp(out->status, "approved") != 0)
        rc = failf(e, ERR_CONFLICT, "a draft that is %s cannot be sent; approve it first",
                   out->status);
    if (rc)
        return rc;
    char key[64];
    snprintf(key, sizeof(key), "content:%s", x->id);
    char sent_id[STORE_ID_LEN] = "";
    bool created = false;
    struct outbox_item it = {
        .workspace_id = x->ws,
        .contact_id = out->contact_id,
        .subject = out->subject,
        .text = out->body,
        .idempotency_key = key,
        .content_id = x->id,
    };
    rc = outbox_queue(st, x->cfg, &it, sent_id, &created, e);
    if (!rc)
        rc = store_content_transition(st, x->ws, x->id, CONTENT_APPROVED, CONTENT_SENT, x->user_id,
                                      sent_id, clock_now_ms(), e);
    return rc;
}

int outbox_send_draft(struct store *st, const struct config *cfg, const char *workspace_id,
                      const char *id, const char *user_id, struct arena *a, struct content *out,
                      struct errinfo *e)
{
    struct draft_send x = {cfg, workspace_id, id, user_id, a, out};
    int rc = store_tx_run(st, draft_send_tx, &x, e);
    return rc ? rc : store_content_get(st, workspace_id, id, a, out, e);
}

/* ---- previews ------------------------------------------------------------------ */

int send_preview(struct store *st, const struct config *cfg, const char *workspace_id,
                 const char *to_email, const char *to_name, const char *subject, const char *text,
                 const char *html, send_fill_fn fill, void *fill_arg, struct arena *a,
                 struct send_msg *m, struct errinfo *e)
{
    memset(m, 0, sizeof(*m));
    char id[UUID_STR_LEN], nobody[UUID_STR_LEN];
    crypto_uuid(id);
    crypto_uuid(nobody);
    struct track_claim claim = {.kind = TRACK_UNSUBSCRIBE};
    snprintf(claim.workspace_id, sizeof(claim.workspace_id), "%s", workspace_id);
    snprintf(claim.sent_email_id, sizeof(claim.sent_email_id), "%s", id);
    snprintf(claim.contact_id, sizeof(claim.contact_id), "%s", nobody);
    const char *tok = track_token(cfg, &claim, a);
    if (!tok || !cfg->public_url)
        return failf(e, ERR_CONFIG, "previews need public_url and secret_key");
    const char *unsub = arena_printf(a, "%s/u/%s", cfg->public_url, tok);
    if (fill) {
        subject = fill(fill_arg, subject, unsub, a);
        text = fill(fill_arg, text, unsub, a);
    }
    if (!subject || !*subject)
        return failf(e, ERR_INVALID, "subject is required");
    if (str_has_control(subject, true))
        return failf(e, ERR_INVALID, "subject must not contain line breaks or control characters");
    int rc = send_compose(st, cfg, workspace_id, text, html, unsub, a, m, e);
    const char *t = NULL, *h = NULL, *u = NULL;
    if (!rc)
        rc = track_render(cfg, workspace_id, id, nobody, m->text, m->html, a, &t, &h, &u, e);
    if (rc)
        return rc;
    m->text = t;
    m->html = h;
    m->list_unsubscribe_url = u;
    m->subject = subject;
    m->to_email = to_email;
    m->to_name = to_name && *to_name ? to_name : NULL;
    m->idempotency_key = arena_strdup(a, id);
    m->message_id = arena_printf(a, "%s@%s", id, strrchr(m->from_email, '@') + 1);
    return 0;
}

/* ---- the send_email job ------------------------------------------------------ */

static int finish(struct store *st, const char *ws, const struct sent_email *row,
                  const char *status, const char *provider, const char *pmid, const char *error,
                  int64_t sent_at, struct errinfo *e)
{
    bool changed;
    int rc = store_sent_email_finish(st, ws, row->id, status, provider, pmid, error, sent_at,
                                     &changed, e);
    if (rc)
        return rc;
    struct log_line l;
    if (changed && strcmp(status, "queued") != 0 &&
        log_begin(&l, strcmp(status, "sent") == 0 ? LOG_INFO : LOG_WARN, "email.send")) {
        log_str(&l, "workspace", ws);
        log_str(&l, "sent_email", row->id);
        log_str(&l, "status", status);
        if (provider)
            log_str(&l, "provider", provider);
        log_end(&l, "email %s %s%s%s", row->id, status, error ? ": " : "", error ? error : "");
    }
    return 0;
}

/* An attempt that succeeded but whose outcome never reached the row (the
 * row's update failed): the email went out, so it must not go again. */
static int already_sent(struct store *st, const char *ws, const struct sent_email *row,
                        struct arena *a, bool *done, struct errinfo *e)
{
    *done = false;
    struct send_attempt *at;
    size_t n;
    int rc = store_send_attempt_list(st, ws, row->id, a, &at, &n, e);
    for (size_t i = 0; !rc && i < n; i++) {
        if (strcmp(at[i].outcome, "sent") == 0) {
            *done = true;
            return finish(st, ws, row, "sent", at[i].provider, at[i].provider_message_id, NULL,
                          at[i].finished_at, e);
        }
    }
    return rc;
}

/*
 * A provider refused the email for good (a bad address, a hard bounce): in
 * one transaction the row is refused, a bounce event is recorded and the
 * contact's change reported (its active drip enrollments end).
 */
struct refusal {
    const char *ws;
    const struct sent_email *row;
    const char *provider, *error;
};

static int bounce_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct refusal *x = arg;
    int64_t now = clock_now_ms();
    int rc = finish(st, x->ws, x->row, "refused", x->provider, NULL, x->error, 0, e);
    if (rc || !x->row->contact_id[0])
        return rc;
    rc = store_email_event_add(st, x->ws, x->row->id, x->row->contact_id, "bounce", NULL, NULL,
                               NULL, NULL, now, e);
    struct crm_change c = {.workspace_id = x->ws,
                           .contact_id = x->row->contact_id,
                           .what = CRM_BOUNCE,
                           .sent_email_id = x->row->id,
                           .source = "a bounce",
                           .now = now};
    return rc ? rc : crm_contact_changed(st, &c, e);
}

/* What a send ended with: written with its attempts in one transaction. */
struct outcome {
    const char *ws;
    const struct sent_email *row;
    const struct send_attempts *log;
    const char *status, *provider, *pmid, *error;
    int64_t sent_at;
    bool bounce; /* refused for good by provider: a bounce (bounce_tx) */
};

static int outcome_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct outcome *x = arg;
    int rc = send_attempts_add(st, x->ws, x->row->id, x->log, e);
    if (rc)
        return rc;
    if (x->bounce) {
        struct refusal r = {x->ws, x->row, x->provider, x->error};
        return bounce_tx(st, &r, e);
    }
    return finish(st, x->ws, x->row, x->status, x->provider, x->pmid, x->error, x->sent_at, e);
}

/* Writes the attempts and the outcome in one transaction. Should that fail,
 * the attempts are written alone, so that the job's next run finds an email
 * a provider accepted already sent (already_sent) and does not send it again. */
static int record_outcome(struct store *st, const struct outcome *x, struct errinfo *e)
{
    int rc = store_tx_run(st, outcome_tx, (void *)x, e);
    struct errinfo we;
    if (rc && x->log->n && send_attempts_add(st, x->ws, x->row->id, x->log, &we) != 0)
        log_warn("email.attempt_not_recorded", "the send attempts of %s not recorded: %s",
                 x->row->id, we.msg);
    return rc;
}

static int send_job(void *ctx, struct store *st, const struct job *j, struct arena *a,
                    struct errinfo *e)
{
    struct send_chain *c = ctx;
    const char *ws = j->workspace_id;
    json_t *p = json_loads(j->payload ? j->payload : "", 0, NULL);
    const char *sid = json_string_value(json_object_get(p, "sentEmailId"));
    char id[STORE_ID_LEN] = "";
    if (sid && strlen(sid) < sizeof(id))
        snprintf(id, sizeof(id), "%s", sid);
    json_decref(p);
    if (!id[0] || !ws[0])
        return failf(e, ERR_INVALID, "send_email: the payload names no sent email");

    struct sent_email row;
    int rc = store_sent_email_get(st, ws, id, a, &row, e);
    if (rc == ERR_NOT_FOUND)
        return 0; /* deleted with its workspace: nothing to send */
    if (rc)
        return rc;
    if (strcmp(row.status, "sent") == 0 || strcmp(row.status, "refused") == 0 ||
        strcmp(row.status, "suppressed") == 0)
        return 0;
    bool done;
    if ((rc = already_sent(st, ws, &row, a, &done, e)) || done)
        return rc;

    struct contact ct;
    if (!row.contact_id[0])
        return finish(st, ws, &row, "refused", NULL, NULL, "the contact was deleted", 0, e);
    rc = store_contact_get(st, ws, row.contact_id, a, &ct, e);
    if (rc == ERR_NOT_FOUND)
        return finish(st, ws, &row, "refused", NULL, NULL, "the contact was deleted", 0, e);
    if (rc)
        return rc;
    if (ct.unsubscribed_at)
        return finish(st, ws, &row, "refused", NULL, NULL, "the contact has unsubscribed", 0, e);

    const char *text, *html, *unsub = NULL;
    rc = track_render(c->cfg, ws, row.id, row.contact_id, row.body_text, row.body_html, a, &text,
                      &html, &unsub, e);
    if (rc == ERR_CONFIG) {
        /* No retry can help this process (a worker started without the
         * secret key): the email fails with the reason, not queued forever. */
        char why[sizeof(e->msg)];
        snprintf(why, sizeof(why), "%s", e->msg);
        int frc = finish(st, ws, &row, "failed", NULL, NULL, why, 0, e);
        return frc ? frc : failf(e, ERR_CONFIG, "%s", why);
    }
    if (rc)
        return rc;
    /* The From and Reply-To it was queued with; a row queued before they
     * were kept takes the configured name when the address is the same. */
    const char *from_name = row.from_name, *from_addr = NULL;
    struct errinfo fe;
    if (!from_name && (send_parse_from(c->cfg->mail_from, a, &from_name, &from_addr, &fe) != 0 ||
                       strcasecmp(from_addr, row.from_email) != 0))
        from_name = NULL; /* the From changed since: keep the row's address, no name */
    struct send_msg m = {
        .from_email = row.from_email,
        .from_name = from_name,
        .reply_to = row.reply_to,
        .to_email = row.to_email,
        .to_name = ct.name[0] ? ct.name : NULL,
        .subject = row.subject,
        .text = text,
        .html = html,
        .list_unsubscribe_url = unsub,
        .idempotency_key = row.id,
        .message_id = row.message_id,
    };
    struct send_result r;
    struct send_attempts log;
    struct errinfo se;
    errinfo_clear(&se);
    rc = send_chain_send(c, st, ws, &m, &r, &log, &se);
    struct outcome x = {.ws = ws, .row = &row, .log = &log, .error = se.msg};
    if (rc == 0) {
        x.status = "sent";
        x.provider = r.provider;
        x.pmid = r.provider_message_id[0] ? r.provider_message_id : NULL;
        x.error = NULL;
        x.sent_at = clock_now_ms();
    } else if (rc == ERR_FORBIDDEN) { /* on the suppression list: not sent, not a bounce */
        x.status = "suppressed";
    } else if (rc == ERR_INVALID && r.provider[0]) {
        x.bounce = true;
        x.provider = r.provider;
    } else if (rc == ERR_INVALID) {
        x.status = "refused";
    } else {
        x.status = j->attempts >= j->max_attempts ? "failed" : "queued";
    }
    int frc = record_outcome(st, &x, e);
    if (rc && rc != ERR_FORBIDDEN && c->on_failure) {
        struct errinfo ae;
        if (c->on_failure(st, ws, NULL, &ae) != 0)
            log_warn("email.alert_failed", "send failures of %s not checked: %s", ws, ae.msg);
    }
    if (frc || rc == 0 || rc == ERR_FORBIDDEN || rc == ERR_INVALID)
        return frc;
    return failf(e, ERR_TEMPORARY, "%s", se.msg);
}

void outbox_register(struct queue *q, struct send_chain *chain, const struct config *cfg)
{
    chain->cfg = cfg;
    queue_register(q, "send_email", send_job, chain);
}
