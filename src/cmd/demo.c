/*
 * serve --demo: a demo organization with the bundled sample mailbox, so a
 * first run shows hot leads at once. The mailbox (data/demo/sample.mbox,
 * made by scripts/gen_mailbox.py) ends on DEMO_END; its dates are moved so
 * that it ends an hour ago and the 30-day score window sees it. Alert rules
 * are made before the import, so the import fires them; a running campaign
 * enrolls the best-scored contacts, whose enrollments go different ways by
 * score. Running it again reuses the organization and adds nothing twice.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ai/score.h"
#include "alerts/alerts.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "base/log.h"
#include "cmd/cmd.h"
#include "drip/drip.h"
#include "mail/inbox.h"
#include "mail/ingest.h"
#include "store/alerts.h"
#include "store/auth.h"
#include "store/campaigns.h"
#include "store/contacts.h"
#include "store/emails.h"

#define DEMO_EMAIL "demo@northwind-demo.example"
#define DEMO_ORG "Northwind Analytics (demo)"
#define DEMO_TEAM_DOMAIN "@northwind-demo.example"

/* The newest message of data/demo/sample.mbox: 2026-11-20T17:00:00Z. */
static const int64_t DEMO_END = 1795194000000LL;

static int demo_user(struct store *st, struct user *u, struct errinfo *e)
{
    int rc = store_user_by_email(st, DEMO_EMAIL, u, e);
    if (rc == ERR_NOT_FOUND)
        rc = store_user_create(st, DEMO_EMAIL, "Demo User", clock_now_ms(), u, e);
    if (rc)
        return rc;
    bool created;
    return store_user_bootstrap(st, u->id, DEMO_ORG, clock_now_ms(), &created, e);
}

/* Alert rules of the demo, all shown in the dashboard. */
static const char *const demo_rules[] = {
    "{\"name\":\"New hot lead\",\"trigger\":\"new_hot_lead\","
    "\"channels\":[{\"type\":\"in_app\"}]}",
    "{\"name\":\"Complaint received\",\"trigger\":\"complaint\","
    "\"channels\":[{\"type\":\"in_app\"}]}",
    "{\"name\":\"Score above 90\",\"trigger\":\"score_above\",\"threshold\":90,"
    "\"channels\":[{\"type\":\"in_app\"}]}",
};

/* Makes the demo's alert rules when the workspace has none; *made says so. */
static int demo_rules_make(struct store *st, const char *ws, bool *made, char ids[][STORE_ID_LEN],
                           struct errinfo *e)
{
    *made = false;
    struct arena a;
    arena_init(&a, NULL, 0);
    struct alert_rule *rows;
    size_t n;
    int rc = store_alert_rule_list(st, ws, false, &a, &rows, &n, e);
    for (size_t i = 0; !rc && n == 0 && i < sizeof(demo_rules) / sizeof(demo_rules[0]); i++) {
        json_t *body = json_loads(demo_rules[i], 0, NULL);
        struct alert_rule_fields f;
        struct alert_rule r;
        rc = body ? alerts_rule_read(body, NULL, &a, &f, e) : failf(e, ERR_INTERNAL, "demo rule");
        if (!rc)
            rc = store_alert_rule_create(st, ws, &f, clock_now_ms(), &a, &r, e);
        if (!rc)
            snprintf(ids[i], STORE_ID_LEN, "%s", r.id);
        json_decref(body);
        *made = !rc;
    }
    arena_release(&a);
    if (*made)
        alerts_rules_changed();
    return rc;
}

/* The demo campaign: hot contacts wait two days for a call invitation, warm
 * ones five days for a case study, cold ones finish at once. */
static const char demo_steps[] =
    "[{\"key\":\"tag\",\"type\":\"tag\",\"config\":{\"add\":[\"demo-nurture\"]}},"
    "{\"key\":\"hot\",\"type\":\"condition\",\"config\":{\"kind\":\"score_above\","
    "\"value\":79},\"true\":\"call-wait\",\"false\":\"warm\"},"
    "{\"key\":\"call-wait\",\"type\":\"wait\",\"config\":{\"duration_ms\":172800000},"
    "\"next\":\"call\"},"
    "{\"key\":\"call\",\"type\":\"email\",\"config\":{\"subject\":\"A quick call this "
    "week, {{first_name}}?\",\"body\":\"Hi {{first_name}},\\n\\nWould 20 minutes this week "
    "suit you to go through your questions?\\n\\nUnsubscribe: {{unsubscribe_url}}\"},"
    "\"next\":null},"
    "{\"key\":\"warm\",\"type\":\"condition\",\"config\":{\"kind\":\"score_above\","
    "\"value\":59},\"true\":\"case-wait\",\"false\":null},"
    "{\"key\":\"case-wait\",\"type\":\"wait\",\"config\":{\"duration_ms\":432000000},"
    "\"next\":\"case\"},"
    "{\"key\":\"case\",\"type\":\"email\",\"config\":{\"subject\":\"How teams like yours "
    "use Northwind\",\"body\":\"Hi {{first_name}},\\n\\nA short case study you may "
    "like.\\n\\nUnsubscribe: {{unsubscribe_url}}\"},\"next\":null}]";

enum { DEMO_ENROLL = 20 };

/* Makes, activates and fills the demo campaign when the workspace has none. */
static int demo_campaign(struct store *st, const char *ws, struct errinfo *e)
{
    struct arena a;
    arena_init(&a, NULL, 0);
    struct campaign *rows;
    size_t n;
    int64_t total;
    int rc = store_campaign_list(st, ws, NULL, 1, 0, &a, &rows, &n, &total, e);
    if (rc || total > 0) {
        arena_release(&a);
        return rc;
    }
    struct campaign_fields f = {.set = ~0u, .name = "Follow up on new leads"};
    struct campaign c;
    json_t *arr = json_loads(demo_steps, 0, NULL);
    struct campaign_step *steps;
    size_t nsteps;
    rc = arr ? drip_steps_build(arr, &a, &steps, &nsteps, e)
             : failf(e, ERR_INTERNAL, "the demo campaign's steps are not JSON");
    json_decref(arr);
    if (!rc)
        rc = store_campaign_create(st, ws, &f, clock_now_ms(), &a, &c, e);
    if (!rc)
        rc = store_campaign_steps_replace(st, ws, c.id, steps, nsteps, clock_now_ms(), NULL, e);
    if (!rc)
        rc = drip_activate(st, ws, c.id, e);
    /* The best-scored contacts, hot to cold, go in. */
    struct contact_query q = {
        .min_score = -1, .max_score = -1, .sort = CS_SCORE, .desc = true, .limit = DEMO_ENROLL};
    struct contact *cts = NULL;
    size_t nct = 0;
    if (!rc)
        rc = store_contact_list(st, ws, &q, &a, &cts, &nct, &total, e);
    const char *ids[DEMO_ENROLL];
    struct drip_enroll_result res[DEMO_ENROLL];
    for (size_t i = 0; i < nct; i++)
        ids[i] = cts[i].id;
    if (!rc && nct)
        rc = drip_enroll(st, ws, c.id, ids, nct, res, e);
    if (!rc)
        log_info("demo.campaign", "demo campaign %s: %zu contacts enrolled", c.id, nct);
    arena_release(&a);
    return rc;
}

int demo_prepare(struct store *st, const struct config *cfg, struct ai *ai, char *url, size_t n,
                 struct errinfo *e)
{
    struct user u;
    int rc = demo_user(st, &u, e);
    if (rc)
        return rc;
    struct arena a;
    arena_init(&a, NULL, 0);
    struct ws_row *ws;
    size_t nws;
    rc = store_user_workspaces(st, u.id, &a, &ws, &nws, e);
    if (!rc && nws == 0)
        rc = failf(e, ERR_INTERNAL, "the demo user has no workspace");
    char workspace[STORE_ID_LEN] = "";
    if (!rc)
        snprintf(workspace, sizeof(workspace), "%s", ws[0].id);
    arena_release(&a);
    if (rc)
        return rc;

    struct workspace_stats stats;
    if ((rc = store_workspace_stats(st, workspace, clock_now_ms(), &stats, e)))
        return rc;
    bool rules_made;
    char rule_ids[sizeof(demo_rules) / sizeof(demo_rules[0])][STORE_ID_LEN];
    if ((rc = demo_rules_make(st, workspace, &rules_made, rule_ids, e)))
        return failf(e, rc, "demo alert rules: %s", e->msg);
    /* Rules made after the mail was imported have seen nothing: each sends
     * a test notification, so that the alerts page has something. */
    for (size_t i = 0; rules_made && stats.emails > 0 && i < sizeof(rule_ids) / STORE_ID_LEN; i++) {
        char alert_id[STORE_ID_LEN];
        if ((rc = alerts_rule_test(st, workspace, rule_ids[i], alert_id, e)))
            return rc;
    }
    if (stats.emails == 0) {
        const char *own[] = {DEMO_TEAM_DOMAIN};
        struct ingest_opts o = {
            .workspace_id = workspace,
            .source = "demo",
            .time_shift_ms = clock_now_ms() - 3600 * 1000 - DEMO_END,
            .own_addresses = own,
            .nown = 1,
        };
        struct ingest *g = ingest_new(st, ai, &o, e);
        if (!g)
            return ERR_DB;
        const char *paths[] = {cfg->demo_mailbox};
        struct inbox *in = inbox_files_new(paths, 1, e);
        rc = in ? ingest_source(g, in, e) : e->code;
        struct ingest_stats s;
        ingest_get_stats(g, &s);
        inbox_free(in);
        ingest_free(g);
        if (rc)
            return failf(e, rc, "demo mailbox: %s", e->msg);
        log_info("demo.imported", "demo mailbox: %llu emails imported, %llu contacts",
                 (unsigned long long)s.imported, (unsigned long long)s.contacts_created);
        if ((rc = store_workspace_stats(st, workspace, clock_now_ms(), &stats, e)))
            return rc;
    }
    if ((rc = demo_campaign(st, workspace, e)))
        return failf(e, rc, "demo campaign: %s", e->msg);
    if ((rc = auth_link_create(st, cfg, DEMO_EMAIL, url, n, e)))
        return rc;
    printf("demo: workspace %s has %lld emails, %lld contacts, %lld hot leads\n"
           "demo: sign in within 15 minutes at %s\n",
           workspace, (long long)stats.emails, (long long)stats.contacts, (long long)stats.hot,
           url);
    fflush(stdout);
    return 0;
}
