"""Registry rate limiter (protocol.md §3.4, F7): with `register:3` per 10 s window the fourth
register is refused with the canonical rate-limited object and registers nothing; other
identities (heartbeat) keep their own budget."""

from lib.util import check, eq, fxj, instance

SERVER_ARGS = [
    "--artemis.service.registry.rate-limiter.default-rate-limit=1000",
    "--artemis.service.registry.rate-limiter.rate-limit-map=register:3",
]


def test_f7_fourth_register_rate_limited(ctx):
    api = ctx.api()
    insts = [instance("rate.svc", "r%d" % i) for i in range(4)]
    for i in range(3):
        eq(api.register(insts[i]), fxj("F2"), "register %d" % (i + 1))
    eq(api.register(insts[3]), fxj("F7"), "4th register in the window")
    ids = api.lookup_ids("rate.svc")
    eq(ids, {"r0", "r1", "r2"}, "registered ids")
    # heartbeat and unregister are separate identities with the default budget.
    eq(api.heartbeat(*insts[:3]), fxj("F2"), "heartbeat while register is limited")
    eq(api.unregister(insts[0]), fxj("F2"), "unregister while register is limited")
    # Still limited (rejected requests are not counted, but the window is 10 s).
    eq(api.register(insts[3]), fxj("F7"), "5th register in the window")
    check("r3" not in api.lookup_ids("rate.svc"), "rate-limited instance must not be registered")
