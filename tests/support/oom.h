/*
 * Allocation-failure injection for the *_oom unit tests, written once. The Makefile links
 * those tests with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup, so every
 * allocation made by the project's own (statically linked) objects goes through the wrappers
 * below, which fail exactly the Nth one after oom_arm(N). Include this header in exactly one
 * file of a test program (it defines the wrappers).
 */
#ifndef ARTEMIS_TESTS_OOM_H
#define ARTEMIS_TESTS_OOM_H

#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static long oom_fail_at; /* 0: never fail */
static long oom_calls;
static int oom_failed; /* the armed allocation was reached and failed */

static int oom_should_fail(void)
{
    if (oom_fail_at == 0)
        return 0;
    if (++oom_calls == oom_fail_at) {
        oom_failed = 1;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return oom_should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    return oom_should_fail() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    return oom_should_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return oom_should_fail() ? NULL : __real_strdup(s);
}

/* Fail the nth allocation from now on (n >= 1). */
static inline void oom_arm(long n)
{
    oom_fail_at = n;
    oom_calls = 0;
    oom_failed = 0;
}

/* Stop failing allocations. */
static inline void oom_disarm(void)
{
    oom_fail_at = 0;
}

#endif
