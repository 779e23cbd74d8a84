/*
 * leadflow migrate: brings the database schema up to date.
 */
#include <stdio.h>

#include "cmd/cmd.h"
#include "store/store.h"

static const char usage[] = "usage: leadflow migrate [--config FILE] [--db URL]\n"
                            "\n"
                            "Applies every schema migration the database does not have yet.\n"
                            "Safe to run again: it then applies nothing.\n";

int cmd_migrate(int argc, char **argv)
{
    struct cmd_opts o;
    int rc = cmd_parse_opts("migrate", argc, argv, "config,db", 0, &o);
    if (rc)
        return rc;
    if (o.help) {
        fputs(usage, stdout);
        return 0;
    }
    struct config cfg;
    rc = cmd_load_config(&o, &cfg);
    if (rc) {
        config_release(&cfg);
        return rc;
    }
    struct errinfo e;
    errinfo_clear(&e);
    struct store *st = store_open(cfg.db, &e);
    if (!st) {
        fprintf(stderr, "leadflow: %s\n", e.msg);
        config_release(&cfg);
        return 1;
    }
    int applied = 0, have = 0, known = 0;
    rc = store_migrate(st, &applied, &e);
    if (!rc)
        rc = store_schema_version(st, &have, &known, &e);
    if (rc)
        fprintf(stderr, "leadflow: %s: %s\n", cfg.db, e.msg);
    else
        printf("%s: applied %d migration%s, schema version %d\n", cfg.db, applied,
               applied == 1 ? "" : "s", have);
    store_close(st);
    config_release(&cfg);
    return rc ? 1 : 0;
}
