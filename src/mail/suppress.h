/*
 * The suppression list of a workspace: addresses no email goes to. Hard
 * bounces and unsubscribes put an address there (a reaction to the
 * contact's change, crm/crm.h), as do spam complaints and manual entries;
 * the send chain (mail/send.h) checks it before any provider is tried,
 * whichever path the email came by.
 */
#ifndef LEADFLOW_MAIL_SUPPRESS_H
#define LEADFLOW_MAIL_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>

/* The reasons an address is listed, in the order of the "must be one of" message. */
extern const char *const suppress_reasons[];
extern const size_t suppress_nreasons;

/* Whether name is one of suppress_reasons. */
bool suppress_reason_known(const char *name);

#endif
