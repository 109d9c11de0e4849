"""Classification: point-in-time indicators, expert scores, grades, overrides, labels, snapshots."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from riskgrade.errors import RiskgradeError
from riskgrade.indicators import compute_indicators, load_catalog
from riskgrade.indicators.compute import as_of_params
from riskgrade.ingest import ingest
from riskgrade.snapshot import classify
from riskgrade.warehouse import Warehouse

from .conftest import ENTITY_HEADER, EVENT_HEADER, make_usccs, run_cli, write_csv

TODAY = dt.date(2026, 11, 21)
T = dt.date(2026, 9, 30)
U = make_usccs(6)


def _delivery(d: Path, extra_events: list[list] | None = None) -> Path:
    write_csv(d / "entities.csv", ENTITY_HEADER + ["closed_on"], [
        [U[0], "甲", "enterprise", "370102", "H6210", "2018-01-01", "active", "一号", ""],
        [U[1], "乙", "individual", "370102", "6291", "2018-01-01", "active", "一号", ""],
        [U[2], "丙", "enterprise", "370102", "2710", "2018-01-01", "active", "二号", ""],
        [U[3], "丁", "enterprise", "370102", "5211", "2018-01-01", "revoked", "三号", "2026-03-01"],
        [U[4], "戊", "enterprise", "370102", "5211", "2026-08-01", "active", "四号", ""],
        [U[5], "己", "enterprise", "370102", "5211", "2018-01-01", "deregistered", "五号", "2026-10-15"],
    ])
    ev = [
        # U0: filed 2024 and 2025 reports: no label; online; dishonest listed -> D by override
        ["a1", U[0], "annual_report", "2025-04-01", "2025-04-01", "市场监管局", "2024", "100", ""],
        ["a2", U[0], "annual_report", "2026-05-01", "2026-05-02", "市场监管局", "2025", "100", ""],
        ["o1", U[0], "online_store", "2024-01-01", "2024-01-02", "商务局", "淘宝", "", ""],
        ["s1", U[0], "serious_dishonest_in", "2026-01-10", "2026-01-11", "市场监管局", "", "", ""],
        # U1: no reports at all -> no_annual_report_2y; unreachable by the latest inspection
        ["i1", U[1], "inspection", "2025-05-01", "2025-05-02", "general", "pass", "", ""],
        ["i2", U[1], "inspection", "2026-05-01", "2026-05-02", "general", "unreachable", "", ""],
        # U2: abnormal listed for an unreachable address, then removed -> not unreachable any more
        ["l1", U[2], "abnormal_list_in", "2025-07-01", "2025-07-01", "市场监管局", "unreachable_address", "", ""],
        ["l2", U[2], "abnormal_list_out", "2026-02-01", "2026-02-01", "市场监管局", "", "", ""],
        ["a3", U[2], "annual_report", "2026-02-01", "2026-02-01", "市场监管局", "2024", "50", ""],
        ["a4", U[2], "annual_report", "2026-04-01", "2026-04-01", "市场监管局", "2025", "50", ""],
    ]
    write_csv(d / "events.csv", EVENT_HEADER, ev + (extra_events or []))
    return d


def _indicators(home: Path, as_of: dt.date = T) -> dict[str, dict]:
    with Warehouse(home, write=True) as wh:
        compute_indicators(wh.con, load_catalog(), as_of)
        cols = [r[0] for r in wh.con.execute("DESCRIBE indicators").fetchall()]
        return {r[0]: dict(zip(cols, r)) for r in wh.con.execute("SELECT * FROM indicators").fetchall()}


def test_due_years() -> None:
    assert (as_of_params(dt.date(2026, 9, 30))["due1"], as_of_params(dt.date(2026, 9, 30))["due2"]) == ("2025", "2024")
    assert as_of_params(dt.date(2026, 5, 31))["due1"] == "2024"  # 2025's report is not due before 30 June 2026


def test_point_in_time_no_leakage(tmp_path: Path) -> None:
    base = _delivery(tmp_path / "a")
    ingest(tmp_path / "h1", base, today=TODAY)
    # the same, plus records that happened after T, or happened before T but were delivered after it
    later = [
        ["x1", U[1], "annual_report", "2026-10-10", "2026-10-10", "市场监管局", "2025", "5", ""],
        ["x2", U[0], "admin_penalty", "2026-10-01", "2026-10-02", "市场监管局", "fine", "1000", ""],
        ["x3", U[2], "complaint", "2026-09-01", "2026-10-05", "12315", "", "1", ""],
        ["x4", U[2], "complaint", "2026-08-01", "", "12315", "", "1", ""],  # no reported_on: known from load date
    ]
    ingest(tmp_path / "h2", _delivery(tmp_path / "b", later), today=TODAY)
    a, b = _indicators(tmp_path / "h1"), _indicators(tmp_path / "h2")
    assert a == b
    # and the records do count once T has passed
    c = _indicators(tmp_path / "h2", dt.date(2026, 11, 21))
    assert c[U[0]]["penalty_1y"] == 1 and c[U[2]]["complaints_1y"] == 2


def test_population_at_t(tmp_path: Path) -> None:
    ingest(tmp_path / "h", _delivery(tmp_path / "d"), today=TODAY)
    ind = _indicators(tmp_path / "h")
    # revoked before T: out; established before T: in; deregistered after T: still in at T
    assert set(ind) == {U[0], U[1], U[2], U[4], U[5]}
    assert U[4] not in _indicators(tmp_path / "h", dt.date(2026, 7, 31))


def test_labels_overrides_and_reasons(tmp_path: Path) -> None:
    home = tmp_path / "h"
    ingest(home, _delivery(tmp_path / "d"), today=TODAY)
    res = classify(home, T)
    assert res.entities == 5 and res.model == "expert"
    with Warehouse(home) as wh:
        g = {r[0]: r[1:] for r in wh.con.execute(
            "SELECT uscc, grade, grade_rule, labels, reasons, score FROM grades").fetchall()}
    assert g[U[0]][0] == "D" and g[U[0]][1] == "override_serious_dishonest"
    assert set(g[U[0]][2].split(";")) >= {"online", "serious_dishonest"}
    assert "no_annual_report_2y" not in g[U[0]][2]
    assert set(g[U[1]][2].split(";")) >= {"no_annual_report_2y", "unreachable"}
    assert "unreachable" not in g[U[2]][2].split(";")
    assert g[U[2]][0] == "B" and g[U[2]][1] == "industry_floor"  # 2710 is a high-attention industry
    # reasons: indicator codes by points, most first
    reasons = g[U[1]][3].split(";")
    assert reasons[0] in ("ar_missing_2y", "inspection_latest_unreachable") and "ar_missing_latest" in reasons
    # U4 was established in August 2026: no report was due yet
    assert "no_annual_report_2y" not in (g[U[4]][2] or "")


def test_five_grade_mode_gives_revoked_e(tmp_path: Path) -> None:
    home = tmp_path / "h"
    ingest(home, _delivery(tmp_path / "d"), today=TODAY)
    res = classify(home, T, mode="five")
    assert res.grade_counts.get("E") == 1
    with Warehouse(home) as wh:
        assert wh.con.execute("SELECT grade, grade_rule FROM grades WHERE uscc = ?", [U[3]]).fetchall() == [
            ("E", "override_revoked")]


def test_rerun_is_identical_and_snapshots_are_kept(tmp_path: Path) -> None:
    home = tmp_path / "h"
    ingest(home, _delivery(tmp_path / "d"), today=TODAY)
    a, b = classify(home, T), classify(home, T)
    assert a.content_hash == b.content_hash and b.snapshot_id == a.snapshot_id + 1
    c = classify(home, dt.date(2026, 10, 31))
    with Warehouse(home) as wh:
        prev = dict(wh.con.execute("SELECT uscc, previous_grade FROM grades WHERE snapshot_id = ?", [c.snapshot_id]).fetchall())
    assert prev[U[0]] == "D"


def test_cli_classify_export_and_migration(tmp_path: Path) -> None:
    home = tmp_path / "h"
    run_cli("ingest", str(_delivery(tmp_path / "d")), home=home)
    p = run_cli("classify", "--as-of", "2026-09-30", home=home)
    assert "expert" in p.stderr and "A" in p.stdout
    out = tmp_path / "g.csv"
    run_cli("export", "grades", "--as-of", "2026-09-30", "--out", str(out), home=home)
    with open(out, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5
    assert {"uscc", "as_of", "score", "grade", "labels", "reasons"} <= set(rows[0])
    assert all(0 <= float(r["score"]) <= 1000 and r["grade"] in "ABCD" for r in rows)
    pq_out = tmp_path / "g.parquet"
    run_cli("export", "grades", "--as-of", "2026-09-30", "--out", str(pq_out), home=home)
    import pyarrow.parquet as pq

    assert pq.read_table(pq_out).num_rows == 5
    run_cli("classify", "--as-of", "2026-10-31", home=home)
    p = run_cli("migration", "--from", "2026-09-30", "--to", "2026-10-31", home=home)
    assert "migration" in p.stdout
    p = run_cli("export", "grades", "--as-of", "2025-01-31", "--out", str(out), home=home, check=False)
    assert p.returncode == 1 and "no classification" in p.stderr


def test_catalog_customisation_and_errors(tmp_path: Path) -> None:
    f = tmp_path / "mine.yaml"
    f.write_text("extends: default\nversion: local-1\ndisable: [online]\nindicators:\n"
                 "  - code: complaints_2y\n    name_zh: 近两年投诉\n    name_en: Complaints 2y\n    dimension: social\n"
                 "    kind: event\n    sql: \"count(*) FILTER (WHERE e.event_type = 'complaint' AND e.event_date > {y2})\"\n",
                 encoding="utf-8")
    cat = load_catalog(f)
    assert cat.version == "local-1"
    assert "complaints_2y" in [i.code for i in cat.enabled] and "online" not in [i.code for i in cat.enabled]
    assert len(load_catalog().enabled) >= 40
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: x\nindicators:\n  - code: Bad-Code\n    name_zh: x\n    name_en: x\n"
                   "    dimension: social\n    kind: event\n    sql: '1'\n", encoding="utf-8")
    with pytest.raises(RiskgradeError, match="bad.yaml"):
        load_catalog(bad)
    dims = {i.dimension for i in load_catalog().enabled}
    assert {"basic", "dynamic", "regulatory", "related", "social"} <= dims


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("prov")
    run_cli("simulate", "--entities", "3000", "--seed", "5", "--out", str(root / "d"), home=root / "x")
    run_cli("ingest", str(root / "d"), home=root / "h")
    run_cli("classify", "--as-of", "2026-09-30", home=root / "h")
    return root / "d", root / "h"


def _rows(path: Path) -> list[dict]:
    """A table's rows, whether delivered as one file (``events.csv``) or as parts (``events/``)."""
    single = path if path.suffix == ".csv" else path.with_suffix(".csv")
    files = [single] if single.is_file() else sorted(path.glob("*.csv"))
    assert files, path
    out = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            out.extend(csv.DictReader(fh))
    return out


def test_required_labels_match_an_independent_recomputation(province: tuple[Path, Path]) -> None:
    """The contract's label rules computed directly from the delivery files, compared entity by entity."""
    d, home = province
    load = dt.date.today()
    known = lambda r: (dt.date.fromisoformat(r["event_date"]) <= T and  # noqa: E731
                       (dt.date.fromisoformat(r["reported_on"]) if r["reported_on"] else load) <= T)
    events = [r for r in _rows(d / "events") if known(r)]
    by = {}
    for r in events:
        by.setdefault(r["uscc"], []).append(r)
    ents = {r["uscc"]: r for r in _rows(d / "entities.csv")}
    want: dict[str, set[str]] = {}
    for u, e in ents.items():
        est = dt.date.fromisoformat(e["established_on"])
        closed = dt.date.fromisoformat(e["closed_on"]) if e.get("closed_on") else None
        if est > T or (e["status"] != "active" and closed is not None and closed <= T):
            continue
        evs = sorted(by.get(u, []), key=lambda r: r["event_date"])
        labs = set()
        filed = {r["detail"] for r in evs if r["event_type"] == "annual_report"}
        if est <= dt.date(2024, 12, 31) and not filed & {"2024", "2025"}:
            labs.add("no_annual_report_2y")

        def current(kind: str, detail: str | None = None) -> bool:
            ins = [r["event_date"] for r in evs if r["event_type"] == f"{kind}_in" and (detail is None or r["detail"] == detail)]
            outs = [r["event_date"] for r in evs if r["event_type"] == f"{kind}_out"]
            return bool(ins) and max(ins) > max(outs, default="1900-01-01")

        insp = [r for r in evs if r["event_type"] == "inspection"]
        if current("abnormal_list", "unreachable_address") or (insp and max(insp, key=lambda r: r["event_date"])["detail"] == "unreachable"):
            labs.add("unreachable")
        if current("serious_dishonest"):
            labs.add("serious_dishonest")
        if any(r["event_type"] == "online_store" for r in evs):
            labs.add("online")
        want[u] = labs
    with Warehouse(home) as wh:
        got = {u: set((labels or "").split(";")) for u, labels in wh.con.execute(
            "SELECT uscc, labels FROM grades WHERE snapshot_id = (SELECT max(snapshot_id) FROM snapshots)").fetchall()}
    assert set(got) == set(want)
    for code in ("no_annual_report_2y", "unreachable", "serious_dishonest", "online"):
        tp = sum(1 for u in want if code in want[u] and code in got[u])
        fp = sum(1 for u in want if code not in want[u] and code in got[u])
        fn = sum(1 for u in want if code in want[u] and code not in got[u])
        assert tp > 0, code
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        assert precision >= 0.99 and recall >= 0.99, (code, precision, recall)


def test_grades_rank_the_simulated_risk(province: tuple[Path, Path]) -> None:
    """Bad rate (ground truth: the simulator's latent risk is high) rises from A to D."""
    import pyarrow.parquet as pq

    d, home = province
    truth = pq.read_table(d / "_truth" / "entities.parquet").to_pydict()
    risk = dict(zip(truth["uscc"], truth["base_risk"]))
    with Warehouse(home) as wh:
        rows = wh.con.execute("SELECT uscc, grade FROM grades WHERE snapshot_id = (SELECT max(snapshot_id) FROM snapshots)").fetchall()
    by: dict[str, list[float]] = {}
    for u, g in rows:
        by.setdefault(g, []).append(risk[u])
    means = [sum(v) / len(v) for g, v in sorted(by.items())]
    assert means == sorted(means), json.dumps({g: round(sum(v) / len(v), 3) for g, v in sorted(by.items())})


def test_default_model_falls_back_to_expert_with_a_reason(tmp_path: Path) -> None:
    home = tmp_path / "h"
    ingest(home, _delivery(tmp_path / "d"), today=TODAY)
    res = classify(home, T)
    assert res.model == "expert" and "not enough history" in res.model_reason
    with pytest.raises(RiskgradeError, match="--model trained"):
        classify(home, T, model="trained")


def test_trained_model_on_the_simulated_province(province: tuple[Path, Path]) -> None:
    _, home = province
    res = classify(home, T, model="trained")
    assert res.model == "trained" and "AUC" in res.model_reason
    assert set(res.grade_counts) == {"A", "B", "C", "D"}
    assert res.grade_counts["A"] > res.grade_counts["B"] > res.grade_counts["C"]
    with Warehouse(home) as wh:
        model, version = wh.con.execute("SELECT model, model_version FROM snapshots WHERE snapshot_id = ?",
                                        [res.snapshot_id]).fetchall()[0]
        reasons = [r[0] for r in wh.con.execute("SELECT reasons FROM grades WHERE snapshot_id = ? AND grade = 'D'",
                                                 [res.snapshot_id]).fetchall()]
    assert model == "trained"
    meta = json.loads((home / "models" / f"{version}.json").read_text(encoding="utf-8"))
    assert meta["train_as_of"] == "2024-09-30" and meta["validate_as_of"] == "2025-09-30"
    assert 0.5 < meta["auc_trained"] <= 1 and meta["train_bad"] >= 100
    assert 0.5 < meta["auc_challenger"] <= 1  # the LightGBM challenger, compared out of time
    assert sorted(meta["cutoffs"]) == ["B", "C", "D"]
    assert sum(1 for r in reasons if r) >= 0.9 * len(reasons)  # risky entities come with their reasons
    # the same month, the same inputs: the same results
    assert classify(home, T, model="trained").content_hash == res.content_hash


def test_model_report(province: tuple[Path, Path], tmp_path: Path) -> None:
    _, home = province
    classify(home, T, model="trained")
    out = tmp_path / "model.html"
    run_cli("model-report", "--as-of", "2026-09-30", "--out", str(out), home=home)
    html = out.read_text(encoding="utf-8")
    assert "信用风险分类模型报告" in html and "ROC" in html and "PSI" in html and "逆概率加权" in html
    assert "挑战者模型" in html
    assert "近三年行政处罚次数" in html  # bins and points name the indicators in Chinese
    assert 'src="http' not in html and "echarts" in html
    run_cli("model-report", "--as-of", "2026-09-30", "--out", str(out), "--lang", "en", home=home)
    assert "Bins and points" in out.read_text(encoding="utf-8")
    with Warehouse(home) as wh:
        version = wh.con.execute("SELECT model_version FROM snapshots ORDER BY snapshot_id DESC LIMIT 1").fetchall()[0][0]
    record = json.loads((home / "models" / f"{version}.json").read_text(encoding="utf-8"))
    assert "2026-09-30" in record["scored_months"] and record["scored_months"]["2026-09-30"] >= 0
    # per-indicator stability: every selected indicator, against the training population's bins
    psi = record["indicator_psi"]["2026-09-30"]
    assert set(psi) == set(record["selected"]) and all(v >= 0 for v in psi.values())
    run_cli("model-report", "--as-of", "2026-09-30", "--out", str(out), home=home)
    assert "各指标分箱稳定性" in out.read_text(encoding="utf-8")
    classify(home, T, model="expert")
    p = run_cli("model-report", "--as-of", "2026-09-30", "--out", str(out), home=home, check=False)
    assert p.returncode == 1 and "expert" in p.stderr


def test_psi_of_bin_shares() -> None:
    from riskgrade.stats import psi_shares

    assert psi_shares([0.5, 0.5], [0.5, 0.5]) == 0
    # sum (a - e) ln(a / e): 0.2 ln 2 + (-0.2) ln(0.6 / 0.8) ... computed by hand
    import math

    assert psi_shares([0.2, 0.8], [0.4, 0.6]) == pytest.approx(0.2 * math.log(2) + (-0.2) * math.log(0.6 / 0.8))
    assert psi_shares([1.0], [0.5, 0.5]) > 1  # a bin the training never had


def test_bucket_ranges_give_the_same_indicators(province: tuple[Path, Path]) -> None:
    """A run in bucket ranges (bounded memory) computes exactly the table of a run in one piece, and a
    bucket range is a deterministic sample whose entities keep their values."""
    from riskgrade.indicators.compute import chunk_ranges

    _, home = province
    catalog = load_catalog()
    with Warehouse(home, write=True) as wh:
        con = wh.con
        compute_indicators(con, catalog, T, table="one")
        compute_indicators(con, catalog, T, table="many", chunks=8)
        compute_indicators(con, catalog, T, table="part", buckets=(0, 1000))
        n = con.execute("SELECT count(*) FROM one").fetchall()[0][0]
        assert n > 2000 and con.execute("SELECT count(*) FROM many").fetchall()[0][0] == n
        assert con.execute("SELECT count(*) FROM (SELECT * FROM one EXCEPT ALL SELECT * FROM many)").fetchall()[0][0] == 0
        k = con.execute("SELECT count(*) FROM part").fetchall()[0][0]
        assert 0.15 * n < k < 0.35 * n and con.execute("SELECT max(bucket) FROM part").fetchall()[0][0] < 1000
        assert con.execute("SELECT count(*) FROM (SELECT * FROM part EXCEPT ALL SELECT * FROM one)").fetchall()[0][0] == 0
    assert chunk_ranges(4) == [(0, 1024), (1024, 2048), (2048, 3072), (3072, 4096)]
    assert chunk_ranges(3, (0, 10)) == [(0, 4), (4, 8), (8, 10)]


def test_month_scored_in_the_engine_equals_the_model(province: tuple[Path, Path]) -> None:
    """classify scores the month with the trained scorecard's SQL export: the same scores as the model
    itself gives on the month's indicators."""
    import pickle

    import numpy as np

    _, home = province
    res = classify(home, T, model="trained")
    with Warehouse(home, write=True) as wh:
        version = wh.con.execute("SELECT model_version FROM snapshots WHERE snapshot_id = ?", [res.snapshot_id]).fetchall()[0][0]
        model = pickle.loads((home / "models" / f"{version}.pkl").read_bytes())
        compute_indicators(wh.con, load_catalog(), T)
        df = wh.con.execute("SELECT i.*, g.score AS _score, g.probability AS _p FROM indicators i "
                            f"JOIN grades g ON g.uscc = i.uscc AND g.snapshot_id = {res.snapshot_id} ORDER BY i.uscc").fetchdf()
    np.testing.assert_allclose(df["_score"], np.round(model.predict_score(df[model.feature_columns_]), 2), atol=0.011)
    # the probability stored is the calibrated chance that an inspection finds an adverse result
    from riskgrade.scoring.train import platt

    np.testing.assert_allclose(df["_p"], np.round(platt(model.inspection_calibration_, df["_score"]), 6), atol=2e-6)


def test_related_risky_links_judge_each_list_by_itself(tmp_path: Path) -> None:
    """A person's other entity counts as risky while it is on either list: a later removal from the
    serious-dishonesty list does not take it off the abnormal list."""
    u = make_usccs(4, start=500)
    header = ENTITY_HEADER + ["legal_rep_id"]
    write_csv(tmp_path / "d" / "entities.csv", header, [
        [u[0], "甲", "enterprise", "370102", "5211", "2018-01-01", "active", "一号", "P1"],
        [u[1], "乙", "enterprise", "370102", "5211", "2018-01-01", "active", "二号", "P1"],  # abnormal, SD removed
        [u[2], "丙", "enterprise", "370102", "5211", "2018-01-01", "active", "三号", "P2"],
        [u[3], "丁", "enterprise", "370102", "5211", "2018-01-01", "active", "四号", "P2"],  # listed, then removed
    ])
    write_csv(tmp_path / "d" / "events.csv", EVENT_HEADER, [
        ["r1", u[1], "abnormal_list_in", "2025-03-01", "2025-03-01", "市场监管局", "no_annual_report", "", ""],
        ["r2", u[1], "serious_dishonest_in", "2024-01-01", "2024-01-01", "市场监管局", "", "", ""],
        ["r3", u[1], "serious_dishonest_out", "2026-02-01", "2026-02-01", "市场监管局", "", "", ""],
        ["r4", u[3], "abnormal_list_in", "2025-03-01", "2025-03-01", "市场监管局", "no_annual_report", "", ""],
        ["r5", u[3], "abnormal_list_out", "2025-09-01", "2025-09-01", "市场监管局", "", "", ""],
    ])
    ingest(tmp_path / "h", tmp_path / "d", today=TODAY)
    ind = _indicators(tmp_path / "h")
    assert ind[u[0]]["legal_rep_risky_links"] == 1 and ind[u[1]]["legal_rep_risky_links"] == 0
    assert ind[u[2]]["legal_rep_risky_links"] == 0 and ind[u[3]]["legal_rep_risky_links"] == 0
