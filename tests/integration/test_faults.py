"""Short fault-injection checks (the long version is tests/soak/soak.py): live instances must
survive a paused server, a flooding client, a killed peer, clients that do not read, and a
window where allocations fail.

- SIGSTOP past the lease TTL: after SIGCONT no heartbeated instance may leave discovery and
  no delete may be pushed to a watcher (the server, not the clients, was away).
- A pipelined connection flooding heartbeats must not get a well-behaved client, on its own
  connection, rate-limited or its instance expired (per-client fairness).
- kill -9 of one node of two, then a restart on the same port and data dir: every instance
  stays listed on the survivor, and the restarted node lists them all once ready.
- A WebSocket watcher that never reads is dropped while a reading watcher still gets pushes;
  an HTTP client pipelining big lookups without reading does not grow the server unbounded.
- Soft RLIMIT_AS = VmSize + 64 MiB while large lookups run: every 200 is valid JSON, every
  error is 4xx/5xx with a JSON body, and the server survives.

Every test starts its own processes (SERVER = False) and stops them by PID.
"""

import json
import os
import time

from lib import cluster, faults, http, server, ws
from lib.util import Api, check, instance, instances_req

SERVER = False

TTL_ARGS = [
    "--lease-ttl-ms=5000",
    # The fleets below heartbeat every second: tell self-preservation so (its window is the
    # smallest allowed), so a pause of 8 s leaves it ~20 % of the renewals it expects.
    "--artemis.service.registry.instance.lease-manager.lease-update-safe-checker.time-window=10000",
    "--artemis.service.registry.instance.lease-manager.lease-update-safe-checker.heartbeat-interval-ms=1000",
]


def _server(ctx, args, name):
    s = server.Server(args, name=name, log_level="info")
    ctx.defer(s.cleanup)
    s.start()
    return s


def _stop(ctx, *things):
    for t in things:
        ctx.defer(t.stop)


def _fmt_missing(missing, limit=5):
    return ", ".join("node%d:%s/%s" % (m[1], m[2], m[3]) for m in missing[:limit])


def _healthy(port, what):
    try:
        r = http.quick_get(port, "/health", timeout=3.0)
    except (http.HttpError, OSError) as e:
        raise AssertionError("after %s: expected /health 200, got no answer (%s)" % (what, e))
    check(r.status == 200, "after %s: expected /health 200, got HTTP %d" % (what, r.status))


# -- SIGSTOP past the TTL --------------------------------------------------------------------


def test_sigstop_past_ttl_keeps_instances(ctx):
    srv = _server(ctx, TTL_ARGS, "faults-stop")
    insts = faults.fleet_instances("stop", 200, services=8)
    fleet = faults.Fleet([srv.port], insts, period=1.0, http_threads=2, ws_threads=2, timeout=20.0)
    fleet.register_all()
    fleet.start()
    pres = faults.Presence([srv.port], fleet, interval=0.3, timeout=20.0)
    watch = faults.Watcher(srv.port, fleet)
    _stop(ctx, fleet, pres, watch)
    watch.start()
    check(watch.connected.wait(3.0), "the watcher did not connect")
    pres.start()
    time.sleep(3.5)  # 200 instances heartbeated every second, all listed
    before = fleet.counters.snapshot()
    check(before.get("hb_ok", 0) >= 400 and not pres.missing,
          "before the pause: expected >= 400 successful heartbeats and nothing missing, saw %s, "
          "%d missing" % (before, len(pres.missing)))
    pres.phase = watch.phase = "paused"
    with faults.paused(srv.pid):
        time.sleep(8.0)  # TTL 5 s
    pres.phase = watch.phase = "resumed"
    t_resume = time.monotonic()
    time.sleep(5.0)
    check(srv.alive(), "the server died after SIGCONT")
    after = faults.diff(fleet.counters.snapshot(), before)
    missing = pres.missing_in("resumed")
    gone = sorted({(m[2], m[3]) for m in missing})
    deletes = [d for d in watch.bad_deletes if d[4] == "resumed"]
    problems = []
    if gone:
        problems.append("%d of 200 instances missing from lookup after SIGCONT (expected 0), first %.1f s "
                        "after it: %s" % (len(gone), missing[0][0] - t_resume,
                                          _fmt_missing(missing)))
    if deletes:
        problems.append("%d delete(s) pushed to the watcher for heartbeated instances (expected 0)" % len(deletes))
    check(not problems, "; ".join(problems) + "; heartbeats after SIGCONT: %s" % after)


test_sigstop_past_ttl_keeps_instances.timeout = 40


# -- a flooding client -----------------------------------------------------------------------


def test_flood_does_not_rate_limit_others(ctx):
    srv = _server(ctx, ["--lease-ttl-ms=5000",
                        "--artemis.service.registry.rate-limiter.default-rate-limit=20000"], "faults-flood")
    api = Api(http.Client(srv.port, timeout=5.0))
    ctx.defer(api.c.close)
    bad = instance("flood.bad.svc", "flooder")
    good_http = instance("flood.good.svc", "good-http")
    good_ws = instance("flood.good.svc", "good-ws")
    api.must_register(bad, good_http, good_ws)
    hb = http.Client(srv.port, timeout=5.0, mode="java")  # its own keep-alive connection
    ctx.defer(hb.close)
    w = ws.WebSocket(srv.port, "/ws/registry/heartbeat")
    ctx.defer(w.abort)
    flood = faults.Flooder(srv.port, bad, conns=2, seconds=12.0).start()
    ctx.defer(flood.stop)
    seen = {"ok": 0, "rate-limited": 0, "other": []}
    missing = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10.0:  # twice the TTL
        for name, send in (("http", lambda: hb.post_json("/api/registry/heartbeat.json", instances_req(good_http))),
                           ("ws", lambda: (w.send_json(instances_req(good_ws)), w.recv_json(5.0))[1])):
            code = faults.status_code(send())
            if code == "success":
                seen["ok"] += 1
            elif code == "rate-limited":
                seen["rate-limited"] += 1
            else:
                seen["other"].append("%s: %s" % (name, code))
        ids = api.lookup_ids("flood.good.svc")
        if ids != {"good-http", "good-ws"}:
            missing.append("%.1fs: %s" % (time.monotonic() - t0, sorted(ids)))
        time.sleep(0.5)
    fs = flood.stop()
    check(srv.alive(), "the server died under the flood")
    check(fs.get("rate_limited", 0) > 0,
          "precondition: the flooder should have hit the limit (20000 per 10 s), its counts: %s" % fs)
    check(seen["rate-limited"] == 0 and not seen["other"] and not missing,
          "well-behaved clients while a pipelined connection floods heartbeats (flooder: %d sent, %d "
          "answers, %d rate-limited): expected 0 rate-limited and both instances listed; saw %d ok, "
          "%d rate-limited, other answers %s, lookups without them: %d (%s)" % (
              fs.get("sent", 0), fs.get("answers", 0), fs.get("rate_limited", 0), seen["ok"],
              seen["rate-limited"], seen["other"][:3], len(missing), "; ".join(missing[:4])))


test_flood_does_not_rate_limit_others.timeout = 30


# -- kill -9 and restart of a peer -----------------------------------------------------------


def test_kill9_restart_peer_keeps_instances(ctx):
    cl = cluster.Cluster(2, extra_args=TTL_ARGS)
    ctx.defer(cl.cleanup)
    try:
        cl.start()
    except AssertionError as e:
        raise AssertionError("%s\n%s" % (e, cl.logs()))
    ports = [n.port for n in cl.nodes]
    insts = faults.fleet_instances("kill", 40, services=4)
    fleet = faults.Fleet(ports, insts, period=1.0, http_threads=2, ws_threads=0, timeout=2.0)
    fleet.register_all()
    pres = faults.Presence(ports, fleet, interval=0.3, timeout=3.0)
    watch = faults.Watcher(ports[0], fleet)
    _stop(ctx, fleet, pres, watch)
    # every instance on both nodes before the fault
    for n in cl.nodes:
        a = Api(http.Client(n.port))
        ctx.defer(a.c.close)
        cluster.wait_until(lambda: all(len(a.lookup("kill.svc%d" % k)) == 10 for k in range(4)), 5.0,
                           what="40 instances on %s" % n.name)
    fleet.start()
    watch.start()
    check(watch.connected.wait(3.0), "the watcher did not connect")
    pres.start()
    time.sleep(2.0)
    pres.skip.add(1)
    pres.phase = watch.phase = "killed"
    cl[1].kill()  # SIGKILL by PID
    time.sleep(6.0)  # past the 5 s TTL: only heartbeats that failed over keep them
    cl.start_node(1, wait=False)
    t_restart = time.monotonic()
    cluster.wait_until(lambda: cl[1].health()[0] == 200, 12.0, what="node1 ready after restart")
    ready_after = time.monotonic() - t_restart
    pres.phase = watch.phase = "restarted"
    pres.skip.discard(1)
    time.sleep(3.0)
    survivor = [m for m in pres.missing if m[1] == 0]
    restarted = [m for m in pres.missing if m[1] == 1 and m[4] == "restarted"]
    problems = []
    if survivor:
        problems.append("%d lookups on the survivor missed an instance (expected 0): %s" % (
            len(survivor), _fmt_missing(survivor)))
    if restarted:
        problems.append("the restarted node (ready %.1f s after start) missed %d instance(s): %s" % (
            ready_after, len(restarted), _fmt_missing(restarted)))
    if watch.bad_deletes:
        problems.append("%d delete(s) pushed by the survivor for heartbeated instances" % len(watch.bad_deletes))
    fc = fleet.counters.snapshot()
    if not fc.get("failover"):
        problems.append("precondition: the heartbeats sent to node1 should have failed over to node0 (fleet %s)" % fc)
    polls = pres.counters.snapshot()
    if polls.get("poll_error") or polls.get("poll_fail"):
        problems.append("lookups failed on a live node: %s %s" % (polls, pres.counters.samples))
    check(not problems, "; ".join(problems) + "; fleet: %s" % fc)


test_kill9_restart_peer_keeps_instances.timeout = 45


# -- clients that do not read ----------------------------------------------------------------


def test_slow_ws_reader_dropped_others_served(ctx):
    srv = _server(ctx, ["--ws.max-queue-bytes=65536"], "faults-slowws")
    api = Api(http.Client(srv.port, timeout=10.0, mode="plain"))
    ctx.defer(api.c.close)
    probe = ws.WebSocket(srv.port, "/ws/discovery/instance-change")
    ctx.defer(probe.abort)
    probe.send_json({"discoveryData": None, "regionId": "sha", "serviceId": "probe.svc", "zoneId": "sha-z1"})
    slow = faults.SlowWsReader(srv.port)
    ctx.defer(slow.close)
    time.sleep(0.2)
    # ~10 MB of pushes on 5000 services: more than the kernel buffers plus the 64 KiB queue
    # absorb, and more than 1024 services to coalesce.
    md = {"b0": "y" * 2000}
    storm = [instance("storm%d.svc" % k, "st-%d" % k, metadata=md) for k in range(5000)]
    for k in range(0, len(storm), 100):
        api.must_register(*storm[k:k + 100])
        if k == 2500:
            api.must_register(instance("probe.svc", "p1"))
    api.must_register(instance("probe.svc", "p2"))
    got = []
    t_end = time.monotonic() + 5.0
    while len(got) < 2 and time.monotonic() < t_end:
        try:
            m = probe.recv_json(t_end - time.monotonic())
        except (TimeoutError, OSError):
            break
        got.append((m.get("changeType"), (m.get("instance") or {}).get("instanceId")))
    check(got == [("new", "p1"), ("new", "p2")],
          "a reading watcher of probe.svc during the storm: expected pushes new p1, new p2; got %s" % got)

    def dropped():
        return faults.metric_sum(srv.port, "artemis_ws_sessions_dropped_total") >= 1

    try:
        cluster.wait_until(dropped, 5.0, what="artemis_ws_sessions_dropped_total >= 1")
    except AssertionError as e:
        raise AssertionError("the watcher that never reads was not dropped after ~10 MB of pushes: %s "
                             "(coalesced %d)" % (e, faults.metric_sum(srv.port, "artemis_ws_pushes_coalesced_total")))
    conns = http.Client(srv.port).get_json("/api/status/message/connections.json")
    check(conns.get("discoveries") == "0",
          "expected no all-instance-change session left after the drop, connections.json says %s" % conns)
    check(slow.gone(5.0), "the dropped session's socket was not closed by the server")
    # and pushes still flow afterwards, to the old watcher and to a new all-instance one
    fresh = ws.WebSocket(srv.port, "/ws/discovery/all-instance-change")
    ctx.defer(fresh.abort)
    time.sleep(0.2)
    api.must_register(instance("probe.svc", "p3"))
    for name, w in (("probe", probe), ("fresh", fresh)):
        m = w.recv_json(3.0)
        check((m.get("changeType"), (m.get("instance") or {}).get("instanceId")) == ("new", "p3"),
              "%s watcher after the drop: expected new p3, got %s" % (name, json.dumps(m)[:200]))
    _healthy(srv.port, "the slow WebSocket reader")


test_slow_ws_reader_dropped_others_served.timeout = 30


def test_slow_http_reader_bounded(ctx):
    srv = _server(ctx, [], "faults-slowhttp")
    api = Api(http.Client(srv.port, timeout=10.0, mode="plain"))
    ctx.defer(api.c.close)
    # 10 services of 20 instances with 16 KB of metadata: a lookup of all 10 is ~3.2 MB
    sids = faults.register_big(srv.port, "big.svc", 10, 20)
    api.must_register(instance("small.svc", "s1"))
    time.sleep(0.3)
    rss0 = faults.rss_kib(srv.pid)
    body = {"discoveryConfigs": [{"serviceId": s} for s in sids], "regionId": "sha", "zoneId": "sha-z1"}
    readers = [faults.SlowHttpReader(srv.port, body, max_requests=300) for _ in range(2)]
    for r in readers:
        ctx.defer(r.close)
    peak, slow_calls = rss0, []
    for _ in range(10):
        t = time.monotonic()
        ids = api.lookup_ids("small.svc")
        dt = time.monotonic() - t
        check(ids == {"s1"}, "lookup of small.svc while slow readers hold answers: %s" % ids)
        if dt > 1.0:
            slow_calls.append(round(dt, 2))
        peak = max(peak, faults.rss_kib(srv.pid))
        time.sleep(0.3)
    sent = [r.sent for r in readers]
    check(min(sent) >= 50, "precondition: each slow reader should pipeline >= 50 lookups of ~3 MB (>= 150 MB "
                           "of answers asked for), sent %s" % sent)
    check(peak - rss0 <= 64 * 1024,
          "RSS with two connections pipelining %s lookups of ~3 MB without reading: expected <= +64 MiB, "
          "went from %d to %d KiB" % (sent, rss0, peak))
    check(not slow_calls, "other clients' lookups took > 1 s: %s" % slow_calls)
    for r in readers:
        r.close()
    _healthy(srv.port, "the slow HTTP readers")


test_slow_http_reader_bounded.timeout = 25


# -- allocation failures ---------------------------------------------------------------------


def _asan_binary():
    with open(server.binary_path(), "rb") as f:
        return b"__asan_init" in f.read()


class _AsanLimit:
    """Stands in for the RLIMIT_AS window under AddressSanitizer, which reserves terabytes of
    address space: any RLIMIT_AS near VmSize makes its every mmap fail and the process abort.
    There the server runs with ASan's own allocation limit instead (allocations over
    ASAN_LIMIT_MB fail with NULL, as under a memory limit), for the whole test."""

    limit = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


ASAN_LIMIT_MB = 4


def test_alloc_failure_window_answers_valid(ctx):
    asan = _asan_binary()
    if asan:
        old = os.environ.get("ASAN_OPTIONS", "")
        os.environ["ASAN_OPTIONS"] = old + ":allocator_may_return_null=1:max_allocation_size_mb=%d" % ASAN_LIMIT_MB
        try:
            srv = _server(ctx, ["--lease-ttl-ms=60000"], "faults-oom")
        finally:
            os.environ["ASAN_OPTIONS"] = old
    else:
        srv = _server(ctx, ["--lease-ttl-ms=60000"], "faults-oom")
    api = Api(http.Client(srv.port, timeout=10.0, mode="plain"))
    ctx.defer(api.c.close)
    # 200 services x 10 instances x 16 KB: lookups of 10 .. 200 distinct services answer
    # ~1.6 MB .. ~32 MB, two at a time, against 64 MiB of headroom
    sids = faults.register_big(srv.port, "big.svc", 200, 10)
    hammer = faults.LookupHammer(srv.port, sids, [10, 50, 120, 200], threads=2)
    ctx.defer(hammer.stop)
    with (_AsanLimit() if asan else faults.as_window(srv.pid, 64 << 20)) as win:
        hammer.start()
        time.sleep(10.0)
        died = not srv.alive()
        hammer.stop()
    c = hammer.counters.snapshot()
    check(not died, "the server died during the allocation-failure window (soft RLIMIT_AS %d MiB; exit %s); "
                    "answers so far: %s %s" % (win.limit >> 20, srv.proc.poll(), c, hammer.counters.samples))
    total = sum(c.values())
    problems = []
    for key, what in (("bad_200", "200 answers that are not valid JSON / not a full success"),
                      ("err_not_json", "errors without a JSON body"),
                      ("odd_status", "answers with a status other than 200/4xx/5xx"),
                      ("no_answer", "requests with no complete answer (connection dropped)")):
        if c.get(key):
            problems.append("%d %s (expected 0), e.g. %s" % (c[key], what, hammer.counters.samples.get(key, [])[:2]))
    check(not problems, "during the RLIMIT_AS window (VmSize + 64 MiB) %d lookups: %s; counts %s" % (
        total, "; ".join(problems), c))
    check(total >= 4, "expected at least 4 answered lookups in 10 s, counts %s" % c)
    check(c.get("err_json", 0) + c.get("fail_200", 0) > 0,
          "precondition: the RLIMIT_AS window should have refused some of the large lookups (else this "
          "test proves nothing; make the answers larger), counts %s" % c)
    _healthy(srv.port, "the allocation-failure window")
    ids = api.lookup_ids("big.svc7")
    check(len(ids) == 10, "after the window, lookup of big.svc7: expected 10 instances, got %d" % len(ids))


test_alloc_failure_window_answers_valid.timeout = 45
