/*
 * Structured logs: one JSON object per line on stderr (or a chosen fd),
 * written with a single write() so lines from threads never interleave.
 * Every line carries ts, level, event and msg; lines written while a request
 * is being served also carry its request_id. Secrets are never passed here.
 */
#ifndef LEADFLOW_BASE_LOG_H
#define LEADFLOW_BASE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/json.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
void log_set_fd(int fd);
bool log_enabled(enum log_level lvl);
/* Parses "debug" | "info" | "warn" | "error"; returns 0 or ERR_INVALID. */
int log_level_parse(const char *s, enum log_level *out);

/* Sets the calling thread's request id (copied; NULL clears it). */
void log_set_request_id(const char *id);
const char *log_request_id(void);

/* A line with extra fields: log_begin, then log_str/log_int, then log_end. */
struct log_line {
    struct buf b;
    struct jw w;
    size_t head; /* length of ts, level, event, request_id: kept if the line is too long */
    bool on;
};

bool log_begin(struct log_line *l, enum log_level lvl, const char *event);
void log_str(struct log_line *l, const char *key, const char *val);
void log_int(struct log_line *l, const char *key, int64_t val);
void log_end(struct log_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line with only a message. */
void log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(event, ...) log_msg(LOG_DEBUG, event, __VA_ARGS__)
#define log_info(event, ...) log_msg(LOG_INFO, event, __VA_ARGS__)
#define log_warn(event, ...) log_msg(LOG_WARN, event, __VA_ARGS__)
#define log_error(event, ...) log_msg(LOG_ERROR, event, __VA_ARGS__)

#endif
