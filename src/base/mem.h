/*
 * Allocation wrappers. Out of memory is not an error the program recovers
 * from: these abort with a message instead of returning NULL. Only base/
 * calls malloc and friends directly.
 */
#ifndef LEADFLOW_BASE_MEM_H
#define LEADFLOW_BASE_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Allocates a zeroed object of the given type. */
#define XNEW(type) ((type *)xcalloc(1, sizeof(type)))

#endif
