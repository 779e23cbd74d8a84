/* Providers' events in (mail/events.h): verification, parsing, applying. */
#include "mail/events.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "crm/crm.h"
#include "mail/track.h"
#include "store/sending.h"

enum { KEY_MAX = 1024, SIG_MAX = 512 };

static bool fresh(const char *timestamp, int64_t now_s)
{
    if (!timestamp || !*timestamp)
        return false;
    char *end;
    long long ts = strtoll(timestamp, &end, 10);
    if (*end || ts <= 0)
        return false;
    return ts >= now_s - PROVIDER_EVENT_TOLERANCE_S && ts <= now_s + PROVIDER_EVENT_TOLERANCE_S;
}

bool provider_sendgrid_verify(const char *key_b64, const char *sig_b64, const char *timestamp,
                              const char *body, size_t n, int64_t now_s)
{
    uint8_t key[KEY_MAX], sig[SIG_MAX];
    size_t klen, slen;
    if (!key_b64 || !sig_b64 || !fresh(timestamp, now_s) ||
        crypto_b64_decode(key_b64, strlen(key_b64), key, sizeof(key), &klen) != 0 ||
        crypto_b64_decode(sig_b64, strlen(sig_b64), sig, sizeof(sig), &slen) != 0)
        return false;
    return crypto_ecdsa_p256_verify(key, klen, sig, slen, timestamp, strlen(timestamp), body, n);
}

bool provider_svix_verify(const char *secret, const char *id, const char *timestamp,
                          const char *sigs, const char *body, size_t n, int64_t now_s)
{
    if (!secret || !id || !*id || !sigs || !fresh(timestamp, now_s))
        return false;
    if (strncmp(secret, "whsec_", 6) == 0)
        secret += 6;
    uint8_t key[KEY_MAX];
    size_t klen;
    if (crypto_b64_decode(secret, strlen(secret), key, sizeof(key), &klen) != 0)
        return false;
    struct buf signed_text;
    buf_init(&signed_text, 64 + n + strlen(id) + strlen(timestamp));
    bool ok = false;
    if (buf_printf(&signed_text, "%s.%s.", id, timestamp) == 0 &&
        buf_append(&signed_text, body, n) == 0) {
        uint8_t mac[SHA256_LEN];
        crypto_hmac_sha256(key, klen, signed_text.data, signed_text.len, mac);
        /* "v1,<base64> v1,<base64>": any one of them (keys being rotated). */
        for (const char *p = sigs; *p && !ok;) {
            while (*p == ' ')
                p++;
            size_t len = strcspn(p, " ");
            uint8_t sig[SIG_MAX];
            size_t slen;
            if (len > 3 && strncmp(p, "v1,", 3) == 0 &&
                crypto_b64_decode(p + 3, len - 3, sig, sizeof(sig), &slen) == 0 &&
                slen == sizeof(mac))
                ok = crypto_equal(sig, mac, sizeof(mac));
            p += len;
        }
    }
    crypto_wipe(key, sizeof(key));
    buf_release(&signed_text);
    return ok;
}

static const char *str_of(json_t *o, const char *key, struct arena *a)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? arena_strdup(a, s) : NULL;
}

/* SendGrid: event names (a soft "bounce" of type "blocked" is a deferral). */
static int sendgrid_kind(json_t *ev)
{
    const char *name = json_string_value(json_object_get(ev, "event"));
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!name)
        return -1;
    if (strcmp(name, "delivered") == 0)
        return PEV_DELIVERED;
    if (strcmp(name, "deferred") == 0)
        return PEV_DEFERRED;
    if (strcmp(name, "bounce") == 0)
        return type && strcmp(type, "blocked") == 0 ? PEV_DEFERRED : PEV_BOUNCED;
    if (strcmp(name, "spamreport") == 0)
        return PEV_COMPLAINED;
    if (strcmp(name, "open") == 0)
        return PEV_OPENED;
    if (strcmp(name, "click") == 0)
        return PEV_CLICKED;
    return -1;
}

int provider_events_sendgrid(const char *body, size_t n, struct arena *a,
                             struct provider_event **out, size_t *nout, struct errinfo *e)
{
    *out = NULL;
    *nout = 0;
    json_t *root = json_loadb(body ? body : "", n, 0, NULL);
    if (!json_is_array(root)) {
        json_decref(root);
        return failf(e, ERR_INVALID, "the body is not a JSON array of events");
    }
    size_t count = json_array_size(root), i;
    *out = arena_alloc(a, (count ? count : 1) * sizeof(**out));
    json_t *ev;
    json_array_foreach(root, i, ev)
    {
        int kind = sendgrid_kind(ev);
        if (kind < 0)
            continue;
        struct provider_event *p = &(*out)[(*nout)++];
        memset(p, 0, sizeof(*p));
        p->provider = "sendgrid";
        p->kind = (enum provider_event_kind)kind;
        /* Our custom_args come back at the top level of each event. */
        p->sent_email_id = str_of(ev, "idempotency_key", a);
        const char *sg = str_of(ev, "sg_message_id", a);
        /* "<X-Message-Id>.filter...": the part before the first dot. */
        p->provider_message_id = sg ? arena_strndup(a, sg, strcspn(sg, ".")) : NULL;
        p->url = str_of(ev, "url", a);
        p->user_agent = str_of(ev, "useragent", a);
        p->ip = str_of(ev, "ip", a);
        json_t *ts = json_object_get(ev, "timestamp");
        p->at = json_is_integer(ts) ? json_integer_value(ts) * 1000 : 0;
    }
    json_decref(root);
    return 0;
}

int provider_events_resend(const char *body, size_t n, struct arena *a, struct provider_event **out,
                           size_t *nout, struct errinfo *e)
{
    *out = NULL;
    *nout = 0;
    json_t *root = json_loadb(body ? body : "", n, 0, NULL);
    const char *type = json_string_value(json_object_get(root, "type"));
    json_t *data = json_object_get(root, "data");
    if (!type || !json_is_object(data)) {
        json_decref(root);
        return failf(e, ERR_INVALID, "the body is not a Resend event (type and data)");
    }
    static const struct {
        const char *type;
        enum provider_event_kind kind;
    } kinds[] = {
        {"email.delivered", PEV_DELIVERED}, {"email.delivery_delayed", PEV_DEFERRED},
        {"email.bounced", PEV_BOUNCED},     {"email.complained", PEV_COMPLAINED},
        {"email.opened", PEV_OPENED},       {"email.clicked", PEV_CLICKED},
    };
    int kind = -1;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(type, kinds[i].type) == 0)
            kind = (int)kinds[i].kind;
    /* A transient bounce is a deferral: the address is not refused for good. */
    const char *btype = json_string_value(json_object_get(json_object_get(data, "bounce"), "type"));
    if (kind == PEV_BOUNCED && btype && strcmp(btype, "Permanent") != 0)
        kind = PEV_DEFERRED;
    if (kind >= 0) {
        struct provider_event *p = arena_alloc(a, sizeof(*p));
        memset(p, 0, sizeof(*p));
        p->provider = "resend";
        p->kind = (enum provider_event_kind)kind;
        p->provider_message_id = str_of(data, "email_id", a);
        json_t *click = json_object_get(data, "click");
        p->url = str_of(click, "link", a);
        p->user_agent = str_of(click, "userAgent", a);
        p->ip = str_of(click, "ipAddress", a);
        *out = p;
        *nout = 1;
    }
    json_decref(root);
    return 0;
}

/* A bounce or a complaint: the event and the contact's change, together. */
struct refusal {
    const struct provider_event *ev;
    const char *ws, *id, *contact;
    int64_t at;
};

static int refusal_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct refusal *x = arg;
    bool bounce = x->ev->kind == PEV_BOUNCED;
    int rc =
        store_email_event_add(st, x->ws, x->id, x->contact[0] ? x->contact : NULL,
                              bounce ? "bounce" : "complaint", NULL, NULL, NULL, NULL, x->at, e);
    if (rc || !x->contact[0])
        return rc;
    const char *source = !bounce ? "a spam complaint" : "a provider's bounce";
    if (bounce && strcmp(x->ev->provider, "mail") == 0)
        source = "a returned bounce"; /* a delivery status notification */
    struct crm_change c = {.workspace_id = x->ws,
                           .contact_id = x->contact,
                           .what = bounce ? CRM_BOUNCE : CRM_COMPLAINT,
                           .sent_email_id = x->id,
                           .source = source,
                           .now = x->at};
    return crm_contact_changed(st, &c, e);
}

int provider_event_apply(struct store *st, const struct provider_event *ev, struct arena *a,
                         bool *matched, struct errinfo *e)
{
    *matched = false;
    char ws[STORE_ID_LEN], id[STORE_ID_LEN], contact[STORE_ID_LEN];
    int rc = store_sent_email_locate(st, ev->sent_email_id, ev->provider, ev->provider_message_id,
                                     ws, id, contact, e);
    if (rc == ERR_NOT_FOUND)
        return 0;
    if (rc)
        return rc;
    *matched = true;
    return provider_event_record(st, ev, ws, id, contact, a, e);
}

int provider_event_record(struct store *st, const struct provider_event *ev, const char *ws,
                          const char *id, const char *contact, struct arena *a, struct errinfo *e)
{
    int64_t at = ev->at > 0 ? ev->at : clock_now_ms();
    switch (ev->kind) {
    case PEV_DELIVERED:
    case PEV_DEFERRED:
        return store_email_event_add(st, ws, id, contact[0] ? contact : NULL,
                                     ev->kind == PEV_DELIVERED ? "delivered" : "deferred", NULL,
                                     NULL, NULL, NULL, at, e);
    case PEV_BOUNCED:
    case PEV_COMPLAINED: {
        struct refusal x = {ev, ws, id, contact, at};
        return store_tx_run(st, refusal_tx, &x, e);
    }
    case PEV_OPENED:
    case PEV_CLICKED: {
        struct track_claim claim = {.kind = ev->kind == PEV_OPENED ? TRACK_OPEN : TRACK_CLICK,
                                    .url = ev->url};
        snprintf(claim.workspace_id, sizeof(claim.workspace_id), "%s", ws);
        snprintf(claim.sent_email_id, sizeof(claim.sent_email_id), "%s", id);
        snprintf(claim.contact_id, sizeof(claim.contact_id), "%s", contact);
        struct track_request r = {.user_agent = ev->user_agent, .ip = ev->ip};
        return track_record(st, &claim, &r, at, a, NULL, e);
    }
    }
    return 0;
}
