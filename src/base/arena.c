/*
 * Region allocator: bump allocation in blocks, cleanups in a list.
 */
#include "base/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

enum { ARENA_ALIGN = 16, ARENA_BLOCK = 8192 };

struct arena_block {
    struct arena_block *prev;
    size_t size;
    _Alignas(16) char data[];
};

struct arena_cleanup {
    struct arena_cleanup *next;
    void (*fn)(void *);
    void *data;
};

void arena_init(struct arena *a, void *buf, size_t size)
{
    memset(a, 0, sizeof(*a));
    if (buf && size >= ARENA_ALIGN) {
        /* Round the caller's buffer to our alignment. */
        uintptr_t p = (uintptr_t)buf;
        uintptr_t q = (p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
        a->first = (char *)q;
        a->first_size = size - (size_t)(q - p);
    }
}

void arena_release(struct arena *a)
{
    struct arena_cleanup *c = a->cleanups;
    while (c) {
        struct arena_cleanup *next = c->next;
        c->fn(c->data);
        c = next;
    }
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *prev = b->prev;
        free(b);
        b = prev;
    }
    char *first = a->first;
    size_t first_size = a->first_size;
    memset(a, 0, sizeof(*a));
    a->first = first;
    a->first_size = first_size;
}

void *arena_alloc(struct arena *a, size_t n)
{
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need < n || need > SIZE_MAX / 2) {
        /* Rounding, used + need or the block header would wrap around and
         * hand out a block smaller than n: fail loudly, as on OOM. */
        fprintf(stderr, "leadflow: arena allocation of %zu bytes is too large\n", n);
        abort();
    }
    a->total += n;
    if (!a->head && a->first) {
        if (a->used + need <= a->first_size) {
            void *p = a->first + a->used;
            a->used += need;
            return p;
        }
    } else if (a->head && a->used + need <= a->head->size) {
        void *p = a->head->data + a->used;
        a->used += need;
        return p;
    }
    size_t size = need > ARENA_BLOCK / 2 ? need : ARENA_BLOCK;
    struct arena_block *b = xmalloc(sizeof(*b) + size);
    b->size = size;
    if (size == need && a->head) {
        /* A large allocation gets its own block behind the current one, so
         * the free space in the current block is not wasted. */
        b->prev = a->head->prev;
        a->head->prev = b;
        return b->data;
    }
    b->prev = a->head;
    a->head = b;
    a->used = need;
    return b->data;
}

void *arena_calloc(struct arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return arena_strdup(a, "");
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_cleanup_add(struct arena *a, void (*fn)(void *), void *data)
{
    struct arena_cleanup *c = arena_alloc(a, sizeof(*c));
    c->fn = fn;
    c->data = data;
    c->next = a->cleanups;
    a->cleanups = c;
}
