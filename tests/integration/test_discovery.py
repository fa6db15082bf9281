"""Discovery endpoints (protocol.md §2.2, §4.2) against fixtures F10-F14: lookup, service.json,
services.json snapshots with versions, and services-delta.json between two snapshots.

The snapshot cache is configured to refresh every second from the start so versions appear
within the test's time budget. Tests run in source order on one server.
"""

import json

from lib.util import SUCCESS, Api, check, eq, fx, fxj, lookup_req, short, wait_until

SERVER_ARGS = [
    "--artemis.service.discovery.versioned-cache.cache-refresh.init-delay=0",
    "--artemis.service.discovery.versioned-cache.cache-refresh.interval=1000",
    "--artemis.service.discovery.versioned-cache.cache-count=10",
]

I1 = fxj("F1")["instances"][0]  # 10.0.0.5:8080
I2 = fxj("F10", 1)["services"][0]["instances"][1]  # 10.0.0.6:8080
I5 = fxj("F14", 1)["delta"]["demo.service.v1"][1]["instance"]  # 10.0.0.8:8080


def test_f12_unknown_service(ctx):
    c = ctx.client()
    eq(
        c.get_json("/api/discovery/service.json?serviceId=unknown.service&regionId=sha&zoneId=sha-z1"),
        fxj("F12", 0),
        "F12 GET",
    )
    eq(c.post_json("/api/discovery/service.json", fx("F12", 1)), fxj("F12", 0), "F12 POST")


def test_service_json_bad_requests(ctx):
    c = ctx.client()
    r = c.get("/api/discovery/service.json?regionId=sha&zoneId=sha-z1")
    check(r.status == 400, "GET service.json without serviceId: HTTP %d (want 400)" % r.status)
    want = {
        "responseStatus": {
            "errorCode": "bad-request",
            "message": "Request is null or request.discoveryConfig is null.",
            "status": "fail",
        },
        "service": None,
    }
    eq(c.post_json("/api/discovery/service.json", '{"discoveryConfig":null,"regionId":"sha","zoneId":"sha-z1"}'),
       want, "service.json without discoveryConfig")


def test_f10_lookup_known_and_unknown(ctx):
    api = ctx.api()
    api.must_register(I1, I2)
    eq(ctx.client().post_json("/api/discovery/lookup.json", fx("F10", 0)), fxj("F10", 1), "F10 response")


def test_f11_lookup_other_region(ctx):
    eq(ctx.client().post_json("/api/discovery/lookup.json", fx("F11", 0)), fxj("F11", 1), "F11 response")


def test_lookup_without_region_gives_shells(ctx):
    r = ctx.client().post_json("/api/discovery/lookup.json", lookup_req("demo.service.v1", region=None, zone=None))
    eq(r, fxj("F11", 1), "lookup without regionId")


def test_service_json_known(ctx):
    c = ctx.client()
    want = {"responseStatus": SUCCESS, "service": fxj("F10", 1)["services"][0]}
    body = '{"discoveryConfig":{"discoveryData":null,"regionId":null,"serviceId":"demo.service.v1","zoneId":null},"regionId":"sha","zoneId":"sha-z1"}'
    eq(c.post_json("/api/discovery/service.json", body), want, "POST service.json (known)")
    eq(c.get_json("/api/discovery/service.json?serviceId=demo.service.v1&regionId=sha&zoneId=sha-z1"), want,
       "GET service.json (known)")


def _services(c, method="POST"):
    if method == "POST":
        doc = c.post_json("/api/discovery/services.json", fx("F13", 0))
    else:
        doc = c.get_json("/api/discovery/services.json?regionId=sha&zoneId=sha-z1")
    eq(set(doc.keys()), {"responseStatus", "services", "version"}, "services.json keys")
    eq(doc["responseStatus"], SUCCESS, "services.json status")
    v = doc["version"]
    check(isinstance(v, int) and not isinstance(v, bool), "version must be an integer, got %r" % (v,))
    return doc


def _snapshot_has(c, want_services, method="POST"):
    doc = _services(c, method)
    if doc["version"] > 0:
        try:
            eq(doc["services"], want_services, "services")
            return doc
        except AssertionError:
            pass
    raise AssertionError("version %r services %s" % (doc["version"], short(doc["services"], 400)))


def test_f13_services_snapshot(ctx):
    c = ctx.client()
    want = fxj("F13", 1)["services"]
    doc = wait_until(lambda: _snapshot_has(c, want), 6.0, 0.2, "a services.json snapshot with I1 and I2")
    expected = fxj("F13", 1)
    expected["version"] = doc["version"]
    eq(doc, expected, "F13 response (version aside)")
    doc = wait_until(lambda: _snapshot_has(c, want, "GET"), 3.0, 0.2, "GET services.json")
    check(doc["version"] > 0, "GET services.json version %r" % doc["version"])


def test_f14_delta(ctx):
    c = ctx.client()
    api = Api(c)
    base = wait_until(lambda: _snapshot_has(c, fxj("F13", 1)["services"]), 6.0, 0.2, "base snapshot")
    v = base["version"]
    api.must_register(I5)
    api.must_unregister(I2)
    req = json.dumps({"regionId": "sha", "version": v, "zoneId": "sha-z1"})
    want_changes = {("delete", json.dumps(I2, sort_keys=True)), ("new", json.dumps(I5, sort_keys=True))}

    def delta_ready():
        d = c.post_json("/api/discovery/services-delta.json", req)
        if d.get("responseStatus", {}).get("status") != "success":
            raise AssertionError("delta answer %s" % short(d, 300))
        got = {(ch.get("changeType"), json.dumps(ch.get("instance"), sort_keys=True))
               for ch in (d.get("delta") or {}).get("demo.service.v1", [])}
        if got != want_changes:
            raise AssertionError("delta changes %s" % short(d, 600))
        return d

    d = wait_until(delta_ready, 8.0, 0.2, "a delta from version %d with new I5 and delete I2" % v)
    eq(set(d.keys()), {"delta", "responseStatus", "version"}, "delta keys")
    eq(d["responseStatus"], SUCCESS, "delta status")
    check(isinstance(d["version"], int) and d["version"] > v, "delta version %r must be > %d" % (d["version"], v))
    eq(set(d["delta"].keys()), {"demo.service.v1"}, "delta services")
    for ch in d["delta"]["demo.service.v1"]:
        eq(set(ch.keys()), {"changeTime", "changeType", "instance"}, "change keys")
        check(isinstance(ch["changeTime"], int) and ch["changeTime"] > 0, "changeTime %r" % ch["changeTime"])
    # The newest snapshot now reflects the change.
    wait_until(lambda: _snapshot_has(c, [dict(fxj("F13", 1)["services"][0], instances=[I1, I5])]), 4.0, 0.2,
               "services.json with I1 and I5")


def test_f14_unknown_version(ctx):
    c = ctx.client()
    eq(c.post_json("/api/discovery/services-delta.json", '{"regionId":"sha","version":12345,"zoneId":"sha-z1"}'),
       fxj("F14", 2), "delta for an unknown version")
    eq(c.post_json("/api/discovery/services-delta.json", fx("F14", 0)), fxj("F14", 2), "F14 request verbatim")
