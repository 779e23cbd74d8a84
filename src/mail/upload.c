/*
 * The import_emails job (mail/upload.h). The upload was streamed to a file
 * by the HTTP server, so no thread holds it in memory: the job maps it and
 * gives the pages it has read back as it goes (mail/inbox.c). Each batch
 * writes the job's progress in its own transaction, so the counts and the
 * point reached commit together: a run that dies (a crash, a lost lease)
 * is resumed by the next attempt from the last committed batch, skipping
 * the messages that batch had counted, and a message stored twice is still
 * a duplicate by its Message-ID.
 */
#include "mail/upload.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "jobs/progress.h"
#include "mail/inbox.h"
#include "mail/ingest.h"
#include "store/jobs.h"

enum { PROGRESS_MAX = 64 * 1024 };

#define FILE_PREFIX "upload-"

struct upload_ctx {
    const struct config *cfg;
    struct ai *ai;
    struct queue *q;
    char dir[4096];
};

struct rejection {
    char origin[64];
    char reason[ERRINFO_MSG_MAX];
};

/* One run of a job. */
struct run {
    struct store *st;
    const struct job *j;
    struct rejection shown[UPLOAD_REJECTIONS];
    size_t nshown;
};

void upload_dir(const struct config *cfg, char *out, size_t n)
{
    if (cfg->upload_dir && *cfg->upload_dir) {
        snprintf(out, n, "%s", cfg->upload_dir);
        return;
    }
    char base[4096];
    store_data_dir(cfg->db, base, sizeof(base));
    snprintf(out, n, "%s/uploads", base);
}

int upload_dir_make(const char *dir, struct errinfo *e)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return failf(e, ERR_IO, "cannot create the upload directory %s: %s", dir, strerror(errno));
    return 0;
}

/* The file name a path in dir has, or NULL when it is not directly in dir. */
static const char *name_in(const char *dir, const char *path)
{
    size_t n = strlen(dir);
    if (strncmp(path, dir, n) != 0 || path[n] != '/')
        return NULL;
    const char *name = path + n + 1;
    return *name && !strchr(name, '/') ? name : NULL;
}

int upload_enqueue(struct store *st, const char *workspace_id, const char *dir, const char *path,
                   uint64_t size, int64_t *id, struct errinfo *e)
{
    const char *name = name_in(dir, path);
    if (!name || strncmp(name, FILE_PREFIX, strlen(FILE_PREFIX)) != 0)
        return failf(e, ERR_INVALID, "the upload is not in the upload directory");
    struct buf b;
    struct jw w;
    buf_init(&b, 4096);
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_kstr(&w, "file", name);
    jw_kint(&w, "bytes", (int64_t)size);
    jw_obj_end(&w);
    int rc = jw_finish(&w);
    if (rc) {
        buf_release(&b);
        return failf(e, rc, "the job's payload");
    }
    struct job_spec spec = {
        .workspace_id = workspace_id,
        .kind = UPLOAD_JOB_KIND,
        .payload = buf_str(&b),
        .max_attempts = UPLOAD_ATTEMPTS,
    };
    bool created;
    rc = queue_enqueue(st, &spec, id, &created, e);
    buf_release(&b);
    return rc;
}

static void on_reject(void *arg, const char *origin, const struct errinfo *why)
{
    struct run *r = arg;
    log_msg(LOG_INFO, "email.rejected", "%s: %s", origin, why->msg);
    if (r->nshown < UPLOAD_REJECTIONS) {
        struct rejection *x = &r->shown[r->nshown++];
        snprintf(x->origin, sizeof(x->origin), "%s", origin);
        snprintf(x->reason, sizeof(x->reason), "%s", why->msg);
    }
}

/* The progress as GET /api/jobs/{id} shows it (docs/openapi.yaml ImportProgress). */
static void write_progress(struct jw *w, const struct run *r, const struct ingest_stats *s)
{
    jw_obj_begin(w);
    jw_kint(w, "messages", (int64_t)s->seen);
    jw_kint(w, "imported", (int64_t)s->imported);
    jw_kint(w, "duplicates", (int64_t)s->duplicates);
    jw_kint(w, "rejected", (int64_t)s->rejected);
    jw_kint(w, "contactsCreated", (int64_t)s->contacts_created);
    jw_kint(w, "bytesDone", (int64_t)s->bytes_done);
    jw_kint(w, "bytesTotal", (int64_t)s->bytes_total);
    jw_key(w, "rejections");
    jw_arr_begin(w);
    for (size_t i = 0; i < r->nshown; i++) {
        jw_obj_begin(w);
        jw_kstr(w, "origin", r->shown[i].origin);
        jw_kstr(w, "reason", r->shown[i].reason);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_obj_end(w);
}

/* Records the progress (in the open batch's transaction, when there is
 * one) and announces it once that commits (jobs/progress.h). */
static int record(struct run *r, const struct ingest_stats *s, const char *status,
                  struct errinfo *e)
{
    struct buf b;
    struct jw w;
    buf_init(&b, PROGRESS_MAX);
    jw_init(&w, &b);
    write_progress(&w, r, s);
    int rc = jw_finish(&w);
    if (!rc)
        rc = job_progress_record(r->st, r->j, buf_str(&b), status, e);
    buf_release(&b);
    return rc;
}

static int in_batch(void *arg, const struct ingest_stats *s, struct errinfo *e)
{
    return record(arg, s, "running", e);
}

static uint64_t count_of(json_t *o, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v > 0 ? (uint64_t)v : 0;
}

/* What an earlier attempt committed: its counts and the rejections it named. */
static int resume_point(struct run *r, struct arena *a, struct ingest_stats *s, struct errinfo *e)
{
    memset(s, 0, sizeof(*s));
    struct job_row row;
    int rc = store_job_get(r->st, r->j->workspace_id, r->j->id, a, &row, e);
    if (rc || !row.progress)
        return rc;
    json_t *p = json_loads(row.progress, 0, NULL);
    s->seen = count_of(p, "messages");
    s->imported = count_of(p, "imported");
    s->duplicates = count_of(p, "duplicates");
    s->rejected = count_of(p, "rejected");
    s->contacts_created = count_of(p, "contactsCreated");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(p, "rejections"), i, x)
    {
        const char *origin = json_string_value(json_object_get(x, "origin"));
        const char *reason = json_string_value(json_object_get(x, "reason"));
        if (origin && reason && r->nshown < UPLOAD_REJECTIONS) {
            snprintf(r->shown[r->nshown].origin, sizeof(r->shown[0].origin), "%s", origin);
            snprintf(r->shown[r->nshown].reason, sizeof(r->shown[0].reason), "%s", reason);
            r->nshown++;
        }
    }
    json_decref(p);
    return 0;
}

/* Moves past the n items an earlier attempt counted. */
static void skip_items(struct inbox *in, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct inbox_msg m;
        struct errinfo ignored;
        if (inbox_next(in, &m, &ignored) == 0)
            return;
    }
}

/* Runs the import; returns like a job handler. */
static int import_file(struct upload_ctx *c, struct run *r, const char *path, struct arena *a,
                       struct ingest_stats *s, struct errinfo *e)
{
    struct ingest_stats from;
    int rc = resume_point(r, a, &from, e);
    if (rc)
        return rc;
    struct inbox *in = inbox_file_new(path, "upload", e);
    if (!in)
        return e->code ? e->code : ERR_IO;
    if (from.seen) {
        skip_items(in, from.seen);
        log_info("upload.resumed", "job %lld resumes after %llu messages", (long long)r->j->id,
                 (unsigned long long)from.seen);
    }
    struct ingest_opts o = {
        .workspace_id = r->j->workspace_id,
        .source = "upload",
        .on_reject = on_reject,
        .in_batch = in_batch,
        .arg = r,
        .batch_max = UPLOAD_BATCH,
        .batch_ms = UPLOAD_BATCH_MS,
        .resume = &from,
    };
    struct ingest *g = ingest_new(r->st, c->ai, &o, e);
    if (!g) {
        inbox_free(in);
        return e->code ? e->code : ERR_DB;
    }
    rc = ingest_source(g, in, e);
    ingest_get_stats(g, s);
    inbox_free(in);
    ingest_free(g);
    return rc;
}

static int upload_job(void *ctx, struct store *st, const struct job *j, struct arena *a,
                      struct errinfo *e)
{
    struct upload_ctx *c = ctx;
    json_t *p = json_loads(j->payload ? j->payload : "{}", 0, NULL);
    const char *name = json_string_value(json_object_get(p, "file"));
    char path[4096 + 64];
    bool named = name && strncmp(name, FILE_PREFIX, strlen(FILE_PREFIX)) == 0 &&
                 !strchr(name, '/') && strlen(name) < 64 && j->workspace_id[0];
    if (named)
        snprintf(path, sizeof(path), "%s/%s", c->dir, name);
    json_decref(p);
    if (!named)
        return failf(e, ERR_INVALID, "the import job names no uploaded file");
    if (access(path, R_OK) != 0)
        return failf(e, ERR_INVALID,
                     "the uploaded file is not in this process's upload directory (%s): "
                     "upload it again; with several hosts, LEADFLOW_UPLOAD_DIR must be shared",
                     strerror(errno));

    struct run r = {.st = st, .j = j};
    struct ingest_stats s = {0};
    int rc = import_file(c, &r, path, a, &s, e);
    const char *status;
    if (!rc && s.seen == 0)
        rc = failf(e, ERR_INVALID, "the upload holds no email message");
    else if (!rc && s.imported + s.duplicates == 0)
        rc = failf(e, ERR_INVALID, "the upload holds no email that could be read: %s: %s",
                   r.nshown ? r.shown[0].origin : "upload",
                   r.nshown ? r.shown[0].reason : "rejected");
    status = job_progress_outcome(j, rc);
    bool ends = strcmp(status, "failed") != 0;
    /* The last counts (rejections after the last batch) and the outcome. */
    struct errinfo pe;
    errinfo_clear(&pe);
    if (s.seen && record(&r, &s, status, &pe))
        log_warn("upload.progress", "job %lld: %s", (long long)j->id, pe.msg);
    if (ends && unlink(path) != 0)
        log_warn("upload.unlink", "cannot remove %s: %s", path, strerror(errno));
    if (c->q && s.imported)
        queue_kick(c->q); /* drafts for contacts that became hot */
    struct log_line l;
    if (log_begin(&l, rc ? LOG_WARN : LOG_INFO, "email.import")) {
        log_str(&l, "workspace", j->workspace_id);
        log_int(&l, "job", j->id);
        log_int(&l, "imported", (int64_t)s.imported);
        log_int(&l, "duplicates", (int64_t)s.duplicates);
        log_int(&l, "rejected", (int64_t)s.rejected);
        log_end(&l, "upload: %llu imported, %llu duplicates, %llu rejected (%s)",
                (unsigned long long)s.imported, (unsigned long long)s.duplicates,
                (unsigned long long)s.rejected, status);
    }
    return rc;
}

void upload_register(struct queue *q, const struct config *cfg, struct ai *ai)
{
    /* One per process, alive as long as the queue that holds it. */
    static struct upload_ctx c;
    c.cfg = cfg;
    c.ai = ai;
    c.q = q;
    upload_dir(cfg, c.dir, sizeof(c.dir));
    queue_register(q, UPLOAD_JOB_KIND, upload_job, &c);
}
