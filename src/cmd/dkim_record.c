/*
 * leadflow dkim-record: prints the DNS TXT record (RFC 6376 §3.6.1, k=rsa
 * or k=ed25519 per RFC 8463) that receivers look up to check the DKIM
 * signatures made with the configured key.
 */
#include <stdio.h>

#include "base/arena.h"
#include "base/buf.h"
#include "cmd/cmd.h"
#include "mail/dkim.h"
#include "mail/send.h"

static const char usage[] =
    "usage: leadflow dkim-record [--config FILE]\n"
    "\n"
    "Prints the DNS TXT record to publish for the DKIM key of LEADFLOW_DKIM_KEY_FILE:\n"
    "  SELECTOR._domainkey.DOMAIN. IN TXT ( \"v=DKIM1; k=rsa; p=...\" )\n"
    "DOMAIN is LEADFLOW_DKIM_DOMAIN, else the domain of LEADFLOW_MAIL_FROM.\n";

int cmd_dkim_record(int argc, char **argv)
{
    struct cmd_opts o;
    int rc = cmd_parse_opts("dkim-record", argc, argv, "config", 0, &o);
    if (rc)
        return rc;
    if (o.help) {
        fputs(usage, stdout);
        return 0;
    }
    struct config cfg;
    rc = cmd_load_config(&o, &cfg);
    if (rc)
        return rc;
    struct errinfo e;
    errinfo_clear(&e);
    struct dkim_signer *s = NULL;
    rc = dkim_signer_new(&cfg, &s, &e);
    if (!rc && !s)
        rc = failf(&e, ERR_CONFIG,
                   "no DKIM key: set LEADFLOW_DKIM_KEY_FILE and "
                   "LEADFLOW_DKIM_SELECTOR");
    struct arena a;
    arena_init(&a, NULL, 0);
    const char *name, *addr = NULL;
    if (!rc)
        rc = send_parse_from(cfg.mail_from, &a, &name, &addr, &e);
    char domain[DKIM_DOMAIN_MAX + 1];
    if (!rc)
        rc = dkim_signer_domain(s, addr, domain, sizeof(domain), &e);
    struct buf out;
    buf_init(&out, 8192);
    if (!rc)
        rc = dkim_record(s, domain, &out, &e);
    if (rc)
        fprintf(stderr, "leadflow dkim-record: %s\n", e.msg);
    else
        fputs(buf_str(&out), stdout);
    buf_release(&out);
    arena_release(&a);
    dkim_signer_free(s);
    config_release(&cfg);
    return rc ? 1 : 0;
}
