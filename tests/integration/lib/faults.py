"""Fault injection and well-behaved traffic for tests/integration/test_faults.py and the soak
(tests/soak/soak.py).

Everything here talks to 127.0.0.1 only and ends only what it started, by PID:

- process facts from /proc (RSS, VmSize), SIGSTOP/SIGCONT by PID, a soft RLIMIT_AS window
  through `prlimit --pid` (the hard limit is never touched, so it can always be restored);
- `Fleet`: instances heartbeated every `period` seconds by a few client threads, over HTTP
  keep-alive and over the WebSocket /ws/registry/heartbeat, re-registering after
  data-not-found and failing over to another node on transport errors, as the SDKs do;
- `Presence`: polls lookup.json for every fleet instance on every node and records each time
  an instance that should be listed is not;
- `Watcher`: a WebSocket watcher (all-instance-change) recording deletes of fleet instances;
- `DeltaPoller`: services.json + services-delta.json polling, recording deletes too;
- `Flooder`: a separate Python process pipelining heartbeats as fast as it can (a separate
  process so it does not take the GIL from the well-behaved clients);
- `SlowWsReader`, `SlowHttpReader`: clients that never read what they asked for;
- `LookupHammer`: large lookup.json requests whose every answer is validated.

Counters are `Counters` (thread-safe); take `snapshot()`s at phase boundaries and `diff` them.
"""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

from . import http, ws
from .util import instance, instances_req, lookup_req

HERE = os.path.dirname(os.path.abspath(__file__))

# -- process facts -------------------------------------------------------------------------------


def proc_status(pid):
    """The fields of /proc/<pid>/status as strings."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k.strip()] = v.strip()
    return out


def _kib(pid, field):
    v = proc_status(pid).get(field)
    if v is None:
        raise AssertionError("no %s in /proc/%d/status" % (field, pid))
    return int(v.split()[0])


def rss_kib(pid):
    return _kib(pid, "VmRSS")


def vmsize_kib(pid):
    return _kib(pid, "VmSize")


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        return proc_status(pid).get("State", "Z")[:1] not in ("Z", "X")
    except OSError:
        return False


def set_soft_as(pid, nbytes):
    """Lower the soft RLIMIT_AS of pid to nbytes (the hard limit stays as it is)."""
    subprocess.run(["prlimit", "--pid", str(pid), "--as=%d:" % nbytes], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=10)


def restore_soft_as(pid):
    """Raise the soft RLIMIT_AS of pid back to unlimited (its hard limit; never lowered)."""
    subprocess.run(["prlimit", "--pid", str(pid), "--as=unlimited:"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=10)


class as_window:
    """`with as_window(pid, headroom)`: soft RLIMIT_AS = current VmSize + headroom bytes for
    the block, restored on the way out even if the block raises."""

    def __init__(self, pid, headroom=64 << 20):
        self.pid = pid
        self.headroom = headroom
        self.limit = None

    def __enter__(self):
        self.limit = vmsize_kib(self.pid) * 1024 + self.headroom
        set_soft_as(self.pid, self.limit)
        return self

    def __exit__(self, *exc):
        if alive(self.pid):
            restore_soft_as(self.pid)
        return False


class paused:
    """`with paused(pid)`: SIGSTOP on entry, SIGCONT on exit (always)."""

    def __init__(self, pid):
        self.pid = pid

    def __enter__(self):
        os.kill(self.pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc):
        try:
            os.kill(self.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        return False


def metrics(port, timeout=3.0):
    """GET /metrics as {series text (name + labels): float}."""
    text = http.quick_get(port, "/metrics", timeout=timeout).text()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            pass
    return out


def metric_sum(port, name, timeout=3.0):
    """Sum of every series of metric `name` (any labels)."""
    return sum(v for k, v in metrics(port, timeout).items() if k == name or k.startswith(name + "{"))


# -- counters ------------------------------------------------------------------------------------


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {}
        self.samples = {}

    def add(self, key, n=1, sample=None):
        with self.lock:
            self.c[key] = self.c.get(key, 0) + n
            if sample is not None:
                s = self.samples.setdefault(key, [])
                if len(s) < 5:
                    s.append(sample)

    def get(self, key):
        with self.lock:
            return self.c.get(key, 0)

    def snapshot(self):
        with self.lock:
            return dict(self.c)


def diff(after, before):
    keys = set(after) | set(before)
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys if after.get(k, 0) - before.get(k, 0)}


def status_code(body):
    """responseStatus.errorCode of a parsed answer, or None."""
    rs = body.get("responseStatus") if isinstance(body, dict) else None
    return rs.get("errorCode") if isinstance(rs, dict) else None


# -- the well-behaved fleet ----------------------------------------------------------------------


class Fleet:
    """Instances heartbeated every `period` s (spread over the period) by `http_threads`
    HTTP keep-alive threads and `ws_threads` WebSocket threads. Thread k prefers node
    k % len(ports); on a transport error or service-unavailable it fails over to the next
    node and returns to its own node after `home_after` s.

    Deliberate stops (stop_instance) unregister an instance and take it out of what should
    be listed until `grace` s after start_instance registers it again.

    Counters: hb_ok, hb_rate_limited (also per node: hb_ok@N, hb_rate_limited@N), hb_not_found,
    hb_unavailable, hb_other, hb_error (transport), failover, reregister, register_rate_limited,
    register_failed."""

    def __init__(self, ports, insts, period=1.0, http_threads=2, ws_threads=2, timeout=3.0,
                 grace=2.0, home_after=20.0, java_threads=1):
        self.ports = list(ports)
        self.insts = list(insts)
        self.by_key = {(i["serviceId"], i["instanceId"]): i for i in self.insts}
        self.period = period
        self.timeout = timeout
        self.grace = grace
        self.home_after = home_after
        self.counters = Counters()
        self.lock = threading.Lock()
        self.registered_at = {}  # key -> monotonic time it counts from
        self.stopped = {}  # key -> monotonic time of the deliberate stop (None when running)
        self.last_stop = {}  # key -> monotonic time of the last deliberate stop
        self.stop_evt = threading.Event()
        self.threads = []
        n = http_threads + ws_threads
        self.kinds = ["http"] * http_threads + ["ws"] * ws_threads
        self.java_threads = java_threads
        self.parts = [self.insts[k::n] for k in range(n)] if n else []

    # -- what should be listed
    def services(self):
        return sorted({i["serviceId"] for i in self.insts})

    def expected(self, now=None):
        """Keys that must be listed now: registered at least `grace` s ago, not stopped."""
        now = time.monotonic() if now is None else now
        with self.lock:
            return {k for k, t in self.registered_at.items()
                    if t is not None and now - t >= self.grace and self.stopped.get(k) is None}

    def deliberate(self, key, window=None):
        """True if key is deliberately stopped now, or was within `window` s (None: ever; a
        delete of it can arrive late from a node that was paused or cut off meanwhile)."""
        with self.lock:
            if self.stopped.get(key) is not None:
                return True
            t = self.last_stop.get(key)
            return t is not None and (window is None or time.monotonic() - t < window)

    def is_fleet(self, key):
        return key in self.by_key

    # -- registration
    def register_all(self, port=None, batch=50):
        c = http.Client(port or self.ports[0], timeout=10.0, mode="plain")
        try:
            for k in range(0, len(self.insts), batch):
                part = self.insts[k:k + batch]
                r = c.post_json("/api/registry/register.json", instances_req(*part))
                if status_code(r) != "success":
                    raise AssertionError("fleet register: expected success, got %s" % json.dumps(r)[:300])
        finally:
            c.close()
        now = time.monotonic()
        with self.lock:
            for i in self.insts:
                self.registered_at[(i["serviceId"], i["instanceId"])] = now

    def stop_instance(self, key, port):
        with self.lock:
            self.stopped[key] = time.monotonic()
            self.last_stop[key] = time.monotonic()
        c = http.Client(port, timeout=self.timeout, mode="plain")
        try:
            c.post_json("/api/registry/unregister.json", instances_req(self.by_key[key]))
        finally:
            c.close()

    def start_instance(self, key, port):
        c = http.Client(port, timeout=self.timeout, mode="plain")
        try:
            c.post_json("/api/registry/register.json", instances_req(self.by_key[key]))
        finally:
            c.close()
        with self.lock:
            self.stopped[key] = None
            self.registered_at[key] = time.monotonic()

    # -- heartbeating
    def start(self):
        for k, kind in enumerate(self.kinds):
            t = threading.Thread(target=self._run, args=(k, kind), daemon=True, name="fleet-%d" % k)
            t.start()
            self.threads.append(t)
        return self

    def stop(self):
        self.stop_evt.set()
        for t in self.threads:
            t.join(self.timeout * 3 + 5)

    def _run(self, k, kind):
        mine = self.parts[k]
        if not mine:
            return
        home = k % len(self.ports)
        st = {"node": home, "since": time.monotonic(), "conn": None, "reg": None}
        java = kind == "http" and k < self.java_threads
        gap = self.period / len(mine)
        t_next = time.monotonic() + random.uniform(0, gap)
        try:
            while not self.stop_evt.is_set():
                for inst in mine:
                    delay = t_next - time.monotonic()
                    if delay > 0 and self.stop_evt.wait(delay):
                        return
                    t_next = max(t_next + gap, time.monotonic() - self.period)
                    key = (inst["serviceId"], inst["instanceId"])
                    with self.lock:
                        if self.stopped.get(key) is not None:
                            continue
                    if st["node"] != home and time.monotonic() - st["since"] > self.home_after:
                        self._switch(st, home)
                    self._beat(st, kind, java, inst, key)
        finally:
            self._close(st)

    def _close(self, st):
        for name in ("conn", "reg"):
            x = st.get(name)
            if x is not None:
                try:
                    x.abort() if isinstance(x, ws.WebSocket) else x.close()
                except Exception:
                    pass
            st[name] = None

    def _switch(self, st, node):
        self._close(st)
        st["node"] = node
        st["since"] = time.monotonic()

    def _failover(self, st):
        self.counters.add("failover")
        self._switch(st, (st["node"] + 1) % len(self.ports))

    def _send(self, st, kind, java, inst):
        """One heartbeat on the current node; returns the parsed answer (raises on transport)."""
        port = self.ports[st["node"]]
        if kind == "ws":
            if st["conn"] is None:
                st["conn"] = ws.WebSocket(port, "/ws/registry/heartbeat", timeout=self.timeout)
            st["conn"].send_json(instances_req(inst))
            return st["conn"].recv_json(self.timeout)
        if st["conn"] is None:
            # a bare connection: no silent retry on the same node (that would double the time
            # a paused node holds the heartbeat before the failover)
            st["conn"] = http.Connection(port, timeout=self.timeout)
        r = st["conn"].request("POST", "/api/registry/heartbeat.json", instances_req(inst), None,
                               "java" if java else "plain")
        if r.status != 200:
            raise http.HttpError("heartbeat HTTP %d %r" % (r.status, r.body[:200]))
        return r.json()

    def _beat(self, st, kind, java, inst, key, retry=True):
        try:
            r = self._send(st, kind, java, inst)
        except (http.HttpError, ws.WsError, OSError, AssertionError, ValueError) as e:
            self.counters.add("hb_error", sample="%s node%d: %s" % (kind, st["node"], e))
            self._failover(st)
            if retry and not self.stop_evt.is_set():
                self._beat(st, kind, java, inst, key, retry=False)
            return
        code = status_code(r)
        node = st["node"]
        if code == "success":
            self.counters.add("hb_ok")
            self.counters.add("hb_ok@%d" % node)
        elif code == "rate-limited":
            self.counters.add("hb_rate_limited", sample="node%d" % node)
            self.counters.add("hb_rate_limited@%d" % node)
        elif code == "service-unavailable":
            self.counters.add("hb_unavailable")
            self._failover(st)
        elif code == "partial_fail" and any(
                (f or {}).get("errorCode") == "data-not-found" for f in (r.get("failedInstances") or [])):
            with self.lock:
                stopped = self.stopped.get(key) is not None
            if stopped:  # unregistered deliberately while this heartbeat was on its way
                self.counters.add("hb_not_found_stopped")
                return
            self.counters.add("hb_not_found", sample="%s/%s node%d" % (key[0], key[1], st["node"]))
            self._reregister(st, inst)
        else:
            self.counters.add("hb_other", sample=json.dumps(r)[:200])

    def _reregister(self, st, inst):
        try:
            if st["reg"] is None:
                st["reg"] = http.Client(self.ports[st["node"]], timeout=self.timeout, mode="plain")
            r = st["reg"].post_json("/api/registry/register.json", instances_req(inst))
        except (http.HttpError, OSError, AssertionError) as e:
            self.counters.add("register_failed", sample=str(e))
            if st["reg"] is not None:
                st["reg"].close()
            st["reg"] = None
            return
        code = status_code(r)
        if code == "success":
            self.counters.add("reregister")
        elif code == "rate-limited":
            self.counters.add("register_rate_limited")
        else:
            self.counters.add("register_failed", sample=json.dumps(r)[:200])


def fleet_instances(prefix, n, services=10, payload=0, port_base=20000):
    """n instances spread over `services` services named <prefix>.svc<k>; payload = bytes
    of metadata per instance (in 4000-byte values, under registry.max-string-bytes)."""
    out = []
    for k in range(n):
        md = None
        if payload:
            md = {"b%d" % j: "x" * min(4000, payload - 4000 * j) for j in range((payload + 3999) // 4000)}
        out.append(instance("%s.svc%d" % (prefix, k % services), "%s-%d" % (prefix, k),
                            port=port_base + k, metadata=md))
    return out


# -- observers -----------------------------------------------------------------------------------


class Presence:
    """Polls lookup.json (all fleet services in one request) on every node every `interval` s.
    A node in `skip` (under a deliberate fault) is not polled. Every fleet instance that
    should be listed (Fleet.expected, at the start and at the end of the poll) and is not is
    recorded in `missing` as (monotonic time, node, serviceId, instanceId, phase)."""

    def __init__(self, ports, fleet, interval=0.5, timeout=3.0):
        self.ports = list(ports)
        self.fleet = fleet
        self.interval = interval
        self.timeout = timeout
        self.skip = set()
        self.phase = "-"
        self.missing = []
        self.counters = Counters()
        self.stop_evt = threading.Event()
        self.lock = threading.Lock()
        self.threads = []

    def start(self):
        for n in range(len(self.ports)):
            t = threading.Thread(target=self._run, args=(n,), daemon=True, name="presence-%d" % n)
            t.start()
            self.threads.append(t)
        return self

    def stop(self):
        self.stop_evt.set()
        for t in self.threads:
            t.join(self.timeout + 5)

    def set_port(self, n, port):
        self.ports[n] = port

    def _run(self, n):
        c = None
        services = self.fleet.services()
        while not self.stop_evt.wait(self.interval):
            if n in self.skip:
                if c is not None:
                    c.close()
                    c = None
                continue
            before = self.fleet.expected()
            try:
                if c is None:
                    c = http.Client(self.ports[n], timeout=self.timeout, mode="plain")
                r = c.post_json("/api/discovery/lookup.json", lookup_req(*services))
            except (http.HttpError, OSError, AssertionError) as e:
                if c is not None:
                    c.close()
                c = None
                if n not in self.skip:
                    self.counters.add("poll_error", sample="node%d: %s" % (n, e))
                continue
            if n in self.skip:
                continue
            if status_code(r) != "success":
                self.counters.add("poll_fail", sample="node%d: %s" % (n, json.dumps(r)[:200]))
                continue
            self.counters.add("polls")
            present = set()
            for s in r.get("services") or []:
                for i in s.get("instances") or []:
                    present.add((s.get("serviceId"), i.get("instanceId")))
            want = before & self.fleet.expected()
            gone = want - present
            if gone:
                now = time.monotonic()
                with self.lock:
                    for key in sorted(gone):
                        self.missing.append((now, n, key[0], key[1], self.phase))
                self.counters.add("missing", len(gone))

    def missing_in(self, phase=None):
        with self.lock:
            return [m for m in self.missing if phase is None or m[4] == phase]


class Watcher:
    """A WebSocket watcher on /ws/discovery/all-instance-change of one node. Records every
    delete of a fleet instance that was not deliberately stopped (`bad_deletes`), reconnects
    after a close (counted) unless the node is in `skip`."""

    def __init__(self, port, fleet, node=0, path="/ws/discovery/all-instance-change"):
        self.port = port
        self.fleet = fleet
        self.node = node
        self.path = path
        self.skip = False
        self.phase = "-"
        self.counters = Counters()
        self.bad_deletes = []
        self.stop_evt = threading.Event()
        self.connected = threading.Event()
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self._run, daemon=True, name="watch-%d" % self.node)
        self.thread.start()
        return self

    def stop(self):
        self.stop_evt.set()
        if self.thread:
            self.thread.join(5)

    def _run(self):
        w = None
        while not self.stop_evt.is_set():
            if self.skip:
                if w is not None:
                    w.abort()
                    w = None
                self.connected.clear()
                self.stop_evt.wait(0.2)
                continue
            try:
                if w is None:
                    w = ws.WebSocket(self.port, self.path, timeout=3.0)
                    self.counters.add("connects")
                    self.connected.set()
                msg = w.recv_json(0.5)
            except (socket.timeout, TimeoutError):
                continue
            except (ws.WsError, OSError, AssertionError) as e:
                if w is not None:
                    w.abort()
                w = None
                self.connected.clear()
                if not self.skip and not self.stop_evt.is_set():
                    self.counters.add("disconnects", sample="%s: %s" % (self.phase, e))
                self.stop_evt.wait(0.3)
                continue
            self.counters.add("changes")
            ctype = msg.get("changeType")
            inst = msg.get("instance") or {}
            key = (inst.get("serviceId"), inst.get("instanceId"))
            self.counters.add("change_" + str(ctype))
            if ctype == "delete" and self.fleet.is_fleet(key) and not self.fleet.deliberate(key):
                self.bad_deletes.append((time.monotonic(), self.node, key[0], key[1], self.phase))
                self.counters.add("bad_deletes")
        if w is not None:
            w.abort()


class DeltaPoller:
    """services.json then services-delta.json every `interval` s on one node; deletes of
    fleet instances that were not deliberately stopped go to `bad_deletes`."""

    def __init__(self, port, fleet, node=0, interval=1.0):
        self.port = port
        self.fleet = fleet
        self.node = node
        self.interval = interval
        self.skip = False
        self.phase = "-"
        self.counters = Counters()
        self.bad_deletes = []
        self.stop_evt = threading.Event()
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self._run, daemon=True, name="delta-%d" % self.node)
        self.thread.start()
        return self

    def stop(self):
        self.stop_evt.set()
        if self.thread:
            self.thread.join(8)

    def _run(self):
        c, version = None, None
        body = {"regionId": "sha", "zoneId": "sha-z1"}
        while not self.stop_evt.wait(self.interval):
            if self.skip:
                if c is not None:
                    c.close()
                c, version = None, None
                continue
            try:
                if c is None:
                    c = http.Client(self.port, timeout=3.0, mode="plain")
                if version is None:
                    r = c.post_json("/api/discovery/services.json", body)
                    if status_code(r) == "success":
                        version = r.get("version")
                        self.counters.add("full")
                    continue
                r = c.post_json("/api/discovery/services-delta.json", dict(body, version=version))
            except (http.HttpError, OSError, AssertionError) as e:
                if c is not None:
                    c.close()
                c = None
                if not self.skip:
                    self.counters.add("errors", sample=str(e))
                continue
            code = status_code(r)
            if code == "success":
                self.counters.add("deltas")
                version = r.get("version")
                for sid, changes in (r.get("delta") or {}).items():
                    for ch in changes or []:
                        inst = ch.get("instance") or {}
                        key = (inst.get("serviceId"), inst.get("instanceId"))
                        if ch.get("changeType") == "delete" and self.fleet.is_fleet(key) \
                                and not self.fleet.deliberate(key):
                            self.bad_deletes.append((time.monotonic(), self.node, key[0], key[1], self.phase))
                            self.counters.add("bad_deletes")
            elif code == "data-not-found":
                self.counters.add("resync")
                version = None
            else:
                self.counters.add("other", sample=json.dumps(r)[:200])
        if c is not None:
            c.close()


class RssSampler:
    """Samples VmRSS (KiB) of pids() every `interval` s: series[i] = [(t, kib)]."""

    def __init__(self, pids, interval=1.0):
        self.pids = pids  # callable -> list of pids (None for a node that is down)
        self.interval = interval
        self.series = {}
        self.stop_evt = threading.Event()
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self._run, daemon=True, name="rss")
        self.thread.start()
        return self

    def stop(self):
        self.stop_evt.set()
        if self.thread:
            self.thread.join(5)

    def _run(self):
        while not self.stop_evt.wait(self.interval):
            for i, pid in enumerate(self.pids()):
                if pid is None:
                    continue
                try:
                    self.series.setdefault(i, []).append((time.monotonic(), rss_kib(pid)))
                except (OSError, AssertionError):
                    pass

    def peak(self, i, t0, t1):
        vals = [v for t, v in self.series.get(i, []) if t0 <= t <= t1]
        return max(vals) if vals else None


# -- the flooder (a separate process) ------------------------------------------------------------


def _flood_request(port, inst):
    body = json.dumps(instances_req(inst), separators=(",", ":")).encode()
    head = ("POST /api/registry/heartbeat.json HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (port, len(body)))
    return head.encode() + body


class _Count:
    """Counts occurrences of byte patterns across chunk boundaries."""

    def __init__(self, patterns):
        self.patterns = patterns
        self.n = {p: 0 for p in patterns}
        self.keep = max(len(p) for p in patterns) - 1
        self.tail = b""

    def feed(self, data):
        buf = self.tail + data
        for p in self.patterns:
            # occurrences that end inside the new data only
            self.n[p] += buf.count(p) - self.tail.count(p)
        self.tail = buf[-self.keep:] if self.keep else b""


def flood_main(argv=None):
    """Entry point of the flooder process: `--port P --conns N --seconds S --stats FILE
    --instance JSON`. Pipelines heartbeats of one instance on N connections as fast as
    possible, reading the answers on another thread; writes its counts as JSON to the stats
    file every 0.5 s and at the end (also on SIGTERM)."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--instance", required=True)
    ap.add_argument("--batch", type=int, default=200)
    a = ap.parse_args(argv)
    req = _flood_request(a.port, json.loads(a.instance))
    blob = req * a.batch
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    lock = threading.Lock()
    totals = {"sent": 0, "answers": 0, "success": 0, "rate_limited": 0, "conn_errors": 0}
    t0 = time.monotonic()

    def write_stats():
        with lock:
            d = dict(totals, seconds=round(time.monotonic() - t0, 2))
        tmp = a.stats + ".tmp"
        with open(tmp, "w") as f:
            json.dump(d, f)
        os.replace(tmp, a.stats)

    def conn_loop():
        while not stop.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", a.port), timeout=2.0)
            except OSError:
                with lock:
                    totals["conn_errors"] += 1
                stop.wait(0.2)
                continue
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            cnt = _Count([b"HTTP/1.1 ", b'"errorCode":"success"', b'"rate-limited"'])
            done = threading.Event()

            def reader():
                try:
                    while not done.is_set():
                        try:
                            data = s.recv(262144)
                        except socket.timeout:
                            continue
                        if not data:
                            break
                        before = dict(cnt.n)
                        cnt.feed(data)
                        with lock:
                            totals["answers"] += cnt.n[b"HTTP/1.1 "] - before[b"HTTP/1.1 "]
                            totals["success"] += cnt.n[b'"errorCode":"success"'] - before[b'"errorCode":"success"']
                            totals["rate_limited"] += cnt.n[b'"rate-limited"'] - before[b'"rate-limited"']
                except OSError:
                    pass
                done.set()

            rt = threading.Thread(target=reader, daemon=True)
            rt.start()
            try:
                while not stop.is_set() and not done.is_set():
                    s.sendall(blob)
                    with lock:
                        totals["sent"] += a.batch
            except OSError:
                with lock:
                    totals["conn_errors"] += 1
            done.set()
            try:
                s.close()
            except OSError:
                pass
            rt.join(3)

    threads = [threading.Thread(target=conn_loop, daemon=True) for _ in range(a.conns)]
    for t in threads:
        t.start()
    end = t0 + a.seconds
    while not stop.is_set() and time.monotonic() < end:
        write_stats()
        stop.wait(0.5)
    stop.set()
    for t in threads:
        t.join(4)
    write_stats()


class Flooder:
    """Runs flood_main in a child process (ended by its PID). stats() reads its counts."""

    def __init__(self, port, inst, conns=1, seconds=10.0, stats_dir=None):
        self.port = port
        self.inst = inst
        self.conns = conns
        self.seconds = seconds
        d = stats_dir or "/tmp"
        self.stats_path = os.path.join(d, "flood-%d-%d.json" % (os.getpid(), id(self)))
        self.proc = None

    def start(self):
        code = ("import sys; sys.path.insert(0, %r); from lib.faults import flood_main; flood_main()"
                % os.path.dirname(HERE))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "--port", str(self.port), "--conns", str(self.conns),
             "--seconds", str(self.seconds), "--stats", self.stats_path,
             "--instance", json.dumps(self.inst)],
            stdin=subprocess.DEVNULL, close_fds=True)
        return self

    def stats(self):
        try:
            with open(self.stats_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(6)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        s = self.stats()
        try:
            os.unlink(self.stats_path)
        except OSError:
            pass
        return s


# -- slow readers --------------------------------------------------------------------------------


class SlowWsReader:
    """A WebSocket session (all-instance-change by default) with a tiny receive buffer that
    never reads. `gone()` tells whether the server has closed it (checked without reading
    the backlog: a read of the kernel buffer until EOF or no data)."""

    def __init__(self, port, path="/ws/discovery/all-instance-change"):
        self.w = ws.WebSocket(port, path, rcvbuf=4096, timeout=3.0)

    def gone(self, timeout=5.0):
        """Drain what the kernel holds; True if the server closed (EOF/RST) within timeout."""
        s = self.w.sock
        deadline = time.monotonic() + timeout
        s.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                data = s.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                return True
            if not data:
                return True
        return False

    def close(self):
        self.w.abort()


class SlowHttpReader:
    """Pipelines large lookup.json requests on one connection (tiny receive buffer) and never
    reads the answers; keeps sending until the server stops reading (send blocks)."""

    def __init__(self, port, body, max_requests=2000):
        data = json.dumps(body, separators=(",", ":")).encode()
        req = ("POST /api/discovery/lookup.json HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (port, len(data))).encode() + data
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.s.connect(("127.0.0.1", port))
        self.s.settimeout(1.0)
        self.sent = 0
        try:
            while self.sent < max_requests:
                self.s.sendall(req)
                self.sent += 1
        except (socket.timeout, OSError):
            pass

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


# -- large lookups under memory pressure ---------------------------------------------------------


class LookupHammer:
    """Threads sending lookup.json for the first `sizes[k]` of `services` (cycling through the
    sizes), each answer checked: a 200 must be valid JSON with responseStatus success and one
    service per distinct serviceId asked for; any other status must be 4xx/5xx with a JSON
    body. Counters: ok_200, fail_200 (valid JSON, a fail status such as bad-request),
    bad_200, err_json (4xx/5xx with JSON), err_not_json, odd_status, no_answer."""

    def __init__(self, port, services, sizes, threads=2, timeout=20.0, gzip_every=2):
        self.port = port
        self.services = list(services)
        self.sizes = list(sizes)
        self.nthreads = threads
        self.timeout = timeout
        self.gzip_every = gzip_every
        self.counters = Counters()
        self.stop_evt = threading.Event()
        self.threads = []

    def start(self):
        for k in range(self.nthreads):
            t = threading.Thread(target=self._run, args=(k,), daemon=True, name="hammer-%d" % k)
            t.start()
            self.threads.append(t)
        return self

    def stop(self):
        self.stop_evt.set()
        for t in self.threads:
            t.join(self.timeout + 5)

    def _run(self, k):
        conn = None
        j = k
        while not self.stop_evt.is_set():
            n = self.sizes[j % len(self.sizes)]
            j += 1
            body = lookup_req(*self.services[:n])
            hdrs = [("Accept-Encoding", "gzip")] if (j % self.gzip_every == 0) else []
            try:
                if conn is None:
                    conn = http.Connection(self.port, timeout=self.timeout)
                r = conn.request("POST", "/api/discovery/lookup.json", body, hdrs, "plain")
            except (http.HttpError, OSError, EOFError, ValueError) as e:
                # zlib/gzip errors of a truncated compressed body land here too
                self.counters.add("no_answer", sample="%d configs: %s" % (n, e))
                if conn is not None:
                    conn.close()
                conn = None
                self.stop_evt.wait(0.1)
                continue
            except Exception as e:  # noqa: BLE001 - a corrupt gzip body, for instance
                self.counters.add("bad_200", sample="%d configs: undecodable body: %r" % (n, e))
                if conn is not None:
                    conn.close()
                conn = None
                continue
            self._check(r, n)
            if (r.header("connection") or "").lower() == "close":
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def _check(self, r, n):
        try:
            doc = json.loads(r.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            doc = None
            why = "%s; %d bytes, tail %r" % (e, len(r.body), r.body[-80:])
        if r.status == 200:
            if doc is None:
                self.counters.add("bad_200", sample="%d configs: not JSON: %s" % (n, why))
            elif isinstance(doc, dict) and isinstance(doc.get("responseStatus"), dict) \
                    and doc["responseStatus"].get("status") == "fail" and doc.get("services") is None:
                self.counters.add("fail_200", sample="%d configs: %s" % (n, json.dumps(doc["responseStatus"])[:200]))
            elif status_code(doc) != "success" or len(doc.get("services") or []) != n:
                self.counters.add("bad_200", sample="%d configs: status %s, %d services" % (
                    n, status_code(doc), len(doc.get("services") or [])))
            else:
                self.counters.add("ok_200")
        elif 400 <= r.status < 600:
            if doc is None:
                self.counters.add("err_not_json", sample="%d configs: HTTP %d %r" % (n, r.status, r.body[:120]))
            else:
                self.counters.add("err_json", sample="%d configs: HTTP %d" % (n, r.status))
        else:
            self.counters.add("odd_status", sample="%d configs: HTTP %d" % (n, r.status))
        del doc


def big_instances(service, n, payload=16000):
    """n instances of `service` with `payload` bytes of metadata each (4000-byte values)."""
    md = {"b%d" % j: "x" * min(4000, payload - 4000 * j) for j in range((payload + 3999) // 4000)}
    return [instance(service, "%s-%d" % (service, k), port=30000 + k, metadata=md) for k in range(n)]


def register_big(port, prefix, services, per_service, payload=16000):
    """Register `services` services <prefix><k> of `per_service` instances with `payload`
    bytes of metadata each (services * per_service * payload bytes in all); returns the
    service ids."""
    sids = ["%s%d" % (prefix, k) for k in range(services)]
    c = http.Client(port, timeout=30.0, mode="plain")
    try:
        for sid in sids:
            r = c.post_json("/api/registry/register.json", instances_req(*big_instances(sid, per_service, payload)))
            if status_code(r) != "success":
                raise AssertionError("register %s: expected success, got %s" % (sid, json.dumps(r)[:300]))
    finally:
        c.close()
    return sids
