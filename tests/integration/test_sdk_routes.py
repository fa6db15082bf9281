"""libartemis route rules end to end (protocol.md §7.6, §7.7, docs/sdk.md "Route rules and
groups"): build/tests/sdk/route_rules watches a service through the SDK while the management
API changes its route rules, groups, tags, pull-outs and canary IPs. The program is never
restarted and polls only once an hour, so every update it shows came through the discovery
WebSocket: a `reload` push makes the SDK fetch the service again, `delete` / `new` pushes edit
its view in place. Each step checks the rules and groups the public API shows (keys, weights,
tags, instances, the rule pick() uses) and the split of 1000 picks.

The program is found like test_sdk.py finds loop_client: $ARTEMIS_TEST_BIN_DIR/sdk (make
check-integration sets it), else next to $ARTEMIS_EXAMPLES (build/tests/sdk).
"""

import json
import os
import queue
import signal
import subprocess
import threading
import time

from lib import mgmt, proxy, server
from lib.mgmt import Mgmt, group, group_key, instance_key, route_rule, with_ctx
from lib.sdk import sdk_env
from lib.util import Api, check, eq, instance, short

# Leases outlive the module (instances are registered once over HTTP, never heartbeated).
SERVER_ARGS = ["--lease-ttl-ms=600000"]

REGION = "sha"
ZONE = "sha-z1"
PUSH_WAIT = 5.0  # a pushed change must show within this (the program polls once an hour)
N = 1000


def binary():
    d = os.environ.get("ARTEMIS_TEST_BIN_DIR")
    if d:
        path = os.path.join(d, "sdk", "route_rules")
    else:
        examples = os.environ.get("ARTEMIS_EXAMPLES") or os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "examples")
        path = os.path.join(os.path.dirname(os.path.abspath(examples)), "tests", "sdk", "route_rules")
    check(os.access(path, os.X_OK), "missing %s (run make, or set ARTEMIS_TEST_BIN_DIR)" % path)
    return path


class RouteProc:
    """route_rules as a child process: commands on stdin, JSON lines from stdout (a reader
    thread queues them with their arrival time). Stopped by its PID at cleanup."""

    def __init__(self, ctx, service_id, picks=N, url=None):
        self.argv = [binary(), "-r", REGION, "-z", ZONE, "-p", "3600000", "-n", str(picks),
                     url or "http://127.0.0.1:%d" % ctx.port, service_id]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=sdk_env(), close_fds=True)
        ctx.defer(self.kill)
        self.q = queue.Queue()
        self.lines = []
        self.err = []
        self.views = []  # every view line, parsed, in order
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._errs, daemon=True).start()

    def _out(self):
        for raw in iter(self.proc.stdout.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(text)
            self.q.put((time.monotonic(), text))
        self.q.put(None)

    def _errs(self):
        for raw in iter(self.proc.stderr.readline, b""):
            self.err.append(raw.decode("utf-8", "replace"))

    def describe(self):
        return "%s (pid %d, exit %s); last lines %s; stderr %r" % (
            " ".join(self.argv), self.proc.pid, self.proc.poll(), short(self.lines[-4:], 1500),
            "".join(self.err)[-600:])

    def next_obj(self, deadline, what):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("route_rules: no %s in time: %s" % (what, self.describe()))
            try:
                item = self.q.get(timeout=min(left, 0.1))
            except queue.Empty:
                continue
            if item is None:
                self.q.put(None)
                time.sleep(0.05)
                raise AssertionError("route_rules ended before %s: %s" % (what, self.describe()))
            t, text = item
            try:
                obj = json.loads(text)
            except ValueError:
                raise AssertionError("route_rules printed a line that is not JSON: %r" % text)
            check(isinstance(obj, dict) and "type" in obj, "route_rules line without a type: %r" % text)
            if obj["type"] == "view":
                self.views.append(obj)
            return t, obj

    def wait_view(self, pred, what, timeout=PUSH_WAIT):
        """The first new view line for which pred(view) is true: (arrival time, view)."""
        deadline = time.monotonic() + timeout
        while True:
            t, obj = self.next_obj(deadline, "view with %s" % what)
            if obj["type"] == "view" and pred(obj):
                return t, obj

    def command(self, line, want_type="picks", timeout=5.0):
        """Send one command; its answer (view lines pushed meanwhile are recorded, skipped)."""
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            _, obj = self.next_obj(deadline, "answer to %r" % line)
            if obj["type"] == "error":
                raise AssertionError("route_rules answered %r with %s" % (line, obj))
            if obj["type"] == want_type and obj["type"] != "view":
                return obj

    def picks(self, n=N, rule=None):
        obj = self.command("rulepick %s %d" % (rule, n) if rule else "pick %d" % n)
        eq(obj["n"], n, "picks answered")
        eq(sum(obj["counts"].values()), n, "pick counts add up")
        return obj

    def quit(self):
        try:
            self.proc.stdin.write(b"quit\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        try:
            return self.proc.wait(5.0)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("route_rules did not exit on quit: %s" % self.describe())

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except (OSError, ValueError):
                pass


# ---- views -------------------------------------------------------------------------------------


def rule(view, route_id):
    for r in view["rules"]:
        if r["routeId"].lower() == route_id.lower():
            return r
    return None


def groups(view, route_id):
    """{groupKey: (weight, metadata, sorted instance ids)} of one rule, or None without it."""
    r = rule(view, route_id)
    if r is None:
        return None
    return {g["groupKey"]: (g["weight"], g["metadata"], sorted(g["instances"])) for g in r["groups"]}


def ids(view):
    return sorted(i["instanceId"] for i in view["instances"])


def reg(service_id, instance_id, group_id, ip):
    return instance(service_id, instance_id, ip=ip, port=8080, region=REGION, zone=ZONE, groupId=group_id)


def release(m, rid, *gids, operation="release"):
    m.ok("group/release-route-rule-groups.json",
         with_ctx({"routeRuleGroups": [{"groupId": g, "routeRuleId": rid} for g in gids]}, operation=operation))


def push_check(ctx, w, service_id, change_type, instance_id, what):
    """The raw watcher got the push too (so a view that never comes is the SDK's fault)."""
    try:
        mgmt.next_change(w, service_id, instance_id, change_type, 3.0)
    except AssertionError as e:
        raise AssertionError("the server sent no %s push for %s (%s): %s" % (change_type, what, service_id, e))


# ---- the test ------------------------------------------------------------------------------------

SVC = "routes.sdk.svc"
FIGURES = {}  # pick counts per step, printed at the end for the report


def test_weighted_rule_through_pushes(ctx):
    """Register blue-1, blue-2 (group blue) and green-1 (group green); the SDK program watches
    the service; create + release a bluegreen rule (80/20), tag blue, pull blue-1 out and in,
    change the weights to 50/50, add canary IPs: every step shows in the SDK's view through a
    push, and picks follow the weights exactly."""
    m = Mgmt(ctx.port, "sdk-routes")
    ctx.defer(m.close)
    api = Api(ctx.client(mode="plain"))
    b1, b2 = reg(SVC, "blue-1", "blue", "10.77.0.1"), reg(SVC, "blue-2", "blue", "10.77.0.2")
    g1 = reg(SVC, "green-1", "green", "10.77.0.3")
    api.must_register(b1, b2, g1)
    w = mgmt.watch(ctx, SVC)  # a raw subscriber, to tell a missing push from an ignored one
    p = RouteProc(ctx, SVC)

    # 0. no rule yet: the derived default rule, plain round-robin over the three
    _, v = p.wait_view(lambda v: ids(v) == ["blue-1", "blue-2", "green-1"], "the three instances")
    eq([(r["routeId"], r["derived"]) for r in v["rules"]], [("default-route-rule", True)], "rules without management data")
    eq(groups(v, "default-route-rule"), {"default-group-key": (5, {}, ["blue-1", "blue-2", "green-1"])}, "derived group")
    eq(v["pickRule"], "default-route-rule", "pick rule without management data")
    eq(sorted(v["picks"].values()), [333, 333, 334], "1000 picks over three instances, no rule (%s)" % v["picks"])
    FIGURES["no rule"] = v["picks"]

    # 1. create the rule: unreleased weights show as fixWeight(null) = 5
    kb, kg = group_key(SVC, "blue"), group_key(SVC, "green")
    mgmt.drain(w, 0.2)
    t0 = time.monotonic()
    m.ok("group/create-route-rule.json", with_ctx({
        "groups": [group(SVC, "blue", weight=80, app_id="app-routes"), group(SVC, "green", weight=20, app_id="app-routes")],
        "routeRule": route_rule(SVC, "bluegreen")}, operation="create-route-rule"))
    push_check(ctx, w, SVC, "reload", "reload", "create-route-rule")
    t, v = p.wait_view(lambda v: rule(v, "bluegreen") is not None, "rule bluegreen after create-route-rule")
    FIGURES["create (write to SDK view, s)"] = round(t - t0, 3)
    eq(groups(v, "bluegreen"), {kb: (5, {}, ["blue-1", "blue-2"]), kg: (5, {}, ["green-1"])},
       "bluegreen before release (weights not released: 5)")
    eq(rule(v, "bluegreen")["strategy"], "weighted-round-robin", "strategy")
    eq(v["pickRule"], "bluegreen", "pick() uses the server's first rule")
    eq(v["picks"], {"blue-1": 250, "blue-2": 250, "green-1": 500}, "picks with 5/5 weights")

    # 2. release 80/20 and tag blue
    rid, gb, gg = m.rule_id(SVC, "bluegreen"), m.group_id(SVC, "blue"), m.group_id(SVC, "green")
    mgmt.drain(w, 0.2)
    t0 = time.monotonic()
    release(m, rid, gb, gg)
    push_check(ctx, w, SVC, "reload", "reload", "release-route-rule-groups")
    t, v = p.wait_view(lambda v: (groups(v, "bluegreen") or {}).get(kb, (0,))[0] == 80, "blue weight 80 after release")
    FIGURES["release (write to SDK view, s)"] = round(t - t0, 3)
    eq(groups(v, "bluegreen"), {kb: (80, {}, ["blue-1", "blue-2"]), kg: (20, {}, ["green-1"])}, "bluegreen released 80/20")
    eq(v["picks"], {"blue-1": 400, "blue-2": 400, "green-1": 200}, "1000 picks on the released view")
    FIGURES["80/20 (on change)"] = v["picks"]
    m.ok("group/insert-group-tags.json", with_ctx({"groupTagsList": [{"groupId": gb, "tags": {"owner": "team-a", "color": "blue"}}]}))
    _, v = p.wait_view(lambda v: (groups(v, "bluegreen") or {}).get(kb, (0, {}))[1] != {}, "blue's tags")
    eq(groups(v, "bluegreen"), {kb: (80, {"owner": "team-a", "color": "blue"}, ["blue-1", "blue-2"]),
                                kg: (20, {}, ["green-1"])}, "bluegreen with tags")
    eq([r["routeId"] for r in v["rules"]], ["bluegreen", "default-route-rule"], "rules: the server's, then the derived default")
    eq(v["pickRule"], "bluegreen", "pick rule")
    pk = p.picks()
    eq(pk["rule"], "bluegreen", "pick command's rule")
    eq(pk["counts"], {"blue-1": 400, "blue-2": 400, "green-1": 200}, "pick 1000 (80/20)")
    FIGURES["80/20"] = pk["counts"]

    # 3. pull blue-1 out, then in
    t0 = time.monotonic()
    m.operate_instance(instance_key(SVC, "blue-1", region=REGION), operation="pullout", operator="it-operator",
                       token="it-token")
    push_check(ctx, w, SVC, "delete", "blue-1", "operate-instance pull-out")
    t, v = p.wait_view(lambda v: "blue-1" not in ids(v), "blue-1 pulled out")
    FIGURES["pull-out (write to SDK view, s)"] = round(t - t0, 3)
    eq(ids(v), ["blue-2", "green-1"], "instances after the pull-out")
    eq(groups(v, "bluegreen")[kb][2], ["blue-2"], "blue's instances after the pull-out")
    eq(v["picks"], {"blue-2": 800, "green-1": 200}, "picks after the pull-out (on change)")
    pk = p.picks()
    eq(pk["counts"], {"blue-2": 800, "green-1": 200}, "pick 1000 with blue-1 out")
    FIGURES["80/20, blue-1 out"] = pk["counts"]
    t0 = time.monotonic()
    m.operate_instance(instance_key(SVC, "blue-1", region=REGION), operation="pullout", complete=True,
                       operator="it-operator", token="it-token")
    push_check(ctx, w, SVC, "new", "blue-1", "operate-instance pull-in")
    t, v = p.wait_view(lambda v: "blue-1" in ids(v), "blue-1 pulled back in")
    FIGURES["pull-in (write to SDK view, s)"] = round(t - t0, 3)
    eq(groups(v, "bluegreen")[kb][2], ["blue-1", "blue-2"], "blue's instances after the pull-in")
    pk = p.picks()
    eq(pk["counts"], {"blue-1": 400, "blue-2": 400, "green-1": 200}, "pick 1000 with blue-1 back")
    FIGURES["80/20, blue-1 back"] = pk["counts"]

    # 4. weights 50/50: unreleased first (nothing changes), then released
    m.ok("group/update-route-rule-groups.json", with_ctx({"routeRuleGroups": [
        {"groupId": gb, "routeRuleId": rid, "unreleasedWeight": 50},
        {"groupId": gg, "routeRuleId": rid, "unreleasedWeight": 50}]}, operation="update-weights"))
    eq(p.command("view", "current")["rules"], v["rules"], "an unreleased weight change is not in the SDK's view")
    mgmt.drain(w, 0.2)
    t0 = time.monotonic()
    release(m, rid, gb, gg)
    push_check(ctx, w, SVC, "reload", "reload", "release 50/50")
    t, v = p.wait_view(lambda v: (groups(v, "bluegreen") or {}).get(kb, (0,))[0] == 50, "weights 50/50")
    FIGURES["release 50/50 (write to SDK view, s)"] = round(t - t0, 3)
    eq(groups(v, "bluegreen"), {kb: (50, {"owner": "team-a", "color": "blue"}, ["blue-1", "blue-2"]),
                                kg: (50, {}, ["green-1"])}, "bluegreen 50/50")
    pk = p.picks()
    eq(pk["counts"], {"blue-1": 250, "blue-2": 250, "green-1": 500}, "pick 1000 (50/50)")
    FIGURES["50/50"] = pk["counts"]

    # 5. canary: a new instance 10.77.0.9 (default group) named by update-canary-ips
    cn = instance(SVC, "10.77.0.9", ip="10.77.0.9", port=8080, region=REGION, zone=ZONE)
    api.must_register(cn)
    _, v = p.wait_view(lambda v: "10.77.0.9" in ids(v), "the canary instance registered")
    eq(groups(v, "bluegreen")[kb][2], ["blue-1", "blue-2"], "a default-group instance joins no bluegreen group")
    t0 = time.monotonic()
    m.ok("canary/update-canary-ips.json", with_ctx({"appId": "app-canary", "canaryIps": ["10.77.0.9"], "serviceId": SVC},
                                                   operation="canary"))
    t, v = p.wait_view(lambda v: rule(v, "canary-route-rule") is not None, "canary-route-rule")
    FIGURES["canary (write to SDK view, s)"] = round(t - t0, 3)
    kc = "%s/%s/canary/app-canary" % (SVC, REGION)
    eq(groups(v, "canary-route-rule"), {kc: (5, {}, ["10.77.0.9"])}, "canary rule's group")
    eq(groups(v, "bluegreen"), {kb: (50, {"owner": "team-a", "color": "blue"}, ["blue-1", "blue-2"]),
                                kg: (50, {}, ["green-1"])}, "bluegreen next to the canary rule")
    order = [r["routeId"] for r in v["rules"]]
    eq(sorted(order[:2]), ["bluegreen", "canary-route-rule"], "the two server rules first")
    eq(order[2:], ["default-route-rule"], "then the derived default")
    eq(v["pickRule"], order[0], "pick() uses the server's first rule")
    FIGURES["rule order with canary"] = order
    pk = p.picks(rule="canary-route-rule")
    eq(pk["counts"], {"10.77.0.9": N}, "rulepick canary-route-rule")
    pk = p.picks(rule="bluegreen")
    eq(pk["counts"], {"blue-1": 250, "blue-2": 250, "green-1": 500}, "rulepick bluegreen with the canary rule present")
    pk = p.picks()
    FIGURES["pick() with canary rule present"] = pk["counts"]
    eq(p.quit(), 0, "route_rules exit status")

    # tear down what could affect other modules' services (none share SVC; keep the store tidy)
    rgs = m.rule_groups(rid)
    m.ok("group/delete-route-rule-groups.json", with_ctx({"routeRuleGroupIds": [g["routeRuleGroupId"] for g in rgs]}))
    m.ok("group/delete-route-rules.json", with_ctx({"routeRuleIds": [rid]}))
    api.must_unregister(b1, b2, g1, cn)
    print("    figures: %s" % json.dumps(FIGURES, sort_keys=False), flush=True)


test_weighted_rule_through_pushes.timeout = 90


RACE_SVC = "routes.race.svc"


def sdk_summary(view):
    return ids(view), groups(view, "racerule")


def server_summary(c):
    s = mgmt.lookup_service(c, RACE_SVC)
    insts = sorted(i["instanceId"] for i in s.get("instances") or [])
    rr = [r for r in s.get("routeRules") or [] if r["routeId"] == "racerule"]
    return insts, rr


def test_concurrent_writes_converge(ctx):
    """A reload (tag change) and a pull-out / pull-in written at the same time, many times:
    after each round the SDK's view must converge to what lookup.json says (no lookup answer
    older than a push may be left standing)."""
    m = Mgmt(ctx.port, "sdk-routes")
    ctx.defer(m.close)
    m2 = Mgmt(ctx.port, "sdk-routes")
    ctx.defer(m2.close)
    c = ctx.client(mode="plain")
    api = Api(c)
    insts = [reg(RACE_SVC, "r-%d" % i, "ra" if i < 2 else "rb", "10.78.0.%d" % (i + 1)) for i in range(3)]
    api.must_register(*insts)
    m.ok("group/create-route-rule.json", with_ctx({
        "groups": [group(RACE_SVC, "ra", weight=70, app_id="app-race"), group(RACE_SVC, "rb", weight=30, app_id="app-race")],
        "routeRule": route_rule(RACE_SVC, "racerule")}))
    rid, ga = m.rule_id(RACE_SVC, "racerule"), m.group_id(RACE_SVC, "ra")
    gb = m.group_id(RACE_SVC, "rb")
    release(m, rid, ga, gb)
    p = RouteProc(ctx, RACE_SVC, picks=0)
    p.wait_view(lambda v: (groups(v, "racerule") or {}).get(group_key(RACE_SVC, "ra"), (0,))[0] == 70, "racerule")
    bad = []
    for k in range(40):
        out = k % 2 == 0
        errs = []

        def tag():
            try:
                m2.ok("group/update-group-tags.json", with_ctx({"groupTagsList": [{"groupId": ga, "tags": {"round": str(k)}}]}))
            except BaseException as e:  # noqa: B902
                errs.append(e)

        t = threading.Thread(target=tag)
        t.start()
        m.operate_instance(instance_key(RACE_SVC, "r-0", region=REGION), operation="pullout", complete=not out)
        t.join(10)
        check(not errs, "tag write failed: %s" % errs)
        want_ids = ["r-1", "r-2"] if out else ["r-0", "r-1", "r-2"]
        deadline = time.monotonic() + 3.0
        while True:
            v = p.command("view", "current")
            g = groups(v, "racerule") or {}
            tags = g.get(group_key(RACE_SVC, "ra"), (0, {}))[1]
            if ids(v) == want_ids and tags.get("round") == str(k):
                break
            if time.monotonic() > deadline:
                bad.append((k, ids(v), tags, server_summary(c)))
                break
            time.sleep(0.05)
    check(not bad, "the SDK's view did not converge to lookup.json in %d of 40 rounds: %s" % (len(bad), short(bad, 2000)))
    eq(p.quit(), 0, "route_rules exit status")
    m.ok("group/delete-route-rules.json", with_ctx({"routeRuleIds": [rid]}))
    api.must_unregister(*insts)


test_concurrent_writes_converge.timeout = 120


class DelayProxy(proxy.Proxy):
    """HTTP answers (not the WebSocket) are held `delay` seconds before they are passed on, so
    a lookup answer reaches the SDK after a push the server sent later."""

    delay = 0.0

    def down_delay(self, ws, line, n):
        return 0.0 if ws else self.delay


DELAY_SVC = "routes.delay.svc"


def test_lookup_answer_older_than_a_push(outer):
    """A reload's lookup answer that arrives after a later `delete` push (the answer is held by
    a proxy) must not bring the pulled-out instance back: the SDK must notice that a push came
    while the lookup was in flight and fetch again instead of keeping the older answer.
    A server of its own, advertising the proxy as its node URL, so the SDK keeps using the
    proxy after it reads up-discovery-nodes.json."""
    proxy = DelayProxy(outer, 0)
    srv = server.Server(SERVER_ARGS + ["--node-url=http://127.0.0.1:%d" % proxy.port], name="sdk-routes-proxy")
    outer.defer(srv.cleanup)
    srv.start()
    proxy.target = srv.port
    ctx = mgmt.NodeCtx(outer, srv)
    m = Mgmt(ctx.port, "sdk-routes")
    ctx.defer(m.close)
    api = Api(ctx.client(mode="plain"))
    insts = [reg(DELAY_SVC, "d-%d" % i, "da", "10.79.0.%d" % (i + 1)) for i in range(2)]
    api.must_register(*insts)
    # tags reach discovery (and make a reload) through a route rule holding the group
    m.ok("group/create-route-rule.json", with_ctx({"groups": [group(DELAY_SVC, "da", weight=10, app_id="app-delay")],
                                                   "routeRule": route_rule(DELAY_SVC, "delayrule")}))
    ga, rid = m.group_id(DELAY_SVC, "da"), m.rule_id(DELAY_SVC, "delayrule")
    p = RouteProc(ctx, DELAY_SVC, picks=0, url="http://127.0.0.1:%d" % proxy.port)
    p.wait_view(lambda v: ids(v) == ["d-0", "d-1"], "both instances")
    wait = time.monotonic() + 5.0
    while proxy.ws_frames == 0 and time.monotonic() < wait:  # the subscription
        time.sleep(0.01)
    check(proxy.ws_frames > 0, "the SDK did not subscribe through the proxy")
    time.sleep(0.3)  # the server has handled it
    before = proxy.http_requests
    proxy.delay = 1.0
    # the tag write makes a reload (-> a lookup whose answer the proxy holds for 1 s) ...
    m.ok("group/insert-group-tags.json", with_ctx({"groupTagsList": [{"groupId": ga, "tags": {"k": "v"}}]}))
    wait = time.monotonic() + 3.0
    while proxy.http_requests == before and time.monotonic() < wait:
        time.sleep(0.01)
    check(proxy.http_requests > before, "the reload made no lookup through the proxy")
    # ... and the pull-out's delete push overtakes that answer
    m.operate_instance(instance_key(DELAY_SVC, "d-0", region=REGION), operation="pullout")
    p.wait_view(lambda v: ids(v) == ["d-1"], "d-0 pulled out", timeout=0.9)
    proxy.delay = 0.0
    time.sleep(2.5)
    v = p.command("view", "current")
    eq(mgmt.lookup_ids(ctx.client(mode="plain"), DELAY_SVC), {"d-1"}, "lookup.json after the pull-out")
    eq(ids(v), ["d-1"], "the SDK's view 2.5 s after the older lookup answer arrived (views: %s)" % short(
        [ids(x) for x in p.views], 600))
    eq(groups(v, "delayrule"), {group_key(DELAY_SVC, "da"): (5, {"k": "v"}, ["d-1"])}, "the rule after the reload")
    m.operate_instance(instance_key(DELAY_SVC, "d-0", region=REGION), operation="pullout", complete=True)
    eq(p.quit(), 0, "route_rules exit status")
    m.ok("group/delete-route-rules.json", with_ctx({"routeRuleIds": [rid]}))
    api.must_unregister(*insts)
    eq(srv.stop(5.0), 0, "its server's exit status")


test_lookup_answer_older_than_a_push.timeout = 30
