/*
 * The job handlers every process that runs jobs registers: `serve` and
 * `leadflow worker` share this list, so a worker can run every kind of job
 * the server enqueues.
 */
#include "ai/ai.h"
#include "ai/content.h"
#include "alerts/alerts.h"
#include "cmd/cmd.h"
#include "drip/drip.h"
#include "jobs/queue.h"
#include "mail/gmail.h"
#include "mail/imap.h"
#include "mail/send.h"
#include "mail/upload.h"

int handlers_register(struct queue *q, const struct config *cfg, struct ai *ai,
                      struct send_chain **chain, struct errinfo *e)
{
    *chain = send_chain_new(cfg, e);
    if (!*chain)
        return ERR_CONFIG;
    outbox_register(q, *chain, cfg);
    content_register(q, ai, cfg);
    drip_register(q, cfg, ai);
    alerts_register(q, cfg, *chain);
    gmail_register(q, cfg, ai);
    imap_register(q, cfg, ai);
    upload_register(q, cfg, ai);
    return 0;
}
