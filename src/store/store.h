/*
 * The storage interface. A backend fills a const struct store_ops; the
 * struct store it returns starts with that table, so callers never see the
 * backend's own struct. Every function that touches workspace data takes the
 * workspace id as its second argument (after the store), and puts it in the
 * WHERE clause. Backends are chosen at run time from the database URL.
 *
 * A store may be used from many threads at once; backends keep what they
 * need per thread (the SQLite backend: one connection per thread).
 */
#ifndef LEADFLOW_STORE_STORE_H
#define LEADFLOW_STORE_STORE_H

#include "base/err.h"

struct store;

struct store_ops {
    const char *name; /* "sqlite", "postgres" */
    /* Opens the backend for url (the part after the scheme); NULL + e on failure. */
    struct store *(*open)(const char *target, struct errinfo *e);
    void (*close)(struct store *st);
    /* Applies every migration newer than the database; *applied counts them. */
    int (*migrate)(struct store *st, int *applied, struct errinfo *e);
    /* The newest applied migration, and the newest this build knows. */
    int (*schema_version)(struct store *st, int *have, int *known, struct errinfo *e);
    /* A cheap round trip that proves the database answers. */
    int (*ping)(struct store *st, struct errinfo *e);
};

struct store {
    const struct store_ops *ops;
};

extern const struct store_ops store_sqlite_ops;

/*
 * Opens the database named by url: "sqlite:PATH" (PATH may be ":memory:").
 * Returns NULL with a one-line reason in e.
 */
struct store *store_open(const char *url, struct errinfo *e);

static inline void store_close(struct store *st)
{
    if (st)
        st->ops->close(st);
}

static inline int store_migrate(struct store *st, int *applied, struct errinfo *e)
{
    return st->ops->migrate(st, applied, e);
}

static inline int store_schema_version(struct store *st, int *have, int *known, struct errinfo *e)
{
    return st->ops->schema_version(st, have, known, e);
}

static inline int store_ping(struct store *st, struct errinfo *e)
{
    return st->ops->ping(st, e);
}

/* The directory that holds the database's files ("." when none), into out. */
void store_data_dir(const char *url, char *out, size_t n);

#endif
