/*
 * The email step: a subject and a text body with {{merge fields}} (and
 * optional weighted A/B variants, and an AI-written first paragraph), sent
 * through the outbox in the step's transaction with an unsubscribe link;
 * the outbox makes the HTML part from the text (send_compose).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/content.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/str.h"
#include "drip/drip.h"
#include "drip/step.h"
#include "mail/send.h"
#include "mail/track.h"
#include "store/contacts.h"

enum { RENDER_MAX = 512 * 1024 };

const char *const step_email_merge_fields[] = {
    "first_name", "name", "company", "email", "unsubscribe_url", "personalized_intro"};
const size_t step_email_nmerge_fields =
    sizeof(step_email_merge_fields) / sizeof(step_email_merge_fields[0]);

/* ---- the config ----------------------------------------------------------------------- */

/* Every {{field}} of a template must be one we fill in. */
static int check_template(const char *t, const char *field, const char *key, struct errinfo *e)
{
    for (const char *p = strstr(t, "{{"); p; p = strstr(p + 2, "{{")) {
        const char *end = strstr(p + 2, "}}");
        if (!end)
            return failf(e, ERR_INVALID, "%s.%s has a {{ without a closing }}", field, key);
        char name[32];
        size_t len = (size_t)(end - p - 2);
        while (len > 0 && p[2] == ' ')
            p++, len--;
        while (len > 0 && p[1 + len] == ' ')
            len--;
        if (len == 0 || len >= sizeof(name))
            return failf(e, ERR_INVALID, "%s.%s has an empty or unknown merge field", field, key);
        memcpy(name, p + 2, len);
        name[len] = '\0';
        bool known = false;
        for (size_t i = 0; i < step_email_nmerge_fields; i++)
            known = known || strcmp(name, step_email_merge_fields[i]) == 0;
        if (!known)
            return failf(e, ERR_INVALID,
                         "%s.%s uses the unknown merge field {{%s}} (known: first_name, name, "
                         "company, email, unsubscribe_url, personalized_intro)",
                         field, key, name);
    }
    return 0;
}

static int check_email_parts(json_t *cfg, const char *field, struct errinfo *e)
{
    const char *subject, *body;
    int rc = step_cfg_string(cfg, field, "subject", true, DRIP_SUBJECT_MAX, &subject, e);
    if (!rc)
        rc = step_cfg_string(cfg, field, "body", true, DRIP_BODY_MAX, &body, e);
    if (rc)
        return rc;
    if (!*subject)
        return failf(e, ERR_INVALID, "%s.subject must not be empty", field);
    if (str_has_control(subject, true))
        return failf(e, ERR_INVALID,
                     "%s.subject must not contain line breaks or control characters", field);
    if (strstr(subject, "unsubscribe_url"))
        return failf(e, ERR_INVALID, "%s.subject must not hold {{unsubscribe_url}}", field);
    if (!strstr(body, "{{unsubscribe_url}}"))
        return failf(e, ERR_INVALID, "%s.body must contain {{unsubscribe_url}}", field);
    rc = check_template(subject, field, "subject", e);
    return rc ? rc : check_template(body, field, "body", e);
}

static int email_validate(json_t *cfg, const char *f, struct errinfo *e)
{
    int rc = check_email_parts(cfg, f, e);
    if (rc)
        return rc;
    json_t *p = json_object_get(cfg, "personalize");
    if (p && !json_is_boolean(p))
        return failf(e, ERR_INVALID, "%s.personalize must be true or false", f);
    json_t *vs = json_object_get(cfg, "variants");
    if (!vs || json_is_null(vs))
        return 0;
    if (!json_is_array(vs) || json_array_size(vs) < 1 || json_array_size(vs) > 10)
        return failf(e, ERR_INVALID, "%s.variants must be an array of 1 to 10 variants", f);
    size_t i;
    json_t *v;
    json_array_foreach(vs, i, v)
    {
        char name[96];
        snprintf(name, sizeof(name), "%s.variants[%zu]", f, i);
        if (!json_is_object(v))
            return failf(e, ERR_INVALID, "%s must be an object", name);
        if ((rc = check_email_parts(v, name, e)))
            return rc;
        bool has;
        int64_t w = 1;
        if ((rc = step_cfg_int(v, name, "weight", 1, 1000, &has, &w, e)))
            return rc;
    }
    return 0;
}

/* ---- rendering -------------------------------------------------------------------- */

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

/* The merge fields of a contact; personalized_intro empty. */
static void merge_of(const struct contact *ct, const char *unsub, struct arena *a, struct merge *m)
{
    *m = (struct merge){
        .name = ct->name[0] ? ct->name : "there",
        .company = ct->company[0] ? ct->company : "your company",
        .email = ct->email,
        .unsubscribe_url = unsub,
        .intro = "",
    };
    m->first_name = arena_strndup(a, m->name, strcspn(m->name, " "));
}

const char *drip_merge(const struct contact *ct, const char *tpl, const char *unsubscribe_url,
                       struct arena *a)
{
    struct merge m;
    merge_of(ct, unsubscribe_url, a, &m);
    return merge_fill(tpl ? tpl : "", &m, a);
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

/* Renders the message; the outbox gets it in the transaction (email_apply). */
static int email_run(struct step_run *r, struct errinfo *e)
{
    struct step_outcome *o = r->o;
    const struct contact *ct = r->ct;
    json_t *cfg = r->config;
    struct arena *a = r->a;
    if (ct->unsubscribed_at) {
        o->status = "skipped";
        o->error = "the contact has unsubscribed";
        o->next_step = "";
        o->end_status = "cancelled";
        o->reason = "unsubscribed";
        return 0;
    }
    json_t *src = cfg;
    o->variant = pick_variant(json_object_get(cfg, "variants"), r->en->id, r->step->id);
    if (o->variant >= 0)
        src = json_array_get(json_object_get(cfg, "variants"), (size_t)o->variant);
    crypto_uuid(o->sent_id);
    struct track_claim claim = {.kind = TRACK_UNSUBSCRIBE};
    snprintf(claim.workspace_id, sizeof(claim.workspace_id), "%s", r->ws);
    snprintf(claim.sent_email_id, sizeof(claim.sent_email_id), "%s", o->sent_id);
    snprintf(claim.contact_id, sizeof(claim.contact_id), "%s", ct->id);
    const char *tok = track_token(r->cfg, &claim, a);
    if (!tok || !r->cfg->public_url)
        return failf(e, ERR_CONFIG, "campaign emails need public_url and secret_key");
    struct merge m;
    merge_of(ct, arena_printf(a, "%s/u/%s", r->cfg->public_url, tok), a, &m);
    const char *body = json_string_value(json_object_get(src, "body"));
    if (json_is_true(json_object_get(cfg, "personalize"))) {
        struct contact c2;
        struct draft_input in;
        struct draft d;
        int rc = content_context(r->st, r->ws, ct->id, a, &c2, &in, e);
        if (!rc)
            rc = ai_draft(r->ai, &in, a, &d, e);
        if (rc)
            return rc;
        m.intro = intro_of(d.body, a);
        if (!strstr(body, "personalized_intro"))
            body = arena_printf(a, "%s\n\n%s", m.intro, body);
    }
    o->subject = merge_fill(json_string_value(json_object_get(src, "subject")), &m, a);
    o->text = merge_fill(body, &m, a);
    o->unsub = m.unsubscribe_url;
    return 0;
}

/* ---- the transaction ------------------------------------------------------------------ */

/* The rendered message into the outbox, keyed by enrollment and step. */
static int email_apply(struct step_run *r, struct errinfo *e)
{
    struct step_outcome *o = r->o;
    if (!o->subject)
        return 0;
    struct outbox_item it = {
        .workspace_id = r->ws,
        .contact_id = r->en->contact_id,
        .subject = o->subject,
        .text = o->text,
        .unsubscribe_url = o->unsub,
        .idempotency_key = arena_printf(r->a, "drip:%s:%s", r->en->id, r->step->id),
        .id = o->sent_id,
    };
    char id[STORE_ID_LEN];
    bool created;
    int rc = outbox_queue(r->st, r->cfg, &it, id, &created, e);
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

const struct step_kind step_email = {
    .name = "email",
    .validate = email_validate,
    .run = email_run,
    .apply = email_apply,
};
