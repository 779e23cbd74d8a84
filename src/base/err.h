/*
 * Error codes and the error-detail record every fallible function fills.
 * A function that can fail returns 0 or a negative ERR_* value; the human
 * message goes into the caller's struct errinfo through failf().
 */
#ifndef LEADFLOW_BASE_ERR_H
#define LEADFLOW_BASE_ERR_H

#include <stddef.h>

enum err {
    ERR_OK = 0,
    ERR_INVALID = -1,      /* bad input from a caller: 400 VALIDATION_ERROR */
    ERR_UNAUTHORIZED = -2, /* no or bad credentials: 401 */
    ERR_FORBIDDEN = -3,    /* authenticated but not allowed: 403 */
    ERR_NOT_FOUND = -4,    /* no such thing (or not visible): 404 */
    ERR_CONFLICT = -5,     /* unique constraint or state conflict: 409 */
    ERR_RATE_LIMITED = -6, /* too many requests: 429 */
    ERR_TOO_BIG = -7,      /* input over a named limit: 413 */
    ERR_METHOD = -8,       /* route exists, method does not: 405 */
    ERR_INTERNAL = -9,     /* a bug or an impossible state: 500 */
    ERR_DB = -10,          /* the database failed: 500 */
    ERR_IO = -11,          /* a file or socket failed: 500 */
    ERR_CONFIG = -12,      /* a configuration value is wrong */
    ERR_TEMPORARY = -13,   /* try again later (busy, timeout, 5xx upstream) */
    ERR_UNSUPPORTED = -14, /* a valid request this build cannot serve */
};

/* The lowest (most negative) code; used to size tables indexed by -code. */
#define ERR_COUNT 15

enum { ERRINFO_MSG_MAX = 256 };

struct errinfo {
    int code;
    char msg[ERRINFO_MSG_MAX];
};

/*
 * Records code and the formatted message in e (which may be NULL) and
 * returns code, so that callers write `return failf(e, ERR_INVALID, ...)`.
 */
int failf(struct errinfo *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Clears e to "no error". */
void errinfo_clear(struct errinfo *e);

/* A stable lower-case name for code ("invalid", "not_found", ...). */
const char *err_name(int code);

#endif
