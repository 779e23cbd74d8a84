/*
 * DKIM signatures on outgoing messages (RFC 6376): relaxed/relaxed
 * canonicalization (§3.4.2, §3.4.4), rsa-sha256 (§3.3.1) and ed25519-sha256
 * (RFC 8463), and the DNS key record (§3.6.1) receivers check them with.
 * The signature covers the serialised message exactly as it goes on the
 * wire; a signer is read-only once made, so many threads may share one.
 */
#ifndef LEADFLOW_MAIL_DKIM_H
#define LEADFLOW_MAIL_DKIM_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/err.h"

enum {
    DKIM_KEY_FILE_MAX = 64 * 1024, /* bytes of a PEM key file read */
    DKIM_SELECTOR_MAX = 63,        /* one DNS label */
    DKIM_DOMAIN_MAX = 253,
    DKIM_MSG_MAX = 16 * 1024 * 1024, /* bytes of a message signed */
};

struct dkim_signer;

/*
 * Makes a signer from cfg's dkim_key_file, dkim_selector and dkim_domain.
 * *out is NULL (and 0 returned) when no key file is configured. Otherwise
 * returns 0, or ERR_CONFIG with "dkim_key_file: PATH: reason" when the file
 * cannot be read, is readable or writable by group or others (it is
 * refused, like ssh refuses such keys), is not a PEM private key, or holds a
 * key other than RSA (1024 to 8192 bits) or Ed25519; also ERR_CONFIG when
 * dkim_selector is missing or not a DNS label, or dkim_domain is not a
 * domain name. Free with dkim_signer_free.
 */
int dkim_signer_new(const struct config *cfg, struct dkim_signer **out, struct errinfo *e);
void dkim_signer_free(struct dkim_signer *s);

/* "rsa-sha256" or "ed25519-sha256". */
const char *dkim_signer_algorithm(const struct dkim_signer *s);

/*
 * The signing domain for mail from from_email: dkim_domain when configured,
 * else the address's domain (lower case, into out of outsize bytes).
 * ERR_INVALID when from_email has no domain or it does not fit.
 */
int dkim_signer_domain(const struct dkim_signer *s, const char *from_email, char *out,
                       size_t outsize, struct errinfo *e);

/*
 * Signs msg (len bytes, RFC 5322 with CRLF line ends, as it will be sent):
 * *out (arena memory, *outlen bytes) is a DKIM-Signature header field
 * followed by msg unchanged. Signed: From, To, Subject, Date, Message-ID,
 * MIME-Version, Content-Type, List-Unsubscribe and List-Unsubscribe-Post
 * where present, and From once more than present (over-signed: a From added
 * on the way breaks the signature). now_s is t=, seconds since the epoch.
 * Returns 0, ERR_INVALID when the From address has no domain or the
 * message no header block, ERR_TOO_BIG over DKIM_MSG_MAX bytes (the
 * canonical body is held in memory), ERR_INTERNAL when signing fails.
 */
int dkim_sign(const struct dkim_signer *s, const char *msg, size_t len, const char *from_email,
              int64_t now_s, struct arena *a, const char **out, size_t *outlen, struct errinfo *e);

/*
 * Appends the key record to publish for domain, as a zone-file line:
 * SELECTOR._domainkey.DOMAIN. IN TXT ( "v=DKIM1; k=rsa; p=..." ) with the
 * text cut into strings of at most 255 bytes (RFC 1035 §3.3.14).
 * Returns 0, ERR_TOO_BIG when out is full, ERR_INTERNAL.
 */
int dkim_record(const struct dkim_signer *s, const char *domain, struct buf *out,
                struct errinfo *e);

/*
 * Canonicalization, relaxed (RFC 6376 §3.4.2): appends one header field
 * (n bytes: "Name: value" with any folding, with or without its final
 * CRLF) as "name:value\r\n", the name lower-cased, unfolded, runs of
 * spaces and tabs made one space, none at the end or around the colon.
 * Returns 0 or ERR_TOO_BIG.
 */
int dkim_canon_header(const char *field, size_t n, struct buf *out);

/*
 * Canonicalization, relaxed (RFC 6376 §3.4.4): appends the body (n bytes,
 * lines ended by CRLF; a bare LF counts as a line end) with spaces and tabs
 * at line ends removed, other runs of them made one space, empty lines at
 * the end removed, and a final CRLF added to a body that lacks one. An
 * empty body stays empty. Returns 0 or ERR_TOO_BIG.
 */
int dkim_canon_body(const char *body, size_t n, struct buf *out);

#endif
