/*
 * The HTTP API as handlers see it: a request (srv_req_t), one handler per route (api_*.c,
 * listed in routes.h) and the registry operation shared by HTTP and the WebSocket heartbeat.
 * Handlers read the request, write the answer into req->out and never touch a socket; the
 * HTTP layer (http_conn.c) sends it, and turns an answer whose buffer lost bytes into a 503.
 * Thread-safety: the server's loop thread only.
 */
#ifndef ARTEMIS_SERVER_API_H
#define ARTEMIS_SERVER_API_H

#include <stddef.h>

#include "buf.h"
#include "clients.h"
#include "http_parser.h"
#include "server.h"

/* A request as handlers see it. */
typedef struct srv_req {
    srv_server_t *srv;
    const srv_http_request_t *http;
    const char *path; /* the routed path: normalised, context prefix removed */
    const char *body; /* inflated request body, NUL-terminated */
    size_t body_len;
    artemisi_buf_t *out; /* response body */
    int status;          /* HTTP status, default 200 */
    const char *content_type;
    const char *headers;        /* extra response header lines ("Name: v\r\n"...), or NULL */
    srv_client_t *client;       /* the connection's fairness accounting */
    struct srv_reply *deferred; /* set by srv_req_defer */
    /* set by srv_req_stream */
    int (*stream_next)(void *ctx, artemisi_buf_t *out);
    void (*stream_free)(void *ctx);
    void *stream_ctx;
    struct srv_ref *ref; /* set by srv_req_append_ref */
} srv_req_t;

/* A block of the answer sent by reference (srv_req_append_ref): `len` bytes at `data`, placed
 * after the first `at` bytes of req->out. release(ctx) runs once, when it is no longer
 * needed. */
typedef struct srv_ref {
    const char *data;
    size_t len, at;
    void (*release)(void *ctx);
    void *ctx;
} srv_ref_t;

/* Append `len` bytes at `data` to the answer without copying them (a 343 MB services list):
 * they come after what req->out holds now and before what the handler appends next. The
 * bytes must stay valid and unchanged until release(ctx), which the HTTP layer calls once
 * they are written or dropped (HEAD, an error, a closed connection). One per answer. Returns
 * 0, or -1 (nothing taken: copy them instead) when one is set already or memory runs out.
 * Thread-safety: the loop thread only. */
int srv_req_append_ref(srv_req_t *req, const char *data, size_t len, void (*release)(void *ctx),
                       void *ctx);
/* Run a reference's release and free it. NULL is a no-op. */
void srv_ref_release(srv_ref_t *ref);

/* Answering later, for work done off the event loop (the management store's writes and log
 * queries). The handler calls srv_req_defer and returns; the connection reads no further
 * request until srv_reply_send, so pipelined answers stay in order. If the client goes away
 * meanwhile the answer is dropped. srv_req_defer returns NULL when out of memory (answer at
 * once instead). srv_reply_send takes the body (a failed buffer becomes the 503) and frees rp.
 * Thread-safety: the loop thread only. */
typedef struct srv_reply srv_reply_t;
srv_reply_t *srv_req_defer(srv_req_t *req);
void srv_reply_send(srv_reply_t *rp, int status, artemisi_buf_t *body);

/* Answering 200 in slices, for answers too large to build in one loop turn (a peer's bootstrap
 * copy): what the handler wrote to req->out goes first, then next(ctx, out) is called once
 * per slice, each time the connection's output has drained below a low-water mark, until it
 * returns 0 (the answer is complete) or -1 (out of memory: the connection is closed without
 * ending the answer, so the client sees it cut short, never a complete-looking one). A slice
 * is deflated on the way when the client accepts gzip, and framed with chunked
 * Transfer-Encoding (HTTP/1.0: the connection closes after it). free_ctx(ctx) runs once,
 * when the answer ends or the connection goes. The connection reads no further request
 * meanwhile. Thread-safety: the loop thread only. */
typedef int (*srv_stream_fn)(void *ctx, artemisi_buf_t *out);
void srv_req_stream(srv_req_t *req, srv_stream_fn next, void (*free_ctx)(void *ctx), void *ctx);

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
/* management (api_mgmt_*.c, protocol.md §7) */
void srv_api_mg_operate_instance(srv_req_t *req);
void srv_api_mg_operate_server(srv_req_t *req);
void srv_api_mg_instance_operations(srv_req_t *req);
void srv_api_mg_server_operations(srv_req_t *req);
void srv_api_mg_all_instance_operations(srv_req_t *req);
void srv_api_mg_all_server_operations(srv_req_t *req);
void srv_api_mg_instance_down(srv_req_t *req);
void srv_api_mg_server_down(srv_req_t *req);
void srv_api_mg_services(srv_req_t *req);
void srv_api_mg_service(srv_req_t *req);
void srv_api_mg_insert_route_rules(srv_req_t *req);
void srv_api_mg_update_route_rules(srv_req_t *req);
void srv_api_mg_delete_route_rules(srv_req_t *req);
void srv_api_mg_get_route_rules(srv_req_t *req);
void srv_api_mg_get_all_route_rules(srv_req_t *req);
void srv_api_mg_create_route_rule(srv_req_t *req);
void srv_api_mg_insert_route_rule_groups(srv_req_t *req);
void srv_api_mg_update_route_rule_groups(srv_req_t *req);
void srv_api_mg_release_route_rule_groups(srv_req_t *req);
void srv_api_mg_delete_route_rule_groups(srv_req_t *req);
void srv_api_mg_get_route_rule_groups(srv_req_t *req);
void srv_api_mg_get_all_route_rule_groups(srv_req_t *req);
void srv_api_mg_insert_groups(srv_req_t *req);
void srv_api_mg_update_groups(srv_req_t *req);
void srv_api_mg_delete_groups(srv_req_t *req);
void srv_api_mg_get_groups(srv_req_t *req);
void srv_api_mg_get_all_groups(srv_req_t *req);
void srv_api_mg_insert_group_tags(srv_req_t *req);
void srv_api_mg_update_group_tags(srv_req_t *req);
void srv_api_mg_delete_group_tags(srv_req_t *req);
void srv_api_mg_get_group_tags(srv_req_t *req);
void srv_api_mg_get_all_group_tags(srv_req_t *req);
void srv_api_mg_operate_group_operations(srv_req_t *req);
void srv_api_mg_operate_group_operation(srv_req_t *req);
void srv_api_mg_get_group_operations(srv_req_t *req);
void srv_api_mg_get_all_group_operations(srv_req_t *req);
void srv_api_mg_insert_group_instances(srv_req_t *req);
void srv_api_mg_delete_group_instances(srv_req_t *req);
void srv_api_mg_get_group_instances(srv_req_t *req);
void srv_api_mg_insert_service_instances(srv_req_t *req);
void srv_api_mg_delete_service_instances(srv_req_t *req);
void srv_api_mg_get_service_instances(srv_req_t *req);
void srv_api_mg_operate_zone_operations(srv_req_t *req);
void srv_api_mg_get_all_zone_operations(srv_req_t *req);
void srv_api_mg_get_zone_operations(srv_req_t *req);
void srv_api_mg_get_zone_operations_list(srv_req_t *req);
void srv_api_mg_is_zone_down(srv_req_t *req);
void srv_api_mg_update_canary_ips(srv_req_t *req);
void srv_api_mg_log_instance_operation_logs(srv_req_t *req);
void srv_api_mg_log_server_operation_logs(srv_req_t *req);
void srv_api_mg_log_group_operation_logs(srv_req_t *req);
void srv_api_mg_log_group_logs(srv_req_t *req);
void srv_api_mg_log_route_rule_logs(srv_req_t *req);
void srv_api_mg_log_route_rule_group_logs(srv_req_t *req);
void srv_api_mg_log_zone_operation_logs(srv_req_t *req);
void srv_api_mg_log_group_instance_logs(srv_req_t *req);
void srv_api_mg_log_service_instance_logs(srv_req_t *req);
void srv_api_health(srv_req_t *req);
void srv_api_console(srv_req_t *req); /* console.c: the embedded web console */
void srv_api_metrics(srv_req_t *req);

/* Answer a 400 with a JSON error body. */
void srv_req_bad_request(srv_req_t *req, const char *why);
/* Query parameter `name` of the request into b (srv_query_get: repeats joined with ','):
 * 1 found (*value = b's text), 0 absent or malformed (*value untouched), -1 out of memory, with
 * the answer marked lost so the HTTP layer answers 503 rather than "parameter missing". */
int srv_req_query(srv_req_t *req, const char *name, artemisi_buf_t *b, const char **value);

/* Registry operations shared by HTTP and the WebSocket heartbeat (api_registry.c).
 * Appends the full response JSON to out. */
typedef enum { SRV_OP_REGISTER = 0, SRV_OP_HEARTBEAT, SRV_OP_UNREGISTER } srv_op_t;
/* client: the caller's connection for per-client fairness (NULL: only the shared limiter). */
void srv_registry_request(srv_server_t *srv, srv_client_t *client, srv_op_t op, int replication,
                          const char *body, size_t len, artemisi_buf_t *out, int *http_status);

#endif
