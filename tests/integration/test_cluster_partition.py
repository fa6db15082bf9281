"""A network partition of a three-node cluster (issue 5, protocol.md §6): cut one node off,
heal, and everything converges within one lease TTL without losing what a client kept heartbeating.

The nodes run in network namespaces this test creates (lib/netns.py: a bridge namespace and one
namespace per node at 10.77.0.1-3, nothing in the host's namespace), each started with
`ip netns exec` and listening on its namespace address. The partition pulls node C's cable
(its bridge-side veth goes down). Client traffic for a node is made from inside that node's
namespace to its own address, so the test can still talk to C while C cannot talk to anyone.

Scenario (lease TTL 5 s, heartbeats every 1 s, peers polled every 200 ms):
  1. X (heartbeated on A all along) and Z (never heartbeated) registered on A, seen on A, B, C.
  2. C cut off. Y registered and heartbeated on A, W registered and heartbeated on C. Each side
     sees its own writes; C, hearing no heartbeat, expires X; Z expires everywhere. Shortly
     before healing, U (never heartbeated) is registered on A: its register to C is still
     queued when the cable comes back.
  3. Heal. Within one TTL: C has X and Y, A and B have W. A and B never lost X (sampled every
     200 ms through the whole run), nor C after it converged; U and Z expire everywhere.

Needs root and `ip` (iproute2); without them the test FAILS with a message saying so. Processes
are stopped by PID; the namespaces are deleted by a deferred cleanup (also on failure or
timeout), at interpreter exit, and, after a hard kill, by the next run's sweep."""

import threading
import time

from lib import cluster, netns, server
from lib.util import SUCCESS, Api, check, eq, instance

SERVER = False

PORT = 8080
TTL_MS = 5000
TTL = TTL_MS / 1000.0
HEARTBEAT_EVERY = 1.0
A, B, C = 0, 1, 2

NODE_ARGS = cluster.FAST_ARGS + [
    "--region=sha",
    "--zone=sha-z1",
    "--lease-ttl-ms=%d" % TTL_MS,
    # self-preservation would (rightly) keep C's leases when every heartbeat stops at once
    "--artemis.service.registry.instance.lease-manager.lease-update-safe-checker.enabled=false",
    "--log-level=info",
]


class NsNode(server.Server):
    """One artemis-server inside a lab namespace, on its namespace address."""

    def __init__(self, lab, i, peers):
        super().__init__(name="part%d" % i, base_args=False)
        self.lab, self.i = lab, i
        self.port = PORT
        self.extra_args = [
            "--listen=%s:%d" % (lab.addrs[i], PORT),
            "--node-url=%s" % self.url,
            "--peers=%s" % peers,
            "--data-dir=%s" % self.data_dir,
        ] + NODE_ARGS

    @property
    def url(self):
        return "http://%s:%d/" % (self.lab.addrs[self.i], PORT)

    def argv(self):
        return self.lab.exec_argv(self.i, super().argv())

    def spawn(self):
        import subprocess

        self._close_log()
        self.log = open(self.log_path, "ab")
        self.log.write(("=== start: %s\n" % " ".join(self.argv())).encode())
        self.log.flush()
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, close_fds=True)
        return self

    def api(self):
        return Api(self.lab.client(self.i, PORT, timeout=2.0))

    def ready(self):
        c = self.lab.client(self.i, PORT, timeout=1.0)
        try:
            return c.get("/health").status == 200
        except OSError:
            return False
        finally:
            c.close()


def _ids(api, service):
    return api.lookup_ids(service)


class Heartbeater(threading.Thread):
    """Heartbeats, every HEARTBEAT_EVERY, the instances added for each node, on that node."""

    def __init__(self, nodes):
        super().__init__(daemon=True)
        self.apis = {n.i: n.api() for n in nodes}
        self.targets = {}
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.errors = []
        self.count = 0

    def add(self, i, inst):
        with self.lock:
            self.targets.setdefault(i, []).append(inst)

    def run(self):
        while not self.stop_ev.is_set():
            with self.lock:
                work = [(i, list(insts)) for i, insts in self.targets.items()]
            for i, insts in work:
                try:
                    r = self.apis[i].heartbeat(*insts)
                    if r.get("responseStatus") != SUCCESS:
                        self.errors.append("node%d heartbeat: %r" % (i, r))
                    self.count += 1
                except Exception as e:  # noqa: BLE001 - reported by the test
                    self.errors.append("node%d heartbeat: %s" % (i, e))
            self.stop_ev.wait(HEARTBEAT_EVERY)

    def stop(self):
        self.stop_ev.set()
        self.join(5.0)
        for a in self.apis.values():
            a.c.close()


class Watcher(threading.Thread):
    """Looks X up every 200 ms on the nodes in `watched`, recording every miss and error."""

    def __init__(self, nodes, service, instance_id, t0):
        super().__init__(daemon=True)
        self.apis = {n.i: n.api() for n in nodes}
        self.service, self.instance_id, self.t0 = service, instance_id, t0
        self.watched = set()
        self.misses = []
        self.samples = 0
        self.stop_ev = threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            for i in sorted(self.watched):
                try:
                    if self.instance_id not in _ids(self.apis[i], self.service):
                        self.misses.append("t=%.1fs node%d: %s missing" % (time.monotonic() - self.t0, i, self.instance_id))
                    self.samples += 1
                except Exception as e:  # noqa: BLE001 - reported by the test
                    self.misses.append("t=%.1fs node%d: lookup failed: %s" % (time.monotonic() - self.t0, i, e))
            self.stop_ev.wait(0.2)

    def stop(self):
        self.stop_ev.set()
        self.join(5.0)
        for a in self.apis.values():
            a.c.close()


class NodeDied(AssertionError):
    """A node process exited: no point waiting any longer."""


def _wait(fn, deadline_s, what):
    """Poll fn() every 50 ms until true; return the seconds it took; AssertionError at the deadline."""
    t0 = time.monotonic()
    last = None
    while True:
        try:
            if fn():
                return time.monotonic() - t0
        except NodeDied:
            raise
        except (AssertionError, OSError) as e:
            last = e
        if time.monotonic() - t0 >= deadline_s:
            raise AssertionError("timed out after %.1f s waiting for %s%s" % (deadline_s, what, " (%s)" % last if last else ""))
        time.sleep(0.05)


def test_partition_and_heal(ctx):
    t0 = time.monotonic()
    netns.require()  # root + ip, or a clear failure
    lab = netns.Lab(3, tag="p")
    nodes = []
    threads = []

    def cleanup():
        for t in threads:
            t.stop()
        for n in nodes:
            n.cleanup()  # SIGKILL by PID, then its temp dir
        lab.cleanup()

    ctx.defer(cleanup)  # also runs when the runner times the test out
    lab.create()
    peers = "sha-z1:" + ",".join("http://%s:%d/" % (a, PORT) for a in lab.addrs)
    nodes.extend(NsNode(lab, i, peers) for i in range(3))
    try:
        _scenario(lab, nodes, threads, t0)
    except AssertionError as e:
        logs = "\n".join("--- node%d (%s)\n%s" % (n.i, n.url, n.log_tail(12)) for n in nodes)
        raise AssertionError("%s\n%s" % (e, logs))
    finally:
        cleanup()
    eq(lab.leftovers(), [], "namespaces left after cleanup")


test_partition_and_heal.timeout = 55


def _scenario(lab, nodes, threads, t0):
    def stamp():
        return time.monotonic() - t0

    for n in nodes:
        n.spawn()
    def all_ready():
        for n in nodes:
            if not n.alive():
                raise NodeDied("node%d exited during start (status %s)" % (n.i, n.proc.poll()))
        return all(n.ready() for n in nodes)

    _wait(all_ready, 20.0, "all three nodes ready (/health 200)")
    api = {n.i: n.api() for n in nodes}
    for a in api.values():
        threads.append(_Closer(a))

    X = instance("part.svc", "X")
    Y = instance("part.svc", "Y")
    Z = instance("part.svc", "Z")  # never heartbeated
    U = instance("part.svc", "U")  # never heartbeated, registered just before healing
    W = instance("part.svc", "W")  # registered on the cut-off side

    api[A].must_register(X, Z)
    hb = Heartbeater(nodes)
    threads.insert(0, hb)
    hb.add(A, X)
    hb.start()
    t_z = time.monotonic()
    for i in (A, B, C):
        _wait(lambda: _ids(api[i], "part.svc") >= {"X", "Z"}, 3.0, "X and Z replicated to node%d" % i)
    watch = Watcher(nodes, "part.svc", "X", t0)
    threads.insert(0, watch)
    watch.watched = {A, B, C}
    watch.start()
    time.sleep(0.5)

    # --- partition: pull C's cable -------------------------------------------------------------
    watch.watched = {A, B}  # C cannot hear X's heartbeats now: it may (and will) expire X
    lab.cut(C)
    t_cut = time.monotonic()
    print("  t=%.1fs cut node2 off" % stamp(), flush=True)
    check(not netns.probe_reachable(lab.nodes[A], lab.addrs[C], PORT), "node2 still reachable from node0 after the cut")
    check(netns.probe_reachable(lab.nodes[A], lab.addrs[B], PORT), "node1 unreachable from node0 (only node2 was cut)")
    api[A].must_register(Y)
    hb.add(A, Y)
    api[C].must_register(W)
    hb.add(C, W)
    _wait(lambda: "Y" in _ids(api[B], "part.svc"), 3.0, "Y replicated to node1 during the partition")
    # C expires X (no heartbeat reaches it); Z expires everywhere
    d = _wait(lambda: "X" not in _ids(api[C], "part.svc"), TTL + 3.0, "node2 expiring X while cut off")
    print("  t=%.1fs node2 expired X, %.1f s after the cut" % (stamp(), d), flush=True)
    for i in (A, B, C):
        _wait(lambda: "Z" not in _ids(api[i], "part.svc"), max(0.5, t_z + TTL + 2.0 - time.monotonic()), "Z expired on node%d" % i)
    # the register of U will still be queued for C (task TTL 5 s) when the cable comes back
    remaining = t_cut + TTL + 1.0 - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    api[A].must_register(U)
    t_u = time.monotonic()
    time.sleep(0.5)
    eq(_ids(api[C], "part.svc"), {"W"}, "node2's instances at the end of the partition")
    for i in (A, B):
        eq(_ids(api[i], "part.svc"), {"X", "Y", "U"}, "node%d's instances at the end of the partition" % i)
    check(lab.cut_off == {C}, "cut state")

    # --- heal ----------------------------------------------------------------------------------
    lab.heal(C)
    t_heal = time.monotonic()
    print("  t=%.1fs healed after %.1f s cut off" % (stamp(), t_heal - t_cut), flush=True)
    conv = {}
    conv["X,Y on node2"] = _wait(lambda: _ids(api[C], "part.svc") >= {"X", "Y"}, TTL, "X and Y on node2 within one TTL of healing")
    watch.watched = {A, B, C}  # from here on nobody may lose X
    for i in (A, B):
        left = max(0.1, t_heal + TTL - time.monotonic())
        conv["W on node%d" % i] = time.monotonic() - t_heal + _wait(
            lambda: "W" in _ids(api[i], "part.svc"), left, "W (written on the cut-off side) on node%d within one TTL of healing" % i
        )
    print("  t=%.1fs converged: %s" % (stamp(), ", ".join("%s %.2f s" % kv for kv in sorted(conv.items()))), flush=True)

    # U (never heartbeated) expires everywhere, even where its delayed register landed late:
    # by its register time + task TTL (latest delivery) + lease TTL, plus the cleaner's slack.
    for i in (A, B, C):
        _wait(lambda: "U" not in _ids(api[i], "part.svc"), max(0.5, t_u + 2 * TTL + 1.5 - time.monotonic()), "U expired on node%d" % i)
    # a while of steady state: the heartbeated set stays put everywhere
    until = time.monotonic() + 1.5
    while time.monotonic() < until:
        for i in (A, B, C):
            eq(_ids(api[i], "part.svc"), {"X", "Y", "W"}, "node%d after healing" % i)
        time.sleep(0.25)

    watch.stop()
    hb.stop()
    check(watch.samples > 0, "the watcher never sampled")
    eq(watch.misses, [], "X lost while it was heartbeated (node0/node1 throughout, node2 after converging)")
    eq(hb.errors, [], "heartbeat failures")
    for n in nodes:
        check(n.alive(), "node%d died" % n.i)
    for n in nodes:  # a clean exit (and, in sanitizer builds, no leak report)
        eq(n.stop(5.0), 0, "node%d exit status after SIGTERM" % n.i)
    print(
        "  t=%.1fs done: %d heartbeats, %d watcher samples, cut %.1f s" % (stamp(), hb.count, watch.samples, t_heal - t_cut),
        flush=True,
    )


class _Closer:
    """Gives an Api the stop() the cleanup list expects."""

    def __init__(self, api):
        self.api = api

    def stop(self):
        self.api.c.close()
