"""Cluster and status endpoints (protocol.md §2.3, §2.5; F15, F16), the plain-HTTP surface
(/health, /metrics) and the framework-level HTTP statuses of protocol.md §0.2 and the
(absent) default CORS headers."""

import json

from lib.util import SUCCESS, Api, check, eq, fxj, instance, status_is

SERVER_ARGS = [
    "--artemis.service.registry.allow-from-other-zone=false",
    "--artemis.service.discovery.allow-from-other-zone=false",
]


def _node(ctx):
    return {"url": ctx.server.url, "zone": {"metadata": None, "regionId": "sha", "zoneId": "sha-z1"}}


def test_f15_up_nodes(ctx):
    c = ctx.client()
    want = {"nodes": [_node(ctx)], "responseStatus": SUCCESS}
    for kind in ("up-registry-nodes", "up-discovery-nodes"):
        path = "/api/cluster/%s.json" % kind
        eq(c.post_json(path, fxj("F15", 0)), want, "POST %s" % kind)
        eq(c.get_json(path + "?regionId=sha&zoneId=sha-z1"), want, "GET %s" % kind)
        # Another zone while other-zone access is disallowed: nothing qualifies.
        eq(c.post_json(path, '{"regionId":"sha","zoneId":"sha-z2"}'), fxj("F15", 2), "POST %s from sha-z2" % kind)


def test_f16_node_status(ctx):
    c = ctx.client()
    want = {
        "nodeStatus": {
            "allowDiscoveryFromOtherZone": False,
            "allowRegistryFromOtherZone": False,
            "canServiceDiscovery": True,
            "canServiceRegistry": True,
            "node": _node(ctx),
            "status": "up",
        },
        "responseStatus": SUCCESS,
    }
    eq(c.post_json("/api/status/node.json", "{}"), want, "POST node.json")
    eq(c.get_json("/api/status/node.json"), want, "GET node.json")


def test_cluster_status(ctx):
    c = ctx.client()
    for doc in (c.post_json("/api/status/cluster.json", "{}"), c.get_json("/api/status/cluster.json")):
        eq(set(doc.keys()), {"nodeCount", "nodesStatus", "responseStatus"}, "cluster.json keys")
        eq(doc["responseStatus"], SUCCESS, "cluster.json status")
        check(doc["nodeCount"] == 1, "nodeCount %r (single node)" % doc["nodeCount"])
        eq(len(doc["nodesStatus"]), 1, "nodesStatus length")
        ns = doc["nodesStatus"][0]
        eq(ns["node"], _node(ctx), "node")
        eq(ns["status"], "up", "node status")


LEASE_KEYS = {
    "isSafe",
    "isSafeCheckEnabled",
    "leaseCount",
    "leaseUpdateCountLastTimeWindow",
    "leaseUpdateMaxCount",
    "leaseUpdateMaxCountLastUpdateTime",
    "leases",
    "responseStatus",
}


def _leases(doc, what):
    eq(set(doc.keys()), LEASE_KEYS, "%s keys" % what)
    eq(doc["responseStatus"], SUCCESS, "%s status" % what)
    check(isinstance(doc["leaseCount"], int), "%s leaseCount %r" % (what, doc["leaseCount"]))
    check(isinstance(doc["isSafe"], bool), "%s isSafe %r" % (what, doc["isSafe"]))
    leases = doc["leases"]
    check(isinstance(leases, dict), "%s leases must be a map, got %r" % (what, leases))
    for sid, lst in leases.items():
        for ls in lst:
            eq(set(ls.keys()), {"creationTime", "evitionTime", "instance", "renewalTime", "ttl"}, "LeaseStatus keys")
            check(isinstance(ls["ttl"], int), "ttl %r" % ls["ttl"])
            check(isinstance(ls["creationTime"], str), "creationTime must be a formatted string")
    return {sid: {ls["instance"] for ls in lst} for sid, lst in leases.items()}


def test_leases_and_legacy_leases(ctx):
    c = ctx.client()
    api = Api(c)
    api.must_register(
        instance("lease.svc.a", "a1"),
        instance("lease.svc.b", "b1"),
        instance("legacy.svc", "l1", metadata={"java_registry": "true"}),
    )
    got = _leases(c.post_json("/api/status/leases.json", '{"serviceIds":["lease.svc.a"]}'), "leases.json filtered")
    eq(got, {"lease.svc.a": {"sha/sha-z1/lease.svc.a/a1"}}, "leases of lease.svc.a")
    got = _leases(c.post_json("/api/status/leases.json", '{"serviceIds":[]}'), "leases.json all")
    check({"lease.svc.a", "lease.svc.b"} <= set(got), "all leases: %s" % got)
    check("legacy.svc" not in got, "a java_registry instance must not be in the normal leases: %s" % got)
    got = _leases(c.get_json("/api/status/leases.json?appIds=lease.svc.b"), "GET leases.json")
    eq(got, {"lease.svc.b": {"sha/sha-z1/lease.svc.b/b1"}}, "GET leases ?appIds=lease.svc.b")
    got = _leases(c.post_json("/api/status/legacy-leases.json", "{}"), "legacy-leases.json")
    eq(got.get("legacy.svc"), {"sha/sha-z1/legacy.svc/l1"}, "legacy leases")
    check("lease.svc.a" not in got, "normal leases must not be legacy: %s" % got)
    # The legacy instance is still discoverable like any other.
    eq(api.lookup_ids("legacy.svc"), {"l1"}, "legacy instance in lookup")


def test_config_and_deployment(ctx):
    c = ctx.client()
    for doc in (c.post_json("/api/status/config.json", "{}"), c.get_json("/api/status/config.json")):
        eq(set(doc.keys()), {"properties", "responseStatus", "sources"}, "config.json keys")
        eq(doc["responseStatus"], SUCCESS, "config.json status")
        check(isinstance(doc["properties"], dict), "properties must be a map")
        check(all(isinstance(v, str) for v in doc["properties"].values()), "property values must be strings")
        check(isinstance(doc["sources"], dict), "sources must be a map")
        check(all(isinstance(v, int) for v in doc["sources"].values()), "source priorities must be integers")
    keys = {"appId", "ip", "machineName", "path", "port", "properties", "protocol", "regionId", "responseStatus",
            "sources", "zoneId"}
    for doc in (c.post_json("/api/status/deployment.json", "{}"), c.get_json("/api/status/deployment.json")):
        eq(set(doc.keys()), keys, "deployment.json keys")
        eq(doc["responseStatus"], SUCCESS, "deployment.json status")
        eq((doc["regionId"], doc["zoneId"]), ("sha", "sha-z1"), "deployment region/zone")
        check(isinstance(doc["port"], int), "port %r" % doc["port"])


def test_connections_json(ctx):
    doc = ctx.client().get_json("/api/status/message/connections.json")
    check(isinstance(doc, dict), "connections.json must be an object")
    check({"registry", "discovery"} <= set(doc), "connections.json keys %s" % sorted(doc))
    for k, v in doc.items():
        check(isinstance(v, str) and v.isdigit(), "connections.json %s=%r must be a decimal string" % (k, v))


def test_health_and_metrics(ctx):
    c = ctx.client()
    Api(c).must_register(instance("metrics.svc", "m1"))
    r = c.get("/health")
    status_is(r, 200, "GET /health")
    check(isinstance(r.json(), dict), "/health must answer a JSON object")
    r = c.get("/metrics")
    status_is(r, 200, "GET /metrics")
    lines = [l for l in r.text().splitlines() if l.startswith("artemis_")]
    check(lines, "no metric line starting with artemis_ in %r" % r.text()[:300])
    check(any("instance" in l for l in lines), "no artemis_ metric about instances")
    check(any("request" in l for l in lines), "no artemis_ metric about requests")
    for l in lines:
        rest = l[l.rindex("}") + 1 :] if "}" in l else l.split(" ", 1)[1] if " " in l else ""
        try:
            float(rest.split()[0])
        except (ValueError, IndexError):
            raise AssertionError("metric line without a numeric value: %r" % l)


def test_framework_statuses(ctx):
    c = ctx.client(mode="plain")
    for path in ("/api/no/such/path.json", "/api/cluster/nodes.json", "/nope"):
        status_is(c.get(path), 404, "GET %s" % path)
    status_is(c.post("/api/registry/nope.json", "{}"), 404, "POST unknown registry path")
    status_is(c.get("/api/registry/register.json"), 405, "GET register.json")
    status_is(c.request("DELETE", "/api/discovery/lookup.json"), 405, "DELETE lookup.json")
    r = c.post("/api/registry/register.json", fxj("F1"), headers=[("Content-Type", "text/plain")])
    status_is(r, 415, "register with text/plain")
    status_is(c.post("/api/registry/register.json", "{not json"), 400, "malformed JSON")
    status_is(c.post("/api/registry/register.json", ""), 400, "empty body")
    status_is(c.post("/api/discovery/lookup.json", '{"discoveryConfigs":['), 400, "truncated lookup")
    check("10.0.0.5:8080" not in Api(ctx.client()).lookup_ids("demo.service.v1"), "415 request registered something")


CORS = ("access-control-allow-origin", "access-control-allow-credentials", "access-control-expose-headers")


def test_cors_preflight(ctx):
    # Not Java's echo-everything preflight: by default no origin may call cross-origin
    # (docs/compat.md "CORS and browser origins"; test_browser covers allowed origins).
    c = ctx.client(mode="plain")
    r = c.request(
        "OPTIONS",
        "/api/registry/register.json",
        headers=[
            ("Origin", "http://portal.example"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type,x-custom"),
        ],
    )
    status_is(r, 403, "OPTIONS preflight from an origin not allowed")
    for h in CORS + ("access-control-allow-methods", "access-control-allow-headers"):
        check(r.header(h) is None, "preflight refusal carries %s: %r" % (h, r.header(h)))
    r = c.request("OPTIONS", "/api/registry/register.json")
    status_is(r, 200, "OPTIONS without Origin")
    eq(r.header("allow"), "GET, POST, OPTIONS", "Allow")
    check(r.header("access-control-allow-origin") is None, "Allow-Origin on a plain OPTIONS")


def test_no_cors_by_default(ctx):
    c = ctx.client(mode="plain")
    reqs = [
        ("GET", "/health", None, 200),
        ("POST", "/api/registry/register.json", json.dumps({"instances": [instance("cors.svc", "c1")]}), 200),
        ("POST", "/api/discovery/lookup.json", '{"discoveryConfigs":[{"serviceId":"cors.svc"}],"regionId":"sha"}', 200),
        ("GET", "/api/status/node.json", None, 200),
        ("GET", "/metrics", None, 200),
        ("GET", "/nope", None, 404),
        ("GET", "/api/registry/register.json", None, 405),
        ("POST", "/api/registry/register.json", "{oops", 400),
    ]
    for origin in (None, "http://portal.example"):
        for method, path, body, code in reqs:
            if origin and method == "POST" and path.startswith("/api/registry/"):
                code = 403  # a page may not change state (test_browser)
            headers = [("Origin", origin)] if origin else []
            r = c.request(method, path, body, headers=headers)
            status_is(r, code, "%s %s (Origin %s)" % (method, path, origin))
            for h in CORS:
                check(r.header(h) is None, "%s on %s %s (Origin %s): %r" % (h, method, path, origin, r.header(h)))
    r = c.request("POST", "/api/registry/register.json", "x", headers=[("Content-Type", "text/plain")])
    status_is(r, 415, "text/plain")
    check(r.header("access-control-allow-origin") is None, "Allow-Origin on 415")
