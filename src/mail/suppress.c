/*
 * The suppression list's reaction to a contact's change: an unsubscribe, a
 * hard bounce or a complaint lists the contact's address; a resubscribe takes
 * the unsubscribe's entry off (mail/suppress.h).
 */
#include "mail/suppress.h"

#include <stdio.h>
#include <string.h>

#include "crm/crm.h"
#include "store/contacts.h"
#include "store/sending.h"

const char *const suppress_reasons[] = {"bounce", "complaint", "unsubscribe", "manual"};
const size_t suppress_nreasons = sizeof(suppress_reasons) / sizeof(suppress_reasons[0]);

bool suppress_reason_known(const char *name)
{
    for (size_t i = 0; name && i < suppress_nreasons; i++)
        if (strcmp(name, suppress_reasons[i]) == 0)
            return true;
    return false;
}

static int suppress_react(struct store *st, const struct crm_change *c, struct arena *a,
                          struct errinfo *e)
{
    struct contact ct;
    int rc = store_contact_get(st, c->workspace_id, c->contact_id, a, &ct, e);
    if (rc == ERR_NOT_FOUND)
        return 0;
    if (rc)
        return rc;
    struct suppression s;
    memset(&s, 0, sizeof(s));
    if (c->what & CRM_RESUBSCRIBE) {
        /* Only the unsubscribe's own entry goes: a bounce, a complaint or a
         * manual entry stays until someone removes it saying why. */
        rc = store_suppression_find(st, c->workspace_id, ct.email, a, &s, e);
        if (rc == ERR_NOT_FOUND)
            return 0;
        if (rc || strcmp(s.reason, "unsubscribe") != 0)
            return rc;
        return store_suppression_remove(st, c->workspace_id, s.id, "resubscribed", NULL, c->now, e);
    }
    s.email = ct.email;
    snprintf(s.reason, sizeof(s.reason), "%s",
             (c->what & CRM_BOUNCE)      ? "bounce"
             : (c->what & CRM_COMPLAINT) ? "complaint"
                                         : "unsubscribe");
    snprintf(s.contact_id, sizeof(s.contact_id), "%s", c->contact_id);
    if (c->sent_email_id)
        snprintf(s.sent_email_id, sizeof(s.sent_email_id), "%s", c->sent_email_id);
    s.created_at = c->now;
    bool created;
    return store_suppression_add(st, c->workspace_id, &s, &created, e);
}

const struct crm_reaction suppress_reaction = {
    .name = "suppression list",
    .what = CRM_UNSUBSCRIBE | CRM_BOUNCE | CRM_COMPLAINT | CRM_RESUBSCRIBE,
    .react = suppress_react,
};
