"""TLS on the server's listeners (docs/security.md, "TLS"): HTTP and WebSocket over TLS answer
like plain, a plain and a TLS port side by side, certificate verification failures (other CA,
wrong host, expired), client certificates, SIGHUP certificate reload without dropping an open
connection, a bad certificate at start (exit 2), a 2-node cluster over https and artemisctl
with --ca. Certificates are made with the `openssl` command in each test's temp dir. This
module starts its own servers."""

import json
import os
import signal
import ssl
import subprocess
import time

from lib import cluster, http, server, ws
from lib.util import Api, check, eq, fx, fxj, instance

SERVER = False


def _openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, "openssl %s: %s" % (" ".join(args), p.stderr[-500:]))


class Pki:
    """Two CAs and certificates signed by them, in dir d."""

    def __init__(self, d):
        self.d = d
        for ca in ("ca", "ca2"):
            _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + ".key", "-out", ca + ".pem",
                     "-days", "2", "-subj", "/CN=artemis test " + ca, cwd=d)

    def path(self, name):
        return os.path.join(self.d, name)

    def cert(self, name, serial, ca="ca", san="IP:127.0.0.1,DNS:localhost", days="2"):
        """name.pem / name.key signed by ca; days "-1" makes an expired certificate."""
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                 "-subj", "/CN=" + name, cwd=self.d)
        os.chmod(self.path(name + ".key"), 0o600)
        with open(self.path(name + ".ext"), "w") as f:
            f.write("subjectAltName=%s\n" % san)
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                 "-set_serial", str(serial), "-days", days, "-extfile", name + ".ext", "-out", name + ".pem",
                 cwd=self.d)
        return self.path(name + ".pem"), self.path(name + ".key")


def _ctx(cafile, cert=None):
    c = ssl.create_default_context(cafile=cafile)
    if cert:
        c.load_cert_chain(cert[0], cert[1])
    return c


def _setup(ctx, extra=(), certname="srv", serial=4097):
    """A PKI and a server with a plain port and a TLS port (tls.listen). Returns (pki, srv, tls_port)."""
    tmp = server.Server([], name="tls-pki")  # only for a temporary directory
    ctx.defer(tmp.cleanup)
    pki = Pki(tmp.tmpdir)
    cert, key = pki.cert(certname, serial)
    tls_port = server.free_port()
    srv = server.Server(["--tls.listen=127.0.0.1:%d" % tls_port, "--tls.cert=" + cert, "--tls.key=" + key]
                        + list(extra), name="tls")
    ctx.defer(srv.cleanup)
    srv.start()
    ctx.server = srv
    return pki, srv, tls_port


def _peer_serial(port, cafile):
    c = _ctx(cafile)
    conn = http.Connection(port, ssl_context=c)
    try:
        conn.connect()
        return int(conn.sock.getpeercert()["serialNumber"], 16)
    finally:
        conn.close()


def test_http_and_websocket_over_tls_beside_plain(ctx):
    pki, srv, tls_port = _setup(ctx)
    tls = Api(http.Client(tls_port, ssl_context=_ctx(pki.path("ca.pem"))))
    plain = Api(http.Client(srv.port))
    ctx.defer(tls.c.close)
    ctx.defer(plain.c.close)
    a = instance("tls.svc", "t1")
    tls.must_register(a)
    eq(tls.lookup("tls.svc"), [a], "lookup over TLS")
    eq(plain.lookup("tls.svc"), [a], "the plain port sees the same registry")
    check(tls.c.conn.sock.selected_alpn_protocol() in (None, "http/1.1"), "ALPN")
    h = tls.c.get_json("/health")
    eq(h.get("tls", {}).get("enabled"), True, "/health tls.enabled")
    check(h["tls"].get("notAfter", "").endswith("Z"), "/health tls.notAfter: %r" % h["tls"])
    # WebSocket over TLS: the heartbeat session answers as over plain TCP.
    w = ws.WebSocket(tls_port, "/ws/registry/heartbeat", ssl_context=_ctx(pki.path("ca.pem")))
    ctx.defer(w.abort)
    w.send_text(fx("F17", 0))
    eq(w.recv_json(3.0), fxj("F17", 2), "heartbeat frame over wss for an unknown lease")
    tls.must_register(fxj("F1")["instances"][0])
    w.send_text(fx("F17", 0))
    eq(w.recv_json(3.0), fxj("F17", 1), "heartbeat frame over wss for a live lease")
    w.close()
    m = plain.c.get("/metrics").text()
    check("artemis_tls_handshakes_total " in m and "artemis_tls_handshakes_total 0\n" not in m,
          "handshakes counted in /metrics")
    # The plain port does not speak TLS and the TLS port does not speak plain HTTP.
    try:
        r = http.quick_get(tls_port, "/health", timeout=2.0)
        check(False, "plain HTTP on the TLS port answered %r" % r)
    except (http.HttpError, OSError):
        pass


def test_verification_failures(ctx):
    pki, srv, tls_port = _setup(ctx)
    # A client trusting another CA fails the handshake; the server counts a failed handshake.
    try:
        c = http.Connection(tls_port, ssl_context=_ctx(pki.path("ca2.pem")))
        c.connect()
        check(False, "handshake succeeded with a client trusting another CA")
    except ssl.SSLCertVerificationError:
        pass
    # Wrong host name: the certificate names 127.0.0.1/localhost, not other.example.
    try:
        c = http.Connection(tls_port, ssl_context=_ctx(pki.path("ca.pem")), server_hostname="other.example")
        c.connect()
        check(False, "hostname verification passed for other.example")
    except ssl.SSLCertVerificationError as e:
        check("hostname" in str(e).lower() or "match" in str(e).lower(), "hostname error: %s" % e)
    deadline = time.monotonic() + 3
    while True:
        m = http.Client(srv.port).get("/metrics").text()
        if "artemis_tls_handshakes_failed_total 0\n" not in m or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    check("artemis_tls_handshakes_failed_total 0\n" not in m, "failed handshakes counted")


def test_wrong_host_and_expired_certificates(ctx):
    tmp = server.Server([], name="tls-pki")
    ctx.defer(tmp.cleanup)
    pki = Pki(tmp.tmpdir)
    for name, san, days, want in (("wronghost", "DNS:other.example", "2", "match"),
                                  ("expired", "IP:127.0.0.1,DNS:localhost", "-1", "expired")):
        cert, key = pki.cert(name, 7, san=san, days=days)
        tls_port = server.free_port()
        srv = server.Server(["--tls.listen=127.0.0.1:%d" % tls_port, "--tls.cert=" + cert, "--tls.key=" + key],
                            name="tls-" + name)
        ctx.defer(srv.cleanup)
        srv.start()
        ctx.server = srv
        try:
            http.Connection(tls_port, ssl_context=_ctx(pki.path("ca.pem"))).connect()
            check(False, "%s certificate accepted by the client" % name)
        except ssl.SSLCertVerificationError as e:
            check(want in str(e).lower(), "%s: %s" % (name, e))
        srv.stop()


def test_client_certificates_required(ctx):
    tmp = server.Server([], name="tls-pki")
    ctx.defer(tmp.cleanup)
    pki = Pki(tmp.tmpdir)
    good = pki.cert("client", 21)
    other = pki.cert("client2", 22, ca="ca2")
    _, srv, tls_port = _setup(ctx, ["--tls.client-ca=" + pki.path("ca.pem"), "--tls.verify-client=require"])
    # _setup made its own PKI: trust both server CAs on the client side.
    srv_ca = os.path.join(os.path.dirname(srv.extra_args[1].split("=", 1)[1]), "ca.pem")

    def get(cert):
        c = http.Connection(tls_port, ssl_context=_ctx(srv_ca, cert), timeout=3.0)
        try:
            return c.request("GET", "/health", None, [("Connection", "close")], "plain")
        finally:
            c.close()

    eq(get(good).status, 200, "a client certificate from tls.client-ca is accepted")
    for what, cert in (("no certificate", None), ("a certificate from another CA", other)):
        try:
            r = get(cert)
            check(False, "%s: answered HTTP %d" % (what, r.status))
        except (ssl.SSLError, OSError, http.HttpError):
            pass


def test_sighup_reloads_certificate_and_keeps_open_connections(ctx):
    pki, srv, tls_port = _setup(ctx, serial=4097)
    ca = pki.path("ca.pem")
    eq(_peer_serial(tls_port, ca), 4097, "serial before reload")
    keep = Api(http.Client(tls_port, ssl_context=_ctx(ca)))
    ctx.defer(keep.c.close)
    keep.must_register(instance("tls.reload", "r1"))
    # Replace the files in place (same paths as on the command line) and reload.
    cert, key = pki.cert("srv-new", 8194)
    os.replace(key, pki.path("srv.key"))
    os.replace(cert, pki.path("srv.pem"))
    srv.signal(signal.SIGHUP)
    deadline = time.monotonic() + 3
    while _peer_serial(tls_port, ca) != 8194 and time.monotonic() < deadline:
        time.sleep(0.05)
    eq(_peer_serial(tls_port, ca), 8194, "new connections see the new certificate")
    n = keep.c.conn.connects
    keep.must_register(instance("tls.reload", "r2"))
    eq(keep.c.conn.connects, n, "the open keep-alive connection was kept")
    eq(keep.lookup_ids("tls.reload"), {"r1", "r2"}, "served on the old connection")
    # A broken file on reload keeps the current certificate.
    with open(pki.path("srv.pem"), "w") as f:
        f.write("not a certificate\n")
    srv.signal(signal.SIGHUP)
    time.sleep(0.3)
    check(srv.alive(), "server exited after a bad certificate on SIGHUP")
    eq(_peer_serial(tls_port, ca), 8194, "certificate kept after a failed reload")
    check("keeping the current certificate" in srv.log_tail(10), "one line about the failed reload")


def test_bad_certificate_at_start_exits_2(ctx):
    tmp = server.Server([], name="tls-pki")
    ctx.defer(tmp.cleanup)
    pki = Pki(tmp.tmpdir)
    cert, key = pki.cert("srv", 5)
    base = ["--listen=127.0.0.1:%d" % server.free_port(), "--data-dir=" + tmp.data_dir]
    code, out, err = server.run_once(base + ["--tls.cert=" + pki.path("missing.pem"), "--tls.key=" + key])
    eq(code, 2, "exit status with a missing tls.cert")
    lines = [l for l in err.splitlines() if l.strip()]
    check(len(lines) == 1 and "tls.cert" in lines[0], "one line naming tls.cert: %r" % err)
    code, out, err = server.run_once(base + ["--tls.cert=" + cert, "--tls.key=" + pki.path("ca.key")])
    eq(code, 2, "exit status with a key that does not match")
    check("tls.key" in err and "PRIVATE KEY" not in err, "names tls.key, no key material: %r" % err)


def test_cluster_over_https(ctx):
    tmp = server.Server([], name="tls-pki")
    ctx.defer(tmp.cleanup)
    pki = Pki(tmp.tmpdir)
    cert, key = pki.cert("node", 33)
    ports = [server.free_port() for _ in range(2)]
    tports = [server.free_port() for _ in range(2)]
    peers = "sha-z1:" + ",".join("https://127.0.0.1:%d/" % p for p in tports)
    nodes = []
    for i in range(2):
        args = ["--peers=" + peers, "--node-url=https://127.0.0.1:%d/" % tports[i],
                "--tls.listen=127.0.0.1:%d" % tports[i], "--tls.cert=" + cert, "--tls.key=" + key,
                "--tls.ca=" + pki.path("ca.pem"), "--tls.client-ca=" + pki.path("ca.pem"),
                "--tls.verify-client=require"] + cluster.FAST_ARGS
        n = cluster.Node(ports[i], "sha-z1", args, "tlsnode%d" % i)
        ctx.defer(n.cleanup)
        nodes.append(n)
    for n in nodes:
        n.spawn()
    for n in nodes:
        n.wait_ready(15.0)
    ctx.server = nodes[0]
    c0 = Api(http.Client(tports[0], ssl_context=_ctx(pki.path("ca.pem"), (cert, key))))
    c1 = Api(http.Client(ports[1]))
    ctx.defer(c0.c.close)
    ctx.defer(c1.c.close)
    c0.must_register(instance("tls.cluster", "c1"))
    c1.wait_present("tls.cluster", "c1", timeout=5.0)
    # Replication only from peers: a client with its own certificate from the same CA may
    # register, but not write through the replication path (only the node certificate does).
    client = pki.cert("client", 34)
    cc = http.Client(tports[0], ssl_context=_ctx(pki.path("ca.pem"), client))
    ctx.defer(cc.close)
    body = {"instances": [instance("tls.cluster", "forged")]}
    r = cc.request("POST", "/api/replication/registry/register.json", json.dumps(body).encode())
    eq(r.status, 403, "a client certificate writing to the replication path: %r" % r.body[:200])
    eq(r.json()["responseStatus"]["errorCode"], "no-permission", "refusal body")
    r = cc.request("POST", "/api/registry/register.json", json.dumps(body).encode())
    eq(r.status, 200, "the same client registering normally")
    node = http.Client(tports[0], ssl_context=_ctx(pki.path("ca.pem"), (cert, key)))
    ctx.defer(node.close)
    r = node.request("POST", "/api/replication/registry/register.json",
                     json.dumps({"instances": [instance("tls.cluster", "peer")]}).encode())
    eq(r.status, 200, "the node certificate writes through the replication path")
    # the bootstrap copy over TLS: many slices through the TLS connection's write callbacks
    batch = [instance("tls.copy%d" % (k % 10), "i%d" % k) for k in range(3000)]
    for k in range(0, len(batch), 500):
        eq(c0.register(*batch[k:k + 500])["responseStatus"]["status"], "success", "bulk register")
    for gz in ([], [("Accept-Encoding", "gzip")]):
        r = node.request("POST", "/api/replication/registry/services.json",
                         b'{"regionId":"sha","zoneId":"sha-z1"}',
                         headers=[("Content-Type", "application/json")] + gz)
        eq((r.status, r.header("transfer-encoding")), (200, "chunked"), "the copy over TLS %s" % gz)
        got = {s["serviceId"]: len(s["instances"]) for s in r.json()["services"]
               if s["serviceId"].startswith("tls.copy")}
        eq(got, {"tls.copy%d" % k: 300 for k in range(10)}, "services of the copy over TLS %s" % gz)


def test_artemisctl_with_ca(ctx):
    pki, srv, tls_port = _setup(ctx)
    ctl = os.environ.get("ARTEMISCTL") or "build/bin/artemisctl"
    env = {k: v for k, v in os.environ.items() if k not in ("ARTEMIS_SERVER", "ARTEMIS_CA_FILE")}
    url = "https://127.0.0.1:%d" % tls_port
    p = subprocess.run([ctl, "--server", url, "--ca", pki.path("ca.pem"), "--json", "health"],
                       capture_output=True, text=True, timeout=10, env=env)
    eq(p.returncode, 0, "artemisctl --ca health: %s" % p.stderr)
    check('"UP"' in p.stdout, "health over https: %r" % p.stdout[:300])
    p = subprocess.run([ctl, "--server", url, "health"], capture_output=True, text=True, timeout=10, env=env)
    eq(p.returncode, 1, "without --ca the server's certificate is not trusted")
    env["ARTEMIS_CA_FILE"] = pki.path("ca.pem")
    p = subprocess.run([ctl, "--server", url, "services"], capture_output=True, text=True, timeout=10, env=env)
    eq(p.returncode, 0, "ARTEMIS_CA_FILE: %s" % p.stderr)
