/*
 * Wall clock with a test override.
 */
#include "base/clock.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static _Atomic int64_t fake_ms;
static char offset_path[4096];
static atomic_bool offset_on;

/* The offset written in the test clock file; 0 when there is none. */
static int64_t file_offset(void)
{
    int fd = open(offset_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[32];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long long v = strtoll(buf, &end, 10);
    return end == buf ? 0 : (int64_t)v;
}

int64_t clock_now_ms(void)
{
    int64_t f = atomic_load_explicit(&fake_ms, memory_order_relaxed);
    if (f)
        return f;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (atomic_load_explicit(&offset_on, memory_order_acquire))
        now += file_offset();
    return now;
}

void clock_use_offset_file(const char *path)
{
    snprintf(offset_path, sizeof(offset_path), "%s", path);
    atomic_store_explicit(&offset_on, path[0] != '\0', memory_order_release);
}

void clock_set_fake(int64_t ms)
{
    atomic_store(&fake_ms, ms);
}

/* Two decimal digits of v at p. */
static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void clock_format(int64_t ms, char *out, unsigned n)
{
    int64_t secs = ms / 1000;
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    /* Civil date from days since 1970-01-01 (H. Hinnant, "chrono-compatible
     * low-level date algorithms"): no gmtime_r, whose time-zone lock shows
     * in profiles of list replies. */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int day = (int)(doy - (153 * mp + 2) / 5 + 1);
    int month = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t year = yoe + era * 400 + (month <= 2);
    if (year < 0 || year > 9999 || n < 25) {
        struct tm tm;
        time_t t = (time_t)secs;
        gmtime_r(&t, &tm);
        snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
        return;
    }
    /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
    put2(out, (int)(year / 100));
    put2(out + 2, (int)(year % 100));
    out[4] = '-';
    put2(out + 5, month);
    out[7] = '-';
    put2(out + 8, day);
    out[10] = 'T';
    put2(out + 11, (int)(rem / 3600));
    out[13] = ':';
    put2(out + 14, (int)(rem / 60 % 60));
    out[16] = ':';
    put2(out + 17, (int)(rem % 60));
    out[19] = '.';
    out[20] = (char)('0' + frac / 100);
    put2(out + 21, frac % 100);
    out[23] = 'Z';
    out[24] = '\0';
}
