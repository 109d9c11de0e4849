"""Read-only queries over the tables ingest writes (the data tables, their history, quarantine, deliveries).

The faces (CLI, API, console) read these tables through the functions here, never with their own SQL.
"""

from __future__ import annotations

import duckdb

from ..warehouse import DATA_TABLES


def store_counts(con: duckdb.DuckDBPyConnection) -> dict:
    """What the store holds: ``tables`` (table, current rows, superseded versions) of every data table,
    ``quarantined`` rows, ``deliveries`` and ``last_loaded_at`` (the newest delivery's load time)."""
    tables = []
    for t in DATA_TABLES:
        n = con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        h = con.execute(f"SELECT count(*) FROM {t}_history").fetchall()[0][0]
        tables.append((t, n, h))
    q = con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0]
    d = con.execute("SELECT count(*), max(loaded_at) FROM deliveries").fetchall()[0]
    return {"tables": tables, "quarantined": q, "deliveries": d[0], "last_loaded_at": d[1]}


def quarantine_query(delivery: int | None = None) -> str:
    """Every quarantined row (of one delivery, when given) with its table, source file, line, reason and
    original text, for :func:`riskgrade.export.write_query`."""
    where = f"WHERE delivery_id = {int(delivery)}" if delivery is not None else ""
    return ("SELECT delivery_id, table_name AS \"table\", file, line, reason, detail, source, uscc, raw "
            f"FROM quarantine {where} ORDER BY delivery_id, table_name, file, line")


def held_usccs(con: duckdb.DuckDBPyConnection, codes: list[str]) -> set[str]:
    """The codes among ``codes`` that are held entities."""
    return {r[0] for r in con.execute("SELECT uscc FROM entities WHERE uscc IN (SELECT unnest(?))",
                                      [codes]).fetchall()}
