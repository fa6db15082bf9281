#!/usr/bin/python3
"""Fault-injection soak of artemis-server (`make soak`; see tests/soak/README.md).

Usage: ARTEMIS_SERVER=build/bin/artemis-server tests/soak/soak.py [--minutes 10] [--instances 300]
                                                                 [--json FILE]

A three-node cluster on 127.0.0.1 (lease TTL 5 s) carries well-behaved traffic the whole time:
heartbeated instances (HTTP keep-alive and WebSocket threads, failing over like the SDKs),
lookups of every instance on every node every 0.5 s, a WebSocket watcher and a
services-delta poller per node, and a few instances that are deliberately unregistered and
registered again. Faults are injected one after the other, each in its own phase:

  sigstop   node1 SIGSTOPped for 12 s (> TTL), then SIGCONT
  kill9     node2 killed with SIGKILL, restarted on the same port and data dir
  flood     pipelined connections flooding node0 with heartbeats past the global limit
  slow      on node0: a WebSocket watcher and two HTTP clients that never read
  alloc     a single node of its own holding 32 MB of instances gets a soft RLIMIT_AS of
            VmSize + 64 MiB for 20 s while large lookups (up to ~32 MB answers) run

Then it waits for RSS to settle, prints a summary table and one JSON line of figures, and
exits 1 if a check failed (2 on a setup error). It stops by itself (a watchdog ends it at the
budget + 3 minutes) and ends only the processes it started, by PID.
"""

import argparse
import json
import os
import signal
import statistics
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from lib import cluster, faults, http, server  # noqa: E402
from lib.util import instance, instances_req  # noqa: E402

TTL_MS = 5000
PERIOD = 1.5  # heartbeat period of the fleet, s
PAUSE = 12.0  # SIGSTOP length, s (> TTL, > the 10 s self-preservation window)
KILL_DOWN = 6.0  # how long the killed node stays down, s
ALLOC_WINDOW = 20.0
HEADROOM = 64 << 20
FLOOD_LIMIT = 20000  # artemis.service.registry.rate-limiter.default-rate-limit (per 10 s)
RSS_RATIO = 1.20
RSS_SLACK_KIB = 4096  # allocator noise on a small heap: the larger of +20 % and +4 MiB

NODE_ARGS = [
    "--lease-ttl-ms=%d" % TTL_MS,
    "--artemis.service.registry.instance.lease-manager.lease-update-safe-checker.time-window=10000",
    "--artemis.service.registry.instance.lease-manager.lease-update-safe-checker.heartbeat-interval-ms=%d"
    % int(PERIOD * 1000),
    "--artemis.service.registry.rate-limiter.default-rate-limit=%d" % FLOOD_LIMIT,
    "--ws.max-queue-bytes=262144",
]


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


class Soak:
    def __init__(self, args):
        self.args = args
        self.budget = args.minutes * 60.0
        # fixed parts: pause, kill, alloc window, start/restart (~10 s); the rest scales
        fixed = PAUSE + KILL_DOWN + ALLOC_WINDOW + 10.0
        self.scale = max(1.0, (self.budget - fixed) / 140.0)
        self.cl = None
        self.flooders = []
        self.extra_nodes = []
        self.failures = []
        self.phases = []  # (name, t0, t1)
        self.figures = {"minutes": args.minutes, "instances": args.instances, "phases": {}}
        self.deaths = []
        self.expected_down = set()

    def dur(self, base):
        return base * self.scale

    # -- setup ------------------------------------------------------------------------------
    def start(self):
        self.cl = cluster.Cluster(3, extra_args=NODE_ARGS)
        self.cl.start(timeout=30.0)
        self.ports = [n.port for n in self.cl.nodes]
        log("cluster up: ports %s, server %s" % (self.ports, server.binary_path()))
        insts = faults.fleet_instances("soak", self.args.instances, services=10)
        self.big = faults.big_instances("soak.big", 20, payload=8000)
        self.churn = [(i["serviceId"], i["instanceId"]) for i in insts[:10]]
        self.fleet = faults.Fleet(self.ports, insts + self.big, period=PERIOD, http_threads=3,
                                  ws_threads=3, timeout=2.0, grace=3.0)
        self.fleet.register_all()
        self.fleet.start()
        self.presence = faults.Presence(self.ports, self.fleet, interval=0.5, timeout=3.0).start()
        self.watchers = [faults.Watcher(p, self.fleet, node=i).start() for i, p in enumerate(self.ports)]
        self.deltas = [faults.DeltaPoller(p, self.fleet, node=i).start() for i, p in enumerate(self.ports)]
        self.rss = faults.RssSampler(self.pids, interval=1.0).start()
        self.churn_stop = threading.Event()
        self.churn_thread = threading.Thread(target=self._churn, daemon=True)
        self.churn_thread.start()

    def pids(self):
        return [n.proc.pid if n.alive() else None for n in self.cl.nodes]

    def _churn(self):
        """Every 4 s one of the churn instances is unregistered, and registered again 4 s
        later (deliberate stops: excluded from the checks while stopped)."""
        k = 0
        retry = []
        while not self.churn_stop.wait(4.0):
            for key in list(retry):
                try:
                    self.fleet.start_instance(key, self.ports[k % 3])
                    retry.remove(key)
                except (http.HttpError, OSError, AssertionError):
                    pass
            key = self.churn[k % len(self.churn)]
            k += 1
            if key in retry:
                continue
            try:
                self.fleet.stop_instance(key, self.ports[k % 3])
            except (http.HttpError, OSError, AssertionError):
                pass
            self.churn_stop.wait(4.0)
            try:
                self.fleet.start_instance(key, self.ports[(k + 1) % 3])
            except (http.HttpError, OSError, AssertionError):
                retry.append(key)

    def set_phase(self, name):
        self.presence.phase = name
        for w in self.watchers + self.deltas:
            w.phase = name

    def check_alive(self, phase):
        for i, n in enumerate(self.cl.nodes):
            if i in self.expected_down or n.alive():
                continue
            code = n.proc.poll() if n.proc else None
            self.deaths.append({"phase": phase, "node": i, "exit": code})
            self.failures.append("node%d died during %s (exit status %s)" % (i, phase, code))
            log("node%d died during %s (exit %s); log tail:\n%s" % (i, phase, code, n.log_tail(10)))
            self.restart(i)

    def restart(self, i, timeout=30.0):
        self.cl.start_node(i, wait=False)
        cluster.wait_until(lambda: self.cl[i].health()[0] == 200, timeout, interval=0.1,
                           what="node%d ready after restart" % i)

    def phase(self, name, body):
        log("phase %s" % name)
        snap = self.fleet.counters.snapshot()
        t0 = time.monotonic()
        self.set_phase(name)
        extra = body() or {}
        t1 = time.monotonic()
        self.check_alive(name)
        self.phases.append((name, t0, t1))
        d = faults.diff(self.fleet.counters.snapshot(), snap)
        fig = {"seconds": round(t1 - t0, 1), "fleet": d}
        fig.update(extra)
        self.figures["phases"][name] = fig

    # -- phases -------------------------------------------------------------------------------
    STORM = [instance("storm%d.svc" % k, "st-%d" % k, metadata={"b0": "y" * 2000}) for k in range(5000)]

    def storm(self, port, register=True):
        """Register (or unregister) 5000 services of one 2 KB instance each: ~10 MB of pushes,
        registered in chunks of 100 that a reading watcher keeps up with."""
        step = 100 if register else 500
        path = "/api/registry/%s.json" % ("register" if register else "unregister")
        c = http.Client(port, mode="plain", timeout=10.0)
        try:
            for k in range(0, len(self.STORM), step):
                c.post_json(path, instances_req(*self.STORM[k:k + step]))
                if register:
                    time.sleep(0.05)
        finally:
            c.close()

    def warmup(self):
        # The same change storm as in "slow", so the change log holds its steady-state bytes
        # (artemis.service.registry.data.instance-change.max-buffer-bytes) before RSS is taken.
        t0 = time.monotonic()
        for _ in range(2):  # twice: the allocator's heap reaches its steady state too
            self.storm(self.ports[0])
            self.storm(self.ports[0], register=False)
        time.sleep(max(0.0, self.dur(20.0) - (time.monotonic() - t0)))

    def sigstop(self):
        node = self.cl[1]
        self.presence.skip.add(1)
        with faults.paused(node.proc.pid):
            time.sleep(PAUSE)
        self.presence.skip.discard(1)
        time.sleep(self.dur(12.0))
        return {"paused_s": PAUSE}

    def kill9(self):
        self.expected_down.add(2)
        self.presence.skip.add(2)
        self.watchers[2].skip = self.deltas[2].skip = True
        self.cl[2].kill()
        time.sleep(KILL_DOWN)
        t = time.monotonic()
        self.restart(2)
        ready = time.monotonic() - t
        self.expected_down.discard(2)
        self.presence.skip.discard(2)
        self.watchers[2].skip = self.deltas[2].skip = False
        time.sleep(self.dur(12.0))
        return {"down_s": KILL_DOWN, "ready_after_restart_s": round(ready, 2)}

    def flood(self):
        bad = instance("soak.flood", "flooder")
        c = http.Client(self.ports[0], mode="plain")
        try:
            c.post_json("/api/registry/register.json", instances_req(bad))
        finally:
            c.close()
        secs = self.dur(20.0)
        snap = self.fleet.counters.snapshot()
        f = faults.Flooder(self.ports[0], bad, conns=2, seconds=secs + 10).start()
        self.flooders.append(f)
        time.sleep(secs)
        during = faults.diff(self.fleet.counters.snapshot(), snap)
        fs = f.stop()
        self.flooders.remove(f)
        time.sleep(self.dur(10.0))
        return {"flooder": fs, "during_flood": {
            "ok": during.get("hb_ok", 0), "rate_limited": during.get("hb_rate_limited", 0),
            "ok_node0": during.get("hb_ok@0", 0), "rate_limited_node0": during.get("hb_rate_limited@0", 0),
            "register_rate_limited": during.get("register_rate_limited", 0)}}

    def slow(self):
        port = self.ports[0]
        dropped0 = faults.metric_sum(port, "artemis_ws_sessions_dropped_total")
        rss0 = faults.rss_kib(self.cl[0].proc.pid)
        slow_ws = faults.SlowWsReader(port)
        body = {"discoveryConfigs": [{"serviceId": s} for s in self.fleet.services()],
                "regionId": "sha", "zoneId": "sha-z1"}
        readers = [faults.SlowHttpReader(port, body, max_requests=300) for _ in range(2)]
        t0 = time.monotonic()
        try:
            self.storm(port)
            time.sleep(max(0.0, self.dur(20.0) - (time.monotonic() - t0)))
            dropped = faults.metric_sum(port, "artemis_ws_sessions_dropped_total") - dropped0
            closed = slow_ws.gone(5.0)
            peak = self.rss.peak(0, t0, time.monotonic()) or rss0
            self.storm(port, register=False)
        finally:
            slow_ws.close()
            for r in readers:
                r.close()
        if not dropped or not closed:
            self.failures.append("slow: the WebSocket watcher that never reads was not dropped by node0 "
                                 "(sessions dropped +%d, socket closed: %s)" % (dropped, closed))
        time.sleep(self.dur(8.0))
        return {"ws_sessions_dropped": dropped, "ws_socket_closed": closed,
                "http_pipelined": [r.sent for r in readers], "rss_before_kib": rss0, "rss_peak_kib": peak}

    def alloc(self):
        """A single node of its own (lease TTL 60 s) holding 32 MB of instances; its soft
        RLIMIT_AS is VmSize + 64 MiB while 2 threads ask for 10 .. 200 services at once
        (answers of ~1.6 MB .. ~32 MB) and a well-behaved client heartbeats and looks up."""
        node = server.Server(["--lease-ttl-ms=60000"], name="soak-alloc", log_level="info")
        self.extra_nodes.append(node)
        node.start()
        sids = faults.register_big(node.port, "alloc.big", 200, 10)
        probe = instance("alloc.probe", "probe-1")
        c = http.Client(node.port, timeout=5.0, mode="plain")
        c.post_json("/api/registry/register.json", instances_req(probe))
        rss0 = faults.rss_kib(node.pid)
        hammer = faults.LookupHammer(node.port, sids, [10, 50, 120, 200], threads=2)
        probe_counts = {"ok": 0, "failed": 0}
        peak = rss0
        with faults.as_window(node.pid, HEADROOM) as win:
            hammer.start()
            t_end = time.monotonic() + ALLOC_WINDOW
            while time.monotonic() < t_end and node.alive():
                try:
                    r1 = c.post_json("/api/registry/heartbeat.json", instances_req(probe))
                    r2 = c.post_json("/api/discovery/lookup.json", {"discoveryConfigs": [{"serviceId": "alloc.probe"}],
                                                                    "regionId": "sha", "zoneId": "sha-z1"})
                    good = faults.status_code(r1) == "success" and faults.status_code(r2) == "success" and \
                        [i["instanceId"] for i in r2["services"][0]["instances"] or []] == ["probe-1"]
                    probe_counts["ok" if good else "failed"] += 1
                except (http.HttpError, OSError, AssertionError, KeyError, IndexError, TypeError):
                    probe_counts["failed"] += 1
                    c.close()
                peak = max(peak, faults.rss_kib(node.pid)) if node.alive() else peak
                time.sleep(0.25)
            died = not node.alive()
            hammer.stop()
        c.close()
        counts = hammer.counters.snapshot()
        bad = {k: counts.get(k, 0) for k in ("bad_200", "err_not_json", "odd_status", "no_answer") if counts.get(k)}
        if bad:
            self.failures.append("alloc: answers during the RLIMIT_AS window that are not valid: %s, e.g. %s" % (
                bad, [s for k in bad for s in hammer.counters.samples.get(k, [])[:1]]))
        if died:
            self.failures.append("alloc: the node died during the RLIMIT_AS window (exit %s)" % node.proc.poll())
        elif not counts.get("err_json") and not counts.get("fail_200"):
            self.failures.append("alloc: the RLIMIT_AS window refused no lookup: the phase proves nothing (%s)" % counts)
        after = None
        if not died:
            try:
                ok = http.quick_get(node.port, "/health", timeout=3.0).status == 200
            except (http.HttpError, OSError):
                ok = False
            if not ok:
                self.failures.append("alloc: /health is not 200 after the RLIMIT_AS window")
            time.sleep(2.0)
            after = faults.rss_kib(node.pid)
            code = node.stop(5.0)
            if code != 0:
                self.failures.append("alloc: the node exited %s on SIGTERM after the window" % code)
        node.cleanup()
        self.extra_nodes.remove(node)
        time.sleep(self.dur(10.0))
        return {"limit_mib": win.limit >> 20, "answers": counts, "died": died, "probe": probe_counts,
                "rss_kib": {"before": rss0, "peak": peak, "after": after}}

    def plateau(self):
        """Wait (at most dur(20)*2 s, at least dur(20) s) for every node's RSS to settle."""
        t0 = time.monotonic()
        least, most = self.dur(20.0), self.dur(40.0)
        while True:
            time.sleep(2.0)
            el = time.monotonic() - t0
            if el >= most:
                return {"settled": False}
            if el < least:
                continue
            ok = True
            for i in range(3):
                vals = [v for t, v in self.rss.series.get(i, []) if t >= time.monotonic() - 10.0]
                if len(vals) < 5 or (max(vals) - min(vals)) > 0.02 * max(vals):
                    ok = False
            if ok:
                return {"settled": True}

    # -- report -------------------------------------------------------------------------------
    def registry_memory(self):
        """artemis_registry_memory_bytes of every node in KiB (None if it does not answer):
        tells a registry that grew from an allocator that kept freed memory."""
        out = []
        for p in self.ports:
            try:
                out.append(int(faults.metric_sum(p, "artemis_registry_memory_bytes") / 1024))
            except (http.HttpError, OSError):
                out.append(None)
        return out

    def rss_figures(self, warm_end):
        out = []
        regmem_after = self.registry_memory()
        for i in range(3):
            series = self.rss.series.get(i, [])
            before = [v for t, v in series if warm_end - 5.0 <= t <= warm_end]
            after = [v for t, v in series if t >= time.monotonic() - 6.0]
            b = int(statistics.median(before)) if before else None
            a = int(statistics.median(after)) if after else None
            peak = max((v for _, v in series), default=None)
            limit = int(max(b * RSS_RATIO, b + RSS_SLACK_KIB)) if b else None
            out.append({"node": i, "before_kib": b, "peak_kib": peak, "after_kib": a, "limit_kib": limit,
                        "registry_before_kib": self.regmem_before[i], "registry_after_kib": regmem_after[i]})
            if b is None or a is None:
                self.failures.append("rss: no samples for node%d" % i)
            elif a > limit:
                self.failures.append("rss: node%d after the faults %d KiB > %d KiB (before %d KiB + 20 %%)" % (
                    i, a, limit, b))
        return out

    def report(self, rss):
        missing = self.presence.missing_in()
        wdel = [d for w in self.watchers for d in w.bad_deletes]
        ddel = [d for p in self.deltas for d in p.bad_deletes]
        print()
        hdr = "%-8s %6s %8s %8s %7s %7s %8s %6s %7s %6s %6s" % (
            "phase", "secs", "missing", "distinct", "ws-del", "dlt-del", "hb-ok", "rl", "notfnd", "err", "fover")
        print(hdr)
        print("-" * len(hdr))
        for name, t0, t1 in self.phases:
            m = [x for x in missing if x[4] == name]
            f = self.figures["phases"][name]["fleet"]
            print("%-8s %6.0f %8d %8d %7d %7d %8d %6d %7d %6d %6d" % (
                name, t1 - t0, len(m), len({(x[2], x[3]) for x in m}),
                len([x for x in wdel if x[4] == name]), len([x for x in ddel if x[4] == name]),
                f.get("hb_ok", 0), f.get("hb_rate_limited", 0), f.get("hb_not_found", 0),
                f.get("hb_error", 0), f.get("failover", 0)))
        print()
        print("%-6s %11s %11s %11s %11s %15s" % ("node", "rss before", "peak", "after", "limit",
                                                 "registry before/after"))
        for r in rss:
            print("node%-2d %8s KiB %7s KiB %7s KiB %7s KiB %8s/%s KiB" % (
                r["node"], r["before_kib"], r["peak_kib"], r["after_kib"], r["limit_kib"],
                r["registry_before_kib"], r["registry_after_kib"]))
        fl = self.figures["phases"].get("flood", {})
        if fl:
            d, fs = fl["during_flood"], fl["flooder"]
            print("\nflood: flooder sent %d, answered %d, rate-limited %d; well-behaved heartbeats during "
                  "the flood: %d ok, %d rate-limited (node0: %d ok, %d rate-limited)" % (
                      fs.get("sent", 0), fs.get("answers", 0), fs.get("rate_limited", 0), d["ok"],
                      d["rate_limited"], d["ok_node0"], d["rate_limited_node0"]))
        sl = self.figures["phases"].get("slow", {})
        if sl:
            print("slow: ws sessions dropped %d (socket closed: %s), http requests pipelined unread %s, "
                  "node0 rss %d -> peak %d KiB" % (sl["ws_sessions_dropped"], sl["ws_socket_closed"],
                                                   sl["http_pipelined"], sl["rss_before_kib"], sl["rss_peak_kib"]))
        al = self.figures["phases"].get("alloc", {})
        if al:
            print("alloc: soft RLIMIT_AS %d MiB, answers %s, well-behaved probe %s, node died: %s, rss %s" % (
                al["limit_mib"], al["answers"], al["probe"], al["died"], al["rss_kib"]))
        watch = {k: sum(w.counters.get(k) for w in self.watchers) for k in ("changes", "disconnects", "connects")}
        dl = {k: sum(p.counters.get(k) for p in self.deltas) for k in ("deltas", "resync", "errors")}
        print("watchers: %s; delta polls: %s; presence: %s" % (watch, dl, self.presence.counters.snapshot()))
        starts = {name: t0 for name, t0, _ in self.phases}

        def where(x):
            return "%s+%.1fs node%d %s/%s" % (x[4], x[0] - starts.get(x[4], x[0]), x[1], x[2], x[3])

        if missing:
            print("first missing: %s" % ", ".join(where(x) for x in missing[:6]))
        if wdel or ddel:
            print("first deletes: %s" % ", ".join(where(x) for x in sorted(wdel + ddel)[:6]))
        for w in self.watchers:
            if w.counters.get("disconnects"):
                print("watcher node%d disconnects: %s" % (w.node, w.counters.samples.get("disconnects")))
        if missing:
            self.failures.append("%d lookups missed a heartbeated instance (%d distinct instances), expected 0" % (
                len(missing), len({(x[2], x[3]) for x in missing})))
        if wdel or ddel:
            self.failures.append("%d deletes pushed to watchers and %d in deltas for heartbeated instances, "
                                 "expected 0" % (len(wdel), len(ddel)))
        if fl:
            if fl["flooder"].get("rate_limited", 0) == 0:
                self.failures.append("flood: the flooder never hit the limit: the phase proves nothing")
            if fl["during_flood"]["rate_limited"] or fl["during_flood"]["register_rate_limited"]:
                self.failures.append("flood: well-behaved clients were rate-limited %d times (heartbeats) and %d "
                                     "(registers) while the flooder flooded, expected 0" % (
                                         fl["during_flood"]["rate_limited"], fl["during_flood"]["register_rate_limited"]))
        for name, _, _ in self.phases:
            if self.figures["phases"][name]["fleet"].get("hb_ok", 0) == 0:
                self.failures.append("%s: no successful heartbeat at all" % name)
        self.figures.update({
            "missing": len(missing), "missing_distinct": len({(x[2], x[3]) for x in missing}),
            "watch_deletes": len(wdel), "delta_deletes": len(ddel), "rss": rss, "deaths": self.deaths,
            "watchers": watch, "delta_polls": dl, "presence": self.presence.counters.snapshot(),
            "fleet_total": self.fleet.counters.snapshot(), "failures": self.failures,
            "ok": not self.failures,
        })

    def stop(self):
        for f in list(self.flooders):
            f.stop()
        for name in ("churn_stop",):
            if hasattr(self, name):
                getattr(self, name).set()
        for x in ("fleet", "presence", "rss"):
            if hasattr(self, x):
                getattr(self, x).stop()
        for w in getattr(self, "watchers", []) + getattr(self, "deltas", []):
            w.stop()
        if self.cl is not None:
            self.cl.cleanup()
        for n in list(self.extra_nodes):
            n.cleanup()

    def run(self):
        self.start()
        t_start = time.monotonic()
        self.phase("warmup", self.warmup)
        warm_end = time.monotonic()
        self.regmem_before = self.registry_memory()
        for name, fn in (("sigstop", self.sigstop), ("kill9", self.kill9), ("flood", self.flood),
                         ("slow", self.slow), ("alloc", self.alloc), ("plateau", self.plateau)):
            self.phase(name, fn)
        self.figures["seconds"] = round(time.monotonic() - t_start, 1)
        self.churn_stop.set()
        rss = self.rss_figures(warm_end)
        if self.failures or self.presence.missing:
            for n in self.cl.nodes:
                print("--- %s (port %d) log tail\n%s" % (n.name, n.port, n.log_tail(12)))
        self.report(rss)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="time budget (default 10; at least ~3)")
    ap.add_argument("--instances", type=int, default=300, help="heartbeated instances (plus 20 large ones)")
    ap.add_argument("--json", help="also write the figures (one JSON line) to this file")
    a = ap.parse_args()
    if not os.path.exists(server.binary_path()):
        print("soak: server binary %s does not exist (set ARTEMIS_SERVER)" % server.binary_path(), file=sys.stderr)
        sys.exit(2)
    soak = Soak(a)

    def watchdog():
        print("soak: over budget by 3 minutes, stopping", file=sys.stderr, flush=True)
        try:
            soak.cl and soak.cl.cleanup()
            for n in list(soak.extra_nodes):
                n.cleanup()
            for f in list(soak.flooders):
                f.stop()
        finally:
            os._exit(3)

    wd = threading.Timer(soak.budget + 180.0, watchdog)
    wd.daemon = True
    wd.start()
    def on_term(*_):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, on_term)
    code = 0
    try:
        soak.run()
    except KeyboardInterrupt:
        print("soak: interrupted", file=sys.stderr)
        code = 2
    except (AssertionError, OSError, http.HttpError) as e:
        print("soak: setup failed: %s" % e, file=sys.stderr)
        if soak.cl is not None:
            print(soak.cl.logs(), file=sys.stderr)
        code = 2
    finally:
        soak.stop()
        wd.cancel()
    if code:
        sys.exit(code)
    line = json.dumps({"soak": soak.figures}, sort_keys=True, separators=(",", ":"))
    print()
    print(line)
    if a.json:
        with open(a.json, "w") as f:
            f.write(line + "\n")
    print()
    if soak.failures:
        print("soak: FAILED")
        for f in soak.failures:
            print("  - " + f)
        sys.exit(1)
    print("soak: passed")


if __name__ == "__main__":
    main()
