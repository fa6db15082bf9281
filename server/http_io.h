/*
 * I/O threads (http.io-threads = N > 0): each runs its own event base and owns the sockets of
 * the plain HTTP connections the loop hands it, round robin. A thread reads, parses the HTTP
 * request and writes the answer; the loop does everything that touches the server's state
 * (routing, the registry, the answer itself). A connection crosses between them at most once
 * per request each way, through two locked queues with one eventfd wake-up per batch.
 *
 * Private to the HTTP layer (http_conn.c). Thread-safety: each function says which thread.
 */
#ifndef ARTEMIS_SERVER_HTTP_IO_H
#define ARTEMIS_SERVER_HTTP_IO_H

#include "http_conn_int.h"

typedef struct srv_io_pool srv_io_pool_t;

/* Start n I/O threads. Loop thread. Returns NULL (logged) when they cannot be made. */
srv_io_pool_t *srv_io_pool_start(srv_server_t *srv, int n, int idle_timeout_ms);
/* The thread for the next connection. Loop thread. */
struct srv_io *srv_io_pick(srv_io_pool_t *p);
/* Ask c's thread for ops (SRV_IO_*). Loop thread. After SRV_IO_RELEASE the loop must not
 * touch c again; after SRV_IO_MIGRATE, not until srv_hconn_from_io(SRV_IO_MIGRATED). A no-op
 * once the pool is stopped. */
void srv_io_post(srv_conn_t *c, unsigned ops);
/* Stop and join the threads, then hand the loop what they had posted and it had not taken
 * yet: a migrated socket is closed (c->fd = -1, c->io = NULL, so c is freed as the loop's
 * own), anything else is dropped. Loop thread; NULL is a no-op. */
void srv_io_pool_stop(srv_io_pool_t *p);
/* Free the threads' connections (their bufferevents, sockets, buffers and memory) and the
 * pool. After srv_io_pool_stop and after the loop has torn down its side of every
 * connection. NULL is a no-op. */
void srv_io_pool_free(srv_io_pool_t *p);

#endif
