/*
 * gzip helpers for HTTP bodies; see gzip.c. Thread-safety: reentrant.
 */
#ifndef ARTEMIS_SERVER_GZIP_H
#define ARTEMIS_SERVER_GZIP_H

#include <stddef.h>

#include "buf.h"

/* Append the gzip encoding of data to out. 0, or -1 on error/OOM. */
int srv_gzip(const char *data, size_t len, artemisi_buf_t *out);
/* Inflate a gzip (or zlib) body into out, stopping at `limit` bytes. Returns 0, 413 when the
 * output would exceed limit, or 400 when the input is corrupt or truncated. */
int srv_gunzip(const char *in, size_t len, size_t limit, artemisi_buf_t *out);

#endif
