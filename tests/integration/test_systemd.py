"""systemd integration of artemis-server (c-style.md §4): READY=1 once it serves, WATCHDOG=1
pings from the loop at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM, and socket activation
(LISTEN_FDS / LISTEN_PID: the server serves on the passed socket and binds nothing itself).
This module starts its own servers, with a fake $NOTIFY_SOCKET the test reads."""

import os
import signal
import socket
import subprocess
import tempfile
import time

from lib import http, server
from lib.util import check, eq

SERVER = False


class Notify:
    """A datagram socket standing in for systemd's notification socket."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="artemis-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait_for(self, key, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.messages:
                if key in m.split("\n"):
                    return m
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                break
        raise AssertionError("no %s notification within %.1f s (got %r)" % (key, timeout, self.messages))

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.path)
            os.rmdir(self.dir)
        except OSError:
            pass


def _stop(proc, ctx_msg):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(5.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("%s: no exit within 5 s of SIGTERM" % ctx_msg)
    eq(code, 0, "%s: exit status after SIGTERM" % ctx_msg)


def test_ready_watchdog_stopping(ctx):
    n = Notify()
    ctx.defer(n.close)
    port = server.free_port()
    env = dict(os.environ, NOTIFY_SOCKET=n.path, WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([server.binary_path(), "--listen=127.0.0.1:%d" % port, "--log-level=warn"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctx.defer(lambda: proc.poll() is None and proc.kill())
    n.wait_for("READY=1", 10.0)
    # READY is sent once the listener exists: the port answers right away.
    eq(http.quick_get(port, "/health", timeout=3.0).status, 200, "/health after READY=1")
    t0 = time.monotonic()
    n.messages = [m for m in n.messages if "WATCHDOG=1" not in m.split("\n")]
    n.wait_for("WATCHDOG=1", 2.0)
    check(time.monotonic() - t0 < 2.0, "watchdog ping interval")
    proc.send_signal(signal.SIGTERM)
    n.wait_for("STOPPING=1", 5.0)
    _stop(proc, "notify")


def test_socket_activation(ctx):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    ctx.defer(lsock.close)
    act_port = lsock.getsockname()[1]
    cfg_port = server.free_port()  # what --listen says; it must NOT be bound

    def child_setup():
        os.dup2(lsock.fileno(), 3)

    # LISTEN_PID must be the server's own pid: set it in a shell that then execs the server.
    cmd = ["/bin/sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=http exec "$0" "$@"',
           server.binary_path(), "--listen=127.0.0.1:%d" % cfg_port, "--log-level=warn"]
    proc = subprocess.Popen(cmd, preexec_fn=child_setup, pass_fds=(lsock.fileno(),),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctx.defer(lambda: proc.poll() is None and proc.kill())
    http.wait_http_ok(act_port, "/health", timeout=10.0)
    probe = socket.socket()
    try:
        probe.settimeout(1.0)
        refused = probe.connect_ex(("127.0.0.1", cfg_port)) != 0
    finally:
        probe.close()
    check(refused, "the server bound --listen itself despite socket activation")
    _stop(proc, "socket activation")
