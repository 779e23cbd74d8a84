/*
 * leadflow: an AI CRM and marketing-automation server. main() looks the
 * command up in the table below and hands it the remaining arguments.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "mail/mime.h"
#include "version.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"serve", cmd_serve, "serve the dashboard and the API (HTTP)"},
    {"migrate", cmd_migrate, "bring the database schema up to date"},
    {"worker", cmd_worker, "run the job workers without HTTP"},
    {"user", cmd_user, "add and list users, print one-time sign-in links"},
    {"token", cmd_token, "create API tokens for scripts"},
    {"import", cmd_import, "import email files (.eml, mbox, Maildir) into a workspace"},
    {"contacts", cmd_contacts, "import contacts from CSV, export them to CSV"},
    {"export", cmd_export, "write the whole database to stdout, to move it (JSON lines)"},
    {"import-db", cmd_import_db, "load what export wrote into a new, empty database"},
    {"analyze", cmd_analyze, "analyze email files with the configured AI provider"},
    {"eval", cmd_eval, "measure the configured AI provider on a labelled set of emails"},
    {"backup", cmd_backup, "copy the SQLite database while the server runs (online backup)"},
    {"restore", cmd_restore, "put a backup in place of the SQLite database (server stopped)"},
    {"routes", cmd_routes, "print the HTTP route table"},
    {"dkim-record", cmd_dkim_record, "print the DNS TXT record of the DKIM signing key"},
    {"version", cmd_version, "print the version"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: leadflow COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nleadflow COMMAND --help shows the options of a command. Settings come from\n"
               "--config FILE (else ./leadflow.conf), then LEADFLOW_* variables; `make install`\n"
               "puts the documented file in /etc/leadflow/leadflow.conf and a systemd unit\n"
               "that reads it.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0)
        name = "version";
    if (mime_init() != 0) {
        fprintf(stderr, "leadflow: cannot initialize the MIME library\n");
        return 1;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "leadflow: unknown command \"%s\" (see leadflow --help)\n", name);
    return EXIT_USAGE;
}
