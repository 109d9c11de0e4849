"""Benchmark the simulated province generator.

    python benchmarks/bench_simulate.py --entities 1000000 --format parquet --repeat 3

Prints the median wall-clock seconds over the repeats, the per-stage timings of
the last run, the row counts and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from riskgrade.simulate import generate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--format", choices=("csv", "parquet"), default="parquet")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--part-rows", type=int, default=5_000_000)
    ap.add_argument("--dirty", action="store_true", help="also write the dirty copy")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary folder)")
    args = ap.parse_args(argv)

    times: list[float] = []
    result: dict = {}
    for i in range(args.repeat):
        base = args.out or Path(tempfile.mkdtemp(prefix="bench_simulate_"))
        try:
            t = time.perf_counter()
            result = generate(
                base / "delivery", args.entities, args.seed, fmt=args.format, part_rows=args.part_rows,
                dirty_out=base / "dirty" if args.dirty else None,
            )
            times.append(time.perf_counter() - t)
            size = sum(p.stat().st_size for p in (base / "delivery").rglob("*") if p.is_file())
        finally:
            if args.out is None:
                shutil.rmtree(base, ignore_errors=True)
        print(f"run {i + 1}: {times[-1]:.1f} s", file=sys.stderr)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"entities={args.entities} format={args.format} repeat={args.repeat}")
    print(f"median_seconds={statistics.median(times):.1f} min={min(times):.1f} max={max(times):.1f}")
    print(f"peak_rss_mb={peak_kb / 1024:.0f}")
    print(f"output_mb={size / 2**20:.0f}")
    print(f"stages={result.get('seconds')}")
    print(f"counts={result.get('counts')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
