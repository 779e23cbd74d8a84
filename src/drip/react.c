/*
 * How campaigns react to a contact's change (crm/crm.h): new contacts,
 * added tags and rising scores enroll it where a campaign's trigger says
 * so; a reply, open or click wakes the enrollments waiting for one; an
 * unsubscribe or a bounce ends them all.
 */
#include <string.h>

#include "crm/crm.h"
#include "drip/drip.h"
#include "store/campaigns.h"

static int drip_react(struct store *st, const struct crm_change *c, struct arena *a,
                      struct errinfo *e)
{
    const char *ws = c->workspace_id, *id = c->contact_id;
    int rc = 0;
    if (c->what & CRM_CREATED)
        rc = drip_on_contact_created(st, ws, id, NULL, e);
    if (!rc && (c->what & CRM_TAGS))
        rc = drip_on_tags(st, ws, id, c->tags_before, c->tags_after, NULL, e);
    if (!rc && (c->what & CRM_SCORE))
        rc = drip_on_score(st, ws, id, c->score_before, c->score_after, NULL, e);
    /* A campaign waiting until the contact replies, opens or clicks looks
     * now, not at its next hourly check. */
    bool reply = (c->what & CRM_EMAIL) && c->email && c->email->direction &&
                 strcmp(c->email->direction, "inbound") == 0;
    if (!rc && (reply || (c->what & (CRM_OPEN | CRM_CLICK)))) {
        int64_t woken = 0;
        rc = store_enrollment_wake(st, ws, id, c->now, &woken, e);
    }
    /* Drip campaigns stop in the same transaction (DESIGN.md §6 "Drip"). */
    if (!rc && (c->what & (CRM_UNSUBSCRIBE | CRM_BOUNCE | CRM_COMPLAINT))) {
        int64_t cancelled = 0;
        rc = store_enrollment_cancel(st, ws, id, NULL,
                                     (c->what & CRM_UNSUBSCRIBE) ? "unsubscribed"
                                     : (c->what & CRM_BOUNCE)    ? "bounced"
                                                                 : "complained",
                                     c->now, &cancelled, e);
    }
    return rc;
}

const struct crm_reaction drip_reaction = {
    "drip",
    CRM_CREATED | CRM_TAGS | CRM_SCORE | CRM_EMAIL | CRM_OPEN | CRM_CLICK | CRM_UNSUBSCRIBE |
        CRM_BOUNCE | CRM_COMPLAINT,
    drip_react,
};
