/*
 * The "drip_step" job: executes one step of one enrollment and moves the
 * enrollment on (drip/drip.h), through the step's kind (drip/step.h). The
 * kind's run hook goes first (reads, rendering, the webhook's POST); then
 * one transaction checks that the enrollment is still at this step and
 * seq, applies the kind's effect (the outbox row of an email, tags, score
 * points), writes the execution log, moves the enrollment and enqueues the
 * next step's job. A job that finds the enrollment elsewhere (it ran
 * before, or the enrollment was cancelled) does nothing.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/events.h"
#include "base/json.h"
#include "base/log.h"
#include "drip/drip_int.h"
#include "drip/step.h"
#include "jobs/queue.h"
#include "store/campaigns.h"
#include "store/contacts.h"

struct drip_ctx {
    const struct config *cfg;
    struct ai *ai;
};

/* ---- the transaction ---------------------------------------------------------------------- */

/* The kind's effect, inside the transaction (a step that no longer exists has none). */
static int effects(struct step_run *r, struct errinfo *e)
{
    const struct step_kind *k = step_kind_find(r->step->type);
    return k && k->apply ? k->apply(r, e) : 0;
}

/* One step's outcome, written in one transaction; *ran is set when the
 * move applied (the outcome is this run's). */
struct step_commit {
    struct step_run *r;
    const struct campaign_step *next;
    bool has_next;
    bool *ran;
};

static int commit_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct step_commit *x = arg;
    struct step_run *r = x->r;
    const char *ws = r->ws;
    const struct enrollment *en = r->en;
    const struct campaign_step *step = r->step;
    struct step_outcome *o = r->o;
    int64_t now = clock_now_ms();
    struct enrollment cur;
    int rc = store_enrollment_get(st, ws, en->id, r->a, &cur, e);
    if (rc == ERR_NOT_FOUND || (!rc && (strcmp(cur.status, "active") != 0 || cur.seq != en->seq)))
        return STORE_TX_UNDO; /* it moved on meanwhile: this run must change nothing */
    if (!rc && !o->hold)
        rc = effects(r, e);
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

static int commit_step(struct step_run *r, bool *ran, struct errinfo *e)
{
    struct step_outcome *o = r->o;
    *ran = false;
    struct campaign_step next;
    bool has_next = !o->hold && o->next_step && o->next_step[0];
    if (has_next) {
        int rc = store_campaign_step_get(r->st, r->ws, o->next_step, r->a, &next, e);
        if (rc == ERR_NOT_FOUND) {
            has_next = false;
            o->end_status = "failed";
            o->reason = "step_missing";
        } else if (rc) {
            return rc;
        }
    }
    struct step_commit x = {r, &next, has_next, ran};
    return store_tx_run(r->st, commit_tx, &x, e);
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

/* Before the transaction: the kind's run hook (tag and score have none: all in the transaction). */
static int execute(struct step_run *r, struct errinfo *e)
{
    const struct step_kind *k = step_kind_find(r->step->type);
    r->now = clock_now_ms();
    r->o->next_step = r->step->next_id;
    return k && k->run ? k->run(r, e) : 0;
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
    struct step_outcome o = {.variant = -1, .meta = json_object()};
    bool ran = false;
    struct campaign_step step;
    struct step_run r = {
        .cfg = ctx->cfg,
        .ai = ctx->ai,
        .st = st,
        .job = j,
        .ws = ws,
        .en = &en,
        .step = &step,
        .a = a,
        .o = &o,
    };
    if (strcmp(cstatus, "paused") == 0) {
        /* Held where it is; activating the campaign gives it a new job. */
        snprintf(step.id, sizeof(step.id), "%s", step_id);
        o.hold = true;
        o.park = true;
        o.hold_until = en.next_run_at;
        rc = commit_step(&r, &ran, e);
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
        rc = commit_step(&r, &ran, e);
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
    r.config = cfg;
    r.ct = &ct;
    rc = execute(&r, e);
    if (!rc)
        rc = commit_step(&r, &ran, e);
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
    drip_configure(cfg);
    ctx.cfg = cfg;
    ctx.ai = ai;
    queue_register(q, DRIP_JOB_KIND, step_job, &ctx);
}
