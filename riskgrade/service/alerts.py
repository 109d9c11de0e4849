"""Alerts (预警) for a signed-in user: scoped reads of the warehouse's alert tables and the disposition
steps, shared by the API (``/api/alerts``) and the console (``/alerts``) so that both apply one rule.

Alerts live in the warehouse (DuckDB), not in the registry: reads open it read-only, steps open it for
writing and run in one warehouse transaction, as ``riskgrade alerts`` does.  A request waits at most
:data:`BUSY_WAIT` seconds for another job on the store (``riskgrade warn``, an ingest) and then fails
with :class:`AlertError` 503 ``busy``.  Who sees what is :mod:`riskgrade.warning.queries`' rule (region,
and a domain officer's department); an alert that is not visible answers "not found", as an entity
outside the region does.

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
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RiskgradeError
from ..warning import queries as q
from ..warning.queries import ALERT_COLUMNS, AlertList, Counts, Filters, Viewer
from . import store_cache
from .audit import record, via_detail
from .errors import Refused
from .state import AppState, Principal

BUSY_WAIT = 5.0          # seconds a step or a list waits for another job on the warehouse, then 503
PROFILE_WAIT = 0.0       # a profile does not wait: it is shown at once, without its alerts, while the store is busy
STEPS = ("assign", "handle", "close", "target", "approve", "return")

__all__ = ["ALERT_COLUMNS", "STEPS", "AlertError", "AlertList", "Counts", "Filters", "StepDone", "Viewer", "acting",
           "counts", "detail", "listing", "of_entity", "perform", "verify_log", "viewer_of"]


class AlertError(Refused):
    """A refusal about alerts: 404 not_found, 403 forbidden, 409 conflict, 422 invalid, 503 busy (Retry-After)."""

    def __init__(self, status: int, code: str, message: str, key: str = "", fields: dict | None = None):
        super().__init__(status, code, message, key, fields, {"Retry-After": "5"} if status == 503 else None)


@dataclass
class StepDone:
    alert: dict
    op: str
    seq: int
    hash: str
    detail: dict
    added: int | None = None       # target: entities added to the task
    task_id: int | None = None


def viewer_of(user: Any, home: Path | None = None) -> Viewer:
    """Who looks; a domain officer's department resolved to its code by the routing table (the setting
    ``routing`` of the home, else the shipped table), as alerts' units are."""
    department = (getattr(user, "department", None) or "").strip() or None
    code = routing_table(home).department_of(department) if department else None
    return Viewer(user.username, user.role, user.region_prefix, department, code)


@functools.lru_cache(maxsize=8)
def _routing(path: str | None, stamp: float):
    from ..codes import departments

    return departments.load(Path(path) if path else None)


def routing_table(home: Path | None = None):
    """The routing table the home's settings name (``routing``), else the shipped one; read again when the
    file changes."""
    from .. import settings as settings_mod

    path = settings_mod.load(home).routing if home is not None else None
    stamp = path.stat().st_mtime if path is not None and path.exists() else 0.0
    return _routing(str(path) if path is not None else None, stamp)


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


# --------------------------------------------------------------------------- reads
def listing(st: AppState, me: Principal, f: Filters, page: int = 1, page_size: int = 20, *, rules: bool = False,
            via: str | None = None) -> tuple[AlertList, list[tuple[str, str]]]:
    """A page of the alerts visible to the user (``alerts.read``), newest records first, with counts by
    status and severity; and, when asked, the (rule, name) of every alert the user can see.  Audited."""
    me.require("alerts.read")
    v = viewer_of(me.user, st.home)
    with store_cache.reading(st.home, lambda: store(st.home)) as con:  # the process's copy of the alert tables
        res = q.list_alerts(con, v, f, page, page_size)
        seen = q.rules_seen(con, v) if rules else []
    record(st, me, "list_alerts", "", {**f.describe(), "page": page, "results": len(res.items), **via_detail(via)})
    return res, seen


def counts(st: AppState, me: Principal, f: Filters) -> Counts:
    """Counts of the alerts in the user's region by status, severity, rule and county (``stats.read``): no
    individual alert."""
    me.require("stats.read")
    with store(st.home) as wh:
        return q.counts(wh.con, me.user.region_prefix, f)


def verify_log(st: AppState, me: Principal) -> dict:
    """Check the warehouse's alert log (hash chain): names the first entry edited or deleted.  Audited."""
    from ..sql import table_exists
    from ..warning.workflow import GENESIS, verify

    me.require("audit.read")
    with store(st.home) as wh:
        v = verify(wh.con) if table_exists(wh.con, "alert_log") else None
    out = ({"ok": True, "entries": 0, "head_seq": 0, "head_hash": GENESIS, "problem": "", "bad_seq": None}
           if v is None else {"ok": v.ok, "entries": v.entries, "head_seq": v.head_seq, "head_hash": v.head_hash,
                              "problem": v.problem, "bad_seq": v.bad_seq})
    record(st, me, "alert_log_verify", "", {"ok": out["ok"], "entries": out["entries"]})
    return out


def _visible_alert(con, v: Viewer, alert_id: str) -> dict:
    if not q.has_alerts(con):
        raise AlertError(404, "not_found", f"no alert {alert_id}: no alerts yet (riskgrade warn)", "not_found")
    a = q.visible_alert(con, v, alert_id)
    if a is None:
        raise AlertError(404, "not_found", f"no alert {alert_id} in your region", "not_found")
    return a


def detail(st: AppState, me: Principal, alert_id: str, *, tasks: bool = False, via: str | None = None) -> dict:
    """An alert with its members and evidence in the user's region, its log, routing, targets and the steps
    its status allows; with ``tasks``, the inspection tasks the user may send it to.  Audited."""
    from ..codes import regions
    from ..warning import attachments, workflow

    me.require("alerts.read")
    v = viewer_of(me.user, st.home)

    def evidence(alert_id: str, usccs: list[str]) -> tuple[list[dict], int]:  # the records are in the store
        def read():
            with store(st.home) as wh:
                return q.evidence_rows(wh.con, alert_id, usccs)
        rows, n = store_cache.memo(st.home, ("evidence", alert_id, tuple(usccs)), read)
        return [dict(r) for r in rows], n

    with store_cache.reading(st.home, lambda: store(st.home)) as con:  # the process's copy of the alert tables
        try:
            a = _visible_alert(con, v, alert_id)
        except AlertError:
            record(st, me, "read_refused", f"alert:{alert_id}"[:256], {"why": "not_found_or_out_of_region",
                                                                      **via_detail(via)})
            raise
        d = q.alert_detail(con, v, a, evidence)
        d["tasks"] = tasks_in_scope(con, me.user.region_prefix) if tasks and me.can("alerts.target") else []
        d["attachments"] = attachments.listed(con, a["alert_id"])
        d["handlers"] = sorted(workflow.handlers(con, a["alert_id"])) if a["status"] == "review" else []
    rc = d.get("region_code")
    w = limits(st)
    d.update(targetable=targetable(a), next_steps=next_steps(a),
             region_name=regions.name(rc) if rc and regions.table().get(rc) else None,
             due_on=w.due(a), overdue=w.overdue(a, dt.date.today()),
             needs_review=w.needs_review(a["rule"], a["severity"]),
             note_min=w.note_min_length,
             may_review=me.user.role in REVIEWER_ROLES and me.user.username not in d["handlers"])
    record(st, me, "view_alert", alert_id, {"rule": d["rule"], "members_shown": d["members_in_region"],
                                            "evidence_shown": len(d["evidence"]), **via_detail(via)})
    return d


@functools.lru_cache(maxsize=1)
def _catalog():
    """The warning-rule catalog (the shipped one: what ``riskgrade alerts target`` uses without ``--rules``)."""
    from ..warning.rules import load_rules

    return load_rules(None)


def targetable(a: dict, catalog=None) -> bool:
    """Whether an alert may be sent to an inspection task (定向抽查): not closed, and of the catalog's
    ``target_min_severity``, of a rule marked ``inspect: true``, or about an area (the shipped catalog unless
    another is given)."""
    from ..warning.targets import targetable as can_target

    return can_target(a, catalog or _catalog())


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


def entity_alerts(home: Path, v: Viewer, uscc: str) -> list[dict] | None:
    """The visible alerts of which an entity is a member, newest first; None when the store is busy.

    The entity is in the viewer's region (its profile is shown), so each of its alerts is too; a domain
    officer sees those routed to their department."""
    key = Path(home).resolve()
    state = store_cache.store_state(key)
    with _INDEX_LOCK:
        cached = _INDEX.get(key)
    if cached is None or cached[0] != state:
        try:
            with store(home, wait=PROFILE_WAIT) as wh:
                index = q.alert_index(wh.con)
        except AlertError:
            return None
        cached = (state, index)  # the state read before loading: a write meanwhile loads again next time
        with _INDEX_LOCK:
            _INDEX[key] = cached
    items = cached[1].get(uscc, [])
    if v.by_department:
        items = [a for a in items if v.department_code and a.get("unit_code") == v.department_code]
    return [dict(a) for a in items[:PROFILE_ALERTS]]


def of_entity(st: AppState, me: Principal, uscc: str) -> list[dict] | None:
    """An entity's alerts for its profile: None when the role may not read alerts or the store is busy."""
    return entity_alerts(st.home, viewer_of(me.user, st.home), uscc) if me.can("alerts.read") else None


def tasks_in_scope(con, region_prefix: str) -> list:
    """Inspection tasks a user of this region may send alerts to (the plan wizard's rule)."""
    from ..inspection.tasks import list_tasks
    from ..sql import table_exists

    tasks = list_tasks(con) if table_exists(con, "tasks") else []
    return [t for t in tasks if task_allowed(region_prefix, t.region_prefix)]


def task_allowed(region_prefix: str, task_region: str | None) -> bool:
    """A task within the user's region; the province-wide task (no region) for province users."""
    task_region = task_region or ""
    return task_region.startswith(region_prefix) or (not task_region and len(region_prefix) == 2)


# --------------------------------------------------------------------------- steps
REVIEWER_ROLES = ("admin", "credit_officer")   # 复核: who may sign off an alert's closing (not its handlers)
NOTE_STEPS = ("handle", "close", "return")     # steps that need a note of at least ``note_min_length``


def limits(st: AppState):
    """The province's time limits and sign-off rules (:mod:`riskgrade.warning.worklimits`)."""
    from ..warning import worklimits

    try:
        return worklimits.load(st.home)
    except RiskgradeError as e:
        raise AlertError(503, "unavailable", f"the time limits cannot be read: {e}", "busy") from None


def check_step(st: AppState, user: Any, v: Viewer, a: dict, op: str, *, to: str | None, action: str | None,
               note: str, users: dict | None = None) -> dict:
    """Refuse a step the alert's status, the note rule, the assignee rule or the reviewer rule does not allow;
    returns the keyword arguments of :func:`riskgrade.warning.workflow.step`."""
    from ..warning import workflow
    from . import work_assignees as wa

    alert_id = a["alert_id"]
    starts, _ = workflow.STEPS[op]
    if a["status"] not in starts:
        nxt = workflow.NEXT_STEP.get(a["status"])
        raise AlertError(409, "conflict", (
            f"alert {alert_id} is {a['status']} ({workflow.STATUS_ZH[a['status']]}): cannot {op} it "
            f"(open -> assigned -> handled [-> review] -> closed); "
            + (f"next step: {nxt}" if nxt else "a closed alert cannot change")),
            "step_conflict", {"status": a["status"], "step": op})
    w = limits(st)
    kw: dict = {"note": note}
    if op == "handle":
        try:
            workflow.disposition_code(action or "")
        except RiskgradeError:
            raise AlertError(422, "invalid", "action: one of 提醒, 警示, 约谈, 检查 (remind, warn, interview, "
                                             "inspect)", "action_needed") from None
        kw["action"] = action
    if op in NOTE_STEPS and len(note) < w.note_min_length:
        raise AlertError(422, "invalid", f"note: 请填写处置说明，至少 {w.note_min_length} 个字 / a note of at least "
                                         f"{w.note_min_length} characters is required", "note_needed",
                         {"min": w.note_min_length})
    if op == "assign":
        users = users if users is not None else wa.users_by_name(st.factory)
        who = wa.parse(to or "", users, routing_table(st.home))
        wa.check(who, users, a, v.region_prefix)
        kw["to"] = who.value
    if op == "close":
        kw["review"] = w.needs_review(a["rule"], a["severity"])
    if op in workflow.REVIEW_STEPS:
        if user.role not in REVIEWER_ROLES:
            raise AlertError(403, "forbidden", f"the role {user.role} may not review (复核): "
                                               f"{', '.join(REVIEWER_ROLES)}", "review_role")
    return kw


def run_step(st: AppState, wh: Any, v: Viewer, a: dict, op: str, kw: dict) -> None:
    """Write a checked step (in the caller's warehouse transaction)."""
    from ..warning import workflow

    try:
        workflow.step(wh.con, a["alert_id"], op, v.username, **kw)
    except RiskgradeError as e:
        if op in workflow.REVIEW_STEPS:
            raise AlertError(403, "forbidden", str(e), "review_self") from None
        raise


def acting(st: AppState, username: str) -> Principal:
    """The registry user a command-line operator takes alert steps as (``riskgrade alerts ... --user``): the
    console's users, roles and regions; an unknown or disabled user is refused (no step is taken by a name the
    registry does not know)."""
    from ..registry.users import get_user

    try:
        user = get_user(st.factory, username)
    except RiskgradeError:
        raise AlertError(404, "not_found", f"no user {username!r} in the registry: alert steps are taken as a "
                                           "registry user, as in the console (--user NAME; add one with `riskgrade "
                                           "user add`)", "not_found") from None
    if user.disabled:
        raise AlertError(403, "forbidden", f"user {username} is disabled", "forbidden")
    return Principal(user, None, "cli")  # type: ignore[arg-type]  (no token: a local operator)


def perform(st: AppState, user: Any, alert_id: str, op: str, *, to: str | None = None, action: str | None = None,
            note: str = "", task_id: int | None = None, reason: str = "", via: str = "api",
            rules: Path | None = None) -> StepDone:
    """Move a visible alert one step on (or send it to an inspection task), in one warehouse transaction;
    the step goes to the warehouse's ``alert_log`` and, once committed, to the registry's audit chain.
    The caller checks the permission (``alerts.write``, ``alerts.target`` for target).  ``rules``: the
    warning-rule catalog whose severities decide what may be targeted (default: the shipped one)."""
    from ..registry import audit

    if op not in STEPS:
        raise AlertError(422, "invalid", f"unknown step {op!r}: one of {', '.join(STEPS)}", "not_found")
    v = viewer_of(user, st.home)
    note = (note or "").strip()
    with store(st.home, write=True) as wh:
        con = wh.con
        a = _visible_alert(con, v, alert_id)
        added = None
        if op == "target":
            added = _target(wh, v, a, task_id, (reason or "").strip(), rules)
        else:
            kw = check_step(st, user, v, a, op, to=to, action=action, note=note)
            with wh.transaction():
                run_step(st, wh, v, a, op, kw)
        seq, h, logged = q.last_log_entry(con, alert_id)
        after = q.alert_row(con, alert_id)
        after["members_in_region"] = q.in_region_counts(con, v, [alert_id]).get(alert_id, 0)
    audit.append(st.factory, v.username, f"alert_{op}", alert_id,
                 {**logged, "log_seq": int(seq), "log_hash": h, "rule": a["rule"], "via": via})
    if after.get("scope") == "area":
        import json

        after["area_name"] = (json.loads(after.get("info") or "{}") or {}).get("area_name")
    return StepDone({c: after.get(c) for c in (*ALERT_COLUMNS, *q.EXTRA_COLUMNS, "members_in_region")}, op, int(seq), h,
                    logged, added,
                    task_id if op == "target" else None)


def _target(wh: Any, v: Viewer, a: dict, task_id: int | None, reason: str, rules: Path | None = None) -> int:
    from ..inspection.tasks import get_task
    from ..warning.rules import load_rules
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
    catalog = load_rules(rules) if rules else _catalog()
    if not targetable(a, catalog):
        raise AlertError(409, "conflict", f"alert {a['alert_id']} is {a['severity']} severity: only "
                                          f"{catalog.target_min_severity}-severity alerts (or rules marked inspect: "
                                          "true) can be sent to an inspection task (定向抽查)", "target_severity")
    with wh.transaction():
        added, _ = target(con, a["alert_id"], task_id, v.username, reason, rules)
    return int(added)
