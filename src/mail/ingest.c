/*
 * The email pipeline (DESIGN.md §6). For each raw message: parse, decide
 * the direction (mail from the workspace's own people is outbound and
 * belongs to its first outside recipient), analyze inbound mail, link the
 * contact, store the email; every INGEST_BATCH messages the transaction
 * commits after the contacts it touched are rescored.
 *
 * Each message goes through two halves: prepare (parse, pick the contact's
 * address, analyze, read the signature: no database) and commit (link the
 * contact, store the email). ingest_source() runs the first half on a reader
 * thread when the process may use more than one core, handing prepared
 * messages to the writer through a ring of slots; each slot owns an arena
 * whose first block is allocated once, so the loop does not call malloc for
 * small messages.
 */
#include <ctype.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ai/score.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/events.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/str.h"
#include "crm/crm.h"
#include "mail/events.h"
#include "mail/ingest.h"
#include "mail/mime.h"
#include "store/campaigns.h"
#include "store/contacts.h"
#include "store/emails.h"
#include "store/sending.h"

enum {
    ARENA_FIRST = 256 * 1024, /* most messages fit: no malloc per message */
    RING_SLOTS = 16,          /* prepared messages between the reader and the writer */
    TOUCHED_SLOTS = 2 * INGEST_BATCH,
};

/* A message made ready for the database by prepare(). */
struct prepared {
    struct arena a; /* everything below points into it */
    char *first;
    struct buf json;
    int rc; /* 0, or why it was rejected (e) */
    struct errinfo e;
    char origin[160];
    uint64_t bytes_done, bytes_total; /* the source's progress when it was read */
    struct email_row row;
    const struct mail_addr *who;      /* the contact's address, or NULL */
    const struct mail_report *report; /* a bounce or complaint report, or NULL */
    char title[STORE_NAME_MAX], company[STORE_NAME_MAX];
};

struct ingest {
    struct store *st;
    struct ai *ai;
    struct ingest_opts o;
    char workspace_id[STORE_ID_LEN];
    char **own; /* lower-case addresses that are "us" */
    size_t nown;
    struct arena keep;     /* own addresses */
    struct arena msg;      /* rescoring's data; released after each contact */
    struct prepared *slot; /* the slot of ingest_message() */
    bool in_tx;
    size_t pending;          /* messages in the open transaction */
    int64_t batch_began;     /* when it began (ms) */
    uint64_t pending_stored; /* of which stored: uncounted again on a rollback */
    /* Contacts touched by the open batch (open addressing; "" = free). */
    char touched[TOUCHED_SLOTS][STORE_ID_LEN];
    size_t ntouched;
    struct ingest_stats stats;
};

/* Whether email is one of the team's: an own address, or at an own
 * "@domain" entry. */
static bool is_own(const struct ingest *g, const char *email)
{
    if (!email)
        return false;
    size_t len = strlen(email);
    for (size_t i = 0; i < g->nown; i++) {
        const char *own = g->own[i];
        if (own[0] == '@') {
            size_t dl = strlen(own);
            if (len > dl && strcasecmp(email + len - dl, own) == 0)
                return true;
        } else if (strcasecmp(own, email) == 0) {
            return true;
        }
    }
    return false;
}

struct ingest *ingest_new(struct store *st, struct ai *ai, const struct ingest_opts *o,
                          struct errinfo *e)
{
    struct ingest *g = xcalloc(1, sizeof(*g));
    g->st = st;
    g->ai = ai;
    g->o = *o;
    snprintf(g->workspace_id, sizeof(g->workspace_id), "%s", o->workspace_id);
    g->o.workspace_id = g->workspace_id;
    g->o.source = o->source ? o->source : "import";
    arena_init(&g->keep, NULL, 0);
    arena_init(&g->msg, NULL, 0);
    if (o->resume)
        g->stats = *o->resume;

    char **members;
    size_t nmembers;
    int rc = store_workspace_member_emails(st, g->workspace_id, &g->keep, &members, &nmembers, e);
    if (rc) {
        ingest_free(g);
        return NULL;
    }
    g->own = arena_alloc(&g->keep, (nmembers + o->nown + 1) * sizeof(char *));
    for (size_t i = 0; i < nmembers; i++)
        g->own[g->nown++] = members[i];
    for (size_t i = 0; i < o->nown; i++)
        if (o->own_addresses[i] && *o->own_addresses[i])
            g->own[g->nown++] = arena_strdup(&g->keep, o->own_addresses[i]);
    return g;
}

static void touch(struct ingest *g, const char *id)
{
    /* The ids are random: their first bytes hash well enough. */
    size_t slot = 0;
    for (size_t i = 0; i < 8 && id[i]; i++)
        slot = slot * 31 + (unsigned char)id[i];
    for (size_t i = 0; i < TOUCHED_SLOTS; i++) {
        char *s = g->touched[(slot + i) % TOUCHED_SLOTS];
        if (!*s) {
            memcpy(s, id, STORE_ID_LEN);
            g->ntouched++;
            return;
        }
        if (strcmp(s, id) == 0)
            return;
    }
}

/* Recomputes and saves one contact's score, in the batch's transaction
 * (what a new hot lead sets off commits with it: crm/crm.h). */
static int rescore(struct ingest *g, const char *contact_id, int64_t now, struct errinfo *e)
{
    struct score sc;
    int previous;
    int rc = crm_rescore(g->st, g->workspace_id, contact_id, g->o.source, now, &g->msg, &sc,
                         &previous, e);
    if (rc == ERR_NOT_FOUND)
        return 0; /* deleted meanwhile */
    if (rc)
        return rc;
    if (previous != sc.total)
        g->stats.scores_changed++;
    return 0;
}

/* After a commit or a rollback: no open batch. */
static void batch_reset(struct ingest *g)
{
    g->in_tx = false;
    g->pending = 0;
    g->pending_stored = 0;
    memset(g->touched, 0, sizeof(g->touched));
    g->ntouched = 0;
}

/*
 * Tells the live dashboards what a committed batch did: email_processed
 * with the count. Registered when the batch begins, so it comes before the
 * hot_lead events of the contacts the batch made hot (crm/hot.c), all
 * published back to back after the commit (nothing is announced that a
 * rollback could take back).
 */
static void announce_batch(void *data)
{
    struct ingest *g = *(struct ingest **)data;
    if (g->pending_stored == 0)
        return;
    struct buf b;
    struct jw w;
    buf_init(&b, 4096);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kint(&w, "count", (int64_t)g->pending_stored);
    jw_kint(&w, "contacts", (int64_t)g->ntouched);
    jw_kstr(&w, "source", g->o.source);
    jw_obj_end(&w);
    if (jw_finish(&w) == 0)
        events_publish(g->workspace_id, "email_processed", buf_str(&b));
    buf_release(&b);
}

int ingest_flush(struct ingest *g, struct errinfo *e)
{
    if (!g->in_tx)
        return 0;
    int64_t now = clock_now_ms();
    int rc = 0;
    for (size_t i = 0; i < TOUCHED_SLOTS && !rc; i++) {
        if (!g->touched[i][0])
            continue;
        rc = rescore(g, g->touched[i], now, e);
        arena_release(&g->msg);
    }
    if (!rc && g->o.in_batch)
        rc = g->o.in_batch(g->o.arg, &g->stats, e);
    if (!rc)
        rc = store_tx_commit(g->st, e);
    if (rc) {
        store_tx_rollback(g->st);
        g->stats.imported -= g->pending_stored;
    }
    batch_reset(g);
    if (!rc && g->o.on_batch)
        g->o.on_batch(g->o.arg, &g->stats);
    return rc;
}

/* The id a message is stored under: its Message-ID, else a hash of it. */
static const char *message_key(const struct mail_msg *m, const char *raw, size_t len,
                               struct arena *a)
{
    if (m->message_id && *m->message_id && strlen(m->message_id) <= 995)
        return m->message_id;
    uint8_t h[SHA256_LEN];
    char hex[2 * SHA256_LEN + 1];
    crypto_sha256(raw, len, h);
    crypto_hex(h, sizeof(h), hex);
    return arena_printf(a, "sha256:%s", hex);
}

/* "From" addresses that only relay: the Reply-To then names the person. */
static bool is_relay(const char *email)
{
    static const char *const prefixes[] = {"noreply",    "no-reply",      "do-not-reply",
                                           "donotreply", "mailer-daemon", "notifications"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncasecmp(email, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static struct prepared *slot_new(void)
{
    struct prepared *p = xcalloc(1, sizeof(*p));
    p->first = xmalloc(ARENA_FIRST);
    arena_init(&p->a, p->first, ARENA_FIRST);
    buf_init(&p->json, 1 << 20);
    return p;
}

static void slot_free(struct prepared *p)
{
    if (!p)
        return;
    arena_release(&p->a);
    free(p->first);
    buf_release(&p->json);
    free(p);
}

/* The JSON array of the To/Cc addresses, in the slot's arena. */
static const char *to_json(struct prepared *p, const struct mail_msg *m)
{
    struct jw w;
    buf_reset(&p->json);
    jw_init(&w, &p->json);
    jw_arr_begin(&w);
    for (size_t i = 0; i < m->nto; i++)
        if (m->to[i].email)
            jw_str(&w, m->to[i].email);
    jw_arr_end(&w);
    if (jw_finish(&w))
        return "[]";
    return arena_strdup(&p->a, buf_str(&p->json));
}

/* The first id of References, else In-Reply-To, else the message's own key. */
static const char *thread_of(const struct mail_msg *m, const char *key, struct arena *a)
{
    if (m->references && *m->references) {
        const char *sp = strchr(m->references, ' ');
        return sp ? arena_strndup(a, m->references, (size_t)(sp - m->references)) : m->references;
    }
    if (m->in_reply_to && *m->in_reply_to)
        return m->in_reply_to;
    return key;
}

/*
 * The first half, without the database (safe on the reader thread): parses
 * raw into p, decides the direction and whose email it is, analyzes inbound
 * mail and reads the signature. p->rc < 0 with p->e when it is rejected.
 */
static void prepare(const struct ingest *g, const char *raw, size_t len, struct prepared *p)
{
    struct mail_msg *m = arena_alloc(&p->a, sizeof(*m));
    struct email_row *row = &p->row;
    memset(row, 0, sizeof(*row));
    p->who = NULL;
    p->report = NULL;
    p->title[0] = p->company[0] = '\0';
    errinfo_clear(&p->e);
    p->rc = mime_parse(raw, len, &p->a, m, &p->e);
    if (p->rc == 0 && (!m->from.email || !str_is_email(m->from.email)))
        p->rc = failf(&p->e, ERR_INVALID, "not an email message: no valid From address");
    if (p->rc)
        return;

    int64_t now = clock_now_ms();
    row->message_id = message_key(m, raw, len, &p->a);
    row->in_reply_to = m->in_reply_to;
    row->thread_id = thread_of(m, row->message_id, &p->a);
    row->from_email = m->from.email;
    row->from_name = m->from.name;
    row->to_emails = to_json(p, m);
    row->subject = m->subject ? m->subject : "";
    row->body_text = m->body_text ? m->body_text : "";
    row->received_at = (m->date_ms > 0 ? m->date_ms : now) + g->o.time_shift_ms;
    row->source = g->o.source;
    row->attachments = m->attachments;

    /* Who the email is about. */
    bool outbound = is_own(g, m->from.email);
    if (outbound) {
        row->direction = "outbound";
        for (size_t i = 0; i < m->nto && !p->who; i++)
            if (m->to[i].email && !is_own(g, m->to[i].email) && str_is_email(m->to[i].email))
                p->who = &m->to[i];
    } else {
        row->direction = "inbound";
        p->who = &m->from;
        if (is_relay(m->from.email) && m->reply_to.email && str_is_email(m->reply_to.email))
            p->who = &m->reply_to;
        if (!str_is_email(p->who->email))
            p->who = NULL;
    }

    /* A bounce or complaint report is kept as automatic mail of no
     * contact (its sender is a mail system): what it says goes to the sent
     * email it is about when it is stored (commit). */
    if (m->report && !outbound) {
        p->report = m->report;
        p->who = NULL;
    }

    /* Mail no person wrote (an out-of-office, a list) is kept on the
     * contact's timeline as general, but not analyzed and not scored (no
     * provider): it says nothing about their interest. */
    if (!outbound && m->automated)
        row->intent_bits = INTENT_GENERAL;
    if (!outbound && !m->automated) {
        struct analysis an;
        struct errinfo ae = {0};
        ai_analyze(g->ai, m->subject, m->new_text ? m->new_text : "", &an, &ae);
        row->intent_bits = an.intents;
        row->sentiment = sentiment_name(an.sentiment);
        row->sentiment_score = an.sentiment_score;
        row->urgency = urgency_name(an.urgency);
        row->provider = an.provider;
        if (m->signature && p->who == &m->from)
            signature_extract(m->signature, m->from.name, m->from.email, p->title, sizeof(p->title),
                              p->company, sizeof(p->company));
    }
}

/* How far back a report naming only its recipient is matched to our sends. */
static const int64_t REPORT_WINDOW_MS = 30LL * 24 * 3600 * 1000;

/*
 * A stored report's verdict, recorded as the providers' events are
 * (mail/events.h): on the workspace's sent email of the returned message's
 * Message-ID, else its newest to the recipient. One that matches nothing of
 * ours, or says nothing we act on, changes nothing.
 */
static int apply_report(struct ingest *g, const struct mail_report *r, int64_t at, struct arena *a,
                        struct errinfo *e)
{
    enum provider_event_kind kind;
    if (r->kind == REPORT_BOUNCE)
        kind = PEV_BOUNCED;
    else if (r->kind == REPORT_DEFERRED)
        kind = PEV_DEFERRED;
    else if (r->kind == REPORT_COMPLAINT)
        kind = PEV_COMPLAINED;
    else
        return 0;
    char id[STORE_ID_LEN], contact[STORE_ID_LEN];
    int rc = store_sent_email_match(g->st, g->workspace_id, r->original_id, r->recipient,
                                    clock_now_ms() - REPORT_WINDOW_MS, id, contact, e);
    if (rc == ERR_NOT_FOUND) {
        errinfo_clear(e);
        return 0;
    }
    if (rc)
        return rc;
    struct provider_event ev = {.provider = "mail", .kind = kind, .at = at};
    return provider_event_record(g->st, &ev, g->workspace_id, id, contact, a, e);
}

/* The second half, in the open transaction: 1 stored, 0 duplicate, < 0 the
 * database failed. */
static int commit(struct ingest *g, struct prepared *p, struct errinfo *e)
{
    struct store *st = g->st;
    struct email_row *row = &p->row;
    int64_t now = clock_now_ms();
    row->created_at = now;
    row->processed_at = now;
    bool created = false;
    if (p->who) {
        int rc = store_contact_link(st, g->workspace_id, p->who->email, p->who->name, p->title,
                                    p->company, now, row->contact_id, &created, e);
        if (!rc && created) {
            struct crm_change c = {.workspace_id = g->workspace_id,
                                   .contact_id = row->contact_id,
                                   .what = CRM_CREATED,
                                   .source = g->o.source,
                                   .now = now};
            rc = crm_contact_changed(st, &c, e);
        }
        if (rc)
            return rc;
    }
    crypto_uuid7(now, row->id);
    bool inserted;
    int rc = store_email_insert(st, g->workspace_id, row, &inserted, e);
    if (rc)
        return rc;
    if (created)
        g->stats.contacts_created++;
    if (!inserted)
        return 0;
    if (p->report && (rc = apply_report(g, p->report, row->received_at, &p->a, e)))
        return rc;
    if (row->contact_id[0]) {
        struct crm_change c = {.workspace_id = g->workspace_id,
                               .contact_id = row->contact_id,
                               .what = CRM_EMAIL,
                               .email = row,
                               .source = g->o.source,
                               .now = now};
        if ((rc = crm_contact_changed(st, &c, e)))
            return rc;
        if (row->intent_bits & (INTENT_PRICING_INQUIRY | INTENT_MEETING_REQUEST)) {
            bool changed;
            rc = store_contact_status_advance(st, g->workspace_id, row->contact_id, "lead", now,
                                              &changed, e);
            if (rc)
                return rc;
        }
        touch(g, row->contact_id);
    }
    return 1;
}

/* Counts a rejected item and reports it. */
static void reject(struct ingest *g, const char *origin, const struct errinfo *why)
{
    g->stats.rejected++;
    if (g->o.on_reject)
        g->o.on_reject(g->o.arg, origin && *origin ? origin : "message", why);
}

/* Stores a prepared message (or counts its rejection); flushes full
 * batches. Returns like ingest_message(). */
static int consume(struct ingest *g, struct prepared *p, struct errinfo *e)
{
    g->stats.seen++;
    if (p->rc) {
        reject(g, p->origin, &p->e);
        return p->rc;
    }
    int rc = 0;
    if (!g->in_tx) {
        if ((rc = store_tx_begin(g->st, e)))
            return rc;
        if ((rc = store_tx_lock_workspace(g->st, g->workspace_id, e))) {
            store_tx_rollback(g->st);
            return rc;
        }
        g->in_tx = true;
        g->batch_began = clock_now_ms();
        store_after_commit(g->st, announce_batch, &g, sizeof(g));
    }
    rc = commit(g, p, e);
    if (rc < 0) {
        /* The database failed: the open batch is lost, and said so. */
        store_tx_rollback(g->st);
        g->stats.imported -= g->pending_stored;
        batch_reset(g);
        return rc == ERR_CONFLICT || rc == ERR_INVALID ? ERR_DB : rc;
    }
    if (rc == 1) {
        g->stats.imported++;
        g->pending_stored++;
    } else {
        g->stats.duplicates++;
    }
    size_t batch = g->o.batch_max && g->o.batch_max < INGEST_BATCH ? g->o.batch_max : INGEST_BATCH;
    if (g->st->batch_max && g->st->batch_max < batch)
        batch = g->st->batch_max;
    if (++g->pending >= batch || g->ntouched >= TOUCHED_SLOTS / 2 ||
        (g->o.batch_ms > 0 && clock_now_ms() - g->batch_began >= g->o.batch_ms)) {
        int frc = ingest_flush(g, e);
        if (frc)
            return frc;
    }
    return rc;
}

int ingest_message(struct ingest *g, const char *raw, size_t len, const char *origin,
                   struct errinfo *e)
{
    if (!g->slot)
        g->slot = slot_new();
    struct prepared *p = g->slot;
    snprintf(p->origin, sizeof(p->origin), "%s", origin ? origin : "message");
    prepare(g, raw, len, p);
    int rc = consume(g, p, e);
    if (p->rc)
        failf(e, p->rc, "%s", p->e.msg);
    arena_release(&p->a);
    return rc;
}

/* A source's stop: the database failed, the caller should stop. */
static bool fatal(int rc)
{
    return rc == ERR_DB || rc == ERR_TEMPORARY || rc == ERR_INTERNAL;
}

/* Reads the next item of in into p (a message prepared, or a rejection).
 * Returns false at the end. */
static bool read_one(const struct ingest *g, struct inbox *in, struct prepared *p)
{
    struct inbox_msg m;
    errinfo_clear(&p->e);
    int rc = inbox_next(in, &m, &p->e);
    if (in->ops->progress)
        in->ops->progress(in, &p->bytes_done, &p->bytes_total);
    if (rc == 0)
        return false;
    if (rc < 0) {
        p->rc = rc;
        snprintf(p->origin, sizeof(p->origin), "input");
        return true;
    }
    snprintf(p->origin, sizeof(p->origin), "%s", m.origin ? m.origin : "message");
    prepare(g, m.raw, m.len, p);
    return true;
}

/* The reader thread and the writer share a ring of prepared slots. */
struct ring {
    pthread_mutex_t mu;
    pthread_cond_t ready, freed;
    struct prepared *slots[RING_SLOTS];
    size_t head, tail; /* head: next to consume; tail: next to fill */
    bool done, stop;
    const struct ingest *g;
    struct inbox *in;
};

static void *reader_main(void *arg)
{
    struct ring *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (!r->stop && r->tail - r->head == RING_SLOTS)
            pthread_cond_wait(&r->freed, &r->mu);
        bool stop = r->stop;
        struct prepared *p = r->slots[r->tail % RING_SLOTS];
        pthread_mutex_unlock(&r->mu);
        bool more = !stop && read_one(r->g, r->in, p);
        pthread_mutex_lock(&r->mu);
        if (more)
            r->tail++;
        else
            r->done = true;
        pthread_cond_signal(&r->ready);
        pthread_mutex_unlock(&r->mu);
        if (!more)
            return NULL;
    }
}

static int ingest_threaded(struct ingest *g, struct inbox *in, struct errinfo *e)
{
    struct ring r = {.g = g, .in = in};
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.ready, NULL);
    pthread_cond_init(&r.freed, NULL);
    for (size_t i = 0; i < RING_SLOTS; i++)
        r.slots[i] = slot_new();
    pthread_t reader;
    int rc = 0;
    if (pthread_create(&reader, NULL, reader_main, &r) != 0) {
        rc = failf(e, ERR_INTERNAL, "cannot start the reader thread");
        goto out;
    }
    for (;;) {
        pthread_mutex_lock(&r.mu);
        while (r.head == r.tail && !r.done)
            pthread_cond_wait(&r.ready, &r.mu);
        bool empty = r.head == r.tail;
        struct prepared *p = r.slots[r.head % RING_SLOTS];
        pthread_mutex_unlock(&r.mu);
        if (empty)
            break;
        g->stats.bytes_done = p->bytes_done;
        g->stats.bytes_total = p->bytes_total;
        struct errinfo ce = {0};
        int crc = consume(g, p, &ce);
        arena_release(&p->a);
        pthread_mutex_lock(&r.mu);
        r.head++;
        if (fatal(crc)) {
            r.stop = true;
            rc = failf(e, crc, "%s", ce.msg);
        }
        pthread_cond_signal(&r.freed);
        pthread_mutex_unlock(&r.mu);
        if (rc)
            break;
    }
    pthread_join(reader, NULL);
out:
    for (size_t i = 0; i < RING_SLOTS; i++)
        slot_free(r.slots[i]);
    pthread_cond_destroy(&r.freed);
    pthread_cond_destroy(&r.ready);
    pthread_mutex_destroy(&r.mu);
    return rc;
}

/* Whether this process may run on more than one core. */
static bool several_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return false;
    return CPU_COUNT(&set) > 1;
}

int ingest_source(struct ingest *g, struct inbox *in, struct errinfo *e)
{
    int rc = 0;
    if (several_cores()) {
        rc = ingest_threaded(g, in, e);
    } else {
        if (!g->slot)
            g->slot = slot_new();
        struct prepared *p = g->slot;
        while (read_one(g, in, p)) {
            g->stats.bytes_done = p->bytes_done;
            g->stats.bytes_total = p->bytes_total;
            struct errinfo ce = {0};
            int crc = consume(g, p, &ce);
            arena_release(&p->a);
            if (fatal(crc)) {
                rc = failf(e, crc, "%s", ce.msg);
                break;
            }
        }
    }
    if (rc)
        return rc;
    return ingest_flush(g, e);
}

void ingest_get_stats(const struct ingest *g, struct ingest_stats *out)
{
    *out = g->stats;
}

void ingest_free(struct ingest *g)
{
    if (!g)
        return;
    if (g->in_tx) {
        struct errinfo e = {0};
        if (ingest_flush(g, &e))
            log_msg(LOG_ERROR, "ingest.flush", "%s", e.msg);
    }
    arena_release(&g->msg);
    arena_release(&g->keep);
    slot_free(g->slot);
    free(g);
}
