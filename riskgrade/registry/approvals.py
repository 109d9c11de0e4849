"""Plan approvals (抽查计划审批) in the registry: the one writer of ``plan_approvals``; and the readers of it and of
``plan_inspectors`` (the people a published plan names).

A plan drawn where approval is asked (the console by default) is ``draft`` (待审批) until an approver decides:
``approved`` (已生效) or ``rejected`` (已驳回), with a note.  A decision is final: a rejected plan is drawn again
as a new plan.  The sealed draw is not touched: approval is a record beside it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..errors import RiskgradeError
from .models import PlanApproval, PlanInspector, User

DRAFT, APPROVED, REJECTED = "draft", "approved", "rejected"
STATES = (DRAFT, APPROVED, REJECTED)
IN_FORCE = "in_force"  # a plan with no approval record (drawn where none was asked): in force as drawn

Factory = sessionmaker[Session]


def request(factory: Factory, plan_id: int, requested_by: str, *, period_start: dt.date | None = None,
            period_end: dt.date | None = None, team: list[str] | None = None) -> PlanApproval:
    """Record a drawn plan as waiting for approval (待审批)."""
    with factory() as s, s.begin():
        if s.get(PlanApproval, plan_id) is not None:
            raise RiskgradeError(f"plan {plan_id} already has an approval record")
        row = PlanApproval(plan_id=plan_id, state=DRAFT, requested_by=requested_by,
                           requested_at=dt.datetime.now().replace(microsecond=0), period_start=period_start,
                           period_end=period_end, team=";".join(team or []), note="")
        s.add(row)
    return row


def decide(factory: Factory, plan_id: int, approver: str, approve: bool, note: str) -> PlanApproval:
    """Approve or reject a plan waiting for approval (only a draft; the caller checks who may)."""
    with factory() as s, s.begin():
        row = s.get(PlanApproval, plan_id, with_for_update=True)
        if row is None or row.state != DRAFT:
            raise RiskgradeError(f"plan {plan_id} is not waiting for approval")
        row.state = APPROVED if approve else REJECTED
        row.decided_by, row.decided_at = approver, dt.datetime.now().replace(microsecond=0)
        row.note = note
        s.flush()
        s.expunge(row)
    return row


def approval(factory: Factory, plan_id: int) -> PlanApproval | None:
    with factory() as s:
        return s.get(PlanApproval, plan_id)


def approvals(factory: Factory, plan_ids: list[int]) -> dict[int, PlanApproval]:
    if not plan_ids:
        return {}
    with factory() as s:
        return {a.plan_id: a for a in s.execute(select(PlanApproval).where(PlanApproval.plan_id.in_(plan_ids)))
                .scalars()}


def state_of(row: PlanApproval | None) -> str:
    return row.state if row is not None else IN_FORCE


def plan_inspectors(factory: Factory, plan_id: int) -> dict[str, PlanInspector]:
    """The inspectors a published plan names, by id."""
    with factory() as s:
        return {i.inspector_id: i for i in s.execute(select(PlanInspector).where(PlanInspector.plan_id == plan_id))
                .scalars()}


def users_by_name(factory: Factory, usernames: list[str]) -> dict[str, User]:
    if not usernames:
        return {}
    with factory() as s:
        return {u.username: u for u in s.execute(select(User).where(User.username.in_(usernames))).scalars()}


def inspector_users(factory: Factory, region_prefix: str) -> list[User]:
    """Enabled inspector accounts whose region lies within ``region_prefix`` or contains it (a province
    inspector may join a county's plan), by region and name."""
    with factory() as s:
        rows = s.execute(select(User).where(User.role == "inspector", User.disabled.is_(False))
                         .order_by(User.region_prefix, User.display_name, User.username)).scalars().all()
    return [u for u in rows if u.region_prefix.startswith(region_prefix) or region_prefix.startswith(u.region_prefix)]
