/*
 * Transactions and the work that waits for their commit. A transaction
 * belongs to the calling thread (its connection), so its after-commit list
 * does too: it lives in the thread's transaction frame, filled between
 * store_tx_begin and the commit or rollback that ends it.
 */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/store.h"

struct hook {
    store_hook_fn fn;
    void *data;
};

/* The work waiting for the calling thread's open transaction. */
struct tx_frame {
    struct hook *hooks;
    size_t n, cap;
};

static _Thread_local struct tx_frame frame;

/* Runs (or only frees) the hooks of the frame and empties it. The list is
 * taken first: a hook may itself open a transaction. */
static void hooks_end(bool run)
{
    struct hook *h = frame.hooks;
    size_t n = frame.n;
    frame = (struct tx_frame){0};
    for (size_t i = 0; i < n; i++) {
        if (run)
            h[i].fn(h[i].data);
        free(h[i].data);
    }
    free(h);
}

int store_tx_begin(struct store *st, struct errinfo *e)
{
    return st->ops->tx_begin(st, e);
}

int store_tx_commit(struct store *st, struct errinfo *e)
{
    int rc = st->ops->tx_commit(st, e);
    if (!rc)
        hooks_end(true);
    return rc;
}

void store_tx_rollback(struct store *st)
{
    st->ops->tx_rollback(st);
    hooks_end(false);
}

int store_tx_run(struct store *st, store_tx_fn fn, void *arg, struct errinfo *e)
{
    if (st->ops->tx_active(st))
        return fn(st, arg, e);
    int rc = store_tx_begin(st, e);
    if (rc)
        return rc;
    rc = fn(st, arg, e);
    if (!rc)
        rc = store_tx_commit(st, e);
    if (rc)
        store_tx_rollback(st);
    return rc == STORE_TX_UNDO ? 0 : rc;
}

void store_after_commit(struct store *st, store_hook_fn fn, const void *data, size_t size)
{
    void *copy = xmalloc(size ? size : 1);
    if (size)
        memcpy(copy, data, size);
    if (!st->ops->tx_active(st)) {
        fn(copy);
        free(copy);
        return;
    }
    if (frame.n == frame.cap) {
        frame.cap = frame.cap ? frame.cap * 2 : 8;
        frame.hooks = xrealloc(frame.hooks, frame.cap * sizeof(*frame.hooks));
    }
    frame.hooks[frame.n++] = (struct hook){fn, copy};
}
