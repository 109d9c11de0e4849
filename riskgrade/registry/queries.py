"""Read-only queries over the registry for the faces: published snapshot ids, the newest audit entries."""

from __future__ import annotations

from sqlalchemy import select

from .models import AuditEntry, Snapshot


def snapshot_ids(factory) -> list[int]:
    """The ids of every published snapshot, oldest first."""
    with factory() as ses:
        return list(ses.execute(select(Snapshot.id).order_by(Snapshot.id)).scalars())


def recent_audit(factory, limit: int = 20) -> list[dict]:
    """The newest ``limit`` audit entries, newest first: id, at, username, action, target."""
    with factory() as ses:
        rows = ses.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)).scalars().all()
        return [{"id": r.id, "at": r.at, "username": r.username, "action": r.action, "target": r.target} for r in rows]
