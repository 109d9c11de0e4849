"""Model monitoring: PSI of the score and of each indicator between months, grade stability, drift alerts, report."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest

from riskgrade.errors import RiskgradeError
from riskgrade.ingest import ingest
from riskgrade.scoring import monitoring as mon
from riskgrade.snapshot import classify
from riskgrade.warehouse import Warehouse

from .conftest import ENTITY_HEADER, EVENT_HEADER, make_usccs, write_csv

TODAY = dt.date(2026, 11, 21)
T1, T2, T3 = dt.date(2026, 8, 31), dt.date(2026, 9, 30), dt.date(2026, 10, 31)
U = make_usccs(10)
EPS = 1e-6  # riskgrade.stats.PSI_FLOOR
# 4 of 10 entities are fined in September: penalty_1y (and the score's bin) moves from {0: 1.0} to {0: 0.6, 1: 0.4}
HAND_PSI = (0.6 - 1.0) * math.log(0.6 / 1.0) + (0.4 - EPS) * math.log(0.4 / EPS)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("monitoring")
    d = root / "d"
    write_csv(d / "entities.csv", ENTITY_HEADER, [
        [u, f"主体{k}", "enterprise", "370102", "5211", "2018-01-01", "active", f"{k}号"] for k, u in enumerate(U)])
    ev = []
    for k, u in enumerate(U):
        ev += [[f"a{k}-1", u, "annual_report", "2025-04-01", "2025-04-01", "市场监管局", "2024", "100", ""],
               [f"a{k}-2", u, "annual_report", "2026-04-01", "2026-04-01", "市场监管局", "2025", "100", ""]]
        if k < 4:
            ev.append([f"p{k}", u, "admin_penalty", "2026-09-10", "2026-09-11", "市场监管局", "fine", "1000", ""])
    write_csv(d / "events.csv", EVENT_HEADER, ev)
    h = root / "h"
    ingest(h, d, today=TODAY)
    said: dict[dt.date, list[str]] = {}
    for t in (T1, T3):
        said[t] = []
        classify(h, t, model="expert", progress=said[t].append)
        if t == T1:  # September through the command line: its warning goes to stderr
            from typer.testing import CliRunner

            from riskgrade.cli import app

            r = CliRunner().invoke(app, ["classify", "--as-of", T2.isoformat(), "--model", "expert", "--home", str(h)])
            assert r.exit_code == 0, r.output
            said[T2] = [line.split(" ", 1)[1] for line in r.stderr.splitlines() if " " in line]
    return h, said


def _sid(con, as_of: dt.date) -> int:
    return con.execute("SELECT max(snapshot_id) FROM snapshots WHERE as_of = ?", [as_of]).fetchall()[0][0]


def test_psi_against_a_hand_computation() -> None:
    assert mon.psi({"0": 10}, 10, {"0": 6, "1": 4}, 10) == pytest.approx(HAND_PSI)
    assert mon.psi({"a": 5, "b": 5}, 10, {"a": 50, "b": 50}, 100) == 0
    # (0.2 - 0.5) ln(0.2 / 0.5) + (0.8 - 0.5) ln(0.8 / 0.5)
    assert mon.psi({"a": 1, "b": 1}, 2, {"a": 1, "b": 4}, 5) == pytest.approx(-0.3 * math.log(0.4) + 0.3 * math.log(1.6))


def test_fixed_bins() -> None:
    import duckdb

    con = duckdb.connect()
    vals = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 19, 20, 0.3, 0.25, -4, 1000, 999.9, 35000, None]
    got = [r[0] for r in con.execute(f"SELECT {mon.bin_sql('x')} FROM unnest(?::DOUBLE[]) t(x)", [vals]).fetchall()]
    want = [0, 1, 2, 3, 3, 5, 5, 7, 7, 10, 10, 20, 0.3, 0.2, -3, 1000, 700, 30000, None]
    assert [None if g is None else round(g, 9) for g in got] == want
    scores = [0, 49.99, 50, 120, 999.5, 1000]
    got = [r[0] for r in con.execute(f"SELECT {mon.score_bin_sql(50, 's')} FROM unnest(?::DOUBLE[]) t(s)", [scores]).fetchall()]
    assert got == [0, 0, 50, 100, 950, 950]


def test_a_large_province_is_profiled_on_a_fixed_sample() -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE scored AS SELECT range AS bucket, range % 7 AS x, range % 1000 AS score FROM range(4096)")
    cfg = mon.MonitoringConfig(version="t", profile_max_entities=1000)
    assert mon.sample_where(4096, 1000) == "WHERE bucket < 1000" and mon.sample_where(1000, 1000) == ""
    mon.record_profiles(con, 1, T1, ["x"], cfg)
    rows = con.execute("SELECT variable, entities, sample FROM snapshot_profiles ORDER BY variable").fetchall()
    assert rows == [("score", 1000, "bucket < 1000"), ("x", 1000, "bucket < 1000")]


def test_profiles_and_psi_between_months(home: tuple[Path, dict]) -> None:
    h, _ = home
    cfg = mon.load_monitoring()
    with Warehouse(h) as wh:
        con = wh.con
        s1, s2 = _sid(con, T1), _sid(con, T2)
        prof = {(r[0], r[1]): (r[2], r[3], json.loads(r[4])) for r in con.execute(
            "SELECT kind, variable, entities, missing, bins FROM snapshot_profiles WHERE snapshot_id = ?", [s2]).fetchall()}
        assert prof[("indicator", "penalty_1y")] == (10, 0, {"0": 6, "1": 4})
        assert prof[("indicator", "penalty_fine_3y")][2] == {"0": 6, "1000": 4}
        assert prof[("score", "score")][2] == {"100": 6, "200": 4}  # 120 and 240
        assert prof[("indicator", "insured_latest")][1:] == (10, {"(missing)": 10})
        rep = mon.compare(con, s2, T2, cfg)
    assert rep["previous"] == {"as_of": "2026-08-31", "snapshot_id": s1}
    assert rep["score"] == {"psi": round(HAND_PSI, 6), "level": "significant"}
    psi = {i["code"]: i["psi"] for i in rep["indicators"]}
    assert psi["penalty_1y"] == psi["penalty_3y"] == psi["penalty_fine_3y"] == round(HAND_PSI, 6)
    assert psi["age_years"] == 0 and psi["online"] == 0
    assert rep["indicators"][0]["psi"] == round(HAND_PSI, 6)  # largest first
    # grade stability: the 4 fined entities went from A to B
    assert {k: rep["grades"][k] for k in ("entities_both", "kept", "kept_share", "up", "down", "new", "gone")} == {
        "entities_both": 10, "kept": 6, "kept_share": 0.6, "up": 4, "down": 0, "new": 0, "gone": 0}
    assert rep["grades"]["level"] == "significant"  # 0.6 < 0.8
    assert rep["changes"] == [] and rep["indicators_added"] == rep["indicators_dropped"] == []


def test_drift_alert_fires_above_the_bound_and_not_below(home: tuple[Path, dict], tmp_path: Path) -> None:
    h, said = home
    # classify printed one warning line in September, none in August (nothing to compare) or October (no change)
    assert [m for m in said[T1] if "drift" in m] == [] and [m for m in said[T3] if "drift" in m] == []
    (line,) = [m for m in said[T2] if m.startswith("warning: model drift")]
    assert "against 2026-08-31" in line and "score PSI 5.364" in line and "grade kept share 0.600" in line
    with Warehouse(h) as wh:
        con = wh.con
        s2, s3 = _sid(con, T2), _sid(con, T3)
        recorded = {(r[0], r[1]): (r[2], r[3]) for r in con.execute(
            "SELECT variable, measure, level, bound FROM drift_alerts WHERE snapshot_id = ?", [s2]).fetchall()}
        assert recorded[("score", "psi")] == ("significant", 0.25) and recorded[("penalty_1y", "psi")][0] == "significant"
        assert recorded[("grade", "kept_share")] == ("significant", 0.8)
        assert ("age_years", "psi") not in recorded
        assert con.execute("SELECT count(*) FROM drift_alerts WHERE snapshot_id = ?", [s3]).fetchall()[0][0] == 0
        october = mon.compare(con, s3, T3, mon.load_monitoring())
        assert october["score"]["psi"] == 0 and october["grades"]["kept_share"] == 1.0 and october["alerts"] == []

        def levels(watch: float, significant: float, kept=(0.5, 0.4)) -> dict:
            f = tmp_path / "m.yaml"
            f.write_text(f"version: t\npsi: {{watch: {watch}, significant: {significant}}}\n"
                         f"grade_stability: {{watch: {kept[0]}, significant: {kept[1]}}}\n", encoding="utf-8")
            rep = mon.compare(con, s2, T2, mon.load_monitoring(f))
            return {a["variable"]: a["level"] for a in rep["alerts"]}

        just_above, just_below = HAND_PSI + 0.001, HAND_PSI - 0.001
        assert levels(just_above, just_above + 1) == {}  # the PSI is not above the bound: no alert
        assert levels(just_below, just_above)["score"] == "watch"
        assert levels(1.0, just_below)["score"] == "significant"
        assert levels(just_above, just_above + 1, kept=(0.61, 0.59)) == {"grade": "watch"}
        assert levels(just_above, just_above + 1, kept=(0.9, 0.6)) == {"grade": "watch"}  # 0.6 is not below 0.6


def test_monitor_command(home: tuple[Path, dict]) -> None:
    from typer.testing import CliRunner

    from riskgrade.cli import app

    h, _ = home
    r = CliRunner().invoke(app, ["monitor", "--as-of", "2026-09-30", "--json", "--home", str(h)])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["score"]["psi"] == round(HAND_PSI, 6) and rep["grades"]["up"] == 4
    assert {a["variable"] for a in rep["recorded_alerts"]} >= {"score", "penalty_1y", "grade"}
    assert [x["as_of"] for x in rep["history"]] == ["2026-08-31", "2026-09-30"]
    r = CliRunner().invoke(app, ["monitor", "--as-of", "2026-09-30", "--home", str(h)])
    assert r.exit_code == 0 and "penalty_1y" in r.stdout and "significant" in r.stdout and "60.0%" in r.stdout


@pytest.mark.parametrize(("text", "message"), [
    ("version: x\npsi: {watch: 0.3, significant: 0.2}\n", "watch must be below significant"),
    ("version: x\ngrade_stability: {watch: 0.7, significant: 0.8}\n", "significant must be below watch"),
    ("version: x\nalert_from: always\n", "alert_from"),
    ("version: x\npsi: {watch: -1}\n", "psi.watch"),
])
def test_configuration_errors(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(RiskgradeError, match="bad.yaml") as e:
        mon.load_monitoring(f)
    assert message in str(e.value)


def _record() -> dict:
    """A trained model's record with what the report needs."""
    return {
        "model_id": "trained-2026-09-30-abcd1234", "catalog_version": "2026.12-1", "used": "trained",
        "train_as_of": "2024-09-30", "validate_as_of": "2025-09-30", "train_rows": 1000, "train_bad": 150,
        "validate_rows": 1100, "validate_bad": 160, "auc_trained": 0.71, "ks_trained": 0.3, "auc_expert": 0.7,
        "ks_expert": 0.29, "auc_challenger": None, "reason": "trained scorecard", "weighting": "none",
        "cutoffs": {"B": 300, "C": 500, "D": 700}, "scored_months": {},
        "details": {"roc": {"trained": [[0, 0], [1, 1]], "expert": [[0, 0], [1, 1]]}, "psi_validation": 0.01,
                    "grades_validation": [], "bins": []},
    }


def test_model_report_has_the_monitoring_section(home: tuple[Path, dict], tmp_path: Path) -> None:
    from riskgrade.scoring.card import render_model_card

    h, _ = home
    record = tmp_path / "trained-2026-09-30-abcd1234.json"
    record.write_text(json.dumps(_record()), encoding="utf-8")
    with Warehouse(h) as wh:
        rep = mon.compare(wh.con, _sid(wh.con, T2), T2, mon.load_monitoring())
        mon.update_model_record(wh.con, record, rep)  # what classify does for a trained model
    rec = json.loads(record.read_text(encoding="utf-8"))
    assert [x["as_of"] for x in rec["monitoring"]["history"]] == ["2026-08-31", "2026-09-30"]
    html = render_model_card(rec, "zh", {"penalty_1y": "近一年行政处罚次数"})
    assert 'id="monitoring"' in html and "月度监测（相对上一分类月）" in html and "等级保持率" in html and "分类口径变化" in html
    assert "近一年行政处罚次数" in html and f"{HAND_PSI:.4f}" in html and "60.0%" in html and "显著漂移" in html
    en = render_model_card(rec, "en")
    assert "Monthly monitoring (against the previous classification month)" in en and "significant drift" in en
    assert 'id="monitoring"' not in render_model_card(_record(), "zh")  # nothing recorded: no section


def test_a_change_of_the_classification_is_reported(home: tuple[Path, dict], tmp_path: Path) -> None:
    h, _ = home
    sc = tmp_path / "scorecard.yaml"
    sc.write_text("version: local-1\nbase: 100\npoints:\n  penalty_1y: [{min: 1, points: 80}]\n", encoding="utf-8")
    said: list[str] = []
    res = classify(h, dt.date(2026, 11, 30), model="expert", scorecard_path=sc, progress=said.append)
    # (the local scorecard gives the fused food domain no points: classify also says it changed nobody's score)
    (line,) = [w for w in res.warnings if "model drift" in w]
    assert any("fused domain food" in w for w in res.warnings)
    assert line in said and "score PSI" in line and "the classification changed too: model_version 2026.12-1 -> local-1" in line
    assert "config_fingerprint" in line
