"""Inspection plans (双随机抽查) for a signed-in user: the list and a plan's entities in the user's region,
the months and tasks a plan may draw from, the preview of a draw (the draw's own allocation), drawing a plan
(which is then published to the registry) and its approval (审批).  Audited."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

from .. import settings as settings_mod
from ..errors import RiskgradeError
from ..registry import approvals, queries
from ..registry.models import Plan, PlanEntity
from .alerts import task_allowed
from .audit import record, via_detail
from .errors import Refused
from .state import AppState, Principal


def plan_region(p: Plan) -> str:
    """The region a plan was drawn over (its task's GB/T 2260 prefix; "" for a province-wide plan)."""
    task = (p.manifest or {}).get("task") or {}
    region = str(task.get("region_prefix") or "")
    return region if region.isascii() and region.isdigit() else ""  # "(all)": province-wide


def covers(me: Principal, p: Plan) -> bool:
    """Whether the plan's whole region lies within the user's: then its plan-wide figures (rates and counts by
    grade, notes) are the user's to see."""
    return plan_region(p).startswith(me.region)


def plans(st: AppState, me: Principal) -> list[tuple[Plan, int]]:
    """Published plans the user may see, newest first, with how many of their entities are in the user's
    region: plans over a region within the user's, and plans with entities in it.  Another county's plan is not
    listed (its name, seed and counts are that county's)."""
    me.require("plans.read")
    return [(p, n) for p, n in queries.plans_with_counts(st.factory, me.region) if n or covers(me, p)]


def get(st: AppState, plan_id: int) -> Plan:
    """A published plan, or 404."""
    p = queries.plan(st.factory, plan_id)
    if p is None:
        raise Refused(404, "not_found", f"no published plan {plan_id}", "not_found")
    return p


def visible(st: AppState, me: Principal, plan_id: int, in_scope: int, via: str | None = None) -> Plan:
    """The plan, when the user may see it (its region within the user's, or an entity of it in the user's
    region); otherwise 404 as if it did not exist, and the refused read is audited (``read_refused``)."""
    p = get(st, plan_id)
    if not in_scope and not covers(me, p):
        record(st, me, "read_refused", f"plan:{plan_id}", {"why": "out_of_region", **via_detail(via)})
        raise Refused(404, "not_found", f"no published plan {plan_id}", "not_found")
    return p


def manifest(me: Principal, p: Plan) -> dict:
    """What the user may see of a plan's manifest: all of it when the plan's region is within the user's;
    otherwise only its budget and algorithm (the rates and counts by grade and the notes describe the whole
    plan, and notes may name entities of other regions)."""
    m = p.manifest or {}
    return dict(m) if covers(me, p) else {k: m[k] for k in ("budget", "algorithm") if k in m}


def detail(st: AppState, me: Principal, plan_id: int) -> tuple[Plan, list[PlanEntity]]:
    """A plan and its entities in the user's region (audited; a plan the user may not see: 404, audited)."""
    me.require("plans.read")
    ents = queries.plan_entities(st.factory, plan_id, me.region)
    p = visible(st, me, plan_id, len(ents))
    record(st, me, "view_plan", str(plan_id), {"entities": len(ents)})
    return p, ents


def page(st: AppState, me: Principal, plan_id: int, page: int, page_size: int, via: str | None = None
         ) -> tuple[Plan, int, list[tuple[PlanEntity, str | None]]]:
    """A plan, how many of its entities are in the user's region, and one page of them with their names
    (audited)."""
    me.require("plans.read")
    total, rows = queries.plan_entities_page(st.factory, plan_id, me.region, (page - 1) * page_size, page_size)
    p = visible(st, me, plan_id, total, via)
    record(st, me, "view_plan", str(plan_id), {"entities": total, "page": page, **via_detail(via)})
    return p, total, rows


def months(st: AppState) -> list[dt.date]:
    """Published months, newest first."""
    return [a for a, _ in reversed(queries.months(st.factory))]


def tasks(st: AppState, me: Principal) -> list:
    """Inspection tasks whose scope lies within the user's region (a province user: also the province-wide
    task); 503 while the warehouse is busy."""
    from ..inspection.tasks import list_tasks
    from ..sql import table_exists
    from ..warehouse import Warehouse

    try:
        with Warehouse(st.home, lock_timeout=settings_mod.load(st.home).lock_timeout) as wh:
            found = list_tasks(wh.con) if table_exists(wh.con, "tasks") else []
    except RiskgradeError as e:
        raise Refused(503, "busy", str(e).splitlines()[0], "busy") from None
    return [x for x in found if task_allowed(me.region, x.region_prefix)]


def _draw(st: AppState, as_of: dt.date, seed: str, budget: int | None, task_id: int | None, optimise: bool):
    from ..inspection.plan import make_plan
    from ..registry.publish import publish_plan

    cfg = settings_mod.load(st.home)
    out = make_plan(st.home, as_of, seed=seed, budget=budget, task_id=task_id, optimise=optimise,
                    memory_limit=cfg.memory_limit, threads=cfg.threads, lock_timeout=cfg.lock_timeout)
    publish_plan(st.home, st.factory, out.plan_id, lock_timeout=cfg.lock_timeout)
    return out


def create(st: AppState, me: Principal, *, as_of: dt.date, seed: str, budget: int, task_id: int | None = None,
           domain: str = "general", optimise: bool = False):
    """Draw a plan in the user's region and publish it: for an existing task within the region, or for a new
    task over the user's region (``<region> 双随机抽查 (<month>)``).  Returns the plan outcome; audited
    (``create_plan``)."""
    from ..inspection.tasks import Task, create_task, get_task
    from ..warehouse import Warehouse

    me.require("plans.write")
    if queries.latest_snapshot(st.factory, as_of) is None:
        raise Refused(404, "not_found", f"no published classification as of {as_of}", "not_found")
    cfg = settings_mod.load(st.home)
    with Warehouse(st.home, write=True, lock_timeout=cfg.lock_timeout) as wh:
        if task_id is not None:
            try:
                task = get_task(wh.con, task_id)
            except Exception:
                raise Refused(404, "not_found", f"no task {task_id}", "task_missing") from None
            if not task_allowed(me.region, task.region_prefix):
                raise Refused(403, "forbidden", "the task's region is not within yours", "task_out_of_scope")
        else:
            with wh.transaction():
                task_id = create_task(wh.con, Task(None, f"{me.region} 双随机抽查 ({as_of})", domain,
                                                   me.region)).task_id
    try:
        res = _draw(st, as_of, seed, budget, task_id, optimise)
    except Exception as e:  # RiskgradeError: a clear reason (e.g. --optimise without probabilities)
        raise Refused(422, "plan_failed", str(e).splitlines()[0]) from None
    record(st, me, "create_plan", str(res.plan_id), {"as_of": as_of.isoformat(), "budget": budget, "seed": seed,
                                                     "task_id": task_id})
    _ask_approval(st, me, res.plan_id, None, None, [], "api")
    return res


def create_for_task(st: AppState, me: Principal, *, as_of: dt.date, seed: str, budget: int | None, task: Any,
                    optimise: bool = False, via: str | None = None, period: tuple[dt.date | None, dt.date | None] =
                    (None, None), team: list[str] | None = None):
    """Draw and publish a plan for a task the user chose (an existing task, a new one, created here and
    audited as ``task_create``, or None: the general plan).  Audited (``plan_create``); a plan that cannot be
    drawn raises :class:`~riskgrade.errors.RiskgradeError` with the reason.  The plan then waits for approval
    (待审批, with its ``period`` and ``team`` of inspector accounts) unless the sampling configuration's
    ``approval.service`` is off."""
    from ..inspection.tasks import create_task
    from ..warehouse import Warehouse

    me.require("plans.write")
    if task is not None and not task_allowed(me.region, task.region_prefix):
        raise Refused(403, "forbidden", "the task's region is not within yours", "task_out_of_scope")
    if task is not None and task.task_id is None:
        with Warehouse(st.home, write=True, lock_timeout=settings_mod.load(st.home).lock_timeout) as wh, \
                wh.transaction():
            task = create_task(wh.con, task)
        record(st, me, "task_create", str(task.task_id), {**task.describe(), **via_detail(via)})
    out = _draw(st, as_of, seed, budget, task.task_id if task is not None else None, optimise)
    record(st, me, "plan_create", str(out.plan_id), {"as_of": as_of.isoformat(), "seed": seed,
                                                     "budget": "" if budget is None else str(budget),
                                                     "task": out.task.name, "drawn": out.rows,
                                                     "content_hash": out.content_hash, **via_detail(via)})
    _ask_approval(st, me, out.plan_id, period[0], period[1], team or [], via)
    return out


# --------------------------------------------------------------------------- the sealed draw package (auditors)
SEALED_PERMISSION = "plans.sealed"


def _sealed_within(pkg_region: str, me: Principal) -> bool:
    """Whether a sealed package's whole draw lies within the user's region (a province-wide draw: province
    users only); the package holds the strata and grades of every entity of the draw."""
    region = pkg_region if pkg_region.isascii() and pkg_region.isdigit() else ""  # "(all)": province-wide
    return region.startswith(me.region) if region else len(me.region) == 2


def _sealed_package(st: AppState, me: Principal, plan_id: int, via: str | None) -> dict:
    """The sealed package of a plan, when the user may read it: the auditor or an administrator (otherwise 403,
    audited ``read_refused``), of a plan whose region lies within the user's (otherwise 404, audited)."""
    from ..inspection.disclosure import read_sealed, sealed_folder

    if not me.can(SEALED_PERMISSION):
        record(st, me, "read_refused", f"sealed:{plan_id}", {"why": "role", **via_detail(via)})
        raise Refused(403, "forbidden", "only the auditor (纪检/法制审核) and administrators read a sealed draw "
                      "package", "sealed_forbidden")
    try:
        pkg = read_sealed(sealed_folder(st.home, plan_id))
    except RiskgradeError as e:
        raise Refused(404, "not_found", str(e).splitlines()[0], "sealed_missing") from None
    if not _sealed_within(pkg["region_prefix"], me):
        record(st, me, "read_refused", f"sealed:{plan_id}", {"why": "out_of_region", **via_detail(via)})
        raise Refused(404, "not_found", f"no sealed package of plan {plan_id}", "sealed_missing")
    return pkg


def sealed(st: AppState, me: Principal, plan_id: int, via: str | None = None) -> dict:
    """A published draw's sealed verification package (strata, inclusion probabilities, seed, salt and the
    selection with grades), for the auditor and administrators; every read audited (``read_sealed``)."""
    pkg = _sealed_package(st, me, plan_id, via)
    record(st, me, "read_sealed", f"plan:{plan_id}", {"sealed_hash": pkg["sealed_hash"], **via_detail(via)})
    return pkg


def sealed_download(st: AppState, me: Principal, plan_id: int, via: str | None = None) -> tuple[str, bytes]:
    """The sealed package's files as a zip (file name, bytes); audited (``read_sealed``, ``download``)."""
    from ..inspection.disclosure import sealed_folder, sealed_zip

    pkg = _sealed_package(st, me, plan_id, via)
    data = sealed_zip(sealed_folder(st.home, plan_id))
    record(st, me, "read_sealed", f"plan:{plan_id}", {"sealed_hash": pkg["sealed_hash"], "download": True,
                                                      **via_detail(via)})
    return f"plan-{plan_id}-sealed.zip", data


def sealed_list(st: AppState, me: Principal) -> list[dict]:
    """The sealed packages the user may read (plan id, month, task, number drawn), newest plan first."""
    from ..inspection.disclosure import read_sealed

    me.require(SEALED_PERMISSION)
    out = []
    folder = st.home / "restricted"
    for d in sorted(folder.glob("plan-*"), key=lambda p: -int(p.name[5:]) if p.name[5:].isdigit() else 0):
        if not d.name[5:].isdigit():
            continue
        try:
            pkg = read_sealed(d)
        except RiskgradeError:
            continue
        if _sealed_within(pkg["region_prefix"], me):
            out.append({k: pkg[k] for k in ("plan_id", "as_of", "task", "drawn", "population", "sealed_hash")})
    return out


def verify_sealed(st: AppState, me: Principal, plan_id: int, via: str | None = None) -> dict:
    """``riskgrade plans verify`` inside the system, for the auditor and administrators: the plan's public
    package (rebuilt from the store) against its seed commitment and the stored plan, and the full re-draw from
    the sealed package.  Returns ``ok``, what was ``checked`` and the first ``problem``; audited
    (``verify_plan``)."""
    from ..inspection.disclosure import sealed_folder, verify_stored
    from ..warehouse import Warehouse

    _sealed_package(st, me, plan_id, via)
    try:
        with Warehouse(st.home, lock_timeout=settings_mod.load(st.home).lock_timeout) as wh:
            try:
                r = verify_stored(wh.con, plan_id, sealed_folder(st.home, plan_id))
                out = {"plan_id": plan_id, "ok": True, "checked": r["checked"], "problem": None, "seed": str(r["seed"]),
                       "commitment": r["commitment"], "drawn": r["drawn"]}
            except RiskgradeError as e:
                out = {"plan_id": plan_id, "ok": False, "checked": [], "problem": str(e).splitlines()[0],
                       "seed": None, "commitment": None, "drawn": None}
    except RiskgradeError as e:  # the warehouse is busy with another job
        raise Refused(503, "busy", str(e).splitlines()[0], "busy") from None
    record(st, me, "verify_plan", f"plan:{plan_id}", {"ok": out["ok"], **({"problem": out["problem"]}
                                                                           if out["problem"] else {}), **via_detail(via)})
    return out


# --------------------------------------------------------------------------- preview, approval, names
def preview(st: AppState, me: Principal, as_of: dt.date | str, task: Any, budget: int | None, optimise: bool = False):
    """What the draw will take, by grade and stratum: the draw's own allocation (:func:`inspection.plan.allocate`)
    over the same eligible population, read only, so the preview and the plan cannot differ.  A task not yet
    created is previewed as it will be created.  Raises :class:`~riskgrade.errors.RiskgradeError` with the
    reason a plan could not be drawn; 503 while the warehouse is busy."""
    from ..inspection.plan import preview as draw_preview

    me.require("plans.write")
    day = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(as_of)
    cfg = settings_mod.load(st.home)
    return draw_preview(st.home, day, task=task, budget=budget, optimise=optimise, lock_timeout=cfg.lock_timeout)


def approval_policy():
    """The province's approval rules (``approval`` in the sampling configuration)."""
    from ..inspection.config import load_sampling

    return load_sampling().approval


def _ask_approval(st: AppState, me: Principal, plan_id: int, start: dt.date | None, end: dt.date | None,
                  team: list[str], via: str | None) -> None:
    if not approval_policy().service:
        return
    approvals.request(st.factory, plan_id, me.user.username, period_start=start, period_end=end, team=team)
    record(st, me, "plan_submit", str(plan_id), {"period": f"{start or ''} .. {end or ''}", "team": ";".join(team),
                                                 **via_detail(via)})


def state(st: AppState, plan_id: int) -> str:
    """A plan's approval state: ``draft`` (待审批), ``approved`` (已生效), ``rejected`` (已驳回), or ``in_force``
    (drawn where no approval was asked: in force as drawn)."""
    return approvals.state_of(approvals.approval(st.factory, plan_id))


def states(st: AppState, plan_ids: list[int]) -> dict[int, str]:
    found = approvals.approvals(st.factory, plan_ids)
    return {i: approvals.state_of(found.get(i)) for i in plan_ids}


def approval(st: AppState, plan_id: int):
    return approvals.approval(st.factory, plan_id)


FINAL = (approvals.APPROVED, approvals.IN_FORCE)


def require_final(st: AppState, me: Principal, plan_id: int, what: str, via: str | None = None) -> None:
    """Only a plan in force (approved, or drawn where no approval is asked) takes results and gives templates:
    otherwise 409 ``plan_not_approved``, audited (``read_refused``)."""
    st_ = state(st, plan_id)
    if st_ not in FINAL:
        record(st, me, "read_refused", f"plan:{plan_id}", {"why": f"plan_{st_}", "what": what, **via_detail(via)})
        raise Refused(409, "plan_not_approved", f"plan {plan_id} is not approved yet ({st_}): {what} waits for "
                      "its approval", "plan_not_approved")


def may_approve(me: Principal, p: Plan, row) -> bool:
    """An approver: a role the configuration names (administrators by default), over the plan's whole region,
    and not the user who drew the plan (four eyes)."""
    return (row is not None and row.state == approvals.DRAFT and me.user.role in approval_policy().approver_roles
            and _whole(me, p) and row.requested_by != me.user.username)


def _whole(me: Principal, p: Plan) -> bool:
    """Whether the plan's whole region lies within the user's (a province-wide plan: province users)."""
    region = plan_region(p)
    return region.startswith(me.region) if region else len(me.region) == 2


def decide(st: AppState, me: Principal, plan_id: int, approve: bool, note: str, via: str | None = None):
    """Approve (→ 已生效) or reject (→ 已驳回) a plan waiting for approval, with a note (needed to reject).
    403 for a user who may not (audited ``read_refused``), 409 for a plan not waiting; audited
    (``plan_approve`` / ``plan_reject``)."""
    me.require("plans.read")
    p = get(st, plan_id)
    p = visible(st, me, plan_id, int(_whole(me, p)), via)
    row = approvals.approval(st.factory, plan_id)
    note = (note or "").strip()[:1000]
    if row is None or row.state != approvals.DRAFT:
        raise Refused(409, "plan_not_draft", f"plan {plan_id} is not waiting for approval", "plan_not_draft")
    if not may_approve(me, p, row):
        why = "own_plan" if row.requested_by == me.user.username else "role"
        record(st, me, "read_refused", f"plan:{plan_id}", {"why": why, "what": "approve", **via_detail(via)})
        raise Refused(403, "forbidden", "only an approver other than the plan's author may decide on it "
                      f"(roles: {', '.join(approval_policy().approver_roles)})", "approve_forbidden")
    if not approve and not note:
        raise Refused(422, "note_needed", "say why the plan is rejected", "reject_note_needed")
    try:
        out = approvals.decide(st.factory, plan_id, me.user.username, approve, note)
    except RiskgradeError as e:
        raise Refused(409, "plan_not_draft", str(e), "plan_not_draft") from None
    record(st, me, "plan_approve" if approve else "plan_reject", str(plan_id), {"note": note, **via_detail(via)})
    return out


def inspector_names(st: AppState, plan_id: int, ids: list[str] | None = None) -> dict[str, tuple[str, str]]:
    """The inspectors a plan names (of ``ids`` only: those a page shows): id -> (name, unit's region code)."""
    if ids is not None:
        return {x.inspector_id: (x.name, x.unit_region_code) for x in queries.plan_inspectors(st.factory, plan_id, ids)}
    return {i: (x.name, x.unit_region_code) for i, x in approvals.plan_inspectors(st.factory, plan_id).items()}


def team(st: AppState, me: Principal) -> list:
    """Inspector accounts a plan of the user's region may name as its team (检查人员): enabled inspectors
    within the region (or above it)."""
    me.require("plans.write")
    return approvals.inspector_users(st.factory, me.region)


def team_of(st: AppState, row) -> list:
    """The team recorded with a plan's approval, as user accounts (name and unit)."""
    names = [x for x in ((row.team if row is not None else "") or "").split(";") if x]
    found = approvals.users_by_name(st.factory, names)
    return [found[n] for n in names if n in found]


def items_list(home=None):
    """The province's inspection items (抽查事项清单), read again when the home's list changes."""
    from ..inspection.items import HOME_FILE

    try:
        stamp = (Path(home) / HOME_FILE).stat().st_mtime_ns if home is not None else None
    except FileNotFoundError:
        stamp = None
    return _items(None if home is None else str(home), stamp)


@functools.lru_cache(maxsize=16)
def _items(home: str | None, stamp: int | None):
    from ..inspection.items import load_items

    return load_items(home=None if home is None else Path(home))
