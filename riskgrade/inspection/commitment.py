"""Seed commitments: the seed of a draw is fixed, and its hash published, before the population is sealed.

``riskgrade seed commit --as-of D [--task T] --seed S`` records a commitment for the plans of one task and
month, before any of them is drawn.  Two hashes are published in advance:

* ``commitment = sha256("riskgrade-seed/1|<as_of>|<task>|<seed>")`` (``<task>``: the task id, or
  ``general``).  When the draw is published the seed is revealed, and anyone recomputes this line's hash;
* ``salt_commitment = sha256("riskgrade-draw-salt/1|<salt>")``.  The salt is 128 random bits made here and
  kept inside the system (sealed package only).  The draw keys are ``sha256("<seed>|<salt>|<uscc>")``, so
  that the revealed seed does not let a reader compute the keys: with them, a drawn entity's key would
  show how large its stratum's sampling rate is, that is its grade (docs/security-disclosure.md).

``make_plan`` refuses a seed that does not hash to the commitment of its task and month, and uses the
commitment's salt.  A plan drawn without a commitment is internal: it cannot be published.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import duckdb

from ..errors import RiskgradeError

SCHEMA = """
CREATE TABLE IF NOT EXISTS seed_commitments (
    commitment VARCHAR, task_id INTEGER, as_of DATE, salt VARCHAR, salt_commitment VARCHAR, source VARCHAR,
    created_at TIMESTAMP
);
"""


@dataclass(frozen=True)
class Commitment:
    commitment: str
    task_id: int | None
    as_of: dt.date
    salt: str
    salt_commitment: str
    source: str
    created_at: dt.datetime

    def public(self) -> dict:
        """What is published in advance (never the salt)."""
        return {"scheme": "riskgrade-seed/1", "as_of": self.as_of.isoformat(), "task": task_word(self.task_id),
                "commitment": self.commitment, "salt_commitment": self.salt_commitment, "source": self.source,
                "committed_at": self.created_at.isoformat()}


def task_word(task_id: int | None) -> str:
    return "general" if task_id is None else str(int(task_id))


def seed_commitment(seed: str, as_of: dt.date, task_id: int | None) -> str:
    return hashlib.sha256(f"riskgrade-seed/1|{as_of.isoformat()}|{task_word(task_id)}|{seed}".encode()).hexdigest()


def salt_commitment(salt: str) -> str:
    return hashlib.sha256(f"riskgrade-draw-salt/1|{salt}".encode()).hexdigest()


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


def commit(con: duckdb.DuckDBPyConnection, seed: str, as_of: dt.date, task_id: int | None, source: str = "") -> Commitment:
    """Record the commitment of a task's month (one per task and month; the caller holds the transaction)."""
    ensure_schema(con)
    if not str(seed):
        raise RiskgradeError("--seed: empty")
    if find(con, as_of, task_id) is not None:
        raise RiskgradeError(f"a seed is already committed for task {task_word(task_id)} as of {as_of}: "
                             "a commitment cannot be replaced")
    salt = secrets.token_hex(16)
    c = Commitment(seed_commitment(str(seed), as_of, task_id), task_id, as_of, salt, salt_commitment(salt),
                   source, dt.datetime.now().replace(microsecond=0))
    con.execute("INSERT INTO seed_commitments VALUES (?, ?, ?, ?, ?, ?, ?)",
                [c.commitment, task_id, as_of, salt, c.salt_commitment, source, c.created_at])
    return c


def find(con: duckdb.DuckDBPyConnection, as_of: dt.date, task_id: int | None) -> Commitment | None:
    """The commitment of a task's month, or None."""
    from ..sql import table_exists

    if not table_exists(con, "seed_commitments"):
        return None
    rows = con.execute("SELECT commitment, task_id, as_of, salt, salt_commitment, source, created_at "
                       "FROM seed_commitments WHERE as_of = ? AND task_id IS NOT DISTINCT FROM ? "
                       "ORDER BY created_at LIMIT 1", [as_of, task_id]).fetchall()
    return Commitment(*rows[0]) if rows else None


def by_hash(con: duckdb.DuckDBPyConnection, commitment: str) -> Commitment | None:
    from ..sql import table_exists

    if not table_exists(con, "seed_commitments"):
        return None
    rows = con.execute("SELECT commitment, task_id, as_of, salt, salt_commitment, source, created_at "
                       "FROM seed_commitments WHERE commitment = ?", [commitment]).fetchall()
    return Commitment(*rows[0]) if rows else None
