/*
 * Private to the SQLite backend: export_rows and import_rows (contracts in
 * store.h, the stream's tables and values in store/bulk.h) and their
 * initializer for the ops table.
 */
#ifndef LEADFLOW_STORE_SQLITE_BULK_H
#define LEADFLOW_STORE_SQLITE_BULK_H

#include "store/sqlite_int.h"

int sq_export_rows(struct store *st, store_row_fn row, void *arg, struct errinfo *e);
int sq_import_rows(struct store *st, store_next_fn next, void *arg, struct errinfo *e);

#define SQ_BULK_OPS .export_rows = sq_export_rows, .import_rows = sq_import_rows

#endif
