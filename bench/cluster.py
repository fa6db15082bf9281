#!/usr/bin/python3
"""Cluster figures of issue 5 (docs/cluster.md, "Measured"):

1. replication lag at 10,000 heartbeats/s across three local nodes: build/bench/loadgen sends
   heartbeats open-loop (--rate) to all three nodes (a third each) for 10,000 instances; every
   second the servers' artemis_replication_lag_seconds summaries (accept -> peer answer, last
   4096 writes per peer) are sampled. Meanwhile one probe registers an instance on node0 and
   polls node1 until it is visible (write -> visible), 200 times.
2. bootstrap of a node with 100,000 instances: register 100,000 on node0, wait until node2 has
   them, kill -9 node2, restart it and time spawn -> /health 200 (and the server's own
   artemis_cluster_bootstrap_seconds).

Usage: /usr/bin/python3 bench/cluster.py [--rate 10000] [--duration 10] [--bootstrap 100000]
Processes are stopped by PID. Prints one JSON object.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("ARTEMIS_SERVER", os.path.join(ROOT, "build", "bin", "artemis-server"))

from lib import cluster, http  # noqa: E402
from lib.util import instance  # noqa: E402

LOADGEN = os.path.join(ROOT, "build", "bench", "loadgen")
ARGS = [
    "--artemis.service.registry.rate-limiter.enabled=false",
    "--artemis.service.registry.replication.rate-limiter.enabled=false",
    "--lease-ttl-ms=600000",
    "--artemis.service.registry.instance.lease-manager.lease-update-safe-checker.enabled=false",
]


def build_loadgen():
    os.makedirs(os.path.dirname(LOADGEN), exist_ok=True)
    subprocess.run(["cc", "-O2", "-std=c11", "-D_GNU_SOURCE", "-o", LOADGEN,
                    os.path.join(ROOT, "bench", "loadgen.c"), "-lssl", "-lcrypto"], check=True)


def loadgen(port, mode, *args):
    p = subprocess.run([LOADGEN, "--port", str(port), "--mode", mode] + [str(a) for a in args],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("loadgen: %s" % p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def lag_samples(node):
    out = {}
    for line in http.quick_get(node.port, "/metrics").text().splitlines():
        if line.startswith("artemis_replication_lag_seconds{"):
            q = line.split('quantile="')[1].split('"')[0]
            out.setdefault(q, []).append(float(line.rsplit(" ", 1)[1]))
    return out


def instances_of(node):
    _, h = node.health()
    return h["instances"] if h else -1


def bench_lag(rate, duration):
    cl = cluster.Cluster(3, extra_args=ARGS, log_level="warn")
    try:
        cl.start()
        n = 10000
        loadgen(cl[0].port, "register", "--count", n // 100, "--batch", 100, "--instances", n, "--conns", 4)
        cluster.wait_until(lambda: all(instances_of(x) == n for x in cl.nodes), 20, what="registered everywhere")
        procs = []
        for node in cl.nodes:
            procs.append(subprocess.Popen(
                [LOADGEN, "--port", str(node.port), "--mode", "heartbeat", "--rate", "%.0f" % (rate / 3.0),
                 "--instances", str(n), "--conns", "16", "--duration", str(duration), "--warmup", "1"],
                stdout=subprocess.PIPE, text=True))
        samples = {"0.5": [], "0.99": [], "1": []}
        visible = []
        stop = time.monotonic() + duration + 0.5
        c0, c1 = http.Client(cl[0].port), http.Client(cl[1].port)
        time.sleep(1.5)
        k = 0
        next_sample = time.monotonic()
        while time.monotonic() < stop:
            if time.monotonic() >= next_sample:
                for node in cl.nodes:
                    for q, v in lag_samples(node).items():
                        samples.setdefault(q, []).extend(v)
                next_sample += 1.0
            if len(visible) < 200:
                k += 1
                body = json.dumps({"instances": [instance("probe.svc", "p%d" % k)]})
                t0 = time.perf_counter()
                c0.post_json("/api/registry/register.json", body)
                lk = json.dumps({"discoveryConfigs": [{"serviceId": "probe.svc", "regionId": "sha", "zoneId": "sha-z1"}],
                                 "regionId": "sha", "zoneId": "sha-z1"})
                while True:
                    r = c1.post_json("/api/discovery/lookup.json", lk)
                    if any(i["instanceId"] == "p%d" % k for i in (r["services"][0].get("instances") or [])):
                        break
                visible.append((time.perf_counter() - t0) * 1000.0)
                time.sleep(0.02)
            else:
                time.sleep(0.05)
        results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
        visible.sort()
        return {
            "heartbeat_rps_sent": round(sum(r["rps"] for r in results)),
            "heartbeat_errors": sum(r["errors"] for r in results),
            "heartbeat_p99_us": max(r["p99_us"] for r in results),
            "repl_lag_ms_median_of_p50_samples": round(statistics.median(samples["0.5"]) * 1000, 3),
            "repl_lag_ms_median_of_p99_samples": round(statistics.median(samples["0.99"]) * 1000, 3),
            "repl_lag_ms_max_of_p99_samples": round(max(samples["0.99"]) * 1000, 3),
            "write_to_visible_ms_p50": round(visible[len(visible) // 2], 3),
            "write_to_visible_ms_p99": round(visible[int(len(visible) * 0.99) - 1], 3),
            "write_to_visible_samples": len(visible),
        }
    finally:
        cl.cleanup()


def bench_bootstrap(n, hb_rate=1000):
    """Restart node2 while clients heartbeat node0 and node1 open-loop (issue 16 item 2: the
    node serving the copy must keep its clients' heartbeat p99 within 20 ms)."""
    cl = cluster.Cluster(3, extra_args=ARGS, log_level="info")
    try:
        cl.start()
        t0 = time.monotonic()
        loadgen(cl[0].port, "register", "--count", n // 500, "--batch", 500, "--instances", n, "--conns", 4,
                "--services", 1000)
        cluster.wait_until(lambda: instances_of(cl[2]) >= n, 120, interval=0.2,
                           what="node2 has every instance (%s)" % [instances_of(x) for x in cl.nodes])
        load_s = time.monotonic() - t0
        # heartbeats on the two nodes that stay up: 1 s of warm-up, then a window that holds
        # the whole restart (kill at +1.5 s, bootstrap ~2 s)
        window = 6
        procs = [subprocess.Popen(
            [LOADGEN, "--port", str(node.port), "--mode", "heartbeat", "--rate", str(hb_rate),
             "--instances", str(n), "--services", "1000", "--conns", "8", "--duration", str(window),
             "--warmup", "1"], stdout=subprocess.PIPE, text=True) for node in (cl[0], cl[1])]
        time.sleep(2.5)
        cl[2].kill()
        t1 = time.monotonic()
        cl.start_node(2, wait=False)
        cluster.wait_until(lambda: cl[2].health()[0] == 200, 120, interval=0.005, what="node2 ready")
        ready_s = time.monotonic() - t1
        hb = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
        count = instances_of(cl[2])
        m = http.quick_get(cl[2].port, "/metrics").text()
        boot = [float(x.split()[1]) for x in m.splitlines() if x.startswith("artemis_cluster_bootstrap_seconds ")]
        rss = cl[2].rss_kib()
        return {"instances": n, "register_and_replicate_s": round(load_s, 2),
                "restart_to_ready_s": round(ready_s, 3), "bootstrap_copy_s": boot[0] if boot else None,
                "instances_when_ready": count, "rss_kib_after": rss,
                "heartbeat_rate_per_node": hb_rate, "heartbeat_window_s": window,
                "heartbeat_p99_ms_per_node": [round(h["p99_us"] / 1000, 3) for h in hb],
                "heartbeat_max_ms_per_node": [round(h["max_us"] / 1000, 3) for h in hb],
                "heartbeat_errors": sum(h["errors"] + h["conn_errors"] for h in hb),
                "ready_within_window": ready_s + 1.5 < window}
    finally:
        cl.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=10000)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--bootstrap", type=int, default=100000)
    ap.add_argument("--only", choices=["lag", "bootstrap"])
    a = ap.parse_args()
    build_loadgen()
    out = {}
    if a.only != "bootstrap":
        out["lag"] = bench_lag(a.rate, a.duration)
    if a.only != "lag":
        out["bootstrap"] = bench_bootstrap(a.bootstrap)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
