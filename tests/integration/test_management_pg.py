"""Management API end to end on the PostgreSQL store (--management-db=postgresql://...): the
shared bodies of lib/mgmt.py against a server whose store is a throwaway cluster (lib/pg.py),
plus what only a shared database has: two server processes on one database see each other's
writes within 1 s; a database outage (reads keep the last state, writes fail fast, /health
says so) and its end (writes work again without a restart); an unreachable --management-db
at start-up (exit status 2, one line naming the key).

PostgreSQL is not optional: if the cluster cannot start, every test fails with lib/pg.py's
message. The module manages its own processes (SERVER = False) and stops them by PID; the
first test starts them, the last one stops them (and an atexit hook covers an aborted run).
"""

import atexit
import shutil
import subprocess
import tempfile
import time

from lib import cluster, http, mgmt, server
from lib.util import SUCCESS, Api, check, eq, instance, short, wait_until

SERVER = False
L = "postgresql"

_S = {"pg": None, "a": None, "b": None, "err": None}


def _cleanup_all():
    for k in ("a", "b"):
        if _S[k] is not None:
            _S[k].cleanup()
            _S[k] = None
    if _S["pg"] is not None:
        _S["pg"].cleanup()
        _S["pg"] = None


atexit.register(_cleanup_all)


def _node(name):
    srv = server.Server(mgmt.SERVER_ARGS + ["--management-db=%s" % _S["pg"].uri], name=name)
    try:
        srv.start(timeout=20.0)
    except AssertionError as e:
        log = srv.log_tail()
        srv.cleanup()
        raise AssertionError("server with --management-db did not start: %s\n%s" % (e, log))
    return srv


def _need(key="a"):
    if _S["err"]:
        raise AssertionError("PostgreSQL store not available: %s" % _S["err"])
    if _S["pg"] is None or _S[key] is None:
        raise AssertionError("PostgreSQL cluster or server %s not running (test_pg_start failed?)" % key)
    if not _S["pg"].alive():
        _S["pg"].start()
    if not _S[key].alive():
        _S[key].restart(timeout=20.0)
    return _S[key]


def _ctx(ctx, key="a"):
    return mgmt.NodeCtx(ctx, _need(key))


def _mgmt_health(port):
    code, doc = mgmt.health(port)
    check(code in (200, 503), "/health HTTP %d" % code)
    m = doc.get("management")
    check(isinstance(m, dict), "/health has no management object: %s" % short(doc))
    return code, doc, m


def test_pg_start(ctx):
    from lib import pg

    try:
        c = pg.Cluster(name="artemis-mgmt")
        _S["pg"] = c
        c.start()
    except AssertionError as e:
        _S["err"] = str(e)
        raise
    _S["a"] = _node("mgmt-pg-a")


test_pg_start.timeout = 90


def test_pg_health_and_schema(ctx):
    """/health names the store and says it is ok; the schema is in the database."""
    _need("a")
    code, doc, m = _mgmt_health(_S["a"].port)
    eq(code, 200, "/health of a server on PostgreSQL")
    eq((m.get("store"), m.get("ok")), ("postgresql", True), "/health management store and ok (%s)" % short(m))
    tables = set(_S["pg"].sql("artemis_test", "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").split())
    for t in ("instance", "instance_log", "server", "service_group", "service_route_rule", "service_route_rule_group",
              "service_zone", "service_instance", "service_group_tag", "service_group_operation", "service_group_instance"):
        check(t in tables, "table %s not created in PostgreSQL (have %s)" % (t, sorted(tables)))


def test_f21_pullout_pullin(ctx):
    mgmt.s_f21_pullout_pullin(_ctx(ctx), L)


test_f21_pullout_pullin.timeout = 30


def test_pullout_in_services_delta(ctx):
    mgmt.s_pullout_delta(_ctx(ctx), L)


test_pullout_in_services_delta.timeout = 20


def test_operate_errors(ctx):
    mgmt.s_operate_errors(_ctx(ctx), L)


def test_instance_key_case_insensitive(ctx):
    mgmt.s_instance_key_case_insensitive(_ctx(ctx), L)


def test_server_operations(ctx):
    mgmt.s_server_operations(_ctx(ctx), L)


test_server_operations.timeout = 20


def test_zone_operations(ctx):
    mgmt.s_zone_operations(_ctx(ctx), L)


test_zone_operations.timeout = 20


def test_group_operations(ctx):
    mgmt.s_group_operations(_ctx(ctx), L)


test_group_operations.timeout = 30


def test_route_rules_f22(ctx):
    mgmt.s_route_rules_f22(_ctx(ctx), L)


test_route_rules_f22.timeout = 40


def test_update_paths(ctx):
    mgmt.s_update_paths(_ctx(ctx), L)


test_update_paths.timeout = 30


def test_canary(ctx):
    mgmt.s_canary(_ctx(ctx), L)


def test_logic_instances(ctx):
    mgmt.s_logic_instances(_ctx(ctx), L)


def test_management_views(ctx):
    mgmt.s_management_views(_ctx(ctx), L)


def test_write_context_required(ctx):
    mgmt.s_write_context_required(_ctx(ctx), L)


test_write_context_required.timeout = 20


def test_hostile_strings(ctx):
    mgmt.s_hostile_strings(_ctx(ctx), L)
    # the rows in the database itself are exact, and the tables are all still there
    pg = _S["pg"]
    got = set(pg.sql("artemis_test", "SELECT description FROM service_group WHERE service_id = 'hostile.mg.svc'")
              .splitlines())
    for h in mgmt.HOSTILE:
        if "\n" not in h:
            check(h in got, "service_group.description %r not stored verbatim (have %s)" % (h, short(sorted(got))))
    n = pg.sql("artemis_test", "SELECT count(*) FROM instance_log").strip()
    check(n.isdigit() and int(n) > 0, "instance_log rows: %r" % n)


test_hostile_strings.timeout = 60


def test_hostile_shapes(ctx):
    mgmt.s_hostile_shapes(_ctx(ctx), L)


test_hostile_shapes.timeout = 90


def test_two_nodes_share_the_database(ctx):
    """Two independent servers on one database: a write on one is applied by the other within
    1 s (pull-out, pull-in, a released route rule), in both directions."""
    a = _need("a")
    if _S["b"] is None or not _S["b"].alive():
        if _S["b"] is not None:
            _S["b"].cleanup()
        _S["b"] = _node("mgmt-pg-b")
    b = _S["b"]
    ca, cb = mgmt.NodeCtx(ctx, a), mgmt.NodeCtx(ctx, b)
    svc = "two.nodes.svc"
    x, y = instance(svc, "x", ip="10.80.0.1"), instance(svc, "y", ip="10.80.0.2")
    # not replicated (independent single-node servers): register on both
    Api(ca.client()).must_register(x, y)
    Api(cb.client()).must_register(x, y)
    la, lb = ca.client(mode="plain"), cb.client(mode="plain")
    ma, mb = mgmt.mg(ca, L), mgmt.mg(cb, L)
    wb = mgmt.watch(cb, svc)

    def within_1s(fn, what):
        t0 = time.monotonic()
        wait_until(fn, 1.0, 0.02, what)
        return time.monotonic() - t0

    ma.operate_instance(mgmt.instance_key(x))
    eq(mgmt.lookup_ids(la, svc), {"y"}, "node A right after its own pull-out")
    within_1s(lambda: mgmt.lookup_ids(lb, svc) == {"y"}, "node B to apply node A's pull-out")
    mgmt.next_change(wb, svc, "x", "delete", 1.0)
    eq(mb.ok("instance-operations.json", {"instanceKey": mgmt.instance_key(x)})["operations"],
       {"instanceKey": mgmt.instance_key(x), "operations": ["pullout"]}, "node B's instance-operations")
    mb.operate_instance(mgmt.instance_key(x), complete=True)
    within_1s(lambda: mgmt.lookup_ids(la, svc) == {"x", "y"}, "node A to apply node B's pull-in")
    mgmt.next_change(wb, svc, "x", "new", 1.0)
    # a route rule written on B is in A's lookup within 1 s
    mb.ok("group/create-route-rule.json", mgmt.with_ctx({"groups": [mgmt.group(svc, "gx", weight=60)],
                                                         "routeRule": mgmt.route_rule(svc, "two")}))
    rid, gid = mb.rule_id(svc, "two"), mb.group_id(svc, "gx")
    mb.ok("group/release-route-rule-groups.json", mgmt.with_ctx({"routeRuleGroups": [{"groupId": gid, "routeRuleId": rid}]}))
    want = [{"groups": [{"groupKey": mgmt.group_key(svc, "gx"), "instanceIds": [], "instances": None, "metadata": None,
                         "weight": 60}], "routeId": "two", "strategy": "weighted-round-robin"}]
    within_1s(lambda: mgmt.lookup_service(la, svc)["routeRules"] == want, "node A to show node B's route rule")
    # zone and server operations too
    ma.operate_server(mgmt.server_key("10.80.0.2"))
    within_1s(lambda: mgmt.lookup_ids(lb, svc) == {"x"}, "node B to apply node A's server pull-out")
    ma.operate_server(mgmt.server_key("10.80.0.2"), complete=True)
    within_1s(lambda: mgmt.lookup_ids(lb, svc) == {"x", "y"}, "node B to apply node A's server pull-in")
    mb.ok("group/delete-route-rules.json", mgmt.with_ctx({"routeRuleIds": [rid]}))
    within_1s(lambda: mgmt.lookup_service(la, svc)["routeRules"] == [], "node A to drop the deleted rule")


test_two_nodes_share_the_database.timeout = 40


def test_database_outage(ctx):
    """PostgreSQL stopped under a running server: reads serve the last state, a write fails
    fast with a fail responseStatus, /health says the store is down; PostgreSQL back: writes
    work again within a few seconds, without restarting the server."""
    a = _need("a")
    pg = _S["pg"]
    na = mgmt.NodeCtx(ctx, a)
    m = mgmt.mg(na, L)
    c = na.client(mode="plain")
    svc = "outage.mg.svc"
    p, q = instance(svc, "p", ip="10.90.0.1"), instance(svc, "q", ip="10.90.0.2")
    Api(c).must_register(p, q)
    m.operate_instance(mgmt.instance_key(p))
    m.ok("group/create-route-rule.json", mgmt.with_ctx({"groups": [mgmt.group(svc, "og", weight=9)],
                                                        "routeRule": mgmt.route_rule(svc, "out")}))
    rid, gid = m.rule_id(svc, "out"), m.group_id(svc, "og")
    m.ok("group/release-route-rule-groups.json", mgmt.with_ctx({"routeRuleGroups": [{"groupId": gid, "routeRuleId": rid}]}))
    before = mgmt.lookup_service(c, svc)
    eq({i["instanceId"] for i in before["instances"]}, {"q"}, "lookup before the outage")
    check(before["routeRules"], "route rule before the outage")
    pg.stop()
    try:
        # reads keep the last state
        for _ in range(3):
            now = mgmt.lookup_service(c, svc)
            eq(now, before, "lookup during the outage")
            time.sleep(0.2)
        eq(m.ok("instance-operations.json", {"instanceKey": mgmt.instance_key(p)})["operations"],
           {"instanceKey": mgmt.instance_key(p), "operations": ["pullout"]}, "instance-operations during the outage")
        eq(m.ok("instance-down.json", {"instance": p})["down"], True, "instance-down during the outage")
        # a write fails fast
        m2 = mgmt.Mgmt(a.port, L, timeout=10.0)
        ctx.defer(m2.close)
        for path, body in [
            ("operate-instance.json", {"instanceKey": mgmt.instance_key(q), "operation": "pullout",
                                       "operationComplete": False, "operatorId": "o", "token": "t"}),
            ("group/insert-groups.json", mgmt.with_ctx({"groups": [mgmt.group(svc, "during")]})),
        ]:
            t0 = time.monotonic()
            doc = m2.call(path, body)
            secs = time.monotonic() - t0
            check(secs < 5.0, "%s during the outage took %.1f s (want < 5 s)" % (path, secs))
            eq((doc.get("responseStatus") or {}).get("status"), "fail", "%s during the outage: %s" % (path, short(doc)))
        eq(mgmt.lookup_ids(c, svc), {"q"}, "a failed write is not applied")
        # /health says the store is down (and the node keeps serving)
        code, doc, mh = _mgmt_health(a.port)
        eq((mh.get("store"), mh.get("ok")), ("postgresql", False), "/health management during the outage (%s)" % short(mh))
        eq(Api(c).heartbeat(p, q).get("responseStatus"), SUCCESS, "registry heartbeat during the outage")
    finally:
        pg.start()
    t0 = time.monotonic()
    body = {"instanceKey": mgmt.instance_key(q), "operation": "pullout", "operationComplete": False, "operatorId": "o",
            "token": "t"}

    def write_ok():
        doc = m.call("operate-instance.json", body)
        return doc.get("responseStatus") == SUCCESS

    wait_until(write_ok, 10.0, 0.5, "a write to succeed after PostgreSQL came back")
    check(time.monotonic() - t0 < 10.0, "writes came back after %.1f s" % (time.monotonic() - t0))
    eq(mgmt.lookup_ids(c, svc), set(), "the write after the outage is applied")
    wait_until(lambda: _mgmt_health(a.port)[2].get("ok") is True, 5.0, 0.2, "/health management ok again")
    m.operate_instance(mgmt.instance_key(q), complete=True, operator="o", token="t")
    m.operate_instance(mgmt.instance_key(p), complete=True)
    eq(mgmt.lookup_ids(c, svc), {"p", "q"}, "pull-ins after the outage")
    Api(c).unregister(p, q)


test_database_outage.timeout = 60


def test_survives_restart(ctx):
    a = _need("a")
    na = mgmt.NodeCtx(ctx, a)
    prepared = mgmt.s_restart_prepare(na, L)
    eq(a.stop(5.0), 0, "exit status after SIGTERM")
    a.restart(timeout=20.0)
    mgmt.s_restart_verify(na, L, prepared)
    a.kill()
    a.restart(timeout=20.0)
    mgmt.s_restart_verify_kill(na, L, prepared)
    mgmt.s_restart_cleanup(na, L, prepared)


test_survives_restart.timeout = 60


def test_unreachable_database_exits_2(ctx):
    """--management-db naming a database nobody listens on: exit status 2 and one line on
    stderr naming the key (no password in it)."""
    port = server.free_port()
    dead = server.free_port()
    d = tempfile.mkdtemp(prefix="artemis-it-pgdead-")
    ctx.defer(lambda: shutil.rmtree(d, ignore_errors=True))
    args = ["--listen=127.0.0.1:%d" % port, "--region=sha", "--zone=sha-z1", "--data-dir=%s" % d,
            "--management-db=postgresql://artemis:s3cret@127.0.0.1:%d/nowhere?connect_timeout=2" % dead]
    t0 = time.monotonic()
    try:
        code, out, err = server.run_once(args, timeout=12.0)
    except subprocess.TimeoutExpired:
        raise AssertionError("the server kept running for 12 s with an unreachable --management-db (killed)")
    eq(code, 2, "exit status with an unreachable --management-db (stderr %r)" % err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    eq(len(lines), 1, "stderr lines: %r" % err)
    check("management-db" in lines[0], "stderr must name the key management-db: %r" % lines[0])
    check("s3cret" not in err, "stderr shows the password: %r" % err)
    check(time.monotonic() - t0 < 15.0, "start-up with an unreachable database took %.1f s" % (time.monotonic() - t0))
    try:
        http.quick_get(port, "/health", timeout=0.5)
        raise AssertionError("something answers on the port after the refused start")
    except (http.HttpError, OSError):
        pass


test_unreachable_database_exits_2.timeout = 30


def test_cluster_nodes_share_the_database(ctx):
    """Two nodes of one cluster (peers of each other, replicating the registry) on one
    database: an operation written on either node reaches the other's discovery within 1 s, and
    the replicated instance is pulled out and in on both."""
    _need("a")
    cl = cluster.Cluster(2, extra_args=mgmt.SERVER_ARGS + ["--management-db=%s" % _S["pg"].uri])
    ctx.defer(cl.cleanup)
    try:
        cl.start(timeout=20.0)
    except AssertionError as e:
        raise AssertionError("%s\n%s" % (e, cl.logs()))
    svc = "cluster.pg.svc"
    x = instance(svc, "cx", ip="10.81.0.1")
    Api(http.Client(cl[0].port, mode="plain")).must_register(x)
    c0, c1 = http.Client(cl[0].port, mode="plain"), http.Client(cl[1].port, mode="plain")
    ctx.defer(c0.close)
    ctx.defer(c1.close)
    wait_until(lambda: mgmt.lookup_ids(c1, svc) == {"cx"}, 5.0, 0.05, "replication of cx to node 1")
    m1 = mgmt.mg(mgmt.NodeCtx(ctx, cl[1]), L)
    m0 = mgmt.mg(mgmt.NodeCtx(ctx, cl[0]), L)
    m1.operate_instance(mgmt.instance_key(x), operator="cl", token="cl")
    eq(mgmt.lookup_ids(c1, svc), set(), "node 1 right after its own pull-out")
    t0 = time.monotonic()
    wait_until(lambda: mgmt.lookup_ids(c0, svc) == set(), 1.0, 0.02, "node 0 to apply node 1's pull-out")
    took = time.monotonic() - t0
    m0.operate_instance(mgmt.instance_key(x), complete=True, operator="cl", token="cl")
    eq(mgmt.lookup_ids(c0, svc), {"cx"}, "node 0 right after its own pull-in")
    wait_until(lambda: mgmt.lookup_ids(c1, svc) == {"cx"}, 1.0, 0.02, "node 1 to apply node 0's pull-in")
    check(took < 1.0, "pull-out reached the other node after %.3f s" % took)


test_cluster_nodes_share_the_database.timeout = 60


def test_all_57_paths_covered(ctx):
    mgmt.s_coverage(L)


def test_pg_stop(ctx):
    """Both servers exit 0 on SIGTERM; the cluster is removed."""
    codes = {}
    for k in ("a", "b"):
        if _S[k] is not None and _S[k].alive():
            codes[k] = _S[k].stop(5.0)
    _cleanup_all()
    for k, code in codes.items():
        eq(code, 0, "server %s exit status after SIGTERM" % k)
    check(codes, "no server was running at the end")
