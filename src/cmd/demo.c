/*
 * serve --demo: a demo organization with the bundled sample mailbox, so a
 * first run shows hot leads at once. The mailbox (data/demo/sample.mbox,
 * made by scripts/gen_mailbox.py) ends on DEMO_END; its dates are moved so
 * that it ends an hour ago and the 30-day score window sees it. Running it
 * again reuses the organization and imports nothing twice.
 */
#include <stdio.h>
#include <string.h>

#include "ai/score.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "base/log.h"
#include "cmd/cmd.h"
#include "mail/inbox.h"
#include "mail/ingest.h"
#include "store/auth.h"
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
    if ((rc = auth_link_create(st, cfg, DEMO_EMAIL, url, n, e)))
        return rc;
    printf("demo: workspace %s has %lld emails, %lld contacts, %lld hot leads\n"
           "demo: sign in within 15 minutes at %s\n",
           workspace, (long long)stats.emails, (long long)stats.contacts, (long long)stats.hot,
           url);
    fflush(stdout);
    return 0;
}
