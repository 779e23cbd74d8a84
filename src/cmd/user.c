/*
 * leadflow user: add people, list them, and print one-time sign-in links,
 * so the product is usable with no OAuth provider configured.
 */
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "base/clock.h"
#include "base/str.h"
#include "cmd/cmd.h"
#include "store/auth.h"
#include "store/store.h"

static const char usage[] =
    "usage: leadflow user add EMAIL [--name NAME] [--org NAME]\n"
    "       leadflow user list\n"
    "       leadflow user login-link EMAIL\n"
    "\n"
    "add         creates the user with an organization (NAME's Organization, or --org)\n"
    "            and a Default Workspace\n"
    "list        prints every user: email, name, id\n"
    "login-link  prints a one-time sign-in URL (valid 15 minutes, single use)\n"
    "\n"
    "Each also takes --config FILE and --db URL.\n";

static int user_add(struct store *st, const struct cmd_opts *o)
{
    const char *email = o->pos[1];
    struct errinfo e;
    errinfo_clear(&e);
    if (!str_is_email(email)) {
        fprintf(stderr, "leadflow user add: \"%s\" is not an email address\n", email);
        return EXIT_USAGE;
    }
    struct user u;
    int rc = store_user_create(st, email, o->name, clock_now_ms(), &u, &e);
    if (rc) {
        fprintf(stderr, "leadflow user add: %s\n", e.msg);
        return 1;
    }
    char org[STORE_NAME_MAX];
    if (o->org) {
        snprintf(org, sizeof(org), "%s", o->org);
    } else {
        const char *who = o->name ? o->name : email;
        snprintf(org, sizeof(org), "%.*s's Organization", (int)strcspn(who, "@"), who);
    }
    bool created;
    rc = store_user_bootstrap(st, u.id, org, clock_now_ms(), &created, &e);
    if (rc) {
        fprintf(stderr, "leadflow user add: %s\n", e.msg);
        return 1;
    }
    printf("added %s (id %s) with organization \"%s\"\n", u.email, u.id, org);
    return 0;
}

static int user_list(struct store *st)
{
    struct arena a;
    arena_init(&a, NULL, 0);
    struct user *rows;
    size_t n;
    struct errinfo e;
    errinfo_clear(&e);
    int rc = store_user_list(st, &a, &rows, &n, &e);
    if (rc) {
        fprintf(stderr, "leadflow user list: %s\n", e.msg);
        arena_release(&a);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        printf("%s\t%s\t%s\n", rows[i].email, rows[i].name[0] ? rows[i].name : "-", rows[i].id);
    if (n == 0)
        fprintf(stderr, "no users yet; add one with: leadflow user add EMAIL\n");
    arena_release(&a);
    return 0;
}

static int user_link(struct store *st, const struct config *cfg, const char *email)
{
    char url[1024];
    struct errinfo e;
    errinfo_clear(&e);
    if (auth_link_create(st, cfg, email, url, sizeof(url), &e) != 0) {
        fprintf(stderr, "leadflow user login-link: %s\n", e.msg);
        return 1;
    }
    printf("%s\n", url);
    fprintf(stderr, "one-time sign-in link for %s, valid for 15 minutes\n", email);
    return 0;
}

int cmd_user(int argc, char **argv)
{
    struct cmd_opts o;
    int rc = cmd_parse_opts("user", argc, argv, "config,db,org,name", 2, &o);
    if (rc)
        return rc;
    if (o.help) {
        fputs(usage, stdout);
        return 0;
    }
    const char *sub = o.npos > 0 ? o.pos[0] : "";
    bool add = strcmp(sub, "add") == 0, list = strcmp(sub, "list") == 0,
         link = strcmp(sub, "login-link") == 0;
    if (!add && !list && !link) {
        fprintf(stderr,
                "leadflow user: expected add, list or login-link (see leadflow user --help)\n");
        return EXIT_USAGE;
    }
    if ((add || link) && o.npos != 2) {
        fprintf(stderr, "leadflow user %s: expected an EMAIL\n", sub);
        return EXIT_USAGE;
    }
    if (list && o.npos != 1) {
        fprintf(stderr, "leadflow user list: unexpected argument \"%s\"\n", o.pos[1]);
        return EXIT_USAGE;
    }
    struct config cfg;
    struct store *st;
    rc = cmd_open_store(&o, &cfg, &st);
    if (rc)
        return rc;
    if (add)
        rc = user_add(st, &o);
    else if (list)
        rc = user_list(st);
    else
        rc = user_link(st, &cfg, o.pos[1]);
    store_close(st);
    config_release(&cfg);
    return rc;
}
