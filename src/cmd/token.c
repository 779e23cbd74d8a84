/*
 * leadflow token create: an API token for scripts, bound to one workspace,
 * printed once (only its hash is stored).
 */
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "cmd/cmd.h"
#include "store/auth.h"
#include "store/store.h"

static const char usage[] =
    "usage: leadflow token create --workspace ID --name NAME [--config FILE] [--db URL]\n"
    "\n"
    "Creates an API token for the workspace, on behalf of its organization's\n"
    "owner, and prints it once. Use it as: Authorization: Bearer TOKEN\n";

int cmd_token(int argc, char **argv)
{
    struct cmd_opts o;
    int rc = cmd_parse_opts("token", argc, argv, "config,db,workspace,name", 1, &o);
    if (rc)
        return rc;
    if (o.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (o.npos != 1 || strcmp(o.pos[0], "create") != 0) {
        fprintf(stderr, "leadflow token: expected create (see leadflow token --help)\n");
        return EXIT_USAGE;
    }
    if (!o.workspace || !o.name || !*o.name || strlen(o.name) > 100) {
        fprintf(stderr, "leadflow token create: --workspace ID and --name NAME (1-100 "
                        "characters) are required\n");
        return EXIT_USAGE;
    }
    struct config cfg;
    struct store *st;
    rc = cmd_open_store(&o, &cfg, &st);
    if (rc)
        return rc;
    struct errinfo e;
    errinfo_clear(&e);
    char owner[STORE_ID_LEN];
    rc = store_workspace_owner(st, o.workspace, owner, &e);
    char token[AUTH_TOKEN_LEN];
    struct api_token t;
    if (!rc)
        rc = auth_token_create(st, o.workspace, owner, o.name, token, &t, &e);
    if (rc) {
        fprintf(stderr, "leadflow token create: %s\n",
                rc == ERR_NOT_FOUND ? "no such workspace" : e.msg);
    } else {
        printf("%s\n", token);
        fprintf(stderr, "API token \"%s\" (id %s) for workspace %s; it is shown only once\n",
                t.name, t.id, t.workspace_id);
    }
    store_close(st);
    config_release(&cfg);
    return rc ? 1 : 0;
}
