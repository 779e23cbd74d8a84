/*
 * Private to the PostgreSQL backend: export_rows and import_rows (contracts
 * in store.h, the stream's tables and values in store/bulk.h) and their
 * initializer for the ops table.
 */
#ifndef LEADFLOW_STORE_PG_BULK_H
#define LEADFLOW_STORE_PG_BULK_H

#include "store/store.h"

int pg_export_rows(struct store *st, store_row_fn row, void *arg, struct errinfo *e);
int pg_import_rows(struct store *st, store_next_fn next, void *arg, struct errinfo *e);

#define PG_BULK_OPS .export_rows = pg_export_rows, .import_rows = pg_import_rows

#endif
