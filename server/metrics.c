/*
 * Prometheus metrics: per-endpoint request counters and latency histograms, registry and
 * session gauges. Counters are plain integers bumped on the loop thread; /metrics renders
 * them in the text exposition format (version 0.0.4).
 */
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "api.h"
#include "http_conn.h"
#include "mgmt.h"
#include "server.h"
#include "ws_session.h"

static const double bounds[SRV_LAT_BUCKETS - 1] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

/* From routes.h: the metrics names cannot fall out of step with the routes. */
static const char *const route_names[SRV_R_COUNT] = {
#define ROUTE_NAME(id, path, methods, json, fn, ws, metric, scope) [SRV_R_##id] = metric,
    SRV_ROUTES(ROUTE_NAME)
#undef ROUTE_NAME
};

static const char *const ws_kind_names[SRV_WS_KINDS] = {
#define WS_KIND_NAME(id, metric) [SRV_WS_##id] = metric,
    SRV_WS_KIND_LIST(WS_KIND_NAME)
#undef WS_KIND_NAME
};

void srv_metrics_observe(srv_server_t *srv, srv_route_id_t route, int status, double seconds)
{
    srv_metrics_t *m = &srv->metrics;
    (void)status;
    m->requests[route]++;
    int b = 0;
    while (b < SRV_LAT_BUCKETS - 1 && seconds > bounds[b])
        b++;
    m->lat_buckets[route][b]++;
    m->lat_sum[route] += seconds;
}

static void gauge(artemisi_buf_t *o, const char *name, const char *help, double v)
{
    artemisi_buf_appendf(o, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

static void counter(artemisi_buf_t *o, const char *name, const char *help, uint64_t v)
{
    artemisi_buf_appendf(o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
                         (unsigned long long)v);
}

/* The management store (mgmt.h). */
static void mgmt_metrics(srv_server_t *srv, artemisi_buf_t *o)
{
    srv_mgmt_info_t mi;
    srv_mgmt_info(srv, &mi);
    gauge(o, "artemis_management_store_up", "1 while the management database is reachable.", mi.ok);
    gauge(o, "artemis_management_store_down_seconds",
          "Seconds since the management database was lost (0 while up).",
          mi.down_since ? (double)(srv_now_wall() - mi.down_since) / 1000.0 : 0.0);
    counter(o, "artemis_management_writes_total", "Management writes answered.", mi.writes);
    counter(o, "artemis_management_write_failures_total", "Management writes that failed.",
            mi.write_failures);
    counter(o, "artemis_management_reloads_total", "Management state loads from the store.",
            mi.reloads);
    counter(o, "artemis_management_reconnects_total", "Reconnections to the management database.",
            mi.reconnects);
    counter(o, "artemis_management_changes_announced_total",
            "delete/new/reload changes announced because management state changed.",
            mi.changes_announced);
    gauge(o, "artemis_management_queued_jobs", "Jobs waiting for the store's thread.",
          (double)mi.queued);
    gauge(o, "artemis_management_last_load_seconds", "Time the last state load took.",
          mi.last_load_secs);
    gauge(o, "artemis_management_rows", "Rows in the management state in memory.", (double)mi.rows);
}

#define TOP_TALKERS 10 /* bounded label cardinality: a scrape never lists every address */

/* Who is being limited: refusals per reason, and the top talkers by address. */
static void client_metrics(srv_server_t *srv, artemisi_buf_t *o, int64_t now)
{
    artemisi_buf_appends(o, "# HELP artemis_client_refused_total Registry requests refused by "
                            "per-client fairness or the shared limiter, per reason.\n"
                            "# TYPE artemis_client_refused_total counter\n");
    for (int r = SRV_ADMIT_OK + 1; r < SRV_ADMIT_REASONS; r++)
        artemisi_buf_appendf(o, "artemis_client_refused_total{reason=\"%s\"} %llu\n",
                             srv_admit_name((srv_admit_t)r),
                             (unsigned long long)srv_clients_refused(srv->clients, (srv_admit_t)r));
    gauge(o, "artemis_client_addresses", "Source addresses with an open connection.",
          (double)srv_clients_addrs(srv->clients));
    srv_talker_t top[TOP_TALKERS];
    size_t n = srv_clients_top(srv->clients, top, TOP_TALKERS, now);
    artemisi_buf_appends(o, "# HELP artemis_client_top_refused_total Refused registry requests of "
                            "the top talkers (at most 10 addresses).\n"
                            "# TYPE artemis_client_top_refused_total counter\n");
    for (size_t i = 0; i < n; i++)
        artemisi_buf_appendf(o, "artemis_client_top_refused_total{address=\"%s\"} %llu\n",
                             top[i].addr, (unsigned long long)top[i].refused);
    artemisi_buf_appends(o, "# HELP artemis_client_top_requests_window Registry requests admitted "
                            "in the last 10 s from the top talkers.\n"
                            "# TYPE artemis_client_top_requests_window gauge\n");
    for (size_t i = 0; i < n; i++)
        artemisi_buf_appendf(o, "artemis_client_top_requests_window{address=\"%s\"} %ld\n",
                             top[i].addr, top[i].window);
    artemisi_buf_appends(o, "# HELP artemis_client_top_connections Open connections of the top "
                            "talkers.\n# TYPE artemis_client_top_connections gauge\n");
    for (size_t i = 0; i < n; i++)
        artemisi_buf_appendf(o, "artemis_client_top_connections{address=\"%s\"} %zu\n", top[i].addr,
                             top[i].conns);
}

static void registry_metrics(srv_server_t *srv, artemisi_buf_t *o)
{
    srv_registry_info_t info;
    srv_registry_info(srv->registry, &info);
    const srv_registry_stats_t *st = &info.stats;
    counter(o, "artemis_leases_revived_total",
            "Expired leases kept by self-preservation and renewed by their heartbeat.",
            st->revived);
    gauge(o, "artemis_instances", "Registered instances (leases).", (double)info.leases);
    gauge(o, "artemis_legacy_instances", "Leases in the legacy lease manager.",
          (double)info.legacy);
    gauge(o, "artemis_services", "Services with at least one instance.", (double)info.services);
    gauge(o, "artemis_registry_memory_bytes", "Bytes held by instances, leases and caches.",
          (double)srv_registry_memory(srv->registry));
    counter(o, "artemis_registrations_total", "Successful registrations.", st->registered);
    counter(o, "artemis_renewals_total", "Successful heartbeat renewals.", st->renewed);
    counter(o, "artemis_renewals_failed_total", "Heartbeats for unknown or expired leases.",
            st->renew_failed);
    counter(o, "artemis_unregistrations_total", "Instances unregistered.", st->unregistered);
    counter(o, "artemis_leases_expired_total", "Leases observed expired.", st->expired);
    counter(o, "artemis_leases_evicted_total", "Expired leases removed.", st->evicted);
    gauge(o, "artemis_leases_expired_kept", "Expired leases kept by self-preservation.",
          (double)info.expired_kept);
    gauge(o, "artemis_change_log_version", "Newest change sequence.", (double)info.change_seq);
}

void srv_api_metrics(srv_req_t *req)
{
    srv_server_t *srv = req->srv;
    srv_metrics_t *m = &srv->metrics;
    artemisi_buf_t *o = req->out;
    req->content_type = "text/plain; version=0.0.4; charset=utf-8";
    int64_t now = srv_now_mono();

    artemisi_buf_appends(o, "# HELP artemis_http_requests_total Requests per endpoint.\n"
                            "# TYPE artemis_http_requests_total counter\n");
    for (int r = 0; r < SRV_R_COUNT; r++)
        artemisi_buf_appendf(o, "artemis_http_requests_total{endpoint=\"%s\"} %llu\n",
                             route_names[r], (unsigned long long)m->requests[r]);
    artemisi_buf_appends(o, "# HELP artemis_http_request_duration_seconds Handler latency.\n"
                            "# TYPE artemis_http_request_duration_seconds histogram\n");
    for (int r = 0; r < SRV_R_COUNT; r++) {
        uint64_t cum = 0, total = 0;
        for (int b = 0; b < SRV_LAT_BUCKETS; b++)
            total += m->lat_buckets[r][b];
        if (total == 0)
            continue;
        for (int b = 0; b < SRV_LAT_BUCKETS; b++) {
            cum += m->lat_buckets[r][b];
            if (b < SRV_LAT_BUCKETS - 1)
                artemisi_buf_appendf(o,
                                     "artemis_http_request_duration_seconds_bucket{endpoint=\"%s\","
                                     "le=\"%g\"} %llu\n",
                                     route_names[r], bounds[b], (unsigned long long)cum);
            else
                artemisi_buf_appendf(o,
                                     "artemis_http_request_duration_seconds_bucket{endpoint=\"%s\","
                                     "le=\"+Inf\"} %llu\n",
                                     route_names[r], (unsigned long long)cum);
        }
        artemisi_buf_appendf(o, "artemis_http_request_duration_seconds_sum{endpoint=\"%s\"} %.9f\n",
                             route_names[r], m->lat_sum[r]);
        artemisi_buf_appendf(o,
                             "artemis_http_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
                             route_names[r], (unsigned long long)total);
    }
    counter(o, "artemis_http_responses_4xx_total", "Responses with a 4xx status.", m->status_4xx);
    counter(o, "artemis_http_responses_5xx_total", "Responses with a 5xx status.", m->status_5xx);
    counter(o, "artemis_http_connections_total", "Accepted TCP connections.",
            m->http_connections_total);
    counter(o, "artemis_http_connections_rejected_total",
            "Connections closed at accept (limit or draining).", m->http_connections_rejected);
    gauge(o, "artemis_http_connections", "Open HTTP connections.",
          (double)srv_http_conn_count(srv));
    gauge(o, "artemis_http_io_threads",
          "Threads doing plain HTTP connections' I/O beside the loop (http.io-threads).",
          (double)srv->cfg.http_io_threads);
    counter(o, "artemis_rate_limited_total", "Requests refused by a rate limiter.",
            m->rate_limited);
    counter(o, "artemis_http_connections_rejected_address_total",
            "Connections refused by http.max-connections-per-address.",
            m->http_connections_rejected_address);
    counter(o, "artemis_http_connections_evicted_total",
            "Idle connections closed to admit a new one.", m->http_connections_evicted);
    counter(o, "artemis_tls_handshakes_total", "Completed TLS handshakes.", m->tls_handshakes_ok);
    counter(o, "artemis_tls_handshakes_failed_total",
            "TLS connections closed before their handshake completed.", m->tls_handshakes_failed);
    counter(o, "artemis_http_oom_answers_total",
            "Answers replaced by 503 because building them ran out of memory.", m->oom_answers);
    artemisi_buf_appends(o, "# HELP artemis_auth_refused_total Requests refused for their token "
                            "(docs/security.md).\n# TYPE artemis_auth_refused_total counter\n");
    static const char *const reasons[3] = {"missing", "invalid", "scope"};
    for (int i = 0; i < 3; i++)
        artemisi_buf_appendf(o, "artemis_auth_refused_total{reason=\"%s\"} %llu\n", reasons[i],
                             (unsigned long long)m->auth_refused[i]);
    client_metrics(srv, o, now);
    counter(o, "artemis_loop_stalls_total",
            "Event-loop gaps longer than the lease stall threshold (leases did not age).",
            srv->lease_clock.stalls);
    gauge(o, "artemis_loop_stalled_seconds", "Time taken out of the lease clock by stalls.",
          (double)srv->lease_clock.offset_ms / 1000.0);
    gauge(o, "artemis_loop_longest_stall_seconds", "Longest event-loop gap seen.",
          (double)srv->lease_clock.longest_ms / 1000.0);
    registry_metrics(srv, o);

    gauge(o, "artemis_self_preservation_active", "1 while expired leases are kept.",
          srv_selfpres_active(&srv->selfpres));
    gauge(o, "artemis_self_preservation_renewals_in_window", "Renewals in the sliding window.",
          (double)srv_selfpres_window_count(&srv->selfpres, now));
    gauge(o, "artemis_self_preservation_expected_renewals",
          "Renewals expected per window from the live lease count.",
          (double)srv_selfpres_expected(&srv->selfpres));
    counter(o, "artemis_self_preservation_activations_total", "Times protection switched on.",
            srv_selfpres_activations(&srv->selfpres));

    artemisi_buf_appends(o, "# HELP artemis_ws_sessions Open WebSocket sessions.\n"
                            "# TYPE artemis_ws_sessions gauge\n");
    for (int k = 0; k < SRV_WS_KINDS; k++)
        artemisi_buf_appendf(o, "artemis_ws_sessions{endpoint=\"%s\"} %zu\n", ws_kind_names[k],
                             srv_ws_count(srv, (srv_ws_kind_t)k));
    artemisi_buf_appends(o, "# HELP artemis_ws_sessions_total WebSocket sessions opened.\n"
                            "# TYPE artemis_ws_sessions_total counter\n");
    for (int k = 0; k < SRV_WS_KINDS; k++)
        artemisi_buf_appendf(o, "artemis_ws_sessions_total{endpoint=\"%s\"} %llu\n",
                             ws_kind_names[k], (unsigned long long)m->ws_sessions_total[k]);
    counter(o, "artemis_ws_messages_received_total", "WebSocket messages received.",
            m->ws_messages_in);
    counter(o, "artemis_ws_messages_sent_total", "WebSocket messages sent.", m->ws_messages_out);
    counter(o, "artemis_ws_pushes_coalesced_total",
            "Pushes replaced by a per-service reload because a session's queue was full.",
            m->ws_push_coalesced);
    counter(o, "artemis_ws_sessions_dropped_total",
            "Sessions closed because they did not read (queue bound) or broke the protocol.",
            m->ws_sessions_dropped);
    counter(o, "artemis_ws_protocol_errors_total", "Malformed WebSocket frames.",
            m->ws_protocol_errors);
    gauge(o, "artemis_uptime_seconds", "Seconds since start.",
          (double)(now - srv->start_mono) / 1000.0);
    srv_cluster_metrics(srv, o);
    mgmt_metrics(srv, o);
}
