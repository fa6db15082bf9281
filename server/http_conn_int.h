/*
 * The HTTP layer's connection, shared by its two halves: http_conn.c (the loop: routing,
 * answers, limits) and http_io.c (I/O threads, http.io-threads > 0: the socket of a plain
 * connection, its reads, parsing and writes). Private to those two files.
 *
 * Every field has one owner at a time. A connection the loop accepted itself (io == NULL:
 * TLS, or no I/O threads) is the loop's entirely. A threaded one (io != NULL) is split: its
 * socket, bufferevent and read state belong to its I/O thread; its answer (tx), limits and
 * fairness accounting to the loop; the parser passes from the thread to the loop with each
 * request (SRV_IO_REQUEST) and back with its answer (SRV_IO_ANSWER). The ops words and queue
 * links are guarded by the lock of the queue they are on. Handing a connection across a queue
 * is what orders one thread's writes before the other's reads.
 */
#ifndef ARTEMIS_SERVER_HTTP_CONN_INT_H
#define ARTEMIS_SERVER_HTTP_CONN_INT_H

#include <stdatomic.h>
#include <stdint.h>
#include <event2/util.h>

#include "clients.h"
#include "http_parser.h"
#include "server.h"

struct bufferevent;
struct evbuffer;
struct srv_io;

typedef struct srv_conn srv_conn_t;

/* What the loop asks of a connection's I/O thread (srv_io_post). */
#define SRV_IO_ADOPT       1u  /* start serving the socket */
#define SRV_IO_ANSWER      2u  /* tx holds the answer: write it, then read the next request */
#define SRV_IO_CLOSE_AFTER 4u  /* with ANSWER: close once it is written */
#define SRV_IO_MIGRATE     8u  /* give the socket to the loop once the output has drained */
#define SRV_IO_CLOSE       16u /* close now (eviction) */
#define SRV_IO_RELEASE     32u /* the loop is done with it: free it */

/* What an I/O thread tells the loop (srv_hconn_from_io). */
#define SRV_IO_REQUEST  1u /* a whole request is parsed, or io_status says why not */
#define SRV_IO_CLOSED   2u /* the socket is closed; nothing more comes for this connection */
#define SRV_IO_MIGRATED 4u /* fd and rx are the loop's now */

/* Shared limits of both halves. */
#define SRV_HTTP_OUT_HIGH_WATER   (4u << 20) /* reading pauses while more waits to be written */
#define SRV_HTTP_MAX_SINGLE_WRITE (1 << 20)
#define SRV_HTTP_REQUEST_DEADLINE 30000 /* ms to receive one whole request once it has started */

/* A connection's place in one direction's hand-off (http_io.c). The poster holds ops in
 * `held` until it flushes them onto the queue (`next`, `ops`, under the queue's lock); the
 * taker moves them to `work_*` when it takes the queue. */
typedef struct srv_io_link {
    srv_conn_t *held_next, *next, *work_next;
    unsigned held, ops, work_ops;
} srv_io_link_t;

struct srv_conn {
    srv_server_t *srv;
    struct bufferevent *bev; /* the owner thread's */
    srv_http_parser_t *parser;
    srv_conn_t *next, *prev; /* the loop's list of open connections */
    srv_client_t client;     /* fairness accounting (clients.h); moves to the WebSocket session */
    int64_t req_start;       /* mono ms of the first byte of the pending request, 0 if idle */
    int64_t last_active;     /* mono ms of the last byte received (or of the accept) */
    int closing;             /* close once the output has drained */
    int paused;              /* reading paused for output backpressure */
    int sent_continue;
    int tls_handshaking;       /* a TLS connection whose handshake has not completed yet */
    struct srv_reply *pending; /* a deferred answer in flight: read nothing more until it is sent */
    struct stream *stream;     /* an answer sent in slices (srv_req_stream): likewise */
    struct gzjob *gzjob;       /* a large answer being deflated over loop turns: likewise */

    /* ---- threaded connections (http_io.c) ---- */
    struct srv_io *io; /* its I/O thread; NULL for the loop's own connections */
    evutil_socket_t fd;
    struct evbuffer *tx; /* loop: the answer being made, handed over with SRV_IO_ANSWER */
    struct evbuffer *rx; /* thread -> loop with SRV_IO_MIGRATED: bytes read, not parsed */
    int io_status;       /* thread -> loop with SRV_IO_REQUEST: 0, or the error to answer */
    int in_loop;         /* loop: a request is being answered */
    int migrating;       /* loop: waiting for SRV_IO_MIGRATED */
    int retired;         /* loop: torn down, waiting for SRV_IO_CLOSED to release it */
    srv_io_link_t to_io, to_loop;  /* its place in each direction's queue (http_io.c) */
    srv_conn_t *io_next, *io_prev; /* the I/O thread's list */
    int io_waiting, io_closing, io_migrating, io_paused, io_dead; /* the thread's */
    _Atomic int64_t idle_since; /* mono ms it has been idle since; 0 busy (eviction reads it) */
};

/* Loop side, called by http_io.c on the loop thread with what a thread posted (SRV_IO_*). */
void srv_hconn_from_io(srv_conn_t *c, unsigned ops);

/* Feed c's parser from `in` until a whole request (returns 0: it is parsed), an answer the
 * connection must give at once (returns its status: 408 past the request deadline, or the
 * parser's error), or the end of the bytes (returns -1). A request that asks for
 * "100 Continue" gets it on `out`. Both halves read with it: conn_read_cb and the threads. */
int srv_hconn_feed(srv_conn_t *c, struct evbuffer *in, struct evbuffer *out);

#endif
