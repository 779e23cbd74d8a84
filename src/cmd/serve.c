/*
 * leadflow serve: opens and migrates the database, then serves HTTP and the
 * WebSocket hub (live events for the dashboards) until SIGINT or SIGTERM.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "ai/ai.h"
#include "alerts/alerts.h"
#include "api/api.h"
#include "auth/auth.h"
#include "auth/oidc.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/events.h"
#include "base/log.h"
#include "cmd/cmd.h"
#include "http/server.h"
#include "http/static.h"
#include "jobs/queue.h"
#include "mail/send.h"
#include "mail/upload.h"
#include "net/httpc.h"
#include "store/bus.h"
#include "version.h"
#include "ws/hub.h"

static const char usage[] =
    "usage: leadflow serve [--config FILE] [--listen ADDR:PORT] [--db URL] [--demo]\n"
    "\n"
    "Serves the dashboard and the JSON API. The database schema is migrated at\n"
    "start. Stops cleanly on SIGINT or SIGTERM. On a database without users, prints\n"
    "a one-time link (valid 60 minutes) whose page creates the first owner and signs\n"
    "them in; a new one at each start until someone has an account.\n"
    "\n"
    "  --config FILE       INI file (default: ./leadflow.conf when present)\n"
    "  --listen ADDR:PORT  address to listen on (default 127.0.0.1:8080; port 0 picks one)\n"
    "  --db URL            sqlite:PATH or postgres://... (default sqlite:leadflow.db)\n"
    "  --demo              add a demo organization with a sample mailbox (imported once),\n"
    "                      alert rules that the mailbox fires and a running campaign,\n"
    "                      and print a one-time sign-in link\n"
    "\n"
    "Connection limits (environment variables; file keys are lower case without the prefix):\n"
    "  LEADFLOW_MAX_CONNECTIONS         open connections at most (default 1024)\n"
    "  LEADFLOW_MAX_CONNECTIONS_PER_IP  open connections from one address (default 64; 0: no\n"
    "                                   limit, e.g. behind a proxy on the same host)\n"
    "  LEADFLOW_HEADER_TIMEOUT_MS       time a connection has to send a whole request head,\n"
    "                                   from its opening or its previous request's end\n"
    "                                   (default 10000)\n"
    "  LEADFLOW_REQUEST_TIMEOUT         seconds without traffic before a connection is\n"
    "                                   closed (default 30)\n"
    "\n"
    "DKIM signing of mail sent over SMTP (see leadflow dkim-record):\n"
    "  LEADFLOW_DKIM_KEY_FILE           PEM private key, RSA (rsa-sha256) or Ed25519\n"
    "                                   (ed25519-sha256); mode 0600, else refused at start\n"
    "  LEADFLOW_DKIM_SELECTOR           selector (s=); required with a key file\n"
    "  LEADFLOW_DKIM_DOMAIN             signing domain (d=; default: the From domain)\n"
    "\n"
    "AI provider (email analysis and drafts; any failure falls back to the offline one):\n"
    "  LEADFLOW_AI_PROVIDER             offline, anthropic or openai (default: anthropic\n"
    "                                   when LEADFLOW_ANTHROPIC_API_KEY is set, else offline)\n"
    "  LEADFLOW_OPENAI_BASE_URL         an OpenAI-compatible server (default\n"
    "                                   https://api.openai.com/v1; Ollama:\n"
    "                                   http://localhost:11434/v1)\n"
    "  LEADFLOW_OPENAI_MODEL            the model it serves; required with openai\n"
    "  LEADFLOW_OPENAI_API_KEY          bearer token; optional (local servers need none)\n"
    "  LEADFLOW_OPENAI_MAX_TOKENS       max_tokens of a request (default 4096; 0: not sent)\n"
    "  LEADFLOW_OPENAI_TIMEOUT_MS       time limit of one request (default 60000)\n"
    "  LEADFLOW_OPENAI_MAX_RETRIES      further tries after 429, 5xx, time-outs (default 2)\n"
    "\n"
    "Every setting can also come from a LEADFLOW_* environment variable; see README.md.\n";

/* Everything serve starts, so that one function can stop it in order. */
struct serve_state {
    struct config cfg;
    struct store *store;
    struct router *router;
    struct static_files *web;
    struct http_metrics *metrics;
    struct http_server *http;
    struct oidc *oidc;
    struct ai *ai;
    struct queue *queue;
    struct send_chain *send_chain;
    struct hub *hub;
    struct bus *bus; /* PostgreSQL: events to and from the other processes */
    struct auth_ctx auth;
    struct api_ctx ctx;
    char upload_dir[4096];
};

static void serve_stop(struct serve_state *s)
{
    http_server_stop(s->http);
    queue_free(s->queue); /* lets running jobs finish */
    /* Nothing publishes any more: the bus (which delivers into the hub) and
     * then the hub can go (its clients get 1001). */
    events_set_sink(NULL, NULL);
    bus_close(s->bus);
    hub_free(s->hub);
    send_chain_free(s->send_chain);
    http_metrics_free(s->metrics);
    static_files_free(s->web);
    router_free(s->router);
    oidc_free(s->oidc);
    ai_free(s->ai);
    store_close(s->store);
    config_release(&s->cfg);
}

/* Opens the database and brings its schema up to date. */
static int serve_open_store(struct serve_state *s, struct errinfo *e)
{
    s->store = store_open(s->cfg.db, e);
    if (!s->store)
        return e->code ? e->code : ERR_DB;
    int applied = 0;
    int rc = store_migrate(s->store, &applied, e);
    if (rc)
        return failf(e, rc, "%s: %s", s->cfg.db, e->msg);
    char dir[4096];
    store_data_dir(s->cfg.db, dir, sizeof(dir));
    return config_ensure_secret(&s->cfg, dir, e);
}

/* The job queue: its handlers, then its worker threads. */
static int serve_start_jobs(struct serve_state *s, struct errinfo *e)
{
    struct queue_opts qo = {
        .store = s->store,
        .workers = (unsigned)s->cfg.worker_threads,
        .poll_ms = s->cfg.job_poll_ms,
        .retention_ms = s->cfg.job_retention_hours * 3600000,
        .lease_ms = s->cfg.job_lease_ms,
    };
    s->queue = queue_new(&qo);
    s->ctx.queue = s->queue;
    int rc = handlers_register(s->queue, &s->cfg, s->ai, &s->send_chain, e);
    if (rc)
        return rc;
    /* 0 worker threads: an API-only node; `leadflow worker` processes on the
     * same database run the jobs it queues. */
    if (s->cfg.worker_threads == 0) {
        log_info("jobs.none", "no job workers in this process (worker_threads 0): run "
                              "`leadflow worker` on the same database");
        return 0;
    }
    return queue_start(s->queue, e);
}

/*
 * Every WebSocket client holds a socket for as long as it stays: the
 * open-file limit is raised toward its hard limit to make room for
 * max_connections plus ws_max_clients, and the hub takes no more clients
 * than the limit leaves room for (a refused upgrade is a clean 503; running
 * out of descriptors would make accept() fail for everyone).
 */
static unsigned serve_ws_capacity(const struct config *cfg)
{
    const rlim_t reserve = 256; /* the database, logs, outbound HTTP, job workers */
    rlim_t want = (rlim_t)cfg->max_connections + (rlim_t)cfg->ws_max_clients + reserve;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return (unsigned)cfg->ws_max_clients;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        return (unsigned)cfg->ws_max_clients;
    rlim_t room = rl.rlim_cur > (rlim_t)cfg->max_connections + reserve
                      ? rl.rlim_cur - (rlim_t)cfg->max_connections - reserve
                      : 1;
    log_msg(room < 1024 ? LOG_WARN : LOG_INFO, "server.fd_limit",
            "the open-file limit is %llu: WebSocket clients are limited to %llu instead of "
            "ws_max_clients %lld (raise the hard limit, e.g. LimitNOFILE=, to allow more)",
            (unsigned long long)rl.rlim_cur, (unsigned long long)room,
            (long long)cfg->ws_max_clients);
    return (unsigned)room;
}

/* For the leadflow_ws_clients gauge. */
static double ws_clients_gauge(const void *hub)
{
    return (double)hub_clients(hub);
}

/* An event raised here: to this server's dashboards at once, and through the
 * bus (PostgreSQL) to the other processes' dashboards. */
static void serve_publish(void *arg, const char *workspace_id, const char *type,
                          const char *data_json)
{
    struct serve_state *s = arg;
    hub_publish(s->hub, workspace_id, type, data_json);
    if (s->bus)
        bus_publish(s->bus, workspace_id, type, data_json);
}

static double bus_connected_gauge(const void *bus)
{
    struct bus_stats st;
    bus_stats((struct bus *)bus, &st);
    return st.connected ? 1 : 0;
}

static double bus_received_gauge(const void *bus)
{
    struct bus_stats st;
    bus_stats((struct bus *)bus, &st);
    return (double)st.received;
}

/* The hub, before anything that publishes (the job workers, the API) runs. */
static int serve_start_hub(struct serve_state *s, struct errinfo *e)
{
    struct hub_opts ho = {
        .max_clients = serve_ws_capacity(&s->cfg),
        .max_queue_bytes = (size_t)s->cfg.ws_max_queue_bytes,
        .ping_ms = s->cfg.ws_ping_ms,
    };
    s->hub = hub_new(&ho, e);
    if (!s->hub)
        return e->code ? e->code : ERR_IO;
    s->bus = bus_open(s->cfg.db, hub_publish, s->hub, e);
    if (!s->bus && e->code)
        return failf(e, e->code, "the live event bus: %s", e->msg);
    events_set_sink(serve_publish, s);
    s->ctx.hub = s->hub;
    http_metrics_add_gauge(s->metrics, "leadflow_ws_clients",
                           "WebSocket clients (dashboards) connected now.", ws_clients_gauge,
                           s->hub);
    if (s->bus) {
        http_metrics_add_gauge(s->metrics, "leadflow_bus_connected",
                               "1 while live events fan out through the database (LISTEN).",
                               bus_connected_gauge, s->bus);
        http_metrics_add_gauge(s->metrics, "leadflow_bus_events_received",
                               "Live events received from other processes since start.",
                               bus_received_gauge, s->bus);
    }
    return 0;
}

/* The routes that take files (max_upload_bytes rather than max_body_bytes). */
static const char *const upload_paths[] = {"/api/emails/import", "/api/contacts/import", NULL};

static int serve_start_http(struct serve_state *s, struct errinfo *e)
{
    s->router = router_new();
    api_register(s->router);
    s->auth.store = s->store;
    s->auth.cfg = &s->cfg;
    router_set_guard(s->router, auth_guard, &s->auth);
    s->oidc = oidc_new(&s->cfg, s->store);
    struct errinfo we;
    s->web = static_files_new(s->cfg.web_dir, &we);
    if (s->web)
        router_set_fallback(s->router, static_files_serve, s->web);
    else
        log_warn("server.no_web", "%s; the dashboard pages will not be served", we.msg);
    s->metrics = http_metrics_new(s->router);
    http_metrics_add_section(s->metrics, alerts_metrics_render, NULL);
    http_metrics_add_section(s->metrics, queue_metrics_render, s->store);
    s->ctx.cfg = &s->cfg;
    s->ctx.store = s->store;
    s->ctx.metrics = s->metrics;
    s->ctx.oidc = s->oidc;
    s->ai = ai_new(&s->cfg);
    s->ctx.ai = s->ai;
    s->ctx.started_ms = clock_now_ms();
    upload_dir(&s->cfg, s->upload_dir, sizeof(s->upload_dir));
    s->ctx.upload_dir = s->upload_dir;
    int rc = upload_dir_make(s->upload_dir, e);
    if (!rc)
        rc = serve_start_hub(s, e);
    if (!rc)
        rc = serve_start_jobs(s, e);
    if (rc)
        return rc;
    /* This process's sending figures (a worker-only process has no /metrics). */
    s->ctx.send_chain = s->send_chain;
    if (s->send_chain)
        http_metrics_add_section(s->metrics, send_chain_metrics_render, s->send_chain);
    struct http_server_opts o = {
        .host = s->cfg.listen_host,
        .port = s->cfg.listen_port,
        .threads = (unsigned)s->cfg.threads,
        .max_connections = (unsigned)s->cfg.max_connections,
        .max_per_ip = (unsigned)s->cfg.max_connections_per_ip,
        .timeout_s = (unsigned)s->cfg.request_timeout,
        .header_timeout_ms = (unsigned)s->cfg.header_timeout_ms,
        .max_body = (size_t)s->cfg.max_body_bytes,
        .upload_paths = upload_paths,
        .max_upload = (size_t)s->cfg.max_upload_bytes,
        .spool_path = "/api/emails/import",
        .upload_dir = s->upload_dir,
        .router = s->router,
        .metrics = s->metrics,
        .ctx = &s->ctx,
    };
    s->http = http_server_start(&o, e);
    return s->http ? 0 : ERR_IO;
}

/*
 * On a database without users, prints the one-time link that creates the
 * first owner (a new one at each start, until someone has an account).
 * Without a configured public URL the link names the port actually bound.
 */
static int serve_first_run(struct serve_state *s, struct errinfo *e)
{
    char def[300], base[300], url[1024];
    snprintf(def, sizeof(def), "http://%s", s->cfg.listen);
    if (strcmp(s->cfg.public_url, def) == 0)
        snprintf(base, sizeof(base),
                 strchr(s->cfg.listen_host, ':') ? "http://[%s]:%d" : "http://%s:%d",
                 s->cfg.listen_host, http_server_port(s->http));
    else
        snprintf(base, sizeof(base), "%s", s->cfg.public_url);
    int rc = auth_first_run_link(s->store, base, url, sizeof(url), e);
    if (rc || !url[0])
        return rc;
    printf("leadflow: no account yet: open %s within %lld minutes to create the owner "
           "and sign in\n",
           url, (long long)(AUTH_SETUP_TTL_MS / 60000));
    fflush(stdout);
    log_info("setup.link", "no account yet: a first-run link was printed on standard output");
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    struct cmd_opts o;
    int rc = cmd_parse_opts("serve", argc, argv, "config,listen,db,demo", 0, &o);
    if (rc)
        return rc;
    if (o.help) {
        fputs(usage, stdout);
        return 0;
    }
    struct serve_state s;
    memset(&s, 0, sizeof(s));
    rc = cmd_load_config(&o, &s.cfg);
    if (rc) {
        config_release(&s.cfg);
        return rc;
    }
    struct errinfo e;
    errinfo_clear(&e);
    if (crypto_init() != 0 || httpc_global_init() != 0) {
        fprintf(stderr, "leadflow: cannot initialize the crypto or HTTP client libraries\n");
        config_release(&s.cfg);
        return 1;
    }

    /* Signals are taken by sigwait() below; every thread started from here
     * on inherits the mask, so none of them is interrupted. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = serve_open_store(&s, &e);
    if (!rc)
        rc = serve_start_http(&s, &e);
    char link[1024];
    if (!rc && o.demo)
        rc = demo_prepare(s.store, &s.cfg, s.ai, link, sizeof(link), &e);
    if (!rc && !o.demo)
        rc = serve_first_run(&s, &e);
    if (rc) {
        fprintf(stderr, "leadflow: %s\n", e.msg);
        serve_stop(&s);
        return 1;
    }
    struct log_line l;
    if (log_begin(&l, LOG_INFO, "server.listening")) {
        log_str(&l, "version", LEADFLOW_VERSION);
        log_str(&l, "host", s.cfg.listen_host);
        log_int(&l, "port", http_server_port(s.http));
        log_str(&l, "database", store_name(s.store));
        log_end(&l, "leadflow %s listening on http://%s:%d", LEADFLOW_VERSION, s.cfg.listen_host,
                http_server_port(s.http));
    }
    int sig = 0;
    sigwait(&sigs, &sig);
    log_info("server.stopping", "received %s, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    serve_stop(&s);
    log_info("server.stopped", "stopped");
    return 0;
}
