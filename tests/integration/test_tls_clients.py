"""TLS on the client side (docs/security.md, "TLS"): the SDK's examples against a server's TLS
port with an https:// URL. register (ARTEMIS_CA_FILE) registers over https and keeps its lease
over wss://, lookup sees it, watch prints a change pushed over wss://; without the CA file, or
with another CA's, the same programs fail: verification is never skipped. A client certificate
(ARTEMIS_CERT_FILE / ARTEMIS_KEY_FILE) passes a server that requires one. The sidecar with
`server = https://...` and `tls.ca` registers its app and answers DNS and HTTP from what it
looked up over TLS; with another CA it registers nothing. Certificates come from
test_tls.Pki (the `openssl` command, in each test's temp dir). This module starts its own
servers."""

import json
import time

from lib import server
from lib.sdk import Examples, ids, parse_line, sdk_env
from lib.util import check, eq, wait_until
from test_tls import Pki
import test_sidecar as side

SERVER = False


def _tls_server(ctx, extra=lambda pki: []):
    """A PKI and a server whose TLS port (tls.listen) the clients use; the plain port only
    serves the harness's readiness check. extra(pki): more server flags. Returns (pki, https
    URL)."""
    tmp = server.Server([], name="tls-clients-pki")  # only for a temporary directory
    ctx.defer(tmp.cleanup)
    pki = Pki(tmp.tmpdir)
    cert, key = pki.cert("srv", 4201)
    tls_port = server.free_port()
    srv = server.Server(["--region=default", "--zone=default", "--tls.listen=127.0.0.1:%d" % tls_port,
                         "--tls.cert=" + cert, "--tls.key=" + key] + extra(pki), name="tls-clients")
    ctx.defer(srv.cleanup)
    srv.start()
    ctx.server = srv
    return pki, "https://127.0.0.1:%d" % tls_port


def _env(pki, ca="ca.pem", **extra):
    return sdk_env(ARTEMIS_CA_FILE=pki.path(ca) if ca else None, **extra)


def test_examples_over_https_and_wss(ctx):
    pki, url = _tls_server(ctx)
    ex = Examples(ctx)
    env = _env(pki)
    w = ex.watch("tls.c", url=url, env=env)
    _, line = w.next_line(5.0, "the watch line at start")
    eq(ids(parse_line(line)), set(), "watch line at start")
    reg = ex.register("tls.c", "c-1", 8101, url=url, env=env)
    reg.wait_line(lambda s: s == "registered", 5.0, "'registered'")
    code, out, err = ex.lookup("tls.c", url=url, env=env)
    check(code == 0, "lookup over https: exit %s, stderr %r" % (code, err))
    eq(ids(parse_line(out.splitlines()[0])), {"c-1"}, "lookup over https")
    # The change reaches watch over its wss:// socket (a poll would take 60 s).
    t0 = time.monotonic()
    w.wait_line(lambda s: ids(parse_line(s)) == {"c-1"}, 5.0, "a line with c-1")
    check(time.monotonic() - t0 < 3.0, "watch saw c-1 late: not pushed over wss")
    # The heartbeat socket over wss keeps the lease; SIGTERM deregisters over https.
    check(reg.terminate(5.0) == 0, "register exit status after SIGTERM")
    w.wait_line(lambda s: ids(parse_line(s)) == set(), 5.0, "a line without c-1")
    check(w.terminate(5.0) == 0, "watch exit status")


test_examples_over_https_and_wss.timeout = 40


def test_no_ca_or_another_ca_fails(ctx):
    pki, url = _tls_server(ctx)
    ex = Examples(ctx)
    for what, ca in (("the system's store", None), ("another CA", "ca2.pem")):
        code, out, err = ex.lookup("tls.d", url=url, env=_env(pki, ca=ca))
        check(code == 1, "lookup with %s: exit %s (want 1), stdout %r" % (what, code, out))
        check(out.strip() == "", "lookup with %s printed %r" % (what, out))
        check(err.strip() != "", "lookup with %s: no message on stderr" % what)
        reg = ex.register("tls.d", "d-1", 8102, url=url, env=_env(pki, ca=ca))
        reg.no_line(2.5)
        reg.kill()
    # Nothing registered through the refused connections.
    code, out, _ = ex.lookup("tls.d", url=url, env=_env(pki))
    check(code == 0, "lookup with the right CA")
    eq(ids(parse_line(out.splitlines()[0])), set(), "nothing registered without the right CA")


def test_wrong_host_fails(ctx):
    # A certificate for another name: the CA is right, the host name check refuses it.
    tmp = server.Server([], name="tls-clients-pki")
    ctx.defer(tmp.cleanup)
    pki = Pki(tmp.tmpdir)
    cert, key = pki.cert("other", 4202, san="DNS:other.example")
    tls_port = server.free_port()
    srv = server.Server(["--region=default", "--zone=default", "--tls.listen=127.0.0.1:%d" % tls_port,
                         "--tls.cert=" + cert, "--tls.key=" + key], name="tls-clients-host")
    ctx.defer(srv.cleanup)
    srv.start()
    ctx.server = srv
    ex = Examples(ctx)
    url = "https://127.0.0.1:%d" % tls_port
    code, out, err = ex.lookup("tls.e", url=url, env=_env(pki))
    check(code == 1, "lookup against a certificate for another host: exit %s, stdout %r" % (code, out))
    w = ex.watch("tls.e", url=url, env=_env(pki))
    w.no_line(2.5)
    w.kill()


def test_client_certificate(ctx):
    pki, url = _tls_server(ctx, lambda pki: ["--tls.client-ca=" + pki.path("ca.pem"),
                                             "--tls.verify-client=require"])
    cert, key = pki.cert("client", 4203)
    ex = Examples(ctx)
    code, out, err = ex.lookup("tls.f", url=url, env=_env(pki))
    check(code == 1, "lookup without a client certificate: exit %s, stdout %r" % (code, out))
    env = _env(pki, ARTEMIS_CERT_FILE=cert, ARTEMIS_KEY_FILE=key)
    w = ex.watch("tls.f", url=url, env=env)
    w.next_line(5.0, "the watch line at start")
    reg = ex.register("tls.f", "f-1", 8103, url=url, env=env)
    reg.wait_line(lambda s: s == "registered", 5.0, "'registered' with a client certificate")
    w.wait_line(lambda s: ids(parse_line(s)) == {"f-1"}, 5.0, "a line with f-1 over wss with a client certificate")
    check(reg.terminate(5.0) == 0, "register exit status")
    w.terminate(5.0)


test_client_certificate.timeout = 40


def test_sidecar_over_https(ctx):
    pki, url = _tls_server(ctx)
    # Another service, registered through the plain port, for the sidecar's DNS and HTTP.
    side.http_register(ctx, side.inst("tls.peer", "p-1", 7501, ip="127.0.0.61"))
    _, sc = side.started(ctx, "tls.side", extra={"server": url, "tls.ca": pki.path("ca.pem")})
    wait_until(lambda: sc.instance_id in side.http_lookup(ctx, "tls.side"), 5.0, 0.05,
               "the sidecar's app registered over https")
    wait_until(lambda: sc.health()["registered"], 3.0, 0.05, "/health registered")
    r = sc.dns("tls.peer.service.artemis", side.T_A)
    eq(r["rcode"], side.NOERROR, "DNS rcode")
    eq(side.addrs(r), ["127.0.0.61"], "DNS A answer looked up over https")
    code, body = sc.get("/v1/services/tls.peer")
    eq(code, 200, "HTTP status")
    eq([i["instanceId"] for i in json.loads(body)["instances"]], ["p-1"], "HTTP answer")
    # A change reaches the sidecar over its wss:// watch socket (polling would take 60 s).
    side.http_register(ctx, side.inst("tls.peer", "p-2", 7502, ip="127.0.0.62"))
    wait_until(lambda: side.addrs(sc.dns("tls.peer.service.artemis", side.T_A)) == ["127.0.0.61", "127.0.0.62"],
               5.0, 0.05, "p-2 pushed to the sidecar")


def test_sidecar_another_ca_registers_nothing(ctx):
    pki, url = _tls_server(ctx)
    _, sc = side.started(ctx, "tls.side2", extra={"server": url, "tls.ca": pki.path("ca2.pem")})
    time.sleep(2.5)
    check(not sc.health()["registered"], "registered through a server it could not verify")
    check(sc.instance_id not in side.http_lookup(ctx, "tls.side2"), "the app reached the registry")
