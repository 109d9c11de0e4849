"""Grade reviews (申诉/复核) in the registry: the one writer of ``grade_reviews``.

A review moves ``pending`` -> ``approved`` or ``rejected`` once (:func:`decide`, a compare-and-set on the state,
so two reviewers deciding at once cannot both win).  :func:`carried` is what a publication applies: per entity the
newest approved review of a month up to the published one (:mod:`riskgrade.registry.publish`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from .db import in_region
from .models import GradeReview

Factory = sessionmaker[Session]
STATES = ("pending", "approved", "rejected")


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def add(factory: Factory, *, uscc: str, region_code: str, snapshot_id: int, as_of: dt.date, from_grade: str,
        to_grade: str, reason: str, proposed_by: str) -> GradeReview | None:
    """A new pending review; None when the entity has one pending already (checked in the same transaction)."""
    with factory() as s, s.begin():
        if s.execute(select(GradeReview.id).where(GradeReview.uscc == uscc, GradeReview.state == "pending")).first():
            return None
        r = GradeReview(uscc=uscc, region_code=region_code, snapshot_id=snapshot_id, as_of=as_of,
                        from_grade=from_grade, to_grade=to_grade, reason=reason, state="pending",
                        proposed_by=proposed_by, proposed_at=now())
        s.add(r)
        s.flush()
        return r


def decide(factory: Factory, review_id: int, state: str, by: str, note: str) -> GradeReview | None:
    """Approve or reject a pending review; None when it is no longer pending (somebody decided it first)."""
    assert state in ("approved", "rejected")
    with factory() as s, s.begin():
        n = s.execute(update(GradeReview).where(GradeReview.id == review_id, GradeReview.state == "pending")
                      .values(state=state, decided_by=by, decided_at=now(), note=note)).rowcount
        return s.get(GradeReview, review_id) if n == 1 else None


def get(factory: Factory, review_id: int) -> GradeReview | None:
    with factory() as s:
        return s.get(GradeReview, review_id)


def of_entity(factory: Factory, uscc: str) -> list[GradeReview]:
    """An entity's reviews, newest first."""
    with factory() as s:
        return list(s.execute(select(GradeReview).where(GradeReview.uscc == uscc)
                              .order_by(GradeReview.id.desc())).scalars().all())


def listed(factory: Factory, region_prefix: str, state: str | None = None, offset: int = 0,
           limit: int = 50) -> tuple[int, list[GradeReview]]:
    """Reviews of entities in the region (of one state), newest first: (total, one page)."""
    conds = [in_region(GradeReview.region_code, region_prefix)]
    if state:
        conds.append(GradeReview.state == state)
    with factory() as s:
        total = s.execute(select(func.count()).select_from(GradeReview).where(*conds)).scalar_one()
        rows = s.execute(select(GradeReview).where(*conds).order_by(GradeReview.id.desc())
                         .offset(offset).limit(limit)).scalars().all()
    return int(total), list(rows)


def counts(factory: Factory, region_prefix: str) -> dict[str, int]:
    """Reviews in the region by state (every state, zero included)."""
    with factory() as s:
        rows = s.execute(select(GradeReview.state, func.count()).where(in_region(GradeReview.region_code, region_prefix))
                         .group_by(GradeReview.state)).all()
    return {**dict.fromkeys(STATES, 0), **{k: int(n) for k, n in rows}}


def carried(s: Session, as_of: dt.date) -> dict[str, GradeReview]:
    """Per entity, the newest approved review of a month up to ``as_of``: what a publication of ``as_of``
    applies (when the month's computed grade is still the reviewed one)."""
    out: dict[str, GradeReview] = {}
    q = (select(GradeReview).where(GradeReview.state == "approved", GradeReview.as_of <= as_of)
         .order_by(GradeReview.decided_at, GradeReview.id))
    for r in s.execute(q).scalars():
        out[r.uscc] = r
    return out
