#!/usr/bin/env python3
"""Benchmark driver for artemis-server (`make bench`, `make bench-quick`).

Builds bench/loadgen.c and bench/ceiling.c into build/bench/, starts what each scenario needs on
127.0.0.1 (artemis-server, the ceiling server, etcd if installed, nginx if installed — answering
the http rows' paths with our own answer bytes, the machine's HTTP reference —, a throwaway
PostgreSQL cluster for the management row), runs every scenario of issue 6
three times (once in --quick mode), and writes build/bench/report.json and build/bench/report.md.
With --profile (default in full mode) it also runs the server under valgrind --tool=callgrind
for the scenarios whose bars are CPU-bound and saves the profiles in build/bench/.

Everything is bounded: each child has a timeout, every process started here is stopped by PID
(SIGTERM, then SIGKILL after 5 s), temp directories are removed.
"""

import argparse
import base64
import datetime
import http.client as hc
import importlib.util
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "build", "bench")
LOADGEN = os.path.join(OUT, "loadgen")
CEILING = os.path.join(OUT, "ceiling")
SDK_CACHED = os.path.join(OUT, "sdk_cached")
SDK_LIBS = ("libevent", "libevent_pthreads", "libevent_openssl", "jansson", "libcurl", "libssl",
            "libcrypto", "zlib")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PROCS = []  # every child process started here, stopped by PID at exit


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def pkg_flags(*pkgs):
    out = subprocess.run(["pkg-config", "--cflags", "--libs", *pkgs], capture_output=True,
                         text=True, timeout=30)
    return out.stdout.split() if out.returncode == 0 else None


def build_tools():
    os.makedirs(OUT, exist_ok=True)
    ssl_libs = subprocess.run(["pkg-config", "--libs", "openssl"], capture_output=True, text=True,
                              timeout=30)
    if ssl_libs.returncode != 0:
        sys.exit("bench: pkg-config cannot find openssl (run `make deps`)")
    subprocess.run(["cc", "-O2", "-g", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                    "-o", LOADGEN, os.path.join(ROOT, "bench", "loadgen.c"),
                    *ssl_libs.stdout.split()], check=True, timeout=120)
    flags = pkg_flags("libevent", "jansson")
    if flags is None:
        sys.exit("bench: pkg-config cannot find libevent and jansson (run `make deps`)")
    subprocess.run(["cc", "-O2", "-g", "-std=c11", "-D_GNU_SOURCE", "-o", CEILING,
                    os.path.join(ROOT, "bench", "ceiling.c"), *flags], check=True, timeout=120)


def build_sdk_cached(server_bin):
    """bench/sdk_cached.c against the SDK of the server's build tree (build/release, else
    build). Returns None when built, else why not (the row then says so)."""
    tree = os.path.dirname(os.path.dirname(server_bin))
    if os.path.relpath(tree, ROOT).startswith(".."):
        tree = os.path.join(ROOT, "build")
    rel = os.path.relpath(tree, ROOT)
    # bring the library up to date in that tree (make bench builds only the server there)
    subprocess.run(["make", "-s", f"BUILD={rel}"] + (["CFLAGS=-DNDEBUG"] if rel != "build" else [])
                   + [f"{rel}/lib/libartemis.a"], cwd=ROOT, capture_output=True, timeout=600)
    lib = next((x for x in (os.path.join(tree, "lib", "libartemis.a"),
                            os.path.join(ROOT, "build", "lib", "libartemis.a"))
                if os.path.exists(x)), None)
    if lib is None:
        return "libartemis.a not built (run `make`)"
    libs = subprocess.run(["pkg-config", "--libs", *SDK_LIBS], capture_output=True, text=True,
                          timeout=30)
    if libs.returncode != 0:
        return "pkg-config: " + libs.stderr.strip()[:200]
    p = subprocess.run(["cc", "-O2", "-g", "-std=c11", "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "include"),
                        "-o", SDK_CACHED, os.path.join(ROOT, "bench", "sdk_cached.c"), lib,
                        *libs.stdout.split(), "-lpthread"], capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 0:
        return "bench/sdk_cached.c did not build: " + p.stderr.strip()[-300:]
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def http(port, path, body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                 headers={"Content-Type": "application/json"},
                                 method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def stop_proc(p):
    if p.poll() is None:
        os.kill(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=5 if "valgrind" not in str(p.args) else 60)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=5)
    if p in PROCS:
        PROCS.remove(p)


class Proc:
    """A server child on a free port, ready when `ready_path` answers."""

    def __init__(self, args, port, ready_path, cwd=None, log_path=None, ready_timeout=15):
        self.port = port
        self.tmp = None
        out = open(log_path, "w") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT if log_path else None)
        PROCS.append(self.proc)
        deadline = time.monotonic() + ready_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{args[0]} exited with {self.proc.returncode}")
            try:
                if ready_path.startswith("/v3"):
                    http(port, ready_path, {}, timeout=1)
                else:
                    http(port, ready_path, timeout=1)
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{args[0]} not ready in {ready_timeout} s")
                time.sleep(0.05)

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        stop_proc(self.proc)
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


def artemis(server_bin, extra=(), ttl_ms=600000, wrapper=()):
    tmp = tempfile.mkdtemp(prefix="artemis-bench-")
    port = free_port()
    args = [*wrapper, server_bin, f"--listen=127.0.0.1:{port}", "--region=sha", "--zone=sha-z1",
            "--log-level=warn", f"--data-dir={tmp}",
            "--artemis.service.registry.rate-limiter.enabled=false", f"--lease-ttl-ms={ttl_ms}",
            "--artemis.service.registry.instance.lease-manager.lease-update-safe-checker"
            ".enabled=false", "--http.max-connections=30000", "--ws.max-sessions=25000",
            "--http.max-connections-per-address=0",
            *extra]
    p = Proc(args, port, "/health", cwd=tmp, ready_timeout=60 if wrapper else 15)
    p.tmp = tmp
    return p


def ceiling():
    port = free_port()
    return Proc([CEILING, "--port", str(port)], port, "/health")


# ---- nginx: the machine's HTTP reference (issue 16 item 5) --------------------------------

NGINX_WHY = "nginx not installed (make bench-nginx installs Debian's package)"


def nginx_exe():
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK)
                                     else None)


def read_answer(sock):
    """One HTTP/1.1 answer with a Content-Length from sock: (raw bytes, status, headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        d = sock.recv(65536)
        if not d:
            raise RuntimeError("connection closed before the answer's headers")
        data += d
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" not in headers:
        raise RuntimeError(f"answer without Content-Length: {head[:300]!r}")
    n = int(headers["content-length"])
    while len(body) < n:
        d = sock.recv(65536)
        if not d:
            raise RuntimeError("connection closed mid-body")
        body += d
    return head + b"\r\n\r\n" + body[:n], int(lines[0].split()[1]), headers, body[:n]


def capture_answer(port, mode, args):
    """Our server's exact answer to loadgen's request of `mode` with `args` (minus --conns): one
    `loadgen --count 1 --conns 1` through a one-shot relay on a free port, which forwards the
    request to `port` and keeps both. Returns (request bytes, status, headers, body)."""
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(4)
    lst.settimeout(30)
    got, err = {}, []

    def relay():
        try:
            c, _ = lst.accept()
            c.settimeout(30)
            with c, socket.create_connection(("127.0.0.1", port), timeout=30) as up:
                req = b""
                while b"\r\n\r\n" not in req:
                    d = c.recv(65536)
                    if not d:
                        raise RuntimeError("loadgen closed before its request")
                    req += d
                head = req.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
                m = re.search(r"content-length:\s*(\d+)", head)
                need = len(head) + 4 + (int(m.group(1)) if m else 0)
                while len(req) < need:
                    d = c.recv(65536)
                    if not d:
                        raise RuntimeError("loadgen closed mid-request")
                    req += d
                up.sendall(req)
                raw, status, headers, body = read_answer(up)
                got.update(req=req, status=status, headers=headers, body=body)
                c.sendall(raw)
                c.recv(1)  # until loadgen closes
        except Exception as e:  # noqa: BLE001 - reported by the caller
            err.append(repr(e))

    t = threading.Thread(target=relay, daemon=True)
    t.start()
    a = [str(x) for x in args]
    a = [x for i, x in enumerate(a) if x != "--conns" and (i == 0 or a[i - 1] != "--conns")]
    try:
        loadgen(lst.getsockname()[1], mode, "--count", 1, "--conns", 1, *a, timeout=60)
    finally:
        t.join(35)
        lst.close()
    if err or "body" not in got:
        raise RuntimeError(f"capture of our {mode} answer failed: {err or 'nothing relayed'}")
    return got["req"], got["status"], got["headers"], got["body"]


class Nginx(Proc):
    """nginx 1.22+ (Debian's package) in the foreground as one process (master_process off: the
    process that runs the event loop is the one started, so its PID's CPU is the worker's),
    everything in a temp dir (-p, -e, pid, temp paths; nothing under /var or /run, no port 80),
    answering POST `path` with the fixed `answers[path] = (content_type, body)` after reading
    and discarding the request body, from memory (`return 200`). `static`: the paths whose body
    is served from a file (sendfile) instead (slower here: see bench/README.md)."""

    def __init__(self, exe, answers, static=()):
        tmp = tempfile.mkdtemp(prefix="nginx-bench-")
        try:
            port = free_port()
            conf = os.path.join(tmp, "nginx.conf")
            with open(conf, "w", encoding="latin-1") as f:  # one char per byte of the bodies
                f.write(self.config(tmp, port, answers, static))
            args = [exe, "-p", tmp + "/", "-e", os.path.join(tmp, "error.log"), "-c", conf]
            try:
                super().__init__(args, port, "/health", log_path=os.path.join(tmp, "stdout.log"))
            except RuntimeError as e:
                el = os.path.join(tmp, "error.log")
                tail = open(el, errors="replace").read()[-500:].strip() if os.path.exists(el) \
                    else "no error.log"
                raise RuntimeError(f"{e}: {tail}") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.tmp = tmp
        self.version = subprocess.run([exe, "-v"], capture_output=True, text=True,
                                      timeout=10).stderr.strip().replace("nginx version: ", "")

    @staticmethod
    def config(tmp, port, answers, static):
        locs = []
        for k, (path, (ctype, body)) in enumerate(answers.items()):
            text = body.decode("latin-1")
            if path in static:
                f = os.path.join(tmp, "www", path.lstrip("/"))
                os.makedirs(os.path.dirname(f), exist_ok=True)
                with open(f, "wb") as out:
                    out.write(body)
                # the static module answers POST with 405; error_page turns it into a GET of
                # the same file (the request body is discarded either way)
                how = f"root {tmp}/www; etag off; error_page 405 =200 $uri;"
            else:
                # `return` text is a complex value: `$` is written ${dollar} (a geo constant);
                # a quoted token must fit nginx's 4 KB configuration read buffer, so a longer
                # body is cut into `set` variables joined by `return` (one copy per answer)
                esc = {"\\": "\\\\", "'": "\\'", "$": "${dollar}"}
                parts, cur = [], ""
                for ch in text:
                    cur += esc.get(ch, ch)
                    if len(cur) >= 2048:
                        parts.append(cur)
                        cur = ""
                if cur or not parts:
                    parts.append(cur)
                if len(parts) == 1:
                    how = f"return 200 '{parts[0]}';"
                else:
                    how = " ".join(f"set $a{k}_{n} '{t}';" for n, t in enumerate(parts)) + \
                        ' return 200 "' + "".join(f"${{a{k}_{n}}}" for n in range(len(parts))) + '";'
            locs.append(f'    location = {path} {{ default_type "{ctype}"; {how} }}')
        return "\n".join([
            "daemon off;", "master_process off;", "worker_processes 1;",
            f"pid {tmp}/nginx.pid;", f"lock_file {tmp}/nginx.lock;",
            f"error_log {tmp}/error.log warn;", "worker_rlimit_nofile 65536;",
            "events { worker_connections 4096; use epoll; }",
            "http {", "  access_log off;", "  server_tokens off;", "  types { }",
            "  gzip off;", "  sendfile on;", "  tcp_nodelay on;", '  geo $dollar { default "$"; }',
            # artemis-server keeps a connection for any number of requests, 60 s idle
            "  keepalive_requests 1000000000;", "  keepalive_timeout 60s;",
            "  client_max_body_size 64m;",
            *(f"  {k}_temp_path {tmp}/{k};" for k in ("client_body", "proxy", "fastcgi",
                                                      "uwsgi", "scgi")),
            "  server {", f"    listen 127.0.0.1:{port};",
            *locs,
            '    location = /health { default_type "application/json"; '
            "return 200 '{\"status\":\"UP\"}'; }",
            "    location / { return 404; }", "  }", "}", ""])


def metrics(port):
    out = {}
    for line in http(port, "/metrics").decode().splitlines():
        if line.startswith("artemis_") and "{" not in line:
            name, _, value = line.partition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def loadgen(port, mode, *args, pid=None, timeout=None):
    argv = [LOADGEN, "--port", str(port), "--mode", mode, *[str(a) for a in args]]
    t0 = time.monotonic()
    c0 = cpu_seconds(pid) if pid else 0
    b0, l0 = busy_seconds(), children_cpu()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout or 180)
    if p.returncode != 0:
        raise RuntimeError(f"loadgen {mode} failed: {p.stderr.strip()}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    el = time.monotonic() - t0
    res["elapsed_s"] = round(el, 3)
    res["loadgen_cpu"] = round((children_cpu() - l0) / el, 3)
    if pid:
        res["server_cpu"] = round((cpu_seconds(pid) - c0) / el, 3)
        # cores kept busy by everything else (other users' jobs): the noise indicator
        res["other_cpu"] = round(max(0.0, (busy_seconds() - b0) / el - res["server_cpu"]
                                     - res["loadgen_cpu"]), 3)
        OTHER.append(res["other_cpu"])
    return res


OTHER = []


def busy_seconds():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / CLK_TCK


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def agg(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": values}


# ---- management API (protocol §7): clients for the mgmt scenario ---------------------------

MG_PATH = "/api/management/"
MG_CTX = {"operatorId": "bench", "token": "bench-token", "operation": "bench", "reason": "bench"}


class MgmtClient:
    """Management calls over one keep-alive connection (http.client). No retries: a failed call
    raises with the exact request and answer."""

    def __init__(self, port, timeout=30):
        self.port, self.timeout, self.c = port, timeout, None

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None

    def post(self, path, body):
        data = json.dumps(body, separators=(",", ":")).encode()
        if self.c is None:
            self.c = hc.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.c.request("POST", MG_PATH + path, data, {"Content-Type": "application/json"})
            r = self.c.getresponse()
            raw = r.read()
        except (OSError, hc.HTTPException) as e:
            self.close()
            raise RuntimeError(f"POST {MG_PATH}{path} {data[:300].decode()} -> {e!r}") from None
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        if r.status != 200 or not isinstance(doc, dict) or \
                (doc.get("responseStatus") or {}).get("status") != "success":
            raise RuntimeError(f"POST {MG_PATH}{path} {data[:300].decode()} -> HTTP {r.status} "
                               f"{raw[:300].decode(errors='replace')}")
        return doc


def bench_ip(i):
    """loadgen's instance i: instanceId 10.a.b.c:8080 (bench/loadgen.c instance_json)."""
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


class MgmtWriter(threading.Thread):
    """Paced management writes at `rate`/s (open loop: op k is due at t0 + k/rate; its latency
    counts from that due time) on one keep-alive connection, until stop() or `max_s`.
    Cycle of 10 ops: pull-out A, pull-in A, pull-out B, pull-in B, tags, pull-out C, pull-in C,
    pull-out D, pull-in D, tags — operate-instance.json on registered instances (spread over
    every service) and insert-group-tags.json on one group per service."""

    PAIR = {0: (0, False), 1: (0, True), 2: (1, False), 3: (1, True), 5: (2, False),
            6: (2, True), 7: (3, False), 8: (3, True)}

    def __init__(self, port, rate, n, services, group_ids, max_s, prefix="bench.service."):
        super().__init__(daemon=True)
        self.port, self.rate, self.n, self.services = port, rate, n, services
        self.group_ids, self.max_s, self.prefix = group_ids, max_s, prefix
        self.halt = threading.Event()
        self.lat, self.svc, self.errors, self.ops, self.elapsed, self.cpu = [], [], [], 0, 0.0, 0.0
        self.kinds = {"pull-out": 0, "pull-in": 0, "tags": 0}
        self.kinds_done = {}

    def op(self, k):
        pos = k % 10
        if pos in self.PAIR:
            pair, complete = self.PAIR[pos]
            i = ((k // 10) * 4 + pair) * 7919 % self.n  # 7919 is prime: every instance in turn
            self.kinds["pull-in" if complete else "pull-out"] += 1
            return "operate-instance.json", {
                "instanceKey": {"instanceId": bench_ip(i) + ":8080", "regionId": "sha",
                                "serviceId": f"{self.prefix}{i % self.services}"},
                "operation": "pullout", "operationComplete": complete,
                "operatorId": "bench", "token": "bench-token"}
        self.kinds["tags"] += 1
        gid = self.group_ids[(k // 5) % len(self.group_ids)]
        return "group/insert-group-tags.json", dict(
            MG_CTX, groupTagsList=[{"groupId": gid, "tags": {"rev": str(k)}}])

    def stop(self):
        self.halt.set()
        self.join(timeout=self.max_s + 30)

    def run(self):
        cli = MgmtClient(self.port, timeout=10)
        c0 = time.thread_time()
        t0 = time.monotonic()
        k = 0
        try:
            while not self.halt.is_set():
                now = time.monotonic()
                if now - t0 > self.max_s:
                    break
                due = t0 + k / self.rate
                if due > now:
                    self.halt.wait(due - now)
                    continue
                path, body = self.op(k)
                t1 = time.monotonic()
                try:
                    cli.post(path, body)
                except RuntimeError as e:
                    self.errors.append(str(e)[:400])
                    if len(self.errors) >= 5:
                        break
                t2 = time.monotonic()
                self.lat.append((t2 - due) * 1e6)
                self.svc.append((t2 - t1) * 1e6)
                k += 1
        finally:
            self.ops = k
            self.elapsed = time.monotonic() - t0
            self.cpu = time.thread_time() - c0
            self.kinds_done = dict(self.kinds)
            cli.close()
            # leave nothing pulled out: the last op may have been a pull-out
            if k % 10 in (1, 3, 6, 8):
                try:
                    p, b = self.op(k)
                    MgmtClient(self.port, timeout=10).post(p, b)
                except RuntimeError:
                    pass

    def result(self):
        def pct(v, q):
            if not v:
                return None
            v = sorted(v)
            return round(v[min(len(v) - 1, int(len(v) * q / 100))], 1)
        return {"ops": self.ops, "seconds": round(self.elapsed, 2),
                "rate": round(self.ops / self.elapsed, 1) if self.elapsed else 0,
                "target_rate": self.rate, "p50_us": pct(self.lat, 50), "p99_us": pct(self.lat, 99),
                "max_us": round(max(self.lat), 1) if self.lat else None,
                "service_p50_us": pct(self.svc, 50), "service_p99_us": pct(self.svc, 99),
                "errors": len(self.errors), "first_error": self.errors[0] if self.errors else None,
                "kinds": self.kinds_done, "cpu_s": round(self.cpu, 3)}


def load_pg_helper():
    """tests/integration/lib/pg.py (a throwaway PostgreSQL cluster), loaded by path."""
    path = os.path.join(ROOT, "tests", "integration", "lib", "pg.py")
    spec = importlib.util.spec_from_file_location("artemis_bench_pg", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tree_cpu(pid):
    """CPU seconds of pid and its direct children (a postmaster and its backends)."""
    total = 0.0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(d) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


# ---- scenarios -----------------------------------------------------------------------------


class Bench:
    def __init__(self, opt):
        self.opt = opt
        self.q = opt.quick
        self.runs = 1 if self.q else opt.runs
        self.dur = 1.5 if self.q else opt.duration
        self.warm = 0.3 if self.q else 1.0
        self.res = {}  # scenario id -> dict
        self.etcd = {}  # etcd reference figures
        self.nginx = {"available": False, "why": "not run"}  # nginx reference (http part)

    def timed(self, dur=None):
        return ["--duration", dur or self.dur, "--warmup", self.warm]

    # -- register / heartbeat / lookup vs ceiling (and nginx) on one server with 10k instances
    def http_rows(self):
        n = 2000 if self.q else 10000
        srv, ceil, ngx = artemis(self.opt.server), ceiling(), None
        try:
            r = loadgen(srv.port, "register", "--count", n // 100, "--batch", 100, "--conns", 4,
                        "--instances", n)
            if r["errors"]:
                raise RuntimeError(f"preload failed: {r}")
            rows = {
                "register": ("register", ["--conns", 64, "--instances", n], "rps"),
                "heartbeat_1": ("heartbeat", ["--conns", 32, "--instances", n], "rps"),
                "heartbeat_100": ("heartbeat", ["--conns", 8, "--batch", 100,
                                                "--instances", n], "items_per_s"),
                "lookup": ("lookup", ["--conns", 32, "--lookup-service", 0], "rps"),
            }
            try:
                ngx = self.nginx_start(srv, rows)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                self.nginx = {"available": False, "why": f"nginx reference failed: {e}"[:600]}
                log(f"  nginx: {self.nginx['why']}")
            for sid, (mode, args, key) in rows.items():
                ours, ref, ngr = [], [], []
                for _ in range(self.runs):
                    a = loadgen(srv.port, mode, *args, *self.timed(), pid=srv.pid)
                    b = loadgen(ceil.port, mode, *args, *self.timed(), pid=ceil.pid)
                    c = ngx and loadgen(ngx.port, mode, *args, *self.timed(), pid=ngx.pid)
                    ours.append(a)
                    ref.append(b)
                    if c:
                        ngr.append(c)
                    log(f"  {sid}: ours {a[key]:.0f}/s (p99 {a['p99_us']:.0f} us, "
                        f"err {a['errors']}, cpu {a['server_cpu']:.2f}) "
                        f"ceiling {b[key]:.0f}/s (cpu {b['server_cpu']:.2f})" +
                        (f" nginx {c[key]:.0f}/s (err {c['errors']}, cpu {c['server_cpu']:.2f})"
                         if c else ""))
                self.res[sid] = {"ours": ours, "ceiling": ref, "nginx": ngr, "key": key}
            # lookup latency at a fixed rate: half of the measured closed-loop rate
            cl = statistics.median(r["rps"] for r in self.res["lookup"]["ours"])
            rate = max(100, int(cl / 2))
            ol, olc, oln = [], [], []
            for _ in range(self.runs):
                ol.append(loadgen(srv.port, "lookup", "--conns", 32, "--rate", rate,
                                  *self.timed(), pid=srv.pid))
                olc.append(loadgen(ceil.port, "lookup", "--conns", 32, "--rate", rate,
                                   *self.timed(), pid=ceil.pid))
                if ngx:
                    oln.append(loadgen(ngx.port, "lookup", "--conns", 32, "--rate", rate,
                                       *self.timed(), pid=ngx.pid))
            self.res["lookup"]["open_loop"] = ol
            self.res["lookup"]["open_loop_ceiling"] = olc
            self.res["lookup"]["open_loop_nginx"] = oln
            self.res["lookup"]["open_loop_rate"] = rate
            log(f"  lookup open loop {rate}/s: p99 ours "
                f"{statistics.median(x['p99_us'] for x in ol):.0f} us, ceiling "
                f"{statistics.median(x['p99_us'] for x in olc):.0f} us" +
                (f", nginx {statistics.median(x['p99_us'] for x in oln):.0f} us" if oln else ""))
        finally:
            srv.stop()
            ceil.stop()
            if ngx:
                ngx.stop()

    def nginx_start(self, srv, rows):
        """nginx answering each row's path with our server's own answer to that request (the
        same bytes and Content-Type), or None (self.nginx says why)."""
        exe = nginx_exe()
        if self.opt.no_nginx or not exe:
            self.nginx = {"available": False,
                          "why": "skipped (--no-nginx)" if self.opt.no_nginx else NGINX_WHY}
            log(f"  nginx: {self.nginx['why']}")
            return None
        answers, sizes = {}, {}
        for sid, (mode, args, _) in rows.items():
            req, status, headers, body = capture_answer(srv.port, mode, args)
            if status != 200 or b'"status":"success"' not in body or \
                    "content-encoding" in headers or "transfer-encoding" in headers:
                raise RuntimeError(f"our {sid} answer cannot be the nginx body: {status} "
                                   f"{headers} {body[:200]!r}")
            path = req.split(b" ", 2)[1].decode()
            ans = (headers.get("content-type", "application/json"), body)
            if answers.setdefault(path, ans) != ans:
                raise RuntimeError(f"two different answers of ours on {path}: nginx can give one")
            sizes[sid] = {"path": path, "request_bytes": len(req), "answer_body_bytes": len(body),
                          "content_type": ans[0]}
        try:
            ngx = Nginx(exe, answers)
        except (RuntimeError, OSError) as e:
            self.nginx = {"available": False, "why": f"nginx did not start: {e}"[:600]}
            log(f"  nginx: {self.nginx['why']}")
            return None
        try:
            shutil.copyfile(os.path.join(ngx.tmp, "nginx.conf"), os.path.join(OUT, "nginx.conf"))
            extra = set()
            for sid, (mode, args, _) in rows.items():  # nginx gives the same bytes
                _, status, headers, body = capture_answer(ngx.port, mode, args)
                if status != 200 or headers.get("content-type") != sizes[sid]["content_type"] \
                        or body != answers[sizes[sid]["path"]][1]:
                    raise RuntimeError(f"nginx's {sid} answer differs from ours: {status} "
                                       f"{headers} {len(body)} bytes")
                extra |= {k for k in headers if k not in ("content-type", "content-length")}
        except BaseException:
            ngx.stop()
            raise
        self.nginx = {"available": True, "version": ngx.version, "answers": sizes,
                      "extra_headers": sorted(extra), "config": "build/bench/nginx.conf"}
        log(f"  {ngx.version}: one process, answers of " +
            ", ".join(f"{k} {v['answer_body_bytes']} B" for k, v in sizes.items()))
        return ngx

    # -- the same requests over TLS and plain, on one server with both listeners (issue 14)
    def tls(self):
        tmp = tempfile.mkdtemp(prefix="artemis-bench-tls-")
        try:
            self.res["tls"] = self.tls_run(tmp)
        except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as e:
            self.res["tls"] = {"why": str(e)[:600]}
            log(f"  tls: not measured: {e}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def tls_pki(d):
        """A CA and a server certificate for 127.0.0.1 signed by it (RSA 2048, as
        tests/integration/test_tls.py makes them). Returns (ca, cert, key)."""
        def ossl(*a):
            p = subprocess.run(["openssl", *a], cwd=d, capture_output=True, text=True, timeout=60)
            if p.returncode != 0:
                raise RuntimeError(f"openssl {' '.join(a)}: {p.stderr.strip()[-300:]}")
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "ca.pem", "-days", "2", "-subj", "/CN=artemis bench ca")
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
             "-subj", "/CN=artemis bench server")
        with open(os.path.join(d, "srv.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        ossl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial",
             "1", "-days", "2", "-extfile", "srv.ext", "-out", "srv.pem")
        os.chmod(os.path.join(d, "srv.key"), 0o600)
        return tuple(os.path.join(d, x) for x in ("ca.pem", "srv.pem", "srv.key"))

    def tls_run(self, tmp):
        if shutil.which("openssl") is None:
            raise RuntimeError("the openssl command is not installed")
        ca, cert, key = self.tls_pki(tmp)
        tport = free_port()
        srv = artemis(self.opt.server, extra=[f"--tls.cert={cert}", f"--tls.key={key}",
                                              f"--tls.listen=127.0.0.1:{tport}"])
        n = 10000  # 100 services x 100 instances: the lookup is of a 100-instance service
        try:
            r = loadgen(srv.port, "register", "--count", n // 100, "--batch", 100, "--conns", 4,
                        "--instances", n)
            if r["errors"]:
                raise RuntimeError(f"preload failed: {r}")
            # the same answer on both ports (python's ssl verifies against the bench CA)
            body = json.dumps({"discoveryConfigs": [{"serviceId": "bench.service.0"}],
                               "regionId": "sha", "zoneId": "sha-z1"}).encode()
            ans = {}
            for name, url, ctx in (("plain", f"http://127.0.0.1:{srv.port}", None),
                                   ("tls", f"https://127.0.0.1:{tport}",
                                    ssl.create_default_context(cafile=ca))):
                req = urllib.request.Request(url + "/api/discovery/lookup.json", data=body,
                                             headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(req, timeout=10, context=ctx) as a:
                        ans[name] = (a.status, a.read())
                except OSError as e:
                    raise RuntimeError(f"POST {url}/api/discovery/lookup.json {body.decode()} "
                                       f"-> {e!r}") from None
            doc = json.loads(ans["tls"][1])
            got = len(((doc.get("services") or [{}])[0]).get("instances") or [])
            if ans["tls"] != ans["plain"] or got != n // 100:
                raise RuntimeError(f"lookup.json over TLS: HTTP {ans['tls'][0]}, {got} instances, "
                                   f"{len(ans['tls'][1])} bytes; plain: HTTP {ans['plain'][0]}, "
                                   f"{len(ans['plain'][1])} bytes: {ans['tls'][1][:300]!r}")
            m0 = metrics(srv.port)
            dur = 0.5 if self.q else None  # quick: 6 short runs, ~5 s in all
            tl = ["--tls", 1, "--ca", ca]
            parts = {
                "register": ("register", ["--conns", 64, "--instances", n]),
                "lookup": ("lookup", ["--conns", 32, "--lookup-service", 0]),
                # a new connection per request: TCP connect (+ full TLS handshake) each time
                "new_conn": ("register", ["--conns", 32, "--instances", n, "--new-conn", 1]),
            }
            out = {"instances": n, "answer_bytes": len(ans["tls"][1])}
            for sid, (mode, args) in parts.items():
                plain, tls = [], []
                for _ in range(self.runs):
                    a = loadgen(srv.port, mode, *args, *self.timed(dur), pid=srv.pid)
                    b = loadgen(tport, mode, *args, *tl, *self.timed(dur), pid=srv.pid)
                    for x in (a, b):  # server CPU over the whole run / measured rate
                        x["server_cpu_us_per_req"] = \
                            round(x["server_cpu"] * 1e6 / x["rps"], 2) if x["rps"] else None
                    plain.append(a)
                    tls.append(b)
                    log(f"  tls {sid}: plain {a['rps']:.0f}/s (p99 {a['p99_us']:.0f} us, "
                        f"cpu {a['server_cpu']:.2f} = {a['server_cpu_us_per_req']} us/req, "
                        f"err {a['errors']}) TLS {b['rps']:.0f}/s (p99 {b['p99_us']:.0f} us, "
                        f"cpu {b['server_cpu']:.2f} = {b['server_cpu_us_per_req']} us/req, "
                        f"err {b['errors']}, tls err {b['tls_errors']}, "
                        f"handshakes {b['handshakes_per_s']:.0f}/s); other load "
                        f"{a['other_cpu']:.2f}/{b['other_cpu']:.2f}")
                out[sid] = {"plain": plain, "tls": tls}
            m1 = metrics(srv.port)
            out["server_handshakes"] = int(m1.get("artemis_tls_handshakes_total", 0) -
                                           m0.get("artemis_tls_handshakes_total", 0))
            out["server_handshakes_failed"] = int(
                m1.get("artemis_tls_handshakes_failed_total", 0) -
                m0.get("artemis_tls_handshakes_failed_total", 0))
            out["loadgen_handshakes"] = sum(x["handshakes_all"] for v in parts
                                            for x in out[v]["tls"])
            log(f"  tls: server counted {out['server_handshakes']:,} handshakes "
                f"({out['server_handshakes_failed']} failed), loadgen "
                f"{out['loadgen_handshakes']:,}")
            return out
        finally:
            srv.stop()

    # -- WebSocket heartbeats
    def ws_heartbeat(self):
        n = 500 if self.q else 10000
        out = []
        for _ in range(self.runs):
            srv = artemis(self.opt.server)
            try:
                loadgen(srv.port, "register", "--count", n // 100, "--batch", 100, "--conns", 4,
                        "--instances", n)
                r = loadgen(srv.port, "ws-heartbeat", "--sessions", n, "--interval-ms", 1000,
                            "--instances", n, *self.timed(), pid=srv.pid, timeout=120)
                out.append(r)
                log(f"  ws heartbeat {n} sessions: {r['items_per_s']:.0f} renewals/s, "
                    f"p50 {r['p50_us']:.0f} us p99 {r['p99_us']:.0f} us, "
                    f"sessions {r['ws_established']}, err {r['errors']}")
            finally:
                srv.stop()
        self.res["ws_heartbeat"] = {"ours": out, "sessions": n}

    # -- capacity + services-delta at large N
    def delta(self, srv, n, n_services):
        """100 changes after n instances; services-delta.json closed loop from before them."""
        base = self.base_version
        head = metrics(srv.port)["artemis_change_log_version"]
        v0 = int(base + head)
        r = loadgen(srv.port, "register", "--count", 1, "--batch", 100, "--conns", 1,
                    "--instances", n + 100, "--services", n_services,
                    "--prefix", "bench.delta.", "--max-seconds", 30)
        if r["errors"]:
            raise RuntimeError("delta changes failed")
        d = loadgen(srv.port, "delta", "--conns", 4, "--version", v0, *self.timed(),
                    pid=srv.pid)
        if d["errors"]:
            raise RuntimeError(f"services-delta failed: {d}")
        return d

    def capacity(self):
        n = 20000 if self.q else self.opt.capacity
        per = 100
        n_services = n // per
        cap, deltas, small = [], [], []
        for _ in range(self.runs):
            srv = artemis(self.opt.server)
            try:
                self.base_version = json.loads(http(srv.port, "/api/discovery/services.json"))[
                    "version"]
                time.sleep(0.2)
                r0, m0 = rss_kb(srv.pid), metrics(srv.port)["artemis_registry_memory_bytes"]
                t0 = time.monotonic()
                r = loadgen(srv.port, "register", "--count", n // 100, "--batch", 100,
                            "--conns", 4, "--instances", n, "--services", n_services,
                            "--max-seconds", 600, timeout=700)
                el = time.monotonic() - t0
                time.sleep(0.5)
                m = metrics(srv.port)
                r1 = rss_kb(srv.pid)
                if r["errors"] or m.get("artemis_instances") != n:
                    raise RuntimeError(f"capacity load failed: {r}, {m.get('artemis_instances')}")
                c = {"instances": n, "rss_before_kb": r0, "rss_after_kb": r1,
                     "rss_mb": round(r1 / 1024, 1),
                     "bytes_per_instance": round((r1 - r0) * 1024 / n),
                     "gauge_bytes_per_instance": round(
                         (m["artemis_registry_memory_bytes"] - m0) / n),
                     "load_s": round(el, 2), "load_instances_per_s": round(n / el)}
                cap.append(c)
                d = self.delta(srv, n, n_services)
                deltas.append(d)
                log(f"  capacity {n}: RSS {c['rss_mb']} MB, {c['bytes_per_instance']} B/inst "
                    f"(gauge {c['gauge_bytes_per_instance']}), load {c['load_s']} s; "
                    f"delta {d['rps']:.0f}/s p99 {d['p99_us']:.0f} us")
            finally:
                srv.stop()
            # the same delta with a small registry
            ns = 10000 if not self.q else 2000
            srv = artemis(self.opt.server)
            try:
                self.base_version = json.loads(http(srv.port, "/api/discovery/services.json"))[
                    "version"]
                loadgen(srv.port, "register", "--count", ns // 100, "--batch", 100, "--conns", 4,
                        "--instances", ns, "--services", ns // 100)
                d = self.delta(srv, ns, ns // 100)
                small.append(d)
                log(f"  delta at {ns}: {d['rps']:.0f}/s p99 {d['p99_us']:.0f} us")
            finally:
                srv.stop()
        self.res["capacity"] = {"ours": cap, "instances": n}
        self.res["delta"] = {"ours_big": deltas, "ours_small": small, "n_big": n,
                             "n_small": 10000 if not self.q else 2000}

    # -- push
    def push(self):
        m, k, rate = (500, 50, 200) if self.q else (10000, 1000, 1000)
        out = []
        for _ in range(self.runs):
            srv = artemis(self.opt.server)
            try:
                r = loadgen(srv.port, "ws-push", "--sessions", m, "--services", k,
                            "--prefix", "bench.push.", "--rate", rate, "--conns", 4,
                            "--instances", 10 * k, "--server-pid", srv.pid, *self.timed(),
                            pid=srv.pid, timeout=120)
                r["bytes_per_session"] = round((r["rss_after_kb"] - r["rss_before_kb"]) * 1024 / m)
                r["expected_pushes"] = round(rate * (m // k) * self.dur)
                out.append(r)
                log(f"  push {m} subs/{k} services @{rate}/s: p50 {r['p50_us']:.0f} us "
                    f"p99 {r['p99_us']:.0f} us, {r['pushes']} pushes "
                    f"(~{r['expected_pushes']} expected), {r['bytes_per_session']} B/session, "
                    f"sessions {r['ws_established']}")
            finally:
                srv.stop()
        self.res["push"] = {"ours": out, "sessions": m, "services": k, "rate": rate}

    # -- mass expiry
    def expiry(self):
        n, ttl = (5000, 2000) if self.q else (100000, 5000)
        out = []
        for _ in range(self.runs):
            srv = artemis(self.opt.server, ttl_ms=ttl)
            try:
                r = loadgen(srv.port, "register", "--count", n // 100, "--batch", 100,
                            "--conns", 4, "--instances", n, "--services", n // 100,
                            "--max-seconds", 60)
                t_reg = time.monotonic()
                if r["errors"]:
                    raise RuntimeError("expiry preload failed")
                # lookups from 1.5 s before the TTL until 1.5 s after it
                delay = max(0.0, ttl / 1000 - 1.5)
                time.sleep(delay)
                lg = subprocess.Popen([LOADGEN, "--port", str(srv.port), "--mode", "lookup",
                                       "--conns", "8", "--rate", "1000", "--duration", "3",
                                       "--warmup", "0", "--services", str(n // 100)],
                                      stdout=subprocess.PIPE, text=True)
                PROCS.append(lg)
                gone = None
                while time.monotonic() - t_reg < ttl / 1000 + 10:
                    if metrics(srv.port).get("artemis_instances", 1) == 0:
                        gone = time.monotonic() - t_reg
                        break
                    time.sleep(0.02)
                stdout, _ = lg.communicate(timeout=30)
                PROCS.remove(lg)
                lk = json.loads(stdout.strip().splitlines()[-1])
                out.append({"instances": n, "ttl_ms": ttl, "gone_after_s": gone,
                            "over_ttl_s": None if gone is None else round(gone - ttl / 1000, 3),
                            "lookup": lk})
                log(f"  expiry {n} leases, TTL {ttl} ms: all gone after "
                    f"{gone if gone is None else round(gone, 2)} s; lookups p99 "
                    f"{lk['p99_us']:.0f} us ({lk['requests']} at 1000/s, err {lk['errors']})")
            finally:
                srv.stop()
        self.res["expiry"] = {"ours": out}

    # -- management (protocol §7): heartbeat latency beside management writes, and lookups of
    # services carrying route rules
    def mgmt(self):
        try:
            self.mgmt_heartbeat()
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            self.res["mgmt_heartbeat"] = {"why": str(e)[:400]}
            log(f"  mgmt heartbeat: {e}")
        self.mgmt_rules()

    def mgmt_heartbeat(self):
        n, n_svc, rate = (2000, 20, 5000) if self.q else (10000, 100, 20000)
        dur = self.dur if self.q else self.opt.mgmt_duration
        wrate = 100
        servers, pgc, pg_why = {}, None, None
        try:
            servers["sqlite"] = artemis(self.opt.server)
            try:
                if self.q:
                    raise RuntimeError("skipped in quick mode")
                pgc = load_pg_helper().Cluster(name="bench-pg", fsync=True)
                pgc.start(timeout=60)
                servers["postgresql"] = artemis(self.opt.server,
                                                extra=[f"--management-db={pgc.uri}"])
            except Exception as e:  # no PostgreSQL here: the row says why
                pg_why = (str(e) if self.q else f"PostgreSQL not started: {e}")[:300]
                log(f"  mgmt: {pg_why}")
            # SQLite again, with 10 route rules per service present (7,000+ management rows
            # at 100 services): every write reloads and swaps the whole snapshot
            servers["sqlite_rules"] = artemis(self.opt.server)
            groups, rows = {}, {}
            for name, srv in servers.items():
                r = loadgen(srv.port, "register", "--count", n // 100, "--batch", 100,
                            "--conns", 4, "--instances", n, "--services", n_svc)
                if r["errors"]:
                    raise RuntimeError(f"mgmt preload failed: {r}")
                if name == "sqlite_rules":
                    self.create_rules(srv.port, n_svc, 10, time.monotonic() + (60 if self.q
                                                                               else 300))
                cli = MgmtClient(srv.port)
                cli.post("group/insert-groups.json", dict(MG_CTX, groups=[
                    {"appId": "bench-app", "description": "bench", "name": "bench-tags",
                     "regionId": "sha", "serviceId": f"bench.service.{k}", "status": "active",
                     "zoneId": "sha-z1"} for k in range(n_svc)]))
                groups[name] = [g["groupId"] for g in
                                cli.post("group/get-all-groups.json", {})["groups"]
                                if g["name"] == "bench-tags"]
                cli.close()
                if len(groups[name]) != n_svc:
                    raise RuntimeError(f"mgmt: {len(groups[name])} groups, {n_svc} expected")
                time.sleep(0.3)
                rows[name] = int(metrics(srv.port).get("artemis_management_rows", -1))
            hb = ["--conns", 32, "--rate", rate, "--instances", n, "--services", n_svc,
                  "--duration", dur, "--warmup", self.warm]
            res = {name: {"none": [], "writes": [], "writer": []} for name in servers}
            for _ in range(self.runs):
                for name, srv in servers.items():
                    a = loadgen(srv.port, "heartbeat", *hb, pid=srv.pid, timeout=dur + 60)
                    m0 = metrics(srv.port)
                    w = MgmtWriter(srv.port, wrate, n, n_svc, groups[name],
                                   max_s=dur + self.warm + 30)
                    pg0 = tree_cpu(pgc.proc.pid) if name == "postgresql" else 0.0
                    w.start()
                    try:
                        b = loadgen(srv.port, "heartbeat", *hb, pid=srv.pid, timeout=dur + 60)
                    finally:
                        w.stop()
                    wr = w.result()
                    m1 = metrics(srv.port)
                    # the writer thread and PostgreSQL are part of the measured work, not
                    # "other load"
                    extra = wr["cpu_s"] + (tree_cpu(pgc.proc.pid) - pg0 if pgc and
                                           name == "postgresql" else 0.0)
                    b["writer_and_db_cpu"] = round(extra / b["elapsed_s"], 3)
                    b["other_cpu"] = round(max(0.0, b["other_cpu"] - b["writer_and_db_cpu"]), 3)
                    OTHER[-1] = b["other_cpu"]
                    for key in ("writes_total", "write_failures_total", "changes_announced_total",
                                "reloads_total"):
                        mk = f"artemis_management_{key}"
                        wr["server_" + key] = int(m1.get(mk, 0) - m0.get(mk, 0))
                    res[name]["none"].append(a)
                    res[name]["writes"].append(b)
                    res[name]["writer"].append(wr)
                    log(f"  mgmt heartbeat {name} @{rate}/s: p99 {a['p99_us']:.0f} us without "
                        f"writes, {b['p99_us']:.0f} us with {wr['rate']:.0f} writes/s "
                        f"(p99.9 {a['p999_us']:.0f} / {b['p999_us']:.0f} us, hb err "
                        f"{a['errors']}/{b['errors']}; write p50 {wr['p50_us']} us p99 "
                        f"{wr['p99_us']} us, err {wr['errors']}, announced "
                        f"{wr['server_changes_announced_total']}; other {b['other_cpu']})")
                    if wr["errors"]:
                        log(f"  mgmt writer error: {wr['first_error']}")
            self.res["mgmt_heartbeat"] = {"stores": res, "instances": n, "services": n_svc,
                                          "rate": rate, "write_rate": wrate, "duration_s": dur,
                                          "pg_why": pg_why, "management_rows": rows}
        finally:
            for srv in servers.values():
                srv.stop()
            if pgc is not None:
                pgc.cleanup()

    def create_rules(self, port, n_svc, per_svc, deadline):
        """per_svc route rules on each of n_svc services: create-route-rule.json (2 groups,
        weights 70/30) on 4 connections, then release-route-rule-groups.json and
        insert-group-tags.json (2 tags per group) in batches. Returns the timings."""
        t0 = time.monotonic()
        errs = []

        def creator(k0):
            cli = MgmtClient(port)
            try:
                for k in range(k0, n_svc, 4):
                    svc = f"bench.service.{k}"
                    for r in range(per_svc):
                        if errs or time.monotonic() > deadline:
                            return
                        cli.post("group/create-route-rule.json", dict(MG_CTX, routeRule={
                            "description": "bench", "name": f"rule-{r}", "serviceId": svc,
                            "status": "active", "strategy": "weighted-round-robin"}, groups=[
                            {"appId": "bench-app", "description": "bench",
                             "name": f"rule-{r}-{c}", "regionId": "sha", "serviceId": svc,
                             "status": "active", "weight": w, "zoneId": "sha-z1"}
                            for c, w in (("blue", 70), ("green", 30))]))
            except RuntimeError as e:
                errs.append(str(e))
            finally:
                cli.close()

        th = [threading.Thread(target=creator, args=(k,), daemon=True) for k in range(4)]
        for t in th:
            t.start()
        for t in th:
            t.join(timeout=max(1.0, deadline - time.monotonic()) + 30)
        if errs:
            raise RuntimeError(f"create-route-rule failed: {errs[0]}")
        if time.monotonic() > deadline:
            raise RuntimeError("route-rule setup did not finish in time")
        t_create = time.monotonic() - t0
        cli = MgmtClient(port, timeout=60)
        try:
            links = [{"groupId": x["groupId"], "routeRuleId": x["routeRuleId"]} for x in
                     cli.post("group/get-all-route-rule-groups.json", {})["routeRuleGroups"]]
            if len(links) != 2 * n_svc * per_svc:
                raise RuntimeError(f"{len(links)} route-rule groups, {2 * n_svc * per_svc} "
                                   "expected")
            for i in range(0, len(links), 400):
                cli.post("group/release-route-rule-groups.json",
                         dict(MG_CTX, routeRuleGroups=links[i:i + 400]))
            groups = cli.post("group/get-all-groups.json", {})["groups"]
            tags = [{"groupId": g["groupId"], "tags": {
                "owner": "team-" + g["serviceId"].rsplit(".", 1)[-1],
                "stage": g["name"].rsplit("-", 1)[-1]}} for g in groups]
            for i in range(0, len(tags), 250):
                cli.post("group/insert-group-tags.json", dict(MG_CTX, groupTagsList=tags[i:i + 250]))
        finally:
            cli.close()
        return {"rules": n_svc * per_svc, "groups": len(groups), "create_s": round(t_create, 1),
                "total_s": round(time.monotonic() - t0, 1)}

    def mgmt_rules(self):
        n_svc, per, n_rules = (20, 20, 10) if self.q else (100, 100, 10)
        n = n_svc * per
        lk = ["--conns", 32, "--lookup-service", 0, *self.timed()]
        body = {"discoveryConfigs": [{"discoveryData": None, "regionId": None,
                                      "serviceId": "bench.service.0", "zoneId": None}],
                "regionId": "sha", "zoneId": "sha-z1"}
        plain = ruled = None
        try:
            plain, ruled = artemis(self.opt.server), artemis(self.opt.server)
            for srv in (plain, ruled):
                r = loadgen(srv.port, "register", "--count", n // 100, "--batch", 100,
                            "--conns", 4, "--instances", n, "--services", n_svc)
                if r["errors"]:
                    raise RuntimeError(f"mgmt preload failed: {r}")
            setup = self.create_rules(ruled.port, n_svc, n_rules,
                                      time.monotonic() + (60 if self.q else 300))
            time.sleep(0.2)
            sizes, shapes = {}, {}
            for name, srv in (("plain", plain), ("rules", ruled)):
                raw = http(srv.port, "/api/discovery/lookup.json", body)
                doc = json.loads(raw)
                svc = doc["services"][0]
                sizes[name] = len(raw)
                rules = svc.get("routeRules") or []
                shapes[name] = {"instances": len(svc.get("instances") or []),
                                "route_rules": len(rules),
                                "groups": sum(len(x.get("groups") or []) for x in rules)}
            rr = json.loads(http(ruled.port, "/api/discovery/lookup.json", body))[
                "services"][0]["routeRules"]
            ok = len(rr) == n_rules and all(
                sorted(g.get("weight") for g in x["groups"]) == [30, 70] and
                (g.get("metadata") or {}).get("owner") == "team-0"
                for x in rr for g in x["groups"])
            if not ok or shapes["plain"]["route_rules"] or shapes["rules"]["instances"] != per:
                raise RuntimeError(f"lookup with rules is not what was written: {shapes}, "
                                   f"{json.dumps(rr)[:400]}")
            log(f"  mgmt rules: {setup['rules']} rules / {setup['groups']} groups set up in "
                f"{setup['total_s']} s (create {setup['create_s']} s); answer "
                f"{sizes['plain']} B without, {sizes['rules']} B with")
            a_runs, b_runs = [], []
            for _ in range(self.runs):
                a = loadgen(plain.port, "lookup", *lk, pid=plain.pid)
                b = loadgen(ruled.port, "lookup", *lk, pid=ruled.pid)
                a_runs.append(a)
                b_runs.append(b)
                log(f"  lookup without rules {a['rps']:.0f}/s p99 {a['p99_us']:.0f} us "
                    f"(err {a['errors']}); with {n_rules} rules {b['rps']:.0f}/s p99 "
                    f"{b['p99_us']:.0f} us (err {b['errors']}); other {a['other_cpu']}/"
                    f"{b['other_cpu']}")
            self.res["mgmt_rules"] = {"plain": a_runs, "rules": b_runs, "sizes": sizes,
                                      "shapes": shapes, "setup": setup, "services": n_svc,
                                      "instances_per_service": per, "rules_per_service": n_rules}
        except RuntimeError as e:
            self.res["mgmt_rules"] = {"why": str(e)[:400]}
            log(f"  mgmt rules: {e}")
        finally:
            for srv in (plain, ruled):
                if srv:
                    srv.stop()

    # -- etcd
    # -- SDK: in-process cached lookup (bench/sdk_cached.c on the public API)
    def sdk(self):
        why = build_sdk_cached(self.opt.server)
        if why:
            self.res["sdk_lookup"] = {"why": why}
            return
        out = []
        try:
            for _ in range(self.runs):
                self.sdk_run(out)
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
            self.res["sdk_lookup"] = {"why": str(e)[:300]}
            return
        self.res["sdk_lookup"] = {"ours": out}

    def sdk_run(self, out):
        srv = artemis(self.opt.server)
        try:
            loadgen(srv.port, "register", "--count", 1, "--batch", 100, "--conns", 1,
                    "--instances", 100, "--services", 1)
            p = subprocess.run([SDK_CACHED, "--url", f"http://127.0.0.1:{srv.port}",
                                "--service", "bench.service.0", "--ops", "10000000",
                                "--batch", "1000000", "--expect", "100"],
                               capture_output=True, text=True, timeout=120)
            if p.returncode != 0:
                raise RuntimeError(f"sdk_cached failed: {p.stderr.strip()[-300:]}")
            r = json.loads(p.stdout.strip().splitlines()[-1])
            out.append(r)
            log(f"  sdk cached lookup: get+unref {r['get_unref_ns']['median']:.1f} ns, "
                f"get+pick+unref {r['get_pick_unref_ns']['median']:.1f} ns")
        finally:
            srv.stop()

    # -- bindings: cached lookup + pick from Python (extension vs cffi) and Go, beside C's
    def bindings(self):
        """bench/bindings_py.py and the Go package's benchmarks, on the plain tree's
        libartemis (the bindings link build/lib; C's row above uses the release tree)."""
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"),
                   LD_LIBRARY_PATH=os.path.join(ROOT, "build", "lib"))
        p = subprocess.run(["make", "-s", "bindings"], cwd=ROOT, capture_output=True, text=True,
                           timeout=900)
        if p.returncode != 0:
            self.res["bindings"] = {"why": "make bindings failed: " + p.stderr.strip()[-300:]}
            return
        out = {"python": [], "go": []}
        try:
            for _ in range(self.runs):
                srv = artemis(self.opt.server)
                try:
                    loadgen(srv.port, "register", "--count", 1, "--batch", 100, "--conns", 1,
                            "--instances", 100, "--services", 1)
                    q = subprocess.run(
                        ["/usr/bin/python3", os.path.join(ROOT, "bench", "bindings_py.py"),
                         "--url", f"http://127.0.0.1:{srv.port}", "--service", "bench.service.0",
                         "--ops", "1000000" if not self.opt.quick else "100000",
                         "--batch", "100000" if not self.opt.quick else "10000"],
                        capture_output=True, text=True, timeout=300, env=env)
                    if q.returncode != 0:
                        raise RuntimeError("bindings_py: " + q.stderr.strip()[-300:])
                    r = json.loads(q.stdout.strip().splitlines()[-1])
                    out["python"].append(r)
                    log(f"  python: lookup+pick {r['ext_lookup_pick_ns']['median']} ns (extension), "
                        f"{r.get('cffi_api_lookup_pick_ns', {}).get('median')} ns (cffi API), "
                        f"{r.get('cffi_abi_lookup_pick_ns', {}).get('median')} ns (cffi ABI)")
                finally:
                    srv.stop()
                out["go"].append(self.go_bench())
                log(f"  go: {out['go'][-1]}")
        except (RuntimeError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
            self.res["bindings"] = {"why": str(e)[:400]}
            return
        self.res["bindings"] = {"ours": out}

    def go_bench(self):
        """ns/op of each Benchmark* of bindings/go (they start their own server)."""
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(ROOT, "build", "lib"),
                   GOCACHE=os.path.join(ROOT, "build", "go", "cache"),
                   GOPATH=os.path.join(ROOT, "build", "go", "path"), GOPROXY="off",
                   GOFLAGS="-mod=mod", CGO_ENABLED="1", ARTEMIS_SERVER_BIN=self.opt.server)
        p = subprocess.run(["go", "test", "-run", "^$", "-bench", ".",
                            "-benchtime", "2s" if not self.opt.quick else "200ms", "."],
                           cwd=os.path.join(ROOT, "bindings", "go"), capture_output=True,
                           text=True, timeout=600, env=env)
        if p.returncode != 0:
            raise RuntimeError("go test -bench: " + (p.stdout + p.stderr).strip()[-300:])
        res = {}
        for line in p.stdout.splitlines():
            f = line.split()
            if len(f) >= 4 and f[0].startswith("Benchmark") and f[3] == "ns/op":
                res[f[0].split("-")[0][len("Benchmark"):]] = float(f[2])
        if not res:
            raise RuntimeError("go test -bench printed no ns/op: " + p.stdout.strip()[-300:])
        return res

    def sidecar_bin(self):
        """The sidecar of the server's build tree (built here if missing), else build/bin."""
        tree = os.path.dirname(os.path.dirname(self.opt.server))
        rel = os.path.relpath(tree, ROOT)
        if not rel.startswith("..") and rel != "build":
            subprocess.run(["make", "-s", f"BUILD={rel}", "CFLAGS=-DNDEBUG",
                            f"{rel}/bin/artemis-sidecar"], cwd=ROOT, capture_output=True,
                           timeout=600)
        return next((x for x in (os.path.join(tree, "bin", "artemis-sidecar"),
                                 os.path.join(ROOT, "build", "bin", "artemis-sidecar"))
                     if os.access(x, os.X_OK)), None)

    # -- sidecar DNS against dnsmasq (bench/dns.py, issue 4's measurement)
    def dns(self):
        if self.q:
            self.res["sidecar_dns"] = {"why": "skipped in quick mode"}
            return
        sidecar = self.sidecar_bin()
        if sidecar is None:
            self.res["sidecar_dns"] = {"why": "artemis-sidecar not built"}
            return
        out = os.path.join(OUT, "dns.json")
        if os.path.exists(out):
            os.remove(out)
        env = dict(os.environ, ARTEMIS_SERVER=self.opt.server, ARTEMIS_SIDECAR=sidecar)
        try:
            p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "dns.py"),
                                "--runs", str(self.runs), "--out", out], env=env,
                               capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            self.res["sidecar_dns"] = {"why": "bench/dns.py did not finish in 600 s"}
            return
        if p.returncode != 0 or not os.path.exists(out):
            tail = (p.stderr or p.stdout).strip().splitlines()
            why = tail[-1] if tail else f"exit {p.returncode}"
            if shutil.which("dnsperf") is None:
                why = f"dnsperf is not installed and bench/dns.py could not install it ({why})"
            self.res["sidecar_dns"] = {"why": why[:300]}
            return
        with open(out) as f:
            d = json.load(f)
        self.res["sidecar_dns"] = {"dns": d, "sidecar": sidecar}
        log(f"  dns: sidecar {d['results']['sidecar']['qps_median']:.0f} qps, dnsmasq "
            f"{d['results']['dnsmasq']['qps_median']:.0f} qps")

    # -- replication lag and bootstrap on 3 local nodes (bench/cluster.py, issue 5)
    def replication(self):
        if self.q:
            self.res["replication"] = {"why": "skipped in quick mode"}
            return
        env = dict(os.environ, ARTEMIS_SERVER=self.opt.server)
        try:
            p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "cluster.py"),
                                "--rate", "10000", "--duration", "10", "--bootstrap", "100000"],
                               env=env, capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            self.res["replication"] = {"why": "bench/cluster.py did not finish in 900 s"}
            return
        try:
            d = json.loads(p.stdout[p.stdout.index("{"):])
        except ValueError:
            d = None
        if p.returncode != 0 or not d:
            tail = (p.stderr or p.stdout).strip().splitlines()
            self.res["replication"] = {"why": "bench/cluster.py failed: " +
                                       (tail[-1] if tail else f"exit {p.returncode}")[:300]}
            return
        self.res["replication"] = d
        lag = d["lag"]
        log(f"  replication: lag p99 {lag['repl_lag_ms_median_of_p99_samples']} ms at "
            f"{lag['heartbeat_rps_sent']} hb/s; bootstrap of {d['bootstrap']['instances']} "
            f"{d['bootstrap']['restart_to_ready_s']} s")

    # -- I/O threads: rate at --io-threads=0/1/2 and the split that predicts more cores
    def io_threads(self):
        cmd = [sys.executable, os.path.join(ROOT, "bench", "io_threads.py"),
               "--server", self.opt.server]
        if self.q:
            cmd.append("--quick")
        try:
            # full: 3 N × 4 scenarios × 3 runs × 5 s plus starts, about 4 min
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            self.res["io_threads"] = {"why": "bench/io_threads.py did not finish in 900 s"}
            return
        try:
            # the table comes first on stdout; the JSON is the last line
            d = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            d = None
        if p.returncode != 0 or not isinstance(d, dict) or "scenarios" not in d:
            tail = (p.stderr or p.stdout).strip().splitlines()
            self.res["io_threads"] = {"why": "bench/io_threads.py failed: " +
                                      (tail[-1] if tail else f"exit {p.returncode}")[:300]}
            return
        self.res["io_threads"] = d
        # its runs' other load counts in the report's noise figure like every other part's
        OTHER.extend(r["other_cpu"] for s in d["scenarios"].values()
                     for v in s["by_threads"].values() for r in v["runs"])
        for sid, s in d["scenarios"].items():
            by = s["by_threads"]
            log(f"  io_threads {sid}: " + ", ".join(
                f"N={n} {v['rate']:.0f}/s (×{v['ratio_to_0']})" for n, v in by.items()) +
                (f"; predicted ×{s['predicted_bar']['4']} on 4 cores (split at N="
                 f"{s['predicted_bar']['io_threads']})" if s.get("predicted_bar") else ""))

    def etcd_ref(self):
        exe = shutil.which("etcd")
        if not exe:
            self.etcd = {"available": False, "why": "etcd is not installed (apt-get failed?)"}
            return
        ver = subprocess.run([exe, "--version"], capture_output=True, text=True,
                             timeout=10).stdout.split("\n")[0].replace("etcd Version:", "etcd").strip()
        n = 2000 if self.q else self.opt.etcd_keys
        tmp = tempfile.mkdtemp(prefix="etcd-bench-")
        cport, pport = free_port(), free_port()
        args = [exe, "--data-dir", os.path.join(tmp, "d"), "--name", "bench",
                "--listen-client-urls", f"http://127.0.0.1:{cport}",
                "--advertise-client-urls", f"http://127.0.0.1:{cport}",
                "--listen-peer-urls", f"http://127.0.0.1:{pport}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{pport}",
                "--initial-cluster", f"bench=http://127.0.0.1:{pport}",
                "--log-level", "error", "--quota-backend-bytes", str(8 << 30)]
        e = Proc(args, cport, "/v3/maintenance/status", log_path=os.path.join(OUT, "etcd.log"),
                 ready_timeout=30)
        e.tmp = tmp
        try:
            time.sleep(0.5)
            r0 = rss_kb(e.pid)
            put = loadgen(cport, "etcd-put", "--count", n, "--conns", 64, "--instances", n,
                          "--services", n // 100, "--max-seconds", 300, timeout=400)
            time.sleep(1.0)
            r1 = rss_kb(e.pid)
            self.etcd = {"available": True, "version": ver, "keys": n,
                         "rss_before_kb": r0, "rss_after_kb": r1,
                         "bytes_per_key": round((r1 - r0) * 1024 / n),
                         "initial_put": put}
            log(f"  etcd {ver}: {n} leased keys in {put['window_s']:.1f} s "
                f"({put['rps']:.0f}/s), {self.etcd['bytes_per_key']} B/key RSS")
            rng, puts, kas = [], [], []
            for _ in range(self.runs):
                rng.append(loadgen(cport, "etcd-range", "--conns", 32, "--services", n // 100,
                                   "--lookup-service", 0, *self.timed(), pid=e.pid))
                puts.append(loadgen(cport, "etcd-put", "--conns", 64, "--instances", n,
                                    "--services", n // 100, *self.timed(), pid=e.pid))
                kas.append(loadgen(cport, "etcd-keepalive", "--conns", 32, "--instances", 1000,
                                   *self.timed(), pid=e.pid))
                log(f"  etcd: put+lease {puts[-1]['rps']:.0f}/s, keepalive {kas[-1]['rps']:.0f}/s"
                    f", range(100 keys) {rng[-1]['rps']:.0f}/s p99 {rng[-1]['p99_us']:.0f} us")
            self.etcd.update({"put": puts, "keepalive": kas, "range": rng})
        finally:
            e.stop()

    # -- profile
    def profile(self):
        if not shutil.which("valgrind"):
            self.profiles = {"tool": None, "why": "valgrind not installed"}
            return
        perf_ok = subprocess.run(["perf", "stat", "-e", "instructions", "true"],
                                 capture_output=True, text=True, timeout=10)
        use_perf = perf_ok.returncode == 0 and "not supported" not in perf_ok.stderr
        self.profiles = {"tool": "perf" if use_perf else "callgrind", "files": {}}
        # 100 instances in one service, so the profile is the measured request, not the preload
        small = ["--instances", 100, "--services", 1]
        for name, mode, args in (("heartbeat_100", "heartbeat", ["--batch", 100, "--conns", 8]),
                                 ("lookup", "lookup", ["--conns", 8]),
                                 ("register", "register", ["--conns", 16]),
                                 ("ws_heartbeat", "ws-heartbeat", ["--sessions", 1000]),
                                 ("expiry", None, [])):
            out = os.path.join(OUT, f"callgrind.{name}.out")
            wrapper = ["valgrind", "-q", "--tool=callgrind", f"--callgrind-out-file={out}"]
            if use_perf:
                out = os.path.join(OUT, f"perf.{name}.data")
                wrapper = ["perf", "record", "-g", "-o", out, "--"]
            srv = artemis(self.opt.server, wrapper=wrapper, ttl_ms=2000 if not mode else 600000)
            try:
                if not mode:  # 20,000 leases registered, then all expire (TTL 2 s)
                    loadgen(srv.port, "register", "--count", 200, "--batch", 100, "--conns", 2,
                            "--instances", 20000, "--services", 200, timeout=300)
                    deadline = time.monotonic() + 60
                    while time.monotonic() < deadline and \
                            metrics(srv.port).get("artemis_instances", 1) > 0:
                        time.sleep(0.5)
                else:
                    loadgen(srv.port, "register", "--count", 1, "--batch", 100, "--conns", 1,
                            *small, timeout=300)
                    loadgen(srv.port, mode, *args, *small, "--duration", 4, "--warmup", 1,
                            timeout=120)
            finally:
                srv.stop()
            txt = os.path.join(OUT, f"profile.{name}.txt")
            if use_perf:
                rep = subprocess.run(["perf", "report", "-i", out, "--stdio", "--no-children"],
                                     capture_output=True, text=True, timeout=120).stdout
            else:
                rep = subprocess.run(["callgrind_annotate", "--inclusive=no", out],
                                     capture_output=True, text=True, timeout=120).stdout
                inc = subprocess.run(["callgrind_annotate", "--inclusive=yes", out],
                                     capture_output=True, text=True, timeout=120).stdout
                with open(os.path.join(OUT, f"profile.{name}.inclusive.txt"), "w") as f:
                    f.write(inc)
            with open(txt, "w") as f:
                f.write(rep)
            self.profiles["files"][name] = {"raw": os.path.relpath(out, ROOT),
                                            "text": os.path.relpath(txt, ROOT),
                                            "top": top_functions(rep)}
            log(f"  profile {name}: {txt}")


def top_functions(report, n=12):
    """The first n rows of a callgrind_annotate (or perf report) listing: (share %, function)."""
    rows = []
    for line in report.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)$", line)
        if m and "PROGRAM TOTALS" not in line:
            where = m.group(3)
            lib = re.search(r"\[(.*)\]\s*$", where)
            fn = re.sub(r"\s*\[.*\]\s*$", "", where).rsplit(":", 1)[-1]
            if fn.startswith("0x") and lib:
                fn = f"{os.path.basename(lib.group(1)).split('.so')[0]}+{fn}"
            rows.append((float(m.group(2)), fn))
        else:
            m = re.match(r"^\s*([\d.]+)%\s+.*\s(\S+)\s*$", line)
            if m and not line.lstrip().startswith("#"):
                rows.append((float(m.group(1)), m.group(2)))
        if len(rows) >= n:
            break
    return rows


# ---- report --------------------------------------------------------------------------------


def med(runs, key):
    return agg([r[key] for r in runs])


def build_report(b, info):
    R, E = b.res, b.etcd
    rows = []

    def row(sid, name, unit, ours, bar, status, ref=None, notes=""):
        rows.append({"id": sid, "scenario": name, "unit": unit,
                     **({k: ours[k] for k in ("median", "min", "max", "runs")} if ours else
                        {"median": None, "min": None, "max": None, "runs": []}),
                     "bar": bar, "status": status, "reference": ref or {}, "notes": notes})

    def etcd_fig(key, field="rps"):
        if not E.get("available") or key not in E:
            return None
        return med(E[key], field)

    N = b.nginx

    def nginx_fig(sid, ours):
        """nginx's rate beside ours (same loadgen arguments, runs interleaved) and the ratio."""
        runs, key = R[sid].get("nginx") or [], R[sid]["key"]
        if not runs:
            return {"nginx": None, "nginx_why": N.get("why", "not measured")}
        ng = med(runs, key)
        return {"nginx": ng, "ratio_to_nginx": round(ours["median"] / ng["median"], 2),
                "ratio_to_nginx_runs": [round(a[key] / c[key], 2)
                                        for a, c in zip(R[sid]["ours"], runs)],
                "nginx_rps": med(runs, "rps"), "nginx_server_cpu": med(runs, "server_cpu"),
                "server_cpu": med(R[sid]["ours"], "server_cpu"),
                # CPU over the whole loadgen run / the measured rate (the warm-up's share in)
                "cpu_us_per_req": agg([x["server_cpu"] * 1e6 / x["rps"]
                                       for x in R[sid]["ours"] if x["rps"]]),
                "nginx_cpu_us_per_req": agg([x["server_cpu"] * 1e6 / x["rps"]
                                             for x in runs if x["rps"]]),
                "nginx_p99_us": med(runs, "p99_us"),
                "nginx_errors": sum(x["errors"] + x["conn_errors"] for x in runs)}

    # register
    o = med(R["register"]["ours"], "rps")
    c = med(R["register"]["ceiling"], "rps")
    ep = etcd_fig("put")
    ok = o["median"] >= 0.6 * c["median"] and (ep is None or o["median"] >= 5 * ep["median"])
    row("register", "register, 1 instance/request, 64 conns", "req/s", o,
        "≥ 0.6 × ceiling and ≥ 5 × etcd lease-put", "met" if ok else "missed",
        {"ceiling": c, "ratio_to_ceiling": round(o["median"] / c["median"], 2),
         "etcd_lease_put": ep,
         "ratio_to_etcd": round(o["median"] / ep["median"], 1) if ep else None,
         **nginx_fig("register", o)},
        "" if ep else "etcd not measured: only the ceiling part of the bar was checked")
    # heartbeat 1
    o = med(R["heartbeat_1"]["ours"], "rps")
    c = med(R["heartbeat_1"]["ceiling"], "rps")
    ek = etcd_fig("keepalive")
    row("heartbeat_1", "heartbeat, 1 instance/request, 32 conns", "req/s", o,
        "≥ 0.7 × ceiling", "met" if o["median"] >= 0.7 * c["median"] else "missed",
        {"ceiling": c, "ratio_to_ceiling": round(o["median"] / c["median"], 2),
         "etcd_keepalive": ek, **nginx_fig("heartbeat_1", o)})
    # heartbeat 100
    o = med(R["heartbeat_100"]["ours"], "items_per_s")
    c = med(R["heartbeat_100"]["ceiling"], "items_per_s")
    row("heartbeat_100", "heartbeat, 100 instances/request, 8 conns", "renewals/s", o,
        "≥ 1,000,000 renewals/s", "met" if o["median"] >= 1e6 else "missed",
        {"ceiling": c, "ratio_to_ceiling": round(o["median"] / c["median"], 2),
         "etcd_keepalive": ek, **nginx_fig("heartbeat_100", o)},
        "nginx in renewals/s too: its requests/s × 100 (the same 100-instance request bodies, "
        "read and discarded)" if R["heartbeat_100"].get("nginx") else "")
    # ws heartbeat
    w = R["ws_heartbeat"]["ours"]
    o = med(w, "items_per_s")
    p99 = med(w, "p99_us")
    row("ws_heartbeat", f"WebSocket heartbeats, {R['ws_heartbeat']['sessions']} sessions, "
        "1 instance each every 1 s", "renewals/s", o, "renewals/s reported; p99 ≤ 20 ms",
        "met" if p99["median"] <= 20000 and sum(x["errors"] for x in w) == 0 else "missed",
        {"p50_us": med(w, "p50_us"), "p99_us": p99,
         "sessions_established": [x["ws_established"] for x in w]})
    # capacity
    cp = R["capacity"]["ours"]
    o = agg([x["rss_mb"] for x in cp])
    bpi = agg([x["bytes_per_instance"] for x in cp])
    n = R["capacity"]["instances"]
    # at n < 1M: the empty server's RSS plus the measured bytes per instance times 1M
    rss_full = statistics.median(x["rss_before_kb"] for x in cp) / 1024 + \
        bpi["median"] * 1_000_000 / 2**20 if n < 1_000_000 else o["median"]
    bar_ok = rss_full <= 600
    row("capacity", f"capacity: {n:,} instances ({n // 100:,} services × 100, 2 metadata)",
        "MB RSS", o, "RSS ≤ 600 MB at 1,000,000; bytes/instance beside etcd's",
        "met" if bar_ok else "missed",
        {"bytes_per_instance": bpi, "gauge_bytes_per_instance":
            agg([x["gauge_bytes_per_instance"] for x in cp]),
         "load_instances_per_s": agg([x["load_instances_per_s"] for x in cp]),
         "rss_mb_at_1m": round(rss_full, 1),
         "etcd_bytes_per_key": E.get("bytes_per_key"), "etcd_keys": E.get("keys")},
        "" if n >= 1_000_000 else f"measured at {n:,} and extrapolated linearly to 1,000,000")
    # lookup
    o = med(R["lookup"]["ours"], "rps")
    c = med(R["lookup"]["ceiling"], "rps")
    ol = med(R["lookup"]["open_loop"], "p99_us")
    olc = med(R["lookup"]["open_loop_ceiling"], "p99_us")
    er = etcd_fig("range")
    ok = o["median"] >= 0.8 * c["median"] and ol["median"] <= 2000
    row("lookup", "lookup of a 100-instance service, 32 conns", "req/s", o,
        "≥ 0.8 × ceiling req/s, p99 ≤ 2 ms", "met" if ok else "missed",
        {"ceiling": c, "ratio_to_ceiling": round(o["median"] / c["median"], 2),
         "open_loop_rate": R["lookup"]["open_loop_rate"], "open_loop_p99_us": ol,
         "ceiling_open_loop_p99_us": olc, "etcd_range_100_keys": er,
         "etcd_range_p99_us": etcd_fig("range", "p99_us"), **nginx_fig("lookup", o),
         "nginx_open_loop_p99_us": med(R["lookup"]["open_loop_nginx"], "p99_us")
         if R["lookup"].get("open_loop_nginx") else None},
        f"p99 measured open-loop at {R['lookup']['open_loop_rate']} req/s (half the "
        "closed-loop rate); the closed-loop p99 is queueing behind 31 other connections")
    # the machine's HTTP limit: nginx answering the same bytes (issue 16 item 5)
    for sid, what in (("register", "register, 1 instance/request"),
                      ("heartbeat_1", "heartbeat, 1 instance/request"),
                      ("heartbeat_100", "heartbeat, 100 instances/request")):
        key = R[sid]["key"]
        o = med(R[sid]["ours"], key)
        ref = nginx_fig(sid, o)
        name = f"{what} vs nginx answering the same bytes (one worker)"
        unit = "renewals/s" if sid == "heartbeat_100" else "req/s"
        if ref["nginx"] is None:
            row(f"nginx_{sid}", name, unit, o, "≥ 0.5 × nginx", "not measured", ref,
                ref["nginx_why"])
            continue
        size = N["answers"][sid]
        row(f"nginx_{sid}", name, unit, o, "≥ 0.5 × nginx",
            "met" if ref["ratio_to_nginx"] >= 0.5 else "missed", ref,
            f"nginx gives our {size['answer_body_bytes']}-byte answer (captured from our server) "
            f"to the same {size['request_bytes']:,}-byte requests, whose bodies it reads and "
            "discards" + ("; both sides in renewals/s = requests/s × 100 (nginx "
                          f"{fmt(ref['nginx_rps']['median'])} req/s)"
                          if sid == "heartbeat_100" else ""))
    # I/O threads (bench/io_threads.py): the throughput the measured loop / I/O-thread split
    # predicts on 4 cores, with the rates at each --io-threads measured here beside it
    s = R.get("io_threads") or {"why": "not run"}
    bar = "prediction ≥ 2× on 4 cores"
    first = True
    for sid, what in (("register", "register, 1 instance/request, 64 conns"),
                      ("heartbeat_1", "heartbeat, 1 instance/request, 32 conns"),
                      ("heartbeat_100", "heartbeat, 100 instances/request, 8 conns"),
                      ("lookup", "lookup of a 100-instance service, 32 conns")):
        name = f"I/O threads: {what}, predicted on 4 cores (3 I/O threads) over one loop"
        sc = (s.get("scenarios") or {}).get(sid)
        if not sc or not sc.get("predicted_bar"):
            row(f"io_threads_{sid}", name, "", None, bar, "not measured",
                notes=s.get("why", "no run with --io-threads ≥ 1"))
            continue
        pb, by = sc["predicted_bar"], sc["by_threads"]
        runs4 = [x for x in pb["runs_4"] if x is not None] or [pb["4"]]
        o = {"median": pb["4"], "min": min(runs4), "max": max(runs4), "runs": runs4}
        keep = ("rate", "rate_runs", "ratio_to_0", "ratio_to_0_runs", "p99_us", "errors",
                "loop_us", "io_us", "total_us", "server_cpu", "loadgen_cpu", "other_cpu",
                "io_threads_seen", "predicted")
        row(f"io_threads_{sid}", name, "× one loop", o, bar,
            "met" if pb["4"] is not None and pb["4"] >= 2 else "missed",
            {"unit": sc["unit"], "one_loop_us": sc["one_loop_us"],
             "split_from_io_threads": pb["io_threads"], "predicted_8": pb["8"],
             "predicted_16": pb["16"],
             "by_threads": {n: {k: v[k] for k in keep if k in v} for n, v in by.items()}},
            ("bench/io_threads.py: one server per --io-threads value (0, 1, 2; quick: 0, 1), each "
             "with 10,000 "
             "instances, runs interleaved; per-thread CPU from /proc/PID/task: L = loop thread "
             "(TID = PID), T = the other threads that gained ≥ 1 % of the run, per request; "
             "S = the one-loop server's CPU per request; prediction S / max(L, T / (C − 1)) from "
             "the more pessimistic N ≥ 1 split (medians; min–max from each run's split); the "
             "load generator shares the 2 cores, so the rates measured here do not test the "
             "prediction") if first else "")
        first = False
    # delta
    d = R["delta"]
    big, small = med(d["ours_big"], "rps"), med(d["ours_small"], "rps")
    ratio = big["median"] / small["median"]
    row("delta", f"services-delta after 100 changes among {d['n_big']:,} instances", "req/s",
        big, "cost independent of the total", "met" if ratio >= 0.8 else "missed",
        {f"at_{d['n_small']}_instances": small, "ratio_big_to_small": round(ratio, 2),
         "p99_us_big": med(d["ours_big"], "p99_us"),
         "p99_us_small": med(d["ours_small"], "p99_us")},
        "met when the rate at the large N is ≥ 0.8 × the rate at the small N")
    # push
    p = R["push"]
    o = med(p["ours"], "p99_us")
    bps = agg([x["bytes_per_session"] for x in p["ours"]])
    ok = o["median"] <= 50000 and bps["median"] <= 8192
    row("push", f"push: {p['sessions']:,} subscribers on {p['services']:,} services, "
        f"{p['rate']:,} changes/s", "p99 us", o,
        "change → client p99 ≤ 50 ms; ≤ 8 KB server memory per session",
        "met" if ok else "missed",
        {"p50_us": med(p["ours"], "p50_us"), "bytes_per_session": bps,
         "pushes": [x["pushes"] for x in p["ours"]],
         "expected_pushes": [x["expected_pushes"] for x in p["ours"]],
         "sessions_established": [x["ws_established"] for x in p["ours"]]},
        "latency = client receive time − send time stamped by the writer in metadata \"ts\"")
    # expiry
    ex = R["expiry"]["ours"]
    over = agg([x["over_ttl_s"] for x in ex])
    lp99 = agg([x["lookup"]["p99_us"] for x in ex])
    ok = over is not None and len(over["runs"]) == len(ex) and over["max"] <= 1.0 and \
        lp99["median"] <= 10000
    row("expiry", f"mass expiry: {ex[0]['instances']:,} leases, TTL {ex[0]['ttl_ms']} ms",
        "s after TTL", over, "all gone within TTL + 1 s; lookups during it p99 ≤ 10 ms",
        "met" if ok else "missed",
        {"lookup_p99_us": lp99, "lookup_rate": 1000,
         "lookup_errors": sum(x["lookup"]["errors"] for x in ex)},
        "time from the end of the registration burst to artemis_instances = 0, minus the TTL")
    # SDK cached lookup
    s = R.get("sdk_lookup") or {"why": "not run"}
    name, bar = "SDK cached lookup (in-process)", "median ≤ 1 µs"
    if "ours" in s:
        o = agg([x["get_unref_ns"]["median"] for x in s["ours"]])
        pk = agg([x["get_pick_unref_ns"]["median"] for x in s["ours"]])
        row("sdk_lookup", name, "ns/op", o, bar, "met" if o["median"] <= 1000 else "missed",
            {"get_pick_unref_ns": pk, "instances": s["ours"][0]["instances"],
             "ops_per_run": s["ours"][0]["ops_per_loop"]},
            "artemis_client_get_cached() + artemis_service_unref() of a 100-instance service, "
            "one thread, threaded-mode client; median of 1M-op batches (bench/sdk_cached.c)")
    else:
        row("sdk_lookup", name, "", None, bar, "not measured", notes=s["why"])
    # bindings: cached lookup + pick from Python and Go
    s = R.get("bindings") or {"why": "not run"}
    name, bar = "Bindings: cached lookup + pick (Python, Go)", "reported beside C's"
    if "ours" in s:
        py = s["ours"]["python"]
        o = agg([x["ext_lookup_pick_ns"]["median"] for x in py])
        ref = {"c_get_pick_unref_ns": (R.get("sdk_lookup") or {}).get("ours") and
               agg([x["get_pick_unref_ns"]["median"] for x in R["sdk_lookup"]["ours"]])}
        for k in ("ext_lookup_ns", "ext_pick_ns", "cffi_abi_raw_ns", "cffi_abi_lookup_pick_ns",
                  "cffi_api_raw_ns", "cffi_api_lookup_pick_ns", "loop_overhead_ns"):
            if all(k in x for x in py):
                ref["py_" + k] = agg([x[k]["median"] for x in py])
        for k in sorted({k for g in s["ours"]["go"] for k in g}):
            ref["go_" + k + "_ns"] = agg([g[k] for g in s["ours"]["go"] if k in g])
        row("bindings", name, "ns/op", o, bar, "measured", ref,
            "Python: client.lookup(id).pick() through the CPython extension, 100 instances "
            "(bench/bindings_py.py, median of 100k-op batches); cffi doing the same work for "
            "comparison; Go: bindings/go Benchmark* (go test -bench)")
    else:
        row("bindings", name, "", None, bar, "not measured", notes=s["why"])
    # sidecar DNS
    s = R.get("sidecar_dns") or {"why": "not run"}
    name, bar = "sidecar DNS vs dnsmasq, dnsperf (100 names × 5 A)", "qps ≥ dnsmasq in the same run"
    if "dns" in s:
        d = s["dns"]["results"]
        sc, dm = d["sidecar"], d["dnsmasq"]
        o = {"median": sc["qps_median"], "min": min(sc["qps_runs"]), "max": max(sc["qps_runs"]),
             "runs": sc["qps_runs"]}
        dmq = {"median": dm["qps_median"], "min": min(dm["qps_runs"]),
               "max": max(dm["qps_runs"]), "runs": dm["qps_runs"]}
        row("sidecar_dns", name, "qps", o, bar,
            "met" if sc["qps_median"] >= dm["qps_median"] else "missed",
            {"dnsmasq_qps": dmq, "ratio_to_dnsmasq": round(sc["qps_median"] / dm["qps_median"], 2),
             "p99_us": sc.get("p99_us"), "dnsmasq_p99_us": dm.get("p99_us"),
             "cpu_us_per_query": sc.get("server_cpu_us_per_query_median"),
             "dnsmasq_cpu_us_per_query": dm.get("server_cpu_us_per_query_median")},
            "bench/dns.py, UDP closed loop (-c 8 -q 64); details in build/bench/dns.json")
    else:
        row("sidecar_dns", name, "", None, bar,
            "skipped" if "quick" in s["why"] else "not measured", notes=s["why"])
    # replication
    s = R.get("replication") or {"why": "not run"}
    name, bar = "replication, 3 local nodes, 10,000 heartbeats/s", "lag p99 ≤ 100 ms at 10k hb/s"
    if "lag" in s:
        lag, bs = s["lag"], s["bootstrap"]
        v = lag["repl_lag_ms_median_of_p99_samples"]
        o = {"median": v, "min": v, "max": lag["repl_lag_ms_max_of_p99_samples"], "runs": [v]}
        ok = v <= 100 and lag["heartbeat_rps_sent"] >= 9000 and lag["heartbeat_errors"] == 0
        row("replication", name, "ms lag p99", o, bar, "met" if ok else "missed",
            {"heartbeat_rps_sent": lag["heartbeat_rps_sent"],
             "heartbeat_errors": lag["heartbeat_errors"],
             "lag_p50_ms": lag["repl_lag_ms_median_of_p50_samples"],
             "write_to_visible_ms_p50": lag["write_to_visible_ms_p50"],
             "write_to_visible_ms_p99": lag["write_to_visible_ms_p99"], "bootstrap": bs},
            "bench/cluster.py: median (max) over 1 s samples of the servers' "
            "artemis_replication_lag_seconds p99; one run")
    else:
        row("replication", name, "", None, bar,
            "skipped" if "quick" in s["why"] else "not measured", notes=s["why"])
    # bootstrap: the serving nodes' clients while a peer copies 100,000 instances (issue 16)
    name = "heartbeats on the serving nodes while a peer bootstraps 100,000 instances"
    bar = "heartbeat p99 ≤ 20 ms on the serving nodes"
    bs = s.get("bootstrap") or {}
    if "heartbeat_p99_ms_per_node" in bs:
        v = max(bs["heartbeat_p99_ms_per_node"])
        o = {"median": v, "min": min(bs["heartbeat_p99_ms_per_node"]), "max": v, "runs": [v]}
        ok = v <= 20 and bs["heartbeat_errors"] == 0 and bs["ready_within_window"] and \
            bs["instances_when_ready"] == bs["instances"]
        row("bootstrap", name, "ms heartbeat p99", o, bar, "met" if ok else "missed",
            {k: bs[k] for k in ("instances", "restart_to_ready_s", "bootstrap_copy_s",
                                "heartbeat_rate_per_node", "heartbeat_max_ms_per_node",
                                "heartbeat_errors", "rss_kib_after")},
            "bench/cluster.py: loadgen open-loop heartbeats to the two nodes that stay up over a "
            "6 s window holding the kill -9 and restart of the third; worse node's p99; one run")
    else:
        row("bootstrap", name, "", None, bar,
            "skipped" if "quick" in s.get("why", "") else "not measured",
            notes=s.get("why", "no bootstrap figures"))
    # management: heartbeat latency beside management writes
    s = R.get("mgmt_heartbeat") or {"why": "not run"}
    name = "heartbeat p99 beside 100 management writes/s"
    bar = "p99 with writes ≤ p99 without + 3 ms, ≥ 90 writes/s, no errors (every store)"
    if "stores" in s:
        name = (f"heartbeat p99 beside {s['write_rate']} management writes/s ({s['instances']:,} "
                f"instances, {s['rate']:,} hb/s open loop)")
        ref, ok = {}, True
        for store, v in s["stores"].items():
            none, wr = med(v["none"], "p99_us"), med(v["writes"], "p99_us")
            rate = med(v["writer"], "rate")
            errs = sum(x["errors"] for x in v["writer"]) + \
                sum(x["errors"] + x["conn_errors"] for x in v["none"] + v["writes"])
            ok &= (wr["median"] <= none["median"] + 3000 and rate["median"] >= 90 and
                   errs == 0)
            ref[store] = {
                "p99_us_without": none, "p99_us_with": wr,
                "ratio": round(wr["median"] / none["median"], 2),
                "p50_us_without": med(v["none"], "p50_us"), "p50_us_with": med(v["writes"], "p50_us"),
                "p999_us_without": med(v["none"], "p999_us"),
                "p999_us_with": med(v["writes"], "p999_us"),
                "max_us_with": med(v["writes"], "max_us"),
                "write_rate": rate, "write_p50_us": med(v["writer"], "p50_us"),
                "write_p99_us": med(v["writer"], "p99_us"),
                "write_service_p50_us": med(v["writer"], "service_p50_us"),
                "errors": errs, "management_rows": s["management_rows"].get(store),
                "reloads_per_write": round(sum(x["server_reloads_total"] for x in v["writer"]) /
                                           max(1, sum(x["server_writes_total"]
                                                      for x in v["writer"])), 2),
                "changes_announced": [x["server_changes_announced_total"] for x in v["writer"]],
                "writer_and_db_cpu": med(v["writes"], "writer_and_db_cpu")}
        row("mgmt_heartbeat", name, "p99 us", ref["sqlite"]["p99_us_with"], bar,
            "met" if ok else "missed", ref,
            "open-loop heartbeats (1 instance/request, 32 conns) without, then with a paced writer "
            "(one keep-alive connection; cycle of 10: 4 × operate-instance pull-out + pull-in, "
            "2 × insert-group-tags); write latency counts from each write's due time; "
            "PostgreSQL: " + (s["pg_why"] or "throwaway cluster, fsync on") +
            "; sqlite_rules: the same with 10 route rules per service present")
    else:
        row("mgmt_heartbeat", name, "", None, bar, "not measured", notes=s["why"])
    # management: lookups of a service carrying route rules
    s = R.get("mgmt_rules") or {"why": "not run"}
    name = "lookup of a 100-instance service with 10 route rules, 32 conns"
    bar = "≥ 0.8 × the same lookup without rules"
    if "rules" in s:
        name = (f"lookup of a {s['instances_per_service']}-instance service with "
                f"{s['rules_per_service']} route rules (2 groups, tags), 32 conns")
        o, base = med(s["rules"], "rps"), med(s["plain"], "rps")
        ratio = round(o["median"] / base["median"], 2)
        row("mgmt_rules", name, "req/s", o, bar, "met" if ratio >= 0.8 else "missed",
            {"without_rules": base, "ratio": ratio, "p99_us": med(s["rules"], "p99_us"),
             "p99_us_without": med(s["plain"], "p99_us"),
             "bytes": s["sizes"]["rules"], "bytes_without": s["sizes"]["plain"],
             "setup": s["setup"], "services": s["services"],
             "errors": sum(x["errors"] for x in s["rules"] + s["plain"])},
            f"two servers with the same {s['services']} × {s['instances_per_service']} "
            f"instances, one with {s['setup']['rules']:,} rules (create-route-rule.json, "
            f"release-route-rule-groups.json, insert-group-tags.json; set up in "
            f"{s['setup']['total_s']} s), measured alternately; closed-loop p99")
    else:
        row("mgmt_rules", name, "", None, bar, "not measured", notes=s["why"])
    # TLS vs plain (issue 14): figures beside plain, no bar
    s = R.get("tls") or {"why": "not run"}
    bar = "reported beside plain (no bar)"
    names = {"register": ("register over TLS, 1 instance/request, 64 keep-alive conns", "req/s"),
             "lookup": ("lookup of a 100-instance service over TLS, 32 keep-alive conns",
                        "req/s"),
             "new_conn": ("register over a new TLS connection per request (full handshake, "
                          "RSA 2048), 32 conns", "handshakes/s")}
    for sid, (name, unit) in names.items():
        if sid not in s:
            row(f"tls_{sid}", name, "", None, bar, "not measured", notes=s.get("why", "not run"))
            continue
        t, p = s[sid]["tls"], s[sid]["plain"]
        o, base = med(t, "rps"), med(p, "rps")
        errs = sum(x["errors"] + x["tls_errors"] for x in t + p)
        row(f"tls_{sid}", name, unit, o, bar, "reported",
            {"plain": base, "ratio_to_plain": round(o["median"] / base["median"], 2),
             "p99_us": med(t, "p99_us"), "plain_p99_us": med(p, "p99_us"),
             "server_cpu_us_per_req": med(t, "server_cpu_us_per_req"),
             "plain_server_cpu_us_per_req": med(p, "server_cpu_us_per_req"),
             "server_cpu": med(t, "server_cpu"), "plain_server_cpu": med(p, "server_cpu"),
             "errors": errs, "server_handshakes": s["server_handshakes"],
             "server_handshakes_failed": s["server_handshakes_failed"]},
            ("one server with --listen and --tls.listen, plain and TLS measured alternately; "
             "closed loop; the handshake is paid once per connection in the warm-up; server CPU "
             "µs/request = its CPU over the whole loadgen run / the measured rate")
            if sid == "register" else
            ("the plain figure is TCP connections/s, each with one request (connect → answer "
             "latency)") if sid == "new_conn" else "")
    return {"machine": info, "config": {"quick": b.q, "runs": b.runs, "duration_s": b.dur,
                                         "warmup_s": b.warm},
            "etcd": {k: v for k, v in E.items() if k not in ("put", "keepalive", "range")} |
            ({"put": med(E["put"], "rps"), "keepalive": med(E["keepalive"], "rps"),
              "range": med(E["range"], "rps"), "range_p99_us": med(E["range"], "p99_us")}
             if E.get("available") else {}),
            "nginx": N, "profiles": getattr(b, "profiles", None), "scenarios": rows,
            "raw": {"ours": b.res, "etcd": {k: E.get(k) for k in ("put", "keepalive", "range",
                                                                   "initial_put")}}}


def fmt(v, unit=""):
    if v is None:
        return "–"
    if isinstance(v, dict):
        return f"{fmt(v['median'])} ({fmt(v['min'])}–{fmt(v['max'])})"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"


def reference_text(r):
    ref = r["reference"]
    parts = []
    if "ceiling" in ref:
        parts.append(f"ceiling {fmt(ref['ceiling']['median'])} (×{ref['ratio_to_ceiling']})")
    if ref.get("etcd_lease_put"):
        parts.append(f"etcd lease+put {fmt(ref['etcd_lease_put']['median'])}/s "
                     f"(ours ×{ref['ratio_to_etcd']})")
    if ref.get("etcd_keepalive") and not r["id"].startswith("nginx_"):
        parts.append(f"etcd keep-alive {fmt(ref['etcd_keepalive']['median'])}/s")
    if ref.get("nginx"):
        parts.append(f"nginx {fmt(ref['nginx']['median'])} (ours ×{ref['ratio_to_nginx']}); "
                     f"server CPU ours {fmt(ref['server_cpu']['median'])} = "
                     f"{fmt(ref['cpu_us_per_req']['median'])} µs/req, nginx "
                     f"{fmt(ref['nginx_server_cpu']['median'])} = "
                     f"{fmt(ref['nginx_cpu_us_per_req']['median'])} µs/req")
    elif "nginx_why" in ref:
        parts.append(f"nginx: {ref['nginx_why']}")
    if r["id"] == "ws_heartbeat":
        parts.append(f"p50 {fmt(ref['p50_us']['median'])} µs, p99 {fmt(ref['p99_us'])} µs")
    if r["id"] == "capacity":
        parts.append(f"{fmt(ref['bytes_per_instance'])} B/instance RSS "
                     f"(registry gauge {fmt(ref['gauge_bytes_per_instance']['median'])})")
        parts.append(f"≈ {ref['rss_mb_at_1m']} MB at 1M")
        if ref.get("etcd_bytes_per_key"):
            parts.append(f"etcd {ref['etcd_bytes_per_key']:,} B/leased key "
                         f"(at {ref['etcd_keys']:,} keys)")
    if r["id"] == "lookup":
        parts.append(f"p99 {fmt(ref['open_loop_p99_us'])} µs at {ref['open_loop_rate']:,}/s "
                     f"(ceiling p99 {fmt(ref['ceiling_open_loop_p99_us']['median'])} µs" +
                     (f", nginx {fmt(ref['nginx_open_loop_p99_us']['median'])} µs"
                      if ref.get("nginx_open_loop_p99_us") else "") + ")")
        if ref.get("etcd_range_100_keys"):
            parts.append(f"etcd range of 100 keys {fmt(ref['etcd_range_100_keys']['median'])}/s"
                         f" p99 {fmt(ref['etcd_range_p99_us']['median'])} µs")
    if r["id"] == "delta":
        k = [x for x in ref if x.startswith("at_")][0]
        parts.append(f"{fmt(ref[k]['median'])}/s at {k[3:-10]} instances "
                     f"(ratio {ref['ratio_big_to_small']})")
    if r["id"] == "push":
        parts.append(f"p50 {fmt(ref['p50_us']['median'])} µs; "
                     f"{fmt(ref['bytes_per_session'])} B/session")
    if r["id"] == "expiry":
        parts.append(f"lookup p99 {fmt(ref['lookup_p99_us'])} µs at 1,000/s")
    if r["id"] == "sdk_lookup" and ref:
        parts.append(f"with artemis_service_pick {fmt(ref['get_pick_unref_ns'])} ns/op; "
                     f"{ref['instances']} instances")
    if r["id"] == "bindings" and ref:
        parts.append("; ".join(f"{k} {fmt(v['median'] if isinstance(v, dict) else v)}"
                               for k, v in ref.items() if v))
    if r["id"] == "sidecar_dns" and ref:
        parts.append(f"dnsmasq {fmt(ref['dnsmasq_qps'])} qps (sidecar ×{ref['ratio_to_dnsmasq']}); "
                     f"p99 {fmt(ref['p99_us'])} vs {fmt(ref['dnsmasq_p99_us'])} µs; CPU "
                     f"{fmt(ref['cpu_us_per_query'])} vs {fmt(ref['dnsmasq_cpu_us_per_query'])} "
                     f"µs/query")
    if r["id"] == "replication" and ref:
        b = ref["bootstrap"]
        parts.append(f"{ref['heartbeat_rps_sent']:,} hb/s sent ({ref['heartbeat_errors']} errors); "
                     f"lag p50 {fmt(ref['lag_p50_ms'])} ms; write → visible on another node p50 "
                     f"{fmt(ref['write_to_visible_ms_p50'])} ms, p99 "
                     f"{fmt(ref['write_to_visible_ms_p99'])} ms; bootstrap of "
                     f"{b['instances']:,} instances: restart → ready {b['restart_to_ready_s']} s")
    if r["id"] == "bootstrap" and ref:
        parts.append(f"{ref['heartbeat_rate_per_node']:,} hb/s to each serving node, max "
                     f"{' / '.join(fmt(x) for x in ref['heartbeat_max_ms_per_node'])} ms, "
                     f"{ref['heartbeat_errors']} errors; restart → ready "
                     f"{ref['restart_to_ready_s']} s (copy {ref['bootstrap_copy_s']} s); new node's "
                     f"RSS after {ref['rss_kib_after'] / 1024:.0f} MB")
    if r["id"] == "mgmt_heartbeat" and ref:
        label = {"sqlite": "SQLite", "postgresql": "PostgreSQL",
                 "sqlite_rules": "SQLite with 10 rules/service"}
        for store, v in ref.items():
            parts.append(f"{label.get(store, store)}: p99 {fmt(v['p99_us_without']['median'])} → "
                         f"{fmt(v['p99_us_with']['median'])} µs (×{v['ratio']}), p50 "
                         f"{fmt(v['p50_us_without']['median'])} → "
                         f"{fmt(v['p50_us_with']['median'])} µs, p99.9 "
                         f"{fmt(v['p999_us_without']['median'])} → "
                         f"{fmt(v['p999_us_with']['median'])} µs; writes "
                         f"{fmt(v['write_rate']['median'])}/s, p50 "
                         f"{fmt(v['write_p50_us']['median'])} µs, p99 "
                         f"{fmt(v['write_p99_us']['median'])} µs from due time (service "
                         f"p50 {fmt(v['write_service_p50_us']['median'])} µs), {v['errors']} errors, "
                         f"{v['management_rows']:,} rows, {v['reloads_per_write']} reloads/write")
    if r["id"].startswith("tls_") and ref:
        parts.append(f"plain {fmt(ref['plain'])}/s (TLS ×{ref['ratio_to_plain']}); p99 "
                     f"{fmt(ref['p99_us']['median'])} vs {fmt(ref['plain_p99_us']['median'])} µs;"
                     f" server CPU {fmt(ref['server_cpu_us_per_req']['median'])} vs "
                     f"{fmt(ref['plain_server_cpu_us_per_req']['median'])} µs/request; "
                     f"{ref['errors']} errors")
    if r["id"].startswith("io_threads_") and ref:
        by = ref["by_threads"]
        parts.append("measured here: " + ", ".join(
            f"{n} I/O thr {fmt(v['rate'])} {ref['unit']} (×{v['ratio_to_0']}, p99 "
            f"{fmt(v['p99_us'])} µs, {v['errors']} err)" for n, v in by.items()))
        parts.append(f"CPU µs/request: one loop {fmt(ref['one_loop_us'])}; " + ", ".join(
            f"at {n}: loop {fmt(v['loop_us'])} + I/O {fmt(v['io_us'])}"
            for n, v in by.items() if n != "0"))
        parts.append(f"predicted ×{ref['predicted_8']} on 8 cores, ×{ref['predicted_16']} on 16 "
                     f"(split at {ref['split_from_io_threads']} I/O thread(s)); cores used by "
                     "server / load generator " + ", ".join(
                         f"at {n}: {fmt(v['server_cpu'])} / {fmt(v['loadgen_cpu'])}"
                         for n, v in by.items()))
    if r["id"] == "mgmt_rules" and ref:
        parts.append(f"without rules {fmt(ref['without_rules'])}/s (×{ref['ratio']}); p99 "
                     f"{fmt(ref['p99_us']['median'])} vs {fmt(ref['p99_us_without']['median'])} µs;"
                     f" answer {ref['bytes']:,} vs {ref['bytes_without']:,} bytes")
    return "; ".join(parts)


def write_reports(rep):
    with open(os.path.join(OUT, "report.json"), "w") as f:
        json.dump(rep, f, indent=2, ensure_ascii=False)
        f.write("\n")
    m = rep["machine"]
    lines = [f"# artemis-server benchmark — {m['date']}", "",
             f"commit {m['commit']} · {m['cpus']} CPU ({m['cpu_model']}) · kernel {m['kernel']}"
             f" · load generator on the same cores · {rep['config']['runs']} run(s) per scenario,"
             f" median (min–max)" + (" · QUICK smoke run: small counts, not comparable"
                                     if rep["config"]["quick"] else ""), "",
             f"Other load on the machine during the measured runs (cores busy outside the "
             f"server and the load generator): median {m.get('other_cpu_median')}, max "
             f"{m.get('other_cpu_max')}; load average at start {m['loadavg_at_start']}.", "",
             "| scenario | ours: median (min–max) | unit | references | bar | status |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rep["scenarios"]:
        ours = "–" if r["median"] is None else fmt(r)
        lines.append(f"| {r['scenario']} | {ours} | {r['unit']} | {reference_text(r)} | "
                     f"{r['bar']} | **{r['status']}** |")
    lines.append("")
    for r in rep["scenarios"]:
        if r["notes"]:
            lines.append(f"* {r['scenario']}: {r['notes']}")
    e = rep["etcd"]
    lines.append("")
    if e.get("available"):
        lines.append(f"etcd reference: {e['version']}, v3 HTTP/JSON gateway, same load generator;"
                     f" {e['keys']:,} leased keys, RSS {e['rss_before_kb']:,} → "
                     f"{e['rss_after_kb']:,} kB = {e['bytes_per_key']:,} B/key; "
                     f"lease grant+put {fmt(e['put'])}/s; keep-alive {fmt(e['keepalive'])}/s; "
                     f"range of 100 keys {fmt(e['range'])}/s.")
    else:
        lines.append(f"etcd reference: not measured — {e.get('why', 'unavailable')}.")
    n = rep.get("nginx") or {}
    lines.append("")
    if n.get("available"):
        lines.append(f"nginx reference: {n['version']} (Debian), one process (master_process off),"
                     f" access log off, keep-alive without a request limit, answers from memory "
                     f"(`return 200`) — the bytes and Content-Type of our own answers, captured "
                     f"once: " + ", ".join(f"{k} {v['answer_body_bytes']:,} B"
                                           for k, v in n["answers"].items()) +
                     f"; it adds the headers {', '.join(n['extra_headers'])}; "
                     f"config `{n['config']}`. Runs interleaved with ours and the ceiling.")
    else:
        lines.append(f"nginx reference: not measured — {n.get('why', 'unavailable')}.")
    io = rep["raw"]["ours"].get("io_threads") or {"why": "not run"}
    lines.append("")
    if "scenarios" in io:
        lines.append(f"I/O threads (bench/io_threads.py): servers at --io-threads="
                     f"{'/'.join(map(str, io['threads']))} side by side, {io['instances']:,} "
                     f"instances each, {io['runs']} interleaved run(s) of {io['seconds']} s "
                     f"(+{io['warmup_s']} s warm-up) per value and scenario; load average at its "
                     f"start {io['loadavg_at_start']}, other load median {io['other_cpu_median']},"
                     f" max {io['other_cpu_max']}. The load generator shares the "
                     f"{io['cpus']} cores, so the measured ×N/0 is what this machine leaves the "
                     "server; the ×4/×8/×16-core figures come from the loop / I/O-thread CPU "
                     "split per request. Whether one loop's throughput drops is measured apart.")
    else:
        lines.append(f"I/O threads: not measured — {io.get('why', 'unavailable')}.")
    pr = rep.get("profiles")
    if pr and pr.get("files"):
        lines.append("")
        lines.append(f"Profiles ({pr['tool']}, server only):")
        for name, p in pr["files"].items():
            top = ", ".join(f"{fn} {pct}%" for pct, fn in p["top"][:6])
            lines.append(f"* {name}: `{p['text']}` — {top}")
    with open(os.path.join(OUT, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return "\n".join(lines)


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
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True, timeout=10).stdout.strip() or "?"
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cpus": os.cpu_count(), "cpu_model": cpu, "kernel": platform.release(),
            "commit": commit, "loadavg_at_start": load}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default=os.path.join(ROOT, "build", "bin", "artemis-server"))
    ap.add_argument("--quick", action="store_true", help="< 60 s smoke run, small counts")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=float, default=4.0, help="measured seconds per run")
    ap.add_argument("--capacity", type=int, default=1000000, help="instances in the capacity row")
    ap.add_argument("--etcd-keys", type=int, default=50000)
    ap.add_argument("--mgmt-duration", type=float, default=10.0,
                    help="measured seconds per heartbeat run of the mgmt scenario")
    ap.add_argument("--profile", choices=("auto", "yes", "no"), default="auto",
                    help="callgrind/perf profiles (auto: full runs only)")
    ap.add_argument("--no-nginx", action="store_true",
                    help="no nginx reference in the http part (it runs when nginx is installed)")
    ap.add_argument("--only", default="", help="comma list of parts to run (debugging)")
    opt = ap.parse_args()
    opt.server = os.path.abspath(opt.server)
    if not os.access(opt.server, os.X_OK):
        sys.exit(f"{opt.server} not built")
    if opt.capacity % 100 or not 1000 <= opt.capacity <= 2_000_000:
        ap.error("--capacity must be a multiple of 100 in 1000..2000000")
    nofile = raise_nofile()
    if nofile < 10100 and not opt.quick:
        log(f"warning: RLIMIT_NOFILE is {nofile}; 10,000-session scenarios may fail")
    build_tools()
    info = machine_info()
    b = Bench(opt)
    t0 = time.monotonic()
    parts = [("etcd", b.etcd_ref), ("http", b.http_rows), ("io_threads", b.io_threads),
             ("ws", b.ws_heartbeat),
             ("capacity", b.capacity), ("push", b.push), ("expiry", b.expiry),
             ("sdk", b.sdk), ("bindings", b.bindings), ("mgmt", b.mgmt), ("tls", b.tls), ("dns", b.dns),
             ("replication", b.replication)]
    if opt.profile == "yes" or (opt.profile == "auto" and not opt.quick):
        parts.append(("profile", b.profile))
    only = set(filter(None, opt.only.split(",")))
    try:
        for name, fn in parts:
            if only and name not in only:
                continue
            log(f"[{time.monotonic() - t0:6.1f} s] {name}")
            fn()
    finally:
        for p in list(PROCS):
            stop_proc(p)
    info["total_seconds"] = round(time.monotonic() - t0, 1)
    info["other_cpu_median"] = round(statistics.median(OTHER), 2) if OTHER else None
    info["other_cpu_max"] = round(max(OTHER), 2) if OTHER else None
    if only:
        with open(os.path.join(OUT, "partial.json"), "w") as f:
            json.dump({"res": b.res, "etcd": b.etcd, "nginx": b.nginx}, f, indent=1)
        return
    rep = build_report(b, info)
    print(write_reports(rep))
    log(f"total {info['total_seconds']} s; build/bench/report.json, build/bench/report.md")


if __name__ == "__main__":
    main()
