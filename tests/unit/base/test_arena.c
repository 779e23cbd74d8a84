/*
 * Tests for src/base/arena.c: the caller's first block, heap blocks, large
 * allocations, alignment, cleanups, reuse after release, string helpers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/arena.h"
#include "unit/unit.h"

static bool inside(const void *p, const void *base, size_t size)
{
    return (const char *)p >= (const char *)base && (const char *)p < (const char *)base + size;
}

static void test_first_block_then_heap(void **state)
{
    _Alignas(16) char stack[1024];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    char *p1 = arena_alloc(&a, 100);
    char *p2 = arena_alloc(&a, 100);
    assert_true(inside(p1, stack, sizeof(stack)));
    assert_true(inside(p2, stack, sizeof(stack)));
    assert_ptr_equal(p2, p1 + 112); /* 100 rounded up to 16 */
    assert_null(a.head);
    memset(p1, 1, 100);
    memset(p2, 2, 100);

    /* Does not fit in what is left of the stack buffer: a heap block. */
    char *p3 = arena_alloc(&a, 900);
    assert_false(inside(p3, stack, sizeof(stack)));
    assert_non_null(a.head);
    memset(p3, 3, 900);
    /* Later small allocations come from the heap block, right after p3. */
    char *p4 = arena_alloc(&a, 10);
    assert_ptr_equal(p4, p3 + 912);
    assert_int_equal(a.total, 100 + 100 + 900 + 10);
    /* Earlier allocations were not disturbed. */
    assert_int_equal(p1[99], 1);
    assert_int_equal(p2[0], 2);
    arena_release(&a);
}

static void test_no_first_block(void **state)
{
    struct arena a;
    arena_init(&a, NULL, 0);
    char *p = arena_alloc(&a, 1);
    assert_non_null(p);
    assert_non_null(a.head);
    *p = 'x';
    arena_release(&a);
    assert_null(a.head);
}

static void test_tiny_first_block_ignored(void **state)
{
    char small[8];
    struct arena a;
    arena_init(&a, small, sizeof(small));
    assert_null(a.first); /* too small to hold one aligned allocation */
    char *p = arena_alloc(&a, 4);
    assert_false(inside(p, small, sizeof(small)));
    arena_release(&a);
}

static void test_large_allocations(void **state)
{
    struct arena a;
    arena_init(&a, NULL, 0);
    char *s1 = arena_alloc(&a, 32);
    char *big = arena_alloc(&a, 100000);
    memset(big, 0xab, 100000); /* ASan checks the whole block is ours */
    assert_int_equal((unsigned char)big[99999], 0xab);
    /* The large block went behind the current one: small allocations still
     * continue in the current block. */
    char *s2 = arena_alloc(&a, 32);
    assert_ptr_equal(s2, s1 + 32);
    char *big2 = arena_alloc(&a, 50000);
    memset(big2, 0xcd, 50000);
    assert_int_equal((unsigned char)big[0], 0xab);
    assert_true(a.total >= 150064);
    arena_release(&a);

    /* A large allocation as the very first one. */
    arena_init(&a, NULL, 0);
    char *b3 = arena_alloc(&a, 20000);
    memset(b3, 1, 20000);
    char *s3 = arena_alloc(&a, 16);
    memset(s3, 2, 16);
    assert_int_equal(b3[19999], 1);
    arena_release(&a);
}

static void test_many_blocks(void **state)
{
    struct arena a;
    arena_init(&a, NULL, 0);
    char *ptrs[2000];
    for (int i = 0; i < 2000; i++) {
        ptrs[i] = arena_alloc(&a, 100);
        memset(ptrs[i], i & 0xff, 100);
    }
    for (int i = 0; i < 2000; i++)
        assert_int_equal((unsigned char)ptrs[i][50], i & 0xff);
    arena_release(&a);
}

static void test_alignment(void **state)
{
    char stack[2048];
    struct arena a;
    /* A deliberately misaligned caller buffer. */
    arena_init(&a, stack + 3, sizeof(stack) - 3);
    for (size_t n = 0; n < 200; n++) {
        void *p = arena_alloc(&a, n);
        assert_int_equal((uintptr_t)p % 16, 0);
        if (inside(p, stack, sizeof(stack)))
            assert_true((char *)p + n <= stack + sizeof(stack));
    }
    void *big = arena_alloc(&a, 10000);
    assert_int_equal((uintptr_t)big % 16, 0);
    char *s = arena_strdup(&a, "x");
    assert_int_equal((uintptr_t)s % 16, 0);
    arena_release(&a);
}

static int calls[8];
static int order[8];
static int norder;

static void record(void *p)
{
    int i = (int)(intptr_t)p;
    calls[i]++;
    order[norder++] = i;
}

static void test_cleanups_reverse_once(void **state)
{
    char stack[256];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    for (int i = 1; i <= 5; i++) {
        arena_cleanup_add(&a, record, (void *)(intptr_t)i);
        arena_alloc(&a, 100); /* spread the records over blocks */
    }
    assert_int_equal(norder, 0); /* nothing runs before release */
    arena_release(&a);
    assert_int_equal(norder, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(order[i], 5 - i);
    for (int i = 1; i <= 5; i++)
        assert_int_equal(calls[i], 1);
    arena_release(&a); /* a second release runs nothing again */
    assert_int_equal(norder, 5);
    for (int i = 1; i <= 5; i++)
        assert_int_equal(calls[i], 1);
}

static void test_reuse_after_release(void **state)
{
    _Alignas(16) char stack[512];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    char *p1 = arena_alloc(&a, 64);
    arena_alloc(&a, 4000); /* forces a heap block */
    arena_cleanup_add(&a, record, (void *)(intptr_t)1);
    arena_release(&a);
    assert_int_equal(calls[1], 1);
    assert_int_equal(a.total, 0);
    assert_null(a.head);
    assert_null(a.cleanups);
    /* The caller's buffer serves again from its start. */
    char *q1 = arena_alloc(&a, 64);
    assert_ptr_equal(q1, p1);
    arena_cleanup_add(&a, record, (void *)(intptr_t)2);
    arena_release(&a);
    assert_int_equal(calls[1], 1);
    assert_int_equal(calls[2], 1);
}

static void test_calloc_zeroes_reused_memory(void **state)
{
    _Alignas(16) char stack[256];
    struct arena a;
    arena_init(&a, stack, sizeof(stack));
    memset(arena_alloc(&a, 128), 0xff, 128);
    arena_release(&a);
    unsigned char *z = arena_calloc(&a, 128);
    for (int i = 0; i < 128; i++)
        assert_int_equal(z[i], 0);
    arena_release(&a);
}

static void test_strdup_printf(void **state)
{
    struct arena a;
    arena_init(&a, NULL, 0);
    const char *src = "hello";
    char *d = arena_strdup(&a, src);
    assert_string_equal(d, "hello");
    assert_ptr_not_equal(d, src);
    assert_string_equal(arena_strndup(&a, "hello", 3), "hel");
    assert_string_equal(arena_strndup(&a, "", 0), "");
    assert_string_equal(arena_strdup(&a, ""), "");
    assert_string_equal(arena_printf(&a, "%d-%s-%c", 42, "x", 'y'), "42-x-y");
    assert_string_equal(arena_printf(&a, "%s", ""), "");

    char big[10001];
    memset(big, 'z', 10000);
    big[10000] = '\0';
    char *p = arena_printf(&a, "<%s>", big);
    assert_int_equal(strlen(p), 10002);
    assert_int_equal(p[0], '<');
    assert_int_equal(p[10001], '>');
    arena_release(&a);
}

/* Runs arena_alloc(n) in a child; true when it returned instead of aborting. */
static bool alloc_returns(size_t n, bool with_first)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        _Alignas(16) char stack[256];
        struct arena a;
        arena_init(&a, with_first ? stack : NULL, with_first ? sizeof(stack) : 0);
        arena_alloc(&a, 32);
        arena_alloc(&a, n);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_absurd_size_aborts(void **state)
{
    /* Sizes whose rounding or block header wrap around size_t must never
     * come back as a small block. */
    assert_false(alloc_returns(SIZE_MAX, false));
    assert_false(alloc_returns(SIZE_MAX - 8, false));
    assert_false(alloc_returns(SIZE_MAX - 8, true));
    assert_false(alloc_returns(SIZE_MAX - 40, true));
    assert_true(alloc_returns(100000, true)); /* the harness itself works */
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_first_block_then_heap),
    cmocka_unit_test(test_no_first_block),
    cmocka_unit_test(test_tiny_first_block_ignored),
    cmocka_unit_test(test_large_allocations),
    cmocka_unit_test(test_many_blocks),
    cmocka_unit_test(test_alignment),
    cmocka_unit_test(test_cleanups_reverse_once),
    cmocka_unit_test(test_reuse_after_release),
    cmocka_unit_test(test_calloc_zeroes_reused_memory),
    cmocka_unit_test(test_strdup_printf),
    cmocka_unit_test(test_absurd_size_aborts),
};

UNIT_GROUP(unit_base_arena, "base/arena", tests);
