/*
 * The HTTP/1.1 layer (http_conn.c): the listener, the connections and their limits, routing
 * to the handlers of api.h, and the hand-over of a connection to the WebSocket hub. Its state
 * is its own (struct srv_http, private); the rest of the server reaches it only through these
 * functions. Thread-safety: the server's loop thread only.
 */
#ifndef ARTEMIS_SERVER_HTTP_CONN_H
#define ARTEMIS_SERVER_HTTP_CONN_H

#include <stddef.h>

#include "server.h"

/* Create the layer (limits from srv->cfg) and listen: on fd when >= 0 (socket activation),
 * else on cfg.listen. Returns 0, or -1 with errno set (srv->http may then be half made:
 * srv_http_free() it). */
int srv_http_listen(srv_server_t *srv, int fd_or_minus1);
/* Stop accepting (draining); open connections are served on. */
void srv_http_stop_listening(srv_server_t *srv);
/* Close every connection. */
void srv_http_close_all(srv_server_t *srv);
/* Close everything and free the layer. NULL srv->http is a no-op. */
void srv_http_free(srv_server_t *srv);
/* Open HTTP connections (not counting WebSocket sessions). */
size_t srv_http_conn_count(const srv_server_t *srv);

#endif
