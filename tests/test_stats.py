"""PSI pinned: one fixed input through every PSI computation the code has.

Input: the training sample's scores fall 5/3/2/0 in four bins (edges 1, 2, 3), a later month's
4/3/2/1 -- the last bin is empty in training, which is where the floor decides the figure.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest

EDGES = [1.0, 2.0, 3.0]
EXPECTED_SCORES = np.array([0.5] * 5 + [1.5] * 3 + [2.5] * 2)
ACTUAL_SCORES = np.array([0.5] * 4 + [1.5] * 3 + [2.5] * 2 + [3.5])
EXPECTED_COUNTS = {"0": 5, "1": 3, "2": 2}
ACTUAL_COUNTS = {"0": 4, "1": 3, "2": 2, "3": 1}
EXPECTED_SHARES = [0.5, 0.3, 0.2, 0.0]
ACTUAL_SHARES = [0.4, 0.3, 0.2, 0.1]


def test_monitor_psi_today() -> None:
    """`riskgrade monitor` (scoring/monitoring.py, floor 1e-4 from monitoring.yaml)."""
    from riskgrade.scoring import monitoring as mon

    eps = mon.load_monitoring().psi.epsilon
    assert eps == 1e-4
    assert round(mon.psi(EXPECTED_COUNTS, 10, ACTUAL_COUNTS, 10, eps), 6) == 0.712399


def test_model_report_psi_today() -> None:
    """The model report's validation PSI and per-indicator PSI (scoring/train.py, floor 1e-6)."""
    from riskgrade.scoring.train import psi, psi_shares

    assert round(psi(EDGES, EXPECTED_SCORES, ACTUAL_SCORES), 6) == 1.173595
    assert round(psi_shares(EXPECTED_SHARES, ACTUAL_SHARES), 6) == 1.173595


def test_scored_month_psi_today(tmp_path: Path) -> None:
    """The model record's monthly score PSI written by classify (snapshot.py, floor 1e-6)."""
    from riskgrade.snapshot import _record_stability

    record = tmp_path / "model.json"
    record.write_text(json.dumps({"details": {"score_edges": EDGES, "train_score_shares": EXPECTED_SHARES}}))
    con = duckdb.connect()
    con.execute("CREATE TABLE scored (score DOUBLE)")
    con.executemany("INSERT INTO scored VALUES (?)", [[float(s)] for s in ACTUAL_SCORES])
    _record_stability(con, object(), record, dt.date(2026, 9, 30))
    assert json.loads(record.read_text())["scored_months"]["2026-09-30"] == pytest.approx(1.173595, abs=1e-6)
