/*
 * leadflow backup: an online, consistent copy of the SQLite database, taken
 * while the server keeps running (store/backup.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "cmd/cmd.h"
#include "store/backup.h"

static const char usage[] =
    "usage: leadflow backup [--config FILE] [--db URL] [--force] FILE\n"
    "\n"
    "Copies the SQLite database into FILE (mode 0600) while the server keeps\n"
    "running and writing: the copy is the database as it was when the backup\n"
    "began, checked before it takes the name FILE. Progress goes to stderr.\n"
    "An existing FILE is refused unless --force is given.\n"
    "\n"
    "To restore: stop the server, copy FILE over the database file (and\n"
    "remove the database's -wal and -shm files), start the server.\n"
    "PostgreSQL databases are backed up with pg_dump instead.\n";

struct progress {
    int shown; /* last tenth printed */
};

static void on_progress(void *arg, int done, int total)
{
    struct progress *p = arg;
    if (total <= STORE_BACKUP_STEP_PAGES || total <= 0)
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
    struct progress p = {.shown = 0};
    int64_t start = mono_ms();
    rc = store_backup(cfg.db, o.pos[0], o.force, on_progress, &p, &e);
    if (rc) {
        fprintf(stderr, "leadflow backup: %s\n", e.msg);
    } else {
        struct stat sb;
        long long size = stat(o.pos[0], &sb) == 0 ? (long long)sb.st_size : 0;
        fprintf(stderr, "leadflow backup: %s copied to %s (%lld bytes) in %lld ms\n", cfg.db,
                o.pos[0], size, (long long)(mono_ms() - start));
    }
    config_release(&cfg);
    return rc ? 1 : 0;
}
