/*
 * Inbox sources over files and memory: .eml files, mbox files (mboxo and
 * mboxrd, the "From " separated format of RFC 4155) and Maildir directories.
 * Files are mapped read-only one at a time; the format is found from the
 * content.
 */
#include "mail/inbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"

enum {
    SNIFF_LEN = 4096,  /* bytes checked for NUL when telling text from binary */
    WALK_DEPTH = 16,   /* directory levels walked below a path */
    ORIGIN_MAX = 8192, /* bytes of an origin string (a path and "#N") */
};
/* A mapped mbox gives back the pages it has read past every this many bytes. */
#define DROP_EVERY ((size_t)8 * 1024 * 1024)

/* ---- the mbox splitter --------------------------------------------------- */

/* A From_ line: "From " then the sender, a blank and a date with a time of
 * day ("From alice@example.com Mon Jan  1 10:00:00 2024"). The time keeps a
 * body line that starts with "From " from splitting a message in mboxo
 * files that did not quote it. */
static bool is_from_line(const char *p, size_t n)
{
    if (n < 5 || memcmp(p, "From ", 5) != 0)
        return false;
    const char *nl = memchr(p, '\n', n);
    size_t len = nl ? (size_t)(nl - p) : n;
    size_t i = 5;
    while (i < len && p[i] == ' ')
        i++;
    size_t sender = i;
    while (i < len && p[i] != ' ' && p[i] != '\t')
        i++;
    if (i == sender || i >= len)
        return false;
    for (; i + 4 < len; i++)
        if (p[i] >= '0' && p[i] <= '9' && p[i + 1] >= '0' && p[i + 1] <= '9' && p[i + 2] == ':' &&
            p[i + 3] >= '0' && p[i + 3] <= '9' && p[i + 4] >= '0' && p[i + 4] <= '9')
            return true;
    return false;
}

/* The offset of the next From_ line at or after from (at a line start), or len. */
static size_t next_from(const char *data, size_t len, size_t from)
{
    size_t i = from;
    while (i < len) {
        const char *hit = memmem(data + i, len - i, "\nFrom ", 6);
        if (!hit)
            return len;
        size_t at = (size_t)(hit - data) + 1;
        if (is_from_line(data + at, len - at))
            return at;
        i = at;
    }
    return len;
}

int mbox_next(const char *data, size_t len, size_t *pos, size_t *start, size_t *mlen)
{
    size_t p = *pos;
    if (p >= len)
        return 0;
    if (len - p >= 5 && memcmp(data + p, "From ", 5) == 0) {
        const char *nl = memchr(data + p, '\n', len - p);
        p = nl ? (size_t)(nl - data) + 1 : len;
    }
    size_t s = p;
    /* The separator may follow the From_ line directly (an empty message). */
    size_t next = s > 0 ? next_from(data, len, s - 1) : next_from(data, len, 0);
    if (next < s)
        next = s;
    size_t end = next;
    /* The blank line before the next separator belongs to the mbox. */
    if (next < len) {
        if (end >= s + 2 && data[end - 1] == '\n' && data[end - 2] == '\n')
            end--;
        else if (end >= s + 4 && memcmp(data + end - 4, "\r\n\r\n", 4) == 0)
            end -= 2;
    }
    *start = s;
    *mlen = end - s;
    *pos = next;
    return 1;
}

/* ---- shared: one buffer, one message or an mbox -------------------------- */

struct cursor {
    const char *data;
    size_t len, pos;
    bool mbox;
    bool done;
    bool mapped;    /* data is a read-only file mapping (give_back applies) */
    size_t dropped; /* bytes of it given back so far */
    size_t n;       /* messages returned from this buffer */
};

/*
 * A mapping's pages count in the process's resident memory for as long as
 * they stay mapped, so a large mbox read to the end would hold all of it.
 * The pages before the message about to be returned are no longer needed
 * (the previous message is borrowed only until this call), and dropping a
 * read-only file mapping's pages loses nothing: touched again, they are
 * read from the file again.
 */
static void give_back(struct cursor *c)
{
    if (!c->mapped || c->pos - c->dropped < DROP_EVERY)
        return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t upto = c->pos / page * page;
    if (upto > c->dropped) {
        madvise((char *)c->data + c->dropped, upto - c->dropped, MADV_DONTNEED);
        c->dropped = upto;
    }
}

static void cursor_init(struct cursor *c, const char *data, size_t len, bool mbox)
{
    memset(c, 0, sizeof(*c));
    c->data = data;
    c->len = len;
    c->mbox = mbox;
}

/* 1 with the next message of the buffer, 0 at its end. */
static int cursor_next(struct cursor *c, const char **raw, size_t *len)
{
    if (c->done)
        return 0;
    if (!c->mbox) {
        c->done = true;
        c->pos = c->len;
        c->n = 1;
        *raw = c->data;
        *len = c->len;
        return 1;
    }
    size_t s, n;
    give_back(c);
    if (!mbox_next(c->data, c->len, &c->pos, &s, &n)) {
        c->done = true;
        return 0;
    }
    c->n++;
    *raw = c->data + s;
    *len = n;
    return 1;
}

static bool starts_mbox(const char *p, size_t n)
{
    return n >= 5 && memcmp(p, "From ", 5) == 0;
}

/* "Name:" on the first line: a header field (RFC 5322 section 2.2). */
static bool looks_like_header(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && (unsigned char)p[i] > 32 && (unsigned char)p[i] < 127 && p[i] != ':')
        i++;
    if (i == 0)
        return false;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    return i < n && p[i] == ':';
}

/* ---- files ---------------------------------------------------------------- */

struct item {
    char *path;
    uint64_t size;
    int err; /* errno from stat, 0 when the file could be listed */
};

struct files {
    struct inbox base;
    struct item *items;
    size_t n, cap, cur;          /* cur: the item being read, or the next to open */
    uint64_t total, done_before; /* done_before: bytes of the items already finished */
    char *map;
    size_t map_len;
    bool open; /* items[cur] is mapped and being read */
    struct cursor c;
    struct buf origin;
};

static void items_add(struct files *f, const char *path, uint64_t size, int err)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->items = xrealloc(f->items, f->cap * sizeof(*f->items));
    }
    f->items[f->n].path = xstrdup(path);
    f->items[f->n].size = size;
    f->items[f->n].err = err;
    f->n++;
    f->total += size;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir, without dot files, sorted; NULL when it cannot be read. */
static char **list_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    *count = 0;
    if (!d)
        return NULL;
    size_t n = 0, cap = 16;
    char **names = xmalloc(cap * sizeof(*names));
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap *= 2;
            names = xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_name);
    *count = n;
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = xmalloc(a + b + 2);
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void add_path(struct files *f, const char *path, int depth);

/* The regular files of dir, in name order (Maildir: cur/ then new/). */
static void add_dir(struct files *f, const char *dir, int depth)
{
    char *cur = join_path(dir, "cur"), *nw = join_path(dir, "new");
    bool maildir = is_dir(cur) || is_dir(nw);
    if (maildir) {
        const char *subs[2] = {cur, nw};
        for (int k = 0; k < 2; k++) {
            size_t n;
            char **names = list_dir(subs[k], &n);
            for (size_t i = 0; i < n; i++) {
                char *p = join_path(subs[k], names[i]);
                struct stat st;
                if (stat(p, &st) != 0)
                    items_add(f, p, 0, errno);
                else if (S_ISREG(st.st_mode))
                    items_add(f, p, (uint64_t)st.st_size, 0);
                free(p);
            }
            free_names(names, n);
        }
    }
    free(cur);
    free(nw);
    if (maildir)
        return;
    size_t n;
    char **names = list_dir(dir, &n);
    if (!names) {
        items_add(f, dir, 0, errno ? errno : EACCES);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *p = join_path(dir, names[i]);
        add_path(f, p, depth + 1);
        free(p);
    }
    free_names(names, n);
}

static void add_path(struct files *f, const char *path, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        items_add(f, path, 0, errno);
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        if (depth < WALK_DEPTH)
            add_dir(f, path, depth);
        return;
    }
    if (S_ISREG(st.st_mode))
        items_add(f, path, (uint64_t)st.st_size, 0);
    else if (depth == 0)
        items_add(f, path, 0, EINVAL); /* a device or a pipe named on purpose */
}

static void files_close(struct files *f)
{
    if (f->map)
        munmap(f->map, f->map_len);
    f->map = NULL;
    f->map_len = 0;
    if (f->open) {
        f->done_before += f->items[f->cur].size;
        f->cur++;
    }
    f->open = false;
}

/* Maps items[cur]; an error names the file and moves past it. */
static int files_open(struct files *f, struct errinfo *e)
{
    struct item *it = &f->items[f->cur];
    int rc = 0;
    if (it->err) {
        rc = failf(e, ERR_IO, "%s: %s", it->path, strerror(it->err));
        goto skip;
    }
    int fd = open(it->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = failf(e, ERR_IO, "%s: %s", it->path, strerror(errno));
        goto skip;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = failf(e, ERR_IO, "%s: %s", it->path, strerror(errno));
        close(fd);
        goto skip;
    }
    size_t len = (size_t)st.st_size;
    if (len == 0) {
        close(fd);
        rc = failf(e, ERR_INVALID, "%s: empty file", it->path);
        goto skip;
    }
    char *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int merr = errno;
    close(fd);
    if (map == MAP_FAILED) {
        rc = failf(e, ERR_IO, "%s: %s", it->path, strerror(merr));
        goto skip;
    }
    madvise(map, len, MADV_SEQUENTIAL);
    f->map = map;
    f->map_len = len;
    f->open = true;
    size_t sniff = len < SNIFF_LEN ? len : SNIFF_LEN;
    bool mbox = starts_mbox(map, len);
    if (memchr(map, '\0', sniff) || (!mbox && !looks_like_header(map, len))) {
        files_close(f);
        return failf(e, ERR_INVALID, "%s: not an email message or mbox", it->path);
    }
    if (!mbox && len > INBOX_MAX_MESSAGE) {
        files_close(f);
        return failf(e, ERR_TOO_BIG, "%s: message of %zu bytes is over the limit of %d bytes",
                     it->path, len, INBOX_MAX_MESSAGE);
    }
    cursor_init(&f->c, map, len, mbox);
    f->c.mapped = true;
    return 0;

skip:
    f->done_before += it->size;
    f->cur++;
    return rc;
}

static int files_next(struct inbox *in, struct inbox_msg *m, struct errinfo *e)
{
    struct files *f = (struct files *)in;
    for (;;) {
        if (!f->open) {
            if (f->cur >= f->n)
                return 0;
            int rc = files_open(f, e);
            if (rc)
                return rc;
        }
        const char *raw;
        size_t len;
        if (!cursor_next(&f->c, &raw, &len)) {
            files_close(f);
            continue;
        }
        const char *path = f->items[f->cur].path;
        buf_reset(&f->origin);
        if (f->c.mbox)
            buf_printf(&f->origin, "%s#%zu", path, f->c.n);
        else
            buf_puts(&f->origin, path);
        if (len > INBOX_MAX_MESSAGE)
            return failf(e, ERR_TOO_BIG, "%s: message of %zu bytes is over the limit of %d bytes",
                         buf_str(&f->origin), len, INBOX_MAX_MESSAGE);
        m->raw = raw;
        m->len = len;
        m->origin = buf_str(&f->origin);
        return 1;
    }
}

static void files_progress(struct inbox *in, uint64_t *done, uint64_t *total)
{
    struct files *f = (struct files *)in;
    uint64_t d = f->done_before;
    if (f->open) {
        uint64_t part = f->c.pos;
        d += part < f->items[f->cur].size ? part : f->items[f->cur].size;
    }
    *total = f->total;
    *done = d < f->total ? d : f->total;
}

static void files_free(struct inbox *in)
{
    struct files *f = (struct files *)in;
    if (f->map)
        munmap(f->map, f->map_len);
    for (size_t i = 0; i < f->n; i++)
        free(f->items[i].path);
    free(f->items);
    buf_release(&f->origin);
    free(f);
}

static const struct inbox_ops files_ops = {
    .name = "files",
    .next = files_next,
    .progress = files_progress,
    .free = files_free,
};

struct inbox *inbox_files_new(const char *const *paths, size_t npaths, struct errinfo *e)
{
    struct files *f = XNEW(struct files);
    f->base.ops = &files_ops;
    buf_init(&f->origin, ORIGIN_MAX);
    for (size_t i = 0; i < npaths; i++)
        add_path(f, paths[i], 0);
    bool usable = false;
    for (size_t i = 0; i < f->n && !usable; i++)
        usable = f->items[i].err == 0;
    if (!usable && f->n > 0) {
        failf(e, ERR_IO, "%s: %s", f->items[0].path, strerror(f->items[0].err));
        files_free(&f->base);
        return NULL;
    }
    if (npaths == 0) {
        failf(e, ERR_INVALID, "no path to read");
        files_free(&f->base);
        return NULL;
    }
    return &f->base;
}

/* ---- memory --------------------------------------------------------------- */

struct memory {
    struct inbox base;
    struct cursor c;
    char *origin;
    struct buf name;
    void *map; /* inbox_file_new's mapping, or NULL */
    size_t map_len;
};

static int memory_next(struct inbox *in, struct inbox_msg *m, struct errinfo *e)
{
    struct memory *mem = (struct memory *)in;
    const char *raw;
    size_t len;
    if (!cursor_next(&mem->c, &raw, &len))
        return 0;
    buf_reset(&mem->name);
    if (mem->c.mbox)
        buf_printf(&mem->name, "%s#%zu", mem->origin, mem->c.n);
    else
        buf_puts(&mem->name, mem->origin);
    if (len > INBOX_MAX_MESSAGE)
        return failf(e, ERR_TOO_BIG, "%s: message of %zu bytes is over the limit of %d bytes",
                     buf_str(&mem->name), len, INBOX_MAX_MESSAGE);
    m->raw = raw;
    m->len = len;
    m->origin = buf_str(&mem->name);
    return 1;
}

static void memory_progress(struct inbox *in, uint64_t *done, uint64_t *total)
{
    struct memory *mem = (struct memory *)in;
    *done = mem->c.pos;
    *total = mem->c.len;
}

static void memory_free(struct inbox *in)
{
    struct memory *mem = (struct memory *)in;
    if (mem->map)
        munmap(mem->map, mem->map_len);
    free(mem->origin);
    buf_release(&mem->name);
    free(mem);
}

static const struct inbox_ops memory_ops = {
    .name = "memory",
    .next = memory_next,
    .progress = memory_progress,
    .free = memory_free,
};

struct inbox *inbox_memory_new(const char *data, size_t len, const char *origin)
{
    struct memory *mem = XNEW(struct memory);
    mem->base.ops = &memory_ops;
    mem->origin = xstrdup(origin && *origin ? origin : "upload");
    buf_init(&mem->name, ORIGIN_MAX);
    cursor_init(&mem->c, data ? data : "", data ? len : 0, data && starts_mbox(data, len));
    if (mem->c.len == 0)
        mem->c.done = true;
    return &mem->base;
}

struct inbox *inbox_file_new(const char *path, const char *origin, struct errinfo *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        failf(e, ERR_IO, "%s: %s", origin, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        failf(e, ERR_IO, "%s: %s", origin, strerror(errno));
        close(fd);
        return NULL;
    }
    size_t len = (size_t)st.st_size;
    void *map = NULL;
    if (len > 0) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            failf(e, ERR_IO, "%s: %s", origin, strerror(errno));
            close(fd);
            return NULL;
        }
        madvise(map, len, MADV_SEQUENTIAL);
    }
    close(fd);
    struct inbox *in = inbox_memory_new(map, len, origin);
    struct memory *mem = (struct memory *)in;
    mem->map = map;
    mem->map_len = len;
    mem->c.mapped = map != NULL;
    return in;
}
