"""The audit log (审计): append-only, hash-chained, verifiable.

Every entry is ``(id, at, username, action, target, detail)`` and carries ``prev_hash`` (the previous
entry's hash; 64 zeros for the first) and ``hash = sha256(prev_hash + canonical JSON of the entry)``.
Ids are consecutive: an edited entry breaks its own hash, a deleted one breaks the id sequence and the
next entry's ``prev_hash``; ``verify`` names the first entry that fails.  Cutting off the newest
entries is detected against a head (id and hash) recorded elsewhere (``--expect-head``): the command
prints the head for that purpose, and every publish writes it into the snapshot's manifest.

Concurrent writers are serialised: on PostgreSQL by a transaction-scoped advisory lock, and in any
case by the primary key (an append that lost the race for its id reads the new head and retries).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..chain import GENESIS, entry_hash, walk
from .models import AuditEntry

__all__ = ["GENESIS", "Verdict", "append", "entry_hash", "verify"]


def append(factory: sessionmaker[Session], username: str, action: str, target: str = "",
           detail: dict | None = None, *, attempts: int = 20) -> AuditEntry:
    body = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)
    for _ in range(attempts):
        with factory() as s:
            if s.get_bind().dialect.name == "postgresql":
                # one appender at a time (a transaction-scoped lock): no lost races under load
                s.execute(text("SELECT pg_advisory_xact_lock(7281946)"))
            last = s.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
            e_id, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
            at = dt.datetime.now().replace(tzinfo=None)
            e = AuditEntry(id=e_id, at=at, username=username, action=action, target=target[:256], detail=body,
                           prev_hash=prev, hash=entry_hash(prev, e_id, at, username, action, target[:256], body))
            s.add(e)
            try:
                s.commit()
                return e
            except IntegrityError:
                s.rollback()
    raise RuntimeError("could not append to the audit log (too much contention)")


@dataclass
class Verdict:
    ok: bool
    entries: int
    head_id: int
    head_hash: str
    problem: str = ""
    bad_id: int | None = None


def verify(factory: sessionmaker[Session], expect_head: tuple[int, str] | None = None) -> Verdict:
    with factory() as s:
        rows = ((e.id, e.at.replace(tzinfo=None) if e.at.tzinfo else e.at, e.username, e.action, e.target, e.detail,
                 e.prev_hash, e.hash) for e in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
        w = walk(rows)
    n, prev_id, prev_hash = w.entries, w.head_seq, w.head_hash
    if w.failure == "missing":
        return Verdict(False, n, prev_id, prev_hash, f"entries {prev_id + 1}..{w.bad_entry[0] - 1} are missing "
                                                     "(deleted)", prev_id + 1)
    if w.failure == "broken":
        return Verdict(False, n, prev_id, prev_hash, f"entry {w.bad_seq} does not follow entry {prev_id} "
                                                     "(chain broken: an earlier entry was replaced)", w.bad_seq)
    if w.failure == "edited":
        _, _, user, action, _, _ = w.bad_entry
        return Verdict(False, n, prev_id, prev_hash, f"entry {w.bad_seq} was edited ({action} by {user})", w.bad_seq)
    if expect_head is not None:
        hid, hh = expect_head
        if prev_id < hid:
            return Verdict(False, n, prev_id, prev_hash, f"the log ends at entry {prev_id}, before the recorded head "
                                                         f"{hid} (entries deleted at the end)", prev_id + 1)
        with factory() as s:
            row = s.get(AuditEntry, hid)
        if row is None or row.hash != hh:
            return Verdict(False, n, prev_id, prev_hash, f"entry {hid} differs from the recorded head", hid)
    return Verdict(True, n, prev_id, prev_hash)
