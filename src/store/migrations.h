/*
 * Numbered schema migrations, one list per backend. A migration is applied
 * once, inside a transaction, and recorded in schema_migrations; versions
 * only ever grow, and a released migration is never edited.
 */
#ifndef LEADFLOW_STORE_MIGRATIONS_H
#define LEADFLOW_STORE_MIGRATIONS_H

#include <stddef.h>

struct migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct migration sqlite_migrations[];
extern const size_t sqlite_nmigrations;
/* PostgreSQL: versions mirror the SQLite migration each one matches. */
extern const struct migration pg_migrations[];
extern const size_t pg_nmigrations;

#endif
