/*
 * Configuration: built-in defaults, then an INI file (leadflow.conf), then
 * LEADFLOW_* environment variables, then command-line flags; each value is
 * checked as it is set, so an error names the key, where it came from and
 * why it is wrong. Secret values are never echoed in messages or logs.
 */
#ifndef LEADFLOW_BASE_CONFIG_H
#define LEADFLOW_BASE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct config {
    /* server */
    char *listen; /* "ADDRESS:PORT" */
    char *db;     /* "sqlite:PATH" or "postgres://..." */
    char *public_url;
    char *secret_key;
    char *log_level;
    char *web_dir;
    char *demo_mailbox; /* serve --demo imports it */
    int64_t max_body_bytes;
    int64_t max_upload_bytes; /* POST /api/emails/import */
    char *upload_dir; /* where uploads wait for their import job; NULL: data dir's uploads/ */
    int64_t threads;  /* 0: one per core */
    int64_t max_connections;
    int64_t request_timeout;        /* seconds without traffic before a connection is closed */
    int64_t header_timeout_ms;      /* a request head (line + headers) must arrive within this */
    int64_t max_connections_per_ip; /* open connections from one address; 0: no limit */
    int64_t auth_cache_ms;       /* how long the guard may reuse a credential it read; 0: never */
    int64_t worker_threads;      /* job workers per process */
    int64_t job_poll_ms;         /* how often an idle worker looks for due jobs */
    int64_t job_lease_ms;        /* a claimed job's lease, renewed while it runs */
    int64_t job_retention_hours; /* finished jobs are deleted this long after; 0: kept */
    /* the WebSocket hub (GET /ws) */
    int64_t ws_max_clients;     /* connected dashboards at most */
    int64_t ws_max_queue_bytes; /* unsent bytes a client may have before it is dropped */
    int64_t ws_ping_ms;         /* ping interval; a client silent for two is closed */
    /* sign-in */
    char *oidc_issuer;
    char *oidc_client_id;
    char *oidc_client_secret;
    bool oidc_allow_http; /* accept an http:// issuer off loopback (config_finish) */
    /* providers */
    char *gmail_api_url;
    char *imap_ca_file; /* PEM CAs IMAP servers' certificates are checked against; NULL: system */
    char *ai_provider;  /* offline | anthropic | openai; NULL: anthropic when its key is set */
    char *anthropic_api_key;
    char *anthropic_api_url;
    char *anthropic_model;
    int64_t anthropic_max_tokens;      /* > anthropic_thinking_budget */
    int64_t anthropic_thinking_budget; /* extended-thinking tokens, at least 1024 */
    int64_t anthropic_timeout_ms;      /* per request */
    int64_t anthropic_max_retries;     /* after 429, 5xx and time-outs */
    char *openai_base_url;             /* an OpenAI-compatible server: POST BASE/chat/completions */
    char *openai_model;
    char *openai_api_key;       /* NULL: no Authorization header (local servers) */
    int64_t openai_max_tokens;  /* 0: not sent */
    int64_t openai_timeout_ms;  /* per request */
    int64_t openai_max_retries; /* after 429, 5xx and time-outs */
    char *sendgrid_api_key;
    char *sendgrid_api_url;
    char *resend_api_key;
    char *resend_api_url;
    char *smtp_url;
    char *sendgrid_webhook_key;  /* base64 DER public key (ECDSA P-256) of the Event Webhook */
    char *resend_webhook_secret; /* "whsec_..." (Svix) */
    char *send_order;
    char *mail_from;                  /* "Name <address>" or an address: the From of sent email */
    int64_t send_timeout_ms;          /* per provider request */
    int64_t send_breaker_failures;    /* failures in a row that open a provider's circuit; 0: off */
    int64_t send_breaker_cooldown_ms; /* how long an open circuit skips the provider */
    /* DKIM signing of SMTP mail (mail/dkim.h); off without a key file */
    char *dkim_key_file; /* PEM private key: RSA (rsa-sha256) or Ed25519 (ed25519-sha256) */
    char *dkim_selector; /* s=: the key record is SELECTOR._domainkey.DOMAIN */
    char *dkim_domain;   /* d=; NULL: the From address's domain */
    bool webhook_allow_private;
    /* alerts (alerts/alerts.h) */
    int64_t alert_dedup_ms;     /* one alert per rule and subject in this window */
    int64_t alert_max_attempts; /* delivery attempts per channel */
    int64_t alert_backoff_ms;   /* the first retry's delay; doubles after each failure */
    /* derived by config_finish() */
    char listen_host[64];
    int listen_port;
};

/* Fills c with the defaults. */
void config_init(struct config *c);
void config_release(struct config *c);

/*
 * Sets key (file spelling: lower case, no prefix) to value. origin names
 * where the value came from, for messages ("leadflow.conf:3", "LEADFLOW_DB").
 * Returns 0, or ERR_CONFIG with "origin: key: reason" in e.
 */
int config_set(struct config *c, const char *key, const char *value, const char *origin,
               struct errinfo *e);

/* Reads an INI file; a missing file is an error. Returns 0 or ERR_CONFIG. */
int config_load_file(struct config *c, const char *path, struct errinfo *e);

/* Applies every LEADFLOW_<KEY> variable of envp (NULL-terminated). */
int config_load_env(struct config *c, char *const *envp, struct errinfo *e);

/* Checks values that depend on each other and derives the rest
 * (listen_host/listen_port, public_url). Returns 0 or ERR_CONFIG, also for
 * an http:// oidc_issuer on a host other than loopback unless
 * oidc_allow_http is set. */
int config_finish(struct config *c, struct errinfo *e);

/*
 * Loads the secret key from the file beside the SQLite database
 * (leadflow.key), creating it with mode 0600 on first run, unless one is
 * configured. Returns 0 or ERR_IO.
 */
int config_ensure_secret(struct config *c, const char *data_dir, struct errinfo *e);

/*
 * The i-th key of the table (file spelling) and its default (NULL: unset);
 * false past the last. The documented dist/leadflow.conf.in is checked
 * against it (tests/unit/base/test_config.c), so the two cannot drift.
 */
bool config_key_at(size_t i, const char **name, const char **def);

/* True when key names a secret (its value is never printed). */
bool config_key_is_secret(const char *key);

#endif
