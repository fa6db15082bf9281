"""docker/cluster-local.sh (issue 13 part 3): start / status / logs / stop / clean of a real
two-node cluster on free loopback ports, replication seen through the script's status table,
and usage errors (exit 2, usage on stderr).

The script runs with DIR in a temporary folder and ARTEMIS_SERVER_BIN = the binary under test;
every test stops what it started (the script's own stop, then, as a fallback, SIGKILL to the
PIDs of its pid files that still are artemis-server processes)."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from lib import http, server
from lib.util import Api, check, eq, instance, wait_until

SERVER = False

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(ROOT, "docker", "cluster-local.sh")


def _free_range(n):
    """A base port such that base..base+n-1 are all free on 127.0.0.1 (TCP)."""
    for _ in range(100):
        base = server.free_port()
        if base + n > 65535:
            continue
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                # as the server binds (SO_REUSEADDR): a port held only by TIME_WAIT
                # connections is free for a listener
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free range of %d ports" % n)


def _is_server(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    comm = st[st.index("(") + 1:st.rindex(")")]
    state = st[st.rindex(")") + 2:].split()[0]
    return comm == "artemis-server" and state != "Z"


class Script:
    def __init__(self, ctx, extra_env=None):
        self.tmp = tempfile.mkdtemp(prefix="artemis-it-cl-")
        self.dir = os.path.join(self.tmp, "cluster")
        env = {k: v for k, v in os.environ.items() if k not in ("ARTEMIS_SERVER_ARGS", "DIR", "HOST")}
        env.update({"DIR": self.dir, "ARTEMIS_SERVER_BIN": server.binary_path(), "START_TIMEOUT": "40",
                    "STOP_TIMEOUT": "5"})
        env.update(extra_env or {})
        self.env = env
        self.pids_seen = set()
        ctx.defer(self.cleanup)

    def run(self, *args, timeout=60):
        p = subprocess.run([SCRIPT] + list(args), cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        self.pids()  # remember every PID the script wrote, for the fallback cleanup
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def pids(self):
        out = {}
        for i in range(1, 10):
            try:
                with open(os.path.join(self.dir, "node%d.pid" % i)) as f:
                    out[i] = int(f.read().strip())
            except (OSError, ValueError):
                continue
        self.pids_seen.update(out.values())
        return out

    def cleanup(self):
        if os.path.isdir(self.dir):
            try:
                self.run("stop", timeout=20)
            except Exception:
                pass
        for pid in self.pids_seen:
            if _is_server(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)


def _status_rows(out):
    lines = [ln for ln in out.splitlines() if ln.strip()]
    check(lines and lines[0].split()[:6] == ["NODE", "URL", "PID", "STATUS", "INSTANCES", "PEERS"],
          "status header: %r" % out)
    return {cols[0]: cols for cols in (ln.split() for ln in lines[1:])}


def test_usage_errors(ctx):
    sc = Script(ctx)
    for args in ([], ["bogus"], ["start", "0"], ["start", "10"], ["start", "x"], ["start", "2", "70000"],
                 ["start", "9", "65530"], ["start", "2", "8080", "extra"], ["status", "x"], ["logs", "1", "2"],
                 ["stop", "now"], ["clean", "-f"], ["start", "-1"], ["start", "2", "0"]):
        code, out, err = sc.run(*args)
        eq(code, 2, "exit status of cluster-local.sh %s (stderr %r)" % (" ".join(args), err))
        check(err.startswith("usage:"), "usage on stderr for %r: %r" % (args, err))
        eq(out, "", "nothing on stdout for %r" % (args,))
    code, out, err = sc.run("--help")
    eq(code, 0, "--help exit status")
    check(out.startswith("usage:") and "ARTEMIS_SERVER_BIN" in out, "--help on stdout: %r" % out)
    # nothing was started or created by any of them
    check(not os.path.exists(sc.dir), "usage errors left %s behind" % sc.dir)
    # status / logs without a cluster: exit 1, one line saying so
    for cmd in ("status", "logs"):
        code, out, err = sc.run(cmd)
        eq(code, 1, "%s without a cluster" % cmd)
        check("no cluster" in err, "%s says why: %r" % (cmd, err))


def test_two_nodes_lifecycle(ctx):
    sc = Script(ctx)
    base = _free_range(2)
    code, out, err = sc.run("start", "2", str(base))
    eq(code, 0, "start exit status (stderr %r)" % err)
    for i in (1, 2):
        check("node%d ready on http://127.0.0.1:%d/" % (i, base + i - 1) in out, "start output: %r" % out)
    pids = sc.pids()
    eq(sorted(pids), [1, 2], "pid files")
    for pid in pids.values():
        check(_is_server(pid), "pid %d is a running artemis-server" % pid)
    for i in (1, 2):
        check(os.path.isdir(os.path.join(sc.dir, "data", "node%d" % i)), "node%d has its own data dir" % i)
        with open("/proc/%d/cmdline" % pids[i], "rb") as f:
            argv = f.read().split(b"\0")
        check(("--data-dir=%s/data/node%d" % (sc.dir, i)).encode() in argv, "node%d --data-dir: %r" % (i, argv))
        check(("--listen=127.0.0.1:%d" % (base + i - 1)).encode() in argv, "node%d --listen: %r" % (i, argv))

    code, out, err = sc.run("status")
    eq(code, 0, "status exit status with every node up (stderr %r, out %r)" % (err, out))
    rows = _status_rows(out)
    eq(sorted(rows), ["node1", "node2"], "status rows")
    for i in (1, 2):
        r = rows["node%d" % i]
        eq(r[1], "http://127.0.0.1:%d/" % (base + i - 1), "node%d URL" % i)
        eq(r[2], str(pids[i]), "node%d pid" % i)
        eq(r[3], "up", "node%d status" % i)
        eq(r[4], "0", "node%d instances before any register" % i)

    # register on node 1, see it on node 2 (replication) and in the status table
    c1, c2 = http.Client(base, timeout=5.0), http.Client(base + 1, timeout=5.0)
    ctx.defer(c1.close)
    ctx.defer(c2.close)
    Api(c1).must_register(instance("cl.local", "i1"))
    Api(c2).wait_present("cl.local", "i1", timeout=8.0)

    def counted():
        code, out, _ = sc.run("status")
        rows = _status_rows(out)
        return code == 0 and rows["node1"][4] == "1" and rows["node2"][4] == "1"

    wait_until(counted, 8.0, 0.2, "status shows 1 instance on both nodes")
    code, out, _ = sc.run("status")
    lag = _status_rows(out)["node1"][6]
    check(lag.endswith("ms"), "node1 reports a replication lag after replicating: %r" % out)

    # logs: every node's lines, prefixed; one node's lines; a node out of range is a usage error
    code, out, err = sc.run("logs")
    eq(code, 0, "logs exit status (%r)" % err)
    for i in (1, 2):
        check(any(ln.startswith("node%d | " % i) for ln in out.splitlines()), "logs has node%d lines: %r" % (i, out))
    check("node is up" in out, "logs show the nodes coming up: %r" % out)
    code, out, err = sc.run("logs", "2")
    eq(code, 0, "logs 2 exit status")
    check(out.strip() and "node is up" in out and "node1 |" not in out, "logs 2: %r" % out)
    code, _, err = sc.run("logs", "3")
    eq(code, 2, "logs 3 of a two-node cluster")

    # a second start while running is refused and starts nothing
    code, _, err = sc.run("start", "2", str(base))
    eq(code, 1, "start while running")
    check("already running" in err, "says why: %r" % err)
    eq(sc.pids(), pids, "pid files unchanged")

    # stop: SIGTERM, every process gone, pid files removed
    t0 = time.monotonic()
    code, out, err = sc.run("stop")
    eq(code, 0, "stop exit status (%r)" % err)
    for pid in pids.values():
        check(not _is_server(pid), "pid %d still running after stop" % pid)
        check("SIGTERM to pid %d" % pid in out, "stop output names pid %d: %r" % (pid, out))
    check(time.monotonic() - t0 < 5.0, "stop took %.1f s" % (time.monotonic() - t0))
    eq(sc.pids(), {}, "pid files after stop")
    for i in (1, 2):
        with open(os.path.join(sc.dir, "node%d.log" % i)) as f:
            check("stopped" in f.read(), "node%d logged a clean stop" % i)
    code, out, _ = sc.run("status")
    eq(code, 1, "status with the nodes stopped")
    eq([r[3] for r in _status_rows(out).values()], ["stopped", "stopped"], "status after stop")
    code, _, _ = sc.run("stop")
    eq(code, 0, "a second stop is harmless")

    code, out, err = sc.run("clean")
    eq(code, 0, "clean exit status (%r)" % err)
    check(not os.path.exists(sc.dir), "clean removed %s" % sc.dir)


test_two_nodes_lifecycle.timeout = 120


def test_clean_stops_running_nodes(ctx):
    sc = Script(ctx)
    base = _free_range(1)
    code, _, err = sc.run("start", "1", str(base))
    eq(code, 0, "start 1 (%r)" % err)
    pids = sc.pids()
    code, _, err = sc.run("clean")
    eq(code, 0, "clean (%r)" % err)
    for pid in pids.values():
        check(not _is_server(pid), "pid %d survived clean" % pid)
    check(not os.path.exists(sc.dir), "clean removed the folder")


test_clean_stops_running_nodes.timeout = 60


def test_start_failures_leave_nothing_running(ctx):
    sc = Script(ctx)
    base = _free_range(2)
    # a port of the range taken: refused before anything starts
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ctx.defer(blocker.close)
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", base + 1))
    blocker.listen(1)
    code, _, err = sc.run("start", "2", str(base))
    eq(code, 1, "start with a port in use")
    check("port %d" % (base + 1) in err and "in use" in err, "says which port: %r" % err)
    eq(sc.pids(), {}, "no node started")
    blocker.close()
    # a node that exits at once (bad option): start reports its log and stops the others
    sc.env["ARTEMIS_SERVER_ARGS"] = "--no-such-option=1"
    code, _, err = sc.run("start", "2", str(base))
    eq(code, 1, "start with nodes that exit")
    check("exited" in err and "no-such-option" in err, "start shows the node's log: %r" % err)
    for pid in sc.pids_seen:
        check(not _is_server(pid), "pid %d left running" % pid)
    # a directory the script did not make is not removed by clean
    os.makedirs(os.path.join(sc.tmp, "other", "keep"))
    sc2 = dict(sc.env, DIR=os.path.join(sc.tmp, "other"))
    p = subprocess.run([SCRIPT, "clean"], cwd=ROOT, env=sc2, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=20)
    eq(p.returncode, 1, "clean of a foreign folder")
    check(os.path.isdir(os.path.join(sc.tmp, "other", "keep")), "foreign folder kept")


test_start_failures_leave_nothing_running.timeout = 90


def test_shellcheck(ctx):
    sc = shutil.which("shellcheck")
    if not sc:
        return  # not installed: nothing to check here
    p = subprocess.run([sc, SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    eq(p.returncode, 0, "shellcheck docker/cluster-local.sh:\n%s" % p.stdout.decode("utf-8", "replace"))
