"""A throwaway PostgreSQL cluster for tests: initdb into a temp dir, one postmaster on a free
loopback port, one database, trust authentication (user `artemis`).

PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to the
user `postgres` (the Debian package creates it) and initdb/postgres run as that user, started
directly (subprocess user=/group=) so that the PID we hold is the postmaster's own: a wrapper
such as runuser would take the signals, and a SIGKILL of the wrapper would orphan the server.

    c = pg.Cluster(); c.start()     # c.uri -> postgresql://artemis@127.0.0.1:PORT/artemis_test
    c.stop(); c.start()             # an outage: the same port and data afterwards
    c.cleanup()                     # stop and remove the directory

The server is stopped by its PID only. stop() asks for a *fast* shutdown (SIGINT): the smart
one (SIGTERM) waits for every client to disconnect, which is not an outage.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

PACKAGE = "postgresql"
DB_NAME = "artemis_test"
USER = "artemis"


def find_bin(name):
    """Path of a PostgreSQL server program (newest major version), or raise naming the package."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not found:
        raise AssertionError("PostgreSQL server programs not found (/usr/lib/postgresql/*/bin/%s): "
                             "install the Debian package `%s` (make deps does)" % (name, PACKAGE))
    return found[-1]


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cluster:
    def __init__(self, name="pg", fsync=False):
        """fsync=False (the default) makes commits cheap; a timing measurement wants True."""
        self.fsync = fsync
        self.initdb = find_bin("initdb")
        self.postgres = find_bin("postgres")
        self.as_user = None
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise AssertionError("running as root needs the user `postgres` (from the Debian "
                                     "package `%s`) to run the cluster" % PACKAGE)
            self.as_user = pw
        self.tmpdir = tempfile.mkdtemp(prefix="artemis-%s-" % name)
        os.chmod(self.tmpdir, 0o755)
        self.data = os.path.join(self.tmpdir, "data")
        self.sock_dir = os.path.join(self.tmpdir, "sock")
        self.log_path = os.path.join(self.tmpdir, "postgres.log")
        os.makedirs(self.sock_dir)
        if self.as_user:
            os.chown(self.sock_dir, self.as_user.pw_uid, self.as_user.pw_gid)
        self.port = free_port()
        self.proc = None
        self.log = None
        self._initialized = False

    @property
    def uri(self):
        return "postgresql://%s@127.0.0.1:%d/%s" % (USER, self.port, DB_NAME)

    def _as_user(self):
        """Popen arguments that run a program as the cluster's owner."""
        if not self.as_user:
            return {}
        return {"user": self.as_user.pw_uid, "group": self.as_user.pw_gid, "extra_groups": [],
                "env": dict(os.environ, HOME=self.as_user.pw_dir, USER="postgres",
                            LOGNAME="postgres")}

    def _init(self):
        if self.as_user:
            os.makedirs(self.data, mode=0o700)
            os.chown(self.data, self.as_user.pw_uid, self.as_user.pw_gid)
        p = subprocess.run(
            [self.initdb, "-D", self.data, "-A", "trust", "-U", USER, "-E", "UTF8",
             "--locale=C.UTF-8", "--no-sync"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            cwd=self.tmpdir, timeout=120, **self._as_user())
        if p.returncode != 0:
            raise AssertionError("initdb failed (%d): %s" % (p.returncode, p.stdout.decode("utf-8", "replace")[-2000:]))
        self._initialized = True

    def start(self, timeout=30.0):
        """Start the postmaster (initdb on first use) and wait until it accepts connections."""
        if not self._initialized:
            self._init()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.postgres, "-D", self.data, "-k", self.sock_dir, "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=%s" % ("on" if self.fsync else "off"),
             "-c", "max_connections=50"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            cwd=self.tmpdir, start_new_session=True, **self._as_user())
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("postgres exited with %s: %s" % (self.proc.returncode, self.log_tail()))
            r = subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port),
                                "-U", USER, "-d", "postgres", "-t", "1"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                break
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("postgres not ready within %.0f s: %s" % (timeout, self.log_tail()))
            time.sleep(0.1)
        if not self.sql("postgres", "SELECT 1 FROM pg_database WHERE datname = '%s'" % DB_NAME).strip():
            self.sql("postgres", "CREATE DATABASE %s" % DB_NAME)
        return self

    def sql(self, db, text):
        """Run SQL through psql; its output (unaligned, tuples only)."""
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "-d", db,
                            "-c", text],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        if p.returncode != 0:
            raise AssertionError("psql failed: %s" % p.stderr.decode("utf-8", "replace"))
        return p.stdout.decode("utf-8", "replace")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """Fast shutdown (SIGINT: sessions are terminated), SIGKILL if it takes too long."""
        if not self.alive():
            self._close_log()
            return
        try:
            os.kill(self.proc.pid, signal.SIGINT)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close_log()

    def kill(self):
        if self.alive():
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self._close_log()

    def _close_log(self):
        if self.log:
            self.log.close()
            self.log = None

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmpdir, ignore_errors=True)
