/*
 * failf() and the names of error codes.
 */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const err_names[ERR_COUNT] = {
    [0] = "ok",
    [-ERR_INVALID] = "invalid",
    [-ERR_UNAUTHORIZED] = "unauthorized",
    [-ERR_FORBIDDEN] = "forbidden",
    [-ERR_NOT_FOUND] = "not_found",
    [-ERR_CONFLICT] = "conflict",
    [-ERR_RATE_LIMITED] = "rate_limited",
    [-ERR_TOO_BIG] = "too_big",
    [-ERR_METHOD] = "method_not_allowed",
    [-ERR_INTERNAL] = "internal",
    [-ERR_DB] = "database",
    [-ERR_IO] = "io",
    [-ERR_CONFIG] = "config",
    [-ERR_TEMPORARY] = "temporary",
    [-ERR_UNSUPPORTED] = "unsupported",
};

int failf(struct errinfo *e, int code, const char *fmt, ...)
{
    if (e) {
        /* Formatted aside first: the arguments may include e->msg itself
         * ("context: %s", e->msg), which vsnprintf must not overwrite. */
        char msg[ERRINFO_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        e->code = code;
        memcpy(e->msg, msg, sizeof(msg));
    }
    return code;
}

void errinfo_clear(struct errinfo *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = '\0';
    }
}

const char *err_name(int code)
{
    if (code > 0 || code <= -ERR_COUNT)
        return "unknown";
    return err_names[-code];
}
