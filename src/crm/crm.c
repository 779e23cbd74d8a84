/*
 * The reactions to a contact's change, in one table, and the score refresh
 * that reports the score's changes (DESIGN.md §6 "Lead score").
 */
#include "crm/crm.h"

#include "ai/score.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "store/contacts.h"

enum { DAY_MS = 24 * 60 * 60 * 1000, REASONS_JSON_MAX = 4096, SCORE_ACTIVITY_MAX = 500 };

/* In this order: the suppression list first (no email is queued to an
 * address that just bounced), enrollments (a score step's campaign sees its
 * triggers), then alerts, the draft job, and the live event last. */
static const struct crm_reaction *const reactions[] = {
    &suppress_reaction, &drip_reaction, &alerts_reaction, &draft_reaction, &live_reaction,
};

struct run {
    const struct crm_change *c;
};

static int run_all(struct store *st, void *arg, struct errinfo *e)
{
    const struct crm_change *c = ((struct run *)arg)->c;
    struct arena a;
    arena_init(&a, NULL, 0);
    int rc = 0;
    for (size_t i = 0; i < sizeof(reactions) / sizeof(reactions[0]) && !rc; i++)
        if (reactions[i]->what & c->what)
            rc = reactions[i]->react(st, c, &a, e);
    arena_release(&a);
    return rc;
}

int crm_contact_changed(struct store *st, const struct crm_change *c, struct errinfo *e)
{
    if (!c->what || !c->contact_id || !c->contact_id[0])
        return 0;
    struct crm_change with_time = *c;
    if (!with_time.now)
        with_time.now = clock_now_ms();
    struct run r = {&with_time};
    return store_tx_run(st, run_all, &r, e);
}

int crm_rescore(struct store *st, const char *workspace_id, const char *contact_id,
                const char *source, int64_t now, struct arena *a, struct score *out, int *previous,
                struct errinfo *e)
{
    struct activity *acts;
    size_t n;
    char title[STORE_NAME_MAX], status[16];
    int rc = store_contact_activity(st, workspace_id, contact_id,
                                    now - (int64_t)SCORE_WINDOW_DAYS * DAY_MS, SCORE_ACTIVITY_MAX,
                                    a, &acts, &n, title, status, e);
    if (rc)
        return rc;
    struct score_input in = {acts, n, title, status, now};
    struct score sc;
    score_compute(&in, &sc);

    struct buf json;
    struct jw w;
    buf_init(&json, REASONS_JSON_MAX);
    jw_init(&w, &json);
    jw_arr_begin(&w);
    for (int i = 0; i < sc.nreasons; i++)
        jw_str(&w, sc.reasons[i]);
    jw_arr_end(&w);
    if (jw_finish(&w)) {
        buf_release(&json);
        return failf(e, ERR_INTERNAL, "score reasons too long");
    }
    int prev = 0, total = sc.total;
    rc = store_contact_score_save(st, workspace_id, contact_id, &sc, buf_str(&json), now, &prev,
                                  &total, e);
    buf_release(&json);
    /* The stored total holds the contact's campaign points (score steps):
     * the reactions judge that one. */
    sc.total = total;
    if (!rc && prev != total) {
        struct crm_change c = {
            .workspace_id = workspace_id,
            .contact_id = contact_id,
            .what = CRM_SCORE,
            .score_before = prev,
            .score_after = total,
            .source = source,
            .now = now,
        };
        rc = crm_contact_changed(st, &c, e);
    }
    if (rc)
        return rc;
    if (out)
        *out = sc;
    if (previous)
        *previous = prev;
    return 0;
}
