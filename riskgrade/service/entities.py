"""Entities: search in the user's region, the profile (grade history with its explanation, records,
plans, alerts, personal identifiers by the one ``pii.read`` rule), audited."""

from __future__ import annotations

import datetime as dt
import functools
import json

from ..registry import queries
from ..registry.company import related
from ..registry.models import Grade, Snapshot
from ..registry.publish import check_row
from . import alerts as alert_service
from . import results as results_service
from . import reviews as review_service
from .audit import record, via_detail
from .errors import Refused
from .principal import reads_pii, shown
from .state import AppState, Principal


# the legal representative's name is personal information: shown to the roles that act on the entity (credit
# officers, inspectors, administrators, always within their region), masked for every other (a domain officer);
# the pseudonymous ids and phones follow the one ``pii.read`` rule (service/principal.py)
NAME_ROLES = ("admin", "credit_officer", "inspector")
RELATED_LIMIT = 20  # related companies shown per kind (the count says how many there are)


def reads_names(me: Principal) -> bool:
    return me.user.role in NAME_ROLES


def mask_name(name: str | None) -> str | None:
    """A person's name for a role that may not read it: its first character, the rest starred (张**)."""
    if not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


def labels_of(text: str | None) -> list[str]:
    return [x for x in (text or "").split(";") if x]


@functools.lru_cache(maxsize=1)
def indicator_names() -> dict[str, tuple[str, str, str]]:
    """Indicator code -> (Chinese name, English name, risk direction), from the built-in catalog (and the entity
    attributes a trained scorecard may use as features)."""
    from ..indicators import load_catalog
    from ..indicators.facts import ATTRIBUTES

    names = {code: (zh, en, "either") for code, (zh, en) in ATTRIBUTES.items()}  # attributes a scorecard may use
    return {**names, **{i.code: (i.name_zh, i.name_en, i.risk_direction) for i in load_catalog().indicators}}


def explanation(g: Grade) -> dict:
    """A published grade's explanation: its contributions that raised the risk (``reasons``) and those that
    lowered it (``lowering``), each with the indicator's names, direction and fact, ``score_base``, the sum
    of the points, and ``clipped`` (base + sum outside 0..1000; None when the base is unknown)."""
    try:
        points = [p for p in json.loads(g.reason_points or "[]") if float(p["points"]) != 0]
    except (ValueError, TypeError, KeyError):
        points = []
    try:
        facts = json.loads(g.facts) if g.facts else {}
    except ValueError:
        facts = {}
    names = indicator_names()

    def item(p: dict) -> dict:
        zh, en, direction = names.get(p["code"], (None, None, None))
        return {"code": p["code"], "points": round(float(p["points"]), 2), "name_zh": zh, "name_en": en,
                "direction": direction, "fact": facts.get(p["code"]) if isinstance(facts, dict) else None}

    reasons = [item(p) for p in sorted((p for p in points if float(p["points"]) > 0), key=lambda p: -float(p["points"]))]
    lowering = [item(p) for p in sorted((p for p in points if float(p["points"]) < 0), key=lambda p: float(p["points"]))]
    total = sum(float(p["points"]) for p in points)
    base = getattr(g, "score_base", None)
    raw = None if base is None else round(float(base) + total, 2)
    return {"reasons": reasons, "lowering": lowering, "score_base": None if base is None else float(base),
            "total": total, "unclipped": raw, "clipped": None if raw is None else not 0 <= raw <= 1000}


def latest_snapshot(st: AppState, as_of: dt.date | None = None) -> Snapshot | None:
    return queries.latest_snapshot(st.factory, as_of)


EXPORT_LIMIT = 100_000  # rows of one search export (a county's entities; a province exports by `export grades`)
COUNT_LIMIT = 10_000  # the console counts a search's matches up to this many ("more than 10,000")


def search(st: AppState, me: Principal, *, q: str | None = None, region: str | None = None,
           industry: str | None = None, grade: str | None = None, label: str | None = None,
           as_of: dt.date | None = None, page: int = 1, page_size: int = 20, via: str | None = None,
           sort: str = "uscc", descending: bool = False, export: str | None = None, legal_rep: str | None = None,
           address: str | None = None, count_limit: int | None = None) -> dict:
    """Entities in the user's region by name (contains) or USCC (prefix), county prefix, industry (a section
    letter and/or a code prefix), grade or label, with their grade of the month (the newest by default).

    Returns ``total``, ``snapshot`` and ``rows`` (registry entity, grade or None); audited.  ``sort`` is one of
    ``uscc name region industry grade score``.  With ``export`` (``csv`` or ``xlsx``: the file the user takes
    away) every match up to :data:`EXPORT_LIMIT` comes back from page 1, needs the ``export`` permission and is
    audited as ``export_search`` with the filters and the row count.  ``legal_rep`` (the legal representative's
    name from its beginning, or its id) needs a role that reads names (:data:`NAME_ROLES`); ``address`` matches an
    address from its beginning.

    ``count_limit`` (the console: :data:`COUNT_LIMIT`): count the matches only up to that many or to the end of
    the page, whichever is more; ``exact`` says whether ``total`` is the number of matches or that bound (there
    are more).  Without it (the API, exports) the total is always exact."""
    me.require("entity.read")
    legal_rep = (legal_rep or "").strip() or None
    address = (address or "").strip() or None
    if legal_rep and not reads_names(me):
        record(st, me, "read_refused", "", {"why": "legal_rep_search", **via_detail(via)})
        raise Refused(403, "forbidden", f"the role {me.user.role} may not search by legal representative", "forbidden")
    if export:
        me.require("export")
        page, page_size = 1, EXPORT_LIMIT
    if sort not in queries.SEARCH_SORTS:
        raise Refused(422, "invalid", f"sort by one of {', '.join(queries.SEARCH_SORTS)}", "invalid")
    snap = queries.latest_snapshot(st.factory, as_of)
    if as_of and snap is None:
        raise Refused(404, "not_found", f"no published snapshot as of {as_of}", "not_found")
    term = q.strip() if q else None
    code = industry or ""
    section = code[0] if code[:1].isalpha() else None
    code = code[1:] if section else code
    total, exact, rows = queries.search_entities(
        st.factory, me.region, snap.id if snap else None, q=term, region=region, section=section,
        industry=code or None, grade=grade, label=label, offset=(page - 1) * page_size, limit=page_size, sort=sort,
        descending=descending, legal_rep=legal_rep, address=address, count_limit=None if export else count_limit)
    detail = {"q": q, "region": region, "industry": industry, "grade": grade, "label": label}
    detail.update({k: v for k, v in (("legal_rep", legal_rep), ("address", address)) if v})
    if via:
        detail = {k: v for k, v in detail.items() if v}
    if export:
        record(st, me, "export_search", export, {**{k: v for k, v in detail.items() if v}, "rows": len(rows),
                                                 "total": total, **via_detail(via)})
    else:
        record(st, me, "search", "", {**detail, "page": page, "results": len(rows), **via_detail(via)})
    return {"total": total, "exact": exact, "snapshot": snap, "rows": rows}


def hit(entity, grade: Grade | None) -> dict:
    """One search result as plain data."""
    return {"uscc": entity.uscc, "name": entity.name, "entity_type": entity.entity_type,
            "region_code": entity.region_code, "industry_code": entity.industry_code, "status": entity.status,
            "grade": grade.grade if grade else None, "score": grade.score if grade else None,
            "labels": labels_of(grade.labels if grade else None)}


def regions(st: AppState, me: Principal) -> list[str]:
    """The counties of the entities in the user's region (the console's filter)."""
    return queries.entity_regions(st.factory, me.region)


def profile(st: AppState, me: Principal, uscc: str, *, timeline_limit: int = 100, via: str | None = None) -> dict:
    """An entity's profile: the entity, its grades (one per month, newest first, each with its explanation and
    whether its seal checks out), newest records, plans, visible alerts (None when the warehouse is busy or the
    role may not read alerts), and its personal identifiers as the user may see them.  Audited; a broken seal
    is recorded as an integrity failure."""
    me.require("entity.read")
    e = queries.entity(st.factory, uscc.upper())
    if e is None or not me.scope(e.region_code):
        if e is not None:  # a refused read outside the user's region is audited (an unknown USCC is not a read)
            record(st, me, "read_refused", e.uscc, {"why": "out_of_region", **via_detail(via)})
        raise Refused(404, "not_found", f"no entity {uscc} in your region", "not_found")
    hist = queries.grade_history(st.factory, e.uscc)
    events = queries.entity_events(st.factory, e.uscc, timeline_limit)
    plans = queries.entity_plans(st.factory, e.uscc)
    seen, grades, broken = set(), [], []
    for g, as_of in hist:
        if as_of in seen:
            continue  # an earlier publication of the same month
        seen.add(as_of)
        ok = check_row(st.key, as_of, g)
        if not ok:
            broken.append(as_of.isoformat())
        x = explanation(g)
        grades.append({"as_of": as_of, "grade": g.grade, "score": g.score, "previous_grade": g.previous_grade,
                       "review_id": g.review_id,
                       "grade_rule": g.grade_rule, "labels": labels_of(g.labels), "sealed": ok,
                       "reasons": x["reasons"], "lowering": x["lowering"], "score_base": x["score_base"],
                       "points_total": x["total"], "unclipped": x["unclipped"], "clipped": x["clipped"]})
    alerts = alert_service.of_entity(st, me, e.uscc)
    snap = queries.latest_snapshot(st.factory)
    rel = {k: related(st.factory, e.uscc, k, getattr(e, col), me.region, snap.id if snap else None, RELATED_LIMIT)
           for k, col in (("legal_rep", "legal_rep_id"), ("address", "address"), ("phone", "phone_id"))}
    reviews = review_service.of_entity(st, e.uscc)
    results = results_service.linked(st, usccs=[e.uscc])
    record(st, me, "view_profile", e.uscc, {"grades_shown": len(grades), **via_detail(via),
                                            "alerts_shown": None if alerts is None else len(alerts),
                                            "legal_rep_name": "shown" if reads_names(me) else "masked",
                                            "related_shown": sum(len(v[1]) for v in rel.values())})
    if broken:
        record(st, "system", "integrity_failure", e.uscc, {"months": broken})
    return {"entity": e, "grades": grades, "current": grades[0] if grades else None, "events": events,
            "plans": plans, "alerts": alerts, "alerts_readable": me.can("alerts.read"), "pii": reads_pii(me.user),
            "legal_rep_id": shown(me.user, e.legal_rep_id), "phone_id": shown(me.user, e.phone_id),
            "legal_rep_name": e.legal_rep_name if reads_names(me) else mask_name(e.legal_rep_name),
            "names": reads_names(me), "related": rel, "reviews": reviews, "results": results,
            "adjustment": review_service.adjustment(reviews, grades[0] if grades else None),
            "grade_mode": snap.grade_mode if snap else "four", "may_propose": review_service.may_propose(me), "may_decide": review_service.may_decide(me)}


DOCUMENTS = ("notice", "record")  # 检查通知书, 检查结果记录


def document(st: AppState, me: Principal, plan_id: int, uscc: str, kind: str, via: str | None = None) -> dict:
    """What a printable inspection notice (``notice``) or result record (``record``) of one drawn entity shows:
    the entity, the plan, its membership (check mode, inspectors) and the plan's results for it.  Needs
    ``plans.read`` and the entity in the user's region; audited ``print_notice`` / ``print_record``."""
    me.require("plans.read")
    if kind not in DOCUMENTS:
        raise Refused(404, "not_found", f"no document {kind}", "not_found")
    e = queries.entity(st.factory, uscc.upper())
    if e is None or not me.scope(e.region_code):
        raise Refused(404, "not_found", f"no entity {uscc} in your region", "not_found")
    found = [(pe, p) for pe, p in queries.entity_plans(st.factory, e.uscc) if p.id == plan_id]
    if not found:
        raise Refused(404, "not_found", f"{e.uscc} is not in plan {plan_id}", "not_found")
    pe, plan = found[0]
    results = results_service.linked(st, plan_id=plan_id, usccs=[e.uscc])
    record(st, me, f"print_{kind}", f"{plan_id}/{e.uscc}", {"via": via} if via else None)
    return {"entity": e, "plan": plan, "member": pe, "results": results,
            "legal_rep_name": e.legal_rep_name if reads_names(me) else mask_name(e.legal_rep_name)}
