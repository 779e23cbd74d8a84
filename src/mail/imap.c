/*
 * IMAP sync (mail/imap.h): per folder, STATUS for the UIDVALIDITY, the UIDs
 * above the last imported, each message fetched and fed to the pipeline in
 * UID order. Where a folder stands is stored after each batch commits, so
 * an interrupted sync goes on from there (a message imported twice is
 * stored once, by Message-ID).
 */
#include "mail/imap.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "jobs/queue.h"
#include "mail/inbox.h"
#include "mail/ingest.h"
#include "net/imapc.h"

enum {
    SAVE_EVERY = 500, /* messages between two commits of the pipeline and the folder state */
    BUSY_SLOTS = 32,  /* sources syncing at once in this process */
    SEALED_MAX = IMAP_PASSWORD_MAX + CRYPTO_SEAL_OVERHEAD,
};

/* The associated data the password is sealed with: opening it for another
 * workspace, server or user fails. */
static void password_ad(const struct imap_source *s, char *out, size_t n)
{
    snprintf(out, n, "leadflow-imap\n%s\n%s:%d\n%s", s->workspace_id, s->host, s->port,
             s->username);
}

int imap_seal_password(const struct imap_env *env, struct imap_source *s, const char *password,
                       struct arena *a, struct errinfo *e)
{
    char ad[1024];
    password_ad(s, ad, sizeof(ad));
    size_t n = strlen(password);
    if (n > IMAP_PASSWORD_MAX)
        return failf(e, ERR_INVALID, "password is longer than %d bytes", IMAP_PASSWORD_MAX);
    uint8_t *buf = arena_alloc(a, n + CRYPTO_SEAL_OVERHEAD);
    if (crypto_seal(env->secret_key, password, n, ad, strlen(ad), buf, n + CRYPTO_SEAL_OVERHEAD,
                    &s->password_enc_len))
        return failf(e, ERR_INTERNAL, "no secret key to seal the IMAP password with");
    s->password_enc = buf;
    return 0;
}

static int open_password(const struct imap_env *env, const struct imap_source *s, struct arena *a,
                         char **out, struct errinfo *e)
{
    char ad[1024];
    password_ad(s, ad, sizeof(ad));
    size_t n = s->password_enc_len;
    if (!s->password_enc || n < CRYPTO_SEAL_OVERHEAD || n > SEALED_MAX)
        return failf(e, ERR_INVALID, "the stored IMAP password is damaged; add the source again");
    char *p = arena_alloc(a, n - CRYPTO_SEAL_OVERHEAD + 1);
    size_t len = 0;
    if (crypto_open(env->secret_key, s->password_enc, n, ad, strlen(ad), (uint8_t *)p,
                    n - CRYPTO_SEAL_OVERHEAD + 1, &len))
        return failf(e, ERR_INVALID,
                     "the stored IMAP password cannot be opened (was the secret key changed?); "
                     "add the source again");
    p[len] = '\0';
    *out = p;
    return 0;
}

/* Sources being synced in this process: one sync per source at a time. */
static pthread_mutex_t busy_mu = PTHREAD_MUTEX_INITIALIZER;
static char busy[BUSY_SLOTS][STORE_ID_LEN];

static bool busy_claim(const char *id)
{
    int slot = -1;
    pthread_mutex_lock(&busy_mu);
    for (int i = 0; i < BUSY_SLOTS; i++) {
        if (strcmp(busy[i], id) == 0) {
            slot = -2;
            break;
        }
        if (!busy[i][0] && slot == -1)
            slot = i;
    }
    if (slot >= 0)
        snprintf(busy[slot], STORE_ID_LEN, "%s", id);
    pthread_mutex_unlock(&busy_mu);
    return slot >= 0;
}

static void busy_release(const char *id)
{
    pthread_mutex_lock(&busy_mu);
    for (int i = 0; i < BUSY_SLOTS; i++)
        if (strcmp(busy[i], id) == 0)
            busy[i][0] = '\0';
    pthread_mutex_unlock(&busy_mu);
}

static uint32_t state_u32(json_t *folder, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(folder, key));
    return v > 0 && v <= UINT32_MAX ? (uint32_t)v : 0;
}

/* One sync's working set. */
struct run {
    const struct imap_env *env;
    struct imap_source *s;
    struct imapc *c;
    struct ingest *ig;
    json_t *state; /* folder name -> {uidValidity, lastUid} */
    struct arena *a;
    struct imap_sync_result *out;
};

/* Commits the pipeline's batch, then stores where the folders stand. */
static int save_point(struct run *r, struct errinfo *e)
{
    int rc = ingest_flush(r->ig, e);
    if (rc)
        return rc;
    char *text = json_dumps(r->state, JSON_COMPACT);
    if (!text)
        return failf(e, ERR_INTERNAL, "out of memory");
    rc = store_imap_save(r->env->store, r->s->workspace_id, r->s->id, text, r->s->status,
                         r->s->last_error, 0, clock_now_ms(), e);
    free(text);
    return rc;
}

static void set_point(struct run *r, const char *folder, uint32_t uidvalidity, uint32_t last)
{
    json_t *f = json_object();
    json_object_set_new(f, "uidValidity", json_integer(uidvalidity));
    json_object_set_new(f, "lastUid", json_integer(last));
    json_object_set_new(r->state, folder, f);
}

/* Fetches the listed messages (in UID order) into the pipeline. */
static int import_folder(struct run *r, const char *folder, uint32_t uidvalidity, uint32_t last,
                         const struct imapc_msg *msgs, size_t n, struct errinfo *e)
{
    struct buf raw;
    buf_init(&raw, INBOX_MAX_MESSAGE);
    uint32_t *unseen = arena_alloc(r->a, (n ? n : 1) * sizeof(*unseen));
    size_t nunseen = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        struct errinfo me;
        errinfo_clear(&me);
        int f = imapc_fetch(r->c, folder, uidvalidity, msgs[i].uid, &raw, &me);
        if (f == ERR_NOT_FOUND || f == ERR_TOO_BIG) {
            /* Expunged since it was listed, or over the size limit. */
            log_info("imap.message_skipped", "source %s: %s UID %u: %s", r->s->id, folder,
                     msgs[i].uid, me.msg);
            r->out->rejected += f == ERR_TOO_BIG;
        } else if (f) {
            rc = failf(e, f, "%s", me.msg);
            break;
        } else {
            if (!msgs[i].seen)
                unseen[nunseen++] = msgs[i].uid;
            char origin[IMAPC_FOLDER_MAX + 32];
            snprintf(origin, sizeof(origin), "imap:%s#%u", folder, msgs[i].uid);
            f = ingest_message(r->ig, buf_str(&raw), raw.len, origin, &me);
            if (f == ERR_DB)
                rc = failf(e, ERR_DB, "%s", me.msg);
        }
        if (!rc) {
            last = msgs[i].uid;
            set_point(r, folder, uidvalidity, last);
            if ((i + 1) % SAVE_EVERY == 0)
                rc = save_point(r, e);
        }
    }
    buf_release(&raw);
    /* Fetching set \Seen; unread mail stays unread in the mailbox. */
    struct errinfo ue;
    errinfo_clear(&ue);
    if (nunseen && imapc_unsee(r->c, folder, uidvalidity, unseen, nunseen, &ue) != 0)
        log_warn("imap.unseen_failed", "source %s: %s: cannot mark messages unread again: %s",
                 r->s->id, folder, ue.msg);
    return rc;
}

static int sync_folder(struct run *r, const char *folder, struct errinfo *e)
{
    struct imapc_status fs;
    int rc = imapc_status(r->c, folder, &fs, e);
    if (rc)
        return rc;
    uint32_t uidvalidity = fs.uidvalidity;
    json_t *have = json_object_get(r->state, folder);
    uint32_t last = 0;
    if (have && state_u32(have, "uidValidity") == uidvalidity) {
        last = state_u32(have, "lastUid");
    } else if (have) {
        log_info("imap.resync", "source %s: %s has a new UIDVALIDITY; reading it again", r->s->id,
                 folder);
        r->out->resynced++;
    }
    set_point(r, folder, uidvalidity, last);
    /* Nothing new (some servers refuse UID FETCH n:* in an empty folder). */
    if (fs.messages == 0 || (fs.uidnext && last + 1 >= fs.uidnext))
        return 0;
    struct imapc_msg *msgs;
    size_t n;
    rc = imapc_list(r->c, folder, uidvalidity, last, IMAP_SYNC_MAX + 1, r->a, &msgs, &n, e);
    if (!rc && n > IMAP_SYNC_MAX) {
        n = IMAP_SYNC_MAX;
        r->out->more = true;
    }
    if (!rc)
        rc = import_folder(r, folder, uidvalidity, last, msgs, n, e);
    return rc;
}

static void on_reject(void *arg, const char *origin, const struct errinfo *why)
{
    const struct imap_source *s = arg;
    log_info("imap.message_rejected", "source %s: %s rejected: %s", s->id, origin, why->msg);
}

/* The sync proper, with the password open. */
static int sync_all(struct run *r, struct ai *ai, const char *password, struct errinfo *e)
{
    static const enum imapc_tls modes[] = {IMAPC_TLS, IMAPC_STARTTLS, IMAPC_NONE};
    enum imapc_tls tls = strcmp(r->s->tls, "tls") == 0        ? modes[0]
                         : strcmp(r->s->tls, "starttls") == 0 ? modes[1]
                                                              : modes[2];
    struct imapc_opts co = {
        .host = r->s->host,
        .port = r->s->port,
        .tls = tls,
        .user = r->s->username,
        .password = password,
        .ca_file = r->env->ca_file,
        .timeout_ms = r->env->timeout_ms,
    };
    r->c = imapc_new(&co, e);
    if (!r->c)
        return e->code;
    /* The login is the mailbox's address more often than not. */
    const char *own[] = {r->s->username};
    struct ingest_opts o = {
        .workspace_id = r->s->workspace_id,
        .source = "imap",
        .own_addresses = own,
        .nown = strchr(r->s->username, '@') ? 1 : 0,
        .on_reject = on_reject,
        .arg = r->s,
    };
    r->ig = ingest_new(r->env->store, ai, &o, e);
    if (!r->ig)
        return e->code ? e->code : ERR_DB;
    json_t *folders = json_loads(r->s->folders, 0, NULL);
    size_t i;
    json_t *f;
    int rc = 0;
    json_array_foreach(folders, i, f)
    {
        if (!json_is_string(f) || rc)
            continue;
        rc = sync_folder(r, json_string_value(f), e);
    }
    json_decref(folders);
    struct errinfo fe;
    errinfo_clear(&fe);
    int frc = ingest_flush(r->ig, &fe);
    if (frc && !rc)
        rc = failf(e, frc, "%s", fe.msg);
    struct ingest_stats st;
    ingest_get_stats(r->ig, &st);
    r->out->imported = st.imported;
    r->out->duplicates = st.duplicates;
    r->out->rejected += st.rejected;
    return rc;
}

int imap_sync(const struct imap_env *env, struct ai *ai, struct imap_source *s, struct arena *a,
              struct imap_sync_result *out, struct errinfo *e)
{
    memset(out, 0, sizeof(*out));
    if (!busy_claim(s->id))
        return failf(e, ERR_TEMPORARY, "a sync of this IMAP source is already running");
    struct run r = {.env = env, .s = s, .a = a, .out = out};
    r.state = json_loads(s->folder_state ? s->folder_state : "{}", 0, NULL);
    if (!json_is_object(r.state)) {
        json_decref(r.state);
        r.state = json_object();
    }
    char *password = NULL;
    int rc = open_password(env, s, a, &password, e);
    if (!rc)
        rc = sync_all(&r, ai, password, e);
    /* Needs someone to change the source; retrying cannot help. */
    if (rc == ERR_UNAUTHORIZED || rc == ERR_NOT_FOUND || rc == ERR_FORBIDDEN || rc == ERR_INVALID)
        rc = ERR_INVALID;
    else if (rc == ERR_CONFLICT || rc == ERR_TOO_BIG) /* UIDVALIDITY changed mid-sync */
        rc = ERR_TEMPORARY;

    int64_t now = clock_now_ms();
    snprintf(s->status, sizeof(s->status), "%s", rc ? "error" : "ok");
    snprintf(s->last_error, sizeof(s->last_error), "%s", rc ? e->msg : "");
    if (rc)
        log_warn("imap.sync_failed", "source %s: %s", s->id, e->msg);
    char *text = json_dumps(r.state, JSON_COMPACT);
    struct errinfo se;
    errinfo_clear(&se);
    int src = text ? store_imap_save(env->store, s->workspace_id, s->id, text, s->status,
                                     s->last_error, rc ? 0 : now, now, &se)
                   : failf(&se, ERR_INTERNAL, "out of memory");
    free(text);
    if (!rc)
        s->last_sync_at = now;
    if (src && !rc)
        rc = failf(e, src, "%s", se.msg);
    else if (src && src != ERR_NOT_FOUND)
        log_error("imap.save_failed", "source %s: %s", s->id, se.msg);
    ingest_free(r.ig);
    imapc_free(r.c);
    json_decref(r.state);
    busy_release(s->id);
    return rc;
}

int imap_enqueue(struct store *st, const char *workspace_id, const char *source_id, int64_t *job_id,
                 struct errinfo *e)
{
    char payload[STORE_ID_LEN + 32];
    snprintf(payload, sizeof(payload), "{\"sourceId\":\"%s\"}", source_id);
    struct job_spec spec = {
        .workspace_id = workspace_id,
        .kind = IMAP_JOB_KIND,
        .payload = payload,
    };
    bool created;
    int rc = queue_enqueue(st, &spec, job_id, &created, e);
    if (!rc)
        rc = store_imap_set_job(st, workspace_id, source_id, *job_id, clock_now_ms(), e);
    return rc;
}

/* ---- the background job ---------------------------------------------------- */

struct imap_job {
    struct ai *ai;
    const struct config *cfg;
};

static int sync_job(void *ctx, struct store *st, const struct job *j, struct arena *a,
                    struct errinfo *e)
{
    struct imap_job *ij = ctx;
    json_t *p = json_loads(j->payload ? j->payload : "{}", 0, NULL);
    const char *id = json_string_value(json_object_get(p, "sourceId"));
    char source_id[STORE_ID_LEN] = "";
    if (id && strlen(id) < sizeof(source_id))
        snprintf(source_id, sizeof(source_id), "%s", id);
    json_decref(p);
    if (!source_id[0])
        return failf(e, ERR_INVALID, "the job names no IMAP source");
    struct imap_source s;
    int rc = store_imap_get(st, j->workspace_id, source_id, a, &s, e);
    if (rc == ERR_NOT_FOUND) {
        log_info("imap.skipped", "IMAP source %s was deleted before its sync", source_id);
        return 0;
    }
    if (rc)
        return rc;
    struct imap_env env = {
        .store = st,
        .secret_key = ij->cfg->secret_key,
        .ca_file = ij->cfg->imap_ca_file,
    };
    struct imap_sync_result res;
    rc = imap_sync(&env, ij->ai, &s, a, &res, e);
    if (rc)
        return rc;
    log_info("imap.synced",
             "source %s: %llu imported, %llu duplicates, %llu rejected, %u folders read again",
             s.id, (unsigned long long)res.imported, (unsigned long long)res.duplicates,
             (unsigned long long)res.rejected, res.resynced);
    if (res.more) {
        int64_t next;
        rc = imap_enqueue(st, j->workspace_id, s.id, &next, e);
    }
    return rc;
}

void imap_register(struct queue *q, const struct config *cfg, struct ai *ai)
{
    /* One per process, alive as long as the queue that holds it. */
    static struct imap_job ij;
    ij.ai = ai;
    ij.cfg = cfg;
    queue_register(q, IMAP_JOB_KIND, sync_job, &ij);
}
