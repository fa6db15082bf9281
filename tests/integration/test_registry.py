"""Registry endpoints (protocol.md §2.1) against fixtures F1-F6 and F9, plus input/output JSON
rules (§0.1): case-insensitive property names, unknown properties ignored, explicit nulls.

The node disallows registration from other zones (F3). Tests run in source order and share
one server: F5 (unknown lease) must run before anything registers the F1 instance.
"""

import json

from lib.util import (
    INSTANCE_FIELDS,
    PARTIAL_FAIL,
    SUCCESS,
    Api,
    check,
    eq,
    fx,
    fxj,
    instance,
)

SERVER_ARGS = ["--artemis.service.registry.allow-from-other-zone=false"]


def test_f5_heartbeat_unknown_lease(ctx):
    c = ctx.client()
    eq(c.post_json("/api/registry/heartbeat.json", fx("F5", 0)), fxj("F5", 1), "F5 heartbeat response")


def test_f6_empty_instance_list(ctx):
    c = ctx.client()
    for op in ("register", "heartbeat", "unregister"):
        eq(c.post_json("/api/registry/%s.json" % op, fx("F6", 0)), fxj("F6", 1), "F6 %s response" % op)
    # A missing or null list is the same request error.
    eq(c.post_json("/api/registry/register.json", "{}"), fxj("F6", 1), "register {}")
    eq(c.post_json("/api/registry/register.json", '{"instances":null}'), fxj("F6", 1), "register instances:null")


def test_f4_missing_url(ctx):
    c = ctx.client()
    eq(c.post_json("/api/registry/register.json", fx("F4", 0)), fxj("F4", 1), "F4 response")
    check("10.0.0.7:8080" not in Api(c).lookup_ids("demo.service.v1"), "F4 instance must not be registered")


def test_f3_other_zone_rejected(ctx):
    c = ctx.client()
    eq(c.post_json("/api/registry/register.json", fx("F3", 0)), fxj("F3", 1), "F3 response")
    ids = Api(c).lookup_ids("demo.service.v1")
    check("10.0.0.5:8080" in ids, "the sha-z1 instance of F3 must be registered, lookup has %s" % ids)
    check("10.1.0.6:8080" not in ids, "the sha-z2 instance of F3 must not be registered")


def test_f1_register_success(ctx):
    c = ctx.client()
    eq(c.post_json("/api/registry/register.json", fx("F1", 0)), fxj("F2"), "F1 register response")
    want = fxj("F1")["instances"][0]
    got = [i for i in Api(c).lookup("demo.service.v1") if i.get("instanceId") == "10.0.0.5:8080"]
    check(len(got) == 1, "F1 instance appears once in lookup, got %d" % len(got))
    eq(got[0], want, "F1 instance in lookup")
    # A heartbeat for a live lease is a plain success.
    eq(c.post_json("/api/registry/heartbeat.json", fx("F1", 0)), fxj("F2"), "heartbeat response")


def test_register_replaces_instance_body(ctx):
    api = ctx.api()
    a = instance("replace.svc", "r1", metadata={"v": "1"})
    api.must_register(a)
    b = dict(a, status="down", metadata={"v": "2", "extra": "x"}, port=9999)
    api.must_register(b)
    got = api.lookup("replace.svc")
    eq(got, [b], "instances after re-register")


def test_region_mismatch_no_permission(ctx):
    api = ctx.api()
    bad = instance("region.svc", "x1", region="ntg", zone="sha-z1")
    good = instance("region.svc", "x2")
    r = api.register(bad, good)
    eq(
        r,
        {
            "failedInstances": [
                {
                    "errorCode": "no-permission",
                    "errorMessage": "ntg/sha-z1/region.svc/x1: regionId is not the same as the registry node. "
                    "regionId: ntg, registry node.regionId: sha",
                    "instance": bad,
                }
            ],
            "responseStatus": PARTIAL_FAIL,
        },
        "register with a foreign region",
    )
    eq(api.lookup_ids("region.svc"), {"x2"}, "registered ids")


def test_zone_and_region_case_insensitive(ctx):
    api = ctx.api()
    inst = instance("zonecase.svc", "z1", region="SHA", zone="SHA-Z1")
    api.must_register(inst)
    eq(api.lookup_ids("zonecase.svc"), {"z1"}, "registered ids")


def test_missing_mandatory_fields(ctx):
    api = ctx.api()
    no_id = instance("mandatory.svc", None)
    blank_service = instance("  ", "m2")
    r = api.register(no_id, blank_service)
    eq(
        r,
        {
            "failedInstances": [
                {
                    "errorCode": "internal-service-error",
                    "errorMessage": "sha/sha-z1/mandatory.svc/null: Exception: argument instance.instanceId is null or whitespace",
                    "instance": no_id,
                },
                {
                    "errorCode": "internal-service-error",
                    "errorMessage": "sha/sha-z1/  /m2: Exception: argument instance.serviceId is null or whitespace",
                    "instance": blank_service,
                },
            ],
            "responseStatus": PARTIAL_FAIL,
        },
        "register without instanceId / with blank serviceId",
    )
    eq(api.lookup("mandatory.svc"), [], "nothing registered")


def test_null_entries_skipped(ctx):
    c = ctx.client()
    inst = instance("nullentry.svc", "n1")
    body = '{"instances":[null,%s,null]}' % json.dumps(inst)
    eq(c.post_json("/api/registry/register.json", body), fxj("F2"), "register with null entries")
    eq(Api(c).lookup_ids("nullentry.svc"), {"n1"}, "registered ids")


def test_case_insensitive_property_names_and_unknown_ignored(ctx):
    c = ctx.client()
    body = (
        '{"INSTANCES":[{"SERVICEID":"ci.svc","InstanceID":"ci-1","URL":"http://127.0.0.1:1/x",'
        '"REGIONID":"sha","zoneid":"sha-z1","Port":8081,"METADATA":{"K":"V"},"Status":"up",'
        '"unknownField":123,"anotherUnknown":{"nested":[1,2,{"x":null}]},"IP":"127.0.0.9"}],'
        '"someTopLevelUnknown":true}'
    )
    eq(c.post_json("/api/registry/register.json", body), fxj("F2"), "register with odd casing")
    got = Api(c).lookup("ci.svc")
    eq(
        got,
        [
            {
                "groupId": None,
                "healthCheckUrl": None,
                "instanceId": "ci-1",
                "ip": "127.0.0.9",
                "machineName": None,
                "metadata": {"K": "V"},
                "port": 8081,
                "protocol": None,
                "regionId": "sha",
                "serviceId": "ci.svc",
                "status": "up",
                "url": "http://127.0.0.1:1/x",
                "zoneId": "sha-z1",
            }
        ],
        "instance registered with case-insensitive names (metadata keys keep their case)",
    )


def test_output_has_explicit_nulls_and_exact_fields(ctx):
    c = ctx.client()
    # Only the mandatory fields: everything else must come back as explicit null (port 0).
    body = '{"instances":[{"serviceId":"nulls.svc","instanceId":"n-1","url":"http://h/","regionId":"sha","zoneId":"sha-z1"}]}'
    eq(c.post_json("/api/registry/register.json", body), fxj("F2"), "register minimal instance")
    r = c.post("/api/discovery/lookup.json", '{"discoveryConfigs":[{"serviceId":"nulls.svc"}],"regionId":"sha","zoneId":"sha-z1"}')
    check(r.status == 200, "lookup HTTP %d" % r.status)
    text = r.body.decode()
    check('"groupId":null' in text.replace(" ", ""), "explicit null for groupId expected in %r" % text[:400])
    doc = r.json()
    eq(doc["responseStatus"], SUCCESS, "lookup status")
    eq(set(doc.keys()), {"responseStatus", "services"}, "lookup response keys")
    svc = doc["services"][0]
    eq(set(svc.keys()), {"instances", "logicInstances", "metadata", "routeRules", "serviceId"}, "service keys")
    inst = svc["instances"][0]
    eq(set(inst.keys()), INSTANCE_FIELDS, "instance keys")
    eq(
        inst,
        {
            "groupId": None,
            "healthCheckUrl": None,
            "instanceId": "n-1",
            "ip": None,
            "machineName": None,
            "metadata": None,
            "port": 0,
            "protocol": None,
            "regionId": "sha",
            "serviceId": "nulls.svc",
            "status": None,
            "url": "http://h/",
            "zoneId": "sha-z1",
        },
        "minimal instance in lookup",
    )


def test_f9_unregister_then_gone(ctx):
    api = ctx.api()
    check("10.0.0.5:8080" in api.lookup_ids("demo.service.v1"), "F1 instance should be registered before F9")
    eq(ctx.client().post_json("/api/registry/unregister.json", fx("F9", 0)), fxj("F9", 1), "F9 response")
    api.wait_absent("demo.service.v1", "10.0.0.5:8080", timeout=3.0)
    # Unregistering something unknown is still a success.
    eq(api.unregister(instance("never.svc", "nobody")), fxj("F2"), "unregister unknown")
    # A heartbeat after unregister does not revive the lease.
    eq(ctx.client().post_json("/api/registry/heartbeat.json", fx("F5", 0)), fxj("F5", 1), "heartbeat after unregister")


def test_register_many_instances_batch(ctx):
    api = ctx.api()
    insts = [instance("batch.svc", "b%02d" % i, port=9000 + i) for i in range(50)]
    eq(api.register(*insts), fxj("F2"), "batch register")
    eq(api.lookup("batch.svc"), insts, "batch instances")
    eq(api.heartbeat(*insts), fxj("F2"), "batch heartbeat")
    eq(api.unregister(*insts[:25]), fxj("F2"), "batch unregister")
    api.wait_absent("batch.svc", "b00")
    eq(api.lookup_ids("batch.svc"), {"b%02d" % i for i in range(25, 50)}, "remaining batch ids")

