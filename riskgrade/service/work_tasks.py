"""我的检查任务 (a user's inspection tasks in 我的待办): which plan entities name the user among their inspectors,
whatever the plan stores.

A plan drawn by ``riskgrade plan`` (or the console) names each entity's inspectors by their id in the
inspector directory (执法检查人员名录: ``inspector_id``, ``name``, ``unit_region_code``), not by user name.  A
user account is one of those directory entries when

1. the account's user name *is* the entry's id (case-insensitive): the explicit link a province makes by naming
   inspector accounts after their directory id (执法证号); or
2. otherwise, by name within the unit: the entry's ``name`` equals the account's display name, its
   ``unit_region_code`` is the account's region (a county account ``370102`` is unit ``370102``; a city account
   ``3701`` unit ``370100``), **and the match is unique both ways**: exactly one directory entry of that unit
   has that name and exactly one enabled account of that unit has that display name.  Two 张伟 in one county
   (in the directory or among the accounts) link nobody by name: a task is never shown to the wrong person,
   and the province links them by id (1.).

The directory is the warehouse's ``inspectors`` table (the one plans are drawn from) together with the
registry's ``plan_inspectors`` (the entries published plans named, copied when published), so a plan still
maps after the directory changed.  Plans waiting for approval (待审批) or rejected (已驳回) give no task; a
plan drawn where no approval was asked (the command line) is in force as drawn.  A plan entity's own
``inspectors`` text may also name the user name directly (older plans, a results upload's inspector).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from ..registry import approvals
from ..registry.db import in_region
from ..registry.models import Plan, PlanEntity, PlanInspector, User
from ..sql import table_exists


@dataclass(frozen=True)
class Entry:
    inspector_id: str
    name: str
    unit: str


def unit_of(region_prefix: str) -> str:
    """The 6-digit unit code of an account's region: ``370102`` -> ``370102``, ``3701`` -> ``370100``."""
    p = (region_prefix or "").strip()
    return p + "0" * (6 - len(p)) if p.isdigit() and len(p) in (2, 4, 6) else ""


def _entries(factory, con, username: str, name: str) -> set[Entry]:
    """Directory entries whose id is the user name (any case) or whose name is ``name``."""
    out: set[Entry] = set()
    if con is not None and table_exists(con, "inspectors"):
        for iid, nm, unit in con.execute(
                "SELECT inspector_id, name, unit_region_code FROM inspectors WHERE lower(inspector_id) = lower(?) "
                "OR trim(name) = ?", [username, name or "\0"]).fetchall():
            out.add(Entry(iid, (nm or "").strip(), unit or ""))
    with factory() as s:
        conds = [func.lower(PlanInspector.inspector_id) == username.lower()]
        if name:
            conds.append(PlanInspector.name == name)
        for r in s.execute(select(PlanInspector).where(or_(*conds))).scalars():
            out.add(Entry(r.inspector_id, (r.name or "").strip(), r.unit_region_code or ""))
    return out


def inspector_ids(factory, con, user: Any) -> set[str]:
    """The ids by which plans may name this account: its user name, the directory id equal to it, and the
    directory entry matched uniquely by name within its unit (module docstring)."""
    ids = {user.username}
    name = (getattr(user, "display_name", "") or "").strip()
    unit = unit_of(user.region_prefix)
    entries = _entries(factory, con, user.username, name)
    ids |= {e.inspector_id for e in entries if e.inspector_id.lower() == user.username.lower()}
    if name and unit:
        by_name = {e.inspector_id for e in entries if e.name == name and e.unit == unit}
        if len(by_name) == 1:
            with factory() as s:
                accounts = s.execute(select(User).where(User.display_name == name, User.disabled.is_(False))
                                     ).scalars().all()
            same = [a for a in accounts if unit_of(a.region_prefix) == unit]
            if [a.username for a in same] == [user.username]:
                ids |= by_name
    return ids


def tasks(factory, con, user: Any, region_prefix: str, limit: int = 200) -> list[dict]:
    """Plan entities in ``region_prefix`` naming the user among their inspectors (by any id of
    :func:`inspector_ids`), of plans in force, newest plan first; each with the id it names the user by."""
    ids = inspector_ids(factory, con, user)
    with factory() as s:
        rows = s.execute(select(PlanEntity, Plan).join(Plan, Plan.id == PlanEntity.plan_id)
                         .where(in_region(PlanEntity.region_code, region_prefix))
                         .where(or_(*[PlanEntity.inspectors.contains(i, autoescape=True) for i in sorted(ids)]))
                         .order_by(Plan.id.desc(), PlanEntity.uscc).limit(limit * 4)).all()
    states = approvals.approvals(factory, sorted({plan.id for _, plan in rows}))
    out = []
    for pe, plan in rows:
        if approvals.state_of(states.get(plan.id)) not in (approvals.APPROVED, approvals.IN_FORCE):
            continue
        named = {x.strip() for x in (pe.inspectors or "").replace(";", ",").replace("，", ",").split(",")}
        hit = sorted(named & ids)
        if hit:
            out.append({"plan_id": plan.id, "task_name": plan.task_name, "uscc": pe.uscc,
                        "region_code": pe.region_code, "check_mode": pe.check_mode, "inspector": hit[0]})
        if len(out) >= limit:
            break
    return out
