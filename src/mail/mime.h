/*
 * Parsing of one RFC 5322 message (MIME: RFC 2045-2047, 2231) into the
 * fields the pipeline uses. The only module that includes GMime. Every
 * string in a struct mail_msg is UTF-8, NUL-terminated and lives in the
 * caller's arena; absent fields are NULL (or 0), except body_text and
 * new_text, which are "" when the message has no text part.
 *
 * mime_init() runs once per process before any parse (it is not
 * thread-safe); after it, mime_parse() may run on many threads at once.
 */
#ifndef LEADFLOW_MAIL_MIME_H
#define LEADFLOW_MAIL_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

enum {
    MIME_MAX_DEPTH = 32,        /* deeper multiparts are not descended into */
    MIME_MAX_ADDRS = 100,       /* To + Cc addresses kept */
    MIME_MAX_TEXT = 256 * 1024, /* bytes of body text kept (cut at a UTF-8 boundary) */
};

struct mail_addr {
    const char *name;  /* display name, decoded; NULL when none */
    const char *email; /* addr-spec, lower-cased domain; NULL when absent */
};

/*
 * What a bounce or complaint report says (RFC 3464 delivery status
 * notification, RFC 5965 feedback report: multipart/report with
 * report-type delivery-status or feedback-report).
 */
enum mail_report_kind {
    REPORT_OTHER,     /* a report saying nothing we act on (delivered, relayed...) */
    REPORT_BOUNCE,    /* Action: failed with a 5.x.x Status: refused for good */
    REPORT_DEFERRED,  /* Action: delayed, or a 4.x.x Status: still being tried */
    REPORT_COMPLAINT, /* Feedback-Type: abuse */
};

struct mail_report {
    enum mail_report_kind kind;
    const char *recipient;   /* the address it is about (lower case), or NULL */
    const char *status;      /* a DSN's Status ("5.1.1"), or NULL */
    const char *original_id; /* the returned message's Message-ID, no brackets; or NULL */
};

struct mail_msg {
    const char *message_id;  /* without angle brackets */
    const char *in_reply_to; /* first id, without angle brackets */
    const char *references;  /* ids separated by one space, without brackets */
    const char *subject;     /* RFC 2047 words decoded, folding removed */
    struct mail_addr from;
    struct mail_addr reply_to;
    struct mail_addr *to; /* To then Cc */
    size_t nto;
    int64_t date_ms;       /* Date: header as ms since the epoch (UTC); 0 when absent or bad */
    const char *body_text; /* the whole text body: text/plain, else HTML converted */
    const char *new_text;  /* body_text without quoted replies and the signature */
    const char *signature; /* the signature block ("-- " line or a sign-off), or NULL */
    bool html_only;        /* body_text was converted from text/html */
    bool automated;  /* a list, newsletter, bulk mail or automatic reply (List-Id, Precedence...) */
    bool truncated;  /* body_text was cut at MIME_MAX_TEXT */
    int attachments; /* parts skipped as attachments */
    /* A delivery status or feedback report (then also automated); or NULL. */
    const struct mail_report *report;
};

int mime_init(void);

/*
 * The report of fields, the body of a message/delivery-status or
 * message/feedback-report part (text, n bytes): the first per-recipient
 * verdict that matters most (a hard bounce over a deferral) and its
 * address, or the feedback type and its Original-Rcpt-To. feedback says
 * which of the two text is. out->original_id is left alone.
 */
void mime_report_fields(const char *text, size_t n, bool feedback, struct arena *a,
                        struct mail_report *out);

/*
 * Parses raw (len bytes, need not be NUL-terminated) into out. Lenient like a
 * mail reader: a damaged part is skipped and parsing goes on. Fails only when
 * there is no message at all: ERR_INVALID "not an email message: <reason>"
 * (no header block, no From address).
 */
int mime_parse(const char *raw, size_t len, struct arena *a, struct mail_msg *out,
               struct errinfo *e);

/* ---- Building outgoing messages (RFC 5322, RFC 2046 multipart/alternative,
 * RFC 2047 encoded words, RFC 2369/8058 List-Unsubscribe) ---- */

struct send_msg; /* mail/send.h */

/*
 * The message m as RFC 5322 text with CRLF line ends, in arena memory
 * (*out, *len): From, To, Subject (encoded as needed), Date (date_ms),
 * Message-ID, MIME-Version, List-Unsubscribe and List-Unsubscribe-Post when
 * m has an unsubscribe URL; a text/plain part, or multipart/alternative
 * with text/html when m has html. ERR_INVALID when a header value holds a
 * CR or LF (no header can be injected) or an address is not one.
 */
int mime_build(const struct send_msg *m, int64_t date_ms, struct arena *a, const char **out,
               size_t *len, struct errinfo *e);

#endif
