"""Exchange formats: monthly results for the national system, white lists, measures per grade (and their schemas)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from riskgrade.analysis.exchange import (MEASURES_COLUMNS, NATIONAL_COLUMNS, WHITELIST_COLUMNS, load_measures,
                                         load_whitelist, schema)
from riskgrade.errors import RiskgradeError
from riskgrade.ingest import ingest
from riskgrade.snapshot import classify
from riskgrade.warehouse import Warehouse

from .conftest import ENTITY_HEADER, EVENT_HEADER, make_usccs, run_cli, write_csv

jsonschema = pytest.importorskip("jsonschema")

TODAY = dt.date(2026, 11, 21)
T = dt.date(2026, 9, 30)
NAMES = ("ok", "zero", "young", "pen2y", "pen3y", "b", "gone", "late", "compl", "d")
U = dict(zip(NAMES, make_usccs(len(NAMES))))


def _reports(k: str, u: str, years=("2024", "2025"), amount: str = "100") -> list[list]:
    return [[f"{k}-ar{y}", u, "annual_report", f"{int(y) + 1}-04-01", f"{int(y) + 1}-04-01", "市场监管局", y,
             amount if y == "2025" else "100", ""] for y in years]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("exchange")
    d = root / "d"
    ents = []
    for k, u in U.items():
        est = "2025-06-01" if k == "young" else "2018-01-01"
        status, closed = ("deregistered", "2026-10-15") if k == "gone" else ("active", "")
        ents.append([u, f"{k}商贸有限公司", "enterprise", "370102", "F5211", est, status, f"{k}路1号", closed])
    write_csv(d / "entities.csv", ENTITY_HEADER + ["closed_on"], ents)
    ev: list[list] = []
    for k, u in U.items():
        ev += _reports(k, u, ("2025",) if k == "young" else ("2024", "2025"), "0" if k == "zero" else "100")
    ev += [
        ["ok-o", U["ok"], "online_store", "2024-01-01", "2024-01-02", "商务局", "淘宝", "", ""],
        ["zero-h", U["zero"], "honor", "2025-05-01", "2025-05-02", "市场监管局", "award", "", ""],  # 120 + 80 - 40: A
        ["pen2y-p", U["pen2y"], "admin_penalty", "2025-01-15", "2025-01-16", "市场监管局", "warning", "", ""],
        ["pen3y-p", U["pen3y"], "admin_penalty", "2024-03-01", "2024-03-02", "市场监管局", "warning", "", ""],
        ["b-p", U["b"], "admin_penalty", "2026-03-01", "2026-03-02", "市场监管局", "fine", "1000", ""],
        ["late-p", U["late"], "admin_penalty", "2026-09-01", "2026-10-05", "市场监管局", "fine", "1000", ""],
        ["compl-o", U["compl"], "online_store", "2024-01-01", "2024-01-02", "商务局", "京东", "", ""],
        ["compl-c", U["compl"], "complaint", "2026-05-01", "2026-05-02", "12315", "quality", "1", ""],
        ["d-s", U["d"], "serious_dishonest_in", "2026-01-10", "2026-01-11", "市场监管局", "", "", ""],
        ["d-i", U["d"], "inspection", "2026-06-01", "2026-06-02", "general", "unreachable", "", ""],
    ]
    write_csv(d / "events.csv", EVENT_HEADER, ev)
    h = root / "h"
    ingest(h, d, today=TODAY)
    classify(h, T, model="expert")
    classify(h, dt.date(2026, 10, 31), model="expert")
    return h


def _validator(name: str):
    s = schema(name)
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _cli(*args: str, home: Path):
    from typer.testing import CliRunner

    from riskgrade.cli import app

    r = CliRunner().invoke(app, [*args, "--home", str(home)])
    assert r.exit_code == 0, (r.output, r.exception)
    return r


def test_the_grades_the_rules_work_on(home: Path) -> None:
    with Warehouse(home) as wh:
        g = dict(wh.con.execute("SELECT uscc, grade FROM grades WHERE snapshot_id = 1").fetchall())
        labels = dict(wh.con.execute("SELECT uscc, labels FROM grades WHERE snapshot_id = 1").fetchall())
    assert {k: g[u] for k, u in U.items()} == {**{k: "A" for k in NAMES}, "b": "B", "d": "D"}
    assert "annual_report_all_zero" in labels[U["zero"]] and "online" in labels[U["compl"]]


def test_white_list_rules(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "w.csv"
    _cli("export", "whitelist", "--as-of", "2026-09-30", "--out", str(out), home=home)
    rows = _csv(out)
    listed = {r["uscc"] for r in rows}
    # A, active, no adverse label, established 2+ years, nothing adverse known at T in the windows
    assert listed == {U["ok"], U["pen3y"], U["late"], U["compl"]}
    assert U["zero"] not in listed  # A, but labelled annual_report_all_zero
    assert U["young"] not in listed and U["pen2y"] not in listed and U["gone"] not in listed and U["b"] not in listed
    r = next(r for r in rows if r["uscc"] == U["ok"])
    assert (r["list"], r["region_code"], r["region_name"], r["industry_code"]) == ("financial", "370102", "济南市历下区", "5211")
    assert (r["industry_name"], r["valid_from"], r["valid_until"]) == ("批发和零售业", "2026-09-30", "2026-12-31")
    # no score, no grade, no label: exactly the schema's columns
    assert list(rows[0]) == list(WHITELIST_COLUMNS) == list(schema("whitelist")["properties"])
    assert not {"score", "grade", "labels", "reasons", "previous_grade", "probability"} & set(rows[0])
    out = tmp_path / "e.jsonl"
    _cli("export", "whitelist", "--as-of", "2026-09-30", "--list", "ecommerce", "--out", str(out), home=home)
    recs = _jsonl(out)
    assert [x["uscc"] for x in recs] == [U["ok"]]  # online; compl had a substantiated complaint this year
    v = _validator("whitelist")
    for x in recs + [dict(r, issued_by=r["issued_by"] or None) for r in rows]:
        v.validate(x)
    with pytest.raises(jsonschema.ValidationError):
        v.validate({**recs[0], "grade": "A"})  # the schema forbids anything more


def test_white_list_rules_are_configurable(home: Path, tmp_path: Path) -> None:
    from riskgrade.analysis.exchange import write_whitelist

    f = tmp_path / "wl.yaml"
    f.write_text("version: t1\nlists:\n  strict:\n    name_zh: 严格\n    grades: [A, B]\n    exclude_labels: [online]\n"
                 "    min_years_established: 0\n", encoding="utf-8")
    cfg = load_whitelist(f)
    with Warehouse(home) as wh:
        name, n = write_whitelist(wh.con, 1, T, cfg, None, tmp_path / "s.json")
    got = {x["uscc"] for x in json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))}
    assert name == "strict" and n == len(got)
    assert got == {U[k] for k in ("zero", "young", "pen2y", "pen3y", "b", "late")}  # B admitted, online and gone not


@pytest.mark.parametrize(("text", "message"), [
    ("version: x\nlists:\n  f:\n    name_zh: x\n    exclude_labels: [dishonest]\n", "unknown label 'dishonest'"),
    ("version: x\nlists:\n  f:\n    name_zh: x\n    grades: [E]\n", "lists.f.grades.0"),
    ("version: x\nlists:\n  f:\n    name_zh: x\n    no_events: [{event_type: fine, years: 2}]\n", "unknown event type 'fine'"),
    ("version: x\nlists: {}\n", "lists"),
])
def test_white_list_configuration_errors(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(RiskgradeError, match="bad.yaml") as e:
        load_whitelist(f)
    assert message in str(e.value)


def test_national_files_one_per_month(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "nat"
    _cli("export", "national", "--month", "2026-09", "--out", str(out), home=home)
    _cli("export", "national", "--month", "2026-10", "--out", str(out), home=home)
    _cli("export", "national", "--month", "2026-09", "--out", str(out), home=home)  # again: the same file
    assert sorted(p.name for p in out.iterdir()) == ["national-2026-09.csv", "national-2026-09.jsonl",
                                                     "national-2026-10.csv", "national-2026-10.jsonl"]
    sep, octo = _jsonl(out / "national-2026-09.jsonl"), _jsonl(out / "national-2026-10.jsonl")
    assert len(sep) == 10 and len(octo) == 9  # "gone" was deregistered on 15 October
    assert {r["period"] for r in sep} == {"2026-09"} and {r["as_of"] for r in octo} == {"2026-10-31"}
    v = _validator("national")
    for r in sep + octo:
        v.validate(r)
    by = {r["uscc"]: r for r in sep}
    assert by[U["d"]]["grade"] == "D" and by[U["d"]]["grade_rule"] == "override_serious_dishonest"
    assert "unreachable" in by[U["d"]]["labels"] and by[U["ok"]]["labels"] == ["online", "industry_F"]
    assert by[U["ok"]]["reporting_province"] == "370000" and "score" not in by[U["ok"]]
    rows = _csv(out / "national-2026-09.csv")
    assert list(rows[0]) == list(NATIONAL_COLUMNS) == list(schema("national")["properties"])
    assert {r["uscc"]: r["labels"] for r in rows}[U["ok"]] == "online;industry_F"
    assert octo[0]["previous_grade"] is not None
    p = run_cli("export", "national", "--month", "2026-08", "--out", str(out), home=home, check=False)
    assert p.returncode == 1 and "no classification in 2026-08" in p.stderr
    p = run_cli("export", "national", "--month", "2026-13", "--out", str(out), home=home, check=False)
    assert p.returncode == 1 and "not a month" in p.stderr


def test_measures_per_grade(home: Path, tmp_path: Path) -> None:
    cfg = load_measures()
    out = tmp_path / "m.jsonl"
    _cli("export", "measures", "--as-of", "2026-09-30", "--out", str(out), home=home)
    recs = {r["uscc"]: r for r in _jsonl(out)}
    assert len(recs) == 10
    v = _validator("measures")
    for r in recs.values():
        v.validate(r)
    a, b, d = recs[U["ok"]], recs[U["b"]], recs[U["d"]]
    assert a["measures"] == cfg.grades["A"].measures == ["fewer_inspections", "commitment_approval", "honours_priority",
                                                          "whitelist_candidate"]
    assert a["measure_kind"] == "incentive" and a["measures_zh"][0].startswith("降低")
    assert b["measures"] == ["routine_inspections", "credit_reminder"] and b["measure_kind"] == "routine"
    # D, then the measure of its label unreachable; admonition_talk once
    assert d["measures"] == ["key_supervision", "admonition_talk", "strict_review", "honours_restricted",
                             "address_verification"] and d["measure_kind"] == "constraint"
    assert len(d["measures_zh"]) == 5
    out = tmp_path / "m.csv"
    _cli("export", "measures", "--as-of", "2026-09-30", "--out", str(out), home=home)
    rows = {r["uscc"]: r for r in _csv(out)}
    assert list(next(iter(rows.values()))) == list(MEASURES_COLUMNS) == list(schema("measures")["properties"])
    assert rows[U["b"]]["measures"] == "routine_inspections;credit_reminder"
    assert rows[U["b"]]["measures_zh"].split(";")[0] == "按常规比例和频次抽查，日常监管"


@pytest.mark.parametrize(("text", "message"), [
    ("version: x\nmeasures: [{code: m, kind: incentive, name_zh: 甲}]\ngrades: {A: {kind: incentive, measures: [m]}}\n",
     "grades must give"),
    ("version: x\nmeasures: [{code: m, kind: incentive, name_zh: 甲}]\ngrades: {A: {kind: incentive, measures: [n]}, "
     "B: {kind: routine, measures: []}, C: {kind: constraint, measures: []}, D: {kind: constraint, measures: []}}\n",
     "grades.A: unknown measure 'n'"),
    ("version: x\nmeasures: [{code: m, kind: reward, name_zh: 甲}]\ngrades: {}\n", "measures.0.kind"),
    ("version: x\nmeasures: [{code: m, kind: incentive, name_zh: 甲}]\ngrades: {A: {kind: incentive, measures: [m]}, "
     "B: {kind: routine, measures: []}, C: {kind: constraint, measures: []}, D: {kind: constraint, measures: []}}\n"
     "labels: {dishonest: [m]}\n", "unknown label 'dishonest'"),
])
def test_measures_configuration_errors(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(RiskgradeError, match="bad.yaml") as e:
        load_measures(f)
    assert message in str(e.value)


def test_fused_export_schema(home: Path, tmp_path: Path) -> None:
    _cli("fusion", "--as-of", "2026-09-30", home=home)
    out = tmp_path / "f.jsonl"
    _cli("export", "fused", "--as-of", "2026-09-30", "--out", str(out), home=home)
    assert _jsonl(out) == []  # nobody here holds a domain grade
    from riskgrade.scoring.fusion import FUSED_COLUMNS

    assert list(schema("fused")["properties"]) == list(FUSED_COLUMNS)
    v = _validator("fused")
    v.validate({"uscc": U["ok"], "as_of": "2026-09-30", "domain": "food", "general_grade": "A", "domain_grade": "D",
                "domain_as_of": "2025-12-31", "domain_level": 3, "fused_grade": "A", "mode": "indicator",
                "rule": "indicator", "moved": "none", "domain_points": 180.0, "general_rule": "score", "name": "x",
                "entity_type": "enterprise", "region_code": "370102", "industry_code": "5211",
                "fusion_version": "2026.12-1", "snapshot_id": 1})
