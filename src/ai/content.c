/*
 * Generated content: gathers a contact's context, asks the AI provider for
 * a draft, stores it; enqueues one background draft per hot crossing and
 * runs those jobs; sends approved drafts through the outbox.
 */
#include "ai/content.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/score.h"
#include "base/clock.h"
#include "base/events.h"
#include "base/json.h"
#include "base/log.h"
#include "jobs/queue.h"
#include "store/contacts.h"
#include "store/emails.h"
#include "store/sending.h"

enum { CROSSING_BUCKET_MS = 60 * 60 * 1000, JSON_MAX = 64 * 1024 };

static const struct {
    unsigned bit;
    const char *name;
} status_names[] = {
    {CONTENT_DRAFT, "draft"},
    {CONTENT_APPROVED, "approved"},
    {CONTENT_REJECTED, "rejected"},
    {CONTENT_SENT, "sent"},
};

const char *content_status_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
        if (status_names[i].bit == bit)
            return status_names[i].name;
    return NULL;
}

unsigned content_status_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof(status_names) / sizeof(status_names[0]); i++)
        if (strcmp(status_names[i].name, name) == 0)
            return status_names[i].bit;
    return 0;
}

/* The first CONTENT_SNIPPET bytes of text, white space folded, cut at a UTF-8 boundary. */
static const char *snippet(const char *text, struct arena *a)
{
    char *out = arena_alloc(a, CONTENT_SNIPPET + 1);
    size_t j = 0;
    bool space = false;
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') {
            space = j > 0;
            continue;
        }
        if (j + (space ? 2 : 1) > CONTENT_SNIPPET)
            break;
        if (space) {
            out[j++] = ' ';
            space = false;
        }
        out[j++] = (char)*p;
    }
    size_t k = j;
    while (k > 0 && ((unsigned char)out[k - 1] & 0xc0) == 0x80)
        k--;
    if (k > 0 && ((unsigned char)out[k - 1] & 0xc0) == 0xc0) {
        unsigned char lead = (unsigned char)out[k - 1];
        size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
        if (j - (k - 1) < need)
            j = k - 1;
    }
    out[j] = '\0';
    return out;
}

/* The score reasons (a JSON array of strings) as a list in arena memory. */
static void read_reasons(const char *json, struct arena *a, struct draft_input *in)
{
    in->reasons = NULL;
    in->nreasons = 0;
    json_t *arr = json ? json_loads(json, 0, NULL) : NULL;
    if (json_is_array(arr)) {
        const char **list = arena_calloc(a, DRAFT_REASONS_MAX * sizeof(*list));
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v)
        {
            if (in->nreasons < DRAFT_REASONS_MAX && json_is_string(v))
                list[in->nreasons++] = arena_strdup(a, json_string_value(v));
        }
        in->reasons = list;
    }
    json_decref(arr);
}

int content_context(struct store *st, const char *workspace_id, const char *contact_id,
                    struct arena *a, struct contact *c, struct draft_input *in, struct errinfo *e)
{
    memset(in, 0, sizeof(*in));
    int rc = store_contact_get(st, workspace_id, contact_id, a, c, e);
    if (rc)
        return rc;
    in->name = c->name;
    in->email = c->email;
    in->job_title = c->job_title;
    in->company = c->company;
    in->status = c->status;
    in->score = c->ai_score;
    read_reasons(c->score_reasons, a, in);

    /* The newest emails, inbound only: what the contact said, not what we did. */
    struct email_query q = {.contact_id = contact_id, .limit = 4 * DRAFT_EMAILS_MAX};
    struct email_row *rows;
    size_t n;
    int64_t total;
    rc = store_email_list(st, workspace_id, &q, a, &rows, &n, &total, e);
    if (rc)
        return rc;
    struct draft_email *emails = arena_calloc(a, DRAFT_EMAILS_MAX * sizeof(*emails));
    for (size_t i = 0; i < n && in->nemails < DRAFT_EMAILS_MAX; i++) {
        if (rows[i].direction && strcmp(rows[i].direction, "inbound") != 0)
            continue;
        struct draft_email *d = &emails[in->nemails++];
        d->subject = rows[i].subject;
        d->snippet = snippet(rows[i].body_text, a);
        d->intents = rows[i].intent_bits;
        d->sentiment = rows[i].sentiment;
        d->received_at = rows[i].received_at;
    }
    in->emails = emails;
    return 0;
}

/* The subjects as a JSON array, in arena memory. */
static const char *subjects_json(const struct draft *d, struct arena *a)
{
    struct buf b;
    buf_init(&b, JSON_MAX);
    struct jw w;
    jw_init(&w, &b);
    jw_arr_begin(&w);
    for (int i = 0; i < DRAFT_SUBJECTS; i++)
        jw_str(&w, d->subjects[i]);
    jw_arr_end(&w);
    const char *s = jw_finish(&w) ? "[]" : arena_strdup(a, buf_str(&b));
    buf_release(&b);
    return s;
}

/* Tells the live dashboards a draft waits for review. Both callers (the
 * draft job and POST /api/content/generate) run outside any transaction, so
 * the draft is committed when content_insert returns. */
static void announce_draft(const char *workspace_id, const struct content *c)
{
    struct buf b;
    buf_init(&b, 1024);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "draftId", c->id);
    jw_kstr(&w, "contactId", c->contact_id);
    jw_kstr(&w, "reason", c->reason);
    jw_obj_end(&w);
    if (jw_finish(&w) == 0)
        events_publish(workspace_id, "draft_ready", buf_str(&b));
    buf_release(&b);
}

int content_draft(struct store *st, const char *workspace_id, const char *contact_id, struct ai *ai,
                  const char *reason, struct arena *a, struct content *out, struct errinfo *e)
{
    struct contact c;
    struct draft_input in;
    int rc = content_context(st, workspace_id, contact_id, a, &c, &in, e);
    if (rc)
        return rc;
    if (c.unsubscribed_at)
        return failf(e, ERR_FORBIDDEN, "the contact has unsubscribed");
    struct draft d;
    memset(&d, 0, sizeof(d));
    if ((rc = ai_draft(ai, &in, a, &d, e)))
        return rc;

    memset(out, 0, sizeof(*out));
    snprintf(out->contact_id, sizeof(out->contact_id), "%s", contact_id);
    out->subjects = subjects_json(&d, a);
    out->subject = d.subjects[0];
    out->body = d.body;
    out->call_to_action = d.call_to_action;
    out->provider = d.provider;
    out->reason = reason;
    out->score_at_draft = c.ai_score;
    out->contact_email = c.email;
    out->contact_name = c.name;
    rc = store_content_insert(st, workspace_id, out, clock_now_ms(), e);
    if (!rc)
        announce_draft(workspace_id, out);
    return rc;
}

int content_has_open_draft(struct store *st, const char *workspace_id, const char *contact_id,
                           bool *open, struct errinfo *e)
{
    struct content_query q = {
        .status = CONTENT_DRAFT | CONTENT_APPROVED, .contact_id = contact_id, .limit = 1};
    struct arena a;
    arena_init(&a, NULL, 0);
    struct content *rows;
    size_t n;
    int64_t total = 0;
    int rc = store_content_list(st, workspace_id, &q, &a, &rows, &n, &total, e);
    arena_release(&a);
    *open = rc == 0 && total > 0;
    return rc;
}

int content_enqueue_draft(struct store *st, const char *workspace_id, const char *contact_id,
                          int score, const char *reason, struct errinfo *e)
{
    int64_t crossing = 0;
    int rc = store_content_hot_crossing(st, workspace_id, contact_id, SCORE_HOT, &crossing, e);
    if (rc)
        return rc;
    char key[128];
    if (crossing > 0)
        snprintf(key, sizeof(key), "draft:%s:%lld", contact_id, (long long)crossing);
    else
        snprintf(key, sizeof(key), "draft:%s:t%lld", contact_id,
                 (long long)(clock_now_ms() / CROSSING_BUCKET_MS));

    struct buf b;
    buf_init(&b, JSON_MAX);
    struct jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "contactId", contact_id);
    jw_kint(&w, "score", score);
    jw_kstr(&w, "reason", reason ? reason : CONTENT_REASON_HOT);
    jw_obj_end(&w);
    if (jw_finish(&w)) {
        buf_release(&b);
        return failf(e, ERR_INTERNAL, "the draft job's payload is too long");
    }
    struct job_spec spec = {
        .workspace_id = workspace_id,
        .kind = CONTENT_JOB_KIND,
        .payload = buf_str(&b),
        .idempotency_key = key,
    };
    int64_t id;
    bool created;
    rc = queue_enqueue(st, &spec, &id, &created, e);
    buf_release(&b);
    if (!rc && created)
        log_info("content.enqueued", "draft job %lld for contact %s of workspace %s", (long long)id,
                 contact_id, workspace_id);
    return rc;
}

/* ---- the background job ---------------------------------------------------- */

struct content_job {
    struct ai *ai;
    const struct config *cfg;
};

static int draft_job(void *ctx, struct store *st, const struct job *j, struct arena *a,
                     struct errinfo *e)
{
    struct content_job *cj = ctx;
    json_error_t jerr;
    json_t *p = json_loads(j->payload ? j->payload : "{}", 0, &jerr);
    const char *contact = json_string_value(json_object_get(p, "contactId"));
    const char *reason = json_string_value(json_object_get(p, "reason"));
    if (!contact || strlen(contact) >= STORE_ID_LEN || !j->workspace_id[0]) {
        json_decref(p);
        return failf(e, ERR_INVALID, "the draft job names no contact");
    }
    char contact_id[STORE_ID_LEN];
    snprintf(contact_id, sizeof(contact_id), "%s", contact);
    reason = reason && (strcmp(reason, CONTENT_REASON_WARM) == 0 ||
                        strcmp(reason, CONTENT_REASON_REQUESTED) == 0)
                 ? (reason[0] == 'w' ? CONTENT_REASON_WARM : CONTENT_REASON_REQUESTED)
                 : CONTENT_REASON_HOT;
    json_decref(p);

    /* A retried job whose draft was stored, or a contact already waiting for
     * review, needs no second draft. */
    bool open;
    int rc = content_has_open_draft(st, j->workspace_id, contact_id, &open, e);
    if (rc)
        return rc;
    if (open)
        return 0;
    struct content c;
    rc = content_draft(st, j->workspace_id, contact_id, cj->ai, reason, a, &c, e);
    if (rc == ERR_NOT_FOUND || rc == ERR_FORBIDDEN) {
        log_info("content.skipped", "no draft for contact %s: %s", contact_id, e->msg);
        return 0; /* deleted or unsubscribed meanwhile: nothing to do */
    }
    if (rc)
        return rc;
    struct log_line l;
    if (log_begin(&l, LOG_INFO, "content.drafted")) {
        log_str(&l, "workspace", j->workspace_id);
        log_str(&l, "contact", contact_id);
        log_str(&l, "draft", c.id);
        log_str(&l, "provider", c.provider);
        log_end(&l, "a draft is ready for review");
    }
    return 0;
}

void content_register(struct queue *q, struct ai *ai, const struct config *cfg)
{
    /* One per process, alive as long as the queue that holds it. */
    static struct content_job cj;
    cj.ai = ai;
    cj.cfg = cfg;
    queue_register(q, CONTENT_JOB_KIND, draft_job, &cj);
}
