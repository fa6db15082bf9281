"""artemis-sidecar end to end: the real sidecar binary against this module's server.

Each test starts build/bin/artemis-sidecar (or $ARTEMIS_SIDECAR) on free loopback ports with a
temporary config file pointing at the module's server; the app it registers is a tiny Python
http.server thread whose health answer the test can flip. DNS is spoken with hand-written
packets (stdlib only) over UDP and TCP; HTTP with the harness client.
"""

import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import http.client
import http.server

from lib import server
from lib.util import check, eq, instance, short, wait_until

SERVER_ARGS = ["--region=default", "--zone=default"]

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REGION = "default"
ZONE = "default"

T_A, T_SOA, T_AAAA, T_SRV, T_OPT = 1, 6, 28, 33, 41
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5


def sidecar_binary():
    path = os.environ.get("ARTEMIS_SIDECAR") or os.path.join(ROOT, "build", "bin", "artemis-sidecar")
    if not os.access(path, os.X_OK):
        raise AssertionError("sidecar %s does not exist (run `make`, or set ARTEMIS_SIDECAR)" % path)
    return path


# ---- the app -----------------------------------------------------------------------------------


class App:
    """A tiny HTTP app on a free loopback port; GET /health answers `status` (flip it)."""

    def __init__(self):
        self.status = 200
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"ok\n" if app.status < 300 else b"sick\n"
                self.send_response(app.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def health_url(self):
        return "http://127.0.0.1:%d/health" % self.port

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- the sidecar -------------------------------------------------------------------------------


def free_udp_tcp_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        port = server.free_port()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
    raise AssertionError("no free port")


class Sidecar:
    def __init__(self, ctx, service_id, app_port, health_url=None, extra=None, args=(), env=None):
        self.dns_port = free_udp_tcp_port()
        self.http_port = server.free_port()
        self.tmp = tempfile.mkdtemp(prefix="artemis-it-sidecar-")
        self.conf = os.path.join(self.tmp, "sidecar.conf")
        self.instance_id = "127.0.0.1:%d" % app_port
        lines = [
            "# written by test_sidecar.py",
            "server = http://127.0.0.1:%d" % ctx.port,
            "region = %s" % REGION,
            "zone = %s" % ZONE,
            "app.service_id = %s" % service_id,
            "app.instance_id = %s" % self.instance_id,
            "app.ip = 127.0.0.1",
            "app.port = %d" % app_port,
            "app.health_check_url = %s" % (health_url or ""),
            "app.health_check_interval_ms = 300",
            "app.metadata.owner = tests",
            "dns.listen = 127.0.0.1:%d" % self.dns_port,
            "dns.domain = artemis",
            "dns.ttl = 5",
            "http.listen = 127.0.0.1:%d" % self.http_port,
        ]
        for k, v in (extra or {}).items():
            lines.append("%s = %s" % (k, v))
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log_path = os.path.join(self.tmp, "sidecar.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sidecar_binary(), "--config", self.conf] + list(args),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, close_fds=True,
            env=dict({k: v for k, v in os.environ.items() if not k.startswith("ARTEMIS_SIDECAR_")}, **(env or {})),
        )
        ctx.defer(self.cleanup)
        wait_until(self.ready, 5.0, 0.05, "sidecar HTTP endpoint up")

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def ready(self):
        check(self.proc.poll() is None, "sidecar exited %s: %s" % (self.proc.poll(), self.log_tail()))
        try:
            self.get("/health")
            return True
        except OSError:
            return False

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=5)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        finally:
            c.close()

    def health(self):
        code, body = self.get("/health")
        eq(code, 200, "/health status")
        return json.loads(body)

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("sidecar did not exit within %.0f s after %s" % (timeout, sig))

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def dns(self, name, qtype=T_A, tcp=False, edns=None, qid=None):
        return dns_query(self.dns_port, name, qtype, tcp=tcp, edns=edns, qid=qid)


# ---- DNS, by hand ------------------------------------------------------------------------------


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def build_query(name, qtype, qid, edns=None, rd=True):
    flags = 0x0100 if rd else 0
    pkt = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 1 if edns else 0)
    pkt += encode_name(name) + struct.pack(">HH", qtype, 1)
    if edns:
        pkt += b"\x00" + struct.pack(">HHIH", T_OPT, edns, 0, 0)
    return pkt


def read_name(msg, off):
    labels, jumped, end, hops = [], False, None, 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumped = True
            hops += 1
            check(hops < 64, "compression loop in an answer")
            continue
        if n == 0:
            off += 1
            break
        labels.append(msg[off + 1:off + 1 + n].decode("latin-1"))
        off += 1 + n
    return ".".join(labels), (end if jumped else off)


def parse_response(msg):
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        _, off = read_name(msg, off)
        off += 4
    sections = []
    for count in (an, ns, ar):
        rrs = []
        for _ in range(count):
            name, off = read_name(msg, off)
            rtype, rclass, ttl, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
            off += 10
            rdata = msg[off:off + rdlen]
            rr = {"name": name.lower(), "type": rtype, "ttl": ttl}
            if rtype == T_A:
                rr["addr"] = socket.inet_ntop(socket.AF_INET, rdata)
            elif rtype == T_AAAA:
                rr["addr"] = socket.inet_ntop(socket.AF_INET6, rdata)
            elif rtype == T_SRV:
                rr["priority"], rr["weight"], rr["port"] = struct.unpack(">HHH", rdata[:6])
                rr["target"] = read_name(msg, off + 6)[0].lower()
            elif rtype == T_SOA:
                mname, o2 = read_name(msg, off)
                rname, o2 = read_name(msg, o2)
                rr["soa"] = struct.unpack(">IIIII", msg[o2:o2 + 20])
            elif rtype == T_OPT:
                rr["udp_size"] = rclass
            off += rdlen
            rrs.append(rr)
        sections.append(rrs)
    return {
        "id": qid, "rcode": flags & 0xF, "tc": bool(flags & 0x0200), "aa": bool(flags & 0x0400),
        "qr": bool(flags & 0x8000), "answers": sections[0], "authority": sections[1],
        "additional": [r for r in sections[2] if r["type"] != T_OPT], "size": len(msg),
    }


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise AssertionError("DNS TCP connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def dns_query(port, name, qtype, tcp=False, edns=None, qid=None, timeout=3.0):
    qid = random.randint(0, 0xFFFF) if qid is None else qid
    pkt = build_query(name, qtype, qid, edns)
    if tcp:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(struct.pack(">H", len(pkt)) + pkt)
            n = struct.unpack(">H", recv_exact(s, 2))[0]
            msg = recv_exact(s, n)
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(pkt, ("127.0.0.1", port))
            msg, _ = s.recvfrom(65535)
    r = parse_response(msg)
    eq(r["id"], qid, "DNS answer id")
    check(r["qr"], "QR set in the answer")
    return r


def addrs(r):
    return sorted(a["addr"] for a in r["answers"] if a["type"] in (T_A, T_AAAA))


# ---- registry helpers --------------------------------------------------------------------------


def inst(service_id, instance_id, port, ip="127.0.0.1", zone=ZONE, **kw):
    return instance(service_id, instance_id, ip=ip, port=port, region=REGION, zone=zone, **kw)


def http_register(ctx, *insts):
    r = ctx.client().post_json("/api/registry/register.json", {"instances": list(insts)})
    check(r.get("responseStatus", {}).get("status") == "success", "register.json failed: %s" % short(r))


def http_lookup(ctx, service_id):
    req = {"discoveryConfigs": [{"discoveryData": None, "regionId": None, "serviceId": service_id, "zoneId": None}],
           "regionId": REGION, "zoneId": ZONE}
    r = ctx.client().post_json("/api/discovery/lookup.json", req)
    check(r.get("responseStatus", {}).get("status") == "success", "lookup.json failed: %s" % short(r))
    return {i["instanceId"]: i for i in (r.get("services") or [{}])[0].get("instances") or []}


def started(ctx, service_id="side.app", health=True, **kw):
    app = App()
    ctx.defer(app.close)
    sc = Sidecar(ctx, service_id, app.port, health_url=app.health_url if health else None, **kw)
    return app, sc


# ---- tests -------------------------------------------------------------------------------------


def test_registers_app_and_health(ctx):
    app, sc = started(ctx, "side.reg")
    wait_until(lambda: sc.instance_id in http_lookup(ctx, "side.reg"), 5.0, 0.05, "app registered")
    i = http_lookup(ctx, "side.reg")[sc.instance_id]
    eq({k: i[k] for k in ("ip", "port", "status", "regionId", "zoneId", "healthCheckUrl")},
       {"ip": "127.0.0.1", "port": app.port, "status": "up", "regionId": REGION, "zoneId": ZONE,
        "healthCheckUrl": app.health_url}, "registered instance")
    eq((i.get("metadata") or {}).get("owner"), "tests", "metadata from app.metadata.owner")
    wait_until(lambda: sc.health()["registered"], 3.0, 0.05, "/health registered")
    h = sc.health()
    eq(h["status"], "ok", "/health status")
    eq(h["app"]["healthy"], True, "app healthy")
    check(isinstance(h["app"]["lastCheckMs"], int) and h["app"]["lastCheckMs"] > 0, "lastCheckMs: %s" % h)
    eq(h["app"]["lastError"], None, "lastError")


def test_dns_a_udp_tcp(ctx):
    http_register(ctx, inst("Side.Dns", "d-1", 7001, ip="127.0.0.11"), inst("Side.Dns", "d-2", 7002, ip="127.0.0.12"),
                  inst("Side.Dns", "d-3", 7003, ip="127.0.0.13", status="down"))
    _, sc = started(ctx, "side.a")
    r = sc.dns("Side.Dns.service.artemis", T_A)
    eq(r["rcode"], NOERROR, "rcode")
    check(r["aa"], "authoritative answer")
    eq(addrs(r), ["127.0.0.11", "127.0.0.12"], "A answer (up instances only)")
    check(all(a["ttl"] == 5 for a in r["answers"]), "TTL = dns.ttl: %s" % r["answers"])
    # later queries of any case answer from the cache; TCP too
    eq(addrs(sc.dns("side.dns.SERVICE.Artemis", T_A)), ["127.0.0.11", "127.0.0.12"], "mixed-case name")
    eq(addrs(sc.dns("Side.Dns.service.artemis", T_A, tcp=True)), ["127.0.0.11", "127.0.0.12"], "A over TCP")
    # the app's own (dotted) service id
    wait_until(lambda: addrs(sc.dns("side.a.service.artemis", T_A)) == ["127.0.0.1"], 5.0, 0.1,
               "the sidecar's own app in DNS")
    # several queries on one TCP connection
    with socket.create_connection(("127.0.0.1", sc.dns_port), timeout=3) as s:
        for qid in (11, 12, 13):
            pkt = build_query("side.dns.service.artemis", T_A, qid)
            s.sendall(struct.pack(">H", len(pkt)) + pkt)
        got = []
        for _ in range(3):
            n = struct.unpack(">H", recv_exact(s, 2))[0]
            r = parse_response(recv_exact(s, n))
            got.append(r["id"])
            eq(addrs(r), ["127.0.0.11", "127.0.0.12"], "pipelined answer")
        eq(sorted(got), [11, 12, 13], "pipelined ids")


def test_dns_srv_additional(ctx):
    http_register(ctx, inst("side.srv", "s-1", 7101, ip="127.0.0.21"),
                  inst("side.srv", "S_2", 7102, ip="127.0.0.22", metadata={"weight": "7"}))
    _, sc = started(ctx, "side.srv.app")
    r = sc.dns("side.srv.service.artemis", T_SRV)
    eq(r["rcode"], NOERROR, "rcode")
    srv = sorted((a["priority"], a["weight"], a["port"], a["target"]) for a in r["answers"])
    eq(srv, [(0, 1, 7101, "s-1.side.srv.service.artemis"), (0, 7, 7102, "s-2.side.srv.service.artemis")],
       "SRV records")
    extra = sorted((a["name"], a["addr"]) for a in r["additional"])
    eq(extra, [("s-1.side.srv.service.artemis", "127.0.0.21"), ("s-2.side.srv.service.artemis", "127.0.0.22")],
       "additional A records for the targets")
    # the target resolves on its own
    eq(addrs(sc.dns("s-2.side.srv.service.artemis", T_A)), ["127.0.0.22"], "A of an SRV target")


def test_dns_unknown_nxdomain_and_refused(ctx):
    _, sc = started(ctx, "side.nx")
    r = sc.dns("no.such.thing.service.artemis", T_A)
    eq(r["rcode"], NXDOMAIN, "unknown service rcode")
    eq(r["answers"], [], "no answers")
    soa = [a for a in r["authority"] if a["type"] == T_SOA]
    check(len(soa) == 1, "SOA in the authority section: %s" % r["authority"])
    eq(soa[0]["soa"][4], 5, "SOA minimum = dns.ttl")
    eq(sc.dns("not-a-service-name.artemis", T_A)["rcode"], NXDOMAIN, "bad shape inside the domain")
    for name in ("example.com", "side.nx.service.consul", "artemis.example"):
        eq(sc.dns(name, T_A)["rcode"], REFUSED, "name outside the domain: %s" % name)
        eq(sc.dns(name, T_A, tcp=True)["rcode"], REFUSED, "name outside the domain over TCP: %s" % name)


def test_dns_known_but_none_up_nodata(ctx):
    http_register(ctx, inst("side.down", "x-1", 7201, ip="127.0.0.31", status="down"))
    _, sc = started(ctx, "side.nd")
    r = sc.dns("side.down.service.artemis", T_A)
    eq(r["rcode"], NOERROR, "known service with nothing up: NOERROR")
    eq(r["answers"], [], "no data")
    check(any(a["type"] == T_SOA for a in r["authority"]), "SOA with no-data: %s" % r["authority"])
    eq(sc.dns("side.down.service.artemis", T_AAAA)["answers"], [], "AAAA: no data")


def test_dns_zone_group_filters(ctx):
    http_register(ctx,
                  inst("side.zg", "z-1", 7301, ip="127.0.0.41", zone="default", groupId="blue"),
                  inst("side.zg", "z-2", 7302, ip="127.0.0.42", zone="other", groupId="Green"),
                  inst("side.zg", "z-3", 7303, ip="127.0.0.43", zone="other", groupId="blue"),
                  inst("side.zg", "z-4", 7304, ip="::1", zone="default"))
    _, sc = started(ctx, "side.zgapp")
    eq(addrs(sc.dns("side.zg.service.artemis", T_A)), ["127.0.0.41", "127.0.0.42", "127.0.0.43"], "all A")
    eq(addrs(sc.dns("side.zg.service.artemis", T_AAAA)), ["::1"], "AAAA")
    eq(addrs(sc.dns("side.zg.service.other.zone.artemis", T_A)), ["127.0.0.42", "127.0.0.43"], "zone filter")
    eq(addrs(sc.dns("side.zg.service.OTHER.zone.artemis", T_A)), ["127.0.0.42", "127.0.0.43"], "zone filter, any case")
    eq(addrs(sc.dns("side.zg.service.blue.group.artemis", T_A)), ["127.0.0.41", "127.0.0.43"], "group filter")
    eq(addrs(sc.dns("side.zg.service.other.zone.green.group.artemis", T_A)), ["127.0.0.42"], "zone + group")
    r = sc.dns("side.zg.service.nowhere.zone.artemis", T_A)
    eq((r["rcode"], r["answers"]), (NOERROR, []), "a zone with nothing: no data")


def test_dns_big_answers_tc_tcp_edns(ctx):
    insts = [inst("side.big", "b-%03d" % i, 8000 + i, ip="127.0.%d.%d" % (1 + i // 250, 1 + i % 250))
             for i in range(300)]
    http_register(ctx, *insts)
    want = sorted(i["ip"] for i in insts)
    _, sc = started(ctx, "side.bigapp")
    r = sc.dns("side.big.service.artemis", T_A)  # UDP, no EDNS: 512 bytes
    check(r["tc"], "TC set for 300 A records over UDP without EDNS")
    check(r["size"] <= 512, "UDP answer %d bytes > 512" % r["size"])
    r = sc.dns("side.big.service.artemis", T_A, tcp=True)
    check(not r["tc"], "TC not set over TCP")
    eq(addrs(r), want, "all 300 over TCP")
    # EDNS 4096: 300 A records (~4.8 KB) still do not fit; 200 of a smaller service do not
    # either, but 100 do.
    insts2 = [inst("side.mid", "m-%03d" % i, 9000 + i, ip="127.1.0.%d" % (1 + i)) for i in range(100)]
    http_register(ctx, *insts2)
    r = sc.dns("side.mid.service.artemis", T_A)
    check(r["tc"], "100 A records do not fit in 512 bytes")
    r = sc.dns("side.mid.service.artemis", T_A, edns=4096)
    check(not r["tc"], "100 A records fit with EDNS 4096 (size %d)" % r["size"])
    check(512 < r["size"] <= 4096, "EDNS answer size %d" % r["size"])
    eq(len(r["answers"]), 100, "100 answers with EDNS 4096")
    r = sc.dns("side.big.service.artemis", T_A, edns=4096)
    check(r["tc"] and r["size"] <= 4096, "300 A records > 4096 bytes: TC (size %d)" % r["size"])
    r = sc.dns("side.big.service.artemis", T_SRV, tcp=True)
    eq(len(r["answers"]), 300, "300 SRV over TCP")
    eq(len(r["additional"]), 300, "300 additional A over TCP")


def test_dns_garbage_survives(ctx):
    _, sc = started(ctx, "side.garbage")
    rnd = random.Random(1234)
    good = build_query("side.garbage.service.artemis", T_A, 77)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(300):
            kind = i % 4
            if kind == 0:
                pkt = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 80)))
            elif kind == 1:
                pkt = good[:rnd.randrange(len(good))]
            elif kind == 2:
                b = bytearray(good)
                for _ in range(4):
                    b[rnd.randrange(len(b))] = rnd.randrange(256)
                pkt = bytes(b)
            else:  # a compression loop in the question
                pkt = struct.pack(">HHHHHH", 5, 0, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack(">HH", 1, 1)
            s.sendto(pkt, ("127.0.0.1", sc.dns_port))
    # garbage over TCP too: a bogus frame, then a truncated one, then close
    with socket.create_connection(("127.0.0.1", sc.dns_port), timeout=3) as t:
        t.sendall(b"\x00\x05hello\x00\x30abc")
    time.sleep(0.2)
    check(sc.proc.poll() is None, "sidecar alive after garbage: %s" % sc.log_tail())
    wait_until(lambda: addrs(sc.dns("side.garbage.service.artemis", T_A)) == ["127.0.0.1"], 5.0, 0.1,
               "still answering after garbage")
    r = dns_query(sc.dns_port, "side.garbage.service.artemis", T_A, tcp=True)
    eq(addrs(r), ["127.0.0.1"], "TCP still answering")


def test_http_service_line(ctx):
    http_register(ctx, inst("side.http", "h-1", 7401, ip="127.0.0.51"), inst("side.http", "h-2", 7402, ip="127.0.0.52"))
    _, sc = started(ctx, "side.httpapp")
    code, body = sc.get("/v1/services/side.http")
    eq(code, 200, "status")
    check(body.endswith("\n") and body.count("\n") == 1, "one line: %r" % body)
    obj = json.loads(body)
    eq(list(obj.keys()), ["serviceId", "instances"], "lookup example's keys")
    eq(obj["serviceId"], "side.http", "serviceId")
    eq(sorted(obj["instances"], key=lambda i: i["instanceId"]),
       [{"instanceId": "h-1", "ip": "127.0.0.51", "port": 7401, "status": "up"},
        {"instanceId": "h-2", "ip": "127.0.0.52", "port": 7402, "status": "up"}], "instances")
    for i in obj["instances"]:
        eq(list(i.keys()), ["instanceId", "ip", "port", "status"], "instance keys in the example's order")
    code, body = sc.get("/v1/services/side.nothing.here")
    eq(code, 404, "unknown service status")
    check("error" in json.loads(body), "JSON error: %r" % body)
    code, body = sc.get("/no/such/path")
    eq(code, 404, "unknown path")
    code, body = sc.get("/metrics")
    eq(code, 200, "/metrics")
    check("artemis_sidecar_dns_queries_total" in body, "metrics text: %r" % body[:200])


def test_health_flip(ctx):
    app, sc = started(ctx, "side.flip")
    wait_until(lambda: sc.instance_id in http_lookup(ctx, "side.flip"), 5.0, 0.05, "registered")
    wait_until(lambda: addrs(sc.dns("side.flip.service.artemis", T_A)) == ["127.0.0.1"], 5.0, 0.1, "in DNS")
    app.status = 500
    t0 = time.monotonic()
    wait_until(lambda: sc.instance_id not in http_lookup(ctx, "side.flip"), 3.0, 0.05,
               "unhealthy app leaves discovery")
    check(time.monotonic() - t0 < 3.0, "left within a few intervals")
    h = sc.health()
    eq((h["app"]["healthy"], h["registered"]), (False, False), "/health while unhealthy: %s" % h)
    check("500" in (h["app"]["lastError"] or ""), "lastError names the status: %s" % h)
    wait_until(lambda: sc.dns("side.flip.service.artemis", T_A)["answers"] == [], 3.0, 0.1, "gone from DNS")
    r = sc.dns("side.flip.service.artemis", T_A)
    eq(r["rcode"], NOERROR, "known service with nothing up stays NOERROR")
    app.status = 200
    wait_until(lambda: sc.instance_id in http_lookup(ctx, "side.flip"), 3.0, 0.05, "healthy app returns")
    wait_until(lambda: sc.health()["registered"], 3.0, 0.05, "/health registered again")
    eq(sc.health()["app"]["lastError"], None, "lastError cleared")
    wait_until(lambda: addrs(sc.dns("side.flip.service.artemis", T_A)) == ["127.0.0.1"], 5.0, 0.1, "back in DNS")


def test_no_health_url_always_registered(ctx):
    _, sc = started(ctx, "side.nohc", health=False)
    wait_until(lambda: sc.instance_id in http_lookup(ctx, "side.nohc"), 5.0, 0.05, "registered without a check")
    h = sc.health()
    eq((h["app"]["healthy"], h["app"]["healthCheckUrl"]), (True, None), "/health without a check")


def test_sigterm_deregisters(ctx):
    _, sc = started(ctx, "side.term")
    wait_until(lambda: sc.instance_id in http_lookup(ctx, "side.term"), 5.0, 0.05, "registered")
    t0 = time.monotonic()
    code = sc.stop(signal.SIGTERM, 5.0)
    eq(code, 0, "exit status after SIGTERM (log: %s)" % sc.log_tail())
    check(time.monotonic() - t0 < 3.0, "exit took %.2f s" % (time.monotonic() - t0))
    check(sc.instance_id not in http_lookup(ctx, "side.term"), "deregistered before exit")


def test_sigint_deregisters(ctx):
    _, sc = started(ctx, "side.int")
    wait_until(lambda: sc.instance_id in http_lookup(ctx, "side.int"), 5.0, 0.05, "registered")
    eq(sc.stop(signal.SIGINT, 5.0), 0, "exit status after SIGINT")
    check(sc.instance_id not in http_lookup(ctx, "side.int"), "deregistered before exit")


def test_server_down_dns_keeps_answering(ctx):
    http_register(ctx, inst("side.outage", "o-1", 7501, ip="127.0.0.61"))
    _, sc = started(ctx, "side.outapp")
    eq(addrs(sc.dns("side.outage.service.artemis", T_A)), ["127.0.0.61"], "before the outage")
    ctx.server.kill()
    try:
        time.sleep(0.5)
        eq(addrs(sc.dns("side.outage.service.artemis", T_A)), ["127.0.0.61"], "from the cache while the server is down")
        code, _ = sc.get("/v1/services/side.outage")
        eq(code, 200, "HTTP from the cache while the server is down")
        check(sc.proc.poll() is None, "sidecar alive")
    finally:
        ctx.server.restart()
    eq(sc.stop(), 0, "exit 0 after an outage")


test_server_down_dns_keeps_answering.timeout = 30


def run_bad(args, conf_text=None):
    argv = [sidecar_binary()] + list(args)
    path = None
    if conf_text is not None:
        fd, path = tempfile.mkstemp(prefix="artemis-it-sidecar-", suffix=".conf")
        with os.fdopen(fd, "w") as f:
            f.write(conf_text)
        argv += ["--config", path]
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10,
                           env={k: v for k, v in os.environ.items() if not k.startswith("ARTEMIS_SIDECAR_")})
    finally:
        if path:
            os.unlink(path)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_bad_config_exit_2(ctx):
    base = ["--app.service_id=x", "--app.port=1"]
    cases = [
        (["--app.port=1"], None, "app.service_id"),
        (["--app.service_id=x"], None, "app.port"),
        (base + ["--app.port=70000"], None, "app.port"),
        (base + ["--app.health_check_interval_ms=abc"], None, "app.health_check_interval_ms"),
        (base + ["--dns.listen=nowhere"], None, "dns.listen"),
        (base + ["--http-listen=1.2.3.4"], None, "http.listen"),
        (base + ["--dns.ttl=-1"], None, "dns.ttl"),
        (base + ["--no.such.key=1"], None, "no.such.key"),
        (base + ["--server=ftp://x"], None, "server"),
        ([], "app.service_id = x\napp.port = 1\nbogus = 3\n", "bogus"),
        ([], "app.service_id = x\napp.port = zero\n", "app.port"),
        (["--config", "/nonexistent/sidecar.conf"], None, "/nonexistent/sidecar.conf"),
    ]
    for args, conf, key in cases:
        code, out, err = run_bad(args, conf)
        eq(code, 2, "exit status for %s %r (stderr %r)" % (args, conf, err))
        lines = err.strip().splitlines()
        check(len(lines) == 1, "one line on stderr for %s: %r" % (args, err))
        check(key in lines[0], "the line names %s: %r" % (key, lines[0]))
    # the command line wins over the file
    code, out, err = run_bad(["--app.port=5"], "app.service_id = x\napp.port = nonsense\n")
    eq(code, 2, "a bad file value is still an error")
    code, out, err = run_bad(["--help"])
    eq(code, 0, "--help exit status")
    for key in ("server", "region", "zone", "app.service_id", "app.instance_id", "app.ip", "app.port",
                "app.protocol", "app.url", "app.health_check_url", "app.health_check_interval_ms",
                "app.metadata.", "dns.listen", "dns.domain", "dns.ttl", "http.listen", "127.0.0.1:8600",
                "127.0.0.1:8601", "5000"):
        check(key in out, "--help lists %s" % key)


def test_flags_override_file(ctx):
    app = App()
    ctx.defer(app.close)
    sc = Sidecar(ctx, "side.file", app.port, args=["--app.service_id=side.flag", "--app.metadata.owner=flag"])
    wait_until(lambda: sc.instance_id in http_lookup(ctx, "side.flag"), 5.0, 0.05, "registered under the flag's id")
    eq((http_lookup(ctx, "side.flag")[sc.instance_id].get("metadata") or {}).get("owner"), "flag", "flag metadata")
    eq(http_lookup(ctx, "side.file"), {}, "not under the file's id")


def test_env_config(ctx):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTEMIS_SIDECAR_")}
    env.update({"ARTEMIS_SIDECAR_APP_SERVICE_ID": "x", "ARTEMIS_SIDECAR_APP_PORT": "bad"})
    p = subprocess.run([sidecar_binary()], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=10, env=env)
    eq(p.returncode, 2, "a bad ARTEMIS_SIDECAR_APP_PORT is a config error")
    err = p.stderr.decode()
    check("app.port" in err and "ARTEMIS_SIDECAR_APP_PORT" in err, "names key and variable: %r" % err)


def _tmpdir(ctx, what):
    d = tempfile.mkdtemp(prefix="artemis-it-sidecar-%s-" % what)
    ctx.defer(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def test_cache_dir_key(ctx):
    """cache_dir (file key, ARTEMIS_SIDECAR_CACHE_DIR, --cache-dir) is the SDK's snapshot
    directory; the older ARTEMIS_CACHE_DIR is only read below the file. A sidecar started while
    the registry is down answers from the snapshot of the directory its config names."""
    snap = os.path.join(_tmpdir(ctx, "cache"), "snap")  # missing: the SDK creates it
    legacy, empty = _tmpdir(ctx, "legacy"), _tmpdir(ctx, "empty")
    name = "side.cache.service.artemis"
    http_register(ctx, inst("side.cache", "c-1", 7701, ip="127.0.0.71"))

    # the file key beats ARTEMIS_CACHE_DIR
    _, sc = started(ctx, "side.cacheapp", extra={"cache_dir": snap}, env={"ARTEMIS_CACHE_DIR": legacy})
    eq(addrs(sc.dns(name)), ["127.0.0.71"], "answer with the registry up")
    wait_until(lambda: os.path.exists(os.path.join(snap, "side.cache.json")), 5.0, 0.05,
               "snapshot of side.cache in the file's cache_dir %s" % snap)
    eq(os.listdir(legacy), [], "nothing in ARTEMIS_CACHE_DIR when the file sets cache_dir")
    eq(sc.stop(), 0, "exit status")

    # an empty cache_dir turns the snapshot off, even with ARTEMIS_CACHE_DIR set
    _, sc = started(ctx, "side.cacheapp", extra={"cache_dir": ""}, env={"ARTEMIS_CACHE_DIR": legacy})
    eq(addrs(sc.dns(name)), ["127.0.0.71"], "answer with the snapshot off")
    time.sleep(0.3)
    eq(os.listdir(legacy), [], "no snapshot with an empty cache_dir")
    eq(sc.stop(), 0, "exit status")

    ctx.server.kill()
    try:
        # ARTEMIS_SIDECAR_CACHE_DIR beats the file's key (which names an empty directory)
        _, sc = started(ctx, "side.cacheapp", extra={"cache_dir": empty}, env={"ARTEMIS_SIDECAR_CACHE_DIR": snap})
        eq(addrs(sc.dns(name)), ["127.0.0.71"], "answer from ARTEMIS_SIDECAR_CACHE_DIR's snapshot, registry down")
        eq(sc.stop(), 0, "exit status")
        # --cache-dir beats both
        _, sc = started(ctx, "side.cacheapp", extra={"cache_dir": empty}, args=["--cache-dir=" + snap],
                        env={"ARTEMIS_SIDECAR_CACHE_DIR": empty})
        eq(addrs(sc.dns(name)), ["127.0.0.71"], "answer from --cache-dir's snapshot, registry down")
        eq(sc.stop(), 0, "exit status")
        # ARTEMIS_CACHE_DIR alone still works (what the unit file and the image set)
        _, sc = started(ctx, "side.cacheapp", env={"ARTEMIS_CACHE_DIR": snap})
        eq(addrs(sc.dns(name)), ["127.0.0.71"], "answer from ARTEMIS_CACHE_DIR's snapshot, registry down")
        eq(sc.stop(), 0, "exit status")
    finally:
        ctx.server.restart()


test_cache_dir_key.timeout = 40


def test_cache_dir_bad_values(ctx):
    a_file = os.path.join(_tmpdir(ctx, "file"), "not-a-dir")
    with open(a_file, "w") as f:
        f.write("x\n")
    base = ["--app.service_id=x", "--app.port=1"]
    for args, conf in ((base + ["--cache-dir=" + a_file], None), (base + ["--cache_dir=" + a_file], None),
                       ([], "app.service_id = x\napp.port = 1\ncache_dir = %s\n" % a_file)):
        code, out, err = run_bad(args, conf)
        eq(code, 2, "exit status for %s %r (stderr %r)" % (args, conf, err))
        lines = err.strip().splitlines()
        check(len(lines) == 1 and "cache_dir" in lines[0] and "not a directory" in lines[0],
              "one line naming cache_dir: %r" % err)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTEMIS_SIDECAR_")}
    for value, words in ((a_file, ["cache_dir", "not a directory"]),
                         ("/tmp/a\tb", ["cache_dir", "ARTEMIS_SIDECAR_CACHE_DIR"])):
        p = subprocess.run([sidecar_binary()] + base, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10, env=dict(env, ARTEMIS_SIDECAR_CACHE_DIR=value))
        err = p.stderr.decode()
        eq(p.returncode, 2, "exit status for ARTEMIS_SIDECAR_CACHE_DIR=%r (stderr %r)" % (value, err))
        check(len(err.strip().splitlines()) == 1 and all(w in err for w in words),
              "one line naming %s: %r" % (words, err))


def _documented_keys():
    """(key, default or None) of every row of docs/sidecar.md's configuration table."""
    with open(os.path.join(ROOT, "docs", "sidecar.md")) as f:
        text = f.read()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0].endswith("`"):
            default = cells[1][1:-1] if cells[1].startswith("`") and cells[1].endswith("`") else None
            rows.append((cells[0][1:-1], default))
    return rows


def test_help_lists_every_key(ctx):
    """--help comes from the option table: one --KEY line per key with its environment variable
    and default, the same keys as docs/sidecar.md's table."""
    code, out, err = run_bad(["--help"])
    eq(code, 0, "--help exit status")
    flat = " ".join(out.split())
    keys = _documented_keys()
    check(len(keys) >= 17 and "cache_dir" in [k for k, _ in keys],
          "docs/sidecar.md's table lists the keys, cache_dir among them: %r" % keys)
    for key, default in keys:
        env = "ARTEMIS_SIDECAR_" + key.replace(".KEY", "").replace(".", "_").upper()
        check("--%s=" % key in out, "--help lists --%s=" % key)
        check(env in out, "--help names %s for %s" % (env, key))
        if default is not None:
            check("Default: %s" % default in flat, "--help shows the default %s of %s" % (default, key))
    flags = [l.split()[0].split("=")[0][2:] for l in out.splitlines() if l.startswith("  --")]
    eq(sorted(flags), sorted(k for k, _ in keys), "--help's keys are docs/sidecar.md's keys")
    for alias in ("--dns-listen", "--http-listen", "--cache-dir"):
        check(alias in out, "--help lists the alias %s" % alias)


def test_systemd_notify(ctx):
    """READY=1 once the endpoints answer, WATCHDOG=1 from the loop, STOPPING=1 on SIGTERM."""
    tmp = tempfile.mkdtemp(prefix="artemis-it-notify-")
    ctx.defer(lambda: shutil.rmtree(tmp, ignore_errors=True))
    path = os.path.join(tmp, "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ctx.defer(ns.close)
    ns.bind(path)
    ns.settimeout(3.0)
    app = App()
    ctx.defer(app.close)
    sc = Sidecar(ctx, "side.notify", app.port, env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
    msgs = []

    def until(word):
        while not any(word in m for m in msgs):
            msgs.append(ns.recv(4096).decode())
        return True

    until("READY=1")
    until("WATCHDOG=1")
    sc.proc.send_signal(signal.SIGTERM)
    until("STOPPING=1")
    eq(sc.proc.wait(5.0), 0, "exit status")


# ---- the real `dig` client (bind9-dnsutils) ----------------------------------------------------


def dig(port, *args):
    """Run dig against the sidecar; returns (status, flags, tcp, answer, additional) where answer
    and additional are lists of (name, type, rdata) with names lower-cased and dots stripped."""
    path = shutil.which("dig")
    if path is None:
        raise AssertionError("`dig` not found: install the Debian package bind9-dnsutils (`make deps`)")
    p = subprocess.run([path, "@127.0.0.1", "-p", str(port), "+time=3", "+tries=1"] + list(args),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=15)
    out = p.stdout.decode("utf-8", "replace")
    check(p.returncode == 0, "dig %s exited %d: %s" % (" ".join(args), p.returncode, out[-800:]))
    status = flags = None
    tcp = None
    sections = {"ANSWER": [], "ADDITIONAL": []}
    section = None
    for line in out.splitlines():
        if line.startswith(";; ->>HEADER<<-"):
            status = line.split("status: ")[1].split(",")[0]
        elif line.startswith(";; flags:"):
            flags = set(line.split(";")[2].split(":")[1].split())
        elif line.startswith(";; SERVER:"):
            tcp = "(TCP)" in line
        elif line.startswith(";; ") and line.rstrip().endswith("SECTION:"):
            section = line[3:].split()[0]
        elif not line.strip():
            section = None
        elif section in sections and not line.startswith(";"):
            f = line.split()
            sections[section].append((f[0].lower().rstrip("."), f[3], " ".join(f[4:]).lower().rstrip(".")))
    return status, flags, tcp, sections["ANSWER"], sections["ADDITIONAL"]


def registry_up_ips(ctx, service_id):
    return sorted(i["ip"] for i in http_lookup(ctx, service_id).values() if i["status"] == "up")


def test_dig_a_udp_tcp_srv(ctx):
    http_register(ctx, inst("side.dig", "g-1", 7601, ip="127.0.0.81"),
                  inst("side.dig", "G_2", 7602, ip="127.0.0.82", metadata={"weight": "3"}),
                  inst("side.dig", "g-3", 7603, ip="127.0.0.83"),
                  inst("side.dig", "g-4", 7604, ip="127.0.0.84", status="down"))
    want = registry_up_ips(ctx, "side.dig")
    eq(want, ["127.0.0.81", "127.0.0.82", "127.0.0.83"], "registry's up instances")
    _, sc = started(ctx, "side.digapp", health=False)
    name = "side.dig.service.artemis"
    # the first query for a service may be SERVFAIL while the SDK fetches its first view
    wait_until(lambda: dig(sc.dns_port, name, "A")[0] == "NOERROR", 5.0, 0.1, "dig A NOERROR")
    status, flags, tcp, answer, _ = dig(sc.dns_port, name, "A")
    eq((status, tcp), ("NOERROR", False), "dig A over UDP")
    check("aa" in flags and "tc" not in flags, "flags %s" % flags)
    eq(sorted(r[2] for r in answer if r[1] == "A"), want, "dig A = the registry's up instances")
    check(all(r[0] == name for r in answer), "owner names: %s" % answer)
    status, flags, tcp, answer, _ = dig(sc.dns_port, "+tcp", name, "A")
    eq((status, tcp), ("NOERROR", True), "dig +tcp A")
    eq(sorted(r[2] for r in answer if r[1] == "A"), want, "dig +tcp A = the registry's up instances")
    # SRV: one record per up instance, weight from metadata, targets' A in the additional section
    status, flags, tcp, answer, additional = dig(sc.dns_port, name, "SRV")
    eq(status, "NOERROR", "dig SRV status")
    held = http_lookup(ctx, "side.dig")
    targets = {}
    for iid, i in held.items():
        if i["status"] == "up":
            t = "".join(c if c.isalnum() or c == "-" else "-" for c in iid.lower()) + "." + name
            targets[t] = (i["ip"], i["port"], int((i.get("metadata") or {}).get("weight", 1)))
    eq(sorted(r[2] for r in answer if r[1] == "SRV"),
       sorted("0 %d %d %s" % (w, port, t) for t, (_, port, w) in targets.items()), "dig SRV records")
    eq(sorted((r[0], r[2]) for r in additional if r[1] == "A"), sorted((t, v[0]) for t, v in targets.items()),
       "dig SRV additional A records")
    status, _, tcp, answer, additional = dig(sc.dns_port, "+tcp", name, "SRV")
    eq((status, tcp, len(answer), len(additional)), ("NOERROR", True, 3, 3), "dig +tcp SRV")
    # an SRV target resolves on its own
    eq(sorted(r[2] for r in dig(sc.dns_port, "g-2." + name, "A")[3]), ["127.0.0.82"], "dig A of an SRV target")
    # unknown service: NXDOMAIN; outside the domain: REFUSED
    eq(dig(sc.dns_port, "side.dig.nothing.service.artemis", "A")[0], "NXDOMAIN", "dig unknown service")
    eq(dig(sc.dns_port, "example.com", "A")[0], "REFUSED", "dig outside the domain")


def test_dig_truncated_then_tcp(ctx):
    insts = [inst("side.digbig", "k-%03d" % i, 9500 + i, ip="127.2.0.%d" % (1 + i)) for i in range(100)]
    http_register(ctx, *insts)
    want = registry_up_ips(ctx, "side.digbig")
    eq(len(want), 100, "100 up instances in the registry")
    _, sc = started(ctx, "side.digbigapp", health=False)
    name = "side.digbig.service.artemis"
    wait_until(lambda: dig(sc.dns_port, name, "A")[0] == "NOERROR", 5.0, 0.1, "dig A NOERROR")
    # plain 512-byte UDP, no retry over TCP: TC set, the answer trimmed
    status, flags, tcp, answer, _ = dig(sc.dns_port, "+noedns", "+ignore", name, "A")
    eq((status, tcp), ("NOERROR", False), "dig +noedns +ignore")
    check("tc" in flags, "TC set on a trimmed UDP answer: flags %s" % flags)
    check(len(answer) < 100, "trimmed: %d answers" % len(answer))
    # the same without +ignore: dig retries over TCP and gets the whole set
    status, flags, tcp, answer, _ = dig(sc.dns_port, "+noedns", name, "A")
    eq((status, tcp), ("NOERROR", True), "dig falls back to TCP after TC")
    eq(sorted(r[2] for r in answer if r[1] == "A"), want, "all 100 over TCP")
    # EDNS0 (dig's default 1232 bytes) is still too small for 100 A records; 4096 is enough
    status, flags, tcp, answer, _ = dig(sc.dns_port, "+bufsize=4096", "+ignore", name, "A")
    check("tc" not in flags and not tcp, "100 A records in one EDNS0 4096 UDP answer: flags %s" % flags)
    eq(sorted(r[2] for r in answer if r[1] == "A"), want, "all 100 over UDP with EDNS0 4096")
