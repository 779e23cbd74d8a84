/*
 * The list of route tables that make up the API.
 */
#include "api/api.h"

void api_register(struct router *rt)
{
    router_add(rt, api_health_routes, api_health_nroutes);
    router_add(rt, api_auth_routes, api_auth_nroutes);
    router_add(rt, api_setup_routes, api_setup_nroutes);
    router_add(rt, api_contacts_routes, api_contacts_nroutes);
    /* Before the emails table: /api/emails/{id} would take /api/emails/sent. */
    router_add(rt, api_outbox_routes, api_outbox_nroutes);
    router_add(rt, api_suppressions_routes, api_suppressions_nroutes);
    router_add(rt, api_preview_routes, api_preview_nroutes);
    router_add(rt, api_webhooks_routes, api_webhooks_nroutes);
    router_add(rt, api_emails_routes, api_emails_nroutes);
    router_add(rt, api_agents_routes, api_agents_nroutes);
    router_add(rt, api_gmail_routes, api_gmail_nroutes);
    router_add(rt, api_imap_routes, api_imap_nroutes);
    router_add(rt, api_sender_routes, api_sender_nroutes);
    router_add(rt, api_content_routes, api_content_nroutes);
    router_add(rt, api_track_routes, api_track_nroutes);
    router_add(rt, api_jobs_routes, api_jobs_nroutes);
    router_add(rt, api_campaigns_routes, api_campaigns_nroutes);
    router_add(rt, api_alerts_routes, api_alerts_nroutes);
    router_add(rt, api_ws_routes, api_ws_nroutes);
}
