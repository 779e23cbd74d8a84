/*
 * The names of an email's intents, as the emails table stores them and the
 * API and the analyzers read and write them.
 */
#include <string.h>

#include "store/emails.h"

static const char *const intent_names[INTENT_COUNT] = {
    "meeting_request", "question", "complaint", "feature_request",
    "pricing_inquiry", "general",  "follow_up",
};

const char *intent_name(unsigned bit)
{
    for (int i = 0; i < INTENT_COUNT; i++)
        if (bit == 1u << i)
            return intent_names[i];
    return NULL;
}

unsigned intent_parse(const char *name)
{
    for (int i = 0; name && i < INTENT_COUNT; i++)
        if (strcmp(name, intent_names[i]) == 0)
            return 1u << i;
    return 0;
}
