"""The grades export: the one column list and the one query behind ``riskgrade export grades``.

One row per classified entity of a month's current snapshot, with the columns of
:data:`GRADES_EXPORT_COLUMNS` (and ``facts`` on request).  ``contributions`` lists every non-zero
contribution as ``code:+12.30;code:-5.00``, most points first (positive ones raised the risk, negative
ones lowered it); ``score = clip(score_base + their sum, 0, 1000)``.  ``score_base`` is empty for a
month classified before it was recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb

from ..export import write_query
from ..registry import queries
from ..snapshot import current_snapshot
from ..snapshot import grades_have_score_base, snapshot_catalog_version
from ..warehouse import insert_rows, sql_str

# the one grades-export column list, in order (``facts`` is added last on request)
GRADES_EXPORT_COLUMNS: tuple[str, ...] = (
    "uscc", "as_of", "score", "grade", "labels", "reasons", "previous_grade", "grade_rule",
    "name", "entity_type", "region_code", "industry_code", "model", "model_version", "catalog_version",
    "score_base", "contributions",
)
FACTS_COLUMN = "facts"

# every non-zero contribution of reason_points as code:+12.30;code:-5.00, most points first
CONTRIBUTIONS_SQL = """coalesce(array_to_string(list_transform(list_reverse_sort(list_transform(
    list_filter(from_json(g.reason_points, '[{"code": "VARCHAR", "points": "DOUBLE"}]'), x -> x.points <> 0),
    x -> {'p': x.points, 'c': x.code})), x -> x.c || ':' || printf('%+.2f', x.p)), ';'), '')"""

# where each column comes from (g: grades, s: snapshots); score_base and contributions are computed
_SNAPSHOT_COLUMNS = ("model", "model_version", "catalog_version")


def _expression(column: str, has_base: bool) -> str:
    if column == "score_base":
        return ("g.score_base" if has_base else "CAST(NULL AS DOUBLE)") + " AS score_base"
    if column == "contributions":
        return f"{CONTRIBUTIONS_SQL} AS contributions"
    return f"{'s' if column in _SNAPSHOT_COLUMNS else 'g'}.{column}"


def grades_query(con: duckdb.DuckDBPyConnection, snapshot_id: int, *, facts: bool = False,
                 region_prefix: str | None = None) -> str:
    """The export's query over one snapshot (in the user's region when ``region_prefix`` is given); with
    ``facts``, the temporary table ``_export_facts`` must exist (:func:`write_grades` makes it)."""
    has_base = grades_have_score_base(con)
    cols = ", ".join(_expression(c, has_base) for c in GRADES_EXPORT_COLUMNS)
    facts_col = f", coalesce(f.facts, '') AS {FACTS_COLUMN}" if facts else ""
    facts_join = "LEFT JOIN _export_facts f ON f.uscc = g.uscc" if facts else ""
    region = f" AND starts_with(g.region_code, {sql_str(region_prefix)})" if region_prefix else ""
    return (f"SELECT {cols}{facts_col} FROM grades g JOIN snapshots s USING (snapshot_id) {facts_join} "
            f"WHERE g.snapshot_id = {int(snapshot_id)}{region} ORDER BY g.uscc")


def _make_facts(con: duckdb.DuckDBPyConnection, snapshot_id: int, catalog_path: Path | None,
                note: Callable[[str], None] | None, progress: Callable[[str], None] | None) -> None:
    """The temporary table ``_export_facts`` (uscc, facts): ``code：fact`` of each reason, joined by ；."""
    from ..indicators import load_catalog
    from ..indicators.facts import snapshot_facts

    cat = load_catalog(catalog_path)
    version = snapshot_catalog_version(con, snapshot_id)
    if version != cat.version and note is not None:
        note(f"the month was classified with catalog {version}; facts come from catalog {cat.version}")
    con.execute("CREATE OR REPLACE TEMP TABLE _export_facts (uscc VARCHAR, facts VARCHAR)")
    rows = [(u, "；".join(f"{c}：{f}" for c, f in items))
            for u, items in snapshot_facts(con, cat, snapshot_id, progress=progress) if items]
    insert_rows(con, "_export_facts", rows)


def write_grades(con: duckdb.DuckDBPyConnection, as_of: dt.date, out_file: Path, *, facts: bool = False,
                 catalog_path: Path | None = None, note: Callable[[str], None] | None = None,
                 progress: Callable[[str], None] | None = None) -> int:
    """Write the month's grades (the current snapshot as of ``as_of``) to a .csv, .parquet or .json file;
    returns the number of rows.  ``facts`` adds the fact behind each reason (code：fact, joined by ；)
    from the records known at the as-of date, by the catalog ``catalog_path`` (default: built-in);
    ``note`` hears when that catalog is not the one the month was classified with."""
    sid = current_snapshot(con, as_of)
    if facts:
        _make_facts(con, sid, catalog_path, note, progress)
    return write_query(con, grades_query(con, sid, facts=facts), out_file)


def grade_rows(con: duckdb.DuckDBPyConnection, as_of: dt.date, *, region_prefix: str | None = None) -> list[dict]:
    """The month's grades as plain rows (dicts keyed by :data:`GRADES_EXPORT_COLUMNS`), by USCC."""
    cur = con.execute(grades_query(con, current_snapshot(con, as_of), region_prefix=region_prefix))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def contributions(reason_points: list[str | None]) -> list[str]:
    """The export's ``contributions`` of each ``reason_points`` text (JSON [{code, points}]), in order: the one
    expression :data:`CONTRIBUTIONS_SQL`, run by an in-memory DuckDB over the registry's copies."""
    if not reason_points:
        return []
    con = duckdb.connect()
    try:
        return [c for (c,) in con.execute(f"SELECT {CONTRIBUTIONS_SQL} FROM (SELECT i, $1[i] AS reason_points FROM "
                                          "range(1, len($1) + 1) t(i)) g ORDER BY g.i", [reason_points]).fetchall()]
    finally:
        con.close()


def published_grade_rows(factory, as_of: dt.date | None = None, *, region_prefix: str = "") -> tuple[dt.date, list[dict]] | None:
    """The grades of a month published to the registry (the newest month when ``as_of`` is None), in a
    region when ``region_prefix`` is given, as dicts keyed by :data:`GRADES_EXPORT_COLUMNS`, by USCC;
    None when nothing is published for that month.  The API's export (:mod:`riskgrade.service.exports`)."""
    snap = queries.latest_snapshot(factory, as_of)
    if snap is None:
        return None
    rows = queries.grades_with_names(factory, snap.id, region_prefix)
    out = []
    for (g, name), contrib in zip(rows, contributions([g.reason_points for g, _ in rows]), strict=True):
        v = {"as_of": snap.as_of, "name": name, "model": snap.model, "model_version": snap.model_version,
             "catalog_version": snap.catalog_version, "contributions": contrib}
        out.append({c: v[c] if c in v else getattr(g, c) for c in GRADES_EXPORT_COLUMNS})
    return snap.as_of, out
