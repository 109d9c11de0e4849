"""SQL text built in Python: literals, path literals, identifiers, and whether a table exists.

The one place that quotes.  Everything DuckDB is given as text goes through these:

* :func:`literal` - a string value as a SQL string literal (``'it''s'``);
* :func:`literals` - several values, comma-separated (for ``IN (...)``);
* :func:`date` - a date as a ``DATE '...'`` literal;
* :func:`path` - a file path inside ``'...'`` (for ``read_parquet``, ``COPY ... TO``): the quotes of
  :func:`literal` without the surrounding ones, so that callers can write ``'{sql.path(p)}'``;
* :func:`ident` - an identifier in double quotes (``"my col"``);
* :func:`table_exists` / :func:`column_exists` - catalog look-ups.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import duckdb


def literal(s: object) -> str:
    """A SQL string literal: ``it's`` -> ``'it''s'``."""
    return "'" + str(s).replace("'", "''") + "'"


def literals(values: Iterable[object]) -> str:
    """Comma-separated string literals (for ``IN (...)``)."""
    return ", ".join(literal(v) for v in values)


def date(d: dt.date) -> str:
    """A SQL DATE literal: ``DATE '2026-09-30'``."""
    return f"DATE '{d.isoformat()}'"


def path(p: str | Path) -> str:
    """A file path with its single quotes doubled, to go between ``'`` and ``'`` in a statement."""
    return str(p).replace("'", "''")


def ident(name: str) -> str:
    """A quoted identifier: ``my col`` -> ``"my col"``."""
    return '"' + str(name).replace('"', '""') + '"'


def table_exists(con: duckdb.DuckDBPyConnection, name: str, *, views: bool = True, temporary: bool = True,
                 database: str | None = None) -> bool:
    """Whether the connection sees a table (or, with ``views``, a view) called ``name``.

    ``temporary=False`` ignores temporary tables and views; ``database`` restricts the look-up to one
    attached database's ``main`` schema."""
    parts = ["SELECT database_name, schema_name, table_name AS name, temporary FROM duckdb_tables()"]
    if views:
        parts.append("SELECT database_name, schema_name, view_name, temporary FROM duckdb_views() WHERE NOT internal")
    where, args = ["name = ?"], [name]
    if not temporary:
        where.append("NOT temporary")
    if database is not None:
        where += ["database_name = ?", "schema_name = 'main'"]
        args.append(database)
    q = f"SELECT count(*) FROM ({' UNION ALL '.join(parts)}) WHERE {' AND '.join(where)}"
    return bool(con.execute(q, args).fetchall()[0][0])


def column_exists(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Whether a table (or view) ``table`` has a column ``column``."""
    return bool(con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
                            [table, column]).fetchall()[0][0])
