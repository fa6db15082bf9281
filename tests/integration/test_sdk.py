"""libartemis end to end: the example programs (register, lookup, watch) against a real server.

These drive build/examples/* (or $ARTEMIS_EXAMPLES) exactly as examples/README.md
describes them, so they test the SDK the way a user meets it: registration with
auto-heartbeat and deregistration on SIGTERM, lookup output and failure, watch pushes,
re-registration after a server restart, the disk cache during an outage, failover across a
server list, and ARTEMIS_IP. The SDK's defaults are region "default" / zone "default", so this
module's server runs in that region and zone. The tests that stop the server run last and
always bring it back on the same port.
"""

import os
import shutil
import signal
import tempfile
import time

import urllib.request

from lib import proxy, server
from lib.sdk import Examples, ids, parse_line, sdk_env
from lib.util import check, eq, instance, lookup_req, short, wait_until

# Later flags win over the runner's --region=sha --zone=sha-z1.
SERVER_ARGS = ["--region=default", "--zone=default"]

REGION = "default"
ZONE = "default"


def inst(service_id, instance_id, port, ip="127.0.0.1"):
    return instance(service_id, instance_id, ip=ip, port=port, region=REGION, zone=ZONE)


def http_lookup(ctx, service_id):
    """Instances of a service from the server's lookup.json, by instanceId."""
    r = ctx.client().post_json("/api/discovery/lookup.json", lookup_req(service_id, region=REGION, zone=ZONE))
    check(r.get("responseStatus", {}).get("status") == "success", "lookup.json failed: %s" % short(r))
    services = r.get("services") or []
    check(len(services) == 1, "lookup.json services: %s" % short(services))
    return {i["instanceId"]: i for i in services[0].get("instances") or []}


def http_register(ctx, *insts):
    r = ctx.client().post_json("/api/registry/register.json", {"instances": list(insts)})
    check(r.get("responseStatus", {}).get("status") == "success", "register.json failed: %s" % short(r))


def http_unregister(ctx, *insts):
    r = ctx.client().post_json("/api/registry/unregister.json", {"instances": list(insts)})
    check(r.get("responseStatus", {}).get("status") == "success", "unregister.json failed: %s" % short(r))


def lookup_ok(ex, service_id, url=None, env=None):
    """Run the lookup example; assert exit 0 and one valid JSON line; return it parsed."""
    code, out, err = ex.lookup(service_id, url=url, env=env)
    check(code == 0, "lookup %s: exit %s, stdout=%r stderr=%r" % (service_id, code, out, err))
    lines = out.splitlines()
    check(len(lines) == 1, "lookup must print exactly one line, got %r (stderr %r)" % (out, err))
    obj = parse_line(lines[0])
    check(obj["serviceId"].lower() == service_id.lower(), "lookup serviceId %r for %r" % (obj["serviceId"], service_id))
    return obj, err


def closed_port():
    """A loopback port nothing listens on."""
    return server.free_port()


class OvertakingProxy(proxy.Proxy):
    """The first register.json is held 0.3 s on its way in, and every heartbeat answer 0.6 s on
    its way out (the upgrade answer passes at once): the heartbeat the SDK sends when its
    socket opens reaches the server before the registration, and its "data-not-found" comes
    back after the registration's success."""

    held = False

    def up_delay(self, ws, line):
        if not ws and line.startswith("POST /api/registry/register.json") and not self.held:
            self.held = True
            return 0.3
        return 0.0

    def down_delay(self, ws, line, n):
        return 0.6 if ws and n > 0 else 0.0


def registrations(port):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    return next(float(l.split()[1]) for l in text.splitlines() if l.startswith("artemis_registrations_total "))


def test_stale_heartbeat_answer_does_not_reregister(ctx):
    """An answer to a heartbeat sent before the registration was confirmed says nothing about
    the lease: the SDK must not register again because of it (one register.json, not two)."""
    p = OvertakingProxy(ctx, 0)
    srv = server.Server(SERVER_ARGS + ["--node-url=http://127.0.0.1:%d" % p.port], name="sdk-overtake")
    ctx.defer(srv.cleanup)
    srv.start()
    p.target = srv.port
    ex = Examples(ctx)
    ex.register_ok("sdk.o", "o-1", 9601, url="http://127.0.0.1:%d" % p.port)
    check(p.ws_frames >= 1, "no heartbeat was sent on the socket (ws frames %d)" % p.ws_frames)
    time.sleep(1.5)  # the held heartbeat answer has arrived; a re-registration would be done
    eq(registrations(srv.port), 1.0, "registrations on the server (a second one: the stale answer re-registered)")


test_stale_heartbeat_answer_does_not_reregister.timeout = 30


# ---- a. register, lookup, SIGTERM ---------------------------------------------------------


def test_register_lookup_sigterm(ctx):
    ex = Examples(ctx)
    reg = ex.register("sdk.a", "a-1", 9001)
    t_reg, _ = reg.wait_line(lambda s: s == "registered", 5.0, "'registered'")
    check(t_reg - reg.started <= 5.0, "registered after %.2f s" % (t_reg - reg.started))

    found = http_lookup(ctx, "sdk.a")
    check("a-1" in found, "lookup.json after 'registered': %s" % short(found))
    i = found["a-1"]
    eq({k: i[k] for k in ("ip", "port", "status", "regionId", "zoneId")},
       {"ip": "127.0.0.1", "port": 9001, "status": "up", "regionId": REGION, "zoneId": ZONE}, "registered instance")

    obj, _ = lookup_ok(ex, "sdk.a")
    eq(obj["instances"], [{"instanceId": "a-1", "ip": "127.0.0.1", "port": 9001, "status": "up"}], "lookup example")

    code = reg.terminate(5.0)
    check(code == 0, "register exit status after SIGTERM: %s (%s)" % (code, reg.describe()))
    wait_until(lambda: "a-1" not in http_lookup(ctx, "sdk.a"), 2.0, 0.05, "a-1 gone from lookup.json after SIGTERM")
    obj, _ = lookup_ok(ex, "sdk.a")
    eq(obj["instances"], [], "lookup example after deregistration")


def test_register_sigint(ctx):
    ex = Examples(ctx)
    reg = ex.register_ok("sdk.a2", "a2-1", 9002)
    check("a2-1" in http_lookup(ctx, "sdk.a2"), "a2-1 registered")
    reg.signal(signal.SIGINT)
    code = reg.wait(5.0)
    check(code == 0, "register exit status after SIGINT: %s" % code)
    wait_until(lambda: "a2-1" not in http_lookup(ctx, "sdk.a2"), 2.0, 0.05, "a2-1 gone after SIGINT")


# ---- b. lookup output and failure -----------------------------------------------------------


def test_lookup_line_format(ctx):
    ex = Examples(ctx)
    http_register(ctx, inst("sdk.b", "b-1", 7001), inst("sdk.b", "b-2", 7002, ip="127.0.0.2"))
    obj, _ = lookup_ok(ex, "sdk.b")
    eq(obj["serviceId"], "sdk.b", "serviceId")
    eq(
        obj["instances"],
        [
            {"instanceId": "b-1", "ip": "127.0.0.1", "port": 7001, "status": "up"},
            {"instanceId": "b-2", "ip": "127.0.0.2", "port": 7002, "status": "up"},
        ],
        "instances",
    )
    http_unregister(ctx, inst("sdk.b", "b-1", 7001), inst("sdk.b", "b-2", 7002, ip="127.0.0.2"))


def test_lookup_unknown_service(ctx):
    ex = Examples(ctx)
    obj, _ = lookup_ok(ex, "sdk.no-such-service")
    eq(obj["instances"], [], "instances of an unknown service")


def test_lookup_unreachable(ctx):
    ex = Examples(ctx)
    t0 = time.monotonic()
    code, out, err = ex.lookup("sdk.b", url=ex.url(closed_port()))
    secs = time.monotonic() - t0
    check(code == 1, "lookup against a closed port: exit %s (want 1), stdout=%r stderr=%r" % (code, out, err))
    check(err.strip() != "", "lookup against a closed port: no message on stderr")
    check(out.strip() == "", "lookup against a closed port printed on stdout: %r" % out)
    check(secs < 8.0, "lookup against a closed port took %.1f s" % secs)


# ---- c. watch -----------------------------------------------------------------------------------


def test_watch_sees_changes(ctx):
    ex = Examples(ctx)
    base = inst("sdk.c", "c-0", 8000)
    http_register(ctx, base)  # keeps the list non-empty throughout (empty pushes are held back)
    w = ex.watch("sdk.c")
    _, line = w.next_line(5.0, "the line at start")
    eq(ids(parse_line(line)), {"c-0"}, "watch line at start")

    # Another instance through the register example.
    reg = ex.register("sdk.c", "c-1", 8001)
    t_reg, _ = reg.wait_line(lambda s: s == "registered", 5.0, "'registered'")
    t, line = w.wait_line(lambda s: ids(parse_line(s)) == {"c-0", "c-1"}, 5.0, "a line with c-0, c-1")
    check(t - t_reg <= 1.5, "watch saw c-1 %.2f s after it registered" % (t - t_reg))

    code = reg.terminate(5.0)
    t_exit = time.monotonic()
    check(code == 0, "register exit status: %s" % code)
    t, line = w.wait_line(lambda s: ids(parse_line(s)) == {"c-0"}, 5.0, "a line without c-1")
    check(t - t_exit <= 1.5, "watch saw c-1 leave %.2f s after register exited" % (t - t_exit))

    # And through HTTP.
    extra = inst("sdk.c", "c-2", 8002)
    http_register(ctx, extra)
    t0 = time.monotonic()
    t, line = w.wait_line(lambda s: ids(parse_line(s)) == {"c-0", "c-2"}, 5.0, "a line with c-2")
    check(t - t0 <= 1.5, "watch saw c-2 %.2f s after register.json" % (t - t0))
    http_unregister(ctx, extra)
    t0 = time.monotonic()
    t, line = w.wait_line(lambda s: ids(parse_line(s)) == {"c-0"}, 5.0, "a line without c-2")
    check(t - t0 <= 1.5, "watch saw c-2 leave %.2f s after unregister.json" % (t - t0))

    code = w.terminate(5.0)
    check(code == 0, "watch exit status after SIGTERM: %s" % code)
    http_unregister(ctx, base)


test_watch_sees_changes.timeout = 30


# ---- f. two servers, one dead ---------------------------------------------------------------------


def test_two_servers_one_dead(ctx):
    ex = Examples(ctx)
    urls = "%s,%s" % (ex.url(closed_port()), ex.url())
    reg = ex.register_ok("sdk.f", "f-1", 9101, url=urls, timeout=5.0)
    check("f-1" in http_lookup(ctx, "sdk.f"), "f-1 registered through the live server")
    obj, _ = lookup_ok(ex, "sdk.f", url=urls)
    eq(ids(obj), {"f-1"}, "lookup through a list with a dead server")
    w = ex.watch("sdk.f", url=urls)
    _, line = w.next_line(5.0, "the watch line at start")
    eq(ids(parse_line(line)), {"f-1"}, "watch through a list with a dead server")
    code = reg.terminate(5.0)
    check(code == 0, "register exit status: %s" % code)
    wait_until(lambda: "f-1" not in http_lookup(ctx, "sdk.f"), 2.0, 0.05, "f-1 deregistered through the list")


test_two_servers_one_dead.timeout = 30


# ---- g. ARTEMIS_IP -----------------------------------------------------------------------------


def test_artemis_ip_env(ctx):
    ex = Examples(ctx)
    reg = ex.register_ok("sdk.g", "g-1", 9201, env=sdk_env(ARTEMIS_IP="10.20.30.40"))
    found = http_lookup(ctx, "sdk.g")
    check("g-1" in found, "g-1 registered: %s" % short(found))
    eq(found["g-1"]["ip"], "10.20.30.40", "ip registered with ARTEMIS_IP")
    obj, _ = lookup_ok(ex, "sdk.g")
    eq(obj["instances"], [{"instanceId": "g-1", "ip": "10.20.30.40", "port": 9201, "status": "up"}], "lookup example")
    check(reg.terminate(5.0) == 0, "register exit status")


# ---- e. the cache survives an outage (stops the server; brings it back) ------------------------------


def test_cache_survives_outage(ctx):
    ex = Examples(ctx)
    cache = tempfile.mkdtemp(prefix="artemis-it-sdk-cache-")
    ctx.defer(lambda: shutil.rmtree(cache, ignore_errors=True))
    empty_cache = tempfile.mkdtemp(prefix="artemis-it-sdk-nocache-")
    ctx.defer(lambda: shutil.rmtree(empty_cache, ignore_errors=True))
    env = sdk_env(ARTEMIS_CACHE_DIR=cache)
    http_register(ctx, inst("sdk.e", "e-1", 9301), inst("sdk.e", "e-2", 9302))

    obj, _ = lookup_ok(ex, "sdk.e", env=env)
    eq(ids(obj), {"e-1", "e-2"}, "lookup with the server up")
    check(os.listdir(cache), "no snapshot written in ARTEMIS_CACHE_DIR %s after a lookup" % cache)

    code = ctx.server.stop(5.0)
    check(code == 0, "server exit status on SIGTERM: %s" % code)
    try:
        code, out, err = ex.lookup("sdk.e", env=env)
        check(code == 0, "lookup from the disk cache with the server down: exit %s, stdout=%r stderr=%r" % (code, out, err))
        lines = out.splitlines()
        check(len(lines) == 1, "lookup from the cache must print one line: %r" % out)
        eq(ids(parse_line(lines[0])), {"e-1", "e-2"}, "instances from the disk cache")
        check("stale" in err.lower() or "cached" in err.lower(), "lookup from the cache must say so on stderr: %r" % err)

        w = ex.watch("sdk.e", env=env)
        _, line = w.next_line(5.0, "the cached line at start with the server down")
        eq(ids(parse_line(line)), {"e-1", "e-2"}, "watch from the disk cache")
        check(w.terminate(5.0) == 0, "watch exit status")

        code, out, err = ex.lookup("sdk.e", env=sdk_env(ARTEMIS_CACHE_DIR=empty_cache))
        check(code == 1, "lookup with the server down and no snapshot: exit %s (want 1), stdout=%r" % (code, out))
        check(err.strip() != "", "lookup with the server down and no snapshot: no message on stderr")
    finally:
        ctx.server.restart()


test_cache_survives_outage.timeout = 40


# ---- d. server restart (kill -9; same port) -------------------------------------------------------


def test_server_restart_reregisters(ctx):
    ex = Examples(ctx)
    reg = ex.register_ok("sdk.d", "d-1", 9401, env=sdk_env(ARTEMIS_HEARTBEAT_MS=1000))
    check("d-1" in http_lookup(ctx, "sdk.d"), "d-1 registered before the restart")

    ctx.server.kill()  # SIGKILL: the registry's memory is gone
    ctx.server.restart()
    t0 = time.monotonic()
    wait_until(lambda: "d-1" in http_lookup(ctx, "sdk.d"), 8.0, 0.1, "d-1 back in lookup.json after a server restart")
    secs = time.monotonic() - t0
    check(reg.proc.poll() is None, "register died during the server restart: %s" % reg.describe())

    # It stays registered (heartbeats keep working on the new server) and leaves on SIGTERM.
    time.sleep(1.5)
    check("d-1" in http_lookup(ctx, "sdk.d"), "d-1 vanished again %.1f s after coming back" % (1.5 + secs))
    code = reg.terminate(5.0)
    check(code == 0, "register exit status: %s" % code)
    wait_until(lambda: "d-1" not in http_lookup(ctx, "sdk.d"), 2.0, 0.05, "d-1 gone after SIGTERM")


test_server_restart_reregisters.timeout = 40


# ---- empty-push protection: a restarted, empty server does not empty a watcher's view ---------------


def test_watch_keeps_view_across_empty_restart(ctx):
    ex = Examples(ctx)
    x = inst("sdk.h", "h-1", 9501)
    http_register(ctx, x)
    w = ex.watch("sdk.h")
    _, line = w.next_line(5.0, "the line at start")
    eq(ids(parse_line(line)), {"h-1"}, "watch line at start")

    ctx.server.kill()
    ctx.server.restart()  # knows nothing: a full lookup now says "no instances"
    deadline = time.monotonic() + 4.0
    while time.monotonic() < deadline:
        try:
            _, line = w.next_line(max(0.05, deadline - time.monotonic()), "a line")
        except AssertionError:
            break  # no line at all is fine too
        check(ids(parse_line(line)) == {"h-1"}, "watch emptied its view after a server restart: %r" % line)

    http_register(ctx, x)  # the instance comes back: still one instance, no empty line in between
    time.sleep(1.0)
    while True:
        try:
            _, line = w.next_line(0.1, "a line")
        except AssertionError:
            break
        check(ids(parse_line(line)) == {"h-1"}, "unexpected watch line after re-registration: %r" % line)
    check(w.terminate(5.0) == 0, "watch exit status")
    http_unregister(ctx, x)


test_watch_keeps_view_across_empty_restart.timeout = 30


def test_external_loop_mode(ctx):
    """The libevent adapter: register, watch and stop on the application's own loop."""
    import subprocess

    examples = os.environ.get("ARTEMIS_EXAMPLES", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                               "..", "..", "build", "examples"))
    binary = os.path.join(os.path.dirname(os.path.abspath(examples)), "tests", "sdk", "loop_client")
    check(os.path.exists(binary), "missing %s (run make)" % binary)
    url = "http://127.0.0.1:%d" % ctx.port
    p = subprocess.run([binary, url, "sdk.loop", "loop-1"], capture_output=True, text=True,
                       timeout=15, env=sdk_env())
    eq(p.returncode, 0, "loop_client exit status (stderr %r)" % p.stderr[-500:])
    lines = p.stdout.splitlines()
    # The registration's confirmation (register.json) and the watch's first view (lookup.json)
    # are two answers that may arrive in either order.
    seen = [l for l in lines if l.startswith("seen ")]
    eq(sorted(l if not l.startswith("seen ") else "seen" for l in lines), ["registered", "seen"],
       "output lines %r" % lines)
    eq(ids(parse_line(seen[0][5:])), {"loop-1"}, "watched view")
    # stop() in external-loop mode deregistered before the process left.
    eq(set(http_lookup(ctx, "sdk.loop")), set(), "sdk.loop after loop_client stopped")
