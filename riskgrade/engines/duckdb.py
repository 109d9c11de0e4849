"""The DuckDB engine: the indicator query on the store, and the store's tables as Parquet for other engines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from .. import sql
from ..export import write_query
from ..indicators.catalog import Catalog
from ..indicators.compute import compute_indicators
from ..warehouse import BUCKETS

EXPORTED = ("entities", "events")
# store bookkeeping that no indicator reads: left out of the export
NOT_EXPORTED = ("content_hash", "version", "delivery_id", "file", "line", "loaded_at")


def write_indicators(con: duckdb.DuckDBPyConnection, catalog: Catalog, as_of: dt.date, out: Path, *,
                     include_revoked: bool = False) -> int:
    """The indicator table (ordered by USCC) written to ``out`` (.parquet or .csv); returns the rows."""
    compute_indicators(con, catalog, as_of, table="indicators_out", include_revoked=include_revoked)
    try:
        return write_query(con, "SELECT * FROM indicators_out ORDER BY uscc", out)
    finally:
        con.execute("DROP TABLE IF EXISTS indicators_out")


def export_parquet(con: duckdb.DuckDBPyConnection, out_dir: Path, *, files: int = 16) -> dict[str, int]:
    """Write ``entities`` and ``events`` (and ``domain_grades``) as Parquet under ``out_dir/<table>/``;
    returns rows per table.

    Each table becomes ``files`` files, each holding a contiguous range of entity buckets sorted by
    (bucket, uscc): ``bucket-0000-0255.parquet``, ...  All records of an entity are in one file, so
    a reader can split the work by file without moving an entity's records between workers.
    """
    if BUCKETS % files:
        raise ValueError(f"files must divide {BUCKETS}")
    step = BUCKETS // files
    rows = {}
    for table in EXPORTED:
        d = Path(out_dir) / table
        d.mkdir(parents=True, exist_ok=True)
        cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in NOT_EXPORTED]
        select = ", ".join(cols)
        for lo in range(0, BUCKETS, step):
            target = sql.path(d / f"bucket-{lo:04d}-{lo + step - 1:04d}.parquet")
            con.execute(f"COPY (SELECT {select} FROM {table} WHERE bucket BETWEEN {lo} AND {lo + step - 1} "
                        f"ORDER BY bucket, uscc) TO '{target}' (FORMAT parquet)")
        rows[table] = int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
    # professional-domain grades (domain indicators): small, one file ordered by entity
    d = Path(out_dir) / "domain_grades"
    d.mkdir(parents=True, exist_ok=True)
    target = sql.path(d / "part-0.parquet")
    con.execute(f"COPY (SELECT uscc, domain, grade, as_of FROM domain_grades ORDER BY uscc, domain, as_of) "
                f"TO '{target}' (FORMAT parquet)")
    rows["domain_grades"] = int(con.execute("SELECT count(*) FROM domain_grades").fetchall()[0][0])
    return rows
