"""Ingest benchmark: a simulated province delivered as CSV and as Parquet.

    python benchmarks/bench_ingest.py --entities 1000000 --repeat 3

Each run ingests into a fresh data home in a child process; prints median
seconds, rows/s (all rows read, all tables) and peak RSS of the child.
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


def child_run(args: list[str], env: dict) -> tuple[float, int]:
    """(seconds, peak RSS bytes) of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, _, ru = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t0
    if p.returncode not in (0, None) and ru is None:
        raise SystemExit(p.stderr.read())
    return secs, ru.ru_maxrss * 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--formats", default="parquet,csv")
    ap.add_argument("--work", type=Path, default=HERE / "out")
    ap.add_argument("--keep", action="store_true", help="keep the generated deliveries")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    results = []
    for fmt in a.formats.split(","):
        delivery = a.work / f"delivery-{a.entities}-{fmt}"
        if not delivery.exists():
            print(f"simulating {a.entities:,} entities as {fmt} ...", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "riskgrade", "simulate", "--entities", str(a.entities), "--seed", "1",
                            "--format", fmt, "--out", str(delivery)], check=True, stdout=subprocess.DEVNULL)
        times, peaks, rows = [], [], None
        for i in range(a.repeat):
            home = a.work / f"home-{fmt}"
            shutil.rmtree(home, ignore_errors=True)
            report = a.work / f"report-{fmt}.json"
            env = {**os.environ, "RISKGRADE_HOME": str(home)}
            secs, peak = child_run([sys.executable, "-m", "riskgrade", "ingest", str(delivery), "--report", str(report)], env)
            data = json.loads(report.read_text())
            rows = sum(t["read"] for t in data["tables"].values())
            times.append(secs)
            peaks.append(peak)
            print(f"  {fmt} run {i + 1}: {secs:.1f} s, {rows / secs:,.0f} rows/s, peak {peak / 2**30:.2f} GiB", file=sys.stderr)
        med = statistics.median(times)
        results.append({"format": fmt, "entities": a.entities, "rows": rows, "median_s": round(med, 2),
                        "rows_per_s": round(rows / med), "peak_rss_gib": round(max(peaks) / 2**30, 2),
                        "runs": [round(t, 2) for t in times]})
        if not a.keep:
            shutil.rmtree(a.work / f"home-{fmt}", ignore_errors=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, python {platform.python_version()}")
    print("| format | entities | rows read | median s | rows/s | peak RSS GiB | runs |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['format']} | {r['entities']:,} | {r['rows']:,} | {r['median_s']} | {r['rows_per_s']:,} | "
              f"{r['peak_rss_gib']} | {r['runs']} |")


if __name__ == "__main__":
    main()
