"""Where an ingest's time goes: seconds per table and per pipeline step.

    python benchmarks/profile_ingest.py DELIVERY [--home DIR]

Ingests DELIVERY into a fresh data home (default: a temporary folder), timing ``read_file`` and each
step of ``Ingest._load_table`` (USCC map, segment pass, field counts, repeated keys, held keys, write,
counts, quarantine), in wall-clock and CPU seconds (cores busy = CPU / wall: below the machine's cores
means a step leaves cores idle); the rest of a table's TOTAL is building its per-row decisions.
"""

from __future__ import annotations

import argparse
import functools
import resource
import shutil
import tempfile
import time
from pathlib import Path

from riskgrade.ingest import pipeline as P

T: dict[tuple[str, str], float] = {}
CPU: dict[tuple[str, str], float] = {}


def _cpu() -> float:
    """CPU seconds of this process so far, all threads (user + system)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _add(key: tuple[str, str], t0: float, c0: float) -> None:
    T[key] = T.get(key, 0.0) + time.perf_counter() - t0
    CPU[key] = CPU.get(key, 0.0) + _cpu() - c0
STEPS = ["_uscc_map", "_segment_pass", "_field_counts", "_duplicates", "_held", "_write", "_count", "_quarantine"]


def _timed(name: str, f):
    @functools.wraps(f)
    def w(self, *a, **k):
        t0, c0 = time.perf_counter(), _cpu()
        try:
            return f(self, *a, **k)
        finally:
            _add((getattr(self, "_profiled_table", "?"), name), t0, c0)
    return w


def _instrument() -> None:
    load = P.Ingest._load_table

    def load_table(self, table, items, tr):
        self._profiled_table = table.name
        t0, c0 = time.perf_counter(), _cpu()
        load(self, table, items, tr)
        _add((table.name, "TOTAL"), t0, c0)

    P.Ingest._load_table = load_table
    read = P.read_file

    def read_file(*a, **k):
        t0, c0 = time.perf_counter(), _cpu()
        try:
            return read(*a, **k)
        finally:
            _add(("(all files)", "read_file"), t0, c0)

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
    t0, c0 = time.perf_counter(), _cpu()
    res = P.ingest(home, a.delivery)
    total, cpu = time.perf_counter() - t0, _cpu() - c0
    print(f"{'table':15s} {'step':15s} {'wall s':>8s} {'cpu s':>8s} {'cores':>6s}")
    for (table, step), secs in T.items():
        print(f"{table:15s} {step:15s} {secs:8.2f} {CPU[(table, step)]:8.2f} {CPU[(table, step)] / max(secs, 1e-9):6.2f}")
    rows = sum(t.read for t in res.tables.values())
    print(f"total {total:.2f} s wall, {cpu:.2f} s cpu ({cpu / total:.2f} cores), {rows:,} rows, {rows / total:,.0f} rows/s")
    if a.home is None:
        shutil.rmtree(home.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
