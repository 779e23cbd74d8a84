/*
 * leadflow worker: runs job workers without HTTP, beside (or instead of) the
 * ones in `leadflow serve`. Stops cleanly on SIGINT or SIGTERM: it claims
 * nothing new and lets the running jobs finish. --once runs what is due now
 * and exits.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ai/ai.h"
#include "base/clock.h"
#include "base/events.h"
#include "base/log.h"
#include "cmd/cmd.h"
#include "jobs/queue.h"
#include "mail/send.h"
#include "net/httpc.h"
#include "store/bus.h"
#include "store/store.h"

static const char usage[] =
    "usage: leadflow worker [--config FILE] [--db URL] [--once]\n"
    "\n"
    "Runs the job workers (no HTTP) until SIGINT or SIGTERM; running jobs finish\n"
    "first. The database schema is migrated at start.\n"
    "\n"
    "  --config FILE  INI file (default: ./leadflow.conf when present)\n"
    "  --db URL       sqlite:PATH or postgres://... (default sqlite:leadflow.db)\n"
    "  --once         run the jobs that are due now, one after another, delete\n"
    "                 expired done jobs, and exit\n"
    "\n"
    "LEADFLOW_WORKER_THREADS (default 2, at least 1) and LEADFLOW_JOB_POLL_MS (default 200) set\n"
    "the number of threads and how often an idle worker looks for due jobs.\n"
    "Done jobs are deleted LEADFLOW_JOB_RETENTION_HOURS (default 168, 0: never)\n"
    "after they finished; dead jobs stay until retried or discarded.\n";

int cmd_worker(int argc, char **argv)
{
    /* --once is this command's own flag: take it out before the shared parser. */
    char *args[CMD_MAX_POS + 2];
    int nargs = 0;
    bool once = false;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--once") == 0)
            once = true;
        else if (nargs < (int)(sizeof(args) / sizeof(args[0])) - 1)
            args[nargs++] = argv[i];
    }
    args[nargs] = NULL;
    struct cmd_opts o;
    int rc = cmd_parse_opts("worker", nargs, args, "config,db", 0, &o);
    if (rc)
        return rc;
    if (o.help) {
        fputs(usage, stdout);
        return 0;
    }
    struct config cfg;
    struct store *st = NULL;
    if ((rc = cmd_open_store(&o, &cfg, &st)) != 0)
        return rc;
    if (cfg.worker_threads == 0) {
        fprintf(stderr, "leadflow: worker_threads is 0: a worker needs at least one thread\n");
        store_close(st);
        config_release(&cfg);
        return 2;
    }
    if (httpc_global_init() != 0) {
        fprintf(stderr, "leadflow: cannot initialize the HTTP client library\n");
        store_close(st);
        config_release(&cfg);
        return 1;
    }

    /* As in serve: signals are taken by sigwait(), never by a worker thread. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct queue_opts qo = {
        .store = st,
        .workers = (unsigned)cfg.worker_threads,
        .poll_ms = cfg.job_poll_ms,
        .retention_ms = cfg.job_retention_hours * 3600000,
        .lease_ms = cfg.job_lease_ms,
    };
    struct queue *q = queue_new(&qo);
    struct errinfo e;
    errinfo_clear(&e);
    struct ai *ai = ai_new(&cfg);
    struct send_chain *chain = NULL;
    if (handlers_register(q, &cfg, ai, &chain, &e) != 0) {
        fprintf(stderr, "leadflow: %s\n", e.msg);
        queue_free(q);
        ai_free(ai);
        store_close(st);
        config_release(&cfg);
        return 1;
    }
    /* On PostgreSQL the events the jobs raise (alerts, hot leads, drafts) go
     * to the servers' dashboards through the bus; this process has none. */
    struct bus *bus = bus_open(cfg.db, NULL, NULL, &e);
    if (!bus && e.code)
        log_warn("worker.no_bus", "live events from this worker will not reach dashboards: %s",
                 e.msg);
    if (bus)
        events_set_sink(bus_publish, bus);
    if (once) {
        int n = queue_run_due(q, 0, &e);
        int64_t purged = 0;
        int prc = n < 0 ? 0 : queue_purge(q, clock_now_ms(), &purged, &e);
        queue_free(q);
        events_set_sink(NULL, NULL);
        bus_close(bus);
        send_chain_free(chain);
        ai_free(ai);
        store_close(st);
        config_release(&cfg);
        if (n < 0 || prc != 0) {
            fprintf(stderr, "leadflow: %s\n", e.msg);
            return 1;
        }
        fprintf(stderr, "ran %d job%s", n, n == 1 ? "" : "s");
        if (purged > 0)
            fprintf(stderr, ", deleted %lld expired", (long long)purged);
        fputc('\n', stderr);
        return 0;
    }
    if (queue_start(q, &e) != 0) {
        fprintf(stderr, "leadflow: %s\n", e.msg);
        events_set_sink(NULL, NULL);
        bus_close(bus);
        queue_free(q);
        send_chain_free(chain);
        ai_free(ai);
        store_close(st);
        config_release(&cfg);
        return 1;
    }
    log_info("worker.started", "leadflow worker running %lld threads on %s",
             (long long)cfg.worker_threads, store_name(st));
    int sig = 0;
    sigwait(&sigs, &sig);
    log_info("worker.stopping", "received %s, letting running jobs finish",
             sig == SIGINT ? "SIGINT" : "SIGTERM");
    queue_free(q);
    events_set_sink(NULL, NULL);
    bus_close(bus);
    send_chain_free(chain);
    ai_free(ai);
    store_close(st);
    config_release(&cfg);
    log_info("worker.stopped", "stopped");
    return 0;
}
