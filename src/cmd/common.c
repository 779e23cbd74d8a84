/*
 * Option parsing and configuration loading shared by the commands.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ai/ai.h"
#include "alerts/alerts.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "cmd/cmd.h"
#include "drip/drip.h"
#include "mail/mime.h"
#include "net/httpc.h"
#include "store/store.h"

extern char **environ;

static bool allowed_has(const char *allowed, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = allowed; (p = strstr(p, name)) != NULL; p += n) {
        bool start = p == allowed || p[-1] == ',';
        bool end = p[n] == '\0' || p[n] == ',';
        if (start && end)
            return true;
    }
    return false;
}

int cmd_parse_opts(const char *cmd, int argc, char **argv, const char *allowed, int max_pos,
                   struct cmd_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"db", required_argument, NULL, 'd'},
        {"org", required_argument, NULL, 'g'},
        {"name", required_argument, NULL, 'n'},
        {"workspace", required_argument, NULL, 'w'},
        {"demo", no_argument, NULL, 'D'},
        {"output", required_argument, NULL, 'o'}, /* also -o */
        {"force", no_argument, NULL, 'F'},
        {"map", required_argument, NULL, 'm'},
        {"on-duplicate", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    opterr = 0;
    optind = 1;
    int ch, idx = 0;
    while ((ch = getopt_long(argc, argv, ":ho:", longopts, &idx)) != -1) {
        const char *bad = argv[optind - 1];
        switch (ch) {
        case 'h':
            o->help = true;
            continue;
        case ':':
            fprintf(stderr, "leadflow %s: option %s needs a value (see leadflow %s --help)\n", cmd,
                    bad, cmd);
            return EXIT_USAGE;
        case '?':
            fprintf(stderr, "leadflow %s: unknown option %s (see leadflow %s --help)\n", cmd, bad,
                    cmd);
            return EXIT_USAGE;
        default:
            break;
        }
        /* getopt_long sets idx for long options only; -o is --output. */
        const char *name = ch == 'o' ? "output" : longopts[idx].name;
        if (!allowed_has(allowed, name)) {
            fprintf(stderr, "leadflow %s: unknown option --%s (see leadflow %s --help)\n", cmd,
                    name, cmd);
            return EXIT_USAGE;
        }
        if (ch == 'c')
            o->config_file = optarg;
        else if (ch == 'l')
            o->listen = optarg;
        else if (ch == 'd')
            o->db = optarg;
        else if (ch == 'g')
            o->org = optarg;
        else if (ch == 'o')
            o->output = optarg;
        else if (ch == 'n')
            o->name = optarg;
        else if (ch == 'w')
            o->workspace = optarg;
        else if (ch == 'D')
            o->demo = true;
        else if (ch == 'F')
            o->force = true;
        else if (ch == 'm')
            o->map = optarg;
        else if (ch == 'u')
            o->on_duplicate = optarg;
    }
    for (; optind < argc && o->npos < max_pos && o->npos < CMD_MAX_POS; optind++)
        o->pos[o->npos++] = argv[optind];
    if (optind < argc) {
        fprintf(stderr, "leadflow %s: unexpected argument \"%s\" (see leadflow %s --help)\n", cmd,
                argv[optind], cmd);
        return EXIT_USAGE;
    }
    return 0;
}

int cmd_load_config(const struct cmd_opts *o, struct config *cfg)
{
    struct errinfo e;
    errinfo_clear(&e);
    config_init(cfg);
    int rc = 0;
    if (o->config_file)
        rc = config_load_file(cfg, o->config_file, &e);
    else if (access("leadflow.conf", F_OK) == 0)
        rc = config_load_file(cfg, "leadflow.conf", &e);
    if (!rc)
        rc = config_load_env(cfg, environ, &e);
    if (rc) {
        fprintf(stderr, "leadflow: %s\n", e.msg);
        return 1;
    }
    if ((o->listen && config_set(cfg, "listen", o->listen, "--listen", &e) != 0) ||
        (o->db && config_set(cfg, "db", o->db, "--db", &e) != 0)) {
        fprintf(stderr, "leadflow: %s\n", e.msg);
        return EXIT_USAGE;
    }
    if (config_finish(cfg, &e) != 0) {
        fprintf(stderr, "leadflow: %s\n", e.msg);
        return 1;
    }
    enum log_level lvl = LOG_INFO;
    log_level_parse(cfg->log_level, &lvl);
    log_set_level(lvl);
    alerts_configure(cfg);
    drip_configure(cfg);
    /* Tests only: a simulated clock that the test moves forward (base/clock.h). */
    const char *clock_file = getenv("LEADFLOW_TEST_CLOCK_FILE");
    if (clock_file && *clock_file) {
        clock_use_offset_file(clock_file);
        log_warn("clock.test", "the clock follows the test clock file %s", clock_file);
    }
    return 0;
}

int cmd_open_store(const struct cmd_opts *o, struct config *cfg, struct store **st)
{
    int rc = cmd_load_config(o, cfg);
    if (rc) {
        config_release(cfg);
        return rc;
    }
    struct errinfo e;
    errinfo_clear(&e);
    int applied = 0;
    if (crypto_init() != 0) {
        fprintf(stderr, "leadflow: cannot initialize the crypto library\n");
        config_release(cfg);
        return 1;
    }
    *st = store_open(cfg->db, &e);
    if (!*st || store_migrate(*st, &applied, &e) != 0) {
        fprintf(stderr, "leadflow: %s\n", e.msg);
        store_close(*st);
        *st = NULL;
        config_release(cfg);
        return 1;
    }
    return 0;
}

struct ai *cmd_open_ai(const char *cmd, const struct cmd_opts *o, struct config *cfg, int *status)
{
    *status = cmd_load_config(o, cfg);
    if (*status) {
        config_release(cfg);
        return NULL;
    }
    if (crypto_init() != 0 || httpc_global_init() != 0 || mime_init() != 0) {
        fprintf(stderr, "leadflow %s: cannot initialize the libraries\n", cmd);
        config_release(cfg);
        *status = 1;
        return NULL;
    }
    return ai_new(cfg);
}

int cmd_read_file(const char *path, struct buf *b, struct errinfo *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return failf(e, ERR_IO, "cannot open: %s", strerror(errno));
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_append(b, chunk, n) != 0)
            rc = failf(e, ERR_TOO_BIG, "larger than %zu bytes", b->max);
    if (!rc && ferror(f))
        rc = failf(e, ERR_IO, "cannot read: %s", strerror(errno));
    fclose(f);
    return rc;
}
