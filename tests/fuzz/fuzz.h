/*
 * Helpers shared by the libFuzzer targets in tests/fuzz/: an invariant check
 * that aborts (so libFuzzer saves the input), and a report of the bytes that
 * broke an invariant. Each target defines LLVMFuzzerTestOneInput.
 */
#ifndef LEADFLOW_TESTS_FUZZ_H
#define LEADFLOW_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Prints what went wrong and the bytes involved (escaped), then aborts. */
__attribute__((noreturn, unused)) static void fuzz_fail(const char *what, const char *p, size_t n)
{
    fprintf(stderr, "fuzz: invariant broken: %s\nfuzz: %zu bytes: \"", what, n);
    for (size_t i = 0; p && i < n && i < 4096; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\')
            fprintf(stderr, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputs("\"\n", stderr);
    abort();
}

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
