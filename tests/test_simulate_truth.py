"""Ground truth of future violation (riskgrade.simulate.truth) and the targeted-inspection pathology."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from riskgrade.simulate import generate
from riskgrade.simulate.events import inspection_outcome_weights
from riskgrade.simulate.truth import (add_months, adverse_probability, expected_auc, sample_violation,
                                     violation_probability)

AS_OF = dt.date(2025, 10, 31)


def q(r: float, shell: bool = False) -> float:
    """Adverse share of one inspection at risk ``r``, straight from the outcome weights."""
    w = inspection_outcome_weights(np.array([r]), np.array([float(shell)]))[0]
    return 1.0 - w[0] / w.sum()


def qv(r: float, shell: bool = False) -> float:
    """Violation share of one inspection at risk ``r`` (problem, unreachable, refused), from the outcome weights."""
    w = inspection_outcome_weights(np.array([r]), np.array([float(shell)]))[0]
    return w[2:5].sum() / w.sum()


# --------------------------------------------------------------------------- adverse_probability
def write_truth(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    table = pa.table({
        "uscc": pa.array(cols["uscc"], pa.string()),
        "base_risk": pa.array(cols["base_risk"], pa.float64()),
        "risk_change_on": pa.array(cols["risk_change_on"], pa.date32()),
        "risk_after": pa.array(cols["risk_after"], pa.float64()),
        "is_shell": pa.array(cols["is_shell"], pa.bool_()),
        "established_on": pa.array(cols["established_on"], pa.date32()),
        "deregistered_on": pa.array(cols["deregistered_on"], pa.date32()),
    })
    pq.write_table(table, folder / "entities.parquet")
    return folder


def row(uscc: str, base: float, change: dt.date | None = None, after: float | None = None, shell: bool = False,
        est: dt.date = dt.date(2020, 1, 1), closed: dt.date | None = None) -> dict:
    return {"uscc": uscc, "base_risk": base, "risk_change_on": change, "risk_after": base if after is None else after,
            "is_shell": shell, "established_on": est, "deregistered_on": closed}


def test_adverse_probability_by_hand(tmp_path: Path) -> None:
    as_of = dt.date(2025, 1, 31)  # window 2025-02-01 .. 2026-01-31: 365 days
    truth = write_truth(tmp_path / "_truth", [
        row("constant", 0.2),
        row("turns", 0.1, dt.date(2025, 8, 1), 0.8),  # 2025-08-01 .. 2026-01-31: 184 of 365 days risky
        row("shell", 0.7, shell=True),
        row("turned_before", 0.1, dt.date(2024, 5, 1), 0.6),
        row("turns_after", 0.1, dt.date(2026, 2, 1), 0.9),
        row("first_day", 0.1, dt.date(2025, 2, 1), 0.9),
        row("last_day", 0.1, dt.date(2026, 1, 31), 0.9),
        row("closed", 0.3, closed=dt.date(2025, 1, 31)),
        row("closes_later", 0.3, closed=dt.date(2025, 2, 1)),
        row("not_yet", 0.3, est=dt.date(2025, 2, 1)),
    ])
    p = adverse_probability(truth, as_of).set_index("uscc")
    assert list(p.columns) == ["p_adverse", "active_at"]
    # closed form at r = 0.2: pass 0.85*0.8^2+0.05 = 0.594 of 0.842305 in all
    assert p.loc["constant", "p_adverse"] == pytest.approx(1 - 0.594 / 0.842305, abs=1e-6)
    assert p.loc["constant", "p_adverse"] == pytest.approx(q(0.2))
    assert p.loc["turns", "p_adverse"] == pytest.approx(181 / 365 * q(0.1) + 184 / 365 * q(0.8))
    assert p.loc["shell", "p_adverse"] == pytest.approx(q(0.7, True))
    assert q(0.7, True) > q(0.7) + 0.05  # shells are mostly unreachable or not operating (0.927 vs 0.848)
    assert p.loc["turned_before", "p_adverse"] == pytest.approx(q(0.6))
    assert p.loc["turns_after", "p_adverse"] == pytest.approx(q(0.1))
    assert p.loc["first_day", "p_adverse"] == pytest.approx(q(0.9))
    assert p.loc["last_day", "p_adverse"] == pytest.approx(364 / 365 * q(0.1) + 1 / 365 * q(0.9))
    assert p["active_at"].to_dict() == {
        "constant": True, "turns": True, "shell": True, "turned_before": True, "turns_after": True,
        "first_day": True, "last_day": True, "closed": False, "closes_later": True, "not_yet": False,
    }
    # a shorter window: 2025-02-01 .. 2025-07-31 is before the change
    assert adverse_probability(truth, as_of, months=6).set_index("uscc").loc["turns", "p_adverse"] == pytest.approx(q(0.1))
    with pytest.raises(ValueError):
        adverse_probability(truth, as_of, months=0)
    # a violation found (problem 2, unreachable 3, refused 4): the same window, fewer results count
    v = violation_probability(truth, as_of).set_index("uscc")
    assert list(v.columns) == ["p_violation", "active_at"] and v["active_at"].equals(p["active_at"])
    # closed form at r = 0.2: problem 0.02+0.35*0.2^1.5, unreachable 0.01+0.2*0.04, refused 0.005+0.01
    assert v.loc["constant", "p_violation"] == pytest.approx((0.02 + 0.35 * 0.2 ** 1.5 + 0.018 + 0.015) / 0.842305,
                                                             abs=1e-6)
    assert v.loc["turns", "p_violation"] == pytest.approx(181 / 365 * qv(0.1) + 184 / 365 * qv(0.8))
    assert v.loc["shell", "p_violation"] == pytest.approx(qv(0.7, True))
    assert (v["p_violation"] < p["p_adverse"]).all()  # an on-the-spot correction or a closed business is not one
    draws = [sample_violation(truth, as_of, seed=s)["violation"].to_numpy() for s in range(400)]
    assert np.array_equal(sample_violation(truth, as_of, seed=5)["violation"], draws[5])
    assert np.mean(draws, axis=0) == pytest.approx(p["p_adverse"].to_numpy(), abs=0.08)


def test_add_months() -> None:
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2025, 10, 31), 12) == dt.date(2026, 10, 31)
    assert add_months(dt.date(2025, 3, 15), -3) == dt.date(2024, 12, 15)


# --------------------------------------------------------------------------- expected_auc
def test_expected_auc_by_hand() -> None:
    # pairs (i != j) weighted p_i (1 - p_j): 3.5 in all, 2.5 ordered right (ties count 1/2)
    scores = np.array([0.9, 0.5, 0.5, 0.1])
    p = np.array([1.0, 0.5, 0.0, 0.5])
    assert expected_auc(scores, p) == pytest.approx(5 / 7)
    assert expected_auc(pd.Series(scores), pd.Series(p)) == pytest.approx(5 / 7)
    assert expected_auc(-scores, p) == pytest.approx(2 / 7)  # reversed: 0.25 (tie) + 0.25 + 0.5 of 3.5
    assert expected_auc(np.zeros(4), p) == pytest.approx(0.5)
    # a perfect ranking of certain labels is 1, not pulled towards 1/2 by an entity's pair with itself
    assert expected_auc(np.array([3.0, 2.0, 1.0]), np.array([1.0, 1.0, 0.0])) == 1.0
    # 0/1 labels: the ordinary ROC AUC, ties included
    rng = np.random.default_rng(1)
    s = np.round(rng.random(500), 1)
    y = (rng.random(500) < 0.3).astype(float)
    assert expected_auc(s, y) == pytest.approx(roc_auc_score(y, s))
    for bad in ([np.nan, 1, 2], [0.1, 0.2]):
        with pytest.raises(ValueError):
            expected_auc(np.array(bad), np.array([0.5, 0.5, 0.5]))
    with pytest.raises(ValueError):
        expected_auc(np.array([1.0, 2.0]), np.array([0.5, 1.5]))
    with pytest.raises(ValueError):
        expected_auc(np.array([1.0, 2.0]), np.array([1.0, 1.0]))


def test_expected_auc_is_the_mean_auc_of_bernoulli_draws() -> None:
    rng = np.random.default_rng(7)
    n, draws = 300, 4000
    p = rng.beta(1.5, 3.0, n)
    scores = np.round(p + rng.normal(0, 0.15, n), 2)  # informative, with ties
    ranks = rankdata(scores)  # average ranks of ties
    y = rng.random((draws, n)) < p
    pos = y.sum(axis=1)
    ok = (pos > 0) & (pos < n)
    auc = ((y * ranks).sum(axis=1) - pos * (pos + 1) / 2)[ok] / (pos * (n - pos))[ok]
    assert abs(auc.mean() - expected_auc(scores, p)) < 0.003  # sampling error of the mean ~0.0006
    assert auc.std() > 0.01  # one draw is noisy; the expectation is not


# --------------------------------------------------------------------------- the pathology
@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """Entities active at AS_OF with truth and what the delivery shows around it (20,000 entities, seed 3)."""
    out = tmp_path_factory.mktemp("truth") / "d"
    generate(out, 20000, 3, fmt="parquet")
    files = sorted(out.glob("events.parquet")) + sorted((out / "events").glob("part-*.parquet"))
    ev = pd.concat([
        pq.read_table(f, columns=["uscc", "event_type", "event_date", "detail"],
                      filters=[("event_type", "in", ["inspection", "abnormal_list_in", "complaint"])]).to_pandas()
        for f in files
    ])
    before, after = add_months(AS_OF, -12).isoformat(), add_months(AS_OF, 12).isoformat()
    year = ev[(ev.event_date > AS_OF.isoformat()) & (ev.event_date <= after)]
    seen = ev[(ev.event_date > before) & (ev.event_date <= after)]
    insp = year[year.event_type == "inspection"]
    listed = seen[(seen.event_type == "abnormal_list_in") & (seen.detail == "no_annual_report")]
    p = adverse_probability(out / "_truth", AS_OF)
    pop = p[p["active_at"]].set_index("uscc")
    pop["inspected"] = pop.index.isin(set(insp.uscc))
    pop["naive"] = pop.index.isin(set(insp[insp.detail != "pass"].uscc))  # uninspected counts as "no problem"
    pop["listed"] = pop.index.isin(set(listed.uscc))  # listed for a missed report in the 2 years around AS_OF
    pop["complained"] = pop.index.isin(set(seen[seen.event_type == "complaint"].uscc))
    assert len(pop) > 15000
    return pop


def test_inspections_target_listed_and_complained_entities(province: pd.DataFrame) -> None:
    pop = province
    inspected = pop[pop.inspected]
    assert 0.08 < pop.inspected.mean() < 0.25  # measured 0.149
    # measured: listed 0.368 of inspected vs 0.166 of all; complained 0.630 vs 0.368
    assert inspected.listed.mean() > 1.8 * pop.listed.mean()
    assert inspected.complained.mean() > 1.4 * pop.complained.mean()
    # measured: 0.330 of listed entities inspected, 0.113 of the others, 0.059 of those neither listed nor complained
    assert pop[pop.listed].inspected.mean() > 2.3 * pop[~pop.listed].inspected.mean()
    quiet = pop[~pop.listed & ~pop.complained]
    assert quiet.inspected.mean() < 0.1
    # risky but quiet entities are seldom looked at (measured 0.062 of the riskiest fifth)
    risky_quiet = quiet[quiet.p_adverse > pop.p_adverse.quantile(0.8)]
    assert len(risky_quiet) > 500 and risky_quiet.inspected.mean() < 0.12


def test_naive_target_understates_risk_of_the_untargeted(province: pd.DataFrame) -> None:
    pop = province
    # measured: naive 0.065 against a true mean of 0.350
    assert pop.naive.mean() < 0.3 * pop.p_adverse.mean()
    quiet = pop[~pop.listed & ~pop.complained]
    listed = pop[pop.listed]
    quiet_ratio = quiet.naive.mean() / quiet.p_adverse.mean()  # measured 0.058
    listed_ratio = listed.naive.mean() / listed.p_adverse.mean()  # measured 0.355
    assert quiet_ratio < 0.12
    assert quiet_ratio < 0.3 * listed_ratio
    # the truth itself is not that different: quiet entities are less risky, not risk-free (0.288 vs 0.542)
    assert quiet.p_adverse.mean() > 0.45 * listed.p_adverse.mean()
