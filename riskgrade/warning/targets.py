"""定向抽查: an alert's entities become targets of an inspection task (``task_targets``).

Only alerts of the catalog's ``target_min_severity`` (default high), or of a rule marked
``inspect: true`` (100% triggers such as an all-zero annual report), and not closed, can be sent.
The inspection stage forces a task's targets into every plan drawn for it.
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
    try:
        if not table_exists(con, "tasks"):
            raise RiskgradeError("no tasks")
        get_task(con, task_id)
    except RiskgradeError:
        raise RiskgradeError(f"no inspection task {task_id}: create one with `riskgrade task create`") from None
    why = reason or f"预警 {a['alert_id']}：{a['rule_name']}（{a['summary'] or ''}）"
    already = targeted(con, task_id)
    members = [r[0] for r in con.execute("SELECT uscc FROM alert_members WHERE alert_id = ? ORDER BY uscc",
                                         [a["alert_id"]]).fetchall()]
    new = [u for u in dict.fromkeys(members) if u not in already]
    add_targets(con, task_id, new, why, a["alert_id"])  # task_targets belong to the inspection stage
    added = len(new)
    workflow.append(con, [(user, "target", a["alert_id"], {"task": task_id, "entities": int(added), "reason": why})])
    return int(added), a["alert_id"]
