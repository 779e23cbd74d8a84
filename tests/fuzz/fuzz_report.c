/*
 * libFuzzer target for the reading of bounce and complaint reports
 * (mail/mime.h): any bytes are parsed as a message, and given to
 * mime_report_fields as a report's fields (a delivery status when the first
 * byte is even, a feedback report when odd). A report's kind is one of the
 * enum, its recipient an address in lower case, its status digits and dots,
 * its strings UTF-8.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/str.h"
#include "fuzz.h"
#include "mail/mime.h"

static void check_report(const struct mail_report *r)
{
    FUZZ_CHECK(r->kind >= REPORT_OTHER && r->kind <= REPORT_COMPLAINT);
    if (r->recipient) {
        FUZZ_CHECK(str_is_email(r->recipient));
        for (const char *p = r->recipient; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                fuzz_fail("an upper-case recipient", r->recipient, strlen(r->recipient));
    }
    if (r->status) {
        FUZZ_CHECK(strlen(r->status) <= 16);
        FUZZ_CHECK(strspn(r->status, "0123456789.") == strlen(r->status));
    }
    if (r->original_id)
        FUZZ_CHECK(strlen(r->original_id) > 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FUZZ_CHECK(mime_init() == 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char stack[4096];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    struct mail_msg m;
    struct errinfo e = {0};
    int rc = mime_parse((const char *)data, size, &a, &m, &e);
    FUZZ_CHECK(rc == 0 || rc == ERR_INVALID);
    if (rc == 0 && m.report) {
        FUZZ_CHECK(m.automated);
        check_report(m.report);
    }
    struct mail_report r = {0};
    mime_report_fields((const char *)data, size, size > 0 && (data[0] & 1), &a, &r);
    check_report(&r);
    FUZZ_CHECK(r.original_id == NULL);
    arena_release(&a);
    return 0;
}
