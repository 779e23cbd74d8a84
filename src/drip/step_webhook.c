/*
 * The webhook step: POSTs the contact and the step as JSON, signed with
 * HMAC-SHA256 over "timestamp.body" (drip/webhook.c), to a public address
 * only; 5xx, 408, 429 and network errors are tried again with the job's
 * backoff, anything else that is not 2xx fails the enrollment. Its secret
 * is write-only through the API.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drip/drip.h"
#include "drip/drip_int.h"
#include "drip/step.h"
#include "jobs/queue.h"
#include "net/httpc.h"
#include "store/campaigns.h"
#include "store/contacts.h"

enum { WEBHOOK_BODY_MAX = 64 * 1024 };

static int webhook_validate(json_t *cfg, const char *f, struct errinfo *e)
{
    const char *url, *secret;
    int rc = step_cfg_string(cfg, f, "url", true, 2048, &url, e);
    if (!rc)
        rc = step_cfg_string(cfg, f, "secret", true, 256, &secret, e);
    if (rc)
        return rc;
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return failf(e, ERR_INVALID, "%s.url must be an http or https URL", f);
    if (strpbrk(url, " \t\r\n\"<>\\"))
        return failf(e, ERR_INVALID, "%s.url is not a valid URL", f);
    struct errinfo te;
    errinfo_clear(&te);
    if (drip_webhook_check(url, drip_private_allowed(), &te) != 0)
        return failf(e, ERR_INVALID, "%s.url: %s", f, te.msg);
    if (strlen(secret) < 16)
        return failf(e, ERR_INVALID, "%s.secret must have at least 16 characters", f);
    bool has;
    int64_t t;
    return step_cfg_int(cfg, f, "timeout_ms", 100, 30000, &has, &t, e);
}

/*
 * POSTs the step's JSON. 0 when delivered or failed for good (o says
 * which); ERR_TEMPORARY to try again with the job's backoff.
 */
static int webhook_run(struct step_run *r, struct errinfo *e)
{
    const struct job *j = r->job;
    const struct enrollment *en = r->en;
    const struct campaign_step *step = r->step;
    const struct contact *ct = r->ct;
    json_t *cfg = r->config;
    int64_t now = r->now;
    struct arena *a = r->a;
    struct step_outcome *o = r->o;
    const char *url = json_string_value(json_object_get(cfg, "url"));
    const char *secret = json_string_value(json_object_get(cfg, "secret"));
    json_t *t = json_object_get(cfg, "timeout_ms");
    long timeout = json_is_integer(t) ? (long)json_integer_value(t) : DRIP_WEBHOOK_TIMEOUT_MS;
    o->next_step = step->next_id;
    char pin[512];
    struct errinfo te;
    errinfo_clear(&te);
    int rc = drip_webhook_target(url, r->cfg->webhook_allow_private, pin, sizeof(pin), &te);
    bool last = j->attempts >= j->max_attempts;
    if (rc == ERR_TEMPORARY && !last)
        return failf(e, ERR_TEMPORARY, "%s", te.msg);
    if (rc) {
        o->status = "failed";
        o->error = arena_strdup(a, te.msg);
        o->end_status = "failed";
        o->next_step = "";
        o->reason = rc == ERR_FORBIDDEN ? "webhook_refused" : "webhook_failed";
        return 0;
    }
    json_t *body = json_object();
    json_object_set_new(body, "event", json_string("campaign.step"));
    json_object_set_new(body, "campaignId", json_string(en->campaign_id));
    json_object_set_new(body, "enrollmentId", json_string(en->id));
    json_object_set_new(body, "stepId", json_string(step->id));
    json_t *c = json_object();
    json_object_set_new(c, "id", json_string(ct->id));
    json_object_set_new(c, "email", json_string(ct->email));
    json_object_set_new(c, "name", ct->name[0] ? json_string(ct->name) : json_null());
    json_object_set_new(c, "company", ct->company[0] ? json_string(ct->company) : json_null());
    json_object_set_new(c, "score", json_integer(ct->ai_score));
    json_object_set_new(c, "tags", json_loads(ct->tags ? ct->tags : "[]", 0, NULL));
    json_object_set_new(body, "contact", c);
    json_object_set_new(body, "timestamp", json_integer(now / 1000));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char ts[24], sig[80];
    snprintf(ts, sizeof(ts), "%lld", (long long)(now / 1000));
    drip_webhook_signature(secret, ts, text, strlen(text), sig, sizeof(sig));
    struct httpc_req rq = {
        .method = "POST",
        .url = url,
        .headers = {"Content-Type: application/json",
                    arena_printf(a, "X-Leadflow-Timestamp: %s", ts),
                    arena_printf(a, "X-Leadflow-Signature: %s", sig),
                    arena_printf(a, "X-Leadflow-Delivery: %s:%s:%lld", en->id, step->id,
                                 (long long)en->seq),
                    NULL},
        .body = text,
        .body_len = strlen(text),
        .timeout_ms = timeout,
        .max_reply = WEBHOOK_BODY_MAX,
        .resolve = pin,
    };
    struct httpc_resp resp;
    errinfo_clear(&te);
    rc = httpc_do(&rq, &resp, &te);
    free(text);
    long status = resp.status;
    httpc_resp_release(&resp);
    bool temporary =
        rc == ERR_TEMPORARY || (!rc && (status >= 500 || status == 408 || status == 429));
    if (temporary && !last)
        return failf(e, ERR_TEMPORARY, "webhook %s: %s", url,
                     rc ? te.msg : arena_printf(a, "status %ld", status));
    json_object_set_new(o->meta, "status", json_integer(status));
    if (!rc && status >= 200 && status < 300) {
        o->status = "success";
        return 0;
    }
    o->status = "failed";
    o->error =
        rc ? arena_strdup(a, te.msg)
           : arena_printf(a, "the webhook answered %ld%s", status,
                          status >= 300 && status < 400 ? " (redirects are not followed)" : "");
    o->end_status = "failed";
    o->next_step = "";
    o->reason = "webhook_failed";
    return 0;
}

const struct step_kind step_webhook = {
    .name = "webhook",
    .has_secret = true,
    .validate = webhook_validate,
    .run = webhook_run,
};
