"""The ``riskgrade`` command: one Typer app; each sub-command is a thin call into a stage."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import __version__
from . import settings as settings_mod
from .errors import RiskgradeError

app = typer.Typer(
    name="riskgrade",
    help="Credit risk classification management (信用风险分类管理) for market regulators.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
quarantine_app = typer.Typer(help="Rows that failed validation, with their reasons and original text.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")
export_app = typer.Typer(help="Export results: grades.", no_args_is_help=True)
app.add_typer(export_app, name="export")

out = Console()  # results
err = Console(stderr=True, soft_wrap=True)  # progress and messages: one line each, never wrapped

HomeOpt = Annotated[
    Optional[Path],
    typer.Option("--home", help="data home (default: $RISKGRADE_HOME or ./riskgrade-data)", show_default=False),
]
_state: dict[str, Path | None] = {"home": None}


def _settings(home: Path | None) -> settings_mod.Settings:
    return settings_mod.load(home or _state["home"])


def _progress(msg: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {msg}", highlight=False)


@app.callback()
def _root(
    home: HomeOpt = None,
    version: Annotated[bool, typer.Option("--version", help="print the version and exit")] = False,
) -> None:
    if version:
        out.print(f"riskgrade {__version__}")
        raise typer.Exit()
    _state["home"] = home


# --------------------------------------------------------------------------- ingest
@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="a delivery folder, or a single table file")],
    report: Annotated[Optional[Path], typer.Option("--report", help="also write the counts as JSON")] = None,
    home: HomeOpt = None,
) -> None:
    """Load a delivery: read, normalise, validate, attribute, de-duplicate; bad rows to quarantine."""
    from .ingest import ingest as run_ingest

    s = _settings(home)
    t0 = time.perf_counter()
    res = run_ingest(s.home, path, progress=_progress, memory_limit=s.memory_limit, threads=s.threads,
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


@quarantine_app.command("export")
def quarantine_export(
    out_file: Annotated[Path, typer.Option("--out", help="output file: .csv, .parquet or .json")],
    delivery: Annotated[Optional[int], typer.Option("--delivery", help="only this delivery id")] = None,
    home: HomeOpt = None,
) -> None:
    """Export every quarantined row with its table, source file, line, reason and original text."""
    from .export import write_query
    from .warehouse import Warehouse

    s = _settings(home)
    with Warehouse(s.home, lock_timeout=s.lock_timeout) as wh:
        where = f"WHERE delivery_id = {int(delivery)}" if delivery is not None else ""
        n = write_query(
            wh.con,
            "SELECT delivery_id, table_name AS \"table\", file, line, reason, detail, source, uscc, raw "
            f"FROM quarantine {where} ORDER BY delivery_id, table_name, file, line",
            out_file,
        )
    err.print(f"{n:,} quarantined rows written to {out_file}")


@app.command()
def compact(home: HomeOpt = None) -> None:
    """Rewrite the events table ordered by entity (bucket, USCC) after many small deliveries."""
    from .warehouse import Warehouse

    s = _settings(home)
    with Warehouse(s.home, write=True, lock_timeout=s.lock_timeout, memory_limit=s.memory_limit) as wh:
        n = wh.compact()
    err.print(f"events rewritten in entity order: {n:,} rows")


@app.command()
def status(home: HomeOpt = None) -> None:
    """What the data home holds: deliveries, rows per table, quarantine."""
    from .warehouse import DATA_TABLES, Warehouse

    s = _settings(home)
    with Warehouse(s.home, lock_timeout=s.lock_timeout) as wh:
        con = wh.con
        tab = Table(title=f"data home {s.home}")
        tab.add_column("table")
        tab.add_column("rows", justify="right")
        tab.add_column("superseded versions", justify="right")
        for t in DATA_TABLES:
            n = con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            h = con.execute(f"SELECT count(*) FROM {t}_history").fetchall()[0][0]
            tab.add_row(t, f"{n:,}", f"{h:,}")
        q = con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0]
        d = con.execute("SELECT count(*), max(loaded_at) FROM deliveries").fetchall()[0]
        out.print(tab)
        out.print(f"deliveries: {d[0]} (last {d[1]}), quarantined rows: {q:,}")


# --------------------------------------------------------------------------- classification
def _date(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RiskgradeError(f"{flag}: not a date (YYYY-MM-DD): {value}") from None


@app.command()
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
    from .snapshot import classify as run_classify, month_end

    s = _settings(home)
    d = _date(as_of, "--as-of")
    if grades not in (None, "four", "five"):
        raise RiskgradeError("--grades must be four or five")
    if not month_end(d):
        err.print(f"[yellow]note: {d} is not a month end; classifying as of that day anyway[/yellow]")
    res = run_classify(s.home, d, model=model, catalog_path=catalog, scorecard_path=scorecard, grading_path=grading,
                       labels_path=labels, mode=grades, memory_limit=s.memory_limit, threads=s.threads,
                       chunk_events=s.chunk_events, fusion_path=fusion, monitoring_path=monitoring,
                       outcomes_path=outcomes, lock_timeout=s.lock_timeout, progress=_progress)
    show_classification(res, f"classification as of {d} (snapshot {res.snapshot_id}, {res.seconds:.1f} s)")


def show_classification(res, title: str) -> None:
    """The model and why, the grade table and the content hash of a sealed month (classify, spark-submit)."""
    err.print(f"model: [bold]{res.model}[/bold] — {res.model_reason}", highlight=False)
    tab = Table(title=title)
    tab.add_column("grade")
    tab.add_column("entities", justify="right")
    tab.add_column("share", justify="right")
    for g, n in res.grade_counts.items():
        tab.add_row(g, f"{n:,}", f"{n / max(res.entities, 1):.1%}")
    tab.add_row("all", f"{res.entities:,}", "100%")
    out.print(tab)
    err.print(f"sealed: content hash {res.content_hash}")


@export_app.command("grades")
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
    from .export import write_query
    from .snapshot import current_snapshot
    from .warehouse import Warehouse

    s = _settings(home)
    d = _date(as_of, "--as-of")
    with Warehouse(s.home, lock_timeout=s.lock_timeout) as wh:
        con = wh.con
        sid = current_snapshot(con, d)
        has_base = con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'grades' "
                               "AND column_name = 'score_base'").fetchall()[0][0]
        facts_col, facts_join = "", ""
        if facts:
            _export_facts(con, sid, catalog)
            facts_col = ", coalesce(f.facts, '') AS facts"
            facts_join = "LEFT JOIN _export_facts f ON f.uscc = g.uscc"
        n = write_query(con, f"""
            SELECT g.uscc, g.as_of, g.score, g.grade, g.labels, g.reasons, g.previous_grade, g.grade_rule,
                   g.name, g.entity_type, g.region_code, g.industry_code, s.model, s.model_version, s.catalog_version,
                   {"g.score_base" if has_base else "CAST(NULL AS DOUBLE)"} AS score_base,
                   {CONTRIBUTIONS_SQL} AS contributions{facts_col}
            FROM grades g JOIN snapshots s USING (snapshot_id) {facts_join}
            WHERE g.snapshot_id = {sid} ORDER BY g.uscc""", out_file)
    err.print(f"{n:,} graded entities written to {out_file}")


# every non-zero contribution of reason_points as code:+12.30;code:-5.00, most points first
CONTRIBUTIONS_SQL = """coalesce(array_to_string(list_transform(list_reverse_sort(list_transform(
    list_filter(from_json(g.reason_points, '[{"code": "VARCHAR", "points": "DOUBLE"}]'), x -> x.points <> 0),
    x -> {'p': x.points, 'c': x.code})), x -> x.c || ':' || printf('%+.2f', x.p)), ';'), '')"""


def _export_facts(con, snapshot_id: int, catalog_path: Path | None) -> None:
    """The temporary table ``_export_facts`` (uscc, facts): ``code：fact`` of each reason, joined by ；."""
    from .indicators import load_catalog
    from .indicators.facts import snapshot_facts
    from .warehouse import insert_rows

    cat = load_catalog(catalog_path)
    version = con.execute("SELECT catalog_version FROM snapshots WHERE snapshot_id = ?", [snapshot_id]).fetchall()[0][0]
    if version != cat.version:
        err.print(f"[yellow]note: the month was classified with catalog {version}; facts come from catalog "
                  f"{cat.version}[/yellow]")
    con.execute("CREATE OR REPLACE TEMP TABLE _export_facts (uscc VARCHAR, facts VARCHAR)")
    rows = [(u, "；".join(f"{c}：{f}" for c, f in items))
            for u, items in snapshot_facts(con, cat, snapshot_id, progress=_progress) if items]
    insert_rows(con, "_export_facts", rows)


def export_month(as_of: str, out_file: Path, home: Path | None, sql_for_snapshot) -> int:
    """Write a query over the month's current snapshot (``sql_for_snapshot(snapshot_id)``) to a file."""
    from .export import write_query
    from .snapshot import current_snapshot
    from .warehouse import Warehouse

    s = _settings(home)
    d = _date(as_of, "--as-of")
    with Warehouse(s.home, lock_timeout=s.lock_timeout) as wh:
        return write_query(wh.con, sql_for_snapshot(current_snapshot(wh.con, d)), out_file)


@app.command()
def migration(
    from_date: Annotated[str, typer.Option("--from", help="earlier as-of date")],
    to_date: Annotated[str, typer.Option("--to", help="later as-of date")],
    out_file: Annotated[Optional[Path], typer.Option("--out", help="also write the matrix (.csv/.json)")] = None,
    home: HomeOpt = None,
) -> None:
    """Grade migration matrix between two classifications (rows: from, columns: to)."""
    from .export import write_query
    from .snapshot import current_snapshot
    from .warehouse import Warehouse

    s = _settings(home)
    a, b = _date(from_date, "--from"), _date(to_date, "--to")
    with Warehouse(s.home, lock_timeout=s.lock_timeout) as wh:
        sa, sb = current_snapshot(wh.con, a), current_snapshot(wh.con, b)
        sql = f"""
            SELECT coalesce(x.grade, '(new)') AS from_grade, coalesce(y.grade, '(gone)') AS to_grade, count(*) AS entities
            FROM (SELECT uscc, grade FROM grades WHERE snapshot_id = {sa}) x
            FULL JOIN (SELECT uscc, grade FROM grades WHERE snapshot_id = {sb}) y USING (uscc)
            GROUP BY ALL ORDER BY ALL"""
        rows = wh.con.execute(sql).fetchall()
        if out_file:
            write_query(wh.con, sql, out_file)
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


def migration_causes(con, sa: int, sb: int) -> tuple[dict | None, bool]:
    """Grade changes from snapshot ``sa`` to ``sb`` split by cause, when ``sb`` recorded the grades the
    previous model gives its records: ``records`` (the old model moves them too), ``model`` (the old
    model keeps the old grade on the new records), ``both``."""
    (ma, mb), = con.execute(f"SELECT (SELECT model_version FROM snapshots WHERE snapshot_id = {sa}), "
                            f"(SELECT model_version FROM snapshots WHERE snapshot_id = {sb})").fetchall()
    if ma == mb:
        return None, False
    prev = con.execute(f"SELECT max(snapshot_id) FROM snapshots WHERE as_of < (SELECT as_of FROM snapshots "
                       f"WHERE snapshot_id = {sb})").fetchall()[0][0]
    has = con.execute(f"SELECT count(*) FROM grades WHERE snapshot_id = {sb} AND grade_previous_model IS NOT NULL").fetchall()[0][0]
    if prev != sa or not has:
        return None, True
    rows = con.execute(f"""
        SELECT CASE WHEN y.grade_previous_model <> x.grade AND y.grade_previous_model = y.grade THEN 'records'
                    WHEN y.grade_previous_model = x.grade THEN 'model' ELSE 'both' END, count(*)
        FROM (SELECT uscc, grade FROM grades WHERE snapshot_id = {sa}) x
        JOIN (SELECT uscc, grade, grade_previous_model FROM grades WHERE snapshot_id = {sb}) y USING (uscc)
        WHERE x.grade <> y.grade GROUP BY 1""").fetchall()
    return dict(rows), True


@app.command("model-report")
def model_report(
    as_of: Annotated[str, typer.Option("--as-of", help="the classification whose model to report")],
    out_file: Annotated[Path, typer.Option("--out", help="the report (.html)")],
    lang: Annotated[str, typer.Option("--lang", help="zh or en")] = "zh",
    home: HomeOpt = None,
) -> None:
    """The model report of a month's trained scorecard: window, AUC/KS/ROC, grade table, PSI, bins and points."""
    from .indicators import load_catalog
    from .scoring.report import write_model_report
    from .snapshot import current_snapshot
    from .warehouse import Warehouse

    s = _settings(home)
    d = _date(as_of, "--as-of")
    with Warehouse(s.home, lock_timeout=s.lock_timeout) as wh:
        sid = current_snapshot(wh.con, d)
        model, version = wh.con.execute("SELECT model, model_version FROM snapshots WHERE snapshot_id = ?", [sid]).fetchall()[0]
    if model != "trained":
        raise RiskgradeError(f"the classification as of {d} used the {model} scorecard, which has no trained model to report; "
                             "run `riskgrade classify --as-of ... --model trained`")
    names = {i.code: (i.name_zh if lang == "zh" else i.name_en) for i in load_catalog().indicators}
    names["entity_type"] = "主体类型" if lang == "zh" else "entity type"
    write_model_report(s.home / "models", version, out_file, lang, names)
    err.print(f"model report of {version} written to {out_file}")


# --------------------------------------------------------------------------- quality
@app.command()
def quality(
    out_file: Annotated[Optional[Path], typer.Option("--out", help="write the report: .html or .json")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the measures as JSON on stdout")] = False,
    delivery: Annotated[Optional[int], typer.Option("--delivery", help="only this delivery id")] = None,
    lang: Annotated[str, typer.Option("--lang", help="report language: zh or en")] = "zh",
    home: HomeOpt = None,
) -> None:
    """Data quality (数据质量监测评估): completeness, validity, duplicates, timeliness, attribution 记名率, trend."""
    from . import quality as q
    from .warehouse import Warehouse

    s = _settings(home)
    with Warehouse(s.home, lock_timeout=s.lock_timeout) as wh:
        m = q.measure(wh.con, delivery)
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
    if reasons:
        out.print("quarantine reasons: " + ", ".join(f"{k} {v:,}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])),
                  highlight=False)


# --------------------------------------------------------------------------- simulate
@app.command()
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
    from .simulate import generate

    if fmt not in ("csv", "parquet"):
        raise RiskgradeError("--format must be csv or parquet")
    try:
        end_date = date.fromisoformat(end)
    except ValueError:
        raise RiskgradeError(f"--end: not a date (YYYY-MM-DD): {end}") from None
    t0 = time.perf_counter()

    def progress(msg: str, frac: float) -> None:
        _progress(f"{msg} ({frac:.0%})")

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


# --------------------------------------------------------------------------- indicators
@app.command()
def indicators(
    as_of: Annotated[str, typer.Option("--as-of", help="compute as of this date (YYYY-MM-DD)")],
    out_file: Annotated[Path, typer.Option("--out", help="output file: .parquet or .csv")],
    engine: Annotated[str, typer.Option("--engine", help="duckdb (the store itself) or spark (local Spark on a Parquet export)")] = "duckdb",
    catalog: Annotated[Optional[Path], typer.Option("--catalog", help="indicator catalog YAML (default: built-in)")] = None,
    home: HomeOpt = None,
) -> None:
    """The indicator table (指标) of every active entity as of a date: one row per entity, one column per indicator."""
    from .engines import write_indicators
    from .indicators import load_catalog

    s = _settings(home)
    d = _date(as_of, "--as-of")
    t0 = time.perf_counter()
    n = write_indicators(s.home, load_catalog(catalog), d, out_file, engine=engine, lock_timeout=s.lock_timeout,
                         memory_limit=s.memory_limit, threads=s.threads, progress=_progress)
    err.print(f"{n:,} entities' indicators as of {d} written to {out_file} ({engine}, {time.perf_counter() - t0:.1f} s)")


def main() -> None:
    try:
        app()
    except RiskgradeError as e:
        _fail(str(e))
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("[red]interrupted[/red]")
        sys.exit(130)
    except Exception as e:  # an unexpected failure still ends in one line (RISKGRADE_DEBUG=1: the traceback)
        import os

        if os.environ.get("RISKGRADE_DEBUG"):
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        _fail(f"internal error ({type(e).__name__}): {msg[:300]} (set RISKGRADE_DEBUG=1 for the traceback)")
        sys.exit(2)


def _fail(message: str) -> None:
    """The one-line error of the contract: never wrapped to the terminal's width, never several lines."""
    line = " ".join(message.split())
    err.print(f"[red]error:[/red] {line}", highlight=False, soft_wrap=True)

from . import cli_inspection  # noqa: E402,F401  (registers the inspection commands)
from . import cli_service  # noqa: E402,F401  (registers the service commands)
from . import cli_warning  # noqa: E402,F401
from . import cli_analysis  # noqa: E402,F401  (registers analyse and report)
from . import cli_exchange  # noqa: E402,F401  (registers fusion, monitor and the exchange exports)
from . import cli_spark  # noqa: E402,F401  (registers spark-submit and spark-job)
from . import cli_model  # noqa: E402,F401  (registers model train/approve/list/card)
