"""The ``quality`` command: data quality (数据质量监测评估) of the deliveries."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .common import HomeOpt, err, open_store, out, settings


def quality(
    out_file: Annotated[Optional[Path], typer.Option("--out", help="write the report: .html or .json")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the measures as JSON on stdout")] = False,
    delivery: Annotated[Optional[int], typer.Option("--delivery", help="only this delivery id")] = None,
    lang: Annotated[str, typer.Option("--lang", help="report language: zh or en")] = "zh",
    home: HomeOpt = None,
) -> None:
    """Data quality (数据质量监测评估): completeness, validity, duplicates, timeliness, attribution 记名率, trend."""
    from .. import quality as q

    with open_store(home) as wh:
        m = q.measure(wh.con, delivery, routing=settings(home).routing)
    if out_file:
        q.write_report(m, out_file, lang)
        err.print(f"quality report written to {out_file}")
    if as_json:
        sys.stdout.write(json.dumps(m, ensure_ascii=False, indent=2, default=str) + "\n")
    elif not out_file:
        _print_quality(m)


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1%}"


def _print_quality(m: dict) -> None:
    s = m["summary"]
    tab = Table(title="data quality 数据质量")
    tab.add_column("measure")
    tab.add_column("value", justify="right")
    tab.add_column("target", justify="right")
    mark = {True: "[green]met[/green]", False: "[red]not met[/red]", None: ""}
    tab.add_row("rows read", f"{s['rows_read']:,}", "")
    tab.add_row("validity (accepted + merged)", _pct(s["validity_rate"]), "")
    tab.add_row("duplicates (merged)", _pct(s["duplicate_rate"]), "")
    tab.add_row("completeness of fields", _pct(s["completeness_rate"]), "")
    tab.add_row("attribution rate 记名率", _pct(s["attribution_rate"]),
                f">= {s['attribution_target']:.0%} {mark[s['attribution_meets_target']]}")
    tab.add_row(f"reported within {s['timeliness_target_workdays']} working days", _pct(s["timeliness_within_share"]),
                mark[s["timeliness_meets_target"]])
    tab.add_row("unreadable files", str(s["unreadable_files"]), "")
    out.print(tab)
    reasons: dict[str, int] = {}
    for t in m["tables"].values():
        for r, v in t["reasons"].items():
            reasons[r] = reasons.get(r, 0) + int(v["rows"])
    um = m.get("unmapped_sources") or {}
    if um.get("sources"):
        out.print(f"sources matching no department of the routing table {um['routing_version']}: "
                  + ", ".join(f"{x['source']} {x['rows']:,}" for x in um["sources"][:20]), highlight=False)
    if reasons:
        out.print("quarantine reasons: " + ", ".join(f"{k} {v:,}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])),
                  highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(quality)
