/*
 * RFC 6455 WebSocket codec shared by the server and the SDK: the opening-handshake keys, an
 * incremental frame parser (server role: peer frames must be masked; client role: they must
 * not be) and frame encoders. Pure: no sockets, no event loop, no clock; the only impure call
 * is artemisi_ws_client_key(), which reads the kernel's random source. The server's session
 * code and the SDK's WebSocket client feed it bytes read from a bufferevent and get events
 * back. We keep our own small codec (instead of wslay) because it is short and fuzzed.
 *
 * Ownership: a parser owns its message buffer; event data is borrowed and stays valid until
 * the next artemisi_ws_parser_feed() or artemisi_ws_parser_free() on that parser.
 * Thread-safety: handle (one parser, one thread at a time); the other functions are pure.
 */
#ifndef ARTEMISI_WS_FRAME_H
#define ARTEMISI_WS_FRAME_H

#include <stddef.h>

#include "buf.h"

/* Opcodes (RFC 6455 section 5.2). */
#define ARTEMISI_WS_OP_CONT   0x0
#define ARTEMISI_WS_OP_TEXT   0x1
#define ARTEMISI_WS_OP_BINARY 0x2
#define ARTEMISI_WS_OP_CLOSE  0x8
#define ARTEMISI_WS_OP_PING   0x9
#define ARTEMISI_WS_OP_PONG   0xA

/* Close codes this module produces or checks (RFC 6455 section 7.4.1). */
#define ARTEMISI_WS_CLOSE_NORMAL       1000
#define ARTEMISI_WS_CLOSE_GOING_AWAY   1001
#define ARTEMISI_WS_CLOSE_PROTOCOL     1002
#define ARTEMISI_WS_CLOSE_NO_STATUS    1005
#define ARTEMISI_WS_CLOSE_INVALID_DATA 1007
#define ARTEMISI_WS_CLOSE_TOO_BIG      1009
#define ARTEMISI_WS_CLOSE_INTERNAL     1011

/* Longest control-frame payload, and longest header an encoder writes (no mask). */
#define ARTEMISI_WS_MAX_CONTROL 125
#define ARTEMISI_WS_MAX_HEADER  10

/*
 * Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64(SHA1(key + GUID)).
 * The key must be exactly the canonical 24-character base64 encoding of 16 bytes (the
 * caller trims surrounding whitespace first). Returns 0 and writes a NUL-terminated
 * 28-character string to out, or -1 if the key is invalid (the caller answers 400).
 */
int artemisi_ws_accept_key(const char *client_key, size_t key_len, char out[29]);

/*
 * A fresh Sec-WebSocket-Key for a client handshake: 16 bytes from getrandom(), base64 (24
 * characters and a NUL in out). Returns 0, or -1 if the random source fails.
 */
int artemisi_ws_client_key(char out[25]);

typedef enum {
    ARTEMISI_WS_EV_NONE = 0,
    ARTEMISI_WS_EV_TEXT,
    ARTEMISI_WS_EV_BINARY,
    ARTEMISI_WS_EV_PING,
    ARTEMISI_WS_EV_PONG,
    ARTEMISI_WS_EV_CLOSE,
    ARTEMISI_WS_EV_ERROR
} artemisi_ws_event_type_t;

typedef struct artemisi_ws_event {
    artemisi_ws_event_type_t type;
    /* Payload, unmasked and reassembled across fragments; never NULL for TEXT, BINARY,
     * PING, PONG and CLOSE (the close reason) even when len is 0. Borrowed: valid until
     * the next call on the parser. */
    const char *data;
    size_t len;
    /* CLOSE: the peer's code (1005 if the frame had none).
     * ERROR: the code we must send: 1002 protocol error, 1007 invalid UTF-8,
     * 1009 message too big, 1011 out of memory. */
    int close_code;
} artemisi_ws_event_t;

typedef struct artemisi_ws_parser artemisi_ws_parser_t;

/*
 * A parser for one connection. client 0 (server role): every frame from the peer MUST be
 * masked; client 1 (client role): every frame from the server MUST NOT be masked. A frame
 * that breaks the rule is a 1002 protocol error (RFC 6455 section 5.1). A data message (all
 * its fragments together) larger than max_message_bytes is refused with 1009. Returns NULL
 * on OOM.
 */
artemisi_ws_parser_t *artemisi_ws_parser_new(size_t max_message_bytes, int client);
/* NULL does nothing. */
void artemisi_ws_parser_free(artemisi_ws_parser_t *p);

/*
 * Consume bytes from data until one event is complete or the input runs out. Returns the
 * number of bytes consumed and fills *ev (ARTEMISI_WS_EV_NONE when more input is needed, in
 * which case all len bytes were consumed). Call again with the remaining bytes until it
 * returns NONE. After ARTEMISI_WS_EV_ERROR or ARTEMISI_WS_EV_CLOSE the parser refuses further
 * input: every later call consumes nothing and returns ARTEMISI_WS_EV_ERROR (close_code 1002 after
 * a CLOSE, the original code after an ERROR).
 */
size_t artemisi_ws_parser_feed(artemisi_ws_parser_t *p, const char *data, size_t len,
                               artemisi_ws_event_t *ev);

/*
 * Append one unmasked server frame with FIN set to out. opcode: 0x1 text, 0x2 binary,
 * 0x8 close, 0x9 ping, 0xA pong. Returns 0, or -1 for another opcode, a control payload
 * over 125 bytes, or OOM (out is then unchanged).
 */
int artemisi_ws_frame_append(artemisi_buf_t *out, int opcode, const void *payload, size_t len);

/*
 * Append a close frame carrying code (big-endian) and reason; the reason is cut at a
 * UTF-8 character boundary so the payload stays <= 125 bytes. code 0 writes a close frame
 * with an empty payload (reason ignored). reason may be NULL. Returns 0, or -1 if code is
 * not 0 and outside 1000..4999, or on OOM (out unchanged).
 */
int artemisi_ws_close_append(artemisi_buf_t *out, int code, const char *reason);

/*
 * Write just the header of an unmasked FIN frame into hdr and return its length (2, 4 or
 * 10), so a cached payload can be sent without copying it. Returns 0 for an opcode
 * artemisi_ws_frame_append refuses or a control payload over 125 bytes.
 */
size_t artemisi_ws_frame_header(unsigned char hdr[ARTEMISI_WS_MAX_HEADER], int opcode, size_t len);

/* Client-side encoder: like artemisi_ws_frame_append but masked with mask (FIN set). For tests
 * and for the SDK. Same return values. */
int artemisi_ws_frame_append_masked(artemisi_buf_t *out, int opcode, const void *payload,
                                    size_t len, const unsigned char mask[4]);

/*
 * Append any frame without checks: first_byte is written as is (FIN, RSV bits, opcode), the
 * shortest length encoding is used, and the payload is masked when mask is not NULL. For
 * tests and fuzzing: it builds fragments and deliberately broken frames. 0, or -1 on OOM.
 */
int artemisi_ws_frame_append_raw(artemisi_buf_t *out, unsigned first_byte, const void *payload,
                                 size_t len, const unsigned char *mask);

/* 1 if code may appear in a close frame on the wire: 1000-1003, 1007-1011, 3000-4999. */
int artemisi_ws_close_code_valid(int code);

/* 1 if s[0..len) is valid UTF-8 per RFC 3629 (no overlongs, no surrogates, <= U+10FFFF). */
int artemisi_utf8_valid(const char *s, size_t len);

#endif
