"""HTTP edge cases where artemis-server answers as Java Artemis 1.5.16 does (Tomcat + Spring MVC
in front of the Artemis controllers); docs/compat.md "HTTP edge cases".

Each fixture is the exact request bytes and the answer the Java server gives: status and JSON
body. For 2xx the body is Java's own; for 4xx the status and the message text are Java's, the
body is our usual JSON error object (Spring writes its error page; docs/compat.md "Status and
extras"). Every request goes on a fresh connection with "Connection: close".
"""

import json

from lib import http, server
from lib.util import SUCCESS, Api, check, eq, instance, lookup_req, status_is

SVC = "compat.http.svc"
INST = instance(SVC, "c1", ip="10.0.0.1", port=80)

LOOKUP = json.dumps(lookup_req(SVC), separators=(",", ":")).encode()
SERVICE = {"instances": [INST], "logicInstances": [], "metadata": None, "routeRules": [], "serviceId": SVC}
LOOKUP_OK = {"responseStatus": SUCCESS, "services": [SERVICE]}
SERVICE_OK = {"responseStatus": SUCCESS, "service": SERVICE}
QUERY = "regionId=sha&zoneId=sha-z1"


def _bad(message):
    return {"error": "Bad Request", "status": 400, "message": message}


def _post(target, host="{host}", body=LOOKUP, version="1.1"):
    """A JSON POST as the Java client's Apache HttpClient frames it, with a chosen request target."""
    head = "POST %s HTTP/%s\r\n" % (target, version)
    if host is not None:
        head += "Host: %s\r\n" % host
    head += "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    return head.encode("latin-1") + body


def _get(target, host="{host}", version="1.1", extra=""):
    head = "GET %s HTTP/%s\r\n" % (target, version)
    if host is not None:
        head += "Host: %s\r\n" % host
    return (head + extra + "Connection: close\r\n\r\n").encode("latin-1")


# (what, request bytes with {host} for the server's host:port, Java's status, Java's body)
FIXTURES = [
    # -- absolute-form request targets (RFC 7230 §5.3.2: a server MUST accept them) --
    ("absolute-form POST", _post("http://127.0.0.1/api/discovery/lookup.json"), 200, LOOKUP_OK),
    ("absolute-form, scheme and port", _post("HTTP://127.0.0.1:8080/api/discovery/lookup.json"), 200, LOOKUP_OK),
    ("absolute-form https scheme", _post("https://artemis.example/api/discovery/lookup.json"), 200, LOOKUP_OK),
    ("absolute-form GET with query", _get("http://127.0.0.1/api/discovery/service.json?serviceId=%s&%s" % (SVC, QUERY)),
     200, SERVICE_OK),
    ("absolute-form HTTP/1.0 without Host", _post("http://127.0.0.1/api/discovery/lookup.json", host=None, version="1.0"),
     200, LOOKUP_OK),
    ("target that is neither origin- nor absolute-form", _get("ftp://127.0.0.1/health"), 400, None),
    # -- path spellings a servlet container normalises before Spring routes --
    ("trailing slash", _post("/api/discovery/lookup.json/"), 200, LOOKUP_OK),
    ("double slash", _post("/api/discovery//lookup.json"), 200, LOOKUP_OK),
    ("leading double slash", _post("//api/discovery/lookup.json"), 200, LOOKUP_OK),
    ("percent-encoded '.'", _post("/api/discovery/lookup%2Ejson"), 200, LOOKUP_OK),
    ("percent-encoded letters", _post("/api/%64iscovery/%6c%6F%6Fkup.json"), 200, LOOKUP_OK),
    ("path parameter", _post("/api/discovery/lookup.json;jsessionid=1"), 200, LOOKUP_OK),
    ("path parameter on a middle segment", _post("/api;x=1/discovery/lookup.json"), 200, LOOKUP_OK),
    ("'.' segment", _post("/api/./discovery/lookup.json"), 200, LOOKUP_OK),
    ("'..' inside the root", _post("/api/registry/../discovery/lookup.json"), 200, LOOKUP_OK),
    ("'..' above the root", _post("/../api/discovery/lookup.json"), 400, None),
    ("encoded '..' above the root", _post("/api/%2e%2e/%2E%2E/api/discovery/lookup.json"), 400, None),
    ("'..' with a path parameter above the root", _post("/..;x=1/api/discovery/lookup.json"), 400, None),
    ("GET with a trailing slash and a query", _get("/api/discovery/service.json/?serviceId=%s&%s" % (SVC, QUERY)),
     200, SERVICE_OK),
    # -- a repeated query parameter: Spring binds a String from all values joined with ',' --
    ("repeated serviceId", _get("/api/discovery/service.json?serviceId=%s&serviceId=x&%s" % (SVC, QUERY)), 200,
     {"responseStatus": SUCCESS,
      "service": {"instances": None, "logicInstances": None, "metadata": None, "routeRules": None,
                  "serviceId": SVC + ",x"}}),
    # -- a required @RequestParam that is missing --
    ("replication services without regionId", _get("/api/replication/registry/services.json"), 400,
     _bad("Required String parameter 'regionId' is not present")),
    ("replication services with another region", _get("/api/replication/registry/services.json?regionId=xyz"), 200,
     {"responseStatus": {"errorCode": "no-permission",
                         "message": "regionId is not the same as the registry node. regionId: xyz, registry "
                                    "node.regionId: sha",
                         "status": "fail"},
      "services": None}),
    # -- Host (RFC 7230 §5.4: HTTP/1.1 needs exactly one; Tomcat answers 400 otherwise) --
    ("HTTP/1.1 without Host", _get("/health", host=None), 400, None),
    ("HTTP/1.0 without Host", _get("/health", host=None, version="1.0"), 200, None),
]

# Where Java's answer depends on the Tomcat version or is an error anyway, our own choice (each
# is a line of docs/compat.md "HTTP edge cases"); same form as FIXTURES.
OURS = [
    # RFC 7230 §5.4 (newer Tomcat: 400 too)
    ("HTTP/1.1 with two Host headers", _get("/health", extra="Host: 127.0.0.1\r\n"), 400, None),
    # RFC 7230 §2.7.1: senders must not generate userinfo (older Tomcat skips it)
    ("absolute-form with userinfo", _post("http://user@127.0.0.1/api/discovery/lookup.json"), 400, None),
    # Tomcat refuses an encoded '/' with 400; it stays part of a segment here (a v1 subscribe
    # serviceId may hold one), so no route matches
    ("encoded '/' is not a separator", _post("/api/discovery%2Flookup.json"), 404, None),
]


def _send(port, raw):
    c = http.Connection(port, timeout=5.0)
    try:
        c.connect()
        c.send_raw(raw.replace(b"{host}", b"127.0.0.1:%d" % port))
        return c.read_response("GET")
    finally:
        c.close()


def _check_all(ctx, fixtures, whose):
    Api(ctx.client()).must_register(INST)
    failures = []
    for what, raw, status, body in fixtures:
        r = _send(ctx.port, raw)
        try:
            status_is(r, status, what)
            if body is not None:
                eq(r.json(), body, what)
            elif status >= 400:
                got = r.json()
                check(got.get("status") == status and got.get("error"), "%s: JSON error body %r" % (what, got))
        except AssertionError as e:
            failures.append(str(e))
    check(not failures, "%d of %d fixtures differ from %s:\n  %s" % (len(failures), len(fixtures), whose,
                                                                  "\n  ".join(failures)))


def test_java_answers(ctx):
    _check_all(ctx, FIXTURES, "Java")


def test_our_answers(ctx):
    _check_all(ctx, OURS, "docs/compat.md")


def test_replication_services_with_region(ctx):
    Api(ctx.client()).must_register(INST)
    r = _send(ctx.port, _get("/api/replication/registry/services.json?regionId=SHA"))
    status_is(r, 200, "replication services with regionId")
    got = r.json()
    eq(got["responseStatus"], SUCCESS, "responseStatus")
    check(any(s["serviceId"] == SVC for s in got["services"]), "%s missing from %r" % (SVC, got["services"]))
    # POST takes the region from the body, where a missing one is Java's no-permission, not 400.
    r = _send(ctx.port, _post("/api/replication/registry/services.json", body=b"{}"))
    status_is(r, 200, "POST replication services without regionId")
    eq(r.json()["responseStatus"]["errorCode"], "no-permission", "errorCode")


def test_subscribe_path_variants(ctx):
    """/api/v1/discovery/subscribe/{serviceId}: the id is percent-decoded once, after the path is
    normalised (an encoded '/' or '%' stays part of the id)."""
    for path, sid in (("/api/v1/discovery/subscribe/%63ompat.http.svc", SVC),
                      ("/api/v1/discovery/subscribe/compat.http.svc/", SVC),
                      ("/api/v1/discovery//subscribe/compat.http.svc;jsessionid=9", SVC),
                      ("/api/v1/discovery/subscribe/a%2Fb%2525", "a/b%25")):
        w = ctx.ws(path)
        msg = w.recv_json(3.0)
        eq((msg.get("type"), msg.get("serviceId")), ("service_change", sid), "first push on %s" % path)
        w.close()


def test_absolute_form_and_allowed_hosts(ctx):
    """With http.allowed-hosts the authority of an absolute-form target is the host that is
    checked; the Host header is ignored then (RFC 7230 §5.4)."""
    srv = server.Server(["--http.allowed-hosts=127.0.0.1"], name="compat-http-hosts")
    ctx.defer(srv.cleanup)
    srv.start()
    ctx.server = srv
    ok = _post("http://127.0.0.1:%d/api/discovery/lookup.json" % srv.port, host="evil.example")
    r = _send(srv.port, ok)
    status_is(r, 200, "listed authority, foreign Host")
    for target in ("http://evil.example/api/discovery/lookup.json", "http://127.0.0.2/api/discovery/lookup.json"):
        r = _send(srv.port, _post(target))
        status_is(r, 421, "authority %s, listed Host" % target)
    status_is(_send(srv.port, _post("/api/discovery/lookup.json")), 200, "origin-form with a listed Host")
    status_is(_send(srv.port, _post("/api/discovery/lookup.json", host="evil.example")), 421, "origin-form, foreign Host")
