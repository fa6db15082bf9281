/*
 * Asynchronous WebSocket client (RFC 6455) on a libevent event_base, for the SDK's
 * heartbeat and change-watch channels. One handle is one connection: it resolves the host
 * (evdns, never blocking), connects, performs the opening handshake, then delivers text
 * messages and pongs, answers pings and close frames, and reports the end of the connection
 * exactly once through on_close. Plain TCP for http:// and ws:// URLs; TLS for https:// and
 * wss:// through artemisi_wsc_connect_tls() and an SSL_CTX the caller owns (tls_client.h).
 *
 * Ownership: the handle is the caller's; artemisi_wsc_free() releases it (allowed inside any
 * callback: the release is deferred until the callback returns, and no callback follows).
 * Callback data (text, reason) is borrowed: valid during the callback only.
 * Thread-safety: handle. Every call and every callback happens on the base's thread.
 */
#ifndef ARTEMISI_WSCLIENT_H
#define ARTEMISI_WSCLIENT_H

#include <stddef.h>

struct event_base;
struct ssl_ctx_st;

/* Close code reported when the connection broke without a close frame (RFC 6455 7.1.5). */
#define ARTEMISI_WSC_ABNORMAL 1006
/* How long artemisi_wsc_close() waits for the server's close frame before giving up. */
#define ARTEMISI_WSC_CLOSE_WAIT_MS 2000
/* Largest HTTP response head accepted in the handshake. */
#define ARTEMISI_WSC_MAX_HEAD 8192

typedef struct artemisi_wsc artemisi_wsc_t;

typedef struct artemisi_wsc_callbacks {
    void (*on_open)(void *ud);                               /* handshake completed */
    void (*on_text)(void *ud, const char *data, size_t len); /* one complete text message */
    void (*on_pong)(void *ud);
    /* The connection is over (connect failure, handshake failure, close frame, error, timeout).
     * Called exactly once per handle unless artemisi_wsc_free() was called first. code: the
     * peer's close code, or 1006 when the connection just broke (also for connect, DNS,
     * handshake failures and timeouts; reason then says which). A protocol violation by the
     * server reports the code we sent it (1002, 1007, 1009). The owner then frees the handle
     * (artemisi_wsc_free is allowed inside any callback: the free is deferred until the
     * callback returns). */
    void (*on_close)(void *ud, int code, const char *reason);
} artemisi_wsc_callbacks_t;

/*
 * url: "http://host:port/base/" or "ws://..."; path is appended with the URL joining rule of
 * protocol.md §0.4 ("/ws/registry/heartbeat"). Host names resolve asynchronously (an
 * evdns_base created per handle, only when the host is not an IP literal).
 * connect_timeout_ms bounds connect + handshake (<= 0: unbounded). max_message bounds inbound
 * messages (a bigger one closes with 1009). Returns NULL on a bad or https/wss URL, or OOM;
 * otherwise every outcome, even an immediate failure, arrives later through the callbacks
 * (never from inside this call). Everything runs on base's thread. cb is copied.
 */
artemisi_wsc_t *artemisi_wsc_connect(struct event_base *base, const char *url, const char *path,
                                     long connect_timeout_ms, size_t max_message,
                                     const artemisi_wsc_callbacks_t *cb, void *ud);
/* Send "Authorization: Bearer TOKEN" with the opening handshake (docs/security.md). Call
 * right after artemisi_wsc_connect(): the handshake is written later, from the loop. NULL or
 * "" sends none. 0, or -1 (nothing changed) when the token holds CR/LF or memory runs out.
 * The token is copied and wiped when the handle is released. */
int artemisi_wsc_set_bearer(artemisi_wsc_t *w, const char *token);
/* The same for any URL: https:// and wss:// connect over TLS with an SSL from tls (SNI and
 * the host name checked against the server's certificate); NULL tls refuses them (NULL is
 * returned). tls must outlive the handle's connection (each SSL holds a reference to it). */
artemisi_wsc_t *artemisi_wsc_connect_tls(struct event_base *base, const char *url, const char *path,
                                         long connect_timeout_ms, size_t max_message,
                                         struct ssl_ctx_st *tls, const artemisi_wsc_callbacks_t *cb,
                                         void *ud);
/* Queue one text message (masked, one frame). 0, or -1 if not open (or OOM). */
int artemisi_wsc_send_text(artemisi_wsc_t *w, const char *data, size_t len);
/* Queue a ping with an empty payload; the answer arrives as on_pong. 0 / -1. */
int artemisi_wsc_ping(artemisi_wsc_t *w);
/* 1 between on_open and the start of the closing handshake. NULL: 0. */
int artemisi_wsc_is_open(const artemisi_wsc_t *w);
/* Bytes waiting to be written. NULL or no connection: 0. */
size_t artemisi_wsc_queued(const artemisi_wsc_t *w);
/*
 * Start closing: when open, send a close frame with code (1000..4999, else 1000) and wait up
 * to ARTEMISI_WSC_CLOSE_WAIT_MS for the server's close frame; on_close follows with the
 * server's code (or 1006 on timeout). Before the handshake completed, the attempt is abandoned
 * and on_close(1006) follows. Does nothing if on_close was already delivered or is pending.
 */
void artemisi_wsc_close(artemisi_wsc_t *w, int code);
/* Release the handle and its connection; no callback after this. NULL does nothing. */
void artemisi_wsc_free(artemisi_wsc_t *w);

#endif
