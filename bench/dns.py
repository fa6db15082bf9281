#!/usr/bin/env python3
"""DNS benchmark: artemis-sidecar against dnsmasq serving the same records, in the same run.

Issue 4's closing bar: queries per second and latency measured with dnsperf against the
sidecar's DNS endpoint and, minutes apart on the same machine, against dnsmasq answering the
same names with the same addresses from a hosts file. The sidecar should not be slower.

What it does (stdlib only; `python3 bench/dns.py --help`):
  1. installs dnsperf, dnsmasq-base and bind9-dnsutils with apt-get, only if missing;
  2. starts build/bin/artemis-server on a free 127.0.0.1 port and registers S services x I
     instances (default 100 x 5) with register.json (lease TTL raised so nothing expires);
  3. starts build/bin/artemis-sidecar (app without a health URL, dns.listen and http.listen on
     free ports) and dnsmasq (--no-daemon, --no-resolv, --no-hosts, --addn-hosts=<one line
     "IP name" per instance>, --cache-size=0, --local-ttl = the sidecar's dns.ttl);
  4. asks both for every name once (this warms the sidecar: its first query for a service
     waits for the SDK's first view) and checks both answer exactly the registry's addresses;
  5. runs dnsperf (UDP, closed loop: -c clients, -q queries outstanding, -l seconds) on one
     query file of A queries for the S names, alternating sidecar / dnsmasq, --runs each, and
     one extra `-v` run each from which per-query latencies give p50/p99 (dnsperf 2.10 prints
     only average/min/max/stddev, no percentiles);
  6. with --profile, runs each server again under valgrind --tool=callgrind for a short dnsperf
     run: instructions per answered query and the top functions (build/bench/dns-callgrind.*);
  7. prints a table and the ratio sidecar/dnsmasq, writes build/bench/dns.json.

Every process started here is stopped by its PID (SIGTERM, then SIGKILL); the whole run is
bounded (about 80 s with the defaults, 100 s with --profile).
"""

import argparse
import datetime
import glob
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "build", "bench")
SERVER = os.environ.get("ARTEMIS_SERVER") or os.path.join(ROOT, "build", "bin", "artemis-server")
SIDECAR = os.environ.get("ARTEMIS_SIDECAR") or os.path.join(ROOT, "build", "bin", "artemis-sidecar")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PROCS = []  # (name, Popen) of every child started here, stopped by PID at exit
TTL = 5
REGION = ZONE = "default"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- tools --------------------------------------------------------------------------------------


def which(name):
    return shutil.which(name) or next((p for p in ("/usr/sbin/" + name, "/sbin/" + name) if os.path.exists(p)), None)


def ensure_tools():
    """apt-get install only what is missing. dnsmasq-base is the dnsmasq binary without the
    `dnsmasq` package's system service (which would try to take port 53 when installed)."""
    need = [pkg for tool, pkg in (("dnsperf", "dnsperf"), ("dnsmasq", "dnsmasq-base"), ("dig", "bind9-dnsutils"))
            if which(tool) is None]
    if need:
        log("installing %s" % " ".join(need))
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        cmd = ["apt-get", "install", "-y", "--no-install-recommends"] + need
        if os.geteuid() != 0:
            cmd = ["sudo", "-n"] + cmd
        if subprocess.run(cmd, env=env, timeout=300).returncode != 0:
            subprocess.run(cmd[:-len(need) - 3] + ["apt-get", "update"], env=env, timeout=300)
            subprocess.run(cmd, env=env, timeout=300, check=True)
    for tool in ("dnsperf", "dnsmasq"):
        if which(tool) is None:
            sys.exit("bench/dns.py: %s not found after apt-get" % tool)
    for binary in (SERVER, SIDECAR):
        if not os.access(binary, os.X_OK):
            sys.exit("bench/dns.py: %s does not exist (run `make`)" % binary)


def tool_version(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        text = (p.stdout + p.stderr).strip().splitlines()
        return next((line.strip() for line in text if re.search(r"\d+\.\d+", line)), "?")
    except (OSError, subprocess.SubprocessError):
        return "?"


# ---- processes ----------------------------------------------------------------------------------


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    sys.exit("bench/dns.py: no free port")


def spawn(name, argv, logdir):
    f = open(os.path.join(logdir, name + ".log"), "wb")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, close_fds=True)
    f.close()
    PROCS.append((name, p))
    return p


def stop_proc(p, sig=signal.SIGTERM):
    if p.poll() is not None:
        return
    try:
        os.kill(p.pid, sig)
        p.wait(5)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait(5)
    except ProcessLookupError:
        pass


def stop_all():
    for _, p in reversed(PROCS):
        stop_proc(p)


def cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except OSError:
        return 0


def total_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]  # all, idle + iowait


def wait_until(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if fn():
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit("bench/dns.py: timed out waiting for %s" % what)


def alive(p, name, logdir):
    if p.poll() is not None:
        with open(os.path.join(logdir, name + ".log"), "rb") as f:
            tail = f.read()[-1500:].decode("utf-8", "replace")
        sys.exit("bench/dns.py: %s exited with %s:\n%s" % (name, p.returncode, tail))
    return True


# ---- registry -----------------------------------------------------------------------------------


def post(port, path, obj):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        body = json.dumps(obj).encode()
        c.request("POST", path, body, {"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"{}")
    finally:
        c.close()


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def service_name(s):
    return "bench-dns-%03d" % s


def instances(services, per):
    out = []
    for s in range(services):
        for i in range(per):
            ip = "10.%d.%d.%d" % (1 + s // 250, s % 250, 1 + i)
            out.append({"serviceId": service_name(s), "instanceId": "%s:8080" % ip, "ip": ip, "port": 8080,
                        "protocol": "http", "regionId": REGION, "zoneId": ZONE, "status": "up",
                        "url": "http://%s:8080/" % ip, "groupId": None, "healthCheckUrl": None,
                        "machineName": None, "metadata": None})
    return out


def register_all(port, insts):
    for k in range(0, len(insts), 100):
        code, r = post(port, "/api/registry/register.json", {"instances": insts[k:k + 100]})
        if code != 200 or (r.get("responseStatus") or {}).get("status") != "success":
            sys.exit("bench/dns.py: register.json failed: %s %s" % (code, str(r)[:300]))


# ---- DNS by hand (the warm-up and the answer check) ---------------------------------------------


def query(port, name, qid):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(lab)]) + lab.encode() for lab in name.split(".")) + b"\x00" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3.0)
        s.sendto(q, ("127.0.0.1", port))
        msg, _ = s.recvfrom(65535)
    rid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    if rid != qid:
        raise AssertionError("answer id %d != %d" % (rid, qid))
    off = 12 + len(q) - 12  # the question is echoed as sent
    addrs = []
    for _ in range(an):
        while msg[off] and msg[off] & 0xC0 != 0xC0:
            off += 1 + msg[off]
        off += 2 if msg[off] & 0xC0 == 0xC0 else 1
        rtype, _, ttl, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        if rtype == 1:
            addrs.append(socket.inet_ntoa(msg[off:off + 4]))
        off += rdlen
    return flags & 0xF, sorted(addrs)


def check_answers(port, label, names, want):
    for k, name in enumerate(names):
        rcode, addrs = query(port, name, k + 1)
        if rcode != 0 or addrs != want[name]:
            sys.exit("bench/dns.py: %s answered %s rcode %d %s, the registry holds %s" %
                     (label, name, rcode, addrs, want[name]))


# ---- dnsperf ------------------------------------------------------------------------------------


def parse_dnsperf(text):
    def num(pattern):
        m = re.search(pattern, text)
        return float(m.group(1)) if m else None
    out = {
        "sent": num(r"Queries sent:\s+(\d+)"),
        "completed": num(r"Queries completed:\s+(\d+)"),
        "lost": num(r"Queries lost:\s+(\d+)"),
        "qps": num(r"Queries per second:\s+([\d.]+)"),
        "avg_us": num(r"Average Latency \(s\):\s+([\d.]+)"),
        "min_us": num(r"Average Latency \(s\):\s+[\d.]+ \(min ([\d.]+)"),
        "max_us": num(r"Average Latency \(s\):.*max ([\d.]+)\)"),
        "stddev_us": num(r"Latency StdDev \(s\):\s+([\d.]+)"),
        "resp_size": num(r"Average packet size:.*response (\d+)"),
    }
    for k in ("avg_us", "min_us", "max_us", "stddev_us"):
        if out[k] is not None:
            out[k] = round(out[k] * 1e6, 1)
    m = re.search(r"Response codes:\s+(.*)", text)
    out["rcodes"] = m.group(1).strip() if m else ""
    return out


def percentile(sorted_vals, p):
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def dnsperf(args, port, qfile, server_pid, verbose=False):
    argv = ["taskset", "-c", args.client_cpus] if args.client_cpus else []
    argv += ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l", str(args.seconds),
             "-c", str(args.clients), "-T", str(args.threads), "-q", str(args.outstanding), "-t", "2"]
    if verbose:
        argv.append("-v")
    c0, (t0, i0) = cpu_ticks(server_pid), total_ticks()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=args.seconds + 30)
    c1, (t1, i1) = cpu_ticks(server_pid), total_ticks()
    if p.returncode != 0:
        sys.exit("bench/dns.py: dnsperf failed (%d): %s" % (p.returncode, (p.stderr or p.stdout)[-800:]))
    r = parse_dnsperf(p.stdout)
    secs = r["sent"] and args.seconds
    r["server_cpu_pct"] = round(100.0 * (c1 - c0) / CLK_TCK / secs, 1) if secs else None
    r["server_cpu_us_per_query"] = round(1e6 * (c1 - c0) / CLK_TCK / r["completed"], 2) if r["completed"] else None
    r["machine_busy_pct"] = round(100.0 * (1 - (i1 - i0) / max(1, t1 - t0)), 1)
    if verbose:
        lat = sorted(float(m.group(1)) * 1e6 for m in re.finditer(r"^> \S+ \S+ \S+ ([\d.]+)$", p.stdout, re.M))
        r["samples"] = len(lat)
        r["p50_us"] = round(percentile(lat, 50), 1) if lat else None
        r["p99_us"] = round(percentile(lat, 99), 1) if lat else None
        r["p999_us"] = round(percentile(lat, 99.9), 1) if lat else None
    return r


# ---- main ---------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, default=100)
    ap.add_argument("--instances", type=int, default=5, help="instances per service")
    ap.add_argument("--seconds", type=int, default=10, help="dnsperf -l per run")
    ap.add_argument("--runs", type=int, default=3, help="throughput runs per target (median reported)")
    ap.add_argument("--clients", type=int, default=8, help="dnsperf -c")
    ap.add_argument("--threads", type=int, default=1, help="dnsperf -T")
    ap.add_argument("--outstanding", type=int, default=64, help="dnsperf -q (queries in flight, closed loop)")
    ap.add_argument("--no-latency-run", action="store_true", help="skip the -v run that gives p50/p99")
    ap.add_argument("--pin", default="none",
                    help="CPU placement: 'none' (default: the scheduler places everything), 'auto' (DNS servers on "
                         "the last CPU, dnsperf on the others), or SERVER_CPUS:CLIENT_CPUS as taskset lists, e.g. 1:0")
    ap.add_argument("--profile", action="store_true",
                    help="then run each server under valgrind --tool=callgrind for a short dnsperf run "
                         "(build/bench/dns-callgrind.*.out; instructions per query, top functions)")
    ap.add_argument("--profile-seconds", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="leave the processes running until Enter (profiling)")
    ap.add_argument("--out", default=os.path.join(OUT, "dns.json"))
    args = ap.parse_args()
    if args.services < 1 or args.services > 60000 or args.instances < 1 or args.instances > 250:
        sys.exit("bench/dns.py: --services 1..60000, --instances 1..250")

    ncpu = os.cpu_count() or 1
    if args.pin == "auto":
        args.pin = "%d:0-%d" % (ncpu - 1, ncpu - 2) if ncpu >= 2 else "none"
    if args.pin == "none":
        args.server_cpus = args.client_cpus = None
    else:
        args.server_cpus, _, args.client_cpus = args.pin.partition(":")
    ensure_tools()
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="artemis-bench-dns-")
    try:
        return run(args, tmp)
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


def start_sidecar(tmp, sport, name, prefix=(), timeout=10):
    """The sidecar for an app without a health URL; returns (Popen, DNS port)."""
    dport, hport, aport = free_port(), free_port(), free_port()
    conf = os.path.join(tmp, name + ".conf")
    with open(conf, "w") as f:
        f.write("\n".join([
            "server = http://127.0.0.1:%d" % sport, "region = " + REGION, "zone = " + ZONE,
            "app.service_id = bench-dns-app", "app.instance_id = 127.0.0.1:%d" % aport, "app.ip = 127.0.0.1",
            "app.port = %d" % aport, "app.health_check_url =", "dns.listen = 127.0.0.1:%d" % dport,
            "dns.domain = artemis", "dns.ttl = %d" % TTL, "http.listen = 127.0.0.1:%d" % hport]) + "\n")
    p = spawn(name, list(prefix) + [SIDECAR, "--config", conf], tmp)
    wait_until(lambda: alive(p, name, tmp) and get(hport, "/health")[0] == 200, timeout, name)
    return p, dport


def start_dnsmasq(tmp, hosts, probe, name, prefix=(), timeout=10):
    """dnsmasq answering only from the hosts file: no upstream, no cache (--cache-size=0; the
    hosts entries are kept apart from the cache and answered all the same), TTL = the sidecar's."""
    mport = free_port()
    p = spawn(name, list(prefix) + [which("dnsmasq"), "--no-daemon", "--conf-file=/dev/null", "--port=%d" % mport,
                                    "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                                    "--addn-hosts=" + hosts, "--cache-size=0", "--local-ttl=%d" % TTL,
                                    "--pid-file=", "--log-facility=-"], tmp)
    wait_until(lambda: alive(p, name, tmp) and query(mport, probe, 1)[0] == 0, timeout, name)
    return p, mport


def callgrind_top(path, n=14):
    """(total Ir, [(self Ir, share %, function)]) read straight from a callgrind file written
    with --compress-strings=no: cost lines count for the current fn=, the line after calls= is
    a call's inclusive cost and is skipped."""
    self_cost, fn, obj, skip, total = {}, "?", "", False, 0
    with open(path, errors="replace") as f:
        for line in f:
            if skip:
                skip = False
                continue
            if line.startswith("summary:"):
                total = int(line.split()[1])
            elif line.startswith("ob="):
                obj = os.path.basename(line[3:].strip())
            elif line.startswith("fn="):
                fn = "%s (%s)" % (line[3:].strip(), obj)
            elif line.startswith("calls="):
                skip = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                parts = line.split()
                if len(parts) >= 2 and parts[1].isdigit():
                    self_cost[fn] = self_cost.get(fn, 0) + int(parts[1])
    total = total or sum(self_cost.values())
    rows = sorted(((c, round(100.0 * c / total, 1), fn) for fn, c in self_cost.items()), reverse=True)
    return total, rows[:n]


def profile(args, tmp, sport, hosts, names, qfile):
    """Both servers under valgrind --tool=callgrind for one short dnsperf run each (same query
    file, fewer queries in flight: valgrind is ~50x slower): instructions per answered query
    and the top functions (self cost). Kernel time (the socket syscalls) is not in callgrind's
    counts. Start-up and warm-up are dumped apart (`callgrind_control -d`) before the run."""
    if which("valgrind") is None or which("callgrind_control") is None:
        log("profile: valgrind not installed, skipped")
        return None
    out = {}
    for name in ("sidecar", "dnsmasq"):
        cg = os.path.join(OUT, "dns-callgrind.%s.out" % name)
        vg = ["valgrind", "--tool=callgrind", "--compress-strings=no", "--callgrind-out-file=" + cg]
        if name == "sidecar":
            p, port = start_sidecar(tmp, sport, "cg-" + name, vg, timeout=60)
            for k, n in enumerate(names):
                wait_until(lambda: query(port, n, k + 1)[0] == 0, 10, "callgrind sidecar answer for " + n)
        else:
            p, port = start_dnsmasq(tmp, hosts, names[0], "cg-" + name, vg, timeout=60)
            for k, n in enumerate(names):
                query(port, n, k + 1)
        for old in glob.glob(cg + "*"):
            os.unlink(old)
        subprocess.run(["callgrind_control", "-d", str(p.pid)], capture_output=True, timeout=60)
        r = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l", str(args.profile_seconds),
                            "-c", "4", "-q", "8", "-t", "5"], capture_output=True, text=True,
                           timeout=args.profile_seconds + 60)
        stats = parse_dnsperf(r.stdout)
        stop_proc(p)
        parts = sorted(glob.glob(cg + "*"), key=os.path.getmtime)
        if len(parts) < 2:
            log("profile: %s wrote %d callgrind files, want 2" % (name, len(parts)))
            continue
        # `callgrind_control -d` wrote start-up + warm-up and zeroed the counters; the file written
        # at exit holds the measured run plus the shutdown (closing sockets, one deregistration).
        cg = parts[-1]
        total, rows = callgrind_top(cg)
        q = stats["completed"] or 0
        out[name] = {"queries": q, "qps_under_valgrind": stats["qps"], "total_ir": total,
                     "ir_per_query": round(total / q) if q else None, "top_self": rows, "file": cg}
        log("profile %-8s %d queries, %s Ir/query; top (self): %s" % (
            name, q, out[name]["ir_per_query"], "; ".join("%s %.1f%%" % (f, pct) for _, pct, f in rows[:6])))
    return out


def run(args, tmp):
    started = time.monotonic()
    # artemis-server
    sport = free_port()
    os.makedirs(os.path.join(tmp, "data"))
    server = spawn("server", [SERVER, "--listen=127.0.0.1:%d" % sport, "--region=" + REGION, "--zone=" + ZONE,
                              "--data-dir=" + os.path.join(tmp, "data"), "--log-level=warn",
                              "--lease-ttl-ms=600000"], tmp)
    wait_until(lambda: alive(server, "server", tmp) and get(sport, "/api/status/node.json")[0] < 500, 10,
               "artemis-server")
    insts = instances(args.services, args.instances)
    register_all(sport, insts)
    names = ["%s.service.artemis" % service_name(s) for s in range(args.services)]
    want = {}
    for i in insts:
        want.setdefault("%s.service.artemis" % i["serviceId"], []).append(i["ip"])
    want = {k: sorted(v) for k, v in want.items()}

    # artemis-sidecar and dnsmasq, the same names and addresses (dnsmasq from a hosts file)
    hosts = os.path.join(tmp, "hosts")
    with open(hosts, "w") as f:
        for i in insts:
            f.write("%s %s.service.artemis\n" % (i["ip"], i["serviceId"]))
    sidecar, dport = start_sidecar(tmp, sport, "sidecar")
    dnsmasq, mport = start_dnsmasq(tmp, hosts, names[0], "dnsmasq")

    # warm the sidecar (each service's first query waits for the SDK's first view), check both
    t0 = time.monotonic()
    for k, name in enumerate(names):
        wait_until(lambda: query(dport, name, k + 1) == (0, want[name]), 5, "sidecar answer for " + name)
    warm_s = time.monotonic() - t0
    check_answers(dport, "sidecar", names, want)
    check_answers(mport, "dnsmasq", names, want)
    log("setup %.1f s (sidecar warm-up %.2f s for %d names); both answer the registry's %d addresses" %
        (time.monotonic() - started, warm_s, len(names), len(insts)))

    qfile = os.path.join(tmp, "queries.txt")
    with open(qfile, "w") as f:
        f.write("".join("%s A\n" % n for n in names))

    targets = (("sidecar", dport, sidecar.pid), ("dnsmasq", mport, dnsmasq.pid))
    if args.server_cpus:
        cpus = set()
        for part in args.server_cpus.split(","):
            lo, _, hi = part.partition("-")
            cpus.update(range(int(lo), int(hi or lo) + 1))
        for _, _, pid in targets:
            os.sched_setaffinity(pid, cpus)
    if args.keep:
        log("sidecar DNS 127.0.0.1:%d (pid %d), dnsmasq 127.0.0.1:%d (pid %d), query file %s; Enter to stop" %
            (dport, sidecar.pid, mport, dnsmasq.pid, qfile))
        sys.stdin.readline()
    results = {name: [] for name, _, _ in targets}
    for run_no in range(args.runs):
        for name, port, pid in targets:
            r = dnsperf(args, port, qfile, pid)
            results[name].append(r)
            log("run %d %-8s %9.0f qps  avg %6.1f us  max %8.1f us  lost %d  server cpu %5.1f%% (%.2f us/query)"
                "  machine busy %5.1f%%" % (run_no + 1, name, r["qps"], r["avg_us"], r["max_us"], r["lost"],
                                            r["server_cpu_pct"], r["server_cpu_us_per_query"], r["machine_busy_pct"]))
    latency = {}
    if not args.no_latency_run:
        for name, port, pid in targets:
            r = dnsperf(args, port, qfile, pid, verbose=True)
            latency[name] = r
            log("-v  %-8s %9.0f qps  p50 %6.1f us  p99 %7.1f us  p99.9 %7.1f us  (%d samples)" %
                (name, r["qps"], r["p50_us"], r["p99_us"], r["p999_us"], r["samples"]))
    for name, p in (("sidecar", sidecar), ("dnsmasq", dnsmasq), ("server", server)):
        alive(p, name, tmp)
    prof = None
    if args.profile:
        stop_proc(sidecar)
        stop_proc(dnsmasq)
        prof = profile(args, tmp, sport, hosts, names, qfile)

    summary = {}
    for name, _, _ in targets:
        rs = results[name]
        med = sorted(rs, key=lambda r: r["qps"])[len(rs) // 2]
        summary[name] = {
            "qps_median": med["qps"], "qps_runs": [r["qps"] for r in rs],
            "avg_us_median": statistics.median(r["avg_us"] for r in rs),
            "max_us_median": statistics.median(r["max_us"] for r in rs),
            "lost_total": sum(r["lost"] for r in rs),
            "server_cpu_pct_median": statistics.median(r["server_cpu_pct"] for r in rs),
            "server_cpu_us_per_query_median": statistics.median(r["server_cpu_us_per_query"] for r in rs),
            "machine_busy_pct_median": statistics.median(r["machine_busy_pct"] for r in rs),
            "response_bytes": med["resp_size"], "rcodes": med["rcodes"],
            "p50_us": latency.get(name, {}).get("p50_us"), "p99_us": latency.get(name, {}).get("p99_us"),
            "p999_us": latency.get(name, {}).get("p999_us"), "latency_run_qps": latency.get(name, {}).get("qps"),
        }
    ratio = summary["sidecar"]["qps_median"] / summary["dnsmasq"]["qps_median"]

    report = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()},
        "tools": {"dnsperf": tool_version(["dnsperf", "-h"]), "dnsmasq": tool_version([which("dnsmasq"), "--version"])},
        "setup": {"services": args.services, "instances_per_service": args.instances, "names": len(names),
                  "query_type": "A", "transport": "udp",
                  "dnsperf": "-l %d -c %d -T %d -q %d" % (args.seconds, args.clients, args.threads, args.outstanding),
                  "runs": args.runs, "dnsmasq_cache_size": 0, "pin_server:client_cpus": args.pin, "ttl": TTL,
                  "latency": "avg/max from dnsperf per run (median of runs); p50/p99/p99.9 from one extra -v run "
                             "(per-query latencies; dnsperf 2.10 has no histogram option)"},
        "results": summary, "runs": results, "latency_runs": latency, "ratio_qps_sidecar_over_dnsmasq": round(ratio, 3),
        "profile": prof,
    }
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")

    print(table(report))
    print("\nratio sidecar/dnsmasq (median qps): %.2f   (%s)" % (ratio, args.out))
    for name, pr in sorted((prof or {}).items(), reverse=True):
        print("\ncallgrind %s: %d queries, %s instructions/query (user space); top functions (self):" %
              (name, pr["queries"], pr["ir_per_query"]))
        for ir, pct, fn in pr["top_self"][:10]:
            print("  %5.1f%%  %6.0f Ir/query  %s" % (pct, ir / max(1, pr["queries"]), fn))
    log("total %.0f s" % (time.monotonic() - started))
    return 0


def table(rep):
    s = rep["setup"]
    lines = [
        "%s; %d names x %d A records, dnsperf %s (UDP, closed loop), %d runs each, median; CPUs server:dnsperf %s" %
        (rep["date"], s["names"], s["instances_per_service"], s["dnsperf"], s["runs"], s["pin_server:client_cpus"]),
        "",
        "| target | qps (median) | qps runs | avg µs | max µs | p50 µs | p99 µs | p99.9 µs | server CPU "
        "| CPU µs/query | lost |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in ("sidecar", "dnsmasq"):
        r = rep["results"][name]

        def f(v, fmt="%.0f"):
            return "—" if v is None else fmt % v
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s%% | %s | %d |" % (
            name, f(r["qps_median"]), " / ".join("%.0f" % q for q in r["qps_runs"]), f(r["avg_us_median"], "%.1f"),
            f(r["max_us_median"], "%.0f"), f(r["p50_us"], "%.1f"), f(r["p99_us"], "%.1f"), f(r["p999_us"], "%.1f"),
            f(r["server_cpu_pct_median"]), f(r["server_cpu_us_per_query_median"], "%.2f"), r["lost_total"]))
    return "\n".join(lines)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
