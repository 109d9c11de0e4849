"""The governed model lifecycle (模型管理): candidates, approval, the approved model classify uses.

``riskgrade model train`` stores a candidate (``<home>/models/<id>.pkl`` and its record ``.json``) and
lists it in the table ``models``; ``riskgrade model approve ID`` makes it the approved model (the one
before is retired) when it is better out of time (the 95% interval of its AUC gain over the approved
model, or over the expert scorecard when none is approved, lies above the configured margin), or when
an administrator forces it with a note.  Every step is in ``model_log`` and in the registry's audit
chain (the CLI records it).  With an approved model, ``classify`` never trains: the month's grades
change only with the records, never with a silent retraining.
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
from pathlib import Path

import duckdb

from ..errors import RiskgradeError
from ..sql import table_exists

SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    model_id VARCHAR, status VARCHAR, created_at TIMESTAMP, as_of DATE, train_as_of DATE, validate_as_of DATE,
    catalog_version VARCHAR, outcomes_version VARCHAR, auc DOUBLE, auc_expert DOUBLE, gain_low DOUBLE,
    better_than_expert BOOLEAN, versus_approved VARCHAR, better_than_approved BOOLEAN,
    approved_at TIMESTAMP, approved_by VARCHAR, note VARCHAR
);
CREATE TABLE IF NOT EXISTS model_log (
    logged_at TIMESTAMP, model_id VARCHAR, action VARCHAR, by_user VARCHAR, note VARCHAR
);
"""
STATUSES = ("candidate", "approved", "retired")


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def record(models_dir: Path, model_id: str) -> dict:
    path = models_dir / f"{model_id}.json"
    if not path.exists():
        raise RiskgradeError(f"no model {model_id} in {models_dir}: `riskgrade model list` shows the models")
    return json.loads(path.read_text(encoding="utf-8"))


def load(models_dir: Path, model_id: str):
    """A stored model, fitted, with the models' one output protocol (:mod:`.base`)."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    from .base import RiskModel

    path = models_dir / f"{model_id}.pkl"
    if not path.exists():
        raise RiskgradeError(f"no model {model_id} in {models_dir}: `riskgrade model list` shows the models")
    model = pickle.loads(path.read_bytes())
    try:
        if not isinstance(model, RiskModel):
            raise TypeError
        check_is_fitted(model, "selected_")
    except (TypeError, NotFittedError):
        raise RiskgradeError(f"{path}: not a fitted scoring model") from None
    return model


def register(con: duckdb.DuckDBPyConnection, models_dir: Path, model_id: str, by: str) -> None:
    """List a stored candidate (idempotent: a model trained again with the same result keeps its row)."""
    ensure(con)
    if con.execute("SELECT count(*) FROM models WHERE model_id = ?", [model_id]).fetchall()[0][0]:
        return
    r = record(models_dir, model_id)
    va = (r.get("details") or {}).get("versus_approved") or {}
    gain = ((r.get("details") or {}).get("bootstrap") or {}).get("diff", {}).get("trained-expert", {})
    con.execute("INSERT INTO models VALUES (?, 'candidate', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)", [
        model_id, _now(), r.get("as_of"), r.get("train_as_of"), r.get("validate_as_of"), r.get("catalog_version"),
        (r.get("details") or {}).get("outcomes_version"), r.get("auc_trained"), r.get("auc_expert"), gain.get("low"),
        bool(r.get("better_than_expert")), va.get("model_id"), va.get("better")])
    con.execute("INSERT INTO model_log VALUES (?, ?, 'train', ?, ?)", [_now(), model_id, by, r.get("reason", "")])


def approved_id(con: duckdb.DuckDBPyConnection) -> str | None:
    if not _has(con):
        return None
    rows = con.execute("SELECT model_id FROM models WHERE status = 'approved' ORDER BY approved_at DESC LIMIT 1").fetchall()
    return rows[0][0] if rows else None


def approved_row(con: duckdb.DuckDBPyConnection) -> dict | None:
    if not _has(con):
        return None
    cur = con.execute("SELECT * FROM models WHERE status = 'approved' ORDER BY approved_at DESC LIMIT 1")
    cols = [d[0] for d in cur.description]
    rows = cur.fetchall()
    return dict(zip(cols, rows[0])) if rows else None


def approve(con: duckdb.DuckDBPyConnection, models_dir: Path, model_id: str, by: str, *, force: bool = False,
            note: str = "") -> str:
    """Make ``model_id`` the approved model; returns what was decided.  Refused, unless ``force`` with a
    note, when the candidate is not better than the approved model (or, with none approved, than the
    expert scorecard) beyond the margin, or was compared with another model than the one approved now."""
    ensure(con)
    rows = con.execute("SELECT status, better_than_expert, versus_approved, better_than_approved FROM models "
                       "WHERE model_id = ?", [model_id]).fetchall()
    if not rows:
        register(con, models_dir, model_id, by)
        rows = con.execute("SELECT status, better_than_expert, versus_approved, better_than_approved FROM models "
                           "WHERE model_id = ?", [model_id]).fetchall()
    status, better_expert, versus, better_approved = rows[0]
    if status == "approved":
        return f"{model_id} is already the approved model"
    current = approved_id(con)
    why_not = None
    if current is None and not better_expert:
        why_not = "it is not better than the expert scorecard beyond the margin out of time"
    elif current is not None and versus != current:
        why_not = (f"it was compared with {versus or 'no approved model'}, not with the approved {current}: train it "
                   "again (`riskgrade model train`) to compare it with the approved model")
    elif current is not None and not better_approved:
        why_not = f"it is not better than the approved {current} beyond the margin out of time"
    if why_not and not force:
        raise RiskgradeError(f"model {model_id} not approved: {why_not} (an administrator may --force with a --note)")
    if why_not and not note.strip():
        raise RiskgradeError("--force needs a --note saying why the model is approved anyway")
    now = _now()
    if current:
        con.execute("UPDATE models SET status = 'retired' WHERE model_id = ?", [current])
        con.execute("INSERT INTO model_log VALUES (?, ?, 'retire', ?, ?)", [now, current, by, f"replaced by {model_id}"])
    con.execute("UPDATE models SET status = 'approved', approved_at = ?, approved_by = ?, note = ? WHERE model_id = ?",
                [now, by, note, model_id])
    con.execute("INSERT INTO model_log VALUES (?, ?, ?, ?, ?)",
                [now, model_id, "approve_forced" if why_not else "approve", by, note or ""])
    return (f"{model_id} approved" + (f" (forced: {why_not})" if why_not else "")
            + (f"; {current} retired" if current else ""))


def _has(con: duckdb.DuckDBPyConnection) -> bool:
    return table_exists(con, "models")


def list_models(con: duckdb.DuckDBPyConnection) -> list[dict]:
    if not _has(con):
        return []
    cur = con.execute("SELECT * FROM models ORDER BY created_at, model_id")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def recommendation(row: dict, as_of: dt.date, max_age_months: int) -> str | None:
    """A recommendation to retrain when the approved model is older than ``max_age_months``."""
    from ..dates import add_months

    trained = row.get("as_of")
    if trained and trained < add_months(as_of, -max_age_months, keep_month_end=True):
        return (f"the approved model {row['model_id']} was trained as of {trained}, more than {max_age_months} months "
                f"before {as_of}: retraining is recommended (`riskgrade model train --as-of {as_of}`, then review "
                "and approve); it keeps grading until a new model is approved")
    return None
