#!/usr/bin/python3
"""Writes docker/grafana/artemis.json, the Grafana dashboard of artemis-server and
artemis-sidecar metrics (docs/operations.md "Metrics", docs/cluster.md "Metrics",
docs/sidecar.md). Edit the panels here, then run:

    /usr/bin/python3 docker/grafana/make-dashboard.py > docker/grafana/artemis.json

tests/integration/test_deploy_files.py checks that the file is what this script writes and
that every metric an `expr` names is exported by a real server or sidecar."""

import json
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
S = '{job=~"$job",instance=~"$instance"}'  # server series
SC = '{job=~"$sidecar_job",instance=~"$sidecar_instance"}'  # sidecar series
RI = "[$__rate_interval]"


def sel(extra=""):
    """The server selector with extra matchers: sel('status="up"')."""
    return S if not extra else S[:-1] + "," + extra + "}"


class Board:
    def __init__(self):
        self.panels = []
        self.next_id = 1
        self.y = 0
        self.x = 0
        self.row_h = 0

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def row(self, title):
        self._newline()
        self.panels.append({"type": "row", "title": title, "id": self._id(), "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.y += 1

    def _newline(self):
        if self.x:
            self.y += self.row_h
            self.x, self.row_h = 0, 0

    def _place(self, w, h):
        if self.x + w > 24:
            self._newline()
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def _targets(self, queries):
        out = []
        for n, q in enumerate(queries):
            expr, legend = q if isinstance(q, tuple) else (q, "")
            t = {"refId": chr(ord("A") + n), "datasource": DS, "expr": expr, "range": True}
            if legend:
                t["legendFormat"] = legend
            out.append(t)
        return out

    def graph(self, title, queries, unit="short", w=12, h=8, desc="", stack=False, min0=True):
        defaults = {"unit": unit, "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                                             "showPoints": "never", "spanNulls": False,
                                             "stacking": {"mode": "normal" if stack else "none", "group": "A"}},
                    "color": {"mode": "palette-classic"}}
        if min0:
            defaults["min"] = 0
        self.panels.append({
            "type": "timeseries", "title": title, "id": self._id(), "gridPos": self._place(w, h),
            "datasource": DS, "description": desc, "targets": self._targets(queries),
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}},
        })

    def stat(self, title, expr, unit="short", w=4, h=4, desc="", thresholds=None, mappings=None):
        steps = thresholds or [{"color": "green", "value": None}]
        self.panels.append({
            "type": "stat", "title": title, "id": self._id(), "gridPos": self._place(w, h), "datasource": DS,
            "description": desc, "targets": self._targets([expr]),
            "fieldConfig": {"defaults": {"unit": unit, "mappings": mappings or [],
                                         "thresholds": {"mode": "absolute", "steps": steps}},
                            "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "background", "graphMode": "area", "justifyMode": "auto",
                        "orientation": "auto", "textMode": "auto"},
        })

    def table(self, title, expr, w=12, h=8, desc=""):
        t = self._targets([expr])
        t[0].update({"format": "table", "instant": True, "range": False})
        self.panels.append({
            "type": "table", "title": title, "id": self._id(), "gridPos": self._place(w, h), "datasource": DS,
            "description": desc, "targets": t,
            "fieldConfig": {"defaults": {}, "overrides": []},
            "options": {"showHeader": True},
            "transformations": [{"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True}}}],
        })


RED_AT_1 = [{"color": "green", "value": None}, {"color": "red", "value": 1}]
RED_BELOW_1 = [{"color": "red", "value": None}, {"color": "green", "value": 1}]


def build():
    b = Board()
    b.row("Overview")
    b.stat("Nodes up", "sum(artemis_cluster_node_up%s)" % S,
           desc="Nodes that finished bootstrap (artemis_cluster_node_up).")
    b.stat("Instances", "max(artemis_instances%s)" % S, desc="Leases held (largest over the nodes).")
    b.stat("Services", "max(artemis_services%s)" % S)
    b.stat("Self-preservation", "max(artemis_self_preservation_active%s)" % S, thresholds=RED_AT_1,
           mappings=[{"type": "value", "options": {"0": {"text": "off"}, "1": {"text": "ACTIVE"}}}],
           desc="1 while expired leases are kept because too few heartbeats arrive.")
    b.stat("Management store", "min(artemis_management_store_up%s)" % S, thresholds=RED_BELOW_1,
           mappings=[{"type": "value", "options": {"0": {"text": "DOWN"}, "1": {"text": "up"}}}],
           desc="0 when the management database is unreachable on some node.")
    b.stat("Worst replication lag p99", 'max(artemis_replication_lag_seconds%s)' % sel('quantile="0.99"'),
           unit="s", thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 0.5},
                                 {"color": "red", "value": 2}])

    b.row("HTTP")
    b.graph("Requests by endpoint", [("sum by (endpoint) (rate(artemis_http_requests_total%s%s))" % (S, RI),
                                      "{{endpoint}}")], unit="reqps", stack=True)
    b.graph("Latency p99 by endpoint (handler time)", [
        ("histogram_quantile(0.99, sum by (le, endpoint) (rate(artemis_http_request_duration_seconds_bucket%s%s)))"
         % (S, RI), "{{endpoint}}")], unit="s")
    b.graph("Latency p50 by endpoint", [
        ("histogram_quantile(0.5, sum by (le, endpoint) (rate(artemis_http_request_duration_seconds_bucket%s%s)))"
         % (S, RI), "{{endpoint}}")], unit="s")
    b.graph("4xx / 5xx responses", [
        ("sum by (instance) (rate(artemis_http_responses_4xx_total%s%s))" % (S, RI), "4xx {{instance}}"),
        ("sum by (instance) (rate(artemis_http_responses_5xx_total%s%s))" % (S, RI), "5xx {{instance}}"),
        ("sum by (instance) (rate(artemis_http_oom_answers_total%s%s))" % (S, RI), "503 out of memory {{instance}}"),
    ], unit="reqps")
    b.graph("Open connections", [
        ("artemis_http_connections%s" % S, "HTTP {{instance}}"),
        ("sum by (instance) (artemis_ws_sessions%s)" % S, "WebSocket {{instance}}"),
        ("artemis_client_addresses%s" % S, "source addresses {{instance}}"),
        ("artemis_http_io_threads%s" % S, "I/O threads {{instance}}"),
    ])
    b.graph("Connections accepted / refused", [
        ("rate(artemis_http_connections_total%s%s)" % (S, RI), "accepted {{instance}}"),
        ("rate(artemis_http_connections_rejected_total%s%s)" % (S, RI), "rejected {{instance}}"),
        ("rate(artemis_http_connections_rejected_address_total%s%s)" % (S, RI), "rejected per address {{instance}}"),
        ("rate(artemis_http_connections_evicted_total%s%s)" % (S, RI), "idle evicted {{instance}}"),
    ], unit="cps")
    b.graph("TLS handshakes", [
        ("rate(artemis_tls_handshakes_total%s%s)" % (S, RI), "completed {{instance}}"),
        ("rate(artemis_tls_handshakes_failed_total%s%s)" % (S, RI), "failed {{instance}}"),
    ], unit="cps")

    b.row("Registry and leases")
    b.graph("Instances and services", [
        ("artemis_instances%s" % S, "instances {{instance}}"),
        ("artemis_services%s" % S, "services {{instance}}"),
        ("artemis_legacy_instances%s" % S, "legacy {{instance}}"),
    ])
    b.graph("Registrations, renewals, departures", [
        ("sum(rate(artemis_registrations_total%s%s))" % (S, RI), "registrations"),
        ("sum(rate(artemis_renewals_total%s%s))" % (S, RI), "renewals"),
        ("sum(rate(artemis_renewals_failed_total%s%s))" % (S, RI), "failed renewals"),
        ("sum(rate(artemis_unregistrations_total%s%s))" % (S, RI), "unregistrations"),
        ("sum(rate(artemis_leases_expired_total%s%s))" % (S, RI), "leases expired"),
        ("sum(rate(artemis_leases_evicted_total%s%s))" % (S, RI), "leases evicted"),
    ], unit="ops")
    b.graph("Registry memory", [("artemis_registry_memory_bytes%s" % S, "{{instance}}")], unit="bytes")
    b.graph("Change log (instance changes per second)",
            [("rate(artemis_change_log_version%s%s)" % (S, RI), "{{instance}}")], unit="ops")

    b.row("Self-preservation")
    b.graph("Renewals in window vs expected", [
        ("artemis_self_preservation_renewals_in_window%s" % S, "renewals {{instance}}"),
        ("artemis_self_preservation_expected_renewals%s" % S, "expected {{instance}}"),
    ], desc="Protection switches on when renewals fall below the expected rate times the threshold.")
    b.graph("Active / expired leases kept", [
        ("artemis_self_preservation_active%s" % S, "active {{instance}}"),
        ("artemis_leases_expired_kept%s" % S, "expired kept {{instance}}"),
        ("increase(artemis_self_preservation_activations_total%s[1h])" % S, "activations/h {{instance}}"),
        ("rate(artemis_leases_revived_total%s%s)" % (S, RI), "revived/s {{instance}}"),
    ])

    b.row("Cluster and replication")
    b.graph("Node up and peers", [
        ("artemis_cluster_node_up%s" % S, "node up {{instance}}"),
        ('sum by (instance) (artemis_cluster_peer_status%s)' % sel('status="up"'), "peers up seen by {{instance}}"),
        ('sum by (instance) (artemis_cluster_peer_status%s)' % sel('status!="up"'), "peers not up seen by {{instance}}"),
    ])
    b.graph("Replication lag p50 / p99 (accepted here → peer answered)", [
        ('artemis_replication_lag_seconds%s' % sel('quantile="0.99"'), "p99 {{instance}} → {{peer}}"),
        ('artemis_replication_lag_seconds%s' % sel('quantile="0.5"'), "p50 {{instance}} → {{peer}}"),
    ], unit="s", desc="Over the last 4096 writes to each peer; it does not decay while no writes happen.")
    b.graph("Replication queue and in flight", [
        ("artemis_replication_queue_depth%s" % S, "queued {{instance}} → {{peer}}"),
        ("artemis_replication_inflight%s" % S, "in flight {{instance}} → {{peer}}"),
    ])
    b.graph("Replication throughput", [
        ("sum by (instance) (rate(artemis_replication_enqueued_total%s%s))" % (S, RI), "enqueued {{instance}}"),
        ("sum by (instance) (rate(artemis_replication_instances_total%s%s))" % (S, RI), "delivered {{instance}}"),
        ("sum by (instance) (rate(artemis_replication_batches_total%s%s))" % (S, RI), "batches {{instance}}"),
        ("sum by (instance) (rate(artemis_replication_coalesced_total%s%s))" % (S, RI), "coalesced {{instance}}"),
    ], unit="ops")
    b.graph("Replication failures and drops", [
        ("sum by (instance, peer) (rate(artemis_replication_failures_total%s%s))" % (S, RI), "failures {{instance}} → {{peer}}"),
        ("sum by (instance, reason) (rate(artemis_replication_dropped_total%s%s))" % (S, RI), "dropped {{reason}} {{instance}}"),
        ("sum by (instance) (rate(artemis_replication_requeued_total%s%s))" % (S, RI), "requeued {{instance}}"),
        ("sum by (instance, peer) (rate(artemis_cluster_poll_failures_total%s%s))" % (S, RI), "poll failures {{instance}} → {{peer}}"),
    ], unit="ops")
    b.graph("Bootstrap", [
        ("artemis_cluster_bootstrap_seconds%s" % S, "copy seconds {{instance}}"),
        ("artemis_cluster_bootstrap_instances%s" % S, "instances imported {{instance}}"),
    ])

    b.row("Management store")
    b.graph("Store up / down for", [
        ("artemis_management_store_up%s" % S, "up {{instance}}"),
        ("artemis_management_store_down_seconds%s" % S, "down for (s) {{instance}}"),
    ])
    b.graph("Management writes", [
        ("rate(artemis_management_writes_total%s%s)" % (S, RI), "writes {{instance}}"),
        ("rate(artemis_management_write_failures_total%s%s)" % (S, RI), "failed {{instance}}"),
        ("rate(artemis_management_reloads_total%s%s)" % (S, RI), "reloads {{instance}}"),
        ("rate(artemis_management_reconnects_total%s%s)" % (S, RI), "reconnects {{instance}}"),
        ("rate(artemis_management_changes_announced_total%s%s)" % (S, RI), "changes announced {{instance}}"),
    ], unit="ops")
    b.graph("Store queue, rows, load time", [
        ("artemis_management_queued_jobs%s" % S, "queued jobs {{instance}}"),
        ("artemis_management_rows%s" % S, "rows {{instance}}"),
        ("artemis_management_last_load_seconds%s" % S, "last load s {{instance}}"),
    ])

    b.row("WebSocket")
    b.graph("Sessions by kind", [("sum by (endpoint) (artemis_ws_sessions%s)" % S, "{{endpoint}}")], stack=True)
    b.graph("Sessions opened", [("sum by (endpoint) (rate(artemis_ws_sessions_total%s%s))" % (S, RI), "{{endpoint}}")],
            unit="ops")
    b.graph("Messages", [
        ("sum(rate(artemis_ws_messages_received_total%s%s))" % (S, RI), "received"),
        ("sum(rate(artemis_ws_messages_sent_total%s%s))" % (S, RI), "sent"),
    ], unit="ops")
    b.graph("Trouble", [
        ("sum(rate(artemis_ws_pushes_coalesced_total%s%s))" % (S, RI), "pushes coalesced"),
        ("sum(rate(artemis_ws_sessions_dropped_total%s%s))" % (S, RI), "sessions dropped (not reading)"),
        ("sum(rate(artemis_ws_protocol_errors_total%s%s))" % (S, RI), "protocol errors"),
    ], unit="ops")

    b.row("Rate limiting and fairness")
    b.graph("Refused requests", [
        ("sum by (instance) (rate(artemis_rate_limited_total%s%s))" % (S, RI), "rate limited {{instance}}"),
        ("sum by (reason) (rate(artemis_client_refused_total%s%s))" % (S, RI), "refused: {{reason}}"),
    ], unit="reqps")
    b.table("Top talkers (refused, last value)",
            "topk(10, sum by (address) (artemis_client_top_refused_total%s))" % S)
    b.graph("Top talkers: requests in the last 10 s", [
        ("topk(10, max by (address) (artemis_client_top_requests_window%s))" % S, "{{address}}")])
    b.graph("Top talkers: open connections", [
        ("topk(10, max by (address) (artemis_client_top_connections%s))" % S, "{{address}}")])

    b.row("Event loop")
    b.graph("Loop stalls", [
        ("increase(artemis_loop_stalls_total%s[5m])" % S, "stalls in 5 m {{instance}}"),
    ], desc="Event-loop gaps longer than the lease stall threshold (1 s): leases do not age for them.")
    b.graph("Stall time", [
        ("artemis_loop_longest_stall_seconds%s" % S, "longest {{instance}}"),
        ("artemis_loop_stalled_seconds%s" % S, "total taken out of the lease clock {{instance}}"),
        ("artemis_uptime_seconds%s" % S, "uptime {{instance}}"),
    ], unit="s")

    b.row("Sidecar")
    b.stat("Apps registered", "sum(artemis_sidecar_registered%s)" % SC)
    b.stat("Apps healthy", "sum(artemis_sidecar_app_healthy%s)" % SC)
    b.stat("Sidecars", "count(artemis_sidecar_registered%s)" % SC)
    b.stat("Oldest cache (s)", "max(artemis_sidecar_cache_age_seconds%s)" % SC, unit="s",
           thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 60}, {"color": "red", "value": 300}])
    b.stat("Stale services", 'count(artemis_sidecar_cache_age_seconds%s) or vector(0)' % (SC[:-1] + ',stale="1"}'),
           thresholds=RED_AT_1)
    b.stat("Watched services", "sum(artemis_sidecar_services%s)" % SC)
    b.graph("DNS queries by type", [
        ("sum by (type) (rate(artemis_sidecar_dns_queries_total%s%s))" % (SC, RI), "{{type}}")], unit="reqps", stack=True)
    b.graph("DNS answers by rcode", [
        ("sum by (rcode) (rate(artemis_sidecar_dns_responses_total%s%s))" % (SC, RI), "{{rcode}}"),
        ("sum(rate(artemis_sidecar_dns_nodata_total%s%s))" % (SC, RI), "NODATA"),
        ("sum(rate(artemis_sidecar_dns_truncated_total%s%s))" % (SC, RI), "truncated"),
        ("sum(rate(artemis_sidecar_dns_truncated_remote_total%s%s))" % (SC, RI), "truncated (remote cap)"),
        ("sum(rate(artemis_sidecar_dns_dropped_total%s%s))" % (SC, RI), "dropped"),
        ("sum(rate(artemis_sidecar_dns_tcp_connections_total%s%s))" % (SC, RI), "TCP connections"),
    ], unit="reqps")
    b.graph("Sidecar HTTP requests", [
        ("sum by (instance) (rate(artemis_sidecar_http_requests_total%s%s))" % (SC, RI), "{{instance}}")],
        unit="reqps")
    b.graph("App health checks", [
        ("sum by (result) (rate(artemis_sidecar_health_checks_total%s%s))" % (SC, RI), "{{result}}"),
        ("sum(rate(artemis_sidecar_registrations_total%s%s))" % (SC, RI), "registrations"),
        ("sum(rate(artemis_sidecar_deregistrations_total%s%s))" % (SC, RI), "deregistrations"),
    ], unit="ops")
    b.graph("Discovery cache age by service", [
        ("max by (service) (artemis_sidecar_cache_age_seconds%s)" % SC, "{{service}}")], unit="s")

    def var(name, label, query, multi=True, include_all=True):
        return {"name": name, "label": label, "type": "query", "datasource": DS,
                "definition": query, "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
                "refresh": 2, "multi": multi, "includeAll": include_all, "allValue": ".*",
                "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                "sort": 1, "hide": 0, "options": [], "regex": ""}

    templating = [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": [], "includeAll": False, "multi": False},
        var("job", "Server job", "label_values(artemis_uptime_seconds, job)"),
        var("instance", "Server", 'label_values(artemis_uptime_seconds{job=~"$job"}, instance)'),
        var("sidecar_job", "Sidecar job", "label_values(artemis_sidecar_registered, job)"),
        var("sidecar_instance", "Sidecar", 'label_values(artemis_sidecar_registered{job=~"$sidecar_job"}, instance)'),
    ]
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                      "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "__requires": [{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "9.0.0"},
                       {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"}],
        "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                  "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                                  "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": "artemis-server (registry, replication, management store, WebSocket, fairness) "
                       "and artemis-sidecar (DNS, HTTP, app health) metrics",
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [],
        "liveNow": False,
        "panels": b.panels,
        "refresh": "30s",
        "schemaVersion": 37,
        "style": "dark",
        "tags": ["artemis", "service-registry"],
        "templating": {"list": templating},
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": "Artemis registry",
        "uid": "artemis-registry",
        "version": 1,
        "weekStart": "",
    }


if __name__ == "__main__":
    json.dump(build(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
