"""The ``indicators`` command: the indicator table (指标) of every active entity as of a date."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import HomeOpt, as_date, audit_export, err, progress, settings


def indicators(
    as_of: Annotated[str, typer.Option("--as-of", help="compute as of this date (YYYY-MM-DD)")],
    out_file: Annotated[Path, typer.Option("--out", help="output file: .parquet or .csv")],
    engine: Annotated[str, typer.Option("--engine", help="duckdb (the store itself) or spark (local Spark on a Parquet export)")] = "duckdb",
    catalog: Annotated[Optional[Path], typer.Option("--catalog", help="indicator catalog YAML (default: built-in)")] = None,
    home: HomeOpt = None,
) -> None:
    """The indicator table (指标) of every active entity as of a date: one row per entity, one column per indicator."""
    from ..engines import write_indicators
    from ..indicators import load_catalog

    s = settings(home)
    d = as_date(as_of, "--as-of")
    t0 = time.perf_counter()
    n = write_indicators(s.home, load_catalog(catalog), d, out_file, engine=engine, lock_timeout=s.lock_timeout,
                         memory_limit=s.memory_limit, threads=s.threads, progress=progress)
    audit_export(s, "export_indicators", out_file, n, {"as_of": str(d), "engine": engine})
    err.print(f"{n:,} entities' indicators as of {d} written to {out_file} ({engine}, {time.perf_counter() - t0:.1f} s)")


def register(app: typer.Typer) -> None:
    app.command()(indicators)
