"""Commands of the monthly classification: ``classify``, ``export grades``, ``migration``, ``model-report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import RiskgradeError
from .common import HomeOpt, as_date, audit_export, err, open_store, out, progress, settings, show_classification


def classify(
    as_of: Annotated[str, typer.Option("--as-of", help="month end to classify as of (YYYY-MM-DD)")],
    model: Annotated[Optional[str], typer.Option("--model", help="expert, trained or a model id (default: the approved model, else the best the data supports)")] = None,
    catalog: Annotated[Optional[Path], typer.Option("--catalog", help="indicator catalog YAML (default: built-in)")] = None,
    scorecard: Annotated[Optional[Path], typer.Option("--scorecard", help="expert scorecard YAML")] = None,
    grading: Annotated[Optional[Path], typer.Option("--grading", help="grading YAML (cut-offs, overrides)")] = None,
    labels: Annotated[Optional[Path], typer.Option("--labels", help="label catalog YAML")] = None,
    grades: Annotated[Optional[str], typer.Option("--grades", help="four (A-D) or five (A-E)")] = None,
    fusion: Annotated[Optional[Path], typer.Option("--fusion", help="professional-domain fusion YAML (default: built-in)")] = None,
    monitoring: Annotated[Optional[Path], typer.Option("--monitoring", help="model-monitoring YAML: drift bounds (default: built-in)")] = None,
    outcomes: Annotated[Optional[Path], typer.Option("--outcomes", help="outcome definition and model governance YAML (default: built-in)")] = None,
    home: HomeOpt = None,
) -> None:
    """Compute indicators, scores, grades, reasons and labels of every active entity as of a date."""
    from ..dates import is_month_end
    from ..snapshot import classify as run_classify

    s = settings(home)
    d = as_date(as_of, "--as-of")
    if grades not in (None, "four", "five"):
        raise RiskgradeError("--grades must be four or five")
    if not is_month_end(d):
        err.print(f"[yellow]note: {d} is not a month end; classifying as of that day anyway[/yellow]")
    res = run_classify(s.home, d, model=model, catalog_path=catalog, scorecard_path=scorecard, grading_path=grading,
                       labels_path=labels, mode=grades, memory_limit=s.memory_limit, threads=s.threads,
                       chunk_events=s.chunk_events, fusion_path=fusion, monitoring_path=monitoring,
                       outcomes_path=outcomes, lock_timeout=s.lock_timeout, progress=progress)
    show_classification(res, f"classification as of {d} (snapshot {res.snapshot_id}, {res.seconds:.1f} s)")


def export_grades(
    as_of: Annotated[str, typer.Option("--as-of", help="the classification's as-of date")],
    out_file: Annotated[Path, typer.Option("--out", help="output file: .csv or .parquet (or .json)")],
    facts: Annotated[bool, typer.Option("--facts", help="add a column facts: the fact behind each reason "
                                        "(code：fact, joined by ；), from the records known at the as-of date")] = False,
    catalog: Annotated[Optional[Path], typer.Option("--catalog", help="indicator catalog YAML the facts come from "
                                                    "(default: built-in)")] = None,
    home: HomeOpt = None,
) -> None:
    """One row per classified entity: uscc, as_of, score, grade, labels, reasons, ..., score_base, contributions.

    contributions: every non-zero contribution as code:+12.30;code:-5.00, most points first (positive
    ones raised the risk, negative ones lowered it); score = clip(score_base + their sum, 0, 1000).
    score_base is empty for a month classified before it was recorded."""
    from ..service.grades import write_grades

    s = settings(home)
    d = as_date(as_of, "--as-of")
    with open_store(s) as wh:
        n = write_grades(wh.con, d, out_file, facts=facts, catalog_path=catalog, progress=progress,
                         note=lambda m: err.print(f"[yellow]note: {m}[/yellow]"))
    audit_export(s, "export_grades", out_file, n, {"as_of": d.isoformat()})
    err.print(f"{n:,} graded entities written to {out_file}")


def migration(
    from_date: Annotated[str, typer.Option("--from", help="earlier as-of date")],
    to_date: Annotated[str, typer.Option("--to", help="later as-of date")],
    out_file: Annotated[Optional[Path], typer.Option("--out", help="also write the matrix (.csv/.json)")] = None,
    home: HomeOpt = None,
) -> None:
    """Grade migration matrix between two classifications (rows: from, columns: to)."""
    from ..export import write_query
    from ..snapshot import current_snapshot
    from ..snapshot import migration_causes, migration_matrix, migration_query

    s = settings(home)
    a, b = as_date(from_date, "--from"), as_date(to_date, "--to")
    with open_store(s) as wh:
        sa, sb = current_snapshot(wh.con, a), current_snapshot(wh.con, b)
        rows = migration_matrix(wh.con, sa, sb)
        if out_file:
            write_query(wh.con, migration_query(sa, sb), out_file)
        split, changed_model = migration_causes(wh.con, sa, sb)
    froms = sorted({r[0] for r in rows})
    tos = sorted({r[1] for r in rows})
    cell = {(r[0], r[1]): r[2] for r in rows}
    tab = Table(title=f"grade migration {a} -> {b}")
    tab.add_column("from \\ to")
    for t in tos:
        tab.add_column(t, justify="right")
    for f in froms:
        tab.add_row(f, *[f"{cell.get((f, t), 0):,}" for t in tos])
    out.print(tab)
    if split is not None:
        moved = sum(split.values())
        out.print(f"of {moved:,} grade changes: {split.get('records', 0):,} from new records (the same model would have "
                  f"moved them), {split.get('model', 0):,} from the model change, {split.get('both', 0):,} from both",
                  highlight=False)
    elif changed_model:
        err.print("the model changed between these months but the previous model's grades of the later month are not "
                  "recorded (only for consecutive classifications): the split by cause is not available")


def model_report(
    as_of: Annotated[str, typer.Option("--as-of", help="the classification whose model to report")],
    out_file: Annotated[Path, typer.Option("--out", help="the report (.html)")],
    lang: Annotated[str, typer.Option("--lang", help="zh or en")] = "zh",
    home: HomeOpt = None,
) -> None:
    """The model report of a month's trained scorecard: window, AUC/KS/ROC, grade table, PSI, bins and points."""
    from ..indicators import load_catalog
    from ..scoring.card import write_model_card
    from ..snapshot import current_snapshot
    from ..snapshot import snapshot_model

    s = settings(home)
    d = as_date(as_of, "--as-of")
    with open_store(s) as wh:
        model, version = snapshot_model(wh.con, current_snapshot(wh.con, d))
    if model != "trained":
        raise RiskgradeError(f"the classification as of {d} used the {model} scorecard, which has no trained model to report; "
                             "run `riskgrade classify --as-of ... --model trained`")
    names = {i.code: (i.name_zh if lang == "zh" else i.name_en) for i in load_catalog().indicators}
    names["entity_type"] = "主体类型" if lang == "zh" else "entity type"
    write_model_card(s.home / "models", version, out_file, lang, names)
    audit_export(s, "model_report", out_file, None, {"model": version, "as_of": str(d), "lang": lang})
    err.print(f"model report of {version} written to {out_file}")


def register(app: typer.Typer) -> None:
    export_app = typer.Typer(help="Export results: grades.", no_args_is_help=True)
    app.add_typer(export_app, name="export")
    app.command()(classify)
    export_app.command("grades")(export_grades)
    app.command()(migration)
    app.command("model-report")(model_report)
