/*
 * Transactions and their after-commit work (store/tx.c), on a real SQLite
 * database: work runs once after the commit in the order registered, never
 * after a rollback, at once outside a transaction; store_tx_run commits,
 * rolls back on an error or STORE_TX_UNDO, and joins an open transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/auth.h"
#include "store/store.h"
#include "unit/unit.h"

struct fix {
    char *dir;
    struct store *st;
    struct errinfo e;
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    f->dir = unit_tmpdir();
    char *db = unit_path(f->dir, "tx.db");
    char url[4200];
    snprintf(url, sizeof(url), "sqlite:%s", db);
    free(db);
    errinfo_clear(&f->e);
    f->st = store_open(url, &f->e);
    if (!f->st)
        fail_msg("store_open: %s", f->e.msg);
    int applied = 0;
    if (store_migrate(f->st, &applied, &f->e) != 0)
        fail_msg("migrate: %s", f->e.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    store_close(f->st);
    unit_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* What the hooks saw: the values they were given, in order. */
static char seen[64];

static void note(void *data)
{
    size_t n = strlen(seen);
    snprintf(seen + n, sizeof(seen) - n, "%s", (const char *)data);
}

static bool user_exists(struct fix *f, const char *email)
{
    struct user u;
    struct errinfo e;
    return store_user_by_email(f->st, email, &u, &e) == 0;
}

static void test_hooks_run_after_commit_in_order(void **state)
{
    struct fix *f = *state;
    seen[0] = '\0';
    assert_int_equal(store_tx_begin(f->st, &f->e), 0);
    char buf[2] = "a";
    store_after_commit(f->st, note, buf, 2);
    buf[0] = 'b'; /* the hook has its own copy */
    store_after_commit(f->st, note, buf, 2);
    assert_string_equal(seen, "");
    assert_int_equal(store_tx_commit(f->st, &f->e), 0);
    assert_string_equal(seen, "ab");
    /* Run once: a later transaction does not run them again. */
    assert_int_equal(store_tx_begin(f->st, &f->e), 0);
    assert_int_equal(store_tx_commit(f->st, &f->e), 0);
    assert_string_equal(seen, "ab");
}

static void test_hooks_dropped_on_rollback(void **state)
{
    struct fix *f = *state;
    seen[0] = '\0';
    assert_int_equal(store_tx_begin(f->st, &f->e), 0);
    store_after_commit(f->st, note, "x", 2);
    store_tx_rollback(f->st);
    assert_int_equal(store_tx_begin(f->st, &f->e), 0);
    store_after_commit(f->st, note, "y", 2);
    assert_int_equal(store_tx_commit(f->st, &f->e), 0);
    assert_string_equal(seen, "y");
    /* Outside a transaction the change is committed already: at once. */
    store_after_commit(f->st, note, "z", 2);
    assert_string_equal(seen, "yz");
}

struct work {
    const char *email;
    int rc;
};

static int add_user(struct store *st, void *arg, struct errinfo *e)
{
    const struct work *w = arg;
    struct user u;
    int rc = store_user_create(st, w->email, "Tx Test", 1000, &u, e);
    store_after_commit(st, note, w->email, strlen(w->email) + 1);
    return rc ? rc : w->rc;
}

static void test_run_commits_or_rolls_back(void **state)
{
    struct fix *f = *state;
    seen[0] = '\0';
    struct work ok = {"a@x.example", 0};
    assert_int_equal(store_tx_run(f->st, add_user, &ok, &f->e), 0);
    assert_true(user_exists(f, "a@x.example"));
    assert_string_equal(seen, "a@x.example");

    struct work bad = {"b@x.example", ERR_INVALID};
    assert_int_equal(store_tx_run(f->st, add_user, &bad, &f->e), ERR_INVALID);
    assert_false(user_exists(f, "b@x.example"));

    struct work undo = {"c@x.example", STORE_TX_UNDO};
    assert_int_equal(store_tx_run(f->st, add_user, &undo, &f->e), 0);
    assert_false(user_exists(f, "c@x.example"));
    assert_string_equal(seen, "a@x.example");
    assert_false(store_tx_active(f->st));
}

static void test_run_joins_the_open_transaction(void **state)
{
    struct fix *f = *state;
    seen[0] = '\0';
    assert_int_equal(store_tx_begin(f->st, &f->e), 0);
    struct work w = {"d@x.example", 0};
    assert_int_equal(store_tx_run(f->st, add_user, &w, &f->e), 0);
    assert_true(store_tx_active(f->st));
    assert_string_equal(seen, ""); /* the outer commit decides */
    store_tx_rollback(f->st);
    assert_false(user_exists(f, "d@x.example"));
    assert_string_equal(seen, "");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_hooks_run_after_commit_in_order, setup, teardown),
    cmocka_unit_test_setup_teardown(test_hooks_dropped_on_rollback, setup, teardown),
    cmocka_unit_test_setup_teardown(test_run_commits_or_rolls_back, setup, teardown),
    cmocka_unit_test_setup_teardown(test_run_joins_the_open_transaction, setup, teardown),
};

UNIT_GROUP(unit_store_tx, "store/tx", tests);
