#!/usr/bin/python3
"""Integration test runner: drives the real artemis-server binary over loopback.

Usage: ARTEMIS_SERVER=build/bin/artemis-server tests/integration/run.py [NAME-SUBSTRING]

Every tests/integration/test_*.py module gets a fresh server started with
`--listen=127.0.0.1:<free port> --region=sha --zone=sha-z1 --data-dir=<tmp> --log-level=warn`
plus the module's SERVER_ARGS (a module sets SERVER = False to manage its own processes).
Test functions `test_*(ctx)` run in source order, each in a thread bounded by its `timeout`
attribute (default 15 s). The server is restarted when a test kills it or times out. At the
end of a module the server gets SIGTERM and must exit 0 within 5 s (reported as its own
check). The closing line is `integration: N passed, N failed`; exit status 1 if any failed.
"""

import importlib
import os
import resource
import socket
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from lib import http, server, util, ws  # noqa: E402

DEFAULT_TIMEOUT = 15.0


class Ctx:
    """What a test function receives: the server and helpers whose resources are released
    after the test."""

    def __init__(self, srv, module):
        self.server = srv
        self.module = module
        self._cleanups = []

    @property
    def port(self):
        return self.server.port

    def client(self, mode="java", timeout=5.0):
        c = http.Client(self.port, timeout=timeout, mode=mode)
        self.defer(c.close)
        return c

    def api(self, mode="java"):
        return util.Api(self.client(mode))

    def ws(self, path, **kw):
        w = ws.WebSocket(self.port, path, **kw)
        self.defer(w.abort)
        return w

    def defer(self, fn):
        self._cleanups.append(fn)

    def cleanup(self):
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception:
                pass
        self._cleanups = []


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass


def describe(exc_info):
    etype, exc, tb = exc_info
    frames = [f for f in traceback.extract_tb(tb) if f.filename.startswith(HERE)]
    where = ""
    if frames:
        f = frames[-1]
        where = " [%s:%d]" % (os.path.relpath(f.filename, HERE), f.lineno)
        tests = [f for f in frames if os.path.basename(f.filename).startswith("test_")]
        if tests and tests[-1] is not f:
            t = tests[-1]
            where = " [%s:%d -> %s:%d]" % (
                os.path.basename(t.filename), t.lineno, os.path.relpath(f.filename, HERE), f.lineno)
    name = "" if etype is AssertionError else etype.__name__ + ": "
    return "%s%s%s" % (name, exc, where)


def run_with_timeout(fn, ctx, timeout):
    result = {}

    def body():
        try:
            fn(ctx)
            result["ok"] = True
        except BaseException:
            result["err"] = describe(sys.exc_info())

    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        return False, "timed out after %.0f s" % timeout, True
    if "ok" in result:
        return True, "", False
    return False, result.get("err", "unknown failure"), False


def indent(text, prefix="    | "):
    return "\n".join(prefix + line for line in text.splitlines())


class Runner:
    def __init__(self, pattern):
        self.pattern = pattern
        self.passed = 0
        self.failed = 0
        self.failures = []

    def report(self, name, ok, secs, msg="", log=None):
        if ok:
            self.passed += 1
            print("PASS %s (%.2fs)" % (name, secs), flush=True)
        else:
            self.failed += 1
            self.failures.append(name)
            print("FAIL %s (%.2fs): %s" % (name, secs, msg), flush=True)
            if log and log.strip():
                print("    server log tail:\n" + indent(log), flush=True)

    def module_tests(self, modname):
        mod = importlib.import_module(modname)
        fns = [
            getattr(mod, n)
            for n in dir(mod)
            if n.startswith("test_") and callable(getattr(mod, n)) and getattr(getattr(mod, n), "__module__", "") == modname
        ]
        fns.sort(key=lambda f: getattr(f, "order", f.__code__.co_firstlineno))
        # "a|b": tests whose name contains any of them
        pats = [p for p in self.pattern.split("|") if p]
        fns = [f for f in fns if not pats or any(p in "%s::%s" % (modname, f.__name__) for p in pats)]
        return mod, fns

    def run_module(self, modname):
        mod, fns = self.module_tests(modname)
        if not fns:
            return
        if getattr(mod, "BINDINGS", False) and os.environ.get("ARTEMIS_BINDINGS") == "0":
            # The bindings link the plain libartemis.so; a sanitizer tree builds none.
            print("NOTE %s: %d tests not run here (ARTEMIS_BINDINGS=0); the plain run covers them"
                  % (modname, len(fns)), flush=True)
            return
        wants_server = getattr(mod, "SERVER", True)
        args = list(getattr(mod, "SERVER_ARGS", []))
        srv = None

        def start():
            s = server.Server(args, name=modname)
            try:
                s.start()
            except BaseException as e:
                log = s.log_tail()
                s.cleanup()
                return None, "%s" % e, log
            return s, "", ""

        start_err, start_log = "", ""
        if wants_server:
            srv, start_err, start_log = start()
        for fn in fns:
            name = "%s::%s" % (modname, fn.__name__)
            if wants_server and srv is None:
                self.report(name, False, 0.0, "server not started: %s" % start_err, start_log)
                srv, start_err, start_log = start()
                continue
            ctx = Ctx(srv, mod)
            t0 = time.monotonic()
            ok, msg, timed_out = run_with_timeout(fn, ctx, getattr(fn, "timeout", DEFAULT_TIMEOUT))
            secs = time.monotonic() - t0
            restart = timed_out
            if srv is not None and not ok:
                # A crash may still be in progress (abort, core dump): give it a moment to show.
                t_dead = time.monotonic() + 0.5
                while srv.alive() and time.monotonic() < t_dead:
                    time.sleep(0.05)
            if srv is not None and not srv.alive():
                code = srv.proc.poll()
                msg = (msg + "; " if msg else "") + "server died (exit status %s)" % code
                ok = False
                restart = True
            tail = ctx.server.log_tail() if (ctx.server is not None and not ok) else None
            ctx.cleanup()
            self.report(name, ok, secs, msg, tail)
            if srv is not None and restart:
                srv.cleanup()
                srv, start_err, start_log = start()
        if srv is not None:
            name = "%s::server_exits_0_on_sigterm" % modname
            t0 = time.monotonic()
            try:
                code = srv.stop(5.0)
                ok = code == 0
                msg = "" if ok else "exit status %s" % code
            except AssertionError as e:
                ok, msg = False, str(e)
            self.report(name, ok, time.monotonic() - t0, msg, None if ok else srv.log_tail())
            srv.cleanup()


def main():
    pattern = sys.argv[1] if len(sys.argv) > 1 else ""
    raise_nofile()
    socket.setdefaulttimeout(10.0)
    root = os.path.dirname(os.path.dirname(HERE))
    binary = os.environ.get("ARTEMIS_SERVER") or os.path.join(root, server.DEFAULT_BINARY)
    os.environ["ARTEMIS_SERVER"] = os.path.abspath(binary)
    mods = sorted(f[:-3] for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    runner = Runner(pattern)
    t0 = time.monotonic()
    print("integration: server %s" % server.binary_path(), flush=True)
    for m in mods:
        try:
            runner.run_module(m)
        except Exception:
            runner.report("%s::<module>" % m, False, 0.0, describe(sys.exc_info()))
    print("integration: %.1f s" % (time.monotonic() - t0), flush=True)
    if runner.failures:
        print("failed: " + ", ".join(runner.failures), flush=True)
    print("integration: %d passed, %d failed" % (runner.passed, runner.failed), flush=True)
    sys.stdout.flush()
    # Leave at once even if a timed-out test thread is still blocked somewhere.
    os._exit(1 if runner.failed else 0)


if __name__ == "__main__":
    main()
