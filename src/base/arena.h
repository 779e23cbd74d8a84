/*
 * A region allocator with cleanup handlers (after nginx's ngx_pool_t). Each
 * request and each job run owns one; everything allocated from it, and every
 * registered cleanup (a jansson tree, a statement, a file), is released by one
 * arena_release() call. Cleanups run in reverse order of registration.
 */
#ifndef LEADFLOW_BASE_ARENA_H
#define LEADFLOW_BASE_ARENA_H

#include <stddef.h>

struct arena_block;
struct arena_cleanup;

struct arena {
    struct arena_block *head;       /* current block; older blocks chain behind */
    struct arena_cleanup *cleanups; /* newest first */
    char *first;                    /* caller-supplied first block, not freed */
    size_t first_size;
    size_t used;  /* bytes used in the current block */
    size_t total; /* bytes handed out, for limits and tests */
};

/*
 * Initializes a. When buf is not NULL, its size bytes serve the first
 * allocations (a stack buffer keeps small requests free of malloc); buf is
 * borrowed and must outlive the arena.
 */
void arena_init(struct arena *a, void *buf, size_t size);

/* Frees every block and runs every cleanup; a is left ready for reuse. */
void arena_release(struct arena *a);

/* Returns n bytes aligned for any type; never NULL (aborts on OOM). */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Registers fn(data) to run at arena_release(). */
void arena_cleanup_add(struct arena *a, void (*fn)(void *), void *data);

#endif
