"""Lease lifetime (protocol.md §2.1.3, §3): heartbeats keep a lease alive past its TTL, a lease
without heartbeats expires and leaves discovery, expiry is sticky, and InstanceKey matching is
case-insensitive. The server runs with a 1.5 s TTL; with a handful of leases the
self-preservation checker has no basis for a decision and must not keep expired leases.
"""

import time

from lib.util import check, eq, fxj, instance

TTL = 1.5
SERVER_ARGS = ["--lease-ttl-ms=1500"]


def _heartbeat_for(api, insts, seconds, lookup_service, want_ids):
    """Heartbeat every 0.4 s for `seconds`, checking the ids stay visible in lookup."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        eq(api.heartbeat(*insts), fxj("F2"), "heartbeat response")
        ids = api.lookup_ids(lookup_service)
        check(want_ids <= ids, "leases renewed by heartbeats vanished: want %s, lookup has %s" % (want_ids, ids))
        time.sleep(0.4)


def test_heartbeat_keeps_lease_alive(ctx):
    api = ctx.api()
    inst = instance("lease.alive.svc", "alive-1")
    api.must_register(inst)
    _heartbeat_for(api, [inst], 2.5 * TTL, "lease.alive.svc", {"alive-1"})
    eq(api.lookup("lease.alive.svc"), [inst], "instance after heartbeats")


def test_lease_expires_without_heartbeat(ctx):
    api = ctx.api()
    inst = instance("lease.expire.svc", "expire-1")
    keep = instance("lease.expire.svc", "keep-1")
    api.must_register(inst, keep)
    t0 = time.monotonic()
    # keep-1 is heartbeated meanwhile; expire-1 must vanish within TTL + 1.5 s (+0.5 s slack
    # for the polling itself).
    gone_at = None
    while time.monotonic() - t0 < TTL + 2.0:
        eq(api.heartbeat(keep), fxj("F2"), "heartbeat of the kept lease")
        ids = api.lookup_ids("lease.expire.svc")
        check("keep-1" in ids, "heartbeated lease vanished")
        if "expire-1" not in ids:
            gone_at = time.monotonic() - t0
            break
        time.sleep(0.2)
    check(gone_at is not None, "lease without heartbeat still in lookup %.1f s after register (TTL %.1f s)" % (
        time.monotonic() - t0, TTL))
    check(gone_at >= TTL * 0.6, "lease vanished after %.2f s, before its TTL of %.1f s" % (gone_at, TTL))
    # Expiry is sticky: a heartbeat now is data-not-found, the client must re-register.
    r = api.heartbeat(inst)
    eq(r["responseStatus"], {"errorCode": "partial_fail", "message": "", "status": "partial_fail"}, "status")
    check(len(r["failedInstances"]) == 1, "one failed instance expected: %s" % r)
    f = r["failedInstances"][0]
    eq(f["errorCode"], "data-not-found", "errorCode")
    eq(f["errorMessage"], "sha/sha-z1/lease.expire.svc/expire-1: Instance is not exising! Need re-register.", "message")
    eq(f["instance"], inst, "failed instance body")
    api.must_register(inst)
    api.wait_present("lease.expire.svc", "expire-1", timeout=2.0)


def test_heartbeat_with_upper_cased_key_renews(ctx):
    api = ctx.api()
    inst = instance("case.lease.svc", "inst-a")
    api.must_register(inst)
    upper = dict(inst, regionId="SHA", serviceId="CASE.LEASE.SVC", instanceId="INST-A")
    _heartbeat_for(api, [upper], 2.5 * TTL, "case.lease.svc", {"inst-a"})
    eq(api.lookup("case.lease.svc"), [inst], "instance after upper-case heartbeats")


def test_reregister_after_unregister(ctx):
    api = ctx.api()
    inst = instance("rereg.svc", "r-1")
    api.must_register(inst)
    api.must_unregister(inst)
    api.wait_absent("rereg.svc", "r-1", timeout=3.0)
    api.must_register(inst)
    api.wait_present("rereg.svc", "r-1", timeout=1.0)
    eq(api.heartbeat(inst), fxj("F2"), "heartbeat after re-register")
