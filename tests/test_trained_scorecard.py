"""The trained scorecard component (the code path the product uses) on real public data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def german():
    pd = pytest.importorskip("pandas")
    path = DATA / "germancredit.csv"
    if not path.exists():
        pytest.skip("../shared/data/germancredit.csv is not beside the repository")
    df = pd.read_csv(path)
    y = (df.pop("creditability") == "bad").astype(int).to_numpy()
    from sklearn.model_selection import train_test_split

    return train_test_split(df, y, test_size=0.3, stratify=y, random_state=0)


GERMAN_DIRECTIONS = {"duration_in_month": "up", "credit_amount": "up", "age_in_years": "down",
                     "installment_rate_in_percentage_of_disposable_income": "up",
                     "number_of_existing_credits_at_this_bank": "up", "present_residence_since": "either"}


def test_every_bin_follows_the_declared_direction(german) -> None:
    """With declared directions, no bin of the fitted scorecard gives points against them; an indicator the
    data cannot fit in its direction is left out and says why; the reference bin scores 0."""
    from riskgrade.scoring.trained import TrainedScorecard

    Xtr, Xte, ytr, yte = german
    # one indicator declared against what the data say (older borrowers are safer here): it cannot be kept
    dirs = {**GERMAN_DIRECTIONS, "age_in_years": "up"}
    m = TrainedScorecard(directions=dirs).fit(Xtr, ytr)
    assert "age_in_years" not in m.selected_ and "age_in_years" in m.left_out_
    m = TrainedScorecard(directions=GERMAN_DIRECTIONS).fit(Xtr, ytr)
    for name in m.selected_:
        b = m.bins_(name)
        pts = [m.factor_ * m.coef_[name] * w for w in b["woe"]]
        d = GERMAN_DIRECTIONS.get(name, "either")
        if b["kind"] == "numerical" and d == "up":
            assert all(y >= x - 1e-9 for x, y in zip(pts, pts[1:])), (name, pts)
        if b["kind"] == "numerical" and d == "down":
            assert all(y <= x + 1e-9 for x, y in zip(pts, pts[1:])), (name, pts)
        assert m.coef_[name] <= 0  # points follow the bins' own bad rates
    assert all(r["ok"] for r in m.direction_check_)
    # up and down indicators are measured from 0 (no condition): a positive contribution needs a value above it
    c = m.contributions(Xte)
    for name in ("duration_in_month", "credit_amount"):
        if name in c:
            assert (c[name][Xte[name].to_numpy(dtype=float) <= 0] <= 0).all()
    assert TrainedScorecard(directions=GERMAN_DIRECTIONS).fit(Xtr, ytr).get_params()["directions"] == GERMAN_DIRECTIONS


def test_german_credit_auc_and_ks(german) -> None:
    from sklearn.metrics import roc_auc_score, roc_curve

    from riskgrade.scoring.trained import TrainedScorecard

    Xtr, Xte, ytr, yte = german
    m = TrainedScorecard().fit(Xtr, ytr)
    p = m.predict_risk(Xte)
    auc = roc_auc_score(yte, p)
    fpr, tpr, _ = roc_curve(yte, p)
    assert auc >= 0.80, auc
    assert np.max(tpr - fpr) >= 0.45
    s = m.predict_score(Xte)
    assert s.min() >= 0 and s.max() <= 1000
    assert roc_auc_score(yte, s) == pytest.approx(auc, abs=0.002)  # the score ranks like the probability (riskier = higher)
    # PDO scaling: +50 points doubles the odds of a bad outcome (the score is the sum of contributions
    # rounded to the cent, so to within the rounding of each)
    p2 = np.clip(p, 1e-9, 1 - 1e-9)
    odds = p2 / (1 - p2)
    inside = (s > 0) & (s < 1000)
    np.testing.assert_allclose(s[inside], 500 + 50 / np.log(2) * np.log(odds[inside] * 19), atol=1e-6)
    with_dirs = TrainedScorecard(directions=GERMAN_DIRECTIONS).fit(Xtr, ytr)
    assert roc_auc_score(yte, with_dirs.predict_risk(Xte)) >= 0.79  # directions cost little on real data


def test_reasons_and_weights(german) -> None:
    from riskgrade.scoring.trained import TrainedScorecard

    Xtr, Xte, ytr, yte = german
    m = TrainedScorecard().fit(Xtr, ytr)
    reasons = m.reasons(Xte.head(50))
    assert len(reasons) == 50
    for r in reasons:
        assert all(code in m.selected_ for code, _ in r)
        pts = [p for _, p in r]
        assert pts == sorted(pts, reverse=True) and all(p > 0 for p in pts)
    # sample weights (inverse inclusion probabilities) change the fit
    w = np.where(ytr == 1, 3.0, 1.0)
    mw = TrainedScorecard().fit(Xtr, ytr, sample_weight=w)
    assert mw.base_rate_ > m.base_rate_
    assert not np.allclose(mw.predict_risk(Xte), m.predict_risk(Xte))


def test_sql_export_scores_like_the_model(german) -> None:
    """The scorecard exported as SQL (what classify runs in the engine) gives the model's probabilities,
    scores, reasons and bin indices, missing values and an unseen category included."""
    import duckdb

    from riskgrade.scoring.trained import TrainedScorecard

    Xtr, Xte, ytr, yte = german
    m = TrainedScorecard().fit(Xtr, ytr)
    X = Xte.reset_index(drop=True).copy()
    import pandas as pd

    num = [c for c in m.selected_ if pd.api.types.is_numeric_dtype(X[c])]
    cat = [c for c in m.selected_ if c not in num]
    assert num and cat
    X[num] = X[num].astype(float)
    X.loc[::7, num[0]] = np.nan  # missing values
    X.loc[::11, cat[0]] = None
    X.loc[::13, cat[0]] = "never seen in training"
    for c in num:  # the exact split values: bins are left-closed
        splits = m.bins_(c)["splits"]
        X.loc[: len(splits) - 1, c] = splits[: min(len(splits), len(X))]
    con = duckdb.connect()
    con.register("x", X)
    q = m.score_sql()
    got = con.execute(f"SELECT {q['probability']}, {q['score']}, {q['reasons']}, {q['raw']} FROM x").fetchall()
    np.testing.assert_allclose([r[0] for r in got], m.predict_risk(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose([r[1] for r in got], m.predict_score(X), atol=1e-6)
    contrib = m.contributions(X)
    for i, (_, score, sql_items, raw) in enumerate(got):
        want = sorted(((round(float(v[i]), 2), k) for k, v in contrib.items() if v[i] != 0), reverse=True)
        assert sorted(((r["points"], r["code"]) for r in sql_items), reverse=True) == want
        # the score is the base plus the listed contributions, exactly (to the cent), then clipped
        assert raw == pytest.approx(m.base_ + sum(r["points"] for r in sql_items), abs=1e-9)
        assert score == pytest.approx(min(1000.0, max(0.0, raw)), abs=1e-9)
    idx = m.binning_.transform(X[m.features_], metric="indices", metric_missing="empirical", metric_special="empirical")
    for c in m.selected_:
        sql_idx = [r[0] for r in con.execute(f"SELECT {m.bin_index_sql(c)} FROM x").fetchall()]
        assert sql_idx == idx[c].tolist(), c
