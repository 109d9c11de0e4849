"""Commands of professional-domain fusion, exchange formats and model monitoring.

``riskgrade fusion`` (通用+专业融合), ``riskgrade monitor`` (模型监测) and the exports ``fused``,
``national``, ``whitelist`` and ``measures``; handed to the ``riskgrade`` app by :func:`register`,
each a thin call into :mod:`riskgrade.scoring.fusion`,
:mod:`riskgrade.scoring.monitoring` or :mod:`riskgrade.analysis.exchange`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import RiskgradeError
from ..sql import table_exists
from .common import HomeOpt, as_date, audit_export, err, open_store, out, sub_app

FusionOpt = Annotated[Optional[Path], typer.Option("--fusion", help="fusion configuration YAML (default: built-in)")]
DomainOpt = Annotated[Optional[str], typer.Option("--domain", help="one domain (default: every configured domain)")]


# --------------------------------------------------------------------------- fusion
def fusion(
    as_of: Annotated[str, typer.Option("--as-of", help="the classification to fuse (YYYY-MM-DD)")],
    domain: DomainOpt = None,
    fusion_file: FusionOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON on stdout")] = False,
    home: HomeOpt = None,
) -> None:
    """Fuse a month's general grades with professional-domain grades (通用+专业) and store them; print what each rule did."""
    from ..indicators.domains import load_fusion
    from ..scoring import fusion as fu
    from ..snapshot import current_snapshot

    d = as_date(as_of, "--as-of")
    cfg = load_fusion(fusion_file)
    with open_store(home, write=True) as wh:
        sid = current_snapshot(wh.con, d)
        held = fu.domains_held(wh.con, d)
        with wh.transaction():
            results = fu.run_fusion(wh.con, sid, d, cfg, [domain] if domain else None)
    other = sorted(set(held) - set(cfg.domains))
    if other:
        err.print(f"[yellow]domain grades of unconfigured domains left aside: {', '.join(other)}[/yellow]", highlight=False)
    if as_json:
        sys.stdout.write(json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=2) + "\n")
        return
    for r in results:
        tab = Table(title=f"fusion {r.domain}: {r.mode} ({fu.MODE_ZH[r.mode]})",
                    caption=f"snapshot {r.snapshot_id} as of {r.as_of}, fusion configuration {r.fusion_version}: "
                            f"{r.entities:,} entities with a {r.domain} grade")
        for c in ("rule", "entities", "raised", "lowered", "unchanged") + (("score raised",) if r.mode == "indicator" else ()):
            tab.add_column(c, justify="left" if c == "rule" else "right")
        for rc in r.rules:
            row = [rc.rule, f"{rc.entities:,}", f"{rc.raised:,}", f"{rc.lowered:,}", f"{rc.entities - rc.raised - rc.lowered:,}"]
            tab.add_row(*row, *([f"{rc.score_raised:,}"] if r.mode == "indicator" else []))
        raised, lowered = sum(x.raised for x in r.rules), sum(x.lowered for x in r.rules)
        tab.add_row("all", f"{r.entities:,}", f"{raised:,}", f"{lowered:,}", f"{r.entities - raised - lowered:,}",
                    *([f"{sum(x.score_raised for x in r.rules):,}"] if r.mode == "indicator" else []))
        out.print(tab)


def export_fused(
    as_of: Annotated[str, typer.Option("--as-of", help="the classification's as-of date")],
    out_file: Annotated[Path, typer.Option("--out", help="output file: .csv, .parquet, .json or .jsonl")],
    domain: DomainOpt = None,
    home: HomeOpt = None,
) -> None:
    """Fused grades (通用+专业): general grade, domain grade and level, fused grade, mode and rule. Internal."""
    from ..export import write_query
    from ..scoring import fusion as fu
    from ..snapshot import current_snapshot

    d = as_date(as_of, "--as-of")
    with open_store(home) as wh:
        sid = current_snapshot(wh.con, d)
        if not fu.has_fusion(wh.con, sid, domain):
            what = f"domain {domain}" if domain else "any domain"
            raise RiskgradeError(f"no fused grades of {what} for the classification as of {d} (snapshot {sid}): "
                                 f"run `riskgrade fusion --as-of {d}" + (f" --domain {domain}" if domain else "") + "` first")
        n = write_query(wh.con, fu.fused_query(sid, domain), out_file)
    audit_export(home, "export_fused", out_file, n, {"as_of": d.isoformat(), "domain": domain})
    err.print(f"{n:,} fused grades written to {out_file}")


# --------------------------------------------------------------------------- exchange formats
def export_national(
    month: Annotated[str, typer.Option("--month", help="the classification month (YYYY-MM)")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder: writes national-YYYY-MM.jsonl and .csv")],
    home: HomeOpt = None,
) -> None:
    """A month's results for the national system (riskgrade-national/1): one record per entity, JSON Lines and CSV."""
    from ..analysis.exchange import write_national

    with open_store(home) as wh:
        r = write_national(wh.con, month, out_dir)
    audit_export(home, "export_national", out_dir, r["rows"], {"month": month})
    err.print(f"{r['rows']:,} results of {month} (as of {r['as_of']}, snapshot {r['snapshot_id']}) written to "
              f"{r['files']['jsonl']} and {r['files']['csv']}", highlight=False)


def export_whitelist(
    as_of: Annotated[str, typer.Option("--as-of", help="the classification's as-of date")],
    out_file: Annotated[Path, typer.Option("--out", help="output file: .csv, .json, .jsonl or .parquet")],
    list_name: Annotated[Optional[str], typer.Option("--list", help="which list (default: the first configured)")] = None,
    rules: Annotated[Optional[Path], typer.Option("--whitelist", help="white-list rules YAML (default: built-in)")] = None,
    labels: Annotated[Optional[Path], typer.Option("--labels", help="label catalog YAML the rules refer to")] = None,
    home: HomeOpt = None,
) -> None:
    """White list (守信名单, riskgrade-whitelist/1) for financial institutions or e-commerce platforms: no score, no grade."""
    from ..analysis.exchange import load_whitelist, write_whitelist
    from ..snapshot import current_snapshot

    d = as_date(as_of, "--as-of")
    cfg = load_whitelist(rules, labels)
    with open_store(home) as wh:
        sid = current_snapshot(wh.con, d)
        name, n = write_whitelist(wh.con, sid, d, cfg, list_name, out_file)
    audit_export(home, "export_whitelist", out_file, n, {"as_of": d.isoformat(), "list": name})
    err.print(f"{n:,} entities on white list {name} ({cfg.lists[name].name_zh}) written to {out_file}", highlight=False)


def export_measures(
    as_of: Annotated[str, typer.Option("--as-of", help="the classification's as-of date")],
    out_file: Annotated[Path, typer.Option("--out", help="output file: .csv, .json, .jsonl or .parquet")],
    measures: Annotated[Optional[Path], typer.Option("--measures", help="measures YAML (default: built-in)")] = None,
    labels: Annotated[Optional[Path], typer.Option("--labels", help="label catalog YAML the measures refer to")] = None,
    home: HomeOpt = None,
) -> None:
    """Measures per entity by grade and labels (激励/约束措施, riskgrade-measures/1). Internal."""
    from ..analysis.exchange import load_measures, write_measures
    from ..snapshot import current_snapshot

    d = as_date(as_of, "--as-of")
    cfg = load_measures(measures, labels)
    with open_store(home) as wh:
        n = write_measures(wh.con, current_snapshot(wh.con, d), cfg, out_file)
    audit_export(home, "export_measures", out_file, n, {"as_of": d.isoformat()})
    err.print(f"{n:,} entities with their measures (version {cfg.version}) written to {out_file}")


# --------------------------------------------------------------------------- monitoring
def monitor(
    as_of: Annotated[str, typer.Option("--as-of", help="the classification month to check (YYYY-MM-DD)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the comparison as JSON on stdout")] = False,
    monitoring: Annotated[Optional[Path], typer.Option("--monitoring", help="monitoring bounds YAML (default: built-in)")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="indicators to list, largest PSI first")] = 10,
    home: HomeOpt = None,
) -> None:
    """Model monitoring (模型监测): PSI of the score and each indicator against the previous month, grade stability, alerts."""
    from ..scoring import monitoring as mon
    from ..snapshot import current_snapshot

    d = as_date(as_of, "--as-of")
    cfg = mon.load_monitoring(monitoring)
    with open_store(home) as wh:
        sid = current_snapshot(wh.con, d)
        rep = mon.compare(wh.con, sid, d, cfg)
        rep["recorded_alerts"] = mon.recorded_alerts(wh.con, sid)
        rep["history"] = mon.history(wh.con, d) if table_exists(wh.con, "snapshot_monitoring") else []
    if as_json:
        sys.stdout.write(json.dumps(rep, ensure_ascii=False, indent=2) + "\n")
        return
    if rep["previous"] is None:
        err.print(f"no classification before {d} to compare with: nothing to monitor yet")
        return
    prev = rep["previous"]
    tab = Table(title=f"model monitoring: {d} (snapshot {sid}) against {prev['as_of']} (snapshot {prev['snapshot_id']})")
    for c in ("variable", "PSI", "level"):
        tab.add_column(c, justify="right" if c == "PSI" else "left")
    colour = {"significant": "red", "watch": "yellow", "stable": "green"}

    def row(name: str, v: float, level: str) -> None:
        tab.add_row(name, f"{v:.4f}", f"[{colour.get(level, 'white')}]{level}[/]")

    row("score", rep["score"]["psi"], rep["score"]["level"])
    for i in rep["indicators"][:top]:
        row(i["code"], i["psi"], i["level"])
    out.print(tab)
    g = rep["grades"]
    if g and g["entities_both"]:
        out.print(f"grade stability: {g['kept']:,} of {g['entities_both']:,} kept their grade ({g['kept_share']:.1%}, "
                  f"{g['level']}); {g['up']:,} riskier, {g['down']:,} less risky; {g['new']:,} new, {g['gone']:,} gone",
                  highlight=False)
    if rep.get("changes"):
        err.print(f"[yellow]the classification itself changed since {prev['as_of']}: {'; '.join(rep['changes'])}[/yellow]",
                  highlight=False)
    for key, what in (("indicators_added", "new indicators (not compared)"), ("indicators_dropped", "indicators dropped")):
        if rep.get(key):
            err.print(f"{what}: {', '.join(rep[key])}", highlight=False)
    for a in rep["alerts"]:
        what = "grade kept share" if a["measure"] == "kept_share" else f"{a['variable']} PSI"
        sign = "<" if a["measure"] == "kept_share" else ">"
        err.print(f"[{colour[a['level']]}]{a['level']}[/]: {what} {a['value']:.4f} {sign} {a['bound']}", highlight=False)


def register(app: typer.Typer) -> None:
    export_app = sub_app(app, "export")
    app.command()(fusion)
    export_app.command("fused")(export_fused)
    export_app.command("national")(export_national)
    export_app.command("whitelist")(export_whitelist)
    export_app.command("measures")(export_measures)
    app.command()(monitor)
