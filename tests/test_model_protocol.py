"""The scoring models follow scikit-learn's conventions and share one output protocol, which the
monthly run uses whatever the model (riskgrade.scoring.base)."""

from __future__ import annotations

import ast
import datetime as dt
import inspect

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from riskgrade import snapshot
from riskgrade.errors import RiskgradeError
from riskgrade.indicators import load_catalog
from riskgrade.scoring import (SCORE_SQL_KEYS, ExpertScorecard, RiskModel, expert_for, load_grading, load_labels,
                               load_scorecard)
from riskgrade.scoring.trained import TrainedScorecard

T = dt.date(2026, 9, 30)
DIRECTIONS = {"penalty_1y": "up", "abnormal_current": "up", "honor_3y": "down", "age_years": "either"}


def _indicators(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    """A month of indicators for every enabled catalog indicator (random, plausible), with the entity
    attributes grades and labels read."""
    rng = np.random.default_rng(seed)
    cat = load_catalog()
    df = pd.DataFrame({"uscc": [f"91370102MA{i:08d}" for i in range(n)], "name": [f"e{i}" for i in range(n)],
                       "entity_type": rng.choice(["enterprise", "individual", "cooperative"], n),
                       "region_code": "370102", "industry_code": rng.choice(["5211", "2710", "6513", "7320"], n),
                       "status": "active", "registered_capital": rng.gamma(2, 50, n)})
    df["industry_section"] = np.where(df["industry_code"].str.startswith("2"), "C", "F")
    for i in cat.enabled:
        if i.code == "type_classification":
            df[i.code] = rng.choice(["development", "growth", "survival", None], n)
        else:
            df[i.code] = rng.poisson(0.3, n).astype(float)
    df["age_years"] = rng.uniform(0, 30, n)
    # an outcome driven by the up indicators and lowered by honours
    eta = -2.5 + 1.2 * df["penalty_1y"] + 1.0 * df["abnormal_current"] - 0.8 * df["honor_3y"]
    df["_y"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    return df


@pytest.fixture(scope="module")
def month() -> pd.DataFrame:
    return _indicators()


@pytest.fixture(scope="module")
def models(month: pd.DataFrame) -> dict[str, RiskModel]:
    X = month[list(DIRECTIONS)]
    trained = TrainedScorecard(directions=DIRECTIONS, selection_iv=0.0).fit(X, month["_y"])
    return {"expert": expert_for(load_catalog()), "trained": trained}


# --------------------------------------------------------------------------- scikit-learn conventions
def test_clone_and_get_params_round_trip() -> None:
    expert = ExpertScorecard(config=load_scorecard(), directions=DIRECTIONS, calibration=[2.0, -3.0])
    trained = TrainedScorecard(pdo=40.0, max_n_bins=4, directions=DIRECTIONS, forced=["penalty_1y"])
    for m in (expert, trained):
        params = m.get_params()
        twin = clone(m)
        assert type(twin) is type(m) and twin is not m
        assert twin.get_params().keys() == params.keys()
        for k, v in params.items():
            assert repr(twin.get_params()[k]) == repr(v), k
        assert type(m)(**params).get_params().keys() == params.keys()
        assert repr(m).startswith(type(m).__name__ + "(") and len(repr(m)) < 1200
    # the configuration is a parameter, stored as given: __init__ does no work
    cfg = load_scorecard()
    assert ExpertScorecard(config=cfg).config is cfg
    assert ExpertScorecard(config=cfg.model_dump()).set_params(calibration=None).get_params()["config"] == cfg.model_dump()
    assert "version='" in repr(ExpertScorecard(config=cfg))  # a readable repr, not every band


def test_a_fitted_clone_is_unfitted_and_refits_the_same(models: dict, month: pd.DataFrame) -> None:
    for name, m in models.items():
        twin = clone(m)
        with pytest.raises(NotFittedError):
            twin.score_sql()
        X = month if name == "expert" else month[list(DIRECTIONS)]
        twin.fit(list(month.columns) if name == "expert" else X, None if name == "expert" else month["_y"])
        assert twin.score_sql() == m.score_sql()


@pytest.mark.parametrize("model", [ExpertScorecard(config=load_scorecard()), TrainedScorecard()],
                         ids=["expert", "trained"])
def test_not_fitted_error_before_fit(model, month: pd.DataFrame) -> None:
    for use in (lambda m: m.score_sql(), lambda m: m.predict_score(month), lambda m: m.predict_risk(month)):
        with pytest.raises(NotFittedError):
            use(model)


def test_expert_fit_validates_and_reads_no_file(monkeypatch) -> None:
    # configuration from a loader outside fit; fit reads nothing
    from riskgrade import config as configuration

    cfg = load_scorecard()
    monkeypatch.setattr(configuration, "read_yaml", lambda *a, **k: pytest.fail("fit read a file"))
    codes = list(cfg.points)
    m = ExpertScorecard(config=cfg.model_dump()).fit(codes)
    assert m.version_ == cfg.version and m.base_ == float(cfg.base) and m.selected_ == list(m.bands_)
    with pytest.raises(ValueError, match="configuration"):
        ExpertScorecard().fit(codes)
    with pytest.raises(RiskgradeError, match="unknown or disabled"):
        ExpertScorecard(config=cfg).fit(codes[1:])
    with pytest.raises(RiskgradeError, match="direction down"):
        ExpertScorecard(config=cfg, directions={codes[0]: "down"}).fit(codes)
    # the earlier call (directions given to fit) still works
    with pytest.raises(RiskgradeError, match="direction down"):
        ExpertScorecard(config=cfg).fit(codes, directions={codes[0]: "down"})


# --------------------------------------------------------------------------- one output protocol
def test_both_models_give_the_same_output_columns(models: dict, month: pd.DataFrame) -> None:
    con = duckdb.connect()
    con.register("month", month)
    shapes = {}
    for name, m in models.items():
        assert isinstance(m, RiskModel)
        q = m.score_sql()
        assert tuple(sorted(q)) == tuple(sorted(SCORE_SQL_KEYS)), name
        sql = ", ".join(f"{q[k]} AS {k}" for k in SCORE_SQL_KEYS)
        rel = con.sql(f"SELECT {sql} FROM month")
        shapes[name] = [(c, str(t)) for c, t in zip(rel.columns, rel.types)]
        out = rel.fetchdf()
        # the engine computes what the model computes on arrays
        np.testing.assert_allclose(out["score"], m.predict_score(month), atol=0.011)
        p = m.predict_risk(month)
        np.testing.assert_allclose(out["probability"].to_numpy(dtype=float), p, rtol=1e-6, atol=1e-9)
        # score = clip(base + reasons' points), reasons non-zero and most points first
        total = out["base"] + out["reasons"].map(lambda r: sum(x["points"] for x in r))
        np.testing.assert_allclose(out["score"], np.clip(total, 0, 1000), atol=0.011)
        np.testing.assert_allclose(out["raw"], total, atol=0.011)
        for r in out["reasons"].head(200):
            pts = [x["points"] for x in r]
            assert all(x != 0 for x in pts) and pts == sorted(pts, reverse=True)
    assert shapes["expert"] == shapes["trained"]
    assert dict(shapes["expert"])["reasons"] == "STRUCT(points DOUBLE, code VARCHAR)[]"


def test_expert_probability_with_a_calibration(month: pd.DataFrame) -> None:
    cat = load_catalog()
    m = clone(expert_for(cat)).set_params(calibration=[3.0, -4.0]).fit([i.code for i in cat.enabled])
    s = m.predict_score(month)
    np.testing.assert_allclose(m.predict_risk(month), 1 / (1 + np.exp(-(3.0 * s / 1000 - 4.0))))
    out = duckdb.connect().execute(f"SELECT {m.score_sql()['probability']} AS p FROM month").fetchdf()
    np.testing.assert_allclose(out["p"], m.predict_risk(month), rtol=1e-9)


def test_predict_proba_has_scikit_learns_shape(models: dict, month: pd.DataFrame) -> None:
    """predict_proba: (n, 2), the columns P(good) and P(bad) summing to 1, classes_ 0 and 1; predict_risk is
    its second column."""
    cat = load_catalog()
    calibrated = clone(expert_for(cat)).set_params(calibration=[3.0, -4.0]).fit([i.code for i in cat.enabled])
    for m in (models["trained"], calibrated):
        pp = m.predict_proba(month)
        assert pp.shape == (len(month), 2) and list(m.classes_) == [0, 1]
        np.testing.assert_allclose(pp.sum(axis=1), 1.0)
        np.testing.assert_allclose(pp[:, 1], m.predict_risk(month))


def test_stored_models_load_through_the_protocol(models: dict, tmp_path) -> None:
    import pickle

    from riskgrade.scoring import lifecycle

    (tmp_path / "m1.pkl").write_bytes(pickle.dumps(models["trained"]))
    (tmp_path / "m2.pkl").write_bytes(pickle.dumps({"not": "a model"}))
    (tmp_path / "m3.pkl").write_bytes(pickle.dumps(TrainedScorecard()))
    m = lifecycle.load(tmp_path, "m1")
    assert m.score_sql() == models["trained"].score_sql()
    for bad in ("m2", "m3"):
        with pytest.raises(RiskgradeError, match="not a fitted scoring model"):
            lifecycle.load(tmp_path, bad)


# --------------------------------------------------------------------------- the snapshot uses them identically
def _setup(model) -> snapshot.RunSetup:
    catalog = load_catalog()
    grading = load_grading()
    setup = snapshot.RunSetup(T, catalog, expert_for(catalog), grading, load_labels(), None, None, "expert", "",
                              "v", "fp", config_grading=grading)
    setup.use(model, "v", "test")
    return setup


def test_the_snapshot_uses_either_model_through_the_protocol(models: dict, month: pd.DataFrame) -> None:
    con = duckdb.connect()
    con.register("month", month)
    shapes = {}
    for name, m in models.items():
        setup = _setup(m)
        assert setup.chosen == name and setup.base == m.base_
        rel = con.sql(setup.scored_sql("month"))
        shapes[name] = [(c, str(t)) for c, t in zip(rel.columns, rel.types)]
        out = rel.fetchdf()
        np.testing.assert_allclose(out["score"], m.predict_score(month), atol=0.011)
        assert set(out["_grade"]) <= set("ABCD")
    assert shapes["expert"] == shapes["trained"]


def test_the_snapshot_takes_any_model_of_the_protocol(month: pd.DataFrame) -> None:
    """A model the snapshot has never heard of, with only the protocol, grades the month."""

    class Flat:
        name = "flat"
        base_ = 600.0
        selected_: list[str] = []

        def fit(self, X, y=None):
            return self

        def predict_score(self, X):
            return np.full(len(X), 600.0)

        def predict_risk(self, X):
            return np.full(len(X), 0.5)

        def predict_proba(self, X):
            return np.full((len(X), 2), 0.5)

        def score_sql(self):
            return {"score": "600.0", "probability": "0.5", "reasons": "CAST([] AS STRUCT(points DOUBLE, code VARCHAR)[])",
                    "raw": "600.0", "base": "600.0"}

    assert isinstance(Flat(), RiskModel)
    con = duckdb.connect()
    con.register("month", month)
    out = con.sql(_setup(Flat()).scored_sql("month")).fetchdf()
    assert (out["score"] == 600.0).all() and set(out["_grade"]) <= {"C", "D"}


def test_snapshot_never_branches_on_the_model_type() -> None:
    """No isinstance, no TrainedScorecard and no trained-only attribute in the monthly run: it asks the
    model for its SQL, base and selected indicators."""
    src = inspect.getsource(snapshot)
    tree = ast.parse(src)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert "isinstance" not in names and "TrainedScorecard" not in names
    assert "trained" not in attrs  # RunSetup.model, not RunSetup.trained
    for attr in ("coef_", "bands_", "binning_"):
        assert attr not in attrs, attr
