"""定向抽查: an alert's entities become targets of an inspection task (``task_targets``).

Only alerts of the catalog's ``target_min_severity`` (default high), or of a rule marked
``inspect: true`` (100% triggers such as an all-zero annual report), and not closed, can be sent.
The inspection stage forces a task's targets into every plan drawn for it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from ..errors import RiskgradeError
from . import workflow
from .rules import load_rules, severity_rank
from .store import ensure_schema, has_table


def target(con: duckdb.DuckDBPyConnection, alert_id: str, task_id: int, user: str, reason: str = "",
           rules_path: Path | None = None) -> tuple[int, str]:
    """Write the alert's members into ``task_targets``; returns (entities added, alert id)."""
    catalog = load_rules(rules_path)
    a = workflow.get_alert(con, alert_id)
    rule = catalog.get(a["rule"])
    inspectable = bool(rule and rule.inspect) or severity_rank(a["severity"]) >= severity_rank(catalog.target_min_severity)
    if not inspectable:
        raise RiskgradeError(f"alert {a['alert_id']} is {a['severity']} severity: only {catalog.target_min_severity}-"
                             "severity alerts (or rules marked inspect: true) can be sent to an inspection task")
    if a["status"] == "closed":
        raise RiskgradeError(f"alert {a['alert_id']} is closed: nothing left to inspect")
    if not has_table(con, "tasks") or not con.execute("SELECT count(*) FROM tasks WHERE task_id = ?",
                                                      [task_id]).fetchall()[0][0]:
        raise RiskgradeError(f"no inspection task {task_id}: create one with `riskgrade task create`")
    ensure_schema(con)  # task_targets, if the inspection stage has not created it
    why = reason or f"预警 {a['alert_id']}：{a['rule_name']}（{a['summary'] or ''}）"
    now = dt.datetime.now().replace(microsecond=0)
    added = con.execute("""
        INSERT INTO task_targets
        SELECT ?, m.uscc, ?, ?, ? FROM alert_members m
        WHERE m.alert_id = ? AND m.uscc NOT IN (SELECT uscc FROM task_targets WHERE task_id = ?)""",
                        [task_id, a["alert_id"], why, now, a["alert_id"], task_id]).fetchall()[0][0]
    workflow.append(con, [(user, "target", a["alert_id"], {"task": task_id, "entities": int(added), "reason": why})])
    return int(added), a["alert_id"]
