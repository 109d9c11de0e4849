"""The ``simulate`` command: a simulated province written as a delivery."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import RiskgradeError
from .common import err, out, progress as show_progress


def simulate(
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the delivery to")],
    entities: Annotated[int, typer.Option("--entities", min=1, help="number of market entities")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same files)")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    end: Annotated[str, typer.Option("--end", help="last day of the simulated history")] = "2026-10-31",
    years: Annotated[int, typer.Option("--years", min=4, help="years of history")] = 5,
    province: Annotated[str, typer.Option("--province", help="GB/T 2260 province prefix")] = "37",
    dirty_out: Annotated[Optional[Path], typer.Option("--dirty-out", help="also write a dirty copy with expected counts")] = None,
) -> None:
    """Write a simulated province as a delivery (plus ground truth in _truth/)."""
    from ..simulate import generate

    if fmt not in ("csv", "parquet"):
        raise RiskgradeError("--format must be csv or parquet")
    try:
        end_date = date.fromisoformat(end)
    except ValueError:
        raise RiskgradeError(f"--end: not a date (YYYY-MM-DD): {end}") from None
    t0 = time.perf_counter()

    def progress(msg: str, frac: float) -> None:
        show_progress(f"{msg} ({frac:.0%})")

    summary = generate(out_dir, entities, seed, end=end_date, years=years, fmt=fmt, province=province,
                       dirty_out=dirty_out, progress=progress)
    err.print(f"simulated province written to {out_dir} in {time.perf_counter() - t0:.1f} s")
    counts = summary.get("counts") or summary.get("tables") or {}
    if counts:
        tab = Table(title="simulated delivery")
        tab.add_column("table")
        tab.add_column("rows", justify="right")
        for k, v in counts.items():
            tab.add_row(str(k), f"{v:,}" if isinstance(v, int) else str(v))
        out.print(tab)


def register(app: typer.Typer) -> None:
    app.command()(simulate)
