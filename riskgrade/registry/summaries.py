"""Monthly summaries of a published snapshot (table ``summaries``), written with the snapshot so that the console
and the API read a few hundred rows instead of aggregating millions of grades on every request.

Written by :func:`write` only, in the transaction that publishes the snapshot (see
:func:`riskgrade.registry.publish.publish`): a reader sees a month's grades and its summaries together or neither.
A registry published before summaries existed gets them once, on first read (:func:`ensure`).

One row per (snapshot, kind, region, key, grade) with the number of entities and the sum of their scores:

``total``    region ``""``, key ``""``, grade ``""``: the snapshot's graded entities (always written: it marks
             the snapshot as summarised, even an empty one)
``region``   the region at each level (province: 2 digits, city: 4, county: 6), by grade
``cell``     region at each level x industry division (the first 2 digits of GB/T 4754, ``""`` when unknown)
``section``  region at each level x industry section (GB/T 4754 letter of the division, ``""`` when unknown)
``type``     region at each level x entity type
``label``    region at each level x label (an entity counts once under each of its labels)
``move``     county now x (county then ``:`` grade then), by grade now: the entities graded in this snapshot
             and in ``base_snapshot_id`` (the current publication of the month before), the month-over-month
             migration; counted per pair of counties so that a reader's region applies to both months as the
             on-the-fly query does
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from ..codes.industries import DIVISION_SECTION
from .db import in_region
from .models import Grade, Snapshot, Summary

LEVELS = (2, 4, 6)
KINDS = ("total", "region", "cell", "section", "type", "label", "move")


def section_of(division: str | None) -> str:
    """The GB/T 4754 section of an industry division (``""`` when unknown), as the console names it."""
    return DIVISION_SECTION.get((division or "").lstrip("ABCDEFGHIJKLMNOPQRST")[:2], "")


def previous_snapshot(s: Session, snapshot_id: int) -> int | None:
    """The current publication (the newest id) of the newest month before the snapshot's month."""
    as_of = s.execute(select(Snapshot.as_of).where(Snapshot.id == snapshot_id)).scalar_one()
    return s.execute(select(Snapshot.id).where(Snapshot.as_of < as_of)
                     .order_by(Snapshot.as_of.desc(), Snapshot.id.desc()).limit(1)).scalar()


def compute(s: Session, snapshot_id: int) -> list[dict]:
    """The summary rows of a snapshot, aggregated from its published grades in the registry."""
    acc: dict[tuple[str, str, str, str], list] = defaultdict(lambda: [0, 0.0])

    def add(kind: str, region: str, key: str, grade: str, n: int, score: float) -> None:
        a = acc[(kind, region, key, grade)]
        a[0] += n
        a[1] += score

    acc[("total", "", "", "")] = [0, 0.0]
    division = func.substr(func.coalesce(Grade.industry_code, ""), 1, 2)
    rows = s.execute(select(Grade.region_code, division, Grade.entity_type, Grade.grade, func.count(),
                            func.sum(Grade.score))
                     .where(Grade.snapshot_id == snapshot_id)
                     .group_by(Grade.region_code, division, Grade.entity_type, Grade.grade)).all()
    for region, div, etype, grade, n, total in rows:
        n, total = int(n), float(total or 0.0)
        add("total", "", "", "", n, total)
        for w in LEVELS:
            r = region[:w]
            add("region", r, "", grade, n, total)
            add("cell", r, div or "", grade, n, total)
            add("section", r, section_of(div), grade, n, total)
            add("type", r, etype or "", grade, n, total)
    rows = s.execute(select(Grade.region_code, Grade.labels, Grade.grade, func.count(), func.sum(Grade.score))
                     .where(Grade.snapshot_id == snapshot_id, Grade.labels.is_not(None), Grade.labels != "")
                     .group_by(Grade.region_code, Grade.labels, Grade.grade)).all()
    for region, labels, grade, n, total in rows:
        for lab in {x for x in labels.split(";") if x}:
            for w in LEVELS:
                add("label", region[:w], lab, grade, int(n), float(total or 0.0))
    base = previous_snapshot(s, snapshot_id)
    if base is not None:
        ga = select(Grade.uscc, Grade.region_code, Grade.grade).where(Grade.snapshot_id == base).subquery()
        gb = select(Grade.uscc, Grade.region_code, Grade.grade, Grade.score).where(
            Grade.snapshot_id == snapshot_id).subquery()
        rows = s.execute(select(gb.c.region_code, ga.c.region_code, ga.c.grade, gb.c.grade, func.count(),
                                func.sum(gb.c.score)).join(ga, ga.c.uscc == gb.c.uscc)
                         .group_by(gb.c.region_code, ga.c.region_code, ga.c.grade, gb.c.grade)).all()
        for region, region_then, grade_then, grade, n, total in rows:
            add("move", region, f"{region_then}:{grade_then}", grade, int(n), float(total or 0.0))
    return [{"snapshot_id": snapshot_id, "kind": k, "region_code": r, "key": key, "grade": g, "entities": n,
             "score_sum": round(t, 4), "base_snapshot_id": base if k == "move" else None}
            for (k, r, key, g), (n, t) in acc.items()]


def write(s: Session, snapshot_id: int) -> int:
    """Replace the snapshot's summaries, in the caller's transaction; the rows written."""
    rows = compute(s, snapshot_id)
    s.execute(delete(Summary).where(Summary.snapshot_id == snapshot_id))
    for i in range(0, len(rows), 5000):
        s.execute(insert(Summary), rows[i:i + 5000])
    return len(rows)


def summarised(s: Session, snapshot_ids: list[int]) -> set[int]:
    """Which of the snapshots have their summaries."""
    if not snapshot_ids:
        return set()
    return set(s.execute(select(Summary.snapshot_id).where(Summary.snapshot_id.in_(snapshot_ids),
                                                           Summary.kind == "total")).scalars().all())


def ensure(factory, snapshot_ids: list[int]) -> list[int]:
    """Write the summaries of those snapshots that have none (a registry published before summaries existed);
    the snapshots summarised now.  Two processes doing it at once: the second finds the rows written (its insert
    fails on the primary key and is rolled back) and leaves them."""
    from sqlalchemy.exc import IntegrityError

    with factory() as s:
        missing = [i for i in snapshot_ids if i not in summarised(s, snapshot_ids)]
    done = []
    for sid in missing:
        try:
            with factory() as s, s.begin():
                if summarised(s, [sid]):
                    continue
                write(s, sid)
            done.append(sid)
        except IntegrityError:
            pass
    return done


def rows(factory, snapshot_ids: list[int], kind: str, level: int, region_prefix: str
         ) -> list[tuple[int, str, str, str, int, float, int | None]]:
    """(snapshot, region, key, grade, entities, score sum, base snapshot) of one kind, at one region level, in
    the region (``level`` 6 for ``move``)."""
    with factory() as s:
        q = select(Summary.snapshot_id, Summary.region_code, Summary.key, Summary.grade, Summary.entities,
                   Summary.score_sum, Summary.base_snapshot_id).where(
            Summary.snapshot_id.in_(snapshot_ids), Summary.kind == kind,
            func.length(Summary.region_code) == level)
        if region_prefix:
            q = q.where(in_region(Summary.region_code, region_prefix))
        return [tuple(r) for r in s.execute(q).all()]
