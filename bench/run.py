#!/usr/bin/env python3
"""Benchmark driver for artemis-server (run by `make bench`).

Builds bench/loadgen.c, starts build/bin/artemis-server on a free loopback port with the registry
rate limiter off, then measures:
  1. memory: RSS (VmRSS) and artemis_registry_memory_bytes before/after registering
     10000 instances (100 services x 100), one instance per request;
  2. heartbeat throughput over those 10000 instances (round-robin);
  3. lookup.json of one 100-instance service;
  4. register throughput (re-registers the same 10000 instances, round-robin);
  5. services.json (all 10000 instances, ~3 MB uncompressed) with 4 connections.
Each of 2-5 runs 3 times; the table shows the median of each figure and the error total.
Results (every run, plus the medians) go to build/bench/results.json. Everything is bounded:
each loadgen run has a timeout, and the server is stopped by PID with SIGTERM (SIGKILL after 5 s).
"""

import argparse
import datetime
import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, "build", "bin", "artemis-server")
OUT_DIR = os.path.join(ROOT, "build", "bench")
LOADGEN = os.path.join(OUT_DIR, "loadgen")
LOADGEN_SRC = os.path.join(ROOT, "bench", "loadgen.c")

SERVICES = 100
PER_SERVICE = 100
INSTANCES = SERVICES * PER_SERVICE
CLK_TCK = os.sysconf("SC_CLK_TCK")


def build_loadgen():
    os.makedirs(OUT_DIR, exist_ok=True)
    subprocess.run(["cc", "-O2", "-std=c11", "-D_GNU_SOURCE", "-o", LOADGEN, LOADGEN_SRC, "-lm"],
                   check=True, cwd=ROOT, timeout=120)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=10):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.read()


def http_post_json(port, path, obj, timeout=10):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(obj).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def metrics(port):
    out = {}
    for line in http_get(port, "/metrics").decode().splitlines():
        if line.startswith("artemis_") and "{" not in line:
            name, _, value = line.partition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is state (field 3); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Server:
    def __init__(self, port, data_dir):
        self.port = port
        args = [SERVER, f"--listen=127.0.0.1:{port}", "--region=sha", "--zone=sha-z1",
                "--log-level=warn", f"--data-dir={data_dir}",
                "--artemis.service.registry.rate-limiter.enabled=false",
                # keep the 10000 instances alive across the whole run (phases 3 and 5 send no
                # heartbeats); the default 20 s TTL would let them expire mid-run
                "--lease-ttl-ms=600000",
                # and no self-preservation switching on when the heartbeat phase ends
                "--artemis.service.registry.instance.lease-manager.lease-update-safe-checker"
                ".enabled=false"]
        self.proc = subprocess.Popen(args, cwd=data_dir, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                http_get(port, "/health", timeout=1)
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("server did not become ready in 10 s")
                time.sleep(0.05)

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


def cpu_ticks():
    """(steal, busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        vals = [int(v) for v in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice, included in user/nice]
    total = sum(vals[:8])
    return (vals[7] if len(vals) > 7 else 0), total - vals[3] - vals[4], total


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def loadgen(server, mode, conns, duration, warmup, extra=()):
    args = [LOADGEN, "--port", str(server.port), "--mode", mode, "--conns", str(conns),
            "--duration", str(duration), "--warmup", str(warmup),
            "--services", str(SERVICES), "--instances", str(INSTANCES), *extra]
    cpu0, t0, (st0, busy0, tot0) = cpu_seconds(server.pid), time.monotonic(), cpu_ticks()
    lg0 = children_cpu()
    p = subprocess.run(args, capture_output=True, text=True, timeout=duration + warmup + 70)
    cpu1, t1, (st1, busy1, tot1) = cpu_seconds(server.pid), time.monotonic(), cpu_ticks()
    lg1 = children_cpu()
    if p.returncode != 0:
        raise RuntimeError(f"loadgen failed: {p.stderr.strip()}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    # server CPU over the whole loadgen process lifetime (warm-up included), 1.0 = one core
    res["server_cpu"] = round((cpu1 - cpu0) / (t1 - t0), 3)
    # share of the VM's CPU time the hypervisor gave to someone else (noise indicator)
    res["steal"] = round((st1 - st0) / max(1, tot1 - tot0), 3)
    res["loadgen_cpu"] = round((lg1 - lg0) / (t1 - t0), 3)
    # cores kept busy by everything else on the machine (other users' builds and tests)
    res["other_cpu"] = round(max(0.0, (busy1 - busy0) / CLK_TCK / (t1 - t0)
                                 - res["server_cpu"] - res["loadgen_cpu"]), 3)
    return res


def median_of(runs):
    keys = ["rps", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "server_cpu",
            "loadgen_cpu", "other_cpu", "steal"]
    med = {k: statistics.median(r[k] for r in runs) for k in keys}
    med["rps_min"] = min(r["rps"] for r in runs)
    med["rps_max"] = max(r["rps"] for r in runs)
    med["errors"] = sum(r["errors"] for r in runs)
    med["requests"] = sum(r["requests"] for r in runs)
    med["bytes_per_response"] = round(sum(r["bytes_in"] for r in runs) / max(1, med["requests"]))
    return med


def machine_info():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "?"
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cpus": os.cpu_count(), "cpu_model": cpu, "kernel": platform.release(),
            "commit": commit}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=5.0, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per run")
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--conns", type=int, default=32, help="connections (services.json uses 4)")
    opt = ap.parse_args()
    if not (0 < opt.duration <= 60 and 0 <= opt.warmup <= 10 and 1 <= opt.runs <= 9):
        ap.error("out of range")

    if not os.access(SERVER, os.X_OK):
        sys.exit(f"{SERVER} not built; run `make` first")
    build_loadgen()
    info = machine_info()
    results = {"machine": info, "config": vars(opt), "benchmarks": {}}
    data_dir = tempfile.mkdtemp(prefix="artemis-bench-")
    server = Server(free_port(), data_dir)
    started = time.monotonic()
    try:
        # (1) memory per instance: one registration per instance, each exactly once
        time.sleep(0.2)
        m0, r0 = metrics(server.port), rss_kb(server.pid)
        reg = loadgen(server, "register", opt.conns, 1, 0,
                      ["--count", str(INSTANCES), "--max-seconds", "60"])
        time.sleep(0.3)  # let the services.json snapshot etc. settle
        m1, r1 = metrics(server.port), rss_kb(server.pid)
        if reg["errors"] or reg["incomplete"] or m1.get("artemis_instances") != INSTANCES:
            raise RuntimeError(f"initial registration failed: {reg}, "
                               f"instances={m1.get('artemis_instances')}")
        mem = {
            "instances": INSTANCES,
            "rss_before_kb": r0, "rss_after_kb": r1,
            "rss_bytes_per_instance": round((r1 - r0) * 1024 / INSTANCES),
            "metric_before": m0.get("artemis_registry_memory_bytes"),
            "metric_after": m1.get("artemis_registry_memory_bytes"),
            "metric_bytes_per_instance": round((m1["artemis_registry_memory_bytes"]
                                                - m0["artemis_registry_memory_bytes"]) / INSTANCES),
            "register_10000": reg,
        }
        results["memory"] = mem

        # sanity: the lookup target really holds 100 instances, services.json all 10000
        lk = http_post_json(server.port, "/api/discovery/lookup.json", {
            "discoveryConfigs": [{"serviceId": "bench.service.0"}],
            "regionId": "sha", "zoneId": "sha-z1"})
        n_lookup = len(lk["services"][0]["instances"] or [])
        if n_lookup != PER_SERVICE:
            raise RuntimeError(f"lookup returned {n_lookup} instances, want {PER_SERVICE}")

        plan = [
            ("heartbeat", "heartbeat", opt.conns, []),
            ("lookup (100 inst.)", "lookup", opt.conns, ["--lookup-service", "0"]),
            ("register (re-reg.)", "register", opt.conns, []),
            ("services.json (10k)", "services", 4, []),
        ]
        for label, mode, conns, extra in plan:
            runs = [loadgen(server, mode, conns, opt.duration, opt.warmup, extra)
                    for _ in range(opt.runs)]
            inst = metrics(server.port).get("artemis_instances")
            results["benchmarks"][label] = {"mode": mode, "conns": conns, "runs": runs,
                                            "median": median_of(runs),
                                            "instances_after": inst}
            if inst != INSTANCES:
                print(f"warning: {inst} instances after {label}", file=sys.stderr)

        svc = json.loads(http_get(server.port, "/api/discovery/services.json", timeout=30))
        n_all = sum(len(s["instances"] or []) for s in svc["services"])
        results["services_json_instances"] = n_all
        results["final_rss_kb"] = rss_kb(server.pid)
        results["final_metrics"] = {k: v for k, v in metrics(server.port).items()
                                    if k in ("artemis_instances", "artemis_services",
                                             "artemis_registry_memory_bytes",
                                             "artemis_registrations_total",
                                             "artemis_renewals_total",
                                             "artemis_renewals_failed_total",
                                             "artemis_leases_expired_total")}
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", data_dir], timeout=30)
    results["total_seconds"] = round(time.monotonic() - started, 1)

    with open(os.path.join(OUT_DIR, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print_table(results)


def print_table(res):
    info, mem = res["machine"], res["memory"]
    print(f"artemis-server benchmark  {info['date']}  commit {info['commit']}  "
          f"{info['cpus']} CPU ({info['cpu_model']}), kernel {info['kernel']}")
    print(f"{res['config']['runs']} runs x ({res['config']['warmup']:g} s warm-up + "
          f"{res['config']['duration']:g} s), median per figure, errors summed; "
          f"loadgen and server share the machine")
    print()
    hdr = (f"{'benchmark':<21}{'conns':>6}{'req/s':>8}{'(min-max)':>15}{'p50 us':>8}"
           f"{'p90 us':>8}{'p99 us':>8}{'p99.9 us':>9}{'errors':>7}{'srv CPU':>8}{'other':>6}"
           f"{'resp B':>9}")
    print(hdr)
    print("-" * len(hdr))
    for label, b in res["benchmarks"].items():
        m = b["median"]
        rng = f"({m['rps_min']:.0f}-{m['rps_max']:.0f})"
        print(f"{label:<21}{b['conns']:>6}{m['rps']:>8.0f}{rng:>15}{m['p50_us']:>8.0f}"
              f"{m['p90_us']:>8.0f}{m['p99_us']:>8.0f}{m['p999_us']:>9.0f}{m['errors']:>7}"
              f"{m['server_cpu'] * 100:>7.0f}%{m['other_cpu'] * 100:>5.0f}%"
              f"{m['bytes_per_response']:>9}")
    reg = mem["register_10000"]
    print()
    print(f"memory: {mem['instances']} instances in {SERVICES} services registered in "
          f"{reg['window_s']:.2f} s ({reg['rps']:.0f} req/s, one instance per request)")
    print(f"  RSS {mem['rss_before_kb']} kB -> {mem['rss_after_kb']} kB = "
          f"{mem['rss_bytes_per_instance']} B/instance; artemis_registry_memory_bytes "
          f"{mem['metric_before']:.0f} -> {mem['metric_after']:.0f} = "
          f"{mem['metric_bytes_per_instance']} B/instance")
    print(f"  after all runs: RSS {res['final_rss_kb']} kB, "
          f"registry_memory_bytes {res['final_metrics'].get('artemis_registry_memory_bytes', 0):.0f}, "
          f"services.json held {res['services_json_instances']} instances")
    print(f"total {res['total_seconds']} s; full results in build/bench/results.json")


if __name__ == "__main__":
    main()
