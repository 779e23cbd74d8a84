/*
 * leadflow backup: an online, consistent copy of the SQLite database, taken
 * while the server keeps running; leadflow restore: puts such a copy back
 * while the server is stopped (store/backup.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/str.h"
#include "cmd/cmd.h"
#include "store/backup.h"
#include "store/store.h"

static const char usage[] =
    "usage: leadflow backup [--config FILE] [--db URL] [--force] FILE\n"
    "\n"
    "Copies the SQLite database into FILE (mode 0600) while the server keeps\n"
    "running and writing: the copy is the database as it was when the backup\n"
    "began, checked before it takes the name FILE. Progress goes to stderr.\n"
    "An existing FILE is refused unless --force is given. The secret key\n"
    "(leadflow.key beside the database) is not in the copy: keep a copy of it\n"
    "too (it does not change).\n"
    "\n"
    "To restore: stop the server, leadflow restore FILE, start the server.\n"
    "PostgreSQL databases are backed up with pg_dump instead.\n";

static const char restore_usage[] =
    "usage: leadflow restore [--config FILE] [--db URL] FILE\n"
    "\n"
    "Replaces the SQLite database with FILE, a copy leadflow backup made\n"
    "(the database is created when missing). Refuses while the database is\n"
    "in use: stop the server (and any leadflow worker) first. The database\n"
    "file keeps its owner and mode; the copy is checked before the command\n"
    "ends. Put the secret key (leadflow.key) beside it on a new machine.\n";

struct progress {
    int step;  /* pages per step */
    int shown; /* last tenth printed */
};

static void on_progress(void *arg, int done, int total)
{
    struct progress *p = arg;
    if (total <= p->step || total <= 0)
        return; /* a small database: one step, nothing to follow */
    int tenth = (int)((long long)done * 10 / total);
    if (tenth <= p->shown)
        return;
    p->shown = tenth;
    fprintf(stderr, "leadflow backup: %d%% (%d of %d pages)\n", tenth * 10, done, total);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cmd_backup(int argc, char **argv)
{
    struct cmd_opts o;
    int rc = cmd_parse_opts("backup", argc, argv, "config,db,force", 1, &o);
    if (rc)
        return rc;
    if (o.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (o.npos != 1) {
        fprintf(stderr, "leadflow backup: name the backup FILE (see leadflow backup --help)\n");
        return EXIT_USAGE;
    }
    struct config cfg;
    rc = cmd_load_config(&o, &cfg);
    if (rc) {
        config_release(&cfg);
        return rc;
    }
    struct errinfo e;
    errinfo_clear(&e);
    struct progress p = {.step = STORE_BACKUP_STEP_PAGES, .shown = 0};
    struct store_backup_opts bo = {.replace = o.force, .progress = on_progress, .arg = &p};
    /* Tests only: small, slow steps, so that a backup of a small database
     * spans many writes of the server. */
    int64_t v;
    const char *env = getenv("LEADFLOW_TEST_BACKUP_STEP_PAGES");
    if (env && str_to_i64(str_from(env), 1, 1 << 20, &v))
        bo.step_pages = p.step = (int)v;
    env = getenv("LEADFLOW_TEST_BACKUP_PAUSE_MS");
    if (env && str_to_i64(str_from(env), 0, 10000, &v))
        bo.pause_ms = (int)v;
    int64_t start = mono_ms();
    rc = store_backup(cfg.db, o.pos[0], &bo, &e);
    if (rc) {
        fprintf(stderr, "leadflow backup: %s\n", e.msg);
    } else {
        struct stat sb;
        long long size = stat(o.pos[0], &sb) == 0 ? (long long)sb.st_size : 0;
        fprintf(stderr, "leadflow backup: %s copied to %s (%lld bytes) in %lld ms\n", cfg.db,
                o.pos[0], size, (long long)(mono_ms() - start));
        char dir[4096], key[4200];
        store_data_dir(cfg.db, dir, sizeof(dir));
        snprintf(key, sizeof(key), "%s/leadflow.key", dir);
        if (access(key, F_OK) == 0)
            fprintf(stderr,
                    "leadflow backup: the secret key (%s) is not in the copy: keep a "
                    "copy of it too\n",
                    key);
    }
    config_release(&cfg);
    return rc ? 1 : 0;
}

int cmd_restore(int argc, char **argv)
{
    struct cmd_opts o;
    int rc = cmd_parse_opts("restore", argc, argv, "config,db", 1, &o);
    if (rc)
        return rc;
    if (o.help) {
        fputs(restore_usage, stdout);
        return 0;
    }
    if (o.npos != 1) {
        fprintf(stderr, "leadflow restore: name the backup FILE (see leadflow restore --help)\n");
        return EXIT_USAGE;
    }
    struct config cfg;
    rc = cmd_load_config(&o, &cfg);
    if (rc) {
        config_release(&cfg);
        return rc;
    }
    struct errinfo e;
    errinfo_clear(&e);
    rc = store_restore(cfg.db, o.pos[0], &e);
    if (rc)
        fprintf(stderr, "leadflow restore: %s\n", e.msg);
    else
        fprintf(stderr, "leadflow restore: %s restored from %s; start the server\n", cfg.db,
                o.pos[0]);
    config_release(&cfg);
    return rc ? 1 : 0;
}
