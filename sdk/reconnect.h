/*
 * Reconnect state of one long-lived WebSocket session of the SDK: the registry heartbeat
 * socket (reg_client.c) and the discovery watch socket (disc_client.c) reconnect the same way,
 * so they share this one state and its rules:
 *   - the delay between attempts starts at ARTEMISI_BACKOFF_MIN_MS, doubles on every failure
 *     up to ARTEMISI_BACKOFF_MAX_MS, is jittered, and starts over once a handshake completes;
 *   - an attempt remembers the server it went to, so that a failure moves the client past
 *     that server only (another failure may already have moved it on);
 *   - only a broken connection (ARTEMISI_WSC_ABNORMAL) blames the server; an orderly close
 *     does not;
 *   - an open socket that shows no sign of life (pong) for too long is dead even if TCP has
 *     not noticed.
 * Pure: no clock, no I/O, no randomness of its own. Times are monotonic milliseconds passed in
 * and the jitter is the caller's function, so tests drive it without sleeping.
 *
 * Thread-safety: handle (owned by the loop thread).
 */
#ifndef ARTEMISI_RECONNECT_H
#define ARTEMISI_RECONNECT_H

#include <stdint.h>

/* First and largest delay between attempts (also the register.json retry backoff). */
#define ARTEMISI_BACKOFF_MIN_MS 200
#define ARTEMISI_BACKOFF_MAX_MS 10000

typedef struct artemisi_reconnect {
    char base[512];        /* the server the current (or last) attempt went to */
    int64_t backoff_ms;    /* the last delay before jitter; 0: no failure since the last open */
    int64_t next_try_ms;   /* no new attempt starts before this time (0: at once) */
    int64_t last_alive_ms; /* the open socket's last sign of life (the open, a pong) */
} artemisi_reconnect_t;

/* Spreads a delay (ms in, ms out) so clients do not reconnect in step. */
typedef int64_t (*artemisi_jitter_fn)(int64_t ms);

/* The delay after prev_ms: ARTEMISI_BACKOFF_MIN_MS after 0, else doubled, at most
 * ARTEMISI_BACKOFF_MAX_MS. */
int64_t artemisi_backoff_next(int64_t prev_ms);

/* 1 if a new attempt may start at now. */
int artemisi_reconnect_due(const artemisi_reconnect_t *r, int64_t now);

/* An attempt goes to base (copied; truncated to fit). Returns r->base, which stays valid for
 * the attempt's whole life (the connect call and the failover on its close). */
const char *artemisi_reconnect_begin(artemisi_reconnect_t *r, const char *base);

/* The handshake completed at now: the backoff starts over and the socket is alive. */
void artemisi_reconnect_opened(artemisi_reconnect_t *r, int64_t now);

/* The open socket showed a sign of life (a pong) at now. */
void artemisi_reconnect_alive(artemisi_reconnect_t *r, int64_t now);

/* 1 if the open socket has been silent for more than limit_ms at now: close it. */
int artemisi_reconnect_silent(const artemisi_reconnect_t *r, int64_t now, int64_t limit_ms);

/* The connection ended at now with close code `code` (wsclient.h): back off, and allow the next
 * attempt at now + jitter(backoff) (jitter NULL: no jitter). Returns 1 if the server failed
 * (the connection broke: ARTEMISI_WSC_ABNORMAL), so the caller should fail r->base over; 0 for
 * an orderly close. */
int artemisi_reconnect_closed(artemisi_reconnect_t *r, int code, int64_t now,
                              artemisi_jitter_fn jitter);

#endif
