"""I/O threads (http.io-threads, docs/design.md "More than one core"): the threads read, parse
and write plain HTTP connections while the loop answers. These tests drive what crosses between
them: answers in order per connection under many concurrent pipelining clients, idle threaded
connections evicted for newcomers, a WebSocket upgrade whose first frame came in the same packet
(the socket moves to the loop with the bytes the thread had read), clients that vanish mid
request, and a stop with requests in flight. The whole suite also runs with I/O threads
(`make check-io-threads`; under TSan in `make test-tsan`)."""

import json
import os
import signal
import socket
import threading
import time

from lib import http
from lib.server import Server
from lib.util import check, eq, fx, fxj, instance, lookup_req, wait_until
from lib.ws import WebSocket

MAX_CONNS = 40
SERVER_ARGS = ["--io-threads=2", "--http.max-connections=%d" % MAX_CONNS,
               "--artemis.service.registry.rate-limiter.enabled=false"]


def _threads(pid):
    return sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))


def _cpu_ticks(pid, tid):
    with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _metric(port, name):
    body = http.quick_get(port, "/metrics").body.decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("metric %s not in /metrics" % name)


def _post(path, obj):
    body = json.dumps(obj).encode()
    return ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (path, len(body))).encode() + body


def test_the_threads_do_the_socket_work(ctx):
    """Two I/O threads exist and take CPU while clients are served: the work really left the
    loop. (The loop thread is the process's first.)"""
    pid = ctx.server.pid
    tids = _threads(pid)
    before = {t: _cpu_ticks(pid, t) for t in tids}
    conns = [http.Connection(ctx.port, timeout=10) for _ in range(4)]
    for c in conns:
        ctx.defer(c.close)
    body = json.dumps({"instances": [instance("io.cpu", "i-%d" % k) for k in range(50)]})
    conns[0].request("POST", "/api/registry/register.json", body, [("Content-Type", "application/json")])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for c in conns:
            r = c.request("POST", "/api/registry/heartbeat.json", body, [("Content-Type", "application/json")])
            eq(r.status, 200, "heartbeat status")
        gained = {t: _cpu_ticks(pid, t) - before[t] for t in tids if os.path.exists("/proc/%d/task/%d" % (pid, t))}
        busy = [t for t in tids[1:] if gained.get(t, 0) >= 5]
        if len(busy) >= 2:
            break
    check(len(tids) >= 3, "threads of a server with --io-threads=2: %d" % len(tids))
    check(len(busy) >= 2, "threads beside the loop that took >= 50 ms of CPU: %r (gained %r)" % (busy, gained))


def test_answers_stay_in_order_per_connection(ctx):
    """12 clients, each on its own connection, pipeline batches of register(k) + lookup: each
    lookup must see the instance registered just before it on the same connection, and every
    answer must come back, in order, as many as were asked."""
    errors = []

    def client(n):
        try:
            c = http.Connection(ctx.port, timeout=15)
            sid = "io.order%d" % n
            for batch in range(10):
                reqs = b""
                for k in range(8):
                    iid = "b%d-k%d" % (batch, k)
                    reqs += _post("/api/registry/register.json", {"instances": [instance(sid, iid)]})
                    reqs += _post("/api/discovery/lookup.json", lookup_req(sid))
                c.send_raw(reqs)
                for k in range(8):
                    r = c.read_response("POST")
                    if r.status != 200 or r.json()["responseStatus"]["status"] != "success":
                        errors.append("client %d: register answered %d %r" % (n, r.status, r.body[:200]))
                        return
                    r = c.read_response("POST")
                    doc = r.json()
                    ids = {i["instanceId"] for s in doc["services"] for i in (s.get("instances") or [])}
                    want = {"b%d-k%d" % (b, kk) for b in range(batch + 1) for kk in range(8)
                            if b < batch or kk <= k}
                    if ids != want:
                        errors.append("client %d batch %d k %d: lookup saw %d instances, want %d"
                                      % (n, batch, k, len(ids), len(want)))
                        return
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("client %d: %r" % (n, e))

    ts = [threading.Thread(target=client, args=(n,)) for n in range(12)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    eq(errors, [], "errors of the pipelining clients")


test_answers_stay_in_order_per_connection.timeout = 90


def test_idle_threaded_connections_make_room(ctx):
    """At the connection limit an idle connection (held by a thread) is closed for a newcomer,
    which is served; the count comes back within the limit."""
    evicted0 = _metric(ctx.port, "artemis_http_connections_evicted_total")
    held = []
    for _ in range(MAX_CONNS + 5):
        c = http.Connection(ctx.port, timeout=5)
        ctx.defer(c.close)
        eq(c.request("GET", "/health").status, 200, "a request on a new connection")
        held.append(c)
        time.sleep(0.005)  # the oldest stays the least recently active
    evicted = _metric(ctx.port, "artemis_http_connections_evicted_total") - evicted0
    check(evicted >= 5, "idle connections evicted for newcomers: %d" % evicted)
    check(_metric(ctx.port, "artemis_http_connections") <= MAX_CONNS, "open connections within the limit")
    # the oldest is gone: the server closed it
    closed = 0
    for c in held[:5]:
        try:
            c.sock.settimeout(2)
            if c.sock.recv(1) == b"":
                closed += 1
        except OSError:
            closed += 1
    eq(closed, 5, "the oldest idle connections closed by the server")


def test_upgrade_with_a_frame_in_the_same_packet(ctx):
    """The WebSocket hand-over moves the socket from its thread to the loop: a heartbeat frame
    sent in the same write as the upgrade request must reach the session."""
    s = socket.create_connection(("127.0.0.1", ctx.port), timeout=5)
    ctx.defer(s.close)
    req = ("GET /ws/registry/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n").encode()
    s.sendall(req + WebSocket.build_frame(0x1, fx("F17", 0)))
    w = WebSocket.__new__(WebSocket)
    w.sock, w.buf, w.closed, w.close_code, w.pongs, w._pending = s, b"", False, None, [], []
    head = b""
    while b"\r\n\r\n" not in head:
        got = s.recv(4096)
        check(got, "connection closed during the upgrade: %r" % head)
        head += got
    head, w.buf = head.split(b"\r\n\r\n", 1)
    check(head.startswith(b"HTTP/1.1 101 "), "upgrade answer: %r" % head[:100])
    eq(w.recv_json(3.0), fxj("F17", 2), "answer to the frame sent with the upgrade")


def test_clients_that_vanish_mid_request(ctx):
    """Clients that close half way through a request, right after a whole one, or with a large
    answer unread: the server stays up, serves others, and the connections are let go."""
    big = json.dumps({"instances": [instance("io.vanish", "v-%d" % k, metadata={"p": "x" * 200})
                                    for k in range(300)]})
    c = http.Connection(ctx.port, timeout=10)
    ctx.defer(c.close)
    c.request("POST", "/api/registry/register.json", big, [("Content-Type", "application/json")])
    lookup = _post("/api/discovery/lookup.json", lookup_req("io.vanish"))
    for k in range(300):
        s = socket.create_connection(("127.0.0.1", ctx.port), timeout=5)
        if k % 3 == 0:
            s.sendall(lookup[: len(lookup) // 2])
        elif k % 3 == 1:
            s.sendall(lookup * 5)
        else:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.sendall(lookup * 20)  # ~2 MB of answers, then a reset
        s.close()
    # A new connection, and retried: at this module's limit of 40 the idle `c` may rightly have
    # been evicted, and a newcomer is refused at accept until the threads have told the loop of
    # the closes (one hand-off; the loop alone has the same window, narrower).
    def healthy():
        try:
            return http.quick_get(ctx.port, "/health").status == 200
        except (OSError, http.HttpError):
            return False
    wait_until(healthy, 5.0, 0.05, "a /health answer after 300 vanished clients")
    wait_until_ok = time.monotonic() + 10
    while time.monotonic() < wait_until_ok and _metric(ctx.port, "artemis_http_connections") > 2:
        time.sleep(0.1)
    check(_metric(ctx.port, "artemis_http_connections") <= 2,
          "connections left open: %d" % _metric(ctx.port, "artemis_http_connections"))


def test_stop_with_requests_in_flight(ctx):
    """SIGTERM while threaded connections hold partial requests, unread answers and pipelined
    floods: the server exits 0 within its drain time (under ASan: nothing leaked)."""
    srv = Server(["--io-threads=3"], name="io-stop")
    srv.start()
    try:
        socks = []
        lookup = _post("/api/discovery/lookup.json", lookup_req("io.none"))
        for k in range(60):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(lookup[: 10 + k] if k % 2 else lookup * 50)
            socks.append(s)
        time.sleep(0.3)
        t0 = time.monotonic()
        os.kill(srv.pid, signal.SIGTERM)
        code = srv.proc.wait(10)
        eq(code, 0, "exit status after SIGTERM with requests in flight")
        check(time.monotonic() - t0 < 5, "stop took %.1f s" % (time.monotonic() - t0))
        for s in socks:
            s.close()
    finally:
        srv.cleanup()
