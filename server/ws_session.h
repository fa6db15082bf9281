/*
 * The WebSocket hub (ws_session.c): sessions handed over by the HTTP layer after the 101
 * handshake, the serviceId subscription indexes, and the fan-out of registry changes with
 * bounded per-session queues. Its state is its own (struct srv_ws_hub, private).
 * Thread-safety: the server's loop thread only.
 */
#ifndef ARTEMIS_SERVER_WS_SESSION_H
#define ARTEMIS_SERVER_WS_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "changelog.h"
#include "clients.h"
#include "routes.h"
#include "server.h"

struct bufferevent;

/* Create the hub (seeds for its hash tables). Aborts through srv_oom() on OOM. */
void srv_ws_hub_init(srv_server_t *srv, uint64_t seed0, uint64_t seed1);
/* Take over a connection's bufferevent after a successful upgrade handshake. The session
 * takes over `client` (the connection's fairness accounting) and detaches it when it ends. */
void srv_ws_start(srv_server_t *srv, struct bufferevent *bev, srv_ws_kind_t kind,
                  const char *service_id, const srv_client_t *client);
void srv_ws_on_change(void *ctx, const srv_change_t *change);
void srv_ws_sweep(srv_server_t *srv, int64_t now_mono);
void srv_ws_close_all(srv_server_t *srv);
void srv_ws_free_all(srv_server_t *srv);
/* Open sessions of one kind. */
size_t srv_ws_count(const srv_server_t *srv, srv_ws_kind_t kind);

#endif
