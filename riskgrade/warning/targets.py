"""定向抽查: an alert's entities become targets of an inspection task (``task_targets``).

Only alerts of the catalog's ``target_min_severity`` (default high), of a rule marked ``inspect: true``
(100% triggers such as an all-zero annual report), or about an area, and not closed, can be sent.  The
inspection stage forces a task's targets into every plan drawn for it.

An area alert (a county x industry surge) has no members: its targets are the area's entities that were
complained about in the alarm month(s) - the alert's complaint records - most complaints first, at most
:data:`AREA_TARGETS`, and only those still registered and not closed.  The whole cell (often thousands of
businesses) is a 双随机 population, not a target list; a task's random draw covers the rest.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ..errors import RiskgradeError
from . import workflow
from .rules import load_rules, severity_rank
from ..inspection.tables import add_targets, targeted
from ..inspection.tasks import get_task
from ..sql import table_exists

AREA_TARGETS = 200  # targets an area alert adds at most


def targetable(a: dict, catalog) -> bool:
    """Whether an alert may go to an inspection task: not closed, and about an area, of a rule marked
    ``inspect: true`` or of the catalog's ``target_min_severity``."""
    rule = catalog.get(a["rule"])
    return a["status"] != "closed" and (a.get("scope") == "area" or bool(rule and rule.inspect)
                                        or severity_rank(a["severity"]) >= severity_rank(catalog.target_min_severity))


def target_entities(con: duckdb.DuckDBPyConnection, a: dict) -> list[str]:
    """The entities an alert sends to a task: its members; an area alert's complained-about entities."""
    if a.get("scope") != "area":
        return [r[0] for r in con.execute("SELECT uscc FROM alert_members WHERE alert_id = ? ORDER BY uscc",
                                          [a["alert_id"]]).fetchall()]
    return [r[0] for r in con.execute(f"""
        SELECT v.uscc FROM alert_evidence v JOIN entities n ON n.uscc = v.uscc
        WHERE v.alert_id = ? AND v.role = 'context' AND v.event_type = 'complaint'
          AND coalesce(n.status, 'active') = 'active'
        GROUP BY v.uscc ORDER BY count(*) DESC, v.uscc LIMIT {AREA_TARGETS}""", [a["alert_id"]]).fetchall()]


def target(con: duckdb.DuckDBPyConnection, alert_id: str, task_id: int, user: str, reason: str = "",
           rules_path: Path | None = None) -> tuple[int, str]:
    """Write the alert's members into ``task_targets``; returns (entities added, alert id)."""
    catalog = load_rules(rules_path)
    a = workflow.get_alert(con, alert_id)
    if a["status"] != "closed" and not targetable(a, catalog):
        raise RiskgradeError(f"alert {a['alert_id']} is {a['severity']} severity: only {catalog.target_min_severity}-"
                             "severity alerts (or rules marked inspect: true, or area alerts) can be sent to an inspection task")
    if a["status"] == "closed":
        raise RiskgradeError(f"alert {a['alert_id']} is closed: nothing left to inspect")
    try:
        if not table_exists(con, "tasks"):
            raise RiskgradeError("no tasks")
        get_task(con, task_id)
    except RiskgradeError:
        raise RiskgradeError(f"no inspection task {task_id}: create one with `riskgrade task create`") from None
    why = reason or f"预警 {a['alert_id']}：{a['rule_name']}（{a['summary'] or ''}）"
    already = targeted(con, task_id)
    new = [u for u in dict.fromkeys(target_entities(con, a)) if u not in already]
    add_targets(con, task_id, new, why, a["alert_id"])  # task_targets belong to the inspection stage
    added = len(new)
    workflow.append(con, [(user, "target", a["alert_id"], {"task": task_id, "entities": int(added), "reason": why})])
    return int(added), a["alert_id"]
