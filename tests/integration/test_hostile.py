"""Hostile input (docs/operations.md, "Sizing and limits"): after every attack the server
must still answer /health with 200 and still hold every instance registered before it.

The server runs with a 64 KiB body limit and at most 100 instances per request.
"""

import gzip
import json
import random
import socket
import threading
import time

from lib import http
from lib.util import Api, check, eq, fx, fxj, instance, status_is

BODY_LIMIT = 65536
SERVER_ARGS = ["--http.max-body-bytes=%d" % BODY_LIMIT, "--registry.max-instances-per-request=100"]

KEEP = [instance("keep.svc", "keep-%d" % i, port=7000 + i, metadata={"n": str(i)}) for i in range(3)]


def _keepers(ctx):
    Api(ctx.client()).must_register(*KEEP)


def _healthy(ctx, what):
    """The server answers /health on a fresh connection and still has the keepers."""
    try:
        r = http.quick_get(ctx.port, "/health", timeout=3.0)
    except (http.HttpError, OSError) as e:
        raise AssertionError("after %s: /health failed: %s" % (what, e))
    check(r.status == 200, "after %s: /health answered HTTP %d" % (what, r.status))
    c = http.Client(ctx.port, timeout=3.0)
    try:
        got = Api(c).lookup("keep.svc")
    finally:
        c.close()
    eq(got, KEEP, "instances registered before %s" % what)


def _send(ctx, method, path, body=None, headers=None, mode="raw", timeout=5.0):
    conn = http.Connection(ctx.port, timeout=timeout)
    try:
        return conn.request(method, path, body, headers, mode)
    finally:
        conn.close()


JSON_LEN = [("Content-Type", "application/json")]


def _with_len(data, extra=()):
    return JSON_LEN + [("Content-Length", str(len(data)))] + list(extra)


def test_truncated_json(ctx):
    _keepers(ctx)
    body = fx("F1").encode()
    for cut in (1, 10, len(body) // 2, len(body) - 1):
        part = body[:cut]
        status_is(_send(ctx, "POST", "/api/registry/register.json", part, _with_len(part)), 400,
                  "register with %d of %d bytes" % (cut, len(body)))
    # The Java way: chunked gzip of a truncated document.
    status_is(_send(ctx, "POST", "/api/registry/register.json", body[:-5], mode="java"), 400, "java-style truncated")
    # Content-Length larger than what is sent, then the client goes away.
    conn = http.Connection(ctx.port, timeout=2.0)
    conn.send_raw(b"POST /api/registry/register.json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n" + body[:100])
    conn.close()
    _healthy(ctx, "truncated JSON")
    check("10.0.0.5:8080" not in Api(ctx.client()).lookup_ids("demo.service.v1"), "a truncated request registered")


def test_deeply_nested_json(ctx):
    _keepers(ctx)
    deep = b"[" * 100000 + b"]" * 100000
    r = _send(ctx, "POST", "/api/registry/register.json", deep, _with_len(deep))
    check(r.status in (400, 413), "100000-deep arrays: HTTP %d (want 400, or 413 over the body limit)" % r.status)
    # Within the body limit, so the parser itself must refuse it.
    deep = b"[" * 32000 + b"]" * 32000
    status_is(_send(ctx, "POST", "/api/registry/register.json", deep, _with_len(deep)), 400, "32000-deep arrays")
    deep = b'{"instances":' + b"[" * 30000 + b"]" * 30000 + b"}"
    status_is(_send(ctx, "POST", "/api/discovery/lookup.json", deep, _with_len(deep)), 400, "deep arrays in a field")
    deep = b'{"a":' * 10000 + b"1" + b"}" * 10000
    r = _send(ctx, "POST", "/api/registry/register.json", deep, _with_len(deep))
    check(r.status in (200, 400), "10000-deep objects: HTTP %d" % r.status)
    if r.status == 200:
        check(r.json().get("responseStatus", {}).get("status") != "success", "deep objects registered something")
    # Deep nesting also over gzip (inflates within the limit).
    deep = b"[" * 30000 + b"]" * 30000
    status_is(_send(ctx, "POST", "/api/registry/register.json", deep, mode="java"), 400, "gzip deep arrays")
    _healthy(ctx, "deeply nested JSON")


def test_invalid_utf8(ctx):
    _keepers(ctx)
    good = json.dumps({"instances": [instance("utf8.svc", "u1")]}).encode()
    for bad_bytes in (b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82"):
        body = good.replace(b'"u1"', b'"u1' + bad_bytes + b'"')
        status_is(_send(ctx, "POST", "/api/registry/register.json", body, _with_len(body)), 400,
                  "invalid UTF-8 %r in a string" % bad_bytes)
        status_is(_send(ctx, "POST", "/api/registry/register.json", body, mode="java"), 400,
                  "invalid UTF-8 %r in a gzip body" % bad_bytes)
    # A lone surrogate escape is valid JSON syntax but not Unicode: refused or handled, never a crash.
    body = good.replace(b'"u1"', b'"u1\\ud800"')
    r = _send(ctx, "POST", "/api/registry/register.json", body, _with_len(body))
    check(r.status in (200, 400), "lone surrogate: HTTP %d" % r.status)
    eq(Api(ctx.client()).lookup_ids("utf8.svc") - {"u1\ud800"}, set(), "instances from invalid UTF-8 requests")
    _healthy(ctx, "invalid UTF-8")


def _is_bad_request(r):
    if r.status == 400:
        return True
    if r.status != 200:
        return False
    st = r.json().get("responseStatus") or {}
    return st.get("errorCode") == "bad-request" and st.get("status") == "fail"


def test_too_many_instances_per_request(ctx):
    _keepers(ctx)
    api = Api(ctx.client(mode="plain"))
    insts = [instance("many.svc", "m%03d" % i) for i in range(101)]
    for op in ("register", "heartbeat", "unregister"):
        r = ctx.client(mode="plain").post("/api/registry/%s.json" % op, {"instances": insts})
        check(_is_bad_request(r), "%s with 101 instances: HTTP %d %r (want 400 or bad-request)" % (op, r.status,
                                                                                                 r.body[:200]))
    eq(api.lookup("many.svc"), [], "instances registered by a refused request")
    hundred = [instance("hundred.svc", "h%03d" % i) for i in range(100)]
    eq(api.register(*hundred), fxj("F2"), "register with exactly 100 instances")
    eq(len(api.lookup("hundred.svc")), 100, "registered count")
    _healthy(ctx, "too many instances")


def test_wrong_json_types(ctx):
    _keepers(ctx)
    c = ctx.client(mode="plain")
    for body in ('{"instances":"abc"}', '{"instances":[1,2,3]}', '{"instances":{"a":1}}', "[]", "null", "42",
                 '{"instances":[{"serviceId":123,"instanceId":[],"url":{}}]}',
                 '{"instances":[{"serviceId":"t.svc","instanceId":"t1","url":"u","port":"x","metadata":[1]}]}',
                 '{"instances":[{"serviceId":"t.svc","instanceId":"t2","url":"u","port":1e300}]}'):
        r = c.post("/api/registry/register.json", body)
        check(r.status in (200, 400), "%s: HTTP %d" % (body, r.status))
        if r.status == 200:
            check(isinstance(r.json(), dict), "%s: answer is not an object" % body)
    for body in ('{"discoveryConfigs":"x","regionId":"sha"}', '{"discoveryConfigs":[null],"regionId":"sha"}',
                 '{"discoveryConfigs":[1],"regionId":7}'):
        r = c.post("/api/discovery/lookup.json", body)
        check(r.status in (200, 400), "lookup %s: HTTP %d" % (body, r.status))
    r = c.post("/api/discovery/services-delta.json", '{"version":"abc"}')
    check(r.status in (200, 400), "delta with a string version: HTTP %d" % r.status)
    _healthy(ctx, "wrongly typed JSON")


def test_body_over_limit_413(ctx):
    _keepers(ctx)
    pad = {"pad%d" % i: "x" * 1000 for i in range(70)}
    big = json.dumps({"instances": [instance("big.svc", "b1", metadata=pad)]}).encode()
    check(len(big) > BODY_LIMIT, "test body must exceed the limit")
    status_is(_send(ctx, "POST", "/api/registry/register.json", big, _with_len(big)), 413, "Content-Length body")
    status_is(_send(ctx, "POST", "/api/registry/register.json", http.chunked(big, 4096),
                    JSON_LEN + [("Transfer-Encoding", "chunked")]), 413, "chunked body")
    # Announced too large: refused without waiting for the body.
    status_is(_send(ctx, "POST", "/api/registry/register.json", b"", _with_len(b"")[:1] +
                    [("Content-Length", "10000000000")]), 413, "huge Content-Length")
    # gzip whose inflated size exceeds the limit (the compressed size does not).
    rnd = random.Random(7)
    pad = {"p%d" % i: "".join(rnd.choice("abcdefghij") for _ in range(200)) for i in range(400)}
    body = json.dumps({"instances": [instance("big.svc", "b2", metadata=pad)]}).encode()
    check(len(gzip.compress(body)) < BODY_LIMIT < len(body), "gzip body sizes")
    status_is(_send(ctx, "POST", "/api/registry/register.json", body, mode="java"), 413, "inflated body over limit")
    eq(Api(ctx.client()).lookup("big.svc"), [], "instances from refused bodies")
    _healthy(ctx, "oversized bodies")


def test_gzip_bomb_413(ctx):
    _keepers(ctx)
    bomb_plain = b'{"instances":[' + b" " * 20000000 + b"]}"
    bomb = gzip.compress(bomb_plain, 9)
    check(len(bomb) < BODY_LIMIT, "bomb is %d bytes compressed" % len(bomb))
    rss0 = ctx.server.rss_kib()
    status_is(_send(ctx, "POST", "/api/registry/register.json", http.chunked(bomb),
                    JSON_LEN + [("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]), 413,
              "gzip bomb (chunked)")
    status_is(_send(ctx, "POST", "/api/registry/register.json", bomb,
                    _with_len(bomb, [("Content-Encoding", "gzip")])), 413, "gzip bomb (Content-Length)")
    grew = ctx.server.rss_kib() - rss0
    check(grew < 16 * 1024, "RSS grew by %d KiB inflating a gzip bomb" % grew)
    _healthy(ctx, "gzip bomb")


def test_invalid_gzip_400(ctx):
    _keepers(ctx)
    junk = b"this is definitely not gzip data" * 3
    status_is(_send(ctx, "POST", "/api/registry/register.json", junk, _with_len(junk, [("Content-Encoding", "gzip")])),
              400, "invalid gzip (Content-Length)")
    status_is(_send(ctx, "POST", "/api/registry/register.json", http.chunked(junk),
                    JSON_LEN + [("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]), 400,
              "invalid gzip (chunked)")
    gz = gzip.compress(fx("F1").encode())
    for part in (gz[: len(gz) // 2], gz[:-4], gz[:10] + b"\x00" * 20 + gz[30:]):
        status_is(_send(ctx, "POST", "/api/registry/register.json", part,
                        _with_len(part, [("Content-Encoding", "gzip")])), 400, "damaged gzip")
    check("10.0.0.5:8080" not in Api(ctx.client()).lookup_ids("demo.service.v1"), "a damaged gzip body registered")
    _healthy(ctx, "invalid gzip")


def test_headers_over_limit_431(ctx):
    _keepers(ctx)
    status_is(_send(ctx, "GET", "/health", None, [("X-Big", "a" * 100000)]), 431, "one 100 KB header")
    status_is(_send(ctx, "GET", "/health", None, [("X-H%d" % i, "v" * 40) for i in range(3000)]), 431,
              "3000 headers")
    r = _send(ctx, "GET", "/health?" + "q" * 100000, None, [])
    check(400 <= r.status < 500, "100 KB request line: HTTP %d" % r.status)
    _healthy(ctx, "oversized headers")


def test_idle_connections_do_not_block(ctx):
    _keepers(ctx)
    socks = []
    try:
        for i in range(2000):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", ctx.port))
            except BlockingIOError:
                pass
            socks.append(s)
            if i % 10 == 0:
                try:
                    s.send(b"GET /hea")  # some stay idle in the middle of a request line
                except OSError:
                    pass
        time.sleep(0.3)
        for i in range(5):
            t0 = time.monotonic()
            r = http.quick_get(ctx.port, "/health", timeout=5.0)
            check(r.status == 200, "with 2000 idle connections /health answered HTTP %d" % r.status)
            check(time.monotonic() - t0 < 3.0, "with 2000 idle connections /health took %.2f s" % (
                time.monotonic() - t0))
        api = Api(http.Client(ctx.port, timeout=5.0))
        eq(api.lookup("keep.svc"), KEEP, "lookup with 2000 idle connections")
        api.c.close()
    finally:
        for s in socks:
            s.close()
    _healthy(ctx, "2000 idle connections")


test_idle_connections_do_not_block.timeout = 25


def test_slowloris(ctx):
    _keepers(ctx)
    stop = threading.Event()
    errors = []

    def slow_client():
        try:
            s = socket.create_connection(("127.0.0.1", ctx.port), timeout=5)
            data = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 100
            for b in data[:20]:
                if stop.is_set():
                    break
                try:
                    s.send(bytes([b]))
                except OSError:
                    break  # the server may drop a slow client; that is fine
                time.sleep(0.1)
            s.close()
        except OSError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=slow_client, daemon=True) for _ in range(5)]
    for t in threads:
        t.start()
    served = 0
    t_end = time.monotonic() + 2.0
    try:
        while time.monotonic() < t_end:
            t0 = time.monotonic()
            r = http.quick_get(ctx.port, "/health", timeout=3.0)
            check(r.status == 200, "during slowloris /health answered HTTP %d" % r.status)
            check(time.monotonic() - t0 < 2.0, "during slowloris /health took %.2f s" % (time.monotonic() - t0))
            served += 1
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(3)
    check(served >= 5, "only %d requests served during slowloris" % served)
    check(not errors, "slow clients could not connect: %s" % errors)
    _healthy(ctx, "slowloris")


def _ws_case(ctx, path, data, must_close):
    from lib.ws import WebSocket

    w = WebSocket(ctx.port, path)
    try:
        try:
            w.send_raw(data)
        except OSError:
            return
        closed = w.wait_closed(3.0)
        if must_close:
            check(closed, "server kept the WebSocket open after %r" % data[:24])
    finally:
        w.abort()


def test_websocket_garbage(ctx):
    from lib.ws import OP_BINARY, OP_CONT, OP_PING, OP_TEXT, WebSocket

    _keepers(ctx)
    B = WebSocket.build_frame
    hb = fx("F17", 0)
    cases = [
        ("unmasked text frame", B(OP_TEXT, hb, mask=False), True),
        ("reserved opcode 3", B(0x3, b"abc"), True),
        ("reserved opcode 0xB", B(0xB, b"abc"), True),
        ("RSV1 without extension", B(OP_TEXT, hb, rsv=4), True),
        ("binary frame", B(OP_BINARY, b"\x00\x01\x02"), True),
        ("fragmented ping", B(OP_PING, b"x", fin=False), True),
        ("continuation without start", B(OP_CONT, b"abc"), True),
        ("2^62-byte length", b"\x81\xff" + (1 << 62).to_bytes(8, "big") + b"\x00\x00\x00\x00abc", True),
        ("control frame over 125 bytes", B(OP_PING, b"p" * 200), True),
    ]
    for path in ("/ws/registry/heartbeat", "/ws/discovery/instance-change", "/ws/discovery/all-instance-change",
                 "/api/v1/discovery/subscribe/keep.svc"):
        for name, data, must_close in cases:
            try:
                _ws_case(ctx, path, data, must_close)
            except AssertionError as e:
                raise AssertionError("%s on %s: %s" % (name, path, e))
    rnd = random.Random(1234)
    for i in range(5):
        _ws_case(ctx, "/ws/registry/heartbeat", bytes(rnd.getrandbits(8) for _ in range(4096)), False)
    # Invalid UTF-8 in a text frame: closed (RFC 6455 1007) or answered like an unparsable frame.
    w = WebSocket(ctx.port, "/ws/registry/heartbeat")
    w.send_frame(OP_TEXT, b'{"instances":[\xff\xfe]}')
    try:
        msg = w.recv_json(3.0)
        eq(msg, {"failedInstances": None, "responseStatus": {"errorCode": "success", "message": "", "status": "success"}},
           "answer to invalid UTF-8")
    except Exception as e:
        check("closed" in str(e).lower() or "close" in type(e).__name__.lower(),
              "invalid UTF-8 text frame: neither closed nor answered (%s)" % e)
    w.abort()
    # A 1 MB text frame: refused (closed) or answered, never a crash.
    w = WebSocket(ctx.port, "/ws/registry/heartbeat")
    try:
        w.send_frame(OP_TEXT, b" " * (1 << 20))
        w.wait_closed(2.0)
    except OSError:
        pass
    w.abort()
    # An upgrade with a bad key or version is refused with an HTTP error.
    r = _send(ctx, "GET", "/ws/registry/heartbeat", None,
              [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13")])
    check(400 <= r.status < 500, "upgrade without Sec-WebSocket-Key: HTTP %d" % r.status)
    _healthy(ctx, "WebSocket garbage")


test_websocket_garbage.timeout = 30


def _fat_instance(instance_id, entries, size):
    meta = {"key-%03d" % i: ("%s-" % instance_id + "v" * size)[:size] for i in range(entries)}
    return instance("busy.svc", instance_id, metadata=meta)


def test_ws_consumer_that_never_reads(ctx):
    from lib.ws import WebSocket

    _keepers(ctx)
    c = ctx.client(mode="plain")
    api = Api(c)
    sized = None
    for entries, size in ((100, 300), (40, 200), (16, 100)):
        a, b = _fat_instance("fat-a", entries, size), _fat_instance("fat-b", entries, size)
        if api.register(a, b) == fxj("F2"):
            sized = (entries, size, a, b)
            break
    check(sized is not None, "could not register even small fat instances")
    entries, size, a, b = sized
    slow = []
    w = WebSocket(ctx.port, "/ws/discovery/instance-change", rcvbuf=4096)
    w.send_json({"discoveryData": None, "regionId": None, "serviceId": "busy.svc", "zoneId": None})
    w.ping(b"sync")
    slow.append(w)
    w = WebSocket(ctx.port, "/ws/discovery/all-instance-change", rcvbuf=4096)
    w.ping(b"sync")
    slow.append(w)
    slow.append(WebSocket(ctx.port, "/api/v1/discovery/subscribe/busy.svc", rcvbuf=4096))
    for w in slow:
        ctx.defer(w.abort)
    time.sleep(0.2)
    rss0 = ctx.server.rss_kib()
    bodies = [json.dumps({"instances": [x]}).encode() for x in (a, b)]
    conn = http.Connection(ctx.port, timeout=5.0)
    ctx.defer(conn.close)
    F2 = fxj("F2")
    worst = 0.0
    peak = rss0
    for i in range(2000):
        r = conn.request("POST", "/api/registry/register.json", bodies[i % 2], mode="plain")
        if r.status != 200 or r.json() != F2:
            raise AssertionError("register #%d during the flood: HTTP %d %r" % (i, r.status, r.body[:200]))
        if i % 250 == 0:
            peak = max(peak, ctx.server.rss_kib())
            t0 = time.monotonic()
            h = http.quick_get(ctx.port, "/health", timeout=5.0)
            worst = max(worst, time.monotonic() - t0)
            check(h.status == 200, "/health during the flood: HTTP %d" % h.status)
    check(worst < 2.0, "/health took up to %.2f s during the flood" % worst)
    time.sleep(0.5)
    rss1 = ctx.server.rss_kib()
    peak = max(peak, rss1)
    grew = (peak - rss0) / 1024.0
    per_change = len(bodies[0]) / 1024.0
    check(grew < 64, "RSS grew by up to %.1f MiB (%.1f at the end) while 2000 changes of ~%.0f KiB queued for "
          "clients that never read (metadata %d x %d B)" % (grew, (rss1 - rss0) / 1024.0, per_change, entries, size))
    t0 = time.monotonic()
    _healthy(ctx, "a WebSocket consumer that never reads")
    check(time.monotonic() - t0 < 3.0, "server slow after the flood")
    eq(api.lookup_ids("busy.svc"), {"fat-a", "fat-b"}, "busy.svc instances")


test_ws_consumer_that_never_reads.timeout = 40
