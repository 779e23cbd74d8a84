/*
 * The SQLite backend of struct store_ops: one connection per thread (opened
 * on first use, closed when the thread ends), WAL journal, foreign keys on,
 * a busy timeout, a cache of prepared statements per connection, and the
 * cursor the shared ops are written over (store/db.h).
 */
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/db.h"
#include "store/db_ops.h"
#include "store/migrations.h"
#include "store/sqlite_bulk.h"
#include "store/sqlite_int.h"
#include "store/sqlite_jobs.h"

static const char sql_ping[] = "SELECT 1";
static const char sql_version[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";

static atomic_uint mem_seq;

static void conn_close(struct sq_conn *c)
{
    for (int i = 0; i < SQ_CACHE_SLOTS; i++)
        sqlite3_finalize(c->cache[i].stmt);
    sqlite3_close_v2(c->db);
    free(c);
}

/* Thread exit: unlink the thread's connection from the store and close it. */
static void conn_thread_exit(void *p)
{
    struct sq_conn *c = p;
    struct sq_store *s = c->owner;
    pthread_mutex_lock(&s->mu);
    for (struct sq_conn **pp = &s->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    conn_close(c);
}

int sq_fail(struct errinfo *e, sqlite3 *db, int rc, const char *what)
{
    int code = ERR_DB;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        code = ERR_TEMPORARY;
    else if ((rc & 0xff) == SQLITE_CONSTRAINT)
        code = ERR_CONFLICT;
    return failf(e, code, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static int conn_open(struct sq_store *s, struct sq_conn **out, struct errinfo *e)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    int rc = sqlite3_open_v2(s->path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        failf(e, ERR_DB, "cannot open database %s: %s", s->path,
              db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return ERR_DB;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, SQ_BUSY_MS);
    /* synchronous=NORMAL in WAL mode: a committed transaction survives a crash
     * of the process; only a power loss can undo the last ones. Reads go
     * through a shared memory map (no pread per page, one copy for every
     * connection); each connection caches up to 32 MB of pages it wrote. The
     * WAL is checkpointed every 8192 pages (32 MB) rather than SQLite's 1000:
     * the committing thread that crosses the mark copies the pages back and
     * syncs the file, and a page written many times in between is copied once. */
    rc = sqlite3_exec(db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                      " PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                      " PRAGMA mmap_size=1073741824; PRAGMA cache_size=-32768;"
                      " PRAGMA wal_autocheckpoint=8192;",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        failf(e, ERR_DB, "cannot open database %s: %s", s->path, sqlite3_errmsg(db));
        sqlite3_close_v2(db);
        return ERR_DB;
    }
    struct sq_conn *c = XNEW(struct sq_conn);
    c->db = db;
    c->owner = s;
    pthread_mutex_lock(&s->mu);
    c->next = s->conns;
    s->conns = c;
    pthread_mutex_unlock(&s->mu);
    pthread_setspecific(s->key, c);
    *out = c;
    return 0;
}

int sq_conn_get(struct sq_store *s, struct sq_conn **out, struct errinfo *e)
{
    struct sq_conn *c = pthread_getspecific(s->key);
    if (c) {
        *out = c;
        return 0;
    }
    return conn_open(s, out, e);
}

int sq_stmt(struct sq_store *s, const char *sql, sqlite3_stmt **out, struct sq_conn **cp,
            struct errinfo *e)
{
    struct sq_conn *c;
    int rc = sq_conn_get(s, &c, e);
    if (rc)
        return rc;
    /* Open addressing on the address of the (static) SQL text. */
    size_t h = (size_t)(((uintptr_t)sql >> 3) * 0x9e3779b97f4a7c15ULL);
    for (size_t i = 0; i < SQ_CACHE_SLOTS; i++) {
        struct sq_cached *slot = &c->cache[(h + i) % SQ_CACHE_SLOTS];
        if (!slot->sql) {
            int src =
                sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->stmt, NULL);
            if (src != SQLITE_OK)
                return sq_fail(e, c->db, src, "prepare");
            slot->sql = sql;
        }
        if (slot->sql == sql) {
            *out = slot->stmt;
            if (cp)
                *cp = c;
            return 0;
        }
    }
    return failf(e, ERR_INTERNAL, "statement cache is full");
}

void sq_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int sq_exec(struct sq_store *s, const char *sql, struct errinfo *e)
{
    struct sq_conn *c;
    int rc = sq_conn_get(s, &c, e);
    if (rc)
        return rc;
    char *msg = NULL;
    int src = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (src == SQLITE_OK)
        return 0;
    rc = src == SQLITE_BUSY ? ERR_TEMPORARY : ERR_DB;
    failf(e, rc, "%s", msg ? msg : sqlite3_errstr(src));
    sqlite3_free(msg);
    return rc;
}

/* The words of one copy of the WAL index header (sq_data_stamp), and the
 * size of a region of the WAL index as SQLite maps it (WALINDEX_PGSZ). */
enum { SHM_HDR_WORDS = 12, SHM_REGION = 32768 };

static void sq_close(struct store *base)
{
    struct sq_store *s = (struct sq_store *)base;
    pthread_key_delete(s->key);
    struct sq_conn *c = s->conns;
    while (c) {
        struct sq_conn *next = c->next;
        conn_close(c);
        c = next;
    }
    sqlite3_close_v2(s->stamp_db); /* its map of the WAL index goes with it */
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

/*
 * data_stamp from the WAL index header that SQLite keeps at the start of
 * the -shm file (documented in "WAL-mode File Format", walformat.html):
 * two copies of a 48-byte header, which a committing writer updates second
 * copy first, then the first; a reader that finds both copies equal has the
 * header of the last published commit, as SQLite's own readers do. Its
 * iChange counts write transactions, mxFrame the frames in the WAL, and the
 * salts change when the WAL starts over: any commit of any process changes
 * one of them. It is only read, and no lock is taken.
 */
static const volatile uint32_t *shm_header(struct sq_store *s)
{
    const void *shm = atomic_load(&s->shm);
    if (shm)
        return shm;
    pthread_mutex_lock(&s->mu);
    /* Not by opening the -shm file: closing any descriptor of a file drops
     * every POSIX lock the process holds on it, SQLite's among them, and
     * another process may then truncate the file under our connections'
     * maps. SQLite's own map of its first region (the VFS's xShmMap, which
     * shares the process's one open -shm file) stays valid as long as the
     * connection that asked for it is open, and that connection keeps the
     * file from being truncated or removed. */
    if (!s->shm_tried && strncmp(s->path, "file:", 5) != 0) {
        s->shm_tried = true;
        sqlite3 *db = NULL;
        sqlite3_file *f = NULL;
        void volatile *p = NULL;
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
        if (sqlite3_open_v2(s->path, &db, flags, NULL) == SQLITE_OK &&
            sqlite3_exec(db, "SELECT 1 FROM sqlite_schema LIMIT 1", NULL, NULL, NULL) ==
                SQLITE_OK &&
            sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK && f &&
            f->pMethods && f->pMethods->iVersion >= 2 && f->pMethods->xShmMap &&
            f->pMethods->xShmMap(f, 0, SHM_REGION, 0, &p) == SQLITE_OK && p) {
            s->stamp_db = db;
            atomic_store(&s->shm, (const void *)p);
        } else {
            sqlite3_close_v2(db);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return atomic_load(&s->shm);
}

static bool sq_data_stamp(struct store *base, uint64_t stamp[2])
{
    const volatile uint32_t *h = shm_header((struct sq_store *)base);
    if (!h)
        return false;
    uint32_t a[SHM_HDR_WORDS], b[SHM_HDR_WORDS];
    for (int i = 0; i < SHM_HDR_WORDS; i++)
        a[i] = h[i];
    atomic_thread_fence(memory_order_acquire);
    for (int i = 0; i < SHM_HDR_WORDS; i++)
        b[i] = h[SHM_HDR_WORDS + i];
    /* Words: 2 iChange, 4 mxFrame, 8-9 the salts; byte 12 isInit. */
    if (memcmp(a, b, sizeof(a)) != 0 || ((const uint8_t *)a)[12] == 0)
        return false; /* a commit being published, or no header yet */
    stamp[0] = (uint64_t)a[2] << 32 | a[4];
    stamp[1] = (uint64_t)a[8] << 32 | a[9];
    return true;
}

static struct store *sq_open(const char *target, struct errinfo *e)
{
    struct sq_store *s = XNEW(struct sq_store);
    s->base.ops = &store_sqlite_ops;
    s->base.one_writer = true;
    if (strcmp(target, ":memory:") == 0) {
        /* One in-memory database shared by every thread's connection. */
        char uri[64];
        snprintf(uri, sizeof(uri), "file:leadflow-mem-%u?mode=memory&cache=shared",
                 atomic_fetch_add(&mem_seq, 1));
        s->path = xstrdup(uri);
    } else {
        s->path = xstrdup(target);
        /* A new database holds secrets (sealed tokens, session hashes):
         * create it 0600 before SQLite does (0644 under a usual umask);
         * its -wal and -shm files take the main file's permissions. An
         * existing file keeps its mode; a "file:" URI is SQLite's to open. */
        if (strncmp(target, "file:", 5) != 0) {
            int fd = open(target, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
            if (fd >= 0)
                close(fd);
        }
    }
    pthread_mutex_init(&s->mu, NULL);
    if (pthread_key_create(&s->key, conn_thread_exit) != 0) {
        failf(e, ERR_INTERNAL, "cannot create a thread key");
        pthread_mutex_destroy(&s->mu);
        free(s->path);
        free(s);
        return NULL;
    }
    /* Open the first connection now, so a bad path fails at start-up. */
    struct sq_conn *c;
    if (conn_open(s, &c, e) != 0) {
        sq_close(&s->base);
        return NULL;
    }
    return &s->base;
}

static int sq_ping(struct store *base, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    sqlite3_stmt *st = NULL;
    struct sq_conn *c = NULL;
    int rc = sq_stmt(s, sql_ping, &st, &c, e);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    sq_done(st);
    return src == SQLITE_ROW ? 0 : sq_fail(e, c->db, src, "ping");
}

static int exec_sql(sqlite3 *db, const char *sql, const char *what, struct errinfo *e)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return 0;
    int code = failf(e, rc == SQLITE_BUSY ? ERR_TEMPORARY : ERR_DB, "%s: %s", what,
                     msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return code;
}

static int read_version(struct sq_conn *c, int *have, struct errinfo *e)
{
    sqlite3_stmt *st;
    int src = sqlite3_prepare_v2(c->db, sql_version, -1, &st, NULL);
    if (src != SQLITE_OK)
        return sq_fail(e, c->db, src, "reading the schema version");
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *have = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return src == SQLITE_ROW ? 0 : sq_fail(e, c->db, src, "reading the schema version");
}

static int known_version(void)
{
    return sqlite_nmigrations ? sqlite_migrations[sqlite_nmigrations - 1].version : 0;
}

static const char create_versions[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                      " version INTEGER PRIMARY KEY,"
                                      " name TEXT NOT NULL,"
                                      " applied_at INTEGER NOT NULL) STRICT";

static int sq_schema_version(struct store *base, int *have, int *known, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    struct sq_conn *c;
    int rc = sq_conn_get(s, &c, e);
    if (rc)
        return rc;
    *known = known_version();
    *have = 0;
    rc = exec_sql(c->db, create_versions, "creating schema_migrations", e);
    return rc ? rc : read_version(c, have, e);
}

static int apply_one(struct sq_conn *c, const struct migration *m, struct errinfo *e)
{
    char what[160];
    snprintf(what, sizeof(what), "migration %d (%s)", m->version, m->name);
    int rc = exec_sql(c->db, "BEGIN IMMEDIATE", what, e);
    if (rc)
        return rc;
    int have = 0;
    rc = read_version(c, &have, e); /* another process may have applied it */
    if (!rc && have < m->version)
        rc = exec_sql(c->db, m->sql, what, e);
    if (!rc && have < m->version) {
        sqlite3_stmt *st;
        int src = sqlite3_prepare_v2(c->db,
                                     "INSERT INTO schema_migrations (version, name, applied_at)"
                                     " VALUES (?1, ?2, ?3)",
                                     -1, &st, NULL);
        if (src == SQLITE_OK) {
            sqlite3_bind_int(st, 1, m->version);
            sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, clock_now_ms());
            src = sqlite3_step(st);
            sqlite3_finalize(st);
        }
        if (src != SQLITE_DONE && src != SQLITE_OK)
            rc = sq_fail(e, c->db, src, what);
    }
    if (rc) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return exec_sql(c->db, "COMMIT", what, e);
}

static int sq_migrate(struct store *base, int *applied, struct errinfo *e)
{
    struct sq_store *s = (struct sq_store *)base;
    int have, known;
    *applied = 0;
    int rc = sq_schema_version(base, &have, &known, e);
    if (rc)
        return rc;
    if (have > known)
        return failf(e, ERR_DB,
                     "database schema version %d is newer than this leadflow knows (%d); "
                     "upgrade leadflow",
                     have, known);
    struct sq_conn *c;
    rc = sq_conn_get(s, &c, e);
    for (size_t i = 0; !rc && i < sqlite_nmigrations; i++) {
        const struct migration *m = &sqlite_migrations[i];
        if (m->version <= have)
            continue;
        rc = apply_one(c, m, e);
        if (!rc) {
            (*applied)++;
            log_info("store.migrated", "applied migration %d: %s", m->version, m->name);
        }
    }
    return rc;
}

void sq_col_copy(sqlite3_stmt *st, int i, char *out, size_t n)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    snprintf(out, n, "%s", v ? (const char *)v : "");
}

const char *sq_col_dup(sqlite3_stmt *st, int i, struct arena *a)
{
    const char *v = (const char *)sqlite3_column_text(st, i);
    return arena_strndup(a, v ? v : "", v ? (size_t)sqlite3_column_bytes(st, i) : 0);
}

void sq_bind_str(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

int sq_run(sqlite3_stmt *st, struct sq_conn *c, const char *what, struct errinfo *e)
{
    int src = sqlite3_step(st);
    int rc = src == SQLITE_DONE ? 0 : sq_fail(e, c->db, src, what);
    sq_done(st);
    return rc;
}

static int sq_tx_begin(struct store *base, struct errinfo *e)
{
    return sq_exec((struct sq_store *)base, "BEGIN IMMEDIATE", e);
}

static int sq_tx_commit(struct store *base, struct errinfo *e)
{
    return sq_exec((struct sq_store *)base, "COMMIT", e);
}

static void sq_tx_rollback(struct store *base)
{
    struct errinfo ignored;
    sq_exec((struct sq_store *)base, "ROLLBACK", &ignored);
}

/* BEGIN IMMEDIATE holds the database's one write lock already. */
static int sq_tx_lock_workspace(struct store *base, const char *workspace_id, struct errinfo *e)
{
    (void)base;
    (void)workspace_id;
    (void)e;
    return 0;
}

/* Whether the thread's connection is inside a transaction (tx_begin). */
static bool sq_tx_active(struct store *base)
{
    struct sq_conn *c;
    struct errinfo ignored;
    if (sq_conn_get((struct sq_store *)base, &c, &ignored) != 0)
        return false;
    return !sqlite3_get_autocommit(c->db);
}

/* ---- the cursor (store/db.h) ---- */

struct sq_cur {
    struct sq_conn *conn;
    sqlite3_stmt *st; /* the prepared statement, NULL before the first */
    bool tx;          /* this op began a transaction that leave ends */
};

_Static_assert(sizeof(struct sq_cur) <= DB_CUR_STATE, "struct sq_cur fits struct db_cur");

static struct sq_cur *sq_cur(struct db_cur *c)
{
    return (struct sq_cur *)c->u.bytes;
}

static int cur_enter(struct db_cur *c, const char *workspace_id, enum db_mode mode)
{
    (void)workspace_id; /* every statement names it: SQLite has no row security */
    struct sq_store *s = (struct sq_store *)c->st;
    struct sq_cur *q = sq_cur(c);
    memset(q, 0, sizeof(*q));
    int rc = sq_conn_get(s, &q->conn, c->e);
    if (rc)
        return rc;
    /* BEGIN IMMEDIATE takes the write lock first, so the op never fails to
     * upgrade a read lock halfway; inside tx_begin the caller's holds it. */
    if (mode == DB_TX && sqlite3_get_autocommit(q->conn->db)) {
        rc = sq_exec(s, "BEGIN IMMEDIATE", c->e);
        if (rc)
            return rc;
        q->tx = true;
    }
    return 0;
}

static int cur_leave(struct db_cur *c, int rc)
{
    struct sq_cur *q = sq_cur(c);
    if (q->st)
        sq_done(q->st);
    q->st = NULL;
    if (q->tx) {
        struct sq_store *s = (struct sq_store *)c->st;
        struct errinfo ignored;
        if (rc)
            sq_exec(s, "ROLLBACK", &ignored);
        else if ((rc = sq_exec(s, "COMMIT", c->e)) != 0)
            sq_exec(s, "ROLLBACK", &ignored);
        q->tx = false;
    }
    return rc;
}

static int cur_prepare(struct db_cur *c, struct db_sql *sql)
{
    struct sq_cur *q = sq_cur(c);
    if (q->st)
        sq_done(q->st);
    q->st = NULL;
    if (!sql->text)
        return failf(c->e, ERR_INTERNAL, "%s: a PostgreSQL statement on SQLite", c->what);
    return sq_stmt((struct sq_store *)c->st, sql->text, &q->st, NULL, c->e);
}

static void cur_bind_str(struct db_cur *c, int i, const char *s)
{
    sq_bind_str(sq_cur(c)->st, i, s);
}

static void cur_bind_i64(struct db_cur *c, int i, int64_t v)
{
    sqlite3_bind_int64(sq_cur(c)->st, i, v);
}

static void cur_bind_dbl(struct db_cur *c, int i, double v)
{
    sqlite3_bind_double(sq_cur(c)->st, i, v);
}

static void cur_bind_bool(struct db_cur *c, int i, bool v)
{
    sqlite3_bind_int(sq_cur(c)->st, i, v);
}

static void cur_bind_blob(struct db_cur *c, int i, const uint8_t *p, size_t n)
{
    if (p)
        sqlite3_bind_blob64(sq_cur(c)->st, i, p, n, SQLITE_STATIC);
    else
        sqlite3_bind_null(sq_cur(c)->st, i);
}

static int cur_step(struct db_cur *c)
{
    struct sq_cur *q = sq_cur(c);
    int src = sqlite3_step(q->st);
    if (src == SQLITE_ROW)
        return DB_ROW;
    if (src == SQLITE_DONE)
        return DB_DONE;
    /* As PostgreSQL's unique_violation: a primary key is unique too. */
    int ext = sqlite3_extended_errcode(q->conn->db);
    c->unique = ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY;
    return sq_fail(c->e, q->conn->db, src, c->what);
}

static const char *cur_col_text(struct db_cur *c, int i, size_t *len)
{
    sqlite3_stmt *st = sq_cur(c)->st;
    const char *v = (const char *)sqlite3_column_text(st, i);
    if (len)
        *len = v ? (size_t)sqlite3_column_bytes(st, i) : 0;
    return v;
}

static int64_t cur_col_i64(struct db_cur *c, int i)
{
    return sqlite3_column_int64(sq_cur(c)->st, i);
}

static double cur_col_dbl(struct db_cur *c, int i)
{
    return sqlite3_column_double(sq_cur(c)->st, i);
}

static bool cur_col_bool(struct db_cur *c, int i)
{
    return sqlite3_column_int(sq_cur(c)->st, i) != 0;
}

static bool cur_col_null(struct db_cur *c, int i)
{
    return sqlite3_column_type(sq_cur(c)->st, i) == SQLITE_NULL;
}

static const uint8_t *cur_col_blob(struct db_cur *c, int i, struct arena *a, size_t *n)
{
    sqlite3_stmt *st = sq_cur(c)->st;
    *n = 0;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    const void *p = sqlite3_column_blob(st, i);
    size_t len = (size_t)sqlite3_column_bytes(st, i);
    uint8_t *copy = arena_alloc(a, len ? len : 1);
    if (len)
        memcpy(copy, p, len);
    *n = len;
    return copy;
}

static int64_t cur_changes(struct db_cur *c)
{
    return sqlite3_changes64(sq_cur(c)->conn->db);
}

static int cur_set(struct db_cur *c, const char *name, const char *value)
{
    (void)c;
    (void)name;
    (void)value;
    return 0;
}

static const struct db_ops sq_db_ops = {
    .kind = DB_SQLITE,
    .enter = cur_enter,
    .leave = cur_leave,
    .prepare = cur_prepare,
    .bind_str = cur_bind_str,
    .bind_i64 = cur_bind_i64,
    .bind_dbl = cur_bind_dbl,
    .bind_bool = cur_bind_bool,
    .bind_blob = cur_bind_blob,
    .step = cur_step,
    .col_text = cur_col_text,
    .col_i64 = cur_col_i64,
    .col_dbl = cur_col_dbl,
    .col_bool = cur_col_bool,
    .col_null = cur_col_null,
    .col_blob = cur_col_blob,
    .changes = cur_changes,
    .set = cur_set,
};

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .db = &sq_db_ops,
    .open = sq_open,
    .close = sq_close,
    .migrate = sq_migrate,
    .schema_version = sq_schema_version,
    .ping = sq_ping,
    SQ_BULK_OPS,
    .tx_begin = sq_tx_begin,
    .tx_commit = sq_tx_commit,
    .tx_rollback = sq_tx_rollback,
    .tx_lock_workspace = sq_tx_lock_workspace,
    SQ_JOB_OPS,
    .tx_active = sq_tx_active,
    .data_stamp = sq_data_stamp,
};
