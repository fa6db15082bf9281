"""A TLS-only deployment end to end (issue 14, docs/security.md "TLS"): two nodes of one
cluster with TLS on `listen` itself (no plain port anywhere), peers on https:// verified
against the CA, the SDK's examples registering on one node over https/wss and looking the
instance up on the other (replicated over https), artemisctl reading both. Plain HTTP on those
ports gets nothing. Certificates come from test_tls.Pki; this module starts its own servers."""

import http.client
import json
import os
import ssl
import subprocess
import time

from lib import cluster, server
from lib.sdk import Examples, ids, parse_line, sdk_env
from lib.util import check, eq
from test_tls import Pki

SERVER = False


def _https_health(port, ca):
    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=1.0,
                                    context=ssl.create_default_context(cafile=ca))
    try:
        c.request("GET", "/health")
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"{}")
    finally:
        c.close()


def _wait_up(node, port, ca, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        check(node.proc.poll() is None, "node %s exited (%s):\n%s" % (node.name, node.proc.returncode,
                                                                     node.log_tail(20)))
        try:
            status, doc = _https_health(port, ca)
            if status == 200 and doc.get("nodeStatus") == "up":
                return doc
            last = (status, doc)
        except (OSError, ssl.SSLError, http.client.HTTPException, ValueError) as e:
            last = e
        time.sleep(0.1)
    raise AssertionError("node %s not up over https within %.0f s: %r\n%s" % (node.name, timeout, last,
                                                                           node.log_tail(20)))


def test_tls_only_cluster_sdk_and_artemisctl(ctx):
    tmp = server.Server([], name="tls-only-pki")  # only for a temporary directory
    ctx.defer(tmp.cleanup)
    pki = Pki(tmp.tmpdir)
    cert, key = pki.cert("node", 77)
    ca = pki.path("ca.pem")
    ports = [server.free_port() for _ in range(2)]
    # region/zone "default": what the SDK's examples register into
    peers = "default:" + ",".join("https://127.0.0.1:%d/" % p for p in ports)
    nodes = []
    for i, port in enumerate(ports):
        # No tls.listen: TLS on listen itself, so this deployment has no plain port.
        args = ["--region=default", "--peers=" + peers, "--node-url=https://127.0.0.1:%d/" % port,
                "--tls.cert=" + cert,
                "--tls.key=" + key, "--tls.ca=" + ca] + cluster.FAST_ARGS
        n = cluster.Node(port, "default", args, "tls-only-%d" % i)
        ctx.defer(n.cleanup)
        nodes.append(n)
    for n in nodes:
        n.spawn()
    for n, port in zip(nodes, ports):
        doc = _wait_up(n, port, ca, 20.0)
        check(doc.get("tls", {}).get("enabled") is True, "/health tls: %r" % doc.get("tls"))

    # Plain HTTP on a TLS-only port gets no HTTP answer.
    c = http.client.HTTPConnection("127.0.0.1", ports[0], timeout=2.0)
    try:
        c.request("GET", "/health")
        r = c.getresponse()
        body = r.read()
        check(b'"status"' not in body, "plain HTTP answered on a TLS-only port: %r" % body[:200])
    except (OSError, http.client.HTTPException):
        pass
    finally:
        c.close()

    # The SDK: register on node 0 over https (heartbeats over wss), look up on node 1.
    ex = Examples(ctx)
    env = sdk_env(ARTEMIS_CA_FILE=ca)
    urls = ["https://127.0.0.1:%d" % p for p in ports]
    reg = ex.register("tls.only.svc", "t-1", 8301, url=urls[0], env=env)
    reg.wait_line(lambda s: s == "registered", 10.0, "'registered' over https")
    deadline = time.monotonic() + 10.0
    got = None
    while time.monotonic() < deadline:
        code, out, err = ex.lookup("tls.only.svc", url=urls[1], env=env)
        if code == 0 and out.strip():
            got = ids(parse_line(out.splitlines()[0]))
            if got == {"t-1"}:
                break
        time.sleep(0.2)
    eq(got, {"t-1"}, "lookup on the other node (replicated over https)")

    # artemisctl against both nodes over https, with the CA.
    ctl = os.environ.get("ARTEMISCTL") or "build/bin/artemisctl"
    check(os.path.exists(ctl), "artemisctl not built (%s): set ARTEMISCTL" % ctl)
    cenv = {k: v for k, v in os.environ.items() if k not in ("ARTEMIS_SERVER", "ARTEMIS_CA_FILE", "ARTEMIS_TOKEN")}
    p = subprocess.run([ctl, "--server", ",".join(urls), "--ca", ca, "--json", "service", "tls.only.svc"],
                       capture_output=True, text=True, timeout=15, env=cenv)
    eq(p.returncode, 0, "artemisctl service over https: %s" % p.stderr)
    check('"t-1"' in p.stdout, "artemisctl service shows t-1: %r" % p.stdout[:300])
    p = subprocess.run([ctl, "--server", urls[1], "--ca", ca, "cluster"],
                       capture_output=True, text=True, timeout=15, env=cenv)
    eq(p.returncode, 0, "artemisctl cluster over https: %s" % p.stderr)
    for port in ports:
        check("127.0.0.1:%d" % port in p.stdout, "cluster lists node %d: %r" % (port, p.stdout[:400]))
    check(reg.terminate(5.0) == 0, "register exit status after SIGTERM")
    for n in nodes:
        eq(n.stop(5.0), 0, "node %s exit status after SIGTERM" % n.name)


test_tls_only_cluster_sdk_and_artemisctl.timeout = 60
