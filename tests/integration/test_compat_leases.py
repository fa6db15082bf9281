"""Wire compatibility: Java's two lease managers (protocol.md §3.1). Every request picks the normal
or the legacy manager from its own body (metadata `java_registry`), and an instance may hold
one lease in each; discovery lists the newest registration. Expected answers are Java
Artemis 1.5.16's on the same requests."""

from lib.util import eq, fxj, instance

SUCCESS = fxj("F2")


def _legacy(inst):
    out = dict(inst)
    out["metadata"] = {"java_registry": "v1"}
    return out


def _not_found(inst):
    desc = "%s/%s/%s/%s" % (inst["regionId"], inst["zoneId"], inst["serviceId"], inst["instanceId"])
    return {
        "failedInstances": [{
            "errorCode": "data-not-found",
            "errorMessage": desc + ": Instance is not exising! Need re-register.",
            "instance": inst,
        }],
        "responseStatus": {"errorCode": "partial_fail", "message": "", "status": "partial_fail"},
    }


def test_heartbeat_with_the_other_managers_body_finds_no_lease(ctx):
    api = ctx.api()
    normal = instance("mgr.hb.svc", "i-1")
    api.must_register(normal)
    legacy = _legacy(normal)
    eq(api.heartbeat(legacy), _not_found(legacy), "legacy heartbeat of a normal registration")
    eq(api.heartbeat(normal), SUCCESS, "normal heartbeat")


def test_ws_heartbeat_picks_the_manager_too(ctx):
    api = ctx.api()
    legacy = _legacy(instance("mgr.ws.svc", "i-1"))
    api.must_register(legacy)
    w = ctx.ws("/ws/registry/heartbeat")
    w.send_json({"instances": [legacy]})
    eq(w.recv_json(), SUCCESS, "legacy heartbeat of a legacy registration")
    normal = instance("mgr.ws.svc", "i-1")
    w.send_json({"instances": [normal]})
    eq(w.recv_json(), _not_found(normal), "normal heartbeat of a legacy registration")


def test_unregister_with_the_normal_body_keeps_the_legacy_lease(ctx):
    api = ctx.api()
    normal = instance("mgr.unreg.svc", "i-1")
    legacy = _legacy(normal)
    api.must_register(normal)
    api.must_register(legacy)
    eq(api.lookup("mgr.unreg.svc"), [legacy], "listed once: the newest registration")
    api.must_unregister(normal)
    eq(api.lookup("mgr.unreg.svc"), [legacy], "still listed after unregistering the normal lease")
    c = ctx.client()
    leases = c.post_json("/api/status/legacy-leases.json", {"serviceIds": ["mgr.unreg.svc"]})
    eq(leases["leaseCount"], 1, "legacy-leases.json leaseCount")
    normal_leases = c.post_json("/api/status/leases.json", {"serviceIds": ["mgr.unreg.svc"]})
    eq(normal_leases["leaseCount"], 0, "leases.json leaseCount")
    api.must_unregister(legacy)
    eq(api.lookup("mgr.unreg.svc"), [], "after unregistering the legacy lease")
