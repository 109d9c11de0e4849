"""Grade reviews (申诉/复核): an officer proposes another grade for an entity's current published grade with a
reason; a provincial reviewer approves or rejects it with a note; everything audited.

Who may do what (decided here, documented in docs/console.md):

* propose: a credit officer (``credit_officer``) or an administrator, for an entity in the user's region that
  has a published grade, when it has no pending review; the proposed grade differs from the current one and is
  one of the month's grades (A-D, or A-E in five-grade mode); a reason of 4-1000 characters;
* decide: a provincial reviewer, an administrator whose region is a province (two digits); never one's own
  proposal; only a pending review; a rejection needs a note;
* read: every role that reads entities (``entity.read``), for entities in its region.

An approved review is an override the next publication carries (:mod:`riskgrade.registry.publish`): the
entity's grade of that month becomes the reviewed grade with rule ``review`` and the review's id, as long as
the month's computed grade is still the reviewed one.  Until then the company file shows the current grade as
adjusted, with who proposed and approved it, when and why.
"""

from __future__ import annotations

from ..contract import GRADES
from ..registry import queries
from ..registry import reviews as store
from ..registry.models import GradeReview
from .audit import record, via_detail
from .errors import Refused
from .state import AppState, Principal

PROPOSERS = ("credit_officer", "admin")
STATES = store.STATES
REASON_MIN, REASON_MAX = 4, 1000


def may_propose(me: Principal) -> bool:
    return me.user.role in PROPOSERS


def may_decide(me: Principal) -> bool:
    """The provincial reviewer: an administrator of a whole province."""
    return me.user.role == "admin" and len(me.user.region_prefix) == 2


def as_dict(r: GradeReview) -> dict:
    return {"id": r.id, "uscc": r.uscc, "region_code": r.region_code, "snapshot_id": r.snapshot_id,
            "as_of": r.as_of, "from_grade": r.from_grade, "to_grade": r.to_grade, "reason": r.reason,
            "state": r.state, "proposed_by": r.proposed_by, "proposed_at": r.proposed_at, "decided_by": r.decided_by,
            "decided_at": r.decided_at, "note": r.note}


def _refuse(st: AppState, me: Principal, target: str, why: str, status: int, code: str, message: str,
            via: str | None) -> Refused:
    record(st, me, "review_refused", target, {"why": why, **via_detail(via)})
    return Refused(status, code, message, "review_" + why)


def _entity_in_scope(st: AppState, me: Principal, uscc: str):
    e = queries.entity(st.factory, uscc.upper())
    if e is None or not me.scope(e.region_code):
        raise Refused(404, "not_found", f"no entity {uscc} in your region", "not_found")
    return e


def propose(st: AppState, me: Principal, uscc: str, to_grade: str, reason: str, via: str | None = None) -> dict:
    """A pending review of the entity's current published grade (audited ``review_propose``)."""
    me.require("entity.read")
    e = _entity_in_scope(st, me, uscc)
    if not may_propose(me):
        raise _refuse(st, me, e.uscc, "forbidden", 403, "forbidden", f"the role {me.user.role} may not propose a "
                      "grade review", via)
    snap = queries.latest_snapshot(st.factory)
    hist = queries.grade_history(st.factory, e.uscc)
    if snap is None or not hist:
        raise _refuse(st, me, e.uscc, "no_grade", 409, "conflict", "the entity has no published grade", via)
    g, as_of = hist[0]
    allowed = GRADES if snap.grade_mode == "five" else GRADES[:4]
    reason = (reason or "").strip()
    if to_grade not in allowed or to_grade == g.grade:
        raise _refuse(st, me, e.uscc, "bad_grade", 422, "invalid",
                      f"propose one of {', '.join(x for x in allowed if x != g.grade)}", via)
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise _refuse(st, me, e.uscc, "bad_reason", 422, "invalid",
                      f"give a reason of {REASON_MIN}-{REASON_MAX} characters", via)
    r = store.add(st.factory, uscc=e.uscc, region_code=e.region_code, snapshot_id=g.snapshot_id, as_of=as_of,
                  from_grade=g.grade, to_grade=to_grade, reason=reason, proposed_by=me.user.username)
    if r is None:
        raise _refuse(st, me, e.uscc, "pending", 409, "conflict", "the entity has a pending review already", via)
    record(st, me, "review_propose", e.uscc, {"review": r.id, "as_of": as_of.isoformat(), "from": g.grade,
                                              "to": to_grade, "reason": reason[:500], **via_detail(via)})
    return as_dict(r)


def decide(st: AppState, me: Principal, review_id: int, approve: bool, note: str = "",
           via: str | None = None) -> dict:
    """Approve or reject a pending review (audited ``review_approve`` / ``review_reject``)."""
    me.require("entity.read")
    r = store.get(st.factory, review_id)
    if r is None or not me.scope(r.region_code):
        raise Refused(404, "not_found", f"no review {review_id} in your region", "not_found")
    target = str(review_id)
    note = (note or "").strip()
    if not may_decide(me):
        raise _refuse(st, me, target, "forbidden", 403, "forbidden", "only a provincial reviewer (an administrator "
                      "of the province) decides grade reviews", via)
    if r.proposed_by == me.user.username:
        raise _refuse(st, me, target, "own", 403, "forbidden", "nobody decides their own proposal", via)
    if r.state != "pending":
        raise _refuse(st, me, target, "decided", 409, "conflict", f"the review is {r.state} already", via)
    if not approve and len(note) < 2:
        raise _refuse(st, me, target, "note_needed", 422, "invalid", "a rejection needs a note", via)
    if len(note) > REASON_MAX:
        raise _refuse(st, me, target, "bad_reason", 422, "invalid", f"a note has at most {REASON_MAX} characters", via)
    done = store.decide(st.factory, review_id, "approved" if approve else "rejected", me.user.username, note)
    if done is None:
        raise _refuse(st, me, target, "decided", 409, "conflict", "the review was decided meanwhile", via)
    record(st, me, "review_approve" if approve else "review_reject", target,
           {"uscc": r.uscc, "from": r.from_grade, "to": r.to_grade, "note": note[:500], **via_detail(via)})
    return as_dict(done)


def for_entity(st: AppState, me: Principal, uscc: str) -> list[dict]:
    """An entity's reviews for a reader of entities in its region (404 otherwise)."""
    me.require("entity.read")
    e = _entity_in_scope(st, me, uscc)
    return of_entity(st, e.uscc)


def of_entity(st: AppState, uscc: str) -> list[dict]:
    """An entity's reviews, newest first (the caller has checked the entity is readable)."""
    return [as_dict(r) for r in store.of_entity(st.factory, uscc)]


def listing(st: AppState, me: Principal, state: str | None = None, page: int = 1, page_size: int = 50,
            via: str | None = None) -> dict:
    """Reviews in the user's region (one state, or all), newest first, with the counts by state and entity
    names; audited ``view_reviews``."""
    me.require("entity.read")
    if state and state not in STATES:
        raise Refused(422, "invalid", f"state: one of {', '.join(STATES)}", "invalid")
    total, rows = store.listed(st.factory, me.region, state, (page - 1) * page_size, page_size)
    names = {}
    for r in rows:
        if r.uscc not in names:
            e = queries.entity(st.factory, r.uscc)
            names[r.uscc] = e.name if e else None
    record(st, me, "view_reviews", state or "", {"results": len(rows), "page": page, **via_detail(via)})
    return {"total": total, "counts": store.counts(st.factory, me.region),
            "rows": [{**as_dict(r), "name": names.get(r.uscc)} for r in rows]}


def adjustment(reviews: list[dict], current: dict | None) -> dict | None:
    """How the company file shows the current grade adjusted: the approved review the current grade carries
    (``carried``), or one approved since that the next publication will carry (``pending_publication``)."""
    if not current:
        return None
    if current.get("grade_rule") == "review":
        r = next((x for x in reviews if x["id"] == current.get("review_id")), None)
        return {**r, "carried": True} if r else None
    for r in reviews:
        if r["state"] == "approved" and r["from_grade"] == current["grade"] and r["as_of"] <= current["as_of"]:
            return {**r, "carried": False}
    return None


def acting(st: AppState, username: str) -> Principal:
    """The registry user a command-line operator acts as (``--as``): the same rules as in the console."""
    from ..errors import RiskgradeError
    from ..registry.users import get_user

    try:
        user = get_user(st.factory, username)
    except RiskgradeError as e:
        raise Refused(404, "not_found", str(e), "not_found") from None
    if user.disabled:
        raise Refused(403, "forbidden", f"user {username} is disabled", "forbidden")
    return Principal(user, None, "cli")  # type: ignore[arg-type]  (no token: a local operator)
