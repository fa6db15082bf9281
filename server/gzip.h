/*
 * gzip helpers for HTTP bodies; see gzip.c. Thread-safety: reentrant.
 */
#ifndef ARTEMIS_SERVER_GZIP_H
#define ARTEMIS_SERVER_GZIP_H

#include <stddef.h>

#include "buf.h"

/* Append the gzip encoding of data to out. 0, or -1 on error/OOM. */
int srv_gzip(const char *data, size_t len, artemisi_buf_t *out);

/* One gzip member written in pieces (a streamed answer, api.h srv_req_stream): each
 * srv_gz_write appends what deflate has ready (possibly nothing) to out; finish = 1 ends the
 * member. 0, or -1 on error/OOM (the stream is then unusable). Level 1, as srv_gzip. */
typedef struct srv_gz srv_gz_t;
srv_gz_t *srv_gz_new(void); /* NULL on OOM */
int srv_gz_write(srv_gz_t *g, const char *data, size_t len, int finish, artemisi_buf_t *out);
void srv_gz_free(srv_gz_t *g); /* NULL is a no-op */
/* Inflate a gzip (or zlib) body into out, stopping at `limit` bytes. Returns 0, 413 when the
 * output would exceed limit, or 400 when the input is corrupt or truncated. */
int srv_gunzip(const char *in, size_t len, size_t limit, artemisi_buf_t *out);

#endif
