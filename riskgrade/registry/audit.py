"""The audit log (审计): append-only, keyed hash chain, verifiable.

Every entry is ``(id, at, username, action, target, detail)`` and carries ``prev_hash`` (the previous
entry's hash; 64 zeros for the first), ``key_id`` and ``hash = HMAC-SHA256(key, prev_hash + canonical
JSON of the entry)`` - the one chain of :mod:`riskgrade.chain`, whose key is kept outside the database
(``$RISKGRADE_AUDIT_KEY`` or ``<home>/keys/audit.key``).  Entries written before the chain was keyed are
verified as plain SHA-256, up to the keyed-from mark.  Ids are consecutive: an edited entry breaks its
own hash, a deleted one breaks the id sequence and the next entry's ``prev_hash``; ``verify`` names the
first entry that fails.  Cutting off the newest entries, or a chain rewritten before a head recorded
elsewhere, is detected against that head: ``--expect-head ID:HASH`` (every publish writes it into the
snapshot's manifest) or a signed checkpoint file (:func:`checkpoint`, ``riskgrade audit checkpoint``).

Concurrent writers are serialised: within a process by a lock, on PostgreSQL by a transaction-scoped
advisory lock, and in any case by the primary key.  An append that lost a race (a taken id, a locked
SQLite file, a PostgreSQL serialization or lock failure) waits a little, longer each time, and tries
again with the new head, for up to ``timeout`` seconds: no gap (a failed try inserts nothing) and no
error for a busy log.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..chain import GENESIS, Keyring, check_checkpoint, keyring, seal, walk
from ..chain import checkpoint as chain_checkpoint
from .models import AuditEntry

__all__ = ["GENESIS", "LOG", "Verdict", "append", "checkpoint", "keys_of", "verify"]

LOG = "audit_log"
# PostgreSQL: serialization failure, deadlock, lock not available, and too many connections for now
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "53300", "57014"}
_process_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()


def keys_of(factory: sessionmaker[Session], *, create: bool = False) -> Keyring:
    """The chain keys of the registry's data home (see :func:`riskgrade.chain.keyring`)."""
    home = getattr(factory, "riskgrade_home", None)
    if home is None:
        url = factory.kw["bind"].url
        home = Path(url.database).parent if url.get_backend_name() == "sqlite" and url.database else None
    return keyring(home, create=create)


def _process_lock(factory: sessionmaker[Session]) -> threading.Lock:
    key = factory.kw["bind"].url.render_as_string(hide_password=True)
    with _locks_lock:
        return _process_locks.setdefault(key, threading.Lock())


def _transient(e: Exception) -> bool:
    if isinstance(e, IntegrityError):
        return True  # the id was taken by another writer
    orig = getattr(e, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
    if state in _TRANSIENT_SQLSTATES:
        return True
    msg = str(orig or e).lower()
    return any(w in msg for w in ("database is locked", "database table is locked", "busy", "could not serialize",
                                  "deadlock", "could not obtain lock"))


def _append_once(factory: sessionmaker[Session], ring: Keyring, username: str, action: str, target: str,
                 body: str) -> AuditEntry:
    with factory() as s:
        if s.get_bind().dialect.name == "postgresql":
            # one appender at a time (a transaction-scoped lock): no lost races under load
            s.execute(text("SELECT pg_advisory_xact_lock(7281946)"))
        last = s.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
        e_id, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        at = dt.datetime.now().replace(tzinfo=None)
        kid, h = seal(ring, LOG, prev, e_id, at, username, action, target, body)
        e = AuditEntry(id=e_id, at=at, username=username, action=action, target=target, detail=body,
                       prev_hash=prev, hash=h, key_id=kid)
        s.add(e)
        s.commit()
        return e


def append(factory: sessionmaker[Session], username: str, action: str, target: str = "",
           detail: dict | None = None, *, timeout: float = 120.0) -> AuditEntry:
    body = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)
    ring = keys_of(factory, create=True)
    lock = _process_lock(factory)
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            with lock:
                return _append_once(factory, ring, username, action, target[:256], body)
        except DBAPIError as e:  # IntegrityError and OperationalError are DBAPIErrors
            if not _transient(e):
                raise
            if time.monotonic() > deadline:
                raise RuntimeError("could not append to the audit log (too much contention)") from e
        time.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 2, 0.25)


@dataclass
class Verdict:
    ok: bool
    entries: int
    head_id: int
    head_hash: str
    problem: str = ""
    bad_id: int | None = None
    unkeyed: int = 0  # entries verified as plain SHA-256 (written before the chain was keyed)


def _walk(factory: sessionmaker[Session], ring: Keyring):
    with factory() as s:
        rows = ((e.id, e.at.replace(tzinfo=None) if e.at.tzinfo else e.at, e.username, e.action, e.target, e.detail,
                 e.prev_hash, e.hash, e.key_id)
                for e in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
        return walk(rows, ring, LOG)


def _stored_hash(factory: sessionmaker[Session], entry_id: int) -> str | None:
    with factory() as s:
        row = s.get(AuditEntry, entry_id)
        return row.hash if row is not None else None


def verify(factory: sessionmaker[Session], expect_head: tuple[int, str] | None = None,
           checkpoint: dict | None = None) -> Verdict:
    """Walk the chain with the home's keys; with ``expect_head`` or a signed ``checkpoint``, also check that
    the chain still reaches and agrees with that head."""
    ring = keys_of(factory)
    w = _walk(factory, ring)
    n, prev_id, prev_hash = w.entries, w.head_seq, w.head_hash
    if w.failure == "missing":
        return Verdict(False, n, prev_id, prev_hash, f"entries {prev_id + 1}..{w.bad_entry[0] - 1} are missing "
                                                     "(deleted)", prev_id + 1, w.unkeyed)
    if w.failure == "broken":
        return Verdict(False, n, prev_id, prev_hash, f"entry {w.bad_seq} does not follow entry {prev_id} "
                                                     "(chain broken: an earlier entry was replaced)", w.bad_seq,
                       w.unkeyed)
    if w.failure == "edited":
        _, _, user, action, _, _ = w.bad_entry
        return Verdict(False, n, prev_id, prev_hash, f"entry {w.bad_seq} was edited ({action} by {user})", w.bad_seq,
                       w.unkeyed)
    if w.failure == "unkeyed":
        return Verdict(False, n, prev_id, prev_hash, f"entry {w.bad_seq} is not keyed, but the log is keyed from "
                                                     f"entry {ring.keyed_from(LOG) or w.bad_seq} (rewritten without "
                                                     "the key)", w.bad_seq, w.unkeyed)
    if w.failure == "nokey":
        return Verdict(False, n, prev_id, prev_hash, f"entry {w.bad_seq} is signed with key {w.key_id}, which this "
                                                     "home does not hold (set RISKGRADE_AUDIT_KEY or restore "
                                                     "keys/audit.key)", w.bad_seq, w.unkeyed)
    if expect_head is not None:
        hid, hh = expect_head
        if prev_id < hid:
            return Verdict(False, n, prev_id, prev_hash, f"the log ends at entry {prev_id}, before the recorded head "
                                                         f"{hid} (entries deleted at the end)", prev_id + 1, w.unkeyed)
        if _stored_hash(factory, hid) != hh:
            return Verdict(False, n, prev_id, prev_hash, f"entry {hid} differs from the recorded head", hid, w.unkeyed)
    if checkpoint is not None:
        hs = checkpoint.get("head_seq") if isinstance(checkpoint, dict) else None
        stored = {hs: _stored_hash(factory, hs)} if isinstance(hs, int) else {}
        why = check_checkpoint(ring, LOG, checkpoint, w, stored)
        if why:
            return Verdict(False, n, prev_id, prev_hash, why, hs if isinstance(hs, int) else None, w.unkeyed)
    return Verdict(True, n, prev_id, prev_hash, unkeyed=w.unkeyed)


def checkpoint(factory: sessionmaker[Session]) -> dict:
    """A signed checkpoint of the chain's head (the chain must verify first)."""
    from ..errors import RiskgradeError

    ring = keys_of(factory, create=True)
    w = _walk(factory, ring)
    if w.failure:
        raise RiskgradeError("the audit log does not verify: run `riskgrade audit verify` before a checkpoint")
    return chain_checkpoint(ring, LOG, w)
