"""JSON binding as the Java server's Jackson does it: request bodies whose values are not the
declared Java type, and what Artemis 1.5.16 answers for them.

Each fixture is a request body and Java's answer: HTTP 200 with the JSON body Java sends, or
HTTP 400 where Jackson cannot bind the body (Java then answers with Spring's error page; ours
is `{"error":"Bad Request","status":400,"message":…}` naming the field, which is what the
fixture holds). The rules (docs/compat.md):

- Instance metadata keeps null values (`{"k":null}`); a null value reads as absent.
- `port` binds like a Java `int`: floats truncated, "" and null as 0, booleans refused.
- String fields of discovery requests (serviceId, regionId, zoneId) take a number or boolean
  as its text, as Jackson's String binding does; registry Instance fields stay strict.
- A JSON type that cannot bind to the declared type (object for a list or string, array for an
  object, scalar for an object or list) is HTTP 400 on every endpoint; null stays null.

The SDK (lookup example) and the sidecar (DNS weight from metadata) are run against an
instance with null metadata values. The SDK's region and zone are "default", so this module's
server runs there.
"""

import json
import os
import shutil
import tempfile

from lib import server
from lib.sdk import Examples, sdk_env
from lib.util import SUCCESS, check, eq, fxj, short
from test_sidecar import NOERROR, T_SRV, started

SERVER_ARGS = ["--region=default", "--zone=default"]

REGION = "default"
ZONE = "default"
F2 = fxj("F2")


def inst_json(service_id, instance_id, **fields):
    """An Instance as JSON text, fields in Java's order; values given as JSON text."""
    base = {
        "groupId": "null",
        "healthCheckUrl": "null",
        "instanceId": json.dumps(instance_id),
        "ip": '"127.0.0.1"',
        "machineName": "null",
        "metadata": "null",
        "port": "8080",
        "protocol": "null",
        "regionId": json.dumps(REGION),
        "serviceId": json.dumps(service_id),
        "status": '"up"',
        "url": '"http://127.0.0.1:8080/"',
        "zoneId": json.dumps(ZONE),
    }
    base.update(fields)
    return "{" + ",".join('"%s":%s' % (k, v) for k, v in base.items()) + "}"


def register_body(*insts):
    return '{"instances":[%s]}' % ",".join(insts)


def post(ctx, path, body):
    return ctx.client(mode="plain").post(path, body)


def answer(ctx, path, body, status, expected, what):
    """POST body to path; assert Java's answer. For 400, `expected` is the field the message
    must name; for 200, the JSON body (or a function checking the parsed body)."""
    r = post(ctx, path, body)
    check(r.status == status, "%s: %s %s -> HTTP %d (want %d) %r" % (what, path, body, r.status, status,
                                                                      r.body[:300]))
    doc = r.json()
    if status == 400:
        eq(sorted(doc.keys()), ["error", "message", "status"], "%s: 400 body keys" % what)
        eq((doc["error"], doc["status"]), ("Bad Request", 400), "%s: 400 body" % what)
        check(expected in doc["message"], "%s: message %r must name %r" % (what, doc["message"], expected))
    elif callable(expected):
        expected(doc)
    else:
        eq(doc, expected, "%s: %s %s" % (what, path, body))
    return r


def lookup_body(*service_ids_json, region='"default"', zone='"default"'):
    cfgs = ",".join('{"discoveryData":null,"regionId":null,"serviceId":%s,"zoneId":null}' % s for s in service_ids_json)
    return '{"discoveryConfigs":[%s],"regionId":%s,"zoneId":%s}' % (cfgs, region, zone)


def service(service_id, *insts):
    """A Service as lookup.json/service.json answer it for a known service."""
    return {"instances": list(insts), "logicInstances": [], "metadata": None, "routeRules": [],
            "serviceId": service_id}


def shell(service_id):
    return {"instances": None, "logicInstances": None, "metadata": None, "routeRules": None,
            "serviceId": service_id}


# ---- 4. null metadata values ------------------------------------------------------------------

META_INST = inst_json("compat.meta", "m1", metadata='{"k":null,"j":"v"}')
META_ANSWER = json.loads(META_INST)


def test_null_metadata_values_kept(ctx):
    answer(ctx, "/api/registry/register.json", register_body(META_INST), 200, F2, "register {k:null}")
    r = answer(ctx, "/api/discovery/lookup.json", lookup_body('"compat.meta"'), 200,
               {"responseStatus": SUCCESS, "services": [service("compat.meta", META_ANSWER)]}, "lookup")
    # Java's map keeps its order: the null first, as registered.
    check(b'"metadata":{"k":null,"j":"v"}' in r.body, "lookup metadata text: %r" % r.body[:400])
    answer(ctx, "/api/discovery/service.json",
           '{"discoveryConfig":{"serviceId":"compat.meta"},"regionId":"default","zoneId":"default"}', 200,
           {"responseStatus": SUCCESS, "service": service("compat.meta", META_ANSWER)}, "service.json")
    r = post(ctx, "/api/discovery/services.json", "{}")
    check(b'"metadata":{"k":null,"j":"v"}' in r.body, "services.json metadata text: %r" % r.body[:400])
    # A heartbeat of the same body renews it; the null survives.
    answer(ctx, "/api/registry/heartbeat.json", register_body(META_INST), 200, F2, "heartbeat {k:null}")


def test_null_java_registry_is_not_legacy(ctx):
    # A null java_registry is blank, as an absent one: a normal lease, not a legacy one.
    answer(ctx, "/api/registry/register.json",
           register_body(inst_json("compat.meta.lease", "n1", metadata='{"java_registry":null}'),
                         inst_json("compat.meta.lease", "l1", metadata='{"java_registry":"true"}')),
           200, F2, "register")

    def ids(doc):
        eq(doc.get("responseStatus"), SUCCESS, "leases responseStatus")
        return sorted(x["instance"].rsplit("/", 1)[1] for x in (doc["leases"] or {}).get("compat.meta.lease", []))

    body = '{"serviceIds":["compat.meta.lease"]}'
    answer(ctx, "/api/status/leases.json", body, 200, lambda d: eq(ids(d), ["n1"], "normal leases"), "leases")
    answer(ctx, "/api/status/legacy-leases.json", body, 200, lambda d: eq(ids(d), ["l1"], "legacy leases"),
           "legacy leases")


def test_null_metadata_sdk_lookup(ctx):
    # The SDK decodes, packs, snapshots to disk and reloads the instance with its null value.
    ex = Examples(ctx)
    cache = tempfile.mkdtemp(prefix="artemis-it-compat-cache-")
    ctx.defer(lambda: shutil.rmtree(cache, ignore_errors=True))
    env = sdk_env(ARTEMIS_CACHE_DIR=cache)
    code, out, err = ex.lookup("compat.meta", env=env)
    check(code == 0, "SDK lookup: exit %s stdout=%r stderr=%r" % (code, out, err))
    eq([i["instanceId"] for i in json.loads(out.strip())["instances"]], ["m1"], "SDK lookup instances")
    snapshots = [os.path.join(cache, f) for f in os.listdir(cache)]
    check(snapshots, "no snapshot written in %s" % cache)
    text = b"".join(open(f, "rb").read() for f in snapshots)
    check(b'"metadata":{"k":null,"j":"v"}' in text, "snapshot keeps the null value: %r" % text[:400])
    # Nothing listens on a fresh port: the lookup is answered from the snapshot.
    code, out, err = ex.lookup("compat.meta", url="http://127.0.0.1:%d" % server.free_port(), env=env)
    check(code == 0, "SDK lookup from the snapshot: exit %s stdout=%r stderr=%r" % (code, out, err))
    eq([i["instanceId"] for i in json.loads(out.strip())["instances"]], ["m1"], "instances from the snapshot")


def test_null_metadata_sidecar(ctx):
    # The sidecar reads metadata "weight" for SRV records: a null weight is the default 1.
    answer(ctx, "/api/registry/register.json",
           register_body(inst_json("compat.side", "s-1", port="7101", metadata='{"weight":null,"x":null}'),
                         inst_json("compat.side", "s-2", port="7102", metadata='{"weight":"7"}')),
           200, F2, "register")
    _, sc = started(ctx, "compat.side.app")
    r = sc.dns("compat.side.service.artemis", T_SRV)
    eq(r["rcode"], NOERROR, "SRV rcode")
    eq(sorted((a["weight"], a["port"]) for a in r["answers"]), [(1, 7101), (7, 7102)], "SRV weights")
    code, body = sc.get("/v1/services/compat.side")
    eq(code, 200, "sidecar HTTP lookup")
    eq(sorted(i["instanceId"] for i in json.loads(body)["instances"]), ["s-1", "s-2"], "sidecar instances")
    check(sc.proc.poll() is None, "sidecar still running")


test_null_metadata_sidecar.timeout = 20


# ---- 5. port as Jackson binds an int ----------------------------------------------------------

# (JSON text of "port", the port Java stores)
PORTS_OK = [("1.5", 1), ("100.0", 100), ("1000.0", 1000), ('""', 0), ("null", 0), ('"8080"', 8080),
            ("-0.5", 0), ("2.99e2", 299)]
# JSON texts of "port" Java refuses (HTTP 400)
PORTS_BAD = ["true", "false", '"abc"', '"1.5"', "1e300", "2147483648.0", "2147483648", "[]", "{}", "[80]"]


def test_port_coercions(ctx):
    for i, (text, _) in enumerate(PORTS_OK):
        answer(ctx, "/api/registry/register.json", register_body(inst_json("compat.port", "p%d" % i, port=text)),
               200, F2, "port %s" % text)
    r = post(ctx, "/api/discovery/lookup.json", lookup_body('"compat.port"'))
    got = {x["instanceId"]: x["port"] for x in r.json()["services"][0]["instances"]}
    eq(got, {"p%d" % i: port for i, (_, port) in enumerate(PORTS_OK)}, "stored ports")
    for text in PORTS_BAD:
        answer(ctx, "/api/registry/register.json", register_body(inst_json("compat.port", "bad", port=text)),
               400, "instance.port", "port %s" % text)
    r = post(ctx, "/api/discovery/lookup.json", lookup_body('"compat.port"'))
    check("bad" not in {x["instanceId"] for x in r.json()["services"][0]["instances"]}, "refused port registered")


# ---- 6. discovery strings take numbers and booleans -------------------------------------------

N1 = inst_json("42", "n1")


def test_discovery_string_coercions(ctx):
    answer(ctx, "/api/registry/register.json", register_body(N1), 200, F2, "register service 42")
    n1 = json.loads(N1)
    cases = [
        # service.json: Jackson binds serviceId 5 as "5"
        ("/api/discovery/service.json", '{"discoveryConfig":{"serviceId":5},"regionId":"default","zoneId":"default"}',
         {"responseStatus": SUCCESS, "service": shell("5")}),
        ("/api/discovery/service.json", '{"discoveryConfig":{"serviceId":true},"regionId":"default","zoneId":"default"}',
         {"responseStatus": SUCCESS, "service": shell("true")}),
        ("/api/discovery/service.json", '{"discoveryConfig":{"serviceId":1.5},"regionId":"default","zoneId":"default"}',
         {"responseStatus": SUCCESS, "service": shell("1.5")}),
        ("/api/discovery/service.json", '{"discoveryConfig":{"serviceId":42},"regionId":"default","zoneId":"default"}',
         {"responseStatus": SUCCESS, "service": service("42", n1)}),
        ("/api/discovery/lookup.json", lookup_body("42"),
         {"responseStatus": SUCCESS, "services": [service("42", n1)]}),
        ("/api/discovery/lookup.json", lookup_body("42", '"42"', "false"),
         {"responseStatus": SUCCESS, "services": [service("42", n1), service("false")]}),
        # regionId / zoneId as numbers: compared as their text
        ("/api/discovery/service.json", '{"discoveryConfig":{"serviceId":"42"},"regionId":7,"zoneId":"default"}',
         {"responseStatus": {"errorCode": "no-permission",
                             "message": "regionId is not the same as the registry node. regionId: 7, registry "
                                        "node.regionId: default", "status": "fail"}, "service": None}),
        ("/api/discovery/lookup.json", lookup_body("42", region="true"),
         {"responseStatus": SUCCESS, "services": [shell("42")]}),
        ("/api/discovery/lookup.json", lookup_body("42", zone="5"),
         {"responseStatus": SUCCESS, "services": [service("42", n1)]}),
        ("/api/discovery/lookup.json",
         '{"discoveryConfigs":[{"serviceId":42,"regionId":1,"zoneId":2.5,"discoveryData":{"a":1,"b":null}}],'
         '"regionId":"default","zoneId":"default"}',
         {"responseStatus": SUCCESS, "services": [service("42", n1)]}),
    ]
    for path, body, want in cases:
        answer(ctx, path, body, 200, want, "coercion")
    # services.json and services-delta.json take regionId/zoneId the same way
    answer(ctx, "/api/discovery/services.json", '{"regionId":5,"zoneId":false}', 200,
           lambda d: eq(d["responseStatus"], SUCCESS, "services.json status"), "services.json")


# ---- 7. JSON types that cannot bind: HTTP 400 on every endpoint -------------------------------

BIND_400 = [
    # lookup.json: List<DiscoveryConfig> discoveryConfigs, String regionId/zoneId
    ("/api/discovery/lookup.json", '{"discoveryConfigs":{},"regionId":"default"}', "request.discoveryConfigs"),
    ("/api/discovery/lookup.json", '{"discoveryConfigs":"x","regionId":"default"}', "request.discoveryConfigs"),
    ("/api/discovery/lookup.json", '{"discoveryConfigs":5,"regionId":"default"}', "request.discoveryConfigs"),
    ("/api/discovery/lookup.json", '{"discoveryConfigs":true}', "request.discoveryConfigs"),
    ("/api/discovery/lookup.json", '{"discoveryConfigs":[5],"regionId":"default"}', "request.discoveryConfigs[0]"),
    ("/api/discovery/lookup.json", '{"discoveryConfigs":[{"serviceId":"a"},[]]}', "request.discoveryConfigs[1]"),
    ("/api/discovery/lookup.json", '{"discoveryConfigs":[{"serviceId":"a"},"b"]}', "request.discoveryConfigs[1]"),
    ("/api/discovery/lookup.json", '{"discoveryConfigs":[{"serviceId":{}}]}', "request.discoveryConfigs[0].serviceId"),
    ("/api/discovery/lookup.json", '{"discoveryConfigs":[{"serviceId":["a"]}]}',
     "request.discoveryConfigs[0].serviceId"),
    ("/api/discovery/lookup.json", '{"discoveryConfigs":[{"serviceId":"a","regionId":{}}]}',
     "request.discoveryConfigs[0].regionId"),
    ("/api/discovery/lookup.json", '{"discoveryConfigs":[{"serviceId":"a","discoveryData":5}]}',
     "request.discoveryConfigs[0].discoveryData"),
    ("/api/discovery/lookup.json", '{"discoveryConfigs":[{"serviceId":"a","discoveryData":{"k":[]}}]}',
     "request.discoveryConfigs[0].discoveryData"),
    ("/api/discovery/lookup.json", '{"discoveryConfigs":[],"regionId":{}}', "request.regionId"),
    ("/api/discovery/lookup.json", '{"discoveryConfigs":[],"zoneId":[]}', "request.zoneId"),
    # service.json: DiscoveryConfig discoveryConfig
    ("/api/discovery/service.json", '{"discoveryConfig":5,"regionId":"default"}', "request.discoveryConfig"),
    ("/api/discovery/service.json", '{"discoveryConfig":[],"regionId":"default"}', "request.discoveryConfig"),
    ("/api/discovery/service.json", '{"discoveryConfig":"x","regionId":"default"}', "request.discoveryConfig"),
    ("/api/discovery/service.json", '{"discoveryConfig":{"serviceId":{}},"regionId":"default"}',
     "request.discoveryConfig.serviceId"),
    ("/api/discovery/service.json", '{"discoveryConfig":{"serviceId":"a","zoneId":[]},"regionId":"default"}',
     "request.discoveryConfig.zoneId"),
    ("/api/discovery/service.json", '{"discoveryConfig":{"serviceId":"a"},"regionId":{}}', "request.regionId"),
    # services.json, services-delta.json
    ("/api/discovery/services.json", '{"regionId":[]}', "request.regionId"),
    ("/api/discovery/services-delta.json", '{"regionId":"default","version":{}}', "version"),
    ("/api/discovery/services-delta.json", '{"regionId":"default","version":[1]}', "version"),
    ("/api/discovery/services-delta.json", '{"regionId":{},"version":1}', "request.regionId"),
    # leases.json: List<String> serviceIds
    ("/api/status/leases.json", '{"serviceIds":{}}', "request.serviceIds"),
    ("/api/status/leases.json", '{"serviceIds":"compat.meta"}', "request.serviceIds"),
    ("/api/status/leases.json", '{"serviceIds":[{}]}', "request.serviceIds[0]"),
    ("/api/status/legacy-leases.json", '{"serviceIds":{}}', "request.serviceIds"),
    # registry: List<Instance> instances (already so before)
    ("/api/registry/register.json", '{"instances":{}}', "instances"),
    ("/api/registry/heartbeat.json", '{"instances":"x"}', "instances"),
    ("/api/registry/register.json", register_body(inst_json("compat.bad", "b1", metadata="[]")), "instance.metadata"),
]


def test_unbindable_types_are_400(ctx):
    for path, body, field in BIND_400:
        answer(ctx, path, body, 400, field, "unbindable")


def test_nulls_keep_java_answers(ctx):
    # A JSON null binds (to null); Java's own null handling answers.
    def internal_error(doc):
        eq(doc["services"], None, "services")
        eq((doc["responseStatus"]["errorCode"], doc["responseStatus"]["status"]), ("internal-service-error", "fail"),
           "lookup with a null list: %s" % short(doc))

    answer(ctx, "/api/discovery/lookup.json", '{"discoveryConfigs":null,"regionId":"default"}', 200, internal_error,
           "null discoveryConfigs")
    answer(ctx, "/api/discovery/lookup.json", '{"regionId":"default"}', 200, internal_error, "no discoveryConfigs")
    answer(ctx, "/api/discovery/lookup.json", '{"discoveryConfigs":[null],"regionId":"default"}', 200,
           internal_error, "null DiscoveryConfig")
    answer(ctx, "/api/discovery/lookup.json", lookup_body("null"), 200,
           {"responseStatus": SUCCESS, "services": [shell(None)]}, "null serviceId")
    answer(ctx, "/api/discovery/service.json", '{"discoveryConfig":null,"regionId":"default","zoneId":"default"}', 200,
           {"responseStatus": {"errorCode": "bad-request", "message": "Request is null or request.discoveryConfig is "
                                                                      "null.", "status": "fail"}, "service": None},
           "null discoveryConfig")
    answer(ctx, "/api/discovery/services.json", '{"regionId":null,"zoneId":null}', 200,
           lambda d: eq(d["responseStatus"], SUCCESS, "services.json status"), "null regionId")

    def all_services(doc):
        eq(doc["responseStatus"], SUCCESS, "leases status")
        check("compat.meta" in (doc["leases"] or {}), "null serviceIds lists every service: %s" % short(doc))

    answer(ctx, "/api/status/leases.json", '{"serviceIds":null}', 200, all_services, "null serviceIds")

    def only_42(doc):
        eq(doc["responseStatus"], SUCCESS, "leases status")
        eq(sorted((doc["leases"] or {}).keys()), ["42"], "serviceIds [42, null] filters on \"42\"")

    answer(ctx, "/api/status/leases.json", '{"serviceIds":[42,null]}', 200, only_42, "numeric serviceIds")
