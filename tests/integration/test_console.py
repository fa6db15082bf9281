"""The web console (/console/, docs/operations.md "Web console") in a real headless Chromium
(Debian's `chromium`, driven over the DevTools protocol by lib/cdp.py) against the runner's
server: what a person sees on each page, pull-out / pull-in through the dialog, the audit log,
the cluster page, a live push, keyboard use, and the first paint with 10,000 services.
Screenshots go to build/test-artifacts/ (one PNG per page). Without Chromium the tests fail,
naming the package.

The HTTP checks (headers, ETag, no path outside the embedded files, same-origin POSTs) come
first and need no browser."""

import json
import os
import time

from lib import cdp, http, server
from lib.util import Api, check, eq, instance, lookup_req, status_is, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
ARTIFACTS = os.path.join(HERE, "..", "..", "build", "test-artifacts")
SVC = "console.demo.svc"


def _raw(port, method, path, headers, body=b""):
    c = http.Connection(port)
    try:
        c.connect()
        head = "%s %s HTTP/1.1\r\n" % (method, path)
        head += "".join("%s: %s\r\n" % (k, v) for k, v in headers)
        if body or method == "POST":
            head += "Content-Length: %d\r\n" % len(body)
        c.send_raw(head.encode("latin-1") + b"\r\n" + body)
        return c.read_response(method)
    finally:
        c.close()


def _get(port, path, extra=()):
    return _raw(port, "GET", path, [("Host", "127.0.0.1:%d" % port), ("Connection", "close")] + list(extra))


def _browser(ctx):
    b = cdp.Browser()
    ctx.defer(b.close)  # killed by PID at the end of the test, whatever happens
    b.start()
    return b


def _url(ctx, frag=""):
    return "http://127.0.0.1:%d/console/%s" % (ctx.port, frag)


def _shot(b, name):
    path = b.screenshot(os.path.join(ARTIFACTS, name))
    print("    screenshot %s" % os.path.relpath(path, os.path.join(HERE, "..", "..")))


def _register_demo(ctx):
    api = Api(ctx.client())
    api.must_register(instance(SVC, "c1", port=9101), instance(SVC, "c2", port=9102),
                      instance("console.other.svc", "o1", port=9103))
    return api


def _row_status(b, iid):
    return b.eval("(function(){var r=document.querySelector('#instances tr[data-instance=\"%s\"]');"
                  "return r ? r.children[3].textContent : null;})()" % iid)


# -- HTTP: the embedded files and the headers -----------------------------------------------------


def test_console_http(ctx):
    port = ctx.port
    r = _get(port, "/console")
    status_is(r, 301, "/console")
    eq(r.header("location"), "console/", "Location of /console")
    r = _get(port, "/console/")
    status_is(r, 200, "/console/")
    check(r.header("content-type").startswith("text/html"), "index content type %r" % r.header("content-type"))
    check(b"app.js" in r.body and b"<script>" not in r.body, "index.html loads app.js, no inline script")
    csp = r.header("content-security-policy") or ""
    for part in ("default-src 'self'", "connect-src 'self' ws: wss:", "script-src 'self'", "frame-ancestors 'none'"):
        check(part in csp, "CSP lacks %r: %r" % (part, csp))
    check("unsafe-inline" not in csp and "unsafe-eval" not in csp, "CSP allows inline code: %r" % csp)
    eq(r.header("x-content-type-options"), "nosniff", "X-Content-Type-Options")
    eq(r.header("x-frame-options"), "DENY", "X-Frame-Options")
    eq(r.header("cache-control"), "no-cache", "Cache-Control")
    for name, ctype in (("app.js", "text/javascript"), ("app.css", "text/css"), ("index.html", "text/html")):
        r = _get(port, "/console/" + name)
        status_is(r, 200, name)
        check(r.header("content-type").startswith(ctype), "%s: Content-Type %r" % (name, r.header("content-type")))
        etag = r.header("etag")
        check(etag and etag.startswith('W/"'), "%s: ETag %r" % (name, etag))
        r2 = _get(port, "/console/" + name, [("If-None-Match", etag)])
        status_is(r2, 304, "%s with If-None-Match" % name)
        eq(r2.body, b"", "304 body")
        check(r2.header("content-length") is None, "304 carries no Content-Length")
        status_is(_get(port, "/console/" + name, [("If-None-Match", 'W/"other"')]), 200, "stale ETag")
    # Only the embedded files: unknown names, directories, traversal and the filesystem are out.
    for path in ("/console/nope.js", "/console/console.c", "/console/embed.sh", "/console/etc/passwd",
                 "/console/..%2f..%2fMakefile", "/console/%2e%2e/%2e%2e/etc/passwd", "/console/app.js%00.png",
                 "/console/index.html/x", "/console/app.css/../../health.json"):
        r = _get(port, path)
        check(r.status in (400, 404), "%s: HTTP %d (want 400/404)" % (path, r.status))
        check(b"<html" not in r.body and b"root:" not in r.body, "%s leaked a file" % path)
    r = _raw(port, "POST", "/console/", [("Host", "127.0.0.1:%d" % port), ("Connection", "close")], b"x")
    status_is(r, 405, "POST /console/")


def test_same_origin_post_accepted(ctx):
    """The console's fetches carry Origin = the server's own origin; they must pass, and a
    foreign or rebound origin must not."""
    port = ctx.port
    _register_demo(ctx)
    body = json.dumps({"serviceId": SVC}).encode()

    def post(host, origin):
        return _raw(port, "POST", "/api/management/service.json",
                    [("Host", host), ("Origin", origin), ("Content-Type", "application/json"),
                     ("Connection", "close")], body)

    r = post("127.0.0.1:%d" % port, "http://127.0.0.1:%d" % port)
    status_is(r, 200, "same-origin POST")
    eq(r.json()["responseStatus"]["status"], "success", "same-origin POST answer")
    status_is(post("localhost:%d" % port, "http://localhost:%d" % port), 200, "same-origin POST via localhost")
    status_is(post("127.0.0.1:%d" % port, "http://127.0.0.1:%d" % (port + 1)), 403, "other port")
    status_is(post("127.0.0.1:%d" % port, "https://evil.example"), 403, "foreign origin")
    # A rebound DNS name is "same origin" for the browser; with no allowed-hosts list it is
    # not trusted.
    status_is(post("evil.example:%d" % port, "http://evil.example:%d" % port), 403, "rebound name")


# -- the pages in Chromium ----------------------------------------------------------------------


def test_services_page(ctx):
    _register_demo(ctx)
    b = _browser(ctx)
    b.navigate(_url(ctx))
    text = b.wait("document.querySelector('#services') && document.querySelector('#services').textContent",
                  10, "the services table")
    check(SVC in text and "console.other.svc" in text, "service names on the page: %r" % text[:500])
    row = b.eval("(function(){var r=document.querySelector('#services tr[data-service=\"%s\"]');"
                 "return r && [r.children[1].textContent, r.children[2].textContent];})()" % SVC)
    eq(row, ["2", "0"], "up/down counts of %s" % SVC)
    # The search box filters.
    b.eval("var s=document.getElementById('search'); s.value='other'; s.dispatchEvent(new Event('input'));")
    t = b.wait("document.querySelector('#services').textContent", 5)
    check("console.other.svc" in t and SVC not in t, "search 'other' left %r" % t[:300])
    b.eval("var s=document.getElementById('search'); s.value=''; s.dispatchEvent(new Event('input'));")
    check(not b.console, "page errors: %r" % b.console)
    _shot(b, "console-services.png")


test_services_page.timeout = 60


def test_pullout_and_pullin(ctx):
    api = _register_demo(ctx)
    b = _browser(ctx)
    b.navigate(_url(ctx, "#/service/" + SVC))
    b.wait("document.getElementById('pullout-c2')", 10, "the pull-out button of c2")
    eq(_row_status(b, "c2"), "up", "c2 before")
    b.eval("document.getElementById('pullout-c2').click()")
    b.wait("!document.getElementById('dialog-backdrop').hidden", 5, "the dialog")
    eq(b.active_id(), "dialog-operator", "focus in the dialog")
    # Both fields are required: an empty reason does nothing.
    b.type_text("op-alice")
    b.eval("document.getElementById('dialog-confirm').click()")
    b.wait("document.getElementById('dialog-error').textContent", 5, "the required-field message")
    check(not b.eval("document.getElementById('dialog-backdrop').hidden"), "dialog closed without a reason")
    eq(b.active_id(), "dialog-reason", "focus moved to the missing reason")
    b.type_text("console test: bad deploy")
    _shot(b, "console-pullout-dialog.png")
    b.eval("document.getElementById('dialog-confirm').click()")
    b.wait("document.getElementById('dialog-backdrop').hidden", 10, "the dialog to close")
    b.wait("(function(){var r=document.querySelector('#instances tr[data-instance=\"c2\"]');"
           "return r && r.children[3].textContent === 'down';})()", 10, "c2 shown as down")
    why = b.eval("document.querySelector('#instances tr[data-instance=\"c2\"] .why').textContent")
    check("op-alice" in why and "bad deploy" in why, "why down: %r" % why)
    eq(_row_status(b, "c1"), "up", "c1 stays up")
    check(b.eval("!!document.getElementById('pullin-c2')"), "c2 offers pull-in")
    wait_until(lambda: "c2" not in api.lookup_ids(SVC), 5, what="c2 gone from lookup.json")
    check("c1" in api.lookup_ids(SVC), "c1 still in lookup.json")
    _shot(b, "console-service.png")
    # Pull it back in.
    b.eval("document.getElementById('pullin-c2').click()")
    b.wait("!document.getElementById('dialog-backdrop').hidden", 5, "the pull-in dialog")
    check(b.eval("document.getElementById('dialog-operator').value") == "op-alice", "operator remembered")
    eq(b.active_id(), "dialog-reason", "focus on the reason")
    b.type_text("console test: fixed")
    b.eval("document.getElementById('dialog-confirm').click()")
    b.wait("(function(){var r=document.querySelector('#instances tr[data-instance=\"c2\"]');"
           "return r && r.children[3].textContent === 'up';})()", 10, "c2 shown as up again")
    wait_until(lambda: "c2" in api.lookup_ids(SVC), 5, what="c2 back in lookup.json")
    check(not b.console, "page errors: %r" % b.console)


test_pullout_and_pullin.timeout = 60


def test_audit_log_page(ctx):
    b = _browser(ctx)
    b.navigate(_url(ctx, "#/log"))
    text = b.wait("document.querySelector('#log') && document.querySelector('#log tbody').textContent",
                  10, "audit log rows")
    check("op-alice" in text and "pullout" in text and "console test: bad deploy" in text,
          "the pull-out in the audit log: %r" % text[:600])
    # Newest first: the pull-in comes before the pull-out.
    first = b.eval("document.querySelector('#log tbody tr').textContent")
    check("console test: fixed" in first, "newest entry first: %r" % first)
    _shot(b, "console-log.png")


test_audit_log_page.timeout = 45


def test_cluster_page(ctx):
    b = _browser(ctx)
    b.navigate(_url(ctx, "#/cluster"))
    text = b.wait("document.querySelector('#nodes') && document.querySelector('main').textContent",
                  10, "the cluster page")
    check("127.0.0.1:%d" % ctx.port in text, "this node listed: %r" % text[:400])
    for what in ("Self-preservation", "Management store", "sqlite: ok", "Replication lag"):
        check(what in text, "%r on the cluster page: %r" % (what, text[:800]))
    eq(b.eval("document.querySelector('#nodes tbody tr td:nth-child(3)').textContent"), "up", "node status")
    _shot(b, "console-cluster.png")


test_cluster_page.timeout = 45


def test_live_push(ctx):
    api = _register_demo(ctx)
    b = _browser(ctx)
    b.navigate(_url(ctx, "#/service/" + SVC))
    b.wait("window.__wsOpen && document.getElementById('instances')", 10, "the WebSocket session")
    b.eval("window.__noReload = 1")
    api.must_register(instance(SVC, "c3-pushed", port=9104))
    b.wait("document.querySelector('#instances tr[data-instance=\"c3-pushed\"]')", 10,
           "the pushed instance on the page")
    check(b.eval("window.__noReload === 1"), "the page reloaded instead of re-rendering")
    check(b.eval("window.__pushes") >= 1, "no push message counted")
    api.must_unregister(instance(SVC, "c3-pushed", port=9104))
    b.wait("!document.querySelector('#instances tr[data-instance=\"c3-pushed\"]')", 10,
           "the unregistered instance gone from the page")
    _shot(b, "console-live.png")


test_live_push.timeout = 45


def test_keyboard(ctx):
    _register_demo(ctx)
    b = _browser(ctx)
    b.navigate(_url(ctx))
    b.wait("document.querySelector('#services a')", 10, "the services table")
    seen = []
    for _ in range(40):
        b.key("Tab")
        seen.append(b.eval("(function(e){return e ? (e.id || e.tagName + ':' + (e.textContent || '').trim()) : ''})(document.activeElement)"))
    check("search" in seen, "Tab never reached the search box: %r" % seen)
    check("nav-log" in seen and "nav-cluster" in seen, "Tab never reached the navigation: %r" % seen)
    check(any(s.startswith("A:" + SVC) for s in seen), "Tab never reached a service link: %r" % seen)
    # On a service page: Tab reaches the pull-out button, Enter opens the dialog, Esc closes
    # it and gives focus back.
    b.navigate(_url(ctx, "#/service/" + SVC))
    b.wait("document.getElementById('pullout-c1')", 10, "the service page")
    found = False
    for _ in range(30):
        b.key("Tab")
        if b.active_id() == "pullout-c1":
            found = True
            break
    check(found, "Tab never reached the pull-out button")
    check(b.eval("getComputedStyle(document.activeElement).outlineStyle") != "none", "focus not visible")
    b.key("Enter")
    b.wait("!document.getElementById('dialog-backdrop').hidden", 5, "the dialog opened by Enter")
    eq(b.active_id(), "dialog-operator", "focus in the dialog")
    b.key("Escape")
    b.wait("document.getElementById('dialog-backdrop').hidden", 5, "Esc to close the dialog")
    eq(b.active_id(), "pullout-c1", "focus back on the button")


test_keyboard.timeout = 60


def test_10000_services_first_paint(ctx):
    """10,000 services (one instance each, registered in batches of 500), then the first page
    rendered in Chromium; the first paint is printed and the pager works."""
    api = Api(ctx.client(timeout=30.0))
    n, batch = 10000, 500
    t0 = time.monotonic()
    for start in range(0, n, batch):
        insts = [instance("console.bulk.%05d" % i, "b%d" % i, port=10000 + i % 50000) for i in range(start, start + batch)]
        api.must_register(*insts)
    print("    registered %d services in %.1f s" % (n, time.monotonic() - t0))
    b = _browser(ctx)
    paints = []
    for attempt in range(3):
        b.navigate(_url(ctx, "?run=%d" % attempt))
        ms = b.wait("window.__firstPaintMs", 20, "the first paint with %d services" % n)
        info = b.eval("window.__firstRender")
        paints.append((ms, info))
        check(info["services"] >= n, "services counted: %r" % info)
    rows = b.eval("document.querySelectorAll('#services tbody tr').length")
    eq(rows, 100, "rows on the first page")
    check("Page 1 of" in b.eval("document.getElementById('page-info').textContent"), "pager text")
    check("console.bulk.00000" in b.eval("document.querySelector('#services tbody').textContent"), "first service")
    b.eval("document.getElementById('page-next').click()")
    b.wait("document.querySelector('#services tbody').textContent.indexOf('console.bulk.00100') >= 0", 5, "page 2")
    b.eval("var s=document.getElementById('search'); s.value='bulk.09999'; s.dispatchEvent(new Event('input'));")
    b.wait("document.querySelectorAll('#services tbody tr').length === 1", 5, "search among 10,000")
    b.eval("var s=document.getElementById('search'); s.value=''; s.dispatchEvent(new Event('input'));")
    footer = b.eval("document.getElementById('footer').textContent")
    check(footer.startswith("First paint:"), "first paint in the footer: %r" % footer)
    b.eval("window.scrollTo(0, 0)")
    _shot(b, "console-services-10000.png")
    for ms, info in paints:
        print("    first paint with %d services: %.0f ms (fetch %.0f ms, render %.0f ms)"
              % (info["services"], ms, info["fetchMs"], info["renderMs"]))
    best = sorted(p[0] for p in paints)
    check(best[1] < 5000, "first paint too slow: %r" % best)


test_10000_services_first_paint.timeout = 120


# -- access tokens: a second server with a tokens file --------------------------------------------

OPER_TOK = "console-oper-0123456789abcdef"
DISC_TOK = "console-disc-0123456789abcdef"


def _token_server(ctx):
    srv = server.Server([], name="console-auth")
    ctx.defer(srv.cleanup)  # killed by PID, its directory removed
    path = os.path.join(srv.tmpdir, "tokens")
    with open(path, "w") as f:
        f.write("# console test tokens\n%s operate,discover\n%s discover\n" % (OPER_TOK, DISC_TOK))
    srv.extra_args = ["--auth.tokens-file=%s" % path, "--auth.open-scopes=register"]
    srv.start()
    return srv


def _ids_with_token(c, svc):
    r = c.post("/api/discovery/lookup.json", lookup_req(svc), headers=[("Authorization", "Bearer " + OPER_TOK)])
    eq(r.status, 200, "lookup with the operate token")
    return {i.get("instanceId") for i in (r.json()["services"][0].get("instances") or [])}


def _enter_token(b, tok):
    b.wait("!document.getElementById('token-backdrop').hidden && document.activeElement.id === 'token-input'",
           10, "the token form with the focus in it")
    b.type_text(tok)
    b.key("Enter")
    b.wait("document.getElementById('token-backdrop').hidden", 5, "the token form to close")


def _pullout(b, iid, operator, reason):
    b.eval("document.getElementById('pullout-%s').click()" % iid)
    b.wait("!document.getElementById('dialog-backdrop').hidden", 5, "the pull-out dialog")
    b.eval("document.getElementById('dialog-operator').value=%s; document.getElementById('dialog-reason').value=%s;"
           "document.getElementById('dialog-confirm').click()" % (json.dumps(operator), json.dumps(reason)))


def test_console_asks_for_token(ctx):
    srv = _token_server(ctx)
    c = http.Client(srv.port)
    ctx.defer(c.close)
    api = Api(c)  # register is open on this server; discovery and management are not
    api.must_register(instance(SVC, "c1", port=9101), instance(SVC, "c2", port=9102))
    base = "http://127.0.0.1:%d/console/" % srv.port
    b = _browser(ctx)
    b.navigate(base)
    b.wait("!document.getElementById('token-backdrop').hidden && document.activeElement.id === 'token-input'",
           10, "the token form")
    eq(b.eval("document.getElementById('token-input').type"), "password", "token input type")
    eq(b.eval("document.querySelector('label[for=\"token-input\"]').textContent"), "Token", "token label")
    said = b.eval("document.getElementById('token-error').textContent")
    check("required" in said, "the server's message on the form: %r" % said)
    _shot(b, "console-token.png")
    # Esc cancels: the page says a token is needed.
    b.key("Escape")
    b.wait("document.getElementById('token-backdrop').hidden", 5, "Esc to close the token form")
    t = b.wait("document.querySelector('main .alert') && document.querySelector('main .alert').textContent", 5,
               "the error after cancelling")
    check("token" in t, "error after cancelling: %r" % t)
    # The discover-only token: services are shown (from discovery), a pull-out is refused.
    b.navigate(base + "?again=1")
    _enter_token(b, DISC_TOK)
    text = b.wait("document.querySelector('#services') && document.querySelector('#services').textContent",
                  10, "the services table with the discover token")
    check(SVC in text, "services with the discover token: %r" % text[:300])
    check("does not grant scope operate" in b.eval("document.getElementById('scope-note').textContent"),
          "the scope note on the services page")
    eq(b.eval("sessionStorage.getItem('artemis.console.token')"), DISC_TOK, "token in sessionStorage")
    eq(b.eval("localStorage.length"), 0, "nothing in localStorage")
    check(DISC_TOK not in b.eval("location.href"), "token in the URL bar")
    check(not b.eval("document.getElementById('token-forget').hidden"), "Forget token shown")
    b.eval("location.hash = '#/service/%s'" % SVC)
    b.wait("document.getElementById('pullout-c2')", 10, "the service page with the discover token")
    _pullout(b, "c2", "op-bob", "console test: no scope")
    msg = b.wait("document.getElementById('dialog-error').textContent", 10, "the refused pull-out")
    check("this token does not grant scope operate" in msg, "refused pull-out message: %r" % msg)
    check(b.eval("document.getElementById('token-backdrop').hidden"), "a 403 must not ask for a token again")
    check("c2" in _ids_with_token(c, SVC), "c2 still discoverable")
    b.key("Escape")
    b.wait("document.getElementById('dialog-backdrop').hidden", 5, "Esc to close the dialog")
    # Forget the token; the page asks again; the operate token pulls out.
    b.eval("document.getElementById('token-forget').click()")
    _enter_token(b, OPER_TOK)
    b.wait("document.getElementById('pullout-c2') && !document.getElementById('scope-note')", 10,
           "the service page with the operate token")
    eq(b.eval("sessionStorage.getItem('artemis.console.token')"), OPER_TOK, "the new token stored")
    _pullout(b, "c2", "op-carol", "console test: with operate")
    b.wait("document.getElementById('dialog-backdrop').hidden", 10, "the dialog to close")
    b.wait("(function(){var r=document.querySelector('#instances tr[data-instance=\"c2\"]');"
           "return r && r.children[3].textContent === 'down';})()", 10, "c2 shown as down")
    wait_until(lambda: "c2" not in _ids_with_token(c, SVC), 5, what="c2 gone from lookup.json")
    # The live push still arrives (the WebSocket carries ?access_token=).
    b.wait("window.__wsOpen", 15, "the WebSocket session with the token")
    api.must_register(instance(SVC, "c3-pushed", port=9104))
    b.wait("document.querySelector('#instances tr[data-instance=\"c3-pushed\"]')", 15,
           "the pushed instance on the page")
    check(not b.console, "page errors: %r" % b.console)


test_console_asks_for_token.timeout = 90
