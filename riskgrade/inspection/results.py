"""Inspection results back in, linked to their plan; the public results export (一公开).

Results arrive as ``inspection`` events in the contract's format (any file the ingest reads, or a
later delivery); they go through the normal ingest (validation, quarantine, de-duplication), so the
next ``classify`` uses them.  :func:`link_results` then links the file's inspection records of
planned entities dated within the plan's window to the plan, with the plan's check mode (现场 / 书面) and
inspectors; linking is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..contract import INSPECTION_RESULT_ZH
from ..errors import RiskgradeError
from ..warehouse import Warehouse
from .tables import ensure_schema, has_table

RESULT_ZH = INSPECTION_RESULT_ZH  # the words of the public results export (defined in contract)


@dataclass
class LinkOutcome:
    plan_id: int
    linked: int          # newly linked results
    planned: int         # entities in the plan
    with_result: int     # planned entities that now have a result
    delivery: dict | None = None


def plan_row(con: duckdb.DuckDBPyConnection, plan_id: int) -> tuple:
    rows = con.execute("SELECT p.plan_id, p.as_of, t.period_end FROM plans p LEFT JOIN tasks t USING (task_id) "
                       "WHERE p.plan_id = ?", [plan_id]).fetchall()
    if not rows:
        raise RiskgradeError(f"no plan {plan_id}: see `riskgrade plans list`")
    return rows[0]


def link_results(con: duckdb.DuckDBPyConnection, plan_id: int, delivery_id: int | None = None) -> LinkOutcome:
    """Link inspection records of the plan's entities, dated after its as-of date (and not after the
    task's period end, when it has one), to the plan: those of one delivery (the results file), or
    all held ones.  Run inside a transaction."""
    ensure_schema(con)
    _, as_of, period_end = plan_row(con, plan_id)
    until = f"AND e.event_date <= DATE '{period_end}'" if period_end else ""
    if delivery_id is not None:
        until += f" AND e.delivery_id = {int(delivery_id)}"
    before = con.execute("SELECT count(*) FROM plan_results WHERE plan_id = ?", [plan_id]).fetchall()[0][0]
    con.execute(f"""
        INSERT INTO plan_results
        SELECT {int(plan_id)}, e.uscc, e.source, e.record_id, e.event_date, e.detail, pe.check_mode, pe.inspectors,
               now()::TIMESTAMP
        FROM events e JOIN plan_entities pe ON pe.uscc = e.uscc AND pe.plan_id = {int(plan_id)}
        WHERE e.event_type = 'inspection' AND e.event_date > DATE '{as_of}' {until}
          AND NOT EXISTS (SELECT 1 FROM plan_results r WHERE r.plan_id = {int(plan_id)}
                          AND r.source IS NOT DISTINCT FROM e.source AND r.record_id = e.record_id)
        ORDER BY e.uscc, e.event_date
    """)
    after, planned, with_result = con.execute(f"""
        SELECT (SELECT count(*) FROM plan_results WHERE plan_id = {int(plan_id)}),
               (SELECT count(*) FROM plan_entities WHERE plan_id = {int(plan_id)}),
               (SELECT count(DISTINCT uscc) FROM plan_results WHERE plan_id = {int(plan_id)})""").fetchall()[0]
    return LinkOutcome(plan_id, int(after - before), int(planned), int(with_result))


def import_results(home: Path, path: Path, plan_id: int, *, progress=None, memory_limit: str | None = None,
                   threads: int | None = None, lock_timeout: float = 60.0) -> LinkOutcome:
    """Ingest a results file (inspection events) and link it to the plan."""
    from ..ingest import ingest

    with Warehouse(home, lock_timeout=lock_timeout) as wh:
        if not has_table(wh.con, "plans"):
            raise RiskgradeError(f"no plan {plan_id}: draw one with `riskgrade plan` first")
        plan_row(wh.con, plan_id)
    res = ingest(home, path, progress=progress, memory_limit=memory_limit, threads=threads, lock_timeout=lock_timeout)
    with Warehouse(home, write=True, lock_timeout=lock_timeout) as wh:
        with wh.transaction():
            out = link_results(wh.con, plan_id, res.delivery_id)
    out.delivery = res.as_dict()
    return out


def public_results_query(plan_id: int | None = None, task_id: int | None = None) -> str:
    """Results for publication: entity name, USCC, task, date, result.  Never a grade or a score, and no
    check mode: A-class entities drawn at random are checked in writing (书面检查), so the mode would name
    their grade (docs/security-disclosure.md)."""
    cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in RESULT_ZH.items())
    where = f"r.plan_id = {int(plan_id)}" if plan_id is not None else f"p.task_id = {int(task_id)}"
    return f"""
        SELECT e.name, r.uscc, coalesce(t.name, '全省通用双随机抽查') AS task, r.event_date AS inspected_on,
               r.result, CASE r.result {cases} ELSE r.result END AS result_zh
        FROM plan_results r
        JOIN plans p USING (plan_id)
        LEFT JOIN tasks t USING (task_id)
        LEFT JOIN entities e USING (uscc)
        WHERE {where}
        ORDER BY r.event_date, r.uscc, r.record_id"""
