/*
 * libFuzzer target for the mbox splitter and the memory inbox source
 * (mail/inbox.h): every message must lie inside the input, the position
 * must move forward, messages must not overlap, and the source must give
 * the same messages as the splitter.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"
#include "fuzz.h"
#include "mail/inbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t pos = 0, start, len, prev_end = 0, n = 0;
    while (mbox_next(p, size, &pos, &start, &len) == 1) {
        FUZZ_CHECK(start <= size && len <= size - start);
        FUZZ_CHECK(start >= prev_end);
        FUZZ_CHECK(pos >= start + len && pos <= size);
        FUZZ_CHECK(n++ <= size);
        prev_end = start + len;
        if (pos == size)
            break;
    }
    FUZZ_CHECK(mbox_next(p, size, &pos, &start, &len) == 0);

    struct inbox *in = inbox_memory_new(p, size, "fuzz");
    struct inbox_msg m;
    struct errinfo e = {0};
    size_t got = 0;
    int rc;
    while ((rc = inbox_next(in, &m, &e)) != 0) {
        FUZZ_CHECK(rc == 1);
        FUZZ_CHECK(m.raw >= p && m.len <= size && m.raw + m.len <= p + size);
        FUZZ_CHECK(m.origin && strncmp(m.origin, "fuzz", 4) == 0);
        FUZZ_CHECK(got++ <= size);
    }
    uint64_t done, total;
    in->ops->progress(in, &done, &total);
    FUZZ_CHECK(done == total && total == size);
    inbox_free(in);
    if (size >= 5 && memcmp(p, "From ", 5) == 0)
        FUZZ_CHECK(got == n);
    else
        FUZZ_CHECK(got == (size > 0));
    return 0;
}
