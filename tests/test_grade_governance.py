"""A grade a regulator can sign: declared outcomes and weights, directions, true reasons that add up,
floors that keep the indefensible out of A, the governed model lifecycle, calibrated expectations."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskgrade.errors import RiskgradeError
from riskgrade.indicators import compute_indicators, load_catalog
from riskgrade.ingest import ingest
from riskgrade.scoring import lifecycle
from riskgrade.scoring.outcomes import load_outcomes
from riskgrade.snapshot import classify
from riskgrade.warehouse import Warehouse

from .conftest import ENTITY_HEADER, EVENT_HEADER, make_usccs, run_cli, write_csv

T = dt.date(2026, 9, 30)


# --------------------------------------------------------------------------- outcome and weights by hand
def test_outcome_definition_on_a_hand_made_delivery(tmp_path: Path) -> None:
    """Each entity's observed-for-all outcome, inspection and adverse inspection result in the window
    (T0, T0 + 12 months], known by the classification date, as the outcome definition says."""
    from riskgrade.scoring.train import _frame

    u = make_usccs(6)
    t0 = dt.date(2025, 9, 30)
    write_csv(tmp_path / "d" / "entities.csv", ENTITY_HEADER, [
        [x, f"主体{i}", "enterprise", "370102", "5211", "2018-01-01", "active", f"{i}号"] for i, x in enumerate(u)])
    write_csv(tmp_path / "d" / "events.csv", EVENT_HEADER, [
        ["p1", u[0], "admin_penalty", "2026-01-05", "2026-01-06", "市场监管局", "fine", "5000", ""],   # observed for all
        ["i1", u[1], "inspection", "2026-02-01", "2026-02-02", "general", "unreachable", "", ""],      # adverse result
        ["i2", u[2], "inspection", "2026-03-01", "2026-03-02", "general", "pass", "", ""],             # inspected, fine
        ["i3", u[3], "inspection", "2025-09-01", "2025-09-02", "general", "problem", "", ""],          # before the window
        ["i4", u[4], "inspection", "2026-08-01", "2026-10-15", "general", "refused", "", ""],          # reported too late
        ["c1", u[5], "complaint", "2026-01-01", "2026-01-01", "12315", "quality", "1", ""],           # off by default
    ])
    home = tmp_path / "h"
    ingest(home, tmp_path / "d", today=dt.date(2026, 11, 1))
    with Warehouse(home, write=True) as wh:
        compute_indicators(wh.con, load_catalog(), t0, table="x")
        df = _frame(wh.con, "x", t0, T, load_outcomes()).set_index("uscc")
    got = {x: tuple(int(df.loc[x, c]) for c in ("_obs", "_insp", "_res", "_bad")) for x in u}
    assert got == {u[0]: (1, 0, 0, 1), u[1]: (0, 1, 1, 1), u[2]: (0, 1, 0, 0), u[3]: (0, 0, 0, 0),
                   u[4]: (0, 0, 0, 0), u[5]: (0, 0, 0, 0)}


def test_weights_computed_by_hand() -> None:
    """Observed-for-all outcomes are bad at weight 1; the rest are represented by their inspected, each
    weighted by 1 / (chance of inspection) and normalised to the number they stand for; nobody
    uninspected is counted as "no problem".  The naive and Horvitz-Thompson targets for comparison."""
    from riskgrade.scoring.train import weigh

    df = pd.DataFrame({
        "x": np.arange(10, dtype=float),
        "_obs": [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
        "_insp": [0, 1, 1, 1, 1, 1, 0, 0, 0, 0],
        "_res": [0, 0, 1, 0, 0, 1, 0, 0, 0, 0],
        "_pi": [np.nan] * 5 + [0.5] + [np.nan] * 4,  # entity 5 was drawn by a recorded plan with probability 0.5
    })
    df["_bad"] = ((df["_obs"] == 1) | (df["_res"] == 1)).astype(int)
    oc = load_outcomes()
    oc = oc.model_copy(update={"weighting": oc.weighting.model_copy(update={"trim_quantile": 0.0, "min_propensity": 0.01})})
    fitted = {2: 0.5, 3: 0.5, 4: 0.25, 5: 0.25, 6: 0.25, 7: 0.25, 8: 0.25, 9: 0.25}

    def fake_propensity(X, inspected):
        return np.array([fitted[int(i)] for i in X["x"]])

    w = weigh(df, ["x"], oc, propensity_fn=fake_propensity)
    # rows: the two with an observed outcome, then the four inspected without one (2, 3, 4, 5)
    assert w.keep.tolist() == [0, 1, 2, 3, 4, 5]
    assert w.y.tolist() == [1, 1, 1, 0, 0, 1]
    # 1/p: 2, 2, 4, and for entity 5 the larger of the fitted 0.25 and the plan's 0.5 -> 2; the eight
    # entities without an observed outcome are stood for by these four: weights * 8 / (2 + 2 + 4 + 2)
    np.testing.assert_allclose(w.w, [1, 1, 1.6, 1.6, 3.2, 1.6])
    assert w.w[2:].sum() == pytest.approx(8)
    naive = weigh(df, ["x"], oc, "naive")
    assert naive.keep.tolist() == list(range(10)) and naive.y.tolist() == df["_bad"].tolist()
    assert (naive.w == 1).all()
    ht = weigh(df, ["x"], oc, "horvitz_thompson")
    np.testing.assert_allclose(ht.w, [1, 1, 1, 1, 1, 2, 1, 1, 1, 1])


def test_weighted_auc_and_bootstrap_by_hand() -> None:
    from riskgrade.scoring.train import bootstrap_auc
    from riskgrade.stats import weighted_auc

    y = np.array([1, 0, 1, 0])
    s = np.array([0.9, 0.8, 0.3, 0.1])
    # pairs (pos, neg): (0.9, 0.8) ok, (0.9, 0.1) ok, (0.3, 0.8) wrong, (0.3, 0.1) ok -> 3/4
    assert weighted_auc(y, s) == pytest.approx(0.75)
    # the positive at 0.3 counted twice: pairs weighted 1,1,2,2 -> (1 + 1 + 0 + 2) / 6
    assert weighted_auc(y, s, np.array([1, 1, 2, 1])) == pytest.approx(4 / 6)
    assert weighted_auc(np.array([1, 0]), np.array([0.5, 0.5])) == pytest.approx(0.5)  # a tie is half
    rng = np.random.default_rng(1)
    yy = (rng.random(4000) < 0.3).astype(int)
    good = yy + rng.normal(0, 1, 4000)
    noise = rng.normal(0, 1, 4000)
    b = bootstrap_auc(yy, np.ones(4000), {"good": good, "noise": noise}, [("good", "noise")], reps=100)
    d = b["diff"]["good-noise"]
    assert d["low"] > 0.1 and d["low"] < d["value"] < d["high"]
    assert b["auc"]["noise"]["low"] < 0.5 < b["auc"]["noise"]["high"]
    # KS with its interval too: the weighted KS of the score, inside its interval
    from riskgrade.stats import weighted_ks

    k = b["ks"]["good"]
    assert k["value"] == pytest.approx(weighted_ks(yy, good), abs=1e-9) and k["low"] <= k["value"] <= k["high"]
    assert weighted_ks(y, s) == pytest.approx(0.5)  # by hand: after 0.9 tpr 1/2, fpr 0; after 0.8 1/2, 1/2; ...


# --------------------------------------------------------------------------- a simulated province
@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("gov")
    run_cli("simulate", "--entities", "6000", "--seed", "9", "--out", str(root / "d"), home=root / "x")
    run_cli("ingest", str(root / "d"), home=root / "h")
    return root / "d", root / "h"


@pytest.fixture(scope="module")
def trained(province: tuple[Path, Path]):
    """The month classified with a freshly trained scorecard (what an approval would freeze)."""
    _, home = province
    res = classify(home, T, model="trained")
    return res


def _grades(home: Path, sid: int) -> pd.DataFrame:
    with Warehouse(home) as wh:
        return wh.con.execute(f"SELECT * FROM grades WHERE snapshot_id = {sid} ORDER BY uscc").fetchdf()


def _indicators(home: Path) -> pd.DataFrame:
    with Warehouse(home, write=True) as wh:
        compute_indicators(wh.con, load_catalog(), T)
        return wh.con.execute("SELECT * FROM indicators ORDER BY uscc").fetchdf().set_index("uscc")


def test_every_bin_of_the_trained_model_follows_the_catalog(province, trained) -> None:
    import pickle

    _, home = province
    assert trained.model == "trained"
    with Warehouse(home) as wh:
        version = wh.con.execute("SELECT model_version FROM snapshots WHERE snapshot_id = ?",
                                 [trained.snapshot_id]).fetchall()[0][0]
    model = pickle.loads((home / "models" / f"{version}.pkl").read_bytes())
    directions = {i.code: i.risk_direction for i in load_catalog().enabled}
    assert model.selected_
    for name in model.selected_:
        b = model.bins_(name)
        pts = [model.factor_ * model.coef_[name] * w for w in b["woe"]]
        if b["kind"] == "numerical" and directions.get(name) == "up":
            assert all(y >= x - 1e-9 for x, y in zip(pts, pts[1:])), (name, pts)
        if b["kind"] == "numerical" and directions.get(name) == "down":
            assert all(y <= x + 1e-9 for x, y in zip(pts, pts[1:])), (name, pts)
    record = json.loads((home / "models" / f"{version}.json").read_text(encoding="utf-8"))
    assert all(d["ok"] for d in record["details"]["directions"])
    assert set(record["details"]["left_out"]) | set(record["selected"]) >= set(model.features_) - {"entity_type"}
    assert record["details"]["outcomes"]["inspection"]["results"] == ["corrected", "problem", "unreachable", "refused",
                                                                      "not_operating"]


@pytest.mark.parametrize("model", ["trained", "expert"])
def test_reasons_are_true_and_add_up(province, trained, model) -> None:
    """Over every entity: score = base + the listed contributions, exactly (then clipped to 0..1000); a
    positive contribution of an up indicator needs a value above its reference, of a down indicator a
    value below it; negative contributions (factors that lowered the risk) likewise the other way."""
    _, home = province
    res = trained if model == "trained" else classify(home, T, model="expert")
    g = _grades(home, res.snapshot_id)
    ind = _indicators(home)
    cat = {i.code: i for i in load_catalog().enabled}
    refs = {}
    if model == "trained":
        import pickle

        with Warehouse(home) as wh:
            version = wh.con.execute("SELECT model_version FROM snapshots WHERE snapshot_id = ?",
                                     [res.snapshot_id]).fetchall()[0][0]
        refs = pickle.loads((home / "models" / f"{version}.pkl").read_bytes()).references_
    checked = 0
    for r in g.itertuples():
        items = json.loads(r.reason_points)
        raw = round(r.score_base + sum(x["points"] for x in items), 2)
        assert r.score == pytest.approx(min(1000.0, max(0.0, raw)), abs=0.006), r.uscc
        positive = [x["code"] for x in items if x["points"] > 0]
        assert (r.reasons or "").split(";")[: len(positive[:5])] == positive[:5] or not positive
        for x in items:
            ind_ = cat[x["code"]] if x["code"] in cat else None
            if ind_ is None or ind_.risk_direction == "either":
                continue
            v = ind.loc[r.uscc, x["code"]]
            ref = refs.get(x["code"], ind_.reference if ind_.reference is not None else 0.0)
            assert v is not None and not pd.isna(v), (r.uscc, x)  # no data is never a reason
            raises = (x["points"] > 0) == (ind_.risk_direction == "up")
            assert (v > ref) if raises else (v < ref) or (v > ref and ind_.risk_direction == "down"), (r.uscc, x, v, ref)
            checked += 1
    assert checked > 1000


@pytest.mark.parametrize("model", ["trained", "expert"])
def test_never_a(province, trained, model) -> None:
    """On the serious-dishonesty list, listed for an unreachable address, or two years without an annual
    report: never grade A (override floors in grading.yaml)."""
    _, home = province
    res = trained if model == "trained" else classify(home, T, model="expert")
    g = _grades(home, res.snapshot_id).set_index("uscc")
    ind = _indicators(home)
    for code in ("serious_dishonest_current", "abnormal_unreachable_current", "ar_missing_2y"):
        who = ind.index[ind[code] == 1]
        assert len(who) > 0, code
        assert not (g.loc[who, "grade"] == "A").any(), code


# --------------------------------------------------------------------------- lifecycle
def _record(models: Path, model_id: str, *, better_expert: bool, versus: str | None = None,
            better_approved: bool | None = None) -> None:
    models.mkdir(parents=True, exist_ok=True)
    details = {"bootstrap": {"diff": {"trained-expert": {"value": 0.01, "low": 0.005 if better_expert else -0.01,
                                                         "high": 0.02}}}}
    if versus:
        details["versus_approved"] = {"model_id": versus, "better": better_approved, "value": 0.0, "low": 0.0,
                                      "high": 0.0, "churn": 0.01}
    (models / f"{model_id}.json").write_text(json.dumps({
        "as_of": "2026-09-30", "train_as_of": "2024-09-30", "validate_as_of": "2025-09-30", "catalog_version": "x",
        "auc_trained": 0.7, "auc_expert": 0.69, "better_than_expert": better_expert, "details": details,
        "reason": "test"}), encoding="utf-8")


def test_approval_and_the_margin_rule(tmp_path: Path) -> None:
    import duckdb

    models = tmp_path / "models"
    con = duckdb.connect()
    _record(models, "m1", better_expert=False)
    with pytest.raises(RiskgradeError, match="not better than the expert scorecard"):
        lifecycle.approve(con, models, "m1", "admin")
    with pytest.raises(RiskgradeError, match="--note"):
        lifecycle.approve(con, models, "m1", "admin", force=True)
    _record(models, "m2", better_expert=True)
    assert "approved" in lifecycle.approve(con, models, "m2", "admin")
    assert lifecycle.approved_id(con) == "m2"
    # a candidate within the margin of the approved model does not replace it
    _record(models, "m3", better_expert=True, versus="m2", better_approved=False)
    with pytest.raises(RiskgradeError, match="not better than the approved m2"):
        lifecycle.approve(con, models, "m3", "admin")
    assert lifecycle.approved_id(con) == "m2"
    # compared with another model than the approved one: train again first
    _record(models, "m4", better_expert=True, versus="m1", better_approved=True)
    with pytest.raises(RiskgradeError, match="compared with m1"):
        lifecycle.approve(con, models, "m4", "admin")
    _record(models, "m5", better_expert=True, versus="m2", better_approved=True)
    assert "m2 retired" in lifecycle.approve(con, models, "m5", "admin")
    assert "forced" in lifecycle.approve(con, models, "m3", "admin", force=True, note="sign-off of 2026-12-01")
    status = {r["model_id"]: r["status"] for r in lifecycle.list_models(con)}
    assert status == {"m2": "retired", "m3": "approved", "m5": "retired"} | {k: v for k, v in status.items() if k in ("m1", "m4")}
    log = con.execute("SELECT model_id, action FROM model_log WHERE action LIKE 'approve%' ORDER BY logged_at, rowid").fetchall()
    assert [a for _, a in log] == ["approve", "approve", "approve_forced"]


def test_approved_model_trains_nothing_and_changes_no_grade(province, trained, monkeypatch) -> None:
    """With an approved model classify never retrains; the same month twice on the same data changes 0 grades."""
    _, home = province
    with Warehouse(home, write=True) as wh:
        version = wh.con.execute("SELECT model_version FROM snapshots WHERE snapshot_id = ?",
                                 [trained.snapshot_id]).fetchall()[0][0]
        lifecycle.approve(wh.con, home / "models", version, "test", force=True, note="test sign-off")

    def no_training(*a, **k):
        raise AssertionError("classify trained a model although one is approved")

    monkeypatch.setattr("riskgrade.scoring.train.train_and_choose", no_training)
    monkeypatch.setattr("riskgrade.scoring.train.train_candidate", no_training)
    a = classify(home, T)
    b = classify(home, T)
    assert a.model == "trained" and version in a.model_reason and "not retrained" in a.model_reason
    assert a.content_hash == b.content_hash
    ga, gb = _grades(home, a.snapshot_id), _grades(home, b.snapshot_id)
    assert (ga["grade"].to_numpy() == gb["grade"].to_numpy()).all()
    assert (ga["grade"].to_numpy() == _grades(home, trained.snapshot_id)["grade"].to_numpy()).all()
    # a model much older than the month: a recommendation, never a swap
    later = classify(home, dt.date(2028, 1, 31))
    assert later.model == "trained" and version in later.model_reason
    assert any("more than 12 months" in w and "retraining is recommended" in w for w in later.warnings)
    # significant drift under the approved model: a recommendation too
    monkeypatch.setattr("riskgrade.scoring.monitoring.after_classify",
                        lambda *a, **k: ["warning: model drift against 2026-08-31 (snapshot 1): significant: score PSI 0.400"])
    drifted = classify(home, T)
    assert drifted.model == "trained" and version in drifted.model_reason
    assert any("significant drift under the model" in w for w in drifted.warnings)


def test_cli_model_train_list_approve_card(province, tmp_path: Path) -> None:
    _, home = province
    card = tmp_path / "card.html"
    p = run_cli("model", "train", "--as-of", "2026-09-30", "--card", str(card), home=home)
    model_id = p.stdout.strip().splitlines()[-1]
    assert model_id.startswith("trained-2026-09-30-")
    assert "against the approved" in p.stderr and "would change" in p.stderr
    assert card.exists() and "<html" in card.read_text(encoding="utf-8")
    rows = json.loads(run_cli("model", "list", "--json", home=home).stdout)
    assert any(r["model_id"] == model_id and r["status"] in ("candidate", "approved") for r in rows)
    p = run_cli("model", "approve", model_id, "--force", "--note", "CLI sign-off", home=home)
    assert "approved" in p.stderr
    audit = run_cli("audit", "list", "--limit", "5", home=home).stdout
    assert "model_approve" in audit and "model_train" in audit
    p = run_cli("classify", "--as-of", "2026-09-30", home=home)
    assert f"approved model {model_id}" in p.stderr


# --------------------------------------------------------------------------- calibrated expectations
def test_plan_expectation_matches_effectiveness(province, trained, tmp_path: Path) -> None:
    """plan's expected findings (the calibrated chance an inspection finds an adverse result) within 15% of
    what effectiveness then counts on simulated results."""
    d, home = province
    run_cli("plan", "--as-of", "2026-09-30", "--budget", "900", "--seed", "7", "--out", str(tmp_path / "p.csv"),
            home=home)
    with Warehouse(home) as wh:
        pid = wh.con.execute("SELECT max(plan_id) FROM plans").fetchall()[0][0]
    run_cli("simulate-results", "--plan", str(pid), "--delivery", str(d), "--out", str(tmp_path / "r.csv"), home=home)
    run_cli("results", "import", str(tmp_path / "r.csv"), "--plan", str(pid), home=home)
    m = json.loads(run_cli("effectiveness", "--plan", str(pid), "--out", str(tmp_path / "e.json"), home=home) and
                   (tmp_path / "e.json").read_text(encoding="utf-8"))
    assert m["expected_found"] is not None and m["found"] > 50
    assert abs(m["expected_found"] - m["found"]) <= 0.15 * m["found"], (m["expected_found"], m["found"])
    for g in m["grades"]:
        assert g["expected"] is not None


# --------------------------------------------------------------------------- fusion that acts
def test_fused_domain_left_out_falls_back_to_result_fusion() -> None:
    import duckdb

    from riskgrade.indicators.domains import load_fusion
    from riskgrade.scoring import fusion as fu

    fusion = load_fusion()
    catalog = load_catalog(fusion=fusion)
    assert fusion.mode_of("food") == "indicator"
    con = duckdb.connect()
    fu.record_snapshot(con, 1, catalog, fusion)
    fu.record_snapshot(con, 2, catalog, fusion, left_out={"domain_food_level"})
    assert fu.effective(con, 1, T, "food", fusion) == ("indicator", "domain_food_level")
    assert fu.effective(con, 2, T, "food", fusion) == ("overlay", None)


def test_a_fused_domain_that_changes_nobody_is_reported(tmp_path: Path) -> None:
    """A delivery without professional-domain grades: the food domain (fused by indicator by default)
    changes nobody's score, and classify says so instead of recording it silently."""
    from .test_classify import TODAY, _delivery

    home = tmp_path / "h"
    ingest(home, _delivery(tmp_path / "d"), today=TODAY)
    res = classify(home, T, model="expert")
    assert any("fused domain food (domain_food_level) changed nobody's score" in w for w in res.warnings)
    p = run_cli("classify", "--as-of", "2026-09-30", "--model", "expert", home=home)
    assert "changed nobody's score" in p.stderr


def test_fused_domain_in_the_trained_model(province, trained) -> None:
    """With the trained model the fused domain's indicator is forced in (direction-constrained): it adds
    points to the entities with a risky domain grade, or, when the data do not support it, the month
    falls back to result fusion and says so."""
    _, home = province
    with Warehouse(home) as wh:
        version = wh.con.execute("SELECT model_version FROM snapshots WHERE snapshot_id = ?",
                                 [trained.snapshot_id]).fetchall()[0][0]
        moved = wh.con.execute(f"SELECT count(*) FROM grades WHERE snapshot_id = {trained.snapshot_id} "
                               "AND reason_points LIKE '%domain_food_level%'").fetchall()[0][0]
    record = json.loads((home / "models" / f"{version}.json").read_text(encoding="utf-8"))
    fused = record["details"]["fused_domains"]
    assert "domain_food_level" in fused["forced"]
    if "domain_food_level" in fused["kept"]:
        assert moved > 0
    else:
        assert any("domain_food_level" in w and "overlay" in w for w in trained.warnings)
