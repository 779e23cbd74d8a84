/*
 * The commands of the leadflow binary, one thin file each, and the option
 * handling they share. A command returns the process exit status:
 * 0 success, 1 failure (the reason printed on one line), 2 usage error.
 */
#ifndef LEADFLOW_CMD_CMD_H
#define LEADFLOW_CMD_CMD_H

#include <stdbool.h>

#include "base/config.h"

enum { EXIT_USAGE = 2, CMD_MAX_POS = 1024 };

int cmd_serve(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_routes(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import_db(int argc, char **argv);
int cmd_dkim_record(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_contacts(int argc, char **argv);

struct store;

/* Options every server-side command accepts. */
struct cmd_opts {
    const char *config_file;      /* --config */
    const char *listen;           /* --listen */
    const char *db;               /* --db */
    const char *org;              /* --org */
    const char *name;             /* --name */
    const char *workspace;        /* --workspace */
    const char *output;           /* -o, --output */
    const char *map;              /* --map */
    const char *on_duplicate;     /* --on-duplicate */
    const char *pos[CMD_MAX_POS]; /* positional arguments, in order */
    int npos;
    bool help;
    bool demo;  /* --demo */
    bool force; /* --force */
};

/*
 * Parses argv for the options named in allowed ("config,listen,db").
 * Prints a one-line error and returns EXIT_USAGE on an unknown option, a
 * missing value or a stray argument; 0 otherwise.
 */
int cmd_parse_opts(const char *cmd, int argc, char **argv, const char *allowed, int max_pos,
                   struct cmd_opts *o);

/*
 * Builds the configuration: defaults, the config file (--config, else
 * ./leadflow.conf when present), LEADFLOW_* variables, then the flags.
 * Prints "leadflow: <reason>" and returns 1 (2 for a bad flag value) on error.
 */
int cmd_load_config(const struct cmd_opts *o, struct config *cfg);

/*
 * cmd_load_config, then opens the database and brings its schema up to date.
 * On failure prints one line, releases cfg and returns the exit status.
 */
int cmd_open_store(const struct cmd_opts *o, struct config *cfg, struct store **st);

struct ai;
struct buf;
struct errinfo;
struct queue;
struct send_chain;

/*
 * For the commands that analyze mail without a database (analyze, eval):
 * cmd_load_config, the libraries (crypto, HTTP client, MIME), then the
 * configured AI provider. NULL after one line on stderr ("leadflow CMD: ...")
 * with *status set; otherwise the caller frees the provider and releases cfg.
 */
struct ai *cmd_open_ai(const char *cmd, const struct cmd_opts *o, struct config *cfg, int *status);

/* Reads the whole file at path into b (up to b's limit): 0, or ERR_IO
 * ("cannot open: ...") or ERR_TOO_BIG ("larger than N bytes"). */
int cmd_read_file(const char *path, struct buf *b, struct errinfo *e);

/*
 * Registers every job handler on q (sending, drafts). *chain gets the send
 * chain made from cfg; the caller frees it (send_chain_free) after the queue.
 */
int handlers_register(struct queue *q, const struct config *cfg, struct ai *ai,
                      struct send_chain **chain, struct errinfo *e);

/*
 * serve --demo: makes (or finds) the demo organization, imports the sample
 * mailbox into its workspace once, and prints a one-time sign-in URL (also
 * into url).
 */
int demo_prepare(struct store *st, const struct config *cfg, struct ai *ai, char *url, size_t n,
                 struct errinfo *e);

#endif
