"""Engines that compute the indicator table from its one definition.

The catalog's SQL is assembled into one query in DuckDB's dialect
(``riskgrade.indicators.compute.indicator_query``).  ``duckdb`` runs it on the store itself;
``spark`` exports the store's ``entities`` and ``events`` as Parquet files (ranges of the entity
bucket), transpiles the same query to Spark SQL with sqlglot and runs it on a local Spark session.
A parity test requires both to give the same table.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from .. import sql
from ..errors import RiskgradeError
from ..indicators.catalog import Catalog

ENGINES = ("duckdb", "spark")
OUTPUTS = (".parquet", ".csv")


def write_indicators(home: Path, catalog: Catalog, as_of: dt.date, out: Path, *, engine: str = "duckdb",
                     include_revoked: bool = False, lock_timeout: float = 60.0, memory_limit: str | None = None,
                     threads: int | None = None, progress=None) -> int:
    """Compute the indicator table of every entity in scope at ``as_of`` and write it to ``out``; returns rows."""
    from ..export import write_query
    from ..warehouse import Warehouse
    from . import duckdb as duck

    say = progress or (lambda m: None)
    out = Path(out)
    if engine not in ENGINES:
        raise RiskgradeError(f"unknown engine {engine!r}: choose {' or '.join(ENGINES)}")
    if out.suffix.lower() not in OUTPUTS:
        raise RiskgradeError(f"{out}: unsupported file type {out.suffix or '(none)'}; use .parquet or .csv")
    if engine == "duckdb":
        with Warehouse(home, lock_timeout=lock_timeout, memory_limit=memory_limit, threads=threads) as wh:
            say(f"computing {len(catalog.enabled)} indicators as of {as_of} on DuckDB")
            return duck.write_indicators(wh.con, catalog, as_of, out, include_revoked=include_revoked)
    from . import spark as sp

    sp.check_available()
    with tempfile.TemporaryDirectory(prefix="riskgrade-spark-") as tmp:
        tables = Path(tmp) / "tables"
        with Warehouse(home, lock_timeout=lock_timeout, memory_limit=memory_limit, threads=threads) as wh:
            say(f"exporting entities and events to Parquet for Spark ({tables})")
            duck.export_parquet(wh.con, tables)
        say(f"computing {len(catalog.enabled)} indicators as of {as_of} on Spark (local mode)")
        result = out if out.suffix.lower() == ".parquet" else Path(tmp) / "indicators.parquet"
        n = sp.compute_indicators_spark(tables, catalog, as_of, result, include_revoked=include_revoked)
        if result != out:
            import duckdb

            with duckdb.connect() as con:
                write_query(con, f"SELECT * FROM read_parquet('{_quote(result)}') ORDER BY uscc", out)
        return n


_quote = sql.path
