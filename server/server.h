/*
 * The server context: one struct that ties the event loop to the pure modules (registry,
 * rate limiters, self-preservation, config). Everything runs on one libevent loop thread;
 * no locks are needed and none are taken.
 */
#ifndef ARTEMIS_SERVER_SERVER_H
#define ARTEMIS_SERVER_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "buf.h"
#include "clients.h"
#include "config.h"
#include "dict.h"
#include "http_parser.h"
#include "ratelimit.h"
#include "routes.h"
#include "registry.h"
#include "selfpres.h"
#include "stallclock.h"

struct bufferevent;

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
typedef struct srv_conn srv_conn_t;
typedef struct srv_ws srv_ws_t;

#define SRV_LAT_BUCKETS 14

typedef struct srv_metrics {
    uint64_t requests[SRV_R_COUNT];
    uint64_t lat_buckets[SRV_R_COUNT][SRV_LAT_BUCKETS];
    double lat_sum[SRV_R_COUNT];
    uint64_t status_4xx, status_5xx;
    uint64_t http_connections_total, http_connections_rejected;
    uint64_t http_connections_rejected_address; /* over http.max-connections-per-address */
    uint64_t http_connections_evicted;          /* idle ones closed to admit a newcomer */
    uint64_t ws_sessions_total[SRV_WS_KINDS];
    uint64_t ws_messages_in, ws_messages_out;
    uint64_t ws_push_coalesced, ws_sessions_dropped, ws_protocol_errors;
    uint64_t rate_limited;
    uint64_t oom_answers; /* answers replaced by 503 because building them ran out of memory */
} srv_metrics_t;

struct srv_server {
    srv_config_t cfg;
    char node_url[512];
    char url_prefix[256]; /* path of node_url without trailing '/', "" for root */
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *ev_tick, *ev_tick_more, *ev_second, *ev_sweep, *ev_watchdog;
    struct event *ev_sigterm, *ev_sigint, *ev_sighup;

    srv_registry_t *registry;
    srv_selfpres_t selfpres;
    srv_stallclock_t lease_clock;      /* what leases age by: monotonic minus stalls */
    srv_ratelimit_t *rl[SRV_RL_COUNT]; /* indexed by srv_limiter_t */
    srv_clients_t *clients;            /* per-connection and per-address fairness (clients.h) */
    srv_http_limits_t http_limits;

    /* connections and sessions */
    srv_conn_t *conns;
    size_t n_conns;
    srv_ws_t *ws_sessions[SRV_WS_KINDS];
    size_t n_ws[SRV_WS_KINDS];
    artemisi_dict_t subs;    /* serviceId -> srv_sublist_t (discovery sessions) */
    artemisi_dict_t v1_subs; /* serviceId -> srv_sublist_t (v1 subscribe sessions) */
    struct event *ev_flush;  /* coalesced v1 pushes, once per loop turn */

    srv_metrics_t metrics;
    struct srv_cluster *cluster; /* peers, bootstrap, replication (cluster.c); NULL alone */
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

/* ---- HTTP layer (http_conn.c) ---- */
int srv_http_listen(srv_server_t *srv, int fd_or_minus1);
void srv_http_close_all(srv_server_t *srv);

/* A request as handlers see it. */
typedef struct srv_req {
    srv_server_t *srv;
    const srv_http_request_t *http;
    const char *body; /* inflated request body, NUL-terminated */
    size_t body_len;
    artemisi_buf_t *out; /* response body */
    int status;          /* HTTP status, default 200 */
    const char *content_type;
    srv_client_t *client; /* the connection's fairness accounting */
} srv_req_t;

/* ---- API handlers (api_*.c) ---- */
typedef void (*srv_handler_fn)(srv_req_t *req);
void srv_api_register(srv_req_t *req);
void srv_api_heartbeat(srv_req_t *req);
void srv_api_unregister(srv_req_t *req);
void srv_api_repl_register(srv_req_t *req);
void srv_api_repl_heartbeat(srv_req_t *req);
void srv_api_repl_unregister(srv_req_t *req);
void srv_api_repl_services(srv_req_t *req);
void srv_api_lookup(srv_req_t *req);
void srv_api_service(srv_req_t *req);
void srv_api_services(srv_req_t *req);
void srv_api_services_delta(srv_req_t *req);
void srv_api_up_registry_nodes(srv_req_t *req);
void srv_api_up_discovery_nodes(srv_req_t *req);
void srv_api_status_node(srv_req_t *req);
void srv_api_status_cluster(srv_req_t *req);
void srv_api_status_leases(srv_req_t *req);
void srv_api_status_legacy_leases(srv_req_t *req);
void srv_api_status_config(srv_req_t *req);
void srv_api_status_deployment(srv_req_t *req);
void srv_api_status_connections(srv_req_t *req);
void srv_api_health(srv_req_t *req);
void srv_api_metrics(srv_req_t *req);

/* Answer a 400 with a JSON error body. */
void srv_req_bad_request(srv_req_t *req, const char *why);
/* Write a bare {"responseStatus":{...}} style failure with extra null fields (e.g.
 * ",\"failedInstances\":null" placed alphabetically by the caller). */

/* Registry operations shared by HTTP and the WebSocket heartbeat (api_registry.c).
 * Appends the full response JSON to out. */
typedef enum { SRV_OP_REGISTER = 0, SRV_OP_HEARTBEAT, SRV_OP_UNREGISTER } srv_op_t;
/* client: the caller's connection for per-client fairness (NULL: only the shared limiter). */
void srv_registry_request(srv_server_t *srv, srv_client_t *client, srv_op_t op, int replication,
                          const char *body, size_t len, artemisi_buf_t *out, int *http_status);

/* ---- WebSocket (ws_session.c) ---- */
/* Take over a connection's bufferevent after a successful upgrade handshake. The session
 * takes over `client` (the connection's fairness accounting) and detaches it when it ends. */
void srv_ws_start(srv_server_t *srv, struct bufferevent *bev, srv_ws_kind_t kind,
                  const char *service_id, const srv_client_t *client);
void srv_ws_on_change(void *ctx, const srv_change_t *change);
void srv_ws_sweep(srv_server_t *srv, int64_t now_mono);
void srv_ws_close_all(srv_server_t *srv);
void srv_ws_free_all(srv_server_t *srv);

/* ---- metrics (metrics.c) ---- */
void srv_metrics_observe(srv_server_t *srv, srv_route_id_t route, int status, double seconds);

/* ---- node status (api_status.c) ---- */
/* "{ node: sha/sha-z1/http://.../, status: up, canServiceRegistry: true, ... }" */
void srv_node_status_text(srv_server_t *srv, artemisi_buf_t *out);
/* Append the ServiceNode JSON of this node. */
void srv_node_json(srv_server_t *srv, artemisi_buf_t *out);

#endif
