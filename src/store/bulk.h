/*
 * Moving a whole database from one backend to another (`leadflow export |
 * leadflow import-db`): the tables a stream carries, in the order they are
 * loaded (parents before children, so foreign keys hold row by row), and the
 * SQL that recounts the trigger-kept counters after a load. The export_rows
 * and import_rows ops of both backends (store.h) follow this file.
 *
 * A row is a JSON object, column name -> value, with every column of the
 * table but the generated ones (PostgreSQL's contacts.search): NULL is null,
 * integers and reals are numbers, text is a string, a JSON column (SQLite: text
 * checked with json_valid(); PostgreSQL: jsonb) is the JSON value itself, a
 * flag is 0/1 from SQLite and true/false from PostgreSQL (both loaders take
 * both), a blob (bytea) is the string "\x" followed by lower-case hex.
 */
#ifndef LEADFLOW_STORE_BULK_H
#define LEADFLOW_STORE_BULK_H

#include <stdbool.h>
#include <stddef.h>

/* The stream: a header line, one line per row, a trailer (src/cmd/export.c). */
#define BULK_FORMAT "leadflow-export"
enum { BULK_FORMAT_VERSION = 1 };

enum bulk_flag {
    /* Kept by triggers from other tables' rows (counters, versions): the
     * loaded rows overwrite what the target's triggers wrote, and
     * bulk_recount_sql then recounts them from the loaded rows. */
    BULK_DERIVED = 1 << 0,
};

struct bulk_table {
    const char *name;
    unsigned flags; /* enum bulk_flag */
};

extern const struct bulk_table bulk_tables[];
extern const size_t bulk_ntables;

/* The entry of bulk_tables named name; NULL when there is none. */
const struct bulk_table *bulk_table_find(const char *name);

/*
 * Tables of a database that a stream never carries: the schema version
 * (import-db checks it instead), and what the target computes itself (SQLite's
 * sqlite_* tables and the FTS5 index of contacts with its shadow tables).
 */
bool bulk_table_internal(const char *name);

/*
 * Statements (valid SQL on SQLite and on PostgreSQL) that set the counters of
 * workspace_counts and workspace_email_days from the contacts and emails
 * rows, as the triggers of migrations 5 and 7 keep them, and give each
 * workspace its workspace_counts row and each workspace with alert rules its
 * alert_rule_versions row when the stream lacked one. The data version
 * (workspace_counts.version) keeps its loaded value.
 */
extern const char bulk_recount_sql[];

#endif
