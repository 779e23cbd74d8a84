/*
 * Drip campaigns, the parts the API calls: building and checking a step
 * list (each config checked by its kind, drip/step.h), the campaign's
 * status changes, and enrollment (drip/drip.h). The job handler that walks
 * an enrollment is in drip/run.c.
 */
#include "drip/drip.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "drip/drip_int.h"
#include "drip/step.h"
#include "jobs/queue.h"
#include "store/campaigns.h"
#include "store/contacts.h"

/* Whether steps of this type go on by true and false (a condition). */
static bool branches(const char *type)
{
    const struct step_kind *k = step_kind_find(type);
    return k && k->branches;
}

/* ---- building a step list ----------------------------------------------------------- */

/* A reference (index, key or null) to the position it names, -1 for the end. */
static int resolve_ref(json_t *steps, json_t *ref, const char *f, const char *key, int *pos,
                       struct errinfo *e)
{
    size_t n = json_array_size(steps);
    if (json_is_null(ref)) {
        *pos = -1;
        return 0;
    }
    if (json_is_integer(ref)) {
        json_int_t i = json_integer_value(ref);
        if (i < 0 || (size_t)i >= n)
            return failf(e, ERR_INVALID, "%s.%s: there is no step at position %lld", f, key,
                         (long long)i);
        *pos = (int)i;
        return 0;
    }
    const char *k = json_string_value(ref);
    if (!k)
        return failf(e, ERR_INVALID, "%s.%s must be a position, a step key or null", f, key);
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s)
    {
        const char *sk = json_string_value(json_object_get(s, "key"));
        if (sk && strcmp(sk, k) == 0) {
            *pos = (int)i;
            return 0;
        }
    }
    return failf(e, ERR_INVALID, "%s.%s: no step has the key \"%s\"", f, key, k);
}

int drip_steps_build(struct json_t *steps, struct arena *a, struct campaign_step **out, size_t *n,
                     struct errinfo *e)
{
    *out = NULL;
    *n = 0;
    if (!json_is_array(steps))
        return failf(e, ERR_INVALID, "steps must be an array");
    size_t count = json_array_size(steps);
    if (count > DRIP_STEPS_MAX)
        return failf(e, ERR_INVALID, "a campaign has at most %d steps", DRIP_STEPS_MAX);
    struct campaign_step *rows = arena_alloc(a, (count ? count : 1) * sizeof(*rows));
    memset(rows, 0, (count ? count : 1) * sizeof(*rows));
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s)
    {
        char f[32];
        snprintf(f, sizeof(f), "steps[%zu]", i);
        if (!json_is_object(s))
            return failf(e, ERR_INVALID, "%s must be an object", f);
        json_t *key = json_object_get(s, "key");
        if (key && !json_is_null(key)) {
            const char *k = json_string_value(key);
            if (!k || !*k || strlen(k) > 64)
                return failf(e, ERR_INVALID, "%s.key must be a string of 1 to 64 characters", f);
            for (size_t j = 0; j < i; j++) {
                const char *o = json_string_value(json_object_get(json_array_get(steps, j), "key"));
                if (o && strcmp(o, k) == 0)
                    return failf(e, ERR_INVALID, "%s.key \"%s\" is used twice", f, k);
            }
        }
        const char *type = json_string_value(json_object_get(s, "type"));
        if (!type)
            return failf(e, ERR_INVALID, "%s.type is required", f);
        const struct step_kind *kind;
        char tf[40];
        snprintf(tf, sizeof(tf), "%s.type", f);
        int rc = step_kind_lookup(type, tf, &kind, e);
        if (rc)
            return rc;
        json_t *cfg = json_object_get(s, "config");
        if (!json_is_object(cfg))
            return failf(e, ERR_INVALID, "%s.config must be an object", f);
        char cf[40];
        snprintf(cf, sizeof(cf), "%s.config", f);
        if ((rc = kind->validate(cfg, cf, e)))
            return rc;
        struct campaign_step *r = &rows[i];
        crypto_uuid(r->id);
        r->position = (int)i;
        snprintf(r->type, sizeof(r->type), "%s", type);
        char *text = json_dumps(cfg, JSON_COMPACT);
        r->config = arena_strdup(a, text ? text : "{}");
        free(text);
    }
    /* References, now that every step has its id. */
    json_array_foreach(steps, i, s)
    {
        char f[32];
        snprintf(f, sizeof(f), "steps[%zu]", i);
        struct campaign_step *r = &rows[i];
        bool cond = branches(r->type);
        int pos;
        int rc = 0;
        if (cond) {
            const char *keys[2] = {"true", "false"};
            char *dst[2] = {r->true_id, r->false_id};
            for (int b = 0; b < 2 && !rc; b++) {
                json_t *ref = json_object_get(s, keys[b]);
                if (!ref)
                    return failf(e, ERR_INVALID,
                                 "%s.%s is required for a condition (a position, a key, or null "
                                 "to end there)",
                                 f, keys[b]);
                if (!(rc = resolve_ref(steps, ref, f, keys[b], &pos, e)) && pos >= 0)
                    snprintf(dst[b], STORE_ID_LEN, "%s", rows[pos].id);
            }
            if (!rc && json_object_get(s, "next"))
                rc = failf(e, ERR_INVALID, "%s.next: a condition goes on by true and false", f);
        } else {
            if (json_object_get(s, "true") || json_object_get(s, "false"))
                return failf(e, ERR_INVALID, "%s: only a condition has true and false", f);
            json_t *ref = json_object_get(s, "next");
            if (!ref)
                pos = i + 1 < count ? (int)i + 1 : -1;
            else
                rc = resolve_ref(steps, ref, f, "next", &pos, e);
            if (!rc && pos >= 0)
                snprintf(r->next_id, STORE_ID_LEN, "%s", rows[pos].id);
        }
        if (rc)
            return rc;
    }
    *out = rows;
    *n = count;
    return 0;
}

/* ---- the graph -------------------------------------------------------------------- */

static int index_of(const struct campaign_step *steps, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(steps[i].id, id) == 0)
            return (int)i;
    return -1;
}

enum { WHITE = 0, GREY = 1, BLACK = 2 };

/* Depth-first from i: a grey step reached again closes a cycle. */
static int visit(const struct campaign_step *steps, size_t n, int i, unsigned char *color,
                 int depth, struct errinfo *e)
{
    if (color[i] == BLACK)
        return 0;
    if (color[i] == GREY)
        return failf(e, ERR_INVALID, "the steps form a cycle through step %d (%s)", i,
                     steps[i].type);
    if (depth > DRIP_STEPS_MAX)
        return failf(e, ERR_INVALID, "the steps are nested too deeply");
    color[i] = GREY;
    const char *next[3] = {steps[i].next_id, steps[i].true_id, steps[i].false_id};
    for (int k = 0; k < 3; k++) {
        if (!next[k][0])
            continue;
        int j = index_of(steps, n, next[k]);
        if (j < 0)
            return failf(e, ERR_INVALID, "step %d (%s) goes to a step that is not in the list", i,
                         steps[i].type);
        int rc = visit(steps, n, j, color, depth + 1, e);
        if (rc)
            return rc;
    }
    color[i] = BLACK;
    return 0;
}

int drip_graph_check(const struct campaign_step *steps, size_t n, struct errinfo *e)
{
    if (n == 0)
        return failf(e, ERR_INVALID, "the campaign has no steps");
    for (size_t i = 0; i < n; i++)
        if (branches(steps[i].type) && steps[i].next_id[0])
            return failf(e, ERR_INVALID, "step %zu: a condition goes on by true and false", i);
    unsigned char color[DRIP_STEPS_MAX + 1] = {0};
    if (n > DRIP_STEPS_MAX)
        return failf(e, ERR_INVALID, "a campaign has at most %d steps", DRIP_STEPS_MAX);
    int rc = visit(steps, n, 0, color, 0, e);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (color[i] != BLACK)
            return failf(e, ERR_INVALID, "step %zu (%s) cannot be reached from the first step", i,
                         steps[i].type);
    return 0;
}

/* ---- status changes ------------------------------------------------------------------ */

/* A campaign's status change with what goes with it, in one transaction. */
struct status_change {
    const char *ws, *id;
    bool resume;
    struct arena *a;
};

static int activate_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct status_change *x = arg;
    int rc =
        store_campaign_set_status(st, x->ws, x->id, "draft,paused", "active", clock_now_ms(), e);
    /* Jobs that ran while the campaign was paused left their enrollment
     * where it was with a new seq: each gets its step's job again. */
    for (int page = 0; !rc && x->resume; page++) {
        struct enrollment *rows;
        size_t m;
        int64_t total;
        rc = store_enrollment_list(st, x->ws, x->id, "active", 200, page * 200, x->a, &rows, &m,
                                   &total, e);
        for (size_t i = 0; !rc && i < m; i++)
            rc = drip_enqueue_step(st, x->ws, rows[i].id, rows[i].current_step_id, rows[i].seq,
                                   rows[i].next_run_at, e);
        if (m < 200)
            break;
    }
    return rc;
}

int drip_activate(struct store *st, const char *workspace_id, const char *id, struct errinfo *e)
{
    char stack[8192];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    struct campaign c;
    struct campaign_step *steps;
    size_t n;
    int rc = store_campaign_get(st, workspace_id, id, &a, &c, e);
    if (!rc && strcmp(c.status, "active") == 0)
        rc = failf(e, ERR_CONFLICT, "the campaign is already active");
    if (!rc && strcmp(c.status, "archived") == 0)
        rc = failf(e, ERR_CONFLICT, "the campaign is archived");
    if (!rc)
        rc = store_campaign_steps(st, workspace_id, id, &a, &steps, &n, e);
    if (!rc)
        rc = drip_graph_check(steps, n, e);
    if (rc) {
        arena_release(&a);
        return rc;
    }
    struct status_change x = {workspace_id, id, strcmp(c.status, "paused") == 0, &a};
    rc = store_tx_run(st, activate_tx, &x, e);
    arena_release(&a);
    return rc;
}

int drip_pause(struct store *st, const char *workspace_id, const char *id, struct errinfo *e)
{
    return store_campaign_set_status(st, workspace_id, id, "active", "paused", clock_now_ms(), e);
}

static int archive_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct status_change *x = arg;
    int64_t now = clock_now_ms(), n = 0;
    int rc = store_campaign_set_status(st, x->ws, x->id, "draft,active,paused", "archived", now, e);
    return rc ? rc : store_enrollment_cancel(st, x->ws, NULL, x->id, "archived", now, &n, e);
}

int drip_archive(struct store *st, const char *workspace_id, const char *id, struct errinfo *e)
{
    struct status_change x = {workspace_id, id, false, NULL};
    return store_tx_run(st, archive_tx, &x, e);
}

/* ---- enrollment ---------------------------------------------------------------------- */

int drip_enqueue_step(struct store *st, const char *workspace_id, const char *enrollment_id,
                      const char *step_id, int64_t seq, int64_t run_at, struct errinfo *e)
{
    char payload[160], key[128];
    snprintf(payload, sizeof(payload), "{\"enrollmentId\":\"%s\",\"stepId\":\"%s\",\"seq\":%lld}",
             enrollment_id, step_id, (long long)seq);
    snprintf(key, sizeof(key), "drip:%s:%s:%lld", enrollment_id, step_id, (long long)seq);
    struct job_spec spec = {
        .workspace_id = workspace_id,
        .kind = DRIP_JOB_KIND,
        .payload = payload,
        .run_at = run_at,
        .idempotency_key = key,
    };
    return queue_enqueue(st, &spec, NULL, NULL, e);
}

int64_t drip_step_run_at(const struct campaign_step *s, int64_t now)
{
    const struct step_kind *k = step_kind_find(s->type);
    if (!k || !k->run_at)
        return now;
    json_t *cfg = json_loads(s->config, 0, NULL);
    int64_t at = k->run_at(cfg, now);
    json_decref(cfg);
    return at;
}

int drip_enroll_in_tx(struct store *st, const char *ws, const struct campaign *c,
                      const struct campaign_step *first, const char *const *ids, size_t n,
                      struct drip_enroll_result *out, struct arena *a, struct errinfo *e)
{
    int64_t now = clock_now_ms();
    int64_t run_at = drip_step_run_at(first, now);
    for (size_t i = 0; i < n; i++) {
        struct drip_enroll_result *r = &out[i];
        memset(r, 0, sizeof(*r));
        snprintf(r->contact_id, sizeof(r->contact_id), "%s", ids[i]);
        struct contact ct;
        int rc = strlen(ids[i]) < STORE_ID_LEN ? store_contact_get(st, ws, ids[i], a, &ct, e)
                                               : ERR_NOT_FOUND;
        if (rc == ERR_NOT_FOUND) {
            r->reason = "not_found";
            continue;
        }
        if (rc)
            return rc;
        if (ct.unsubscribed_at) {
            r->reason = "unsubscribed";
            continue;
        }
        rc = store_enrollment_insert(st, ws, c->id, ct.id, c->allow_reenroll, first->id, run_at,
                                     now, r->enrollment_id, &r->reason, e);
        if (!rc && !r->reason)
            rc = drip_enqueue_step(st, ws, r->enrollment_id, first->id, 0, run_at, e);
        if (rc)
            return rc;
    }
    return 0;
}

struct enroll {
    const char *ws;
    const struct campaign *c;
    const struct campaign_step *first;
    const char *const *ids;
    size_t n;
    struct drip_enroll_result *out;
    struct arena *a;
};

static int enroll_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct enroll *x = arg;
    return drip_enroll_in_tx(st, x->ws, x->c, x->first, x->ids, x->n, x->out, x->a, e);
}

int drip_enroll(struct store *st, const char *workspace_id, const char *campaign_id,
                const char *const *contact_ids, size_t n, struct drip_enroll_result *out,
                struct errinfo *e)
{
    char stack[8192];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    struct campaign c;
    struct campaign_step *steps = NULL;
    size_t nsteps = 0;
    int rc = store_campaign_get(st, workspace_id, campaign_id, &a, &c, e);
    if (!rc && strcmp(c.status, "active") != 0)
        rc = failf(e, ERR_CONFLICT, "the campaign is %s: only an active campaign takes contacts",
                   c.status);
    if (!rc)
        rc = store_campaign_steps(st, workspace_id, campaign_id, &a, &steps, &nsteps, e);
    if (!rc && nsteps == 0)
        rc = failf(e, ERR_CONFLICT, "the campaign has no steps");
    if (!rc) {
        struct enroll x = {workspace_id, &c, &steps[0], contact_ids, n, out, &a};
        rc = store_tx_run(st, enroll_tx, &x, e);
    }
    arena_release(&a);
    return rc;
}

int drip_cancel_contact(struct store *st, const char *workspace_id, const char *contact_id,
                        const char *reason, struct errinfo *e)
{
    int64_t n = 0;
    return store_enrollment_cancel(st, workspace_id, contact_id, NULL, reason, clock_now_ms(), &n,
                                   e);
}

/* ---- clone and unenroll ------------------------------------------------------ */

struct clone {
    const char *ws, *id, *name;
    struct arena *a;
    struct campaign *out;
};

/* The id in the copy of the step old_id names ("" stays the end). */
static void remap(char *ref, const struct campaign_step *old, const struct campaign_step *copy,
                  size_t n)
{
    for (size_t i = 0; ref[0] && i < n; i++) {
        if (strcmp(ref, old[i].id) == 0) {
            snprintf(ref, STORE_ID_LEN, "%s", copy[i].id);
            return;
        }
    }
}

static int clone_tx(struct store *st, void *arg, struct errinfo *e)
{
    struct clone *x = arg;
    struct campaign c;
    struct campaign_step *steps;
    size_t n;
    int rc = store_campaign_get(st, x->ws, x->id, x->a, &c, e);
    if (!rc)
        rc = store_campaign_steps(st, x->ws, x->id, x->a, &steps, &n, e);
    if (rc)
        return rc;
    struct campaign_fields f = {.set = CAMPF_NAME | CAMPF_TRIGGER | CAMPF_REENROLL,
                                .name = x->name,
                                .trigger = c.trigger,
                                .allow_reenroll = c.allow_reenroll};
    int64_t now = clock_now_ms();
    if ((rc = store_campaign_create(st, x->ws, &f, now, x->a, x->out, e)))
        return rc;
    struct campaign_step *copy = arena_alloc(x->a, (n ? n : 1) * sizeof(*copy));
    for (size_t i = 0; i < n; i++) {
        copy[i] = steps[i];
        crypto_uuid(copy[i].id);
    }
    for (size_t i = 0; i < n; i++) {
        remap(copy[i].next_id, steps, copy, n);
        remap(copy[i].true_id, steps, copy, n);
        remap(copy[i].false_id, steps, copy, n);
    }
    rc = store_campaign_steps_replace(st, x->ws, x->out->id, copy, n, now, NULL, e);
    x->out->steps = (int64_t)n;
    return rc;
}

int drip_clone(struct store *st, const char *workspace_id, const char *id, const char *name,
               struct arena *a, struct campaign *out, struct errinfo *e)
{
    struct clone x = {workspace_id, id, name, a, out};
    return store_tx_run(st, clone_tx, &x, e);
}

int drip_unenroll(struct store *st, const char *workspace_id, const char *campaign_id,
                  const char *contact_id, struct errinfo *e)
{
    char status[16];
    int64_t n = 0;
    int rc = store_campaign_status(st, workspace_id, campaign_id, status, e);
    if (!rc)
        rc = store_enrollment_cancel(st, workspace_id, contact_id, campaign_id, "unenrolled",
                                     clock_now_ms(), &n, e);
    if (!rc && n == 0)
        rc = failf(e, ERR_NOT_FOUND, "the contact has no active enrollment in this campaign");
    return rc;
}

/* ---- secrets through the API ------------------------------------------------- */

int drip_steps_keep_secrets(struct json_t *steps, const struct campaign_step *old, size_t n,
                            struct errinfo *e)
{
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s)
    {
        json_t *cfg = json_object_get(s, "config");
        const char *type = json_string_value(json_object_get(s, "type"));
        const struct step_kind *kind = step_kind_find(type);
        if (!json_is_object(cfg) || !kind || !kind->has_secret)
            continue;
        json_object_del(cfg, "secretSet"); /* what GET adds; never stored */
        const char *secret = json_string_value(json_object_get(cfg, "secret"));
        if (!secret || strcmp(secret, DRIP_SECRET_MASK) != 0)
            continue;
        const char *id = json_string_value(json_object_get(s, "id"));
        const struct campaign_step *from = NULL;
        for (size_t k = 0; k < n && !from; k++) {
            bool same = id ? strcmp(old[k].id, id) == 0 : old[k].position == (int)i;
            if (same && strcmp(old[k].type, kind->name) == 0)
                from = &old[k];
        }
        json_t *stored = from ? json_loads(from->config, 0, NULL) : NULL;
        json_t *keep = json_object_get(stored, "secret");
        if (!json_is_string(keep)) {
            json_decref(stored);
            return failf(e, ERR_INVALID,
                         "steps[%zu].config.secret is the mask %s but no stored %s step %s: "
                         "send the secret itself",
                         i, DRIP_SECRET_MASK, kind->name,
                         id ? "has that id" : "is at that position");
        }
        json_object_set(cfg, "secret", keep);
        json_decref(stored);
    }
    return 0;
}

const char *drip_config_public(const struct campaign_step *s, struct arena *a)
{
    const struct step_kind *k = step_kind_find(s->type);
    if (!k || !k->has_secret)
        return s->config;
    json_t *cfg = json_loads(s->config, 0, NULL);
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        return s->config;
    }
    json_secret_mask(cfg);
    char *text = json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    const char *out = arena_strdup(a, text ? text : "{}");
    free(text);
    return out;
}
