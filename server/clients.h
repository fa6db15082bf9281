/*
 * Per-client fairness: who is asking, and how much they may ask, so that one client cannot
 * starve the others through a limit they all share.
 *
 * A client is one connection (HTTP keep-alive or WebSocket session) and the source address
 * it comes from; every connection from one address shares one address entry. The shared
 * limiters of protocol.md §3.4 count all callers together, so one pipelined connection could use a
 * whole 10 s budget and leave every other client "rate-limited" until its lease expired. On
 * top of the shared limiter this module enforces, per request:
 *
 *   1. a connection cap: at most per_conn_limit admitted requests per 10 s on one connection;
 *   2. an address cap: at most per_addr_limit per 10 s from one address, but a connection
 *      that has used less than its share of that cap (per_addr_limit / connections from the
 *      address) is still admitted, so a quiet client on a busy host (a sidecar beside a
 *      flooder, every client on 127.0.0.1) is not punished for its neighbour;
 *   3. the shared limiter, with max-min fairness: when its window is full, a connection that
 *      has used less than its fair share (limit / connections) is still admitted. The sum of
 *      fair shares is the limit, so the shared limit is exceeded by at most 1x, and only to
 *      serve clients that asked for little.
 *
 * The caps belong to the shared limiter they sit on: when it is disabled, nothing is refused
 * (requests are still counted, for the top-talker metrics).
 * A refused request counts against nothing: a flooder cannot use up anyone else's budget by
 * being refused. Caps of 0 are off.
 *
 * The address table is bounded (max_addrs); an address with no open connection is forgotten
 * when room is needed (least recently seen first). When every entry has open connections,
 * new addresses share one overflow entry. Time is passed in (monotonic ms); pure: no sockets.
 * Thread-safety: handle (the server's loop thread only).
 */
#ifndef ARTEMIS_SERVER_CLIENTS_H
#define ARTEMIS_SERVER_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "ratelimit.h"

typedef struct srv_addr srv_addr_t;
typedef struct srv_clients srv_clients_t;

/* Embedded in a connection; zero-initialised = not attached. */
typedef struct srv_client {
    srv_addr_t *addr; /* borrowed from the table while attached */
    srv_rlwin_t win;  /* requests admitted on this connection */
} srv_client_t;

typedef struct srv_clients_config {
    long per_conn_limit; /* admitted requests per 10 s per connection; 0 = no cap */
    long per_addr_limit; /* admitted requests per 10 s per address; 0 = no cap */
    size_t max_addrs;    /* address entries kept (>= 1) */
} srv_clients_config_t;

typedef enum {
    SRV_ADMIT_OK = 0,
    SRV_ADMIT_CONNECTION, /* the connection's own cap */
    SRV_ADMIT_ADDRESS,    /* the address cap, and over its share of it */
    SRV_ADMIT_SHARED,     /* the shared limiter is full and the client is over its fair share */
    SRV_ADMIT_REASONS
} srv_admit_t;

/* A new table (free with srv_clients_free). Aborts through srv_oom() on OOM. */
srv_clients_t *srv_clients_new(const srv_clients_config_t *cfg, uint64_t seed0, uint64_t seed1);
/* NULL is a no-op. Every client must have been detached. */
void srv_clients_free(srv_clients_t *cs);
/* New caps (SIGHUP); counts are kept. max_addrs is not changed. */
void srv_clients_configure(srv_clients_t *cs, const srv_clients_config_t *cfg);

/* Attach a new connection from `addr` (numeric address text). Never fails. */
void srv_clients_attach(srv_clients_t *cs, srv_client_t *cl, const char *addr, int64_t now_ms);
/* Detach (connection closed). A client that is not attached is a no-op. */
void srv_clients_detach(srv_clients_t *cs, srv_client_t *cl);

/* Open connections from the client's address (0 when not attached). */
size_t srv_clients_addr_conns(const srv_client_t *cl);
/* The client's address text ("" when not attached); valid while attached. */
const char *srv_clients_addr_text(const srv_client_t *cl);
/* Open connections in total, and addresses with at least one. */
size_t srv_clients_conns(const srv_clients_t *cs);
size_t srv_clients_addrs(const srv_clients_t *cs);

/* Decide one request of `identity` on limiter rl (rl NULL = no shared limiter) for client cl
 * (NULL = not a client connection: only the shared limiter applies). Counts the request
 * everywhere when admitted; counts nothing but the refusal otherwise. */
srv_admit_t srv_clients_admit(srv_clients_t *cs, srv_client_t *cl, srv_ratelimit_t *rl,
                              const char *identity, int64_t now_ms);

/* Refusals per reason since creation. */
uint64_t srv_clients_refused(const srv_clients_t *cs, srv_admit_t reason);
const char *srv_admit_name(srv_admit_t reason);

/* Top talkers for /metrics: up to n addresses, most refused first, then most admitted in
 * the current window. Returns how many were written; strings valid until the next call
 * that changes the table. */
typedef struct srv_talker {
    const char *addr;
    size_t conns;
    long window;      /* admitted in the current 10 s window */
    uint64_t refused; /* since the entry was created */
} srv_talker_t;
size_t srv_clients_top(const srv_clients_t *cs, srv_talker_t *out, size_t n, int64_t now_ms);

#endif
