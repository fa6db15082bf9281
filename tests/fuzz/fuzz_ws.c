/*
 * libFuzzer target for the WebSocket codec (sdk/common/ws_frame.c). The first input byte picks a
 * mode and a size limit:
 *   even: the rest is raw peer bytes. They are parsed all at once and again split at
 *         pseudo-random points; both runs must produce the same events, and every event
 *         must respect the codec's invariants. Bit 3 of the first byte picks the parser's
 *         role (0 server: frames must be masked, 1 client: frames must not be).
 *   odd:  the rest describes messages (text/binary/ping/pong, fragmented, with pings
 *         between fragments, long enough for 16- and 64-bit lengths). They are encoded
 *         with the masked client encoder, parsed back in random pieces, and the events must
 *         match a model of what the parser should report (including 1007 and 1009).
 * Also feeds the input to artemisi_utf8_valid and artemisi_ws_accept_key.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t rng_next(uint32_t *s)
{
    uint32_t x = *s ? *s : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static void log_event(artemisi_buf_t *log, int type, int code, const char *d, size_t len)
{
    if (artemisi_buf_appendf(log, "[%d %d %zu:", type, code, len) != 0 ||
        artemisi_buf_append(log, d, len) != 0 || artemisi_buf_appendc(log, ']') != 0)
        abort();
}

static void check_event(const artemisi_ws_event_t *ev, size_t max)
{
    switch (ev->type) {
    case ARTEMISI_WS_EV_TEXT:
        if (!ev->data || ev->len > max || !artemisi_utf8_valid(ev->data, ev->len))
            abort();
        break;
    case ARTEMISI_WS_EV_BINARY:
        if (!ev->data || ev->len > max)
            abort();
        break;
    case ARTEMISI_WS_EV_PING:
    case ARTEMISI_WS_EV_PONG:
        if (!ev->data || ev->len > ARTEMISI_WS_MAX_CONTROL)
            abort();
        break;
    case ARTEMISI_WS_EV_CLOSE:
        if (!ev->data || ev->len > ARTEMISI_WS_MAX_CONTROL - 2 ||
            (ev->close_code != 1005 && !artemisi_ws_close_code_valid(ev->close_code)) ||
            !artemisi_utf8_valid(ev->data, ev->len))
            abort();
        break;
    case ARTEMISI_WS_EV_ERROR:
        if (ev->close_code != 1002 && ev->close_code != 1007 && ev->close_code != 1009)
            abort();
        break;
    default:
        abort();
    }
}

/* Parse in into log. seed 0: all at once; otherwise pieces of random size (mostly small). */
static void parse(const char *in, size_t len, size_t max, int client, uint32_t seed,
                  artemisi_buf_t *log)
{
    artemisi_ws_parser_t *p = artemisi_ws_parser_new(max, client);
    if (!p)
        abort();
    size_t off = 0;
    for (;;) {
        size_t avail = len - off, n = avail;
        if (seed) {
            uint32_t r = rng_next(&seed);
            n = (r & 0x100) ? (r & 0xFF) : (r & 0x7);
            if (n > avail)
                n = avail;
        }
        artemisi_ws_event_t ev;
        size_t used = artemisi_ws_parser_feed(p, in + off, n, &ev);
        if (used > n)
            abort();
        off += used;
        if (ev.type == ARTEMISI_WS_EV_NONE) {
            if (used != n)
                abort();
            if (off == len)
                break;
            continue;
        }
        if (used == 0)
            abort(); /* every event completes a frame fed in this call */
        check_event(&ev, max);
        log_event(log, ev.type, ev.close_code, ev.data, ev.len);
        if (ev.type == ARTEMISI_WS_EV_ERROR || ev.type == ARTEMISI_WS_EV_CLOSE) {
            artemisi_ws_event_t again;
            if (artemisi_ws_parser_feed(p, in + off, len - off, &again) != 0 ||
                again.type != ARTEMISI_WS_EV_ERROR)
                abort();
            break;
        }
    }
    if (artemisi_buf_appendf(log, "@%zu", off) != 0)
        abort();
    artemisi_ws_parser_free(p);
}

static void compare(const artemisi_buf_t *a, const artemisi_buf_t *b)
{
    if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len) != 0)) {
        fprintf(stderr, "event logs differ:\n%.*s\n%.*s\n", (int)a->len, a->data, (int)b->len,
                b->data);
        abort();
    }
}

static void differential(const uint8_t *data, size_t size, size_t max, int client, uint32_t seed)
{
    artemisi_buf_t whole = ARTEMISI_BUF_INIT, split = ARTEMISI_BUF_INIT;
    parse((const char *)data, size, max, client, 0, &whole);
    parse((const char *)data, size, max, client, seed | 1, &split);
    compare(&whole, &split);
    artemisi_buf_free(&whole);
    artemisi_buf_free(&split);
}

/* Round trip: build a masked client stream and the event log the parser must produce. */
static void roundtrip(const uint8_t *data, size_t size, size_t max, uint32_t seed)
{
    artemisi_buf_t wire = ARTEMISI_BUF_INIT, want = ARTEMISI_BUF_INIT, got = ARTEMISI_BUF_INIT;
    artemisi_buf_t msg = ARTEMISI_BUF_INIT;
    size_t i = 0;
    int failed = 0;
    unsigned char mask[4];

    while (i < size && !failed) {
        uint8_t b = data[i++];
        uint32_t r = rng_next(&seed);
        memcpy(mask, &r, 4);
        size_t len = i < size ? data[i++] : 0;
        if ((b & 0x80) && i < size)
            len = (len << 8) | data[i++];
        if ((b & 0xA0) == 0xA0)
            len += 65536;
        int kind = b & 3;
        if (kind >= 2)
            len %= ARTEMISI_WS_MAX_CONTROL + 1;
        /* Payload: the next input bytes, cycled if the input is shorter. */
        size_t avail = size - i;
        size_t take = len < avail ? len : avail;
        artemisi_buf_reset(&msg);
        if (artemisi_buf_reserve(&msg, len) != 0)
            abort();
        for (size_t k = 0; k < len; k++)
            msg.data[k] = take ? (char)data[i + (k % take)] : 'a';
        msg.len = len;
        i += take;

        if (kind >= 2) {
            int op = kind == 2 ? ARTEMISI_WS_OP_PING : ARTEMISI_WS_OP_PONG;
            if (artemisi_ws_frame_append_masked(&wire, op, msg.data, len, mask) != 0)
                abort();
            log_event(&want, kind == 2 ? ARTEMISI_WS_EV_PING : ARTEMISI_WS_EV_PONG, 0, msg.data,
                      len);
            continue;
        }
        /* A data message in nfrag fragments, optionally with a ping between fragments. */
        size_t nfrag = ((b >> 2) & 3) + 1, sent = 0;
        for (size_t f = 0; f < nfrag; f++) {
            if (f > 0 && (b & 0x40)) {
                if (artemisi_ws_frame_append_masked(&wire, ARTEMISI_WS_OP_PING, "pi", 2, mask) != 0)
                    abort();
                log_event(&want, ARTEMISI_WS_EV_PING, 0, "pi", 2);
            }
            size_t flen = f + 1 == nfrag ? len - sent : (rng_next(&seed) % (len - sent + 1));
            unsigned first =
                (f == 0 ? (kind == 0 ? 0x1u : 0x2u) : 0x0u) | (f + 1 == nfrag ? 0x80u : 0x0u);
            if (artemisi_ws_frame_append_raw(&wire, first, msg.data + sent, flen, mask) != 0)
                abort();
            sent += flen;
            if (sent > max) {
                log_event(&want, ARTEMISI_WS_EV_ERROR, 1009, NULL, 0);
                failed = 1;
                break;
            }
        }
        if (failed)
            break;
        if (kind == 0 && !artemisi_utf8_valid(msg.data, len)) {
            log_event(&want, ARTEMISI_WS_EV_ERROR, 1007, NULL, 0);
            failed = 1;
            break;
        }
        log_event(&want, kind == 0 ? ARTEMISI_WS_EV_TEXT : ARTEMISI_WS_EV_BINARY, 0, msg.data, len);
    }
    if (!failed) {
        memset(mask, 0, sizeof(mask)); /* an all-zero mask is legal too */
        if (artemisi_ws_frame_append_masked(&wire, ARTEMISI_WS_OP_CLOSE, "\x03\xe8ok", 4, mask) !=
            0)
            abort();
        log_event(&want, ARTEMISI_WS_EV_CLOSE, 1000, "ok", 2);
    }

    parse(wire.data, wire.len, max, 0, seed | 1, &got);
    /* parse() appends the final offset; the model stops at the end of the stream unless
     * an error cut it short, in which case only the events are compared. */
    size_t at = got.len;
    while (at > 0 && got.data[at - 1] != '@')
        at--;
    if (at == 0)
        abort();
    if (!failed && (size_t)strtoull(got.data + at, NULL, 10) != wire.len)
        abort();
    got.len = at - 1;
    compare(&want, &got);

    artemisi_buf_free(&wire);
    artemisi_buf_free(&want);
    artemisi_buf_free(&got);
    artemisi_buf_free(&msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[4] = {16, 200, 70000, 1 << 20};
    char key_out[29];

    (void)artemisi_utf8_valid((const char *)data, size);
    if (artemisi_ws_accept_key((const char *)data, size, key_out) == 0 && strlen(key_out) != 28)
        abort();
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    size_t max = limits[(mode >> 1) & 3];
    uint32_t seed = 0;
    for (size_t i = 0; i < size && i < 8; i++)
        seed = seed * 31 + data[i];
    if (mode & 1)
        roundtrip(data + 1, size - 1, max, seed);
    else
        differential(data + 1, size - 1, max, (mode >> 3) & 1, seed);
    return 0;
}
