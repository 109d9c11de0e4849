"""The benchmark suite in one command: ingest, classify, plan, warn and API lookup at each size.

    python benchmarks/run.py --sizes 1000000,10000000 --repeat 3        # (make bench)
    python benchmarks/run.py --sizes 1000000 --only ingest,classify     # a part of it

For every size N (entities of a simulated province, ``riskgrade simulate --seed 1``, Parquet):

* ``ingest``   the whole delivery into a fresh data home (``riskgrade ingest``);
* ``classify`` the month 2026-09-30 with the default model (learning from outcomes, the trained
               scorecard chosen out of time), in that home (``riskgrade classify``);
* ``plan``     a double-random plan of 3% of N with inspector assignment (``riskgrade plan``) on
               that classification and the simulated inspector directory;
* ``warn``     an incremental early-warning run over 1M new records on an N-entity province
               (``bench_warn.py speed``: a synthetic history and month, see there);
* ``api``      entity profiles from PostgreSQL under 50 concurrent clients (``bench_api.py``, wrk).

Each timed step runs in a child process (peak RSS of that process tree's largest member, from
``wait4``); the table gives the median of ``--repeat`` runs (``--repeat-large`` for sizes of 5M and
more, where one run takes minutes) and the targets of the issues.  Results are also written as JSON
(``--json``, default ``<work>/results.json``) and can be merged with earlier ones (``--merge``), so
sizes and steps can be measured on different days and printed as one table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = "2026-09-30"
STEPS = ("ingest", "classify", "plan", "warn", "api")
# (step, size) -> (target seconds or None, what the target is)
TARGETS = {
    ("ingest", 1_000_000): (None, "Parquet >= 1M rows/s, CSV >= 300k rows/s, < 4 GB"),
    ("classify", 1_000_000): (60, "< 60 s, < 8 GB"),
    ("classify", 10_000_000): (600, "< 10 min, < 8 GB"),
    ("plan", 10_000_000): (30, "< 30 s"),
    ("warn", 10_000_000): (60, "< 60 s"),
    ("api", 1_000_000): (None, "p95 < 50 ms at 50 clients"),
}


def child(args: list[str], env: dict, log: Path) -> tuple[float, float]:
    """(seconds, peak RSS GiB) of one child process; its stderr goes to ``log``."""
    t0 = time.perf_counter()
    with open(log, "a", encoding="utf-8") as fh:
        p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=fh)
        _, status, ru = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args[2:])} failed: see {log}")
    return secs, ru.ru_maxrss / 2**20


def riskgrade(*args: str) -> list[str]:
    return [sys.executable, "-m", "riskgrade", *args]


def script_json(args: list[str], log: Path) -> dict:
    """Run a benchmark script whose last stdout line is JSON."""
    with open(log, "a", encoding="utf-8") as fh:
        p = subprocess.run([sys.executable, *args], stdout=subprocess.PIPE, stderr=fh, text=True)
    if p.returncode:
        raise SystemExit(f"{' '.join(args)} failed: see {log}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def run_size(n: int, a, results: dict) -> None:
    work = a.work
    log = work / f"bench-{n}.log"
    d = work / f"delivery-{n}-parquet"
    home = work / f"home-suite-{n}"
    env = {**os.environ, "RISKGRADE_HOME": str(home)}
    repeat = a.repeat_large if n >= 5_000_000 else a.repeat
    if not d.exists() and ({"ingest", "classify", "plan"} & a.only):
        print(f"simulating {n:,} entities ...", file=sys.stderr)
        secs, peak = child(riskgrade("simulate", "--entities", str(n), "--seed", "1", "--format", "parquet",
                                     "--out", str(d)), env, log)
        results[f"simulate/{n}"] = {"step": "simulate", "entities": n, "median_s": round(secs, 1), "runs_s": [round(secs, 1)],
                                    "peak_gib": round(peak, 2)}
    if "ingest" in a.only or not (home / "warehouse.duckdb").exists() and ({"classify", "plan"} & a.only):
        times, peaks, rows = [], [], None
        for i in range(repeat if "ingest" in a.only else 1):
            shutil.rmtree(home, ignore_errors=True)
            secs, peak = child(riskgrade("ingest", str(d), "--report", str(work / f"ingest-{n}.json")), env, log)
            rep = json.loads((work / f"ingest-{n}.json").read_text(encoding="utf-8"))
            rows = sum(t["read"] for t in rep["tables"].values())
            times.append(secs)
            peaks.append(peak)
            print(f"ingest {n:,}: {secs:.1f} s ({rows / secs:,.0f} rows/s), peak {peak:.2f} GiB", file=sys.stderr)
        if "ingest" in a.only:
            med = statistics.median(times)
            results[f"ingest/{n}"] = {"step": "ingest", "entities": n, "rows": rows, "median_s": round(med, 1),
                                      "runs_s": [round(t, 1) for t in times], "peak_gib": round(max(peaks), 2),
                                      "note": f"{rows / med:,.0f} rows/s (Parquet)"}
    if "classify" in a.only:
        times, peaks = [], []
        for i in range(repeat):
            secs, peak = child(riskgrade("classify", "--as-of", AS_OF), env, log)
            times.append(secs)
            peaks.append(peak)
            print(f"classify {n:,}: {secs:.1f} s, peak {peak:.2f} GiB", file=sys.stderr)
        results[f"classify/{n}"] = {"step": "classify", "entities": n, "median_s": round(statistics.median(times), 1),
                                    "runs_s": [round(t, 1) for t in times], "peak_gib": round(max(peaks), 2),
                                    "note": "default model: training, validation, the month, snapshot"}
    if "plan" in a.only:
        times, peaks = [], []
        budget = max(1, int(n * 0.03))
        for i in range(repeat):
            secs, peak = child(riskgrade("plan", "--as-of", AS_OF, "--budget", str(budget), "--seed", f"suite-{i}",
                                         "--out", str(work / f"plan-{n}.csv")), env, log)
            times.append(secs)
            peaks.append(peak)
            print(f"plan {n:,}: {secs:.1f} s", file=sys.stderr)
        results[f"plan/{n}"] = {"step": "plan", "entities": n, "median_s": round(statistics.median(times), 1),
                                "runs_s": [round(t, 1) for t in times], "peak_gib": round(max(peaks), 2),
                                "note": f"budget {budget:,} (3%), inspectors assigned"}
    if "warn" in a.only:
        r = script_json([str(HERE / "bench_warn.py"), "speed", "--entities", str(n), "--new", "1000000",
                         "--repeat", str(repeat), "--work", str(work)], log)
        results[f"warn/{n}"] = {"step": "warn", "entities": n, "median_s": r["median_s"], "runs_s": r["runs_s"],
                                "peak_gib": r["peak_rss_gib"],
                                "note": f"incremental: {r['new_records']:,} new records, {r['alerts']:,} alerts"}
    if "api" in a.only:
        r = script_json([str(HERE / "bench_api.py"), "--entities", str(n), "--work", str(work)], log)
        results[f"api/{n}"] = {"step": "api", "entities": n, "median_s": None, "runs_s": [],
                               "peak_gib": None, "p95_ms": r["p95_ms"],
                               "note": f"profile p50 {r['p50_ms']} / p95 {r['p95_ms']} / p99 {r['p99_ms']} ms, "
                                       f"{r['rps']} req/s, {r['errors']} errors, 50 clients, PostgreSQL"}


def table(results: dict) -> str:
    lines = ["| step | entities | median s | runs (s) | peak RSS GiB | target | figures |",
             "|---|---|---|---|---|---|---|"]
    order = {s: i for i, s in enumerate(("simulate",) + STEPS)}
    for r in sorted(results.values(), key=lambda r: (order.get(r["step"], 9), r["entities"])):
        tgt = TARGETS.get((r["step"], r["entities"]))
        target = ""
        if tgt:
            ok = ""
            if tgt[0] is not None and r.get("median_s") is not None:
                ok = " (met)" if r["median_s"] < tgt[0] else " (NOT met)"
            elif r["step"] == "api" and r.get("p95_ms") is not None:
                ok = " (met)" if r["p95_ms"] < 50 else " (NOT met)"
            target = tgt[1] + ok
        med = "" if r.get("median_s") is None else f"{r['median_s']}"
        runs = ", ".join(str(x) for x in r.get("runs_s", []))
        peak = "" if r.get("peak_gib") is None else f"{r['peak_gib']}"
        lines.append(f"| {r['step']} | {r['entities']:,} | {med} | {runs} | {peak} | {target} | {r.get('note', '')} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--repeat-large", type=int, default=1, help="repeats at 5M entities and more")
    ap.add_argument("--only", default=",".join(STEPS), help=f"steps to run, of {','.join(STEPS)}")
    ap.add_argument("--work", type=Path, default=HERE / "out")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--merge", action="store_true", help="keep the results of the JSON file for what is not re-run")
    a = ap.parse_args()
    a.only = set(a.only.split(","))
    if a.only - set(STEPS):
        raise SystemExit(f"unknown steps: {', '.join(sorted(a.only - set(STEPS)))}")
    a.work.mkdir(parents=True, exist_ok=True)
    out = a.json or a.work / "results.json"
    results = json.loads(out.read_text(encoding="utf-8"))["results"] if a.merge and out.exists() else {}
    for n in (int(x) for x in a.sizes.split(",")):
        run_size(n, a, results)
        machine = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                              f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
                   "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")}
        out.write_text(json.dumps({**machine, "results": results}, indent=1), encoding="utf-8")
    print(f"machine: {machine['machine']}, python {machine['python']}, {machine['date']}")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
