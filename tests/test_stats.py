"""The one PSI: one fixed input through every place that prints or stores a PSI gives one figure.

Input: the training sample's scores fall 5/3/2/0 in four bins (edges 1, 2, 3), a later month's
4/3/2/1 -- the last bin is empty in training, which is where the floor decides the figure.

Before the shared ``riskgrade.stats`` (first version of this file): ``riskgrade monitor`` printed
0.712399 (floor 1e-4) where the model report printed 1.173595 (floor 1e-6).  Both print 1.173595 now:
the floor is ``stats.PSI_FLOOR`` = 1e-6, for the reasons in ``riskgrade/stats.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pytest

from riskgrade import stats

EDGES = [1.0, 2.0, 3.0]
EXPECTED_SCORES = np.array([0.5] * 5 + [1.5] * 3 + [2.5] * 2)
ACTUAL_SCORES = np.array([0.5] * 4 + [1.5] * 3 + [2.5] * 2 + [3.5])
EXPECTED_COUNTS = {"0": 5, "1": 3, "2": 2}
ACTUAL_COUNTS = {"0": 4, "1": 3, "2": 2, "3": 1}
EXPECTED_SHARES = [0.5, 0.3, 0.2, 0.0]
ACTUAL_SHARES = [0.4, 0.3, 0.2, 0.1]
PSI = 1.173595  # the one figure, floor 1e-6
BEFORE_MONITOR = 0.712399  # what `riskgrade monitor` printed with its former floor 1e-4


def test_the_floor_and_the_figure_by_hand() -> None:
    assert stats.PSI_FLOOR == 1e-6
    hand = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.1 - 1e-6) * math.log(0.1 / 1e-6)
    assert round(hand, 6) == PSI
    assert round(stats.psi_shares(EXPECTED_SHARES, ACTUAL_SHARES), 6) == PSI
    assert round(stats.psi_counts(EXPECTED_COUNTS, 10, ACTUAL_COUNTS, 10), 6) == PSI
    assert round(stats.psi_scores(EDGES, EXPECTED_SCORES, ACTUAL_SCORES), 6) == PSI


def test_monitor_prints_the_one_psi() -> None:
    """`riskgrade monitor` (scoring/monitoring.py): formerly 0.712399 with its own floor 1e-4."""
    from riskgrade.scoring import monitoring as mon

    assert round(mon.psi(EXPECTED_COUNTS, 10, ACTUAL_COUNTS, 10), 6) == PSI != BEFORE_MONITOR


def test_model_report_prints_the_one_psi() -> None:
    """The model report's validation PSI and per-indicator PSI (scoring/train.py) are computed by stats itself."""
    from riskgrade import stats
    from riskgrade.scoring import train

    assert train.psi_scores is stats.psi_scores  # the validation PSI of the model record
    assert round(train.psi_scores(EDGES, EXPECTED_SCORES, ACTUAL_SCORES), 6) == PSI


def test_scored_month_psi(tmp_path: Path) -> None:
    """The model record's monthly score PSI written by classify (snapshot.py)."""
    from riskgrade.snapshot import _record_stability

    record = tmp_path / "model.json"
    record.write_text(json.dumps({"details": {"score_edges": EDGES, "train_score_shares": EXPECTED_SHARES}}))
    con = duckdb.connect()
    con.execute("CREATE TABLE scored (score DOUBLE)")
    con.executemany("INSERT INTO scored VALUES (?)", [[float(s)] for s in ACTUAL_SCORES])
    _record_stability(con, object(), record, dt.date(2026, 9, 30))
    assert json.loads(record.read_text())["scored_months"]["2026-09-30"] == pytest.approx(PSI, abs=1e-6)


def test_wilson_and_ranking() -> None:
    lo, hi = stats.wilson(5, 10)
    assert lo == pytest.approx(0.236593, abs=1e-6) and hi == pytest.approx(0.763407, abs=1e-6)
    assert stats.wilson(0, 0) == (None, None)
    y = np.array([0, 0, 1, 1])
    assert stats.weighted_auc(y, np.array([1, 2, 3, 4])) == 1.0
    assert stats.weighted_auc(y, np.array([1, 1, 1, 1])) == 0.5
    assert stats.weighted_ks(y, np.array([1, 2, 3, 4])) == 1.0
    assert stats.benjamini_hochberg([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.04, 0.04])


def test_an_older_monitoring_file_with_epsilon_still_loads(tmp_path: Path) -> None:
    """monitoring.yaml no longer has ``epsilon`` (the floor is stats.PSI_FLOOR); a file that still sets it loads."""
    from riskgrade.scoring import monitoring as mon

    f = tmp_path / "monitoring.yaml"
    f.write_text("version: old\npsi: {watch: 0.1, significant: 0.25, epsilon: 0.0001}\n", encoding="utf-8")
    assert mon.load_monitoring(f).psi.watch == 0.1
    assert mon.load_monitoring().psi.epsilon is None
