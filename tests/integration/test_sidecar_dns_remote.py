"""artemis-sidecar serving DNS beyond loopback (issue 14, docs/security.md "Sidecar DNS").

A non-loopback dns.listen / http.listen needs dns.allow_remote / http.allow_remote = true, else
the sidecar exits 2 with one line naming the key. With it, UDP answers to a non-loopback source
are capped (max(512, 3 x the query), never the client's EDNS0 size) and get TC, so a spoofed
source cannot turn the sidecar into an amplifier; loopback sources keep their EDNS0 answers.
The remote source is a network namespace joined to this one by a veth pair (lib/netns.py
HostLink: needs root), deleted at the end of the test.
"""

import socket

import test_sidecar as ts
from lib import netns
from lib.util import check, eq

SERVER_ARGS = ts.SERVER_ARGS
SERVICE = "side.r250"
NAME = SERVICE + ".service.artemis"


def test_non_loopback_listen_needs_allow_remote(ctx):
    base = ["--app.service_id=x", "--app.port=1"]
    for args, key in (
        (["--dns.listen=0.0.0.0:%d" % ts.free_udp_tcp_port()], "dns.allow_remote"),
        (["--dns-listen=[::]:%d" % ts.free_udp_tcp_port()], "dns.allow_remote"),
        (["--dns.listen=192.0.2.1:53"], "dns.allow_remote"),
        (["--http.listen=0.0.0.0:%d" % ts.free_udp_tcp_port()], "http.allow_remote"),
        (["--dns.allow_remote=true", "--http.listen=[::]:%d" % ts.free_udp_tcp_port()], "http.allow_remote"),
        (["--dns.allow_remote=maybe"], "dns.allow_remote"),
    ):
        code, out, err = ts.run_bad(base + args)
        eq(code, 2, "exit status for %s (stderr %r)" % (args, err))
        lines = err.strip().splitlines()
        check(len(lines) == 1 and key in lines[0], "one line naming %s for %s: %r" % (key, args, err))
        if "maybe" not in args[-1]:
            ep = key.split(".")[0] + ".listen"
            check(ep in lines[0], "the line names %s too: %r" % (ep, lines[0]))
    # from the config file too
    code, _, err = ts.run_bad(base, "dns.listen = 0.0.0.0:5353\n")
    check(code == 2 and "dns.allow_remote" in err, "from the file: %d %r" % (code, err))


def test_allow_remote_caps_udp_for_remote_sources(ctx):
    link = netns.HostLink("dnsr")
    link.create()
    ctx.defer(lambda: check(link.leftovers() == [], "namespace left behind: %s" % link.leftovers()))
    ctx.defer(link.cleanup)
    insts = [ts.inst(SERVICE, "r-%03d" % i, 8000 + i, ip="127.2.%d.%d" % (i // 250, 1 + i % 250))
             for i in range(250)]
    ts.http_register(ctx, *insts)
    want = sorted(i["ip"] for i in insts)
    port = ts.free_udp_tcp_port()
    _, sc = ts.started(ctx, "side.remoteapp", extra={"dns.listen": "0.0.0.0:%d" % port,
                                                         "dns.allow-remote": "true"})  # the spelling: - and _ alike
    sc.dns_port = port

    # loopback: the whole EDNS0 answer, as before
    r = sc.dns(NAME, ts.T_A, edns=4096)
    check(not r["tc"], "loopback EDNS0 4096: no TC (size %d)" % r["size"])
    eq(addrs_of(r), want, "all 250 to a loopback source over UDP")
    local_size = r["size"]
    query_len = len(ts.build_query(NAME, ts.T_A, 1, 4096))

    # another host (the namespace's 10.79.x.x): capped, TC, question and OPT only
    s = link.socket()
    try:
        s.settimeout(3.0)
        qid = 0x4242
        s.sendto(ts.build_query(NAME, ts.T_A, qid, 4096), (link.host_addr, port))
        msg, peer = s.recvfrom(65535)
    finally:
        s.close()
    r = ts.parse_response(msg)
    eq(r["id"], qid, "answer id")
    cap = max(512, 3 * query_len)
    check(r["tc"], "TC for a remote source")
    check(r["size"] <= cap, "remote answer %d bytes > cap %d" % (r["size"], cap))
    eq(len(r["answers"]), 0, "no answers in the truncated remote answer")
    remote_size = r["size"]

    # the same remote host over TCP (a handshake: no spoofing) gets everything
    t = link.socket(kind=socket.SOCK_STREAM)
    try:
        t.settimeout(3.0)
        t.connect((link.host_addr, port))
        pkt = ts.build_query(NAME, ts.T_A, 7)
        t.sendall(len(pkt).to_bytes(2, "big") + pkt)
        n = int.from_bytes(ts.recv_exact(t, 2), "big")
        r = ts.parse_response(ts.recv_exact(t, n))
    finally:
        t.close()
    check(not r["tc"], "no TC over TCP from the remote host")
    eq(addrs_of(r), want, "all 250 to the remote host over TCP")

    code, body = sc.get("/metrics")
    eq(code, 200, "/metrics")
    check("artemis_sidecar_dns_truncated_remote_total 1\n" in body,
          "one answer truncated for a remote source: %s" %
          [l for l in body.splitlines() if "truncated" in l])
    print("  query %d B: loopback answer %d B, remote answer %d B (TC)" % (query_len, local_size, remote_size),
          flush=True)


def addrs_of(r):
    return sorted(a["addr"] for a in r["answers"] if a["type"] in (ts.T_A, ts.T_AAAA))
