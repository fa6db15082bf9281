/*
 * A growable byte buffer: the one way this project builds output (JSON, HTTP heads,
 * WebSocket frames). Pure: no I/O.
 *
 * Ownership: the buffer owns `data`; artemisi_buf_free() releases it. `data` is always
 * NUL-terminated after any successful append, so it can be read as a C string.
 * Thread-safety: handle (one buffer, one thread at a time).
 * Allocation failure: appends return -1 and leave the buffer as it was before the call, and
 * the buffer remembers it (`failed`, sticky until reset or free). A writer that builds a
 * whole answer with many appends may therefore check once at the end instead of after every
 * call: a buffer that lost bytes is never sent as if it were complete.
 */
#ifndef ARTEMIS_SDK_BUF_H
#define ARTEMIS_SDK_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct artemisi_buf {
    char *data;
    size_t len;
    size_t cap;
    int failed; /* an append or reserve failed since the last reset */
} artemisi_buf_t;

#define ARTEMISI_BUF_INIT                                                                          \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

void artemisi_buf_init(artemisi_buf_t *b);
void artemisi_buf_free(artemisi_buf_t *b);
/* Forget the contents (and a failure), keep the memory. */
void artemisi_buf_reset(artemisi_buf_t *b);
/* Make room for `n` more bytes. */
int artemisi_buf_reserve(artemisi_buf_t *b, size_t n);
int artemisi_buf_append(artemisi_buf_t *b, const void *p, size_t n);
int artemisi_buf_appends(artemisi_buf_t *b, const char *s);
int artemisi_buf_appendc(artemisi_buf_t *b, char c);
int artemisi_buf_appendf(artemisi_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int artemisi_buf_append_i64(artemisi_buf_t *b, int64_t v);
/* 1 when bytes were lost: an append failed since the last init, reset or free. */
int artemisi_buf_failed(const artemisi_buf_t *b);
/* Steal the bytes: returns `data` (caller frees with free()) and empties the buffer. */
char *artemisi_buf_detach(artemisi_buf_t *b, size_t *len);

#endif
