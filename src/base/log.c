/*
 * JSON-lines logging.
 */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"

enum { LOG_LINE_MAX = 16384, LOG_MSG_MAX = 4096 };

static atomic_int log_level = LOG_INFO;
static atomic_int log_fd = 2;
static _Thread_local char log_reqid[40];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level lvl)
{
    atomic_store(&log_level, (int)lvl);
}

void log_set_fd(int fd)
{
    atomic_store(&log_fd, fd);
}

bool log_enabled(enum log_level lvl)
{
    return (int)lvl >= atomic_load(&log_level);
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return ERR_INVALID;
}

void log_set_request_id(const char *id)
{
    if (!id) {
        log_reqid[0] = '\0';
        return;
    }
    snprintf(log_reqid, sizeof(log_reqid), "%s", id);
}

const char *log_request_id(void)
{
    return log_reqid[0] ? log_reqid : NULL;
}

bool log_begin(struct log_line *l, enum log_level lvl, const char *event)
{
    l->on = log_enabled(lvl);
    if (!l->on)
        return false;
    buf_init(&l->b, LOG_LINE_MAX);
    jw_init(&l->w, &l->b);

    char ts[32];
    clock_format(clock_now_ms(), ts, sizeof(ts));

    jw_obj_begin(&l->w);
    jw_kstr(&l->w, "ts", ts);
    jw_kstr(&l->w, "level", level_names[lvl]);
    jw_kstr(&l->w, "event", event);
    if (log_reqid[0])
        jw_kstr(&l->w, "request_id", log_reqid);
    l->head = l->w.err ? 0 : l->b.len;
    return true;
}

void log_str(struct log_line *l, const char *key, const char *val)
{
    if (l->on)
        jw_kstr(&l->w, key, val);
}

void log_int(struct log_line *l, const char *key, int64_t val)
{
    if (l->on)
        jw_kint(&l->w, key, val);
}

static void log_vend(struct log_line *l, const char *fmt, va_list ap)
{
    if (!l->on)
        return;
    char msg[LOG_MSG_MAX];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    jw_kstr(&l->w, "msg", msg);
    jw_obj_end(&l->w);
    int rc = jw_finish(&l->w);
    if (!rc)
        rc = buf_putc(&l->b, '\n');
    if (rc && l->head) {
        /* Over LOG_LINE_MAX (a long path, say): keep the head and say what
         * was dropped, rather than lose the line without a trace. */
        l->b.len = l->head;
        rc = buf_puts(&l->b, ",\"msg\":\"(log line too long: fields and message dropped)\"}\n");
    }
    if (!rc) {
        const char *p = l->b.data;
        size_t n = l->b.len;
        int fd = atomic_load(&log_fd);
        while (n > 0) {
            ssize_t k = write(fd, p, n);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            p += k;
            n -= (size_t)k;
        }
    }
    buf_release(&l->b);
    l->on = false;
}

void log_end(struct log_line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vend(l, fmt, ap);
    va_end(ap);
}

void log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
{
    struct log_line l;
    if (!log_begin(&l, lvl, event))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vend(&l, fmt, ap);
    va_end(ap);
}
