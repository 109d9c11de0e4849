"""Disposition (处置) of alerts: open -> assigned -> handled -> closed, every step in a hash-chained log.

Where the province's time limits (:mod:`.worklimits`) ask for a sign-off (复核), ``close`` moves a handled
alert to ``review`` (待复核) instead, and a reviewer other than its handlers approves it (``approve`` -> closed)
or returns it (``return`` -> handled, to be handled again), with a note.

``alert_log`` is append-only: each row is ``(seq, logged_at, username, action, alert_id, detail)`` with
``prev_hash`` (the previous row's hash; 64 zeros for the first), ``key_id`` and
``hash = HMAC-SHA256(key, prev_hash + canonical JSON [seq, at, username, action, alert_id, detail, key_id])``
- the one keyed chain of :mod:`riskgrade.chain`, as the registry's audit log (``target`` = the alert id),
with the same keys (``$RISKGRADE_AUDIT_KEY`` or ``<home>/keys/audit.key``), so its entries can be carried
into that log as they are.  Rows written before the chain was keyed (no ``key_id``) verify as plain
SHA-256 up to the keyed-from mark.  Sequence numbers are consecutive: an edited row breaks its own hash,
a deleted one the sequence and the next row's ``prev_hash``; :func:`verify` names the first row that
fails, and checks a signed checkpoint (:func:`checkpoint`) when given one.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from ..chain import GENESIS, Keyring, check_checkpoint, keyring, seal, walk
from ..chain import checkpoint as chain_checkpoint
from ..errors import RiskgradeError
from ..sql import column_exists

LOG = "alert_log"

STATUSES = ("open", "assigned", "handled", "review", "closed", "muted", "uncorroborated")
STATUS_ZH = {"open": "待分办", "assigned": "已分办", "handled": "已处置", "review": "待复核", "closed": "已办结",
             "muted": "已静默", "uncorroborated": "待印证"}
# raised, stored and measured, but outside the open queue, listed for review: muted (a rule measured too weak,
# precision.py) and uncorroborated (a single signal on its entity, corroboration.py)
OUT_OF_QUEUE = ("muted", "uncorroborated")
# disposition actions (处置方式): Chinese word -> code; English codes are accepted as well
DISPOSITIONS = {"提醒": "remind", "警示": "warn", "约谈": "interview", "检查": "inspect"}
DISPOSITION_ZH = {v: k for k, v in DISPOSITIONS.items()}
# step -> (statuses it may start from, status it leads to)
STEPS = {
    "assign": (("open", "assigned", *OUT_OF_QUEUE), "assigned"),  # a muted or uncorroborated one taken up on review
    "handle": (("assigned", "handled"), "handled"),
    "close": (("handled",), "closed"),      # -> review (待复核) when a sign-off is required
    "approve": (("review",), "closed"),     # 复核通过
    "return": (("review",), "handled"),     # 复核退回: handled again, then closed again
}
NEXT_STEP = {"open": "assign", "muted": "assign", "uncorroborated": "assign", "assigned": "handle", "handled": "close", "review": "approve"}
REVIEW_STEPS = ("approve", "return")


def default_user() -> str:
    return os.environ.get("RISKGRADE_USER") or getpass.getuser()


def disposition_code(action: str) -> str:
    a = action.strip()
    if a in DISPOSITIONS:
        return DISPOSITIONS[a]
    if a.lower() in DISPOSITION_ZH:
        return a.lower()
    raise RiskgradeError(f"--action must be one of 提醒, 警示, 约谈, 检查 (or remind, warn, interview, inspect), not {action!r}")


def detail_json(detail: dict) -> str:
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def home_of(con: duckdb.DuckDBPyConnection):
    """The data home of a store connection (the folder of its DuckDB file), where the chain keys live."""
    from pathlib import Path

    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return Path(rows[0][0]).parent if rows and rows[0][0] else None


def keys_of(con: duckdb.DuckDBPyConnection, *, create: bool = False) -> Keyring:
    return keyring(home_of(con), create=create)


def append(con: duckdb.DuckDBPyConnection, entries: list[tuple[str, str, str, dict]],
           at: dt.datetime | None = None) -> int:
    """Append ``(username, action, alert_id, detail)`` entries to the log, chained; returns the last seq."""
    if not entries:
        return 0
    ring = keys_of(con, create=True)
    if not column_exists(con, "alert_log", "key_id"):  # a store written before the chain was keyed
        con.execute("ALTER TABLE alert_log ADD COLUMN key_id VARCHAR")
    last = con.execute("SELECT seq, hash FROM alert_log ORDER BY seq DESC LIMIT 1").fetchall()
    seq, prev = (int(last[0][0]), last[0][1]) if last else (0, GENESIS)
    at = (at or dt.datetime.now()).replace(tzinfo=None)
    cols: dict[str, list] = {k: [] for k in ("seq", "logged_at", "username", "action", "alert_id", "detail", "prev_hash",
                                              "hash", "key_id")}
    for user, action, aid, detail in entries:
        seq += 1
        text = detail_json(detail)
        kid, h = seal(ring, LOG, prev, seq, at, user, action, aid, text)
        for k, v in zip(cols, (seq, at, user, action, aid, text, prev, h, kid)):
            cols[k].append(v)
        prev = h
    con.register("w_log_rows", pa.table({
        "seq": pa.array(cols["seq"], pa.int64()), "logged_at": pa.array(cols["logged_at"], pa.timestamp("us")),
        **{k: pa.array(cols[k], pa.string()) for k in ("username", "action", "alert_id", "detail", "prev_hash", "hash",
                                                       "key_id")},
    }))
    con.execute("INSERT INTO alert_log BY NAME SELECT * FROM w_log_rows")
    con.unregister("w_log_rows")
    return seq


def get_alert(con: duckdb.DuckDBPyConnection, alert_id: str) -> dict:
    rows = con.execute("SELECT * FROM alerts WHERE alert_id = ?", [alert_id]).fetchall()
    if not rows:
        like = con.execute("SELECT alert_id FROM alerts WHERE alert_id LIKE ? ORDER BY alert_id LIMIT 2",
                           [alert_id + "%"]).fetchall() if alert_id else []
        if len(like) == 1:
            return get_alert(con, like[0][0])
        raise RiskgradeError(f"no alert {alert_id!r}: see `riskgrade alerts list`")
    cols = [d[0] for d in con.description]
    return dict(zip(cols, rows[0]))


def handlers(con: duckdb.DuckDBPyConnection, alert_id: str) -> set[str]:
    """Who handled an alert or asked for its closing (since it was last assigned): a reviewer must be none of
    them."""
    rows = con.execute("SELECT username, action FROM alert_log WHERE alert_id = ? ORDER BY seq", [alert_id]).fetchall()
    out: set[str] = set()
    for user, action in rows:
        if action == "assign":
            out = set()
        elif action in ("handle", "close"):
            out.add(user)
    return out


def step(con: duckdb.DuckDBPyConnection, alert_id: str, op: str, user: str, *, to: str | None = None,
         action: str | None = None, note: str = "", review: bool = False) -> dict:
    """Move an alert one step on; refuses a step its status does not allow, with what to do instead.
    ``review``: a ``close`` that needs a sign-off goes to ``review`` (待复核); ``approve`` and ``return`` are
    refused to the alert's own handlers."""
    a = get_alert(con, alert_id)
    starts, target = STEPS[op]
    if op == "close" and review:
        target = "review"
    status = a["status"]
    if status not in starts:
        hint = f"; next: `riskgrade alerts {NEXT_STEP[status]}`" if status in NEXT_STEP else " and cannot change"
        raise RiskgradeError(f"alert {a['alert_id']} is {status} ({STATUS_ZH[status]}): cannot {op} it "
                             f"(open -> assigned -> handled [-> review] -> closed){hint}")
    if op in REVIEW_STEPS and user in handlers(con, a["alert_id"]):
        raise RiskgradeError(f"alert {a['alert_id']}: {user} handled it and cannot review it (复核须由处置人以外的人员进行)")
    detail: dict = {"from": status, "to": target, "note": note}
    if op == "close" and review:
        detail["review_required"] = True
    sets = ["status = ?", "updated_at = ?"]
    now = dt.datetime.now()
    args: list = [target, now]
    if op == "assign":
        if not to or not to.strip():
            raise RiskgradeError("assign needs --to: the unit or person who handles the alert")
        detail["assignee"] = to.strip()
        sets.append("assignee = ?")
        args.append(to.strip())
    elif op == "handle":
        if not action:
            raise RiskgradeError("handle needs --action: 提醒, 警示, 约谈 or 检查")
        code = disposition_code(action)
        detail["action"] = code
        detail["action_zh"] = DISPOSITION_ZH[code]
        sets.append("disposition = ?")
        args.append(code)
    con.execute(f"UPDATE alerts SET {', '.join(sets)} WHERE alert_id = ?", [*args, a["alert_id"]])
    append(con, [(user, op, a["alert_id"], detail)], now)
    return {**a, "status": target}


@dataclass
class Verdict:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    problem: str = ""
    bad_seq: int | None = None


def _walk(con: duckdb.DuckDBPyConnection, ring: Keyring):
    kid = "key_id" if column_exists(con, "alert_log", "key_id") else "NULL AS key_id"
    rows = con.execute(f"SELECT seq, logged_at, username, action, alert_id, detail, prev_hash, hash, {kid} "
                       "FROM alert_log ORDER BY seq").fetchall()
    return walk(rows, ring, LOG)


def verify(con: duckdb.DuckDBPyConnection, checkpoint: dict | None = None) -> Verdict:
    """Walk the log with the home's keys; with a signed ``checkpoint``, also check the log still reaches and
    agrees with its head."""
    ring = keys_of(con)
    w = _walk(con, ring)
    n, prev_seq, prev_hash = w.entries, w.head_seq, w.head_hash
    if w.failure == "missing":
        return Verdict(False, n, prev_seq, prev_hash,
                       f"log entries {prev_seq + 1}..{w.bad_entry[0] - 1} are missing (deleted)", prev_seq + 1)
    if w.failure == "broken":
        return Verdict(False, n, prev_seq, prev_hash,
                       f"log entry {w.bad_seq} does not follow entry {prev_seq} (chain broken)", w.bad_seq)
    if w.failure == "edited":
        seq, _, user, action, aid, _ = w.bad_entry
        return Verdict(False, n, prev_seq, prev_hash,
                       f"log entry {seq} was edited ({action} of alert {aid} by {user})", seq)
    if w.failure == "unkeyed":
        return Verdict(False, n, prev_seq, prev_hash,
                       f"log entry {w.bad_seq} is not keyed, but the log is keyed from entry "
                       f"{ring.keyed_from(LOG) or w.bad_seq} (rewritten without the key)", w.bad_seq)
    if w.failure == "nokey":
        return Verdict(False, n, prev_seq, prev_hash,
                       f"log entry {w.bad_seq} is signed with key {w.key_id}, which this home does not hold "
                       "(set RISKGRADE_AUDIT_KEY or restore keys/audit.key)", w.bad_seq)
    if checkpoint is not None:
        hs = checkpoint.get("head_seq") if isinstance(checkpoint, dict) else None
        stored = {}
        if isinstance(hs, int):
            r = con.execute("SELECT hash FROM alert_log WHERE seq = ?", [hs]).fetchall()
            stored = {hs: r[0][0] if r else None}
        why = check_checkpoint(ring, LOG, checkpoint, w, stored)
        if why:
            return Verdict(False, n, prev_seq, prev_hash, why, hs if isinstance(hs, int) else None)
    return Verdict(True, n, prev_seq, prev_hash)


def checkpoint(con: duckdb.DuckDBPyConnection) -> dict:
    """A signed checkpoint of the log's head (the log must verify first)."""
    ring = keys_of(con, create=True)
    w = _walk(con, ring)
    if w.failure:
        raise RiskgradeError("the alert log does not verify: run `riskgrade alerts verify-log` before a checkpoint")
    return chain_checkpoint(ring, LOG, w)
