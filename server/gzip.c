/*
 * gzip for HTTP bodies: inflate request bodies (every Java Artemis client gzips them) with
 * a hard output limit, so a small "gzip bomb" cannot make the server allocate more than
 * http.max-body-bytes; deflate large responses at level 1 (fast: the point is fewer bytes
 * on the wire, not the best ratio). Pure: no I/O.
 */
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "gzip.h"

int srv_gzip(const char *data, size_t len, artemisi_buf_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t bound = deflateBound(&zs, (uLong)len);
    if (artemisi_buf_reserve(out, bound) != 0) {
        deflateEnd(&zs);
        return -1;
    }
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->data + out->len;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    if (rc != Z_STREAM_END) {
        deflateEnd(&zs);
        return -1;
    }
    out->len += zs.total_out;
    deflateEnd(&zs);
    return 0;
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
