"""Process contract (docs/operations.md, "Configuration", "Signals"): SIGHUP re-reads the
config file and keeps serving, SIGTERM exits 0, a bad option or value exits 2 with one line on
stderr naming the key, --help exits 0 and lists the keys. This module starts its own servers."""

import os
import signal
import time

from lib import http, server, ws
from lib.util import Api, check, eq, instance

SERVER = False


def _start(ctx, extra, log_level="warn"):
    srv = server.Server(extra, name="signals", log_level=log_level)
    ctx.defer(srv.cleanup)
    srv.start()
    ctx.server = srv  # so the runner's log tail and liveness checks see it
    return srv


def _stop_ok(srv):
    code = srv.stop(5.0)
    check(code == 0, "exit status after SIGTERM: %s (log: %s)" % (code, srv.log_tail(5)))


def test_sighup_reloads_config_and_keeps_serving(ctx):
    tmp = server.Server([], name="cfg")  # only for a temporary directory
    ctx.defer(tmp.cleanup)
    cfg = os.path.join(tmp.tmpdir, "artemis.conf")
    with open(cfg, "w") as f:
        f.write("# test config\nlog-level = warn\n")
    srv = _start(ctx, ["--config=%s" % cfg], log_level=None)
    api = Api(http.Client(srv.port))
    ctx.defer(api.c.close)
    a = instance("hup.svc", "h1")
    api.must_register(a)
    for level in ("debug", "info", "warn"):
        with open(cfg, "w") as f:
            f.write("# changed\nlog-level = %s\n" % level)
        srv.signal(signal.SIGHUP)
        time.sleep(0.2)
        check(srv.alive(), "server exited after SIGHUP (log-level %s)" % level)
        http.wait_http_ok(srv.port, "/health", timeout=3.0)
        eq(api.lookup("hup.svc"), [a], "registrations survive SIGHUP")
    # A broken config on reload must not take the server down.
    with open(cfg, "w") as f:
        f.write("log-level = loud\nthis line is not a key value pair\n")
    srv.signal(signal.SIGHUP)
    time.sleep(0.3)
    check(srv.alive(), "server exited after SIGHUP with a broken config file")
    http.wait_http_ok(srv.port, "/health", timeout=3.0)
    b = instance("hup.svc", "h2")
    api.must_register(b)
    eq(api.lookup("hup.svc"), [a, b], "serving after a failed reload")
    api.c.close()
    _stop_ok(srv)


def test_sigterm_with_open_connections_exits_0(ctx):
    srv = _start(ctx, [])
    c = http.Client(srv.port)
    ctx.defer(c.close)
    Api(c).must_register(instance("term.svc", "t1"))
    w = ws.WebSocket(srv.port, "/ws/discovery/instance-change")
    ctx.defer(w.abort)
    w.send_json({"serviceId": "term.svc"})
    w.ping(b"s")
    idle = http.Connection(srv.port)
    idle.connect()
    ctx.defer(idle.close)
    t0 = time.monotonic()
    _stop_ok(srv)
    check(time.monotonic() - t0 < 5.0, "shutdown took %.1f s" % (time.monotonic() - t0))


def _one_line_error(args, key):
    port = server.free_port()
    code, out, err = server.run_once(["--listen=127.0.0.1:%d" % port] + args, timeout=10.0)
    lines = [l for l in err.splitlines() if l.strip()]
    check(code == 2, "%s: exit status %s (want 2); stderr %r" % (args, code, err[:300]))
    check(len(lines) == 1, "%s: want exactly one line on stderr, got %d: %r" % (args, len(lines), err[:400]))
    check(key in lines[0], "%s: the error line should name %r: %r" % (args, key, lines[0]))


def test_bad_options_exit_2(ctx):
    tmp = server.Server([], name="badopt")
    ctx.defer(tmp.cleanup)
    _one_line_error(["--no-such-option=1"], "no-such-option")
    _one_line_error(["--lease-ttl-ms=abc"], "lease-ttl-ms")
    _one_line_error(["--log-level=loud"], "log-level")
    _one_line_error(["--config=%s" % os.path.join(tmp.tmpdir, "missing.conf")], "missing.conf")
    bad = os.path.join(tmp.tmpdir, "bad.conf")
    with open(bad, "w") as f:
        f.write("lease-ttl-ms = twelve\n")
    _one_line_error(["--config=%s" % bad], "lease-ttl-ms")


def test_help_lists_keys(ctx):
    code, out, err = server.run_once(["--help"], timeout=10.0)
    check(code == 0, "--help exit status %s" % code)
    text = out + err
    for key in ("listen", "region", "zone", "node-url", "peers", "data-dir", "lease-ttl-ms", "log-level", "config",
                "artemis.service.registry.allow-from-other-zone"):
        check(key in text, "--help does not mention %r" % key)
    check(len(text.splitlines()) >= 10, "--help output is only %d lines" % len(text.splitlines()))
