"""Reads of the registry (published snapshots, grades, entities, plans, the audit log) for the service.

Every function takes the registry's session factory and returns registry model objects or plain rows;
the objects are detached (their columns loaded) and can be read after the session has closed.  Region
scoping is a GB/T 2260 prefix: a user of ``"3701"`` sees rows whose ``region_code`` starts with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import and_, func, literal, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from .db import in_region
from .models import AuditEntry, Entity, Event, Grade, Plan, PlanEntity, PlanInspector, Snapshot

Factory = sessionmaker[Session]


# --------------------------------------------------------------------------- snapshots
def snapshots(factory: Factory) -> list[Snapshot]:
    """Every published snapshot, newest first."""
    with factory() as s:
        return list(s.execute(select(Snapshot).order_by(Snapshot.as_of.desc(), Snapshot.id.desc())).scalars().all())


def latest_snapshot(factory: Factory, as_of: dt.date | None = None) -> Snapshot | None:
    """The newest publication of a month (``as_of``), or of the newest month."""
    q = select(Snapshot)
    if as_of:
        q = q.where(Snapshot.as_of == as_of)
    with factory() as s:
        return s.execute(q.order_by(Snapshot.as_of.desc(), Snapshot.id.desc()).limit(1)).scalar_one_or_none()


def snapshot(factory: Factory, snapshot_id: int) -> Snapshot | None:
    with factory() as s:
        return s.get(Snapshot, snapshot_id)


def months(factory: Factory) -> list[tuple[dt.date, int]]:
    """Published months, oldest first, with the current (newest) snapshot of each."""
    with factory() as s:
        rows = s.execute(select(Snapshot.as_of, func.max(Snapshot.id)).group_by(Snapshot.as_of)
                         .order_by(Snapshot.as_of)).all()
    return [(a, i) for a, i in rows]


# --------------------------------------------------------------------------- entities
SEARCH_SORTS = ("uscc", "name", "region", "industry", "grade", "score")


def search_entities(factory: Factory, region_prefix: str, snapshot_id: int | None, *, q: str | None = None,
                    region: str | None = None, section: str | None = None, industry: str | None = None,
                    grade: str | None = None, label: str | None = None, offset: int = 0,
                    limit: int = 20, sort: str = "uscc", descending: bool = False, legal_rep: str | None = None,
                    address: str | None = None, count_limit: int | None = None
                    ) -> tuple[int, bool, list[tuple[Entity, Grade | None]]]:
    """Entities in the region matching every filter given, with their grade of the snapshot: (total, whether the
    total is exact, one page of (entity, grade or None)), ordered by ``sort`` (one of :data:`SEARCH_SORTS`; USCC
    breaks ties, in the same direction; entities without a grade come last either way).  ``legal_rep``: the legal
    representative's name (prefix) or id (exact); ``address``: the address's beginning (both indexed).

    ``count_limit``: count the matches only up to ``max(count_limit, offset + limit)`` (a province's search
    matches about every entity: counting them all took most of a request at 1M entities); beyond it the total
    is that bound and not exact (``False``).  None: always exact.

    Sorting by grade or score reads the snapshot's grades in that order (indexes ``ix_grades_snapshot_score``
    and ``ix_grades_snapshot_grade``, migration 0011) and the page's entities beside them, then the entities
    without a grade (by USCC) when the page reaches past the graded ones."""
    conds = [in_region(Entity.region_code, region_prefix)]
    if legal_rep:
        conds.append(or_(Entity.legal_rep_name.startswith(legal_rep, autoescape=True), Entity.legal_rep_id == legal_rep))
    if address:
        conds.append(Entity.address.startswith(address, autoescape=True))
    if region:
        conds.append(in_region(Entity.region_code, region))
    if q:
        conds.append(or_(Entity.name.contains(q), Entity.uscc.startswith(q.upper())))
    if section:
        conds.append(Entity.industry_section == section)
    if industry:
        conds.append(Entity.industry_code.startswith(industry))
    sid = snapshot_id if snapshot_id is not None else -1
    on = and_(Grade.uscc == Entity.uscc, Grade.snapshot_id == sid)
    graded = []  # conditions on the grade: only graded entities match them
    if grade:
        graded.append(Grade.grade == grade)
    if label:
        graded.append((literal(";") + func.coalesce(Grade.labels, "") + literal(";")).contains(f";{label};"))
    if graded:  # the same rows as the outer join (a missing grade matches neither), read as an inner join
        matches = select(Entity.uscc).join(Grade, on).where(*conds, *graded)
    else:  # the outer join adds no row (one grade per entity and snapshot): count the entities alone
        matches = select(Entity.uscc).where(*conds)
    bound = None if count_limit is None else max(count_limit, offset + limit)
    with factory() as s:
        counted = matches if bound is None else matches.limit(bound + 1)
        total = int(s.execute(select(func.count()).select_from(counted.subquery())).scalar_one())
        exact = bound is None or total <= bound
        if not exact:
            total = bound
        if sort in ("grade", "score"):
            rows = _by_grade(s, on, conds, graded, sort, descending, offset, limit)
        else:
            col = {"uscc": Entity.uscc, "name": Entity.name, "region": Entity.region_code,
                   "industry": Entity.industry_code}[sort]
            # uscc, name and region are never null: their order needs no NULLS LAST (which an index cannot serve)
            key = col.desc() if descending else col.asc()
            if sort == "industry":
                key = key.nulls_last()
            stmt = (select(Entity, Grade).join(Grade, on) if graded else select(Entity, Grade).outerjoin(Grade, on))
            tie = Entity.uscc.desc() if descending else Entity.uscc.asc()  # ties in the sort's direction (_by_grade)
            rows = s.execute(stmt.where(*conds, *graded).order_by(key, tie).offset(offset).limit(limit)).all()
    return total, exact, [(e, g) for e, g in rows]


def _by_grade(s: Session, on, conds: list, graded: list, sort: str, descending: bool, offset: int,
              limit: int) -> list:
    """One page ordered by the grade's ``sort`` column (then USCC), the entities without a grade last: the graded
    matches read in the index's order, then, when the page reaches past them, the ungraded ones by USCC."""
    col = Grade.score if sort == "score" else Grade.grade
    # USCC breaks ties in the sort's direction: the index (snapshot, score, uscc) read backwards serves a
    # descending page as it stands; "score DESC, uscc ASC" made PostgreSQL sort each tied score's whole group (the
    # top score's ~124,000 grades at 10M entities: 0.43 s against 2 ms)
    tie = Entity.uscc.desc() if descending else Entity.uscc.asc()
    rows = list(s.execute(select(Entity, Grade).join(Grade, on).where(*conds, *graded)
                          .order_by(col.desc() if descending else col.asc(), tie)
                          .offset(offset).limit(limit)).all())
    if len(rows) == limit or graded:  # a full page, or only graded entities can match
        return rows
    if rows:
        skip = 0  # the page holds the last graded matches: the ungraded ones follow from their first
    else:
        n = s.execute(select(func.count()).select_from(select(Entity.uscc).join(Grade, on).where(*conds).subquery()))
        skip = offset - int(n.scalar_one())
    ungraded = select(Entity).where(*conds, ~select(Grade.uscc).where(on).exists())
    more = s.execute(ungraded.order_by(Entity.uscc).offset(skip).limit(limit - len(rows))).scalars().all()
    return rows + [(e, None) for e in more]


def entity_regions(factory: Factory, region_prefix: str) -> list[str]:
    """The distinct counties of the entities in the region: one step of the region index per county (a
    recursive query: the next code after the last one), not a scan of the region's entities (the search page's
    county filter: a DISTINCT over the province took about 0.1 s at 100k entities)."""
    lo = region_prefix
    hi = region_prefix[:-1] + chr(ord(region_prefix[-1]) + 1) if region_prefix else None  # '37' -> '38'
    within = "region_code >= :lo" + (" AND region_code < :hi" if hi else "")
    sql = text(f"""
        WITH RECURSIVE codes(code) AS (
            SELECT min(region_code) FROM entities WHERE {within}
            UNION ALL
            SELECT (SELECT min(region_code) FROM entities WHERE region_code > codes.code AND {within})
            FROM codes WHERE codes.code IS NOT NULL)
        SELECT code FROM codes WHERE code IS NOT NULL ORDER BY code""")
    with factory() as s:
        return list(s.execute(sql, {"lo": lo, **({"hi": hi} if hi else {})}).scalars().all())


def entity(factory: Factory, uscc: str) -> Entity | None:
    with factory() as s:
        return s.get(Entity, uscc)


def grade_history(factory: Factory, uscc: str) -> list[tuple[Grade, dt.date]]:
    """An entity's published grades with their month, newest first (later publications of a month first)."""
    with factory() as s:
        return [(g, a) for g, a in s.execute(
            select(Grade, Snapshot.as_of).join(Snapshot, Snapshot.id == Grade.snapshot_id)
            .where(Grade.uscc == uscc).order_by(Snapshot.as_of.desc(), Snapshot.id.desc())).all()]


def entity_events(factory: Factory, uscc: str, limit: int) -> list[Event]:
    """An entity's newest records."""
    with factory() as s:
        return list(s.execute(select(Event).where(Event.uscc == uscc)
                              .order_by(Event.event_date.desc(), Event.id.desc()).limit(limit)).scalars().all())


def entity_plans(factory: Factory, uscc: str) -> list[tuple[PlanEntity, Plan]]:
    """The plans an entity was drawn into, newest month first."""
    with factory() as s:
        return [(pe, p) for pe, p in s.execute(
            select(PlanEntity, Plan).join(Plan, Plan.id == PlanEntity.plan_id)
            .where(PlanEntity.uscc == uscc).order_by(Plan.as_of.desc())).all()]


# --------------------------------------------------------------------------- grades
def grades_with_names(factory: Factory, snapshot_id: int, region_prefix: str = "") -> list[tuple[Grade, str | None]]:
    """A snapshot's grades in the region with each entity's name, by USCC."""
    with factory() as s:
        return [(g, n) for g, n in s.execute(
            select(Grade, Entity.name).outerjoin(Entity, Entity.uscc == Grade.uscc)
            .where(Grade.snapshot_id == snapshot_id, in_region(Grade.region_code, region_prefix))
            .order_by(Grade.uscc)).all()]


def grade_distribution(factory: Factory, snapshot_id: int, region_prefix: str
                       ) -> tuple[list[tuple[str, int, float | None]], list[tuple[str, str, int]]]:
    """(grade, entities, mean score) by grade, and (county, grade, entities), in the region."""
    scope = and_(Grade.snapshot_id == snapshot_id, in_region(Grade.region_code, region_prefix))
    with factory() as s:
        by_grade = s.execute(select(Grade.grade, func.count(), func.avg(Grade.score)).where(scope)
                             .group_by(Grade.grade).order_by(Grade.grade)).all()
        by_region = s.execute(select(Grade.region_code, Grade.grade, func.count()).where(scope)
                              .group_by(Grade.region_code, Grade.grade)
                              .order_by(Grade.region_code, Grade.grade)).all()
    return [(g, int(n), m) for g, n, m in by_grade], [(r, g, int(n)) for r, g, n in by_region]


def grade_counts(factory: Factory, snapshot_ids: Iterable[int], region_prefix: str
                 ) -> list[tuple[int, str, int, float | None]]:
    """(snapshot, grade, entities, mean score) of several snapshots, in the region."""
    with factory() as s:
        return [(sid, g, int(n), m) for sid, g, n, m in s.execute(
            select(Grade.snapshot_id, Grade.grade, func.count(), func.avg(Grade.score))
            .where(Grade.snapshot_id.in_(list(snapshot_ids)), in_region(Grade.region_code, region_prefix))
            .group_by(Grade.snapshot_id, Grade.grade)).all()]


def migration(factory: Factory, from_snapshot: int, to_snapshot: int, region_prefix: str
              ) -> list[tuple[str, str, int]]:
    """(grade then, grade now, entities) of the entities in the region graded in both snapshots."""
    ga = select(Grade.uscc, Grade.grade).where(Grade.snapshot_id == from_snapshot,
                                               in_region(Grade.region_code, region_prefix)).subquery()
    gb = select(Grade.uscc, Grade.grade).where(Grade.snapshot_id == to_snapshot,
                                               in_region(Grade.region_code, region_prefix)).subquery()
    with factory() as s:
        return [(f, t, int(n)) for f, t, n in s.execute(
            select(ga.c.grade, gb.c.grade, func.count()).join(gb, gb.c.uscc == ga.c.uscc)
            .group_by(ga.c.grade, gb.c.grade).order_by(ga.c.grade, gb.c.grade)).all()]


def area_cells(factory: Factory, snapshot_id: int, region_prefix: str, width: int
               ) -> list[tuple[str, str | None, str, int]]:
    """(area: the first ``width`` digits of the county, industry division, grade, entities) in the region."""
    area = func.substr(Grade.region_code, 1, width)
    division = func.substr(Grade.industry_code, 1, 2)
    with factory() as s:
        return [(a, d, g, int(n)) for a, d, g, n in s.execute(
            select(area, division, Grade.grade, func.count())
            .where(Grade.snapshot_id == snapshot_id, in_region(Grade.region_code, region_prefix))
            .group_by(area, division, Grade.grade)).all()]


# --------------------------------------------------------------------------- plans
def plan(factory: Factory, plan_id: int) -> Plan | None:
    with factory() as s:
        return s.get(Plan, plan_id)


def plans_with_counts(factory: Factory, region_prefix: str) -> list[tuple[Plan, int]]:
    """Published plans, newest first, with how many of their entities are in the region."""
    with factory() as s:
        return [(p, int(n)) for p, n in s.execute(select(Plan, func.count(PlanEntity.uscc)).outerjoin(
            PlanEntity, and_(PlanEntity.plan_id == Plan.id, in_region(PlanEntity.region_code, region_prefix)))
            .group_by(Plan.id).order_by(Plan.id.desc())).all()]


def plan_entities(factory: Factory, plan_id: int, region_prefix: str) -> list[PlanEntity]:
    """A plan's entities in the region, by USCC."""
    with factory() as s:
        return list(s.execute(select(PlanEntity).where(PlanEntity.plan_id == plan_id,
                                                       in_region(PlanEntity.region_code, region_prefix))
                              .order_by(PlanEntity.uscc)).scalars().all())


def plan_entities_page(factory: Factory, plan_id: int, region_prefix: str, offset: int, limit: int
                       ) -> tuple[int, list[tuple[PlanEntity, str | None]]]:
    """(total, one page of (plan entity, its name)) of a plan's entities in the region."""
    scope = and_(PlanEntity.plan_id == plan_id, in_region(PlanEntity.region_code, region_prefix))
    with factory() as s:
        total = s.execute(select(func.count()).select_from(PlanEntity).where(scope)).scalar_one()
        rows = s.execute(select(PlanEntity, Entity.name).outerjoin(Entity, Entity.uscc == PlanEntity.uscc)
                         .where(scope).order_by(PlanEntity.uscc).offset(offset).limit(limit)).all()
    return int(total), [(pe, n) for pe, n in rows]


def plan_inspectors(factory: Factory, plan_id: int, ids: list[str]) -> list[PlanInspector]:
    """The inspectors of a plan among ``ids`` (those a page of the plan shows)."""
    if not ids:
        return []
    with factory() as s:
        return list(s.execute(select(PlanInspector).where(PlanInspector.plan_id == plan_id,
                                                          PlanInspector.inspector_id.in_(sorted(set(ids)))))
                    .scalars().all())


def planned_regions(factory: Factory, plan_id: int) -> dict[str, str]:
    """USCC -> county of every entity of a plan."""
    with factory() as s:
        return dict(s.execute(select(PlanEntity.uscc, PlanEntity.region_code)
                              .where(PlanEntity.plan_id == plan_id)).all())


# --------------------------------------------------------------------------- audit log
def audit_entries(factory: Factory, offset: int, limit: int) -> list[AuditEntry]:
    """Audit entries, newest first."""
    with factory() as s:
        return list(s.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).offset(offset).limit(limit))
                    .scalars().all())


def audit_count(factory: Factory) -> int:
    with factory() as s:
        return int(s.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


# --------------------------------------------------------------------------- for the command line
def snapshot_ids(factory) -> list[int]:
    """The ids of every published snapshot, oldest first."""
    with factory() as ses:
        return list(ses.execute(select(Snapshot.id).order_by(Snapshot.id)).scalars())


def recent_audit(factory, limit: int = 20) -> list[dict]:
    """The newest ``limit`` audit entries, newest first: id, at, username, action, target."""
    with factory() as ses:
        rows = ses.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)).scalars().all()
        return [{"id": r.id, "at": r.at, "username": r.username, "action": r.action, "target": r.target} for r in rows]
