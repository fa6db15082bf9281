#include "test.h"
/*
 * Unit tests for the RFC 6455 codec (sdk/common/ws_frame.c): the accept key, the parser (single
 * and fragmented messages, every protocol error, size limits, split input) and the encoders.
 */
#include "ws_frame.h"

static const unsigned char MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

/* One feed of a whole buffer that must produce exactly one event and consume it all. */
static artemisi_ws_event_t feed_one(artemisi_ws_parser_t *p, const void *data, size_t len)
{
    artemisi_ws_event_t ev;
    size_t used = artemisi_ws_parser_feed(p, data, len, &ev);
    assert_int_equal(used, len);
    return ev;
}

/* Feed the first frame of buf and expect an ERROR with code. */
static void expect_error(const artemisi_buf_t *buf, size_t max, int code)
{
    artemisi_ws_parser_t *p = artemisi_ws_parser_new(max, 0);
    assert_non_null(p);
    artemisi_ws_event_t ev;
    size_t off = 0;
    for (;;) {
        size_t used = artemisi_ws_parser_feed(p, buf->data + off, buf->len - off, &ev);
        off += used;
        if (ev.type == ARTEMISI_WS_EV_ERROR)
            break;
        assert_int_not_equal(ev.type, ARTEMISI_WS_EV_NONE); /* input ran out without the error */
        assert_int_not_equal(ev.type, ARTEMISI_WS_EV_CLOSE);
    }
    assert_int_equal(ev.close_code, code);
    /* Sticky: later input is refused. */
    assert_int_equal(artemisi_ws_parser_feed(p, "\x81\x80\0\0\0\0", 6, &ev), 0);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_ERROR);
    assert_int_equal(ev.close_code, code);
    artemisi_ws_parser_free(p);
}

/* ---- accept key ----------------------------------------------------------------------- */

static void test_accept_key_rfc(void **state)
{
    (void)state;
    char out[29];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    assert_int_equal(artemisi_ws_accept_key(key, strlen(key), out), 0);
    /* RFC 6455 section 1.3 (confirmed with Python hashlib + base64). */
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_accept_key_bad(void **state)
{
    (void)state;
    char out[29];
    const char *bad[] = {
        "",
        "dGhlIHNhbXBsZSBub25jZQ=",   /* 23 chars */
        "dGhlIHNhbXBsZSBub25jZQ===", /* 25 chars */
        "dGhlIHNhbXBsZSBub25jZQAA",  /* no padding: 18 bytes */
        "dGhlIHNhbXBsZSBub25jZQA=",  /* one '=': 17 bytes */
        "dGhlIHNhbXBsZSBub25jZR==",  /* non-zero pad bits */
        "dGhlIHNhbXBsZSBub25j*Q==",  /* not base64 */
        "dGhlIHNhbXBsZSBub2 jZQ==",  /* space inside */
        "dGhlIHNhbXBsZSBub25jZQ-=",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(artemisi_ws_accept_key(bad[i], strlen(bad[i]), out), -1);
    assert_int_equal(artemisi_ws_accept_key(NULL, 24, out), -1);
    /* Embedded NUL with the right length. */
    assert_int_equal(artemisi_ws_accept_key("dGhlIHNhbXBsZSBub2\0jZQ==", 24, out), -1);
    /* A key with '+' and '/' is fine. */
    assert_int_equal(artemisi_ws_accept_key("+/+/+/+/+/+/+/+/+/+/+w==", 24, out), 0);
    assert_string_equal(out, "M0DUs3om0SqzerhOhYSMM7WQuBQ=");
}

/* ---- parser: messages ----------------------------------------------------------------- */

static void test_single_text_frame(void **state)
{
    (void)state;
    /* RFC 6455 section 5.7: a single-frame masked text message "Hello". */
    const unsigned char frame[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                   0x7f, 0x9f, 0x4d, 0x51, 0x58};
    artemisi_ws_parser_t *p = artemisi_ws_parser_new(1024, 0);
    artemisi_ws_event_t ev = feed_one(p, frame, sizeof(frame));
    assert_int_equal(ev.type, ARTEMISI_WS_EV_TEXT);
    assert_int_equal(ev.len, 5);
    assert_memory_equal(ev.data, "Hello", 5);
    /* Nothing left: NONE, nothing consumed. */
    assert_int_equal(artemisi_ws_parser_feed(p, NULL, 0, &ev), 0);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_NONE);
    artemisi_ws_parser_free(p);
    artemisi_ws_parser_free(NULL);
}

static void roundtrip_len(size_t n, size_t expect_hdr)
{
    unsigned char *payload = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        payload[i] = (unsigned char)(i * 7 + 3);
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_BINARY, payload, n, MASK),
                     0);
    assert_int_equal(b.len, expect_hdr + 4 + n);
    if (expect_hdr == 4)
        assert_int_equal((unsigned char)b.data[1], 0x80 | 126);
    if (expect_hdr == 10)
        assert_int_equal((unsigned char)b.data[1], 0x80 | 127);
    artemisi_ws_parser_t *p = artemisi_ws_parser_new(1 << 20, 0);
    artemisi_ws_event_t ev = feed_one(p, b.data, b.len);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_BINARY);
    assert_int_equal(ev.len, n);
    if (n)
        assert_memory_equal(ev.data, payload, n);
    artemisi_ws_parser_free(p);
    artemisi_buf_free(&b);
    free(payload);
}

static void test_length_encodings(void **state)
{
    (void)state;
    roundtrip_len(0, 2);
    roundtrip_len(125, 2);
    roundtrip_len(126, 4);
    roundtrip_len(300, 4);
    roundtrip_len(65535, 4);
    roundtrip_len(65536, 10);
    roundtrip_len(70000, 10);
}

static void test_fragmented_with_ping(void **state)
{
    (void)state;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    /* "Hel" (text, no FIN), ping "hi", "lo" (cont, no FIN), pong, "" (cont, FIN), then a
     * binary message. */
    assert_int_equal(artemisi_ws_frame_append_raw(&b, 0x01, "Hel", 3, MASK), 0);
    assert_int_equal(artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_PING, "hi", 2, MASK), 0);
    assert_int_equal(artemisi_ws_frame_append_raw(&b, 0x00, "lo", 2, MASK), 0);
    assert_int_equal(artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_PONG, NULL, 0, MASK), 0);
    assert_int_equal(artemisi_ws_frame_append_raw(&b, 0x80, "", 0, MASK), 0);
    assert_int_equal(artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_BINARY, "\0\1", 2, MASK),
                     0);

    artemisi_ws_parser_t *p = artemisi_ws_parser_new(16, 0);
    artemisi_ws_event_t ev;
    size_t off = 0;
    off += artemisi_ws_parser_feed(p, b.data + off, b.len - off, &ev);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_PING);
    assert_int_equal(ev.len, 2);
    assert_memory_equal(ev.data, "hi", 2);
    off += artemisi_ws_parser_feed(p, b.data + off, b.len - off, &ev);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_PONG);
    assert_int_equal(ev.len, 0);
    assert_non_null(ev.data);
    off += artemisi_ws_parser_feed(p, b.data + off, b.len - off, &ev);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_TEXT);
    assert_int_equal(ev.len, 5);
    assert_memory_equal(ev.data, "Hello", 5);
    off += artemisi_ws_parser_feed(p, b.data + off, b.len - off, &ev);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_BINARY);
    assert_int_equal(ev.len, 2);
    assert_memory_equal(ev.data, "\0\1", 2);
    assert_int_equal(off, b.len);
    assert_int_equal(artemisi_ws_parser_feed(p, b.data + off, 0, &ev), 0);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_NONE);
    artemisi_ws_parser_free(p);
    artemisi_buf_free(&b);
}

static void test_zero_length_messages(void **state)
{
    (void)state;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_TEXT, NULL, 0, MASK);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_BINARY, NULL, 0, MASK);
    artemisi_ws_frame_append_raw(&b, 0x01, NULL, 0, MASK);
    artemisi_ws_frame_append_raw(&b, 0x80, NULL, 0, MASK);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_PING, NULL, 0, MASK);
    artemisi_ws_parser_t *p = artemisi_ws_parser_new(0, 0); /* max 0 still allows empty messages */
    artemisi_ws_event_t ev;
    const artemisi_ws_event_type_t want[] = {ARTEMISI_WS_EV_TEXT, ARTEMISI_WS_EV_BINARY,
                                             ARTEMISI_WS_EV_TEXT, ARTEMISI_WS_EV_PING};
    size_t off = 0;
    for (size_t i = 0; i < 4; i++) {
        off += artemisi_ws_parser_feed(p, b.data + off, b.len - off, &ev);
        assert_int_equal(ev.type, want[i]);
        assert_int_equal(ev.len, 0);
        assert_non_null(ev.data);
    }
    assert_int_equal(off, b.len);
    artemisi_ws_parser_free(p);
    artemisi_buf_free(&b);
}

/* Collect all events of a stream, fed in pieces of `step` bytes (0 = all at once). */
static void collect(const artemisi_buf_t *in, size_t step, artemisi_buf_t *log)
{
    artemisi_ws_parser_t *p = artemisi_ws_parser_new(100000, 0);
    size_t off = 0;
    for (;;) {
        size_t avail = in->len - off;
        size_t n = step && step < avail ? step : avail;
        artemisi_ws_event_t ev;
        size_t used = artemisi_ws_parser_feed(p, in->data + off, n, &ev);
        off += used;
        if (ev.type == ARTEMISI_WS_EV_NONE) {
            assert_int_equal(used, n);
            if (off == in->len)
                break;
            continue;
        }
        artemisi_buf_appendf(log, "[%d %d %zu:", ev.type, ev.close_code, ev.len);
        artemisi_buf_append(log, ev.data, ev.len);
        artemisi_buf_appendc(log, ']');
        if (ev.type == ARTEMISI_WS_EV_ERROR || ev.type == ARTEMISI_WS_EV_CLOSE)
            break;
    }
    artemisi_ws_parser_free(p);
}

static void test_split_equals_whole(void **state)
{
    (void)state;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    char big[70000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_TEXT, "first", 5, MASK);
    artemisi_ws_frame_append_raw(&b, 0x02, big, 200, MASK);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_PING, "p", 1, MASK);
    artemisi_ws_frame_append_raw(&b, 0x80, big, 70000, MASK);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_TEXT, NULL, 0, MASK);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_PONG, "pong", 4, MASK);
    unsigned char close[] = {0x03, 0xe8, 'b', 'y', 'e'};
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_CLOSE, close, sizeof(close), MASK);

    artemisi_buf_t whole = ARTEMISI_BUF_INIT, one = ARTEMISI_BUF_INIT, seven = ARTEMISI_BUF_INIT;
    collect(&b, 0, &whole);
    collect(&b, 1, &one);
    collect(&b, 7, &seven);
    assert_int_equal(whole.len, one.len);
    assert_memory_equal(whole.data, one.data, whole.len);
    assert_int_equal(whole.len, seven.len);
    assert_memory_equal(whole.data, seven.data, whole.len);
    /* Six events ending with the close. */
    assert_non_null(strstr(whole.data, "[5 1000 3:bye]"));
    assert_non_null(strstr(whole.data, "[4 0 4:pong]"));
    artemisi_buf_free(&whole);
    artemisi_buf_free(&one);
    artemisi_buf_free(&seven);
    artemisi_buf_free(&b);
}

/* ---- parser: close frames ------------------------------------------------------------- */

static void test_close_frames(void **state)
{
    (void)state;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    artemisi_ws_event_t ev;

    /* No payload: 1005, empty reason; then further input is refused. */
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_CLOSE, NULL, 0, MASK);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_TEXT, "x", 1, MASK);
    artemisi_ws_parser_t *p = artemisi_ws_parser_new(100, 0);
    size_t used = artemisi_ws_parser_feed(p, b.data, b.len, &ev);
    assert_int_equal(used, 6);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_CLOSE);
    assert_int_equal(ev.close_code, 1005);
    assert_int_equal(ev.len, 0);
    assert_int_equal(artemisi_ws_parser_feed(p, b.data + used, b.len - used, &ev), 0);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_ERROR);
    artemisi_ws_parser_free(p);

    /* Code and reason. */
    const int ok_codes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999};
    for (size_t i = 0; i < sizeof(ok_codes) / sizeof(ok_codes[0]); i++) {
        unsigned char pl[] = {(unsigned char)(ok_codes[i] >> 8), (unsigned char)ok_codes[i], 0xc3,
                              0xa9};
        artemisi_buf_reset(&b);
        artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_CLOSE, pl, sizeof(pl), MASK);
        p = artemisi_ws_parser_new(100, 0);
        ev = feed_one(p, b.data, b.len);
        assert_int_equal(ev.type, ARTEMISI_WS_EV_CLOSE);
        assert_int_equal(ev.close_code, ok_codes[i]);
        assert_int_equal(ev.len, 2);
        assert_memory_equal(ev.data, "\xc3\xa9", 2);
        artemisi_ws_parser_free(p);
    }
    artemisi_buf_free(&b);
}

/* ---- parser: errors ------------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    char big[200];
    memset(big, 'a', sizeof(big));

    /* Unmasked client frame. */
    artemisi_ws_frame_append(&b, ARTEMISI_WS_OP_TEXT, "hi", 2);
    expect_error(&b, 100, 1002);
    /* RSV1, RSV2, RSV3. */
    for (unsigned rsv = 0x10; rsv <= 0x40; rsv <<= 1) {
        artemisi_buf_reset(&b);
        artemisi_ws_frame_append_raw(&b, 0x81 | rsv, "hi", 2, MASK);
        expect_error(&b, 100, 1002);
    }
    /* Unknown opcodes. */
    const unsigned bad_ops[] = {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF};
    for (size_t i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
        artemisi_buf_reset(&b);
        artemisi_ws_frame_append_raw(&b, 0x80 | bad_ops[i], "", 0, MASK);
        expect_error(&b, 100, 1002);
    }
    /* Control frame over 125 bytes, and with FIN clear. */
    const unsigned ctl_ops[] = {0x8, 0x9, 0xA};
    for (size_t i = 0; i < 3; i++) {
        artemisi_buf_reset(&b);
        artemisi_ws_frame_append_raw(&b, 0x80 | ctl_ops[i], big, 126, MASK);
        expect_error(&b, 1000, 1002);
        artemisi_buf_reset(&b);
        artemisi_ws_frame_append_raw(&b, ctl_ops[i], "", 0, MASK);
        expect_error(&b, 1000, 1002);
    }
    /* Continuation without a started message. */
    artemisi_buf_reset(&b);
    artemisi_ws_frame_append_raw(&b, 0x80, "x", 1, MASK);
    expect_error(&b, 100, 1002);
    /* ... also right after a complete message. */
    artemisi_buf_reset(&b);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_TEXT, "x", 1, MASK);
    artemisi_ws_frame_append_raw(&b, 0x00, "x", 1, MASK);
    expect_error(&b, 100, 1002);
    /* New data frame while a fragmented message is open (text and binary). */
    for (unsigned op = 1; op <= 2; op++) {
        artemisi_buf_reset(&b);
        artemisi_ws_frame_append_raw(&b, 0x01, "x", 1, MASK);
        artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_PING, NULL, 0, MASK);
        artemisi_ws_frame_append_raw(&b, 0x80 | op, "x", 1, MASK);
        expect_error(&b, 100, 1002);
    }
    /* 64-bit length with the top bit set: detected from the header alone. */
    artemisi_buf_reset(&b);
    artemisi_buf_append(&b,
                        "\x82\xff\x80\0\0\0\0\0\0\x01"
                        "abcd",
                        14);
    expect_error(&b, 100, 1002);
    /* Invalid UTF-8 in a text message, single and fragmented. */
    artemisi_buf_reset(&b);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_TEXT, "a\xc0\xafz", 4, MASK);
    expect_error(&b, 100, 1007);
    artemisi_buf_reset(&b);
    artemisi_ws_frame_append_raw(&b, 0x01, "\xce", 1, MASK); /* sequence split across fragments */
    artemisi_ws_frame_append_raw(&b, 0x80, "\xba", 1, MASK); /* is valid ... */
    artemisi_ws_frame_append_raw(&b, 0x01, "\xce", 1, MASK);
    artemisi_ws_frame_append_raw(&b, 0x80, "", 0, MASK); /* ... truncated is not */
    expect_error(&b, 100, 1007);
    /* Binary messages are not checked. */
    artemisi_buf_reset(&b);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_BINARY, "\xff", 1, MASK);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_TEXT, "\xff", 1, MASK);
    expect_error(&b, 100, 1007);
    /* Close payload of length 1. */
    artemisi_buf_reset(&b);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_CLOSE, "\x03", 1, MASK);
    expect_error(&b, 100, 1002);
    /* Invalid close codes. */
    const int bad_codes[] = {0, 999, 1004, 1005, 1006, 1012, 1015, 1016, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof(bad_codes) / sizeof(bad_codes[0]); i++) {
        unsigned char pl[] = {(unsigned char)(bad_codes[i] >> 8), (unsigned char)bad_codes[i]};
        artemisi_buf_reset(&b);
        artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_CLOSE, pl, 2, MASK);
        expect_error(&b, 100, 1002);
    }
    /* Invalid UTF-8 close reason. */
    artemisi_buf_reset(&b);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_CLOSE, "\x03\xe8\xed\xa0\x80", 5, MASK);
    expect_error(&b, 100, 1007);
    artemisi_buf_free(&b);
}

static void test_max_size(void **state)
{
    (void)state;
    char data[64];
    memset(data, 'z', sizeof(data));
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    artemisi_ws_event_t ev;

    /* Exactly the limit is fine, single or fragmented. */
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_TEXT, data, 32, MASK);
    artemisi_ws_frame_append_raw(&b, 0x02, data, 16, MASK);
    artemisi_ws_frame_append_raw(&b, 0x80, data, 16, MASK);
    artemisi_ws_parser_t *p = artemisi_ws_parser_new(32, 0);
    size_t off = artemisi_ws_parser_feed(p, b.data, b.len, &ev);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_TEXT);
    assert_int_equal(ev.len, 32);
    off += artemisi_ws_parser_feed(p, b.data + off, b.len - off, &ev);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_BINARY);
    assert_int_equal(ev.len, 32);
    assert_int_equal(off, b.len);
    artemisi_ws_parser_free(p);

    /* One byte over in one frame: refused after the header, before any payload. */
    artemisi_buf_reset(&b);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_TEXT, data, 33, MASK);
    p = artemisi_ws_parser_new(32, 0);
    size_t used = artemisi_ws_parser_feed(p, b.data, b.len, &ev);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_ERROR);
    assert_int_equal(ev.close_code, 1009);
    assert_int_equal(used, 6);
    artemisi_ws_parser_free(p);

    /* Over across fragments (with a ping in between). */
    artemisi_buf_reset(&b);
    artemisi_ws_frame_append_raw(&b, 0x01, data, 20, MASK);
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_PING, data, 20, MASK);
    artemisi_ws_frame_append_raw(&b, 0x80, data, 13, MASK);
    expect_error(&b, 32, 1009);

    /* A huge 64-bit length is refused from the header alone. */
    artemisi_buf_reset(&b);
    artemisi_buf_append(&b,
                        "\x82\xff\x00\x00\x00\x01\x00\x00\x00\x00"
                        "abcd",
                        14);
    expect_error(&b, 1 << 20, 1009);
    artemisi_buf_reset(&b);
    artemisi_buf_append(&b,
                        "\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff"
                        "abcd",
                        14);
    expect_error(&b, (size_t)1 << 30, 1009);
    artemisi_buf_free(&b);
}

/* ---- encoders ------------------------------------------------------------------------- */

static void test_frame_header(void **state)
{
    (void)state;
    unsigned char h[ARTEMISI_WS_MAX_HEADER];
    assert_int_equal(artemisi_ws_frame_header(h, ARTEMISI_WS_OP_TEXT, 0), 2);
    assert_memory_equal(h, "\x81\x00", 2);
    assert_int_equal(artemisi_ws_frame_header(h, ARTEMISI_WS_OP_BINARY, 125), 2);
    assert_memory_equal(h, "\x82\x7d", 2);
    assert_int_equal(artemisi_ws_frame_header(h, ARTEMISI_WS_OP_TEXT, 126), 4);
    assert_memory_equal(h, "\x81\x7e\x00\x7e", 4);
    assert_int_equal(artemisi_ws_frame_header(h, ARTEMISI_WS_OP_TEXT, 65535), 4);
    assert_memory_equal(h, "\x81\x7e\xff\xff", 4);
    assert_int_equal(artemisi_ws_frame_header(h, ARTEMISI_WS_OP_TEXT, 65536), 10);
    assert_memory_equal(h, "\x81\x7f\0\0\0\0\0\x01\0\0", 10);
    assert_int_equal(artemisi_ws_frame_header(h, ARTEMISI_WS_OP_PING, 125), 2);
    assert_memory_equal(h, "\x89\x7d", 2);
    assert_int_equal(artemisi_ws_frame_header(h, ARTEMISI_WS_OP_PING, 126), 0);
    assert_int_equal(artemisi_ws_frame_header(h, ARTEMISI_WS_OP_CONT, 1), 0);
    assert_int_equal(artemisi_ws_frame_header(h, 0x3, 1), 0);
}

static void test_frame_append(void **state)
{
    (void)state;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_ws_frame_append(&b, ARTEMISI_WS_OP_TEXT, "Hello", 5), 0);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.data, "\x81\x05Hello", 7); /* RFC 6455 section 5.7 */
    assert_int_equal(artemisi_ws_frame_append(&b, ARTEMISI_WS_OP_PONG, "Hello", 5), 0);
    assert_memory_equal(b.data + 7, "\x8a\x05Hello", 7);
    /* Refused: unknown opcode, oversized control; out unchanged. */
    assert_int_equal(artemisi_ws_frame_append(&b, 0x7, "x", 1), -1);
    assert_int_equal(artemisi_ws_frame_append(&b, ARTEMISI_WS_OP_CLOSE, NULL, 126), -1);
    assert_int_equal(artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_PING, NULL, 126, MASK), -1);
    assert_int_equal(artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_PING, NULL, 0, NULL), -1);
    assert_int_equal(b.len, 14);
    /* RFC 6455 section 5.7 masked "Hello". */
    artemisi_buf_reset(&b);
    assert_int_equal(artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_TEXT, "Hello", 5, MASK), 0);
    assert_memory_equal(b.data, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
    artemisi_buf_free(&b);
}

static void test_close_append(void **state)
{
    (void)state;
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    assert_int_equal(artemisi_ws_close_append(&b, 1000, "bye"), 0);
    assert_memory_equal(b.data,
                        "\x88\x05\x03\xe8"
                        "bye",
                        7);
    artemisi_buf_reset(&b);
    assert_int_equal(artemisi_ws_close_append(&b, 1002, NULL), 0);
    assert_memory_equal(b.data, "\x88\x02\x03\xea", 4);
    artemisi_buf_reset(&b);
    assert_int_equal(artemisi_ws_close_append(&b, 0, "ignored"), 0);
    assert_memory_equal(b.data, "\x88\x00", 2);
    assert_int_equal(artemisi_ws_close_append(&b, 999, NULL), -1);
    assert_int_equal(artemisi_ws_close_append(&b, 5000, NULL), -1);
    assert_int_equal(b.len, 2);

    /* Long ASCII reason: cut to 123 bytes. */
    char reason[300];
    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    artemisi_buf_reset(&b);
    assert_int_equal(artemisi_ws_close_append(&b, 1009, reason), 0);
    assert_int_equal(b.len, 2 + 125);
    assert_int_equal((unsigned char)b.data[1], 125);
    /* Long 2-byte UTF-8 reason: 123 would split a character, so 122. */
    for (size_t i = 0; i + 1 < sizeof(reason) - 1; i += 2) {
        reason[i] = '\xc3';
        reason[i + 1] = '\xa9';
    }
    reason[298] = '\0';
    artemisi_buf_reset(&b);
    assert_int_equal(artemisi_ws_close_append(&b, 1009, reason), 0);
    assert_int_equal(b.len, 2 + 2 + 122);
    assert_true(artemisi_utf8_valid(b.data + 4, 122));
    artemisi_buf_free(&b);
}

static void test_roundtrip_masked(void **state)
{
    (void)state;
    const char *texts[] = {"", "a", "h\xc3\xa9llo w\xc3\xb6rld", "\xf0\x9f\x98\x80 emoji"};
    artemisi_buf_t b = ARTEMISI_BUF_INIT;
    for (size_t i = 0; i < 4; i++)
        artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_TEXT, texts[i], strlen(texts[i]), MASK);
    /* A close from our own encoder, masked by the client encoder. */
    artemisi_buf_t c = ARTEMISI_BUF_INIT;
    artemisi_ws_close_append(&c, 4001, "gone");
    artemisi_ws_frame_append_masked(&b, ARTEMISI_WS_OP_CLOSE, c.data + 2, c.len - 2, MASK);
    artemisi_ws_parser_t *p = artemisi_ws_parser_new(1000, 0);
    artemisi_ws_event_t ev;
    size_t off = 0;
    for (size_t i = 0; i < 4; i++) {
        off += artemisi_ws_parser_feed(p, b.data + off, b.len - off, &ev);
        assert_int_equal(ev.type, ARTEMISI_WS_EV_TEXT);
        assert_int_equal(ev.len, strlen(texts[i]));
        assert_memory_equal(ev.data, texts[i], ev.len);
    }
    off += artemisi_ws_parser_feed(p, b.data + off, b.len - off, &ev);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_CLOSE);
    assert_int_equal(ev.close_code, 4001);
    assert_int_equal(ev.len, 4);
    assert_memory_equal(ev.data, "gone", 4);
    assert_int_equal(off, b.len);
    artemisi_ws_parser_free(p);
    artemisi_buf_free(&b);
    artemisi_buf_free(&c);
}

/* ---- UTF-8 ---------------------------------------------------------------------------- */

static void test_utf8(void **state)
{
    (void)state;
    struct {
        const char *s;
        int ok;
    } cases[] = {
        {"", 1},
        {"plain ascii", 1},
        {"\x7f", 1},
        {"\xc2\x80", 1},             /* U+0080 */
        {"\xdf\xbf", 1},             /* U+07FF */
        {"\xe0\xa0\x80", 1},         /* U+0800 */
        {"\xed\x9f\xbf", 1},         /* U+D7FF */
        {"\xee\x80\x80", 1},         /* U+E000 */
        {"\xef\xbf\xbf", 1},         /* U+FFFF */
        {"\xf0\x90\x80\x80", 1},     /* U+10000 */
        {"\xf4\x8f\xbf\xbf", 1},     /* U+10FFFF */
        {"\xce\xba\xe1\xbd\xb9", 1}, /* kosme */
        {"\x80", 0},                 /* lone continuation */
        {"\xbf", 0},
        {"\xc0\x80", 0},         /* overlong NUL */
        {"\xc1\xbf", 0},         /* overlong */
        {"\xe0\x80\x80", 0},     /* overlong */
        {"\xe0\x9f\xbf", 0},     /* overlong U+07FF */
        {"\xf0\x80\x80\x80", 0}, /* overlong */
        {"\xf0\x8f\xbf\xbf", 0}, /* overlong U+FFFF */
        {"\xed\xa0\x80", 0},     /* U+D800 */
        {"\xed\xbf\xbf", 0},     /* U+DFFF */
        {"\xf4\x90\x80\x80", 0}, /* U+110000 */
        {"\xf5\x80\x80\x80", 0},
        {"\xf8\x88\x80\x80\x80", 0}, /* 5-byte form */
        {"\xfe", 0},
        {"\xff", 0},
        {"\xc2", 0}, /* truncated */
        {"\xe1\x80", 0},
        {"\xf0\x90\x80", 0},
        {"\xc2\x41", 0}, /* bad continuation */
        {"\xe1\x80\x41", 0},
        {"\xf0\x90\x41\x80", 0},
        {"a\xce\xba\xe1\xbd", 0}, /* truncated at the end */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = artemisi_utf8_valid(cases[i].s, strlen(cases[i].s));
        if (got != cases[i].ok)
            fail_msg("case %zu: got %d", i, got);
    }
    /* NUL bytes are valid UTF-8. */
    assert_true(artemisi_utf8_valid("a\0b", 3));
    assert_true(artemisi_utf8_valid(NULL, 0));
}

/* ---- client role ---------------------------------------------------------------------- */

static void test_client_key(void **state)
{
    (void)state;
    char k1[25], k2[25], acc[29];
    assert_int_equal(artemisi_ws_client_key(k1), 0);
    assert_int_equal(artemisi_ws_client_key(k2), 0);
    assert_int_equal(strlen(k1), 24);
    assert_string_not_equal(k1, k2);
    /* A generated key is canonical: the server side accepts it. */
    assert_int_equal(artemisi_ws_accept_key(k1, 24, acc), 0);
    assert_int_equal(artemisi_ws_accept_key(k2, 24, acc), 0);
}

static void test_client_unmasked_frames(void **state)
{
    (void)state;
    artemisi_buf_t b;
    artemisi_buf_init(&b);
    static char big[70000];
    memset(big, 'z', sizeof(big));
    assert_int_equal(artemisi_ws_frame_append(&b, ARTEMISI_WS_OP_TEXT, "hello", 5), 0);
    assert_int_equal(artemisi_ws_frame_append(&b, ARTEMISI_WS_OP_PING, "p", 1), 0);
    assert_int_equal(artemisi_ws_frame_append_raw(&b, 0x01, big, 300, NULL), 0);
    assert_int_equal(artemisi_ws_frame_append(&b, ARTEMISI_WS_OP_PONG, NULL, 0), 0);
    assert_int_equal(artemisi_ws_frame_append_raw(&b, 0x80, big, 69700, NULL), 0);
    assert_int_equal(artemisi_ws_close_append(&b, 4001, "bye"), 0);
    artemisi_ws_parser_t *p = artemisi_ws_parser_new(100000, 1);
    assert_non_null(p);
    artemisi_ws_event_t ev;
    /* Byte by byte, to walk every header state without a mask. */
    const artemisi_ws_event_type_t want[] = {ARTEMISI_WS_EV_TEXT, ARTEMISI_WS_EV_PING,
                                             ARTEMISI_WS_EV_PONG, ARTEMISI_WS_EV_TEXT,
                                             ARTEMISI_WS_EV_CLOSE};
    size_t off = 0, k = 0;
    while (off < b.len) {
        off += artemisi_ws_parser_feed(p, b.data + off, 1, &ev);
        if (ev.type == ARTEMISI_WS_EV_NONE)
            continue;
        assert_true(k < 5);
        assert_int_equal(ev.type, want[k]);
        if (k == 0) {
            assert_int_equal(ev.len, 5);
            assert_memory_equal(ev.data, "hello", 5);
        } else if (k == 3) {
            assert_int_equal(ev.len, 70000);
            assert_memory_equal(ev.data, big, 70000);
        } else if (k == 4) {
            assert_int_equal(ev.close_code, 4001);
            assert_int_equal(ev.len, 3);
            assert_memory_equal(ev.data, "bye", 3);
        }
        k++;
    }
    assert_int_equal(k, 5);
    artemisi_ws_parser_free(p);
    artemisi_buf_free(&b);
}

static void test_client_rejects_masked(void **state)
{
    (void)state;
    const int ops[] = {ARTEMISI_WS_OP_TEXT, ARTEMISI_WS_OP_PING, ARTEMISI_WS_OP_CLOSE};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        artemisi_buf_t b;
        artemisi_buf_init(&b);
        assert_int_equal(artemisi_ws_frame_append_masked(&b, ops[i], "x", 1, MASK), 0);
        artemisi_ws_parser_t *p = artemisi_ws_parser_new(100, 1);
        artemisi_ws_event_t ev;
        size_t used = artemisi_ws_parser_feed(p, b.data, b.len, &ev);
        assert_int_equal(used, 2); /* refused as soon as the mask bit is seen */
        assert_int_equal(ev.type, ARTEMISI_WS_EV_ERROR);
        assert_int_equal(ev.close_code, ARTEMISI_WS_CLOSE_PROTOCOL);
        assert_int_equal(artemisi_ws_parser_feed(p, "\x81\x00", 2, &ev), 0); /* sticky */
        assert_int_equal(ev.type, ARTEMISI_WS_EV_ERROR);
        artemisi_ws_parser_free(p);
        artemisi_buf_free(&b);
    }
    /* And the server role still refuses unmasked frames. */
    artemisi_buf_t b;
    artemisi_buf_init(&b);
    artemisi_ws_frame_append(&b, ARTEMISI_WS_OP_TEXT, "x", 1);
    expect_error(&b, 100, ARTEMISI_WS_CLOSE_PROTOCOL);
    artemisi_buf_free(&b);
}

static void test_client_limits(void **state)
{
    (void)state;
    artemisi_buf_t b;
    artemisi_buf_init(&b);
    char data[40];
    memset(data, 'a', sizeof(data));
    artemisi_ws_frame_append(&b, ARTEMISI_WS_OP_TEXT, data, 33);
    artemisi_ws_parser_t *p = artemisi_ws_parser_new(32, 1);
    artemisi_ws_event_t ev;
    artemisi_ws_parser_feed(p, b.data, b.len, &ev);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_ERROR);
    assert_int_equal(ev.close_code, ARTEMISI_WS_CLOSE_TOO_BIG);
    artemisi_ws_parser_free(p);
    /* Invalid UTF-8 in a server text frame is 1007 in the client role too. */
    artemisi_buf_reset(&b);
    artemisi_ws_frame_append(&b, ARTEMISI_WS_OP_TEXT, "\xff", 1);
    p = artemisi_ws_parser_new(32, 1);
    assert_int_equal(artemisi_ws_parser_feed(p, b.data, b.len, &ev), b.len);
    assert_int_equal(ev.type, ARTEMISI_WS_EV_ERROR);
    assert_int_equal(ev.close_code, ARTEMISI_WS_CLOSE_INVALID_DATA);
    artemisi_ws_parser_free(p);
    artemisi_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key_rfc),
        cmocka_unit_test(test_accept_key_bad),
        cmocka_unit_test(test_single_text_frame),
        cmocka_unit_test(test_length_encodings),
        cmocka_unit_test(test_fragmented_with_ping),
        cmocka_unit_test(test_zero_length_messages),
        cmocka_unit_test(test_split_equals_whole),
        cmocka_unit_test(test_close_frames),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_max_size),
        cmocka_unit_test(test_frame_header),
        cmocka_unit_test(test_frame_append),
        cmocka_unit_test(test_close_append),
        cmocka_unit_test(test_roundtrip_masked),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_client_key),
        cmocka_unit_test(test_client_unmasked_frames),
        cmocka_unit_test(test_client_rejects_masked),
        cmocka_unit_test(test_client_limits),
    };
    return cmocka_run_group_tests_name("ws_frame", tests, NULL, NULL);
}
