/*
 * Prometheus metrics (metrics.c): counters bumped on the loop thread by every module, rendered
 * by GET /metrics in the text exposition format 0.0.4. Indexed by the route and WebSocket-kind
 * enums of routes.h, so a new route has its counters without another list to keep in step.
 * Thread-safety: the server's loop thread only.
 */
#ifndef ARTEMIS_SERVER_METRICS_H
#define ARTEMIS_SERVER_METRICS_H

#include <stdint.h>

#include "routes.h"

#define SRV_LAT_BUCKETS 14

typedef struct srv_metrics {
    uint64_t requests[SRV_R_COUNT];
    uint64_t lat_buckets[SRV_R_COUNT][SRV_LAT_BUCKETS];
    double lat_sum[SRV_R_COUNT];
    uint64_t status_4xx, status_5xx;
    uint64_t http_connections_total, http_connections_rejected;
    uint64_t http_connections_rejected_address; /* over http.max-connections-per-address */
    uint64_t http_connections_evicted;          /* idle ones closed to admit a newcomer */
    uint64_t tls_handshakes_ok, tls_handshakes_failed;
    uint64_t ws_sessions_total[SRV_WS_KINDS];
    uint64_t ws_messages_in, ws_messages_out;
    uint64_t ws_push_coalesced, ws_sessions_dropped, ws_protocol_errors;
    uint64_t rate_limited;
    uint64_t oom_answers;     /* answers replaced by 503 because building them ran out of memory */
    uint64_t auth_refused[3]; /* missing, invalid, scope (srv_auth_verdict_t - 1) */
} srv_metrics_t;

struct srv_server;
/* One handled request: count it and file its latency. */
void srv_metrics_observe(struct srv_server *srv, srv_route_id_t route, int status, double seconds);

#endif
