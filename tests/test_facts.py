"""The facts behind reasons: exact Chinese sentences from a hand-made delivery, point in time, default facts,
the indicator query for a few entities, and the grades export with its contributions and facts."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest

from riskgrade.indicators import compute_indicators, load_catalog
from riskgrade.indicators.facts import detail_name, entity_facts, fact_event_types, format_value
from riskgrade.ingest import ingest
from riskgrade.warehouse import Warehouse

from .conftest import ENTITY_HEADER, EVENT_HEADER, make_usccs, run_cli, write_csv

TODAY = dt.date(2026, 11, 21)
T = dt.date(2026, 9, 30)
U = make_usccs(5, start=500)


def _delivery(d: Path) -> Path:
    # 一址多企: U0 and U1 (its room in the same building) registered the same day under one person; U4, the same
    # person in the same building eight years later, is not counted with them (nor U2, the same day, its own person)
    write_csv(d / "entities.csv", ENTITY_HEADER + ["registered_capital", "legal_rep_id"], [
        [U[0], "甲商贸有限公司", "enterprise", "370102", "5211", "2018-01-01", "active", "经十路1号", "12345.5", "P1"],
        [U[1], "乙小吃店", "individual", "370102", "6291", "2018-01-01", "active", "经十路1号301室", "", "P1"],
        [U[2], "丙制造有限公司", "enterprise", "370102", "2710", "2018-01-01", "active", "经十路1号", "500", "P2"],
        [U[3], "丁贸易有限公司", "enterprise", "370102", "5211", "2018-01-01", "active", "三号", "100", "P3"],
        [U[4], "戊科技有限公司", "enterprise", "370102", "6510", "2026-03-01", "active", "经十路1号1203室", "10", "P1"],
    ])
    ev = [
        # U0: a late 2024 report, no 2025 report, listed abnormal, penalised, two failed inspections
        ["a1", U[0], "annual_report", "2025-08-01", "2025-08-01", "市场监管局", "2024", "100", ""],
        ["l1", U[0], "abnormal_list_in", "2025-07-05", "2025-07-06", "市场监管局", "no_annual_report", "", ""],
        ["p1", U[0], "admin_penalty", "2026-03-02", "2026-03-03", "市场监管局", "fine", "5000", ""],
        ["p2", U[0], "admin_penalty", "2025-12-01", "2025-12-02", "市场监管局", "warning", "", ""],
        ["p3", U[0], "admin_penalty", "2024-05-10", "2024-05-11", "市场监管局", "confiscation", "3000", ""],
        # happened before T but reported after it: not in a fact as of T
        ["p4", U[0], "admin_penalty", "2026-09-20", "2026-10-05", "市场监管局", "fine", "100000", ""],
        ["i1", U[0], "inspection", "2025-03-01", "2025-03-02", "general", "problem", "", ""],
        ["i2", U[0], "inspection", "2026-05-01", "2026-05-02", "general", "refused", "", ""],
        # U1: no report at all; unreachable at its address
        ["i3", U[1], "inspection", "2026-05-01", "2026-05-02", "general", "unreachable", "", ""],
        ["l2", U[1], "abnormal_list_in", "2026-06-01", "2026-06-01", "市场监管局", "unreachable_address", "", ""],
        # U2: listed and removed; an all-zero report; an honour and a credit repair
        ["l3", U[2], "abnormal_list_in", "2025-07-01", "2025-07-01", "市场监管局", "unreachable_address", "", ""],
        ["l4", U[2], "abnormal_list_out", "2026-02-01", "2026-02-01", "市场监管局", "unreachable_address", "", ""],
        ["a2", U[2], "annual_report", "2025-04-01", "2025-04-01", "市场监管局", "2024", "10", ""],
        ["a3", U[2], "annual_report", "2026-04-01", "2026-04-01", "市场监管局", "2025", "0", ""],
        ["h1", U[2], "honor", "2025-06-01", "2025-06-01", "市场监管局", "famous_specialty", "", ""],
        ["r1", U[2], "credit_repair", "2026-02-15", "2026-02-15", "发展改革委", "", "", ""],
        # U3: the other lists, complaints, changes, licences
        ["s1", U[3], "serious_dishonest_in", "2026-01-10", "2026-01-11", "市场监管局", "", "", ""],
        ["j1", U[3], "judgment_debtor_in", "2025-04-01", "2025-04-01", "法院", "", "", ""],
        ["t1", U[3], "tax_abnormal_in", "2025-05-01", "2025-05-01", "税务局", "", "", ""],
        ["c1", U[3], "complaint", "2026-08-01", "2026-08-02", "12315", "食品安全", "1", ""],
        ["c2", U[3], "complaint", "2026-09-01", "2026-09-02", "12315", "价格收费", "0", ""],
        ["g1", U[3], "registration_change", "2026-01-05", "2026-01-05", "市场监管局", "legal_rep", "", ""],
        ["g2", U[3], "registration_change", "2026-06-01", "2026-06-01", "市场监管局", "legal_rep", "", ""],
        ["g3", U[3], "registration_change", "2026-07-01", "2026-07-01", "市场监管局", "address", "", ""],
        ["k1", U[3], "admin_license", "2021-03-01", "2021-03-01", "行政审批服务局", "granted", "", "2026-03-31"],
        ["k2", U[3], "admin_license", "2025-09-01", "2025-09-01", "市场监管局", "revoked", "", ""],
    ]
    write_csv(d / "events.csv", EVENT_HEADER, ev)
    return d


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("facts")
    ingest(root / "h", _delivery(root / "d"), today=TODAY)
    return root / "h"


def _facts(home: Path, as_of: dt.date = T, usccs: list[str] | None = None, codes: list[str] | None = None) -> dict:
    with Warehouse(home) as wh:  # read-only: facts need no write access
        return entity_facts(wh.con, load_catalog(), as_of, usccs or U, codes)


def test_listings(store: Path) -> None:
    f = _facts(store)
    assert f[(U[0], "abnormal_current")] == "2025-07-05 因未按规定期限公示年度报告列入经营异常名录，至今未移出"
    assert f[(U[1], "abnormal_unreachable_current")] == \
        "2026-06-01 因通过登记的住所或者经营场所无法联系列入经营异常名录，至今未移出"
    assert f[(U[0], "abnormal_in_3y")] == "近三年列入经营异常名录 1 次：2025-07-05（未按规定期限公示年度报告），至今未移出"
    assert f[(U[2], "abnormal_in_3y")] == \
        "近三年列入经营异常名录 1 次：2025-07-01（通过登记的住所或者经营场所无法联系），已于 2026-02-01 移出"
    assert f[(U[3], "serious_dishonest_current")] == "2026-01-10 列入严重违法失信名单，至今未移出"
    assert f[(U[3], "judgment_debtor_current")] == "2025-04-01 被列入失信被执行人名单，至今未移出"
    assert f[(U[3], "tax_abnormal_current")] == "2025-05-01 被税务机关认定为纳税非正常户，至今未解除"
    # not listed (any more): the default fact says so from the indicator's value
    assert f[(U[2], "abnormal_current")] == "当前列入经营异常名录：否"


def test_annual_reports(store: Path) -> None:
    f = _facts(store)
    assert f[(U[0], "ar_missing_latest")] == "2025 年度年报未报送（应于 2026-06-30 前报送），最近报送的是 2024 年度年报"
    assert f[(U[1], "ar_missing_latest")] == "2025 年度年报未报送（应于 2026-06-30 前报送），未见报送过年报"
    assert f[(U[1], "ar_missing_2y")] == "2024、2025 年度年报均未报送（分别应于 2025-06-30、2026-06-30 前报送）"
    assert f[(U[0], "ar_late_3y")] == "近三年逾期报送年报 1 次：2024 年度年报于 2025-08-01 报送（应于 2025-06-30 前）"
    assert f[(U[2], "ar_zero_latest")] == "2025 年度年报经营数据全为零（2026-04-01 报送）"
    # before 30 June 2026 the 2025 report is not yet due: the latest due year is 2024
    early = _facts(store, dt.date(2026, 5, 31), [U[1]], ["ar_missing_latest"])
    assert early[(U[1], "ar_missing_latest")] == "2024 年度年报未报送（应于 2025-06-30 前报送），未见报送过年报"


def test_penalties(store: Path) -> None:
    f = _facts(store)
    assert f[(U[0], "penalty_1y")] == "近一年受到行政处罚 2 次（最近一次 2026-03-02，罚款 5,000 元）"
    assert f[(U[0], "penalty_3y")] == "近三年受到行政处罚 3 次，罚没金额合计 8,000 元（最近一次 2026-03-02，罚款 5,000 元）"
    assert f[(U[0], "penalty_severe_3y")] == "近三年受到较重行政处罚 1 次：2024-05-10（没收违法所得 3,000 元）"
    assert f[(U[0], "penalty_fine_3y")] == "近三年罚没金额合计 8,000 元（行政处罚 3 次，单笔最高 5,000 元）"


def test_inspections(store: Path) -> None:
    f = _facts(store)
    assert f[(U[0], "inspection_problem_3y")] == "近三年抽查检查发现问题 1 次：2025-03-01（发现问题待后续处理）"
    assert f[(U[0], "inspection_refused_3y")] == "近三年有 1 次抽查检查结果为“不配合检查情节严重”：2026-05-01"
    assert f[(U[0], "inspection_fail_repeated")] == \
        "近三年抽查检查不合格 2 次：2025-03-01（发现问题待后续处理）、2026-05-01（不配合检查情节严重）"
    assert f[(U[1], "inspection_latest_unreachable")] == \
        "最近一次抽查检查（2026-05-01）结果为“通过登记的住所（经营场所）无法联系”"
    assert f[(U[1], "inspection_not_operating")] == "最近一次检查未发现开展经营活动：否"


def test_complaints_changes_licences_and_lowering_factors(store: Path) -> None:
    f = _facts(store)
    assert f[(U[3], "complaints_1y")] == "近一年被投诉举报 2 件（其中属实 1 件），最近一次 2026-09-01（价格收费）"
    assert f[(U[3], "complaints_substantiated_1y")] == \
        "近一年投诉举报经核查属实 1 件（共收到 2 件），最近一次属实的 2026-08-01（食品安全）"
    assert f[(U[3], "change_legal_rep_1y")] == "近一年变更法定代表人 2 次：2026-01-05、2026-06-01"
    assert f[(U[3], "change_address_1y")] == "近一年变更住所 1 次：2026-07-01"
    assert f[(U[3], "license_revoked_3y")] == "近三年行政许可被撤销 1 次：2025-09-01"
    assert f[(U[3], "license_expired_unrenewed")] == "所持行政许可有效期最晚至 2026-03-31，已过期且未见续期"
    assert f[(U[2], "honor_3y")] == "近三年获得荣誉 1 项：2025-06-01（名特优新个体工商户）"
    assert f[(U[2], "credit_repair_3y")] == "近三年完成信用修复 1 次：2026-02-15"
    assert f[(U[4], "young_entity")] == "2026-03-01 成立，不满一年"
    assert f[(U[4], "age_years")] == "成立于 2026-03-01，截至 2026-09-30 成立 0.6 年"


def test_point_in_time(store: Path) -> None:
    """A record reported after the as-of date is not in that date's facts; once reported it is."""
    at_t = _facts(store, T, [U[0]], ["penalty_1y", "penalty_fine_3y"])
    assert "100,000" not in "".join(at_t.values())
    later = _facts(store, dt.date(2026, 10, 31), [U[0]], ["penalty_1y", "penalty_fine_3y"])
    assert later[(U[0], "penalty_1y")] == "近一年受到行政处罚 3 次（最近一次 2026-09-20，罚款 100,000 元）"
    assert later[(U[0], "penalty_fine_3y")] == "近三年罚没金额合计 108,000 元（行政处罚 4 次，单笔最高 100,000 元）"
    # and a record that happened after the date does not count either
    before = _facts(store, dt.date(2025, 7, 31), [U[0]], ["abnormal_current", "penalty_1y"])
    assert before[(U[0], "abnormal_current")].startswith("2025-07-05 因")
    assert before[(U[0], "penalty_1y")] == "近一年行政处罚次数：0"


def test_default_facts_name_and_value(store: Path) -> None:
    f = _facts(store)
    assert f[(U[1], "is_individual")] == "是否个体工商户：是"
    assert f[(U[0], "is_individual")] == "是否个体工商户：否"
    assert f[(U[0], "capital_10k")] == "注册资本（万元）：12,345.5"
    assert f[(U[1], "capital_10k")] == "注册资本（万元）：无记录"  # does not apply to individual businesses
    assert f[(U[0], "address_cohabitants")] == \
        "同一楼宇60日内集中登记且共用电话或法定代表人的其他在营主体数（一址多企）：1"  # counted over everyone
    assert f[(U[4], "address_cohabitants")] == \
        "同一楼宇60日内集中登记且共用电话或法定代表人的其他在营主体数（一址多企）：0"  # eight years later
    cat = load_catalog()
    assert format_value(cat.get("insured_drop_1y"), 0.35) == "35.0%"
    assert format_value(cat.get("penalty_fine_3y"), 1234567.0) == "1,234,567"
    assert format_value(cat.get("type_classification"), "survival") == "生存型"


def test_codes_and_entities_asked_for(store: Path) -> None:
    f = _facts(store, T, [U[0], "91370102MA00000000"], ["penalty_1y", "no_such_indicator"])
    assert set(f) == {(U[0], "penalty_1y")}  # an unknown entity has no row, an unknown code is left out
    assert all(not re.search("[；;]", v) for v in _facts(store).values())  # ； joins facts in the export


def test_detail_words_and_event_types() -> None:
    assert detail_name("admin_penalty", "revocation") == "吊销营业执照"
    assert detail_name("inspection", "corrected") == "发现问题已责令改正"
    assert detail_name("complaint", "食品安全") == "食品安全"  # free text stays as given
    assert fact_event_types("count(*) FILTER (WHERE e.event_type = 'honor' AND e.detail = 'award')") == {"honor"}
    assert fact_event_types("count(*) FILTER (WHERE e.event_type LIKE 'abnormal%')") is None
    assert fact_event_types("count(*) FILTER (WHERE e.amount > 0)") is None
    assert fact_event_types("fact_date(n_est)") == set()


def test_indicator_query_for_a_few_entities(store: Path) -> None:
    """``usccs``: the rows of those entities only, the same as in the whole table (relations over everyone)."""
    cat = load_catalog()
    with Warehouse(store) as wh:
        compute_indicators(wh.con, cat, T, table="all_rows")
        compute_indicators(wh.con, cat, T, table="some_rows", usccs=[U[0], U[3]])
        cols = [r[0] for r in wh.con.execute("DESCRIBE all_rows").fetchall()]
        everyone = {r[0]: r for r in wh.con.execute("SELECT * FROM all_rows").fetchall()}
        some = {r[0]: r for r in wh.con.execute("SELECT * FROM some_rows").fetchall()}
    assert set(some) == {U[0], U[3]} and len(everyone) == 5
    assert all(some[u] == everyone[u] for u in some)
    assert dict(zip(cols, some[U[0]]))["address_cohabitants"] == 1


# --------------------------------------------------------------------------- the grades export
def test_export_grades_with_contributions_and_facts(store: Path, tmp_path: Path) -> None:
    import shutil

    home = tmp_path / "h"
    shutil.copytree(store, home)
    run_cli("classify", "--as-of", T.isoformat(), "--model", "expert", home=home)
    run_cli("export", "grades", "--as-of", T.isoformat(), "--out", str(tmp_path / "g.csv"), "--facts", home=home)
    with open(tmp_path / "g.csv", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames
        rows = {r["uscc"]: r for r in reader}
    assert header[:6] == ["uscc", "as_of", "score", "grade", "labels", "reasons"]
    assert header[-3:] == ["score_base", "contributions", "facts"]
    assert set(rows) == set(U)
    for r in rows.values():
        items = [re.fullmatch(r"([a-z0-9_]+):([+-]\d+\.\d\d)", x) for x in r["contributions"].split(";") if x]
        assert all(items), r["contributions"]
        points = [float(m.group(2)) for m in items]
        assert points == sorted(points, reverse=True) and 0 not in points
        reasons = [c for c in r["reasons"].split(";") if c]
        # the reasons are the largest positive contributions
        assert reasons == [m.group(1) for m in items if float(m.group(2)) > 0][:len(reasons)]
        if r["score_base"]:  # recorded: the score is the base plus the points, clipped to 0..1000
            assert float(r["score"]) == pytest.approx(min(1000, max(0, float(r["score_base"]) + sum(points))), abs=0.011)
        facts = dict(x.split("：", 1) for x in r["facts"].split("；") if x)
        assert list(facts) == reasons and all(facts.values())
    f0 = dict(x.split("：", 1) for x in rows[U[0]]["facts"].split("；"))
    assert f0["abnormal_current"] == "2025-07-05 因未按规定期限公示年度报告列入经营异常名录，至今未移出"
    assert "penalty_1y" not in f0 or f0["penalty_1y"].startswith("近一年受到行政处罚 2 次")
    # without --facts: the same columns but facts
    run_cli("export", "grades", "--as-of", T.isoformat(), "--out", str(tmp_path / "g.parquet"), home=home)
    import pyarrow.parquet as pq

    plain = pq.read_table(tmp_path / "g.parquet")
    assert plain.column_names == header[:-1]
