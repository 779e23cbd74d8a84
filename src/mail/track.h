/*
 * Open and click tracking and one-click unsubscribe. Links carry signed
 * tokens (HMAC-SHA256 with a key derived from the secret key; base64url):
 * a forged or altered token is refused and never redirects anywhere.
 *   open pixel   PUBLIC_URL/t/o/{token}.gif
 *   click        PUBLIC_URL/t/c/{token}   (the token holds the target URL)
 *   unsubscribe  PUBLIC_URL/u/{token}     (GET: a page; POST: RFC 8058 one-click)
 * Opens and clicks become email_events with a bot flag (known scanner user
 * agents, opens within seconds of delivery, prefetch) and count towards the
 * contact's score when not bots.
 *
 * Token format (version 1), base64url without padding of
 *   0x01 | kind ('o','c','u') | workspace, sent email, contact ids (16 bytes
 *   each: the UUIDs' bytes) | click URL (clicks only, to the end) | tag
 * where tag is the first TRACK_TAG_LEN bytes of HMAC-SHA256 over everything
 * before it, keyed with HMAC-SHA256(secret key, "leadflow track v1").
 */
#ifndef LEADFLOW_MAIL_TRACK_H
#define LEADFLOW_MAIL_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "base/arena.h"
#include "base/config.h"
#include "base/err.h"
#include "store/store.h"

enum track_kind { TRACK_OPEN = 'o', TRACK_CLICK = 'c', TRACK_UNSUBSCRIBE = 'u' };

enum {
    TRACK_TAG_LEN = 16,        /* bytes of the HMAC kept in a token */
    TRACK_URL_MAX = 2048,      /* longer links are left untracked */
    TRACK_BOT_WINDOW_MS = 2000 /* opens and clicks this soon after sending are machines */
};

/* What a token says. */
struct track_claim {
    int kind; /* enum track_kind */
    char workspace_id[37];
    char sent_email_id[37];
    char contact_id[37];
    const char *url; /* clicks: the target (arena memory) */
};

/*
 * A signed token for claim, in arena memory; NULL when the claim cannot be
 * signed (an id that is not a lower-case UUID, a click URL that
 * track_url_ok() refuses, a URL on another kind, no secret key).
 */
const char *track_token(const struct config *cfg, const struct track_claim *c, struct arena *a);
/*
 * Checks and decodes a token; ERR_NOT_FOUND for anything forged, altered or
 * malformed (also a click URL that track_url_ok() refuses). out->url is NULL
 * for opens and unsubscribes.
 */
int track_verify(const struct config *cfg, const char *token, struct arena *a,
                 struct track_claim *out, struct errinfo *e);

/*
 * The tracked versions of an outgoing email: every http(s) link of html
 * rewritten to a click URL, an open pixel before </body> (or at the end),
 * and an unsubscribe footer in both parts. *unsubscribe_url gets the URL for
 * the List-Unsubscribe header. All in arena memory.
 */
int track_render(const struct config *cfg, const char *workspace_id, const char *sent_email_id,
                 const char *contact_id, const char *text, const char *html, struct arena *a,
                 const char **text_out, const char **html_out, const char **unsubscribe_url,
                 struct errinfo *e);

/*
 * Whether url (n bytes) may be signed into a click token and redirected to:
 * http or https with a host, at most TRACK_URL_MAX bytes of printable ASCII
 * with no quote, angle bracket or backslash. Never javascript:, data: or a
 * scheme-relative "//host".
 */
bool track_url_ok(const char *url, size_t n);

/* What a request to a tracking URL looked like, for the bot rules. */
struct track_request {
    const char *user_agent; /* NULL when absent */
    const char *ip;         /* the peer's address */
    bool head;              /* a HEAD request: link checkers, never a person */
    bool prefetch;          /* Purpose, Sec-Purpose, X-Purpose or X-Moz: prefetch/preview */
};

/*
 * Why an open or click looks automated, or NULL for a person: "head",
 * "prefetch", "no_user_agent", "scanner:<name>" (known security scanners,
 * link previewers, HTTP libraries, headless browsers), "too_soon" (within
 * TRACK_BOT_WINDOW_MS of sent_at; sent_at 0 skips that rule). Gmail's image
 * proxy (GoogleImageProxy) fetches when a person opens: it counts as one.
 * Returns a static string.
 */
const char *track_bot_reason(const struct track_request *r, int64_t sent_at, int64_t now);

/*
 * Records an open or a click of c as an email_events row with the bot flag
 * and, when a person made it, refreshes the contact's score. *bot_reason
 * (may be NULL) gets what track_bot_reason() said. ERR_NOT_FOUND when the
 * sent email is no longer in the workspace (nothing is recorded). a is
 * scratch for the rescoring.
 */
int track_record(struct store *st, const struct track_claim *c, const struct track_request *r,
                 int64_t now, struct arena *a, const char **bot_reason, struct errinfo *e);

/*
 * Unsubscribes c's contact (idempotent: *changed says whether this call did)
 * and, the first time, records an unsubscribe event. ERR_NOT_FOUND when the
 * contact is no longer in the workspace.
 */
int track_unsubscribe(struct store *st, const struct track_claim *c, const struct track_request *r,
                      int64_t now, bool *changed, struct errinfo *e);

#endif
