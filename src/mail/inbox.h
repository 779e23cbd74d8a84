/*
 * Inbox sources: where raw messages come from. A source is a struct whose
 * first member is its method table; the pipeline pulls messages with
 * inbox_next() until it returns 0. Sources here: files (.eml, mbox, Maildir
 * directories; format found from the content, not the name) and a memory
 * buffer (an API upload: one message or an mbox). Gmail is in gmail.h.
 */
#ifndef LEADFLOW_MAIL_INBOX_H
#define LEADFLOW_MAIL_INBOX_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum {
    INBOX_MAX_MESSAGE = 64 * 1024 * 1024, /* a larger message is rejected with a reason */
};

struct inbox_msg {
    const char *raw; /* borrowed: valid until the next inbox_next() */
    size_t len;
    const char *origin; /* "path", "path#12" (12th message of an mbox); borrowed likewise */
};

struct inbox;

struct inbox_ops {
    const char *name;
    /*
     * 1 with the next message in *m; 0 at the end; a negative ERR_* when one
     * item could not be read (e says which and why): the caller counts it as
     * rejected and calls again, the source goes on with the next item.
     */
    int (*next)(struct inbox *in, struct inbox_msg *m, struct errinfo *e);
    /* Bytes consumed and total, for progress; total 0 when unknown. */
    void (*progress)(struct inbox *in, uint64_t *done, uint64_t *total);
    void (*free)(struct inbox *in);
};

struct inbox {
    const struct inbox_ops *ops;
};

/*
 * A source over paths: each a .eml file, an mbox file, or a Maildir (a
 * directory with cur/ and new/; other directories are walked for files).
 * Files are mapped, not read. Returns NULL with e when no path can be used.
 */
struct inbox *inbox_files_new(const char *const *paths, size_t npaths, struct errinfo *e);

/* A source over one buffer (borrowed): an mbox when it starts with "From ",
 * else one message. */
struct inbox *inbox_memory_new(const char *data, size_t len, const char *origin);

/* The same over a file (an upload kept on disk), mapped rather than read:
 * origin names it in messages instead of its path. NULL with e when the
 * file cannot be opened. */
struct inbox *inbox_file_new(const char *path, const char *origin, struct errinfo *e);

static inline int inbox_next(struct inbox *in, struct inbox_msg *m, struct errinfo *e)
{
    return in->ops->next(in, m, e);
}

static inline void inbox_free(struct inbox *in)
{
    if (in)
        in->ops->free(in);
}

/*
 * The mbox splitter (mboxo/mboxrd): finds the message starting at *pos in
 * data[0..len) after its "From " separator line. Returns 1 with the message
 * in [*start, *start + *mlen) and *pos moved past it, 0 at the end. ">From "
 * lines are left quoted (the parser sees them as text).
 */
int mbox_next(const char *data, size_t len, size_t *pos, size_t *start, size_t *mlen);

#endif
