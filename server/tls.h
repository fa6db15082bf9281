/*
 * TLS for the server's listeners (docs/security.md, "TLS"): one SSL_CTX built from
 * tls.cert / tls.key (and tls.client-ca for client certificates), handed to libevent's
 * bufferevent_openssl per accepted connection. Everything above the bufferevent (HTTP
 * parser, WebSocket, limits, fairness) is the same over TLS and plain TCP.
 *
 * SIGHUP builds a new SSL_CTX from the files; on success new connections get it while open
 * ones keep the one their SSL object holds a reference to; on failure the old one stays.
 * Key material is never logged; errors name the option and the file only.
 * Thread-safety: the server's loop thread only.
 */
#ifndef ARTEMIS_SERVER_TLS_H
#define ARTEMIS_SERVER_TLS_H

#include <stddef.h>

#include <event2/util.h>

#include "server.h"

struct bufferevent;

/* Build the context when tls.cert is set (no-op otherwise). Returns 0, or -1 with one line in
 * err naming the offending key (a configuration error: exit status 2). */
int srv_tls_init(srv_server_t *srv, char *err, size_t errlen);
/* Whether a certificate is loaded (TLS can be served). */
int srv_tls_enabled(const srv_server_t *srv);
/* Whether the main `listen` socket speaks TLS: tls.cert given and tls.listen empty. */
int srv_tls_on_main_listener(const srv_server_t *srv);
/* A server-side TLS bufferevent on an accepted fd (closes fd when freed); NULL on failure. */
struct bufferevent *srv_tls_bev_new(srv_server_t *srv, evutil_socket_t fd);
/* SIGHUP: rebuild from the files; swap on success, else keep the old one and log one line. */
void srv_tls_reload(srv_server_t *srv);
/* The loaded certificate's notAfter as RFC 3339 UTC ("" when TLS is off). */
const char *srv_tls_not_after(const srv_server_t *srv);
void srv_tls_free(srv_server_t *srv);
/* Client certificates are verified (tls.verify-client optional or require). */
int srv_tls_verifies_clients(const srv_server_t *srv);
/* The connection is TLS and its client presented a verified certificate identical to this
 * node's own: a peer of the cluster (the nodes share one certificate). 0 for plain. */
int srv_tls_peer_is_node(struct bufferevent *bev);

#endif
