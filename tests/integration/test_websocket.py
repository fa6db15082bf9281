"""WebSocket endpoints (protocol.md §5, F17, F18; the /api/v1/discovery/subscribe/{serviceId}
watch of docs/api.md): heartbeats over a session, ping/pong, per-service and all-service
instance-change pushes, the one-service watch, and session counting in connections.json."""

import socket
import time

from lib.util import Api, check, eq, fx, fxj, instance, short, wait_until

WS_PARSE_FAIL = {"failedInstances": None,
                 "responseStatus": {"errorCode": "success", "message": "", "status": "success"}}


def test_f17_ws_heartbeat(ctx):
    w = ctx.ws("/ws/registry/heartbeat")
    w.send_text(fx("F17", 0))
    eq(w.recv_json(3.0), fxj("F17", 2), "heartbeat frame for an unknown lease")
    Api(ctx.client()).must_register(fxj("F1")["instances"][0])
    w.send_text(fx("F17", 0))
    eq(w.recv_json(3.0), fxj("F17", 1), "heartbeat frame for a live lease")
    w.send_text("this is {not json")
    eq(w.recv_json(3.0), WS_PARSE_FAIL, "answer to an unparsable frame")
    w.send_text('{"instances":[]}')
    eq(w.recv_json(3.0), fxj("F6", 1), "answer to an empty heartbeat")
    # The session still works after all that.
    w.send_text(fx("F17", 0))
    eq(w.recv_json(3.0), fxj("F17", 1), "heartbeat after bad frames")


def test_ws_ping_pong(ctx):
    for path in ("/ws/registry/heartbeat", "/ws/discovery/instance-change", "/ws/discovery/all-instance-change",
                 "/api/v1/discovery/subscribe/pingpong.svc"):
        w = ctx.ws(path)
        for i in range(3):
            payload = ("ping-%d" % i).encode()
            t0 = time.monotonic()
            got = w.ping(payload, timeout=3.0)
            eq(got, payload, "PONG payload on %s" % path)
            check(time.monotonic() - t0 < 2.0, "PONG took %.2f s on %s" % (time.monotonic() - t0, path))
        w.close()


def _next_change(w, service_id, instance_id, change_type, timeout):
    """Read pushes until one matches; every push must be a well-formed InstanceChange of
    service_id."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no %s change for %s/%s within %.1f s; got %s" % (
                change_type, service_id, instance_id, timeout, short(seen, 600)))
        try:
            ch = w.recv_json(left)
        except socket.timeout:
            continue
        seen.append(ch)
        eq(set(ch.keys()), {"changeTime", "changeType", "instance"}, "InstanceChange keys")
        check(isinstance(ch["changeTime"], int) and ch["changeTime"] > 0, "changeTime %r" % ch["changeTime"])
        eq(ch["instance"]["serviceId"], service_id, "pushed change for another service (%s)" % short(ch, 300))
        if ch["changeType"] == change_type and ch["instance"]["instanceId"] == instance_id:
            return ch


def test_f18_instance_change_new_and_delete(ctx):
    api = Api(ctx.client())
    w = ctx.ws("/ws/discovery/instance-change")
    w.send_json({"discoveryData": None, "regionId": None, "serviceId": "ws.change.svc", "zoneId": None})
    w.ping(b"sync")  # the subscription frame was processed before the PONG
    other = instance("ws.other.svc", "o1")
    inst = instance("ws.change.svc", "c1", metadata={"a": "b"})
    api.must_register(other)
    api.must_register(inst)
    ch = _next_change(w, "ws.change.svc", "c1", "new", 3.0)
    eq(ch["instance"], inst, "instance in the new change")
    api.must_unregister(inst)
    ch = _next_change(w, "ws.change.svc", "c1", "delete", 3.0)
    eq(ch["instance"], inst, "instance in the delete change")


def test_instance_change_subscriptions_additive(ctx):
    api = Api(ctx.client())
    w = ctx.ws("/ws/discovery/instance-change")
    for s in ("add.a.svc", "add.b.svc"):
        w.send_json({"discoveryData": None, "regionId": None, "serviceId": s, "zoneId": None})
    w.send_text("garbage {")  # unparsable subscriptions are ignored
    w.ping(b"sync")
    api.must_register(instance("add.b.svc", "b1"))
    _next_change(w, "add.b.svc", "b1", "new", 3.0)
    api.must_register(instance("add.a.svc", "a1"))
    _next_change(w, "add.a.svc", "a1", "new", 3.0)


def test_all_instance_change(ctx):
    api = Api(ctx.client())
    w = ctx.ws("/ws/discovery/all-instance-change")
    w.ping(b"sync")
    a = instance("all.one.svc", "x1")
    b = instance("all.two.svc", "y1")
    api.must_register(a)
    api.must_register(b)
    want = {("all.one.svc", "x1"), ("all.two.svc", "y1")}
    got = set()
    deadline = time.monotonic() + 3.0
    while not want <= got:
        left = deadline - time.monotonic()
        check(left > 0, "all-instance-change delivered only %s of %s" % (got, want))
        try:
            ch = w.recv_json(left)
        except socket.timeout:
            continue
        eq(set(ch.keys()), {"changeTime", "changeType", "instance"}, "InstanceChange keys")
        if ch["changeType"] == "new":
            got.add((ch["instance"]["serviceId"], ch["instance"]["instanceId"]))
    api.must_unregister(a)
    deadline = time.monotonic() + 3.0
    while True:
        left = deadline - time.monotonic()
        check(left > 0, "no delete change for all.one.svc/x1 on all-instance-change")
        try:
            ch = w.recv_json(left)
        except socket.timeout:
            continue
        if ch["changeType"] == "delete" and ch["instance"]["instanceId"] == "x1":
            eq(ch["instance"], a, "deleted instance")
            break


def _service_change(w, service_id, timeout):
    msg = w.recv_json(timeout)
    eq(set(msg.keys()), {"type", "serviceId", "instances"}, "service_change keys")
    eq((msg["type"], msg["serviceId"]), ("service_change", service_id), "service_change type/serviceId")
    check(isinstance(msg["instances"], list), "instances must be a list")
    return msg


def test_v1_service_subscribe(ctx):
    api = Api(ctx.client())
    e1 = instance("sub.svc", "e1")
    api.must_register(e1)
    w = ctx.ws("/api/v1/discovery/subscribe/sub.svc")
    first = _service_change(w, "sub.svc", 3.0)
    eq(first["instances"], [e1], "current list at subscribe time")
    e2 = instance("sub.svc", "e2", port=8082)
    api.must_register(e2)
    api.must_register(instance("sub.other.svc", "zz"))

    def got_both():
        msg = _service_change(w, "sub.svc", 0.5)
        return msg if {i["instanceId"] for i in msg["instances"]} == {"e1", "e2"} else None

    msg = wait_until(got_both, 3.0, 0.0, "a service_change with e1 and e2")
    eq(msg["instances"], [e1, e2], "list after register")
    api.must_unregister(e1)

    def got_e2_only():
        m = _service_change(w, "sub.svc", 0.5)
        return m if {i["instanceId"] for i in m["instances"]} == {"e2"} else None

    wait_until(got_e2_only, 3.0, 0.0, "a service_change without e1")


def test_v1_subscribe_unknown_service_gets_empty_list(ctx):
    w = ctx.ws("/api/v1/discovery/subscribe/nobody.here.svc")
    eq(_service_change(w, "nobody.here.svc", 3.0)["instances"], [], "initial list of an unknown service")


def _connections(c):
    doc = c.get_json("/api/status/message/connections.json")
    return int(doc["registry"]), int(doc["discovery"])


def test_connections_count_sessions(ctx):
    c = ctx.client()
    reg0, disc0 = _connections(c)
    hb = [ctx.ws("/ws/registry/heartbeat") for _ in range(2)]
    dc = ctx.ws("/ws/discovery/instance-change")
    for w in hb + [dc]:
        w.ping(b"x")
    wait_until(lambda: _connections(c) == (reg0 + 2, disc0 + 1), 3.0, 0.1,
               "connections.json to count 2 heartbeat and 1 discovery session (base %d/%d)" % (reg0, disc0))
    for w in hb + [dc]:
        w.close()
    wait_until(lambda: _connections(c) == (reg0, disc0), 3.0, 0.1, "connections.json back to %d/%d" % (reg0, disc0))


def test_server_close_frame_answered(ctx):
    w = ctx.ws("/ws/registry/heartbeat")
    w.send_frame(0x8, b"\x03\xe8bye")
    check(w.wait_closed(3.0), "server did not close after a client close frame")
