/*
 * libFuzzer target for the reply splitter (mail/reply_text.h): any bytes, made a
 * NUL-terminated text, are split. The new text and the signature must be no
 * longer than the input, hold no NUL, and quote_at must lie within it; a
 * second split of the new text must not grow it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "fuzz.h"
#include "mail/reply_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text); /* the splitter sees text up to the first NUL */
    char stack[4096];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    struct reply r;
    reply_split(&a, text, &r);
    FUZZ_CHECK(r.text != NULL);
    FUZZ_CHECK(strlen(r.text) <= len);
    FUZZ_CHECK(r.quote_at <= len);
    if (r.signature)
        FUZZ_CHECK(strlen(r.signature) <= len && *r.signature);
    struct reply again;
    reply_split(&a, r.text, &again);
    FUZZ_CHECK(strlen(again.text) <= strlen(r.text));
    arena_release(&a);
    free(text);
    return 0;
}
