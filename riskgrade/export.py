"""Write query results to .csv / .parquet / .json(l) files by the file's ending."""

from __future__ import annotations

from pathlib import Path

import duckdb

from .errors import RiskgradeError
from .sql import path as sql_path


def write_query(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> int:
    """Run ``sql`` and write it to ``path``; returns the number of rows."""
    path = Path(path)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    target = sql_path(path)
    if suffix == ".csv":
        opts = "FORMAT csv, HEADER true"
    elif suffix == ".parquet":
        opts = "FORMAT parquet"
    elif suffix in (".json", ".jsonl"):
        opts = "FORMAT json" + (", ARRAY true" if suffix == ".json" else "")
    else:
        raise RiskgradeError(f"{path}: unsupported file type {suffix or '(none)'}; use .csv, .parquet or .json")
    con.execute(f"COPY ({sql}) TO '{target}' ({opts})")
    return int(con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0])
