/*
 * libFuzzer target for the HTTP request parser and the URL helpers. The input is
 * [flags byte][4 seed bytes][raw stream]. The stream is parsed as pipelined requests twice:
 * once fed whole and once cut at pseudo-random points (seeded from the input). Both runs must
 * produce the same sequence of outcomes (status, framing, request contents); any difference,
 * crash or sanitizer report is a bug. Parsed requests are also run through the header and
 * query helpers so that their outputs are read end to end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http_parser.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t mix_bytes(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = mix(h, (unsigned char)s[i]);
    return mix(h, n);
}

/* Read every field of a finished request and check its invariants. */
static uint64_t digest(const srv_http_request_t *r, const srv_http_limits_t *lim, uint64_t h)
{
    h = mix(h, (uint64_t)r->method);
    h = mix_bytes(h, r->method_str, strlen(r->method_str));
    h = mix_bytes(h, r->path, strlen(r->path));
    h = mix_bytes(h, r->query, strlen(r->query));
    h = mix(h, (uint64_t)r->version_minor);
    h = mix(h, (uint64_t)(r->keep_alive | r->expect_continue << 1 | r->upgrade_websocket << 2 |
                          r->chunked << 3));
    if (r->n_headers > lim->max_headers)
        abort();
    for (size_t i = 0; i < r->n_headers; i++) {
        const srv_http_header_t *hd = &r->headers[i];
        if (hd->name[hd->name_len] != '\0' || hd->value[hd->value_len] != '\0')
            abort();
        h = mix_bytes(h, hd->name, hd->name_len);
        h = mix_bytes(h, hd->value, hd->value_len);
        (void)srv_http_header_has_token(hd->value, hd->value_len, "close");
    }
    size_t vlen = 0;
    const char *v = srv_http_header_get(r, "connection", &vlen);
    if (v && srv_http_header_has_token(v, vlen, "upgrade"))
        h = mix(h, 7);
    if (r->body_len > lim->max_body_bytes || r->body[r->body_len] != '\0')
        abort();
    h = mix_bytes(h, r->body, r->body_len);

    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    if (srv_url_decode(r->path, strlen(r->path), &b) == 0 && strlen(b.data ? b.data : "") != b.len)
        abort();
    static const char *names[] = {"serviceId", "a", "", "x y"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int rc = srv_query_get(r->query, names[i], &b);
        if (rc == 1 && strlen(b.data) != b.len)
            abort();
        h = mix(h, (uint64_t)(rc + 1));
        if (rc == 1)
            h = mix_bytes(h, b.data, b.len);
    }
    artemisi_buf_free(&b);
    return h;
}

/* Parse the stream as pipelined requests; seed 0 feeds each remainder whole, seed
 * UINT32_MAX one byte at a time, any other seed in pseudo-random pieces. */
static uint64_t run(const uint8_t *d, size_t n, const srv_http_limits_t *lim, int head_done,
                    uint32_t seed)
{
    srv_http_parser_t *p = srv_http_parser_new(lim);
    if (!p)
        abort();
    srv_http_parser_set_head_done(p, head_done);
    uint64_t h = 1;
    uint32_t rng = seed | 1;
    size_t off = 0;
    int rc = SRV_HTTP_AGAIN;
    while (off < n) {
        size_t piece = n - off;
        if (seed == UINT32_MAX) {
            piece = 1;
        } else if (seed) {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            size_t want = (rng & 3) == 0 ? rng % 512 : rng % 9;
            if (want < piece)
                piece = want;
        }
        /* copy so that the parser cannot keep pointers into the input */
        char *tmp = malloc(piece ? piece : 1);
        if (!tmp)
            abort();
        memcpy(tmp, d + off, piece);
        size_t used = 0;
        rc = srv_http_parser_feed(p, tmp, piece, &used);
        free(tmp);
        if (used > piece)
            abort();
        off += used;
        if (rc == SRV_HTTP_AGAIN) {
            if (used != piece)
                abort();
            continue;
        }
        if (rc == SRV_HTTP_HEAD_DONE) {
            const srv_http_request_t *r = srv_http_parser_request(p);
            if (!r)
                abort();
            h = mix(h, 0x4ead);
            h = mix_bytes(h, r->path, strlen(r->path));
            continue;
        }
        if (rc == SRV_HTTP_ERROR) {
            int st = srv_http_parser_error_status(p);
            if (st != 400 && st != 413 && st != 431 && st != 501 && st != 505)
                abort();
            h = mix(h, (uint64_t)st);
            (void)strlen(srv_http_parser_error_text(p));
            break;
        }
        /* DONE */
        h = mix(h, off);
        h = digest(srv_http_parser_request(p), lim, h);
        srv_http_parser_reset(p);
    }
    h = mix(h, (uint64_t)(rc + 10));
    h = mix(h, srv_http_parser_request(p) != NULL);
    srv_http_parser_free(p);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    uint8_t flags = data[0];
    uint32_t seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                    (uint32_t)data[4] << 24;
    data += 5;
    size -= 5;

    srv_http_limits_t lim;
    srv_http_limits_init(&lim);
    if (flags & 1) {
        /* small limits so that every limit path is reachable */
        lim.max_header_bytes = 32 + (flags >> 2) * 4;
        lim.max_headers = 1 + (flags >> 4);
        lim.max_body_bytes = 1 + (flags >> 3) * 2;
    }
    int head_done = (flags & 2) != 0;

    uint64_t whole = run(data, size, &lim, head_done, 0);
    uint64_t split = run(data, size, &lim, head_done, seed ? seed : 1);
    if (whole != split)
        abort();
    uint64_t bytes = run(data, size, &lim, head_done, UINT32_MAX);
    if (bytes != whole)
        abort();

    /* the URL helpers on raw bytes */
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    (void)srv_url_decode((const char *)data, size, &b);
    artemisi_buf_reset(&b);
    (void)srv_url_decode_form((const char *)data, size, &b);
    char *q = malloc(size + 1);
    if (q) {
        memcpy(q, data, size);
        q[size] = '\0';
        (void)srv_query_get(q, "a", &b);
        free(q);
    }
    artemisi_buf_free(&b);
    return 0;
}
