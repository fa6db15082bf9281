"""Run the SDK's example programs (build/examples/{register,lookup,watch}) like a user would.

The same programs exist in three languages with one contract (examples/README.md): C
(build/examples/NAME), Python (bindings/python/examples/NAME.py under `python3 -X dev`, the
in-tree package on PYTHONPATH) and Go (build/examples/go/NAME). `borrow_tests` runs another
module's tests in another language (it sets ctx.lang, which Examples reads).

Each program is a child process whose stdout lines are collected by a reader thread with the
time they arrived, so tests can wait for a line with a deadline and measure latencies. Every
process is stopped by its own PID; `Examples.cleanup()` kills whatever is still running (the
runner calls it through ctx.defer, also when a test fails or times out).
"""

import json
import os
import queue
import signal
import subprocess
import threading
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(HERE))
NAMES = ("register", "lookup", "watch")


def examples_dir():
    return os.environ.get("ARTEMIS_EXAMPLES") or os.path.join(ROOT, "build", "examples")


LANGS = ("c", "python", "go")
# Debian's interpreter: the one first on PATH may lack Debian's packages.
PYTHON = os.environ.get("ARTEMIS_PYTHON", "/usr/bin/python3")


def lib_dir():
    return os.environ.get("ARTEMIS_LIB_DIR") or os.path.join(ROOT, "build", "lib")


def command(name, lang="c"):
    """argv prefix that runs example NAME in LANG; fails when it was not built."""
    if lang == "python":
        path = os.path.join(ROOT, "bindings", "python", "examples", name + ".py")
        ext = [f for f in os.listdir(os.path.join(ROOT, "bindings", "python", "artemis")) if f.startswith("_artemis.")
               and f.endswith(".so")]
        if not ext:
            raise AssertionError("the Python extension bindings/python/artemis/_artemis*.so is not built (run `make`)")
        return [PYTHON, "-X", "dev", path]
    if lang == "go":
        path = os.path.join(os.environ.get("ARTEMIS_GO_EXAMPLES") or os.path.join(ROOT, "build", "examples", "go"), name)
    else:
        path = os.path.join(examples_dir(), name)
    if not os.access(path, os.X_OK):
        raise AssertionError("example %s does not exist (run `make`, or set ARTEMIS_EXAMPLES)" % path)
    return [path]


def lang_env(env, lang):
    """env plus what LANG's runtime needs to find the in-tree build."""
    if lang == "python":
        env = dict(env)
        env["PYTHONPATH"] = os.path.join(ROOT, "bindings", "python")
        env["LD_LIBRARY_PATH"] = lib_dir()
    return env


def sdk_env(**extra):
    """The environment for an example: ours minus the SDK's knobs, plus extra (None removes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTEMIS_") or k == "ARTEMIS_DEBUG"}
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


class Proc:
    """One running example. stdout lines go to a queue (with their arrival time); stderr to a
    buffer."""

    def __init__(self, name, args, env=None, lang="c"):
        self.name = name if lang == "c" else "%s (%s)" % (name, lang)
        self.argv = command(name, lang) + [str(a) for a in args]
        self.lines = []  # (monotonic time, text) of every stdout line, in order
        self._q = queue.Queue()
        self._err = []
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=lang_env(env if env is not None else sdk_env(), lang),
            close_fds=True,
        )
        self.started = time.monotonic()
        self._t_out = threading.Thread(target=self._read_out, daemon=True)
        self._t_err = threading.Thread(target=self._read_err, daemon=True)
        self._t_out.start()
        self._t_err.start()

    @property
    def pid(self):
        return self.proc.pid

    def _read_out(self):
        for raw in iter(self.proc.stdout.readline, b""):
            item = (time.monotonic(), raw.decode("utf-8", "replace").rstrip("\n"))
            self.lines.append(item)
            self._q.put(item)
        self._q.put(None)

    def _read_err(self):
        for raw in iter(self.proc.stderr.readline, b""):
            self._err.append(raw.decode("utf-8", "replace"))

    def stderr(self):
        return "".join(self._err)

    def describe(self):
        return "%s (pid %d, exit %s); stdout=%r stderr=%r" % (
            " ".join(self.argv),
            self.proc.pid,
            self.proc.poll(),
            [t for _, t in self.lines][-10:],
            self.stderr()[-600:],
        )

    def next_line(self, timeout, what="a line"):
        """The next stdout line not yet consumed: (arrival time, text). Raises after timeout
        or when the program closed stdout first."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%s: no %s within %.1f s: %s" % (self.name, what, timeout, self.describe()))
            try:
                item = self._q.get(timeout=min(left, 0.1))
            except queue.Empty:
                continue
            if item is None:
                self._q.put(None)  # keep the end marker for later callers
                time.sleep(0.05)  # let the exit status settle for the message
                raise AssertionError("%s: ended before %s: %s" % (self.name, what, self.describe()))
            return item

    def wait_line(self, pred, timeout, what="a matching line"):
        """Consume lines until pred(text) is true; return (arrival time, text)."""
        deadline = time.monotonic() + timeout
        while True:
            t, text = self.next_line(max(0.0, deadline - time.monotonic()), what)
            if pred(text):
                return t, text

    def no_line(self, within):
        """Assert no new stdout line arrives for `within` seconds."""
        try:
            item = self._q.get(timeout=within)
        except queue.Empty:
            return
        raise AssertionError("%s: unexpected line %r" % (self.name, item and item[1]))

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait(self, timeout):
        """Exit status, or raise (and kill) when it did not exit in time."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("%s did not exit within %.1f s: %s" % (self.name, timeout, self.describe()))
        self._t_out.join(2)
        self._t_err.join(2)
        return code

    def terminate(self, timeout=5.0):
        """SIGTERM by PID; the exit status (raises if it did not exit within timeout)."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for f in (self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except (OSError, ValueError):
                pass


class Examples:
    """Starts examples for one test and kills every one still running at cleanup."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.procs = []
        self.lang = getattr(ctx, "lang", "c")
        ctx.defer(self.cleanup)

    def url(self, port=None):
        return "http://127.0.0.1:%d" % (port or self.ctx.port)

    def start(self, name, *args, env=None):
        p = Proc(name, args, env, self.lang)
        self.procs.append(p)
        return p

    def register(self, service_id, instance_id, port, url=None, env=None):
        return self.start("register", url or self.url(), service_id, instance_id, port, env=env)

    def register_ok(self, service_id, instance_id, port, url=None, env=None, timeout=5.0):
        """Start register and wait for its `registered` line."""
        p = self.register(service_id, instance_id, port, url, env)
        p.wait_line(lambda s: s == "registered", timeout, "'registered'")
        return p

    def watch(self, service_id, url=None, env=None):
        return self.start("watch", url or self.url(), service_id, env=env)

    def lookup(self, service_id, url=None, env=None, timeout=10.0):
        """Run lookup to completion: (exit status, stdout text, stderr text)."""
        p = self.start("lookup", url or self.url(), service_id, env=env)
        code = p.wait(timeout)
        return code, "\n".join(t for _, t in p.lines), p.stderr()

    def cleanup(self):
        for p in self.procs:
            p.kill()
        self.procs = []


def parse_line(text):
    """Parse and validate one lookup/watch line against the examples contract."""
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise AssertionError("not a JSON line: %r (%s)" % (text, e))
    if not isinstance(obj, dict) or set(obj) != {"serviceId", "instances"}:
        raise AssertionError("line keys must be exactly serviceId, instances: %r" % text)
    if not isinstance(obj["serviceId"], str) or not isinstance(obj["instances"], list):
        raise AssertionError("bad types in line: %r" % text)
    for inst in obj["instances"]:
        if not isinstance(inst, dict) or set(inst) != {"instanceId", "ip", "port", "status"}:
            raise AssertionError("instance keys must be exactly instanceId, ip, port, status: %r" % text)
        if not isinstance(inst["port"], int) or isinstance(inst["port"], bool):
            raise AssertionError("port must be a JSON integer: %r" % text)
        for k in ("instanceId", "ip", "status"):
            if not isinstance(inst[k], str):
                raise AssertionError("%s must be a string: %r" % (k, text))
    return obj


def ids(obj):
    return {i["instanceId"] for i in obj["instances"]}


def borrow_tests(source, modname, lang, skip=(), only=None):
    """Copies of SOURCE's test functions for module MODNAME that run the examples in LANG:
    named test_LANG_<name without test_>, with the same timeouts and in the same order
    (after every earlier language's), so one set of end-to-end tests drives every language."""
    out = {}
    for name in dir(source):
        fn = getattr(source, name)
        if (not name.startswith("test_") or name in skip or (only is not None and name not in only)
                or getattr(fn, "__module__", "") != source.__name__):
            continue

        def wrapper(ctx, fn=fn):
            ctx.lang = lang
            return fn(ctx)

        wrapper.__name__ = "test_%s_%s" % (lang, name[len("test_"):])
        wrapper.__module__ = modname
        wrapper.__doc__ = fn.__doc__
        wrapper.timeout = getattr(fn, "timeout", None) or 15.0
        wrapper.order = LANGS.index(lang) * 1000000 + fn.__code__.co_firstlineno
        out[wrapper.__name__] = wrapper
    return out
