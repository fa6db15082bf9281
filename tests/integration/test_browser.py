"""Browser safety (docs/compat.md "CORS and browser origins"): what a web page in a browser can
and cannot do to the server. Every request here carries the headers a browser would send
(Origin, preflights, WebSocket upgrades with Origin, a rebinding attacker's Host); requests
without Origin are what the Java client, the SDK, curl and peers send and must keep working.

The module server runs the defaults (no cross-origin access, any Host); the tests for
http.allowed-origins and http.allowed-hosts start their own servers."""

import base64
import json
import os
import signal
import socket
import time

from lib import http, server
from lib.util import Api, check, eq, instance, instances_req, status_is, wait_until

EVIL = "https://evil.example"
CONSOLE = "https://console.example"

WS_PATHS = (
    "/ws/registry/heartbeat",
    "/ws/discovery/instance-change",
    "/ws/discovery/all-instance-change",
    "/api/v1/discovery/subscribe/browser.svc",
)

CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-expose-headers",
    "access-control-allow-methods",
    "access-control-allow-headers",
)


# -- helpers ---------------------------------------------------------------------------------


def _own_server(ctx, args, name="browser"):
    srv = server.Server(args, name=name)
    ctx.defer(srv.cleanup)
    srv.start()
    ctx.server = srv  # the runner's log tail and liveness checks follow it
    return srv


def _raw(port, method, path, headers, body=b"", version="1.1"):
    """One request with exactly these headers (no Host added: tests choose it), on a fresh
    connection; returns the Response."""
    c = http.Connection(port)
    try:
        c.connect()
        head = "%s %s HTTP/%s\r\n" % (method, path, version)
        head += "".join("%s: %s\r\n" % (k, v) for k, v in headers)
        if body or method == "POST":
            head += "Content-Length: %d\r\n" % len(body)
        c.send_raw(head.encode("latin-1") + b"\r\n" + body)
        return c.read_response(method)
    finally:
        c.close()


def _req(port, method, path, origin=None, body=None, content_type="application/json", extra=()):
    """A request as a browser page would send it: Host of the server, Origin when given."""
    hdrs = [("Host", "127.0.0.1:%d" % port), ("Connection", "close")]
    if origin is not None:
        hdrs.append(("Origin", origin))
    if body is not None:
        hdrs.append(("Content-Type", content_type))
    hdrs += list(extra)
    data = body.encode() if isinstance(body, str) else (body or b"")
    return _raw(port, method, path, hdrs, data)


def _preflight(port, path, origin, method="POST", headers="content-type"):
    extra = [("Access-Control-Request-Method", method)]
    if headers:
        extra.append(("Access-Control-Request-Headers", headers))
    return _req(port, "OPTIONS", path, origin, extra=extra)


def _ws_status(port, path, origin=None, host=None):
    """Status code of a WebSocket opening handshake (101 = accepted) and the response head."""
    key = base64.b64encode(os.urandom(16)).decode()
    req = "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" % (
        path, host or "127.0.0.1:%d" % port)
    req += "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % key
    if origin is not None:
        req += "Origin: %s\r\n" % origin
    s = socket.create_connection(("127.0.0.1", port), timeout=5.0)
    try:
        s.sendall((req + "\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        check(len(parts) >= 2 and parts[0].startswith("HTTP/1."), "bad handshake answer %r" % head[:200])
        return int(parts[1]), head.decode("latin-1")
    finally:
        s.close()


def _no_cors(r, what):
    for h in CORS_HEADERS:
        check(r.header(h) is None, "%s: unexpected %s: %r" % (what, h, r.header(h)))


def _refused(r, code, what):
    status_is(r, code, what)
    body = r.json()
    check(body.get("status") == code and body.get("error"), "%s: JSON error body %r" % (what, body))
    _no_cors(r, what)


def _register(port, svc, iid):
    inst = instance(svc, iid)
    c = http.Client(port)
    try:
        Api(c).must_register(inst)
    finally:
        c.close()
    return inst


def _ids(port, svc):
    c = http.Client(port)
    try:
        return Api(c).lookup_ids(svc)
    finally:
        c.close()


# -- default configuration: no cross-origin access at all --------------------------------------


def test_default_reads_carry_no_cors_headers(ctx):
    _register(ctx.port, "browser.read.svc", "r1")
    for origin in (None, EVIL, "null", "http://127.0.0.1:%d" % ctx.port):
        r = _req(ctx.port, "GET", "/api/discovery/services.json", origin)
        status_is(r, 200, "GET services.json with Origin %r" % origin)
        _no_cors(r, "GET services.json with Origin %r" % origin)
        r = _req(ctx.port, "GET", "/health", origin)
        status_is(r, 200, "GET /health with Origin %r" % origin)
        _no_cors(r, "GET /health with Origin %r" % origin)
    # A read by POST runs (it changes nothing) but the page cannot see the answer.
    r = _req(ctx.port, "POST", "/api/discovery/lookup.json", EVIL,
             '{"discoveryConfigs":[{"serviceId":"browser.read.svc"}],"regionId":"sha"}')
    status_is(r, 200, "lookup from evil")
    _no_cors(r, "lookup from evil")
    # Errors too.
    _no_cors(_req(ctx.port, "GET", "/nope", EVIL), "404 with Origin")


def test_default_unregister_from_evil_page_refused(ctx):
    inst = _register(ctx.port, "browser.victim.svc", "v1")
    body = json.dumps(instances_req(inst))
    # A fetch() with JSON (would need a preflight, which fails too) and the simple requests a
    # page can send without any preflight: a form post and text/plain.
    for ctype in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
        r = _req(ctx.port, "POST", "/api/registry/unregister.json", EVIL, body, ctype)
        _refused(r, 403, "unregister from %s as %s" % (EVIL, ctype))
    for path in ("/api/registry/register.json", "/api/registry/heartbeat.json",
                 "/api/replication/registry/unregister.json", "/api/replication/registry/register.json"):
        _refused(_req(ctx.port, "POST", path, EVIL, body), 403, "POST %s from evil" % path)
    check("v1" in _ids(ctx.port, "browser.victim.svc"), "the instance was unregistered by a foreign page")
    # A registration from a page must not land either.
    other = instance("browser.victim.svc", "planted")
    r = _req(ctx.port, "POST", "/api/registry/register.json", EVIL, json.dumps(instances_req(other)))
    _refused(r, 403, "register from evil")
    check("planted" not in _ids(ctx.port, "browser.victim.svc"), "a foreign page registered an instance")


def test_default_origin_null_refused(ctx):
    inst = _register(ctx.port, "browser.null.svc", "n1")
    body = json.dumps(instances_req(inst))
    for ctype in ("application/json", "text/plain"):
        r = _req(ctx.port, "POST", "/api/registry/unregister.json", "null", body, ctype)
        _refused(r, 403, "unregister with Origin: null as %s" % ctype)
    check("n1" in _ids(ctx.port, "browser.null.svc"), "Origin: null unregistered the instance")


def test_default_preflight_refused(ctx):
    for path in ("/api/registry/unregister.json", "/api/discovery/lookup.json", "/api/discovery/services.json"):
        for origin in (EVIL, "null"):
            r = _preflight(ctx.port, path, origin)
            _refused(r, 403, "preflight %s from %s" % (path, origin))


def test_requests_without_origin_unaffected(ctx):
    """Java client, SDK, curl and peers send no Origin: nothing changes for them."""
    inst = instance("browser.plain.svc", "p1")
    c = ctx.client()
    api = Api(c)
    api.must_register(inst)
    api.heartbeat(inst)
    check("p1" in api.lookup_ids("browser.plain.svc"), "registered without Origin")
    r = _req(ctx.port, "POST", "/api/registry/unregister.json", None, json.dumps(instances_req(inst)))
    status_is(r, 200, "unregister without Origin")
    _no_cors(r, "unregister without Origin")
    check("p1" not in api.lookup_ids("browser.plain.svc"), "unregister without Origin worked")
    # An OPTIONS that is not a preflight still answers.
    r = _req(ctx.port, "OPTIONS", "/api/discovery/services.json")
    check(r.status in (200, 204), "OPTIONS without Origin: HTTP %d" % r.status)
    _no_cors(r, "OPTIONS without Origin")


def test_default_ws_origin_refused(ctx):
    for path in WS_PATHS:
        for origin in (EVIL, "null", "http://127.0.0.1:%d" % (ctx.port + 1), "http://localhost:%d" % ctx.port):
            st, head = _ws_status(ctx.port, path, origin)
            check(st == 403, "WS %s with Origin %s: HTTP %d (want 403): %r" % (path, origin, st, head[:200]))
        # The server's own page (the web console): Origin equal to the Host it was served under.
        st, head = _ws_status(ctx.port, path, "http://127.0.0.1:%d" % ctx.port)
        check(st == 101, "WS %s from the same origin: HTTP %d: %r" % (path, st, head[:200]))
        st, head = _ws_status(ctx.port, path)
        check(st == 101, "WS %s without Origin: HTTP %d: %r" % (path, st, head[:200]))
    # A real session without Origin works end to end.
    w = ctx.ws("/ws/discovery/instance-change")
    eq(w.ping(b"hello"), b"hello", "PONG on a session without Origin")


# -- http.allowed-origins ------------------------------------------------------------------------


def test_allowed_origin_exact(ctx):
    srv = _own_server(ctx, ["--http.allowed-origins=%s, https://other.example:8443" % CONSOLE], "browser-exact")
    port = srv.port
    r = _req(port, "GET", "/api/discovery/services.json", CONSOLE)
    status_is(r, 200, "GET from the console")
    eq(r.header("access-control-allow-origin"), CONSOLE, "ACAO echoes the allowed origin")
    vary = ",".join(r.header_all("vary")).lower()
    check("origin" in vary, "Vary: Origin missing (%r)" % vary)
    check((r.header("access-control-allow-credentials") or "").lower() != "true" or
          r.header("access-control-allow-origin") != "*", "credentials with *")
    r = _req(port, "GET", "/api/discovery/services.json", "https://other.example:8443")
    eq(r.header("access-control-allow-origin"), "https://other.example:8443", "second origin with port")
    # Near misses are not the origin.
    for origin in (EVIL, "null", "http://console.example", "https://console.example:444",
                   "https://console.example.evil.example", "https://other.example"):
        r = _req(port, "GET", "/api/discovery/services.json", origin)
        status_is(r, 200, "GET from %s" % origin)
        check(r.header("access-control-allow-origin") is None, "ACAO for %s: %r" % (
            origin, r.header("access-control-allow-origin")))
    # Preflight from the console: fixed methods, only the simple headers it asked for.
    r = _preflight(port, "/api/registry/unregister.json", CONSOLE, headers="Content-Type, X-Evil, content-encoding")
    check(r.status in (200, 204), "console preflight: HTTP %d %r" % (r.status, r.body[:200]))
    eq(r.header("access-control-allow-origin"), CONSOLE, "preflight ACAO")
    eq(r.header("access-control-allow-methods"), "GET, POST, OPTIONS", "preflight Allow-Methods")
    allowed = [h.strip().lower() for h in (r.header("access-control-allow-headers") or "").split(",") if h.strip()]
    check("content-type" in allowed and "content-encoding" in allowed, "Allow-Headers %r" % allowed)
    check("x-evil" not in allowed, "a non-simple header was allowed: %r" % allowed)
    check("origin" in ",".join(r.header_all("vary")).lower(), "preflight Vary: Origin")
    _refused(_preflight(port, "/api/registry/unregister.json", EVIL), 403, "preflight from evil")
    # The console may change state; others still may not.
    inst = _register(port, "browser.console.svc", "c1")
    body = json.dumps(instances_req(inst))
    _refused(_req(port, "POST", "/api/registry/unregister.json", EVIL, body), 403, "unregister from evil")
    _refused(_req(port, "POST", "/api/registry/unregister.json", "null", body, "text/plain"), 403, "null")
    check("c1" in _ids(port, "browser.console.svc"), "evil unregistered the instance")
    r = _req(port, "POST", "/api/registry/unregister.json", CONSOLE, body)
    status_is(r, 200, "unregister from the console")
    eq(r.header("access-control-allow-origin"), CONSOLE, "ACAO on the console's POST")
    check("c1" not in _ids(port, "browser.console.svc"), "the console's unregister worked")
    # WebSocket: the console is accepted, others refused.
    for path in WS_PATHS:
        st, head = _ws_status(port, path, CONSOLE)
        check(st == 101, "WS %s from the console: HTTP %d %r" % (path, st, head[:200]))
        st, _ = _ws_status(port, path, EVIL)
        check(st == 403, "WS %s from evil: HTTP %d" % (path, st))


def test_allowed_origin_wildcard(ctx):
    srv = _own_server(ctx, ["--http.allowed-origins=*"], "browser-any")
    port = srv.port
    for origin in (EVIL, CONSOLE):
        r = _req(port, "GET", "/api/discovery/services.json", origin)
        status_is(r, 200, "GET from %s" % origin)
        eq(r.header("access-control-allow-origin"), "*", "ACAO with *")
        check(r.header("access-control-allow-credentials") is None,
              "Allow-Credentials sent with *: %r" % r.header("access-control-allow-credentials"))
    r = _preflight(port, "/api/discovery/lookup.json", EVIL)
    check(r.status in (200, 204), "read preflight with *: HTTP %d" % r.status)
    eq(r.header("access-control-allow-origin"), "*", "preflight ACAO with *")
    check(r.header("access-control-allow-credentials") is None, "preflight Allow-Credentials with *")
    # "*" opens reads, not writes: a page still cannot unregister.
    inst = _register(port, "browser.any.svc", "a1")
    body = json.dumps(instances_req(inst))
    _refused(_req(port, "POST", "/api/registry/unregister.json", EVIL, body, "text/plain"), 403,
             "unregister from evil with *")
    _refused(_preflight(port, "/api/registry/unregister.json", EVIL), 403, "write preflight with *")
    check("a1" in _ids(port, "browser.any.svc"), "a page unregistered with * configured")
    # Discovery sessions are reads; the heartbeat session renews leases.
    for path in WS_PATHS:
        st, _ = _ws_status(port, path, EVIL)
        want = 403 if path == "/ws/registry/heartbeat" else 101
        check(st == want, "WS %s from evil with *: HTTP %d (want %d)" % (path, st, want))


def test_allowed_origins_reload(ctx):
    tmp = server.Server([], name="browser-cfg")  # only for a temporary directory
    ctx.defer(tmp.cleanup)
    cfg = os.path.join(tmp.tmpdir, "artemis.conf")
    with open(cfg, "w") as f:
        f.write("http.allowed-origins = %s\n" % CONSOLE)
    srv = _own_server(ctx, ["--config=%s" % cfg], "browser-reload")
    eq(_req(srv.port, "GET", "/health", CONSOLE).header("access-control-allow-origin"), CONSOLE, "before")
    with open(cfg, "w") as f:
        f.write("http.allowed-origins = https://new.example\nhttp.allowed-hosts = localhost\n")
    srv.signal(signal.SIGHUP)

    def applied():
        r = _req(srv.port, "GET", "/health", "https://new.example", extra=())
        return r.status == 421 or None

    # The Host list came with the same reload: 127.0.0.1 is no longer accepted.
    wait_until(applied, 3.0, what="SIGHUP applied http.allowed-hosts")
    hdrs = [("Host", "localhost:%d" % srv.port), ("Origin", "https://new.example"), ("Connection", "close")]
    r = _raw(srv.port, "GET", "/health", hdrs)
    status_is(r, 200, "GET with an allowed Host after reload")
    eq(r.header("access-control-allow-origin"), "https://new.example", "new origin after reload")
    hdrs[1] = ("Origin", CONSOLE)
    check(_raw(srv.port, "GET", "/health", hdrs).header("access-control-allow-origin") is None,
          "the removed origin is still allowed after reload")


# -- http.allowed-hosts -------------------------------------------------------------------------


def test_allowed_hosts(ctx):
    srv = _own_server(ctx, ["--http.allowed-hosts=localhost,127.0.0.1"], "browser-hosts")
    port = srv.port

    def get(host, path="/api/discovery/services.json", version="1.1"):
        hdrs = [("Connection", "close")]
        if host is not None:
            hdrs.insert(0, ("Host", host))
        return _raw(port, "GET", path, hdrs, version=version)

    for host in ("127.0.0.1:%d" % port, "127.0.0.1", "localhost:%d" % port, "LocalHost:%d" % port):
        status_is(get(host), 200, "Host %s" % host)
    for host in ("evil.example", "evil.example:%d" % port, "127.0.0.2:%d" % port, "localhost.evil.example",
                 "[::1]:%d" % port, ""):
        r = get(host)
        check(r.status in (421, 403), "Host %r: HTTP %d (want 421)" % (host, r.status))
        r.json()
    for path in ("/health", "/metrics", "/api/registry/register.json", "/nope"):
        r = get("evil.example:%d" % port, path)
        check(r.status in (421, 403), "Host evil on %s: HTTP %d" % (path, r.status))
    r = get(None, version="1.0")
    check(r.status in (421, 403), "HTTP/1.0 without Host with a host list: HTTP %d" % r.status)
    # The rebinding attacker's POST never reaches the handler.
    inst = _register(port, "browser.hosts.svc", "h1")
    hdrs = [("Host", "evil.example:%d" % port), ("Content-Type", "text/plain"), ("Connection", "close")]
    r = _raw(port, "POST", "/api/registry/unregister.json", hdrs, json.dumps(instances_req(inst)).encode())
    check(r.status in (421, 403), "rebinding unregister: HTTP %d" % r.status)
    check("h1" in _ids(port, "browser.hosts.svc"), "rebinding unregister removed the instance")
    for path in WS_PATHS:
        st, head = _ws_status(port, path, host="evil.example:%d" % port)
        check(st in (421, 403), "WS %s with Host evil: HTTP %d %r" % (path, st, head[:200]))
        st, head = _ws_status(port, path, host="127.0.0.1:%d" % port)
        check(st == 101, "WS %s with Host 127.0.0.1: HTTP %d %r" % (path, st, head[:200]))


def test_no_host_allowed_without_list(ctx):
    r = _raw(ctx.port, "GET", "/health", [], version="1.0")
    status_is(r, 200, "HTTP/1.0 without Host and no host list")
    r = _raw(ctx.port, "GET", "/health", [("Host", "anything.example"), ("Connection", "close")])
    status_is(r, 200, "any Host with no host list")


# -- validation -----------------------------------------------------------------------------------


def _exit_2(arg, key):
    port = server.free_port()
    code, out, err = server.run_once(["--listen=127.0.0.1:%d" % port, arg], timeout=10.0)
    lines = [l for l in err.splitlines() if l.strip()]
    check(code == 2, "%s: exit status %s (want 2); stderr %r" % (arg, code, err[:300]))
    check(len(lines) == 1 and key in lines[0], "%s: want one line naming %s: %r" % (arg, key, err[:300]))


def test_bad_values_exit_2(ctx):
    for v in ("https://console.example/", "https://console.example/path", "console.example", "https://",
              "null", "*,https://console.example", "https://a.example:99999", "https://a.example:0",
              "https://a.example?x=1", "https://user@a.example", "https://a b.example", "**", "https://a.example:"):
        _exit_2("--http.allowed-origins=%s" % v, "http.allowed-origins")
    for v in ("http://localhost", "local host", "localhost:99999", "localhost:0", "a:b:c", "localhost/x", "*",
              "localhost:", "[::1"):
        _exit_2("--http.allowed-hosts=%s" % v, "http.allowed-hosts")
    # Good values start (the host list keeps 127.0.0.1 so the readiness probe gets through).
    srv = _own_server(ctx, ["--http.allowed-origins=https://a.example:8443, http://[::1]:8080 ,chrome-extension://abc",
                            "--http.allowed-hosts=LOCALHOST:8080, [::1], 10.0.0.1,artemis.example.com.,127.0.0.1"],
                      "browser-good")
    r = _req(srv.port, "GET", "/health", "http://[::1]:8080")
    eq(r.header("access-control-allow-origin"), "http://[::1]:8080", "IPv6 origin")
