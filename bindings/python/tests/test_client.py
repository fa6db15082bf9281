"""The Python binding against a real artemis-server on loopback.

Run by `make check-bindings` under `python3 -X dev` with PYTHONPATH=bindings/python (the
in-tree package) and ARTEMIS_SERVER_BIN (the server binary). The server harness and the
management-API request builders are the end-to-end suite's (tests/integration/lib), so the
requests here are the ones the server's own tests check.
"""

import gc
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from lib import mgmt, server  # noqa: E402
from lib.http import Client as HttpClient  # noqa: E402
from lib.util import Api, instance  # noqa: E402

import artemis  # noqa: E402

REGION, ZONE = "sha", "sha-z1"  # what lib.server starts the server with


def setUpModule():
    binary = os.environ.get("ARTEMIS_SERVER_BIN")
    if not binary or not os.access(binary, os.X_OK):
        raise RuntimeError("ARTEMIS_SERVER_BIN must name the artemis-server binary (make check-bindings sets it); "
                           "got %r" % binary)
    os.environ["ARTEMIS_SERVER"] = binary


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("not within %.1f s: %s" % (timeout, what))


class ServerCase(unittest.TestCase):
    """A fresh server per test class; clients made with self.client() are closed after each test."""

    SERVER_ARGS = []

    @classmethod
    def setUpClass(cls):
        cls.srv = server.Server(cls.SERVER_ARGS, name="py-binding")
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop(5.0)
        cls.srv.cleanup()

    def setUp(self):
        if not self.srv.alive():
            self.srv.restart()
        self.http = HttpClient(self.srv.port, mode="plain")
        self.addCleanup(self.http.close)
        self.api = Api(self.http)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.srv.port

    def client(self, **kw):
        kw.setdefault("region", REGION)
        kw.setdefault("zone", ZONE)
        c = artemis.Client(kw.pop("servers", self.url), **kw)
        self.addCleanup(c.close)
        return c

    def server_ids(self, service_id):
        return set(self.api.lookup_ids(service_id))


class TestRegistryAndDiscovery(ServerCase):
    def test_register_lookup_close(self):
        c = self.client()
        with c.register("py.a", "a-1", "127.0.0.1", 9001, metadata={"env": "prod"}, machine_name="m1") as reg:
            self.assertTrue(reg.wait(5), "registered within 5 s (state %s)" % reg.state)
            # At once: a "data-not-found" answer to the heartbeat the SDK sent before the
            # registration was confirmed no longer flips it back to PENDING (CI run 12).
            self.assertEqual(reg.state, artemis.RegState.REGISTERED)
            self.assertEqual(self.server_ids("py.a"), {"a-1"})
            svc = wait_until(lambda: (lambda s: s if len(s) == 1 else None)(c.lookup("py.a")), 5, "a-1 in lookup")
            self.assertIsInstance(svc, artemis.Service)
            self.assertEqual(svc.service_id, "py.a")
            self.assertFalse(svc.stale)
            (inst,) = svc.instances
            self.assertEqual((inst.instance_id, inst.ip, inst.port, inst.status, inst.zone_id, inst.region_id),
                             ("a-1", "127.0.0.1", 9001, "up", ZONE, REGION))
            self.assertEqual(inst.metadata, {"env": "prod"})
            self.assertEqual(inst.machine_name, "m1")
            self.assertEqual(inst.url, "http://127.0.0.1:9001/")
            # A cached lookup of an unchanged view is the same object: nothing is rebuilt.
            self.assertIs(c.lookup("py.a"), svc)
            self.assertIs(svc.pick(), inst)
            self.assertEqual(list(svc), [inst])
        # Leaving the with block deregistered it.
        wait_until(lambda: not self.server_ids("py.a"), 3, "a-1 gone from the server after close()")
        self.assertEqual(reg.state, artemis.RegState.UNREGISTERED)

    def test_watch_sees_changes(self):
        c = self.client()
        self.api.must_register(instance("py.w", "w-0", region=REGION, zone=ZONE))
        seen = []
        got = threading.Event()

        def on_view(view):
            seen.append(frozenset(i.instance_id for i in view.instances))
            got.set()

        cb = c.watch("py.w", on_view)
        it = c.watch("py.w")
        first = it.get(5)
        self.assertIsNotNone(first, "the current view within 5 s")
        self.assertEqual({i.instance_id for i in first.instances}, {"w-0"})
        t0 = time.monotonic()
        self.api.must_register(instance("py.w", "w-1", port=8081, region=REGION, zone=ZONE))
        view = it.get(5)
        self.assertIsNotNone(view, "a pushed view within 5 s")
        self.assertEqual({i.instance_id for i in view.instances}, {"w-0", "w-1"})
        self.assertLess(time.monotonic() - t0, 2.0, "the push reached the iterator within 2 s")
        wait_until(lambda: frozenset({"w-0", "w-1"}) in seen, 2, "the callback saw w-1")
        self.assertEqual(seen[0], frozenset({"w-0"}), "the callback starts with the current view")
        self.assertEqual(len(seen), len(set(seen)), "no view delivered twice: %s" % seen)
        cb.close()
        n = len(seen)
        self.api.must_unregister(instance("py.w", "w-1", port=8081, region=REGION, zone=ZONE))
        view = it.get(5)
        self.assertIsNotNone(view, "a pushed view within 5 s")
        self.assertEqual({i.instance_id for i in view.instances}, {"w-0"})
        time.sleep(0.2)
        self.assertEqual(len(seen), n, "a closed callback watch is not called")
        self.assertIsNone(it.get(0.2), "no view without a change")
        it.close()
        self.assertRaises(StopIteration, next, it)
        self.assertIsNone(it.get())

    def test_callback_exception_is_logged_and_watch_goes_on(self):
        c = self.client()
        self.api.must_register(instance("py.x", "x-0", region=REGION, zone=ZONE))
        calls = []

        def bad(view):
            calls.append(len(view))
            raise RuntimeError("boom in a callback")

        with self.assertLogs("artemis", level="ERROR") as logs:
            w = c.watch("py.x", bad)
            wait_until(lambda: calls, 3, "the first call")
            self.api.must_register(instance("py.x", "x-1", port=8081, region=REGION, zone=ZONE))
            wait_until(lambda: 2 in calls, 3, "the watch went on after the exception")
        self.assertTrue(any("boom in a callback" in line for line in logs.output), logs.output)
        w.close()

    def test_pick_honours_weights(self):
        svc_id = "py.routes"
        m = mgmt.Mgmt(self.srv.port, "py-binding")
        self.addCleanup(m.close)
        insts = [instance(svc_id, "blue-1", ip="10.77.0.1", region=REGION, zone=ZONE, groupId="blue"),
                 instance(svc_id, "blue-2", ip="10.77.0.2", region=REGION, zone=ZONE, groupId="blue"),
                 instance(svc_id, "green-1", ip="10.77.0.3", region=REGION, zone=ZONE, groupId="green")]
        self.api.must_register(*insts)
        c = self.client()
        self.assertEqual(len(c.lookup(svc_id)), 3)
        m.ok("group/create-route-rule.json", mgmt.with_ctx({
            "groups": [mgmt.group(svc_id, "blue", weight=80, app_id="app-py"),
                       mgmt.group(svc_id, "green", weight=20, app_id="app-py")],
            "routeRule": mgmt.route_rule(svc_id, "bluegreen")}, operation="create-route-rule"))
        rid = m.rule_id(svc_id, "bluegreen")
        gids = (m.group_id(svc_id, "blue"), m.group_id(svc_id, "green"))
        m.ok("group/release-route-rule-groups.json",
             mgmt.with_ctx({"routeRuleGroups": [{"groupId": g, "routeRuleId": rid} for g in gids]}, operation="release"))

        def released():
            s = c.lookup(svc_id)
            rules = {r.route_id: r for r in s.route_rules}
            r = rules.get("bluegreen")
            return s if r and sorted(g.weight for g in r.groups) == [20, 80] else None

        svc = wait_until(released, 5, "the 80/20 rule in the client's view (pushed)")
        rule = next(r for r in svc.route_rules if r.route_id == "bluegreen")
        self.assertFalse(rule.derived)
        self.assertEqual({g.key.split("/")[-1]: sorted(i.instance_id for i in g.instances) for g in rule.groups},
                         {"blue": ["blue-1", "blue-2"], "green": ["green-1"]})
        counts = {}
        for _ in range(1000):
            i = c.pick(svc_id)
            counts[i.instance_id] = counts.get(i.instance_id, 0) + 1
        self.assertEqual(counts, {"blue-1": 400, "blue-2": 400, "green-1": 200})
        by_rule = {}
        for _ in range(100):
            i = svc.pick("bluegreen")
            by_rule[i.instance_id] = by_rule.get(i.instance_id, 0) + 1
        self.assertEqual(sum(by_rule.values()), 100)
        with self.assertRaises(artemis.NotFound):
            svc.pick("no-such-rule")

    def test_threads_share_a_client(self):
        """8 threads look up and pick while pushes replace the view: no error, every answer
        is a whole view."""
        c = self.client()
        base = [instance("py.t", "t-%d" % k, port=9000 + k, region=REGION, zone=ZONE) for k in range(4)]
        self.api.must_register(*base)
        c.lookup("py.t")
        errors = []
        stop = threading.Event()

        def reader():
            try:
                while not stop.is_set():
                    s = c.lookup("py.t")
                    n = len(s.instances)
                    if n < 4 or s.pick() is None:
                        errors.append("view with %d instances" % n)
            except BaseException as e:  # noqa: B902 -- any failure is the finding
                errors.append(repr(e))

        threads = [threading.Thread(target=reader) for _ in range(8)]
        for t in threads:
            t.start()
        for k in range(20):
            extra = instance("py.t", "extra", port=9999, region=REGION, zone=ZONE)
            self.api.must_register(extra)
            time.sleep(0.02)
            self.api.must_unregister(extra)
        stop.set()
        for t in threads:
            t.join(10)
        self.assertEqual(errors, [])


class TestErrorsAndLifecycle(ServerCase):
    def test_bad_arguments(self):
        with self.assertRaises(artemis.InvalidArgument) as cm:
            artemis.Client("not a url")
        self.assertEqual(cm.exception.code, artemis.ErrorCode.INVALID_ARG)
        self.assertIsInstance(cm.exception, ValueError)
        with self.assertRaises(artemis.InvalidArgument):
            artemis.Client(self.url, token="has a space")
        c = self.client()
        with self.assertRaises(artemis.InvalidArgument):
            c.register("py.e", "e-1", "127.0.0.1", 0)
        with self.assertRaises(artemis.InvalidArgument):
            c.register("", "e-1", "127.0.0.1", 80)
        with self.assertRaises(TypeError):
            c.register("py.e", "e-1", "127.0.0.1", 80, colour="red")
        with self.assertRaises(artemis.InvalidArgument):
            c.lookup("")

    def test_closed_client(self):
        c = self.client()
        c.close()
        c.close()  # idempotent
        self.assertTrue(c.closed)
        with self.assertRaises(artemis.Closed) as cm:
            c.lookup("py.a")
        self.assertEqual(cm.exception.code, artemis.ErrorCode.CLOSED)
        with self.assertRaises(artemis.Closed):
            c.register("py.a", "a-9", "127.0.0.1", 80)
        with artemis.Client(self.url, region=REGION, zone=ZONE) as c2:
            pass
        self.assertTrue(c2.closed)

    def test_close_while_watch_blocked(self):
        c = self.client()
        it = c.watch("py.none")  # nobody registered it: the iterator blocks
        ended = threading.Event()
        views = []

        def consume():
            for v in it:
                views.append(v)
            ended.set()

        t = threading.Thread(target=consume)
        t.start()
        time.sleep(0.3)
        self.assertFalse(ended.is_set())
        t0 = time.monotonic()
        c.close()
        self.assertTrue(ended.wait(2.0), "the iterator ended after close()")
        self.assertLess(time.monotonic() - t0, 2.0)
        t.join(2)

    def test_close_while_lookup_blocked(self):
        """close() from another thread while lookup() waits on a server that never answers."""
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(8)  # accepts connections, never answers
        self.addCleanup(s.close)
        c = artemis.Client("http://127.0.0.1:%d" % s.getsockname()[1], request_timeout=10)
        out = []

        def look():
            try:
                c.lookup("py.slow", timeout=20)
            except artemis.ArtemisError as e:
                out.append(e)

        t = threading.Thread(target=look)
        t.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        c.close(timeout=0.5)
        t.join(5)
        self.assertFalse(t.is_alive(), "lookup still blocked 5 s after close()")
        self.assertLess(time.monotonic() - t0, 5.0)
        self.assertEqual(len(out), 1)
        self.assertIsInstance(out[0], artemis.ArtemisError)

    def test_unreferenced_client_is_closed(self):
        """A client in a reference cycle (its callback holds it) is closed by the collector:
        its instance is deregistered and its thread stops."""
        c = artemis.Client(self.url, region=REGION, zone=ZONE)
        reg = c.register("py.gc", "gc-1", "127.0.0.1", 9100)
        self.assertTrue(reg.wait(5))
        c.watch("py.gc", lambda view, c=c: c)  # cycle: client -> hub -> watch -> callback -> client
        del c, reg
        gc.collect()
        wait_until(lambda: not self.server_ids("py.gc"), 5, "gc-1 deregistered by the collected client")

    def test_last_reference_dropped_on_the_sdk_thread(self):
        """The client's last reference goes away inside its own watch callback (on the SDK
        thread, which cannot join itself): a reaper thread frees it, deregistering."""
        box = [artemis.Client(self.url, region=REGION, zone=ZONE)]
        reg = box[0].register("py.reap", "reap-1", "127.0.0.1", 9101)
        self.assertTrue(reg.wait(5))
        del reg
        dropped = threading.Event()

        def drop(view):
            if box:
                box.clear()  # the last reference: the client is finalized right here
                dropped.set()

        box[0].watch("py.reap", drop)
        self.assertTrue(dropped.wait(5), "the callback ran")
        wait_until(lambda: not self.server_ids("py.reap"), 5, "reap-1 deregistered by the reaper thread")

    def test_close_from_a_callback_raises(self):
        c = self.client()
        self.api.must_register(instance("py.cb", "cb-1", region=REGION, zone=ZONE))
        got = []
        c.watch("py.cb", lambda view: got.append(self._try_close(c)))
        wait_until(lambda: got, 5, "the callback ran")
        self.assertEqual(got[0], artemis.ErrorCode.STATE)
        self.assertFalse(c.closed)
        self.assertEqual(len(c.lookup("py.cb")), 1, "the client still works")

    @staticmethod
    def _try_close(c):
        try:
            c.close()
        except artemis.ArtemisError as e:
            return e.code
        return None

    def test_fork_child_cannot_use_parent_client(self):
        c = self.client()
        pid = os.fork()
        if pid == 0:  # child: the SDK thread did not come along
            code = 1
            try:
                c.lookup("py.fork")
            except artemis.ArtemisError as e:
                code = 0 if e.code == artemis.ErrorCode.STATE else 3
            except BaseException:
                code = 4
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, "the child got ErrorCode.STATE")
        c.lookup("py.fork")  # the parent's client still works


class TestOutages(ServerCase):
    def test_server_restart_while_registered(self):
        c = self.client(heartbeat_interval=0.5)
        reg = c.register("py.r", "r-1", "127.0.0.1", 9200)
        self.assertTrue(reg.wait(5))
        self.srv.kill()  # SIGKILL: the registry forgets everything
        self.srv.restart()
        t0 = time.monotonic()
        wait_until(lambda: "r-1" in self.server_ids("py.r"), 5, "r-1 back after the restart")
        self.assertLess(time.monotonic() - t0, 5)
        time.sleep(1.0)
        self.assertIn("r-1", self.server_ids("py.r"), "still registered a second later")
        reg.close()
        wait_until(lambda: not self.server_ids("py.r"), 3, "r-1 gone after close()")

    def test_lookup_while_server_down_answered_from_cache(self):
        cache = tempfile.mkdtemp(prefix="artemis-py-cache-")
        self.addCleanup(shutil.rmtree, cache, True)
        self.api.must_register(instance("py.c", "c-1", region=REGION, zone=ZONE),
                               instance("py.c", "c-2", port=8081, region=REGION, zone=ZONE))
        c = self.client(cache_dir=cache)
        self.assertEqual({i.instance_id for i in c.lookup("py.c").instances}, {"c-1", "c-2"})
        c.close()
        self.srv.stop(5.0)
        try:
            c2 = self.client(cache_dir=cache, request_timeout=0.5)
            svc = c2.lookup("py.c", timeout=2)
            self.assertTrue(svc.stale, "a view from the disk cache is stale")
            self.assertEqual({i.instance_id for i in svc.instances}, {"c-1", "c-2"})
            self.assertIsNotNone(svc.pick())
            with self.assertRaises(artemis.ArtemisError) as cm:
                c2.lookup("py.uncached", timeout=2)
            self.assertIn(cm.exception.code, (artemis.ErrorCode.UNAVAILABLE, artemis.ErrorCode.TIMEOUT),
                          repr(cm.exception))
        finally:
            self.srv.restart()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    unittest.main()
