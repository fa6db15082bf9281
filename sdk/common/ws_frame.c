/*
 * RFC 6455 WebSocket codec (see ws_frame.h). The parser is a two-state machine: collect a
 * frame header (2..14 bytes, validated as soon as each part is known), then collect the
 * payload, unmasking it into the message buffer (data frames) or a fixed control buffer
 * (control frames, so a ping between fragments does not disturb the open message). Sizes
 * are checked from the header before any payload is buffered, and the message buffer grows
 * only as bytes actually arrive, so a client cannot make us allocate more than it sends.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "ws_frame.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* A delivered message buffer bigger than this is released rather than kept for reuse. */
#define WS_KEEP_BUF (64 * 1024)

/* ---- handshake ------------------------------------------------------------------------ */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int artemisi_ws_accept_key(const char *client_key, size_t key_len, char out[29])
{
    /* 16 bytes encode to 22 significant characters plus "=="; the 22nd character carries
     * only 2 data bits, so its low 4 bits must be zero in a canonical encoding. */
    if (!client_key || key_len != 24 || client_key[22] != '=' || client_key[23] != '=')
        return -1;
    for (size_t i = 0; i < 22; i++) {
        int v = b64_value((unsigned char)client_key[i]);
        if (v < 0)
            return -1;
        if (i == 21 && (v & 0x0F) != 0)
            return -1;
    }
    char buf[24 + sizeof(WS_GUID)];
    memcpy(buf, client_key, 24);
    memcpy(buf + 24, WS_GUID, sizeof(WS_GUID) - 1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(buf, 24 + sizeof(WS_GUID) - 1, md, &md_len, EVP_sha1(), NULL) != 1 ||
        md_len != 20)
        return -1;
    /* EVP_EncodeBlock writes 28 characters and a NUL for 20 bytes. */
    if (EVP_EncodeBlock((unsigned char *)out, md, 20) != 28)
        return -1;
    return 0;
}

int artemisi_ws_client_key(char out[25])
{
    unsigned char raw[16];
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    /* EVP_EncodeBlock writes 24 characters and a NUL for 16 bytes. */
    if (EVP_EncodeBlock((unsigned char *)out, raw, (int)sizeof(raw)) != 24)
        return -1;
    return 0;
}

/* ---- UTF-8 and close codes ------------------------------------------------------------ */

int artemisi_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates U+D800..U+DFFF */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else {
            return 0; /* 0x80..0xC1 (continuation or overlong lead) and 0xF5..0xFF */
        }
        if (len - i <= n)
            return 0;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= n; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
        i += n + 1;
    }
    return 1;
}

int artemisi_ws_close_code_valid(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}

/* ---- encoders ------------------------------------------------------------------------- */

static int opcode_sendable(int opcode, size_t len)
{
    switch (opcode) {
    case ARTEMISI_WS_OP_TEXT:
    case ARTEMISI_WS_OP_BINARY:
        return 1;
    case ARTEMISI_WS_OP_CLOSE:
    case ARTEMISI_WS_OP_PING:
    case ARTEMISI_WS_OP_PONG:
        return len <= ARTEMISI_WS_MAX_CONTROL;
    default:
        return 0;
    }
}

/* Header without mask: first byte as given, shortest length encoding. */
static size_t put_header(unsigned char *hdr, unsigned first_byte, size_t len, int masked)
{
    unsigned char mbit = masked ? 0x80 : 0x00;
    hdr[0] = (unsigned char)first_byte;
    if (len < 126) {
        hdr[1] = (unsigned char)(mbit | len);
        return 2;
    }
    if (len <= 0xFFFF) {
        hdr[1] = mbit | 126;
        hdr[2] = (unsigned char)(len >> 8);
        hdr[3] = (unsigned char)len;
        return 4;
    }
    uint64_t l = (uint64_t)len;
    hdr[1] = mbit | 127;
    for (int i = 0; i < 8; i++)
        hdr[2 + i] = (unsigned char)(l >> (56 - 8 * i));
    return 10;
}

size_t artemisi_ws_frame_header(unsigned char hdr[ARTEMISI_WS_MAX_HEADER], int opcode, size_t len)
{
    if (!opcode_sendable(opcode, len))
        return 0;
    return put_header(hdr, 0x80u | (unsigned)opcode, len, 0);
}

int artemisi_ws_frame_append_raw(artemisi_buf_t *out, unsigned first_byte, const void *payload,
                                 size_t len, const unsigned char *mask)
{
    unsigned char hdr[ARTEMISI_WS_MAX_HEADER + 4];
    size_t hl = put_header(hdr, first_byte, len, mask != NULL);
    if (mask) {
        memcpy(hdr + hl, mask, 4);
        hl += 4;
    }
    if (len > SIZE_MAX / 2 || artemisi_buf_reserve(out, hl + len) != 0)
        return -1;
    /* Room is reserved, so nothing below can fail and out stays consistent. */
    unsigned char *dst = (unsigned char *)out->data + out->len;
    memcpy(dst, hdr, hl);
    dst += hl;
    if (len) {
        memcpy(dst, payload, len);
        if (mask)
            for (size_t i = 0; i < len; i++)
                dst[i] ^= mask[i & 3];
    }
    out->len += hl + len;
    out->data[out->len] = '\0';
    return 0;
}

int artemisi_ws_frame_append(artemisi_buf_t *out, int opcode, const void *payload, size_t len)
{
    if (!opcode_sendable(opcode, len))
        return -1;
    return artemisi_ws_frame_append_raw(out, 0x80u | (unsigned)opcode, payload, len, NULL);
}

int artemisi_ws_frame_append_masked(artemisi_buf_t *out, int opcode, const void *payload,
                                    size_t len, const unsigned char mask[4])
{
    if (!opcode_sendable(opcode, len) || !mask)
        return -1;
    return artemisi_ws_frame_append_raw(out, 0x80u | (unsigned)opcode, payload, len, mask);
}

int artemisi_ws_close_append(artemisi_buf_t *out, int code, const char *reason)
{
    if (code == 0)
        return artemisi_ws_frame_append(out, ARTEMISI_WS_OP_CLOSE, NULL, 0);
    if (code < 1000 || code > 4999)
        return -1;
    unsigned char payload[ARTEMISI_WS_MAX_CONTROL];
    payload[0] = (unsigned char)(code >> 8);
    payload[1] = (unsigned char)code;
    size_t rlen = reason ? strlen(reason) : 0;
    if (rlen > ARTEMISI_WS_MAX_CONTROL - 2) {
        rlen = ARTEMISI_WS_MAX_CONTROL - 2;
        /* Do not split a UTF-8 sequence: back up to the start of the cut character. */
        while (rlen > 0 && ((unsigned char)reason[rlen] & 0xC0) == 0x80)
            rlen--;
    }
    if (rlen)
        memcpy(payload + 2, reason, rlen);
    return artemisi_ws_frame_append(out, ARTEMISI_WS_OP_CLOSE, payload, 2 + rlen);
}

/* ---- parser --------------------------------------------------------------------------- */

enum { ST_HEADER, ST_PAYLOAD, ST_DEAD };

struct artemisi_ws_parser {
    size_t max_msg;
    int state;
    int dead_code; /* close_code reported once dead */
    int client;    /* 1: we are the client, peer frames must be unmasked */

    /* current frame header */
    unsigned char hdr[14];
    size_t hdr_len;  /* bytes collected */
    size_t hdr_need; /* 2 until the first two bytes are known, then the full length */
    int hdr_first;   /* the first two bytes were checked (hdr_need is final) */
    int fin;
    int opcode;
    unsigned char mask[4];
    uint64_t frame_len;
    uint64_t frame_got;

    /* current data message (possibly fragmented) */
    int msg_open;
    int msg_opcode;
    int msg_delivered; /* msg holds a delivered message: clear it on the next call */
    artemisi_buf_t msg;

    unsigned char ctrl[ARTEMISI_WS_MAX_CONTROL + 1];
};

artemisi_ws_parser_t *artemisi_ws_parser_new(size_t max_message_bytes, int client)
{
    artemisi_ws_parser_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->max_msg = max_message_bytes;
    p->client = client != 0;
    p->state = ST_HEADER;
    p->hdr_need = 2;
    artemisi_buf_init(&p->msg);
    return p;
}

void artemisi_ws_parser_free(artemisi_ws_parser_t *p)
{
    if (!p)
        return;
    artemisi_buf_free(&p->msg);
    free(p);
}

static void fail(artemisi_ws_parser_t *p, artemisi_ws_event_t *ev, int code)
{
    p->state = ST_DEAD;
    p->dead_code = code;
    ev->type = ARTEMISI_WS_EV_ERROR;
    ev->data = NULL;
    ev->len = 0;
    ev->close_code = code;
}

/* The first two header bytes are in: check everything they decide. 0 or a close code. */
static int check_first(artemisi_ws_parser_t *p)
{
    unsigned b0 = p->hdr[0], b1 = p->hdr[1];
    if (b0 & 0x70)
        return ARTEMISI_WS_CLOSE_PROTOCOL; /* RSV bits: no extension negotiated */
    p->fin = (b0 & 0x80) != 0;
    p->opcode = (int)(b0 & 0x0F);
    /* Section 5.1: client frames are masked, server frames are not. */
    int masked = (b1 & 0x80) != 0;
    if (masked == p->client)
        return ARTEMISI_WS_CLOSE_PROTOCOL;
    unsigned len7 = b1 & 0x7F;
    switch (p->opcode) {
    case ARTEMISI_WS_OP_CONT:
        if (!p->msg_open)
            return ARTEMISI_WS_CLOSE_PROTOCOL;
        break;
    case ARTEMISI_WS_OP_TEXT:
    case ARTEMISI_WS_OP_BINARY:
        if (p->msg_open)
            return ARTEMISI_WS_CLOSE_PROTOCOL;
        break;
    case ARTEMISI_WS_OP_CLOSE:
    case ARTEMISI_WS_OP_PING:
    case ARTEMISI_WS_OP_PONG:
        if (!p->fin || len7 > ARTEMISI_WS_MAX_CONTROL)
            return ARTEMISI_WS_CLOSE_PROTOCOL;
        break;
    default:
        return ARTEMISI_WS_CLOSE_PROTOCOL;
    }
    p->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (p->client ? 0 : 4);
    return 0;
}

/* The whole header is in: decode the length and mask, check sizes. 0 or a close code. */
static int check_full(artemisi_ws_parser_t *p)
{
    unsigned len7 = p->hdr[1] & 0x7F;
    uint64_t len;
    if (len7 == 126) {
        len = ((uint64_t)p->hdr[2] << 8) | p->hdr[3];
    } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | p->hdr[2 + i];
        if (len >> 63)
            return ARTEMISI_WS_CLOSE_PROTOCOL;
    } else {
        len = len7;
    }
    if (p->client)
        memset(p->mask, 0, sizeof(p->mask));
    else
        memcpy(p->mask, p->hdr + p->hdr_need - 4, 4);
    p->frame_len = len;
    p->frame_got = 0;
    if (p->opcode & 0x8)
        return 0; /* control: length already checked against 125 */
    uint64_t have = p->opcode == ARTEMISI_WS_OP_CONT ? (uint64_t)p->msg.len : 0;
    if (len > (uint64_t)p->max_msg || have > (uint64_t)p->max_msg - len)
        return ARTEMISI_WS_CLOSE_TOO_BIG;
    if (p->opcode != ARTEMISI_WS_OP_CONT) {
        p->msg_open = 1;
        p->msg_opcode = p->opcode;
        artemisi_buf_reset(&p->msg);
    }
    return 0;
}

/* Unmask n payload bytes from in into the frame's destination. 0, or -1 on OOM. */
static int take_payload(artemisi_ws_parser_t *p, const unsigned char *in, size_t n)
{
    unsigned char *dst;
    if (p->opcode & 0x8) {
        dst = p->ctrl + p->frame_got;
        memcpy(dst, in, n);
    } else {
        size_t off = p->msg.len;
        if (artemisi_buf_append(&p->msg, in, n) != 0)
            return -1;
        dst = (unsigned char *)p->msg.data + off;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] ^= p->mask[(p->frame_got + i) & 3];
    p->frame_got += n;
    return 0;
}

/* A frame is complete. Returns 1 if it produced an event (including an error). */
static int finish_frame(artemisi_ws_parser_t *p, artemisi_ws_event_t *ev)
{
    size_t len = (size_t)p->frame_len;
    switch (p->opcode) {
    case ARTEMISI_WS_OP_PING:
    case ARTEMISI_WS_OP_PONG:
        ev->type = p->opcode == ARTEMISI_WS_OP_PING ? ARTEMISI_WS_EV_PING : ARTEMISI_WS_EV_PONG;
        ev->data = (const char *)p->ctrl;
        ev->len = len;
        return 1;
    case ARTEMISI_WS_OP_CLOSE: {
        if (len == 1) {
            fail(p, ev, ARTEMISI_WS_CLOSE_PROTOCOL);
            return 1;
        }
        int code = ARTEMISI_WS_CLOSE_NO_STATUS;
        const char *reason = (const char *)p->ctrl + (len ? 2 : 0);
        size_t rlen = len ? len - 2 : 0;
        if (len) {
            code = (p->ctrl[0] << 8) | p->ctrl[1];
            if (!artemisi_ws_close_code_valid(code)) {
                fail(p, ev, ARTEMISI_WS_CLOSE_PROTOCOL);
                return 1;
            }
            if (!artemisi_utf8_valid(reason, rlen)) {
                fail(p, ev, ARTEMISI_WS_CLOSE_INVALID_DATA);
                return 1;
            }
        }
        /* The peer is done: anything after its close frame is refused. */
        p->state = ST_DEAD;
        p->dead_code = ARTEMISI_WS_CLOSE_PROTOCOL;
        ev->type = ARTEMISI_WS_EV_CLOSE;
        ev->data = reason;
        ev->len = rlen;
        ev->close_code = code;
        return 1;
    }
    default:
        break;
    }
    if (!p->fin)
        return 0; /* more fragments follow */
    p->msg_open = 0;
    p->msg_delivered = 1;
    const char *data = p->msg.data ? p->msg.data : "";
    if (p->msg_opcode == ARTEMISI_WS_OP_TEXT && !artemisi_utf8_valid(data, p->msg.len)) {
        fail(p, ev, ARTEMISI_WS_CLOSE_INVALID_DATA);
        return 1;
    }
    ev->type = p->msg_opcode == ARTEMISI_WS_OP_TEXT ? ARTEMISI_WS_EV_TEXT : ARTEMISI_WS_EV_BINARY;
    ev->data = data;
    ev->len = p->msg.len;
    return 1;
}

size_t artemisi_ws_parser_feed(artemisi_ws_parser_t *p, const char *data, size_t len,
                               artemisi_ws_event_t *ev)
{
    const unsigned char *in = (const unsigned char *)data;
    size_t used = 0;
    int rc;

    ev->type = ARTEMISI_WS_EV_NONE;
    ev->data = NULL;
    ev->len = 0;
    ev->close_code = 0;
    if (p->state == ST_DEAD) {
        fail(p, ev, p->dead_code);
        return 0;
    }
    if (p->msg_delivered) {
        p->msg_delivered = 0;
        if (p->msg.cap > WS_KEEP_BUF)
            artemisi_buf_free(&p->msg);
        else
            artemisi_buf_reset(&p->msg);
    }
    for (;;) {
        if (p->state == ST_HEADER) {
            while (p->hdr_len < p->hdr_need && used < len)
                p->hdr[p->hdr_len++] = in[used++];
            if (p->hdr_len < p->hdr_need)
                return used;
            if (!p->hdr_first) {
                p->hdr_first = 1;
                if ((rc = check_first(p)) != 0) {
                    fail(p, ev, rc);
                    return used;
                }
                continue; /* collect the extended length and the mask */
            }
            if ((rc = check_full(p)) != 0) {
                fail(p, ev, rc);
                return used;
            }
            p->state = ST_PAYLOAD;
        }
        uint64_t want = p->frame_len - p->frame_got;
        size_t n = len - used;
        if ((uint64_t)n > want)
            n = (size_t)want;
        if (n && take_payload(p, in + used, n) != 0) {
            fail(p, ev, ARTEMISI_WS_CLOSE_INTERNAL);
            return used;
        }
        used += n;
        if (p->frame_got < p->frame_len)
            return used;
        p->state = ST_HEADER;
        p->hdr_len = 0;
        p->hdr_need = 2;
        p->hdr_first = 0;
        if (finish_frame(p, ev))
            return used;
    }
}
