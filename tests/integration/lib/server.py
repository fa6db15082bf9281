"""Start, watch and stop one artemis-server process for a test module.

The server runs on a free loopback port with its own data directory; its stdout and stderr go
to a file whose tail the runner prints when a test fails. It is stopped by its PID only.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from . import http

DEFAULT_BINARY = "build/bin/artemis-server"


def binary_path():
    return os.environ.get("ARTEMIS_SERVER") or DEFAULT_BINARY


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_once(args, timeout=10.0):
    """Run the binary with args to completion; returns (exit status, stdout, stderr) as text."""
    p = subprocess.run(
        [binary_path()] + list(args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=timeout,
    )
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


class Server:
    def __init__(self, extra_args=(), name="server", base_args=True, log_level="warn"):
        self.extra_args = list(extra_args)
        self.log_level = log_level
        self.name = name
        self.base_args = base_args
        self.tmpdir = tempfile.mkdtemp(prefix="artemis-it-%s-" % name)
        self.data_dir = os.path.join(self.tmpdir, "data")
        os.makedirs(self.data_dir)
        self.log_path = os.path.join(self.tmpdir, "server.log")
        self.proc = None
        self.port = None
        self.log = None

    @property
    def pid(self):
        return self.proc.pid

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.port

    def argv(self):
        args = [binary_path()]
        if self.base_args:
            args += [
                "--listen=127.0.0.1:%d" % self.port,
                "--region=sha",
                "--zone=sha-z1",
                "--data-dir=%s" % self.data_dir,
            ]
            if self.log_level:
                args.append("--log-level=%s" % self.log_level)
            # The suites again with I/O threads (Makefile check-io-threads, test-tsan).
            if os.environ.get("ARTEMIS_SERVER_IO_THREADS"):
                args.append("--io-threads=%s" % os.environ["ARTEMIS_SERVER_IO_THREADS"])
        return args + self.extra_args

    def start(self, timeout=10.0):
        if not os.path.exists(binary_path()):
            raise AssertionError("server binary %s does not exist (set ARTEMIS_SERVER)" % binary_path())
        last_err = None
        for _attempt in range(3):  # a free port can be taken between probe and bind
            self.port = free_port()
            self.log = open(self.log_path, "ab")
            self.log.write(("=== start: %s\n" % " ".join(self.argv())).encode())
            self.log.flush()
            self.proc = subprocess.Popen(
                self.argv(), stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, close_fds=True
            )
            try:
                self.wait_ready(timeout)
                return self
            except AssertionError as e:
                last_err = e
                code = self.proc.poll()
                self.kill()
                if code is None:
                    break  # running but not answering: no point retrying on another port
        raise AssertionError("server did not become ready: %s" % last_err)

    def restart(self, timeout=10.0):
        """Start the server again on the SAME port (after kill() or stop()), with the same
        arguments and data directory: what clients see as a server restart."""
        if self.alive():
            raise AssertionError("restart: the server (pid %d) is still running" % self.proc.pid)
        self._close_log()
        deadline = time.monotonic() + timeout
        last_err = None
        while True:  # the port may be briefly unavailable right after the old process died
            self.log = open(self.log_path, "ab")
            self.log.write(("=== restart: %s\n" % " ".join(self.argv())).encode())
            self.log.flush()
            self.proc = subprocess.Popen(
                self.argv(), stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, close_fds=True
            )
            try:
                self.wait_ready(max(0.5, deadline - time.monotonic()))
                return self
            except AssertionError as e:
                last_err = e
                code = self.proc.poll()
                self.kill()
                if code is None or time.monotonic() >= deadline:
                    break
                time.sleep(0.2)
        raise AssertionError("server did not restart on port %d: %s" % (self.port, last_err))

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise AssertionError("server exited with status %d during start" % code)
            try:
                r = http.quick_get(self.port, "/health", timeout=1.0)
                if r.status == 200:
                    return
                last = "HTTP %d" % r.status
            except (http.HttpError, OSError) as e:
                last = str(e)
            time.sleep(0.05)
        raise AssertionError("GET /health did not answer 200 within %.0f s (last: %s)" % (timeout, last))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def stop(self, timeout=5.0):
        """SIGTERM by PID; returns the exit status, or raises if it did not exit in time."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("server did not exit within %.0f s of SIGTERM (killed)" % timeout)
        finally:
            self._close_log()
        return code

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self._close_log()

    def _close_log(self):
        if self.log is not None:
            self.log.close()
            self.log = None

    def log_tail(self, lines=25):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])

    def rss_kib(self):
        """VmRSS of the server process in KiB (from /proc/<pid>/status)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS in /proc/%d/status" % self.proc.pid)

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.tmpdir, ignore_errors=True)
