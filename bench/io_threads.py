#!/usr/bin/python3
"""io_threads: what --io-threads=N does to throughput and where each request's CPU goes.

artemis-server with --io-threads=N > 0 gives the sockets of plain HTTP connections to N
threads (each with its own libevent base) that read, parse and write; the loop thread (the
process's main thread, TID == PID) does the routing, the registry work and builds the answers.
With N = 0 the loop does everything. This script starts one server per N in --threads (default
0,1,2), each with 10,000 instances in 100-instance services (as the http rows of run.py), and
runs the http rows' four scenarios against each, closed loop:

    register       1 instance/request, 64 conns      req/s
    heartbeat_1    1 instance/request, 32 conns      req/s
    heartbeat_100  100 instances/request, 8 conns    renewals/s (items_per_s)
    lookup         a 100-instance service, 32 conns  req/s

For every run it records the rate, p99 and errors, and the CPU of each server thread from
/proc/PID/task/TID/stat (utime + stime) before and after: the loop is TID == PID, the I/O
threads are the other threads that gained at least 1 % of the run (an idle management-store
worker gains nothing). Per request: loop µs (L), I/O-thread µs summed over the I/O threads (T),
total server µs. From each N >= 1's split (medians over runs) and the one-loop server's cost
S (total µs/request at N = 0) it predicts the throughput on C cores with C - 1 I/O threads, as
a pipeline whose slowest stage sets the rate:

    rate_C / rate_one_loop = S / max(L, T / (C - 1))      for C = 4, 8, 16

and prints beside it the rate measured here at N over the rate at N = 0. The load generator
runs on the same cores (this VM has 2), so the measured ratio is bounded by what the cores
left to the server; its CPU is reported, and so is the CPU used by everything else on the
machine (busy time from /proc/stat minus server and load generator) and the load average at
start. The servers stay up side by side and the runs are interleaved (run k of every N for a
scenario, then run k + 1), so that a change in the machine's other load hits every N alike.

    build/bench/loadgen must exist (bench/run.py builds it);
    /usr/bin/python3 bench/io_threads.py [--server PATH] [--threads 0,1,2] [--runs 3]
        [--seconds 4] [--quick]

Prints progress on stderr, a table on stdout and, last, one JSON line with every run and the
medians (bench/run.py's io_threads part reads that line). --quick: 1 run of 1 s, threads 0,1.
"""

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOADGEN = os.path.join(ROOT, "build", "bench", "loadgen")
CLK = os.sysconf("SC_CLK_TCK")
INSTANCES = 10000
CORES = (4, 8, 16)
# Threads that gained less than this share of the run's wall time are not I/O threads (the
# idle management-store worker, a stray timer): counting them would only add noise to T.
MIN_THREAD_SHARE = 0.01
# name -> (loadgen arguments, the rate's key): the http rows of run.py, so the N = 0 figures
# are comparable with the report's register/heartbeat/lookup rows.
SCENARIOS = {
    "register": (["--mode", "register", "--conns", 64, "--instances", INSTANCES], "rps"),
    "heartbeat_1": (["--mode", "heartbeat", "--conns", 32, "--instances", INSTANCES], "rps"),
    "heartbeat_100": (["--mode", "heartbeat", "--conns", 8, "--batch", 100,
                       "--instances", INSTANCES], "items_per_s"),
    "lookup": (["--mode", "lookup", "--conns", 32, "--lookup-service", 0], "rps"),
}
STARTED = []  # (Popen, temp dir) of every server started here, stopped by PID at exit


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def thread_ticks(pid):
    """TID -> (utime, stime) in clock ticks for every thread of `pid`."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                # the command name may hold spaces or ')': the fields start after the last ')'
                fld = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended between listdir and open
        out[int(tid)] = (int(fld[11]), int(fld[12]))
    return out


def busy_seconds():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / CLK  # all but idle and iowait


def children_cpu():
    # loadgen is the only child reaped while a run is measured (the servers are reaped at the end)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def start(server, io_threads, extra=()):
    """A server and its port. io_threads None: no --io-threads at all (a build from before it,
    bench/ab.py); extra: more arguments."""
    port, d = free_port(), tempfile.mkdtemp(prefix="artemis-iothr-")
    # the same settings as run.py's artemis(): no rate limiter or lease safe-checker in the way
    # of a closed loop, leases that outlive the run, room for every connection
    p = subprocess.Popen([server, "--listen=127.0.0.1:%d" % port, "--region=sha", "--zone=sha-z1",
                          "--data-dir=" + d, "--log-level=warn",
                          "--artemis.service.registry.rate-limiter.enabled=false",
                          "--lease-ttl-ms=600000",
                          "--artemis.service.registry.instance.lease-manager"
                          ".lease-update-safe-checker.enabled=false",
                          "--http.max-connections=30000", "--http.max-connections-per-address=0"]
                         + ([] if io_threads is None else ["--io-threads=%d" % io_threads])
                         + list(extra),
                         cwd=d, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    STARTED.append((p, d))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise SystemExit("server --io-threads=%s exited with %d" % (io_threads, p.returncode))
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=1).read()
            return p, port
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server --io-threads=%s not ready in 30 s" % io_threads)


def stop(p, d):
    if p.poll() is None:
        os.kill(p.pid, signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(5)
    shutil.rmtree(d, ignore_errors=True)


def loadgen(port, args, timeout):
    r = subprocess.run([LOADGEN, "--port", str(port)] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise SystemExit("loadgen %s: %s" % (" ".join(map(str, args)), r.stderr.strip()[-300:]))
    return json.loads(r.stdout.strip().splitlines()[-1])


def preload(port):
    r = loadgen(port, ["--mode", "register", "--count", INSTANCES // 100, "--batch", 100,
                       "--conns", 4, "--instances", INSTANCES], 120)
    if r["errors"] or r.get("conn_errors"):
        raise SystemExit("preload failed: %s" % r)


def measured_run(pid, port, args, key, seconds, warmup):
    """One closed-loop loadgen run and the server's per-thread CPU over it."""
    t0 = thread_ticks(pid)
    b0, l0, w0 = busy_seconds(), children_cpu(), time.monotonic()
    r = loadgen(port, args + ["--duration", seconds, "--warmup", warmup], seconds + warmup + 120)
    el = time.monotonic() - w0
    b1, l1, t1 = busy_seconds(), children_cpu(), thread_ticks(pid)
    gained = {}
    for tid, (u, s) in t1.items():
        u0, s0 = t0.get(tid, (0, 0))
        gained[tid] = ((u - u0) / CLK, (s - s0) / CLK)
    loop_u, loop_s = gained.get(pid, (0.0, 0.0))
    io = {tid: v for tid, v in gained.items()
          if tid != pid and v[0] + v[1] >= MIN_THREAD_SHARE * el}
    io_u, io_s = sum(v[0] for v in io.values()), sum(v[1] for v in io.values())
    total = sum(v[0] + v[1] for v in gained.values())
    # CPU over the whole loadgen run (warm-up in) over the requests of the whole run, taken to
    # go at the measured window's rate, as run.py's cpu_us_per_req
    reqs = max(1.0, r["rps"] * el)
    server_cpu, loadgen_cpu = total / el, (l1 - l0) / el
    return {
        "rate": r[key], "rps": r["rps"], "items_per_s": r["items_per_s"], "p99_us": r["p99_us"],
        "p50_us": r["p50_us"], "errors": r["errors"], "conn_errors": r.get("conn_errors", 0),
        "requests": r["requests"], "elapsed_s": round(el, 3),
        "loop_us": round((loop_u + loop_s) * 1e6 / reqs, 3),
        "loop_user_us": round(loop_u * 1e6 / reqs, 3), "loop_sys_us": round(loop_s * 1e6 / reqs, 3),
        "io_us": round((io_u + io_s) * 1e6 / reqs, 3),
        "io_user_us": round(io_u * 1e6 / reqs, 3), "io_sys_us": round(io_s * 1e6 / reqs, 3),
        "total_us": round(total * 1e6 / reqs, 3),
        "io_threads_seen": len(io),
        "io_thread_cpu": sorted((round((v[0] + v[1]) / el, 3) for v in io.values()), reverse=True),
        "loop_cpu": round((loop_u + loop_s) / el, 3), "server_cpu": round(server_cpu, 3),
        "loadgen_cpu": round(loadgen_cpu, 3),
        # cores kept busy by everything else on the machine: the noise indicator
        "other_cpu": round(max(0.0, (b1 - b0) / el - server_cpu - loadgen_cpu), 3),
    }


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def predict(s_us, loop_us, io_us, cores):
    """Throughput on `cores` (cores - 1 I/O threads) over the one-loop server's."""
    stage = max(loop_us, io_us / (cores - 1))
    return round(s_us / stage, 2) if stage > 0 else None


def main():
    server = os.path.join(ROOT, "build", "release", "bin", "artemis-server")
    if not os.path.exists(server):
        server = os.path.join(ROOT, "build", "bin", "artemis-server")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default=server)
    ap.add_argument("--threads", default="0,1,2", help="comma list of --io-threads values")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4.0, help="measured seconds per run")
    ap.add_argument("--only", default="", help="comma list of scenarios")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 run of 1 s, threads 0,1")
    opt = ap.parse_args()
    if opt.quick:
        opt.runs, opt.seconds, opt.threads = 1, 1.0, "0,1"
    warmup = 0.3 if opt.quick else 1.0
    threads = sorted({int(x) for x in opt.threads.split(",") if x.strip()})
    if 0 not in threads:
        ap.error("--threads must include 0: the predictions are relative to the one-loop server")
    server = os.path.abspath(opt.server)
    if not os.access(server, os.X_OK):
        raise SystemExit(server + " not built")
    if not os.access(LOADGEN, os.X_OK):
        raise SystemExit(LOADGEN + " not built (bench/run.py builds it)")
    scen = {k: v for k, v in SCENARIOS.items() if not opt.only or k in opt.only.split(",")}
    with open("/proc/loadavg") as f:
        loadavg = " ".join(f.read().split()[:3])
    res = {"server": server, "threads": threads, "runs": opt.runs, "seconds": opt.seconds,
           "warmup_s": warmup, "instances": INSTANCES, "cpus": os.cpu_count(),
           "loadavg_at_start": loadavg, "scenarios": {}}
    servers = {}
    try:
        for n in threads:
            p, port = start(server, n)
            preload(port)
            servers[n] = (p, port)
            log("server --io-threads=%d: pid %d, port %d, %d instances" % (n, p.pid, port, INSTANCES))
        for name, (args, key) in scen.items():
            runs = {n: [] for n in threads}
            for k in range(opt.runs):
                for n in threads:
                    p, port = servers[n]
                    r = measured_run(p.pid, port, args, key, opt.seconds, warmup)
                    runs[n].append(r)
                    log("  %-13s N=%d run %d: %9.0f/s p99 %6.0f us err %d  loop %.2f io %.2f "
                        "total %.2f us/req (%d io thr)  cpu srv %.2f lg %.2f other %.2f" % (
                            name, n, k + 1, r["rate"], r["p99_us"], r["errors"] + r["conn_errors"],
                            r["loop_us"], r["io_us"], r["total_us"], r["io_threads_seen"],
                            r["server_cpu"], r["loadgen_cpu"], r["other_cpu"]))
            res["scenarios"][name] = summarise(name, key, runs, threads)
    finally:
        for p, d in STARTED:
            stop(p, d)
    others = [r["other_cpu"] for s in res["scenarios"].values() for v in s["by_threads"].values()
              for r in v["runs"]]
    res["other_cpu_median"] = round(statistics.median(others), 2) if others else None
    res["other_cpu_max"] = round(max(others), 2) if others else None
    print_table(res)
    print(json.dumps(res))


def summarise(name, key, runs, threads):
    by = {}
    for n in threads:
        rs = runs[n]
        by[str(n)] = {
            "rate": med(rs, "rate"), "rate_runs": [r["rate"] for r in rs],
            "p99_us": med(rs, "p99_us"), "errors": sum(r["errors"] + r["conn_errors"] for r in rs),
            "loop_us": med(rs, "loop_us"), "io_us": med(rs, "io_us"), "total_us": med(rs, "total_us"),
            "server_cpu": med(rs, "server_cpu"), "loadgen_cpu": med(rs, "loadgen_cpu"),
            "other_cpu": med(rs, "other_cpu"),
            "io_threads_seen": sorted({r["io_threads_seen"] for r in rs}),
            "runs": rs}
    base = by["0"]
    s_us = base["total_us"]
    for n in threads:
        b = by[str(n)]
        b["ratio_to_0"] = round(b["rate"] / base["rate"], 3) if base["rate"] else None
        # runs k of every N ran back to back: their ratio is the paired comparison
        b["ratio_to_0_runs"] = [round(r["rate"] / r0["rate"], 3) if r0["rate"] else None
                                for r, r0 in zip(b["runs"], base["runs"])]
        if n == 0:
            continue
        b["predicted"] = {str(c): predict(s_us, b["loop_us"], b["io_us"], c) for c in (2,) + CORES}
        # each run's own split against the median one-loop cost: the spread of the prediction
        b["predicted_runs"] = {str(c): [predict(s_us, r["loop_us"], r["io_us"], c) for r in b["runs"]]
                               for c in CORES}
    # the bar reads the more pessimistic split among the N >= 1 measured
    preds = [(by[str(n)]["predicted"]["4"] or 0, n) for n in threads if n > 0]
    low = min(preds) if preds else None
    return {"key": key, "unit": "renewals/s" if key == "items_per_s" else "req/s",
            "one_loop_us": s_us, "by_threads": by,
            "predicted_bar": ({"io_threads": low[1], **by[str(low[1])]["predicted"],
                               "runs_4": by[str(low[1])]["predicted_runs"]["4"]} if low else None)}


def print_table(res):
    print("io_threads: %s, %d run(s) of %.1f s (+%.1f s warm-up) per N and scenario, %d CPUs, "
          "load average at start %s" % (os.path.basename(res["server"]), res["runs"],
                                        res["seconds"], res["warmup_s"], res["cpus"],
                                        res["loadavg_at_start"]))
    print("the load generator runs on the same cores; other load (cores busy outside server and "
          "load generator): median %s, max %s" % (res["other_cpu_median"], res["other_cpu_max"]))
    print()
    print("%-14s %2s %11s %6s %9s %4s %7s %7s %8s %5s %5s %5s %5s  %s" % (
        "scenario", "N", "rate/s", "x N/0", "p99 us", "err", "loop us", "io us", "total us",
        "iothr", "srv", "lg", "other", "x4/x8/x16"))
    for name, s in res["scenarios"].items():
        for n, b in s["by_threads"].items():
            pr = b.get("predicted")
            print("%-14s %2s %11.0f %6.2f %9.0f %4d %7.2f %7.2f %8.2f %5s %5.2f %5.2f %5.2f  %s" % (
                name, n, b["rate"], b["ratio_to_0"] or 0, b["p99_us"], b["errors"], b["loop_us"],
                b["io_us"], b["total_us"], "/".join(map(str, b["io_threads_seen"])),
                b["server_cpu"], b["loadgen_cpu"], b["other_cpu"],
                "%s/%s/%s" % (pr["4"], pr["8"], pr["16"]) if pr else "-"))
    print()
    print("rate: median (%s for heartbeat_100); x N/0: rate at N over rate at N = 0 on this "
          "machine; loop/io/total us: server CPU per request (io = sum over the I/O threads); "
          "iothr: threads besides the loop that gained >= 1 %% of the run; srv/lg/other: cores "
          "used by the server, the load generator and everything else; x4/x8/x16: predicted "
          "throughput on 4/8/16 cores (C - 1 I/O threads) over the one-loop server, "
          "S / max(L, T / (C - 1)) with S = total us at N = 0" % "renewals/s")


if __name__ == "__main__":
    main()
