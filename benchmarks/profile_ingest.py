"""Where an ingest's time goes: seconds per table and per pipeline step.

    python benchmarks/profile_ingest.py DELIVERY [--home DIR]

Ingests DELIVERY into a fresh data home (default: a temporary folder), timing ``read_file`` and each
step of ``Ingest._load_table`` (USCC map, segment pass, field counts, repeated keys, held keys, write,
counts, quarantine); the rest of a table's TOTAL is building its per-row decisions.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import tempfile
import time
from pathlib import Path

from riskgrade.ingest import pipeline as P

T: dict[tuple[str, str], float] = {}
STEPS = ["_uscc_map", "_segment_pass", "_field_counts", "_duplicates", "_held", "_write", "_count", "_quarantine"]


def _timed(name: str, f):
    @functools.wraps(f)
    def w(self, *a, **k):
        t0 = time.perf_counter()
        try:
            return f(self, *a, **k)
        finally:
            key = (getattr(self, "_profiled_table", "?"), name)
            T[key] = T.get(key, 0.0) + time.perf_counter() - t0
    return w


def _instrument() -> None:
    load = P.Ingest._load_table

    def load_table(self, table, items, tr):
        self._profiled_table = table.name
        t0 = time.perf_counter()
        load(self, table, items, tr)
        T[(table.name, "TOTAL")] = time.perf_counter() - t0

    P.Ingest._load_table = load_table
    read = P.read_file

    def read_file(*a, **k):
        t0 = time.perf_counter()
        try:
            return read(*a, **k)
        finally:
            T[("(all files)", "read_file")] = T.get(("(all files)", "read_file"), 0.0) + time.perf_counter() - t0

    P.read_file = read_file
    for m in STEPS:
        if hasattr(P.Ingest, m):
            setattr(P.Ingest, m, _timed(m, getattr(P.Ingest, m)))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("delivery", type=Path)
    ap.add_argument("--home", type=Path, default=None)
    a = ap.parse_args()
    home = a.home or Path(tempfile.mkdtemp(prefix="rg-profile-")) / "home"
    shutil.rmtree(home, ignore_errors=True)
    _instrument()
    t0 = time.perf_counter()
    res = P.ingest(home, a.delivery)
    total = time.perf_counter() - t0
    for (table, step), secs in T.items():
        print(f"{table:15s} {step:15s} {secs:8.2f}")
    rows = sum(t.read for t in res.tables.values())
    print(f"total {total:.2f} s, {rows:,} rows, {rows / total:,.0f} rows/s")
    if a.home is None:
        shutil.rmtree(home.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
