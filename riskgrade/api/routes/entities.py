"""Entities: search and profile."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from ...service import entities
from ..deps import Me, St
from ..schemas import (ERRORS, AlertBrief, EntityHit, GradeOut, Page, PlanMembership, Profile, Reason, TimelineItem,
                       Uscc)

router = APIRouter(tags=["entities"])


@router.get("/api/entities", response_model=Page, responses=ERRORS)
def search(me: Me, st: St,
           q: Annotated[str | None, Query(max_length=100, description="name contains, or USCC prefix")] = None,
           region: Annotated[str | None, Query(pattern=r"^\d{2,6}$", description="GB/T 2260 prefix")] = None,
           industry: Annotated[str | None, Query(pattern=r"^[A-T]?\d{0,4}$")] = None,
           grade: Annotated[str | None, Query(pattern=r"^[A-E]$")] = None,
           label: Annotated[str | None, Query(max_length=64)] = None,
           as_of: dt.date | None = None,
           page: Annotated[int, Query(ge=1, le=100000)] = 1,
           page_size: Annotated[int, Query(ge=1, le=200)] = 20,
           legal_rep: Annotated[str | None, Query(max_length=100, description="the legal representative's name "
                                                  "(from its beginning) or id (exact); roles that read names")] = None,
           address: Annotated[str | None, Query(max_length=100, description="the address, from its beginning")] = None
           ) -> Page:
    """Search entities in the user's region by name, USCC, region, industry, grade or label."""
    found = entities.search(st, me, q=q, region=region, industry=industry, grade=grade, label=label, as_of=as_of,
                            page=page, page_size=page_size, legal_rep=legal_rep, address=address)
    snap = found["snapshot"]
    return Page(total=found["total"], page=page, page_size=page_size, as_of=snap.as_of if snap else None,
                items=[EntityHit(**entities.hit(e, g)) for e, g in found["rows"]])


def _grade(g: dict) -> GradeOut:
    return GradeOut(as_of=g["as_of"], grade=g["grade"], score=g["score"], previous_grade=g["previous_grade"],
                    grade_rule=g["grade_rule"], labels=g["labels"], sealed=g["sealed"],
                    reasons=[Reason(**r) for r in g["reasons"]], lowering=[Reason(**r) for r in g["lowering"]],
                    score_base=g["score_base"], clipped=g["clipped"])


@router.get("/api/entities/{uscc}", response_model=Profile, responses=ERRORS)
def profile(uscc: Uscc, me: Me, st: St,
            timeline_limit: Annotated[int, Query(ge=0, le=2000, description="newest records to include")] = 100
            ) -> Profile:
    """An entity's profile: grade history with reasons and labels, records timeline, plans."""
    p = entities.profile(st, me, uscc, timeline_limit=timeline_limit)
    e, grades, alerts = p["entity"], [_grade(g) for g in p["grades"]], p["alerts"]
    return Profile(
        uscc=e.uscc, name=e.name, entity_type=e.entity_type, region_code=e.region_code,
        industry_code=e.industry_code, industry_section=e.industry_section, established_on=e.established_on,
        status=e.status, closed_on=e.closed_on, registered_capital=e.registered_capital, address=e.address,
        legal_rep_id=p["legal_rep_id"], phone_id=p["phone_id"],
        current=grades[0] if grades else None, history=grades,
        timeline=[TimelineItem(event_date=v.event_date, event_type=v.event_type, detail=v.detail, amount=v.amount,
                               source=v.source, end_date=v.end_date) for v in p["events"]],
        plans=[PlanMembership(plan_id=pl.id, as_of=pl.as_of, task_name=pl.task_name, selection=pe.selection,
                              check_mode=pe.check_mode) for pe, pl in p["plans"]],
        alerts=None if alerts is None else [AlertBrief(**{k: a.get(k) for k in AlertBrief.model_fields})
                                            for a in alerts])
