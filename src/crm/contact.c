/*
 * Writing a contact's fields (the contacts API, drip tag steps): the write
 * and what it sets off (crm/crm.h) in one transaction.
 */
#include "crm/crm.h"
#include "store/contacts.h"

struct write {
    const char *ws, *id;
    const struct contact_fields *f;
    int64_t now;
    const char *source;
    struct arena *a;
    struct contact *out;
};

static int create_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct write *w = arg;
    int rc = store_contact_create(st, w->ws, w->f, w->now, w->a, w->out, e);
    if (rc)
        return rc;
    /* Campaigns triggered by a new contact, or by its tags, enroll it. */
    struct crm_change c = {.workspace_id = w->ws,
                           .contact_id = w->out->id,
                           .what = CRM_CREATED | CRM_TAGS,
                           .tags_after = w->out->tags,
                           .source = w->source,
                           .now = w->now};
    return crm_contact_changed(st, &c, e);
}

int crm_contact_create(struct store *st, const char *workspace_id, const struct contact_fields *f,
                       const char *source, int64_t now, struct arena *a, struct contact *out,
                       struct errinfo *e)
{
    struct write w = {workspace_id, NULL, f, now, source, a, out};
    return store_tx_run(st, create_tx, &w, e);
}

static int update_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct write *w = arg;
    struct contact before;
    int rc = store_contact_get(st, w->ws, w->id, w->a, &before, e);
    if (!rc)
        rc = store_contact_update(st, w->ws, w->id, w->f, w->now, w->a, w->out, e);
    if (rc)
        return rc;
    struct crm_change c = {.workspace_id = w->ws,
                           .contact_id = w->id,
                           .what = CRM_TAGS,
                           .tags_before = before.tags,
                           .tags_after = w->out->tags,
                           .source = w->source,
                           .now = w->now};
    return crm_contact_changed(st, &c, e);
}

int crm_contact_update(struct store *st, const char *workspace_id, const char *id,
                       const struct contact_fields *f, const char *source, int64_t now,
                       struct arena *a, struct contact *out, struct errinfo *e)
{
    /* Only tags set anything off: other fields are one write. */
    if (!(f->set & CF_TAGS))
        return store_contact_update(st, workspace_id, id, f, now, a, out, e);
    struct write w = {workspace_id, id, f, now, source, a, out};
    return store_tx_run(st, update_tx, &w, e);
}

struct subscription {
    const char *ws, *id, *source;
    int64_t now;
    bool *changed;
};

static int unsubscribe_tx(struct store *st, void *arg, struct errinfo *e)
{
    const struct subscription *s = arg;
    int rc = store_contact_unsubscribe(st, s->ws, s->id, s->now, s->changed, e);
    if (rc)
        return rc;
    /* Its active enrollments are cancelled (drip/react.c), every time: an
     * enrollment made while it was unsubscribed goes too. */
    struct crm_change c = {.workspace_id = s->ws,
                           .contact_id = s->id,
                           .what = CRM_UNSUBSCRIBE,
                           .source = s->source,
                           .now = s->now};
    return crm_contact_changed(st, &c, e);
}

int crm_contact_unsubscribe(struct store *st, const char *workspace_id, const char *id,
                            const char *source, int64_t now, bool *changed, struct errinfo *e)
{
    struct subscription s = {workspace_id, id, source, now, changed};
    int rc = store_tx_run(st, unsubscribe_tx, &s, e);
    if (rc)
        *changed = false;
    return rc;
}

int crm_contact_resubscribe(struct store *st, const char *workspace_id, const char *id, int64_t now,
                            bool *changed, struct errinfo *e)
{
    return store_contact_resubscribe(st, workspace_id, id, now, changed, e);
}
