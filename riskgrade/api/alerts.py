"""Alerts (预警) in the service: scoped reads of the warehouse's alert tables and the disposition steps,
shared by the API (``/api/alerts``) and the console (``/alerts``) so that both apply one rule.

Alerts live in the warehouse (DuckDB, ``riskgrade/warning/store.py``), not in the registry: reads open it
read-only, steps open it for writing and run in one warehouse transaction, as ``riskgrade alerts`` does.
A request waits at most :data:`BUSY_WAIT` seconds for another job on the store (``riskgrade warn``,
an ingest) and then fails with :class:`AlertError` 503 ``busy``.

**Visibility** - the same everywhere (list, counts, detail, steps, an entity's profile):

* *region*: an alert is visible when one of its members is an entity whose ``region_code`` starts with
  the user's GB/T 2260 prefix, or, for an area alert (county x industry), when its county does.
  Members outside the region are withheld (only their number is given), with their evidence;
* *department*: a domain officer (专业领域) sees only alerts routed to its department
  (``unit_kind = 'department'`` and ``responsible_unit`` equal to the user's ``department``); one without
  a department sees none;
* an alert that is not visible answers "not found", as an entity outside the region does;
* counts for statistics roles (analysts) apply the region rule only and name no alert.

**Steps** (assign, handle, close, target) are written twice: to the warehouse's hash-chained
``alert_log`` under the user's name (by :func:`riskgrade.warning.workflow.step` and
:func:`riskgrade.warning.targets.target`, as from the command line), and to the registry's audit chain
(``alert_<step>``, target the alert id, with the log entry's ``seq`` and ``hash`` so that the two
chains can be matched).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RiskgradeError

BUSY_WAIT = 5.0          # seconds a step or a list waits for another job on the warehouse, then 503
PROFILE_WAIT = 0.0       # a profile does not wait: it is shown at once, without its alerts, while the store is busy
EVIDENCE_LIMIT = 500     # evidence rows in one detail answer
STATUSES = ("open", "assigned", "handled", "closed")
SEVERITIES = ("high", "medium", "low")
STEPS = ("assign", "handle", "close", "target")
ALERT_COLUMNS = ("alert_id", "rule", "rule_name", "severity", "scope", "raised_on", "last_record_on", "members",
                 "summary", "label", "unit_kind", "responsible_unit", "region_code", "status", "assignee",
                 "disposition", "created_at", "updated_at")


class AlertError(RiskgradeError):
    """A refusal with an HTTP status and a stable code: 404 not_found, 403 forbidden, 409 conflict,
    422 invalid, 503 busy."""

    def __init__(self, status: int, code: str, message: str, key: str = "", fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.key, self.fields = key, fields or {}   # the console's message (web/i18n.py) and its fields


@dataclass(frozen=True)
class Viewer:
    """Who looks: the user's name, role, region prefix and (domain officers) department."""
    username: str
    role: str
    region_prefix: str
    department: str | None = None

    @property
    def by_department(self) -> bool:
        return self.role == "domain_officer"


def viewer_of(user: Any) -> Viewer:
    department = (getattr(user, "department", None) or "").strip() or None
    return Viewer(user.username, user.role, user.region_prefix, department)


@dataclass
class Filters:
    status: str | None = None
    rule: str | None = None
    severity: str | None = None
    unit: str | None = None           # responsible unit contains this text
    region: str | None = None         # GB/T 2260 prefix within the user's region
    raised_from: dt.date | None = None
    raised_to: dt.date | None = None
    uscc: str | None = None           # alerts of which this entity is a member

    def describe(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.__dict__.items() if v}


@dataclass
class AlertList:
    total: int
    items: list[dict]
    by_status: dict[str, int]
    by_severity: dict[str, int]


@dataclass
class StepDone:
    alert: dict
    op: str
    seq: int
    hash: str
    detail: dict
    added: int | None = None       # target: entities added to the task
    task_id: int | None = None


@dataclass
class Counts:
    total: int
    by_status: dict[str, int]
    by_severity: dict[str, int]
    by_rule: list[tuple[str, str, int]] = field(default_factory=list)
    by_region: list[tuple[str, int]] = field(default_factory=list)


# --------------------------------------------------------------------------- the store
@contextlib.contextmanager
def store(home: Path, write: bool = False, wait: float | None = None) -> Iterator[Any]:
    """The warehouse, read-only or for writing; a store busy beyond ``wait`` seconds raises 503 ``busy``."""
    from .. import settings as settings_mod
    from ..warehouse import StoreBusy, Warehouse

    cfg = settings_mod.load(home)
    timeout = min(cfg.lock_timeout, BUSY_WAIT if wait is None else wait)
    wh = Warehouse(home, write=write, lock_timeout=timeout, memory_limit=cfg.memory_limit, threads=cfg.threads)
    try:
        wh.__enter__()
    except StoreBusy as e:
        raise AlertError(503, "busy", f"the warehouse is busy with another job ({str(e).splitlines()[0]}); "
                                      "try again shortly", "busy") from None
    except RiskgradeError as e:  # e.g. a store that cannot be opened
        raise AlertError(503, "unavailable", f"the warehouse cannot be opened: {str(e).splitlines()[0]}",
                         "busy") from None
    try:
        yield wh
    finally:
        wh.__exit__(None, None, None)


def _has_alerts(con) -> bool:
    from ..warning.store import has_table

    return has_table(con, "alerts") and has_table(con, "alert_members")


# --------------------------------------------------------------------------- visibility
def _visible(v: Viewer, region: str | None = None, alias: str = "a", department: bool = True) -> tuple[str, list]:
    """SQL condition over ``alerts {alias}``: visible to ``v`` (and within ``region`` when given)."""
    prefixes = [v.region_prefix] + ([region] if region else [])
    area = " AND ".join(f"starts_with(coalesce({alias}.region_code, ''), ?)" for _ in prefixes)
    member = " AND ".join("starts_with(coalesce(e.region_code, ''), ?)" for _ in prefixes)
    sql = (f"(({alias}.scope = 'area' AND {area}) OR {alias}.alert_id IN (SELECT m.alert_id FROM alert_members m "
           f"JOIN entities e ON e.uscc = m.uscc WHERE {member}))")
    params: list = prefixes + prefixes
    if department and v.by_department:
        sql += f" AND {alias}.unit_kind = 'department' AND {alias}.responsible_unit = ?"
        params.append(v.department or "\x00")  # no department: nothing matches
    return sql, params


def _where(v: Viewer, f: Filters, skip: tuple[str, ...] = (), department: bool = True) -> tuple[str, list]:
    sql, params = _visible(v, f.region, department=department)
    conds = [sql]
    for col in ("status", "rule", "severity"):
        val = getattr(f, col)
        if val and col not in skip:
            conds.append(f"a.{col} = ?")
            params.append(val)
    if f.unit:
        conds.append("strpos(coalesce(a.responsible_unit, ''), ?) > 0")
        params.append(f.unit)
    if f.raised_from:
        conds.append("a.raised_on >= ?")
        params.append(f.raised_from)
    if f.raised_to:
        conds.append("a.raised_on <= ?")
        params.append(f.raised_to)
    if f.uscc:
        conds.append("a.alert_id IN (SELECT alert_id FROM alert_members WHERE uscc = ?)")
        params.append(f.uscc)
    return " AND ".join(conds), params


def _dicts(cur) -> list[dict]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _in_region_counts(con, v: Viewer, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = con.execute(f"""
        SELECT m.alert_id, count(*) FILTER (WHERE starts_with(coalesce(e.region_code, ''), ?))
        FROM alert_members m LEFT JOIN entities e ON e.uscc = m.uscc
        WHERE m.alert_id IN ({marks}) GROUP BY m.alert_id""", [v.region_prefix, *ids]).fetchall()
    return {a: int(n) for a, n in rows}


# --------------------------------------------------------------------------- reads
def list_alerts(con, v: Viewer, f: Filters, page: int = 1, page_size: int = 20) -> AlertList:
    """A page of visible alerts (newest records first) and counts by status and by severity.

    ``by_status`` counts the alerts matching every filter but the status, ``by_severity`` every filter but
    the severity (facets: what choosing another status or severity would give)."""
    if not _has_alerts(con):
        return AlertList(0, [], {s: 0 for s in STATUSES}, {s: 0 for s in SEVERITIES})
    where, params = _where(v, f)
    total = con.execute(f"SELECT count(*) FROM alerts a WHERE {where}", params).fetchall()[0][0]
    items = _dicts(con.execute(f"""
        SELECT {', '.join('a.' + c for c in ALERT_COLUMNS)} FROM alerts a WHERE {where}
        ORDER BY a.raised_on DESC, a.alert_id LIMIT ? OFFSET ?""", [*params, page_size, (page - 1) * page_size]))
    inside = _in_region_counts(con, v, [x["alert_id"] for x in items])
    for x in items:
        x["members_in_region"] = inside.get(x["alert_id"], 0)
    fw, fp = _where(v, f, skip=("status", "severity"))
    cells = con.execute(f"SELECT a.status, a.severity, count(*) FROM alerts a WHERE {fw} GROUP BY ALL", fp).fetchall()
    by_status = {s: 0 for s in STATUSES}
    by_severity = {s: 0 for s in SEVERITIES}
    for st, sev, n in cells:
        if not f.severity or sev == f.severity:
            by_status[st] = by_status.get(st, 0) + int(n)
        if not f.status or st == f.status:
            by_severity[sev] = by_severity.get(sev, 0) + int(n)
    return AlertList(int(total), items, by_status, by_severity)


def counts(con, region_prefix: str, f: Filters) -> Counts:
    """Aggregate counts of the alerts visible in a region (no individual alert): for statistics roles."""
    v = Viewer("", "stats", region_prefix)
    if not _has_alerts(con):
        return Counts(0, {s: 0 for s in STATUSES}, {s: 0 for s in SEVERITIES})
    where, params = _where(v, f, department=False)
    rows = con.execute(f"""
        SELECT a.status, a.severity, a.rule, any_value(a.rule_name), coalesce(a.region_code, ''), count(*)
        FROM alerts a WHERE {where} GROUP BY a.status, a.severity, a.rule, coalesce(a.region_code, '')""",
                       params).fetchall()
    by_status = {s: 0 for s in STATUSES}
    by_severity = {s: 0 for s in SEVERITIES}
    rules: dict[str, list] = {}
    regions: dict[str, int] = {}
    for st, sev, rule, name, reg, n in rows:
        by_status[st] = by_status.get(st, 0) + n
        by_severity[sev] = by_severity.get(sev, 0) + n
        rules.setdefault(rule, [name or rule, 0])[1] += n
        regions[reg] = regions.get(reg, 0) + n
    return Counts(sum(by_status.values()), by_status, by_severity,
                  sorted(((r, nm, n) for r, (nm, n) in rules.items()), key=lambda x: (-x[2], x[0])),
                  sorted(regions.items()))


def rules_seen(con, v: Viewer) -> list[tuple[str, str]]:
    """(rule, name) of the alerts the user can see: for the console's rule filter."""
    if not _has_alerts(con):
        return []
    where, params = _visible(v)
    return [(r, n) for r, n in con.execute(
        f"SELECT a.rule, any_value(a.rule_name) FROM alerts a WHERE {where} GROUP BY a.rule ORDER BY a.rule",
        params).fetchall()]


def _visible_alert(con, v: Viewer, alert_id: str) -> dict:
    if not _has_alerts(con):
        raise AlertError(404, "not_found", f"no alert {alert_id}: no alerts yet (riskgrade warn)", "not_found")
    where, params = _visible(v)
    rows = _dicts(con.execute(f"SELECT a.* FROM alerts a WHERE a.alert_id = ? AND {where}", [alert_id, *params]))
    if not rows:
        raise AlertError(404, "not_found", f"no alert {alert_id} in your region", "not_found")
    return rows[0]


def _bucket(uscc: str) -> int:
    return int(hashlib.md5(uscc.encode()).hexdigest()[:3], 16)  # warehouse.BUCKET_SQL, in Python


def detail(con, v: Viewer, alert_id: str) -> dict:
    """An alert with its members and evidence in the user's region, its log, routing and targets."""
    from ..warning.store import has_table

    a = _visible_alert(con, v, alert_id)
    members = _dicts(con.execute("""
        SELECT m.uscc, e.name, e.region_code, m.raised_on FROM alert_members m LEFT JOIN entities e ON e.uscc = m.uscc
        WHERE m.alert_id = ? ORDER BY m.raised_on, m.uscc""", [alert_id]))
    inside = [m for m in members if (m["region_code"] or "").startswith(v.region_prefix)]
    usccs = [m["uscc"] for m in inside]
    evidence: list[dict] = []
    evidence_total = 0
    if usccs and has_table(con, "alert_evidence"):
        marks = ", ".join("?" for _ in usccs)
        buckets = ", ".join(str(b) for b in sorted({_bucket(u) for u in usccs}))
        evidence_total = con.execute(f"SELECT count(*) FROM alert_evidence WHERE alert_id = ? AND uscc IN ({marks})",
                                     [alert_id, *usccs]).fetchall()[0][0]
        evidence = _dicts(con.execute(f"""
            WITH ev AS (SELECT * FROM alert_evidence WHERE alert_id = ? AND uscc IN ({marks})),
            rec AS (SELECT uscc, record_id, event_type, any_value(detail) AS detail, any_value(amount) AS amount
                    FROM events WHERE bucket IN ({buckets}) AND uscc IN ({marks})
                      AND record_id IN (SELECT record_id FROM ev) GROUP BY ALL)
            SELECT ev.uscc, ev.role, ev.source, ev.record_id, ev.event_type, ev.event_date, rec.detail, rec.amount
            FROM ev LEFT JOIN rec USING (uscc, record_id, event_type)
            ORDER BY ev.role DESC, ev.event_date, ev.uscc, ev.record_id LIMIT {EVIDENCE_LIMIT}""",
                                      [alert_id, *usccs, *usccs]))
    log = _dicts(con.execute("SELECT seq, logged_at, username, action, detail, hash FROM alert_log "
                             "WHERE alert_id = ? ORDER BY seq", [alert_id])) if has_table(con, "alert_log") else []
    for e in log:
        try:
            e["detail"] = json.loads(e["detail"] or "{}")
        except ValueError:
            e["detail"] = {"text": e["detail"]}
    targets = []
    if has_table(con, "task_targets"):
        tasks_join = "LEFT JOIN tasks t ON t.task_id = x.task_id" if has_table(con, "tasks") else ""
        name = "any_value(t.name)" if tasks_join else "NULL"
        targets = _dicts(con.execute(f"""
            SELECT x.task_id, {name} AS task_name, count(*) AS entities, min(x.added_at) AS added_at
            FROM task_targets x {tasks_join} WHERE x.alert_id = ? GROUP BY x.task_id ORDER BY x.task_id""",
                                     [alert_id]))
    try:
        info = json.loads(a.get("info") or "{}")
    except ValueError:
        info = {}
    return {**{c: a.get(c) for c in ALERT_COLUMNS}, "info": info if isinstance(info, dict) else {"value": info},
            "members_in_region": len(inside), "member_list": inside,
            "members_outside_region": len(members) - len(inside),
            "evidence": evidence, "evidence_total": int(evidence_total), "log": log, "targets": targets,
            "targetable": targetable(a), "next_steps": next_steps(a)}


@functools.lru_cache(maxsize=1)
def _catalog():
    """The warning-rule catalog (the shipped one: what ``riskgrade alerts target`` uses without ``--rules``)."""
    from ..warning.rules import load_rules

    return load_rules(None)


def targetable(a: dict) -> bool:
    """Whether an alert may be sent to an inspection task (定向抽查): not closed, and of the catalog's
    ``target_min_severity`` or of a rule marked ``inspect: true``."""
    from ..warning.rules import severity_rank

    catalog = _catalog()
    rule = catalog.get(a["rule"])
    return a["status"] != "closed" and (bool(rule and rule.inspect) or severity_rank(a["severity"]) >= severity_rank(
        catalog.target_min_severity))


def next_steps(a: dict) -> list[str]:
    """The steps an alert's status (and, for 定向抽查, its severity) allows."""
    from ..warning.workflow import STEPS as WF

    ops = [op for op, (starts, _) in WF.items() if a["status"] in starts]
    return ops + (["target"] if targetable(a) else [])


# A profile is the service's hottest read: rather than open the warehouse for every view, each process
# keeps an index of every entity's alerts, rebuilt when the store's files change (any write changes the
# database file or its write-ahead log).
_INDEX: dict[Path, tuple[tuple, dict[str, list[dict]]]] = {}
_INDEX_LOCK = threading.Lock()
PROFILE_ALERTS = 200  # alerts shown on one profile at most


def _store_state(home: Path) -> tuple:
    out = []
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        try:
            st = (Path(home) / name).stat()
            out.append((st.st_mtime_ns, st.st_size, st.st_ino))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


def _alert_index(con) -> dict[str, list[dict]]:
    """uscc -> its alerts (every column of ``alerts``), newest records first."""
    if not _has_alerts(con):
        return {}
    index: dict[str, list[dict]] = {}
    cur = con.execute(f"""
        SELECT m.uscc, {', '.join('a.' + c for c in ALERT_COLUMNS)} FROM alert_members m JOIN alerts a USING (alert_id)
        ORDER BY m.uscc, a.raised_on DESC, a.alert_id""")
    cols = [d[0] for d in cur.description][1:]
    for row in cur.fetchall():
        index.setdefault(row[0], []).append(dict(zip(cols, row[1:])))
    return index


def entity_alerts(home: Path, v: Viewer, uscc: str) -> list[dict] | None:
    """The visible alerts of which an entity is a member, newest first; None when the store is busy.

    The entity is in the viewer's region (its profile is shown), so each of its alerts is too; a domain
    officer sees those routed to their department."""
    key = Path(home).resolve()
    state = _store_state(key)
    with _INDEX_LOCK:
        cached = _INDEX.get(key)
    if cached is None or cached[0] != state:
        try:
            with store(home, wait=PROFILE_WAIT) as wh:
                index = _alert_index(wh.con)
        except AlertError:
            return None
        cached = (state, index)  # the state read before loading: a write meanwhile loads again next time
        with _INDEX_LOCK:
            _INDEX[key] = cached
    items = cached[1].get(uscc, [])
    if v.by_department:
        items = [a for a in items if a["unit_kind"] == "department" and a["responsible_unit"] == v.department]
    return [dict(a) for a in items[:PROFILE_ALERTS]]


def tasks_in_scope(con, region_prefix: str) -> list:
    """Inspection tasks a user of this region may send alerts to (the plan wizard's rule)."""
    from ..inspection.store import has_table
    from ..inspection.tasks import list_tasks

    tasks = list_tasks(con) if has_table(con, "tasks") else []
    return [t for t in tasks if task_allowed(region_prefix, t.region_prefix)]


def task_allowed(region_prefix: str, task_region: str | None) -> bool:
    """A task within the user's region; the province-wide task (no region) for province users."""
    task_region = task_region or ""
    return task_region.startswith(region_prefix) or (not task_region and len(region_prefix) == 2)


# --------------------------------------------------------------------------- steps
def perform(st: Any, user: Any, alert_id: str, op: str, *, to: str | None = None, action: str | None = None,
            note: str = "", task_id: int | None = None, reason: str = "", via: str = "api") -> StepDone:
    """Move a visible alert one step on (or send it to an inspection task), in one warehouse transaction;
    the step goes to the warehouse's ``alert_log`` and, once committed, to the registry's audit chain."""
    from ..registry import audit
    from ..warning import workflow

    if op not in STEPS:
        raise AlertError(422, "invalid", f"unknown step {op!r}: one of {', '.join(STEPS)}", "not_found")
    v = viewer_of(user)
    note = (note or "").strip()
    with store(st.home, write=True) as wh:
        con = wh.con
        a = _visible_alert(con, v, alert_id)
        added = None
        if op == "target":
            added = _target(wh, v, a, task_id, (reason or "").strip())
        else:
            starts, target_status = workflow.STEPS[op]
            if a["status"] not in starts:
                nxt = workflow.NEXT_STEP.get(a["status"])
                raise AlertError(409, "conflict", (
                    f"alert {alert_id} is {a['status']} ({workflow.STATUS_ZH[a['status']]}): cannot {op} it "
                    f"(open -> assigned -> handled -> closed); "
                    + (f"next step: {nxt}" if nxt else "a closed alert cannot change")),
                    "step_conflict", {"status": a["status"], "step": op})
            if op == "handle":
                try:
                    workflow.disposition_code(action or "")
                except RiskgradeError:
                    raise AlertError(422, "invalid", "action: one of 提醒, 警示, 约谈, 检查 (remind, warn, interview, "
                                                     "inspect)", "action_needed") from None
            if op == "assign" and not (to or "").strip():
                raise AlertError(422, "invalid", "to: the unit or person who handles the alert", "assign_to_needed")
            with wh.transaction():
                workflow.step(con, alert_id, op, v.username, to=to, action=action, note=note)
        seq, h, text = con.execute("SELECT seq, hash, detail FROM alert_log WHERE alert_id = ? "
                                   "ORDER BY seq DESC LIMIT 1", [alert_id]).fetchall()[0]
        after = _dicts(con.execute("SELECT * FROM alerts WHERE alert_id = ?", [alert_id]))[0]
        after["members_in_region"] = _in_region_counts(con, v, [alert_id]).get(alert_id, 0)
    logged = json.loads(text or "{}")
    audit.append(st.factory, v.username, f"alert_{op}", alert_id,
                 {**logged, "log_seq": int(seq), "log_hash": h, "rule": a["rule"], "via": via})
    return StepDone({c: after.get(c) for c in (*ALERT_COLUMNS, "members_in_region")}, op, int(seq), h, logged, added,
                    task_id if op == "target" else None)


def _target(wh: Any, v: Viewer, a: dict, task_id: int | None, reason: str) -> int:
    from ..inspection.tasks import get_task
    from ..warning.targets import target

    con = wh.con
    if task_id is None:
        raise AlertError(422, "invalid", "task_id: the inspection task the alert's entities join", "task_missing")
    try:
        task = get_task(con, task_id)
    except Exception:
        raise AlertError(404, "not_found", f"no inspection task {task_id}", "task_missing") from None
    if not task_allowed(v.region_prefix, task.region_prefix):
        raise AlertError(403, "forbidden", f"task {task_id}'s region is not within yours", "task_out_of_scope")
    if a["status"] == "closed":
        raise AlertError(409, "conflict", f"alert {a['alert_id']} is closed (已办结): nothing left to inspect",
                         "target_closed")
    catalog = _catalog()
    if not targetable(a):
        raise AlertError(409, "conflict", f"alert {a['alert_id']} is {a['severity']} severity: only "
                                          f"{catalog.target_min_severity}-severity alerts (or rules marked inspect: "
                                          "true) can be sent to an inspection task (定向抽查)", "target_severity")
    with wh.transaction():
        added, _ = target(con, a["alert_id"], task_id, v.username, reason)
    return int(added)
