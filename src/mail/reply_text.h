/*
 * The new text of a reply: what the sender wrote in this message, apart from
 * the quoted history, forwarded messages and the signature. Works on the text
 * of a message (text/plain, or HTML as mime.c converts it, where blockquotes
 * and the quote containers of Gmail, Outlook and Yahoo come out as lines
 * starting with "> ").
 *
 * What ends the new text (the first of these outside quoted lines):
 * - an attribution line, "On <date>, <name> wrote:", in English, German,
 *   French, Spanish, Portuguese, Italian, Dutch, Swedish, Danish, Norwegian
 *   and Polish, also wrapped over up to three lines;
 * - Outlook's header block ("From:" then "Sent:"/"Date:"/"Subject:" within a
 *   few lines) in the same languages ("Von:/Gesendet:", "De :/Envoyé :",
 *   "Da:/Inviato:", "Från:/Skickat:", "Od:/Wysłano:"...);
 * - "-----Original Message-----", "---------- Forwarded message ---------",
 *   "Begin forwarded message:" and their localized forms;
 * - a mobile client's line ("Sent from my iPhone", "Von meinem iPhone
 *   gesendet", "Get Outlook for Android"), neither text nor signature;
 * - a "-- " line, or a sign-off ("Best regards,", "Mit freundlichen Grüßen",
 *   "Un saludo, Lucía") followed by a few short lines: the sign-off and the
 *   sender's name (on its line, or the next line when that is just a name)
 *   stay, the block from the name on is the signature;
 * - without a sign-off, a line that is just a name followed only by lines
 *   that are no sentences (title, company, address, phone): the name stays;
 * - a legal disclaimer ("CONFIDENTIALITY NOTICE", "This e-mail and any
 *   attachments are confidential..."), a list footer ("You are receiving
 *   this...", "Unsubscribe") or a calendar's boilerplate below an answer to
 *   an invitation ("Join with Google Meet", "Microsoft Teams meeting").
 * Lines starting with ">" are left out wherever they are, so that text written
 * between quotes (an inline or bottom-posted reply) is kept; when nothing is
 * written above the first quote header, the text below it is read.
 */
#ifndef LEADFLOW_MAIL_REPLY_TEXT_H
#define LEADFLOW_MAIL_REPLY_TEXT_H

#include <stddef.h>

#include "base/arena.h"

struct reply {
    const char *text;      /* the new text, trimmed, blank runs squeezed; "" when none */
    const char *signature; /* the signature block, or NULL */
    size_t quote_at;       /* byte offset in the input where the history starts, or its length */
};

/* Splits text (UTF-8, NUL-terminated) into out; strings live in a. */
void reply_split(struct arena *a, const char *text, struct reply *out);

#endif
