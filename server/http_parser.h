/*
 * Incremental HTTP/1.1 request parser. Pure: no sockets, no event loop, no clock. The
 * connection code feeds it whatever bytes it read (in pieces of any size) and asks whether a
 * whole request is available; the parser copies everything it keeps into its own growable
 * buffers, so the caller may discard the input after each feed. Feeding one byte at a time
 * gives exactly the same results as feeding everything at once.
 *
 * Request targets in origin-form ("/p?q"), absolute-form ("http://host/p?q", RFC 7230 §5.3.2;
 * http and https, no userinfo) and, for OPTIONS, asterisk-form are accepted.
 *
 * It enforces the request-smuggling rules of RFC 9112 (no Content-Length together with
 * Transfer-Encoding, no differing duplicate Content-Length, only "chunked" as a transfer
 * coding, no obs-fold, header names must be tokens, no control bytes) and the size limits
 * in srv_http_limits_t.
 *
 * Ownership: the parser owns every pointer in the request it hands out; they stay valid until
 * srv_http_parser_reset() or srv_http_parser_free().
 * Thread-safety: handle (one parser, one thread at a time; the server keeps one per connection).
 */
#ifndef ARTEMIS_SERVER_HTTP_PARSER_H
#define ARTEMIS_SERVER_HTTP_PARSER_H

#include <stddef.h>

#define SRV_HTTP_DEFAULT_MAX_HEADER_BYTES 16384
#define SRV_HTTP_DEFAULT_MAX_HEADERS      64
#define SRV_HTTP_DEFAULT_MAX_BODY_BYTES   (4u * 1024u * 1024u)

typedef struct srv_http_limits {
    size_t max_header_bytes; /* request line + all headers, default 16384 -> 431 when exceeded */
    size_t max_headers;      /* header count, default 64 -> 431 */
    size_t max_body_bytes;   /* decoded body size (after de-chunking, before gzip inflation),
                                default 4 MiB -> 413 */
} srv_http_limits_t;

typedef enum {
    SRV_HTTP_GET,
    SRV_HTTP_POST,
    SRV_HTTP_PUT,
    SRV_HTTP_DELETE,
    SRV_HTTP_HEAD,
    SRV_HTTP_OPTIONS,
    SRV_HTTP_PATCH,
    SRV_HTTP_OTHER
} srv_http_method_t;

/* name and value are also NUL-terminated; value has its surrounding spaces/tabs trimmed. */
typedef struct srv_http_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} srv_http_header_t;

typedef struct srv_http_request {
    srv_http_method_t method;
    const char *method_str; /* NUL-terminated, case preserved ("get" is SRV_HTTP_OTHER) */
    const char *path;       /* NUL-terminated, raw (not percent-decoded), without the query;
                               "*" for "OPTIONS *"; of an absolute-form target only its path,
                               "/" when it has none */
    const char *query;      /* NUL-terminated, after '?', "" if none */
    const char *authority;  /* absolute-form target ("http://host:port/p"): its authority
                               "host:port", NUL-terminated; NULL for the other forms */
    int version_minor;      /* 0 or 1 */
    srv_http_header_t *headers;
    size_t n_headers;
    int keep_alive;        /* 1.1: on unless "Connection: close"; 1.0: only with keep-alive.
                              Off for an HTTP/1.0 request carrying Transfer-Encoding. */
    int expect_continue;   /* HTTP/1.1 request with "Expect: 100-continue" */
    int upgrade_websocket; /* Upgrade has token "websocket" and Connection has "upgrade" */
    int chunked;           /* body came with Transfer-Encoding: chunked */
    const char *body;      /* de-chunked body, NUL-terminated; "" when there is none */
    size_t body_len;
} srv_http_request_t;

typedef struct srv_http_parser srv_http_parser_t;

enum { SRV_HTTP_ERROR = -1, SRV_HTTP_AGAIN = 0, SRV_HTTP_DONE = 1, SRV_HTTP_HEAD_DONE = 2 };

/* Fill `l` with the defaults above. */
void srv_http_limits_init(srv_http_limits_t *l);

/* New parser. `limits` is copied; NULL means the defaults, and a field left at 0 also takes
 * its default. Returns NULL on allocation failure. Free with srv_http_parser_free(). */
srv_http_parser_t *srv_http_parser_new(const srv_http_limits_t *limits);
/* NULL is a no-op. */
void srv_http_parser_free(srv_http_parser_t *p);

/* Enable (default) or disable the SRV_HTTP_HEAD_DONE result. When disabled the parser goes
 * straight on from the headers to the body and only reports AGAIN/DONE/ERROR. */
void srv_http_parser_set_head_done(srv_http_parser_t *p, int enable);

/* Feed bytes (`data` is not kept). Returns:
 *   SRV_HTTP_AGAIN (0)  all `len` bytes consumed (*consumed = len), request not complete yet;
 *   SRV_HTTP_DONE  (1)  a full request is ready (*consumed = bytes used, the rest belongs to the
 *                       next pipelined request); read it with srv_http_parser_request(), then
 *                       call srv_http_parser_reset() before feeding the rest;
 *   SRV_HTTP_HEAD_DONE (2) headers complete and a body is still pending (Content-Length > 0 or
 *                       chunked); *consumed = bytes of the head. srv_http_parser_request()
 *                       already shows method, target, headers and flags (body still empty), so
 *                       the caller can send "100 Continue" or reject early. Keep feeding.
 *                       Reported once per request;
 *   SRV_HTTP_ERROR (-1) bad request: srv_http_parser_error_status() gives 400/413/431/501/505
 *                       (500 on allocation failure) and srv_http_parser_error_text() a short
 *                       reason. The error is sticky until reset; the caller should answer and
 *                       close the connection.
 * Empty lines before a request line are skipped (RFC 9112 section 2.2). Once DONE or ERROR,
 * further feeds consume nothing and return the same result. */
int srv_http_parser_feed(srv_http_parser_t *p, const char *data, size_t len, size_t *consumed);

/* The request being parsed: complete after DONE, head-only after HEAD_DONE; NULL before the
 * headers are complete. Borrowed; valid until reset/free. */
const srv_http_request_t *srv_http_parser_request(const srv_http_parser_t *p);
/* 0 when there is no error. */
int srv_http_parser_error_status(const srv_http_parser_t *p);
/* Static text; "" when there is no error. */
const char *srv_http_parser_error_text(const srv_http_parser_t *p);
/* Forget the finished (or failed) request, keep the memory (buffers that grew past 64 KiB are
 * released), so the next pipelined request can be parsed. */
void srv_http_parser_reset(srv_http_parser_t *p);

/* Case-insensitive header lookup; returns the first matching header's value (NUL-terminated)
 * or NULL if absent; *len (may be NULL) gets the value length. */
const char *srv_http_header_get(const srv_http_request_t *r, const char *name, size_t *len);
/* True if a comma-separated header value contains `token` (case-insensitive, trims spaces and
 * tabs around each element). `value` may be NULL (then false). */
int srv_http_header_has_token(const char *value, size_t len, const char *token);

/* "GET" -> SRV_HTTP_GET ...; exact, case-sensitive match, SRV_HTTP_OTHER otherwise. */
srv_http_method_t srv_http_method_from_str(const char *s, size_t len);

#endif
