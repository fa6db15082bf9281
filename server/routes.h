/*
 * Every route of the HTTP server, once. The route enum, the dispatch table (http_conn.c) and
 * the metrics endpoint names (metrics.c) are generated from this one list, so adding a route
 * is one line and the three cannot drift (a metrics name missing from a hand-kept copy used
 * to become NULL).
 *
 * X(ID, path, methods, json_body, handler, ws_kind, metric_name)
 *   path       exact path after the context prefix; NULL = matched by other rules (the v1
 *              subscribe prefix; OTHER counts 404, 405, OPTIONS and refused requests)
 *   methods    SRV_M_GET | SRV_M_POST | SRV_M_WS
 *   json_body  a POST needs Content-Type: application/json and a non-empty body
 *   handler    srv_handler_fn (api.h); NULL for WebSocket routes
 *   ws_kind    the session kind of a WebSocket route (0 otherwise)
 *   metric     the `endpoint` label in /metrics (docs/operations.md lists them)
 */
#ifndef ARTEMIS_SERVER_ROUTES_H
#define ARTEMIS_SERVER_ROUTES_H

#define SRV_M_GET  1u
#define SRV_M_POST 2u
#define SRV_M_WS   4u

#define SRV_M_GP (SRV_M_GET | SRV_M_POST)

/* clang-format off */
#define SRV_ROUTES(X)                                                                              \
    X(REGISTER, "/api/registry/register.json", SRV_M_POST, 1, srv_api_register, 0, "register")    \
    X(HEARTBEAT, "/api/registry/heartbeat.json", SRV_M_POST, 1, srv_api_heartbeat, 0,             \
      "heartbeat")                                                                                 \
    X(UNREGISTER, "/api/registry/unregister.json", SRV_M_POST, 1, srv_api_unregister, 0,          \
      "unregister")                                                                                \
    X(LOOKUP, "/api/discovery/lookup.json", SRV_M_POST, 1, srv_api_lookup, 0, "lookup")           \
    X(SERVICE, "/api/discovery/service.json", SRV_M_GP, 1, srv_api_service, 0, "service")         \
    X(SERVICES, "/api/discovery/services.json", SRV_M_GP, 1, srv_api_services, 0, "services")     \
    X(SERVICES_DELTA, "/api/discovery/services-delta.json", SRV_M_POST, 1,                         \
      srv_api_services_delta, 0, "services_delta")                                                 \
    X(UP_REGISTRY_NODES, "/api/cluster/up-registry-nodes.json", SRV_M_GP, 1,                       \
      srv_api_up_registry_nodes, 0, "up_registry_nodes")                                           \
    X(UP_DISCOVERY_NODES, "/api/cluster/up-discovery-nodes.json", SRV_M_GP, 1,                     \
      srv_api_up_discovery_nodes, 0, "up_discovery_nodes")                                         \
    X(REPL_REGISTER, "/api/replication/registry/register.json", SRV_M_POST, 1,                     \
      srv_api_repl_register, 0, "repl_register")                                                   \
    X(REPL_HEARTBEAT, "/api/replication/registry/heartbeat.json", SRV_M_POST, 1,                   \
      srv_api_repl_heartbeat, 0, "repl_heartbeat")                                                 \
    X(REPL_UNREGISTER, "/api/replication/registry/unregister.json", SRV_M_POST, 1,                 \
      srv_api_repl_unregister, 0, "repl_unregister")                                               \
    X(REPL_SERVICES, "/api/replication/registry/services.json", SRV_M_GP, 1,                       \
      srv_api_repl_services, 0, "repl_services")                                                   \
    X(STATUS_NODE, "/api/status/node.json", SRV_M_GP, 1, srv_api_status_node, 0, "status_node")   \
    X(STATUS_CLUSTER, "/api/status/cluster.json", SRV_M_GP, 1, srv_api_status_cluster, 0,         \
      "status_cluster")                                                                            \
    X(STATUS_LEASES, "/api/status/leases.json", SRV_M_GP, 1, srv_api_status_leases, 0,            \
      "status_leases")                                                                             \
    X(STATUS_LEGACY_LEASES, "/api/status/legacy-leases.json", SRV_M_GP, 1,                         \
      srv_api_status_legacy_leases, 0, "status_legacy_leases")                                     \
    X(STATUS_CONFIG, "/api/status/config.json", SRV_M_GP, 1, srv_api_status_config, 0,            \
      "status_config")                                                                             \
    X(STATUS_DEPLOYMENT, "/api/status/deployment.json", SRV_M_GP, 1, srv_api_status_deployment,   \
      0, "status_deployment")                                                                      \
    X(STATUS_CONNECTIONS, "/api/status/message/connections.json", SRV_M_GET, 0,                    \
      srv_api_status_connections, 0, "status_connections")                                         \
    X(HEALTH, "/health", SRV_M_GET, 0, srv_api_health, 0, "health")                                \
    X(METRICS, "/metrics", SRV_M_GET, 0, srv_api_metrics, 0, "metrics")                            \
    X(WS_HEARTBEAT, "/ws/registry/heartbeat", SRV_M_WS, 0, NULL, SRV_WS_HEARTBEAT,                 \
      "ws_heartbeat")                                                                              \
    X(WS_DISCOVERY, "/ws/discovery/instance-change", SRV_M_WS, 0, NULL, SRV_WS_DISCOVERY,          \
      "ws_instance_change")                                                                        \
    X(WS_ALL, "/ws/discovery/all-instance-change", SRV_M_WS, 0, NULL, SRV_WS_ALL,                  \
      "ws_all_instance_change")                                                                    \
    X(WS_SUBSCRIBE, NULL, SRV_M_WS, 0, NULL, SRV_WS_SUBSCRIBE, "ws_subscribe")                     \
    X(OTHER, NULL, 0, 0, NULL, 0, "other")
/* clang-format on */

typedef enum {
#define SRV_ROUTE_ENUM(id, path, methods, json, fn, ws, metric) SRV_R_##id,
    SRV_ROUTES(SRV_ROUTE_ENUM)
#undef SRV_ROUTE_ENUM
        SRV_R_COUNT
} srv_route_id_t;

/* Kinds of WebSocket session, with their `endpoint` label in /metrics. */
/* clang-format off */
#define SRV_WS_KIND_LIST(X)                                                                        \
    X(HEARTBEAT, "heartbeat")                                                                      \
    X(DISCOVERY, "instance_change")                                                                \
    X(ALL, "all_instance_change")                                                                  \
    X(SUBSCRIBE, "subscribe")
/* clang-format on */

typedef enum {
#define SRV_WS_KIND_ENUM(id, metric) SRV_WS_##id,
    SRV_WS_KIND_LIST(SRV_WS_KIND_ENUM)
#undef SRV_WS_KIND_ENUM
        SRV_WS_KINDS
} srv_ws_kind_t;

#endif
