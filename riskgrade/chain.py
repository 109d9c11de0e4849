"""The hash chain of the append-only logs: the registry's audit log and the alert log.

Each entry is ``(seq, at, username, action, target, detail)`` with ``prev_hash`` (the previous entry's
hash; :data:`GENESIS` for the first) and ``hash = sha256(prev_hash + canonical JSON of the entry)``.
Sequence numbers are consecutive: an edited entry breaks its own hash, a deleted one the sequence and
the next entry's ``prev_hash``.  :func:`walk` finds the first entry that fails; each log words it.
Both logs use the same form, so an alert log entry can be carried into the audit log as it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS = "0" * 64


def canonical(seq: int, at: dt.datetime, username: str, action: str, target: str, detail: str) -> str:
    return json.dumps([seq, at.isoformat(timespec="microseconds"), username, action, target, detail],
                      ensure_ascii=False, separators=(",", ":"))


def entry_hash(prev_hash: str, seq: int, at: dt.datetime, username: str, action: str, target: str,
               detail: str) -> str:
    return hashlib.sha256((prev_hash + canonical(seq, at, username, action, target, detail)).encode()).hexdigest()


@dataclass
class Walk:
    """The result of walking a chain: entries read, the last good entry (head), and the first failure."""
    entries: int
    head_seq: int
    head_hash: str
    failure: str | None = None  # "missing" (a gap in seq), "broken" (prev_hash differs), "edited" (hash differs)
    bad_seq: int | None = None
    bad_entry: tuple | None = None  # (seq, at, username, action, target, detail) of the failing entry


def walk(rows: Iterable[tuple]) -> Walk:
    """Check ``(seq, at, username, action, target, detail, prev_hash, hash)`` rows, in seq order."""
    prev_seq, prev_hash, n = 0, GENESIS, 0
    for seq, at, user, action, target, detail, ph, h in rows:
        n += 1
        entry = (seq, at, user, action, target, detail)
        if seq != prev_seq + 1:
            return Walk(n, prev_seq, prev_hash, "missing", prev_seq + 1, entry)
        if ph != prev_hash:
            return Walk(n, prev_seq, prev_hash, "broken", seq, entry)
        if entry_hash(ph, seq, at, user, action, target, detail) != h:
            return Walk(n, prev_seq, prev_hash, "edited", seq, entry)
        prev_seq, prev_hash = seq, h
    return Walk(n, prev_seq, prev_hash)
