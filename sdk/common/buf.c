/*
 * Growable byte buffer. Capacity grows by doubling so appends are amortised O(1);
 * one spare byte is always kept for the terminating NUL.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void artemisi_buf_init(artemisi_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}

void artemisi_buf_free(artemisi_buf_t *b)
{
    free(b->data);
    artemisi_buf_init(b);
}

void artemisi_buf_reset(artemisi_buf_t *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data)
        b->data[0] = '\0';
}

int artemisi_buf_reserve(artemisi_buf_t *b, size_t n)
{
    if (n >= SIZE_MAX / 2 - b->len) {
        b->failed = 1;
        return -1;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int artemisi_buf_append(artemisi_buf_t *b, const void *p, size_t n)
{
    if (artemisi_buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int artemisi_buf_appends(artemisi_buf_t *b, const char *s)
{
    return artemisi_buf_append(b, s, strlen(s));
}

int artemisi_buf_appendc(artemisi_buf_t *b, char c)
{
    return artemisi_buf_append(b, &c, 1);
}

int artemisi_buf_appendf(artemisi_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return -1;
    }
    if ((size_t)n < sizeof(small))
        return artemisi_buf_append(b, small, (size_t)n);
    if (artemisi_buf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int artemisi_buf_append_i64(artemisi_buf_t *b, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof(tmp);
    char *p = end;
    /* Work on the negative side so INT64_MIN does not overflow. */
    int64_t x = v < 0 ? v : -v;
    do {
        *--p = (char)('0' - (x % 10));
        x /= 10;
    } while (x != 0);
    if (v < 0)
        *--p = '-';
    return artemisi_buf_append(b, p, (size_t)(end - p));
}

int artemisi_buf_failed(const artemisi_buf_t *b)
{
    return b->failed;
}

char *artemisi_buf_detach(artemisi_buf_t *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    artemisi_buf_init(b);
    return p;
}
