"""Commands of the ingest stage: ``ingest``, ``quarantine export``, ``compact``, ``status``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .common import HomeOpt, audit_export, err, open_store, out, progress, settings


def ingest(
    path: Annotated[Path, typer.Argument(help="a delivery folder, or a single table file")],
    report: Annotated[Optional[Path], typer.Option("--report", help="also write the counts as JSON")] = None,
    home: HomeOpt = None,
) -> None:
    """Load a delivery: read, normalise, validate, attribute, de-duplicate; bad rows to quarantine."""
    from ..ingest import ingest as run_ingest

    s = settings(home)
    t0 = time.perf_counter()
    res = run_ingest(s.home, path, progress=progress, memory_limit=s.memory_limit, threads=s.threads,
                     lock_timeout=s.lock_timeout)
    secs = time.perf_counter() - t0
    tab = Table(title=f"delivery {res.delivery_id}: {path}  ({secs:.1f} s)")
    for c in ("table", "read", "accepted", "merged", "quarantined", "reasons"):
        tab.add_column(c, justify="right" if c not in ("table", "reasons") else "left")
    for name, t in res.tables.items():
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(t.by_reason.items(), key=lambda kv: -kv[1]))
        tab.add_row(name, f"{t.read:,}", f"[green]{t.accepted:,}[/green]", f"{t.merged:,}",
                    f"[red]{t.quarantined:,}[/red]" if t.quarantined else "0", reasons)
    out.print(tab)
    for u in res.unreadable:
        err.print(f"[yellow]unreadable file[/yellow] {u['path']}: {u['reason']}", highlight=False)
    for u in res.ignored:
        err.print(f"[dim]ignored file {u['path']}: {u['reason']}[/dim]", highlight=False)
    hist = sum(t.historical_region for t in res.tables.values())
    if hist:
        err.print(f"[yellow]{hist:,} rows use a historical GB/T 2260 region code (accepted)[/yellow]")
    if report:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(res.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        err.print(f"report written to {report}")


def quarantine_export(
    out_file: Annotated[Path, typer.Option("--out", help="output file: .csv, .parquet or .json")],
    delivery: Annotated[Optional[int], typer.Option("--delivery", help="only this delivery id")] = None,
    home: HomeOpt = None,
) -> None:
    """Export every quarantined row with its table, source file, line, reason and original text."""
    from ..export import write_query
    from ..ingest.queries import quarantine_query

    with open_store(home) as wh:
        n = write_query(wh.con, quarantine_query(delivery), out_file)
    audit_export(home, "export_quarantine", out_file, n, {"delivery": delivery})
    err.print(f"{n:,} quarantined rows written to {out_file}")


def compact(home: HomeOpt = None) -> None:
    """Rewrite the events table ordered by entity (bucket, USCC) after many small deliveries."""
    with open_store(home, write=True) as wh:
        n = wh.compact()
    err.print(f"events rewritten in entity order: {n:,} rows")


def status(home: HomeOpt = None) -> None:
    """What the data home holds: deliveries, rows per table, quarantine."""
    from ..ingest.queries import store_counts

    s = settings(home)
    with open_store(s) as wh:
        c = store_counts(wh.con)
    tab = Table(title=f"data home {s.home}")
    tab.add_column("table")
    tab.add_column("rows", justify="right")
    tab.add_column("superseded versions", justify="right")
    for t, n, h in c["tables"]:
        tab.add_row(t, f"{n:,}", f"{h:,}")
    out.print(tab)
    out.print(f"deliveries: {c['deliveries']} (last {c['last_loaded_at']}), quarantined rows: {c['quarantined']:,}")


def register(app: typer.Typer) -> None:
    quarantine_app = typer.Typer(help="Rows that failed validation, with their reasons and original text.",
                                 no_args_is_help=True)
    app.add_typer(quarantine_app, name="quarantine")
    app.command()(ingest)
    quarantine_app.command("export")(quarantine_export)
    app.command()(compact)
    app.command()(status)
