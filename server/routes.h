/*
 * Every route of the HTTP server, once. The route enum, the dispatch table (http_conn.c) and
 * the metrics endpoint names (metrics.c) are generated from this one list, so adding a route
 * is one line and the three cannot drift (a metrics name missing from a hand-kept copy used
 * to become NULL).
 *
 * X(ID, path, methods, json_body, handler, ws_kind, metric_name, scope)
 *   path       exact path after the context prefix; NULL = matched by other rules (the v1
 *              subscribe prefix; /console and /console/...; OTHER counts 404, 405, OPTIONS
 *              and refused requests)
 *   methods    SRV_M_GET | SRV_M_POST | SRV_M_WS
 *   json_body  a POST needs Content-Type: application/json and a non-empty body
 *   handler    srv_handler_fn (api.h); NULL for WebSocket routes
 *   ws_kind    the session kind of a WebSocket route (0 otherwise)
 *   metric     the `endpoint` label in /metrics (docs/operations.md lists them)
 *   scope      the token scope the route needs once auth.tokens-file is set (auth.h:
 *              SRV_SCOPE_<scope>; NONE = always open); docs/security.md "Scopes of each path"
 */
#ifndef ARTEMIS_SERVER_ROUTES_H
#define ARTEMIS_SERVER_ROUTES_H

#define SRV_M_GET  1u
#define SRV_M_POST 2u
#define SRV_M_WS   4u

#define SRV_M_GP (SRV_M_GET | SRV_M_POST)

/* clang-format off */
#define SRV_ROUTES(X)                                                                              \
    X(REGISTER, "/api/registry/register.json", SRV_M_POST, 1, srv_api_register, 0, "register", REGISTER) \
    X(HEARTBEAT, "/api/registry/heartbeat.json", SRV_M_POST, 1, srv_api_heartbeat, 0, "heartbeat", REGISTER) \
    X(UNREGISTER, "/api/registry/unregister.json", SRV_M_POST, 1, srv_api_unregister, 0, "unregister", REGISTER) \
    X(LOOKUP, "/api/discovery/lookup.json", SRV_M_POST, 1, srv_api_lookup, 0, "lookup", DISCOVER)  \
    X(SERVICE, "/api/discovery/service.json", SRV_M_GP, 1, srv_api_service, 0, "service", DISCOVER) \
    X(SERVICES, "/api/discovery/services.json", SRV_M_GP, 1, srv_api_services, 0, "services", DISCOVER) \
    X(SERVICES_DELTA, "/api/discovery/services-delta.json", SRV_M_POST, 1, srv_api_services_delta, 0, "services_delta", DISCOVER) \
    X(UP_REGISTRY_NODES, "/api/cluster/up-registry-nodes.json", SRV_M_GP, 1, srv_api_up_registry_nodes, 0, "up_registry_nodes", DISCOVER) \
    X(UP_DISCOVERY_NODES, "/api/cluster/up-discovery-nodes.json", SRV_M_GP, 1, srv_api_up_discovery_nodes, 0, "up_discovery_nodes", DISCOVER) \
    X(REPL_REGISTER, "/api/replication/registry/register.json", SRV_M_POST, 1, srv_api_repl_register, 0, "repl_register", REPLICATE) \
    X(REPL_HEARTBEAT, "/api/replication/registry/heartbeat.json", SRV_M_POST, 1, srv_api_repl_heartbeat, 0, "repl_heartbeat", REPLICATE) \
    X(REPL_UNREGISTER, "/api/replication/registry/unregister.json", SRV_M_POST, 1, srv_api_repl_unregister, 0, "repl_unregister", REPLICATE) \
    X(REPL_SERVICES, "/api/replication/registry/services.json", SRV_M_GP, 1, srv_api_repl_services, 0, "repl_services", REPLICATE) \
    X(STATUS_NODE, "/api/status/node.json", SRV_M_GP, 1, srv_api_status_node, 0, "status_node", REPLICATE) \
    X(STATUS_CLUSTER, "/api/status/cluster.json", SRV_M_GP, 1, srv_api_status_cluster, 0, "status_cluster", ADMIN) \
    X(STATUS_LEASES, "/api/status/leases.json", SRV_M_GP, 1, srv_api_status_leases, 0, "status_leases", ADMIN) \
    X(STATUS_LEGACY_LEASES, "/api/status/legacy-leases.json", SRV_M_GP, 1, srv_api_status_legacy_leases, 0, "status_legacy_leases", ADMIN) \
    X(STATUS_CONFIG, "/api/status/config.json", SRV_M_GP, 1, srv_api_status_config, 0, "status_config", ADMIN) \
    X(STATUS_DEPLOYMENT, "/api/status/deployment.json", SRV_M_GP, 1, srv_api_status_deployment, 0, "status_deployment", ADMIN) \
    X(STATUS_CONNECTIONS, "/api/status/message/connections.json", SRV_M_GET, 0, srv_api_status_connections, 0, "status_connections", ADMIN) \
    X(MG_OPERATE_INSTANCE, "/api/management/operate-instance.json", SRV_M_POST, 1, srv_api_mg_operate_instance, 0, "mg_operate_instance", OPERATE) \
    X(MG_OPERATE_SERVER, "/api/management/operate-server.json", SRV_M_POST, 1, srv_api_mg_operate_server, 0, "mg_operate_server", OPERATE) \
    X(MG_INSTANCE_OPERATIONS, "/api/management/instance-operations.json", SRV_M_POST, 1, srv_api_mg_instance_operations, 0, "mg_instance_operations", OPERATE) \
    X(MG_SERVER_OPERATIONS, "/api/management/server-operations.json", SRV_M_POST, 1, srv_api_mg_server_operations, 0, "mg_server_operations", OPERATE) \
    X(MG_ALL_INSTANCE_OPERATIONS, "/api/management/all-instance-operations.json", SRV_M_GP, 1, srv_api_mg_all_instance_operations, 0, "mg_all_instance_operations", OPERATE) \
    X(MG_ALL_SERVER_OPERATIONS, "/api/management/all-server-operations.json", SRV_M_GP, 1, srv_api_mg_all_server_operations, 0, "mg_all_server_operations", OPERATE) \
    X(MG_INSTANCE_DOWN, "/api/management/instance-down.json", SRV_M_POST, 1, srv_api_mg_instance_down, 0, "mg_instance_down", OPERATE) \
    X(MG_SERVER_DOWN, "/api/management/server-down.json", SRV_M_POST, 1, srv_api_mg_server_down, 0, "mg_server_down", OPERATE) \
    X(MG_SERVICES, "/api/management/services.json", SRV_M_GP, 1, srv_api_mg_services, 0, "mg_services", OPERATE) \
    X(MG_SERVICE, "/api/management/service.json", SRV_M_POST, 1, srv_api_mg_service, 0, "mg_service", OPERATE) \
    X(MG_INSERT_ROUTE_RULES, "/api/management/group/insert-route-rules.json", SRV_M_POST, 1, srv_api_mg_insert_route_rules, 0, "mg_insert_route_rules", OPERATE) \
    X(MG_UPDATE_ROUTE_RULES, "/api/management/group/update-route-rules.json", SRV_M_POST, 1, srv_api_mg_update_route_rules, 0, "mg_update_route_rules", OPERATE) \
    X(MG_DELETE_ROUTE_RULES, "/api/management/group/delete-route-rules.json", SRV_M_POST, 1, srv_api_mg_delete_route_rules, 0, "mg_delete_route_rules", OPERATE) \
    X(MG_GET_ROUTE_RULES, "/api/management/group/get-route-rules.json", SRV_M_POST, 1, srv_api_mg_get_route_rules, 0, "mg_get_route_rules", OPERATE) \
    X(MG_GET_ALL_ROUTE_RULES, "/api/management/group/get-all-route-rules.json", SRV_M_POST, 1, srv_api_mg_get_all_route_rules, 0, "mg_get_all_route_rules", OPERATE) \
    X(MG_CREATE_ROUTE_RULE, "/api/management/group/create-route-rule.json", SRV_M_POST, 1, srv_api_mg_create_route_rule, 0, "mg_create_route_rule", OPERATE) \
    X(MG_INSERT_ROUTE_RULE_GROUPS, "/api/management/group/insert-route-rule-groups.json", SRV_M_POST, 1, srv_api_mg_insert_route_rule_groups, 0, "mg_insert_route_rule_groups", OPERATE) \
    X(MG_UPDATE_ROUTE_RULE_GROUPS, "/api/management/group/update-route-rule-groups.json", SRV_M_POST, 1, srv_api_mg_update_route_rule_groups, 0, "mg_update_route_rule_groups", OPERATE) \
    X(MG_RELEASE_ROUTE_RULE_GROUPS, "/api/management/group/release-route-rule-groups.json", SRV_M_POST, 1, srv_api_mg_release_route_rule_groups, 0, "mg_release_route_rule_groups", OPERATE) \
    X(MG_DELETE_ROUTE_RULE_GROUPS, "/api/management/group/delete-route-rule-groups.json", SRV_M_POST, 1, srv_api_mg_delete_route_rule_groups, 0, "mg_delete_route_rule_groups", OPERATE) \
    X(MG_GET_ROUTE_RULE_GROUPS, "/api/management/group/get-route-rule-groups.json", SRV_M_POST, 1, srv_api_mg_get_route_rule_groups, 0, "mg_get_route_rule_groups", OPERATE) \
    X(MG_GET_ALL_ROUTE_RULE_GROUPS, "/api/management/group/get-all-route-rule-groups.json", SRV_M_POST, 1, srv_api_mg_get_all_route_rule_groups, 0, "mg_get_all_route_rule_groups", OPERATE) \
    X(MG_INSERT_GROUPS, "/api/management/group/insert-groups.json", SRV_M_POST, 1, srv_api_mg_insert_groups, 0, "mg_insert_groups", OPERATE) \
    X(MG_UPDATE_GROUPS, "/api/management/group/update-groups.json", SRV_M_POST, 1, srv_api_mg_update_groups, 0, "mg_update_groups", OPERATE) \
    X(MG_DELETE_GROUPS, "/api/management/group/delete-groups.json", SRV_M_POST, 1, srv_api_mg_delete_groups, 0, "mg_delete_groups", OPERATE) \
    X(MG_GET_GROUPS, "/api/management/group/get-groups.json", SRV_M_POST, 1, srv_api_mg_get_groups, 0, "mg_get_groups", OPERATE) \
    X(MG_GET_ALL_GROUPS, "/api/management/group/get-all-groups.json", SRV_M_POST, 1, srv_api_mg_get_all_groups, 0, "mg_get_all_groups", OPERATE) \
    X(MG_INSERT_GROUP_TAGS, "/api/management/group/insert-group-tags.json", SRV_M_POST, 1, srv_api_mg_insert_group_tags, 0, "mg_insert_group_tags", OPERATE) \
    X(MG_UPDATE_GROUP_TAGS, "/api/management/group/update-group-tags.json", SRV_M_POST, 1, srv_api_mg_update_group_tags, 0, "mg_update_group_tags", OPERATE) \
    X(MG_DELETE_GROUP_TAGS, "/api/management/group/delete-group-tags.json", SRV_M_POST, 1, srv_api_mg_delete_group_tags, 0, "mg_delete_group_tags", OPERATE) \
    X(MG_GET_GROUP_TAGS, "/api/management/group/get-group-tags.json", SRV_M_POST, 1, srv_api_mg_get_group_tags, 0, "mg_get_group_tags", OPERATE) \
    X(MG_GET_ALL_GROUP_TAGS, "/api/management/group/get-all-group-tags.json", SRV_M_POST, 1, srv_api_mg_get_all_group_tags, 0, "mg_get_all_group_tags", OPERATE) \
    X(MG_OPERATE_GROUP_OPERATIONS, "/api/management/group/operate-group-operations.json", SRV_M_POST, 1, srv_api_mg_operate_group_operations, 0, "mg_operate_group_operations", OPERATE) \
    X(MG_OPERATE_GROUP_OPERATION, "/api/management/group/operate-group-operation.json", SRV_M_POST, 1, srv_api_mg_operate_group_operation, 0, "mg_operate_group_operation", OPERATE) \
    X(MG_GET_GROUP_OPERATIONS, "/api/management/group/get-group-operations.json", SRV_M_POST, 1, srv_api_mg_get_group_operations, 0, "mg_get_group_operations", OPERATE) \
    X(MG_GET_ALL_GROUP_OPERATIONS, "/api/management/group/get-all-group-operations.json", SRV_M_POST, 1, srv_api_mg_get_all_group_operations, 0, "mg_get_all_group_operations", OPERATE) \
    X(MG_INSERT_GROUP_INSTANCES, "/api/management/group/insert-group-instances.json", SRV_M_POST, 1, srv_api_mg_insert_group_instances, 0, "mg_insert_group_instances", OPERATE) \
    X(MG_DELETE_GROUP_INSTANCES, "/api/management/group/delete-group-instances.json", SRV_M_POST, 1, srv_api_mg_delete_group_instances, 0, "mg_delete_group_instances", OPERATE) \
    X(MG_GET_GROUP_INSTANCES, "/api/management/group/get-group-instances.json", SRV_M_POST, 1, srv_api_mg_get_group_instances, 0, "mg_get_group_instances", OPERATE) \
    X(MG_INSERT_SERVICE_INSTANCES, "/api/management/group/insert-service-instances.json", SRV_M_POST, 1, srv_api_mg_insert_service_instances, 0, "mg_insert_service_instances", OPERATE) \
    X(MG_DELETE_SERVICE_INSTANCES, "/api/management/group/delete-service-instances.json", SRV_M_POST, 1, srv_api_mg_delete_service_instances, 0, "mg_delete_service_instances", OPERATE) \
    X(MG_GET_SERVICE_INSTANCES, "/api/management/group/get-service-instances.json", SRV_M_POST, 1, srv_api_mg_get_service_instances, 0, "mg_get_service_instances", OPERATE) \
    X(MG_OPERATE_ZONE_OPERATIONS, "/api/management/zone/operate-zone-operations.json", SRV_M_POST, 1, srv_api_mg_operate_zone_operations, 0, "mg_operate_zone_operations", OPERATE) \
    X(MG_GET_ALL_ZONE_OPERATIONS, "/api/management/zone/get-all-zone-operations.json", SRV_M_POST, 1, srv_api_mg_get_all_zone_operations, 0, "mg_get_all_zone_operations", OPERATE) \
    X(MG_GET_ZONE_OPERATIONS, "/api/management/zone/get-zone-operations.json", SRV_M_POST, 1, srv_api_mg_get_zone_operations, 0, "mg_get_zone_operations", OPERATE) \
    X(MG_GET_ZONE_OPERATIONS_LIST, "/api/management/zone/get-zone-operations-list.json", SRV_M_POST, 1, srv_api_mg_get_zone_operations_list, 0, "mg_get_zone_operations_list", OPERATE) \
    X(MG_IS_ZONE_DOWN, "/api/management/zone/is-zone-down.json", SRV_M_POST, 1, srv_api_mg_is_zone_down, 0, "mg_is_zone_down", OPERATE) \
    X(MG_UPDATE_CANARY_IPS, "/api/management/canary/update-canary-ips.json", SRV_M_POST, 1, srv_api_mg_update_canary_ips, 0, "mg_update_canary_ips", OPERATE) \
    X(MG_LOG_INSTANCE_OPERATION_LOGS, "/api/management/log/instance-operation-logs.json", SRV_M_POST, 1, srv_api_mg_log_instance_operation_logs, 0, "mg_log_instance_operation_logs", OPERATE) \
    X(MG_LOG_SERVER_OPERATION_LOGS, "/api/management/log/server-operation-logs.json", SRV_M_POST, 1, srv_api_mg_log_server_operation_logs, 0, "mg_log_server_operation_logs", OPERATE) \
    X(MG_LOG_GROUP_OPERATION_LOGS, "/api/management/log/group-operation-logs.json", SRV_M_POST, 1, srv_api_mg_log_group_operation_logs, 0, "mg_log_group_operation_logs", OPERATE) \
    X(MG_LOG_GROUP_LOGS, "/api/management/log/group-logs.json", SRV_M_POST, 1, srv_api_mg_log_group_logs, 0, "mg_log_group_logs", OPERATE) \
    X(MG_LOG_ROUTE_RULE_LOGS, "/api/management/log/route-rule-logs.json", SRV_M_POST, 1, srv_api_mg_log_route_rule_logs, 0, "mg_log_route_rule_logs", OPERATE) \
    X(MG_LOG_ROUTE_RULE_GROUP_LOGS, "/api/management/log/route-rule-group-logs.json", SRV_M_POST, 1, srv_api_mg_log_route_rule_group_logs, 0, "mg_log_route_rule_group_logs", OPERATE) \
    X(MG_LOG_ZONE_OPERATION_LOGS, "/api/management/log/zone-operation-logs.json", SRV_M_POST, 1, srv_api_mg_log_zone_operation_logs, 0, "mg_log_zone_operation_logs", OPERATE) \
    X(MG_LOG_GROUP_INSTANCE_LOGS, "/api/management/log/group-instance-logs.json", SRV_M_POST, 1, srv_api_mg_log_group_instance_logs, 0, "mg_log_group_instance_logs", OPERATE) \
    X(MG_LOG_SERVICE_INSTANCE_LOGS, "/api/management/log/service-instance-logs.json", SRV_M_POST, 1, srv_api_mg_log_service_instance_logs, 0, "mg_log_service_instance_logs", OPERATE) \
    X(HEALTH, "/health", SRV_M_GET, 0, srv_api_health, 0, "health", NONE)                          \
    X(METRICS, "/metrics", SRV_M_GET, 0, srv_api_metrics, 0, "metrics", NONE)                      \
    X(CONSOLE, NULL, SRV_M_GET, 0, srv_api_console, 0, "console", NONE)                            \
    X(WS_HEARTBEAT, "/ws/registry/heartbeat", SRV_M_WS, 0, NULL, SRV_WS_HEARTBEAT, "ws_heartbeat", REGISTER) \
    X(WS_DISCOVERY, "/ws/discovery/instance-change", SRV_M_WS, 0, NULL, SRV_WS_DISCOVERY, "ws_instance_change", DISCOVER) \
    X(WS_ALL, "/ws/discovery/all-instance-change", SRV_M_WS, 0, NULL, SRV_WS_ALL, "ws_all_instance_change", DISCOVER) \
    X(WS_SUBSCRIBE, NULL, SRV_M_WS, 0, NULL, SRV_WS_SUBSCRIBE, "ws_subscribe", DISCOVER)           \
    X(OTHER, NULL, 0, 0, NULL, 0, "other", NONE)
/* clang-format on */

typedef enum {
#define SRV_ROUTE_ENUM(id, path, methods, json, fn, ws, metric, scope) SRV_R_##id,
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
