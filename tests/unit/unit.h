/*
 * The unit-test registry and shared helpers. Each tests/unit/<dir>/test_<x>.c
 * mirrors src/<dir>/<x>.c and exports one struct unit_group; main.c lists the
 * groups and runs every test in its own child process (after libuv's test
 * runner), so a crash or a leaked global in one test cannot touch another.
 */
#ifndef LEADFLOW_TESTS_UNIT_H
#define LEADFLOW_TESTS_UNIT_H

/* cmocka needs these before it is included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

struct json_t;

struct unit_group {
    const char *name; /* "base/buf": the path of the source file under src/ */
    const struct CMUnitTest *tests;
    size_t n;
};

#define UNIT_GROUP(ident, gname, tests)                                                            \
    const struct unit_group ident = {gname, tests, sizeof(tests) / sizeof((tests)[0])}

extern const struct unit_group unit_ai_anthropic;
extern const struct unit_group unit_ai_content;
extern const struct unit_group unit_ai_model;
extern const struct unit_group unit_ai_offline;
extern const struct unit_group unit_ai_openai;
extern const struct unit_group unit_ai_remote;
extern const struct unit_group unit_ai_score;
extern const struct unit_group unit_ai_signature;
extern const struct unit_group unit_alerts_channel;
extern const struct unit_group unit_base_arena;
extern const struct unit_group unit_base_buf;
extern const struct unit_group unit_base_clock;
extern const struct unit_group unit_base_config;
extern const struct unit_group unit_base_crypto;
extern const struct unit_group unit_base_csvio;
extern const struct unit_group unit_base_err;
extern const struct unit_group unit_base_json;
extern const struct unit_group unit_base_log;
extern const struct unit_group unit_base_str;
extern const struct unit_group unit_drip_drip;
extern const struct unit_group unit_drip_step;
extern const struct unit_group unit_drip_webhook;
extern const struct unit_group unit_http_http;
extern const struct unit_group unit_http_metrics;
extern const struct unit_group unit_http_reply;
extern const struct unit_group unit_http_router;
extern const struct unit_group unit_http_static;
extern const struct unit_group unit_jobs_queue;
extern const struct unit_group unit_mail_inbox;
extern const struct unit_group unit_mail_mime;
extern const struct unit_group unit_mail_reply_text;
extern const struct unit_group unit_mail_track;
extern const struct unit_group unit_mail_send;
extern const struct unit_group unit_mail_breaker;
extern const struct unit_group unit_mail_events;
extern const struct unit_group unit_mail_dkim;
extern const struct unit_group unit_store_db;
extern const struct unit_group unit_store_pg_bus;
extern const struct unit_group unit_store_sqlite;
extern const struct unit_group unit_store_store;
extern const struct unit_group unit_store_tx;
extern const struct unit_group unit_ws_conn;
extern const struct unit_group unit_ws_handshake;
extern const struct unit_group unit_ws_hub;

/* Fails the test unless hay contains needle (hay may be NULL: that fails). */
#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        const char *hay_ = (hay), *needle_ = (needle);                                             \
        if (!hay_ || !strstr(hay_, needle_))                                                       \
            fail_msg("\"%s\" does not contain \"%s\"", hay_ ? hay_ : "(null)", needle_);           \
    } while (0)

#define assert_not_contains(hay, needle)                                                           \
    do {                                                                                           \
        const char *hay_ = (hay), *needle_ = (needle);                                             \
        if (hay_ && strstr(hay_, needle_))                                                         \
            fail_msg("\"%s\" contains \"%s\"", hay_, needle_);                                     \
    } while (0)

/* A new empty directory under $TMPDIR (or /tmp); free() the result. */
char *unit_tmpdir(void);
/* Removes path and everything under it (symlinks are not followed). */
void unit_rmtree(const char *path);
/* dir + "/" + name; free() the result. */
char *unit_path(const char *dir, const char *name);
/* Writes n bytes (n == (size_t)-1: strlen) to path, replacing it; fails the test on error. */
void unit_write_file(const char *path, const char *data, size_t n);

/* Parses text as JSON (failing the test with jansson's reason); json_decref() the result. */
struct json_t *unit_json(const char *text);

/* Reads everything from fd until EOF into a malloc'd NUL-terminated string. */
char *unit_read_fd(int fd);

#endif
