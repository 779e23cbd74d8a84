/*
 * The "drip_step" job: executes one step of one enrollment and moves the
 * enrollment on (drip/drip.h). Reads and the webhook's POST happen first;
 * then one transaction checks that the enrollment is still at this step
 * and seq, applies the step's effect (the outbox row of an email, tags,
 * score points), writes the execution log, moves the enrollment and
 * enqueues the next step's job. A job that finds the enrollment elsewhere
 * (it ran before, or the enrollment was cancelled) does nothing.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/content.h"
#include "ai/score.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/events.h"
#include "base/json.h"
#include "base/log.h"
#include "crm/crm.h"
#include "drip/drip_int.h"
#include "jobs/queue.h"
#include "mail/send.h"
#include "mail/track.h"
#include "net/httpc.h"
#include "store/campaigns.h"
#include "store/contacts.h"

enum { RENDER_MAX = 512 * 1024, WEBHOOK_BODY_MAX = 64 * 1024 };

struct drip_ctx {
    const struct config *cfg;
    struct ai *ai;
};

/* What executing a step decided. */
struct outcome {
    const char *status; /* log: success | failed | skipped; NULL: no log (a wait that waits on) */
    const char *error;
    json_t *meta;           /* the log's metadata (owned) */
    const char *next_step;  /* "" or NULL: none, the enrollment ends as end_status */
    const char *end_status; /* completed | cancelled | failed */
    const char *reason;
    bool hold; /* stay at this step until hold_until */
    bool park; /* hold without a job: the campaign is paused */
    int64_t hold_until;
    int variant; /* -1: none */
    /* email steps: the message, sent through the outbox in the transaction */
    const char *subject, *text, *html;
    char sent_id[STORE_ID_LEN];
};

/* ---- templates -------------------------------------------------------------------- */

struct merge {
    const char *first_name, *name, *company, *email, *unsubscribe_url, *intro;
};

static const char *merge_value(const struct merge *m, const char *name, size_t n)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"first_name", offsetof(struct merge, first_name)},
        {"name", offsetof(struct merge, name)},
        {"company", offsetof(struct merge, company)},
        {"email", offsetof(struct merge, email)},
        {"unsubscribe_url", offsetof(struct merge, unsubscribe_url)},
        {"personalized_intro", offsetof(struct merge, intro)},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strlen(fields[i].name) == n && strncmp(fields[i].name, name, n) == 0)
            return *(const char *const *)((const char *)m + fields[i].off);
    return "";
}

/* The template with every {{field}} filled in (arena memory). */
static const char *merge_fill(const char *t, const struct merge *m, struct arena *a)
{
    struct buf b;
    buf_init(&b, RENDER_MAX);
    const char *p = t;
    for (;;) {
        const char *open = strstr(p, "{{");
        const char *close = open ? strstr(open + 2, "}}") : NULL;
        if (!close) {
            buf_puts(&b, p);
            break;
        }
        buf_append(&b, p, (size_t)(open - p));
        const char *n = open + 2;
        size_t len = (size_t)(close - n);
        while (len > 0 && *n == ' ')
            n++, len--;
        while (len > 0 && n[len - 1] == ' ')
            len--;
        const char *v = merge_value(m, n, len);
        buf_puts(&b, v ? v : "");
        p = close + 2;
    }
    const char *out = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_release(&b);
    return out;
}

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

/*
 * The HTML part of a text body: escaped, line breaks kept, http(s) links
 * made links (the send job rewrites them for click tracking). The
 * unsubscribe URL stays text, so that following it is not a click.
 */
static const char *text_to_html(const char *text, const char *unsub, struct arena *a)
{
    struct buf b;
    buf_init(&b, RENDER_MAX);
    buf_puts(&b, "<!doctype html><html><body><p>");
    const char *p = text;
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

/* A stable pick by weight among the variants, from the enrollment and step. */
static int pick_variant(json_t *variants, const char *enrollment_id, const char *step_id)
{
    size_t n = json_array_size(variants);
    if (n == 0)
        return -1;
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *w = json_object_get(json_array_get(variants, i), "weight");
        total += json_is_integer(w) ? json_integer_value(w) : 1;
    }
    char seed[2 * STORE_ID_LEN + 2];
    snprintf(seed, sizeof(seed), "%s:%s", enrollment_id, step_id);
    uint8_t h[SHA256_LEN];
    crypto_sha256(seed, strlen(seed), h);
    uint32_t x = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    int64_t r = (int64_t)(x % (uint32_t)total);
    for (size_t i = 0; i < n; i++) {
        json_t *w = json_object_get(json_array_get(variants, i), "weight");
        r -= json_is_integer(w) ? json_integer_value(w) : 1;
        if (r < 0)
            return (int)i;
    }
    return (int)n - 1;
}

/* The drafter's first paragraph that is not the greeting or the sign-off. */
static const char *intro_of(const char *body, struct arena *a)
{
    const char *p = body;
    while (p && *p) {
        const char *end = strstr(p, "\n\n");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 40 && p[len - 1] != ',')
            return arena_strndup(a, p, len);
        p = end ? end + 2 : NULL;
    }
    return "";
}

static int prepare_email(struct drip_ctx *ctx, struct store *st, const char *ws,
                         const struct enrollment *en, const struct campaign_step *step, json_t *cfg,
                         const struct contact *ct, struct arena *a, struct outcome *o,
                         struct errinfo *e)
{
    json_t *src = cfg;
    o->variant = pick_variant(json_object_get(cfg, "variants"), en->id, step->id);
    if (o->variant >= 0)
        src = json_array_get(json_object_get(cfg, "variants"), (size_t)o->variant);
    crypto_uuid(o->sent_id);
    struct track_claim claim = {.kind = TRACK_UNSUBSCRIBE};
    snprintf(claim.workspace_id, sizeof(claim.workspace_id), "%s", ws);
    snprintf(claim.sent_email_id, sizeof(claim.sent_email_id), "%s", o->sent_id);
    snprintf(claim.contact_id, sizeof(claim.contact_id), "%s", ct->id);
    const char *tok = track_token(ctx->cfg, &claim, a);
    if (!tok || !ctx->cfg->public_url)
        return failf(e, ERR_CONFIG, "campaign emails need public_url and secret_key");
    struct merge m = {
        .name = ct->name[0] ? ct->name : "there",
        .company = ct->company[0] ? ct->company : "your company",
        .email = ct->email,
        .unsubscribe_url = arena_printf(a, "%s/u/%s", ctx->cfg->public_url, tok),
        .intro = "",
    };
    size_t first = strcspn(m.name, " ");
    m.first_name = arena_strndup(a, m.name, first);
    const char *body = json_string_value(json_object_get(src, "body"));
    if (json_is_true(json_object_get(cfg, "personalize"))) {
        struct contact c2;
        struct draft_input in;
        struct draft d;
        int rc = content_context(st, ws, ct->id, a, &c2, &in, e);
        if (!rc)
            rc = ai_draft(ctx->ai, &in, a, &d, e);
        if (rc)
            return rc;
        m.intro = intro_of(d.body, a);
        if (!strstr(body, "personalized_intro"))
            body = arena_printf(a, "%s\n\n%s", m.intro, body);
    }
    o->subject = merge_fill(json_string_value(json_object_get(src, "subject")), &m, a);
    o->text = merge_fill(body, &m, a);
    o->html = text_to_html(o->text, m.unsubscribe_url, a);
    return 0;
}

/* ---- conditions and waits ------------------------------------------------------------ */

static bool has_tag(const char *tags_json, const char *tag)
{
    json_t *tags = json_loads(tags_json ? tags_json : "[]", 0, NULL);
    bool found = false;
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) found =
        found || (json_string_value(t) && strcmp(json_string_value(t), tag) == 0);
    json_decref(tags);
    return found;
}

static int engagement(struct store *st, const char *ws, const struct enrollment *en,
                      struct email_engagement *g, struct errinfo *e)
{
    memset(g, 0, sizeof(*g));
    if (!en->last_email_id[0])
        return 0;
    return store_email_engagement(st, ws, en->last_email_id, g, e);
}

static bool engaged(const struct email_engagement *g, const char *kind)
{
    if (strcmp(kind, "opened") == 0)
        return g->opened;
    if (strcmp(kind, "clicked") == 0)
        return g->clicked;
    return g->replied;
}

static int run_condition(struct store *st, const char *ws, const struct enrollment *en,
                         const struct campaign_step *step, json_t *cfg, const struct contact *ct,
                         struct outcome *o, struct errinfo *e)
{
    const char *kind = json_string_value(json_object_get(cfg, "kind"));
    json_t *v = json_object_get(cfg, "value");
    bool result = false;
    if (strcmp(kind, "score_above") == 0) {
        result = ct->ai_score > json_integer_value(v);
    } else if (strcmp(kind, "score_below") == 0) {
        result = ct->ai_score < json_integer_value(v);
    } else if (strcmp(kind, "has_tag") == 0) {
        result = has_tag(ct->tags, json_string_value(v));
    } else {
        struct email_engagement g;
        int rc = engagement(st, ws, en, &g, e);
        if (rc)
            return rc;
        result = engaged(&g, kind);
    }
    json_object_set_new(o->meta, "kind", json_string(kind));
    json_object_set_new(o->meta, "result", json_boolean(result));
    if (!strcmp(kind, "score_above") || !strcmp(kind, "score_below"))
        json_object_set_new(o->meta, "score", json_integer(ct->ai_score));
    o->status = "success";
    o->next_step = result ? step->true_id : step->false_id;
    return 0;
}

static int run_wait(struct store *st, const char *ws, const struct enrollment *en,
                    const struct campaign_step *step, json_t *cfg, int64_t now, struct outcome *o,
                    struct errinfo *e)
{
    const char *until = json_string_value(json_object_get(cfg, "until"));
    o->next_step = step->next_id;
    if (!until) {
        int64_t due = en->step_started_at + json_integer_value(json_object_get(cfg, "duration_ms"));
        if (now < due) {
            o->hold = true; /* early (a campaign resumed): wait on */
            o->hold_until = due;
            return 0;
        }
        o->status = "success";
        return 0;
    }
    int64_t deadline = en->step_started_at + json_integer_value(json_object_get(cfg, "timeout_ms"));
    struct email_engagement g;
    int rc = engagement(st, ws, en, &g, e);
    if (rc)
        return rc;
    bool met = engaged(&g, until);
    if (!met && now < deadline) {
        o->hold = true;
        o->hold_until = deadline < now + DRIP_RECHECK_MS ? deadline : now + DRIP_RECHECK_MS;
        return 0;
    }
    o->status = "success";
    json_object_set_new(o->meta, "until", json_string(until));
    json_object_set_new(o->meta, "met", json_boolean(met));
    json_object_set_new(o->meta, "timedOut", json_boolean(!met));
    return 0;
}

/* ---- webhooks ------------------------------------------------------------------------ */

/*
 * POSTs the step's JSON. 0 when delivered or failed for good (o says
 * which); ERR_TEMPORARY to try again with the job's backoff.
 */
static int run_webhook(struct drip_ctx *ctx, const struct job *j, const char *ws,
                       const struct enrollment *en, const struct campaign_step *step, json_t *cfg,
                       const struct contact *ct, int64_t now, struct arena *a, struct outcome *o,
                       struct errinfo *e)
{
    const char *url = json_string_value(json_object_get(cfg, "url"));
    const char *secret = json_string_value(json_object_get(cfg, "secret"));
    json_t *t = json_object_get(cfg, "timeout_ms");
    long timeout = json_is_integer(t) ? (long)json_integer_value(t) : DRIP_WEBHOOK_TIMEOUT_MS;
    o->next_step = step->next_id;
    char pin[512];
    struct errinfo te;
    errinfo_clear(&te);
    int rc = drip_webhook_target(url, ctx->cfg->webhook_allow_private, pin, sizeof(pin), &te);
    bool last = j->attempts >= j->max_attempts;
    if (rc == ERR_TEMPORARY && !last)
        return failf(e, ERR_TEMPORARY, "%s", te.msg);
    if (rc) {
        o->status = "failed";
        o->error = arena_strdup(a, te.msg);
        o->end_status = "failed";
        o->next_step = "";
        o->reason = rc == ERR_FORBIDDEN ? "webhook_refused" : "webhook_failed";
        return 0;
    }
    json_t *body = json_object();
    json_object_set_new(body, "event", json_string("campaign.step"));
    json_object_set_new(body, "campaignId", json_string(en->campaign_id));
    json_object_set_new(body, "enrollmentId", json_string(en->id));
    json_object_set_new(body, "stepId", json_string(step->id));
    json_t *c = json_object();
    json_object_set_new(c, "id", json_string(ct->id));
    json_object_set_new(c, "email", json_string(ct->email));
    json_object_set_new(c, "name", ct->name[0] ? json_string(ct->name) : json_null());
    json_object_set_new(c, "company", ct->company[0] ? json_string(ct->company) : json_null());
    json_object_set_new(c, "score", json_integer(ct->ai_score));
    json_object_set_new(c, "tags", json_loads(ct->tags ? ct->tags : "[]", 0, NULL));
    json_object_set_new(body, "contact", c);
    json_object_set_new(body, "timestamp", json_integer(now / 1000));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char ts[24], sig[80];
    snprintf(ts, sizeof(ts), "%lld", (long long)(now / 1000));
    drip_webhook_signature(secret, ts, text, strlen(text), sig, sizeof(sig));
    struct httpc_req rq = {
        .method = "POST",
        .url = url,
        .headers = {"Content-Type: application/json",
                    arena_printf(a, "X-Leadflow-Timestamp: %s", ts),
                    arena_printf(a, "X-Leadflow-Signature: %s", sig),
                    arena_printf(a, "X-Leadflow-Delivery: %s:%s:%lld", en->id, step->id,
                                 (long long)en->seq),
                    NULL},
        .body = text,
        .body_len = strlen(text),
        .timeout_ms = timeout,
        .max_reply = WEBHOOK_BODY_MAX,
        .resolve = pin,
    };
    struct httpc_resp resp;
    errinfo_clear(&te);
    rc = httpc_do(&rq, &resp, &te);
    free(text);
    long status = resp.status;
    httpc_resp_release(&resp);
    bool temporary =
        rc == ERR_TEMPORARY || (!rc && (status >= 500 || status == 408 || status == 429));
    if (temporary && !last)
        return failf(e, ERR_TEMPORARY, "webhook %s: %s", url,
                     rc ? te.msg : arena_printf(a, "status %ld", status));
    json_object_set_new(o->meta, "status", json_integer(status));
    if (!rc && status >= 200 && status < 300) {
        o->status = "success";
        return 0;
    }
    o->status = "failed";
    o->error =
        rc ? arena_strdup(a, te.msg)
           : arena_printf(a, "the webhook answered %ld%s", status,
                          status >= 300 && status < 400 ? " (redirects are not followed)" : "");
    o->end_status = "failed";
    o->next_step = "";
    o->reason = "webhook_failed";
    return 0;
}

/* ---- the transaction ---------------------------------------------------------------------- */

/* Applies tag changes to the contact (inside the transaction). */
static int apply_tags(struct store *st, const char *ws, const char *contact_id, json_t *cfg,
                      struct arena *a, struct outcome *o, struct errinfo *e)
{
    struct contact ct;
    int rc = store_contact_get(st, ws, contact_id, a, &ct, e);
    if (rc)
        return rc;
    json_t *tags = json_loads(ct.tags ? ct.tags : "[]", 0, NULL);
    if (!json_is_array(tags)) {
        json_decref(tags);
        tags = json_array();
    }
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(cfg, "remove"), i, t)
    {
        for (size_t k = json_array_size(tags); k-- > 0;)
            if (json_equal(json_array_get(tags, k), t))
                json_array_remove(tags, k);
    }
    json_array_foreach(json_object_get(cfg, "add"), i, t)
    {
        bool dup = false;
        size_t k;
        json_t *u;
        json_array_foreach(tags, k, u) dup = dup || json_equal(u, t);
        if (!dup && json_array_size(tags) < 50)
            json_array_append(tags, t);
    }
    char *text = json_dumps(tags, JSON_COMPACT);
    struct contact_fields f = {.set = CF_TAGS, .tags = text};
    struct contact out;
    /* Campaigns triggered by a tag this step added enroll the contact. */
    rc = crm_contact_update(st, ws, contact_id, &f, "a tag step", clock_now_ms(), a, &out, e);
    json_object_set(o->meta, "tags", tags);
    json_decref(tags);
    free(text);
    o->status = "success";
    return rc;
}

static int effects(struct drip_ctx *ctx, struct store *st, const char *ws,
                   const struct enrollment *en, const struct campaign_step *step, json_t *cfg,
                   struct arena *a, struct outcome *o, struct errinfo *e)
{
    if (strcmp(step->type, "tag") == 0)
        return apply_tags(st, ws, en->contact_id, cfg, a, o, e);
    if (strcmp(step->type, "score") == 0) {
        int before = 0, after = 0;
        int delta = (int)json_integer_value(json_object_get(cfg, "delta"));
        int rc = store_contact_score_adjust(st, ws, en->contact_id, delta, clock_now_ms(), &before,
                                            &after, e);
        json_object_set_new(o->meta, "delta", json_integer(delta));
        json_object_set_new(o->meta, "before", json_integer(before));
        json_object_set_new(o->meta, "after", json_integer(after));
        o->status = "success";
        /* What a change of score does elsewhere commits with the step. */
        struct crm_change c = {.workspace_id = ws,
                               .contact_id = en->contact_id,
                               .what = CRM_SCORE,
                               .score_before = before,
                               .score_after = after,
                               .source = "a score step"};
        if (!rc && before != after)
            rc = crm_contact_changed(st, &c, e);
        return rc;
    }
    if (strcmp(step->type, "email") != 0 || !o->subject)
        return 0;
    struct outbox_item it = {
        .workspace_id = ws,
        .contact_id = en->contact_id,
        .subject = o->subject,
        .text = o->text,
        .html = o->html,
        .idempotency_key = arena_printf(a, "drip:%s:%s", en->id, step->id),
        .from = ctx->cfg->mail_from,
        .id = o->sent_id,
    };
    char id[STORE_ID_LEN];
    bool created;
    int rc = outbox_queue(st, &it, id, &created, e);
    if (rc == ERR_FORBIDDEN) {
        o->status = "skipped";
        o->error = "the contact has unsubscribed";
        o->sent_id[0] = '\0';
        o->next_step = "";
        o->end_status = "cancelled";
        o->reason = "unsubscribed";
        return 0;
    }
    if (rc)
        return rc;
    snprintf(o->sent_id, sizeof(o->sent_id), "%s", id);
    json_object_set_new(o->meta, "sentEmailId", json_string(id));
    json_object_set_new(o->meta, "subject", json_string(o->subject));
    if (o->variant >= 0)
        json_object_set_new(o->meta, "variant", json_integer(o->variant));
    o->status = "success";
    return 0;
}

/* One step's outcome, written in one transaction. */
struct step_commit {
    struct drip_ctx *ctx;
    const char *ws;
    const struct enrollment *en;
    const struct campaign_step *step, *next;
    json_t *cfg;
    struct arena *a;
    struct outcome *o;
    bool has_next;
    bool *ran; /* set when the move applied (the outcome is the run's) */
};

static int commit_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct step_commit *x = arg;
    const struct enrollment *en = x->en;
    const struct campaign_step *step = x->step;
    struct outcome *o = x->o;
    const char *ws = x->ws;
    int64_t now = clock_now_ms();
    struct enrollment cur;
    int rc = store_enrollment_get(st, ws, en->id, x->a, &cur, e);
    if (rc == ERR_NOT_FOUND || (!rc && (strcmp(cur.status, "active") != 0 || cur.seq != en->seq)))
        return STORE_TX_UNDO; /* it moved on meanwhile: this run must change nothing */
    if (!rc && !o->hold)
        rc = effects(x->ctx, st, ws, en, step, x->cfg, x->a, o, e);
    if (!rc && o->status) {
        char *meta = json_dumps(o->meta, JSON_COMPACT);
        struct exec_log l = {.status = "", .error = o->error, .metadata = meta};
        snprintf(l.enrollment_id, sizeof(l.enrollment_id), "%s", en->id);
        snprintf(l.step_id, sizeof(l.step_id), "%s", step->id);
        snprintf(l.step_type, sizeof(l.step_type), "%s", step->type);
        snprintf(l.status, sizeof(l.status), "%s", o->status);
        snprintf(l.sent_email_id, sizeof(l.sent_email_id), "%s", o->sent_id);
        l.created_at = now;
        rc = store_exec_log_add(st, ws, en->campaign_id, &l, e);
        free(meta);
    }
    bool has_next = x->has_next && !(o->end_status && strcmp(o->end_status, "completed") != 0);
    struct enrollment_move m = {.variant = o->variant, .reason = o->reason};
    if (o->hold) {
        m.status = "active";
        m.step_id = step->id;
        m.step_started_at = en->step_started_at;
        m.next_run_at = o->hold_until;
    } else if (has_next) {
        m.status = "active";
        m.step_id = x->next->id;
        m.step_started_at = now;
        m.next_run_at = drip_step_run_at(x->next, now);
    } else {
        m.status = o->end_status ? o->end_status : "completed";
    }
    if (o->sent_id[0])
        m.last_email_id = o->sent_id;
    bool applied = false;
    if (!rc)
        rc = store_enrollment_move(st, ws, en->id, en->seq, &m, now, &applied, e);
    if (!rc && applied && ((o->hold && !o->park) || has_next))
        rc = drip_enqueue_step(st, ws, en->id, m.step_id, en->seq + 1, m.next_run_at, e);
    if (!rc && !applied)
        return STORE_TX_UNDO;
    *x->ran = !rc;
    return rc;
}

static int commit_step(struct drip_ctx *ctx, struct store *st, const char *ws,
                       const struct enrollment *en, const struct campaign_step *step, json_t *cfg,
                       struct arena *a, struct outcome *o, bool *ran, struct errinfo *e)
{
    *ran = false;
    struct campaign_step next;
    bool has_next = !o->hold && o->next_step && o->next_step[0];
    if (has_next) {
        int rc = store_campaign_step_get(st, ws, o->next_step, a, &next, e);
        if (rc == ERR_NOT_FOUND) {
            has_next = false;
            o->end_status = "failed";
            o->reason = "step_missing";
        } else if (rc) {
            return rc;
        }
    }
    struct step_commit x = {ctx, ws, en, step, &next, cfg, a, o, has_next, ran};
    return store_tx_run(st, commit_tx, &x, e);
}

/* ---- the handler ------------------------------------------------------------------------ */

static int parse_payload(const char *payload, char enr[STORE_ID_LEN], char step[STORE_ID_LEN],
                         int64_t *seq)
{
    json_t *p = json_loads(payload ? payload : "", 0, NULL);
    const char *a = json_string_value(json_object_get(p, "enrollmentId"));
    const char *b = json_string_value(json_object_get(p, "stepId"));
    json_t *s = json_object_get(p, "seq");
    int rc = a && b && json_is_integer(s) && strlen(a) < STORE_ID_LEN && strlen(b) < STORE_ID_LEN
                 ? 0
                 : ERR_INVALID;
    if (!rc) {
        snprintf(enr, STORE_ID_LEN, "%s", a);
        snprintf(step, STORE_ID_LEN, "%s", b);
        *seq = json_integer_value(s);
    }
    json_decref(p);
    return rc;
}

static int execute(struct drip_ctx *ctx, struct store *st, const struct job *j,
                   const struct enrollment *en, const struct campaign_step *step, json_t *cfg,
                   const struct contact *ct, struct arena *a, struct outcome *o, struct errinfo *e)
{
    const char *ws = j->workspace_id;
    int64_t now = clock_now_ms();
    o->next_step = step->next_id;
    if (strcmp(step->type, "wait") == 0)
        return run_wait(st, ws, en, step, cfg, now, o, e);
    if (strcmp(step->type, "condition") == 0)
        return run_condition(st, ws, en, step, cfg, ct, o, e);
    if (strcmp(step->type, "webhook") == 0)
        return run_webhook(ctx, j, ws, en, step, cfg, ct, now, a, o, e);
    if (strcmp(step->type, "email") == 0) {
        if (ct->unsubscribed_at) {
            o->status = "skipped";
            o->error = "the contact has unsubscribed";
            o->next_step = "";
            o->end_status = "cancelled";
            o->reason = "unsubscribed";
            return 0;
        }
        return prepare_email(ctx, st, ws, en, step, cfg, ct, a, o, e);
    }
    return 0; /* tag and score: in the transaction */
}

static int step_job(void *vctx, struct store *st, const struct job *j, struct arena *a,
                    struct errinfo *e)
{
    struct drip_ctx *ctx = vctx;
    const char *ws = j->workspace_id;
    char enr_id[STORE_ID_LEN], step_id[STORE_ID_LEN];
    int64_t seq;
    if (!ws[0] || parse_payload(j->payload, enr_id, step_id, &seq) != 0)
        return failf(e, ERR_INVALID, "drip_step: the payload names no enrollment step");
    struct enrollment en;
    int rc = store_enrollment_get(st, ws, enr_id, a, &en, e);
    if (rc == ERR_NOT_FOUND)
        return 0;
    if (rc)
        return rc;
    if (strcmp(en.status, "active") != 0 || strcmp(en.current_step_id, step_id) != 0 ||
        en.seq != seq) {
        log_debug("drip.stale", "enrollment %s is not at step %s (%lld): nothing to do", enr_id,
                  step_id, (long long)seq);
        return 0;
    }
    char cstatus[16];
    if ((rc = store_campaign_status(st, ws, en.campaign_id, cstatus, e)))
        return rc == ERR_NOT_FOUND ? 0 : rc;
    struct outcome o = {.variant = -1, .meta = json_object()};
    bool ran = false;
    struct campaign_step step;
    if (strcmp(cstatus, "paused") == 0) {
        /* Held where it is; activating the campaign gives it a new job. */
        snprintf(step.id, sizeof(step.id), "%s", step_id);
        o.hold = true;
        o.park = true;
        o.hold_until = en.next_run_at;
        rc = commit_step(ctx, st, ws, &en, &step, NULL, a, &o, &ran, e);
        json_decref(o.meta);
        return rc;
    }
    if (strcmp(cstatus, "active") != 0) {
        json_decref(o.meta);
        return 0;
    }
    rc = store_campaign_step_get(st, ws, step_id, a, &step, e);
    if (rc == ERR_NOT_FOUND) {
        snprintf(step.id, sizeof(step.id), "%s", step_id);
        snprintf(step.type, sizeof(step.type), "%s", "");
        step.config = "{}";
        o.status = "failed";
        o.error = "the step no longer exists";
        o.end_status = "failed";
        o.reason = "step_missing";
        o.next_step = "";
        rc = commit_step(ctx, st, ws, &en, &step, NULL, a, &o, &ran, e);
        json_decref(o.meta);
        return rc;
    }
    struct contact ct;
    if (!rc)
        rc = store_contact_get(st, ws, en.contact_id, a, &ct, e);
    if (rc) {
        json_decref(o.meta);
        return rc == ERR_NOT_FOUND ? 0 : rc;
    }
    json_t *cfg = json_loads(step.config, 0, NULL);
    rc = execute(ctx, st, j, &en, &step, cfg, &ct, a, &o, e);
    if (!rc)
        rc = commit_step(ctx, st, ws, &en, &step, cfg, a, &o, &ran, e);
    if (!rc && ran && o.status) {
        struct log_line l;
        if (log_begin(&l, LOG_INFO, "drip.step")) {
            log_str(&l, "workspace", ws);
            log_str(&l, "enrollment", en.id);
            log_str(&l, "step", step.id);
            log_str(&l, "type", step.type);
            log_str(&l, "status", o.status);
            log_end(&l, "enrollment %s: %s step %s", en.id, step.type, o.status);
        }
    }
    json_decref(cfg);
    json_decref(o.meta);
    return rc;
}

void drip_register(struct queue *q, const struct config *cfg, struct ai *ai)
{
    static struct drip_ctx ctx;
    ctx.cfg = cfg;
    ctx.ai = ai;
    queue_register(q, DRIP_JOB_KIND, step_job, &ctx);
}
