/*
 * What a contact crossing into hot sets off (DESIGN.md §6 "Hot lead ->
 * draft"): one draft job per crossing, committed with the score that caused
 * it, and once committed a hot_lead event to the workspace's dashboards.
 */
#include <stdio.h>
#include <string.h>

#include "ai/content.h"
#include "base/buf.h"
#include "base/events.h"
#include "base/json.h"
#include "base/log.h"
#include "crm/crm.h"
#include "store/contacts.h"

enum { EVENT_MAX = 4096 };

static int draft_react(struct store *st, const struct crm_change *c, struct arena *a,
                       struct errinfo *e)
{
    if (!crm_became_hot(c->score_before, c->score_after))
        return 0;
    return content_enqueue_draft(st, c->workspace_id, c->contact_id, c->score_after,
                                 CONTENT_REASON_HOT, e);
}

const struct crm_reaction draft_reaction = {"draft", CRM_SCORE, draft_react};

/* A hot_lead event waiting for the commit: the workspace, then the JSON. */
struct hot_event {
    char ws[STORE_ID_LEN];
    char contact[STORE_ID_LEN];
    char source[16];
    int score;
    char json[];
};

static void hot_publish(void *data)
{
    const struct hot_event *h = data;
    events_publish(h->ws, "hot_lead", h->json);
    log_info("crm.hot_lead", "contact %s became a hot lead (score %d) after %s", h->contact,
             h->score, h->source);
}

/* The event is written now, while the contact is read in the transaction
 * that made it hot, so that the events of a batch are published back to
 * back after its commit. */
static int live_react(struct store *st, const struct crm_change *c, struct arena *a,
                      struct errinfo *e)
{
    if (!crm_became_hot(c->score_before, c->score_after))
        return 0;
    struct contact ct;
    struct errinfo ignored;
    if (store_contact_get(st, c->workspace_id, c->contact_id, a, &ct, &ignored) != 0)
        return 0; /* deleted meanwhile: nobody to announce */
    struct buf b;
    struct jw w;
    buf_init(&b, EVENT_MAX);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "contactId", ct.id);
    jw_kstr(&w, "email", ct.email);
    jw_kstr(&w, "name", ct.name);
    jw_kint(&w, "score", c->score_after);
    jw_obj_end(&w);
    if (jw_finish(&w) == 0) {
        size_t len = strlen(buf_str(&b)) + 1;
        size_t size = sizeof(struct hot_event) + len;
        struct hot_event *h = arena_alloc(a, size);
        snprintf(h->ws, sizeof(h->ws), "%s", c->workspace_id);
        snprintf(h->contact, sizeof(h->contact), "%s", c->contact_id);
        snprintf(h->source, sizeof(h->source), "%s", c->source ? c->source : "a change");
        h->score = c->score_after;
        memcpy(h->json, buf_str(&b), len);
        store_after_commit(st, hot_publish, h, size);
    }
    buf_release(&b);
    return 0;
}

const struct crm_reaction live_reaction = {"live", CRM_SCORE, live_react};
