"""Read-only queries over the inspection stage's tables (tasks, plans, plan_entities, plan_results).

The faces list and show tasks and plans through these functions, never with their own SQL.  Each
returns nothing (an empty list, ``None``) when the home has no such table yet.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from ..sql import table_exists


def task_plans(con: duckdb.DuckDBPyConnection, task_id: int) -> list[tuple[int, dt.date, str, int]]:
    """The plans drawn for a task: (plan_id, as_of, seed, drawn), oldest first."""
    if not table_exists(con, "plans"):
        return []
    return con.execute("SELECT plan_id, as_of, seed, drawn FROM plans WHERE task_id = ? ORDER BY plan_id",
                       [task_id]).fetchall()


def plan_list(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Every drawn plan, oldest first: (plan_id, as_of, task name, seed, budget, drawn, entities with a
    result, created_at)."""
    if not table_exists(con, "plans"):
        return []
    return con.execute("""
            SELECT p.plan_id, p.as_of, coalesce(t.name, '(province-wide general)'), p.seed, p.budget, p.drawn,
                   (SELECT count(DISTINCT uscc) FROM plan_results r WHERE r.plan_id = p.plan_id), p.created_at
            FROM plans p LEFT JOIN tasks t USING (task_id) ORDER BY p.plan_id""").fetchall()


def plan_manifest(con: duckdb.DuckDBPyConnection, plan_id: int) -> str | None:
    """A plan's manifest (JSON text), or None when there is no such plan."""
    if not table_exists(con, "plans"):
        return None
    rows = con.execute("SELECT manifest FROM plans WHERE plan_id = ?", [plan_id]).fetchall()
    return rows[0][0] if rows else None


def plan_as_of(con: duckdb.DuckDBPyConnection, plan_id: int) -> dt.date | None:
    """The as-of date of the classification a plan drew from, or None when there is no such plan."""
    if not table_exists(con, "plans"):
        return None
    rows = con.execute("SELECT as_of FROM plans WHERE plan_id = ?", [plan_id]).fetchall()
    return rows[0][0] if rows else None


def plan_check_modes(con: duckdb.DuckDBPyConnection, plan_id: int) -> list[tuple[str, str]]:
    """The drawn entities of a plan with their check mode: (uscc, check_mode), by USCC."""
    return con.execute("SELECT uscc, check_mode FROM plan_entities WHERE plan_id = ? ORDER BY uscc",
                       [plan_id]).fetchall()


def plan_entity_regions(con: duckdb.DuckDBPyConnection, plan_id: int) -> dict[str, str] | None:
    """USCC -> county of every entity drawn in a plan (None: no such plan)."""
    if not table_exists(con, "plans") or not con.execute("SELECT 1 FROM plans WHERE plan_id = ?", [plan_id]).fetchall():
        return None
    return dict(con.execute("SELECT uscc, region_code FROM plan_entities WHERE plan_id = ?", [plan_id]).fetchall())


def results_rows(con: duckdb.DuckDBPyConnection, upload_id: int) -> list[tuple]:
    """The lines of one results upload: (line, status, uscc, event_date, result, column_name, reason)."""
    if not table_exists(con, "results_rows"):
        return []
    return con.execute("SELECT line, status, uscc, event_date, result, column_name, reason FROM results_rows "
                       "WHERE upload_id = ? ORDER BY line", [upload_id]).fetchall()
