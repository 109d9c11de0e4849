"""Reads of the registry for the company file (企业档案): an entity's related companies, those that share its
legal representative, its address or its phone (each indexed), in the reader's region, with their grade."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, sessionmaker

from .db import in_region
from .models import Entity, Grade

RELATED_KEYS = {"legal_rep": Entity.legal_rep_id, "address": Entity.address, "phone": Entity.phone_id}


def related(factory: sessionmaker[Session], uscc: str, key: str, value: str | None, region_prefix: str,
            snapshot_id: int | None, limit: int = 20) -> tuple[int, list[tuple[Entity, Grade | None]]]:
    """Entities other than ``uscc`` whose ``key`` (``legal_rep``, ``address`` or ``phone``) is ``value``, in the
    region: (how many, the first ``limit`` by name with their grade of the snapshot)."""
    if not value:
        return 0, []
    col = RELATED_KEYS[key]
    conds = [col == value, Entity.uscc != uscc, in_region(Entity.region_code, region_prefix)]
    sid = snapshot_id if snapshot_id is not None else -1
    with factory() as s:
        total = s.execute(select(func.count()).select_from(Entity).where(*conds)).scalar_one()
        rows = s.execute(select(Entity, Grade).outerjoin(Grade, and_(Grade.uscc == Entity.uscc, Grade.snapshot_id == sid))
                         .where(*conds).order_by(Entity.name, Entity.uscc).limit(limit)).all()
    return int(total), [(e, g) for e, g in rows]
