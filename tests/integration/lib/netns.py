"""Network namespaces for partition tests: a small private network the test builds and tears down.

Layout (Lab): one "hub" namespace holding a bridge, and one namespace per node, each joined to
the bridge by a veth pair created directly inside the namespaces (`ip -n HUB link add ... peer
name eth0 netns NODE`), so no interface or address ever appears in the host's own namespace and
parallel runs cannot collide (names carry the runner's PID; the 10.77.0.0/24 addresses are
private to each run's namespaces). Cutting a node off sets its hub-side veth down (the cable is
pulled: the node's eth0 loses carrier, its neighbours' packets go nowhere); healing sets it up.

The test process itself stays in the host namespace. A client socket for a node is created
inside that node's namespace by switching the calling thread into it with setns(2) only around
socket() + connect() (a socket stays in the namespace it was created in); it then talks to the
node's own address, which works whether or not the node is cut off. Threads are independent:
setns changes the calling thread only.

Requirements: root (CAP_SYS_ADMIN + CAP_NET_ADMIN) and the `ip` tool (Debian package iproute2).
require() fails with a clear message otherwise. Namespaces are deleted by Lab.cleanup() (call it
from a finally / ctx.defer), at interpreter exit (atexit), and left-overs of runs that were
killed outright are swept at the next Lab start (namespaces of PIDs that no longer exist; the
processes still inside them are killed by PID first).
"""

import atexit
import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import threading

from . import http

CLONE_NEWNET = 0x40000000
PREFIX = "artnp"  # artnp<pid>-<suffix>
SUBNET = "10.77.0"

_libc = None
_live = set()  # namespaces created by this process and not yet deleted
_live_lock = threading.Lock()


def _setns(fd):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: %s" % os.strerror(e))


def require():
    """Raise AssertionError explaining why namespaces cannot be used here, else return."""
    if os.geteuid() != 0:
        raise AssertionError(
            "network-namespace test needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) to run `ip netns add`; "
            "run the integration tests as root (e.g. in the build container)"
        )
    if shutil.which("ip") is None:
        raise AssertionError("network-namespace test needs the `ip` tool: install the Debian package iproute2")
    p = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    if p.returncode != 0:
        raise AssertionError("`ip netns list` failed (%d): %s" % (p.returncode, p.stderr.decode(errors="replace")))


def ip(*args, check=True):
    """Run `ip ARGS...`; raise AssertionError with its stderr when it fails and check is set."""
    p = subprocess.run(["ip"] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    if check and p.returncode != 0:
        raise AssertionError("ip %s -> %d: %s" % (" ".join(args), p.returncode, p.stderr.decode(errors="replace").strip()))
    return p


def pids_in(ns):
    p = ip("netns", "pids", ns, check=False)
    return [int(x) for x in p.stdout.split()] if p.returncode == 0 else []


def delete(ns):
    """Kill (by PID) whatever still runs in ns, then delete it. Never raises."""
    for pid in pids_in(ns):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    ip("netns", "del", ns, check=False)
    with _live_lock:
        _live.discard(ns)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return True


def sweep_stale():
    """Delete namespaces left by earlier runs whose process no longer exists."""
    p = ip("netns", "list", check=False)
    for line in p.stdout.decode(errors="replace").splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(r"^%s(\d+)-" % PREFIX, name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            delete(name)


def _delete_all_live():
    with _live_lock:
        names = list(_live)
    for ns in names:
        delete(ns)


atexit.register(_delete_all_live)


@contextlib.contextmanager
def entered(ns):
    """Run the block with the calling thread in network namespace ns (and back afterwards)."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open("/run/netns/%s" % ns, os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)  # if this fails the thread is unusable: let it raise
    finally:
        os.close(home)


class NsConnection(http.Connection):
    """http.Connection whose socket is created in namespace ns."""

    def __init__(self, ns, host, port, timeout=http.DEFAULT_TIMEOUT):
        super().__init__(port, host=host, timeout=timeout)
        self.ns = ns

    def connect(self):
        with entered(self.ns):
            super().connect()


def client(ns, host, port, timeout=http.DEFAULT_TIMEOUT, mode="java"):
    """An http.Client (keep-alive, JSON helpers) talking to host:port from inside ns."""
    c = http.Client(port, timeout=timeout, mode=mode)
    c.conn = NsConnection(ns, host, port, timeout=timeout)
    return c


class Lab:
    """A bridge namespace and n node namespaces at SUBNET.1 .. SUBNET.n (see module comment)."""

    def __init__(self, n, tag=""):
        self.tag = tag
        base = "%s%d-%s" % (PREFIX, os.getpid(), tag)
        self.hub = base + "h"
        self.nodes = ["%s%d" % (base, i) for i in range(n)]
        self.addrs = ["%s.%d" % (SUBNET, i + 1) for i in range(n)]
        self.cut_off = set()

    def _add_ns(self, ns):
        try:
            ip("netns", "add", ns)
        except AssertionError as e:
            raise AssertionError("cannot create network namespaces (root with CAP_SYS_ADMIN and CAP_NET_ADMIN needed): %s" % e)
        with _live_lock:
            _live.add(ns)
        ip("-n", ns, "link", "set", "lo", "up")

    def create(self):
        require()
        sweep_stale()
        for ns in [self.hub] + self.nodes:  # a previous run of this very PID (unlikely)
            delete(ns)
        try:
            self._add_ns(self.hub)
            ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
            ip("-n", self.hub, "link", "set", "br0", "up")
            for i, (ns, addr) in enumerate(zip(self.nodes, self.addrs)):
                self._add_ns(ns)
                hub_if = "v%d" % i
                ip("-n", self.hub, "link", "add", hub_if, "type", "veth", "peer", "name", "eth0", "netns", ns)
                ip("-n", self.hub, "link", "set", hub_if, "master", "br0")
                ip("-n", self.hub, "link", "set", hub_if, "up")
                ip("-n", ns, "addr", "add", "%s/24" % addr, "dev", "eth0")
                ip("-n", ns, "link", "set", "eth0", "up")
        except BaseException:
            self.cleanup()
            raise
        return self

    def exec_argv(self, i, argv):
        """argv to run a command inside node i's namespace (ip netns exec execs it: same PID)."""
        return ["ip", "netns", "exec", self.nodes[i]] + list(argv)

    def cut(self, i):
        """Pull node i's cable: its hub-side veth goes down."""
        ip("-n", self.hub, "link", "set", "v%d" % i, "down")
        self.cut_off.add(i)

    def heal(self, i):
        ip("-n", self.hub, "link", "set", "v%d" % i, "up")
        self.cut_off.discard(i)

    def client(self, i, port, timeout=2.0):
        """A client in node i's namespace talking to node i's own address."""
        return client(self.nodes[i], self.addrs[i], port, timeout=timeout)

    def cleanup(self):
        for ns in self.nodes + [self.hub]:
            delete(ns)

    def leftovers(self):
        """Names of this lab's namespaces that still exist (for a test's own check)."""
        p = ip("netns", "list", check=False)
        names = {line.split()[0] for line in p.stdout.decode(errors="replace").splitlines() if line.split()}
        return sorted(names & set(self.nodes + [self.hub]))


def probe_reachable(ns, host, port, timeout=0.5):
    """True if a TCP connection from ns to host:port succeeds within timeout."""
    with entered(ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class HostLink:
    """One namespace joined to the test's own (host) namespace by a veth pair, for a client that
    must reach a server of the host from a non-loopback address (the sidecar's remote-source
    rules). Unlike Lab this puts one interface into the host namespace: vh<pid> with
    10.78.A.B, peer 10.79.A.B in the namespace (A.B from the PID, so parallel runs differ).
    Deleting the namespace deletes both ends of the pair; cleanup() does, and so do the atexit
    hook and sweep_stale() for runs killed outright (the namespace name carries the PID)."""

    def __init__(self, tag="hl"):
        pid = os.getpid()
        self.ns = "%s%d-%s" % (PREFIX, pid, tag)
        self.host_if = "vh%d" % pid  # at most 9 characters (PIDs < 2^22)
        self.host_addr = "10.78.%d.%d" % ((pid >> 8) & 255, pid & 255)
        self.ns_addr = "10.79.%d.%d" % ((pid >> 8) & 255, pid & 255)

    def create(self):
        require()
        sweep_stale()
        delete(self.ns)
        ip("link", "del", self.host_if, check=False)  # left by this very PID (unlikely)
        try:
            ip("netns", "add", self.ns)
            with _live_lock:
                _live.add(self.ns)
            ip("-n", self.ns, "link", "set", "lo", "up")
            ip("link", "add", self.host_if, "type", "veth", "peer", "name", "eth0", "netns", self.ns)
            ip("addr", "add", self.host_addr, "peer", self.ns_addr, "dev", self.host_if)
            ip("link", "set", self.host_if, "up")
            ip("-n", self.ns, "addr", "add", self.ns_addr, "peer", self.host_addr, "dev", "eth0")
            ip("-n", self.ns, "link", "set", "eth0", "up")
        except BaseException:
            self.cleanup()
            raise
        return self

    def socket(self, family=socket.AF_INET, kind=socket.SOCK_DGRAM):
        """A socket created inside the namespace (it stays there)."""
        with entered(self.ns):
            return socket.socket(family, kind)

    def cleanup(self):
        delete(self.ns)
        ip("link", "del", self.host_if, check=False)

    def leftovers(self):
        p = ip("netns", "list", check=False)
        names = {line.split()[0] for line in p.stdout.decode(errors="replace").splitlines() if line.split()}
        link = ip("link", "show", self.host_if, check=False).returncode == 0
        return sorted(names & {self.ns}) + ([self.host_if] if link else [])
