"""Commands of the analysis stage: ``analyse`` (区域性、行业性风险研判) and ``report`` (月度报告).

Handed to the ``riskgrade`` app by :func:`register`; each is a thin call into :mod:`riskgrade.analysis`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import RiskgradeError
from .common import HomeOpt, as_date, audit_export, err, open_store, out, progress, settings


def analyse(
    as_of: Annotated[str, typer.Option("--as-of", help="the classification (month end) to analyse (YYYY-MM-DD)")],
    out_file: Annotated[Optional[Path], typer.Option("--out", help="write the analysis: .html or .json")] = None,
    by: Annotated[str, typer.Option("--by", help="county, city, industry (section), division or county_industry")] = "county",
    min_entities: Annotated[int, typer.Option("--min-entities", help="test only cells with at least this many entities")] = 10,
    alpha: Annotated[float, typer.Option("--alpha", help="false discovery rate of the Benjamini-Hochberg correction")] = 0.05,
    high: Annotated[Optional[str], typer.Option("--high", help="high-risk grades, comma-separated (default C,D; five grades: D,E)")] = None,
    from_date: Annotated[Optional[str], typer.Option("--from", help="migration from this classification (default: the month before)")] = None,
    months: Annotated[int, typer.Option("--months", help="months in the trend")] = 12,
    lang: Annotated[str, typer.Option("--lang", help="report language: zh or en")] = "zh",
    home: HomeOpt = None,
) -> None:
    """Regional and industry risk analysis (区域性、行业性风险研判): shares, significance, hotspots, trend, migration."""
    from ..analysis import regional
    from ..analysis.report import write_analysis

    if lang not in ("zh", "en"):
        raise RiskgradeError(f"--lang must be zh or en (got {lang!r})")
    if out_file is not None and out_file.suffix.lower() not in (".html", ".htm", ".json"):
        raise RiskgradeError(f"cannot write the analysis as {out_file.name!r}: use a .html or .json file name")
    s = settings(home)
    d = as_date(as_of, "--as-of")
    f = as_date(from_date, "--from") if from_date else None
    with open_store(s) as wh:
        progress(f"analysing the classification as of {d} by {by}")
        r = regional.analyse(wh.con, d, by=by, min_entities=min_entities, alpha=alpha,
                             high=high.split(",") if high else None, months=months, from_as_of=f)
    if out_file:
        write_analysis(r, out_file, lang)
        audit_export(s, "analysis", out_file, None, {"as_of": str(d), "by": by, "lang": lang})
        err.print(f"analysis written to {out_file}")
    p = r["province"]
    highs = "+".join(r["high_grades"])
    out.print(f"{r['as_of']}: {p['entities']:,} entities, high-risk ({highs}) {p['high']:,} = {p['high_share']:.1%}, "
              f"mean score {p['mean_score'] if p['mean_score'] is None else format(p['mean_score'], '.1f')}; {r['test']['tested_cells']} of {len(r['cells'])} cells tested, "
              f"{len(r['hotspots'])} significant (BH, FDR {alpha:g})", highlight=False)
    c = r["concentration"]
    if c["top_decile_high_share"] is not None:
        out.print(f"concentration: the top {c['top_decile_units']} of {c['units']} cells hold "
                  f"{c['top_decile_high_share']:.1%} of the high-risk entities ({c['top_decile_entity_share']:.1%} of "
                  f"all); Gini {c['gini']:.3f}", highlight=False)
    if r["hotspots"]:
        tab = Table(title=f"hotspots by {by} (风险热点)")
        for col in ("rank", "cell", "name", "entities", "high-risk", "share", "expected", "excess", "q"):
            tab.add_column(col, justify="left" if col in ("cell", "name") else "right")
        for h in r["hotspots"][:20]:
            tab.add_row(str(h["rank"]), h["key"], h["name"], f"{h['entities']:,}", f"{h['high']:,}",
                        f"{h['high_share']:.1%}", f"{h['expected_high']:.1f}", f"+{h['excess_high']:.1f}",
                        f"{h['q_value']:.2g}")
        out.print(tab)


def report(
    month: Annotated[str, typer.Option("--month", help="the month to report (YYYY-MM)")],
    out_file: Annotated[Path, typer.Option("--out", help="the report: .html or .pdf (or .json: the figures)")],
    lang: Annotated[str, typer.Option("--lang", help="report language: zh (default) or en")] = "zh",
    min_entities: Annotated[int, typer.Option("--min-entities", help="test only cells with at least this many entities")] = 10,
    home: HomeOpt = None,
) -> None:
    """The monthly report (月度报告, 领导参阅): grades, trend, heat map, hotspots, inspections, warnings, data quality."""
    from ..analysis.report import build_monthly, write_monthly
    from ..dates import parse_month
    from ..render import find_chromium

    suffix = out_file.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf", ".json"):
        raise RiskgradeError(f"cannot write the report as {out_file.name!r}: use a .html or .pdf file name")
    if lang not in ("zh", "en"):
        raise RiskgradeError(f"--lang must be zh or en (got {lang!r})")
    parse_month(month)
    chromium = find_chromium() if suffix == ".pdf" else None  # fail before the work when there is no browser
    s = settings(home)
    with open_store(s) as wh:
        progress(f"gathering the figures of {month}")
        data = build_monthly(wh.con, month, min_entities=min_entities, lang=lang)
    if suffix == ".pdf":
        progress("printing the PDF with headless Chromium")
    write_monthly(data, out_file, lang, chromium=chromium)
    audit_export(s, "report", out_file, None, {"month": data["month"], "as_of": str(data["as_of"]), "lang": lang,
                                              "format": suffix.lstrip(".")})
    err.print(f"monthly report of {data['month']} (classification as of {data['as_of']}) written to {out_file}")


def register(app: typer.Typer) -> None:
    app.command()(analyse)
    app.command()(report)
