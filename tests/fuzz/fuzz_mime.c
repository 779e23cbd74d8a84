/*
 * libFuzzer target for the MIME adapter (mail/mime.h): any bytes are parsed
 * as a message. mime_parse must return 0 or ERR_INVALID, and on success
 * every string must be valid UTF-8 without NUL inside, body_text at most
 * MIME_MAX_TEXT bytes, new_text no longer than body_text.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "fuzz.h"
#include "mail/mime.h"

static bool valid_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        unsigned c = *u;
        int n = c < 0x80                ? 1
                : c >= 0xc2 && c < 0xe0 ? 2
                : c >= 0xe0 && c < 0xf0 ? 3
                : c >= 0xf0 && c < 0xf5 ? 4
                                        : 0;
        if (n == 0)
            return false;
        for (int i = 1; i < n; i++)
            if ((u[i] & 0xc0) != 0x80)
                return false;
        u += n;
    }
    return true;
}

static void check_str(const char *s)
{
    if (s && !valid_utf8(s))
        fuzz_fail("not UTF-8", s, strlen(s));
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
    if (rc == 0) {
        FUZZ_CHECK(m.from.email != NULL);
        FUZZ_CHECK(m.body_text && m.new_text);
        FUZZ_CHECK(strlen(m.body_text) <= MIME_MAX_TEXT);
        FUZZ_CHECK(strlen(m.new_text) <= strlen(m.body_text) + 1);
        FUZZ_CHECK(m.nto <= MIME_MAX_ADDRS);
        FUZZ_CHECK(m.attachments >= 0);
        check_str(m.message_id);
        check_str(m.in_reply_to);
        check_str(m.references);
        check_str(m.subject);
        check_str(m.from.name);
        check_str(m.from.email);
        check_str(m.reply_to.name);
        check_str(m.reply_to.email);
        check_str(m.body_text);
        check_str(m.new_text);
        check_str(m.signature);
        for (size_t i = 0; i < m.nto; i++) {
            check_str(m.to[i].name);
            FUZZ_CHECK(m.to[i].email != NULL);
            check_str(m.to[i].email);
        }
    } else {
        FUZZ_CHECK(strncmp(e.msg, "not an email message: ", 22) == 0);
    }
    arena_release(&a);
    return 0;
}
