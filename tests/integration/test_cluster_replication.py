"""Three-node clusters on loopback (protocol.md §6, issue 5): replication of register / heartbeat /
unregister, heartbeats to one node keeping an instance alive on all, no re-replication of a
replicated write, a replicated heartbeat registering an unknown instance, kill -9 of a node
while the others keep serving, restart with bootstrap before readiness, a node that cannot
bootstrap staying "starting" (not ready, client writes refused), zones, and metrics.

Each test builds its own cluster (lib/cluster.py) and stops it by PID."""

import json
import signal
import time

from lib import cluster, http
from lib.util import SUCCESS, Api, check, eq, instance

SERVER = False


def _cluster(ctx, *a, **kw):
    cl = cluster.Cluster(*a, **kw)
    ctx.defer(cl.cleanup)
    try:
        cl.start()
    except AssertionError as e:
        raise AssertionError("%s\n%s" % (e, cl.logs()))
    return cl


def _api(ctx, node):
    c = http.Client(node.port, timeout=5.0)
    ctx.defer(c.close)
    return Api(c)


def _ids(api, service):
    return api.lookup_ids(service)


def _metric(node, prefix):
    text = http.quick_get(node.port, "/metrics").text()
    return [line for line in text.splitlines() if line.startswith(prefix)]


def test_write_on_one_read_on_others(ctx):
    cl = _cluster(ctx, 3)
    apis = [_api(ctx, n) for n in cl.nodes]
    apis[0].must_register(instance("cl.svc", "a1"), instance("cl.svc", "a2"))
    apis[1].must_register(instance("cl.svc", "b1"))
    for a in apis:
        cluster.wait_until(lambda: _ids(a, "cl.svc") == {"a1", "a2", "b1"}, 3.0, what="all three instances")
    # the replicated copy is the same instance body
    i0 = sorted(apis[0].lookup("cl.svc"), key=lambda i: i["instanceId"])
    i2 = sorted(apis[2].lookup("cl.svc"), key=lambda i: i["instanceId"])
    eq(i2, i0, "instances on node2 vs node0")
    apis[2].must_unregister(instance("cl.svc", "a1"))
    for a in apis:
        cluster.wait_until(lambda: _ids(a, "cl.svc") == {"a2", "b1"}, 3.0, what="a1 gone everywhere")


test_write_on_one_read_on_others.timeout = 30


def test_heartbeats_to_one_keep_alive_on_all(ctx):
    args = [
        "--lease-ttl-ms=1500",
        "--artemis.service.registry.instance.lease-manager.lease-update-safe-checker.enabled=false",
    ]
    cl = _cluster(ctx, 3, extra_args=args)
    apis = [_api(ctx, n) for n in cl.nodes]
    apis[0].must_register(instance("hb.svc", "kept"), instance("hb.svc", "dropped"))
    for a in apis:
        a.wait_present("hb.svc", "dropped")
    t_end = time.monotonic() + 4.0
    while time.monotonic() < t_end:  # well past the 1.5 s TTL
        r = apis[0].heartbeat(instance("hb.svc", "kept"))
        eq(r["responseStatus"], SUCCESS, "heartbeat")
        time.sleep(0.3)
    for i, a in enumerate(apis):
        eq(_ids(a, "hb.svc"), {"kept"}, "node%d after 4 s of heartbeats to node0 only" % i)


test_heartbeats_to_one_keep_alive_on_all.timeout = 30


def test_replicated_write_not_replicated_again(ctx):
    cl = _cluster(ctx, 3)
    c1 = http.Client(cl[1].port)
    ctx.defer(c1.close)
    body = json.dumps({"instances": [instance("rr.svc", "peer-only")]})
    # a peer's heartbeat for an unknown instance registers it (protocol.md §2.4) ...
    r = c1.post_json("/api/replication/registry/heartbeat.json", body)
    eq(r["responseStatus"], SUCCESS, "replication heartbeat")
    api1, api2 = _api(ctx, cl[1]), _api(ctx, cl[2])
    api1.wait_present("rr.svc", "peer-only")
    # ... and is never forwarded again
    time.sleep(0.6)
    eq(_ids(api2, "rr.svc"), set(), "node2 got a replicated write re-replicated")
    eq(_ids(_api(ctx, cl[0]), "rr.svc"), set(), "node0 got a replicated write re-replicated")


test_replicated_write_not_replicated_again.timeout = 30


def test_kill_restart_bootstrap(ctx):
    cl = _cluster(ctx, 3)
    apis = [_api(ctx, n) for n in cl.nodes]
    n = 3000
    batch = [instance("boot.svc%d" % (k % 30), "i%d" % k) for k in range(n)]
    for k in range(0, n, 500):
        r = apis[0].register(*batch[k : k + 500])
        eq(r["responseStatus"], SUCCESS, "bulk register")
    cluster.wait_until(
        lambda: cl[2].health()[1] and cl[2].health()[1]["instances"] == n, 5.0, what="node2 has every instance"
    )
    cl[2].kill()  # SIGKILL by PID
    # the others keep serving everything, and stop listing the dead node
    apis[1].must_register(instance("boot.late", "after-kill"))
    apis[0].wait_present("boot.late", "after-kill")
    eq(len(apis[1].lookup("boot.svc7")), n // 30, "instances of one service on node1")

    def listed():
        r = http.Client(cl[0].port).post_json("/api/cluster/up-registry-nodes.json", '{"regionId":"sha","zoneId":"sha-z1"}')
        return {x["url"] for x in (r.get("nodes") or [])}

    cluster.wait_until(lambda: cl[2].url not in listed(), 3.0, what="dead node dropped from up-registry-nodes")
    eq(listed(), {cl[0].url, cl[1].url}, "up-registry-nodes after kill")

    # restart: /health is 200 only once bootstrap has copied every instance
    cl.start_node(2, wait=False)
    seen_ready = None
    t_end = time.monotonic() + 15.0
    while time.monotonic() < t_end:
        status, h = cl[2].health()
        if status == 200:
            seen_ready = h
            break
        if status is not None:
            eq(status, 503, "/health while starting")
            check(h["ready"] is False, "ready flag while starting: %r" % h)
        time.sleep(0.01)
    check(seen_ready is not None, "restarted node never became ready\n" + cl.logs())
    eq(seen_ready["instances"], n + 1, "instances when first ready")
    eq(seen_ready["nodeStatus"], "up", "nodeStatus when ready")
    api2 = http.Client(cl[2].port)
    ctx.defer(api2.close)
    eq(_ids(Api(api2), "boot.late"), {"after-kill"}, "write made while node2 was dead")
    # and it takes part in replication again
    apis[0].must_register(instance("boot.late", "after-restart"))
    Api(api2).wait_present("boot.late", "after-restart")


test_kill_restart_bootstrap.timeout = 60


def test_node_that_cannot_bootstrap_is_not_ready(ctx):
    # Peers that do not exist: the node stays "starting" until max-wait, refusing client writes.
    from lib import server as srvlib

    dead = [srvlib.free_port(), srvlib.free_port()]
    node = cluster.Node(srvlib.free_port(), "sha-z1", [], "lonely")
    peers = "sha-z1:http://127.0.0.1:%d/,http://127.0.0.1:%d/,http://127.0.0.1:%d/" % (node.port, dead[0], dead[1])
    node.extra_args = ["--peers=%s" % peers, "--artemis.service.cluster.node.init.max-wait=2500"] + cluster.FAST_ARGS[:2]
    ctx.defer(node.cleanup)
    node.spawn()
    cluster.wait_until(lambda: node.health()[0] == 503, 3.0, what="/health 503 while starting")
    c = http.Client(node.port)
    ctx.defer(c.close)
    ns = c.post_json("/api/status/node.json", "{}")["nodeStatus"]
    eq(ns["status"], "starting", "node status")
    eq(ns["canServiceRegistry"], None, "canServiceRegistry while starting")
    r = c.post_json("/api/registry/register.json", json.dumps({"instances": [instance("x.svc", "x1")]}))
    eq(r["responseStatus"]["errorCode"], "service-unavailable", "register while starting")
    check(
        r["responseStatus"]["message"].startswith("Serivce registry is not in up state. Current status: { node: sha/sha-z1/"),
        "message: %r" % r["responseStatus"]["message"],
    )
    check("status: starting, canServiceRegistry: null" in r["responseStatus"]["message"], "F8 text")
    # replication from peers is accepted meanwhile
    r = c.post_json("/api/replication/registry/register.json", json.dumps({"instances": [instance("x.svc", "x2")]}))
    eq(r["responseStatus"], SUCCESS, "replication register while starting")
    # rule 4: after max-wait with no peer, it comes up alone
    cluster.wait_until(lambda: node.health()[0] == 200, 5.0, what="up alone after max-wait")
    eq(Api(c).lookup_ids("x.svc"), {"x2"}, "instances after coming up")


test_node_that_cannot_bootstrap_is_not_ready.timeout = 30


def test_zones(ctx):
    args = [
        "--artemis.service.registry.allow-from-other-zone=false",
        "--artemis.service.discovery.allow-from-other-zone=false",
    ]
    cl = _cluster(ctx, 3, zones=["sha-z1", "sha-z1", "sha-z2"], extra_args=args)
    c = http.Client(cl[0].port)
    ctx.defer(c.close)
    for kind in ("up-registry-nodes", "up-discovery-nodes"):
        path = "/api/cluster/%s.json" % kind

        def urls(zone):
            r = c.post_json(path, json.dumps({"regionId": "sha", "zoneId": zone}))
            return [x["url"] for x in (r.get("nodes") or [])]

        # Node statuses come from polling: wait until node0 has seen every peer up.
        cluster.wait_until(lambda: len(urls("sha-z1")) == 2, 10.0, what="two z1 nodes")
        cluster.wait_until(lambda: urls("sha-z2") == [cl[2].url], 10.0, what="the z2 node")
        eq(urls("sha-z1"), [cl[0].url, cl[1].url], "%s for sha-z1" % kind)
        eq(urls("sha-z2"), [cl[2].url], "%s for sha-z2" % kind)
        eq(urls("sha-z9"), [], "%s for an unknown zone" % kind)
    # registry in z1 is replicated to the z2 node (replication has no zone check)
    _api(ctx, cl[0]).must_register(instance("zone.svc", "z1-inst", zone="sha-z1"))
    c2 = http.Client(cl[2].port)
    ctx.defer(c2.close)

    def on_z2():
        r = c2.get_json("/api/discovery/services.json")
        return any(s["serviceId"] == "zone.svc" and s["instances"] for s in r.get("services") or [])

    cluster.wait_until(on_z2, 3.0, what="z1 instance replicated to the z2 node")
    # but a client in z1 may not register on the z2 node
    r = _api(ctx, cl[2]).register(instance("zone.svc", "wrong-zone", zone="sha-z1"))
    eq(r["failedInstances"][0]["errorCode"], "no-permission", "other-zone register on z2 node")


test_zones.timeout = 30


def test_metrics_and_cluster_status(ctx):
    cl = _cluster(ctx, 3)
    _api(ctx, cl[0]).must_register(instance("m.svc", "m1"))
    _api(ctx, cl[1]).wait_present("m.svc", "m1")
    peer = cl[1].url
    cluster.wait_until(
        lambda: any(('peer="%s"' % peer) in line and line.endswith(" 1") for line in _metric(cl[0], "artemis_replication_batches_total")),
        3.0,
        what="a batch counted for node1",
    )
    for prefix in (
        "artemis_replication_queue_depth",
        "artemis_replication_failures_total",
        "artemis_replication_dropped_total",
        "artemis_replication_lag_seconds",
        "artemis_cluster_peer_status",
    ):
        check(any(peer in line for line in _metric(cl[0], prefix)), "no %s for %s" % (prefix, peer))
    check("artemis_cluster_node_up 1" in http.quick_get(cl[0].port, "/metrics").text(), "node_up gauge")
    c = http.Client(cl[0].port)
    ctx.defer(c.close)
    doc = c.post_json("/api/status/cluster.json", "{}")
    eq(doc["nodeCount"], 3, "nodeCount")
    # Peers' statuses come from polling: a peer that finished its bootstrap a moment ago may
    # still be "starting" in node0's last poll.
    want = {n.url: "up" for n in cl.nodes}

    def all_up():
        d = c.post_json("/api/status/cluster.json", "{}")
        return {x["node"]["url"]: x["status"] for x in d["nodesStatus"]} == want

    cluster.wait_until(all_up, 10.0, what="every node up in cluster.json")
    # a stopped peer becomes unknown with null flags, and its writes are dropped after the TTL
    cl[2].signal(signal.SIGKILL)

    def unknown():
        d = c.post_json("/api/status/cluster.json", "{}")
        s = [x for x in d["nodesStatus"] if x["node"]["url"] == cl[2].url][0]
        return s["status"] == "unknown" and s["canServiceRegistry"] is None

    cluster.wait_until(unknown, 3.0, what="dead peer unknown")


test_metrics_and_cluster_status.timeout = 30


def test_peer_partial_fail_is_dropped_as_permanent(ctx):
    """A peer that refuses one instance of a batch (partial_fail: here a peer of another region
    answers no-permission) must have that write dropped as permanent, matched to its task by
    the replication key (a second key builder once drifted from the queue's, so such failures
    were counted as delivered)."""
    # neither node can bootstrap from the other across regions: both come up at once
    up = "--artemis.service.cluster.node.status.force-up=true"
    cl = _cluster(ctx, 2, per_node_args=[[up], ["--region=ntg", up]])
    api = _api(ctx, cl[0])
    api.must_register(instance("pf.svc", "p1"))

    def dropped():
        lines = _metric(cl[0], "artemis_replication_dropped_total")
        return [l for l in lines if 'reason="permanent"' in l and not l.endswith(" 0")]

    got = cluster.wait_until(dropped, 5.0, what="a permanent drop on node0")
    check(got, "node0 counted no permanent drop: %s" % _metric(cl[0], "artemis_replication_dropped_total"))
    eq(_ids(_api(ctx, cl[1]), "pf.svc"), set(), "the refused instance on the ntg node")


test_peer_partial_fail_is_dropped_as_permanent.timeout = 30
