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
 */
#ifndef LEADFLOW_MAIL_TRACK_H
#define LEADFLOW_MAIL_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/config.h"
#include "base/err.h"

enum track_kind { TRACK_OPEN = 'o', TRACK_CLICK = 'c', TRACK_UNSUBSCRIBE = 'u' };

/* What a token says. */
struct track_claim {
    int kind;                    /* enum track_kind */
    char workspace_id[37];
    char sent_email_id[37];
    char contact_id[37];
    const char *url;             /* clicks: the target (arena memory) */
};

/* A signed token for claim, in arena memory. */
const char *track_token(const struct config *cfg, const struct track_claim *c, struct arena *a);
/* Checks and decodes a token; ERR_NOT_FOUND for anything forged, altered or malformed. */
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

#endif
