/*
 * How alert rules react to a contact's change (crm/crm.h): score crossings
 * (new_hot_lead, score_above, score_below) and new inbound mail (complaint,
 * reply, sentiment_drop), whichever path made the change.
 */
#include "alerts/alerts.h"
#include "crm/crm.h"

static int alerts_react(struct store *st, const struct crm_change *c, struct arena *a,
                        struct errinfo *e)
{
    int rc = 0;
    if ((c->what & CRM_SCORE) && c->score_before != c->score_after)
        rc =
            alerts_on_score(st, c->workspace_id, c->contact_id, c->score_before, c->score_after, e);
    if (!rc && (c->what & CRM_EMAIL) && c->email)
        rc = alerts_on_email(st, c->workspace_id, c->email, e);
    return rc;
}

const struct crm_reaction alerts_reaction = {"alerts", CRM_SCORE | CRM_EMAIL, alerts_react};
