/*
 * An IMAP4rev1 client (RFC 3501) over libcurl's IMAP support, for the inbox
 * source: the UIDVALIDITY of a folder (STATUS), the UIDs and \Seen flags
 * above a UID (UID FETCH n:* (UID FLAGS)), one message's bytes (libcurl's
 * ;UID= URL, whose FETCH BODY[] sets \Seen, so a client puts back the
 * flags of messages that were unread: UID STORE -FLAGS.SILENT). One
 * connection is kept for the client's calls; every call has a bounded time.
 */
#ifndef LEADFLOW_NET_IMAPC_H
#define LEADFLOW_NET_IMAPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"

enum imapc_tls {
    IMAPC_TLS,      /* TLS from the start (imaps, port 993) */
    IMAPC_STARTTLS, /* STARTTLS, required */
    IMAPC_NONE,     /* clear text */
};

enum {
    IMAPC_BASE_MAX = 512,   /* scheme, host and port */
    IMAPC_FOLDER_MAX = 200, /* a folder name's bytes */
};

struct imapc_opts {
    const char *host;
    int port;
    enum imapc_tls tls;
    const char *user, *password; /* borrowed, used for the client's life */
    const char *ca_file;         /* PEM CAs to check the server with; NULL: the system's */
    long timeout_ms;             /* per call; 0: 60 s */
};

struct imapc_msg {
    uint32_t uid;
    bool seen;
};

struct imapc;

struct imapc *imapc_new(const struct imapc_opts *o, struct errinfo *e);
void imapc_free(struct imapc *c);

/*
 * Errors of every call: ERR_UNAUTHORIZED when the server refuses the login;
 * ERR_NOT_FOUND when the folder (or the message) does not exist;
 * ERR_CONFLICT when the folder's UIDVALIDITY is not uidvalidity any more;
 * ERR_FORBIDDEN when TLS cannot be had (no STARTTLS, an untrusted
 * certificate); ERR_INVALID when the server refuses a command;
 * ERR_TEMPORARY when the server cannot be reached or the time runs out.
 * e says which in words a person can act on.
 */

/* STATUS folder (MESSAGES UIDVALIDITY UIDNEXT); uidnext is 0 and messages
 * UINT32_MAX when the server leaves them out. */
struct imapc_status {
    uint32_t uidvalidity, uidnext, messages;
};
int imapc_status(struct imapc *c, const char *folder, struct imapc_status *out, struct errinfo *e);

/* The messages with a UID above after, in UID order, at most max (in a). */
int imapc_list(struct imapc *c, const char *folder, uint32_t uidvalidity, uint32_t after,
               size_t max, struct arena *a, struct imapc_msg **msgs, size_t *n, struct errinfo *e);

/* One message's bytes into raw (reset first; its limit bounds the size:
 * ERR_TOO_BIG over it). */
int imapc_fetch(struct imapc *c, const char *folder, uint32_t uidvalidity, uint32_t uid,
                struct buf *raw, struct errinfo *e);

/* Clears \Seen on the given UIDs (messages that were unread before a fetch). */
int imapc_unsee(struct imapc *c, const char *folder, uint32_t uidvalidity, const uint32_t *uids,
                size_t n, struct errinfo *e);

#endif
