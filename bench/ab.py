#!/usr/bin/python3
"""ab: two server binaries (or one binary with two sets of arguments) side by side, on the
scenarios of bench/io_threads.py, runs alternating A, B, A, B... so a change in the machine's
other load hits both alike. For "does this change cost one loop anything": A = the build before
it, B = the build after it with its new feature off.

    /usr/bin/python3 bench/ab.py --a OLD/artemis-server --b build/release/bin/artemis-server \
        [--b-args=--io-threads=0] [--runs 7] [--seconds 4] [--only register,lookup]

Per scenario: the median rate and server CPU per request of each side, their ratio B/A, and
the range of the per-pair ratios (A and B of the same round). Prints a table, then one JSON line.
"""

import argparse
import json
import os
import shlex
import statistics

import io_threads as it


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True, help="server binary A (the baseline)")
    ap.add_argument("--b", required=True, help="server binary B")
    ap.add_argument("--a-args", default="", help="extra arguments of A (one shell-quoted string)")
    ap.add_argument("--b-args", default="", help="extra arguments of B")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--only", default="", help="comma list of scenarios")
    opt = ap.parse_args()
    if not os.access(it.LOADGEN, os.X_OK):
        raise SystemExit(it.LOADGEN + " not built (bench/run.py builds it)")
    scen = {k: v for k, v in it.SCENARIOS.items() if not opt.only or k in opt.only.split(",")}
    with open("/proc/loadavg") as f:
        loadavg = " ".join(f.read().split()[:3])
    sides = {"A": (os.path.abspath(opt.a), shlex.split(opt.a_args)),
             "B": (os.path.abspath(opt.b), shlex.split(opt.b_args))}
    res = {"a": sides["A"][0], "b": sides["B"][0], "a_args": opt.a_args, "b_args": opt.b_args,
           "runs": opt.runs, "seconds": opt.seconds, "loadavg_at_start": loadavg, "scenarios": {}}
    try:
        servers = {}
        for k, (binary, extra) in sides.items():
            servers[k] = it.start(binary, None, extra)
            it.preload(servers[k][1])
        for name, (args, key) in scen.items():
            runs = {"A": [], "B": []}
            for i in range(opt.runs):
                for k in ("A", "B") if i % 2 == 0 else ("B", "A"):
                    p, port = servers[k]
                    r = it.measured_run(p.pid, port, args, key, opt.seconds, 1.0)
                    runs[k].append(r)
                    it.log("  %-13s %s run %d: %9.0f/s  %.2f us/req  other %.2f"
                           % (name, k, i + 1, r["rate"], r["total_us"], r["other_cpu"]))
            pair = [b["rate"] / a["rate"] for a, b in zip(runs["A"], runs["B"]) if a["rate"]]
            res["scenarios"][name] = {
                "a_rate": it.med(runs["A"], "rate"), "b_rate": it.med(runs["B"], "rate"),
                "a_us": it.med(runs["A"], "total_us"), "b_us": it.med(runs["B"], "total_us"),
                "pair_ratio_median": round(statistics.median(pair), 3),
                "pair_ratio_min": round(min(pair), 3), "pair_ratio_max": round(max(pair), 3),
                "other_cpu_max": max(r["other_cpu"] for v in runs.values() for r in v),
                "runs": runs}
    finally:
        for p, d in it.STARTED:
            it.stop(p, d)
    print("ab: A %s %s, B %s %s; %d runs of %.1f s each, alternating; load average at start %s"
          % (res["a"], opt.a_args, res["b"], opt.b_args, opt.runs, opt.seconds, loadavg))
    print("%-14s %11s %11s %7s %15s %9s %9s %6s" % ("scenario", "A rate/s", "B rate/s", "B/A",
                                                   "pairs B/A", "A us/req", "B us/req", "other"))
    for name, s in res["scenarios"].items():
        print("%-14s %11.0f %11.0f %7.3f %7.3f..%-6.3f %9.2f %9.2f %6.2f" % (
            name, s["a_rate"], s["b_rate"], s["b_rate"] / s["a_rate"], s["pair_ratio_min"],
            s["pair_ratio_max"], s["a_us"], s["b_us"], s["other_cpu_max"]))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
