"""Data-quality measures and report (riskgrade.quality) on a small hand-built store."""

from __future__ import annotations

import datetime as dt
import json
import re

import duckdb
import pytest

from riskgrade import warehouse
from riskgrade.errors import RiskgradeError
from riskgrade.quality import calendar as wcal
from riskgrade.quality import measure, render_html, write_report
from riskgrade.quality.measures import EVENT_HISTORY_TABLES, REASONS_ZH
from riskgrade import render as assets

D = dt.date


def _event(con, table, delivery, source, event_date, reported_on, given, record_id):
    cols = "delivery_id, source, record_id, uscc, event_type, event_date, reported_on, reported_given"
    con.execute(
        f"INSERT INTO {table} ({cols}) VALUES (?, ?, ?, '91110000600037341L', 'inspection', ?, ?, ?)",
        [delivery, source, record_id, event_date, reported_on, given],
    )


def _history_tables(c) -> list[str]:
    held = {r[0] for r in c.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    return [t for t in EVENT_HISTORY_TABLES if t in held]


@pytest.fixture()
def con():
    c = duckdb.connect(":memory:")
    c.execute(warehouse.SCHEMA)
    c.execute(
        "INSERT INTO deliveries VALUES "
        "(1, '/data/2025-10', 'fp1', TIMESTAMP '2025-10-10 09:00:00', DATE '2025-10-10', NULL),"
        "(2, '/data/2025-11', 'fp2', TIMESTAMP '2025-11-03 09:00:00', DATE '2025-11-03', NULL)"
    )
    counts = [
        # delivery 1
        (1, "entities", "", "accepted", None, 10),
        (1, "entities", "", "quarantined", "bad_uscc", 2),
        (1, "events", "market", "accepted", None, 6),
        (1, "events", "market", "quarantined", "unattributed", 2),
        (1, "events", "tax", "accepted", None, 3),
        (1, "events", "tax", "quarantined", "bad_date", 1),
        # delivery 2
        (2, "events", "market", "accepted", None, 3),
        (2, "events", "market", "accepted", "revision", 1),
        (2, "events", "market", "merged", None, 4),
        (2, "events", "market", "quarantined", "unattributed", 1),
        (2, "events", "market", "quarantined", "bad_uscc", 1),
        (2, "events", "tax", "accepted", None, 2),
        (2, "events", "tax", "merged", None, 2),
    ]
    c.executemany("INSERT INTO ingest_counts VALUES (?, ?, ?, ?, ?, ?)", counts)
    fields = [
        (1, "entities", "", "name", 12, 12),
        (1, "entities", "", "address", 12, 9),
        (1, "events", "market", "reported_on", 8, 2),
        (1, "events", "market", "detail", 8, 6),
        (1, "events", "tax", "reported_on", 4, 3),
        (1, "events", "tax", "detail", 4, 4),
        (2, "events", "market", "reported_on", 10, 10),
        (2, "events", "market", "detail", 10, 9),
        (2, "events", "tax", "reported_on", 4, 0),
        (2, "events", "tax", "detail", 4, 4),
    ]
    c.executemany("INSERT INTO field_counts VALUES (?, ?, ?, ?, ?, ?)", fields)
    c.execute(
        "INSERT INTO files VALUES "
        "(1, 'events', 'events/part-1.csv', 'csv', 'utf-8', 'loaded', NULL, 12),"
        "(1, 'events', 'events/part-9.csv', NULL, NULL, 'unreadable', 'not a CSV, Parquet or Excel file', 0),"
        "(2, 'events', 'events.csv', 'csv', 'gb18030', 'loaded', NULL, 14),"
        "(2, NULL, 'notes.txt', NULL, NULL, 'ignored', 'not a table of the contract', 0)"
    )
    ev = [
        # delivery 1
        (1, "market", D(2025, 9, 30), D(2025, 10, 9), True),  # 1 working day across National Day
        (1, "market", D(2025, 9, 26), D(2025, 10, 10), True),  # 5 (28 Sep make-up Sunday counts)
        (1, "market", D(2025, 9, 1), D(2025, 9, 15), True),  # 10: late
        (1, "tax", D(2003, 9, 30), D(2003, 10, 9), True),  # 7, weekends-only fallback
        (1, "tax", D(2025, 10, 1), D(2025, 10, 10), False),  # no reported_on given
        (1, "market", D(2025, 8, 1), D(2025, 10, 10), False),  # no reported_on given
        # delivery 2
        (2, "market", D(2025, 10, 10), D(2025, 10, 11), True),  # 1 (11 Oct make-up Saturday)
        (2, "tax", D(2025, 10, 20), D(2025, 10, 31), True),  # 9: late
        (2, "market", D(2025, 11, 3), D(2025, 11, 3), True),  # 0
    ]
    for i, (d, src, e, r, g) in enumerate(ev):
        _event(c, "events", d, src, e, r, g, f"r{i}")
    history = _history_tables(c)
    if history:  # a version delivered in 1, superseded in 2: still counted in delivery 1
        _event(c, history[0], 1, "market", D(2025, 10, 9), D(2025, 10, 9), True, "r-old")
    yield c
    c.close()


# --------------------------------------------------------------------------- calendar
def test_working_days_official_calendar():
    assert wcal.is_workday(D(2025, 9, 28))  # Sunday, make-up working day
    assert wcal.is_workday(D(2025, 10, 11))  # Saturday, make-up working day
    assert not wcal.is_workday(D(2025, 10, 1)) and not wcal.is_workday(D(2025, 10, 8))
    assert wcal.workdays_between(D(2025, 9, 30), D(2025, 10, 9)) == 1
    assert wcal.workdays_between(D(2025, 9, 26), D(2025, 10, 10)) == 5
    assert wcal.workdays_between(D(2025, 10, 10), D(2025, 10, 11)) == 1
    assert wcal.workdays_between(D(2025, 11, 3), D(2025, 11, 3)) == 0
    assert wcal.workdays_between(D(2025, 10, 9), D(2025, 9, 30)) == -1


def test_working_days_fallback_outside_calendar():
    assert not wcal.is_official(D(2003, 10, 1)) and not wcal.is_official(D(2031, 1, 1))
    assert wcal.is_official(D(2004, 1, 1)) and wcal.is_official(D(2025, 12, 31))
    # 2003: weekends only (the 2003 National Day holiday is not known): Oct 1-3, 6-9
    assert wcal.workdays_between(D(2003, 9, 30), D(2003, 10, 9)) == 7
    assert wcal.is_workday(D(2031, 1, 1))  # a Wednesday: no holidays known


def test_sql_calendar_table_matches_python():
    c = duckdb.connect()
    first, last = D(2003, 12, 1), D(2026, 2, 28)
    wcal.create_calendar_table(c, first, last, "cal")
    idx = dict(c.execute("SELECT d, workday_index FROM cal").fetchall())
    assert len(idx) == (last - first).days + 1
    day = D(2003, 12, 1)
    while day + dt.timedelta(days=20) <= last:  # every 7th day, a 20-day span
        assert idx[day + dt.timedelta(days=20)] - idx[day] == wcal.workdays_between(day, day + dt.timedelta(days=20))
        day += dt.timedelta(days=7)
    off = dict(c.execute("SELECT d, official FROM cal WHERE d IN ('2003-12-31', '2004-01-01')").fetchall())
    assert off == {D(2003, 12, 31): False, D(2004, 1, 1): True}


# --------------------------------------------------------------------------- measures
def test_counts_validity_duplicates_and_reasons(con):
    m = measure(con)
    json.dumps(m)  # JSON-serialisable
    ev = m["tables"]["events"]
    assert (ev["read"], ev["accepted"], ev["merged"], ev["quarantined"], ev["revisions"]) == (26, 15, 6, 5, 1)
    assert ev["validity_rate"] == pytest.approx(21 / 26, abs=1e-6)
    assert ev["duplicate_rate"] == pytest.approx(6 / 26, abs=1e-6)
    assert list(ev["reasons"]) == ["unattributed", "bad_date", "bad_uscc"]  # most rows first, then by code
    assert ev["reasons"]["unattributed"]["rows"] == 3
    assert ev["reasons"]["unattributed"]["share"] == pytest.approx(0.6)
    assert ev["reasons"]["unattributed"]["share_of_read"] == pytest.approx(3 / 26, abs=1e-6)
    assert ev["reasons"]["unattributed"]["zh"] == REASONS_ZH["unattributed"]
    market = ev["by_source"]["market"]
    assert (market["read"], market["merged"]) == (18, 4)
    assert market["validity_rate"] == pytest.approx(14 / 18, abs=1e-6)
    assert ev["by_source"]["tax"]["duplicate_rate"] == pytest.approx(2 / 8)
    ent = m["tables"]["entities"]
    assert ent["validity_rate"] == pytest.approx(10 / 12, abs=1e-6) and ent["duplicate_rate"] == 0
    assert list(m["tables"]) == ["entities", "events"]
    s = m["summary"]
    assert (s["rows_read"], s["accepted"], s["merged"], s["quarantined"]) == (38, 25, 6, 7)
    assert s["validity_rate"] == pytest.approx(31 / 38, abs=1e-6)
    assert set(REASONS_ZH) >= set(m["reason_texts"]) - {"unknown"}


def test_every_contract_reason_has_chinese_text():
    from riskgrade import contract

    from riskgrade.quality.report import REASON_SHORT_ZH

    assert set(contract.REASONS) <= set(REASONS_ZH) and set(contract.REASONS) <= set(REASON_SHORT_ZH)
    assert all(re.search(r"[\u4e00-\u9fff]", t) for t in REASONS_ZH.values())


def test_completeness(con):
    c = measure(con)["completeness"]
    ev = c["events"]
    assert ev["fields"]["reported_on"] == {"rows": 26, "present": 15, "rate": pytest.approx(15 / 26, abs=1e-6)}
    assert ev["fields"]["detail"]["rate"] == pytest.approx(23 / 26, abs=1e-6)
    assert ev["by_source"]["market"]["fields"]["reported_on"]["rate"] == pytest.approx(12 / 18, abs=1e-6)
    assert ev["by_source"]["tax"]["fields"]["reported_on"]["rate"] == pytest.approx(3 / 8)
    # contract columns the delivery did not report count as empty, in contract order
    assert ev["fields"]["record_id"] == {"rows": 26, "present": 0, "rate": 0.0}
    assert list(ev["fields"])[:4] == ["record_id", "uscc", "event_type", "event_date"]
    assert c["entities"]["fields"]["address"]["rate"] == pytest.approx(0.75)
    assert c["entities"]["fields"]["name"]["rate"] == 1.0
    one = measure(con, 2)["completeness"]["events"]["by_source"]["tax"]["fields"]["reported_on"]
    assert one == {"rows": 4, "present": 0, "rate": 0.0}


def test_timeliness_overall_and_per_source(con):
    m = measure(con)
    t = m["timeliness"]
    o = t["overall"]
    n = 8 if bool(_history_tables(con)) else 7
    assert o["measured"] == n and o["without_reported_on"] == 2 and o["rows"] == n + 2
    # working days: 1, 5, 10, 7 (fallback), 1, 9, 0 [+ 0 from the superseded version]
    if bool(_history_tables(con)):
        assert (o["median_workdays"], o["p90_workdays"]) == (1, 10)
        assert o["within_target"] == 6 and o["within_target_share"] == pytest.approx(0.75)
    else:
        assert (o["median_workdays"], o["p90_workdays"]) == (5, 10)
        assert o["within_target_share"] == pytest.approx(5 / 7, abs=1e-6)
    assert o["late"] == 2 and o["reported_before_event"] == 0
    assert o["meets_target"] is False  # the Tonghua rule: every record within 7 working days
    tax = t["by_source"]["tax"]
    assert (tax["measured"], tax["without_reported_on"], tax["median_workdays"], tax["p90_workdays"]) == (2, 1, 7, 9)
    assert tax["within_target_share"] == pytest.approx(0.5)
    market = t["by_source"]["market"]
    assert market["late"] == 1 and market["without_reported_on"] == 1
    hist = {b["label"]: b["rows"] for b in t["histogram"]}
    assert hist["1"] == 2 and hist["5"] == 1 and hist["7"] == 1 and hist["9"] == 1 and hist["10"] == 1
    assert sum(hist.values()) == n
    cal = m["calendar"]
    assert cal["rows"] == {"chinese_calendar": n - 1, "weekends_only": 1}
    assert cal["official_range"] == ["2004-01-01", wcal.OFFICIAL_LAST.isoformat()]
    assert m["summary"]["timeliness_within_share"] == o["within_target_share"]
    # a looser share target can be met
    assert measure(con, timely_share_target=0.7)["timeliness"]["overall"]["meets_target"] is True


def test_attribution_rate_and_target(con):
    a = measure(con)["attribution"]
    assert (a["read"], a["attributed"], a["unattributed"], a["other_quarantined"]) == (26, 21, 3, 2)
    assert a["rate"] == pytest.approx(21 / 26, abs=1e-6) and a["meets_target"] is True and a["target"] == 0.8
    assert a["unattributed_share"] == pytest.approx(3 / 26, abs=1e-6)
    assert a["by_source"]["market"]["rate"] == pytest.approx(14 / 18, abs=1e-6)
    assert a["by_source"]["market"]["meets_target"] is False
    assert a["by_source"]["tax"]["meets_target"] is True
    by_d = {d["delivery_id"]: d for d in a["by_delivery"]}
    assert by_d[1]["rate"] == pytest.approx(0.75) and by_d[1]["meets_target"] is False
    assert by_d[2]["rate"] == pytest.approx(12 / 14, abs=1e-6) and by_d[2]["meets_target"] is True
    assert by_d[1]["loaded_at"] == "2025-10-10T09:00:00"


def test_trend_and_files(con):
    m = measure(con)
    tr = {t["delivery_id"]: t for t in m["trend"]}
    assert list(tr) == [1, 2]
    assert (tr[1]["read"], tr[1]["quarantined"], tr[1]["events_read"], tr[1]["unreadable_files"]) == (24, 5, 12, 1)
    assert tr[1]["validity_rate"] == pytest.approx(19 / 24, abs=1e-6)
    assert tr[1]["attribution_rate"] == pytest.approx(0.75)
    assert tr[1]["timeliness_within_share"] == pytest.approx(0.8 if bool(_history_tables(con)) else 0.75)
    assert tr[2]["read"] == 14 and tr[2]["duplicate_rate"] == pytest.approx(6 / 14, abs=1e-6)
    assert tr[2]["timeliness_within_share"] == pytest.approx(2 / 3, abs=1e-6)
    assert tr[2]["load_date"] == "2025-11-03" and tr[2]["path"] == "/data/2025-11"
    assert m["unreadable_files"] == [
        {"delivery_id": 1, "table": "events", "path": "events/part-9.csv", "format": None, "encoding": None,
         "reason": "not a CSV, Parquet or Excel file"}
    ]
    assert [f["path"] for f in m["ignored_files"]] == ["notes.txt"]
    assert m["summary"]["unreadable_files"] == 1 and m["scope"]["deliveries"] == [1, 2]


def test_one_delivery(con):
    m = measure(con, 2)
    assert m["scope"]["delivery_id"] == 2 and m["scope"]["deliveries"] == [2]
    assert m["tables"]["events"]["read"] == 14 and "entities" not in m["tables"]
    assert m["timeliness"]["overall"]["measured"] == 3
    assert m["attribution"]["rate"] == pytest.approx(12 / 14, abs=1e-6)
    assert [t["delivery_id"] for t in m["trend"]] == [1, 2]  # the trend leads up to the delivery
    assert m["unreadable_files"] == []
    assert [t["delivery_id"] for t in measure(con, 1)["trend"]] == [1]
    with pytest.raises(RiskgradeError):
        measure(con, 9)


def test_empty_store():
    c = duckdb.connect()
    c.execute(warehouse.SCHEMA)
    m = measure(c)
    assert m["summary"]["rows_read"] == 0 and m["summary"]["validity_rate"] is None
    assert m["attribution"]["meets_target"] is None and m["timeliness"]["overall"]["median_workdays"] is None
    assert m["calendar"]["date_range"] is None and m["trend"] == []
    assert "数据质量监测评估报告" in render_html(m)


def test_measure_leaves_no_temp_tables(con):
    measure(con)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0] == 0


# --------------------------------------------------------------------------- report
def test_html_report_chinese_offline_with_echarts(con):
    html = render_html(measure(con))
    assert html.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in html
    for heading in ("数据质量监测评估报告", "记名率", "隔离原因分析", "字段完整性", "归集及时性", "批次趋势", "无法读取的文件"):
        assert heading in html
    assert "80.8%" in html and "达标" in html and "未达标" in html
    assert REASONS_ZH["bad_uscc"] in html and "events/part-9.csv" in html
    assert "按官方日历计算" in html
    # offline: ECharts inlined, no external script, no URL at all
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert "http://" not in html and "https://" not in html
    assert assets.echarts_inline_js() in html and assets.ECHARTS_VERSION in html
    assert html.count("</script>") == 3 and "echarts.init" in html
    for chart in ("chart-trend", "chart-reasons", "chart-timeliness"):
        assert f'id="{chart}"' in html


def test_html_report_english_and_escaping(con):
    con.execute("INSERT INTO ingest_counts VALUES (2, 'events', '<script>alert(1)</script>', 'accepted', NULL, 1)")
    html = render_html(measure(con), lang="en")
    assert '<html lang="en">' in html and "Data quality monitoring report" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    with pytest.raises(RiskgradeError):
        render_html(measure(con), lang="fr")


def test_write_report(con, tmp_path):
    m = measure(con)
    p = write_report(m, tmp_path / "out" / "quality.json")
    assert json.loads(p.read_text(encoding="utf-8"))["summary"] == m["summary"]
    h = write_report(m, tmp_path / "quality.html", lang="zh")
    assert "数据质量监测评估报告" in h.read_text(encoding="utf-8")
    with pytest.raises(RiskgradeError):
        write_report(m, tmp_path / "quality.pdf")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out", "quality.html"]


def test_vendored_echarts():
    js = assets.echarts_js()
    assert len(js) > 500_000 and "Apache" in js[:2000]
    assert "Apache License" in assets.echarts_license()
    assert "</" not in assets.inline_script(js) and "://" not in assets.inline_script(js)
