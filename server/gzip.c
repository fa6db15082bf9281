/*
 * gzip for HTTP bodies: inflate request bodies (every Java Artemis client gzips them) with
 * a hard output limit, so a small "gzip bomb" cannot make the server allocate more than
 * http.max-body-bytes; deflate large responses at level 1 (fast: the point is fewer bytes
 * on the wire, not the best ratio). Pure: no I/O.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gzip.h"

struct srv_gz {
    z_stream zs;
};

srv_gz_t *srv_gz_new(void)
{
    srv_gz_t *g = calloc(1, sizeof(*g));
    if (g && deflateInit2(&g->zs, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(g);
        return NULL;
    }
    return g;
}

int srv_gz_write(srv_gz_t *g, const char *data, size_t len, int finish, artemisi_buf_t *out)
{
    z_stream *zs = &g->zs;
    zs->next_in = (Bytef *)(uintptr_t)data;
    zs->avail_in = (uInt)len;
    /* deflateBound for the whole input at once needs no second pass; a stream's pending
     * output is at most a few KB more. */
    size_t room = deflateBound(zs, (uLong)len) + 64;
    for (;;) {
        if (artemisi_buf_reserve(out, room) != 0)
            return -1;
        zs->next_out = (Bytef *)out->data + out->len;
        zs->avail_out = (uInt)room;
        int rc = deflate(zs, finish ? Z_FINISH : Z_NO_FLUSH);
        out->len += room - zs->avail_out;
        if (rc == Z_STREAM_END || (!finish && zs->avail_in == 0 && zs->avail_out))
            return 0;
        /* Z_BUF_ERROR with room left would repeat forever */
        if ((rc != Z_OK && rc != Z_BUF_ERROR) || (rc == Z_BUF_ERROR && zs->avail_out))
            return -1;
        room = 65536; /* more pending output than the bound guessed */
    }
}

void srv_gz_free(srv_gz_t *g)
{
    if (!g)
        return;
    deflateEnd(&g->zs);
    free(g);
}

int srv_gzip(const char *data, size_t len, artemisi_buf_t *out)
{
    srv_gz_t *g = srv_gz_new();
    if (!g)
        return -1;
    int rc = srv_gz_write(g, data, len, 1, out);
    srv_gz_free(g);
    return rc;
}

int srv_gunzip(const char *in, size_t len, size_t limit, artemisi_buf_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 32) != Z_OK) /* 32: accept gzip and zlib headers */
        return 400;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (out->len >= limit) {
            inflateEnd(&zs);
            return 413;
        }
        size_t room = limit - out->len + 1;
        if (room > 65536)
            room = 65536;
        if (artemisi_buf_reserve(out, room) != 0) {
            inflateEnd(&zs);
            return 413;
        }
        zs.next_out = (Bytef *)out->data + out->len;
        zs.avail_out = (uInt)room;
        rc = inflate(&zs, Z_NO_FLUSH);
        out->len = (size_t)((char *)zs.next_out - out->data);
        out->data[out->len] = '\0';
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK || (zs.avail_in == 0 && zs.avail_out != 0)) {
            inflateEnd(&zs);
            return 400; /* corrupt or truncated */
        }
    }
    inflateEnd(&zs);
    if (out->len > limit)
        return 413;
    return 0;
}
