"""Start, watch and stop a cluster of artemis-server processes on loopback.

Every node gets a free port chosen before any starts, so each node's --peers list names all
of them (`sha-z1:url,url;sha-z2:url`). Nodes are started together (none waits for another),
then each must answer GET /health 200, which it does only once it is up (bootstrapped).
Processes are stopped by PID only (through lib.server.Server).
"""

import time

from . import http, server

# Short intervals so tests run in seconds.
FAST_ARGS = [
    "--artemis.service.cluster.nodes.status-update.interval=200",
    "--artemis.service.cluster.node.init.sync-interval=100",
    "--artemis.service.cluster.node.init.max-wait=4000",
    "--artemis.service.registry.replication.batching.task-acceptor.max-batching-delay=10",
]


class Node(server.Server):
    def __init__(self, port, zone, extra_args, name):
        super().__init__(extra_args=extra_args, name=name)
        self.port = port
        self.zone = zone

    def argv(self):
        args = super().argv()
        return [a if not a.startswith("--zone=") else "--zone=%s" % self.zone for a in args]

    def spawn(self):
        """Start the process without waiting for readiness."""
        self._close_log()
        self.log = open(self.log_path, "ab")
        self.log.write(("=== start: %s\n" % " ".join(self.argv())).encode())
        self.log.flush()
        import subprocess

        self.proc = subprocess.Popen(
            self.argv(), stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, close_fds=True
        )
        return self

    def health(self):
        try:
            r = http.quick_get(self.port, "/health", timeout=1.0)
            return r.status, r.json()
        except (http.HttpError, OSError, ValueError):
            return None, None


class Cluster:
    def __init__(self, n=3, zones=None, extra_args=(), per_node_args=None, log_level="info"):
        self.zones = list(zones or ["sha-z1"] * n)
        self.ports = [server.free_port() for _ in range(n)]
        peers = {}
        for z, p in zip(self.zones, self.ports):
            peers.setdefault(z, []).append("http://127.0.0.1:%d/" % p)
        self.peers = ";".join("%s:%s" % (z, ",".join(urls)) for z, urls in peers.items())
        self.nodes = []
        for i, (z, p) in enumerate(zip(self.zones, self.ports)):
            args = ["--peers=%s" % self.peers] + FAST_ARGS + list(extra_args)
            if per_node_args:
                args += list(per_node_args[i])
            node = Node(p, z, args, "node%d" % i)
            node.log_level = log_level
            self.nodes.append(node)

    def start(self, timeout=15.0):
        for node in self.nodes:
            node.spawn()
        for node in self.nodes:
            node.wait_ready(timeout)
        return self

    def start_node(self, i, wait=True, timeout=15.0):
        node = self.nodes[i]
        node.spawn()
        if wait:
            node.wait_ready(timeout)
        return node

    def __getitem__(self, i):
        return self.nodes[i]

    def logs(self, lines=15):
        return "\n".join("--- %s (port %d)\n%s" % (n.name, n.port, n.log_tail(lines)) for n in self.nodes)

    def cleanup(self):
        for node in self.nodes:
            node.cleanup()


def wait_until(fn, timeout, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1f s waiting for %s (last: %r)" % (timeout, what, last))
