"""artemisctl against the runner's real server: tables and --json, pull-out/pull-in with the
reason shown by `service` and the effect on discovery, register/unregister, watch (a line
within 2 s of a change), the audit log, groups/route rules/weights/release/canary, cluster,
health, and the exit statuses (1 unreachable, 2 usage) with one stderr line.

The CLI comes from $ARTEMISCTL (make check-integration sets it), else build/bin/artemisctl.
$ARTEMIS_SERVER is the server binary for the runner but a URL for the CLI, so every call
passes --server explicitly and the CLI runs with ARTEMIS_SERVER removed from its environment."""

import json
import os
import select
import signal
import subprocess
import time

from lib.util import check, eq, instance

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def ctl_path():
    path = os.environ.get("ARTEMISCTL") or os.path.join(ROOT, "build", "bin", "artemisctl")
    if not os.path.exists(path):
        raise AssertionError("artemisctl %s does not exist (run `make`, or set ARTEMISCTL)" % path)
    return path


def env():
    return {k: v for k, v in os.environ.items() if k != "ARTEMIS_SERVER"}


def ctl(ctx, *args, rc=0, server=None, timeout=10):
    argv = [ctl_path(), "--server", server or "http://127.0.0.1:%d" % ctx.port] + list(args)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env())
    if rc is not None:
        check(p.returncode == rc, "%s: exit %d, wanted %d\nstdout: %s\nstderr: %s"
              % (" ".join(args), p.returncode, rc, p.stdout[-1500:], p.stderr[-1500:]))
    return p


def jlines(p):
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def spawn(ctx, *args):
    argv = [ctl_path(), "--server", "http://127.0.0.1:%d" % ctx.port] + list(args)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(),
                         bufsize=1)

    def stop():
        if p.poll() is None:
            p.kill()
        p.wait(timeout=5)

    ctx.defer(stop)
    return p


def read_line(p, deadline):
    """One stdout line of a child before the deadline (monotonic), or None.

    Reads the pipe with os.read into a buffer of its own: select() on p.stdout with
    p.stdout.readline() lost lines, as readline() pulls every line that has arrived into the
    file object's buffer, where select() cannot see them (two "current" lines written at once
    left the second unread until the next write -- a failure on a busy machine)."""
    fd = p.stdout.fileno()
    buf = getattr(p, "_line_buf", b"")
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            p._line_buf = buf
            return None
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        data = os.read(fd, 65536)
        if not data:
            p._line_buf = b""
            return buf.decode() if buf else None
        buf += data
    line, _, rest = buf.partition(b"\n")
    p._line_buf = rest
    return line.decode() + "\n"


def test_services_and_service_tables(ctx):
    api = ctx.api()
    api.must_register(instance("ctl.a", "a1", port=9101), instance("ctl.a", "a2", port=9102))
    p = ctl(ctx, "services")
    head = p.stdout.splitlines()[0].split()
    eq(head, ["SERVICE", "INSTANCES", "UP", "DOWN"], "services header")
    row = [l.split() for l in p.stdout.splitlines() if l.startswith("ctl.a ")]
    eq(row, [["ctl.a", "2", "2", "0"]], "services row")
    js = [o for o in jlines(ctl(ctx, "--json", "services")) if o["serviceId"] == "ctl.a"]
    eq(js, [{"serviceId": "ctl.a", "instances": 2, "up": 2, "down": 0}], "services --json")
    p = ctl(ctx, "service", "ctl.a")
    check(p.stdout.startswith("INSTANCE "), "service header: %r" % p.stdout)
    check("a1 " in p.stdout and "a2 " in p.stdout and "sha-z1" in p.stdout, p.stdout)
    js = jlines(ctl(ctx, "service", "ctl.a", "--json"))
    eq(sorted(o["instanceId"] for o in js), ["a1", "a2"], "service --json ids")
    for o in js:
        eq(o["status"], "up", "status")
        eq(o["downReasons"], [], "downReasons")
        check("renewalTime" in (o.get("metadata") or {}), "metadata: %s" % o)


def test_pull_out_shows_why_and_pull_in(ctx):
    api = ctx.api()
    api.must_register(instance("ctl.p", "p1", port=9201), instance("ctl.p", "p2", port=9202))
    p = ctl(ctx, "pull-out", "instance", "ctl.p", "p1", "--operator", "alice", "--reason", "bad disk")
    check("pulled out" in p.stdout, p.stdout)
    api.wait_absent("ctl.p", "p1")
    p = ctl(ctx, "service", "ctl.p")
    line = [l for l in p.stdout.splitlines() if l.startswith("p1 ")]
    check(line and " down " in line[0] and "instance op pullout by alice (bad disk)" in line[0],
          "service table: %s" % p.stdout)
    js = {o["instanceId"]: o for o in jlines(ctl(ctx, "--json", "service", "ctl.p"))}
    eq(js["p1"]["status"], "down", "p1 status")
    eq(js["p1"]["downReasons"], [{"scope": "instance", "operation": "pullout", "operatorId": "alice",
                                  "reason": "bad disk"}], "p1 downReasons")
    eq(js["p2"]["status"], "up", "p2 status")
    js = [o for o in jlines(ctl(ctx, "--json", "services")) if o["serviceId"] == "ctl.p"]
    eq(js[0]["down"], 1, "services down count")
    ctl(ctx, "pull-in", "instance", "ctl.p", "p1", "--operator", "alice")
    api.wait_present("ctl.p", "p1")
    js = {o["instanceId"]: o for o in jlines(ctl(ctx, "--json", "service", "ctl.p"))}
    eq(js["p1"]["status"], "up", "p1 after pull-in")
    # zone and server pull-outs say so too
    ctl(ctx, "pull-out", "zone", "ctl.p", "sha-z1", "--operator", "bob", "--reason", "zone drill")
    p = ctl(ctx, "service", "ctl.p")
    check("zone op pullout by bob (zone drill)" in p.stdout, p.stdout)
    ctl(ctx, "pull-in", "zone", "ctl.p", "sha-z1", "--operator", "bob")
    ctl(ctx, "pull-out", "server", "127.0.0.1", "--operator", "carol", "--operation", "maint")
    p = ctl(ctx, "service", "ctl.p")
    check("server op maint by carol" in p.stdout, p.stdout)
    ctl(ctx, "pull-in", "server", "127.0.0.1", "--operator", "carol", "--operation", "maint")
    api.wait_present("ctl.p", "p2")
    # the audit log, newest first, filtered
    p = ctl(ctx, "logs", "--service", "ctl.p")
    lines = p.stdout.splitlines()
    check(lines[0].split()[:3] == ["TIME", "KIND", "OPERATOR"], p.stdout)
    check("alice" in p.stdout and "bad disk" in p.stdout and "pull-in" in p.stdout, p.stdout)
    js = jlines(ctl(ctx, "--json", "logs", "--operator", "alice"))
    eq([(o["kind"], o["complete"]) for o in js],
       [("instance-operation", True), ("instance-operation", False)], "alice's log, newest first")
    eq(js[1]["reason"], "bad disk", "reason in the log")
    eq(len(jlines(ctl(ctx, "--json", "logs", "--limit", "1"))), 1, "--limit")


test_pull_out_shows_why_and_pull_in.timeout = 40


def test_group_pull_out(ctx):
    api = ctx.api()
    api.must_register(instance("ctl.g", "g1", port=9301, groupId="blue"),
                      instance("ctl.g", "g2", port=9302, groupId="green"))
    ctl(ctx, "pull-out", "group", "ctl.g", "blue", "--operator", "dave", "--reason", "bad build")
    api.wait_absent("ctl.g", "g1")
    js = {o["instanceId"]: o for o in jlines(ctl(ctx, "--json", "service", "ctl.g"))}
    eq(js["g1"]["downReasons"], [{"scope": "group blue", "operation": "pullout", "operatorId": "dave",
                                  "reason": "bad build"}], "group reason")
    eq(js["g2"]["status"], "up", "g2")
    ctl(ctx, "pull-in", "group", "ctl.g", "blue", "--operator", "dave")
    api.wait_present("ctl.g", "g1")


test_group_pull_out.timeout = 30


def test_register_and_unregister(ctx):
    api = ctx.api()
    p = spawn(ctx, "register", "--service", "ctl.r", "--port", "9401", "--interval", "1",
              "--meta", "owner=eve")
    line = read_line(p, time.monotonic() + 5)
    eq(line, "registered ctl.r 127.0.0.1:9401\n", "register output")
    insts = api.lookup("ctl.r")
    eq([(i["instanceId"], i["metadata"]) for i in insts], [("127.0.0.1:9401", {"owner": "eve"})], "lookup")
    time.sleep(2.5)  # heartbeats keep it (and must not fail)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=5)
    eq(p.returncode, 0, "register exit (stderr %s)" % err)
    check("unregistered ctl.r 127.0.0.1:9401" in out, out)
    eq(api.lookup("ctl.r"), [], "gone after Ctrl-C")
    ctl(ctx, "register", "--service", "ctl.r", "--port", "9402", "--once")
    api.wait_present("ctl.r", "127.0.0.1:9402")
    ctl(ctx, "unregister", "--service", "ctl.r", "--port", "9402")
    api.wait_absent("ctl.r", "127.0.0.1:9402")


test_register_and_unregister.timeout = 30


def test_watch_prints_changes(ctx):
    api = ctx.api()
    api.must_register(instance("ctl.w", "w1", port=9501))
    p = spawn(ctx, "--json", "watch", "ctl.w")
    first = read_line(p, time.monotonic() + 5)
    check(first is not None, "watch printed nothing; stderr: %s" % (p.stderr.read() if p.poll() is not None else ""))
    o = json.loads(first)
    eq((o["changeType"], o["instance"]["instanceId"]), ("current", "w1"), "current line")
    time.sleep(0.3)  # subscribed before the current list is printed; a little slack anyway
    t0 = time.monotonic()
    api.must_register(instance("ctl.w", "w2", port=9502))
    line = read_line(p, t0 + 2)
    check(line is not None, "no line within 2 s of a register")
    o = json.loads(line)
    eq((o["changeType"], o["instance"]["instanceId"]), ("new", "w2"), "new line")
    t0 = time.monotonic()
    ctl(ctx, "pull-out", "instance", "ctl.w", "w1", "--operator", "frank")
    line = read_line(p, t0 + 2)
    check(line is not None, "no line within 2 s of a pull-out")
    o = json.loads(line)
    eq((o["changeType"], o["instance"]["instanceId"]), ("delete", "w1"), "delete line")
    ctl(ctx, "pull-in", "instance", "ctl.w", "w1", "--operator", "frank")
    # the human form
    h = spawn(ctx, "watch", "ctl.w")
    head = read_line(h, time.monotonic() + 5)
    check(head and head.split()[:2] == ["TIME", "CHANGE"], "watch header: %r" % head)
    # its "current" lines (w1, w2) come first, once it has subscribed: a change made before
    # that is in neither (a fixed 0.5 s sleep here lost the race on a busy machine)
    current = set()
    while current != {"w1", "w2"}:
        line = read_line(h, time.monotonic() + 5)
        check(line and " current " in line, "human watch current line: %r (seen %s)" % (line, current))
        current |= {w for w in ("w1", "w2") if w in line}
    t0 = time.monotonic()
    api.must_unregister(instance("ctl.w", "w2", port=9502))
    line = read_line(h, t0 + 2)
    check(line and " delete " in line and "w2" in line, "human watch line: %r" % line)
    h.send_signal(signal.SIGINT)
    h.wait(timeout=5)
    eq(h.returncode, 0, "watch exit after Ctrl-C")


test_watch_prints_changes.timeout = 30


def test_groups_route_rules_weights_release_canary(ctx):
    api = ctx.api()
    api.must_register(instance("ctl.rr", "c1", port=9601), instance("ctl.rr", "c2", port=9602))
    ctl(ctx, "canary", "ctl.rr", "c1", "--app", "shop", "--operator", "gina", "--reason", "try v2")
    js = jlines(ctl(ctx, "--json", "groups", "ctl.rr"))
    eq([(g["name"], g["zoneId"]) for g in js], [("shop", "canary")], "canary group")
    p = ctl(ctx, "groups", "ctl.rr")
    check(p.stdout.split()[:2] == ["ID", "NAME"] and "ctl.rr/sha/canary/shop" in p.stdout, p.stdout)
    rules = jlines(ctl(ctx, "--json", "route-rules", "ctl.rr"))
    eq([r["name"] for r in rules], ["canary-route-rule"], "rules")
    eq([(g["name"], g["weight"], g["unreleasedWeight"]) for g in rules[0]["groups"]],
       [("shop", None, 5)], "canary link")
    ctl(ctx, "weights", "ctl.rr", "shop", "40", "--operator", "gina", "--rule", "canary-route-rule")
    rules = jlines(ctl(ctx, "--json", "route-rules", "ctl.rr"))
    eq([(g["weight"], g["unreleasedWeight"]) for g in rules[0]["groups"]], [(None, 40)], "unreleased 40")
    p = ctl(ctx, "release", "ctl.rr", "--operator", "gina")
    check("released 1 weight" in p.stdout, p.stdout)
    p = ctl(ctx, "route-rules", "ctl.rr")
    row = [l.split() for l in p.stdout.splitlines() if l.startswith("canary-route-rule")]
    eq(row, [["canary-route-rule", "weighted-round-robin", "active", "shop", "canary", "40", "40"]], "table")
    # clients now get the rule with weight 40 and c1 in the canary group
    r = ctx.client().post_json("/api/discovery/lookup.json", {
        "regionId": "sha", "zoneId": "sha-z1", "discoveryConfigs": [{"serviceId": "ctl.rr"}]})
    rr = r["services"][0]["routeRules"]
    eq([(x["routeId"], [(g["weight"], g["instanceIds"]) for g in x["groups"]]) for x in rr],
       [("canary-route-rule", [(40, ["c1"])])], "lookup routeRules")
    # errors: unknown group (server said no, 1), bad weight (usage, 2)
    p = ctl(ctx, "weights", "ctl.rr", "nope", "10", "--operator", "gina", rc=1)
    eq(len(p.stderr.splitlines()), 1, "one stderr line: %r" % p.stderr)
    ctl(ctx, "weights", "ctl.rr", "shop", "x", "--operator", "gina", rc=2)
    js = jlines(ctl(ctx, "--json", "logs", "--operator", "gina"))
    check({"route-rule-group", "route-rule", "group"} <= {o["kind"] for o in js}, "gina's log: %s" % js)


test_groups_route_rules_weights_release_canary.timeout = 40


def test_cluster_and_health(ctx):
    p = ctl(ctx, "cluster")
    lines = p.stdout.splitlines()
    check(lines[0].split()[:3] == ["NODE", "ZONE", "STATUS"], p.stdout)
    check(("127.0.0.1:%d" % ctx.port) in lines[1] and " up " in lines[1], p.stdout)
    check(lines[-1].startswith("self-preservation: off"), p.stdout)
    js = jlines(ctl(ctx, "--json", "cluster"))
    eq(js[0]["status"], "up", "node status")
    check(js[-1]["selfPreservation"]["active"] is False, "selfPreservation: %s" % js[-1])
    p = ctl(ctx, "health")
    check(any(l.split()[:2] == ["status", "UP"] for l in p.stdout.splitlines()), p.stdout)
    eq(jlines(ctl(ctx, "health", "--json"))[0]["status"], "UP", "health --json")


def test_exit_statuses(ctx):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()
    p = ctl(ctx, "services", rc=1, server="http://127.0.0.1:%d" % closed)
    eq(len(p.stderr.splitlines()), 1, "one line: %r" % p.stderr)
    check("unreachable" in p.stderr, p.stderr)
    # failover: a dead server first, then the real one
    p = ctl(ctx, "health", server="http://127.0.0.1:%d,http://127.0.0.1:%d" % (closed, ctx.port))
    for args in (["bogus"], ["service"], ["pull-out", "instance", "a", "b"], ["logs", "--limit", "0"],
                 ["services", "--nope"], [], ["register", "--service", "x"]):
        p = ctl(ctx, *args, rc=2)
        eq(len(p.stderr.splitlines()), 1, "%s: one stderr line: %r" % (args, p.stderr))
    # the server says no: a write refused (blank instance id after trimming)
    p = ctl(ctx, "pull-out", "instance", "ctl.x", " ", "--operator", "h", rc=1)
    check("server said no" in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr)
    for cmd in ("services", "service", "register", "unregister", "watch", "pull-out", "pull-in", "groups",
                "route-rules", "weights", "release", "canary", "logs", "cluster", "health"):
        p = ctl(ctx, cmd, "--help")
        check(p.stdout.startswith("usage: artemisctl"), "%s --help: %r" % (cmd, p.stdout[:80]))
    check("commands:" in ctl(ctx, "--help").stdout, "top help")
