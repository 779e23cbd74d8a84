/*
 * Contacts from and to CSV. Import maps columns to fields by header,
 * checks each row (a refused row is reported with its number and the
 * reason, the others go on), and creates or updates contacts through
 * crm_contact_create / crm_contact_update, CSV_BATCH rows per transaction.
 * Export writes every contact of a workspace, formula-safe.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/csvio.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/str.h"
#include "crm/crm.h"
#include "store/contacts.h"
#include "store/store.h"

enum { CSV_BATCH = 1000, CSV_MAX_COLUMNS = 256, FIELD_MAX = 200, TAGS_MAX = 50, TAG_MAX = 50 };

static const char *const field_names[CRM_CSV_NFIELDS] = {"name",     "email",  "company",
                                                         "jobTitle", "status", "tags"};

/* Headers a spreadsheet commonly has for each field (compared without case). */
static const char *const aliases[CRM_CSV_NFIELDS][5] = {
    {"name", "full name", "contact name", "contact", NULL},
    {"email", "e-mail", "email address", "e-mail address", "mail"},
    {"company", "organization", "organisation", "company name", "account"},
    {"jobtitle", "job title", "title", "position", "role"},
    {"status", "lead status", "stage", NULL, NULL},
    {"tags", "labels", "tag", NULL, NULL},
};

static const char *const statuses[] = {"prospect", "lead", "customer", "contact"};

bool crm_status_valid(const char *s)
{
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (strcmp(s, statuses[i]) == 0)
            return true;
    return false;
}

int crm_csv_field(const char *name)
{
    for (int i = 0; i < CRM_CSV_NFIELDS; i++)
        if (strcasecmp(name, field_names[i]) == 0)
            return i;
    return -1;
}

/* s without the spaces and tabs around it (cut in place). */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Whether p holds well-formed UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF). */
static bool utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        if (i + k >= n)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
            c = c << 6 | (p[i + j] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        i += k + 1;
    }
    return true;
}

/* The tags of a stored JSON array as one cell: "a, b". */
static void tags_join(const char *json, struct buf *out)
{
    json_t *arr = json ? json_loads(json, 0, NULL) : NULL;
    size_t i;
    json_t *t;
    json_array_foreach(arr, i, t)
    {
        if (i)
            buf_puts(out, ", ");
        buf_puts(out, json_string_value(t) ? json_string_value(t) : "");
    }
    json_decref(arr);
}

int crm_csv_map_parse(const char *spec, struct arena *a, struct crm_csv_map **map, size_t *n,
                      struct errinfo *e)
{
    *map = NULL;
    *n = 0;
    if (!spec || !*spec)
        return 0;
    size_t cap = 1;
    for (const char *p = spec; *p; p++)
        cap += *p == ',';
    struct crm_csv_map *m = arena_alloc(a, cap * sizeof(*m));
    char *copy = arena_strdup(a, spec);
    size_t k = 0;
    for (char *save = NULL, *item = strtok_r(copy, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq)
            return failf(e, ERR_INVALID, "map: \"%s\" is not FIELD=COLUMN", trim(item));
        *eq = '\0';
        const char *field = trim(item), *column = trim(eq + 1);
        int f = crm_csv_field(field);
        if (f < 0)
            return failf(e, ERR_INVALID,
                         "map: unknown field \"%s\" (one of name, email, company, jobTitle, "
                         "status, tags)",
                         field);
        if (!*column)
            return failf(e, ERR_INVALID, "map: no column for %s", field_names[f]);
        for (size_t i = 0; i < k; i++)
            if (m[i].field == f)
                return failf(e, ERR_INVALID, "map: %s is mapped twice", field_names[f]);
        m[k].field = f;
        m[k++].column = column;
    }
    *map = m;
    *n = k;
    return 0;
}

/* The workspace's contacts by email (ASCII case folded), read once per
 * import: a lookup per row would cost a query (and on PostgreSQL a scan:
 * row security keeps the planner off the lower(email) index). */
struct known {
    struct known_slot {
        char *email;
        char id[STORE_ID_LEN];
    } * slots;
    size_t cap, n;
};

static uint64_t known_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s)) * 1099511628211ULL;
    return h;
}

static struct known_slot *known_find(struct known *k, const char *email)
{
    if (!k->cap)
        return NULL;
    for (size_t i = known_hash(email) & (k->cap - 1);; i = (i + 1) & (k->cap - 1))
        if (!k->slots[i].email || strcasecmp(k->slots[i].email, email) == 0)
            return &k->slots[i];
}

static void known_put(void *arg, const char *email, const char *id)
{
    struct known *k = arg;
    if (2 * (k->n + 1) > k->cap) {
        struct known old = *k;
        k->cap = old.cap ? old.cap * 2 : 1024;
        k->slots = xcalloc(k->cap, sizeof(*k->slots));
        k->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.slots[i].email) {
                *known_find(k, old.slots[i].email) = old.slots[i];
                k->n++;
            }
        free(old.slots);
    }
    struct known_slot *s = known_find(k, email);
    if (!s->email) {
        s->email = xstrdup(email);
        k->n++;
    }
    snprintf(s->id, sizeof(s->id), "%s", id);
}

static void known_release(struct known *k)
{
    for (size_t i = 0; i < k->cap; i++)
        free(k->slots[i].email);
    free(k->slots);
    memset(k, 0, sizeof(*k));
}

/* One row waiting for its batch. */
struct row {
    size_t record;
    char email[STORE_EMAIL_MAX];
    struct contact_fields f;
};

struct import {
    struct store *st;
    const char *ws;
    const struct crm_csv_opts *o;
    struct crm_csv_report *r;
    struct arena *report_arena;
    int col[CRM_CSV_NFIELDS]; /* column of each field, -1: not imported */
    struct arena batch_arena;
    struct row *rows;
    size_t nrows;
    struct known known;
    struct errinfo *e;
};

static void reject(struct import *im, size_t record, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reject(struct import *im, size_t record, const char *fmt, ...)
{
    struct crm_csv_report *r = im->r;
    r->rejected++;
    if (r->nrejects >= CRM_CSV_REJECTS_MAX)
        return;
    if (!r->rejects)
        r->rejects = arena_alloc(im->report_arena, CRM_CSV_REJECTS_MAX * sizeof(*r->rejects));
    struct crm_csv_reject *j = &r->rejects[r->nrejects++];
    j->row = record;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->reason, sizeof(j->reason), fmt, ap);
    va_end(ap);
}

/* Finds each field's column in the header. */
static int read_header(struct import *im, char *const *fields, size_t n)
{
    const struct crm_csv_opts *o = im->o;
    for (int k = 0; k < CRM_CSV_NFIELDS; k++)
        im->col[k] = -1;
    if (o->nmap) {
        for (size_t m = 0; m < o->nmap; m++) {
            int k = o->map[m].field;
            for (size_t i = 0; i < n && im->col[k] < 0; i++)
                if (strcasecmp(trim(fields[i]), o->map[m].column) == 0)
                    im->col[k] = (int)i;
            if (im->col[k] < 0)
                return failf(im->e, ERR_INVALID,
                             "map: the column \"%s\" (for %s) is not in the "
                             "header",
                             o->map[m].column, field_names[k]);
        }
    } else {
        for (int k = 0; k < CRM_CSV_NFIELDS; k++)
            for (size_t i = 0; i < n && im->col[k] < 0; i++)
                for (int a = 0; a < 5 && aliases[k][a]; a++)
                    if (strcasecmp(trim(fields[i]), aliases[k][a]) == 0)
                        im->col[k] = (int)i;
    }
    if (im->col[CRM_CSV_EMAIL] < 0)
        return failf(im->e, ERR_INVALID,
                     "no email column: name it in the header (email) or map it (email=COLUMN)");
    return 0;
}

/* A text cell: NULL when empty (the field is left alone), else checked. */
static int text_cell(struct import *im, size_t record, const char *label, const char *v,
                     const char **out)
{
    if (!*v)
        return 0;
    if (strlen(v) > FIELD_MAX) {
        reject(im, record, "%s is longer than %d characters", label, FIELD_MAX);
        return -1;
    }
    if (str_has_control(v, false)) {
        reject(im, record, "%s must not contain line breaks or control characters", label);
        return -1;
    }
    *out = arena_strdup(&im->batch_arena, v);
    return 0;
}

/* Tags: separated by , ; or |, each trimmed; into a JSON array. */
static int tags_cell(struct import *im, size_t record, char *v, const char **out)
{
    if (!*v)
        return 0;
    struct buf b;
    buf_init(&b, 8192);
    struct jw w;
    jw_init(&w, &b);
    jw_arr_begin(&w);
    int n = 0, rc = 0;
    const char *seen[TAGS_MAX];
    for (char *save = NULL, *t = strtok_r(v, ",;|", &save); t; t = strtok_r(NULL, ",;|", &save)) {
        const char *tag = trim(t);
        size_t len = strlen(tag);
        if (!len)
            continue;
        if (len > TAG_MAX || str_has_control(tag, false)) {
            reject(im, record, "each tag must be 1 to %d characters, without control characters",
                   TAG_MAX);
            rc = -1;
            break;
        }
        bool dup = false;
        for (int i = 0; i < n; i++)
            dup = dup || strcmp(seen[i], tag) == 0;
        if (dup)
            continue;
        if (n == TAGS_MAX) {
            reject(im, record, "at most %d tags", TAGS_MAX);
            rc = -1;
            break;
        }
        seen[n++] = tag;
        jw_str(&w, tag);
    }
    jw_arr_end(&w);
    if (!rc && jw_finish(&w) == 0)
        *out = arena_strdup(&im->batch_arena, buf_str(&b));
    buf_release(&b);
    return rc;
}

/* Checks one data record into a row; false when it was refused. */
static bool read_row(struct import *im, size_t record, char *const *fields, size_t n,
                     struct row *row)
{
    memset(row, 0, sizeof(*row));
    row->record = record;
    char *cell[CRM_CSV_NFIELDS];
    for (int k = 0; k < CRM_CSV_NFIELDS; k++)
        cell[k] = im->col[k] >= 0 && (size_t)im->col[k] < n ? trim(fields[im->col[k]]) : NULL;
    const char *email = cell[CRM_CSV_EMAIL];
    if (!email || !*email) {
        reject(im, record, "email is empty");
        return false;
    }
    if (strlen(email) >= sizeof(row->email) || !str_is_email(email)) {
        reject(im, record, "email is not a valid email address");
        return false;
    }
    snprintf(row->email, sizeof(row->email), "%s", email);
    struct contact_fields *f = &row->f;
    f->email = row->email;
    f->set = CF_EMAIL;
    static const struct {
        int field;
        const char *label;
        unsigned bit;
    } texts[] = {{CRM_CSV_NAME, "name", CF_NAME},
                 {CRM_CSV_COMPANY, "company", CF_COMPANY},
                 {CRM_CSV_JOB_TITLE, "jobTitle", CF_JOB_TITLE}};
    const char **dst[] = {&f->name, &f->company, &f->job_title};
    for (size_t i = 0; i < 3; i++) {
        const char *v = cell[texts[i].field];
        if (v && text_cell(im, record, texts[i].label, v, dst[i]))
            return false;
        if (*dst[i])
            f->set |= texts[i].bit;
    }
    char *status = cell[CRM_CSV_STATUS];
    if (status && *status) {
        for (char *p = status; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        if (!crm_status_valid(status)) {
            reject(im, record, "status must be one of prospect, lead, customer, contact");
            return false;
        }
        f->status = arena_strdup(&im->batch_arena, status);
        f->set |= CF_STATUS;
    }
    if (cell[CRM_CSV_TAGS] && tags_cell(im, record, cell[CRM_CSV_TAGS], &f->tags))
        return false;
    if (f->tags)
        f->set |= CF_TAGS;
    return true;
}

/* Counts of one batch, added to the report once it commits. */
struct counts {
    size_t created, updated, skipped;
};

/* One row: create, update or skip by its email. */
static int write_row(struct import *im, const struct row *row, struct counts *n, struct errinfo *e)
{
    struct known_slot *k = known_find(&im->known, row->email);
    struct contact out;
    int rc;
    if (!k || !k->email) {
        rc = crm_contact_create(im->st, im->ws, &row->f, im->o->source, im->o->now,
                                &im->batch_arena, &out, e);
        if (!rc) {
            known_put(&im->known, row->email, out.id);
            n->created++;
        }
        return rc;
    }
    if (!im->o->update) {
        n->skipped++;
        return 0;
    }
    struct contact_fields f = row->f;
    f.set &= ~(unsigned)CF_EMAIL; /* the same address: its case stays as stored */
    rc = f.set ? crm_contact_update(im->st, im->ws, k->id, &f, im->o->source, im->o->now,
                                    &im->batch_arena, &out, e)
               : 0;
    n->updated += rc == 0;
    return rc;
}

/* The map again from the database, after a rollback undid some of it. */
static int known_load(struct import *im, struct errinfo *e)
{
    known_release(&im->known);
    return store_contact_emails(im->st, im->ws, known_put, &im->known, e);
}

/* Writes the waiting rows in one transaction; when it fails, each row again
 * in its own, so that one bad row is reported and the others stay. */
static int flush(struct import *im)
{
    if (!im->nrows)
        return 0;
    struct counts n = {0, 0, 0};
    struct errinfo be;
    errinfo_clear(&be);
    int rc = store_tx_begin(im->st, &be);
    for (size_t i = 0; !rc && i < im->nrows; i++)
        rc = write_row(im, &im->rows[i], &n, &be);
    if (!rc)
        rc = store_tx_commit(im->st, &be);
    else
        store_tx_rollback(im->st);
    if (rc) {
        memset(&n, 0, sizeof(n));
        if ((rc = known_load(im, &be)))
            return failf(im->e, rc, "%s", be.msg);
        for (size_t i = 0; i < im->nrows; i++) {
            struct errinfo re;
            errinfo_clear(&re);
            int rrc = store_tx_begin(im->st, &re);
            if (!rrc)
                rrc = write_row(im, &im->rows[i], &n, &re);
            if (!rrc)
                rrc = store_tx_commit(im->st, &re);
            else
                store_tx_rollback(im->st);
            if (rrc == ERR_DB || rrc == ERR_INTERNAL || rrc == ERR_IO)
                return failf(im->e, rrc, "row %zu: %s", im->rows[i].record, re.msg);
            if (rrc) {
                reject(im, im->rows[i].record, "%s", re.msg);
                /* What the rolled-back row put in the map is not so. */
                if ((rrc = known_load(im, &re)))
                    return failf(im->e, rrc, "%s", re.msg);
            }
        }
    }
    im->r->created += n.created;
    im->r->updated += n.updated;
    im->r->skipped += n.skipped;
    im->nrows = 0;
    arena_release(&im->batch_arena);
    arena_init(&im->batch_arena, NULL, 0);
    if (im->o->progress)
        im->o->progress(im->o->progress_arg, im->r);
    return 0;
}

static int on_record(void *arg, size_t record, char *const *fields, const size_t *lens, size_t n)
{
    struct import *im = arg;
    if (record == 1)
        return read_header(im, fields, n);
    /* A cell holding a NUL byte is not text. */
    for (size_t i = 0; i < n; i++)
        if (strlen(fields[i]) != lens[i]) {
            im->r->rows++;
            reject(im, record, "column %zu holds a NUL byte", i + 1);
            return 0;
        }
    bool blank = true;
    for (size_t i = 0; i < n && blank; i++)
        blank = !*trim(fields[i]);
    if (blank)
        return 0;
    im->r->rows++;
    for (size_t i = 0; i < n; i++)
        if (!utf8_valid((const unsigned char *)fields[i], lens[i])) {
            reject(im, record, "column %zu is not valid UTF-8", i + 1);
            return 0;
        }
    if (read_row(im, record, fields, n, &im->rows[im->nrows]))
        im->nrows++;
    return im->nrows == CSV_BATCH ? flush(im) : 0;
}

int crm_csv_import(struct store *st, const char *workspace_id, const char *data, size_t len,
                   const struct crm_csv_opts *o, struct arena *a, struct crm_csv_report *r,
                   struct errinfo *e)
{
    memset(r, 0, sizeof(*r));
    struct import im = {.st = st, .ws = workspace_id, .o = o, .r = r, .report_arena = a, .e = e};
    arena_init(&im.batch_arena, NULL, 0);
    im.rows = xcalloc(CSV_BATCH, sizeof(*im.rows));
    int rc = known_load(&im, e);
    if (!rc)
        rc = csvio_parse(data, len, 0, CSV_MAX_COLUMNS, on_record, &im, e);
    if (!rc)
        rc = flush(&im);
    if (!rc && r->rows == 0 && r->rejected == 0 && im.col[CRM_CSV_EMAIL] < 0)
        rc = failf(e, ERR_INVALID, "the file is empty: a header row is required");
    free(im.rows);
    known_release(&im.known);
    arena_release(&im.batch_arena);
    return rc;
}

/* ---- export ---- */

int crm_csv_export(struct store *st, const char *workspace_id, crm_csv_sink_fn sink, void *arg,
                   size_t *count, struct errinfo *e)
{
    static const char header[] = "email,name,company,job_title,status,tags,score,unsubscribed\r\n";
    *count = 0;
    int rc = sink(arg, header, sizeof(header) - 1);
    struct buf b;
    buf_init(&b, 1 << 20);
    const int page = 1000;
    for (int offset = 0; !rc; offset += page) {
        struct arena a;
        arena_init(&a, NULL, 0);
        struct contact_query q = {
            .min_score = -1, .max_score = -1, .sort = CS_CREATED, .limit = page, .offset = offset};
        struct contact *rows;
        size_t n;
        int64_t total;
        rc = store_contact_list(st, workspace_id, &q, &a, &rows, &n, &total, e);
        for (size_t i = 0; !rc && i < n; i++) {
            const struct contact *c = &rows[i];
            buf_reset(&b);
            /* Tags as the import reads them: one cell, separated by ", ". */
            struct buf tags;
            buf_init(&tags, 1 << 16);
            tags_join(c->tags, &tags);
            csvio_put_cell(&b, c->email, ',');
            buf_putc(&b, ',');
            csvio_put_cell(&b, c->name, ',');
            buf_putc(&b, ',');
            csvio_put_cell(&b, c->company, ',');
            buf_putc(&b, ',');
            csvio_put_cell(&b, c->job_title, ',');
            buf_putc(&b, ',');
            csvio_put_cell(&b, c->status, ',');
            buf_putc(&b, ',');
            csvio_put_cell(&b, buf_str(&tags), ',');
            buf_printf(&b, ",%d,%s\r\n", c->ai_score, c->unsubscribed_at ? "yes" : "no");
            buf_release(&tags);
            rc = sink(arg, b.data, b.len);
            (*count)++;
        }
        arena_release(&a);
        if (!rc && n < (size_t)page)
            break;
    }
    buf_release(&b);
    return rc;
}
