"""Grade reviews (申诉/复核): list, propose, approve, reject (service/reviews.py holds the rules)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from ...service import reviews
from ..deps import Me, St
from ..schemas import ERRORS, Uscc

router = APIRouter(tags=["reviews"])
ReviewId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class Review(BaseModel):
    id: int
    uscc: str
    region_code: str
    snapshot_id: int = Field(description="the publication whose grade was reviewed")
    as_of: dt.date
    from_grade: str
    to_grade: str
    reason: str
    state: Literal["pending", "approved", "rejected"]
    proposed_by: str
    proposed_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    note: str | None


class ReviewPage(BaseModel):
    total: int
    counts: dict[str, int]
    items: list[Review]


class ProposeRequest(BaseModel):
    uscc: str = Field(pattern=r"^[0-9A-Za-z]{18}$")
    to_grade: str = Field(pattern=r"^[A-E]$")
    reason: str = Field(min_length=1, max_length=1000)


class DecideRequest(BaseModel):
    note: str = Field("", max_length=1000)


def _review(r: dict) -> Review:
    return Review(**{k: r[k] for k in Review.model_fields})


@router.get("/api/reviews", response_model=ReviewPage, responses=ERRORS)
def review_list(me: Me, st: St, state: Literal["pending", "approved", "rejected"] | None = None,
                page: Annotated[int, Query(ge=1, le=100000)] = 1,
                page_size: Annotated[int, Query(ge=1, le=200)] = 50) -> ReviewPage:
    """Grade reviews of entities in the user's region, newest first, with the counts by state."""
    found = reviews.listing(st, me, state, page, page_size)
    return ReviewPage(total=found["total"], counts=found["counts"], items=[_review(r) for r in found["rows"]])


@router.get("/api/entities/{uscc}/reviews", response_model=list[Review], responses=ERRORS)
def entity_reviews(uscc: Uscc, me: Me, st: St) -> list[Review]:
    """An entity's grade reviews, newest first."""
    return [_review(r) for r in reviews.for_entity(st, me, uscc)]


@router.post("/api/reviews", response_model=Review, status_code=201, responses=ERRORS)
def review_propose(body: ProposeRequest, me: Me, st: St) -> Review:
    """Propose another grade for an entity's current grade, with a reason (credit officers, administrators)."""
    return _review(reviews.propose(st, me, body.uscc, body.to_grade, body.reason))


@router.post("/api/reviews/{review_id}/approve", response_model=Review, responses=ERRORS)
def review_approve(review_id: ReviewId, me: Me, st: St, body: DecideRequest | None = None) -> Review:
    """Approve a pending review (a provincial administrator, not the proposer): the next publication carries it."""
    return _review(reviews.decide(st, me, review_id, True, body.note if body else ""))


@router.post("/api/reviews/{review_id}/reject", response_model=Review, responses=ERRORS)
def review_reject(review_id: ReviewId, body: DecideRequest, me: Me, st: St) -> Review:
    """Reject a pending review with a note (a provincial administrator, not the proposer)."""
    return _review(reviews.decide(st, me, review_id, False, body.note))
