/*
 * Wall-clock time in milliseconds since the Unix epoch (UTC), through one
 * function, so that tests can run on a simulated clock.
 */
#ifndef LEADFLOW_BASE_CLOCK_H
#define LEADFLOW_BASE_CLOCK_H

#include <stdint.h>

int64_t clock_now_ms(void);

/* Tests only: a non-zero ms fixes the clock there; 0 returns to real time. */
void clock_set_fake(int64_t ms);

/*
 * Tests only (LEADFLOW_TEST_CLOCK_FILE, read by the commands at start): from
 * now on the clock is real time plus the offset in milliseconds written in
 * the file at path (a decimal integer; a missing or unreadable file is 0).
 * The file is read on every call, so a test moves a running server and its
 * workers forward by rewriting it (week-long drip waits in seconds).
 * path is copied.
 */
void clock_use_offset_file(const char *path);

/* Formats ms as RFC 3339 UTC with milliseconds into out (>= 25 bytes). */
void clock_format(int64_t ms, char *out, unsigned n);

#endif
