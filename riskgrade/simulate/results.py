"""Simulated inspection results for a drawn plan, from the province's ground truth.

Each planned entity is inspected on a working day 1-40 working days after the plan's as-of date
(never after ``today``), and the result follows the same law as the simulated history
(:func:`.events.inspection_outcome_weights` of its latent risk on that day).  Written in the
contract's events format, ready for ``riskgrade results import``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .. import contract
from ..errors import RiskgradeError
from .draws import categorical
from .events import inspection_outcome_weights


def simulate_results(truth_dir: Path, plan: list[tuple[str, str]], as_of: dt.date, *, seed: int = 1,
                     plan_id: int = 0, today: dt.date | None = None) -> pa.Table:
    """``plan``: (uscc, check_mode) of the planned entities; ``truth_dir``: the delivery's ``_truth``."""
    path = Path(truth_dir) / "entities.parquet"
    if not path.exists():
        raise RiskgradeError(f"no ground truth at {path}: give the simulated delivery's folder")
    truth = pq.read_table(path, columns=["uscc", "base_risk", "risk_change_on", "risk_after", "is_shell"]).to_pandas()
    truth = truth.set_index("uscc")
    usccs = [u for u, _ in plan if u in truth.index]
    if not usccs:
        raise RiskgradeError("none of the plan's entities is in this ground truth (another province?)")
    today = today or dt.date.today()
    mix = int(hashlib.sha256(f"{seed}|{plan_id}|{as_of}".encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(mix)
    t = truth.loc[usccs]
    start = np.datetime64(as_of)
    days = np.busday_offset(start, rng.integers(1, 41, len(usccs)), roll="forward")
    days = np.minimum(days, np.datetime64(today))
    change = t["risk_change_on"].to_numpy(dtype="datetime64[D]")
    r = np.where(~np.isnat(change) & (days >= change), t["risk_after"].to_numpy(), t["base_risk"].to_numpy())
    outcome = categorical(rng, inspection_outcome_weights(r, t["is_shell"].to_numpy()))
    codes = np.array(contract.DETAIL_CODES["inspection"], dtype=object)
    reported = np.minimum(np.busday_offset(days, rng.integers(0, 6, len(usccs)), roll="forward"), np.datetime64(today))
    return pa.table({
        "record_id": [f"JG{plan_id:04d}-{i:07d}" for i in range(len(usccs))],
        "uscc": usccs,
        "event_type": ["inspection"] * len(usccs),
        "event_date": pa.array(days.astype("datetime64[D]"), pa.date32()),
        "reported_on": pa.array(reported.astype("datetime64[D]"), pa.date32()),
        "source": ["general"] * len(usccs),
        "detail": list(codes[outcome]),
    })


def write_results(table: pa.Table, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        pq.write_table(table, out)
    elif out.suffix.lower() == ".csv":
        pacsv.write_csv(table, out)
    else:
        raise RiskgradeError(f"{out}: write simulated results as .csv or .parquet")
    return out
