#!/usr/bin/python3
"""cpu_split: where one request's CPU goes, and what more cores would buy (issue 16 item 7).

For register, heartbeat (1 and a batch of 100) and lookup of a 100-instance service:

1. user and system CPU seconds of the server per request, from /proc/PID/stat, during a
   closed-loop loadgen run (system time is the kernel's side of read, write and epoll);
2. the user time split into parts by instruction counts under callgrind (a second, slower run
   with the same request shape): read + parse (HTTP parser, JSON parse and decode), registry
   work (the lease and instance operations, and the discovery lookup of the answer), serialise
   (building and copying the answer, gzip) and the rest (dispatch, libevent, allocation);
3. the throughput a threaded-I/O server (Redis 6's model: I/O threads read, parse, serialise
   and write; the loop thread does only the registry work) would reach on C cores, as a
   pipeline: requests/s scale by 1 / max(m + h, (1 - m + h) / (C - 1)), where m is the share
   that must stay on the loop thread and h the hand-off cost per request between threads
   (assumed 0.5 µs: two queue operations and a wake-up, amortised over a batch).

    build/bench/loadgen must exist (bench/run.py builds it);
    /usr/bin/python3 bench/cpu_split.py --server build/release/bin/artemis-server [--seconds 4]

Prints a table and one JSON line. Instructions are turned into time at the run's average rate,
so parts that stall on memory more than others are mis-weighted; the split is a guide, not a
stopwatch.
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOADGEN = os.path.join(ROOT, "build", "bench", "loadgen")
CLK = os.sysconf("SC_CLK_TCK")
HANDOFF_US = 0.5

# Each part is the inclusive cost of these functions (none calls another part's).
PARTS = {
    "parse": ("srv_http_parser_feed", "artemisi_json_parse", "artemisi_decode_instances",
              "srv_reg_read", "free_params"),
    "registry": ("srv_registry_register", "srv_registry_heartbeat", "srv_registry_unregister",
                 "srv_selfpres_renewal", "srv_cluster_replicate", "srv_registry_service"),
    "serialise": ("send_response_full", "srv_service_append", "srv_gzip"),
}
SCENARIOS = {
    "register": ["--mode", "register", "--conns", 16],
    "heartbeat_1": ["--mode", "heartbeat", "--conns", 16],
    "heartbeat_100": ["--mode", "heartbeat", "--conns", 8, "--batch", 100],
    "lookup": ["--mode", "lookup", "--conns", 16, "--lookup-service", 0],
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) / CLK, int(f[12]) / CLK


def start(server, wrapper=()):
    port, d = free_port(), tempfile.mkdtemp(prefix="artemis-split-")
    p = subprocess.Popen(list(wrapper) + [server, "--listen=127.0.0.1:%d" % port, "--region=sha",
                                          "--zone=sha-z1", "--data-dir=" + d, "--log-level=warn",
                                          "--lease-ttl-ms=600000"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=1).read()
            return p, port
        except OSError:
            time.sleep(0.2)
    p.kill()
    raise SystemExit("server did not start")


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)


def loadgen(port, *args):
    r = subprocess.run([LOADGEN, "--port", str(port)] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit("loadgen: " + r.stderr.strip()[-300:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def preload(port):
    loadgen(port, "--mode", "register", "--count", 1, "--batch", 100, "--conns", 1, "--instances", 100,
            "--services", 1)


def cpu_run(server, args, seconds):
    p, port = start(server)
    try:
        preload(port)
        u0, s0 = cpu(p.pid)
        r = loadgen(port, *args, "--instances", 100, "--services", 1, "--duration", seconds, "--warmup", 1)
        u1, s1 = cpu(p.pid)
    finally:
        stop(p)
    # The warm-up second is load too: scale the CPU to the measured window's requests.
    share = seconds / (seconds + 1.0)
    n = max(1, r["requests"])
    return {"rps": r["rps"], "items_per_s": r["items_per_s"],
            "user_us": (u1 - u0) * share * 1e6 / n, "sys_us": (s1 - s0) * share * 1e6 / n}


def callgrind_run(server, name, args):
    out = os.path.join(tempfile.mkdtemp(prefix="artemis-split-cg-"), "cg.out")
    p, port = start(server, ["valgrind", "-q", "--tool=callgrind", "--callgrind-out-file=" + out])
    try:
        preload(port)
        r = loadgen(port, *args, "--instances", 100, "--services", 1, "--duration", 3, "--warmup", 0)
    finally:
        stop(p)
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], capture_output=True, text=True,
                          timeout=300).stdout
    cost = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \([\s\d.]+%\)\s+\S*:(\w+) \[", line)
        if m:
            cost.setdefault(m.group(2), int(m.group(1).replace(",", "")))
    n = max(1, r["requests"])
    parts = {k: sum(cost.get(f, 0) for f in fns) / n for k, fns in PARTS.items()}
    total = cost.get("conn_read_cb", 0) / n
    parts["other"] = max(0.0, total - sum(parts.values()))
    return {"instructions_per_request": round(total), "parts": {k: round(v) for k, v in parts.items()}}


def speedup(m_us, total_us, cores):
    """Pipeline throughput on `cores` over one loop doing everything."""
    if cores < 2:
        return 1.0
    per_req = max(m_us + HANDOFF_US, (total_us - m_us + HANDOFF_US) / (cores - 1))
    return total_us / per_req


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default=os.path.join(ROOT, "build", "release", "bin", "artemis-server"))
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--only", default="")
    opt = ap.parse_args()
    res = {}
    for name, args in SCENARIOS.items():
        if opt.only and name not in opt.only.split(","):
            continue
        c = cpu_run(opt.server, args, opt.seconds)
        g = callgrind_run(opt.server, name, args)
        user, sys_ = c["user_us"], c["sys_us"]
        tot_i = max(1, sum(g["parts"].values()))
        us = {k: user * v / tot_i for k, v in g["parts"].items()}
        us["kernel (read, write, epoll)"] = sys_
        total = user + sys_
        loop_only = us["registry"]  # everything else can run on an I/O thread
        res[name] = {"rps": round(c["rps"]), "items_per_s": round(c["items_per_s"]),
                     "cpu_us_per_request": round(total, 2),
                     "split_us": {k: round(v, 2) for k, v in us.items()},
                     "split_share": {k: round(v / total, 3) for k, v in us.items()},
                     "instructions": g,
                     "loop_share": round(loop_only / total, 3),
                     "predicted_speedup": {str(n): round(speedup(loop_only, total, n), 2) for n in (2, 4, 8, 16)}}
    for name, r in res.items():
        print("%-14s %8s req/s  %6.2f µs CPU/req  loop-only %4.1f %%  ->  x%s on 4 cores, x%s on 8, x%s on 16" % (
            name, r["rps"], r["cpu_us_per_request"], 100 * r["loop_share"], r["predicted_speedup"]["4"],
            r["predicted_speedup"]["8"], r["predicted_speedup"]["16"]))
        print("               " + ", ".join("%s %.1f %%" % (k, 100 * v) for k, v in r["split_share"].items()))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
