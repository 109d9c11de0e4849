"""Write query results to .csv / .parquet / .json(l) files by the file's ending; the one rule that
neutralises spreadsheet formulas in the CSV files the program writes.

**Formula cells.**  A spreadsheet program (Excel, WPS, LibreOffice) interprets a cell whose text starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula (CSV/formula injection, OWASP).
Every text cell of every CSV the program writes that starts with one of those characters is prefixed with
a single quote ``'`` (:data:`NEUTRALISER`), which the spreadsheet shows as text and does not evaluate:
``=HYPERLINK(...)`` is written ``'=HYPERLINK(...)``.  Only text cells: a number (``-5.00`` in a DOUBLE
column) is written as the number it is.  :func:`neutralise` is the rule for one Python value (for writers
using :mod:`csv`), :func:`neutralise_sql` the same rule as a DuckDB expression (for ``COPY``), and
:func:`write_query` applies it to every VARCHAR column of a CSV it writes.  Parquet and JSON files are
data, not spreadsheets: written as they are.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from .errors import RiskgradeError
from .sql import ident
from .sql import path as sql_path

# the first characters that make a spreadsheet cell a formula, and what is put before them
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISER = "'"


def neutralise(value: object) -> object:
    """``value`` as a CSV cell a spreadsheet will not evaluate: text starting with a formula character
    gets :data:`NEUTRALISER` in front; anything else (numbers, dates, None, other text) is returned as is."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return NEUTRALISER + value
    return value


def neutralise_row(row: dict) -> dict:
    """:func:`neutralise` applied to every value of a row (a dict, as :class:`csv.DictWriter` takes it)."""
    return {k: neutralise(v) for k, v in row.items()}


def neutralise_sql(expr: str) -> str:
    """:func:`neutralise` as a DuckDB expression over the VARCHAR expression ``expr`` (NULL stays NULL)."""
    starts = ", ".join(f"chr({ord(c)})" for c in FORMULA_STARTS)
    return f"(CASE WHEN left({expr}, 1) IN ({starts}) THEN '{NEUTRALISER * 2}' || {expr} ELSE {expr} END)"


def neutralised_query(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """``sql`` with every VARCHAR column passed through :func:`neutralise_sql` (names and order kept)."""
    cols = con.execute(f"DESCRIBE {sql}").fetchall()
    if not any(t == "VARCHAR" for _, t, *_ in cols):
        return sql
    select = ", ".join(f"{neutralise_sql(ident(name))} AS {ident(name)}" if t == "VARCHAR" else ident(name)
                       for name, t, *_ in cols)
    return f"SELECT {select} FROM ({sql})"


def write_query(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> int:
    """Run ``sql`` and write it to ``path``; returns the number of rows.  A .csv has its formula cells
    neutralised (:func:`neutralise_sql`)."""
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
    body = neutralised_query(con, sql) if suffix == ".csv" else sql
    con.execute(f"COPY ({body}) TO '{target}' ({opts})")
    return int(con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0])


def table_bytes(headers: list[str], rows: list[list], fmt: str) -> bytes:
    """A table as a file a spreadsheet opens: ``csv`` (UTF-8 with a byte-order mark, so that Excel and WPS
    read Chinese right) or ``xlsx`` (one sheet, header row frozen).  Text cells are :func:`neutralise`\\ d in
    both: in an XLSX a text cell is stored as text anyway, and the quote keeps a copied-out value inert."""
    import csv
    import io

    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(headers)
        for r in rows:
            w.writerow(["" if v is None else neutralise(v) for v in r])
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    if fmt == "xlsx":
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        wb = Workbook(write_only=True)
        ws = wb.create_sheet()
        ws.freeze_panes = "A2"
        head = []
        for h in headers:
            c = WriteOnlyCell(ws, value=h)
            c.font = Font(bold=True)
            head.append(c)
        ws.append(head)
        for r in rows:
            ws.append([neutralise(v) if isinstance(v, str) else v for v in r])
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    raise RiskgradeError(f"unknown table format {fmt!r}: csv or xlsx")
