/*
 * The server context: what the event loop owns -- the configuration, the timers and signal
 * events, the pure modules (registry, self-preservation, lease clock, rate limiters,
 * per-client fairness) and handles to the I/O modules that own their own state (the HTTP
 * layer, the WebSocket hub, the cluster). Everything runs on one libevent loop thread; no
 * locks are needed and none are taken. Map of who may call whom: docs/design.md.
 */
#ifndef ARTEMIS_SERVER_SERVER_H
#define ARTEMIS_SERVER_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "clients.h"
#include "config.h"
#include "metrics.h"
#include "ratelimit.h"
#include "registry.h"
#include "selfpres.h"
#include "stallclock.h"

struct srv_http;
struct srv_tls;
struct srv_ws_hub;
struct srv_cluster;

/* The server's rate limiters (protocol.md §3.4), one per Artemis limiterId. */
typedef enum {
    SRV_RL_REGISTRY = 0, /* artemis.service.registry */
    SRV_RL_REPLICATION,  /* artemis.service.registry.replication */
    SRV_RL_CLUSTER,      /* artemis.service.cluster */
    SRV_RL_STATUS,       /* artemis.service.status */
    SRV_RL_DISCOVERY,    /* artemis.service.discovery (ours) */
    SRV_RL_COUNT
} srv_limiter_t;
typedef struct srv_server srv_server_t;

struct srv_server {
    srv_config_t cfg;
    char node_url[512];
    char url_prefix[256]; /* path of node_url without trailing '/', "" for root */
    struct event_base *base;
    struct event *ev_tick, *ev_tick_more, *ev_second, *ev_sweep, *ev_watchdog;
    struct event *ev_sigterm, *ev_sigint, *ev_sighup;

    srv_registry_t *registry;
    srv_selfpres_t selfpres;
    srv_stallclock_t lease_clock;      /* what leases age by: monotonic minus stalls */
    srv_ratelimit_t *rl[SRV_RL_COUNT]; /* indexed by srv_limiter_t */
    srv_clients_t *clients;            /* per-connection and per-address fairness (clients.h) */
    struct srv_http *http;             /* listener and connections (http_conn.h) */
    struct srv_tls *tls;               /* the TLS context, NULL without tls.cert (tls.h) */
    struct srv_ws_hub *ws;             /* WebSocket sessions and subscriptions (ws_session.h) */

    srv_metrics_t metrics;
    struct srv_cluster *cluster; /* peers, bootstrap, replication (cluster.c); NULL alone */
    struct srv_mgmt *mgmt;       /* the management store and its snapshot (mgmt.h) */
    struct srv_auth *auth;       /* access tokens (auth.h); NULL = no tokens file: all open */
    unsigned auth_open;          /* scopes open without a token (auth.open-scopes) */
    int64_t start_wall, start_mono;
    int draining;
    int ready;
};

/* Time helpers used by handlers (cached per call; cheap). */
int64_t srv_now_mono(void);
int64_t srv_now_wall(void);
/* Lease time (stallclock.h): monotonic ms without the server's own stalls. Every lease
 * operation uses it; everything else uses srv_now_mono(). */
int64_t srv_lease_now(srv_server_t *srv);

/* Run the server until SIGTERM/SIGINT. Takes ownership of cfg's strings. Returns the exit
 * status (0 clean, 1 runtime failure, 2 configuration error). */
int srv_run(srv_config_t *cfg);

#endif
