"""Read-only queries over the tables the snapshot writes (``snapshots``, ``grades``).

The faces read a month's record, its model and the grade migration between two months through these
functions, never with their own SQL.
"""

from __future__ import annotations

import datetime as dt

import duckdb


def has_snapshot(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> bool:
    """Whether a classification as of ``as_of`` is held."""
    has = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'snapshots'").fetchall()[0][0]
    return bool(has) and bool(con.execute("SELECT count(*) FROM snapshots WHERE as_of = ?", [as_of]).fetchall()[0][0])


def snapshot_model(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> tuple[str, str]:
    """The model (expert, trained, ...) and model version a snapshot was classified with."""
    model, version = con.execute("SELECT model, model_version FROM snapshots WHERE snapshot_id = ?",
                                 [snapshot_id]).fetchall()[0]
    return model, version


def snapshot_catalog_version(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> str:
    """The indicator catalog version a snapshot was classified with."""
    return con.execute("SELECT catalog_version FROM snapshots WHERE snapshot_id = ?", [snapshot_id]).fetchall()[0][0]


def grades_have_score_base(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the grades table records ``score_base`` (months classified before it was added do not)."""
    return bool(con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'grades' "
                            "AND column_name = 'score_base'").fetchall()[0][0])


def migration_query(sa: int, sb: int) -> str:
    """Grade migration from snapshot ``sa`` to ``sb``: from_grade ((new) when absent), to_grade ((gone)),
    entities; for :func:`riskgrade.export.write_query`."""
    return f"""
            SELECT coalesce(x.grade, '(new)') AS from_grade, coalesce(y.grade, '(gone)') AS to_grade, count(*) AS entities
            FROM (SELECT uscc, grade FROM grades WHERE snapshot_id = {int(sa)}) x
            FULL JOIN (SELECT uscc, grade FROM grades WHERE snapshot_id = {int(sb)}) y USING (uscc)
            GROUP BY ALL ORDER BY ALL"""


def migration_matrix(con: duckdb.DuckDBPyConnection, sa: int, sb: int) -> list[tuple[str, str, int]]:
    """The rows of :func:`migration_query`: (from_grade, to_grade, entities)."""
    return con.execute(migration_query(sa, sb)).fetchall()


def migration_causes(con: duckdb.DuckDBPyConnection, sa: int, sb: int) -> tuple[dict | None, bool]:
    """Grade changes from snapshot ``sa`` to ``sb`` split by cause, when ``sb`` recorded the grades the
    previous model gives its records: ``records`` (the old model moves them too), ``model`` (the old
    model keeps the old grade on the new records), ``both``.  Second: whether the model changed."""
    sa, sb = int(sa), int(sb)
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
